#include "tools/outpost-controld/host_executor.hpp"

#include "executor/executor.hpp"
#include "executor/process_spawner.hpp"

namespace outpost::controld {

namespace {

namespace ex = agent::executor;

class LocalExecutor final : public cluster::control::HostExecutor {
public:
    explicit LocalExecutor(GMainContext* context)
        : spawner_(context),
          executor_(context, spawner_, ex::Executor::Options{},
                    ex::Executor::Callbacks{[this](const ex::OpResult& result) {
                        if (handler_) handler_(result.notify);
                    }})
    {
    }

    void on_result(ResultHandler handler) override { handler_ = std::move(handler); }

    Result<int> exec(const cluster::control::ResourceAgent& agent, const wire::ExecRequest& request) override
    {
        (void)executor_.register_resource({agent.rsc_id, agent.rsc_class, agent.provider, agent.type, 0});
        const int call_id = next_call_id_++;
        const int rc = executor_.exec(call_id, request);
        if (rc != call_id) return make_error("controld.exec", rc, "the executor refused " + request.rsc_id);
        return call_id;
    }

    void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms) override
    {
        (void)executor_.cancel(rsc_id, action, interval_ms);
    }

private:
    ex::ProcessSpawner spawner_;
    ex::Executor executor_;
    ResultHandler handler_;
    int next_call_id_ = 1;
};

}  // namespace

std::unique_ptr<cluster::control::HostExecutor> make_host_executor(GMainContext* context)
{
    return std::make_unique<LocalExecutor>(context);
}

}  // namespace outpost::controld
