// outpost-demo: the driver behind scripts/demo. Brings up the throw-away single-node
// Pacemaker cluster of the integration tests (ClusterHarness: same guard, same teardown),
// two namespace guests running outpost-agent (or the real pacemaker-remoted with
// --remoted PATH), puts an ocf:pacemaker:Dummy on each with pcs, shows crm_mon, breaks one
// Dummy inside its guest and shows the cluster recovering it, then tears everything down.
//
// Exit status: 0 demo ran, 1 something failed (with the reason), 2 usage, 3 refused
// because this machine looks like part of a real cluster. tests/integration/test_demo.cpp
// runs it (through scripts/demo) and checks what it prints, so keep the lines it looks for
// ("RemoteOnline", "cluster daemons: corosync[PID] pacemakerd[PID]", "Demo finished") in
// step with that test.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "harness/cluster.hpp"
#include "harness/environment.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRefused = 3;

void step(const std::string& text)
{
    std::cout << "\n==> " << text << std::endl;
}

void detail(const std::string& text)
{
    std::cout << "    " << text << std::endl;
}

void show_command(const std::vector<std::string>& argv)
{
    std::cout << "    $ " << join_argv(argv) << std::endl;
}

int fail(const std::string& what, const outpost::Error& error)
{
    std::cerr << "\noutpost-demo: " << what << " failed: " << error.message << std::endl;
    return kExitFailed;
}

// Runs a read-only cluster tool, shows the command and what it printed; an Error when it
// could not be run or exited non-zero (its output is shown either way).
outpost::Status show_tool(const ClusterHarness& cluster, const std::vector<std::string>& argv)
{
    show_command(argv);
    auto result = cluster.tool(argv);
    if (!result) return result.error();
    std::cout << result->output;
    if (!result->succeeded())
        return outpost::make_error("demo", -EIO,
                                   join_argv(argv) + " " + describe_wait_status(result->wait_status));
    return {};
}

bool alive_as(pid_t pid, const std::string& comm)
{
    auto found = find_processes_named(comm);
    return std::find(found.begin(), found.end(), pid) != found.end();
}

void usage(std::FILE* out)
{
    (void)std::fprintf(out,
                       "Usage: outpost-demo --agent PATH | --remoted PATH [--hold]\n"
                       "  --agent PATH    run PATH (outpost-agent) in the guests\n"
                       "  --remoted PATH  run the real pacemaker-remoted at PATH in the guests instead\n"
                       "  --hold          before tearing down, wait for Enter (explore with crm_mon, pcs)\n");
}

}  // namespace

int main(int argc, char* argv[])
{
    std::string binary;
    std::string label;
    bool hold = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if ((arg == "--agent" || arg == "--remoted") && i + 1 < argc) {
            binary = argv[++i];
            label = arg == "--agent" ? "outpost-agent" : "pacemaker-remoted";
        } else if (arg == "--hold") {
            hold = true;
        } else if (arg == "-h" || arg == "--help") {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return kExitUsage;
        }
    }
    if (binary.empty()) {
        usage(stderr);
        return kExitUsage;
    }
    if (::access(binary.c_str(), X_OK) != 0) {
        std::cerr << "outpost-demo: " << binary << " is not an executable: " << std::strerror(errno)
                  << std::endl;
        return kExitFailed;
    }
    if (auto reason = root_and_netns_unavailable()) {
        std::cerr << "outpost-demo: cannot run here: " << *reason << std::endl;
        return kExitFailed;
    }

    step("checking that this machine is not part of a real cluster");
    // Waits first if a test run's throw-away cluster holds the machine (its lock).
    if (auto check = check_machine_for_test_cluster(); !check) {
        std::cerr << "\noutpost-demo: " << check.error().message << std::endl
                  << "The demo only runs on a machine without a cluster of its own; nothing was changed."
                  << std::endl;
        return kExitRefused;
    }
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

    if (hold && ::isatty(STDIN_FILENO)) {
        step(
            "holding: the cluster stays up; try crm_mon -1, pcs status, crm_resource ... Press Enter to tear "
            "down");
        std::string line;
        std::getline(std::cin, line);
    }

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
