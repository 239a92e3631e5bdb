#include "connection/ipc_provider.hpp"

#include <cerrno>
#include <utility>

#include "util/log.hpp"

namespace outpost::cluster::connection {

namespace {

const log::Category log_cat{"cluster.ipc"};

wire::ProxyMessage outgoing(std::string_view op, const std::string& session)
{
    wire::ProxyMessage message;
    message.type = wire::MsgType::request;
    message.op = std::string(op);
    message.session = session;
    return message;
}

}  // namespace

IpcProxyBridge::IpcProxyBridge(RemoteClient& client, IpcProvider& provider)
    : client_(client), provider_(provider)
{
    Handlers handlers;
    handlers.proxy = [this](const wire::ProxyMessage& message) { on_proxy(message); };
    handlers.closed = [this](const Error&) { on_closed(); };
    // Our own disconnect() ends the sessions just as much as a drop does.
    handlers.disconnected = [this] { on_closed(); };
    subscription_ = client_.subscribe(std::move(handlers));
}

IpcProxyBridge::~IpcProxyBridge()
{
    client_.unsubscribe(subscription_);
    // A provider keeps no session (nor this channel) past the bridge.
    on_closed();
}

Status IpcProxyBridge::respond(const std::string& session, std::uint32_t msg_id, wire::Element msg)
{
    wire::ProxyMessage message = outgoing(wire::ipc_op::response, session);
    message.ipc_msg_id = msg_id;
    message.msg = std::move(msg);
    return client_.ipc_fwd(std::move(message));
}

Status IpcProxyBridge::event(const std::string& session, wire::Element msg)
{
    wire::ProxyMessage message = outgoing(wire::ipc_op::event, session);
    message.msg = std::move(msg);
    return client_.ipc_fwd(std::move(message));
}

Status IpcProxyBridge::destroy(const std::string& session)
{
    auto found = sessions_.find(session);
    if (found != sessions_.end()) {
        ProxySession closed = found->second;
        sessions_.erase(found);
        provider_.session_closed(closed);
    }
    return client_.ipc_fwd(outgoing(wire::ipc_op::destroy, session));
}

void IpcProxyBridge::on_proxy(const wire::ProxyMessage& message)
{
    const std::string session = message.session.value_or("");
    if (message.op == wire::ipc_op::new_session) {
        if (session.empty() || !message.server) {
            log_warning(log_cat, "proxy 'new' without session or channel ignored");
            return;
        }
        if (sessions_.size() >= kMaxProxySessions && sessions_.count(session) == 0) {
            log_warning(log_cat, "refusing proxied session %s: %zu sessions open",
                        log::quote(session).c_str(), sessions_.size());
            (void)client_.ipc_fwd(outgoing(wire::ipc_op::destroy, session));
            return;
        }
        ProxySession opened{session, *message.server};
        sessions_[session] = opened;
        log_debug(log_cat, "proxied session %s on %s opened", log::quote(session).c_str(),
                  log::quote(opened.server).c_str());
        if (!provider_.session_opened(opened, *this)) {
            sessions_.erase(session);
            (void)client_.ipc_fwd(outgoing(wire::ipc_op::destroy, session));
        }
        return;
    }
    if (message.op == wire::ipc_op::request) {
        auto found = sessions_.find(session);
        if (found == sessions_.end()) {
            log_debug(log_cat, "request for unknown proxied session %s: destroying it",
                      log::quote(session).c_str());
            (void)client_.ipc_fwd(outgoing(wire::ipc_op::destroy, session));
            return;
        }
        if (!message.msg) {
            log_warning(log_cat, "proxied request without a message in session %s",
                        log::quote(session).c_str());
            return;
        }
        ProxyRequest request;
        request.session = found->second;
        request.client = message.client.value_or("");
        request.user = message.user.value_or("");
        request.msg_id = message.ipc_msg_id.value_or(0);
        request.flags = message.ipc_msg_flags.value_or(0);
        request.msg = *message.msg;
        provider_.request(request, *this);
        return;
    }
    if (message.op == wire::ipc_op::destroy) {
        auto found = sessions_.find(session);
        if (found == sessions_.end()) return;
        ProxySession closed = found->second;
        sessions_.erase(found);
        provider_.session_closed(closed);
        return;
    }
    if (message.op == wire::ipc_op::shutdown_req) {
        ShutdownAnswer answer = provider_.shutdown_requested();
        wire::ProxyMessage reply = outgoing(
            answer == ShutdownAnswer::ack ? wire::ipc_op::shutdown_ack : wire::ipc_op::shutdown_nack, "0");
        Status sent = client_.ipc_fwd(std::move(reply));
        if (!sent.ok()) log_warning(log_cat, "shutdown answer not sent: %s", sent.error().message.c_str());
        return;
    }
    log_debug(log_cat, "unknown proxy op %s ignored", log::quote(message.op).c_str());
}

void IpcProxyBridge::on_closed()
{
    // The remote daemon closes every proxied session when its provider goes away.
    auto sessions = std::move(sessions_);
    sessions_.clear();
    for (const auto& [id, session] : sessions)
        provider_.session_closed(session);
}

}  // namespace outpost::cluster::connection
