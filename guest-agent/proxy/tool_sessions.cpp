#include "proxy/tool_sessions.hpp"

#include <utility>

#include "util/log.hpp"
#include "util/uuid.hpp"

namespace outpost::agent::proxy {
namespace {

const log::Category log_cat{"agent.proxy.tools"};

}  // namespace

std::vector<std::string> ToolSessions::ids() const
{
    return sessions_.ids();
}

// ---- the tool's side ----------------------------------------------------------------------

int ToolSessions::accept(ipc::ConnectionId connection, const ChannelSpec& spec, const ipc::Peer& peer)
{
    std::optional<std::string> provider =
        links_.host != nullptr ? links_.host->newest_provider() : std::nullopt;
    if (!provider) {
        log_info(log_cat,
                 "Refusing local %s connection (uid %u): no cluster node is connected as IPC provider",
                 spec.name.data(), static_cast<unsigned>(peer.uid));
        return -EREMOTEIO;
    }
    auto session = std::make_unique<Session>();
    session->id = random_uuid();
    session->connection = connection;
    session->spec = &spec;
    session->provider = std::move(*provider);
    session->user = peer.user;
    log_debug(log_cat, "Accepted local %s connection of %s as session %s", spec.name.data(),
              log::quote(session->user).c_str(), session->id.c_str());
    sessions_.add(std::move(session));
    return 0;
}

void ToolSessions::refused(const ChannelSpec& spec)
{
    // 2.1.5 tells the provider about a proxied connection it refuses for its permissions: a
    // `new` for a session that is at once destroyed, nothing forwarded (docs/conformance.md,
    // "Open differences").
    // A controller answers a `new` on a remote node with a CIB query, so a drop-in does too.
    ProxyHost* host = links_.host;
    std::optional<std::string> provider = host != nullptr ? host->newest_provider() : std::nullopt;
    if (!provider) return;
    const std::string id = random_uuid();
    if (host->send_to_provider(*provider, make_new(id, spec.proxied_as)))
        host->send_to_provider(*provider, make_destroy(id));
}

void ToolSessions::created(ipc::ConnectionId connection)
{
    Session* session = sessions_.find(connection);
    if (session == nullptr) return;
    const ipc::Peer* peer = links_.server->peer(connection);
    const pid_t pid = peer != nullptr ? peer->pid : 0;
    session->client_name = proxy_client_name(session->spec->proxied_as, pid, session->id);
    ProxyHost* host = links_.host;
    if (host == nullptr ||
        !host->send_to_provider(session->provider, make_new(session->id, session->spec->proxied_as))) {
        end(*session, kProviderClosed, "its IPC provider is gone");
        return;
    }
    session->announced = true;
    log_info(log_cat, "New proxied %s session %s for %s (pid %d, %s) via provider %s",
             session->spec->name.data(), session->id.c_str(), session->client_name.c_str(),
             static_cast<int>(pid), log::quote(session->user).c_str(), session->provider.c_str());
}

void ToolSessions::message(ipc::ConnectionId connection, const void* data, std::size_t size)
{
    Session* session = sessions_.find(connection);
    if (session == nullptr) return;
    auto request = decode_tool_request(data, size);
    if (!request) {
        log_warning(log_cat, "Closing session %s of %s: %s", session->id.c_str(),
                    session->client_name.c_str(), request.error().message.c_str());
        end(*session, kToolMisbehaved, "it sent an invalid request");
        return;
    }
    if (session->awaiting && *session->awaiting != request->id) {
        // 2.1.5 only logs this too: tools keep one synchronous request in flight.
        log_info(log_cat, "Session %s sent request %u while request %u still awaits its response",
                 session->id.c_str(), request->id, *session->awaiting);
    }
    if ((request->flags & wire::ipc_flag::client_response) != 0) session->awaiting = request->id;
    log_trace(log_cat, "Request %u (flags 0x%x) of session %s to provider %s", request->id, request->flags,
              session->id.c_str(), session->provider.c_str());
    auto proxied = make_request(session->id, session->client_name, session->user, request->id, request->flags,
                                std::move(request->xml));
    ProxyHost* host = links_.host;
    if (host == nullptr || !host->send_to_provider(session->provider, proxied))
        end(*session, kProviderClosed, "its IPC provider is gone");
}

void ToolSessions::closed(ipc::ConnectionId connection)
{
    if (Session* session = sessions_.find(connection)) end(*session, kToolLeft, "the tool disconnected");
}

// ---- the provider's side ------------------------------------------------------------------

bool ToolSessions::deliver_response(std::string_view id, std::uint32_t ipc_msg_id, const wire::Element& msg)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) return false;
    if (session->awaiting && *session->awaiting != ipc_msg_id) {
        log_info(log_cat, "Response %u for session %s while request %u awaits its response", ipc_msg_id,
                 session->id.c_str(), *session->awaiting);
    }
    session->awaiting.reset();
    deliver(*session, msg, ipc_msg_id);
    return true;
}

