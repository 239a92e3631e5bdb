// Every transition of the ocf:pacemaker:remote state machine (docs/protocol.md 6), driven by
// events with explicit times: no sockets, no timers, just effects to check. One TEST_CASE
// per row of the transition table in connection/remote_connection.hpp, named
// "<state>: <event> ..." in the table's order.
#include <catch.hpp>

#include <cerrno>

#include "connection/connection_machine.hpp"
#include "io/connection.hpp"

using namespace outpost;
using namespace outpost::cluster::connection;
using namespace std::chrono_literals;
using Kind = Effect::Kind;
using State = RemoteConnectionMachine::State;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000s;

const Effect* find(const Effects& effects, Kind kind)
{
    for (const auto& effect : effects) {
        if (effect.kind == kind) return &effect;
    }
    return nullptr;
}

bool has(const Effects& effects, Kind kind)
{
    return find(effects, kind) != nullptr;
}

bool arms(const Effects& effects, Timer timer, Millis delay)
{
    for (const auto& effect : effects) {
        if (effect.kind == Kind::arm_timer && effect.timer == timer && effect.timeout == delay) return true;
    }
    return false;
}

bool arms_any(const Effects& effects)
{
    return has(effects, Kind::arm_timer);
}

bool disarms(const Effects& effects, Timer timer)
{
    for (const auto& effect : effects) {
        if (effect.kind == Kind::cancel_timer && effect.timer == timer) return true;
    }
    return false;
}

std::vector<RaResult> results_of(const Effects& effects)
{
    std::vector<RaResult> results;
    for (const auto& effect : effects) {
        if (effect.kind == Kind::result) results.push_back(effect.result);
    }
    return results;
}

RaResult result_of(const Effects& effects)
{
    auto results = results_of(effects);
    REQUIRE(results.size() == 1);
    return results[0];
}

Error err(int code)
{
    return make_error("test", code, "failure " + std::to_string(code));
}

// An error as io reports it from a given phase of connect_async().
Error io_err(io::ConnectPhase phase, int code)
{
    return make_error(io::phase_domain(phase), code, "io failure " + std::to_string(code));
}

RemoteConnectionMachine started_machine()
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.connect_succeeded(t0 + 100ms);
    REQUIRE(result_of(effects).rc == wire::ocf::ok);
    REQUIRE(m.state() == State::started);
    return m;
}

// Started, with migrate_to done and a stop waiting for the takeover.
RemoteConnectionMachine stopping_machine()
{
    auto m = started_machine();
    (void)m.migrate_to();
    auto effects = m.stop(t0 + 2s, 20s);
    REQUIRE(m.state() == State::stopping);
    REQUIRE(results_of(effects).empty());
    return m;
}

}  // namespace

// ---- stopped ----------------------------------------------------------------------------

TEST_CASE("stopped: start connects with a per-attempt timeout of min(remaining, 10 s)")
{
    RemoteConnectionMachine m;
    auto effects = m.start(t0, 60s);
    const Effect* connect = find(effects, Kind::connect);
    REQUIRE(connect != nullptr);
    CHECK(connect->timeout == 10s);
    CHECK(kMaxConnectAttempt == io::kDefaultConnectTimeout);
    CHECK(arms(effects, Timer::start_deadline, 60s));
    CHECK(m.state() == State::starting);
    CHECK_FALSE(has(effects, Kind::result));

    RemoteConnectionMachine short_timeout;
    effects = short_timeout.start(t0, 4s);
    REQUIRE(find(effects, Kind::connect) != nullptr);
    CHECK(find(effects, Kind::connect)->timeout == 4s);
}

TEST_CASE("stopped: migrate_from is a start")
{
    RemoteConnectionMachine m;
    auto effects = m.migrate_from(t0, 20s);
    CHECK(has(effects, Kind::connect));
    CHECK(m.state() == State::starting);
    effects = m.connect_succeeded(t0 + 1s);
    CHECK(result_of(effects).action == RaAction::migrate_from);
    CHECK(result_of(effects).rc == wire::ocf::ok);
}

