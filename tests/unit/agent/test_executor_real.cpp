// Executor with real agents: shell scripts written into a temp OCF root and LSB dir, run by
// the real ProcessSpawner on the GLib main loop.
#include <signal.h>
#include <catch2/catch.hpp>

#include "executor/process_spawner.hpp"
#include "executor_test_support.hpp"
#include "isolation/manager.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::test;

namespace {

// A Dummy-like agent keeping its state in a file named by the "state" parameter.
const char* kDummy = R"(
case "$1" in
start) touch "$OCF_RESKEY_state"; exit 0;;
stop) rm -f "$OCF_RESKEY_state"; exit 0;;
monitor) [ -e "$OCF_RESKEY_state" ] && exit 0; exit 7;;
*) exit 3;;
esac
)";

struct Real {
    OcfTree tree;
    ProcessSpawner spawner;
    Collected got;
    Executor exec{nullptr, spawner, Executor::Options{tree.paths, {}}, got.callbacks()};

    ExecRequest with_state(const std::string& rsc, const std::string& action, std::uint32_t interval = 0)
    {
        ExecRequest r = req(rsc, action, interval);
        (void)r.params.insert("state", tree.dir / (rsc + ".state"));
        return r;
    }
    // Runs one op to completion and returns its result.
    ExecNotify run(int call_id, ExecRequest r, int timeout_ms = 10000)
    {
        // Outside REQUIRE: Catch's macro names its expression twice (once unevaluated),
        // which reads as a use after the move.
        const int queued = exec.exec(call_id, std::move(r));
        REQUIRE(queued == call_id);
        REQUIRE(got.wait(call_id, 1, timeout_ms));
        return *got.last(call_id);
    }
};

}  // namespace

TEST_CASE("real: start, monitor running and stopped, stop", "[real]")
{
    Real t;
    t.tree.agent("test", "Dummy", kDummy);
    t.exec.register_resource(ocf_rsc("d1", "Dummy"));
    ExecNotify probe = t.run(1, t.with_state("d1", "monitor"));
    CHECK(probe.exec_rc == 7);
    CHECK(probe.op_status == ExecStatus::done);
    CHECK(probe.rcchange_time > 0);
    CHECK(t.run(2, t.with_state("d1", "start")).exec_rc == 0);
    ExecNotify mon = t.run(3, t.with_state("d1", "monitor"));
    CHECK(mon.exec_rc == 0);
    CHECK(mon.params == t.with_state("d1", "monitor").params);  // echoed unchanged
    CHECK(t.run(4, t.with_state("d1", "stop")).exec_rc == 0);
    CHECK(t.run(5, t.with_state("d1", "monitor")).exec_rc == 7);
    CHECK(t.run(6, t.with_state("d1", "promote")).exec_rc == 3);
}

TEST_CASE("real: OCF environment and OCF_CHECK_LEVEL", "[real]")
{
    Real t;
    std::string dump = t.tree.dir / "env.dump";
    t.tree.agent("prov", "EnvDump", "env > '" + dump + "'; echo \"argv=$0 $1\" >> '" + dump + "'; exit 0\n");
    t.exec.register_resource(ResourceDefinition{"e1", "ocf", "prov", "EnvDump", 0});
    ExecRequest r = req("e1", "monitor", 0);
    (void)r.params.insert("ip", "192.0.2.1");
    (void)r.params.insert("CRM_meta_interval", "0");
    (void)r.params.insert("OCF_CHECK_LEVEL", "20");
    (void)r.params.insert("crm_feature_set", "3.16.2");
    CHECK(t.run(1, r).exec_rc == 0);
    std::string env = read_file(dump);
    for (const char* line : {"OCF_ROOT=", "OCF_RA_VERSION_MAJOR=1\n", "OCF_RA_VERSION_MINOR=1\n",
                             "OCF_EXIT_REASON_PREFIX=ocf-exit-reason:\n", "OCF_RESOURCE_INSTANCE=e1\n",
                             "OCF_RESOURCE_TYPE=EnvDump\n", "OCF_RESOURCE_PROVIDER=prov\n",
                             "OCF_RESKEY_ip=192.0.2.1\n", "OCF_RESKEY_CRM_meta_interval=0\n",
                             "OCF_RESKEY_crm_feature_set=3.16.2\n", "OCF_CHECK_LEVEL=20\n"}) {
        INFO(line);
        CHECK(env.find(line) != std::string::npos);
    }
    CHECK(env.find("OCF_ROOT=" + t.tree.paths.ocf_root + "\n") != std::string::npos);
    CHECK(env.find("OCF_RESKEY_OCF_CHECK_LEVEL") == std::string::npos);
    CHECK(env.find("argv=" + t.tree.paths.ocf_ra_path[0] + "/prov/EnvDump monitor") != std::string::npos);
    CHECK(env.find("PWD=" + t.tree.paths.working_dir) != std::string::npos);
}

