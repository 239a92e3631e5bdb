// outpost-controld's FenceDevices with real fence agents (shell scripts in a directory of
// the test, standing in for /usr/sbin): registration by start, probes, monitors, the host
// checks (static-list, dynamic-list, status), the next device after a failure, timeouts;
// topology levels, retries, delays and a reboot by several devices (control/fence_plan.hpp).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "executor/process_spawner.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "tools/outpost-controld/fence_devices.hpp"
#include "wire/codes.hpp"

using namespace outpost;
namespace ctl = outpost::cluster::control;

namespace {

// An agent that logs its stdin's action and port to LOG, answers "list" with r1 and r2,
// "status" 0 for r1 only, and fails every action whose target is "bad".
constexpr const char* kAgent = R"(#!/bin/sh
action="" port=""
while IFS= read -r line; do
    case $line in action=*) action=${line#*=} ;; port=*) port=${line#*=} ;; esac
done
echo "$action${port:+ $port}" >>"$(dirname "$0")/log"
case $action in
    list) echo r1; echo r2,alias ;;
    status) [ "$port" = r1 ] || exit 1 ;;
    monitor) ;;
    sleep) sleep 5 ;;
    *) [ "$port" != bad ] || { echo "no such port" >&2; exit 1; } ;;
esac
)";

struct Fixture {
    test::TempDir dir;
    agent::executor::ProcessSpawner spawner;
    std::vector<wire::ExecNotify> results;
    controld::FenceDevices devices{nullptr, spawner,
                                   [this](const wire::ExecNotify& n) { results.push_back(n); }, dir.path()};
    int next_call = 1;

    Fixture() { dir.write("fence_t", kAgent, 0755); }

    std::string log() const { return test::read_value(dir / "log"); }

    // Runs an operation of device `id` and waits for its result.
    wire::ExecNotify run(const std::string& id, const std::string& action,
                         const std::vector<std::pair<std::string, std::string>>& params = {},
                         std::uint32_t interval_ms = 0)
    {
        wire::ExecRequest request;
        request.rsc_id = id;
        request.action = action;
        request.interval_ms = interval_ms;
        request.params.insert("CRM_meta_timeout", "20000");
        for (const auto& [k, v] : params)
            request.params.insert(k, v);
        const std::size_t before = results.size();
        devices.exec(next_call++, "fence_t", request);
        REQUIRE(test::run_until(
            nullptr, [&] { return results.size() > before; }, std::chrono::seconds(10)));
        return results.back();
    }

    ctl::FenceOutcome fence(const std::string& target, const std::string& action = "reboot",
                            std::uint32_t timeout_ms = 10000,
                            std::vector<std::vector<std::string>> levels = {},
                            std::int64_t requested_delay_ms = 0)
    {
        std::optional<ctl::FenceOutcome> outcome;
        ctl::FenceRequest request;
        request.target = target;
        request.action = action;
        request.timeout_ms = timeout_ms;
        request.topology = !levels.empty();
        request.levels = std::move(levels);
        request.requested_delay_ms = requested_delay_ms;
        devices.fence(request, [&](const ctl::FenceOutcome& o) { outcome = o; });
        CHECK_FALSE(outcome);  // never from inside fence()
        REQUIRE(test::run_until(
            nullptr, [&] { return outcome.has_value(); }, std::chrono::seconds(15)));
        return *outcome;
    }
};

}  // namespace

TEST_CASE("fence devices: start registers after a monitor, probes, stop unregisters", "[fence-devices]")
{
    Fixture f;
    CHECK(f.run("f1", "monitor").exec_rc == wire::ocf::not_running);  // a probe: not registered
    CHECK(f.log().empty());
    CHECK(f.fence("r1").reason == "no fence device is registered");
    auto started = f.run("f1", "start", {{"pcmk_host_list", "r1"}});
    CHECK(started.exec_rc == wire::ocf::ok);
    CHECK(f.log() == "monitor");
    CHECK(f.run("f1", "monitor").exec_rc == wire::ocf::ok);
    CHECK(f.run("f1", "stop").exec_rc == wire::ocf::ok);
    CHECK(f.run("f1", "monitor").exec_rc == wire::ocf::not_running);
    CHECK(f.run("f9", "start", {}).exec_rc == wire::ocf::ok);
    auto missing = f.run("f9", "reload");
    CHECK(missing.op_status == wire::ExecStatus::not_supported);
}