TEST_CASE("stopped: start before reconnect_allowed_at() is refused only with enforcement on")
{
    auto failed = [] {
        auto m = started_machine();
        m.set_reconnect_interval(30s);
        (void)m.connection_lost(t0 + 5s, err(-ECONNRESET));
        REQUIRE(m.failed_at() == t0 + 5s);
        REQUIRE(m.reconnect_allowed_at() == t0 + 35s);
        return m;
    };
    SECTION("not enforced (the default, as in Pacemaker): the start connects")
    {
        auto m = failed();
        CHECK_FALSE(m.enforces_reconnect_interval());
        auto effects = m.start(t0 + 6s, 20s);
        CHECK(has(effects, Kind::connect));
        CHECK(m.state() == State::starting);
    }
    SECTION("enforced, too early: rc 1 status 4 with the time left, nothing else")
    {
        auto m = failed();
        m.set_enforce_reconnect_interval(true);
        auto effects = m.start(t0 + 6s, 20s);
        auto result = result_of(effects);
        CHECK(result.action == RaAction::start);
        CHECK(result.rc == wire::ocf::unknown_error);
        CHECK(result.status == wire::ExecStatus::error);
        CHECK(result.exit_reason.find("reconnect_interval") != std::string::npos);
        CHECK(result.exit_reason.find("29000 ms") != std::string::npos);
        CHECK_FALSE(has(effects, Kind::connect));
        CHECK_FALSE(arms_any(effects));
        CHECK(m.state() == State::stopped);
        CHECK(m.failed_at() == t0 + 5s);  // a refused start is not a new failure
        CHECK(result_of(m.migrate_from(t0 + 6s, 20s)).rc == wire::ocf::unknown_error);
    }
    SECTION("enforced, once the interval passed: the start connects")
    {
        auto m = failed();
        m.set_enforce_reconnect_interval(true);
        auto effects = m.start(t0 + 35s, 20s);
        CHECK(has(effects, Kind::connect));
    }
}

TEST_CASE("stopped: stop marks the node down and succeeds")
{
    RemoteConnectionMachine m;
    auto effects = m.stop(t0, 20s);
    CHECK_FALSE(has(effects, Kind::disconnect));
    CHECK(has(effects, Kind::node_down));
    CHECK(result_of(effects) == RaResult{RaAction::stop, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.state() == State::stopped);
}

TEST_CASE("stopped: monitor answers rc 7 Remote connection inactive")
{
    RemoteConnectionMachine m;
    auto effects = m.monitor(t0, 20s);
    auto result = result_of(effects);
    CHECK(result.rc == wire::ocf::not_running);
    CHECK(result.exit_reason == "Remote connection inactive");
    CHECK_FALSE(has(effects, Kind::poke));
    // A recurring one too (the probe of a stopped connection), with its interval.
    result = result_of(m.monitor(t0, 20s, 30s));
    CHECK(result.rc == wire::ocf::not_running);
    CHECK(result.interval == 30s);
    CHECK_FALSE(m.recurring_monitor_active());
}

TEST_CASE("stopped: migrate_to fails (Remote connection inactive)")
{
    RemoteConnectionMachine m;
    auto result = result_of(m.migrate_to());
    CHECK(result.rc == wire::ocf::unknown_error);
    CHECK(result.status == wire::ExecStatus::error);
    CHECK(result.exit_reason == "Remote connection inactive");
    CHECK_FALSE(m.expecting_takeover());
}

TEST_CASE("stopped: reload is a no-op success that may update reconnect_interval")
{
    RemoteConnectionMachine m;
    auto effects = m.reload(std::nullopt);
    CHECK(result_of(effects) == RaResult{RaAction::reload, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.reconnect_interval() == 0ms);
    (void)m.reload(Millis{30000});
    CHECK(m.reconnect_interval() == 30s);
    CHECK(m.state() == State::stopped);
    // Reloading a started connection leaves it alone.
    auto started = started_machine();
    effects = started.reload(Millis{5000});
    CHECK(result_of(effects).rc == wire::ocf::ok);
    CHECK_FALSE(has(effects, Kind::disconnect));
    CHECK(started.connected());
}

TEST_CASE("stopped: a late connect success is disconnected")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 5s);
    (void)m.timer_fired(t0 + 5s, Timer::start_deadline);
    auto effects = m.connect_succeeded(t0 + 6s);
    CHECK(has(effects, Kind::disconnect));
    CHECK_FALSE(has(effects, Kind::result));
    CHECK_FALSE(has(effects, Kind::node_up));
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.connected());
}

TEST_CASE("stopped: events and stale timers change nothing")
{
    RemoteConnectionMachine m;
    CHECK(m.timer_fired(t0, Timer::start_retry).empty());
    CHECK(m.timer_fired(t0, Timer::start_deadline).empty());
    CHECK(m.timer_fired(t0, Timer::monitor_timeout).empty());
    CHECK(m.timer_fired(t0, Timer::monitor_interval).empty());
    CHECK(m.timer_fired(t0, Timer::takeover_wait).empty());
    CHECK(m.connect_failed(t0, err(-ECONNREFUSED)).empty());
    CHECK(m.poke_answered(t0).empty());
    CHECK(m.connection_lost(t0, err(-ECONNRESET)).empty());
    CHECK(m.new_client(t0).empty());
    CHECK(m.cancel_monitor().empty());
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.failed_at().has_value());
}

