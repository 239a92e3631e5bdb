#include "tools/outpost-controld/host_executor.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>

#include "executor/agents.hpp"
#include "executor/executor.hpp"
#include "executor/process_spawner.hpp"
#include "tools/outpost-controld/fence_devices.hpp"
#include "tools/outpost-controld/operation_ledger.hpp"

namespace outpost::controld {

namespace {

namespace ex = agent::executor;

// The real spawner, with every child entered in the ledger while it runs.
class LedgerSpawner final : public ex::Spawner {
public:
    LedgerSpawner(GMainContext* context, std::string ledger_path)
        : spawner_(context), ledger_(std::move(ledger_path))
    {
    }

    ChildId spawn(ex::SpawnRequest request, Callback done) override
    {
        const std::chrono::milliseconds timeout(request.timeout_ms);
        auto id = std::make_shared<ChildId>(0);
        const ChildId child =
            spawner_.spawn(std::move(request), [this, id, done = std::move(done)](ex::ChildOutcome outcome) {
                ledger_.remove(*id);
                done(std::move(outcome));
            });
        *id = child;
        ledger_.add(child, spawner_.pid_of(child), timeout);
        return child;
    }

    bool kill(ChildId id) override { return spawner_.kill(id); }
    [[nodiscard]] std::size_t running() const override { return spawner_.running(); }

private:
    ex::ProcessSpawner spawner_;
    OperationLedger ledger_;
};

// An OCF agent's meta-data, run at once and waited for: once per agent type (the loop keeps
// it), and bounded (kMetadataTimeout), as the few milliseconds an agent takes to print it
// are not worth an asynchronous step before every first operation.
constexpr const char* kMetadataTimeout = "5";

Result<std::string> ocf_metadata(const cluster::control::ResourceAgent& agent)
{
    constexpr const char* kDomain = "controld.metadata";
    if (agent.rsc_class != "ocf" || agent.provider.empty() || agent.type.empty() ||
        agent.provider.find('/') != std::string::npos || agent.type.find('/') != std::string::npos)
        return make_error(kDomain, -ENOTSUP, "no OCF agent");
    const ex::agents::Paths paths;
    std::string path;
    for (const auto& dir : paths.ocf_ra_path) {
        std::string candidate = dir + "/" + agent.provider + "/" + agent.type;
        if (::access(candidate.c_str(), X_OK) == 0) {
            path = std::move(candidate);
            break;
        }
    }
    if (path.empty())
        return make_error(kDomain, -ENOENT, "no agent ocf:" + agent.provider + ":" + agent.type);
    const std::string root = "OCF_ROOT=" + paths.ocf_root;
    const std::string type = "OCF_RESOURCE_TYPE=" + agent.type;
    const std::string provider = "OCF_RESOURCE_PROVIDER=" + agent.provider;
    const char* argv[] = {"timeout", "-s", "KILL", kMetadataTimeout, path.c_str(), "meta-data", nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", root.c_str(), type.c_str(), provider.c_str(),
                          nullptr};
    gchar* out = nullptr;
    gint status = 0;
    GError* error = nullptr;
    const gboolean ran =
        g_spawn_sync(nullptr, const_cast<gchar**>(argv), const_cast<gchar**>(envp),
                     static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL), nullptr,
                     nullptr, &out, nullptr, &status, &error);
    std::unique_ptr<gchar, decltype(&g_free)> text(out, g_free);
    if (!ran) {
        std::string message = error != nullptr ? error->message : "spawn failed";
        g_clear_error(&error);
        return make_error(kDomain, -EIO, path + " meta-data: " + message);
    }
    if (!g_spawn_check_wait_status(status, nullptr))
        return make_error(kDomain, -EIO, path + " meta-data failed");
    return std::string(text ? text.get() : "");
}

class LocalExecutor final : public cluster::control::HostExecutor {
public:
    LocalExecutor(GMainContext* context, std::string ledger_path)
        : spawner_(context, std::move(ledger_path)),
          executor_(context, spawner_, ex::Executor::Options{},
                    ex::Executor::Callbacks{[this](const ex::OpResult& result) {
                        if (handler_) handler_(result.notify);
                    }}),
          fences_(context, spawner_, [this](const wire::ExecNotify& notify) {
              if (handler_) handler_(notify);
          })
    {
    }

    void on_result(ResultHandler handler) override { handler_ = std::move(handler); }

    Result<int> exec(const cluster::control::ResourceAgent& agent, const wire::ExecRequest& request) override
    {
        if (agent.rsc_class == "stonith") {
            // Fence devices are the fencer's, not the executor's (fence_devices.hpp).
            const int call_id = next_call_id_++;
            fences_.exec(call_id, agent.type, request);
            return call_id;
        }
        (void)executor_.register_resource({agent.rsc_id, agent.rsc_class, agent.provider, agent.type, 0});
        const int call_id = next_call_id_++;
        const int rc = executor_.exec(call_id, request);
        if (rc != call_id) return make_error("controld.exec", rc, "the executor refused " + request.rsc_id);
        return call_id;
    }

    void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms) override
    {
        fences_.cancel(rsc_id, action, interval_ms);
        (void)executor_.cancel(rsc_id, action, interval_ms);
    }

    Result<std::string> agent_metadata(const cluster::control::ResourceAgent& agent) override
    {
        return ocf_metadata(agent);
    }

    void reserve_call_ids(int through) override { next_call_id_ = std::max(next_call_id_, through + 1); }

    void fence(const cluster::control::FenceRequest& request,
               std::function<void(const cluster::control::FenceOutcome&)> done) override
    {
        fences_.fence(request, std::move(done));
    }

    void fence_device_action(const cluster::control::FenceDevice& device, const std::string& action,
                             const std::string& target, std::uint32_t timeout_ms,
                             std::function<void(const cluster::control::FenceActionOutcome&)> done) override
    {
        fences_.run_action(device, action, target, timeout_ms, std::move(done));
    }

private:
    LedgerSpawner spawner_;
    ex::Executor executor_;
    FenceDevices fences_;
    ResultHandler handler_;
    int next_call_id_ = 1;
};

}  // namespace

std::unique_ptr<cluster::control::HostExecutor> make_host_executor(GMainContext* context,
                                                                   const std::string& ledger_path)
{
    return std::make_unique<LocalExecutor>(context, ledger_path);
}

}  // namespace outpost::controld
