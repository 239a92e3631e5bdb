// Tunnelled tool sessions (docs/protocol.md 4.3): a local connection to a proxied name (cib_ro,
// cib_rw, cib_shm, attrd, stonith-ng, crmd) becomes a session with a random id, bound to the
// IPC provider that was newest when it connected.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/offload.hpp"
#include "ipc/server.hpp"
#include "proxy/channels.hpp"
#include "proxy/endpoint.hpp"
#include "proxy/session_index.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::proxy {

// What both kinds of local session work with: the IPC server and the agent's side of the
// seam (nullptr until attached). Owned by the IpcProxy.
struct Links {
    ipc::Server* server = nullptr;
    ProxyHost* host = nullptr;
};

// `new` goes to the session's provider once libqb has set the connection up, each request
// travels as `request`, and the provider's `response`, `event` and `destroy` come back
// through deliver_response(), deliver_event() and destroy(). A local disconnect sends
// `destroy`; a provider that goes away closes its sessions. Every session ends through one
// path, end().
//
// A message larger than io::kOffloadAbove is translated off the loop (docs/limits.md): a
// tool's request decompressed, parsed and encoded for the provider, a response or event
// compressed for the tool. Each direction of a session is a lane (io::Offload): what comes
// after such a message in the same direction waits for it (the provider's destroy and a
// provider's departure wait for what goes to the tool); a session that ends drops what is
// still being translated.
class ToolSessions {
public:
    ToolSessions(GMainContext* context, Links& links) : context_(context), links_(links) {}
    ToolSessions(const ToolSessions&) = delete;
    ToolSessions& operator=(const ToolSessions&) = delete;
    ~ToolSessions() = default;

    // ipc::Server::Handler, for connections to proxied names.
    int accept(ipc::ConnectionId connection, const ChannelSpec& spec, const ipc::Peer& peer);
    void refused(const ChannelSpec& spec);
    void created(ipc::ConnectionId connection);
    void message(ipc::ConnectionId connection, const void* data, std::size_t size);
    void closed(ipc::ConnectionId connection);
    [[nodiscard]] bool owns(ipc::ConnectionId connection) const { return sessions_.owns(connection); }

    // The provider's answers (ProxyEndpoint); false if the session is unknown.
    bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id, std::string_view msg_xml);
    bool deliver_event(std::string_view session, std::string_view msg_xml);
    void destroy(std::string_view session);
    [[nodiscard]] bool has(std::string_view session) const { return sessions_.has(session); }
    void provider_gone(std::string_view provider_client_id);

    [[nodiscard]] std::size_t size() const { return sessions_.size(); }
    [[nodiscard]] std::vector<std::string> ids() const;
    // Closes every session without telling anyone (the agent is exiting).
    void close_all();

private:
    struct Session {
        explicit Session(GMainContext* context) : to_provider(context), to_tool(context) {}
        std::string id;
        ipc::ConnectionId connection = 0;
        const ChannelSpec* spec = nullptr;
        std::string provider;
        std::string user;
        std::string client_name;                // set once the connection is created
        bool announced = false;                 // `new` was sent
        std::optional<std::uint32_t> awaiting;  // request id a response is owed for
        io::Offload to_provider;                // the tool's requests
        io::Offload to_tool;                    // the provider's responses and events
    };
    // How a session ends.
    struct Ending {
        bool by_us;          // we close the connection (else the tool has left)
        bool tell_provider;  // `destroy` to the provider, if it heard of the session
        bool report_gone;    // ProxyHost::local_client_gone (the last-client rule)
    };
    static constexpr Ending kToolLeft{false, true, true};
    static constexpr Ending kToolMisbehaved{true, true, true};  // a bad request, an undeliverable answer
    static constexpr Ending kProviderClosed{true, false, true};
    static constexpr Ending kQuietly{true, false, false};

    // A tool's request, as libqb handed it over (or a copy, when it waited in the lane).
    void forward(Session& session, const void* data, std::size_t size);
    // The same for a large one: translated on a worker, then forward_encoded().
    void translate(Session& session, const void* data, std::size_t size);
    // A request decoded and encoded for the provider (off the loop for a large one).
    void forward_encoded(Session& session, std::uint32_t request_id, std::uint32_t flags,
                         std::string_view xml);
    void rejected(Session& session, const Error& error);
    void deliver(Session& session, std::string_view msg_xml, std::optional<std::uint32_t> response_id);
    // What could not be delivered ends the session.
    void delivery_failed(Session& session, ipc::Kind kind, const Error& error);
    // The one teardown path.
    void end(Session& session, Ending how, const char* why);

    GMainContext* context_;
    Links& links_;
    SessionIndex<Session> sessions_;
};

}  // namespace outpost::agent::proxy