// ---- starting ---------------------------------------------------------------------------

TEST_CASE("starting: start, migrate_from and migrate_to are refused while the start runs")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    for (const auto& effects : {m.start(t0 + 10ms, 20s), m.migrate_from(t0 + 10ms, 20s)}) {
        auto result = result_of(effects);
        CHECK(result.rc == wire::ocf::unknown_error);
        CHECK(result.status == wire::ExecStatus::error);
        CHECK(result.exit_reason == kReasonInProgress);
        CHECK_FALSE(has(effects, Kind::connect));
    }
    auto result = result_of(m.migrate_to());
    CHECK(result.action == RaAction::migrate_to);
    CHECK(result.rc == wire::ocf::unknown_error);
    CHECK_FALSE(m.expecting_takeover());
    CHECK(m.state() == State::starting);
    // The start itself goes on.
    CHECK(result_of(m.connect_succeeded(t0 + 1s)).action == RaAction::start);
}

TEST_CASE("starting: stop cancels the start, which reports first")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.stop(t0 + 20ms, 20s);
    CHECK(has(effects, Kind::cancel_connect));
    CHECK(disarms(effects, Timer::start_retry));
    CHECK(disarms(effects, Timer::start_deadline));
    auto results = results_of(effects);
    REQUIRE(results.size() == 2);
    CHECK(results[0] == RaResult{RaAction::start, wire::ocf::unknown_error, wire::ExecStatus::cancelled,
                                 "Connection start cancelled by stop"});
    CHECK(results[1] == RaResult{RaAction::stop, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(has(effects, Kind::node_down));
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.failed_at().has_value());  // cancelled, not failed
    // The cancelled attempt's late events are nothing to us.
    CHECK(m.connect_failed(t0 + 1s, err(-ECONNREFUSED)).empty());
    CHECK(m.timer_fired(t0 + 1s, Timer::start_retry).empty());
}

TEST_CASE("starting: monitor answers rc 7 (not connected yet)")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.monitor(t0 + 10ms, 5s);
    CHECK(result_of(effects).rc == wire::ocf::not_running);
    CHECK_FALSE(has(effects, Kind::poke));
    CHECK(m.state() == State::starting);
}

TEST_CASE("starting: connect success is a started node (node up, rc 0)")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.connect_succeeded(t0 + 50ms);
    CHECK(has(effects, Kind::node_up));
    CHECK(disarms(effects, Timer::start_deadline));
    CHECK(result_of(effects) == RaResult{RaAction::start, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.state() == State::started);
    CHECK(m.connected());
}

TEST_CASE("starting: ENOKEY, EKEYREJECTED and any TLS handshake failure are hard errors (rc 2, status 4)")
{
    std::vector<Error> hard = {
        err(-ENOKEY), err(-EKEYREJECTED), io_err(io::ConnectPhase::handshake, -EKEYREJECTED),
        // The handshake timeout: 2.1.5 reports it as -EKEYREJECTED too (docs/protocol.md 1.3).
        io_err(io::ConnectPhase::handshake, -ETIMEDOUT),
        io_err(io::ConnectPhase::handshake, -ENOTCONN),  // peer closed during the handshake
    };
    for (const auto& error : hard) {
        INFO(error.describe());
        RemoteConnectionMachine m;
        (void)m.start(t0, 60s);
        auto effects = m.connect_failed(t0 + 100ms, error);
        auto result = result_of(effects);
        CHECK(result.rc == wire::ocf::invalid_param);
        CHECK(result.status == wire::ExecStatus::error);
        CHECK(result.exit_reason == error.message);
        CHECK_FALSE(arms_any(effects));
        CHECK(disarms(effects, Timer::start_deadline));
        CHECK(m.state() == State::stopped);
        CHECK(m.failed_at() == t0 + 100ms);
    }
}

TEST_CASE("starting: other connect errors retry while more than 3 s remain, first after 100 ms")
{
    for (const auto& error : {err(-ECONNREFUSED), io_err(io::ConnectPhase::connect, -ETIMEDOUT),
                              io_err(io::ConnectPhase::connect, -EHOSTUNREACH),
                              io_err(io::ConnectPhase::resolve, -EADDRNOTAVAIL)}) {
        INFO(error.describe());
        RemoteConnectionMachine m;
        (void)m.start(t0, 10s);
        auto effects = m.connect_failed(t0 + 1s, error);
        CHECK(arms(effects, Timer::start_retry, 100ms));
        CHECK_FALSE(has(effects, Kind::result));
        CHECK(m.state() == State::starting);
    }
}

