// Executor queueing semantics with a RecordingSpawner: which child starts when, and what is
// reported in which order (docs/protocol.md 5.1 - 5.4, 3.5.1).
#include <catch2/catch.hpp>

#include "executor_test_support.hpp"
#include "support/recording_spawner.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::test;
using outpost::test::RecordingSpawner;

namespace {

struct Fixture {
    OcfTree tree;
    RecordingSpawner spawner;
    Collected got;
    Executor exec{nullptr, spawner, Executor::Options{tree.paths, {}}, got.callbacks()};

    Fixture()
    {
        tree.agent("test", "Dummy", "exit 0\n");
        CHECK(exec.register_resource(ocf_rsc("r1", "Dummy")) == rc::ok);
        CHECK(exec.register_resource(ocf_rsc("r2", "Dummy")) == rc::ok);
    }
    // Lets idle dispatches run.
    static void settle() { loop_for(nullptr, 20ms); }
    [[nodiscard]] std::vector<Spawner::ChildId> pending() const { return spawner.pending(); }
    [[nodiscard]] std::string action_of(Spawner::ChildId id) const
    {
        return spawner.find(id)->request.argv.at(1);
    }
    [[nodiscard]] std::string rsc_of(Spawner::ChildId id) const
    {
        for (const auto& var : spawner.find(id)->request.env) {
            if (var.starts_with("OCF_RESOURCE_INSTANCE=")) return var.substr(22);
        }
        return {};
    }
};

}  // namespace

TEST_CASE("queue: unknown resource, call id returned, result never from inside exec", "[queue]")
{
    Fixture f;
    CHECK(f.exec.exec(5, req("nope", "start")) == rc::no_device);
    CHECK(f.exec.exec(7, req("r1", "start")) == 7);
    CHECK(f.got.results.empty());
    CHECK(f.pending().empty());  // started from the loop, not from exec()
    Fixture::settle();
    REQUIRE(f.pending().size() == 1);
    CHECK(f.exec.running_count() == 1);
    f.spawner.exit(f.pending()[0], 0);
    REQUIRE(f.got.results.size() == 1);
    const ExecNotify& r = f.got.results[0];
    CHECK(r.call_id == 7);
    CHECK(r.rsc_id == "r1");
    CHECK(r.action == "start");
    CHECK(r.userdata == "ud-r1-start");
    CHECK(r.exec_rc == 0);
    CHECK(r.op_status == ExecStatus::done);
    CHECK(r.rcchange_time == 0);  // first result 0: never changed
    CHECK(r.run_time > 0);

    // Not installed: known at once, still delivered from the loop.
    CHECK(f.exec.register_resource(ocf_rsc("r3", "Missing")) == rc::ok);
    CHECK(f.exec.exec(8, req("r3", "monitor")) == 8);
    CHECK(f.got.count(8) == 0);
    REQUIRE(f.got.wait(8));
    CHECK(f.got.last(8)->exec_rc == 5);
    CHECK(f.got.last(8)->op_status == ExecStatus::not_installed);
    CHECK(f.got.last(8)->exit_reason == "Missing: No such file or directory");
}

TEST_CASE("queue: one op per resource, resources in parallel", "[queue]")
{
    Fixture f;
    f.exec.exec(1, req("r1", "start"));
    f.exec.exec(2, req("r1", "monitor"));
    f.exec.exec(3, req("r2", "start"));
    Fixture::settle();
    auto running = f.pending();
    REQUIRE(running.size() == 2);
    CHECK(f.rsc_of(running[0]) == "r1");
    CHECK(f.action_of(running[0]) == "start");
    CHECK(f.rsc_of(running[1]) == "r2");
    f.spawner.exit(running[0], 0);
    Fixture::settle();
    running = f.pending();
    REQUIRE(running.size() == 2);
    CHECK(f.action_of(running[1]) == "monitor");
    f.spawner.exit(running[0], 0);
    f.spawner.exit(running[1], 7);
    CHECK(f.got.last(2)->exec_rc == 7);
    CHECK(f.got.last(2)->rcchange_time > 0);  // first result 7 sets it
}

