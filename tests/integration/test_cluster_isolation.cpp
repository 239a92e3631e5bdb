// Per-resource isolation under a real Pacemaker 2.1.5 cluster (ClusterHarness) with
// outpost-agent as a remote node: a resource created with `pcs resource create ...
// outpost-memory-max=32M --force` gets that limit on its daemon's cgroup, while a limit
// given as a resource meta attribute is not seen (2.1.5 does not pass those to the
// executor); when the daemon then allocates too much the kernel OOM-kills it, the next
// monitor fails and the cluster recovers the resource (fail count 1, a new daemon); a
// changed limit reaches the restarted daemon. outpost-agent only: isolation is an Outpost
// extension. Needs root on a cgroup v1 host (this machine).
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

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
                     {"OUTPOST_LOG", "agent.isolation:debug,agent.exec:debug"}};
        auto g1 = c.add_guest(std::move(guest));
        require_ok(g1);
        require_ok(c.add_remote_node(**g1));

        // Limits as instance attributes (--force: the agent's meta-data does not declare
        // them); one as a resource meta attribute, which Pacemaker 2.1.5 does not pass.
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
        // Observed with 2.1.5: the resource's meta attributes do not reach the executor (if
        // a later Pacemaker passes them as CRM_meta_*, this check says so).
        CHECK(read_value("/sys/fs/cgroup/cpu/" + parent + "/rsc-hog/cpu.cfs_quota_us") == "-1");

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

        require_ok(c.pcs({"resource", "disable", "hog"}));
        require_ok(c.wait_for([](const CrmMon& mon) { return mon.resource_role("hog") == "Stopped"; }, 60s,
                              "hog to stop"));
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
    std::filesystem::remove(kAgentDir, ignored);
}
