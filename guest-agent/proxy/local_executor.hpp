// Local executor sessions (docs/protocol.md 4.2): a connection to `lrmd` is not proxied but
// becomes an executor client of this daemon, if the host opens one for it
// (ProxyHost::local_executor_open).
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/deferred.hpp"
#include "io/offload.hpp"
#include "ipc/server.hpp"
#include "proxy/session_index.hpp"
#include "proxy/tool_sessions.hpp"
#include "util/result.hpp"

namespace outpost::agent::proxy {

// Each request must ask for a response (flag 0x200, as 2.1.5 requires; others are logged and
// dropped); its XML goes to the host, whose reply goes back as the IPC response to that
// request and whose notifications go as IPC events, numbered daemon-wide as 2.1.5 numbers
// them. Every session ends through one path, end(). A request over io::kOffloadAbove
// (uncompressed, as its IPC header says) is decompressed and parsed on a worker thread; the
// session's next requests wait behind it (docs/limits.md).
class LocalExecutorSessions {
public:
    LocalExecutorSessions(GMainContext* context, Links& links)
        : context_(context), links_(links), reports_(context)
    {
    }
    LocalExecutorSessions(const LocalExecutorSessions&) = delete;
    LocalExecutorSessions& operator=(const LocalExecutorSessions&) = delete;
    ~LocalExecutorSessions() = default;

    // ipc::Server::Handler, for connections to `lrmd` (served as `service_name`).
    int accept(ipc::ConnectionId connection, const std::string& service_name, const ipc::Peer& peer);
    void created(ipc::ConnectionId connection);
    void message(ipc::ConnectionId connection, const void* data, std::size_t size);
    void closed(ipc::ConnectionId connection);
    [[nodiscard]] bool owns(ipc::ConnectionId connection) const { return sessions_.owns(connection); }

    // The host's answers (ProxyEndpoint::send_local_reply / send_local_event).
    Status send_reply(std::string_view client_id, std::string_view xml);
    Status send_event(std::string_view client_id, std::string_view xml);

    [[nodiscard]] std::size_t size() const { return sessions_.size(); }
    [[nodiscard]] std::vector<std::string> ids() const;
    // Closes every session without telling anyone (the agent is exiting).
    void close_all();

private:
    struct Session {
        explicit Session(GMainContext* context) : requests(context) {}
        std::string id;  // its executor client id (lrmd_clientid)
        ipc::ConnectionId connection = 0;
        std::string user;
        std::string description;
        std::optional<std::uint32_t> awaiting;  // the request being served
        io::Offload requests;                   // its requests, in order; a large one off the loop
    };
    enum class Ending {
        client_left,  // the host hears of it at once
        closed,       // we close it; the host hears of it from the loop (see end())
        quietly,      // we close it; nobody hears of it
    };

    // One request, on the loop: read (decode_message) and served.
    void serve(Session& session, const void* data, std::size_t size);
    // One large request: read on a worker, then served.
    void serve_off_loop(Session& session, const void* data, std::size_t size);
    // Whether `message` asks for a response (2.1.5 serves nothing else; logged).
    bool wants_response(const Session& session, const ipc::Message& message) const;
    Status send(Session& session, ipc::Kind kind, std::int32_t msg_id, std::uint32_t flags,
                std::string_view xml);
    // The one teardown path.
    void end(Session& session, Ending how, const char* why);

    GMainContext* context_;
    Links& links_;
    SessionIndex<Session> sessions_;
    std::int32_t last_event_id_ = 0;  // events are numbered over all sessions
    io::Deferred reports_;
};

}  // namespace outpost::agent::proxy
