#include "connection/connection_machine.hpp"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <utility>

#include "util/log.hpp"

namespace outpost::cluster::connection {

namespace {

const log::Category log_cat{"cluster.conn.machine"};

using wire::ExecStatus;
namespace ocf = wire::ocf;

Effect make(Effect::Kind kind)
{
    Effect effect;
    effect.kind = kind;
    return effect;
}

Effect arm(Timer timer, Millis delay)
{
    Effect effect = make(Effect::Kind::arm_timer);
    effect.timer = timer;
    effect.timeout = delay;
    return effect;
}

Effect disarm(Timer timer)
{
    Effect effect = make(Effect::Kind::cancel_timer);
    effect.timer = timer;
    return effect;
}

Effect report(RaAction action, int rc, ExecStatus status, std::string reason = {},
              Millis interval = Millis{0})
{
    Effect effect = make(Effect::Kind::result);
    effect.result = RaResult{action, rc, status, std::move(reason), interval};
    return effect;
}

Effect disconnect(std::string reason)
{
    Effect effect = make(Effect::Kind::disconnect);
    effect.reason = std::move(reason);
    return effect;
}

Millis remaining(Clock::time_point now, Clock::time_point deadline)
{
    if (now >= deadline) return Millis{0};
    return std::chrono::duration_cast<Millis>(deadline - now);
}

void append(Effects& to, Effects more)
{
    for (auto& effect : more)
        to.push_back(std::move(effect));
}

}  // namespace

const char* ra_action_name(RaAction action)
{
    switch (action) {
        case RaAction::start:
            return "start";
        case RaAction::stop:
            return "stop";
        case RaAction::monitor:
            return "monitor";
        case RaAction::migrate_to:
            return "migrate_to";
        case RaAction::migrate_from:
            return "migrate_from";
        case RaAction::reload:
            return "reload";
    }
    return "unknown";
}

const char* timer_name(Timer timer)
{
    switch (timer) {
        case Timer::start_retry:
            return "start-retry";
        case Timer::start_deadline:
            return "start-deadline";
        case Timer::monitor_timeout:
            return "monitor-timeout";
        case Timer::monitor_interval:
            return "monitor-interval";
        case Timer::takeover_wait:
            return "takeover-wait";
    }
    return "unknown";
}

// ---- operations -------------------------------------------------------------------------

std::optional<Clock::time_point> RemoteConnectionMachine::reconnect_allowed_at() const
{
    if (!failed_at_ || reconnect_interval_ <= Millis{0}) return std::nullopt;
    return *failed_at_ + reconnect_interval_;
}

Effects RemoteConnectionMachine::start(Clock::time_point now, Millis timeout, RaAction as)
{
    if (state_ == State::started && connected_) return {report(as, ocf::ok, ExecStatus::done)};
    if (state_ == State::starting || state_ == State::stopping) {
        return {report(as, ocf::unknown_error, ExecStatus::error, kReasonInProgress)};
    }
    if (auto allowed = reconnect_allowed_at(); enforce_reconnect_interval_ && allowed && now < *allowed) {
        auto left = std::chrono::duration_cast<Millis>(*allowed - now);
        return {report(as, ocf::unknown_error, ExecStatus::error,
                       "reconnect_interval (" + std::to_string(reconnect_interval_.count()) +
                           " ms) since the connection failed has not passed: next start allowed in " +
                           std::to_string(left.count()) + " ms")};
    }
    state_ = State::starting;
    start_action_ = as;
    start_deadline_ = now + timeout;
    retry_delay_ = kStartRetryFirstDelay;
    expect_takeover_ = false;
    takeover_complete_ = false;
    Effects effects{arm(Timer::start_deadline, timeout)};
    append(effects, begin_attempt(now));
    return effects;
}

Effects RemoteConnectionMachine::begin_attempt(Clock::time_point now)
{
    Millis left = remaining(now, start_deadline_);
    Effect connect = make(Effect::Kind::connect);
    connect.timeout = std::min(left, kMaxConnectAttempt);
    connecting_ = true;
    return {connect};
}

Effects RemoteConnectionMachine::stop(Clock::time_point now, Millis timeout)
{
    (void)now;
    if (state_ == State::stopping)
        return {report(RaAction::stop, ocf::unknown_error, ExecStatus::error, kReasonInProgress)};
    // Nothing may outlive the stop: a monitor timer firing later would fail a monitor that
    // no longer exists, and drop whatever connection a new start made meanwhile.
    Effects effects = end_monitors(ExecStatus::cancelled, kReasonCancelledByStop, ExecStatus::cancelled,
                                   kReasonCancelledByStop);
    if (state_ == State::starting) {
        // A stop overrides a start still trying: the start reports failure first.
        if (connecting_) effects.push_back(make(Effect::Kind::cancel_connect));
        connecting_ = false;
        effects.push_back(disarm(Timer::start_retry));
        effects.push_back(disarm(Timer::start_deadline));
        effects.push_back(report(start_action_, ocf::unknown_error, ExecStatus::cancelled,
                                 "Connection start cancelled by stop"));
        state_ = State::stopped;
    }
    if (expect_takeover_ && !takeover_complete_ && connected_) {
        // migrate_to announced that the target will take over: give it half the stop
        // timeout before closing, so the remote node is not marked down in between.
        state_ = State::stopping;
        effects.push_back(arm(Timer::takeover_wait, timeout / 2));
        return effects;
    }
    append(effects, finish_stop());
    return effects;
}

Effects RemoteConnectionMachine::finish_stop()
{
    Effects effects;
    if (connected_) effects.push_back(disconnect("stop"));
    connected_ = false;
    bool taken_over = takeover_complete_;
    state_ = State::stopped;
    expect_takeover_ = false;
    takeover_complete_ = false;
    effects.push_back(disarm(Timer::takeover_wait));
    if (!taken_over) effects.push_back(make(Effect::Kind::node_down));
    effects.push_back(report(RaAction::stop, ocf::ok, ExecStatus::done));
    return effects;
}

Effects RemoteConnectionMachine::send_poke(Millis timeout)
{
    if (poke_in_flight_) return {};  // the poke in flight answers every monitor waiting
    poke_in_flight_ = true;
    return {make(Effect::Kind::poke), arm(Timer::monitor_timeout, timeout)};
}

Effects RemoteConnectionMachine::monitor(Clock::time_point now, Millis timeout, Millis interval)
{
    (void)now;
    if (!connected_ || state_ != State::started) {
        return {report(RaAction::monitor, ocf::not_running, ExecStatus::done, kReasonInactive, interval)};
    }
    Effects effects;
    if (interval > Millis{0}) {
        // One recurring monitor at a time: a new one replaces it.
        effects = cancel_recurring();
        recurring_interval_ = interval;
        recurring_timeout_ = timeout;
        recurring_reported_success_ = false;
        recurring_in_flight_ = true;
    } else {
        ++oneshot_waiting_;
    }
    append(effects, send_poke(timeout));
    return effects;
}

Effects RemoteConnectionMachine::cancel_recurring()
{
    Effects effects;
    if (recurring_interval_ <= Millis{0}) return effects;
    Millis interval = recurring_interval_;
    recurring_interval_ = Millis{0};
    recurring_in_flight_ = false;
    effects.push_back(disarm(Timer::monitor_interval));
    if (poke_in_flight_ && oneshot_waiting_ == 0) {
        // Nobody else waits for that poke: forget it (a late notify is then a stray one).
        poke_in_flight_ = false;
        effects.push_back(disarm(Timer::monitor_timeout));
    }
    effects.push_back(report(RaAction::monitor, ocf::ok, ExecStatus::cancelled, {}, interval));
    return effects;
}

Effects RemoteConnectionMachine::cancel_monitor()
{
    return cancel_recurring();
}

Effects RemoteConnectionMachine::end_monitors(ExecStatus status, const std::string& reason,
                                              ExecStatus idle_status, const std::string& idle_reason)
{
    Effects effects;
    const int rc = status == ExecStatus::cancelled ? ocf::ok : ocf::unknown_error;
    const int idle_rc = idle_status == ExecStatus::cancelled ? ocf::ok : ocf::unknown_error;
    if (poke_in_flight_) {
        poke_in_flight_ = false;
        effects.push_back(disarm(Timer::monitor_timeout));
    }
    for (; oneshot_waiting_ > 0; --oneshot_waiting_)
        effects.push_back(report(RaAction::monitor, rc, status, reason));
    if (recurring_interval_ > Millis{0}) {
        Millis interval = recurring_interval_;
        const bool waiting = recurring_in_flight_;
        recurring_interval_ = Millis{0};
        recurring_in_flight_ = false;
        effects.push_back(disarm(Timer::monitor_interval));
        effects.push_back(waiting ? report(RaAction::monitor, rc, status, reason, interval)
                                  : report(RaAction::monitor, idle_rc, idle_status, idle_reason, interval));
    }
    return effects;
}

Effects RemoteConnectionMachine::migrate_to()
{
    if (state_ == State::stopping) {
        return {report(RaAction::migrate_to, ocf::unknown_error, ExecStatus::error, kReasonInProgress)};
    }
    if (!connected_)
        return {report(RaAction::migrate_to, ocf::unknown_error, ExecStatus::error, kReasonInactive)};
    expect_takeover_ = true;
    takeover_complete_ = false;
    return {report(RaAction::migrate_to, ocf::ok, ExecStatus::done)};
}

Effects RemoteConnectionMachine::reload(std::optional<Millis> reconnect_interval)
{
    // Only reconnect_interval is reloadable, and the scheduler is what uses it.
    if (reconnect_interval) reconnect_interval_ = *reconnect_interval;
    return {report(RaAction::reload, ocf::ok, ExecStatus::done)};
}

// ---- connection events ------------------------------------------------------------------

Effects RemoteConnectionMachine::connect_succeeded(Clock::time_point now)
{
    if (state_ != State::starting || !connecting_) {
        // A late success after the start gave up: the adapter must not keep it.
        return {disconnect("connection no longer wanted")};
    }
    connecting_ = false;
    connected_ = true;
    Effects effects{make(Effect::Kind::node_up)};
    append(effects, finish_start(now, RaResult{start_action_, ocf::ok, ExecStatus::done, {}}));
    return effects;
}

Effects RemoteConnectionMachine::connect_failed(Clock::time_point now, const Error& error)
{
    if (state_ != State::starting || !connecting_) return {};
    connecting_ = false;
    const bool handshake = io::failed_phase(error) == io::ConnectPhase::handshake;
    if (error.code == -ENOKEY || error.code == -EKEYREJECTED || handshake) {
        // A key or TLS problem does not go away by retrying: hard failure, no retry. 2.1.5
        // reports every handshake failure, its timeout included, as -EKEYREJECTED.
        return finish_start(now,
                            RaResult{start_action_, ocf::invalid_param, ExecStatus::error, error.message});
    }
    if (remaining(now, start_deadline_) > kStartRetryMinRemaining) {
        const Millis delay = retry_delay_;
        retry_delay_ = std::min(retry_delay_ * 2, kStartRetryDelay);
        log_debug(log_cat, "connect failed (%s), retrying in %lld ms", error.message.c_str(),
                  static_cast<long long>(delay.count()));
        return {arm(Timer::start_retry, delay)};
    }
    return finish_start(now, RaResult{start_action_, ocf::unknown_error, ExecStatus::timeout, error.message});
}

Effects RemoteConnectionMachine::finish_start(Clock::time_point now, RaResult result)
{
    Effects effects{disarm(Timer::start_retry), disarm(Timer::start_deadline)};
    const bool ok = result.rc == ocf::ok;
    state_ = ok ? State::started : State::stopped;
    if (ok) {
        failed_at_.reset();
    } else {
        failed_at_ = now;
    }
    effects.push_back(report(result.action, result.rc, result.status, std::move(result.exit_reason)));
    return effects;
}

Effects RemoteConnectionMachine::poke_answered(Clock::time_point now)
{
    (void)now;
    if (!poke_in_flight_) return {};
    poke_in_flight_ = false;
    Effects effects{disarm(Timer::monitor_timeout)};
    for (; oneshot_waiting_ > 0; --oneshot_waiting_)
        effects.push_back(report(RaAction::monitor, ocf::ok, ExecStatus::done));
    if (recurring_in_flight_) {
        recurring_in_flight_ = false;
        effects.push_back(arm(Timer::monitor_interval, recurring_interval_));
        if (!recurring_reported_success_) {
            recurring_reported_success_ = true;
            effects.push_back(report(RaAction::monitor, ocf::ok, ExecStatus::done, {}, recurring_interval_));
        }
    }
    return effects;
}

Effects RemoteConnectionMachine::drop(Clock::time_point now, std::string reason, Effects effects)
{
    if (connected_) effects.push_back(disconnect(std::move(reason)));
    connected_ = false;
    if (state_ == State::started) state_ = State::stopped;
    failed_at_ = now;
    return effects;
}

Effects RemoteConnectionMachine::connection_lost(Clock::time_point now, const Error& reason)
{
    if (!connected_) return {};
    connected_ = false;
    if (state_ == State::stopping) {
        // Closed while we waited for a takeover: the stop is done.
        return finish_stop();
    }
    log_debug(log_cat, "connection lost: %s", reason.message.c_str());
    if (state_ == State::started) state_ = State::stopped;
    failed_at_ = now;
    return end_monitors(ExecStatus::error, kReasonDroppedDuringMonitor, ExecStatus::error, kReasonLost);
}

Effects RemoteConnectionMachine::new_client(Clock::time_point now)
{
    if (!connected_) return {};
    if (expect_takeover_) {
        takeover_complete_ = true;
        if (state_ == State::stopping) {
            // The stop was only waiting for this.
            return finish_stop();
        }
        return {};
    }
    // Two clusters (or two nodes) must not share one remote daemon.
    return drop(now, "unexpected client takeover",
                end_monitors(ExecStatus::error, kReasonLost, ExecStatus::error, kReasonLost));
}

Effects RemoteConnectionMachine::timer_fired(Clock::time_point now, Timer timer)
{
    switch (timer) {
        case Timer::start_retry:
            if (state_ != State::starting || connecting_) return {};
            return begin_attempt(now);
        case Timer::start_deadline: {
            if (state_ != State::starting) return {};
            Effects effects;
            if (connecting_) effects.push_back(make(Effect::Kind::cancel_connect));
            connecting_ = false;
            append(effects,
                   finish_start(now, RaResult{start_action_, ocf::unknown_error, ExecStatus::timeout,
                                              "Remote connection did not start within the timeout"}));
            return effects;
        }
        case Timer::monitor_timeout:
            if (!poke_in_flight_) return {};
            return drop(now, kReasonNoResponse,
                        end_monitors(ExecStatus::timeout, kReasonNoResponse, ExecStatus::error, kReasonLost));
        case Timer::monitor_interval:
            if (recurring_interval_ <= Millis{0} || !connected_ || state_ != State::started ||
                recurring_in_flight_) {
                return {};
            }
            recurring_in_flight_ = true;
            return send_poke(recurring_timeout_);
        case Timer::takeover_wait:
            if (state_ != State::stopping) return {};
            return finish_stop();
    }
    return {};
}

}  // namespace outpost::cluster::connection
