// Per-resource isolation under a real Pacemaker 2.1.5 cluster (ClusterHarness) with
// outpost-agent as a remote node: a resource created with `pcs resource create ...
// outpost-memory-max=32M --force` gets that limit on its daemon's cgroup, and the limit
// given as a resource meta attribute too from its first action (2.1.5 does not pass meta
// attributes to the executor: the agent reads them from the CIB through its own proxied
// session); when the daemon then allocates too much the kernel OOM-kills it, the next
// monitor fails and the cluster recovers the resource (fail count 1, a new daemon); a
// changed instance attribute reaches the restarted daemon; `pcs resource meta` sets,
// changes and removes limits of the running daemon within seconds, without a restart (same
// pid); so do `pcs resource defaults update` (rsc_defaults) and defaults sets whose
// rsc_expression rule names one agent type (only that type's resource gets them; the
// other, without a CPU limit until then, is not in the cpu hierarchy, and its running
// daemon is moved into a new cpu cgroup when its own default set arrives).
// outpost-agent only: isolation is an Outpost extension. Needs root on a cgroup v1
// host (this machine).
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outposttest-cgc";

// State in the guest's HA_VARRUN (private per guest; unset on the cluster node, whose
// probes then find nothing). The daemon idles until a trigger file appears, removes it and
// then allocates 256 MiB (bounded: without the limit it must not hurt the machine; the
// size is an argument so perl cannot fold the allocation into its compile phase).
constexpr const char* kScript = R"SH(#!/bin/sh
pidfile="${HA_VARRUN:-/run/outposttest-none/}cg-$OCF_RESOURCE_INSTANCE.pid"
alive() { [ -f "$pidfile" ] && p=$(cat "$pidfile") && [ -d /proc/$p ] && ! grep -q ') Z ' /proc/$p/stat; }
case "$1" in
  start)
    alive && exit 0
    setsid perl -e '($t, $mb) = @ARGV; select(undef, undef, undef, 0.2) until -e $t; unlink $t; $x = "a" x ($mb << 20); sleep 600' "$pidfile.trigger" 256 </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    exit 0;;
  stop) alive && kill "$(cat "$pidfile")"; rm -f "$pidfile"; exit 0;;
  monitor) alive && exit 0; echo 'ocf-exit-reason:daemon is gone' >&2; exit 7;;
  meta-data) echo '<resource-agent name="cgc"><parameters/><actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/><action name="monitor" timeout="20s" interval="2s"/><action name="meta-data" timeout="5s"/></actions></resource-agent>'; exit 0;;
  *) exit 3;;
esac
)SH";

std::string memory_cgroup_of(pid_t pid)
{
    std::istringstream in(read_value("/proc/" + std::to_string(pid) + "/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a + 1);
        if (line.substr(a + 1, b - a - 1) == "memory") return "/sys/fs/cgroup/memory" + line.substr(b + 1);
    }
    return {};
}

// Runs a pcs command and waits (10 s at most) for what it changes to reach a cgroup file.
void live_default(const ClusterHarness& c, const std::vector<std::string>& args,
                  const std::function<bool()>& applied, const char* what)
{
    auto from = std::chrono::steady_clock::now();
    require_ok(c.pcs(args));
    CHECK(wait_until(applied, 10s, what).ok());
    WARN("timing: " << what << " in "
                    << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
                    << " s after pcs returned");
}

pid_t read_pid(const std::filesystem::path& file)
{
    std::string text = read_value(file.string());
    return text.empty() ? 0 : std::stoi(text);
}

}  // namespace