TEST_CASE("fence devices: the host checks choose the device, a failure tries the next", "[fence-devices]")
{
    Fixture f;
    // a: static list without r1; b: dynamic list (the agent lists r1, r2); c: status (r1 only).
    REQUIRE(f.run("a", "start", {{"pcmk_host_list", "r7 bad"}, {"pcmk_reboot_action", "off"}}).exec_rc == 0);
    REQUIRE(f.run("b", "start", {}).exec_rc == 0);
    REQUIRE(f.run("c", "start", {{"pcmk_host_check", "status"}, {"pcmk_host_map", "r2:bad;r1:r1"}}).exec_rc ==
            0);
    auto r1 = f.fence("r1");
    CHECK(r1.ok);
    CHECK(r1.device == "b");  // a does not list r1; b comes before c
    CHECK(f.log() == "monitor\nmonitor\nmonitor\nlist\nreboot r1");
    auto r7 = f.fence("r7");
    CHECK(r7.ok);
    CHECK(r7.device == "a");
    CHECK(f.log().ends_with("off r7"));  // pcmk_reboot_action
    // "bad": a can (its list) but fails; b does not list it; c's status for it fails.
    auto bad = f.fence("bad");
    CHECK_FALSE(bad.ok);
    CHECK(bad.device == "a");
    CHECK(bad.reason == "a (fence_t off): exited 1: no such port");
    auto nobody = f.fence("r9");
    CHECK_FALSE(nobody.ok);
    CHECK(nobody.reason == "no fence device can fence r9");
}

TEST_CASE("fence devices: topology levels, tries and a reboot by several devices", "[fence-devices]")
{
    Fixture f;
    // x fails for t1 (its port is "bad"), y fences it; z cannot (not in its list).
    REQUIRE(f.run("x", "start", {{"pcmk_host_map", "t1:bad"}}).exec_rc == 0);
    REQUIRE(f.run("y", "start", {{"pcmk_host_list", "t1"}}).exec_rc == 0);
    REQUIRE(f.run("z", "start", {{"pcmk_host_list", "t9"}}).exec_rc == 0);
    const std::string before = f.log();
    auto done = f.fence("t1", "off", 10000, {{"x"}, {"z"}, {"nosuch"}, {"y"}});
    CHECK(done.ok);
    CHECK(done.device == "y");
    // x twice (the default pcmk_off_retries), a second apart; z and nosuch skipped.
    CHECK(f.log().substr(before.size()) == "\noff bad\noff bad\noff t1");
    CHECK(done.seconds >= 1.0);
    CHECK(done.seconds < 3.0);

    // Every level fails: the last failure is the reason.
    auto failed = f.fence("t1", "off", 10000, {{"x"}, {"z"}});
    CHECK_FALSE(failed.ok);
    CHECK(failed.reason == "fence device z cannot fence t1");
    // One try when pcmk_off_retries is 1; a level of two fails when one fails.
    REQUIRE(f.run("x1", "start", {{"pcmk_host_map", "t1:bad"}, {"pcmk_off_retries", "1"}}).exec_rc == 0);
    const std::string mark = f.log();
    auto once = f.fence("t1", "off", 10000, {{"y", "x1"}});
    CHECK_FALSE(once.ok);
    CHECK(once.reason == "x1 (fence_t off): exited 1: no such port");
    CHECK(f.log().substr(mark.size()) == "\noff t1\noff bad");

    // A reboot by a level of two: both off, then both on.
    REQUIRE(f.run("p", "start", {{"pcmk_host_map", "t2:p2"}}).exec_rc == 0);
    REQUIRE(f.run("q", "start", {{"pcmk_host_map", "t2:q2"}}).exec_rc == 0);
    const std::string mark2 = f.log();
    auto both = f.fence("t2", "reboot", 10000, {{"p", "q"}});
    CHECK(both.ok);
    CHECK(both.device == "p,q");
    CHECK(f.log().substr(mark2.size()) == "\noff p2\noff q2\non p2\non q2");
}

