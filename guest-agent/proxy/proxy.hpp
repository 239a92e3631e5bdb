// IpcProxy: the local IPC names inside a guest (docs/protocol.md 4), so that the cluster
// tools (crm_mon, cibadmin, crm_attribute, attrd_updater, crm_resource, crm_node) work as on a
// cluster node, and Pacemaker's own executor clients find the local executor API.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/server.hpp"
#include "proxy/channels.hpp"
#include "proxy/endpoint.hpp"
#include "proxy/local_executor.hpp"
#include "proxy/tool_sessions.hpp"
#include "util/result.hpp"

namespace outpost::agent::proxy {

struct ProxyOptions {
    // PCMK_ipc_buffer, read once with the daemon's other settings (server/options.cpp).
    std::size_t ipc_buffer_size = ipc::kDefaultBufferSize;
    std::string cluster_group = ipc::kClusterGroup;
    // Prepended to every service name; empty in the daemon. Lets tests run services that
    // cannot clash with a cluster stack in the same network namespace.
    std::string name_prefix;
};

// The ipc::Server refuses pacemakerd always and peers that are neither root nor in the cluster
// group; the proxy routes the rest by channel: tunnelled tool sessions (tool_sessions.hpp) for
// the cluster daemons' names, local executor sessions (local_executor.hpp) for lrmd. It talks
// to the agent's server only through endpoint.hpp: it is the ProxyEndpoint, and a ProxyHost is
// attached after creation.
class IpcProxy final : public ProxyEndpoint, private ipc::Server::Handler {
public:
    // Serves every name of channels() with an ipc::Server on `context`; failing to create any
    // is an Error (the daemon exits fatally: another cluster stack owns the names).
    static Result<std::unique_ptr<IpcProxy>> create(GMainContext* context, const ProxyOptions& options = {});
    IpcProxy(const IpcProxy&) = delete;
    IpcProxy& operator=(const IpcProxy&) = delete;
    ~IpcProxy() override;

    // The server side (borrowed; nullptr detaches). Until attached, sessions are refused.
    void attach_host(ProxyHost* host) { links_.host = host; }
    // The agent's own session (borrowed; nullptr detaches): see OwnSession.
    void attach_own_session(OwnSession* own) { own_ = own; }

    // ProxyEndpoint
    bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                          std::string_view msg_xml) override;
    bool deliver_event(std::string_view session, std::string_view msg_xml) override;
    void destroy_session(std::string_view session) override;
    [[nodiscard]] bool has_session(std::string_view session) const override
    {
        return tools_.has(session) || (own_ != nullptr && own_->owns(session));
    }
    void provider_gone(std::string_view provider_client_id) override;
    void provider_added(std::string_view provider_client_id) override
    {
        if (own_ != nullptr) own_->provider_added(provider_client_id);
    }
    [[nodiscard]] std::size_t local_client_count() const override
    {
        return tools_.size() + executors_.size();
    }
    Status send_local_reply(std::string_view client_id, std::string_view xml) override
    {
        return executors_.send_reply(client_id, xml);
    }
    Status send_local_event(std::string_view client_id, std::string_view xml) override
    {
        return executors_.send_event(client_id, xml);
    }

    [[nodiscard]] std::size_t tool_session_count() const { return tools_.size(); }

    // For tests and logs: the session ids currently open.
    [[nodiscard]] std::vector<std::string> session_ids() const;

private:
    explicit IpcProxy(GMainContext* context);

    // ipc::Server::Handler: routes each connection by its channel's policy.
    int accept(std::size_t service, ipc::ConnectionId id, const ipc::Peer& peer) override;
    void refused(std::size_t service, const ipc::Peer& peer) override;
    void created(ipc::ConnectionId id) override;
    void message(ipc::ConnectionId id, const void* data, std::size_t size) override;
    void closed(ipc::ConnectionId id) override;

    Links links_;
    OwnSession* own_ = nullptr;
    ToolSessions tools_;
    LocalExecutorSessions executors_;
    std::unique_ptr<ipc::Server> server_;
};

}  // namespace outpost::agent::proxy
