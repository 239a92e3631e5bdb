// The host's fence devices, as Pacemaker's fencer and executor treat a resource of class
// stonith: its start registers the device (after its agent's "monitor" succeeded), its
// stop unregisters it, a monitor runs the agent's "monitor" (a probe of a device that is not
// registered answers "not running" without running anything); fencing picks a registered
// device that can fence the target (control/fencing.hpp) and runs its agent. Fence agents
// are run from /usr/sbin with their arguments as name=value lines on stdin.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "control/fencing.hpp"
#include "control/host_executor.hpp"
#include "executor/spawner.hpp"
#include "io/source.hpp"
#include "util/lifetime.hpp"
#include "wire/messages.hpp"

namespace outpost::controld {

class FenceDevices {
public:
    using Report = std::function<void(const wire::ExecNotify&)>;
    // `spawner` must outlive this; `report` gets every result, as the executor's would come.
    // Agents are looked for in `agent_dir` (tests give their own).
    FenceDevices(GMainContext* context, agent::executor::Spawner& spawner, Report report,
                 std::string agent_dir = cluster::control::kFenceAgentDir);
    FenceDevices(const FenceDevices&) = delete;
    FenceDevices& operator=(const FenceDevices&) = delete;
    ~FenceDevices();

    // start, stop or monitor (probe or recurring) of a stonith resource of type `agent`.
    void exec(int call_id, const std::string& agent, const wire::ExecRequest& request);
    void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms);
    void fence(const cluster::control::FenceRequest& request,
               std::function<void(const cluster::control::FenceOutcome&)> done);
    // One agent action of a device, registered or not (stonith_admin --list-targets,
    // --query, and the list/status host checks of st_query); `done` runs from the loop.
    void run_action(const cluster::control::FenceDevice& device, const std::string& action,
                    const std::string& target, std::uint32_t timeout_ms,
                    std::function<void(const cluster::control::FenceActionOutcome&)> done);

private:
    struct Recurring;
    struct Attempt;
    using Finished = std::function<void(const agent::executor::ChildOutcome&)>;
    void run_agent(const std::string& agent, std::string input, std::uint32_t timeout_ms,
                   const std::string& label, Finished finished);
    void run_monitor(int call_id, const std::string& agent, const wire::ExecRequest& request,
                     bool registering);
    void report(int call_id, const wire::ExecRequest& request, int rc, wire::ExecStatus status,
                const std::string& reason, std::chrono::steady_clock::time_point began);
    void arm(const std::string& key);
    void next_level(const std::shared_ptr<Attempt>& attempt);
    void level_failed(const std::shared_ptr<Attempt>& attempt, const std::string& why);
    void next_device(const std::shared_ptr<Attempt>& attempt);
    void cannot_fence(const std::shared_ptr<Attempt>& attempt, const cluster::control::FenceDevice& device,
                      const std::string& why);
    void ask_device(const std::shared_ptr<Attempt>& attempt, const cluster::control::FenceDevice& device,
                    const std::string& action, const std::string& target,
                    std::function<bool(const agent::executor::ChildOutcome&)> can);
    void delay_then_fence(const std::shared_ptr<Attempt>& attempt,
                          const cluster::control::FenceDevice& device);
    void fence_with(const std::shared_ptr<Attempt>& attempt, const cluster::control::FenceDevice& device,
                    int tries, std::chrono::steady_clock::time_point deadline);
    std::chrono::steady_clock::time_point deadline_of(const std::shared_ptr<Attempt>& attempt,
                                                      const cluster::control::FenceDevice& device);
    double random_fraction();

    GMainContext* context_;
    agent::executor::Spawner& spawner_;
    Report report_;
    std::string agent_dir_;
    std::map<std::string, cluster::control::FenceDevice> devices_;  // registered, by resource id
    std::map<std::string, std::unique_ptr<Recurring>> recurring_;   // by "<rsc>_monitor_<ms>"
    std::vector<io::Source> pending_;                               // results reported from the loop
    std::mt19937 random_{std::random_device{}()};                   // for pcmk_delay_max
    Lifetime lifetime_;
};

}  // namespace outpost::controld