TEST_CASE("real: exit reason and output", "[real]")
{
    Real t;
    t.tree.agent("test", "Reasons", R"(
echo "some stdout"
echo "ocf-exit-reason:first reason" >&2
echo "ocf-exit-reason:hyperdrive quota reached" >&2
exit 1
)");
    t.tree.agent("test", "LongReason", "printf 'ocf-exit-reason:%0200d\\n' 0 >&2; exit 6\n");
    t.tree.agent("test", "StdoutOnly", "echo only stdout; exit 0\n");
    t.exec.register_resource(ocf_rsc("a", "Reasons"));
    t.exec.register_resource(ocf_rsc("b", "LongReason"));
    t.exec.register_resource(ocf_rsc("c", "StdoutOnly"));
    ExecNotify a = t.run(1, req("a", "start"));
    CHECK(a.exec_rc == 1);
    CHECK(a.op_status == ExecStatus::done);
    CHECK(a.exit_reason == "hyperdrive quota reached");
    CHECK(a.output == "ocf-exit-reason:first reason\nocf-exit-reason:hyperdrive quota reached\n");
    ExecNotify b = t.run(2, req("b", "start"));
    CHECK(b.exec_rc == 6);
    CHECK(b.exit_reason == std::string(128, '0'));
    ExecNotify c = t.run(3, req("c", "start"));
    CHECK(c.output == "only stdout\n");
    CHECK(!c.exit_reason);
}

TEST_CASE("real: not installed (OCF, LSB, unknown class) with exact reasons and change times", "[real]")
{
    Real t;
    t.exec.register_resource(ocf_rsc("o", "NoSuchAgent"));
    t.exec.register_resource(ResourceDefinition{"l", "lsb", "", "nosuchscript", 0});
    ExecNotify o = t.run(1, req("o", "start"));
    CHECK(o.exec_rc == 5);
    CHECK(o.op_status == ExecStatus::not_installed);
    CHECK(o.exit_reason == "NoSuchAgent: No such file or directory");
    // As 2.1.5: a missing OCF agent leaves rcchange_time 0, a missing init script sets it.
    CHECK(o.rcchange_time == 0);
    ExecNotify l = t.run(2, req("l", "monitor"));
    CHECK(l.exec_rc == 5);
    CHECK(l.op_status == ExecStatus::not_installed);
    CHECK(l.exit_reason == t.tree.paths.lsb_dir + "/nosuchscript: No such file or directory");
    CHECK(l.rcchange_time > 0);

    // An unknown class: not installed, named by the type, no rcchange_time (2.1.5).
    t.exec.register_resource(ResourceDefinition{"b", "bogus", "", "whatever", 0});
    for (const char* action : {"monitor", "start"}) {
        ExecNotify b = t.run(action[0] == 'm' ? 4 : 5, req("b", action));
        CHECK(b.exec_rc == 5);
        CHECK(b.op_status == ExecStatus::not_installed);
        CHECK(b.exit_reason == "whatever: No such file or directory");
        CHECK(b.rcchange_time == 0);
    }

    // Present but not executable: insufficient privileges.
    write_file(t.tree.paths.ocf_ra_path[0] + "/test/NoExec", "#!/bin/sh\nexit 0\n", 0644);
    t.exec.register_resource(ocf_rsc("n", "NoExec"));
    ExecNotify n = t.run(3, req("n", "start"));
    CHECK(n.exec_rc == 4);
    CHECK(n.op_status == ExecStatus::error);
}