bool ToolSessions::deliver_event(std::string_view id, const wire::Element& msg)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) return false;
    deliver(*session, msg, std::nullopt);
    return true;
}

void ToolSessions::destroy(std::string_view id)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) {
        log_debug(log_cat, "Provider destroyed unknown session %s", std::string(id).c_str());
        return;
    }
    end(*session, kProviderClosed, "the cluster closed it");
}

void ToolSessions::provider_gone(std::string_view provider_client_id)
{
    const std::vector<std::string> doomed =
        sessions_.ids([&](const Session& session) { return session.provider == provider_client_id; });
    // The server counts the remaining clients itself once the provider is gone.
    for (const auto& id : doomed) {
        if (Session* session = sessions_.find(id)) end(*session, kQuietly, "its IPC provider disconnected");
    }
}

void ToolSessions::close_all()
{
    while (Session* session = sessions_.any())
        end(*session, kQuietly, "the agent is exiting");
}

bool ToolSessions::deliver(Session& session, const wire::Element& msg,
                           std::optional<std::uint32_t> response_id)
{
    const ipc::Kind kind = response_id ? ipc::Kind::response : ipc::Kind::event;
    const std::uint32_t flags = response_id ? 0U : wire::ipc_flag::server_event;
    Status sent =
        links_.server->send(session.connection, kind, static_cast<std::int32_t>(response_id.value_or(0)),
                            flags, wire::serialize(msg));
    if (sent) return true;
    if (sent.error().code == -ENOTCONN) return false;  // the tool has left; libqb says so next
    log_error(log_cat, "Cannot pass a %s to local session %s: %s", response_id ? "response" : "event",
              session.id.c_str(), sent.error().message.c_str());
    end(session, kToolMisbehaved, "a message for it could not be delivered");
    return false;
}

void ToolSessions::end(Session& session, Ending how, const char* why)
{
    const std::string id = session.id;
    const std::string provider = session.provider;
    const bool announced = session.announced;
    const ipc::ConnectionId connection = session.connection;
    if (how.by_us) {
        log_info(log_cat, "Closing local %s session %s (%s): %s", session.spec->name.data(), id.c_str(),
                 session.client_name.empty() ? "not set up" : session.client_name.c_str(), why);
    } else {
        log_info(log_cat, "Local %s client %s disconnected (session %s)", session.spec->name.data(),
                 session.client_name.c_str(), id.c_str());
    }
    sessions_.erase(session);  // `session` is gone from here on
    if (how.by_us) links_.server->close(connection);
    ProxyHost* host = links_.host;
    if (host == nullptr) return;
    if (how.tell_provider && announced) host->send_to_provider(provider, make_destroy(id));
    if (how.report_gone) host->local_client_gone();
}

}  // namespace outpost::agent::proxy
