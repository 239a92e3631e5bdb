#include "tools/outpost-controld/host_executor.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

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
