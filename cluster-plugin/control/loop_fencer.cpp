#include "control/loop_fencer.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "control/fence_plan.hpp"
#include "controller/xml.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"

namespace outpost::cluster::control {

namespace {

namespace ctl = controller;

const log::Category log_cat{"controld.fencer"};

// Who fenced a node that an administrator confirmed (pacemaker-fenced's words).
constexpr const char* kHuman = "a human";

std::pair<std::int64_t, long> now()
{
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds);
    return {seconds.count(), static_cast<long>(ns.count())};
}

FenceDevice to_device(const ctl::FencerDevice& device)
{
    return {device.id, device.agent, device.params};
}

void collect_devices(const xmlNode* node, std::vector<ctl::FencerDevice>& out)
{
    for (const xmlNode* child = ctl::first_element(node); child != nullptr;
         child = ctl::next_element(child)) {
        if (!ctl::is_named(child, "primitive")) {
            collect_devices(child, out);  // groups, clones
            continue;
        }
        if (ctl::attr(child, "class").value_or("") != "stonith") continue;
        ctl::FencerDevice device;
        device.id = ctl::attr(child, "id").value_or("");
        device.agent = ctl::attr(child, "type").value_or("");
        if (device.id.empty()) continue;
        for (const xmlNode* set : ctl::element_children(child)) {
            const bool params = ctl::is_named(set, "instance_attributes");
            if (!params && !ctl::is_named(set, "meta_attributes")) continue;
            for (const xmlNode* pair : ctl::element_children(set)) {
                auto name = ctl::attr(pair, "name");
                if (!ctl::is_named(pair, "nvpair") || !name) continue;
                const std::string value = ctl::attr(pair, "value").value_or("");
                if (params) {
                    device.params.emplace(*name, value);
                } else if (*name == "priority") {
                    try {
                        device.priority = std::stoi(value);
                    } catch (const std::exception&) {
                        device.priority = 0;
                    }
                }
            }
        }
        out.push_back(std::move(device));
    }
}

}  // namespace

std::vector<ctl::FencerDevice> cib_fence_devices(const xmlDoc* cib)
{
    std::vector<ctl::FencerDevice> out;
    const xmlNode* root = ctl::root_of(cib);
    const xmlNode* configuration = root != nullptr ? ctl::child_named(root, "configuration") : nullptr;
    const xmlNode* resources =
        configuration != nullptr ? ctl::child_named(configuration, "resources") : nullptr;
    if (resources != nullptr) collect_devices(resources, out);
    return out;
}

LoopFencer::LoopFencer(ctl::CibStore& store, HostExecutor& host, std::string host_name,
                       std::function<std::uint32_t()> timeout_ms, NodeFenced fenced)
    : store_(store),
      host_(host),
      host_name_(std::move(host_name)),
      timeout_ms_(std::move(timeout_ms)),
      fenced_(std::move(fenced)),
      own_client_("outpost-controld." + std::to_string(::getpid()))
{
}

LoopFencer::~LoopFencer()
{
    lifetime_.end();
}

void LoopFencer::changed()
{
    if (listener_ != nullptr) listener_->history_changed();
}

std::vector<ctl::FencerDevice> LoopFencer::fence_devices() const
{
    return cib_fence_devices(store_.current());
}

void LoopFencer::capable_devices(const std::string& target,
                                 std::function<void(std::vector<ctl::FencerDevice>)> done)
{
    // Every device answers once (at once or when its agent has run); the last answer calls done.
    struct Query {
        std::vector<ctl::FencerDevice> devices;
        std::vector<bool> capable;
        std::size_t waiting = 0;
        std::function<void(std::vector<ctl::FencerDevice>)> done;
        void answered()
        {
            if (--waiting > 0) return;
            std::vector<ctl::FencerDevice> out;
            for (std::size_t i = 0; i < devices.size(); ++i)
                if (capable[i]) out.push_back(devices[i]);
            done(std::move(out));
        }
    };
    auto query = std::make_shared<Query>();
    query->devices = fence_devices();
    query->capable.assign(query->devices.size(), false);
    query->waiting = query->devices.size() + 1;  // + this function, so done runs once at the end
    query->done = std::move(done);
    const std::uint32_t timeout = timeout_ms_();
    for (std::size_t i = 0; i < query->devices.size(); ++i) {
        const FenceDevice device = to_device(query->devices[i]);
        const auto check = host_check(device);
        if (!check) {
            query->answered();
        } else if (*check == HostCheck::none || *check == HostCheck::static_list) {
            query->capable[i] = *check == HostCheck::none || in_static_list(device, target);
            query->answered();
        } else {
            const bool by_list = *check == HostCheck::dynamic_list;
            host_.fence_device_action(
                device, by_list ? "list" : "status", by_list ? std::string() : target, timeout,
                [query, i, by_list, target](const FenceActionOutcome& outcome) {
                    query->capable[i] = outcome.ran && !outcome.timed_out &&
                                        (by_list ? outcome.exit_code == 0 && listed(outcome.output, target)
                                                 : outcome.exit_code == 0 || outcome.exit_code == 2);
                    query->answered();
                });
        }
    }
    query->answered();
}

