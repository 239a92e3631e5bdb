// RemoteConnectionMachine: the ocf:pacemaker:remote connection resource (docs/protocol.md 6)
// as a pure state machine. Events in (an operation requested, the connection's news, a timer),
// each stamped with the current time; Effects out, which RemoteConnection
// (remote_connection.hpp) performs. It owns no sockets and no timers, so every transition
// listed above the class is a unit test (tests/unit/cluster/test_connection_machine.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "io/connection.hpp"
#include "util/result.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::connection {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The controller's start retry rules (docs/protocol.md 6): each attempt gets at most io's
// per-address connect timeout (10 s). 2.1.5 waits 1 s before every retry; here the first
// wait is 100 ms, doubling up to that 1 s: a container's start returns as soon as its
// daemon runs, often before the daemon listens, and a refused connect costs nothing, while
// a fixed 1 s made every such guest a second late (docs/benchmarks.md, issue 12).
inline constexpr Millis kStartRetryFirstDelay{100};
inline constexpr Millis kStartRetryDelay{1000};  // the longest wait
inline constexpr Millis kStartRetryMinRemaining{3000};
inline constexpr Millis kMaxConnectAttempt = io::kDefaultConnectTimeout;

inline constexpr const char* kReasonInactive = "Remote connection inactive";
inline constexpr const char* kReasonInProgress = "Another connection operation is in progress";
inline constexpr const char* kReasonNoResponse = "Remote executor did not respond";
inline constexpr const char* kReasonDroppedDuringMonitor =
    "Remote connection unexpectedly dropped during monitor";
inline constexpr const char* kReasonLost = "Lost connection to remote executor";
inline constexpr const char* kReasonCancelledByStop = "Cancelled by stop";

enum class RaAction { start, stop, monitor, migrate_to, migrate_from, reload };
const char* ra_action_name(RaAction action);

struct RaResult {
    RaAction action = RaAction::start;
    int rc = wire::ocf::ok;
    wire::ExecStatus status = wire::ExecStatus::done;
    std::string exit_reason;
    Millis interval{0};  // monitor: the interval of the monitor answered (0 = one-shot)
    bool operator==(const RaResult&) const = default;
};

enum class Timer { start_retry, start_deadline, monitor_timeout, monitor_interval, takeover_wait };
const char* timer_name(Timer timer);

struct Effect {
    enum class Kind {
        connect,  // start one connect+register attempt with `timeout`
        cancel_connect,
        disconnect,    // close the connection; `reason` for the log
        poke,          // send lrmd_rsc_poke (reply not awaited)
        arm_timer,     // (re)arm `timer` to fire after `timeout`
        cancel_timer,  // disarm `timer`
        result,        // report `result` to the host
        node_up,       // the remote node joined: purge its history, mark it member
        node_down,     // the remote node left (stop without takeover)
    };
    Kind kind = Kind::result;
    Millis timeout{0};
    Timer timer = Timer::start_retry;
    RaResult result;
    std::string reason;
    bool operator==(const Effect&) const = default;
};
using Effects = std::vector<Effect>;

// Every operation the host requests gets exactly one result, except a recurring monitor:
// its first success, then each failure (which ends it) or its cancellation. Monitors share
// one poke: a monitor requested while a poke is in flight waits for that poke and its
// timeout. RaResult::interval tells a recurring monitor's results from a one-shot's.
//
// Transitions, the 2.1.5 controller's rules (docs/protocol.md 6). State: stopped, starting,
// started, stopping; "connected" only in started and stopping. Anything not listed changes
// nothing and has no effect. "TLS handshake phase" is any failed handshake: a rejected key
// or certificate, the peer closing, the handshake timeout (2.1.5 reports each as -EKEYREJECTED).
//
//   state     event                          effects -> next state
//   stopped   start / migrate_from           arm start_deadline, connect(min(left, 10 s)) -> starting
//             start before reconnect_allowed_at(), enforcement on
//                                            result rc 1 status 4 -> stopped
//             stop                           node_down, result ok -> stopped
//             monitor                        result rc 7 "Remote connection inactive"
//             migrate_to                     result rc 1 status 4 "Remote connection inactive"
//             reload                         result ok (reconnect_interval updated)
//             connect_succeeded (late)       disconnect
//   starting  start / migrate_from / migrate_to
//                                            result rc 1 status 4 (operation in progress)
//             stop                           cancel_connect, start result rc 1 status 1,
//                                            node_down, stop result ok -> stopped
//             monitor                        result rc 7
//             connect_succeeded              node_up, start result ok -> started
//             connect_failed, ENOKEY or TLS handshake phase
//                                            start result rc 2 status 4 -> stopped
//             connect_failed, other, > 3 s left
//                                            arm start_retry(100 ms, doubling on each
//                                            failure of this start up to 1 s)
//             connect_failed, other, <= 3 s left
//                                            start result rc 1 status 2 -> stopped
//             timer start_retry              connect(min(left, 10 s))
//             timer start_deadline           cancel_connect, start result rc 1 status 2 -> stopped
//             new_client, connection_lost    nothing (not connected yet)
//   started   start                          result ok
//             stop                           monitors end (waiting one-shots and the recurring
//                                            one reported cancelled), disconnect, node_down,
//                                            result ok -> stopped
//             stop, takeover expected and not complete
//                                            monitors end, arm takeover_wait(timeout/2) -> stopping
//             monitor (no poke in flight)    poke, arm monitor_timeout(timeout)
//             monitor (poke in flight)       waits for that poke
//             monitor with interval          (replaces a recurring one: reported cancelled) as above
//             cancel_monitor                 recurring one reported cancelled, disarm monitor_interval
//             migrate_to                     expect takeover, result ok
//             poke_answered                  disarm monitor_timeout, each waiting one-shot ok,
//                                            recurring: first success reported, arm monitor_interval
//             timer monitor_interval         poke, arm monitor_timeout (recurring run)
//             timer monitor_timeout          waiting monitors rc 1 status 2 "Remote executor did
//                                            not respond" (recurring ends), disconnect -> stopped
//             connection_lost                waiting monitors rc 1 status 4 "Remote connection
//                                            unexpectedly dropped during monitor", an idle
//                                            recurring one "Lost connection to remote executor"
//                                            -> stopped
//             new_client, takeover expected  takeover complete (node stays up)
//             new_client, unexpected         monitors fail "Lost connection to remote
//                                            executor", disconnect -> stopped
//   stopping  start / stop / migrate_to      result rc 1 status 4 (operation in progress)
//             monitor                        result rc 7
//             new_client                     takeover complete: disconnect, stop result ok (no
//                                            node_down) -> stopped
//             connection_lost                stop result ok (no node_down) -> stopped
//             timer takeover_wait            disconnect, node_down, stop result ok -> stopped
//
// A timer that fires in a state where it is not armed (stale) changes nothing.
class RemoteConnectionMachine {
public:
    enum class State { stopped, starting, started, stopping };

