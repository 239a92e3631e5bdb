#include "proxy/tool_sessions.hpp"

#include <utility>

#include "ipc/header.hpp"
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
    auto session = std::make_unique<Session>(context_);
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

namespace {

void note_request(const std::string& id, std::optional<std::uint32_t>& awaiting, std::uint32_t request_id,
                  std::uint32_t flags)
{
    if (awaiting && *awaiting != request_id) {
        // 2.1.5 only logs this too: tools keep one synchronous request in flight.
        log_info(log_cat, "Session %s sent request %u while request %u still awaits its response", id.c_str(),
                 request_id, *awaiting);
    }
    if ((flags & wire::ipc_flag::client_response) != 0) awaiting = request_id;
}

// Its uncompressed size, as the header says (0 if it has none: the decoder says why).
std::size_t request_size(const void* data, std::size_t size)
{
    auto header = ipc::decode_header(data, size);
    return header ? header->size_uncompressed : 0;
}

}  // namespace

void ToolSessions::message(ipc::ConnectionId connection, const void* data, std::size_t size)
{
    Session* session = sessions_.find(connection);
    if (session == nullptr) return;
    if (request_size(data, size) > io::kOffloadAbove) {
        translate(*session, data, size);  // queued in order, whatever waits already
    } else if (session->to_provider.idle()) {
        forward(*session, data, size);
    } else {
        // Behind a large request still being translated. The step runs only while the
        // lane, and so the session, exists.
        session->to_provider.then([this, session, copy = std::string(static_cast<const char*>(data), size)] {
            forward(*session, copy.data(), copy.size());
        });
    }
}

void ToolSessions::translate(Session& session, const void* data, std::size_t size)
{
    // Decompressed, parsed and encoded on a worker; `session` outlives the step.
    Session* s = &session;
    session.to_provider.run(
        [this, s, id = session.id, client = session.client_name, user = session.user,
         copy = std::string(static_cast<const char*>(data), size)]() -> io::Offload::Step {
            auto request = decode_tool_request(copy.data(), copy.size());
            if (!request) return [this, s, error = request.error()] { rejected(*s, error); };
            const std::uint32_t request_id = request->id;
            const std::uint32_t flags = request->flags;
            std::string xml =
                wire::encode(make_request(id, client, user, request_id, flags, std::move(request->xml)));
            return [this, s, request_id, flags, xml = std::move(xml)] {
                forward_encoded(*s, request_id, flags, xml);
            };
        });
}

void ToolSessions::forward(Session& session, const void* data, std::size_t size)
{
    auto request = decode_tool_request(data, size);
    if (!request) {
        rejected(session, request.error());
        return;
    }
    note_request(session.id, session.awaiting, request->id, request->flags);
    log_trace(log_cat, "Request %u (flags 0x%x) of session %s to provider %s", request->id, request->flags,
              session.id.c_str(), session.provider.c_str());
    auto proxied = make_request(session.id, session.client_name, session.user, request->id, request->flags,
                                std::move(request->xml));
    ProxyHost* host = links_.host;
    if (host == nullptr || !host->send_to_provider(session.provider, proxied))
        end(session, kProviderClosed, "its IPC provider is gone");
}

void ToolSessions::forward_encoded(Session& session, std::uint32_t request_id, std::uint32_t flags,
                                   std::string_view xml)
{
    note_request(session.id, session.awaiting, request_id, flags);
    log_trace(log_cat, "Request %u (flags 0x%x, %zu bytes) of session %s to provider %s", request_id, flags,
              xml.size(), session.id.c_str(), session.provider.c_str());
    ProxyHost* host = links_.host;
    if (host == nullptr || !host->send_encoded_to_provider(session.provider, xml))
        end(session, kProviderClosed, "its IPC provider is gone");
}

void ToolSessions::rejected(Session& session, const Error& error)
{
    log_warning(log_cat, "Closing session %s of %s: %s", session.id.c_str(), session.client_name.c_str(),
                error.message.c_str());
    end(session, kToolMisbehaved, "it sent an invalid request");
}

void ToolSessions::closed(ipc::ConnectionId connection)
{
    if (Session* session = sessions_.find(connection)) end(*session, kToolLeft, "the tool disconnected");
}

// ---- the provider's side ------------------------------------------------------------------

