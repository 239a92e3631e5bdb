// GuestIpc: outpost-controld as the IPC provider (docs/protocol.md 4.3-4.5) of one remote or
// guest node, as pacemaker-controld is under a real cluster. The node's daemon (outpost-agent
// or pacemaker-remoted) forwards its local tools' sessions over the connection; this serves
// them from the controller's own CIB through the same CibService as the local IPC names, so
// cibadmin, crm_mon and crm_attribute inside a guest, and the agent's own CIB session
// (cibfollow: live resource limits), behave as on the controller's host:
//   - cib_ro (read-only), cib_rw and cib_shm (read-write; a 2.1.5 remote daemon forwards
//     cib_shm as cib_rw): register, operations, cib_diff_notify subscriptions, whose
//     <notify> goes to the session as a proxy event after every change of the CIB, whoever
//     made it. The update-user of a write is the user the node's daemon names with the
//     request (the tool's local user; the daemon only lets root and haclient in).
//   - pacemakerd: its status ping, as the local face answers it (outpost-agent refuses this
//     channel locally; another daemon may forward it).
//   - attrd, when an attribute manager is set (set_attributes): each request is answered
//     by it, a request naming no node (attr_host) being for this node, as Pacemaker's
//     controller fills in the remote node's name.
//   - crmd and stonith-ng, when the local faces are set (set_proxied_faces): each session is
//     a client of the same crmd face and fencer face as the local tools
//     (controller/proxied_faces.hpp), named by this node (crm_node -n answers its name).
//   - Every other channel is refused: the session is
//     destroyed at once and the refusal is logged once per channel name at info level.
// A shutdown request goes to the controller's handler (see shutdown_requested()). Bad input
// (undecodable XML, an oversized user name) gets an -EBADMSG reply or closes the session,
// never more; the bridge bounds the number of sessions (connection::kMaxProxySessions).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "connection/ipc_provider.hpp"
#include "controller/attrd.hpp"
#include "controller/cib_service.hpp"
#include "controller/proxied_faces.hpp"

namespace outpost::cluster::control {

// Channel names refused are remembered (to log each once) up to this many.
inline constexpr std::size_t kMaxRefusedChannelsLogged = 32;
// A user name longer than this closes the session (names are short).
inline constexpr std::size_t kMaxProxyUserLength = 256;

class GuestIpc final : public connection::IpcProvider, private controller::CibListener {
public:
    // What the controller answers a node's shutdown request (it drains the node on ack).
    using ShutdownHandler = std::function<connection::ShutdownAnswer()>;

    // `service` is borrowed and must outlive the provider; `node` names the node in logs;
    // `on_shutdown` answers its shutdown requests (none: nack).
    GuestIpc(controller::CibService& service, std::string node, ShutdownHandler on_shutdown = {});
    GuestIpc(const GuestIpc&) = delete;
    GuestIpc& operator=(const GuestIpc&) = delete;
    ~GuestIpc() override;

    // connection::IpcProvider
    bool session_opened(const connection::ProxySession& session, connection::IpcChannel& channel) override;
    void request(const connection::ProxyRequest& request, connection::IpcChannel& channel) override;
    void session_closed(const connection::ProxySession& session) override;
    // The handler's answer: ack when the controller drains the node (Pacemaker records a
    // "shutdown" node attribute and lets the scheduler move everything off, then stops the
    // connection, and the daemon exits), nack when it will not (the daemon exits at once).
    connection::ShutdownAnswer shutdown_requested() override;

    [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }
    // Serves the attrd channel with `attributes` (borrowed; nullptr refuses it).
    void set_attributes(controller::AttributeService* attributes) { attributes_ = attributes; }
    // Serves the crmd and stonith-ng channels with `faces` (borrowed, must outlive the
    // provider; nullptr refuses them).
    void set_proxied_faces(controller::ProxiedFaces* faces) { faces_ = faces; }

private:
    enum class Channel { cib_ro, cib_rw, pacemakerd, attrd, proxied };
    struct Session {
        Channel channel = Channel::cib_ro;
        controller::CibClient cib;
        connection::IpcChannel* carrier =
            nullptr;  // the bridge; it reports the session closed before it goes
        controller::ProxiedFaces::ClientId face_client = 0;  // Channel::proxied: its id there
    };

    // controller::CibListener
    void cib_changed(const controller::CibChange& change) override;

    void handle_pacemakerd(const connection::ProxyRequest& request, connection::IpcChannel& channel);
    void handle_attrd(const connection::ProxyRequest& request, connection::IpcChannel& channel);
    void answer(const connection::ProxyRequest& request, connection::IpcChannel& channel,
                const std::string& xml);
    void close(const std::string& session, connection::IpcChannel& channel, const char* why);
    // A crmd or stonith-ng session opened at the local faces; false if they refuse it.
    bool open_proxied(const connection::ProxySession& session, connection::IpcChannel& channel);
    // Forgets a session (closing its face client, if any).
    void forget(const std::string& session);

    controller::CibService& service_;
    std::string node_;
    ShutdownHandler on_shutdown_;
    std::map<std::string, Session> sessions_;
    std::set<std::string> refused_logged_;
    controller::AttributeService* attributes_ = nullptr;
    controller::ProxiedFaces* faces_ = nullptr;
};

}  // namespace outpost::cluster::control
