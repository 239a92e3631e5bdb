#include "executor/executor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <utility>

#include "executor/alerts.hpp"
#include "executor/systemd.hpp"
#include "io/source.hpp"
#include "isolation/limits.hpp"
#include "isolation/manager.hpp"
#include "util/guard.hpp"
#include "util/lifetime.hpp"
#include "util/log.hpp"

namespace outpost::agent::executor {

namespace {

const outpost::log::Category log_cat{"agent.exec"};

gint64 mono_ms()
{
    return g_get_monotonic_time() / 1000;
}
std::int64_t epoch_s()
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

std::uint32_t elapsed_ms(gint64 from, gint64 to)
{
    if (from <= 0 || to < from) return 0;
    return static_cast<std::uint32_t>(std::min<gint64>(to - from, G_MAXUINT32));
}

bool is_stop(std::string_view action)
{
    return agents::iequals(action, "stop");
}

// The actions that leave a resource running: they run under the CIB's limits from the first.
bool starts_resource(std::string_view action)
{
    return agents::iequals(action, "start") || agents::iequals(action, "migrate_from");
}

}  // namespace

namespace {

// One requested operation. Owned by Impl::ops; resources refer to it by pointer.
struct Op {
    std::uint64_t key = 0;
    int call_id = 0;
    wire::ExecRequest req;
    std::string client_id;  // echoed in the result for the server

    enum class State { queued, running, waiting } state = State::queued;
    bool delay_pending = false;  // start delay not yet elapsed: blocks its resource's queue
    io::Source delay_timer;
    io::Source interval_timer;
    gint64 queued_ms = 0;  // monotonic ms when (re)queued
    gint64 started_ms = 0;
    std::int64_t run_time = 0;

    enum class Runner { none, child, systemd } runner = Runner::none;
    std::uint64_t runner_id = 0;
    agents::Standard standard = agents::Standard::unknown;
    std::string agent_action;
    std::string path;

    // Follow-ups (agents.hpp): a systemd start/stop whose job is queued, a nagios start that
    // failed, is checked again after a delay, as 2.1.5 does, until it settles or times out.
    // Between checks the op waits in its resource's queue like an op with a start delay.
    bool following = false;

    // Added to the exit reason: resource limits that could not be applied (isolation).
    std::string isolation_note;
    // A start waited (or is waiting) for the first snapshot of the CIB's limits.
    bool limits_awaited = false;

    bool cancelled = false;    // result already reported; the process's outcome is dropped
    bool detached = false;     // resource unregistered or replaced: never rescheduled
    bool rsc_deleted = false;  // reported in the result

    bool notified = false;  // first notification sent (notify-changes-only)
    int notified_rc = 0;
    ExecStatus notified_status = ExecStatus::unknown;
    int last_rc = ocf::ok;  // previous exit status, for rcchange_time
    std::int64_t rcchange_time = 0;

    [[nodiscard]] bool recurring() const { return req.interval_ms > 0; }
    [[nodiscard]] bool matches(std::string_view action, std::uint32_t interval) const
    {
        return req.interval_ms == interval && agents::iequals(req.action, action);
    }
};

struct Resource {
    ResourceDefinition def;
    std::deque<Op*> queue;
    Op* active = nullptr;  // running, or cancelled and not yet reaped
    std::vector<Op*> waiting;
    io::Source dispatch_idle;
};

}  // namespace

struct Executor::Impl {
    GMainContext* context;
    Spawner& spawner;
    Options options;
    Callbacks callbacks;

    std::map<std::string, Resource, std::less<>> resources;
    std::map<std::uint64_t, std::unique_ptr<Op>> ops;
    std::uint64_t next_key = 1;
    std::unique_ptr<systemd::Manager> systemd_manager;
    Alerts alerts;
    // Callbacks from the spawner and systemd watch it: a late child outcome after the
    // executor is gone is dropped.
    Lifetime lifetime;