TEST_CASE("queue: start delay holds the op and those behind it", "[queue]")
{
    Fixture f;
    gint64 t0 = g_get_monotonic_time();
    f.exec.exec(1, [] {
        auto r = req("r1", "start");
        r.start_delay_ms = 300;
        return r;
    }());
    f.exec.exec(2, req("r1", "monitor"));
    f.exec.exec(3, req("r2", "monitor"));
    loop_for(nullptr, 150ms);
    REQUIRE(f.pending().size() == 1);  // only r2's
    CHECK(f.rsc_of(f.pending()[0]) == "r2");
    REQUIRE(run_until(
        nullptr, [&] { return f.pending().size() == 2; }, 2000ms));
    auto first = f.pending()[1];
    CHECK(f.action_of(first) == "start");
    CHECK((f.spawner.find(first)->started_us - t0) / 1000 >= 300);
    f.spawner.exit(first, 0);
    CHECK(f.got.last(1)->queue_time_ms >= 290);
    CHECK(f.got.last(1)->start_delay_ms == 300);
    Fixture::settle();
    auto second = f.pending().back();
    CHECK(f.action_of(second) == "monitor");
    f.spawner.exit(second, 0);
    CHECK(f.got.last(2)->queue_time_ms >= 290);
}

TEST_CASE("queue: recurring runs at once, then interval after completion", "[queue][recurring]")
{
    Fixture f;
    gint64 t0 = g_get_monotonic_time();
    f.exec.exec(4, req("r1", "monitor", 200));
    Fixture::settle();
    REQUIRE(f.pending().size() == 1);
    CHECK((f.spawner.find(f.pending()[0])->started_us - t0) / 1000 < 100);
    loop_for(nullptr, 300ms);  // the first run takes 300 ms
    gint64 done_at = g_get_monotonic_time();
    f.spawner.exit(f.pending()[0], 0);
    REQUIRE(f.got.count(4) == 1);
    REQUIRE(run_until(
        nullptr, [&] { return f.pending().size() == 1; }, 2000ms));
    gint64 second_start = f.spawner.find(f.pending()[0])->started_us;
    CHECK((second_start - done_at) / 1000 >= 195);
    f.spawner.exit(f.pending()[0], 0);
    CHECK(f.got.count(4) == 2);  // no notify-changes-only: every run reported
    auto list = f.exec.recurring("r1");
    REQUIRE(list);
    REQUIRE(list->size() == 1);
    REQUIRE((*list)[0].ops.size() == 1);
    CHECK((*list)[0].ops[0].action == "monitor");
    CHECK((*list)[0].ops[0].interval_ms == 200);
    CHECK((*list)[0].ops[0].timeout_ms == 20000);
    CHECK_FALSE(f.exec.recurring("nope"));
    CHECK(f.exec.recurring("")->size() == 2);
}

TEST_CASE("queue: notify-changes-only suppresses unchanged recurring results", "[queue][recurring]")
{
    Fixture f;
    auto r = req("r1", "monitor", 50);
    r.callopts = callopt::notify_changes_only;
    f.exec.exec(9, r);
    std::vector<int> codes = {0, 0, 7, 7, 7, 0};
    for (int code : codes) {
        REQUIRE(run_until(
            nullptr, [&] { return f.pending().size() == 1; }, 2000ms));
        f.spawner.exit(f.pending()[0], code);
    }
    REQUIRE(f.got.results.size() == 3);
    CHECK(f.got.results[0].exec_rc == 0);
    CHECK(f.got.results[1].exec_rc == 7);
    CHECK(f.got.results[2].exec_rc == 0);
}

TEST_CASE("queue: duplicate recurring request is merged", "[queue][recurring]")
{
    Fixture f;
    f.exec.exec(10, req("r1", "monitor", 60000));
    Fixture::settle();
    f.spawner.exit(f.pending()[0], 0);
    REQUIRE(f.got.count(10) == 1);
    Fixture::settle();
    CHECK(f.pending().empty());  // waiting a minute
    auto dup = req("r1", "MONITOR", 60000);
    dup.userdata = "new-userdata";
    CHECK(f.exec.exec(11, dup) == 11);
    Fixture::settle();
    REQUIRE(f.pending().size() == 1);  // runs now
    f.spawner.exit(f.pending()[0], 0);
    REQUIRE(f.got.count(11) == 1);
    CHECK(f.got.last(11)->userdata == "new-userdata");
    CHECK(f.exec.recurring("r1")->at(0).ops.size() == 1);
    CHECK(f.exec.cancel("r1", "monitor", 60000) == rc::ok);
    CHECK(f.got.last(11)->op_status == ExecStatus::cancelled);
    CHECK(f.exec.cancel("r1", "monitor", 60000) == rc::not_supported);
}

