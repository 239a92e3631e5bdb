// RemoteConnection: the ocf:pacemaker:remote connection resource on a GMainContext. It
// performs the effects of its RemoteConnectionMachine (connection_machine.hpp) with a
// RemoteClient: what a host (the controller) drives to start, monitor, stop and migrate a
// connection to a remote node, and, given an IpcProvider, what serves the node's proxied
// tool sessions.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "connection/connection_machine.hpp"
#include "connection/ipc_provider.hpp"
#include "connection/remote_client.hpp"
#include "io/source.hpp"
#include "tls/context.hpp"
#include "util/lifetime.hpp"

namespace outpost::cluster::connection {

// Parameters of one connection resource (the ocf:pacemaker:remote instance attributes).
struct RemoteConnectionConfig {
    std::string server;  // address or host name
    std::uint16_t port = 3121;
    std::string client_name;  // default "pacemaker-remote-<server>:<port>"
    bool ipc_provider = true;
    // Answers the guest's proxied tool sessions (borrowed; must outlive the connection). The
    // connection keeps one IpcProxyBridge per registered client and destroys it before the
    // client, so a new start never leaves a bridge on a dead client. nullptr: sessions are
    // not served (register with ipc_provider = false then, or the guest's tools hang).
    IpcProvider* provider = nullptr;
    Millis reconnect_interval{0};
    // Refuse a start before machine().reconnect_allowed_at() (see above); off as in Pacemaker.
    bool enforce_reconnect_interval = false;
    Millis handshake_timeout = io::kClientHandshakeTimeout;
    Millis reply_timeout = kDefaultReplyTimeout;
};

// The adapter: performs the machine's effects with a RemoteClient on `context`.
class RemoteConnection {
public:
    using ResultHandler = std::function<void(const RaResult&)>;
    using NodeHandler = std::function<void(bool up)>;
    // Called with each new RemoteClient right after it registered, so the host can subscribe
    // to exec events and attach its IPC provider bridge. Rule kept from the 2.1.5 controller
    // (docs/protocol.md 6, migrate_to), which the host applies (this adapter does not filter
    // the events it subscribed to): once an expected takeover completed
    // (machine().takeover_complete() after migrate_to), exec events still arriving on the old
    // connection are ignored; the resources' results come from the new connection. A client is
    // replaced (destroyed) by the next start: keep no reference to it beyond that
    // (RemoteConnectionConfig::provider is how to serve IPC sessions; the connection owns that
    // bridge).
    using ClientHandler = std::function<void(RemoteClient&)>;

    RemoteConnection(GMainContext* context, tls::TlsContext tls, RemoteConnectionConfig config);
    RemoteConnection(const RemoteConnection&) = delete;
    RemoteConnection& operator=(const RemoteConnection&) = delete;
    ~RemoteConnection();

    void on_result(ResultHandler handler) { on_result_ = std::move(handler); }
    void on_node(NodeHandler handler) { on_node_ = std::move(handler); }
    void on_client(ClientHandler handler) { on_client_ = std::move(handler); }

    void start(Millis timeout);
    void stop(Millis timeout);
    void monitor(Millis timeout, Millis interval = Millis{0});
    void cancel_monitor();
    void migrate_to();
    void migrate_from(Millis timeout);
    void reload(std::optional<Millis> reconnect_interval);

    // The remote node is known dead (a guest whose container died): the live connection is
    // closed as when it drops (RemoteClient::lose: the operations in flight on it fail at
    // once, the machine's connection_lost ends its monitors). False when not connected.
    bool lose(const std::string& reason);

    [[nodiscard]] const RemoteConnectionMachine& machine() const { return machine_; }
    // The live client while connected (nullptr otherwise).
    [[nodiscard]] RemoteClient* client() { return client_ && client_->connected() ? client_.get() : nullptr; }
    // The bridge serving the live client's proxied sessions (nullptr without a provider).
    [[nodiscard]] const IpcProxyBridge* bridge() const { return bridge_.get(); }

private:
    void apply(const Effects& effects);
    void release_client();
    void arm(Timer timer, Millis delay);
    void disarm(Timer timer);

    GMainContext* context_;
    tls::TlsContext tls_;
    RemoteConnectionConfig config_;
    RemoteConnectionMachine machine_;
    // Declared after client_ so that they go first: both refer to it.
    std::unique_ptr<RemoteClient> client_;
    std::optional<Subscription> subscription_;
    std::unique_ptr<IpcProxyBridge> bridge_;
    io::Source timers_[5];
    ResultHandler on_result_;
    NodeHandler on_node_;
    ClientHandler on_client_;
    Lifetime lifetime_;
};

}  // namespace outpost::cluster::connection
