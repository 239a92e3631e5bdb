// systemd class: the pure rules, then every D-Bus path against outpost-fake-systemd (the
// stand-in for systemd's manager that the conformance suite runs too, tests/integration/
// fake_systemd) on a private dbus-daemon: this machine runs no systemd. The results expected
// here are what pacemaker-remoted 2.1.5 reports in the same situations (docs/conformance.md,
// scenarios systemd, systemd_missing, systemd_no_bus, systemd_no_manager, service).
#include <glib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "executor/process_spawner.hpp"
#include "executor/systemd.hpp"
#include "executor_test_support.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::test;

namespace {

constexpr const char* kNoConnection = "No DBus connection";
// The fake's jobs take this long (start, stop, restart).
constexpr int kJobDelayMs = 200;

// A private dbus-daemon standing in for the system bus.
struct PrivateBus {
    GPid pid = 0;
    std::string address;
    TempDir dir;

    PrivateBus()
    {
        // No service directories: nothing is bus-activated (the host's session config would
        // try to activate systemd).
        std::string config = dir / "bus.conf";
        write_file(config, "<busconfig><type>session</type><listen>unix:dir=" + dir.path().string() +
                               "</listen><auth>EXTERNAL</auth><policy context='default'>"
                               "<allow send_destination='*' eavesdrop='true'/><allow eavesdrop='true'/>"
                               "<allow own='*'/></policy></busconfig>\n");
        std::string config_arg = "--config-file=" + config;
        const gchar* argv[] = {"dbus-daemon", config_arg.c_str(), "--nofork", "--print-address=1", nullptr};
        gint out_fd = -1;
        GError* error = nullptr;
        REQUIRE(g_spawn_async_with_pipes(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_SEARCH_PATH,
                                         nullptr, nullptr, &pid, nullptr, &out_fd, nullptr, &error));
        char buf[512];
        std::size_t n = 0;
        while (n < sizeof(buf) - 1) {
            ssize_t got = read(out_fd, buf + n, 1);
            if (got <= 0 || buf[n] == '\n') break;
            ++n;
        }
        buf[n] = '\0';
        close(out_fd);
        address = buf;
        REQUIRE_FALSE(address.empty());
    }
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;
    ~PrivateBus() { stop(); }

    // Ends the bus daemon (as a crashed or restarted dbus-daemon would go).
    void stop()
    {
        if (pid == 0) return;
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
        g_spawn_close_pid(pid);
        pid = 0;
    }
};

// outpost-fake-systemd on `bus`, with units web (starts and stops), broken (fails to
// start), stuck (never finishes starting), masked, bad (a unit file systemd rejected);
// every other unit is not found.
struct FakeSystemd {
    GPid pid = 0;
    TempDir dir;
    std::string run_dir = dir / "run";

    explicit FakeSystemd(const PrivateBus& bus)
    {
        const char* program = std::getenv("OUTPOST_FAKE_SYSTEMD");
        REQUIRE(program != nullptr);
        std::string log = dir / "calls.log";
        std::string ready = dir / "ready";
        std::string dropins = run_dir;
        std::string delay = std::to_string(kJobDelayMs);
        const gchar* argv[] = {program,
                               "--address",
                               bus.address.c_str(),
                               "--log",
                               log.c_str(),
                               "--ready-file",
                               ready.c_str(),
                               "--dropin-dir",
                               dropins.c_str(),
                               "--job-delay-ms",
                               delay.c_str(),
                               "--unit",
                               "web.service=ok",
                               "--unit",
                               "broken.service=fail",
                               "--unit",
                               "stuck.service=stuck",
                               "--unit",
                               "masked.service=masked",
                               "--unit",
                               "bad.service=bad-setting",
                               nullptr};
        GError* error = nullptr;
        REQUIRE(g_spawn_async(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_DO_NOT_REAP_CHILD, nullptr,
                              nullptr, &pid, &error));
        gint64 deadline = g_get_monotonic_time() + gint64{10} * G_USEC_PER_SEC;
        while (!file_exists(ready) && g_get_monotonic_time() < deadline)
            g_usleep(10000);
        REQUIRE(file_exists(ready));
    }
    FakeSystemd(const FakeSystemd&) = delete;
    FakeSystemd& operator=(const FakeSystemd&) = delete;
    ~FakeSystemd()
    {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
        g_spawn_close_pid(pid);
    }