bool ToolSessions::deliver_response(std::string_view id, std::uint32_t ipc_msg_id, std::string_view msg_xml)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) return false;
    if (session->awaiting && *session->awaiting != ipc_msg_id) {
        log_info(log_cat, "Response %u for session %s while request %u awaits its response", ipc_msg_id,
                 session->id.c_str(), *session->awaiting);
    }
    session->awaiting.reset();
    deliver(*session, msg_xml, ipc_msg_id);
    return true;
}

bool ToolSessions::deliver_event(std::string_view id, std::string_view msg_xml)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) return false;
    deliver(*session, msg_xml, std::nullopt);
    return true;
}

void ToolSessions::destroy(std::string_view id)
{
    Session* session = sessions_.find(id);
    if (session == nullptr) {
        log_debug(log_cat, "Provider destroyed unknown session %s", std::string(id).c_str());
        return;
    }
    // After what the provider sent before it.
    session->to_tool.then([this, session] { end(*session, kProviderClosed, "the cluster closed it"); });
}

void ToolSessions::provider_gone(std::string_view provider_client_id)
{
    const std::vector<std::string> doomed =
        sessions_.ids([&](const Session& session) { return session.provider == provider_client_id; });
    // The server counts the remaining clients itself once the provider is gone.
    for (const auto& id : doomed) {
        Session* session = sessions_.find(id);
        if (session == nullptr) continue;
        if (session->to_tool.idle()) {
            end(*session, kQuietly, "its IPC provider disconnected");
        } else {
            // What it sent before still goes to the tool; the server has counted the clients
            // by then, so this end reports itself.
            session->to_tool.then(
                [this, session] { end(*session, kProviderClosed, "its IPC provider disconnected"); });
        }
    }
}

void ToolSessions::close_all()
{
    while (Session* session = sessions_.any())
        end(*session, kQuietly, "the agent is exiting");
}

void ToolSessions::deliver(Session& session, std::string_view msg_xml,
                           std::optional<std::uint32_t> response_id)
{
    const ipc::Kind kind = response_id ? ipc::Kind::response : ipc::Kind::event;
    const std::uint32_t flags = response_id ? 0U : wire::ipc_flag::server_event;
    const auto msg_id = static_cast<std::int32_t>(response_id.value_or(0));
    Session* s = &session;  // a step of its lane runs only while the session exists
    if (msg_xml.size() > io::kOffloadAbove) {
        const std::optional<ipc::Server::EncodeLimits> limits =
            links_.server->encode_limits(session.connection);
        if (!limits) return;  // the tool has left; libqb says so next
        // Compressed on a worker (bzip2 of a 16 MB CIB takes seconds).
        session.to_tool.run([this, s, kind, msg_id, flags, limits = *limits,
                             xml = std::string(msg_xml)]() -> io::Offload::Step {
            auto bytes = ipc::encode_message(msg_id, xml, flags, limits.compress_above, limits.max_size);
            return [this, s, kind, bytes = std::move(bytes)]() mutable {
                if (!bytes) {
                    delivery_failed(*s, kind, bytes.error());
                    return;
                }
                Status sent = links_.server->send_encoded(s->connection, kind, std::move(bytes).value());
                if (!sent && sent.error().code != -ENOTCONN) delivery_failed(*s, kind, sent.error());
            };
        });
        return;
    }
    if (!session.to_tool.idle()) {
        session.to_tool.then([this, s, kind, msg_id, flags, xml = std::string(msg_xml)] {
            Status sent = links_.server->send(s->connection, kind, msg_id, flags, xml);
            if (!sent && sent.error().code != -ENOTCONN) delivery_failed(*s, kind, sent.error());
        });
        return;
    }
    Status sent = links_.server->send(session.connection, kind, msg_id, flags, msg_xml);
    // -ENOTCONN: the tool has left; libqb says so next.
    if (!sent && sent.error().code != -ENOTCONN) delivery_failed(session, kind, sent.error());
}

void ToolSessions::delivery_failed(Session& session, ipc::Kind kind, const Error& error)
{
    log_error(log_cat, "Cannot pass %s to local session %s: %s",
              kind == ipc::Kind::response ? "a response" : "an event", session.id.c_str(),
              error.message.c_str());
    end(session, kToolMisbehaved, "a message for it could not be delivered");
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
