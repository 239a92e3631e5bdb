// HostExecutor: how the control loop runs resource operations on its own node. The daemon
// implements it with the agent's executor module (guest-agent/executor, linked in: one
// executor for guests and host) and runs fence devices (class stonith) as Pacemaker's fencer
// does; cluster-plugin never includes the agent's headers.
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "control/fencing.hpp"
#include "controller/fencer_messages.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"

namespace outpost::cluster::control {

// Fencing a node through the host's started fence devices (resources of class stonith).
struct FenceRequest {
    std::string target;                // the node to fence
    std::string action;                // reboot, off or on (before pcmk_<action>_action)
    std::uint32_t timeout_ms = 60000;  // stonith-timeout, unless the device says otherwise
    // The devices to try, level by level (control/fence_plan.hpp): every device of a level
    // must succeed, the next level is tried when one fails. Empty: every registered device,
    // one a level.
    std::vector<std::vector<std::string>> levels;
    bool topology = false;  // the levels come from a fencing-topology
    // The CIB's fence devices: an unfencing ("on") may use one that is not started yet (it
    // comes before the devices' own probes and starts, as pacemaker-fenced registers the
    // CIB's devices itself).
    std::vector<FenceDevice> configured;
    // stonith_admin --delay: before the first device, added to its pcmk_delay_base/max;
    // negative: no delay at all.
    std::int64_t requested_delay_ms = 0;
};
struct FenceOutcome {
    bool ok = false;
    std::string device;  // the device(s) that fenced it ("d1,d2" for a level), or failed last
    std::string reason;  // why it failed
    double seconds = 0;  // how long it took
};

// What an agent action of a fence device ended with: the fencer face's type.
using FenceActionOutcome = controller::DeviceActionOutcome;

struct ResourceAgent {
    std::string rsc_id;
    std::string rsc_class;
    std::string provider;
    std::string type;
};

class HostExecutor {
public:
    using ResultHandler = std::function<void(const wire::ExecNotify&)>;
    virtual ~HostExecutor() = default;
    // Every completion (each result of a recurring operation, cancellations too) goes here,
    // from the main loop or from inside exec()/cancel() for the operations they cancel.
    virtual void on_result(ResultHandler handler) = 0;
    // Registers the resource (if it is new or changed) and queues the operation; its call id.
    virtual Result<int> exec(const ResourceAgent& agent, const wire::ExecRequest& request) = 0;
    virtual void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms) = 0;
    // The agent's meta-data (what pacemaker-controld reads before recording an operation:
    // which parameters are reloadable or private, control/op_digests.hpp). Runs on the
    // host for every node's operations, as Pacemaker runs meta-data on the cluster node.
    // Not offered by default (the records then carry no meta-data digests).
    virtual Result<std::string> agent_metadata(const ResourceAgent& agent)
    {
        (void)agent;
        return make_error("control.executor", -ENOTSUP, "meta-data is not offered here");
    }
    // Call ids up to `through` are taken by a record the loop made itself (crm_resource
    // --fail's, the domain watch's): later operations get higher ones, so that a start
    // after that failure is not read as older than it, or as of the same call.
    virtual void reserve_call_ids(int through) { (void)through; }
    // Fences a node with the request's levels of started devices (control/fence_plan.hpp),
    // each device after its delay, tried again on failure; `done` runs once, from the main
    // loop.
    virtual void fence(const FenceRequest& request, std::function<void(const FenceOutcome&)> done) = 0;
    // Runs a fence device's agent `action` (for `target`, may be empty), as the fencer runs
    // it; `done` runs once, from the main loop. Not offered by default.
    virtual void fence_device_action(const FenceDevice& device, const std::string& action,
                                     const std::string& target, std::uint32_t timeout_ms,
                                     std::function<void(const FenceActionOutcome&)> done)
    {
        (void)device, (void)action, (void)target, (void)timeout_ms;
        FenceActionOutcome outcome;
        outcome.error = "fence device actions are not offered here";
        auto callback = std::move(done);
        callback(outcome);
    }
};

}  // namespace outpost::cluster::control