    // The calls made so far, one per line ("Manager.StartUnit /org/... ('web.service', 'replace')").
    [[nodiscard]] std::vector<std::string> calls() const
    {
        std::vector<std::string> out;
        std::string text = read_file(dir / "calls.log");
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find('\n', start);
            std::string line = text.substr(start, end - start);
            if (!line.starts_with("  ")) out.push_back(line);  // calls, not their answers
            if (end == std::string::npos) break;
            start = end + 1;
        }
        return out;
    }
    [[nodiscard]] std::size_t count(const std::string& prefix) const
    {
        auto list = calls();
        return static_cast<std::size_t>(std::count_if(
            list.begin(), list.end(), [&](const std::string& c) { return c.starts_with(prefix); }));
    }
};

// Environment variable for the duration of a scope.
struct BusAddress {
    explicit BusAddress(const std::string& address)
    {
        g_setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), TRUE);
    }
    BusAddress(const BusAddress&) = delete;
    BusAddress& operator=(const BusAddress&) = delete;
    ~BusAddress() { g_unsetenv("DBUS_SYSTEM_BUS_ADDRESS"); }
};

agents::RawResult run_action(systemd::Manager& manager, const std::string& type, const std::string& action,
                             std::uint32_t timeout_ms = 10000)
{
    std::optional<agents::RawResult> result;
    manager.run(agents::systemd_unit_name(type), type, action, timeout_ms,
                [&](agents::RawResult r) { result = std::move(r); });
    CHECK_FALSE(result.has_value());  // always from the loop
    REQUIRE(run_until(
        nullptr, [&] { return result.has_value(); }, 20000ms));
    return *result;
}

void check_result(const agents::RawResult& r, int rc, ExecStatus status, const std::string& reason)
{
    CHECK(r.raw_rc == rc);
    CHECK(r.status == status);
    CHECK(r.reason == reason);
}

struct ExecutorWith {
    OcfTree tree;
    ProcessSpawner spawner;
    Collected got;
    Executor exec;

    explicit ExecutorWith(const std::string& run_dir)
        : tree(), exec(nullptr, spawner, Executor::Options{paths(tree, run_dir), {}}, got.callbacks())
    {
    }
    static agents::Paths paths(OcfTree& t, const std::string& run_dir)
    {
        t.paths.systemd_run_dir = run_dir;
        return t.paths;
    }
    ExecNotify run(int call_id, ExecRequest r, int timeout_ms = 20000)
    {
        const int accepted = exec.exec(call_id, std::move(r));
        REQUIRE(accepted == call_id);
        REQUIRE(got.wait(call_id, 1, timeout_ms));
        return *got.last(call_id);
    }
};

}  // namespace

