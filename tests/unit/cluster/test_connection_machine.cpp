// Every transition of the ocf:pacemaker:remote state machine (protocol.md 6), driven by
// events with explicit times: no sockets, no timers, just effects to check.
#include <catch.hpp>

#include <cerrno>

#include "connection/remote_connection.hpp"

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

RaResult result_of(const Effects& effects)
{
    const Effect* effect = find(effects, Kind::result);
    REQUIRE(effect != nullptr);
    return effect->result;
}

Error err(int code)
{
    return make_error("test", code, "failure " + std::to_string(code));
}

RemoteConnectionMachine started_machine()
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.connect_succeeded(t0 + 100ms);
    REQUIRE(result_of(effects).rc == kOcfOk);
    REQUIRE(m.state() == State::started);
    return m;
}

}  // namespace

TEST_CASE("start connects with a per-attempt timeout of min(remaining, 10 s)")
{
    RemoteConnectionMachine m;
    auto effects = m.start(t0, 60s);
    const Effect* connect = find(effects, Kind::connect);
    REQUIRE(connect != nullptr);
    CHECK(connect->timeout == 10s);
    CHECK(arms(effects, Timer::start_deadline, 60s));
    CHECK(m.state() == State::starting);
    CHECK_FALSE(has(effects, Kind::result));

    RemoteConnectionMachine short_timeout;
    effects = short_timeout.start(t0, 4s);
    REQUIRE(find(effects, Kind::connect) != nullptr);
    CHECK(find(effects, Kind::connect)->timeout == 4s);
}

TEST_CASE("start succeeds when connect+register succeeds: node up, rc 0")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.connect_succeeded(t0 + 50ms);
    CHECK(has(effects, Kind::node_up));
    auto result = result_of(effects);
    CHECK(result == RaResult{RaAction::start, kOcfOk, kExecDone, ""});
    CHECK(m.state() == State::started);
    CHECK(m.connected());

    // Starting what is started is a success without a new connection.
    effects = m.start(t0 + 1s, 20s);
    CHECK_FALSE(has(effects, Kind::connect));
    CHECK(result_of(effects).rc == kOcfOk);
}

TEST_CASE("start retries a connection error every 1 s while more than 3 s remain")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 10s);
    auto effects = m.connect_failed(t0 + 1s, err(-ECONNREFUSED));
    CHECK(arms(effects, Timer::start_retry, 1s));
    CHECK_FALSE(has(effects, Kind::result));

    effects = m.timer_fired(t0 + 2s, Timer::start_retry);
    const Effect* connect = find(effects, Kind::connect);
    REQUIRE(connect != nullptr);
    CHECK(connect->timeout == 8s);  // remaining time of the op

    // At 7.5 s only 2.5 s remain: no more retries, rc 1 status 2 (timeout).
    effects = m.connect_failed(t0 + 7500ms, err(-ECONNREFUSED));
    auto result = result_of(effects);
    CHECK(result.rc == kOcfUnknownError);
    CHECK(result.status == kExecTimeout);
    CHECK(m.state() == State::stopped);
    CHECK_FALSE(m.connected());
}

TEST_CASE("start: ENOKEY and EKEYREJECTED are hard errors (rc 2, status 4), no retry")
{
    for (int code : {-ENOKEY, -EKEYREJECTED}) {
        RemoteConnectionMachine m;
        (void)m.start(t0, 60s);
        auto effects = m.connect_failed(t0 + 100ms, err(code));
        auto result = result_of(effects);
        CHECK(result.rc == kOcfInvalidParam);
        CHECK(result.status == kExecError);
        CHECK_FALSE(arms(effects, Timer::start_retry, 1s));
        CHECK(m.state() == State::stopped);
    }
}

TEST_CASE("start: the deadline timer fails the start and cancels the attempt")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 5s);
    auto effects = m.timer_fired(t0 + 5s, Timer::start_deadline);
    CHECK(has(effects, Kind::cancel_connect));
    CHECK(result_of(effects).status == kExecTimeout);
    // A late success is refused: the adapter disconnects it.
    effects = m.connect_succeeded(t0 + 6s);
    CHECK(has(effects, Kind::disconnect));
    CHECK_FALSE(has(effects, Kind::result));
    CHECK(m.state() == State::stopped);
}

TEST_CASE("start while starting is refused; stop during start cancels it")
{
    RemoteConnectionMachine m;
    (void)m.start(t0, 20s);
    auto effects = m.start(t0 + 10ms, 20s);
    CHECK(result_of(effects).rc == kOcfUnknownError);
    CHECK(m.state() == State::starting);

    effects = m.stop(t0 + 20ms, 20s);
    CHECK(has(effects, Kind::cancel_connect));
    int results = 0;
    for (const auto& e : effects) {
        if (e.kind == Kind::result) {
            ++results;
            if (e.result.action == RaAction::start) CHECK(e.result.rc == kOcfUnknownError);
            if (e.result.action == RaAction::stop) CHECK(e.result.rc == kOcfOk);
        }
    }
    CHECK(results == 2);
    CHECK(m.state() == State::stopped);
}

