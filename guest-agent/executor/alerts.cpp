#include "executor/alerts.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "executor/agents.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"
#include "util/users.hpp"

namespace outpost::agent::executor {
namespace {

const log::Category log_cat{"agent.alert"};

}  // namespace

std::optional<RunAs> lookup_run_as(const std::string& user)
{
    const auto account = users::find_user(user);
    if (!account) return std::nullopt;
    return RunAs{account->uid, account->gid, users::groups_of(*account)};
}

Alerts::Alerts(GMainContext* context, Spawner& spawner, Options options)
    : context_(context), spawner_(spawner), options_(std::move(options))
{
}

void Alerts::run(wire::AlertRequest request)
{
    if (draining_) {
        log_info(log_cat, "not running alert %s: shutting down", log::quote(request.id).c_str());
        return;
    }
    agents::Environment env = agents::Environment::from_process();
    for (const auto& [name, value] : request.params) {
        if (agents::usable_env_name(name)) env.set(name, value);
    }
    // 2.1.5 also exports the legacy name, with the same value (docs/conformance.md, item 8).
    const std::string sequence = std::to_string(++sequence_);
    env.set("CRM_alert_node_sequence", sequence);
    env.set("CRM_notify_node_sequence", sequence);

    SpawnRequest spawn;
    spawn.path = request.path;
    spawn.argv = {request.path};
    spawn.env = std::move(env).take();
    spawn.timeout_ms = request.timeout_ms;
    spawn.working_dir = options_.working_dir;
    if (!run_as_) run_as_ = options_.run_as ? options_.run_as() : std::optional<RunAs>{};
    spawn.run_as = *run_as_;
    spawn.output_cap = options_.max_output;
    spawn.label = "alert_" + request.id;

    // The id is known only once spawn() returns; the outcome always comes later, from the loop.
    auto id = std::make_shared<Spawner::ChildId>(0);
    *id = spawner_.spawn(std::move(spawn), [this, alive = lifetime_.watch(), id](ChildOutcome outcome) {
        if (alive) finished(*id, std::move(outcome));
    });
    running_.emplace(*id, Running{std::move(request.id), std::move(request.path), request.timeout_ms});
}

void Alerts::finished(Spawner::ChildId id, ChildOutcome outcome)
{
    auto it = running_.find(id);
    if (it == running_.end()) return;
    Running alert = std::move(it->second);
    running_.erase(it);
    agents::RawResult raw = agents::result_from_child(agents::Standard::unknown, "alert", "Alert agent",
                                                      alert.path, alert.timeout_ms, std::move(outcome));
    if (raw.status == ExecStatus::done && raw.raw_rc == 0) {
        log_info(log_cat, "alert %s (%s) completed", log::quote(alert.id).c_str(),
                 log::quote(alert.path).c_str());
    } else {
        log_warning(log_cat, "alert %s (%s) failed: exit %d, status %d%s%s", log::quote(alert.id).c_str(),
                    log::quote(alert.path).c_str(), raw.raw_rc, static_cast<int>(raw.status),
                    raw.reason.empty() ? "" : ": ", raw.reason.c_str());
    }
    if (!raw.err.empty())
        log_debug(log_cat, "alert %s stderr: %s", alert.id.c_str(), log::quote(raw.err).c_str());
    if (draining_ && running_.empty()) finish_drain();
}

void Alerts::drain(std::function<void()> done)
{
    draining_ = true;
    drain_done_ = std::move(done);
    if (running_.empty()) {
        drain_idle_ = io::add_idle(context_, [this] { finish_drain(); });
        return;
    }
    std::uint32_t longest = 0;
    for (const auto& [id, alert] : running_)
        longest = std::max(longest, alert.timeout_ms);
    drain_timer_ = io::add_timeout(
        context_, std::chrono::milliseconds(std::uint64_t{longest} + kAlertDrainMarginMs), [this] {
            log_warning(log_cat, "%zu alert(s) still running at shutdown", running_.size());
            finish_drain();
        });
}

void Alerts::finish_drain()
{
    drain_timer_.reset();
    auto done = std::exchange(drain_done_, nullptr);
    if (done) guarded(log_cat, "the alert drain handler", done);
}

}  // namespace outpost::agent::executor
