#include "tools/outpost-controld/fence_devices.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <utility>

#include "control/fence_plan.hpp"
#include "util/log.hpp"
#include "wire/codes.hpp"

extern char** environ;

namespace outpost::controld {

namespace {

namespace ex = agent::executor;
namespace ctl = cluster::control;

const log::Category log_cat{"controld.fencing"};

std::string key_of(const std::string& rsc, std::uint32_t interval_ms)
{
    return rsc + "_monitor_" + std::to_string(interval_ms);
}

// The agent's last line on stderr (else stdout): what a failure says.
std::string last_line(const ex::ChildOutcome& outcome)
{
    std::string text = !outcome.err.empty() ? outcome.err : outcome.out;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    const std::size_t nl = text.rfind('\n');
    return nl == std::string::npos ? text : text.substr(nl + 1);
}

// "exited 1: why", "timed out after N ms", ...; empty on success.
std::string failure_of(const ex::ChildOutcome& outcome, std::uint32_t timeout_ms)
{
    switch (outcome.end) {
        case ex::ChildEnd::exited:
            if (outcome.exit_code == 0) return {};
            return "exited " + std::to_string(outcome.exit_code) +
                   (last_line(outcome).empty() ? "" : ": " + last_line(outcome));
        case ex::ChildEnd::timed_out:
            return "timed out after " + std::to_string(timeout_ms) + " ms";
        case ex::ChildEnd::signaled:
            return "killed by signal " + std::to_string(outcome.signal);
        case ex::ChildEnd::spawn_failed:
            return std::string("could not run: ") + g_strerror(outcome.error);
    }
    return "failed";
}

std::string joined(const std::vector<std::string>& ids)
{
    std::string out;
    for (const auto& id : ids)
        out += (out.empty() ? "" : ",") + id;
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point began)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
}

}  // namespace

struct FenceDevices::Recurring {
    int call_id = 0;
    std::string agent;
    wire::ExecRequest request;
    io::Source timer;
};

struct FenceDevices::Attempt {
    ctl::FenceRequest request;
    std::function<void(const ctl::FenceOutcome&)> done;
    std::vector<std::vector<std::string>> levels;  // device ids
    std::size_t level = 0;                         // the level being tried
    std::size_t device = 0;                        // its device being run
    bool ran_one = false;                          // the requested delay was spent
    // What the level's devices run now: the request's action, or for a reboot by several
    // devices "off" by each, then "on" by each (on_phase).
    std::string action;
    bool on_phase = false;
    std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
    ctl::FenceOutcome outcome;
};

FenceDevices::FenceDevices(GMainContext* context, ex::Spawner& spawner, Report report, std::string agent_dir)
    : context_(context), spawner_(spawner), report_(std::move(report)), agent_dir_(std::move(agent_dir))
{
}

FenceDevices::~FenceDevices()
{
    lifetime_.end();
}

void FenceDevices::run_agent(const std::string& agent, std::string input, std::uint32_t timeout_ms,
                             const std::string& label, Finished finished)
{
    ex::SpawnRequest spawn;
    auto path = ctl::agent_path(agent, agent_dir_);
    spawn.path = path ? *path : std::string();
    spawn.argv = {spawn.path};
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
        spawn.env.emplace_back(*e);
    spawn.timeout_ms = timeout_ms;
    spawn.label = label;
    spawn.input = std::move(input);
    if (!path) {
        ex::ChildOutcome outcome;
        outcome.end = ex::ChildEnd::spawn_failed;
        outcome.error = ENOENT;
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [watch, finished = std::move(finished), outcome] {
            if (watch) finished(outcome);
        }));
        return;
    }
    auto watch = lifetime_.watch();
    (void)spawner_.spawn(std::move(spawn),
                         [watch, finished = std::move(finished)](const ex::ChildOutcome& outcome) {
                             if (watch) finished(outcome);
                         });
}

