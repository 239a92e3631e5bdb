#include "controller/ipc_faces.hpp"

#include <ctime>

#include "controller/pacemakerd.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::controller {

namespace {

const log::Category log_cat{"controller.ipc"};

std::string now_text()
{
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buffer[64];
    std::size_t n = std::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S %Y", &local);
    return {buffer, n};
}

bool wants_response(const ipc::Message& message)
{
    return (message.header.flags & wire::ipc_flag::client_response) != 0;
}

}  // namespace

IpcFaces::IpcFaces(CibStore& store, IpcOptions options) : store_(store), options_(std::move(options)) {}

IpcFaces::~IpcFaces()
{
    server_.reset();
}

Result<std::unique_ptr<IpcFaces>> IpcFaces::create(GMainContext* context, CibStore& store, IpcOptions options)
{
    std::unique_ptr<IpcFaces> faces(new IpcFaces(store, std::move(options)));
    const std::string& prefix = faces->options_.name_prefix;
    // Order matters: the index of each is its Channel.
    std::vector<ipc::ServiceSpec> services = {
        {prefix + "cib_ro", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "cib_rw", QB_IPC_NATIVE, false, 0, {}},
        {prefix + "cib_shm", QB_IPC_SHM, false, 0, {}},
        {prefix + "pacemakerd", QB_IPC_NATIVE, false, 0, {}},
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
    client.id = random_uuid();
    client.user = peer.user;
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
    clients_.erase(id);
}

void IpcFaces::message(ipc::ConnectionId id, const void* data, std::size_t size)
{
    auto found = clients_.find(id);
    if (found == clients_.end()) return;
    auto message = ipc::decode_message(data, size);
    if (!message) {
        log_warning(log_cat, "Closing IPC client %s (%s): %s", found->second.id.c_str(),
                    log::quote(found->second.name).c_str(), message.error().message.c_str());
        clients_.erase(found);
        server_->close(id);
        return;
    }
    log_trace(log_cat, "Request of %s: %s", found->second.id.c_str(), log::quote(message->xml, 2000).c_str());
    if (found->second.channel == Channel::pacemakerd) {
        handle_pacemakerd(id, *message);
    } else {
        handle_cib(id, found->second, *message);
    }
}

void IpcFaces::reply(ipc::ConnectionId id, const ipc::Message& request, const std::string& xml)
{
    const bool response = wants_response(request);
    log_trace(log_cat, "Reply (%s): %s", response ? "response" : "event", log::quote(xml, 2000).c_str());
    Status sent =
        server_->send(id, response ? ipc::Kind::response : ipc::Kind::event, request.header.id, 0, xml);
    if (!sent && sent.error().code != -ENOTCONN) {
        log_warning(log_cat, "Cannot reply to IPC client: %s", sent.error().message.c_str());
        clients_.erase(id);
    }
}

void IpcFaces::handle_cib(ipc::ConnectionId id, Client& client, const ipc::Message& message)
{
    auto request = parse_cib_request(message.xml, ipc::kMaxPayloadSize);
    if (!request) {
        log_warning(log_cat, "Bad request from CIB client %s (%s): %s", client.id.c_str(),
                    log::quote(client.name).c_str(), request.error().message.c_str());
        if (wants_response(message)) {
            CibRequest empty;
            empty.op = "unknown";
            reply(id, message, operation_reply(empty, client.id, -EBADMSG, nullptr));
        }
        return;
    }
    if (request->op == "register") {
        if (!request->client_name.empty()) client.name = request->client_name;
        log_debug(log_cat, "CIB client %s registered as %s", client.id.c_str(),
                  log::quote(client.name).c_str());
        reply(id, message, register_reply(client.id));
        return;
    }
    if (request->op == "cib_notify") {
        if (request->notify_type == kDiffNotify) client.diff_notify = request->notify_activate;
        log_debug(log_cat, "CIB client %s %s %s", client.id.c_str(),
                  request->notify_activate ? "subscribed to" : "unsubscribed from",
                  log::quote(request->notify_type).c_str());
        reply(id, message, notify_reply(*request, 0));
        return;
    }
    const OpKind kind = kind_of(request->op);
    if (kind == OpKind::write && client.channel == Channel::cib_ro) {
        log_warning(log_cat, "Refused %s of CIB client %s on the read-only channel", request->op.c_str(),
                    log::quote(client.name).c_str());
        reply(id, message, operation_reply(*request, client.id, cib_rc::access, nullptr));
        return;
    }
    UpdateOrigin origin;
    origin.client_name = client.name.empty() ? request->client_name : client.name;
    origin.user = client.user;
    origin.node = options_.node_name;
    origin.time_text = now_text();
    XmlDoc before;
    CibOutcome outcome = store_.apply(request->operation(), origin, &before);
    if (outcome.rc != cib_rc::ok) {
        log_info(log_cat, "%s of %s failed (%d): %s", request->op.c_str(),
                 log::quote(origin.client_name).c_str(), outcome.rc, outcome.message.c_str());
    } else if (before) {
        auto version = read_version(root_of(store_.current()));
        log_info(log_cat, "%s of %s (user %s): CIB now %s", request->op.c_str(),
                 log::quote(origin.client_name).c_str(), log::quote(origin.user).c_str(),
                 version ? version->describe().c_str() : "?");
    }
    const std::string client_id = client.id;  // `client` may be gone once the reply fails
    reply(id, message, operation_reply(*request, client_id, outcome.rc, outcome.output.get()));
    if (before && (request->options & call_option::inhibit_notify) == 0)
        announce_change(*request, client_id, before.get());
}

void IpcFaces::announce(const std::string& op, const std::string& client_name, const xmlDoc* before)
{
    CibRequest request;
    request.op = op;
    request.client_name = client_name;
    announce_change(request, client_name, before);
}

void IpcFaces::announce_change(const CibRequest& request, const std::string& origin_id, const xmlDoc* before)
{
    std::string notification;
    std::vector<ipc::ConnectionId> dropped;  // closed by the server when sending failed
    for (auto& [id, client] : clients_) {
        if (!client.diff_notify) continue;
        if (notification.empty())
            notification = diff_notification(request, origin_id, before, store_.current());
        Status sent = server_->send(id, ipc::Kind::event, 0, 0, notification);
        if (!sent && sent.error().code != -ENOTCONN) {
            log_warning(log_cat, "Cannot notify CIB client %s: %s", client.id.c_str(),
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

}  // namespace outpost::cluster::controller