TEST_CASE("systemd: ActiveState mapping, drop-in, metadata, which units the service class takes", "[systemd]")
{
    CHECK(systemd::rc_for_active_state("active") == 0);
    CHECK(systemd::rc_for_active_state("reloading") == 0);
    CHECK(systemd::rc_for_active_state("activating") == 193);
    CHECK(systemd::rc_for_active_state("deactivating") == 193);
    CHECK(systemd::rc_for_active_state("inactive") == 7);
    CHECK(systemd::rc_for_active_state("failed") == 7);
    CHECK(systemd::rc_for_active_state("") == 7);
    // The drop-in goes to "<type>.service.d", even for a type that already names its unit.
    CHECK(systemd::drop_in_path("/run/systemd/system", "httpd") ==
          "/run/systemd/system/httpd.service.d/50-pacemaker.conf");
    CHECK(systemd::drop_in_path("/run/systemd/system", "httpd.service") ==
          "/run/systemd/system/httpd.service.service.d/50-pacemaker.conf");
    CHECK(
        systemd::drop_in_text("httpd") ==
        "[Unit]\nDescription=Cluster Controlled httpd\nBefore=pacemaker.service pacemaker_remote.service\n\n"
        "[Service]\nRestart=no\n\n");
    std::string meta = systemd::metadata("web", "The web server");
    CHECK(
        meta.starts_with("<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n"
                         "<resource-agent name=\"web\" version=\"0.1\">\n"));
    CHECK(meta.find("  <longdesc lang=\"en\">\n    The web server\n  </longdesc>\n") != std::string::npos);
    CHECK(meta.find("<shortdesc lang=\"en\">systemd unit file for web</shortdesc>") != std::string::npos);
    CHECK(meta.ends_with("  <special tag=\"systemd\"/>\n</resource-agent>\n"));
    CHECK(systemd::metadata("web", "").find("    Systemd unit file for web\n") != std::string::npos);
    CHECK(systemd::metadata("a&b", "<x>").find("a&amp;b") != std::string::npos);
    CHECK(systemd::load_state_exists("loaded"));
    CHECK(systemd::load_state_exists("masked"));
    CHECK_FALSE(systemd::load_state_exists("not-found"));
    CHECK_FALSE(systemd::load_state_exists("bad-setting"));
    CHECK_FALSE(systemd::load_state_exists("error"));
}

TEST_CASE("systemd: no system bus: every action fails with No DBus connection", "[systemd]")
{
    TempDir dir;
    BusAddress address("unix:path=" + dir.file("no-such-socket"));
    systemd::Manager manager(nullptr, dir / "run");
    CHECK_FALSE(manager.unit_exists("web.service"));
    for (const char* action : {"status", "start", "stop", "restart", "reload", "meta-data"}) {
        INFO(action);
        check_result(run_action(manager, "web", action), 1, ExecStatus::error, kNoConnection);
    }
    CHECK_FALSE(file_exists(systemd::drop_in_path(dir.file("run"), "web")));

    // Through the executor: the systemd class, and "service" falling back to LSB.
    ExecutorWith t(dir / "run");
    t.exec.register_resource(ResourceDefinition{"s", "systemd", "", "web", 0});
    t.exec.register_resource(ResourceDefinition{"v", "service", "", "web", 0});
    ExecNotify s = t.run(1, req("s", "monitor"));
    CHECK(s.exec_rc == 1);
    CHECK(s.op_status == ExecStatus::error);
    CHECK(s.exit_reason == kNoConnection);
    CHECK(s.action == "monitor");
    ExecNotify v = t.run(2, req("v", "monitor"));
    CHECK(v.exec_rc == 5);
    CHECK(v.exit_reason == t.tree.paths.lsb_dir + "/web: No such file or directory");
}

TEST_CASE("systemd: a bus without systemd: No DBus object found, meta-data still answers", "[systemd]")
{
    TempDir dir;
    PrivateBus bus;
    BusAddress address(bus.address);
    systemd::Manager manager(nullptr, dir / "run");
    CHECK_FALSE(manager.unit_exists("web.service"));
    for (const char* action : {"status", "start", "stop", "restart", "reload"}) {
        INFO(action);
        check_result(run_action(manager, "web", action), 1, ExecStatus::error,
                     "No DBus object found for systemd unit web");
    }
    agents::RawResult meta = run_action(manager, "web", "meta-data");
    check_result(meta, 0, ExecStatus::done, "");
    CHECK(meta.out == systemd::metadata("web", ""));
    CHECK_FALSE(file_exists(systemd::drop_in_path(dir.file("run"), "web")));  // nothing was started
}