void FenceDevices::report(int call_id, const wire::ExecRequest& request, int rc, wire::ExecStatus status,
                          const std::string& reason, std::chrono::steady_clock::time_point began)
{
    wire::ExecNotify notify;
    notify.rsc_id = request.rsc_id;
    notify.action = request.action;
    notify.interval_ms = request.interval_ms;
    notify.timeout_ms = request.timeout_ms;
    notify.userdata = request.userdata;
    notify.call_id = call_id;
    notify.exec_rc = rc;
    notify.op_status = status;
    if (!reason.empty()) notify.exit_reason = reason;
    notify.run_time = static_cast<std::int64_t>(std::time(nullptr));
    notify.rcchange_time = notify.run_time;
    notify.exec_time_ms = static_cast<std::uint32_t>(seconds_since(began) * 1000);
    if (report_) report_(notify);
}

void FenceDevices::exec(int call_id, const std::string& agent, const wire::ExecRequest& request)
{
    const auto began = std::chrono::steady_clock::now();
    if (request.action == "start") {
        run_monitor(call_id, agent, request, true);
    } else if (request.action == "stop") {
        if (devices_.erase(request.rsc_id) > 0)
            log_notice(log_cat, "Fence device %s unregistered", request.rsc_id.c_str());
        for (auto it = recurring_.begin(); it != recurring_.end();)
            it = it->first.starts_with(request.rsc_id + "_monitor_") ? recurring_.erase(it) : std::next(it);
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [this, watch, call_id, request, began] {
            if (watch) report(call_id, request, wire::ocf::ok, wire::ExecStatus::done, {}, began);
        }));
    } else if (request.action == "monitor") {
        if (request.interval_ms > 0) {
            auto recurring = std::make_unique<Recurring>();
            recurring->call_id = call_id;
            recurring->agent = agent;
            recurring->request = request;
            recurring_[key_of(request.rsc_id, request.interval_ms)] = std::move(recurring);
        }
        run_monitor(call_id, agent, request, false);
    } else {
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [this, watch, call_id, request, began] {
            if (watch)
                report(call_id, request, wire::ocf::unimplemented, wire::ExecStatus::not_supported,
                       "fence devices support start, stop and monitor", began);
        }));
    }
    // Finished idle sources only keep their slot: drop them now and then.
    std::erase_if(pending_, [](const io::Source& s) { return !s.active(); });
}

// A device's "monitor": registers it when `registering` (a start), reports the result; a
// monitor of a device that is not registered is "not running" without running the agent.
void FenceDevices::run_monitor(int call_id, const std::string& agent, const wire::ExecRequest& request,
                               bool registering)
{
    const auto began = std::chrono::steady_clock::now();
    ctl::FenceDevice device;
    if (registering) {
        std::map<std::string, std::string> params;
        for (const auto& [name, value] : request.params)
            params.emplace(name, value);
        device = {request.rsc_id, agent, ctl::device_params(params)};
    } else if (auto it = devices_.find(request.rsc_id); it != devices_.end()) {
        device = it->second;
    } else {
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [this, watch, call_id, request, began] {
            if (!watch) return;
            report(call_id, request, wire::ocf::not_running, wire::ExecStatus::done, {}, began);
            arm(key_of(request.rsc_id, request.interval_ms));
        }));
        return;
    }
    const std::string label =
        request.rsc_id + "_" + request.action + "_" + std::to_string(request.interval_ms);
    run_agent(
        agent, ctl::agent_input(device, "monitor"), request.timeout_ms, label,
        [this, call_id, request, registering, device, began](const ex::ChildOutcome& outcome) {
            const std::string failure = failure_of(outcome, request.timeout_ms);
            if (registering && failure.empty()) {
                devices_[device.id] = device;
                log_notice(log_cat, "Fence device %s (%s) registered", device.id.c_str(),
                           device.agent.c_str());
            }
            if (!failure.empty()) {
                log_warning(log_cat, "Fence device %s: %s %s", device.id.c_str(), device.agent.c_str(),
                            failure.c_str());
            }
            const bool timed_out = outcome.end == ex::ChildEnd::timed_out;
            const bool missing = outcome.end == ex::ChildEnd::spawn_failed && outcome.error == ENOENT;
            const int rc = failure.empty() ? wire::ocf::ok
                                           : (missing ? wire::ocf::not_installed : wire::ocf::unknown_error);
            const wire::ExecStatus status =
                failure.empty()
                    ? wire::ExecStatus::done
                    : (timed_out ? wire::ExecStatus::timeout
                                 : (missing ? wire::ExecStatus::not_installed : wire::ExecStatus::error));
            report(call_id, request, rc, status, failure, began);
            if (request.interval_ms > 0) arm(key_of(request.rsc_id, request.interval_ms));
        });
}