TEST_CASE("migrate_from is a start")
{
    RemoteConnectionMachine m;
    auto effects = m.migrate_from(t0, 20s);
    CHECK(has(effects, Kind::connect));
    effects = m.connect_succeeded(t0 + 1s);
    CHECK(result_of(effects).action == RaAction::migrate_from);
    CHECK(result_of(effects).rc == kOcfOk);
}

TEST_CASE("monitor when not connected: rc 7 Remote connection inactive")
{
    RemoteConnectionMachine m;
    auto effects = m.monitor(t0, 20s);
    auto result = result_of(effects);
    CHECK(result.rc == kOcfNotRunning);
    CHECK(result.exit_reason == "Remote connection inactive");
    CHECK_FALSE(has(effects, Kind::poke));
}

TEST_CASE("monitor when connected pokes and succeeds on the poke notify")
{
    auto m = started_machine();
    auto effects = m.monitor(t0 + 1s, 20s);
    CHECK(has(effects, Kind::poke));
    CHECK(arms(effects, Timer::monitor_timeout, 20s));
    CHECK_FALSE(has(effects, Kind::result));
    CHECK(m.monitor_pending());

    effects = m.poke_answered(t0 + 1100ms);
    CHECK(result_of(effects).rc == kOcfOk);
    CHECK_FALSE(m.monitor_pending());
    // A stray poke notify (someone else's poke) changes nothing.
    CHECK(m.poke_answered(t0 + 1200ms).empty());
}

TEST_CASE("monitor without a poke notify in time: rc 1 status 2 and the connection is dropped")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s);
    auto effects = m.timer_fired(t0 + 6s, Timer::monitor_timeout);
    auto result = result_of(effects);
    CHECK(result.rc == kOcfUnknownError);
    CHECK(result.status == kExecTimeout);
    CHECK(result.exit_reason == "Remote executor did not respond");
    const Effect* drop = find(effects, Kind::disconnect);
    REQUIRE(drop != nullptr);
    CHECK_FALSE(m.connected());
    CHECK(m.state() == State::stopped);
    // Afterwards monitor says inactive.
    CHECK(result_of(m.monitor(t0 + 7s, 5s)).rc == kOcfNotRunning);
}

TEST_CASE("a recurring monitor reports its first success, then only failures")
{
    auto m = started_machine();
    auto effects = m.monitor(t0 + 1s, 5s, 10s);
    CHECK(has(effects, Kind::poke));
    CHECK(m.recurring_monitor_active());

    effects = m.poke_answered(t0 + 1100ms);
    CHECK(result_of(effects).rc == kOcfOk);
    CHECK(arms(effects, Timer::monitor_interval, 10s));

    effects = m.timer_fired(t0 + 11100ms, Timer::monitor_interval);
    CHECK(has(effects, Kind::poke));
    CHECK(arms(effects, Timer::monitor_timeout, 5s));
    effects = m.poke_answered(t0 + 11200ms);
    CHECK_FALSE(has(effects, Kind::result));  // second success not reported
    CHECK(arms(effects, Timer::monitor_interval, 10s));

    (void)m.timer_fired(t0 + 21200ms, Timer::monitor_interval);
    effects = m.timer_fired(t0 + 26200ms, Timer::monitor_timeout);
    CHECK(result_of(effects).status == kExecTimeout);
    CHECK(has(effects, Kind::disconnect));
    CHECK_FALSE(m.recurring_monitor_active());
}

TEST_CASE("cancelling a recurring monitor reports status cancelled and stops poking")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.cancel_monitor();
    CHECK(result_of(effects).status == kExecCancelled);
    CHECK_FALSE(m.recurring_monitor_active());
    CHECK(m.timer_fired(t0 + 11100ms, Timer::monitor_interval).empty());
    // Nothing recurring: cancel is a no-op.
    CHECK(m.cancel_monitor().empty());
}

TEST_CASE("connection drop: pending monitor fails, recurring monitor fails, plain drop just stops")
{
    SECTION("during a monitor")
    {
        auto m = started_machine();
        (void)m.monitor(t0 + 1s, 5s);
        auto effects = m.connection_lost(t0 + 1100ms, err(-ECONNRESET));
        auto result = result_of(effects);
        CHECK(result.rc == kOcfUnknownError);
        CHECK(result.exit_reason == "Remote connection unexpectedly dropped during monitor");
        CHECK_FALSE(m.connected());
    }
    SECTION("between runs of a recurring monitor")
    {
        auto m = started_machine();
        (void)m.monitor(t0 + 1s, 5s, 10s);
        (void)m.poke_answered(t0 + 1100ms);
        auto effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
        CHECK(result_of(effects).exit_reason == "Lost connection to remote executor");
        CHECK_FALSE(m.recurring_monitor_active());
    }
    SECTION("no monitor")
    {
        auto m = started_machine();
        auto effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
        CHECK_FALSE(has(effects, Kind::result));
        CHECK(m.state() == State::stopped);
        // Only the first loss counts.
        CHECK(m.connection_lost(t0 + 4s, err(-ECONNRESET)).empty());
    }
}