    Impl(GMainContext* ctx, Spawner& sp, Options opts, Callbacks cbs)
        : context(ctx),
          spawner(sp),
          options(std::move(opts)),
          callbacks(std::move(cbs)),
          alerts(ctx, sp,
                 Alerts::Options{options.paths.working_dir, options.paths.max_output, options.alert_user})
    {
    }

    systemd::Manager& systemd()
    {
        if (!systemd_manager)
            systemd_manager = std::make_unique<systemd::Manager>(context, options.paths.systemd_run_dir);
        return *systemd_manager;
    }

    Resource* find_resource(std::string_view id)
    {
        auto it = resources.find(id);
        return it == resources.end() ? nullptr : &it->second;
    }

    Op* find_op(std::uint64_t key)
    {
        auto it = ops.find(key);
        return it == ops.end() ? nullptr : it->second.get();
    }

    void deliver(std::vector<OpResult>& results)
    {
        for (auto& result : results)
            deliver_one(result);
        results.clear();
    }

    void deliver_one(const OpResult& result)
    {
        if (callbacks.on_result) guarded(log_cat, "the result handler", [&] { callbacks.on_result(result); });
    }

    // Takes `op` out of its resource (queue, waiting list, or the active slot, which lets
    // the next op run) and destroys it: the one way an operation ends.
    void forget(Op& op)
    {
        if (Resource* rsc = find_resource(op.req.rsc_id)) {
            std::erase(rsc->queue, &op);
            std::erase(rsc->waiting, &op);
            if (rsc->active == &op) {
                rsc->active = nullptr;
                schedule_dispatch(*rsc);
            }
        }
        ops.erase(op.key);
    }

    static OpResult base_result(const Op& op)
    {
        OpResult r;
        r.notify = wire::notify_for(op.req, op.call_id);
        r.notify.rsc_deleted = op.rsc_deleted;
        r.notify.rcchange_time = op.rcchange_time;
        r.client_id = op.client_id;
        r.callopts = op.req.callopts;
        return r;
    }

    void schedule_dispatch(Resource& rsc)
    {
        if (rsc.dispatch_idle.active()) return;
        rsc.dispatch_idle = io::add_idle(context, [this, id = rsc.def.id]() { dispatch(id); });
    }

    // Starts the head of the resource's queue if nothing runs for it.
    void dispatch(const std::string& id)
    {
        Resource* rsc = find_resource(id);
        if (rsc == nullptr || rsc->active != nullptr || rsc->queue.empty()) return;
        Op* op = rsc->queue.front();
        if (op->delay_pending) return;  // a delayed op blocks those behind it
        if (await_limits(*op)) return;
        rsc->queue.pop_front();
        start(*rsc, *op);
    }

    // A start while the first snapshot of the CIB's limits is on its way waits for it, like
    // an op with a start delay (the manager bounds the wait). True: it waits.
    bool await_limits(Op& op)
    {
        if (op.limits_awaited || options.isolation == nullptr || !starts_resource(op.req.action) ||
            !options.isolation->cluster_meta_pending())
            return false;
        op.limits_awaited = true;
        op.delay_pending = true;
        log_info(log_cat, "%s %s (call %d): waiting for the resource limits in the CIB",
                 log::quote(op.req.rsc_id).c_str(), log::quote(op.req.action).c_str(), op.call_id);
        const Lifetime::Watch alive = lifetime.watch();
        options.isolation->await_cluster_meta([this, alive, key = op.key](bool snapshot) {
            if (!alive) return;
            Op* waiting = find_op(key);
            if (waiting == nullptr) return;
            if (!snapshot)
                log_warning(log_cat,
                            "%s %s (call %d): runs without the CIB's resource limits (not known yet)",
                            log::quote(waiting->req.rsc_id).c_str(), log::quote(waiting->req.action).c_str(),
                            waiting->call_id);
            waiting->delay_pending = false;
            if (Resource* r = find_resource(waiting->req.rsc_id)) schedule_dispatch(*r);
        });
        return true;
    }

