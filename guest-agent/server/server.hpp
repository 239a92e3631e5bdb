// Server: the network face of outpost-agent (docs/protocol.md 1, 3, 4.6, 5.12). It owns the
// TLS listener, the client sessions, the Executor, the Dispatcher and the Notifier and wires
// them together, and it runs the daemon's lifecycle (shutdown handshake, last-client rule).
#pragma once

#include <glib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "executor/executor.hpp"
#include "io/connection.hpp"
#include "io/deferred.hpp"
#include "io/listener.hpp"
#include "io/offload.hpp"
#include "io/source.hpp"
#include "proxy/endpoint.hpp"
#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "server/metrics.hpp"
#include "server/notifier.hpp"
#include "tls/context.hpp"
#include "util/result.hpp"

namespace outpost::agent::server {

// Clients (connected or still in their TLS handshake) served at once; further accepted
// sockets are closed at once with a log line. pacemaker-remoted has no limit, but a
// cluster uses one or two connections per node, so this only ever stops a flood.
inline constexpr std::size_t kMaxClients = 256;
// How long the cluster has to answer our shutdown_req before we exit anyway.
inline constexpr std::chrono::milliseconds kShutdownAckTimeout{20000};
// Exit status when the daemon cannot start (Pacemaker's CRM_EX_FATAL: do not respawn).
inline constexpr int kExitFatal = 100;

struct ServerConfig {
    std::string address;  // empty = wildcard (IPv6 accepting IPv4)
    std::uint16_t port = 3121;
    std::optional<std::chrono::milliseconds> tcp_user_timeout;  // from SBD_WATCHDOG_TIMEOUT
    std::size_t max_clients = kMaxClients;
    std::chrono::milliseconds shutdown_ack_timeout = kShutdownAckTimeout;
    io::AcceptOptions accept;
    DispatcherConfig dispatcher;
    executor::Executor::Options executor;
    bool handle_signals = true;        // install SIGTERM/SIGINT handlers on the context
    ServerMetrics* metrics = nullptr;  // optional; must outlive the server
};

// Each decoded message goes to the Dispatcher, whose replies and notifications the Notifier
// fans out; executor results become exec notifies. A message larger than io::kOffloadAbove
// is read (inflated if its frame is compressed, parsed, and proxy traffic serialized again
// for the tool) on a worker thread while its connection waits paused, so its next messages
// stay behind it and other clients go on (docs/limits.md); a client dropped meanwhile drops
// the result. Clients of the lrmd local IPC service (docs/protocol.md 4.2) are executor
// clients too: the proxy opens them through proxy::ProxyHost, their requests (no envelope;
// a large one read by the proxy off the loop) go to the same Dispatcher, and they count for
// the last-client rule.
//
// Lifecycle: SIGTERM/SIGINT start the shutdown handshake with the newest IPC provider
// (shutdown_req, listener closed, kShutdownAckTimeout for an answer; ack -> wait until every
// provider has disconnected; nack or timeout -> exit); a lost last client drops recurring
// ops registered with drop-recurring; exit waits for running alerts. Resources are never
// stopped or unregistered by connection loss or by exit. The server never exits the process
// itself: it calls the exit handler with the status, and main quits the loop.
class Server final : public proxy::ProxyHost, private Control {
public:
    using ExitHandler = std::function<void(int exit_code)>;

    // Binds the listener (errors name the address; the caller exits with kExitFatal) and
    // starts accepting. `spawner` must outlive the server.
    static Result<std::unique_ptr<Server>> create(GMainContext* context, tls::TlsContext tls,
                                                  executor::Spawner& spawner, ServerConfig config,
                                                  ExitHandler on_exit);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() override;

    // What SIGTERM and SIGINT do (docs/protocol.md 4.6).
    void request_shutdown();
    // The local IPC proxy, once there is one (nullptr detaches). Borrowed.
    void attach_proxy(proxy::ProxyEndpoint* endpoint);