TEST_CASE("systemd: one attempt per action against a fake systemd", "[systemd]")
{
    PrivateBus bus;
    BusAddress address(bus.address);
    FakeSystemd fake(bus);
    systemd::Manager manager(nullptr, fake.run_dir);
    CHECK(manager.unit_exists("web.service"));
    CHECK(manager.unit_exists("masked.service"));
    CHECK_FALSE(manager.unit_exists("missing.service"));
    CHECK_FALSE(manager.unit_exists("bad.service"));

    check_result(run_action(manager, "web", "status"), 7, ExecStatus::done, "inactive");

    // start: drop-in, Reload, StartUnit; the queued job is left to follow-ups.
    agents::RawResult started = run_action(manager, "web", "start");
    CHECK(started.follow_up);
    check_result(started, 193, ExecStatus::pending, "");
    std::string dropin = systemd::drop_in_path(fake.run_dir, "web");
    CHECK(read_file(dropin) == systemd::drop_in_text("web"));
    auto calls = fake.calls();
    auto start = std::find_if(calls.begin(), calls.end(),
                              [](const std::string& c) { return c.starts_with("Manager.StartUnit"); });
    REQUIRE(start != calls.end());
    CHECK(start->ends_with("('web.service', 'replace')"));
    CHECK((start - 1)->starts_with("Manager.Reload"));
    CHECK((start - 2)->starts_with("Manager.LoadUnit"));
    loop_for(nullptr, std::chrono::milliseconds(kJobDelayMs + 200));
    check_result(run_action(manager, "web", "monitor"), 0, ExecStatus::done, "");

    // restart: done once the job is queued.
    check_result(run_action(manager, "web", "restart"), 0, ExecStatus::done, "");
    CHECK(fake.count("Manager.RestartUnit") == 1);
    check_result(run_action(manager, "web", "status"), 193, ExecStatus::pending, "");  // still activating
    loop_for(nullptr, std::chrono::milliseconds(kJobDelayMs + 200));

    check_result(run_action(manager, "web", "reload"), 3, ExecStatus::error,
                 "Action reload not implemented for systemd resources");
    agents::RawResult meta = run_action(manager, "web", "meta-data");
    check_result(meta, 0, ExecStatus::done, "");
    CHECK(meta.out == systemd::metadata("web", "web.service"));  // the fake's Description

    // stop: the drop-in goes (with a Reload), the job is followed up; without a drop-in, no Reload.
    std::size_t reloads = fake.count("Manager.Reload");
    agents::RawResult stopped = run_action(manager, "web", "stop");
    CHECK(stopped.follow_up);
    CHECK_FALSE(file_exists(dropin));
    CHECK(fake.count("Manager.Reload") == reloads + 1);
    loop_for(nullptr, std::chrono::milliseconds(kJobDelayMs + 200));
    CHECK(run_action(manager, "web", "stop").follow_up);
    CHECK(fake.count("Manager.Reload") == reloads + 1);
    check_result(run_action(manager, "web", "status"), 7, ExecStatus::done, "inactive");

    // Units systemd does not know: start and restart not installed, stop followed up.
    check_result(run_action(manager, "missing", "status"), 7, ExecStatus::done, "inactive");
    check_result(run_action(manager, "missing", "start"), 5, ExecStatus::not_installed,
                 "systemd unit missing not found");
    check_result(run_action(manager, "missing", "restart"), 5, ExecStatus::not_installed,
                 "systemd unit missing not found");
    CHECK(run_action(manager, "missing", "stop").follow_up);
    // A masked unit: systemd refuses.
    check_result(run_action(manager, "masked", "start"), 1, ExecStatus::error,
                 "Unable to invoke systemd DBus method");
    CHECK(run_action(manager, "masked", "stop").follow_up);
}