    agents::Standard resolve_standard(const ResourceDefinition& def)
    {
        if (!agents::is_service_class(def.rsc_class)) return agents::parse_standard(def.rsc_class);
        // "service" is resolved per action: an init script wins, then a systemd unit, else
        // LSB (which then reports the missing script).
        if (!def.type.empty()) {
            std::string script = def.type.front() == '/' ? def.type : options.paths.lsb_dir + "/" + def.type;
            if (g_file_test(script.c_str(), G_FILE_TEST_EXISTS)) return agents::Standard::lsb;
            if (systemd().unit_exists(agents::systemd_unit_name(def.type))) return agents::Standard::systemd;
        }
        return agents::Standard::lsb;
    }

    void start(Resource& rsc, Op& op)
    {
        op.state = Op::State::running;
        if (!op.following) {
            op.started_ms = mono_ms();
            op.run_time = epoch_s();
        }
        rsc.active = &op;
        op.standard = resolve_standard(rsc.def);

        agents::ActionInput input;
        input.rsc = &rsc.def;
        input.standard = op.standard;
        input.action = op.req.action;
        input.interval_ms = op.req.interval_ms;
        input.timeout_ms = op.req.timeout_ms;
        input.params = &op.req.params;
        if (op.following) {
            // The check: a status run for systemd, the start again for nagios; it may use
            // what is left of the action's timeout.
            if (op.standard == agents::Standard::systemd) input.action = "monitor";
            input.timeout_ms = std::max<std::uint32_t>(
                1, op.req.timeout_ms - std::min(op.req.timeout_ms, elapsed_ms(op.started_ms, mono_ms())));
        }
        agents::Plan plan = agents::plan_action(options.paths, input);
        op.agent_action = plan.agent_action.empty() ? op.req.action : plan.agent_action;
        log_debug(log_cat, "%s: running %s (call %d) as %s", log::quote(rsc.def.id).c_str(),
                  log::quote(op.req.action).c_str(), op.call_id, agents::standard_name(op.standard));

        if (plan.kind != agents::Plan::Kind::result && !isolate(rsc, op, plan)) return;

        const Lifetime::Watch alive = lifetime.watch();
        const std::uint64_t key = op.key;
        switch (plan.kind) {
            case agents::Plan::Kind::result:
                complete(op, std::move(plan.result));
                return;
            case agents::Plan::Kind::spawn:
                op.runner = Op::Runner::child;
                op.path = plan.spawn.path;
                op.runner_id = spawner.spawn(std::move(plan.spawn), [this, alive, key](ChildOutcome outcome) {
                    if (alive) on_child(key, std::move(outcome));
                });
                return;
            case agents::Plan::Kind::systemd:
                op.runner = Op::Runner::systemd;
                op.path = plan.unit;
                op.runner_id = systemd().run(plan.unit, rsc.def.type, op.agent_action, input.timeout_ms,
                                             [this, alive, key](agents::RawResult result) {
                                                 if (alive) on_systemd(key, std::move(result));
                                             });
                return;
        }
    }

    // Puts the action's process into its resource's cgroup with the limits of its parameters
    // (isolation/manager.hpp). False: the op failed here and has been completed.
    bool isolate(const Resource& rsc, Op& op, agents::Plan& plan)
    {
        op.isolation_note.clear();
        if (options.isolation == nullptr) return true;
        if (plan.kind != agents::Plan::Kind::spawn) {
            // systemd starts the unit's processes: they live in the unit's own cgroup.
            auto limits = isolation::parse(op.req.params);
            if (!limits) return fail_isolation(op, limits.error());
            if (!limits->empty()) op.isolation_note = "resource limits not applied: systemd runs the unit";
            return true;
        }
        if (log_cat.enabled(log::Level::debug)) {
            std::string attrs;
            for (const auto& a : isolation::configured(op.req.params))
                attrs += " " + a.name + "=" + a.value;
            log_debug(log_cat, "%s %s (call %d): limits%s", log::quote(rsc.def.id).c_str(),
                      log::quote(op.req.action).c_str(), op.call_id, attrs.empty() ? " none" : attrs.c_str());
        }
        auto placement = options.isolation->prepare(rsc.def.id, op.req.params);
        if (!placement) return fail_isolation(op, placement.error());
        plan.spawn.cgroup_procs = std::move(placement->procs_files);
        op.isolation_note = std::move(placement->note);
        return true;
    }

