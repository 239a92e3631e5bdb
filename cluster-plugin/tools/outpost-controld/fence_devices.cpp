#include "tools/outpost-controld/fence_devices.hpp"

#include <unistd.h>

#include <ctime>
#include <utility>

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
    std::vector<ctl::FenceDevice> candidates;
    std::size_t next = 0;
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
    for (const auto& [id, device] : devices_)
        attempt->candidates.push_back(device);
    std::erase_if(pending_, [](const io::Source& s) { return !s.active(); });
    attempt->outcome.reason = attempt->candidates.empty() ? "no fence device is registered"
                                                          : "no fence device can fence " + request.target;
    try_device(attempt);
}

// The next candidate: asked whether it can fence the target (by its host check), then used.
void FenceDevices::try_device(const std::shared_ptr<Attempt>& attempt)
{
    if (attempt->next >= attempt->candidates.size()) {
        // From the loop, never from inside fence() (HostExecutor::fence's promise).
        auto watch = lifetime_.watch();
        pending_.push_back(io::add_idle(context_, [watch, attempt] {
            if (!watch) return;
            attempt->outcome.ok = false;
            attempt->outcome.seconds = seconds_since(attempt->began);
            attempt->done(attempt->outcome);
        }));
        return;
    }
    const ctl::FenceDevice device = attempt->candidates[attempt->next++];
    const std::string& target = attempt->request.target;
    const auto check = ctl::host_check(device);
    if (!check) {
        log_warning(log_cat, "Fence device %s: unknown pcmk_host_check, skipped", device.id.c_str());
        try_device(attempt);
        return;
    }
    switch (*check) {
        case ctl::HostCheck::none:
            fence_with(attempt, device);
            return;
        case ctl::HostCheck::static_list:
            if (ctl::in_static_list(device, target)) {
                fence_with(attempt, device);
            } else {
                log_debug(log_cat, "Fence device %s cannot fence %s (not in its host list or map)",
                          device.id.c_str(), target.c_str());
                try_device(attempt);
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

// Runs the device's `action` ("list", "status") and fences with it if `can` says so from its
// exit (a run that did not exit never can); else the next candidate.
void FenceDevices::ask_device(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device,
                              const std::string& action, const std::string& target,
                              std::function<bool(const ex::ChildOutcome&)> can)
{
    run_agent(device.agent, ctl::agent_input(device, action, target), attempt->request.timeout_ms,
              device.id + "_" + action,
              [this, attempt, device, action, can = std::move(can)](const ex::ChildOutcome& outcome) {
                  if (outcome.end == ex::ChildEnd::exited && can(outcome)) {
                      fence_with(attempt, device);
                      return;
                  }
                  log_debug(log_cat, "Fence device %s cannot fence %s (by its %s)", device.id.c_str(),
                            attempt->request.target.c_str(), action.c_str());
                  try_device(attempt);
              });
}

void FenceDevices::fence_with(const std::shared_ptr<Attempt>& attempt, const ctl::FenceDevice& device)
{
    const ctl::FenceRequest& request = attempt->request;
    const std::string action = ctl::agent_action(device, request.action);
    const std::uint32_t timeout = ctl::action_timeout_ms(device, request.action, request.timeout_ms);
    log_notice(log_cat, "Fencing %s: %s with device %s (%s), timeout %u ms", request.target.c_str(),
               action.c_str(), device.id.c_str(), device.agent.c_str(), timeout);
    run_agent(device.agent, ctl::agent_input(device, action, request.target), timeout,
              device.id + "_" + action + "_" + request.target,
              [this, attempt, device, action, timeout](const ex::ChildOutcome& outcome) {
                  const std::string failure = failure_of(outcome, timeout);
                  attempt->outcome.device = device.id;
                  if (failure.empty()) {
                      attempt->outcome.ok = true;
                      attempt->outcome.reason.clear();
                      attempt->outcome.seconds = seconds_since(attempt->began);
                      attempt->done(attempt->outcome);
                      return;
                  }
                  attempt->outcome.reason = device.id + " (" + device.agent + " " + action + "): " + failure;
                  log_warning(log_cat, "Fencing %s with %s failed: %s", attempt->request.target.c_str(),
                              device.id.c_str(), failure.c_str());
                  try_device(attempt);
              });
}

}  // namespace outpost::controld