TEST_CASE("queue: cancel waiting, queued and running ops", "[queue][cancel]")
{
    Fixture f;
    CHECK(f.exec.cancel("nope", "monitor", 0) == rc::no_device);
    CHECK(f.exec.cancel("r1", "monitor", 1000) == rc::not_supported);

    // Waiting for its interval: cancelled with its last exit status, synchronously.
    f.exec.exec(1, req("r1", "monitor", 60000));
    Fixture::settle();
    f.spawner.exit(f.pending()[0], 7);
    CHECK(f.exec.cancel("r1", "monitor", 60000) == rc::ok);
    REQUIRE(f.got.count(1) == 2);
    CHECK(f.got.last(1)->op_status == ExecStatus::cancelled);
    CHECK(f.got.last(1)->exec_rc == 7);

    // Running one-shot: cannot be cancelled. Queued one behind it: cancelled.
    f.exec.exec(2, req("r1", "start"));
    f.exec.exec(3, req("r1", "reload"));
    Fixture::settle();
    CHECK(f.exec.cancel("r1", "start", 0) == rc::not_supported);
    CHECK(f.exec.cancel("r1", "reload", 0) == rc::ok);
    CHECK(f.got.last(3)->op_status == ExecStatus::cancelled);
    f.spawner.exit(f.pending()[0], 0);
    CHECK(f.got.last(2)->op_status == ExecStatus::done);

    // Running recurring: killed, reported cancelled with rc 0 at once; the kill's outcome
    // is swallowed, and the next op waits for the child to be gone.
    f.exec.exec(4, req("r1", "monitor", 5000));
    Fixture::settle();
    auto child = f.pending().at(0);
    f.spawner.set_auto_complete_kills(false);
    CHECK(f.exec.cancel("r1", "monitor", 5000) == rc::ok);
    REQUIRE(f.got.count(4) == 1);
    CHECK(f.got.last(4)->op_status == ExecStatus::cancelled);
    CHECK(f.got.last(4)->exec_rc == 0);
    CHECK(f.spawner.find(child)->killed);
    f.exec.exec(5, req("r1", "stop"));
    Fixture::settle();
    CHECK(f.pending() == std::vector<Spawner::ChildId>{child});
    ChildOutcome killed;
    killed.end = ChildEnd::signaled;
    killed.signal = 9;
    f.spawner.complete(child, killed);
    CHECK(f.got.count(4) == 1);
    Fixture::settle();
    REQUIRE(f.pending().size() == 1);
    CHECK(f.action_of(f.pending()[0]) == "stop");
}

TEST_CASE("queue: stop cancels the resource's recurring ops first", "[queue][cancel]")
{
    Fixture f;
    f.exec.exec(1, req("r1", "monitor", 10000));
    f.exec.exec(2, req("r1", "monitor", 20000));
    f.exec.exec(3, req("r2", "monitor", 10000));
    Fixture::settle();
    // r1's first monitor runs, its second is queued; r2's runs.
    f.spawner.exit(f.pending()[0], 0);
    Fixture::settle();
    std::size_t before = f.got.results.size();
    CHECK(f.exec.exec(4, req("r1", "stop")) == 4);
    // Both of r1's recurring ops reported cancelled before exec() returned, r2's untouched.
    REQUIRE(f.got.results.size() == before + 2);
    CHECK(f.got.results[before].call_id == 1);
    CHECK(f.got.results[before].op_status == ExecStatus::cancelled);
    CHECK(f.got.results[before + 1].call_id == 2);
    CHECK(f.got.results[before + 1].op_status == ExecStatus::cancelled);
    CHECK(f.got.count(3) == 0);
    REQUIRE(run_until(nullptr, [&] {
        for (auto id : f.pending()) {
            if (f.action_of(id) == "stop") return true;
        }
        return false;
    }));
    for (auto id : f.pending())
        f.spawner.exit(id, 0);
    CHECK(f.got.last(4)->op_status == ExecStatus::done);
    CHECK(f.exec.recurring("r1")->at(0).ops.empty());
    CHECK(f.exec.recurring("r2")->at(0).ops.size() == 1);
}

