#include "proxy/proxy.hpp"

#include <utility>

#include "util/log.hpp"

namespace outpost::agent::proxy {
namespace {

const log::Category log_cat{"agent.proxy"};

}  // namespace

Result<std::unique_ptr<IpcProxy>> IpcProxy::create(GMainContext* context, const ProxyOptions& options)
{
    std::vector<ipc::ServiceSpec> services;
    for (const ChannelSpec& spec : channels()) {
        ipc::ServiceSpec service;
        service.name = options.name_prefix + std::string(spec.name);
        service.type = spec.type;
        service.high_priority = spec.high_priority;
        if (spec.policy == ChannelPolicy::refuse) {
            service.refuse = -EREMOTEIO;
            service.refusal = "pacemakerd does not run on a remote node";
        }
        services.push_back(std::move(service));
    }
    std::unique_ptr<IpcProxy> proxy(new IpcProxy(context));
    auto server =
        ipc::Server::create(context, std::move(services),
                            ipc::ServerOptions{options.ipc_buffer_size, options.cluster_group}, *proxy);
    if (!server) return server.error();
    proxy->server_ = std::move(server).value();
    proxy->links_.server = proxy->server_.get();
    log_info(log_cat, "Local IPC servers started (%zu names)", proxy->server_->service_count());
    return proxy;
}

IpcProxy::IpcProxy(GMainContext* context) : tools_(context, links_), executors_(context, links_) {}

IpcProxy::~IpcProxy()
{
    links_.host = nullptr;
    own_ = nullptr;
    if (server_) {
        tools_.close_all();
        executors_.close_all();
    }
    server_.reset();
}

// The agent's own session gets the provider's message as an element: it is small (the
// follower asks for the resources section), and parsed with the message limits of the wire.
bool IpcProxy::deliver_response(std::string_view session, std::uint32_t ipc_msg_id, std::string_view msg_xml)
{
    if (own_ != nullptr && own_->owns(session)) {
        if (auto msg = wire::parse_xml(msg_xml)) {
            own_->response(ipc_msg_id, *msg);
        } else {
            log_warning(log_cat, "The agent's own CIB session got an unreadable response: %s",
                        msg.error().describe().c_str());
            own_->destroyed();
        }
        return true;
    }
    return tools_.deliver_response(session, ipc_msg_id, msg_xml);
}

bool IpcProxy::deliver_event(std::string_view session, std::string_view msg_xml)
{
    if (own_ != nullptr && own_->owns(session)) {
        if (auto msg = wire::parse_xml(msg_xml)) {
            own_->event(*msg);
        } else {
            log_warning(log_cat, "The agent's own CIB session got an unreadable event: %s",
                        msg.error().describe().c_str());
        }
        return true;
    }
    return tools_.deliver_event(session, msg_xml);
}

void IpcProxy::destroy_session(std::string_view session)
{
    if (own_ != nullptr && own_->owns(session)) {
        own_->destroyed();
        return;
    }
    tools_.destroy(session);
}

void IpcProxy::provider_gone(std::string_view provider_client_id)
{
    tools_.provider_gone(provider_client_id);
    if (own_ != nullptr) own_->provider_gone(provider_client_id);
}

std::vector<std::string> IpcProxy::session_ids() const
{
    std::vector<std::string> ids = tools_.ids();
    const std::vector<std::string> executors = executors_.ids();
    ids.insert(ids.end(), executors.begin(), executors.end());
    return ids;
}

int IpcProxy::accept(std::size_t service, ipc::ConnectionId id, const ipc::Peer& peer)
{
    const ChannelSpec& spec = channels()[service];
    if (spec.policy == ChannelPolicy::local_executor)
        return executors_.accept(id, server_->service_name(service), peer);
    return tools_.accept(id, spec, peer);
}

void IpcProxy::refused(std::size_t service, const ipc::Peer& /*peer*/)
{
    const ChannelSpec& spec = channels()[service];
    if (spec.policy == ChannelPolicy::proxy) tools_.refused(spec);
}

void IpcProxy::created(ipc::ConnectionId id)
{
    if (tools_.owns(id)) {
        tools_.created(id);
    } else {
        executors_.created(id);
    }
}

void IpcProxy::message(ipc::ConnectionId id, const void* data, std::size_t size)
{
    if (tools_.owns(id)) {
        tools_.message(id, data, size);
    } else {
        executors_.message(id, data, size);
    }
}

void IpcProxy::closed(ipc::ConnectionId id)
{
    if (tools_.owns(id)) {
        tools_.closed(id);
    } else {
        executors_.closed(id);
    }
}

}  // namespace outpost::agent::proxy