TEST_CASE("real: LSB status mapping, monitor runs status, no parameters", "[real]")
{
    Real t;
    std::string log = t.tree.dir / "lsb.log";
    t.tree.lsb("svc", "echo \"$1 reskey=${OCF_RESKEY_p:-none}\" >> '" + log + "'; exit ${RC:-0}\n");
    t.tree.lsb("st3", "exit 3\n");
    t.tree.lsb("st4", "exit 4\n");
    t.tree.lsb("st150", "exit 150\n");
    t.tree.lsb("start6", "exit 6\n");
    t.exec.register_resource(ResourceDefinition{"s", "lsb", "", "svc", 0});
    ExecRequest r = req("s", "monitor");
    (void)r.params.insert("p", "v");
    CHECK(t.run(1, r).exec_rc == 0);
    CHECK(read_file(log) == "status reskey=none\n");
    int call = 10;
    for (auto [type, action, rc] :
         std::vector<std::tuple<std::string, std::string, int>>{{"st3", "monitor", 7},
                                                                {"st4", "status", 1},
                                                                {"st150", "monitor", 5},
                                                                {"start6", "start", 6},
                                                                {"st3", "start", 3}}) {
        t.exec.register_resource(ResourceDefinition{type, "LSB", "", type, 0});
        INFO(type << " " << action);
        CHECK(t.run(++call, req(type, action)).exec_rc == rc);
    }
}

TEST_CASE("real: service class resolves to LSB when the init script exists", "[real]")
{
    Real t;
    t.tree.lsb("svc", "[ \"$1\" = status ] && exit 3; exit 0\n");
    t.exec.register_resource(ResourceDefinition{"s", "service", "", "svc", 0});
    CHECK(t.run(1, req("s", "monitor")).exec_rc == 7);
    CHECK(t.run(2, req("s", "start")).exec_rc == 0);
}

TEST_CASE("real: timeout kills the whole process group", "[real]")
{
    Real t;
    std::string pidfile = t.tree.dir / "grandchild.pid";
    t.tree.agent("test", "Hang", "sleep 60 & echo $! > '" + pidfile + "'; wait\n");
    t.exec.register_resource(ocf_rsc("h", "Hang"));
    ExecRequest r = req("h", "start", 0, 1500);
    gint64 t0 = g_get_monotonic_time();
    ExecNotify res = t.run(1, r);
    CHECK((g_get_monotonic_time() - t0) / 1000 >= 1500);
    CHECK(res.exec_rc == 1);
    CHECK(res.op_status == ExecStatus::timeout);
    CHECK(res.exit_reason == "Resource agent did not complete within 1.500s");
    CHECK(res.timeout_ms == 1500);
    CHECK(res.exec_time_ms >= 1500);
    pid_t grandchild = std::stoi(read_file(pidfile));
    CHECK(run_until(
        nullptr, [&] { return kill(grandchild, 0) != 0; }, 3000ms));

    // An agent killed by another signal.
    t.tree.agent("test", "Segv", "kill -SEGV $$\n");
    t.exec.register_resource(ocf_rsc("s", "Segv"));
    ExecNotify segv = t.run(2, req("s", "start"));
    CHECK(segv.exec_rc == 1);
    CHECK(segv.op_status == ExecStatus::error);
    CHECK(segv.exit_reason == std::string("Resource agent interrupted by ") + strsignal(SIGSEGV) + " signal");
}