TEST_CASE("queue: unregister while an op runs", "[queue][registry]")
{
    Fixture f;
    f.exec.exec(1, req("r1", "start"));
    f.exec.exec(2, req("r1", "monitor", 10000));
    Fixture::settle();
    CHECK(f.exec.unregister_resource("r1") == rc::in_progress);
    CHECK(f.exec.find("r1") == nullptr);
    REQUIRE(f.got.count(2) == 1);  // queued op cancelled synchronously
    CHECK(f.got.last(2)->op_status == ExecStatus::cancelled);
    CHECK(f.got.last(2)->rsc_deleted);
    CHECK(f.exec.exec(3, req("r1", "stop")) == rc::no_device);
    f.spawner.exit(f.pending()[0], 0);
    REQUIRE(f.got.count(1) == 1);
    CHECK(f.got.last(1)->op_status == ExecStatus::done);
    CHECK(f.got.last(1)->rsc_deleted);
    CHECK(f.exec.unregister_resource("r1") == rc::ok);
    CHECK(f.exec.unregister_resource("r2") == rc::ok);
    CHECK(f.exec.resource_count() == 0);
}

TEST_CASE("queue: re-registration", "[queue][registry]")
{
    Fixture f;
    f.exec.exec(1, req("r1", "start"));
    f.exec.exec(2, req("r1", "monitor"));
    Fixture::settle();
    ResourceDefinition same = ocf_rsc("r1", "Dummy");
    same.rsc_class = "OCF";
    CHECK(f.exec.register_resource(same) == rc::ok);
    CHECK(f.got.results.empty());
    CHECK(f.exec.register_resource(ocf_rsc("r1", "Other")) == rc::ok);
    REQUIRE(f.got.count(2) == 1);
    CHECK(f.got.last(2)->op_status == ExecStatus::cancelled);
    // 2.1.5 (conformance scenario rc_paths): the queued op of the replaced definition is
    // reported deleted, the running one finishes without the flag.
    CHECK(f.got.last(2)->rsc_deleted);
    CHECK(f.exec.find("r1")->type == "Other");
    f.spawner.exit(f.pending()[0], 0);
    CHECK(f.got.last(1)->op_status == ExecStatus::done);
    CHECK_FALSE(f.got.last(1)->rsc_deleted);
}

TEST_CASE("queue: drop_recurring only for resources registered with the option", "[queue][registry]")
{
    Fixture f;
    ResourceDefinition dropped = ocf_rsc("r3", "Dummy");
    dropped.callopts = callopt::drop_recurring;
    f.exec.register_resource(dropped);
    f.exec.exec(1, req("r1", "monitor", 10000));
    f.exec.exec(2, req("r3", "monitor", 10000));
    Fixture::settle();
    for (auto id : f.pending())
        f.spawner.exit(id, 0);
    f.exec.drop_recurring();
    CHECK(f.got.count(1) == 1);
    REQUIRE(f.got.count(2) == 2);
    CHECK(f.got.last(2)->op_status == ExecStatus::cancelled);
    CHECK(f.exec.recurring("r1")->at(0).ops.size() == 1);
    CHECK(f.exec.recurring("r3")->at(0).ops.empty());
}

TEST_CASE("queue: callopt 1 alone (3.0's drop-recurring) keeps recurring ops, as 2.1.5 does",
          "[queue][registry]")
{
    CHECK(callopt::has_drop_recurring(3));
    CHECK(callopt::has_drop_recurring(7));
    CHECK_FALSE(callopt::has_drop_recurring(1));
    CHECK_FALSE(callopt::has_drop_recurring(2));
    CHECK_FALSE(callopt::has_drop_recurring(5));

    Fixture f;
    ResourceDefinition three_oh = ocf_rsc("r3", "Dummy");
    three_oh.callopts = callopt::drop_recurring_3_0;
    f.exec.register_resource(three_oh);
    f.exec.exec(2, req("r3", "monitor", 10000));
    Fixture::settle();
    for (auto id : f.pending())
        f.spawner.exit(id, 0);
    f.exec.drop_recurring();
    CHECK(f.got.count(2) == 1);
    CHECK(f.exec.recurring("r3")->at(0).ops.size() == 1);
}

