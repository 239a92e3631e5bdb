#include "controller/ipc_faces.hpp"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "controller/pacemakerd.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::controller {

namespace {

const log::Category log_cat{"controller.ipc"};

bool wants_response(const ipc::Message& message)
{
    return (message.header.flags & wire::ipc_flag::client_response) != 0;
}

}  // namespace

IpcFaces::IpcFaces(CibService& service, IpcOptions options) : service_(service), options_(std::move(options))
{
    service_.add_listener(*this);
}

IpcFaces::~IpcFaces()
{
    service_.remove_listener(*this);
    server_.reset();
}

Result<std::unique_ptr<IpcFaces>> IpcFaces::create(GMainContext* context, CibService& service,
                                                   IpcOptions options)
{
    std::unique_ptr<IpcFaces> faces(new IpcFaces(service, std::move(options)));
    const std::string& prefix = faces->options_.name_prefix;
    // Order matters: the index of each is its Channel.
    std::vector<ipc::ServiceSpec> services = {
        {prefix + "cib_ro", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "cib_rw", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "cib_shm", QB_IPC_SHM, false, 0, {}},
        {prefix + "pacemakerd", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "crmd", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "attrd", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "stonith-ng", QB_IPC_NATIVE, true, 0, {}},
    };
    ipc::ServerOptions server_options;
    server_options.buffer_size = faces->options_.buffer_size;
    server_options.cluster_group = faces->options_.cluster_group;
    auto server = ipc::Server::create(context, std::move(services), server_options, *faces);
    if (!server) return server.error();
    faces->server_ = std::move(*server);
    return faces;
}

int IpcFaces::accept(std::size_t service, ipc::ConnectionId id, const ipc::Peer& peer)
{
    Client client;
    client.channel = static_cast<Channel>(service);
    if (client.channel == Channel::stonith_ng && fencer_ == nullptr) return -ECONNREFUSED;  // --cib-only
    client.cib.id = random_uuid();
    client.cib.user = peer.user;
    client.cib.read_only = client.channel == Channel::cib_ro;
    clients_.emplace(id, std::move(client));
    log_debug(log_cat, "Accepted %s connection of %s", server_->service_name(service).c_str(),
              log::quote(peer.user).c_str());
    return 0;
}

void IpcFaces::refused(std::size_t service, const ipc::Peer& peer)
{
    log_warning(log_cat, "Refused %s connection of uid %u: not root and not in group %s",
                server_->service_name(service).c_str(), static_cast<unsigned>(peer.uid),
                options_.cluster_group.c_str());
}

void IpcFaces::created(ipc::ConnectionId /*id*/) {}

void IpcFaces::closed(ipc::ConnectionId id)
{
    auto found = clients_.find(id);
    if (found != clients_.end() && found->second.channel == Channel::stonith_ng && fencer_ != nullptr)
        fencer_->closed(id);
    clients_.erase(id);
}

void IpcFaces::set_fencer(FencerFace* fencer)
{
    fencer_ = fencer;
    if (fencer_ == nullptr) return;
    FencerFace::Transport transport;
    transport.send = [this](ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id,
                            const std::string& xml) { return send_to(id, kind, msg_id, xml); };
    transport.close = [this](ipc::ConnectionId id, const std::string& why) { drop(id, "stonith-ng", why); };
    transport.pid = [this](ipc::ConnectionId id) {
        // A proxied tool reaches the fencer through the controller, as under Pacemaker.
        if (is_proxied(id)) return ::getpid();
        const ipc::Peer* peer = server_->peer(id);
        return peer != nullptr ? peer->pid : 0;
    };
    fencer_->attach(std::move(transport));
}