    // Operations requested by the host.
    Effects start(Clock::time_point now, Millis timeout, RaAction as = RaAction::start);
    Effects stop(Clock::time_point now, Millis timeout);
    // interval 0 = one-shot (probe); > 0 = recurring (first success, then failures only).
    Effects monitor(Clock::time_point now, Millis timeout, Millis interval = Millis{0});
    Effects cancel_monitor();
    Effects migrate_to();
    Effects migrate_from(Clock::time_point now, Millis timeout)
    {
        return start(now, timeout, RaAction::migrate_from);
    }
    Effects reload(std::optional<Millis> reconnect_interval);

    // What happened on the connection.
    Effects connect_succeeded(Clock::time_point now);
    Effects connect_failed(Clock::time_point now, const Error& error);
    Effects poke_answered(Clock::time_point now);
    Effects connection_lost(Clock::time_point now, const Error& reason);
    Effects new_client(Clock::time_point now);
    Effects timer_fired(Clock::time_point now, Timer timer);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] bool connected() const { return connected_; }
    [[nodiscard]] bool expecting_takeover() const { return expect_takeover_; }
    [[nodiscard]] bool takeover_complete() const { return takeover_complete_; }
    // A poke is in flight (some monitor waits for its notify).
    [[nodiscard]] bool monitor_pending() const { return poke_in_flight_; }
    [[nodiscard]] unsigned oneshot_monitors_waiting() const { return oneshot_waiting_; }
    [[nodiscard]] bool recurring_monitor_active() const { return recurring_interval_ > Millis{0}; }
    // reconnect_interval (docs/protocol.md 6) is the scheduler's, not the connection
    // resource's: after a failure it keeps the resource stopped for that long (its
    // failure-timeout). The machine only records the failure (failed_at()) and offers
    // reconnect_allowed_at() for a policy face to schedule the next start; with enforcement
    // on, a start before that time fails at once (rc 1, status 4, the time left as reason).
    [[nodiscard]] Millis reconnect_interval() const { return reconnect_interval_; }
    void set_reconnect_interval(Millis interval) { reconnect_interval_ = interval; }
    // When the connection was last lost (dropped, monitor timeout, unexpected takeover) or
    // its start failed; nullopt if never or if a start succeeded since.
    [[nodiscard]] std::optional<Clock::time_point> failed_at() const { return failed_at_; }
    // failed_at() + reconnect_interval(): the earliest time a policy should start the
    // connection again; nullopt when nothing holds a start back (no failure recorded, or
    // reconnect_interval 0).
    [[nodiscard]] std::optional<Clock::time_point> reconnect_allowed_at() const;
    // Off by default (Pacemaker's connection resource does not enforce it either).
    void set_enforce_reconnect_interval(bool on) { enforce_reconnect_interval_ = on; }
    [[nodiscard]] bool enforces_reconnect_interval() const { return enforce_reconnect_interval_; }

private:
    Effects begin_attempt(Clock::time_point now);
    Effects finish_start(Clock::time_point now, RaResult result);
    Effects finish_stop();
    Effects send_poke(Millis timeout);
    // Ends every monitor and forgets the poke in flight: the waiting one-shots and a
    // recurring run waiting on the poke are reported with `status`/`reason`, a recurring
    // monitor between runs with `idle_status`/`idle_reason`. rc is 0 (ok) for a cancelled
    // status, 1 otherwise.
    Effects end_monitors(wire::ExecStatus status, const std::string& reason, wire::ExecStatus idle_status,
                         const std::string& idle_reason);
    Effects cancel_recurring();
    Effects drop(Clock::time_point now, std::string reason, Effects effects);

    State state_ = State::stopped;
    bool connected_ = false;
    RaAction start_action_ = RaAction::start;
    Clock::time_point start_deadline_{};
    bool connecting_ = false;
    Millis retry_delay_ = kStartRetryFirstDelay;  // the next start_retry's wait

    bool poke_in_flight_ = false;
    unsigned oneshot_waiting_ = 0;
    Millis recurring_interval_{0};
    Millis recurring_timeout_{0};
    bool recurring_in_flight_ = false;  // the recurring monitor's run waits for the poke
    bool recurring_reported_success_ = false;

    bool expect_takeover_ = false;
    bool takeover_complete_ = false;
    Millis reconnect_interval_{0};
    bool enforce_reconnect_interval_ = false;
    std::optional<Clock::time_point> failed_at_;
};

}  // namespace outpost::cluster::connection