TEST_CASE("queue: alerts get the map plus a per-daemon sequence", "[queue][alerts]")
{
    Fixture f;
    outpost::wire::ParamMap env;
    (void)env.insert("CRM_alert_kind", "node");
    (void)env.insert("CRM_alert_recipient", "/tmp/log");
    f.exec.run_alert(AlertRequest{"a1", "/usr/bin/true", 1000, env});
    f.exec.run_alert(AlertRequest{"a2", "/usr/bin/true", 1000, env});
    REQUIRE(f.spawner.records().size() == 2);
    auto has = [&](std::size_t i, const std::string& var) {
        const auto& e = f.spawner.records()[i].request.env;
        return std::find(e.begin(), e.end(), var) != e.end();
    };
    CHECK(has(0, "CRM_alert_kind=node"));
    CHECK(has(0, "CRM_alert_recipient=/tmp/log"));
    CHECK(has(0, "CRM_alert_node_sequence=1"));
    CHECK(has(1, "CRM_alert_node_sequence=2"));
    // The legacy name too, as 2.1.5 exports it.
    CHECK(has(0, "CRM_notify_node_sequence=1"));
    CHECK(has(1, "CRM_notify_node_sequence=2"));
    CHECK(f.spawner.records()[0].request.argv == std::vector<std::string>{"/usr/bin/true"});
    CHECK(f.spawner.records()[0].request.timeout_ms == 1000);

    bool drained = false;
    f.exec.drain_alerts([&] { drained = true; });
    f.exec.run_alert(AlertRequest{"a3", "/usr/bin/true", 1000, env});
    CHECK(f.spawner.records().size() == 2);  // ignored while draining
    Fixture::settle();
    CHECK_FALSE(drained);
    f.spawner.exit(1, 0);
    f.spawner.exit(2, 1);
    CHECK(drained);
    CHECK(f.got.results.empty());  // alerts never produce op results
}

TEST_CASE("queue: the alert user is resolved at the first alert, once", "[queue][alerts]")
{
    OcfTree tree;
    RecordingSpawner spawner;
    Collected got;
    int lookups = 0;
    Executor::Options options{tree.paths, [&lookups]() -> std::optional<RunAs> {
                                  ++lookups;
                                  RunAs run_as;
                                  run_as.uid = 4242;
                                  run_as.gid = 4343;
                                  run_as.groups = {4343, 4444};
                                  return run_as;
                              }};
    Executor exec{nullptr, spawner, std::move(options), got.callbacks()};
    CHECK(lookups == 0);  // not at start: the look-up may load NSS modules

    exec.run_alert(AlertRequest{"a1", "/usr/bin/true", 1000, {}});
    exec.run_alert(AlertRequest{"a2", "/usr/bin/true", 1000, {}});
    CHECK(lookups == 1);
    REQUIRE(spawner.records().size() == 2);
    for (const auto& record : spawner.records()) {
        REQUIRE(record.request.run_as.has_value());
        CHECK(record.request.run_as->uid == 4242);
        CHECK(record.request.run_as->gid == 4343);
        CHECK(record.request.run_as->groups == std::vector<gid_t>{4343, 4444});
    }
    spawner.exit(1, 0);
    spawner.exit(2, 0);
}

TEST_CASE("queue: no alert user (none configured or not found) runs alerts as the daemon", "[queue][alerts]")
{
    OcfTree tree;
    RecordingSpawner spawner;
    Collected got;
    int lookups = 0;
    Executor exec{nullptr, spawner,
                  Executor::Options{tree.paths,
                                    [&lookups]() -> std::optional<RunAs> {
                                        ++lookups;
                                        return std::nullopt;
                                    }},
                  got.callbacks()};
    exec.run_alert(AlertRequest{"a1", "/usr/bin/true", 1000, {}});
    exec.run_alert(AlertRequest{"a2", "/usr/bin/true", 1000, {}});
    CHECK(lookups == 1);  // a missing user is not looked up again for every alert
    REQUIRE(spawner.records().size() == 2);
    CHECK_FALSE(spawner.records()[0].request.run_as.has_value());
    spawner.exit(1, 0);
    spawner.exit(2, 0);
}