TEST_CASE("starting: the retry wait doubles up to 1 s, and starts at 100 ms again on the next start")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 60s);
    auto now = t0;
    for (const Millis expected : {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms}) {
        INFO(expected.count());
        auto effects = m.connect_failed(now, err(-ECONNREFUSED));
        CHECK(arms(effects, Timer::start_retry, expected));
        now += expected;
        REQUIRE(find(m.timer_fired(now, Timer::start_retry), Kind::connect) != nullptr);
    }
    (void)m.stop(now, 10s);
    REQUIRE(m.state() == State::stopped);
    (void)m.start(now, 60s);
    CHECK(arms(m.connect_failed(now, err(-ECONNREFUSED)), Timer::start_retry, 100ms));
}

TEST_CASE("starting: a connect error with 3 s or less left fails the start (rc 1, status 2)")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 10s);
    (void)m.connect_failed(t0 + 1s, err(-ECONNREFUSED));
    (void)m.timer_fired(t0 + 2s, Timer::start_retry);
    // At 7.5 s only 2.5 s remain: no more retries.
    auto effects = m.connect_failed(t0 + 7500ms, io_err(io::ConnectPhase::connect, -ETIMEDOUT));
    auto result = result_of(effects);
    CHECK(result.rc == wire::ocf::unknown_error);
    CHECK(result.status == wire::ExecStatus::timeout);
    CHECK_FALSE(arms_any(effects));
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.connected());
    CHECK(m.failed_at() == t0 + 7500ms);
}

TEST_CASE("starting: the retry timer starts the next attempt with the time left")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 10s);
    (void)m.connect_failed(t0 + 1s, err(-ECONNREFUSED));
    auto effects = m.timer_fired(t0 + 2s, Timer::start_retry);
    const Effect* connect = find(effects, Kind::connect);
    REQUIRE(connect != nullptr);
    CHECK(connect->timeout == 8s);
    // While that attempt runs, a second retry timer is stale.
    CHECK(m.timer_fired(t0 + 2500ms, Timer::start_retry).empty());
}

TEST_CASE("starting: the deadline timer fails the start and cancels the attempt")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 5s);
    auto effects = m.timer_fired(t0 + 5s, Timer::start_deadline);
    CHECK(has(effects, Kind::cancel_connect));
    auto result = result_of(effects);
    CHECK(result.rc == wire::ocf::unknown_error);
    CHECK(result.status == wire::ExecStatus::timeout);
    CHECK(m.state() == State::stopped);
    CHECK(m.failed_at() == t0 + 5s);
    // Between attempts (retry armed) there is no attempt to cancel.
    RemoteConnectionMachine waiting;
    (void)waiting.start(t0, 5s);
    (void)waiting.connect_failed(t0 + 1s, err(-ECONNREFUSED));
    effects = waiting.timer_fired(t0 + 5s, Timer::start_deadline);
    CHECK_FALSE(has(effects, Kind::cancel_connect));
    CHECK(result_of(effects).status == wire::ExecStatus::timeout);
}

TEST_CASE("starting: new_client, connection_lost and poke notifies change nothing")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    CHECK(m.new_client(t0 + 10ms).empty());
    CHECK(m.connection_lost(t0 + 10ms, err(-ECONNRESET)).empty());
    CHECK(m.poke_answered(t0 + 10ms).empty());
    CHECK(m.state() == State::starting);
    CHECK_FALSE(m.failed_at().has_value());
    CHECK(result_of(m.connect_succeeded(t0 + 1s)).rc == wire::ocf::ok);
}

// ---- started ----------------------------------------------------------------------------