TEST_CASE("a real cluster's meta attribute limits a resource on outpost-agent; its OOM kill is recovered",
          "[agent]")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (!std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs"))
        OUTPOST_SKIP("needs a cgroup v1 memory hierarchy (this test machine's layout)");
    std::filesystem::create_directories(kAgentDir);
    std::string type = "cgc-" + std::to_string(::getpid());
    std::string script = std::string(kAgentDir) + "/" + type;
    REQUIRE(write_file(script, kScript, 0755).ok());
    // The same agent under a second type, for rsc_defaults rules that tell them apart.
    std::string calm_type = "cgd-" + std::to_string(::getpid());
    std::string calm_script = std::string(kAgentDir) + "/" + calm_type;
    REQUIRE(write_file(calm_script, kScript, 0755).ok());
    std::string parent = "outpost-rc-" + std::to_string(::getpid());
    std::string memory_parent;

    {
        auto cluster = ClusterHarness::start();
        require_ok(cluster);
        auto& c = **cluster;
        GuestOptions guest;
        guest.name = "g1";
        guest.binary = *agent;
        guest.env = {{"OUTPOST_cgroup_parent", parent},
                     {"OUTPOST_LOG", "agent.isolation:debug,agent.exec:debug,agent.cibfollow:debug"}};
        auto g1 = c.add_guest(std::move(guest));
        require_ok(g1);
        require_ok(c.add_remote_node(**g1));

        // Limits as instance attributes (--force: the agent's meta-data does not declare
        // them); one as a resource meta attribute, which the agent reads from the CIB.
        require_ok(c.pcs({"resource", "create", "hog", "ocf:outposttest-cgc:" + type,
                          "outpost-memory-max=32M", "outpost-tasks-max=50", "meta", "outpost-cpu-quota=50%",
                          "op", "monitor", "interval=2s", "--disabled", "--force"}));
        require_ok(c.pcs({"constraint", "location", "hog", "avoids", kClusterNode}));
        require_ok(c.pcs({"resource", "enable", "hog"}));
        auto started = [&](const CrmMon& mon) {
            auto nodes = mon.resource_nodes("hog");
            return nodes.size() == 1 && nodes[0] == "g1" && mon.resource_role("hog") == "Started";
        };
        require_ok(c.wait_for(started, 60s, "hog to run on g1"));

        // The limit from the CIB is on the daemon's cgroup.
        auto pidfile = (*g1)->varrun() / "cg-hog.pid";
        pid_t first = read_pid(pidfile);
        REQUIRE(first > 0);
        std::string memory = memory_cgroup_of(first);
        INFO("daemon " << first << " (" << read_value("/proc/" + std::to_string(first) + "/cmdline")
                       << "), cgroups:\n"
                       << read_value("/proc/" + std::to_string(first) + "/cgroup") << "\nguest log:\n"
                       << (*g1)->log_tail());
        CHECK(memory.ends_with("/" + parent + "/rsc-hog"));
        CHECK(read_value(memory + "/memory.limit_in_bytes") == "33554432");
        memory_parent = memory.substr(0, memory.rfind('/'));
        CHECK(read_value("/sys/fs/cgroup/pids/" + parent + "/rsc-hog/pids.max") == "50");
        // The meta attribute, from the CIB, on the daemon from its start.
        const std::string cpu = "/sys/fs/cgroup/cpu/" + parent + "/rsc-hog";
        CHECK(read_value(cpu + "/cpu.cfs_quota_us") == "50000");

        // The daemon goes over its limit: OOM-killed, the monitor fails, the cluster
        // recovers the resource with a new daemon.
        auto begin = std::chrono::steady_clock::now();
        REQUIRE(write_file(pidfile.string() + ".trigger", "", 0644).ok());
        require_ok(c.wait_for(
            [&](const CrmMon& mon) {
                pid_t now = read_pid(pidfile);
                return mon.fail_count("hog", "g1") >= 1 && started(mon) && now > 0 && now != first;
            },
            60s, "hog to fail and be recovered on g1"));
        WARN("timing: OOM kill to recovered resource in "
             << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
        std::string stat = read_value("/proc/" + std::to_string(first) + "/stat");
        CHECK((stat.empty() || stat.find(") Z ") != std::string::npos));
        CHECK(contains(c.pacemaker_log_tail(200000), "daemon is gone"));

        // A changed limit reaches the resource (Pacemaker restarts it for a changed
        // instance attribute: the new daemon starts under the new limit).
        require_ok(c.pcs({"resource", "update", "hog", "outpost-memory-max=48M", "--force"}));
        auto changed = wait_until(
            [&] {
                pid_t now = read_pid(pidfile);
                return now > 0 && read_value(memory_cgroup_of(now) + "/memory.limit_in_bytes") == "50331648";
            },
            30s, "the new limit on hog's cgroup");
        CHECK(changed.ok());

        // Meta attributes change the running daemon's limits within seconds, no restart: set
        // (the instance attribute still wins for memory-max, so memory-high shows memory),
        // changed, removed.
        require_ok(c.wait_for(started, 30s, "hog to run again"));
        const pid_t running = read_pid(pidfile);
        REQUIRE(running > 0);
        const std::string mem = memory_cgroup_of(running);
        auto live = [&](const std::vector<std::string>& attrs, const std::string& quota,
                        const std::string& high, const char* what) {
            std::vector<std::string> args = {"resource", "meta", "hog"};
            args.insert(args.end(), attrs.begin(), attrs.end());
            auto from = std::chrono::steady_clock::now();
            require_ok(c.pcs(args));
            auto applied = wait_until(
                [&] {
                    return read_value(cpu + "/cpu.cfs_quota_us") == quota &&
                           read_value(mem + "/memory.soft_limit_in_bytes") == high;
                },
                10s, what);
            CHECK(applied.ok());
            WARN("timing: " << what << " in "
                            << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
                            << " s after pcs returned");
            CHECK(read_pid(pidfile) == running);
        };
        const std::string unlimited = read_value(mem + "/memory.soft_limit_in_bytes");
        live({"outpost-cpu-quota=25%", "outpost-memory-high=40M"}, "25000", "41943040",
             "meta limits set on the running daemon");
        live({"outpost-cpu-quota=150%"}, "150000", "41943040", "a meta limit changed");
        live({"outpost-cpu-quota=", "outpost-memory-high="}, "-1", unlimited, "meta limits removed");
        CHECK(read_value(mem + "/memory.limit_in_bytes") == "50331648");  // the instance attribute stays
        CHECK(
            contains((*g1)->log_tail(200000), "limits changed in the CIB, applied to the running resource"));

        // rsc_defaults reach the running daemon too (lowest precedence: nothing of its own
        // sets memory-high now), and a second resource from its start.
        live_default(
            c, {"resource", "defaults", "update", "outpost-memory-high=40M"},
            [&] { return read_value(mem + "/memory.soft_limit_in_bytes") == "41943040"; },
            "an rsc_defaults limit on the running daemon");
        CHECK(read_pid(pidfile) == running);
        require_ok(c.pcs({"resource", "create", "calm", "ocf:outposttest-cgc:" + calm_type, "op", "monitor",
                          "interval=2s", "--disabled"}));
        require_ok(c.pcs({"constraint", "location", "calm", "avoids", kClusterNode}));
        require_ok(c.pcs({"resource", "enable", "calm"}));
        require_ok(c.wait_for([](const CrmMon& mon) { return mon.resource_role("calm") == "Started"; }, 60s,
                              "calm to run on g1"));
        const pid_t calm = read_pid((*g1)->varrun() / "cg-calm.pid");
        REQUIRE(calm > 0);
        const std::string calm_cpu = "/sys/fs/cgroup/cpu/" + parent + "/rsc-calm";
        CHECK(read_value(memory_cgroup_of(calm) + "/memory.soft_limit_in_bytes") == "41943040");
        // No CPU limit: calm is not in the cpu hierarchy at all (docs/isolation.md).
        CHECK_FALSE(std::filesystem::exists(calm_cpu));
        // A defaults set whose rsc_expression names one agent type applies to that resource
        // only (pcs writes class, provider and type).
        live_default(
            c,
            {"resource", "defaults", "set", "create", "id=outpost-cgc", "meta", "outpost-cpu-quota=30%",
             "rule", "resource", "ocf:outposttest-cgc:" + type},
            [&] { return read_value(cpu + "/cpu.cfs_quota_us") == "30000"; },
            "an rsc_expression default on the matching resource");
        CHECK_FALSE(std::filesystem::exists(calm_cpu));
        live_default(
            c,
            {"resource", "defaults", "set", "create", "id=outpost-cgd", "meta", "outpost-cpu-quota=20%",
             "rule", "resource", "ocf:outposttest-cgc:" + calm_type},
            [&] { return read_value(calm_cpu + "/cpu.cfs_quota_us") == "20000"; },
            "an rsc_expression default on the other resource");
        // calm's running daemon was moved into its new cpu cgroup, under the quota.
        CHECK(contains(read_value("/proc/" + std::to_string(calm) + "/cgroup"),
                       ":cpu:/" + parent + "/rsc-calm\n"));
        CHECK(read_pid((*g1)->varrun() / "cg-calm.pid") == calm);
        CHECK(read_value(cpu + "/cpu.cfs_quota_us") == "30000");
        CHECK(read_pid(pidfile) == running);

        // A rule on a transient attribute of g1 (attrd, the status section) in a set of hog's
        // own: applied once attrd_updater sets it, lifted when it is deleted (the agent's
        // XPath query and the patchsets of the real CIB).
        const std::string tier_set =
            "<primitive id=\"hog\"><meta_attributes id=\"hog-tier\" score=\"10\"><rule id=\"hog-tier-rule\">"
            "<expression id=\"hog-tier-e\" attribute=\"outpost-test-tier\" operation=\"eq\" value=\"gold\"/>"
            "</rule><nvpair id=\"hog-tier-q\" name=\"outpost-cpu-quota\" value=\"40%\"/></meta_attributes>"
            "</primitive>";
        require_ok(c.cibadmin({"--modify", "-o", "resources", "--xml-text", tier_set}));
        auto transient = [&](const std::vector<std::string>& args, const std::string& quota,
                             const char* what) {
            std::vector<std::string> command{"attrd_updater", "-N", "g1", "-n", "outpost-test-tier"};
            command.insert(command.end(), args.begin(), args.end());
            auto from = std::chrono::steady_clock::now();
            require_ok(c.tool_checked(command));
            CHECK(wait_until([&] { return read_value(cpu + "/cpu.cfs_quota_us") == quota; }, 10s, what).ok());
            WARN("timing: " << what << " in "
                            << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
                            << " s after attrd_updater returned");
        };
        transient({"-U", "gold"}, "40000", "a rule on a transient node attribute applied");
        transient({"-D"}, "30000", "the transient node attribute deleted");
        CHECK(read_pid(pidfile) == running);

        require_ok(c.pcs({"resource", "disable", "hog"}));
        require_ok(c.pcs({"resource", "disable", "calm"}));
        require_ok(c.wait_for(
            [](const CrmMon& mon) {
                return mon.resource_role("hog") == "Stopped" && mon.resource_role("calm") == "Stopped";
            },
            60s, "hog and calm to stop"));
        auto gone =
            wait_until([&] { return !std::filesystem::exists(memory); }, 10s, "the resource's cgroup to go");
        CHECK(gone.ok());
    }

    // The agent keeps its parent cgroups; the test removes its own.
    if (!memory_parent.empty()) ::rmdir(memory_parent.c_str());
    for (const char* controller : {"cpu", "pids", "cpuset", "blkio"})
        ::rmdir(("/sys/fs/cgroup/" + std::string(controller) + "/" + parent).c_str());
    std::error_code ignored;
    std::filesystem::remove(script, ignored);
    std::filesystem::remove(calm_script, ignored);
    std::filesystem::remove(kAgentDir, ignored);
}