    // A bad limit is the configuration's fault (OCF_ERR_CONFIGURED: nothing runs, the
    // cluster does not retry); anything else the agent could not do is a generic error.
    bool fail_isolation(Op& op, const Error& error)
    {
        log_warning(log_cat, "%s %s (call %d): %s", log::quote(op.req.rsc_id).c_str(),
                    log::quote(op.req.action).c_str(), op.call_id, error.message.c_str());
        agents::RawResult raw;
        raw.prepared = true;
        raw.reason = error.message;
        if (error.code == -EINVAL) {
            raw.raw_rc = ocf::not_configured;
        } else {
            raw.raw_rc = agents::generic_error(op.standard, op.agent_action);
            raw.status = ExecStatus::error;
        }
        complete(op, std::move(raw));
        return false;
    }

    // The op's process is gone; true if the outcome should be interpreted.
    bool release_runner(Op& op)
    {
        op.runner = Op::Runner::none;
        op.runner_id = 0;
        if (!op.cancelled) return true;
        // Its cancellation was reported when it was killed: only unblock the resource.
        forget(op);
        return false;
    }

    void on_child(std::uint64_t key, ChildOutcome outcome)
    {
        Op* op = find_op(key);
        if (op == nullptr || !release_runner(*op)) return;
        agents::RawResult raw = agents::result_from_child(op->standard, op->agent_action, "Resource agent",
                                                          op->path, op->req.timeout_ms, std::move(outcome));
        complete(*op, std::move(raw));
    }

    void on_systemd(std::uint64_t key, agents::RawResult result)
    {
        Op* op = find_op(key);
        if (op == nullptr || !release_runner(*op)) return;
        complete(*op, std::move(result));
    }

    // 2.1.5 updates the change time only on its completion path, which failures found
    // before anything ran (agent not installed, unknown class) do not take.
    static void note_rc(Op& op, int rc, const agents::RawResult& raw)
    {
        if (rc != op.last_rc && !raw.prepared) op.rcchange_time = epoch_s();
        op.last_rc = rc;
    }

    // Whether the first run of `op` leaves its outcome to follow-ups (agents.hpp).
    static bool needs_follow_up(const Op& op, int rc, const agents::RawResult& raw)
    {
        if (op.recurring() || op.detached) return false;
        if (raw.follow_up) return true;
        return op.standard == agents::Standard::nagios && op.req.action == "start" && rc != ocf::ok;
    }

    // A follow-up check's verdict on a start or stop: settled (`raw` becomes the final
    // result) or not yet.
    static bool settled(const Op& op, int& rc, agents::RawResult& raw)
    {
        if (op.req.action == "start") {
            if (rc == ocf::ok && raw.status == ExecStatus::done) return true;
            if (rc == ocf::not_running) {
                rc = ocf::unknown_error;  // it stopped again: the start failed, the state says how
                return true;
            }
            return false;
        }
        if (rc == ocf::not_running) {  // stop
            rc = ocf::ok;
            raw.status = ExecStatus::done;
            return true;
        }
        return false;
    }

    // Checks `op` again after a delay, or gives up (false) once its timeout is used up.
    bool follow_up(Op& op)
    {
        Resource* rsc = find_resource(op.req.rsc_id);
        std::uint32_t delay =
            agents::follow_up_delay_ms(op.req.timeout_ms, elapsed_ms(op.started_ms, mono_ms()));
        if (rsc == nullptr || op.detached || delay == 0) return false;
        log_debug(log_cat, "%s %s (call %d) not settled: checking again in %u ms",
                  log::quote(op.req.rsc_id).c_str(), log::quote(op.req.action).c_str(), op.call_id, delay);
        if (rsc->active == &op) rsc->active = nullptr;
        op.following = true;
        op.req.start_delay_ms = delay;  // reported so (lrmd_rsc_start_delay), as 2.1.5 does
        op.state = Op::State::queued;
        op.delay_pending = true;
        std::uint64_t key = op.key;
        op.delay_timer = io::add_timeout(context, std::chrono::milliseconds(delay), [this, key]() {
            Op* waiting = find_op(key);
            if (waiting == nullptr) return;
            waiting->delay_pending = false;
            if (Resource* r = find_resource(waiting->req.rsc_id)) schedule_dispatch(*r);
        });
        rsc->queue.push_back(&op);
        schedule_dispatch(*rsc);
        return true;
    }