TEST_CASE("started: start is a success without a new connection")
{
    auto m = started_machine();
    auto effects = m.start(t0 + 1s, 20s);
    CHECK_FALSE(has(effects, Kind::connect));
    CHECK(result_of(effects) == RaResult{RaAction::start, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.connected());
}

TEST_CASE("started: a successful start clears a recorded failure")
{
    RemoteConnectionMachine m;
    m.set_reconnect_interval(10s);
    (void)m.start(t0, 20s);
    (void)m.connect_failed(t0 + 1s, err(-ENOKEY));
    REQUIRE(m.failed_at() == t0 + 1s);
    (void)m.start(t0 + 20s, 20s);
    (void)m.connect_succeeded(t0 + 21s);
    CHECK_FALSE(m.failed_at().has_value());
    CHECK_FALSE(m.reconnect_allowed_at().has_value());
}

TEST_CASE("started: stop disconnects and marks the node down")
{
    auto m = started_machine();
    auto effects = m.stop(t0 + 1s, 20s);
    CHECK(has(effects, Kind::disconnect));
    CHECK(has(effects, Kind::node_down));
    CHECK(result_of(effects) == RaResult{RaAction::stop, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.connected());
    CHECK_FALSE(m.failed_at().has_value());  // a stop is no failure
    // Stopping what is stopped succeeds.
    CHECK(result_of(m.stop(t0 + 2s, 20s)).rc == wire::ocf::ok);
}

TEST_CASE("started: stop during a one-shot monitor cancels it; its timer can no longer fire")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s);
    REQUIRE(m.monitor_pending());
    auto effects = m.stop(t0 + 2s, 20s);
    auto results = results_of(effects);
    REQUIRE(results.size() == 2);
    CHECK(results[0] ==
          RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::cancelled, kReasonCancelledByStop});
    CHECK(results[1].action == RaAction::stop);
    CHECK(results[1].rc == wire::ocf::ok);
    CHECK(disarms(effects, Timer::monitor_timeout));
    CHECK_FALSE(m.monitor_pending());
    CHECK(m.oneshot_monitors_waiting() == 0);

    // The monitor timer fires anyway (the host had not disarmed it yet): nothing, no
    // spurious failure.
    CHECK(m.timer_fired(t0 + 6s, Timer::monitor_timeout).empty());

    // A new start connects; the old monitor's timer must not tear the new connection down,
    // and a monitor pokes again (it would not while a stale poke counted as in flight).
    (void)m.start(t0 + 7s, 20s);
    (void)m.connect_succeeded(t0 + 7100ms);
    CHECK(m.timer_fired(t0 + 7200ms, Timer::monitor_timeout).empty());
    CHECK(m.connected());
    effects = m.monitor(t0 + 8s, 5s);
    CHECK(has(effects, Kind::poke));
    CHECK(result_of(m.poke_answered(t0 + 8100ms)).rc == wire::ocf::ok);
}

TEST_CASE("started: stop ends a recurring monitor (reported cancelled with its interval)")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.stop(t0 + 2s, 20s);
    CHECK_FALSE(m.recurring_monitor_active());
    CHECK(disarms(effects, Timer::monitor_interval));
    auto results = results_of(effects);
    REQUIRE(results.size() == 2);
    CHECK(results[0] == RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::cancelled,
                                 kReasonCancelledByStop, 10s});
    CHECK(results[1].action == RaAction::stop);
    CHECK(m.timer_fired(t0 + 12s, Timer::monitor_interval).empty());
}

TEST_CASE("started: stop with an expected takeover waits up to timeout/2 (stopping)")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s);
    (void)m.migrate_to();
    auto effects = m.stop(t0 + 2s, 20s);
    CHECK(arms(effects, Timer::takeover_wait, 10s));
    CHECK_FALSE(has(effects, Kind::disconnect));
    auto results = results_of(effects);
    REQUIRE(results.size() == 1);  // only the cancelled monitor: the stop is not done yet
    CHECK(results[0].status == wire::ExecStatus::cancelled);
    CHECK(m.state() == State::stopping);
    CHECK(m.connected());
}

TEST_CASE("started: monitor pokes and succeeds on the poke notify")
{
    auto m = started_machine();
    auto effects = m.monitor(t0 + 1s, 20s);
    CHECK(has(effects, Kind::poke));
    CHECK(arms(effects, Timer::monitor_timeout, 20s));
    CHECK_FALSE(has(effects, Kind::result));
    CHECK(m.monitor_pending());

    effects = m.poke_answered(t0 + 1100ms);
    CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(disarms(effects, Timer::monitor_timeout));
    CHECK_FALSE(m.monitor_pending());
    // A stray poke notify (someone else's poke) changes nothing.
    CHECK(m.poke_answered(t0 + 1200ms).empty());
}

