// The seam between the server and the local IPC proxy (protocol.md 4).
//
// The proxy module (guest-agent/proxy/, libqb servers for cib_ro, attrd, ...) implements
// ProxyEndpoint: the server hands it what an IPC provider sends back through ipc_fwd
// (response, event, destroy) and tells it when a provider disconnects. The server offers
// ProxyHost in return: which provider is the newest (the one new local sessions go to), a
// way to send it proxy notifications (new, request, destroy), and a hook to report that a
// local client went away, so the "last client gone" rule of protocol.md 5.12 can count
// local clients too. Until an endpoint is attached the server answers response/event for
// any session with a destroy notify, as 2.1.5 does for a session it does not know.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::server {

class ProxyEndpoint {
public:
    virtual ~ProxyEndpoint() = default;

    // `response` from a provider: the synchronous answer to local request `ipc_msg_id` of
    // `session`. Returns false if the session is unknown (the server then sends destroy).
    virtual bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                                  const wire::Element& msg) = 0;
    // `event` from a provider: an asynchronous message for `session`. False if unknown.
    virtual bool deliver_event(std::string_view session, const wire::Element& msg) = 0;
    // `destroy` from a provider: close that local session (unknown sessions are ignored).
    virtual void destroy_session(std::string_view session) = 0;
    // The provider with this client id disconnected: close the local sessions it served.
    virtual void provider_gone(std::string_view provider_client_id) = 0;
    // Local IPC clients and proxied sessions still open (protocol.md 5.12 counts them).
    [[nodiscard]] virtual std::size_t local_client_count() const = 0;
};

class ProxyHost {
public:
    virtual ~ProxyHost() = default;

    // Client id of the newest connected IPC provider; nullopt if none (the proxy refuses
    // local sessions then).
    [[nodiscard]] virtual std::optional<std::string> newest_provider() const = 0;
    // Sends a proxy notification (new, request, destroy) to a provider. False if that
    // provider is gone or the message could not be queued.
    virtual bool send_to_provider(std::string_view provider_client_id, const wire::ProxyMessage& message) = 0;
    // A local client or proxied session closed: the server checks whether any client of any
    // kind remains and, if none, drops recurring operations.
    virtual void local_client_gone() = 0;
};

}  // namespace outpost::agent::server
