// The Pacemaker + Corosync variant of outpost-demo (scripts/demo --pacemaker): the
// throw-away single-node Pacemaker cluster of the integration tests (ClusterHarness: same
// guard, same teardown), two namespace guests running outpost-agent (or the real
// pacemaker-remoted), attached as remote nodes; an ocf:pacemaker:Dummy on each with pcs,
// crm_mon, one Dummy broken inside its guest and its recovery, then everything torn down.
// test_demo.cpp ([pacemaker], [remoted]) looks for "RemoteOnline", "cluster daemons:
// corosync[PID] pacemakerd[PID]" and "Demo finished": keep them in step.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "demo.hpp"
#include "harness/cluster.hpp"
#include "harness/environment.hpp"

namespace outpost::test::demo {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

int run_pacemaker_demo(const DemoOptions& options)
{
    const std::string& binary = options.daemon;
    const std::string& label = options.daemon_label;
    step("checking that this machine is not part of a real cluster");
    // Waits first if a test run's throw-away cluster holds the machine (its lock).
    if (auto check = check_machine_for_test_cluster(); !check) return refuse(check.error());
    detail("no corosync.conf of a real cluster, no cluster daemons running: ok");

    auto begin = std::chrono::steady_clock::now();
    step(std::string("starting a throw-away cluster: corosync (cluster '") + kClusterName + "', node '" +
         kClusterNode + "' on 127.0.0.1) and pacemakerd");
    detail(std::string("writes /etc/corosync/corosync.conf and a fresh ") + kSharedAuthkeyPath +
           " (originals kept as *.outpost-backup and restored at the end)");
    auto started = ClusterHarness::start();
    if (!started) return fail("starting the cluster", started.error());
    auto& cluster = **started;
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    detail("cluster up, node1 is DC after " + std::to_string(secs).substr(0, 4) + " s");
    const pid_t corosync = cluster.corosync_pid();
    const pid_t pacemakerd = cluster.pacemakerd_pid();
    detail("cluster daemons: corosync[" + std::to_string(corosync) + "] pacemakerd[" +
           std::to_string(pacemakerd) + "]");

    std::vector<ClusterGuest*> guests;
    for (const char* name : {"g1", "g2"}) {
        step(std::string("starting guest ") + name + ": a network namespace running " + label);
        GuestOptions options;
        options.name = name;
        options.binary = binary;
        auto guest = cluster.add_guest(options);
        if (!guest) return fail(std::string("starting guest ") + name, guest.error());
        guests.push_back(*guest);
        detail((*guest)->netns().name() + " at " + (*guest)->address() + ", " + label +
               " listening on 3121 (log " + (*guest)->log_file().string() + ")");
    }

    step("attaching the guests as Pacemaker remote nodes");
    for (auto* g : guests) {
        show_command({"pcs", "resource", "create", g->name(), "ocf:pacemaker:remote",
                      "server=" + g->address(), "op", "monitor", "interval=3s", "--force"});
        if (auto s = cluster.add_remote_node(*g); !s) return fail("attaching " + g->name(), s.error());
    }
    detail("both remote nodes online");

    step("placing an ocf:pacemaker:Dummy resource on each guest");
    for (auto* g : guests) {
        std::string id = "dummy-" + g->name();
        std::vector<std::vector<std::string>> commands{
            {"resource", "create", id, "ocf:pacemaker:Dummy", "op", "monitor", "interval=3s", "--disabled"},
            {"constraint", "location", id, "prefers", g->name() + "=INFINITY"},
            {"constraint", "location", id, "avoids", kClusterNode},
            {"resource", "enable", id},
        };
        for (const auto& args : commands) {
            std::vector<std::string> shown{"pcs"};
            shown.insert(shown.end(), args.begin(), args.end());
            show_command(shown);
            if (auto r = cluster.pcs(args); !r) return fail("pcs", r.error());
        }
    }
    for (auto* g : guests) {
        std::string id = "dummy-" + g->name();
        std::string node = g->name();
        auto running = cluster.wait_for(
            [&](const CrmMon& mon) {
                auto nodes = mon.resource_nodes(id);
                return nodes.size() == 1 && nodes[0] == node && mon.resource_role(id) == "Started";
            },
            60s, id + std::string(" to start on ").append(node));
        if (!running) return fail("starting " + id, running.error());
    }

    step("the cluster as Pacemaker sees it");
    if (auto s = show_tool(cluster, {"crm_mon", "-1"}); !s) return fail("crm_mon -1", s.error());

    auto* g1 = guests[0];
    fs::path state = g1->state_file("Dummy", "dummy-g1");
    step("breaking dummy-g1 inside guest g1: deleting its state file, so its next monitor fails");
    show_command({"rm", state.string()});
    fs::remove(state);
    auto recovered = cluster.wait_for(
        [](const CrmMon& mon) {
            auto nodes = mon.resource_nodes("dummy-g1");
            return mon.fail_count("dummy-g1", "g1") >= 1 && nodes.size() == 1 && nodes[0] == "g1" &&
                   mon.resource_role("dummy-g1") == "Started" && !mon.resource_failed("dummy-g1");
        },
        60s, "the cluster to recover dummy-g1");
    if (!recovered) return fail("recovering dummy-g1", recovered.error());
    detail(std::string("the monitor failed, the cluster restarted dummy-g1 on g1; state file back: ") +
           (fs::exists(state) ? "yes" : "no"));
    if (auto s = show_tool(cluster, {"crm_mon", "-1", "--include=failcounts"}); !s)
        return fail("crm_mon -1 --include=failcounts", s.error());
    if (auto s = show_tool(cluster, {"crm_failcount", "--query", "-r", "dummy-g1", "-N", "g1"}); !s)
        return fail("crm_failcount --query", s.error());

    step("clearing the failure");
    show_command({"crm_resource", "--cleanup", "-r", "dummy-g1", "-N", "g1"});
    if (auto r = cluster.tool_checked({"crm_resource", "--cleanup", "-r", "dummy-g1", "-N", "g1"}); !r) {
        return fail("crm_resource --cleanup", r.error());
    }
    auto cleaned = cluster.wait_for([](const CrmMon& mon) { return mon.fail_count("dummy-g1", "g1") == 0; },
                                    30s, "the fail count to be cleared");
    if (!cleaned) return fail("cleanup", cleaned.error());
    detail("fail count of dummy-g1 on g1 is 0 again");

    hold_if_asked(options.hold, "the cluster stays up; try crm_mon -1, pcs status, crm_resource ...");

    step("tearing down: pacemakerd (stops the Dummies and the connections), corosync, guests");
    if (auto s = cluster.stop(); !s) return fail("teardown", s.error());
    if (alive_as(corosync, "corosync") || alive_as(pacemakerd, "pacemakerd")) {
        return fail("teardown",
                    outpost::make_error("demo", -EBUSY,
                                        "corosync[" + std::to_string(corosync) + "] or pacemakerd[" +
                                            std::to_string(pacemakerd) + "] still runs"));
    }
    detail("corosync[" + std::to_string(corosync) + "] and pacemakerd[" + std::to_string(pacemakerd) +
           "] are gone");
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    detail("restored " + std::string(kCorosyncConfPath) + " and " + kSharedAuthkeyPath +
           ", removed the cluster state and the namespaces");
    std::cout << "\nDemo finished in " << std::to_string(secs).substr(0, 4) << " s: nothing left running."
              << std::endl;
    return 0;
}

}  // namespace outpost::test::demo