TEST_CASE("real: serial per resource, parallel across resources", "[real]")
{
    Real t;
    std::string log = t.tree.dir / "times.log";
    t.tree.agent("test", "Slow",
                 "echo \"$OCF_RESOURCE_INSTANCE $1 start $(date +%s%N)\" >> '" + log +
                     "'; sleep 0.4; echo \"$OCF_RESOURCE_INSTANCE $1 end $(date +%s%N)\" >> '" + log +
                     "'; exit 0\n");
    t.exec.register_resource(ocf_rsc("p1", "Slow"));
    t.exec.register_resource(ocf_rsc("p2", "Slow"));
    gint64 t0 = g_get_monotonic_time();
    t.exec.exec(1, req("p1", "start"));
    t.exec.exec(2, req("p1", "monitor"));
    t.exec.exec(3, req("p2", "start"));
    REQUIRE(t.got.wait(2, 1, 10000));
    REQUIRE(t.got.wait(3, 1, 10000));
    gint64 elapsed = (g_get_monotonic_time() - t0) / 1000;
    CHECK(elapsed >= 800);  // p1's two ops one after the other
    CHECK(elapsed < 1400);  // p2 alongside them
    CHECK(t.got.results.at(0).call_id != 2);
    // p1's monitor started after p1's start ended, from the agents' own timestamps.
    std::string text = read_file(log);
    auto stamp = [&](const std::string& key) {
        auto at = text.find(key);
        REQUIRE(at != std::string::npos);
        return std::stoll(text.substr(at + key.size()));
    };
    CHECK(stamp("p1 monitor start ") >= stamp("p1 start end "));
    CHECK(stamp("p2 start start ") < stamp("p1 start end "));
}

TEST_CASE("real: recurring monitor with notify-changes-only and cancel while running", "[real]")
{
    Real t;
    t.tree.agent("test", "Dummy", kDummy);
    t.exec.register_resource(ocf_rsc("d1", "Dummy"));
    ExecRequest mon = t.with_state("d1", "monitor", 100);
    mon.callopts = callopt::notify_changes_only;
    t.exec.exec(1, mon);
    REQUIRE(t.got.wait(1));
    CHECK(t.got.last(1)->exec_rc == 7);
    loop_for(nullptr, 600ms);  // several runs, all 7: suppressed
    CHECK(t.got.count(1) == 1);
    write_file(t.tree.dir / "d1.state", "");
    REQUIRE(t.got.wait(1, 2, 3000));
    CHECK(t.got.last(1)->exec_rc == 0);
    CHECK(t.got.last(1)->rcchange_time > 0);

    // A monitor that is running when cancelled: killed, reported cancelled (rc 0).
    t.tree.agent("test", "SlowMon", "sleep 5; exit 0\n");
    t.exec.register_resource(ocf_rsc("m", "SlowMon"));
    t.exec.exec(2, req("m", "monitor", 1000));
    REQUIRE(run_until(nullptr, [&] { return t.exec.running_count() == 1 || t.spawner.running() >= 1; }));
    loop_for(nullptr, 100ms);
    std::size_t before = t.got.results.size();
    CHECK(t.exec.cancel("m", "monitor", 1000) == rc::ok);
    REQUIRE(t.got.results.size() == before + 1);
    CHECK(t.got.results.back().call_id == 2);
    CHECK(t.got.results.back().op_status == ExecStatus::cancelled);
    CHECK(t.got.results.back().exec_rc == 0);
    REQUIRE(run_until(
        nullptr, [&] { return t.spawner.running() <= 1; }, 3000ms));  // only d1's monitor may run
    loop_for(nullptr, 200ms);
    CHECK(t.got.count(2) == 1);
}

TEST_CASE("real: unregister while running", "[real]")
{
    Real t;
    t.tree.agent("test", "Slow", "sleep 0.5; exit 0\n");
    t.exec.register_resource(ocf_rsc("u", "Slow"));
    t.exec.exec(1, req("u", "start"));
    REQUIRE(run_until(nullptr, [&] { return t.spawner.running() == 1; }));
    CHECK(t.exec.unregister_resource("u") == rc::in_progress);
    REQUIRE(t.got.wait(1));
    CHECK(t.got.last(1)->rsc_deleted);
    CHECK(t.got.last(1)->exec_rc == 0);
}