// The next run of a recurring monitor, an interval after the last one ended.
void FenceDevices::arm(const std::string& key)
{
    auto it = recurring_.find(key);
    if (it == recurring_.end()) return;
    Recurring& r = *it->second;
    r.timer = io::add_timeout(context_, std::chrono::milliseconds(r.request.interval_ms), [this, key] {
        auto found = recurring_.find(key);
        if (found == recurring_.end()) return;
        run_monitor(found->second->call_id, found->second->agent, found->second->request, false);
    });
}

void FenceDevices::cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms)
{
    if (action == "monitor") recurring_.erase(key_of(rsc_id, interval_ms));
}

void FenceDevices::run_action(const ctl::FenceDevice& device, const std::string& action,
                              const std::string& target, std::uint32_t timeout_ms,
                              std::function<void(const ctl::FenceActionOutcome&)> done)
{
    std::erase_if(pending_, [](const io::Source& s) { return !s.active(); });
    run_agent(device.agent, ctl::agent_input(device, action, target), timeout_ms, device.id + "_" + action,
              [timeout_ms, done = std::move(done)](const ex::ChildOutcome& outcome) {
                  ctl::FenceActionOutcome out;
                  out.ran = outcome.end == ex::ChildEnd::exited || outcome.end == ex::ChildEnd::timed_out ||
                            outcome.end == ex::ChildEnd::signaled;
                  out.timed_out = outcome.end == ex::ChildEnd::timed_out;
                  out.exit_code = outcome.end == ex::ChildEnd::exited ? outcome.exit_code : 1;
                  out.output = outcome.out;
                  out.error = failure_of(outcome, timeout_ms);
                  done(out);
              });
}

void FenceDevices::fence(const ctl::FenceRequest& request, std::function<void(const ctl::FenceOutcome&)> done)
{
    auto attempt = std::make_shared<Attempt>();
    attempt->request = request;
    attempt->done = std::move(done);
    attempt->levels = request.levels;
    if (attempt->levels.empty()) {
        for (const auto& [id, device] : devices_)
            attempt->levels.push_back({id});
    }
    std::erase_if(pending_, [](const io::Source& s) { return !s.active(); });
    attempt->outcome.reason =
        devices_.empty() ? "no fence device is registered" : "no fence device can fence " + request.target;
    next_level(attempt);
}

// The next level, or the end when none is left (from the loop, never from inside fence():
// HostExecutor::fence's promise).
void FenceDevices::next_level(const std::shared_ptr<Attempt>& attempt)
{
    if (attempt->level >= attempt->levels.size()) {
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [watch, attempt] {
            if (!watch) return;
            attempt->outcome.ok = false;
            attempt->outcome.seconds = seconds_since(attempt->began);
            attempt->done(attempt->outcome);
        }));
        return;
    }
    attempt->device = 0;
    attempt->on_phase = false;
    // A reboot by several devices: each turns the target off, then each turns it on.
    attempt->action = attempt->request.action == "reboot" && attempt->levels[attempt->level].size() > 1
                          ? "off"
                          : attempt->request.action;
    if (attempt->request.topology) {
        log_info(log_cat, "Fencing %s: level %zu of %zu (%s)", attempt->request.target.c_str(),
                 attempt->level + 1, attempt->levels.size(), joined(attempt->levels[attempt->level]).c_str());
    }
    next_device(attempt);
}

// The level failed (`why`): the next one.
void FenceDevices::level_failed(const std::shared_ptr<Attempt>& attempt, const std::string& why)
{
    attempt->outcome.reason = why;
    ++attempt->level;
    next_level(attempt);
}

