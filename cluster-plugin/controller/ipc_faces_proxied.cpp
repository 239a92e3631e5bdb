// IpcFaces' side of the remote and guest nodes' proxied crmd and stonith-ng sessions
// (ProxiedFaces): each is a client of the same crmd face and FencerFace as a local tool,
// reached through its Carrier instead of libqb.
#include <cerrno>
#include <utility>

#include "controller/ipc_faces.hpp"
#include "controller/node_info.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"

namespace outpost::cluster::controller {

namespace {

const log::Category log_cat{"controller.ipc"};

}  // namespace

Status IpcFaces::send_to(ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id, const std::string& xml)
{
    if (!is_proxied(id)) {
        Status sent = server_->send(id, kind, msg_id, 0, xml);
        if (!sent && sent.error().code != -ENOTCONN) clients_.erase(id);  // the server closed it
        return sent;
    }
    auto found = proxied_.find(id);
    if (found == proxied_.end()) return make_error("ipc", -ENOTCONN, "proxied session closed");
    // A session whose carrier fails stays: the provider closes it when its connection goes.
    return found->second.send(kind == ipc::Kind::response, msg_id, xml);
}

void IpcFaces::close_client(ipc::ConnectionId id, const std::string& why)
{
    clients_.erase(id);
    if (!is_proxied(id)) {
        server_->close(id);
        return;
    }
    auto found = proxied_.find(id);
    if (found == proxied_.end()) return;
    Carrier carrier = std::move(found->second);
    proxied_.erase(found);  // before the provider reports the session closed
    if (carrier.close) carrier.close(why);
}

Result<ProxiedFaces::ClientId> IpcFaces::open_proxied(const std::string& channel, Carrier carrier)
{
    Client client;
    if (channel == "crmd") {
        client.channel = Channel::crmd;
    } else if (channel == "stonith-ng") {
        if (fencer_ == nullptr) return make_error("ipc", -ECONNREFUSED, "no fencer (--cib-only)");
        client.channel = Channel::stonith_ng;
    } else {
        return make_error("ipc", -EPROTONOSUPPORT, "no proxied face for " + log::quote(channel));
    }
    if (carrier.node.empty() || !carrier.send)
        return make_error("ipc", -EINVAL, "proxied session without a node");
    const ipc::ConnectionId id = next_proxied_++;
    client.cib.id = random_uuid();
    client.node = carrier.node;
    log_debug(log_cat, "Accepted %s's proxied %s session", carrier.node.c_str(), channel.c_str());
    clients_.emplace(id, std::move(client));
    proxied_.emplace(id, std::move(carrier));
    return id;
}

void IpcFaces::proxied_request(ClientId id, std::int32_t msg_id, std::uint32_t flags, std::string xml)
{
    auto found = clients_.find(id);
    if (!is_proxied(id) || found == clients_.end()) return;
    ipc::Message message;
    message.header.id = msg_id;
    message.header.flags = flags;
    message.xml = std::move(xml);
    log_trace(log_cat, "Proxied request of %s (%s): %s", found->second.node.c_str(),
              found->second.cib.id.c_str(), log::quote(message.xml, 2000).c_str());
    if (found->second.channel == Channel::crmd) {
        handle_crmd(id, message);
    } else if (fencer_ != nullptr) {
        fencer_->message(id, message);
    }
}

std::string IpcFaces::node_info(const Client& client, const CrmdRequest& request) const
{
    CrmdRequest asked = request;
    // A remote node does not know its own name: a proxied request naming no node is about
    // the node it came from (Pacemaker's controller fills the name in likewise).
    if (!client.node.empty() && (asked.node.id.empty() || asked.node.id == "0") && asked.node.uname.empty())
        asked.node.uname = client.node;
    const std::string node_id = controller_ != nullptr ? controller_->host_node_id() : options_.node_name;
    const NodeInfo host{node_id, options_.node_name, false, true};
    auto found = find_node_info(service_.store().current(), host, asked.node);
    return node_info_reply(asked, client.cib.id, options_.node_name, found ? &*found : nullptr);
}

void IpcFaces::close_proxied(ClientId id)
{
    if (!is_proxied(id)) return;
    auto found = clients_.find(id);
    if (found != clients_.end() && found->second.channel == Channel::stonith_ng && fencer_ != nullptr)
        fencer_->closed(id);
    clients_.erase(id);
    proxied_.erase(id);
}

}  // namespace outpost::cluster::controller