TEST_CASE("started: a monitor while a poke is in flight waits for it; each gets its result")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s);
    auto effects = m.monitor(t0 + 1100ms, 5s);
    CHECK_FALSE(has(effects, Kind::poke));
    CHECK_FALSE(arms_any(effects));
    CHECK(m.oneshot_monitors_waiting() == 2);
    auto results = results_of(m.poke_answered(t0 + 1200ms));
    REQUIRE(results.size() == 2);
    CHECK(results[0].rc == wire::ocf::ok);
    CHECK(results[1].rc == wire::ocf::ok);

    SECTION("and both fail together on the poke's timeout")
    {
        (void)m.monitor(t0 + 2s, 5s);
        (void)m.monitor(t0 + 3s, 5s);
        results = results_of(m.timer_fired(t0 + 7s, Timer::monitor_timeout));
        REQUIRE(results.size() == 2);
        CHECK(results[0].status == wire::ExecStatus::timeout);
        CHECK(results[1].status == wire::ExecStatus::timeout);
    }
}

TEST_CASE("started: a recurring monitor reports its first success, then only failures")
{
    auto m = started_machine();
    auto effects = m.monitor(t0 + 1s, 5s, 10s);
    CHECK(has(effects, Kind::poke));
    CHECK(m.recurring_monitor_active());

    effects = m.poke_answered(t0 + 1100ms);
    CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::done, "", 10s});
    CHECK(arms(effects, Timer::monitor_interval, 10s));

    effects = m.timer_fired(t0 + 11100ms, Timer::monitor_interval);
    CHECK(has(effects, Kind::poke));
    CHECK(arms(effects, Timer::monitor_timeout, 5s));
    effects = m.poke_answered(t0 + 11200ms);
    CHECK_FALSE(has(effects, Kind::result));  // second success not reported
    CHECK(arms(effects, Timer::monitor_interval, 10s));

    (void)m.timer_fired(t0 + 21200ms, Timer::monitor_interval);
    effects = m.timer_fired(t0 + 26200ms, Timer::monitor_timeout);
    CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::unknown_error,
                                         wire::ExecStatus::timeout, kReasonNoResponse, 10s});
    CHECK(has(effects, Kind::disconnect));
    CHECK_FALSE(m.recurring_monitor_active());
}

TEST_CASE("started: a one-shot monitor while a recurring one runs gets its own result")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);  // the recurring one's first success is reported

    SECTION("between recurring runs: its own poke")
    {
        auto effects = m.monitor(t0 + 2s, 5s);
        CHECK(has(effects, Kind::poke));
        CHECK(result_of(m.poke_answered(t0 + 2100ms)) ==
              RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::done, ""});
        CHECK(m.recurring_monitor_active());
    }
    SECTION("during a recurring run: shares the poke, only the one-shot reports")
    {
        (void)m.timer_fired(t0 + 11100ms, Timer::monitor_interval);
        auto effects = m.monitor(t0 + 11150ms, 5s);
        CHECK_FALSE(has(effects, Kind::poke));
        effects = m.poke_answered(t0 + 11200ms);
        CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::done, ""});
        CHECK(arms(effects, Timer::monitor_interval, 10s));
    }
    SECTION("the recurring run due while a one-shot waits joins its poke")
    {
        (void)m.monitor(t0 + 11000ms, 5s);
        auto effects = m.timer_fired(t0 + 11100ms, Timer::monitor_interval);
        CHECK(effects.empty());  // no second poke, no second timer
        effects = m.poke_answered(t0 + 11200ms);
        CHECK(result_of(effects).interval == 0ms);
        CHECK(arms(effects, Timer::monitor_interval, 10s));
    }
}

TEST_CASE("started: a new recurring monitor replaces the old one (reported cancelled)")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.monitor(t0 + 2s, 5s, 30s);
    CHECK(result_of(effects) ==
          RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::cancelled, "", 10s});
    CHECK(has(effects, Kind::poke));
    CHECK(result_of(m.poke_answered(t0 + 2100ms)).interval == 30s);
}

TEST_CASE("started: cancel_monitor reports the recurring monitor cancelled and stops poking")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.cancel_monitor();
    CHECK(result_of(effects) ==
          RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::cancelled, "", 10s});
    CHECK(disarms(effects, Timer::monitor_interval));
    CHECK_FALSE(m.recurring_monitor_active());
    CHECK(m.timer_fired(t0 + 11100ms, Timer::monitor_interval).empty());
    // Nothing recurring: cancel is a no-op.
    CHECK(m.cancel_monitor().empty());

    SECTION("during a run: its poke is forgotten, a late notify and timer are stale")
    {
        (void)m.monitor(t0 + 12s, 5s, 10s);
        effects = m.cancel_monitor();
        CHECK(disarms(effects, Timer::monitor_timeout));
        CHECK_FALSE(m.monitor_pending());
        CHECK(m.poke_answered(t0 + 12100ms).empty());
        CHECK(m.timer_fired(t0 + 17s, Timer::monitor_timeout).empty());
        CHECK(m.connected());
    }
    SECTION("a one-shot sharing the run's poke keeps waiting for it")
    {
        (void)m.monitor(t0 + 12s, 5s, 10s);
        (void)m.monitor(t0 + 12050ms, 5s);
        effects = m.cancel_monitor();
        CHECK_FALSE(disarms(effects, Timer::monitor_timeout));
        CHECK(m.monitor_pending());
        CHECK(result_of(m.poke_answered(t0 + 12100ms)).interval == 0ms);
    }
}

