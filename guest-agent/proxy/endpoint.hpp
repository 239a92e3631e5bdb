// The seam between the server and the local IPC proxy (docs/protocol.md 4), so that neither
// includes the other: the proxy implements ProxyEndpoint, the server ProxyHost. It carries the
// tunnelled tool sessions and the local executor API (the `lrmd` service).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <cerrno>

#include "util/result.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::proxy {

// What the server asks of the proxy: deliver what an IPC provider sends back through ipc_fwd
// (response, event, destroy), forget a provider that disconnected. Until an endpoint is
// attached the server answers response/event for any session with a destroy notify, as 2.1.5
// does for a session it does not know.
class ProxyEndpoint {
public:
    virtual ~ProxyEndpoint() = default;

    // `response` from a provider: the synchronous answer to local request `ipc_msg_id` of
    // `session`; `msg_xml` is its lrmd_ipc_msg content, serialized as the tool gets it.
    // Returns false if the session is unknown (the server then sends destroy).
    virtual bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                                  std::string_view msg_xml) = 0;
    // `event` from a provider: an asynchronous message for `session`. False if unknown.
    virtual bool deliver_event(std::string_view session, std::string_view msg_xml) = 0;
    // `destroy` from a provider: close that local session (unknown sessions are ignored).
    virtual void destroy_session(std::string_view session) = 0;
    // Whether `session` is a proxied session a provider may address (lrmd local executor
    // clients are not). 2.1.5 answers any ipc_fwd naming a session it does not have with a
    // destroy notify, whatever its operation.
    [[nodiscard]] virtual bool has_session(std::string_view session) const = 0;
    // The provider with this client id disconnected: close the local sessions it served.
    virtual void provider_gone(std::string_view provider_client_id) = 0;
    // A client registered as IPC provider (it is the newest now). Called from inside the
    // register's dispatch: whatever this sends must wait until the reply has gone out.
    virtual void provider_added(std::string_view provider_client_id) { (void)provider_client_id; }
    // Local IPC clients and proxied sessions still open (docs/protocol.md 5.12 counts them).
    [[nodiscard]] virtual std::size_t local_client_count() const = 0;

    // For local executor client `client_id`: the reply to the request it is being served
    // (the IPC response to that request's id), or a notification (an IPC event). Both are
    // queued if the client's buffer is full; -ENOTCONN if the client is gone.
    virtual Status send_local_reply(std::string_view client_id, std::string_view xml)
    {
        (void)client_id;
        (void)xml;
        return make_error("proxy", -ENOTCONN, "no local executor clients here");
    }
    virtual Status send_local_event(std::string_view client_id, std::string_view xml)
    {
        (void)client_id;
        (void)xml;
        return make_error("proxy", -ENOTCONN, "no local executor clients here");
    }
};

// A proxied session the agent opens for itself (cibfollow/: its own CIB session). No local
// tool is behind it: the proxy hands the provider's answers for its id to it, never to a tool,
// does not count it as a local client (the last-client rule) and lists it nowhere a tool's
// session is listed. It sends through ProxyHost like a tool session.
class OwnSession {
public:
    virtual ~OwnSession() = default;
    // Whether `session` is the id of this session's current incarnation.
    [[nodiscard]] virtual bool owns(std::string_view session) const = 0;
    // The provider's `response` to request `ipc_msg_id`, and its `event`s.
    virtual void response(std::uint32_t ipc_msg_id, const wire::Element& msg) = 0;
    virtual void event(const wire::Element& msg) = 0;
    // The provider destroyed the session.
    virtual void destroyed() = 0;
    virtual void provider_added(std::string_view provider_client_id) = 0;
    virtual void provider_gone(std::string_view provider_client_id) = 0;
};

// What the proxy asks of the server: which provider is the newest (new local sessions go to
// it), sending it proxy notifications (new, request, destroy), and reporting a local client
// gone, so the "last client gone" rule (docs/protocol.md 5.12) counts local clients too.
//
// The local executor API (docs/protocol.md 4.2) goes the same way: the proxy accepts an lrmd
// connection only if local_executor_open() succeeds, hands over each request's XML
// (local_executor_request) and reports the disconnect (local_executor_closed, then
// local_client_gone); the server answers through ProxyEndpoint::send_local_reply /
// send_local_event, which become the IPC response to the request being handled and IPC
// events. Both sides default to "not supported", which makes the proxy refuse lrmd
// connections.
class ProxyHost {
public:
    virtual ~ProxyHost() = default;

    // Client id of the newest connected IPC provider; nullopt if none (the proxy refuses
    // local sessions then).
    [[nodiscard]] virtual std::optional<std::string> newest_provider() const = 0;
    // Sends a proxy notification (new, request, destroy) to a provider. False if that
    // provider is gone or the message could not be queued.
    virtual bool send_to_provider(std::string_view provider_client_id, const wire::ProxyMessage& message) = 0;
    // The same for a message already encoded (wire::encode, off the loop for a large one).
    // The server sends the text as it is; this default decodes it for hosts that only
    // record messages.
    virtual bool send_encoded_to_provider(std::string_view provider_client_id, std::string_view xml)
    {
        auto decoded = wire::decode_message(xml);
        const auto* message = decoded ? std::get_if<wire::ProxyMessage>(&*decoded) : nullptr;
        return message != nullptr && send_to_provider(provider_client_id, *message);
    }
    // A local client or proxied session closed: the server checks whether any client of any
    // kind remains and, if none, drops recurring operations.
    virtual void local_client_gone() = 0;

    // A local client connected to the lrmd service: make it an executor client with id
    // `client_id` (its lrmd_clientid); `description` names it in logs (pid and user). An
    // Error (its code goes back to the connecting client) refuses the connection.
    virtual Status local_executor_open(std::string_view client_id, std::string_view description)
    {
        (void)client_id;
        (void)description;
        return make_error("proxy", -EPROTONOSUPPORT, "the local executor API is not served here");
    }
    // One request of that client: the XML payload and the IPC request id. Any reply comes
    // back through ProxyEndpoint::send_local_reply before this returns.
    virtual void local_executor_request(std::string_view client_id, std::uint32_t ipc_msg_id,
                                        std::string_view xml)
    {
        (void)client_id;
        (void)ipc_msg_id;
        (void)xml;
    }
    // The same for a large request, read already on a worker thread
    // (wire::decode_local_request): an Error if it could not be read.
    virtual void local_executor_prepared(std::string_view client_id, std::uint32_t ipc_msg_id,
                                         const Result<wire::Message>& request)
    {
        (void)client_id;
        (void)ipc_msg_id;
        (void)request;
    }
    // The client disconnected (or the proxy closed it); local_client_gone() follows.
    virtual void local_executor_closed(std::string_view client_id) { (void)client_id; }
};

}  // namespace outpost::agent::proxy