TEST_CASE("real: alerts run with the given environment and their own timeout", "[real][alerts]")
{
    Real t;
    std::string out = t.tree.dir / "alert.out";
    std::string agent = t.tree.dir / "alert.sh";
    write_script(agent, "echo \"kind=$CRM_alert_kind seq=$CRM_alert_node_sequence\" >> '" + out + "'\n");
    outpost::wire::ParamMap env;
    (void)env.insert("CRM_alert_kind", "resource");
    t.exec.run_alert(AlertRequest{"al", agent, 5000, env});
    t.exec.run_alert(AlertRequest{"al", agent, 5000, env});
    REQUIRE(run_until(
        nullptr, [&] { return read_file(out).size() >= 2 * std::string("kind=resource seq=1\n").size(); }));
    REQUIRE(run_until(nullptr, [&] { return t.spawner.running() == 0; }));
    // The two alerts run at the same time: either may append first.
    const std::string both = read_file(out);
    CHECK((both == "kind=resource seq=1\nkind=resource seq=2\n" ||
           both == "kind=resource seq=2\nkind=resource seq=1\n"));

    std::string pidfile = t.tree.dir / "alert.pid";
    std::string hang = t.tree.dir / "hang.sh";
    write_script(hang, "sleep 60 & echo $! > '" + pidfile + "'; wait\n");
    t.exec.run_alert(AlertRequest{"slow", hang, 300, env});
    bool drained = false;
    t.exec.drain_alerts([&] { drained = true; });
    REQUIRE(run_until(
        nullptr, [&] { return drained; }, 5000ms));
    pid_t grandchild = std::stoi(read_file(pidfile));
    CHECK(run_until(
        nullptr, [&] { return kill(grandchild, 0) != 0; }, 3000ms));
    CHECK(t.got.results.empty());
}

TEST_CASE("real: nagios probe, start checked again until it succeeds or times out, stop", "[real][nagios]")
{
    Real t;
    const std::string runs = t.tree.dir / "runs";
    // Fails twice, then succeeds; every run is counted.
    write_script(
        t.tree.paths.nagios_dir + "/check_third",
        "echo run >> '" + runs + "'\n[ $(wc -l < '" + runs + "') -ge 3 ] && exit 0\necho not yet\nexit 2\n");
    write_script(t.tree.paths.nagios_dir + "/check_never", "echo critical\nexit 2\n");
    write_script(t.tree.paths.nagios_dir + "/check_version",
                 "[ \"$1\" = --version ] && echo v1.0 && exit 0\nexit 2\n");
    t.exec.register_resource(ResourceDefinition{"third", "nagios", "", "check_third", 0});
    t.exec.register_resource(ResourceDefinition{"never", "nagios", "", "check_never", 0});
    t.exec.register_resource(ResourceDefinition{"version", "nagios", "", "check_version", 0});

    // A probe: the plugin answers --version, so "not running"; the change time is that of
    // the plugin's success (none). A plugin failing even that is an error.
    ExecNotify probe = t.run(1, req("version", "monitor", 0, 5000));
    CHECK(probe.exec_rc == 7);
    CHECK(probe.rcchange_time == 0);
    CHECK(probe.output == "v1.0\n");
    ExecNotify failing = t.run(10, req("never", "monitor", 0, 5000));
    CHECK(failing.exec_rc == 1);
    CHECK(failing.rcchange_time > 0);

    gint64 t0 = g_get_monotonic_time();
    ExecNotify started = t.run(2, req("third", "start", 0, 3000));
    CHECK(started.exec_rc == 0);
    CHECK(started.op_status == ExecStatus::done);
    CHECK(started.action == "start");
    CHECK(started.start_delay_ms == 300);  // timeout/10, reported as 2.1.5 does
    CHECK(started.exec_time_ms >= 600);
    CHECK((g_get_monotonic_time() - t0) / 1000 >= 600);
    CHECK(read_file(runs) == "run\nrun\nrun\n");
    CHECK(started.rcchange_time > 0);  // the failed runs changed it

    ExecNotify gave_up = t.run(3, req("never", "start", 0, 1000), 5000);
    CHECK(gave_up.exec_rc == 1);
    CHECK(gave_up.op_status == ExecStatus::timeout);
    CHECK(gave_up.exit_reason == agents::kFollowUpTimeoutReason);
    CHECK(gave_up.exec_time_ms >= 900);
    CHECK(gave_up.start_delay_ms > 0);

    ExecNotify stopped = t.run(4, req("never", "stop"));
    CHECK(stopped.exec_rc == 0);
    CHECK(!stopped.output);

    // Recurring monitors run the check itself, every time.
    ExecNotify mon = t.run(5, req("never", "monitor", 60000, 5000));
    CHECK(mon.exec_rc == 1);
    CHECK(t.exec.cancel("never", "monitor", 60000) == 0);
}