TEST_CASE("systemd: the executor follows starts and stops up until they settle or time out", "[systemd]")
{
    PrivateBus bus;
    BusAddress address(bus.address);
    FakeSystemd fake(bus);
    ExecutorWith t(fake.run_dir);
    t.exec.register_resource(ResourceDefinition{"web", "systemd", "", "web", 0});
    t.exec.register_resource(ResourceDefinition{"broken", "systemd", "", "broken", 0});
    t.exec.register_resource(ResourceDefinition{"stuck", "systemd", "", "stuck", 0});
    t.exec.register_resource(ResourceDefinition{"missing", "systemd", "", "missing", 0});
    t.exec.register_resource(ResourceDefinition{"svc", "service", "", "web", 0});

    ExecNotify started = t.run(1, req("web", "start", 0, 5000));
    CHECK(started.action == "start");
    CHECK(started.exec_rc == 0);
    CHECK(started.op_status == ExecStatus::done);
    CHECK(started.start_delay_ms == 500);  // the delay before the status check, as 2.1.5 reports it
    CHECK(started.exec_time_ms >= 500);
    CHECK(started.rcchange_time == 0);  // the check saw it running
    CHECK(t.run(2, req("web", "monitor")).exec_rc == 0);

    ExecNotify stopped = t.run(3, req("web", "stop", 0, 5000));
    CHECK(stopped.exec_rc == 0);
    CHECK(stopped.exit_reason == "inactive");
    CHECK(stopped.rcchange_time > 0);  // the check saw "not running"

    ExecNotify failed = t.run(4, req("broken", "start", 0, 5000));
    CHECK(failed.exec_rc == 1);
    CHECK(failed.op_status == ExecStatus::done);
    CHECK(failed.exit_reason == "failed");

    ExecNotify gave_up = t.run(5, req("stuck", "start", 0, 1000));
    CHECK(gave_up.exec_rc == 1);
    CHECK(gave_up.op_status == ExecStatus::timeout);
    CHECK(gave_up.exit_reason == agents::kFollowUpTimeoutReason);
    CHECK(gave_up.exec_time_ms >= 900);
    ExecNotify pending = t.run(6, req("stuck", "monitor"));
    CHECK(pending.exec_rc == 193);
    CHECK(pending.op_status == ExecStatus::pending);

    ExecNotify gone = t.run(7, req("missing", "stop", 0, 5000));
    CHECK(gone.exec_rc == 0);
    CHECK(gone.exit_reason == "inactive");

    // "service" without an init script is the systemd unit; it is looked up again after each
    // run, as 2.1.5 does.
    std::size_t lookups = fake.count(
        "Properties.Get /org/freedesktop/systemd1/unit/web_2eservice ('org.freedesktop.systemd1.Unit', "
        "'LoadState')");
    ExecNotify svc = t.run(8, req("svc", "monitor"));
    CHECK(svc.exec_rc == 7);
    CHECK(svc.exit_reason == "inactive");
    CHECK(fake.count("Properties.Get /org/freedesktop/systemd1/unit/web_2eservice "
                     "('org.freedesktop.systemd1.Unit', 'LoadState')") == lookups + 2);
}

TEST_CASE("systemd: the bus going away fails the action, without spinning", "[systemd]")
{
    TempDir dir;
    PrivateBus bus;
    BusAddress address(bus.address);
    FakeSystemd fake(bus);
    systemd::Manager manager(nullptr, dir / "run");
    REQUIRE(run_action(manager, "web", "status").raw_rc == 7);  // connected

    bus.stop();
    agents::RawResult lost = run_action(manager, "web", "status");
    CHECK(lost.raw_rc == 1);
    CHECK(lost.status == ExecStatus::error);

    // The dead connection is not polled in a loop: the process stays idle.
    struct rusage before {};
    struct rusage after {};
    getrusage(RUSAGE_SELF, &before);
    loop_for(nullptr, 500ms);
    getrusage(RUSAGE_SELF, &after);
    auto cpu_us = [](const struct rusage& u) {
        return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000L + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
    };
    // 500 ms of a spinning loop would be ~500000.
    CHECK(cpu_us(after) - cpu_us(before) < 100000);

    // The next action opens a new connection, which fails now.
    check_result(run_action(manager, "web", "status"), 1, ExecStatus::error, kNoConnection);
    CHECK_FALSE(manager.unit_exists("web.service"));
}