void IpcFaces::message(ipc::ConnectionId id, const void* data, std::size_t size)
{
    auto found = clients_.find(id);
    if (found == clients_.end()) return;
    auto message = ipc::decode_message(data, size);
    if (!message) {
        log_warning(log_cat, "Closing IPC client %s (%s): %s", found->second.cib.id.c_str(),
                    log::quote(found->second.cib.name).c_str(), message.error().message.c_str());
        if (found->second.channel == Channel::stonith_ng && fencer_ != nullptr) fencer_->closed(id);
        clients_.erase(found);
        server_->close(id);
        return;
    }
    log_trace(log_cat, "Request of %s: %s", found->second.cib.id.c_str(),
              log::quote(message->xml, 2000).c_str());
    switch (found->second.channel) {
        case Channel::pacemakerd:
            handle_pacemakerd(id, *message);
            break;
        case Channel::crmd:
            handle_crmd(id, *message);
            break;
        case Channel::attrd:
            handle_attrd(id, *message);
            break;
        case Channel::stonith_ng:
            if (fencer_ != nullptr) fencer_->message(id, *message);
            break;
        default:
            handle_cib(id, found->second, *message);
    }
}

void IpcFaces::reply(ipc::ConnectionId id, const ipc::Message& request, const std::string& xml)
{
    const bool response = wants_response(request);
    log_trace(log_cat, "Reply (%s): %s", response ? "response" : "event", log::quote(xml, 2000).c_str());
    Status sent = send_to(id, response ? ipc::Kind::response : ipc::Kind::event, request.header.id, xml);
    if (!sent && sent.error().code != -ENOTCONN)
        log_warning(log_cat, "Cannot reply to IPC client: %s", sent.error().message.c_str());
}

void IpcFaces::handle_cib(ipc::ConnectionId id, Client& client, const ipc::Message& message)
{
    service_.handle(client.cib, message.xml, ipc::kMaxPayloadSize, wants_response(message),
                    [&](const std::string& xml) { reply(id, message, xml); });
}

void IpcFaces::cib_changed(const CibChange& change)
{
    std::vector<ipc::ConnectionId> dropped;  // closed by the server when sending failed
    for (auto& [id, client] : clients_) {
        if (!client.cib.diff_notify) continue;
        const std::string* notification = change.notification_for(client.cib);  // ACLs may hide it
        if (notification == nullptr) continue;
        Status sent = server_->send(id, ipc::Kind::event, 0, 0, *notification);
        if (!sent && sent.error().code != -ENOTCONN) {
            log_warning(log_cat, "Cannot notify CIB client %s: %s", client.cib.id.c_str(),
                        sent.error().message.c_str());
            dropped.push_back(id);
        }
    }
    for (auto id : dropped)
        clients_.erase(id);
}

void IpcFaces::handle_pacemakerd(ipc::ConnectionId id, const ipc::Message& message)
{
    auto answer = pacemakerd_reply(message.xml, std::time(nullptr));
    if (!answer) {
        log_warning(log_cat, "Closing pacemakerd client: %s", answer.error().message.c_str());
        clients_.erase(id);
        server_->close(id);
        return;
    }
    // A tool waiting for a response gets the ack as that response and the answer as an
    // event; one that sent the ping asynchronously (crm_mon with a main loop) gets only
    // the answer, which an ack arriving first would be mistaken for.
    if (wants_response(message) || answer->event.empty()) reply(id, message, answer->ack);
    if (answer->event.empty() || clients_.count(id) == 0) return;
    Status sent = server_->send(id, ipc::Kind::event, 0, 0, answer->event);
    if (!sent && sent.error().code != -ENOTCONN) {
        log_warning(log_cat, "Cannot answer pacemakerd client: %s", sent.error().message.c_str());
        clients_.erase(id);
    }
}

void IpcFaces::drop(ipc::ConnectionId id, const char* what, const std::string& why)
{
    log_warning(log_cat, "Closing %s client: %s", what, why.c_str());
    close_client(id, why);
}

void IpcFaces::answer(ipc::ConnectionId id, const ipc::Message& request, const std::string& xml)
{
    if (wants_response(request)) reply(id, request, ipc_ack("dispatch_controller_ipc", 112));
    if (clients_.count(id) == 0) return;
    log_trace(log_cat, "Answer (event): %s", log::quote(xml, 2000).c_str());
    Status sent = send_to(id, ipc::Kind::event, 0, xml);
    if (!sent && sent.error().code != -ENOTCONN)
        log_warning(log_cat, "Cannot answer IPC client: %s", sent.error().message.c_str());
}

