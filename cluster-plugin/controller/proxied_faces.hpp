// ProxiedFaces: how a remote or guest node's proxied crmd and stonith-ng sessions reach the
// faces the local tools use (IpcFaces' crmd face and the FencerFace), as under Pacemaker,
// whose controller serves them for its remote nodes. A proxied session is one more client of
// those faces, named by the node it came from: the provider of the node's sessions
// (control/guest_ipc) opens it, hands over each request and closes it; the faces answer and
// close through its Carrier. One implementation: the faces do not know the proxy's wire.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "util/result.hpp"

namespace outpost::cluster::controller {

class ProxiedFaces {
public:
    using ClientId = std::uint64_t;

    // How a face reaches the tool at the other end of the proxy.
    struct Carrier {
        std::string node;  // the remote or guest node the session came from
        // An answer: as the response to request `msg_id` when `response`, an event otherwise.
        std::function<Status(bool response, std::int32_t msg_id, const std::string& xml)> send;
        // The face ends the session (bad input); the provider destroys it. Not called after
        // close_proxied().
        std::function<void(const std::string& why)> close;
    };

    virtual ~ProxiedFaces() = default;
    // A session on `channel` ("crmd" or "stonith-ng"); an Error when that face is not served
    // (the session is then refused).
    virtual Result<ClientId> open_proxied(const std::string& channel, Carrier carrier) = 0;
    // One request of the tool, with its libqb message id and flags.
    virtual void proxied_request(ClientId id, std::int32_t msg_id, std::uint32_t flags, std::string xml) = 0;
    // The session ended (the tool left, or the node's connection went).
    virtual void close_proxied(ClientId id) = 0;
};

}  // namespace outpost::cluster::controller
