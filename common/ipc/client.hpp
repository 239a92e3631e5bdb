// ipc::Client: the tool side of a Pacemaker 2.1.x local IPC service (cib_ro, cib_rw, ...):
// one blocking libqb connection that sends requests with the 2.1.x header (ipc/header.hpp)
// and waits for the response with the same id, as the cluster tools' synchronous calls do.
// For short-lived programs (outpost-simulate -L); daemons serve with ipc::Server instead.
#pragma once

#include <qb/qbipcc.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ipc/header.hpp"
#include "util/result.hpp"

namespace outpost::ipc {

struct QbClientDisconnect {
    void operator()(qb_ipcc_connection_t* connection) const { qb_ipcc_disconnect(connection); }
};
using QbClientHandle = std::unique_ptr<qb_ipcc_connection_t, QbClientDisconnect>;

class Client {
public:
    // Connects to `service` with a buffer of `buffer_size` bytes (PCMK_ipc_buffer; the
    // server may grant more). The server must run as root or as `daemon_user` (Pacemaker's
    // hacluster): anyone else could have taken the name, and its answers would be lies.
    // Errors (domain "ipc"): -ENOTCONN when nothing serves the name, -EACCES when the
    // server refused us (not root, not in the cluster group), -EPERM when the server runs
    // as the wrong user; the message says which service and why.
    static Result<std::unique_ptr<Client>> connect(const std::string& service, std::size_t buffer_size,
                                                   const std::string& daemon_user = "hacluster");
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client() = default;

    // Sends `xml` as a request that waits for its response (wire::ipc_flag::client_response)
    // and returns that response, skipping stale responses to earlier requests. The request
    // is compressed when it exceeds the buffer, as the tools do. -ETIMEDOUT when no answer
    // comes within `timeout`, -ENOTCONN when the server closed the connection.
    Result<Message> request(std::string_view xml, std::chrono::milliseconds timeout);

    [[nodiscard]] const std::string& service() const { return service_; }
    [[nodiscard]] pid_t server_pid() const { return server_pid_; }

private:
    Client(QbClientHandle handle, std::string service, std::size_t buffer_size, pid_t server_pid)
        : handle_(std::move(handle)),
          service_(std::move(service)),
          buffer_size_(buffer_size),
          server_pid_(server_pid)
    {
    }

    QbClientHandle handle_;
    std::string service_;
    std::size_t buffer_size_;
    pid_t server_pid_;
    std::int32_t next_id_ = 1;
};

}  // namespace outpost::ipc
