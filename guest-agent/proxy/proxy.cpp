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

IpcProxy::IpcProxy(GMainContext* context) : executors_(context, links_) {}

IpcProxy::~IpcProxy()
{
    links_.host = nullptr;
    if (server_) {
        tools_.close_all();
        executors_.close_all();
    }
    server_.reset();
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