    [[nodiscard]] std::uint16_t port() const;
    [[nodiscard]] bool listening() const;
    [[nodiscard]] std::size_t client_count() const { return clients_.size(); }
    [[nodiscard]] std::size_t pending_count() const { return pending_.size(); }
    [[nodiscard]] bool shutting_down() const { return phase_ != Phase::running; }
    [[nodiscard]] executor::Executor& executor() { return *executor_; }
    [[nodiscard]] const executor::Executor& executor() const { return *executor_; }
    [[nodiscard]] Dispatcher& dispatcher() { return *dispatcher_; }

    // proxy::ProxyHost
    [[nodiscard]] std::optional<std::string> newest_provider() const override;
    bool send_to_provider(std::string_view provider_client_id, const wire::ProxyMessage& message) override;
    bool send_encoded_to_provider(std::string_view provider_client_id, std::string_view xml) override;
    void local_client_gone() override;
    Status local_executor_open(std::string_view client_id, std::string_view description) override;
    void local_executor_request(std::string_view client_id, std::uint32_t ipc_msg_id,
                                std::string_view xml) override;
    void local_executor_prepared(std::string_view client_id, std::uint32_t ipc_msg_id,
                                 const Result<wire::Message>& request) override;
    void local_executor_closed(std::string_view client_id) override;
    [[nodiscard]] std::size_t local_executor_count() const { return local_clients_.size(); }

private:
    enum class Phase { running, awaiting_ack, awaiting_disconnect, exiting };

    struct Client {
        std::unique_ptr<io::Connection> connection;
        std::unique_ptr<ClientSession> session;
        std::unique_ptr<io::Offload> lane;  // its large message being read off the loop
    };

    Server(GMainContext* context, tls::TlsContext tls, ServerConfig config, ExitHandler on_exit);

    void on_accept(UniqueFd fd, const std::string& peer_address);
    void on_handshake(std::uint64_t key, Result<std::unique_ptr<io::Connection>> result);
    void on_message(const std::string& id, std::string xml);
    // A large compressed message: inflated and read on a worker while the connection waits.
    void on_compressed(const std::string& id, wire::CompressedPayload payload);
    // A message read (or not: nullopt when reading it threw) goes to the dispatcher.
    void serve(const std::string& id, const std::optional<Result<RemotePayload>>& payload);
    void on_closed(const std::string& id, const Error& reason);
    void drop_client(const std::string& id, const std::string& why);
    // Drops the client once the current dispatch is over.
    void drop_later(const std::string& id, const std::string& why);
    void client_gone(const std::string& id);
    void check_last_client();
    void exit_daemon(int exit_code, const char* why);
    void report_exit_later(int exit_code);

    // Control
    void shutdown_acknowledged() override;
    void shutdown_refused() override;
    void fatal_exit(int exit_code, const std::string& reason) override;

    GMainContext* context_;
    tls::TlsContext tls_;
    ServerConfig config_;
    ExitHandler on_exit_;
    Notifier notifier_;
    std::unique_ptr<executor::Executor> executor_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::unique_ptr<io::Listener> listener_;
    proxy::ProxyEndpoint* proxy_ = nullptr;

    std::uint64_t next_pending_ = 1;
    std::map<std::uint64_t, std::unique_ptr<io::PendingConnection>> pending_;
    std::map<std::string, Client, std::less<>> clients_;
    // Clients of the lrmd local IPC service (their connections belong to the proxy).
    std::map<std::string, std::unique_ptr<ClientSession>, std::less<>> local_clients_;
    // What must wait until the current dispatch is over: closed local sessions, clients to
    // drop, the exit report.
    io::Deferred deferred_{context_};

    Phase phase_ = Phase::running;
    io::Source shutdown_timer_;
    bool exit_reported_ = false;
    io::Source sigterm_;
    io::Source sigint_;
};

}  // namespace outpost::agent::server