void IpcFaces::handle_crmd(ipc::ConnectionId id, const ipc::Message& message)
{
    auto request = parse_crmd_request(message.xml);
    if (!request) {
        drop(id, "controller", request.error().message);
        return;
    }
    const std::string& client_uuid = clients_.at(id).cib.id;
    const std::string node_id = controller_ != nullptr ? controller_->host_node_id() : options_.node_name;
    const std::time_t now = std::time(nullptr);
    if (request->task == "hello") {
        // Not answered by Pacemaker's controller; a tool waiting for it gets an ack.
        if (wants_response(message)) reply(id, message, ipc_ack("dispatch_controller_ipc", 112));
        return;
    }
    if (request->task == "node-info") {
        answer(id, message, node_info(clients_.at(id), *request));
        return;
    }
    const bool known = request->task == "lrm_delete" || request->task == "lrm_fail" ||
                       request->task == "probe_again" || request->task == "reprobe";
    if (!known || controller_ == nullptr) {
        log_notice(log_cat, "Refusing controller request %s: %s", log::quote(request->task).c_str(),
                   known ? "no control loop (--cib-only)" : "not implemented");
        reply(id, message, ipc_ack("dispatch_controller_ipc", 3));  // CRM_EX_UNIMPLEMENT_FEATURE
        return;
    }
    if (request->rsc.node.empty()) request->rsc.node = options_.node_name;
    if (request->task == "probe_again" || request->task == "reprobe") {
        const std::string node = request->host_to.empty() ? options_.node_name : request->host_to;
        log_notice(log_cat, "Reprobing %s on request of %s", node.c_str(), request->sys_from.c_str());
        if (Status done = controller_->reprobe(node); !done)
            log_warning(log_cat, "Cannot reprobe %s: %s", node.c_str(), done.error().message.c_str());
        answer(id, message, reprobe_reply(*request, client_uuid, options_.node_name, now, ++serial_));
        return;
    }
    LrmAck ack;
    ack.now = now;
    ack.serial = ++serial_;
    if (request->task == "lrm_delete") {
        log_notice(log_cat, "Deleting the history of %s on %s on request of %s", request->rsc.rsc_id.c_str(),
                   request->rsc.node.c_str(), request->sys_from.c_str());
        ack.operation = "delete";
        Status done = controller_->delete_history(request->rsc.node, request->rsc.rsc_id);
        if (!done) log_warning(log_cat, "Cannot delete history: %s", done.error().message.c_str());
        ack.ok = done.ok();
    } else if (!clients_.at(id).node.empty()) {
        // Pacemaker 2.1.5's controller refuses it from a remote node's proxied tool (the
        // tool still exits 0).
        log_notice(log_cat, "Refusing to fail %s on %s on request of %s on %s: unprivileged",
                   request->rsc.rsc_id.c_str(), request->rsc.node.c_str(), request->sys_from.c_str(),
                   clients_.at(id).node.c_str());
        ack.operation = "asyncmon";
        ack.ok = false;
        ack.error_rc = 4;  // CRM_EX_INSUFFICIENT_PRIV
        ack.exit_reason = "Unprivileged user cannot fail resources";
    } else {
        log_notice(log_cat, "Failing %s on %s on request of %s", request->rsc.rsc_id.c_str(),
                   request->rsc.node.c_str(), request->sys_from.c_str());
        ack.operation = "asyncmon";
        auto call = controller_->fail_resource(request->rsc);
        if (!call) log_warning(log_cat, "Cannot fail: %s", call.error().message.c_str());
        ack.ok = call.ok();
        ack.call_id = call ? *call : 0;
    }
    answer(id, message, lrm_invoke_reply(*request, client_uuid, options_.node_name, node_id, ack));
}

void IpcFaces::handle_attrd(ipc::ConnectionId id, const ipc::Message& message)
{
    auto op = parse_attrd_op(message.xml);
    if (!op) {
        drop(id, "attrd", op.error().message);
        return;
    }
    if (attributes_ == nullptr) {
        // attrd_updater would take an ack of any status for success: closing tells it.
        drop(id, "attrd", "no attribute manager");
        return;
    }
    reply(id, message, attributes_->handle(*op, options_.node_name));
}

}  // namespace outpost::cluster::controller
