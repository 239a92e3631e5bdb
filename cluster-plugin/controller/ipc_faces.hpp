// IpcFaces: the local IPC names outpost-controld serves so that Pacemaker's own tools work
// against it: the CIB (cib_ro, cib_rw: native; cib_shm: shared memory, like cib_rw),
// pacemakerd (its status ping, for crm_mon's header), the controller (crmd: node-info,
// lrm_delete, lrm_fail, probe_again; crmd.hpp), the attribute manager (attrd: attrd.hpp,
// answered by an AttributeService) and the fencer (stonith-ng: FencerFace,
// fencer_face.hpp). One ipc::Server carries them all
// (libqb allows one poll-handler table per process).
//
// What a CIB request does is CibService's (cib_service.hpp), shared with the guests'
// proxied tools (control/guest_ipc); this face carries it over libqb: a reply goes back as a
// libqb response when the tool waits for one (IPC flag client_response), as an event
// otherwise; cib_ro clients are read-only; clients that subscribed to cib_diff_notify get
// the <notify> of every change, whoever made it. A message that cannot be decoded closes its
// connection.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/attrd.hpp"
#include "controller/cib_service.hpp"
#include "controller/controller_actions.hpp"
#include "controller/crmd.hpp"
#include "controller/fencer_face.hpp"
#include "controller/proxied_faces.hpp"
#include "ipc/server.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

struct IpcOptions {
    std::size_t buffer_size = ipc::kDefaultBufferSize;  // PCMK_ipc_buffer
    std::string cluster_group = ipc::kClusterGroup;
    // Prepended to every service name; empty in the daemon (tests only).
    std::string name_prefix;
    std::string node_name;  // the controller's node, for node-info
};

// The remote and guest nodes' proxied crmd and stonith-ng sessions (ProxiedFaces,
// ipc_faces_proxied.cpp) are clients of the same faces, with ids of their own range.
class IpcFaces final : public ProxiedFaces, private ipc::Server::Handler, private CibListener {
public:
    // `service` is borrowed and must outlive the faces.
    static Result<std::unique_ptr<IpcFaces>> create(GMainContext* context, CibService& service,
                                                    IpcOptions options);
    IpcFaces(const IpcFaces&) = delete;
    IpcFaces& operator=(const IpcFaces&) = delete;
    ~IpcFaces() override;

    [[nodiscard]] std::size_t client_count() const { return clients_.size(); }
    // What crmd's lrm_delete/lrm_fail/probe_again do; borrowed,
    // nullptr (the default, and with --cib-only) refuses them.
    void set_controller(ControllerActions* controller) { controller_ = controller; }
    // What answers attrd requests (control/attribute_manager); borrowed, nullptr (the
    // default) closes attrd connections.
    void set_attributes(AttributeService* attributes) { attributes_ = attributes; }
    // What stonith-ng's clients are served by (fencer_face.hpp); borrowed, nullptr (the
    // default, and with --cib-only) refuses their connections.
    void set_fencer(FencerFace* fencer);

    // ProxiedFaces (ipc_faces_proxied.cpp)
    Result<ClientId> open_proxied(const std::string& channel, Carrier carrier) override;
    void proxied_request(ClientId id, std::int32_t msg_id, std::uint32_t flags, std::string xml) override;
    void close_proxied(ClientId id) override;

private:
    enum class Channel { cib_ro, cib_rw, cib_shm, pacemakerd, crmd, attrd, stonith_ng };
    struct Client {
        Channel channel = Channel::cib_ro;
        CibClient cib;
        std::string node;  // a proxied session's node; empty: a local tool
    };

    IpcFaces(CibService& service, IpcOptions options);

    // ipc::Server::Handler
    int accept(std::size_t service, ipc::ConnectionId id, const ipc::Peer& peer) override;
    void refused(std::size_t service, const ipc::Peer& peer) override;
    void created(ipc::ConnectionId id) override;
    void message(ipc::ConnectionId id, const void* data, std::size_t size) override;
    void closed(ipc::ConnectionId id) override;

    void handle_cib(ipc::ConnectionId id, Client& client, const ipc::Message& message);
    void handle_pacemakerd(ipc::ConnectionId id, const ipc::Message& message);
    void handle_crmd(ipc::ConnectionId id, const ipc::Message& message);
    void handle_attrd(ipc::ConnectionId id, const ipc::Message& message);
    // An answer sent as an event; a tool waiting for a response gets an ack first.
    void answer(ipc::ConnectionId id, const ipc::Message& request, const std::string& xml);
    void drop(ipc::ConnectionId id, const char* what, const std::string& why);
    void reply(ipc::ConnectionId id, const ipc::Message& request, const std::string& xml);
    // To a local (libqb) or proxied client; close_client() ends either.
    Status send_to(ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id, const std::string& xml);
    void close_client(ipc::ConnectionId id, const std::string& why);
    [[nodiscard]] static bool is_proxied(ipc::ConnectionId id) { return id >= kFirstProxiedId; }
    // node-info: the node the request names (by id or name), else the tool's own node.
    std::string node_info(const Client& client, const CrmdRequest& request) const;
    // CibListener
    void cib_changed(const CibChange& change) override;

    CibService& service_;
    IpcOptions options_;
    std::unique_ptr<ipc::Server> server_;
    std::map<ipc::ConnectionId, Client> clients_;
    ControllerActions* controller_ = nullptr;
    AttributeService* attributes_ = nullptr;
    FencerFace* fencer_ = nullptr;
    // libqb's connection ids count up from 1: the proxied ones start far above.
    static constexpr ipc::ConnectionId kFirstProxiedId = ipc::ConnectionId{1} << 62;
    std::map<ipc::ConnectionId, Carrier> proxied_;
    ipc::ConnectionId next_proxied_ = kFirstProxiedId;
    int serial_ = 0;  // of lrm_invoke answers
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace outpost::cluster::controller