// The level's next device: asked whether it can fence the target (by its host check), then
// used; the level is done when every device of it fenced the target.
void FenceDevices::next_device(const std::shared_ptr<Attempt>& attempt)
{
    const auto& level = attempt->levels[attempt->level];
    if (attempt->device >= level.size() && attempt->action != attempt->request.action && !attempt->on_phase) {
        log_info(log_cat, "Fencing %s: every device of the level turned it off; now on",
                 attempt->request.target.c_str());
        attempt->on_phase = true;
        attempt->action = "on";
        attempt->device = 0;
    }
    if (attempt->device >= level.size()) {
        attempt->outcome.ok = true;
        attempt->outcome.device = joined(level);
        attempt->outcome.reason.clear();
        attempt->outcome.seconds = seconds_since(attempt->began);
        attempt->done(attempt->outcome);
        return;
    }
    const std::string& id = level[attempt->device];
    const std::string& target = attempt->request.target;
    // A registered device; an unfencing may also use a configured one not started yet.
    std::optional<ctl::FenceDevice> chosen;
    if (auto found = devices_.find(id); found != devices_.end()) {
        chosen = found->second;
    } else if (attempt->request.action == "on") {
        for (const auto& d : attempt->request.configured)
            if (d.id == id) chosen = d;
    }
    if (!chosen) {
        log_debug(log_cat, "Fence device %s is not registered", id.c_str());
        if (attempt->request.topology) {
            level_failed(attempt, "fence device " + id + " is not registered");
        } else {
            ++attempt->level;
            next_level(attempt);
        }
        return;
    }
    const ctl::FenceDevice device = *chosen;
    if (attempt->on_phase) {
        fence_with(attempt, device, 0, deadline_of(attempt, device));
        return;
    }
    const auto check = ctl::host_check(device);
    if (!check) {
        log_warning(log_cat, "Fence device %s: unknown pcmk_host_check, skipped", device.id.c_str());
        cannot_fence(attempt, device, "its pcmk_host_check");
        return;
    }
    switch (*check) {
        case ctl::HostCheck::none:
            delay_then_fence(attempt, device);
            return;
        case ctl::HostCheck::static_list:
            if (ctl::in_static_list(device, target)) {
                delay_then_fence(attempt, device);
            } else {
                cannot_fence(attempt, device, "not in its host list or map");
            }
            return;
        case ctl::HostCheck::dynamic_list:
            ask_device(attempt, device, "list", {}, [target](const ex::ChildOutcome& outcome) {
                return outcome.exit_code == 0 && ctl::listed(outcome.out, target);
            });
            return;
        case ctl::HostCheck::status:
            // 0: on, 2: off; anything else: the device does not know the target.
            ask_device(attempt, device, "status", target, [](const ex::ChildOutcome& outcome) {
                return outcome.exit_code == 0 || outcome.exit_code == 2;
            });
            return;
    }
}

// The device cannot fence the target: its level fails (a topology's) or is skipped.
void FenceDevices::cannot_fence(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device,
                                const std::string& why)
{
    log_debug(log_cat, "Fence device %s cannot fence %s (%s)", device.id.c_str(),
              attempt->request.target.c_str(), why.c_str());
    if (attempt->request.topology) {
        level_failed(attempt, "fence device " + device.id + " cannot fence " + attempt->request.target);
        return;
    }
    ++attempt->level;
    next_level(attempt);
}

// Runs the device's `action` ("list", "status") and fences with it if `can` says so from its
// exit (a run that did not exit never can).
void FenceDevices::ask_device(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device,
                              const std::string& action, const std::string& target,
                              std::function<bool(const ex::ChildOutcome&)> can)
{
    run_agent(device.agent, ctl::agent_input(device, action, target), attempt->request.timeout_ms,
              device.id + "_" + action,
              [this, attempt, device, action, can = std::move(can)](const ex::ChildOutcome& outcome) {
                  if (outcome.end == ex::ChildEnd::exited && can(outcome)) {
                      delay_then_fence(attempt, device);
                      return;
                  }
                  cannot_fence(attempt, device, "by its " + action);
              });
}