    // A run finished: report it (unless suppressed), then reschedule or forget the op.
    void complete(Op& op, agents::RawResult raw)
    {
        gint64 now = mono_ms();
        bool probe = !op.following && agents::is_probe(op.req.action, op.req.interval_ms);
        int rc = agents::uniform_rc(op.standard, op.agent_action, raw.raw_rc, probe);
        // A nagios probe's "not running" is made from the plugin's success after 2.1.5 has
        // noted the change time: that sees the success.
        int change_rc = probe ? agents::uniform_rc(op.standard, op.agent_action, raw.raw_rc) : rc;
        if (Resource* owner = find_resource(op.req.rsc_id);
            owner != nullptr && agents::is_service_class(owner->def.rsc_class)) {
            // 2.1.5 resolves "service" again once a run is over (the answer is not used).
            (void)resolve_standard(owner->def);
        }
        bool first = !op.following;
        int checked_rc = rc;  // what this run saw, before settled() turns it into the result
        if (first ? needs_follow_up(op, rc, raw) : !settled(op, rc, raw)) {
            if (raw.status != ExecStatus::pending) note_rc(op, rc, raw);
            // A check killed at the deadline ends it as well.
            if (raw.status != ExecStatus::timeout && follow_up(op)) return;
            rc = ocf::unknown_error;
            raw.status = ExecStatus::timeout;
            raw.reason = agents::kFollowUpTimeoutReason;
        } else if (!first) {
            note_rc(op, checked_rc, raw);
        }
        ExecStatus status = raw.status;
        note_rc(op, probe ? change_rc : rc, raw);

        OpResult result = base_result(op);
        wire::ExecNotify& notify = result.notify;
        notify.exec_rc = rc;
        notify.op_status = status;
        notify.run_time = op.run_time;
        notify.exec_time_ms = elapsed_ms(op.started_ms, now);
        notify.queue_time_ms = elapsed_ms(op.queued_ms, op.started_ms);
        if (!op.isolation_note.empty())
            raw.reason = raw.reason.empty() ? op.isolation_note : raw.reason + "; " + op.isolation_note;
        if (!raw.reason.empty()) notify.exit_reason = std::move(raw.reason);
        // A stop leaves nothing behind: what is still in the resource's cgroup is killed.
        if (options.isolation != nullptr && is_stop(op.req.action) && rc == ocf::ok &&
            status == ExecStatus::done)
            options.isolation->release(op.req.rsc_id);
        std::string& output = !raw.err.empty() ? raw.err : raw.out;
        if (!output.empty()) notify.output = std::move(output);
        if (options.on_run) {
            const Resource* owner = find_resource(op.req.rsc_id);
            options.on_run(result,
                           owner != nullptr ? std::string_view(owner->def.rsc_class) : std::string_view());
        }

        bool suppressed = op.recurring() && (op.req.callopts & callopt::notify_changes_only) != 0 &&
                          op.notified && rc == op.notified_rc && status == op.notified_status;
        if (!suppressed) {
            op.notified = true;
            op.notified_rc = rc;
            op.notified_status = status;
        }
        log_debug(log_cat, "%s %s (call %d): rc %d status %d%s", log::quote(op.req.rsc_id).c_str(),
                  log::quote(op.req.action).c_str(), op.call_id, rc, static_cast<int>(status),
                  suppressed ? " (unchanged, not notified)" : "");

        Resource* rsc = find_resource(op.req.rsc_id);
        if (rsc != nullptr && rsc->active == &op) {
            rsc->active = nullptr;
            schedule_dispatch(*rsc);
        }
        if (op.recurring() && !op.detached && rsc != nullptr) {
            op.state = Op::State::waiting;
            rsc->waiting.push_back(&op);
            std::uint64_t key = op.key;
            op.interval_timer = io::add_timeout(context, std::chrono::milliseconds(op.req.interval_ms),
                                                [this, key]() { requeue(key); });
        } else {
            forget(op);
        }
        if (!suppressed) deliver_one(result);
    }