TEST_CASE("real: an op queued behind a start being checked again runs first, as in 2.1.5", "[real][nagios]")
{
    Real t;
    write_script(t.tree.paths.nagios_dir + "/check_never", "exit 2\n");
    t.exec.register_resource(ResourceDefinition{"never", "nagios", "", "check_never", 0});
    REQUIRE(t.exec.exec(1, req("never", "start", 0, 1000)) == 1);
    REQUIRE(t.exec.exec(2, req("never", "reload", 0, 1000)) == 2);
    REQUIRE(t.got.wait(1, 1, 5000));
    REQUIRE(t.got.wait(2, 1, 5000));
    // The start's second check waits in the queue behind the reload (queued meanwhile).
    CHECK(t.got.results.front().call_id == 2);
}

TEST_CASE("real: a start waits for the CIB's limits on their way, then runs under them; probes do not wait",
          "[real]")
{
    // The manager over a temporary directory shaped like a cgroup v2 tree (the spawner's
    // write into cgroup.procs is then an ordinary file write).
    OcfTree tree;
    TempDir cg("outpost-gate");
    for (const std::string prefix :
         {"", "outpost-agent/", "outpost-agent/rsc-d1/", "outpost-agent/rsc-d2/"}) {
        for (const char* f : {"cgroup.procs", "cgroup.subtree_control", "memory.max", "memory.high",
                              "cpu.max", "cpu.weight", "pids.max", "io.weight"})
            write_file(cg.file(prefix + f), "");
        write_file(cg.file(prefix + "cgroup.controllers"), "cpu io memory pids\n");
    }
    outpost::agent::isolation::Hierarchy h;
    h.kind = outpost::agent::isolation::Kind::v2;
    h.own.emplace("", cg.path().string());
    outpost::agent::isolation::Manager manager(nullptr, {}, h);
    REQUIRE(manager.confined());
    ProcessSpawner spawner;
    Collected got;
    Executor::Options options{tree.paths, {}};
    options.isolation = &manager;
    Executor exec(nullptr, spawner, options, got.callbacks());
    tree.agent("test", "Dummy", kDummy);
    exec.register_resource(ocf_rsc("d1", "Dummy"));
    exec.register_resource(ocf_rsc("d2", "Dummy"));
    auto with_state = [&](const std::string& rsc, const std::string& action) {
        ExecRequest r = req(rsc, action);
        (void)r.params.insert("state", tree.dir / (rsc + ".state"));
        return r;
    };

    manager.set_cluster_meta_pending(true);
    REQUIRE(exec.exec(1, with_state("d1", "start")) == 1);
    REQUIRE(exec.exec(2, with_state("d2", "monitor")) == 2);  // a probe runs at once
    REQUIRE(got.wait(2));
    loop_for(nullptr, 200ms);
    CHECK(got.count(1) == 0);
    CHECK_FALSE(file_exists(tree.dir / "d1.state"));

    outpost::agent::isolation::ClusterMeta meta;
    meta["d1"].insert("outpost-memory-max", "64M");
    manager.set_cluster_meta(std::move(meta));
    REQUIRE(got.wait(1));
    CHECK(got.last(1)->exec_rc == 0);
    CHECK(outpost::test::read_value(cg.file("outpost-agent/rsc-d1/memory.max")) == "67108864");

    // Ended without a snapshot: the start runs with what is known.
    manager.set_cluster_meta_pending(true);
    REQUIRE(exec.exec(3, with_state("d2", "start")) == 3);
    loop_for(nullptr, 100ms);
    CHECK(got.count(3) == 0);
    manager.set_cluster_meta_pending(false);
    REQUIRE(got.wait(3));
    CHECK(got.last(3)->exec_rc == 0);
}