TEST_CASE("stop disconnects and marks the node down")
{
    auto m = started_machine();
    auto effects = m.stop(t0 + 1s, 20s);
    CHECK(has(effects, Kind::disconnect));
    CHECK(has(effects, Kind::node_down));
    CHECK(result_of(effects) == RaResult{RaAction::stop, kOcfOk, kExecDone, ""});
    CHECK(m.state() == State::stopped);
    // Stopping what is stopped succeeds.
    CHECK(result_of(m.stop(t0 + 2s, 20s)).rc == kOcfOk);
}

TEST_CASE("stop also ends a recurring monitor")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    auto effects = m.stop(t0 + 2s, 20s);
    CHECK_FALSE(m.recurring_monitor_active());
    CHECK(has(effects, Kind::cancel_timer));
}

TEST_CASE("migration: migrate_to expects a takeover, the new client completes it, stop keeps the node up")
{
    auto m = started_machine();
    auto effects = m.migrate_to();
    CHECK(result_of(effects) == RaResult{RaAction::migrate_to, kOcfOk, kExecDone, ""});
    CHECK(m.expecting_takeover());

    SECTION("takeover before stop")
    {
        effects = m.new_client(t0 + 2s);
        CHECK(effects.empty());  // expected: no drop
        CHECK(m.takeover_complete());
        CHECK(m.connected());
        effects = m.stop(t0 + 3s, 20s);
        CHECK(has(effects, Kind::disconnect));
        CHECK_FALSE(has(effects, Kind::node_down));
        CHECK(result_of(effects).rc == kOcfOk);
    }
    SECTION("stop waits up to timeout/2 for the takeover")
    {
        effects = m.stop(t0 + 2s, 20s);
        CHECK(arms(effects, Timer::takeover_wait, 10s));
        CHECK_FALSE(has(effects, Kind::result));
        CHECK(m.state() == State::stopping);
        effects = m.new_client(t0 + 3s);
        CHECK(has(effects, Kind::disconnect));
        CHECK_FALSE(has(effects, Kind::node_down));
        CHECK(result_of(effects).action == RaAction::stop);
        CHECK(m.state() == State::stopped);
    }
    SECTION("no takeover within timeout/2: stop anyway, node down")
    {
        (void)m.stop(t0 + 2s, 20s);
        effects = m.timer_fired(t0 + 12s, Timer::takeover_wait);
        CHECK(has(effects, Kind::disconnect));
        CHECK(has(effects, Kind::node_down));
        CHECK(result_of(effects).rc == kOcfOk);
    }
    SECTION("connection closes while waiting: stop completes")
    {
        (void)m.stop(t0 + 2s, 20s);
        effects = m.connection_lost(t0 + 3s, err(-ECONNRESET));
        CHECK(result_of(effects).action == RaAction::stop);
        CHECK(m.state() == State::stopped);
    }
}

TEST_CASE("migrate_to when not connected fails")
{
    RemoteConnectionMachine m;
    CHECK(result_of(m.migrate_to()).rc == kOcfUnknownError);
}

TEST_CASE("an unexpected new client drops the connection (unexpected client takeover)")
{
    auto m = started_machine();
    (void)m.monitor(t0 + 1s, 5s, 10s);
    (void)m.poke_answered(t0 + 1100ms);
    auto effects = m.new_client(t0 + 2s);
    const Effect* drop = find(effects, Kind::disconnect);
    REQUIRE(drop != nullptr);
    CHECK(drop->reason == "unexpected client takeover");
    CHECK(result_of(effects).rc == kOcfUnknownError);
    CHECK_FALSE(m.connected());
    CHECK(m.state() == State::stopped);
    // Not connected: another new client is nothing to us.
    CHECK(m.new_client(t0 + 3s).empty());
}

TEST_CASE("reload is a no-op success that may update reconnect_interval")
{
    RemoteConnectionMachine m;
    auto effects = m.reload(std::nullopt);
    CHECK(result_of(effects) == RaResult{RaAction::reload, kOcfOk, kExecDone, ""});
    CHECK(m.reconnect_interval() == 0ms);
    (void)m.reload(Millis{30000});
    CHECK(m.reconnect_interval() == 30s);
    CHECK(m.state() == State::stopped);
}

TEST_CASE("stale timers are ignored")
{
    RemoteConnectionMachine m;
    CHECK(m.timer_fired(t0, Timer::start_retry).empty());
    CHECK(m.timer_fired(t0, Timer::start_deadline).empty());
    CHECK(m.timer_fired(t0, Timer::monitor_timeout).empty());
    CHECK(m.timer_fired(t0, Timer::monitor_interval).empty());
    CHECK(m.timer_fired(t0, Timer::takeover_wait).empty());
    CHECK(m.connect_failed(t0, err(-ECONNREFUSED)).empty());
}
