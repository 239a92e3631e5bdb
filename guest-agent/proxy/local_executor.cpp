#include "proxy/local_executor.hpp"

#include <climits>
#include <optional>
#include <string>
#include <utility>

#include "ipc/header.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/codes.hpp"
#include "wire/messages.hpp"

namespace outpost::agent::proxy {
namespace {

const log::Category log_cat{"agent.proxy.lrmd"};

}  // namespace

std::vector<std::string> LocalExecutorSessions::ids() const
{
    return sessions_.ids();
}

int LocalExecutorSessions::accept(ipc::ConnectionId connection, const std::string& service_name,
                                  const ipc::Peer& peer)
{
    auto session = std::make_unique<Session>(context_);
    session->id = random_uuid();
    session->connection = connection;
    session->user = peer.user;
    session->description = "local IPC (" + service_name + ", user " + log::quote(peer.user) + ")";
    Status opened =
        links_.host != nullptr
            ? links_.host->local_executor_open(session->id, session->description)
            : Status(make_error("proxy", -EPROTONOSUPPORT, "the agent has no executor attached yet"));
    if (!opened) {
        log_warning(log_cat, "Refusing local %s connection (uid %u): %s", service_name.c_str(),
                    static_cast<unsigned>(peer.uid), opened.error().message.c_str());
        return opened.error().code < 0 ? opened.error().code : -EPROTONOSUPPORT;
    }
    log_debug(log_cat, "Accepted local %s connection of %s as executor client %s", service_name.c_str(),
              log::quote(session->user).c_str(), session->id.c_str());
    sessions_.add(std::move(session));
    return 0;
}

void LocalExecutorSessions::created(ipc::ConnectionId connection)
{
    Session* session = sessions_.find(connection);
    if (session == nullptr) return;
    const ipc::Peer* peer = links_.server->peer(connection);
    log_info(log_cat, "New local executor client %s (pid %d, %s)", session->id.c_str(),
             peer != nullptr ? static_cast<int>(peer->pid) : 0, log::quote(session->user).c_str());
}

namespace {

// Its uncompressed size, as the header says (0 if it has none: the decoder says why).
std::size_t request_size(const void* data, std::size_t size)
{
    auto header = ipc::decode_header(data, size);
    return header ? header->size_uncompressed : 0;
}

}  // namespace

void LocalExecutorSessions::message(ipc::ConnectionId connection, const void* data, std::size_t size)
{
    Session* session = sessions_.find(connection);
    if (session == nullptr) return;
    if (request_size(data, size) > io::kOffloadAbove) {
        serve_off_loop(*session, data, size);  // queued in order, whatever waits already
    } else if (session->requests.idle()) {
        serve(*session, data, size);
    } else {
        // Behind a large request still being read. The step runs only while the lane, and
        // so the session, exists.
        session->requests.then([this, session, copy = std::string(static_cast<const char*>(data), size)] {
            serve(*session, copy.data(), copy.size());
        });
    }
}

bool LocalExecutorSessions::wants_response(const Session& session, const ipc::Message& message) const
{
    if ((message.header.flags & wire::ipc_flag::client_response) != 0) return true;
    // 2.1.5 serves only requests that wait for a response; the rest are logged and dropped.
    log_warning(log_cat, "Ignoring request %u of local executor client %s: it does not ask for a response",
                static_cast<std::uint32_t>(message.header.id), session.id.c_str());
    return false;
}

void LocalExecutorSessions::serve(Session& session, const void* data, std::size_t size)
{
    auto message = ipc::decode_message(data, size);
    if (!message) {
        log_warning(log_cat, "Closing local executor client %s: %s", session.id.c_str(),
                    message.error().message.c_str());
        end(session, Ending::closed, "it sent an invalid message");
        return;
    }
    if (!wants_response(session, *message) || links_.host == nullptr) return;
    const auto request_id = static_cast<std::uint32_t>(message->header.id);
    session.awaiting = request_id;
    const std::string id = session.id;
    links_.host->local_executor_request(id, request_id, message->xml);
    // The reply (if the request has one: lrmd_check has none) went out during the call.
    if (Session* again = sessions_.find(id)) again->awaiting.reset();
}

void LocalExecutorSessions::serve_off_loop(Session& session, const void* data, std::size_t size)
{
    Session* s = &session;  // a step of its lane runs only while the session exists
    log_debug(log_cat, "Reading a request of %zu bytes from local executor client %s off the loop", size,
              session.id.c_str());
    session.requests.run(
        [this, s, copy = std::string(static_cast<const char*>(data), size)]() -> io::Offload::Step {
            auto message = ipc::decode_message(copy.data(), copy.size());
            if (!message) {
                return [this, s, error = message.error()] {
                    log_warning(log_cat, "Closing local executor client %s: %s", s->id.c_str(),
                                error.message.c_str());
                    end(*s, Ending::closed, "it sent an invalid message");
                };
            }
            const auto request_id = static_cast<std::uint32_t>(message->header.id);
            std::optional<Result<wire::Message>> request;
            if ((message->header.flags & wire::ipc_flag::client_response) != 0)
                request = wire::decode_local_request(message->xml, request_id);
            return [this, s, header = message->header, request = std::move(request)] {
                if (!request) {
                    (void)wants_response(*s, ipc::Message{header, {}});
                    return;
                }
                if (links_.host == nullptr) return;
                s->awaiting = static_cast<std::uint32_t>(header.id);
                const std::string id = s->id;
                links_.host->local_executor_prepared(id, *s->awaiting, *request);
                if (Session* again = sessions_.find(id)) again->awaiting.reset();
            };
        });
}

void LocalExecutorSessions::closed(ipc::ConnectionId connection)
{
    if (Session* session = sessions_.find(connection)) end(*session, Ending::client_left, "it disconnected");
}

Status LocalExecutorSessions::send_reply(std::string_view client_id, std::string_view xml)
{
    Session* session = sessions_.find(client_id);
    if (session == nullptr) return make_error("proxy", -ENOTCONN, "local executor client is gone");
    if (!session->awaiting) {
        log_warning(log_cat, "Dropping a reply for local executor client %s: no request awaits one",
                    session->id.c_str());
        return {};
    }
    const auto request_id = static_cast<std::int32_t>(*session->awaiting);
    session->awaiting.reset();
    return send(*session, ipc::Kind::response, request_id, wire::ipc_flag::server_free, xml);
}

Status LocalExecutorSessions::send_event(std::string_view client_id, std::string_view xml)
{
    Session* session = sessions_.find(client_id);
    if (session == nullptr) return make_error("proxy", -ENOTCONN, "local executor client is gone");
    last_event_id_ = last_event_id_ >= INT32_MAX || last_event_id_ < 0 ? 1 : last_event_id_ + 1;
    return send(*session, ipc::Kind::event, last_event_id_,
                wire::ipc_flag::server_event | wire::ipc_flag::server_free, xml);
}

Status LocalExecutorSessions::send(Session& session, ipc::Kind kind, std::int32_t msg_id, std::uint32_t flags,
                                   std::string_view xml)
{
    Status sent = links_.server->send(session.connection, kind, msg_id, flags, xml);
    if (sent) return {};
    if (sent.error().code != -ENOTCONN) {
        log_error(log_cat, "Cannot pass %s to local executor client %s: %s",
                  kind == ipc::Kind::response ? "a response" : "an event", session.id.c_str(),
                  sent.error().message.c_str());
        end(session, Ending::closed, "a message for it could not be delivered");
    }
    return make_error("proxy", -ENOTCONN, "local executor client was disconnected");
}

void LocalExecutorSessions::close_all()
{
    while (Session* session = sessions_.any())
        end(*session, Ending::quietly, "the agent is exiting");
}

void LocalExecutorSessions::end(Session& session, Ending how, const char* why)
{
    const std::string id = session.id;
    const ipc::ConnectionId connection = session.connection;
    if (how == Ending::client_left) {
        log_info(log_cat, "Local lrmd client %s disconnected (%s)", id.c_str(), session.description.c_str());
    } else {
        log_info(log_cat, "Closing local executor client %s (%s): %s", id.c_str(),
                 session.description.c_str(), why);
    }
    sessions_.erase(session);  // `session` is gone from here on
    if (how != Ending::client_left) links_.server->close(connection);
    switch (how) {
        case Ending::client_left:
            if (links_.host != nullptr) {
                links_.host->local_executor_closed(id);
                links_.host->local_client_gone();
            }
            return;
        case Ending::closed:
            // Mostly closed from inside a send to it, which the executor may be making while it
            // reports a result: telling the server now could make it drop recurring ops under
            // the executor's feet, so it hears of it from the loop.
            reports_.later([this, id] {
                if (links_.host == nullptr) return;
                links_.host->local_executor_closed(id);
                links_.host->local_client_gone();
            });
            return;
        case Ending::quietly:
            return;
    }
}

}  // namespace outpost::agent::proxy
