// The IPC provider face (docs/protocol.md 4.3-4.5): how a host answers the cluster tools that
// run on a remote node (cibadmin, crm_mon, attrd_updater, ...) and talk to "cluster daemons"
// through the remote daemon's libqb proxy. The host implements IpcProvider; an IpcProxyBridge
// connects it to one RemoteClient.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "connection/remote_client.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::cluster::connection {

// Tool sessions one remote node may hold open at once; more means a runaway peer.
inline constexpr std::size_t kMaxProxySessions = 1024;

struct ProxySession {
    std::string id;      // lrmd_ipc_session
    std::string server;  // channel name: cib_ro, cib_rw, attrd, stonith-ng, crmd, ...
};

struct ProxyRequest {
    ProxySession session;
    std::string client;  // lrmd_ipc_client
    std::string user;    // the tool's local user name
    std::uint32_t msg_id = 0;
    std::uint32_t flags = 0;
    wire::Element msg;  // the tool's XML request
    [[nodiscard]] bool wants_response() const { return (flags & wire::ipc_flag::client_response) != 0; }
};

// How the provider answers: respond (the synchronous answer to a request id), event (an
// asynchronous message), destroy (close the tool's session). Valid only during the provider
// callback that got it (and for as long as the bridge lives, for asynchronous answers).
class IpcChannel {
public:
    virtual ~IpcChannel() = default;
    virtual Status respond(const std::string& session, std::uint32_t msg_id, wire::Element msg) = 0;
    virtual Status event(const std::string& session, wire::Element msg) = 0;
    virtual Status destroy(const std::string& session) = 0;
};

enum class ShutdownAnswer { ack, nack };

// What the host implements. The remote daemon forwards each local tool session to the client
// registered as IPC provider: `new` (a tool connected to a channel such as cib_rw or attrd),
// `request` (the tool's XML request, with its libqb message id and flags), `destroy` (the
// tool left) and `shutdown_req` (the daemon wants to stop).
class IpcProvider {
public:
    virtual ~IpcProvider() = default;
    // Return false to refuse the session (the bridge then destroys it).
    virtual bool session_opened(const ProxySession& session, IpcChannel& channel) = 0;
    virtual void request(const ProxyRequest& request, IpcChannel& channel) = 0;
    virtual void session_closed(const ProxySession& session) = 0;
    // The remote daemon got SIGTERM: ack lets it wait for us to disconnect, nack makes it exit.
    virtual ShutdownAnswer shutdown_requested() = 0;
};

// Keeps the session table (bounded), routes proxy notifies to the provider and turns the
// provider's answers into ipc_fwd requests. A request for a session it does not know is
// answered with `destroy`, as the 2.1.5 controller does. When the connection ends (dropped,
// or RemoteClient::disconnect()) or the bridge goes, every open session is reported closed to
// the provider and forgotten: the remote daemon closes them when its provider goes away, and
// a provider may keep the IpcChannel of an open session for its asynchronous answers.
class IpcProxyBridge : public IpcChannel {
public:
    // Subscribes to `client`'s proxy notifies. Both must outlive the bridge.
    IpcProxyBridge(RemoteClient& client, IpcProvider& provider);
    IpcProxyBridge(const IpcProxyBridge&) = delete;
    IpcProxyBridge& operator=(const IpcProxyBridge&) = delete;
    ~IpcProxyBridge() override;

    Status respond(const std::string& session, std::uint32_t msg_id, wire::Element msg) override;
    Status event(const std::string& session, wire::Element msg) override;
    Status destroy(const std::string& session) override;

    [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }

private:
    void on_proxy(const wire::ProxyMessage& message);
    void on_closed();

    RemoteClient& client_;
    IpcProvider& provider_;
    Subscription subscription_;
    std::map<std::string, ProxySession> sessions_;
};

}  // namespace outpost::cluster::connection