void LoopFencer::run_device_action(const ctl::FencerDevice& device, const std::string& action,
                                   const std::string& target, std::uint32_t timeout_ms,
                                   std::function<void(const ctl::DeviceActionOutcome&)> done)
{
    host_.fence_device_action(to_device(device), action, target, timeout_ms, std::move(done));
}

// Which devices, level by level (control/fence_plan.hpp), from the CIB as it is now.
void LoopFencer::plan(FenceRequest& request)
{
    const xmlDoc* cib = store_.current();
    std::vector<std::string> ids;
    std::map<std::string, int> priorities;
    for (const auto& device : cib_fence_devices(cib)) {
        ids.push_back(device.id);
        priorities[device.id] = device.priority;
        request.configured.push_back(to_device(device));
    }
    const auto cib_levels = cib_fence_levels(cib);
    drop_overridden_changes(level_changes_, cib_levels);
    FencePlan planned = plan_fencing(apply_level_changes(cib_levels, level_changes_), ids, priorities,
                                     request.target, cib_node_attributes(cib, request.target));
    if (planned.topology) {
        std::string levels;
        for (const auto& level : planned.levels) {
            levels += levels.empty() ? "" : " then ";
            for (std::size_t i = 0; i < level.size(); ++i)
                levels += (i > 0 ? "+" : "") + level[i];
        }
        log_info(log_cat, "Fencing topology for %s: %s", request.target.c_str(), levels.c_str());
    }
    request.levels = std::move(planned.levels);
    request.topology = planned.topology;
}

namespace {

FenceLevel to_level(const ctl::FencerLevel& level)
{
    FenceLevel out;
    out.index = level.index;
    out.target = level.target;
    out.target_pattern = level.target_pattern;
    out.target_attribute = level.target_attribute;
    out.target_value = level.target_value;
    out.devices = level.devices;
    return out;
}

// Levels held through the IPC at most (a level per target and index).
constexpr std::size_t kMaxLevelChanges = 10000;

ctl::FencerResult invalid_level(const std::string& problem)
{
    ctl::FencerResult result = ctl::FencerResult::failed(wire::ExecStatus::invalid, -EINVAL, problem);
    result.exit_code = 2;  // CRM_EX_INVALID_PARAM
    return result;
}

}  // namespace

// stonith_admin --register-level / --deregister-level: held in memory (lost on restart), not
// written to the CIB, as pacemaker-fenced 2.1.5 holds them (observed: the CIB's
// fencing-topology unchanged).
ctl::FencerResult LoopFencer::change_level(const ctl::FencerLevel& level, bool remove)
{
    LevelChange change{remove, to_level(level), {}};
    const std::string problem = level_problem(change.level, remove);
    if (!problem.empty()) return invalid_level(problem);
    const auto cib_levels = cib_fence_levels(store_.current());
    drop_overridden_changes(level_changes_, cib_levels);
    change.cib_before = cib_levels;
    // What it supersedes goes (so the list stays bounded by the levels that exist).
    std::erase_if(level_changes_, [&](const LevelChange& earlier) {
        return same_level_target(earlier.level, change.level) &&
               (earlier.level.index == change.level.index || (remove && change.level.index == 0));
    });
    if (level_changes_.size() >= kMaxLevelChanges) {
        return ctl::FencerResult::failed(wire::ExecStatus::error, -ENOSPC,
                                         "too many fencing levels registered through the IPC");
    }
    level_changes_.push_back(std::move(change));
    return ctl::FencerResult::ok();
}

void LoopFencer::fence(const ctl::FenceOrder& order, std::function<void(const ctl::FenceHistoryEntry&)> done)
{
    run(order, true, std::move(done));
}

