// LoopFencer: the control loop's fencing as pacemaker-fenced offers it to its clients
// (controller::FencerActions, for the stonith-ng face): the fence devices are the CIB's
// stonith primitives, which of them can fence a target follows their host check
// (fencing.hpp; the agent's list or status are run for dynamic-list and status), which are
// tried in what order follows the CIB's fencing-topology (with the levels registered
// through the IPC, in memory) and priorities (fence_plan.hpp), fencing
// runs through the HostExecutor (the graph's fencing and stonith_admin --fence alike), a
// confirmation (stonith_admin --confirm) fences nothing, and every one of them is kept in a
// bounded in-memory history (controller::FenceHistory), lost on restart as fenced's is.
//
// A fencing (off, reboot) that succeeded or was confirmed is reported to the loop
// (NodeFenced), which records the node as fenced when it knows it; an "on" (unfencing) is not. The
// controller's own node is never fenced.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "control/fence_plan.hpp"
#include "control/host_executor.hpp"
#include "controller/cib_store.hpp"
#include "controller/fencer_face.hpp"
#include "util/lifetime.hpp"

namespace outpost::cluster::control {

// The stonith primitives of a CIB (with their instance attributes), in document order.
std::vector<controller::FencerDevice> cib_fence_devices(const xmlDoc* cib);

class LoopFencer final : public controller::FencerActions {
public:
    // A node was fenced (or confirmed fenced) at `when`; `requested`: by a client, not by
    // the loop's own transition.
    using NodeFenced = std::function<void(const std::string& node, std::int64_t when, bool requested)>;

    // `store` and `host` are borrowed and must outlive it. `timeout_ms` reads the cluster's
    // stonith-timeout when a fencing gives none.
    LoopFencer(controller::CibStore& store, HostExecutor& host, std::string host_name,
               std::function<std::uint32_t()> timeout_ms, NodeFenced fenced);
    LoopFencer(const LoopFencer&) = delete;
    LoopFencer& operator=(const LoopFencer&) = delete;
    ~LoopFencer() override;

    // The client name the loop's own fencing is recorded with ("outpost-controld.<pid>").
    [[nodiscard]] const std::string& own_client() const { return own_client_; }
    // The graph's fencing: as fence(), recorded for the loop itself.
    void fence_for_loop(const std::string& target, const std::string& action,
                        std::function<void(const controller::FenceHistoryEntry&)> done);

    // controller::FencerActions
    [[nodiscard]] std::vector<controller::FencerDevice> fence_devices() const override;
    [[nodiscard]] const controller::FenceHistory& fence_history() const override { return history_; }
    void capable_devices(const std::string& target,
                         std::function<void(std::vector<controller::FencerDevice>)> done) override;
    void fence(const controller::FenceOrder& order,
               std::function<void(const controller::FenceHistoryEntry&)> done) override;
    controller::FenceHistoryEntry confirm_fenced(const controller::FenceOrder& order) override;
    void clear_fence_history(const std::string& target) override;
    void run_device_action(const controller::FencerDevice& device, const std::string& action,
                           const std::string& target, std::uint32_t timeout_ms,
                           std::function<void(const controller::DeviceActionOutcome&)> done) override;
    controller::FencerResult register_level(const controller::FencerLevel& level) override
    {
        return change_level(level, false);
    }
    controller::FencerResult remove_level(const controller::FencerLevel& level) override
    {
        return change_level(level, true);
    }
    void set_fencer_listener(controller::FencerListener* listener) override { listener_ = listener; }

private:
    void run(const controller::FenceOrder& order, bool requested,
             std::function<void(const controller::FenceHistoryEntry&)> done);
    void changed();
    void plan(FenceRequest& request);
    controller::FencerResult change_level(const controller::FencerLevel& level, bool remove);

    controller::CibStore& store_;
    HostExecutor& host_;
    std::string host_name_;
    std::function<std::uint32_t()> timeout_ms_;
    NodeFenced fenced_;
    std::string own_client_;
    controller::FenceHistory history_;
    std::vector<LevelChange> level_changes_;  // through the IPC, in order (fence_plan.hpp)
    controller::FencerListener* listener_ = nullptr;
    Lifetime lifetime_;
};

}  // namespace outpost::cluster::control