TEST_CASE("started: migrate_to expects the takeover and succeeds")
{
    auto m = started_machine();
    auto effects = m.migrate_to();
    CHECK(result_of(effects) == RaResult{RaAction::migrate_to, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.expecting_takeover());
    CHECK_FALSE(m.takeover_complete());
    CHECK(m.connected());
}

TEST_CASE("started: the monitor timeout fails rc 1 status 2 and drops the connection")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s);
    auto effects = m.timer_fired(t0 + 6s, Timer::monitor_timeout);
    CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::unknown_error,
                                         wire::ExecStatus::timeout, "Remote executor did not respond"});
    const Effect* drop = find(effects, Kind::disconnect);
    REQUIRE(drop != nullptr);
    CHECK(drop->reason == kReasonNoResponse);
    CHECK_FALSE(m.connected());
    CHECK(m.state() == State::stopped);
    CHECK(m.failed_at() == t0 + 6s);
    // Afterwards monitor says inactive.
    CHECK(result_of(m.monitor(t0 + 7s, 5s)).rc == wire::ocf::not_running);

    SECTION("a recurring monitor between runs fails too: the connection is gone")
    {
        auto r = started_machine();
        (void)r.monitor(t0 + 1s, 5s, 60s);
        (void)r.poke_answered(t0 + 1100ms);
        (void)r.monitor(t0 + 2s, 5s);
        auto results = results_of(r.timer_fired(t0 + 7s, Timer::monitor_timeout));
        REQUIRE(results.size() == 2);
        CHECK(results[0] == RaResult{RaAction::monitor, wire::ocf::unknown_error, wire::ExecStatus::timeout,
                                     kReasonNoResponse});
        CHECK(results[1] == RaResult{RaAction::monitor, wire::ocf::unknown_error, wire::ExecStatus::error,
                                     kReasonLost, 60s});
        CHECK_FALSE(r.recurring_monitor_active());
    }
}

TEST_CASE("started: connection loss fails the monitors and stops")
{
    SECTION("during a one-shot monitor")
    {
        auto m = started_machine();
        (void)m.monitor(t0 + 1s, 5s);
        auto effects = m.connection_lost(t0 + 1100ms, err(-ECONNRESET));
        CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::unknown_error,
                                             wire::ExecStatus::error, kReasonDroppedDuringMonitor});
        CHECK(disarms(effects, Timer::monitor_timeout));
        CHECK_FALSE(has(effects, Kind::disconnect));  // already closed
        CHECK_FALSE(m.connected());
        CHECK(m.state() == State::stopped);
        CHECK(m.failed_at() == t0 + 1100ms);
        CHECK(m.timer_fired(t0 + 6s, Timer::monitor_timeout).empty());
    }
    SECTION("between runs of a recurring monitor")
    {
        auto m = started_machine();
        (void)m.monitor(t0 + 1s, 5s, 10s);
        (void)m.poke_answered(t0 + 1100ms);
        auto effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
        CHECK(result_of(effects) == RaResult{RaAction::monitor, wire::ocf::unknown_error,
                                             wire::ExecStatus::error, kReasonLost, 10s});
        CHECK(disarms(effects, Timer::monitor_interval));
        CHECK_FALSE(m.recurring_monitor_active());
    }
    SECTION("no monitor: just stopped (the host learns it from its next monitor, rc 7)")
    {
        auto m = started_machine();
        auto effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
        CHECK_FALSE(has(effects, Kind::result));
        CHECK(m.state() == State::stopped);
        CHECK(m.failed_at() == t0 + 3s);
        // Only the first loss counts.
        CHECK(m.connection_lost(t0 + 4s, err(-ECONNRESET)).empty());
        CHECK(result_of(m.monitor(t0 + 5s, 5s)).rc == wire::ocf::not_running);
    }
}