void LoopFencer::fence_for_loop(const std::string& target, const std::string& action,
                                std::function<void(const ctl::FenceHistoryEntry&)> done)
{
    ctl::FenceOrder order;
    order.target = target;
    order.action = action;
    order.client = own_client_;
    run(order, false, std::move(done));
}

void LoopFencer::run(const ctl::FenceOrder& order, bool requested,
                     std::function<void(const ctl::FenceHistoryEntry&)> done)
{
    ctl::FenceHistoryEntry entry;
    entry.id = random_uuid();
    entry.target = order.target;
    entry.action = order.action;
    entry.origin = host_name_;
    entry.client = order.client;
    entry.client_id = order.client_id;
    std::tie(entry.completed, entry.completed_ns) = now();
    history_.add(entry);
    changed();
    FenceRequest request;
    request.target = order.target;
    request.action = order.action;
    request.timeout_ms = order.timeout_ms > 0 ? order.timeout_ms : timeout_ms_();
    plan(request);
    request.requested_delay_ms = order.delay_s < 0 ? -1 : std::int64_t{order.delay_s} * 1000;
    auto watch = lifetime_.watch();
    auto finish = [this, watch, id = entry.id, request, requested,
                   done = std::move(done)](const FenceOutcome& outcome) {
        if (!watch) return;
        if (outcome.ok) {
            log_notice(log_cat, "Node %s was fenced (%s) by %s in %.3f s", request.target.c_str(),
                       request.action.c_str(), outcome.device.c_str(), outcome.seconds);
        } else {
            log_error(log_cat, "Fencing (%s) of %s failed after %.3f s: %s", request.action.c_str(),
                      request.target.c_str(), outcome.seconds, outcome.reason.c_str());
        }
        const auto [when, when_ns] = now();
        const ctl::FencerResult result =
            outcome.ok
                ? ctl::FencerResult::ok()
                : ctl::FencerResult::failed(wire::ExecStatus::no_fence_device, -ENODEV, outcome.reason);
        history_.finish(id, outcome.ok ? ctl::FenceState::done : ctl::FenceState::failed, result,
                        outcome.ok ? host_name_ : std::string(), when, when_ns);
        const ctl::FenceHistoryEntry* found = history_.find(id);
        if (found == nullptr) return;  // pushed out of a full history meanwhile
        const ctl::FenceHistoryEntry finished = *found;
        // An "on" (unfencing) powers a node on: it is not recorded down, as pacemaker-controld
        // records only off and reboot.
        if (outcome.ok && fenced_ && request.action != "on") fenced_(finished.target, when, requested);
        if (done) done(finished);
        if (!watch) return;
        if (listener_ != nullptr) listener_->fence_finished(finished);
        changed();
    };
    if (order.target == host_name_ && order.action != "on") {
        // pacemaker-fenced could (with st_opt_allow_suicide); outpost-controld never fences
        // the node it runs on (it only unfences it): nothing would record the result.
        FenceOutcome refused;
        refused.reason = "the controller does not fence its own node";
        finish(refused);
        return;
    }
    host_.fence(request, std::move(finish));
}

ctl::FenceHistoryEntry LoopFencer::confirm_fenced(const ctl::FenceOrder& order)
{
    ctl::FenceHistoryEntry entry;
    entry.id = random_uuid();
    entry.target = order.target;
    entry.action = order.action;
    entry.origin = host_name_;
    entry.delegate = kHuman;
    entry.client = order.client;
    entry.client_id = order.client_id;
    entry.state = ctl::FenceState::done;
    std::tie(entry.completed, entry.completed_ns) = now();
    history_.add(entry);
    log_notice(log_cat, "Node %s confirmed fenced (%s) by %s", order.target.c_str(), order.action.c_str(),
               order.client.c_str());
    auto watch = lifetime_.watch();
    if (fenced_ && order.target != host_name_) fenced_(order.target, entry.completed, true);
    if (!watch) return entry;
    if (listener_ != nullptr) listener_->fence_finished(entry);
    changed();
    return entry;
}

void LoopFencer::clear_fence_history(const std::string& target)
{
    const std::size_t gone = history_.clear(target);
    log_notice(log_cat, "Forgot %zu fencing operations of %s", gone,
               target.empty() ? "every node" : target.c_str());
    changed();
}

}  // namespace outpost::cluster::control