// pcmk_delay_base/pcmk_delay_max (and a requested delay before the first device), then the
// device's tries.
void FenceDevices::delay_then_fence(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device)
{
    const ctl::FenceRequest& request = attempt->request;
    std::uint32_t delay =
        request.requested_delay_ms < 0
            ? 0
            : ctl::device_delay_ms(device, attempt->action, request.target, random_fraction());
    if (!attempt->ran_one && request.requested_delay_ms > 0)
        delay += static_cast<std::uint32_t>(request.requested_delay_ms);
    attempt->ran_one = true;
    if (delay == 0) {
        fence_with(attempt, device, 0, deadline_of(attempt, device));
        return;
    }
    log_notice(log_cat, "Fencing %s with device %s after a delay of %u ms", request.target.c_str(),
               device.id.c_str(), delay);
    auto watch = lifetime_.watch();
    pending_.push_back(
        io::add_timeout(context_, std::chrono::milliseconds(delay), [this, watch, attempt, device] {
            if (watch) fence_with(attempt, device, 0, deadline_of(attempt, device));
        }));
}

// When the device's tries of the level's action must be over: its pcmk_<action>_timeout (else
// the request's) from now.
std::chrono::steady_clock::time_point FenceDevices::deadline_of(const std::shared_ptr<Attempt>& attempt,
                                                                const ctl::FenceDevice& device)
{
    const std::uint32_t timeout =
        ctl::action_timeout_ms(device, attempt->action, attempt->request.timeout_ms);
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
}

// Try `tries` (0 the first) of the device's action, within the action's timeout (`deadline`):
// a failed one runs again, a second later, up to pcmk_<action>_retries times in all while
// time is left; an "on" after a reboot's "off" may fail (the target is off).
void FenceDevices::fence_with(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device,
                              int tries, std::chrono::steady_clock::time_point deadline)
{
    const ctl::FenceRequest& request = attempt->request;
    const std::string action = ctl::agent_action(device, attempt->action);
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const auto timeout = static_cast<std::uint32_t>(std::max<std::int64_t>(left.count(), 1));
    log_notice(log_cat, "Fencing %s: %s with device %s (%s), try %d, timeout %u ms", request.target.c_str(),
               action.c_str(), device.id.c_str(), device.agent.c_str(), tries + 1, timeout);
    run_agent(device.agent, ctl::agent_input(device, action, request.target), timeout,
              device.id + "_" + action + "_" + request.target,
              [this, attempt, device, action, timeout, tries, deadline](const ex::ChildOutcome& outcome) {
                  const std::string failure = failure_of(outcome, timeout);
                  if (failure.empty()) {
                      ++attempt->device;
                      next_device(attempt);
                      return;
                  }
                  log_warning(log_cat, "Fencing %s with %s (%s) failed: %s", attempt->request.target.c_str(),
                              device.id.c_str(), action.c_str(), failure.c_str());
                  const auto retry_at =
                      std::chrono::steady_clock::now() + std::chrono::milliseconds(ctl::kFenceRetryPauseMs);
                  if (tries + 1 < ctl::action_tries(device, attempt->action) && retry_at < deadline &&
                      outcome.end != ex::ChildEnd::spawn_failed) {
                      auto watch = lifetime_.watch();
                      pending_.push_back(
                          io::add_timeout(context_, std::chrono::milliseconds(ctl::kFenceRetryPauseMs),
                                          [this, watch, attempt, device, tries, deadline] {
                                              if (watch) fence_with(attempt, device, tries + 1, deadline);
                                          }));
                      return;
                  }
                  if (attempt->on_phase) {
                      ++attempt->device;  // the target is off: the fencing stands
                      next_device(attempt);
                      return;
                  }
                  attempt->outcome.device = device.id;
                  level_failed(attempt, device.id + " (" + device.agent + " " + action + "): " + failure);
              });
}

double FenceDevices::random_fraction()
{
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

}  // namespace outpost::controld