    // A recurring op's interval elapsed: it joins the back of its resource's queue.
    void requeue(std::uint64_t key)
    {
        Op* op = find_op(key);
        if (op == nullptr || op->state != Op::State::waiting) return;
        Resource* rsc = find_resource(op->req.rsc_id);
        if (rsc == nullptr) {
            forget(*op);
            return;
        }
        std::erase(rsc->waiting, op);
        op->state = Op::State::queued;
        op->queued_ms = mono_ms();
        rsc->queue.push_back(op);
        schedule_dispatch(*rsc);
    }

    // Takes `op` out of its resource and records its cancellation result in `out`. A running
    // op's process is killed; its record lives until the outcome comes back (dropped then).
    void cancel_op(Op& op, bool rsc_deleted, std::vector<OpResult>& out)
    {
        op.rsc_deleted = op.rsc_deleted || rsc_deleted;
        OpResult result = base_result(op);
        result.notify.op_status = ExecStatus::cancelled;
        // 2.1.5 reports a queued or waiting op's cancellation with zero times and its last
        // exit status; a run it kills with exit status 0 and the times of that run so far
        // (docs/conformance.md, item 15).
        result.notify.exec_rc = op.last_rc;
        switch (op.state) {
            case Op::State::queued:
            case Op::State::waiting:
                out.push_back(std::move(result));
                forget(op);
                return;
            case Op::State::running: {
                result.notify.exec_rc = ocf::ok;
                const gint64 now = mono_ms();
                result.notify.run_time = op.run_time;
                result.notify.exec_time_ms = elapsed_ms(op.started_ms, now);
                result.notify.queue_time_ms = elapsed_ms(op.queued_ms, op.started_ms);
                op.cancelled = true;
                op.detached = true;
                if (op.runner == Op::Runner::child) {
                    spawner.kill(op.runner_id);
                } else if (op.runner == Op::Runner::systemd) {
                    systemd().cancel(op.runner_id);
                    op.runner = Op::Runner::none;
                    out.push_back(std::move(result));
                    forget(op);
                    return;
                }
                break;
            }
        }
        out.push_back(std::move(result));
    }

    void cancel_recurring(Resource& rsc, std::vector<OpResult>& out)
    {
        std::vector<Op*> victims;
        for (Op* op : rsc.queue) {
            if (op->recurring()) victims.push_back(op);
        }
        for (Op* op : rsc.waiting)
            victims.push_back(op);
        if (rsc.active != nullptr && rsc.active->recurring() && !rsc.active->cancelled)
            victims.push_back(rsc.active);
        std::sort(victims.begin(), victims.end(), [](const Op* a, const Op* b) { return a->key < b->key; });
        for (Op* op : victims)
            cancel_op(*op, false, out);
    }