TEST_CASE("fence devices: pcmk_delay_base before off and reboot, a requested delay before the first",
          "[fence-devices]")
{
    Fixture f;
    REQUIRE(f.run("w", "start", {{"pcmk_host_list", "t1"}, {"pcmk_delay_base", "t1:400ms;t2:5s"}}).exec_rc ==
            0);
    auto delayed = f.fence("t1", "off");
    CHECK(delayed.ok);
    CHECK(delayed.seconds >= 0.4);
    CHECK(delayed.seconds < 2.0);
    auto on = f.fence("t1", "on");  // never delayed
    CHECK(on.ok);
    CHECK(on.seconds < 0.4);
    auto requested = f.fence("t1", "reboot", 10000, {}, 300);
    CHECK(requested.ok);
    CHECK(requested.seconds >= 0.7);
    auto none = f.fence("t1", "reboot", 10000, {}, -1);  // --delay -1: no delay at all
    CHECK(none.ok);
    CHECK(none.seconds < 0.4);
}

TEST_CASE("fence devices: an agent that overruns its timeout fails the fencing", "[fence-devices]")
{
    Fixture f;
    REQUIRE(f.run("s", "start", {{"pcmk_host_check", "none"}, {"pcmk_reboot_action", "sleep"}}).exec_rc == 0);
    auto slow = f.fence("r1", "reboot", 300);
    CHECK_FALSE(slow.ok);
    CHECK(slow.reason == "s (fence_t sleep): timed out after 300 ms");
    CHECK(slow.seconds < 3);
}

TEST_CASE("fence devices: one agent action of a device, registered or not (stonith-ng's st_execute)",
          "[fence-devices]")
{
    Fixture f;
    auto run_action = [&](const ctl::FenceDevice& device, const std::string& action,
                          const std::string& target) {
        std::optional<ctl::FenceActionOutcome> outcome;
        f.devices.run_action(device, action, target, 10000,
                             [&](const ctl::FenceActionOutcome& o) { outcome = o; });
        REQUIRE(test::run_until(
            nullptr, [&] { return outcome.has_value(); }, std::chrono::seconds(10)));
        return *outcome;
    };
    const ctl::FenceDevice device{"f9", "fence_t", {}};
    auto list = run_action(device, "list", {});
    CHECK(list.ran);
    CHECK(list.exit_code == 0);
    CHECK(list.output == "r1\nr2,alias\n");
    auto status = run_action(device, "status", "r2");
    CHECK(status.ran);
    CHECK(status.exit_code == 1);
    CHECK(status.error.starts_with("exited 1"));
    CHECK(f.log() == "list\nstatus r2");
    auto missing = run_action({"f8", "fence_missing", {}}, "list", {});
    CHECK_FALSE(missing.ran);
    CHECK_FALSE(missing.error.empty());
}

TEST_CASE("fence devices: an unfencing may use a configured device that is not started", "[fence-devices]")
{
    Fixture f;
    auto run = [&](const std::string& action) {
        std::optional<ctl::FenceOutcome> outcome;
        ctl::FenceRequest request;
        request.target = "t1";
        request.action = action;
        request.timeout_ms = 10000;
        request.levels = {{"u"}};
        request.configured = {ctl::FenceDevice{"u", "fence_t", {{"pcmk_host_list", "t1"}}}};
        f.devices.fence(request, [&](const ctl::FenceOutcome& o) { outcome = o; });
        REQUIRE(test::run_until(
            nullptr, [&] { return outcome.has_value(); }, std::chrono::seconds(15)));
        return *outcome;
    };
    CHECK(run("on").ok);
    CHECK(f.log() == "on t1");
    CHECK_FALSE(run("off").ok);  // fencing needs a started device
    CHECK(f.log() == "on t1");
}