TEST_CASE("started: reconnect_allowed_at() is failed_at() + reconnect_interval")
{
    auto m = started_machine();
    CHECK_FALSE(m.reconnect_allowed_at().has_value());
    (void)m.connection_lost(t0 + 3s, err(-ECONNRESET));
    CHECK(m.failed_at() == t0 + 3s);
    CHECK_FALSE(m.reconnect_allowed_at().has_value());  // interval 0: nothing holds a start back
    (void)m.reload(Millis{60000});
    CHECK(m.reconnect_allowed_at() == t0 + 63s);
}

TEST_CASE("started: an expected new client completes the takeover, node stays up")
{
    auto m = started_machine();
    (void)m.migrate_to();
    auto effects = m.new_client(t0 + 2s);
    CHECK(effects.empty());  // expected: no drop
    CHECK(m.takeover_complete());
    CHECK(m.connected());
    effects = m.stop(t0 + 3s, 20s);
    CHECK(has(effects, Kind::disconnect));
    CHECK_FALSE(has(effects, Kind::node_down));
    CHECK(result_of(effects).rc == wire::ocf::ok);
    CHECK(m.state() == State::stopped);
}

TEST_CASE("started: an unexpected new client drops the connection (unexpected client takeover)")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.new_client(t0 + 2s);
    const Effect* drop = find(effects, Kind::disconnect);
    REQUIRE(drop != nullptr);
    CHECK(drop->reason == "unexpected client takeover");
    CHECK(result_of(effects) ==
          RaResult{RaAction::monitor, wire::ocf::unknown_error, wire::ExecStatus::error, kReasonLost, 10s});
    CHECK_FALSE(m.connected());
    CHECK(m.state() == State::stopped);
    CHECK(m.failed_at() == t0 + 2s);
    // Not connected: another new client is nothing to us.
    CHECK(m.new_client(t0 + 3s).empty());
}

// ---- stopping ---------------------------------------------------------------------------

TEST_CASE("stopping: start, stop and migrate_to are refused while the stop waits")
{
    auto m = stopping_machine();
    for (const auto& effects : {m.start(t0 + 3s, 20s), m.stop(t0 + 3s, 20s), m.migrate_to()}) {
        auto result = result_of(effects);
        CHECK(result.rc == wire::ocf::unknown_error);
        CHECK(result.status == wire::ExecStatus::error);
        CHECK(result.exit_reason == kReasonInProgress);
        CHECK_FALSE(has(effects, Kind::disconnect));
        CHECK_FALSE(has(effects, Kind::connect));
        CHECK_FALSE(arms_any(effects));
    }
    CHECK(m.state() == State::stopping);
    CHECK(m.connected());
    // The waiting stop still completes, once.
    auto results = results_of(m.new_client(t0 + 4s));
    REQUIRE(results.size() == 1);
    CHECK(results[0].action == RaAction::stop);
}

TEST_CASE("stopping: monitor answers rc 7 without poking")
{
    auto m = stopping_machine();
    auto effects = m.monitor(t0 + 3s, 5s);
    CHECK(result_of(effects).rc == wire::ocf::not_running);
    CHECK_FALSE(has(effects, Kind::poke));
    effects = m.monitor(t0 + 3s, 5s, 10s);
    CHECK(result_of(effects).rc == wire::ocf::not_running);
    CHECK_FALSE(m.recurring_monitor_active());
    CHECK(m.timer_fired(t0 + 13s, Timer::monitor_interval).empty());
}

TEST_CASE("stopping: the takeover completes the stop without marking the node down")
{
    auto m = stopping_machine();
    auto effects = m.new_client(t0 + 3s);
    CHECK(has(effects, Kind::disconnect));
    CHECK(disarms(effects, Timer::takeover_wait));
    CHECK_FALSE(has(effects, Kind::node_down));
    CHECK(result_of(effects) == RaResult{RaAction::stop, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.failed_at().has_value());
}

TEST_CASE("stopping: the connection closing completes the stop")
{
    auto m = stopping_machine();
    auto effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
    CHECK(result_of(effects).action == RaAction::stop);
    CHECK(result_of(effects).rc == wire::ocf::ok);
    CHECK_FALSE(has(effects, Kind::disconnect));
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.failed_at().has_value());  // the stop was going to close it anyway
}

TEST_CASE("stopping: no takeover within timeout/2: stop anyway, node down")
{
    auto m = stopping_machine();
    auto effects = m.timer_fired(t0 + 12s, Timer::takeover_wait);
    CHECK(has(effects, Kind::disconnect));
    CHECK(has(effects, Kind::node_down));
    CHECK(result_of(effects) == RaResult{RaAction::stop, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(m.state() == State::stopped);
    // Now stale.
    CHECK(m.timer_fired(t0 + 13s, Timer::takeover_wait).empty());
}