    // Cancels everything queued or waiting (reported with the deleted flag: 2.1.5 sets it
    // for unregistration and for a replaced definition alike); the running op (if any) is
    // left to finish but will not run again, and carries the flag only if
    // `running_deleted` (unregistration; a replaced definition's running op reports 0).
    // Returns whether an op was executing.
    bool retire(Resource& rsc, bool running_deleted, std::vector<OpResult>& out)
    {
        std::vector<Op*> victims(rsc.queue.begin(), rsc.queue.end());
        victims.insert(victims.end(), rsc.waiting.begin(), rsc.waiting.end());
        std::sort(victims.begin(), victims.end(), [](const Op* a, const Op* b) { return a->key < b->key; });
        for (Op* op : victims)
            cancel_op(*op, true, out);
        bool executing = false;
        if (rsc.active != nullptr) {
            rsc.active->detached = true;
            if (!rsc.active->cancelled) {
                executing = true;
                rsc.active->rsc_deleted = rsc.active->rsc_deleted || running_deleted;
            }
        }
        return executing;
    }
};

Executor::Executor(GMainContext* context, Spawner& spawner, Options options, Callbacks callbacks)
    : impl_(std::make_unique<Impl>(context != nullptr ? context : g_main_context_get_thread_default(),
                                   spawner, std::move(options), std::move(callbacks)))
{
}

Executor::~Executor() = default;

int Executor::register_resource(ResourceDefinition definition)
{
    Impl& im = *impl_;
    Resource* existing = im.find_resource(definition.id);
    if (existing != nullptr) {
        const ResourceDefinition& old = existing->def;
        if (agents::iequals(old.rsc_class, definition.rsc_class) && old.provider == definition.provider &&
            old.type == definition.type) {
            return rc::ok;
        }
        std::vector<OpResult> results;
        im.retire(*existing, false, results);
        // The running op (if any) keeps blocking the resource under its new definition.
        existing->def = std::move(definition);
        im.deliver(results);
        return rc::ok;
    }
    std::string id = definition.id;
    Resource rsc;
    rsc.def = std::move(definition);
    im.resources.emplace(std::move(id), std::move(rsc));
    return rc::ok;
}

int Executor::unregister_resource(std::string_view rsc_id)
{
    Impl& im = *impl_;
    auto it = im.resources.find(rsc_id);
    if (it == im.resources.end()) return rc::ok;
    std::vector<OpResult> results;
    bool executing = im.retire(it->second, true, results);
    im.resources.erase(it);
    im.deliver(results);
    return executing ? rc::in_progress : rc::ok;
}

const ResourceDefinition* Executor::find(std::string_view rsc_id) const
{
    auto it = impl_->resources.find(rsc_id);
    return it == impl_->resources.end() ? nullptr : &it->second.def;
}

int Executor::exec(int call_id, wire::ExecRequest request, std::string client_id)
{
    Impl& im = *impl_;
    Resource* rsc = im.find_resource(request.rsc_id);
    if (rsc == nullptr) return rc::no_device;
    std::vector<OpResult> results;
    if (is_stop(request.action)) im.cancel_recurring(*rsc, results);

    if (request.interval_ms > 0) {
        Op* dup = nullptr;
        for (Op* op : rsc->queue) {
            if (op->matches(request.action, request.interval_ms)) dup = op;
        }
        for (Op* op : rsc->waiting) {
            if (op->matches(request.action, request.interval_ms)) dup = op;
        }
        if (rsc->active != nullptr && !rsc->active->cancelled &&
            rsc->active->matches(request.action, request.interval_ms)) {
            dup = rsc->active;
        }
        if (dup != nullptr) {
            log_debug(log_cat, "%s: merging duplicate recurring %s (call %d into %d)",
                      log::quote(request.rsc_id).c_str(), log::quote(request.action).c_str(), call_id,
                      dup->call_id);
            dup->call_id = call_id;
            dup->req.userdata = std::move(request.userdata);
            dup->client_id = std::move(client_id);
            dup->notified = false;
            if (dup->state == Op::State::waiting) {
                dup->interval_timer.reset();
                std::erase(rsc->waiting, dup);
                dup->state = Op::State::queued;
                dup->queued_ms = mono_ms();
                rsc->queue.push_back(dup);
                im.schedule_dispatch(*rsc);
            }
            im.deliver(results);
            return call_id;
        }
    }

    auto owned = std::make_unique<Op>();
    Op& op = *owned;
    op.key = im.next_key++;
    op.call_id = call_id;
    op.req = std::move(request);
    op.client_id = std::move(client_id);
    op.queued_ms = mono_ms();
    if (op.req.start_delay_ms > 0) {
        op.delay_pending = true;
        std::uint64_t key = op.key;
        op.delay_timer =
            io::add_timeout(im.context, std::chrono::milliseconds(op.req.start_delay_ms), [&im, key]() {
                Op* delayed = im.find_op(key);
                if (delayed == nullptr) return;
                delayed->delay_pending = false;
                if (Resource* r = im.find_resource(delayed->req.rsc_id)) im.schedule_dispatch(*r);
            });
    }
    rsc->queue.push_back(&op);
    im.ops.emplace(op.key, std::move(owned));
    im.schedule_dispatch(*rsc);
    im.deliver(results);
    return call_id;
}

int Executor::cancel(std::string_view rsc_id, std::string_view action, std::uint32_t interval_ms)
{
    Impl& im = *impl_;
    Resource* rsc = im.find_resource(rsc_id);
    if (rsc == nullptr) return rc::no_device;
    Op* target = nullptr;
    for (Op* op : rsc->queue) {
        if (target == nullptr && op->matches(action, interval_ms)) target = op;
    }
    for (Op* op : rsc->waiting) {
        if (target == nullptr && op->matches(action, interval_ms)) target = op;
    }
    if (target == nullptr && rsc->active != nullptr && !rsc->active->cancelled &&
        rsc->active->matches(action, interval_ms)) {
        // A one-shot op that already runs cannot be cancelled (docs/protocol.md 5.4).
        if (!rsc->active->recurring()) return rc::not_supported;
        target = rsc->active;
    }
    if (target == nullptr) return rc::not_supported;
    std::vector<OpResult> results;
    im.cancel_op(*target, false, results);
    im.deliver(results);
    return rc::ok;
}

std::optional<std::vector<wire::RecurringList>> Executor::recurring(std::string_view rsc_id) const
{
    const Impl& im = *impl_;
    auto describe = [](const Resource& rsc) {
        wire::RecurringList entry;
        entry.rsc_id = rsc.def.id;
        std::vector<const Op*> list;
        for (const Op* op : rsc.queue) {
            if (op->recurring()) list.push_back(op);
        }
        if (rsc.active != nullptr && rsc.active->recurring() && !rsc.active->cancelled)
            list.push_back(rsc.active);
        for (const Op* op : rsc.waiting)
            list.push_back(op);
        std::sort(list.begin(), list.end(), [](const Op* a, const Op* b) { return a->key < b->key; });
        for (const Op* op : list)
            entry.ops.push_back({op->req.action, op->req.interval_ms, op->req.timeout_ms});
        return entry;
    };
    std::vector<wire::RecurringList> out;
    if (rsc_id.empty()) {
        for (const auto& [id, rsc] : im.resources)
            out.push_back(describe(rsc));
        return out;
    }
    auto it = im.resources.find(rsc_id);
    if (it == im.resources.end()) return std::nullopt;
    out.push_back(describe(it->second));
    return out;
}

void Executor::drop_recurring()
{
    Impl& im = *impl_;
    std::vector<OpResult> results;
    for (auto& [id, rsc] : im.resources) {
        if (callopt::has_drop_recurring(rsc.def.callopts)) im.cancel_recurring(rsc, results);
    }
    im.deliver(results);
}

void Executor::run_alert(wire::AlertRequest request)
{
    impl_->alerts.run(std::move(request));
}

void Executor::drain_alerts(std::function<void()> done)
{
    impl_->alerts.drain(std::move(done));
}

std::size_t Executor::resource_count() const
{
    return impl_->resources.size();
}

std::size_t Executor::queued_count() const
{
    std::size_t n = 0;
    for (const auto& [key, op] : impl_->ops) {
        if (op->state == Op::State::queued) ++n;
    }
    return n;
}

std::size_t Executor::running_count() const
{
    std::size_t n = 0;
    for (const auto& [key, op] : impl_->ops) {
        if (op->state == Op::State::running && op->runner != Op::Runner::none) ++n;
    }
    return n;
}

}  // namespace outpost::agent::executor
