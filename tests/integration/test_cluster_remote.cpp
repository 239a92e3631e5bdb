// Real-cluster scenarios: a throw-away single-node Pacemaker 2.1.5 cluster (ClusterHarness)
// manages remote nodes in network namespaces, each run twice: with the real
// pacemaker-remoted 2.1.5 (the reference; tag [remoted]) and with outpost-agent (tag
// [agent]; the executable skips with exit code 77 when OUTPOST_AGENT is unset).
//
//   1 remote node online, a Dummy constrained to it starts and is monitored
//   2 two remote nodes: a Dummy moves between them (move, ban); a promotable Stateful clone
//     on both: the monitors of both roles run, the Promoted role moves (pcs resource move
//     --promoted), a ban stops one instance and promotes the other, the clone stops;
//     then SIGTERM to the daemon of the Dummy's node: outpost-agent's shutdown makes the
//     cluster set the node's `shutdown` attribute and move the Dummy to the other node
//     (2.1.5 exits at once instead)
//   3 a monitor failure inside the guest is recovered, counted and cleaned up
//   4 connection loss (SIGKILL): node offline with the connection's failure recorded,
//     resources keep running, reconnect + re-probe, and with reconnect_interval the
//     reconnect waits the interval (and not much more)
//   5 SIGTERM with nowhere to move: 2.1.5 exits at once (the T361 regression);
//     outpost-agent waits for the cluster to stop its resources and the connection, then
//     exits 0
//
// Monitor intervals are short (2-3 s) and cluster-recheck-interval small to keep the whole
// file at a few minutes per daemon.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/cluster_scope.hpp"
#include "harness/harness.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
using outpost::Status;
namespace fs = std::filesystem;

namespace {

enum class Peer { remoted, agent };

constexpr const char* kDummyMonitor = "2s";
constexpr unsigned kDummyMonitorMs = 2000;
constexpr auto kStartTimeout = 60s;

const char* label(Peer peer)
{
    return peer == Peer::remoted ? "pacemaker-remoted 2.1.5" : "outpost-agent";
}

std::optional<std::string> binary_for(Peer peer, std::string& why)
{
    if (peer == Peer::remoted) {
        auto path = remoted_path();
        if (!path) {
            why = path.error().describe();
            return std::nullopt;
        }
        return *path;
    }
    auto path = agent_path();
    if (!path) why = "OUTPOST_AGENT is not set (outpost-agent is not built yet)";
    return path;
}

// A running cluster with `count` guests g1..gN running `peer`, each attached as a remote
// node with pcs.
std::unique_ptr<ClusterScope> bring_up(Peer peer, int count,
                                       const std::vector<std::string>& remote_extra = {},
                                       const ClusterOptions& options = {})
{
    std::string why;
    auto binary = binary_for(peer, why);
    if (!binary) {
        FAIL("no " << label(peer) << ": " << why);
        return nullptr;
    }
    auto begin = std::chrono::steady_clock::now();
    auto cluster = ClusterHarness::start(options);
    require_ok(cluster);
    auto owned = std::make_unique<ClusterScope>();
    ClusterScope& setup = *owned;
    setup.cluster = std::move(*cluster);
    for (int i = 1; i <= count; ++i) {
        GuestOptions guest;
        guest.name = "g" + std::to_string(i);
        guest.binary = *binary;
        auto added = setup.cluster->add_guest(std::move(guest));
        require_ok(added);
        setup.guests.push_back(*added);
        auto online = setup.cluster->add_remote_node(**added, remote_extra);
        INFO("guest log:\n" << (*added)->log_tail());
        require_ok(online);
    }
    auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    WARN("timing: cluster + " << count << " remote node(s) with " << label(peer) << " up in " << took.count()
                              << " ms");
    return owned;
}

// ocf:pacemaker:Dummy `id` with a short monitor, kept off node1 (so it never runs on the
// cluster node while a guest is away) and, if `prefer` is given, on that guest.
void create_dummy(ClusterHarness& c, const std::string& id, const std::string& prefer = "",
                  const std::string& interval = kDummyMonitor)
{
    require_ok(c.pcs({"resource", "create", id, "ocf:pacemaker:Dummy", "op", "monitor",
                      "interval=" + interval, "--disabled"}));
    require_ok(c.pcs({"constraint", "location", id, "avoids", kClusterNode}));
    if (!prefer.empty()) require_ok(c.pcs({"constraint", "location", id, "prefers", prefer + "=INFINITY"}));
    require_ok(c.pcs({"resource", "enable", id}));
}

Status wait_running_on(ClusterHarness& c, const std::string& id, const std::string& node,
                       std::chrono::milliseconds timeout = kStartTimeout)
{
    return c.wait_for(
        [&](const CrmMon& mon) {
            // role Started, not "Starting": with record-pending the target is listed while
            // the start still runs.
            auto nodes = mon.resource_nodes(id);
            return nodes.size() == 1 && nodes[0] == node && mon.resource_role(id) == "Started";
        },
        timeout, id + " to run on " + node);
}

std::optional<struct timespec> mtime_of(const fs::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return st.st_mtim;
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// --- scenario 1 --------------------------------------------------------------------------
void remote_node_runs_a_dummy(Peer peer)
{
    auto setup = bring_up(peer, 1);
    auto& c = setup->c();
    auto* g1 = setup->guests[0];

    std::string text = c.crm_mon_text();
    INFO(text);
    CHECK(contains(text, "RemoteOnline: [ g1 ]"));

    auto begin = std::chrono::steady_clock::now();
    create_dummy(c, "d1", "g1");
    require_ok(wait_running_on(c, "d1", "g1"));
    WARN("timing: Dummy started on the remote node " << seconds_since(begin)
                                                     << " s after pcs resource create");
    // It really ran inside the guest: the state file is in the guest's HA_VARRUN, not the
    // host's.
    CHECK(fs::exists(g1->state_file("Dummy", "d1")));
    CHECK_FALSE(fs::exists("/var/run/Dummy-d1.state"));
    // The recurring monitor runs on the remote node (recorded with rc 0).
    require_ok(c.wait_for(
        [](const CrmMon& mon) { return mon.has_operation("d1", "g1", "monitor", kDummyMonitorMs); }, 20s,
        "d1's 2 s monitor to be recorded on g1"));
    auto mon = c.crm_mon();
    require_ok(mon);
    CHECK(mon->failed_actions() == 0);
    CHECK(mon->resource_role("g1") == "Started");
}

// --- scenario 2 --------------------------------------------------------------------------
constexpr unsigned kPromotedMonitorMs = 3000;
constexpr unsigned kUnpromotedMonitorMs = 4000;

// The Stateful clone's recurring monitor for `role` has run on `node` with the rc that role
// reports (8 "promoted" for the Promoted monitor, 0 for the Unpromoted one). Clone
// instances appear in the history as "st" or "st:N".
bool role_monitor_ran(const CrmMon& mon, const std::string& node, bool promoted)
{
    const std::string interval = std::to_string(promoted ? kPromotedMonitorMs : kUnpromotedMonitorMs) + "ms";
    return mon.xml().boolean("/pacemaker-result/node_history/node[@name='" + node +
                             "']/resource_history[@id='st' or starts-with(@id, 'st:')]/operation_history["
                             "@task='monitor' and @interval='" +
                             interval + "' and @rc='" + (promoted ? "8" : "0") + "']");
}

// Exactly one Promoted instance, on `promoted`, and one Unpromoted, on `unpromoted` (or none
// when `unpromoted` is empty).
bool clone_roles(const CrmMon& m, const std::string& promoted, const std::string& unpromoted)
{
    auto p = m.nodes_in_role("st", "Promoted");
    auto u = m.nodes_in_role("st", "Unpromoted");
    return p == std::vector<std::string>{promoted} &&
           (unpromoted.empty() ? u.empty() : u == std::vector<std::string>{unpromoted});
}

// The promotable clone st-clone on g1/g2 (one Promoted, one Unpromoted): recurring monitors
// of both roles, the Promoted role moved to the other node (pcs resource move --promoted),
// the clone banned from a node (its instance there stops, the other is promoted) and
// cleared, then the clone stopped (disabled). Leaves st-clone disabled.
void promotable_clone_moves(ClusterHarness& c)
{
    auto mon = c.crm_mon();
    require_ok(mon);
    const std::string p0 = mon->nodes_in_role("st", "Promoted").at(0);
    const std::string u0 = mon->nodes_in_role("st", "Unpromoted").at(0);

    // Monitors of both roles run where the roles are.
    require_ok(c.wait_for(
        [&](const CrmMon& m) { return role_monitor_ran(m, p0, true) && role_monitor_ran(m, u0, false); }, 30s,
        "the Promoted (3 s, rc 8) and Unpromoted (4 s, rc 0) monitors of st in the history"));

    // Move the Promoted role. pcs 0.11 removes its constraint once the move is done.
    auto begin = std::chrono::steady_clock::now();
    auto moved = c.pcs({"resource", "move", "st-clone", u0, "--promoted"});
    INFO("pcs resource move st-clone " << u0 << " --promoted: " << (moved ? *moved : moved.error().message));
    require_ok(moved);
    require_ok(c.wait_for([&](const CrmMon& m) { return clone_roles(m, u0, p0); }, 60s,
                          "st's Promoted role to move to " + u0));
    WARN("timing: Promoted role moved " << p0 << " -> " << u0 << " in " << seconds_since(begin) << " s");
    require_ok(c.wait_for(
        [&](const CrmMon& m) { return role_monitor_ran(m, u0, true) && role_monitor_ran(m, p0, false); }, 30s,
        "the role monitors on the swapped nodes"));
    {
        // pcs removed the constraint it created for the move (crm_resource's cli-prefer-*).
        auto constraints = c.cibadmin({"-Q", "-o", "constraints"});
        require_ok(constraints);
        INFO(*constraints);
        CHECK_FALSE(contains(*constraints, "cli-prefer-st-clone"));
        CHECK_FALSE(contains(*constraints, "cli-ban-st-clone"));
    }

    // Ban the clone from the node with the Promoted instance: that instance stops and the
    // one left is promoted; clearing the ban brings the second instance back.
    begin = std::chrono::steady_clock::now();
    require_ok(c.pcs({"resource", "ban", "st-clone", u0}));
    require_ok(c.wait_for(
        [&](const CrmMon& m) {
            auto nodes = m.resource_nodes("st");
            return clone_roles(m, p0, "") && nodes == std::vector<std::string>{p0};
        },
        60s, "st-clone banned from " + u0 + ": only a Promoted instance on " + p0));
    WARN("timing: ban of st-clone from " << u0 << " took " << seconds_since(begin) << " s");
    require_ok(c.pcs({"resource", "clear", "st-clone"}));
    require_ok(c.wait_for(
        [&](const CrmMon& m) {
            auto p = m.nodes_in_role("st", "Promoted");
            auto u = m.nodes_in_role("st", "Unpromoted");
            return p.size() == 1 && u.size() == 1 && p[0] != u[0];
        },
        60s, "both instances of st-clone back after the ban is cleared"));

    // Stop the clone: both instances, whatever their role.
    begin = std::chrono::steady_clock::now();
    require_ok(c.pcs({"resource", "disable", "st-clone"}));
    require_ok(c.wait_for([](const CrmMon& m) { return m.resource_nodes("st").empty(); }, 60s,
                          "st-clone to stop on both nodes"));
    WARN("timing: st-clone stopped in " << seconds_since(begin) << " s");
    mon = c.crm_mon();
    require_ok(mon);
    INFO(c.crm_mon_text());
    CHECK(mon->failed_actions() == 0);
    CHECK(
        mon->xml().boolean("/pacemaker-result/node_history/node/resource_history[@id='st' or "
                           "starts-with(@id, 'st:')]/operation_history[@task='stop' and @rc='0']"));
}

// SIGTERM to the daemon of the node where d1 runs, with a second remote node to take it.
// outpost-agent (2.1.6 flow): it asks the cluster to shut it down, the cluster sets the
// node's `shutdown` attribute, moves d1 to the other node, stops the connection, and the
// agent exits 0: nothing failed, nothing fenced. pacemaker-remoted 2.1.5 exits at once
// (T361), as in scenario 5, so the cluster sees a lost connection instead.
void shutdown_moves_resources(Peer peer, ClusterHarness& c, ClusterGuest& g1, ClusterGuest& g2)
{
    auto mon = c.crm_mon();
    require_ok(mon);
    auto where = mon->resource_nodes("d1");
    REQUIRE(where.size() == 1);
    ClusterGuest& from = where[0] == "g1" ? g1 : g2;
    ClusterGuest& to = where[0] == "g1" ? g2 : g1;
    require_ok(c.wait_for(
        [&](const CrmMon& m) { return m.has_operation("d1", from.name(), "monitor", kDummyMonitorMs); }, 20s,
        "d1's monitor on " + from.name() + " in the history before the SIGTERM"));
    const std::size_t log_before = c.pacemaker_log_tail(64U << 20).size();

    auto begin = std::chrono::steady_clock::now();
    require_ok(from.signal(SIGTERM));
    if (peer == Peer::remoted) {
        auto status = from.wait_exit(5s);
        require_ok(status);
        double took = seconds_since(begin);
        WARN("timing: pacemaker-remoted 2.1.5 on " << from.name() << " exited " << took
                                                   << " s after SIGTERM (two remote nodes)");
        CHECK(took < 3.0);
        CHECK(WIFEXITED(*status));
        auto log = read_file(from.log_file());
        require_ok(log);
        CHECK(contains(*log, "shutting_down"));
        require_ok(c.wait_for([&](const CrmMon& m) { return !m.node_online(from.name()); }, 30s,
                              from.name() + " to be offline"));
        return;
    }
    require_ok(wait_running_on(c, "d1", to.name()));
    WARN("timing: d1 moved " << from.name() << " -> " << to.name() << " " << seconds_since(begin)
                             << " s after SIGTERM to outpost-agent");
    auto status = from.wait_exit(60s);
    require_ok(status);
    WARN("timing: outpost-agent on " << from.name() << " exited " << seconds_since(begin)
                                     << " s after SIGTERM");
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK_FALSE(fs::exists(from.state_file("Dummy", "d1")));
    CHECK(fs::exists(to.state_file("Dummy", "d1")));
    require_ok(c.wait_for([&](const CrmMon& m) { return !m.node_online(from.name()); }, 30s,
                          from.name() + " to be offline"));
    // The cluster recorded the shutdown request as the node's `shutdown` attribute (attrd
    // logs every change of it; the attribute goes with the node's transient state).
    const std::string log = c.pacemaker_log_tail(64U << 20).substr(log_before);
    INFO("pacemaker.log since the SIGTERM:\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
    CHECK(std::regex_search(log,
                            std::regex("Setting shutdown\\[" + from.name() + "\\]: \\(unset\\) -> [0-9]+")));
    mon = c.crm_mon();
    require_ok(mon);
    INFO(mon->xml().text());
    CHECK(mon->failed_actions() == 0);
    CHECK_FALSE(mon->resource_failed(from.name()));
    CHECK(mon->resource_role(from.name()) == "Stopped");
    CHECK(mon->node_online(to.name()));
    CHECK(mon->xml().number("count(/pacemaker-result/fence_history/fence_event)") == 0);
}

void resources_move_between_remote_nodes(Peer peer)
{
    auto setup = bring_up(peer, 2);
    auto& c = setup->c();
    auto* g1 = setup->guests[0];
    auto* g2 = setup->guests[1];

    create_dummy(c, "d1");
    std::string first;
    require_ok(c.wait_for(
        [&](const CrmMon& mon) {
            auto nodes = mon.resource_nodes("d1");
            if (nodes.size() == 1 && (nodes[0] == "g1" || nodes[0] == "g2") &&
                mon.resource_role("d1") == "Started") {
                first = nodes[0];
            }
            return !first.empty();
        },
        kStartTimeout, "d1 to start on a remote node"));
    std::string other = first == "g1" ? "g2" : "g1";
    ClusterGuest* from = first == "g1" ? g1 : g2;
    ClusterGuest* to = first == "g1" ? g2 : g1;

    // --move: away to the other guest; the state file follows.
    auto begin = std::chrono::steady_clock::now();
    require_ok(c.tool_checked({"crm_resource", "--move", "-r", "d1", "-N", other}));
    require_ok(wait_running_on(c, "d1", other));
    WARN("timing: move " << first << " -> " << other << " took " << seconds_since(begin) << " s");
    CHECK(fs::exists(to->state_file("Dummy", "d1")));
    CHECK_FALSE(fs::exists(from->state_file("Dummy", "d1")));
    require_ok(c.tool_checked({"crm_resource", "--clear", "-r", "d1"}));

    // --ban from where it runs now: back to the first guest.
    require_ok(c.tool_checked({"crm_resource", "--ban", "-r", "d1", "-N", other}));
    require_ok(wait_running_on(c, "d1", first));
    CHECK(fs::exists(from->state_file("Dummy", "d1")));
    CHECK_FALSE(fs::exists(to->state_file("Dummy", "d1")));
    require_ok(c.tool_checked({"crm_resource", "--clear", "-r", "d1"}));
    auto mon = c.crm_mon();
    require_ok(mon);
    CHECK(mon->failed_actions("d1") == 0);

    // A promotable clone on both guests. Stateful sets its promotion score with
    // crm_attribute, which on a remote node goes through the daemon's IPC proxy (attrd);
    // outpost-agent has passed this since its proxy landed, so no expected failure here.
    require_ok(c.pcs({"resource", "create", "st", "ocf:pacemaker:Stateful", "op", "monitor", "interval=3s",
                      "role=Promoted", "op", "monitor", "interval=4s", "role=Unpromoted", "promotable",
                      "--disabled"}));
    require_ok(c.pcs({"constraint", "location", "st-clone", "avoids", kClusterNode}));
    require_ok(c.pcs({"resource", "enable", "st-clone"}));
    begin = std::chrono::steady_clock::now();
    auto promoted = c.wait_for(
        [](const CrmMon& m) {
            auto p = m.nodes_in_role("st", "Promoted");
            auto u = m.nodes_in_role("st", "Unpromoted");
            return p.size() == 1 && u.size() == 1 && p[0] != u[0] && (p[0] == "g1" || p[0] == "g2") &&
                   (u[0] == "g1" || u[0] == "g2");
        },
        60s, "one Promoted and one Unpromoted instance of st-clone on g1/g2");
    require_ok(promoted);
    WARN("timing: promotable clone up in " << seconds_since(begin) << " s");
    mon = c.crm_mon();
    require_ok(mon);
    INFO(c.crm_mon_text());
    // The promotion score was set from inside the guests (crm_attribute through the proxy).
    CHECK(mon->xml().boolean(
        "/pacemaker-result/node_attributes/node[@name='g1']/attribute[@name='master-st']"));
    CHECK(mon->xml().boolean(
        "/pacemaker-result/node_attributes/node[@name='g2']/attribute[@name='master-st']"));
    CHECK(mon->failed_actions() == 0);
    promotable_clone_moves(c);

    // Graceful shutdown with somewhere to go (scenario 5 has one node, where d1 can only
    // stop): SIGTERM to the daemon of d1's node.
    shutdown_moves_resources(peer, setup->c(), *g1, *g2);
}

// --- scenario 3 --------------------------------------------------------------------------
void monitor_failure_is_recovered(Peer peer)
{
    auto setup = bring_up(peer, 1);
    auto& c = setup->c();
    auto* g1 = setup->guests[0];
    create_dummy(c, "d1", "g1");
    require_ok(wait_running_on(c, "d1", "g1"));
    fs::path state = g1->state_file("Dummy", "d1");
    REQUIRE(fs::exists(state));

    // The resource "dies" inside the guest: the next monitor reports not running.
    auto begin = std::chrono::steady_clock::now();
    fs::remove(state);
    require_ok(c.wait_for(
        [](const CrmMon& mon) {
            auto nodes = mon.resource_nodes("d1");
            // "FAILED g1" is role Started too: wait for the restart (failed="false").
            return mon.fail_count("d1", "g1") >= 1 && nodes.size() == 1 && nodes[0] == "g1" &&
                   mon.resource_role("d1") == "Started" && !mon.resource_failed("d1");
        },
        30s, "d1's failure on g1 to be counted and d1 restarted there"));
    WARN("timing: failure detected and recovered in " << seconds_since(begin) << " s");
    CHECK(fs::exists(state));  // restarted in place
    auto mon = c.crm_mon();
    require_ok(mon);
    CHECK(mon->failed_actions("d1") >= 1);
    CHECK(
        mon->xml().boolean("/pacemaker-result/failures/failure[starts-with(@op_key, 'd1_monitor_') and "
                           "@node='g1' and @exitcode='7']"));
    auto failcount = c.tool_checked({"crm_failcount", "--query", "-r", "d1", "-N", "g1"});
    require_ok(failcount);
    INFO(*failcount);
    CHECK(contains(*failcount, "value=1"));

    require_ok(c.tool_checked({"crm_resource", "--cleanup", "-r", "d1", "-N", "g1"}));
    require_ok(c.wait_for(
        [](const CrmMon& m) {
            auto nodes = m.resource_nodes("d1");
            return m.fail_count("d1", "g1") == 0 && m.failed_actions("d1") == 0 && nodes.size() == 1 &&
                   nodes[0] == "g1";
        },
        30s, "crm_resource --cleanup to clear d1's fail count"));
    failcount = c.tool_checked({"crm_failcount", "--query", "-r", "d1", "-N", "g1"});
    require_ok(failcount);
    INFO(*failcount);
    CHECK(contains(*failcount, "value=0"));
}

// --- scenario 4 --------------------------------------------------------------------------
void connection_loss_and_reconnect(Peer peer)
{
    auto setup = bring_up(peer, 1);
    auto& c = setup->c();
    auto* g1 = setup->guests[0];
    // A monitor in flight when the daemon is killed is lost with the connection and counts
    // as failed: the cluster then marks g1 unclean and, without fencing, leaves d1 FAILED
    // ("Node g1 is unclean but cannot be fenced"). The first run of a recurring monitor
    // follows the start at once, and with pacemaker-remoted 2.1.5 it is still in flight
    // ~100 ms later (its round trips stall on delayed ACKs): CI killed it there twice. So
    // each kill below waits until the monitor's result is in the history, and the 60 s
    // interval keeps the next run far away.
    create_dummy(c, "d1", "g1", "60s");
    require_ok(wait_running_on(c, "d1", "g1"));
    auto monitor_recorded = [](const CrmMon& m) { return m.has_operation("d1", "g1", "monitor", 60000); };
    require_ok(c.wait_for(monitor_recorded, 30s, "d1's first recurring monitor on g1 in the history"));
    fs::path state = g1->state_file("Dummy", "d1");
    auto started_at = mtime_of(state);
    REQUIRE(started_at);

    // The connection resource g1's failure, as crm_mon lists it: a failed action on node1.
    auto connection_failed = [](const CrmMon& m) {
        return !m.node_online("g1") &&
               m.xml().boolean("/pacemaker-result/failures/failure[starts-with(@op_key, 'g1_') and @node='" +
                               std::string(kClusterNode) + "']");
    };

    // reconnect_interval=0 (the default): the cluster reconnects as soon as it can.
    // The daemon dies; only the connection is lost, not the resources in the guest.
    require_ok(g1->signal(SIGKILL));
    require_ok(g1->wait_exit(5s));
    auto lost_at = std::chrono::steady_clock::now();
    require_ok(c.wait_for([](const CrmMon& m) { return !m.node_online("g1"); }, 30s, "g1 to be offline"));
    WARN("timing: connection loss noticed in " << seconds_since(lost_at) << " s");
    CHECK(fs::exists(state));
    // Not merely "offline": the cluster records the loss as a failure of the connection
    // resource g1 (a failed action on node1, its fail count) while the node is listed
    // with online=false.
    require_ok(c.wait_for(connection_failed, 30s, "the failure of connection g1 to be recorded"));
    {
        auto mon = c.crm_mon();
        require_ok(mon);
        INFO(mon->xml().text());
        CHECK(mon->xml().boolean("/pacemaker-result/nodes/node[@name='g1' and @type='remote']"));
        CHECK(mon->fail_count("g1", kClusterNode) >= 1);
        // The failed operation of g1 (its monitor, or the start of a reconnect attempt) in
        // node1's operation history.
        CHECK(mon->xml().boolean("/pacemaker-result/node_history/node[@name='" + std::string(kClusterNode) +
                                 "']/resource_history[@id='g1']/operation_history[@rc!='0']"));
        WARN("after the kill: " << mon->xml().strings("/pacemaker-result/failures/failure/@op_key").size()
                                << " failed action(s): "
                                << mon->xml().string("/pacemaker-result/failures/failure[1]/@op_key") << " "
                                << mon->xml().string("/pacemaker-result/failures/failure[1]/@status")
                                << "; g1 unclean="
                                << mon->xml().string("/pacemaker-result/nodes/node[@name='g1']/@unclean"));
    }
    {
        auto mon = c.crm_mon();
        require_ok(mon);
        // Nowhere else to go (not on node1); listed as stopped, or as FAILED on the unclean
        // g1 when one of its monitors was in flight at the kill.
        auto nodes = mon->resource_nodes("d1");
        CHECK((nodes.empty() || (nodes.size() == 1 && nodes[0] == "g1")));
    }

    require_ok(g1->start());
    auto back_at = std::chrono::steady_clock::now();
    require_ok(c.wait_for(
        [](const CrmMon& m) {
            auto nodes = m.resource_nodes("d1");
            return m.node_online("g1") && nodes.size() == 1 && nodes[0] == "g1";
        },
        60s, "g1 to reconnect and d1 to be found running on it"));
    WARN("timing: reconnected and re-probed " << seconds_since(back_at) << " s after the restart");
    // Found running by the re-probe, not restarted: the state file was never touched again.
    auto after = mtime_of(state);
    REQUIRE(after);
    CHECK(after->tv_sec == started_at->tv_sec);
    CHECK(after->tv_nsec == started_at->tv_nsec);
    require_ok(c.wait_for([](const CrmMon& m) { return m.has_operation("d1", "g1", "probe", 0); }, 20s,
                          "the probe of d1 on g1 (rc 0) in the history"));

    // With reconnect_interval the cluster waits that long before it reconnects, even though
    // the daemon is back at once.
    constexpr int kReconnectSeconds = 8;
    constexpr int kRecheckSeconds = 5;            // ClusterOptions' cluster-recheck-interval
    constexpr int kConnectionMonitorSeconds = 3;  // add_remote_node's monitor interval
    constexpr int kSlackSeconds = 10;
    constexpr double kReconnectUpperBoundSeconds =
        kReconnectSeconds + kRecheckSeconds + kConnectionMonitorSeconds + kSlackSeconds;
    require_ok(
        c.pcs({"resource", "update", "g1", "reconnect_interval=" + std::to_string(kReconnectSeconds) + "s"}));
    // The update restarts the connection: wait until the cluster has nothing left to do, or
    // the kill lands in that restart's connect retries, which crm_mon still shows as online.
    require_ok(c.tool_checked({"crm_resource", "--wait", "--timeout=60s"}, 70s));
    require_ok(
        c.wait_for([](const CrmMon& m) { return m.node_online("g1"); }, 20s, "g1 online after the update"));
    require_ok(c.wait_for(monitor_recorded, 30s, "d1's recurring monitor on g1 before the second kill"));
    require_ok(g1->signal(SIGKILL));
    require_ok(g1->wait_exit(5s));
    lost_at = std::chrono::steady_clock::now();
    require_ok(
        c.wait_for([](const CrmMon& m) { return !m.node_online("g1"); }, 30s, "g1 to be offline again"));
    require_ok(c.wait_for(connection_failed, 30s, "the second failure of connection g1 to be recorded"));
    require_ok(g1->start());
    require_ok(c.wait_for([](const CrmMon& m) { return m.node_online("g1"); }, 60s,
                          "g1 to reconnect after reconnect_interval"));
    double waited = seconds_since(lost_at);
    WARN("timing: with reconnect_interval=" << kReconnectSeconds << "s the reconnect came " << waited
                                            << " s after the loss");
    // Not before the interval (less a second of polling granularity), and not much later:
    // the scheduler notices the interval has passed at its next run, which
    // cluster-recheck-interval (5 s here) bounds, plus a monitor interval to notice the
    // loss and slack for a slow (ASan) machine.
    CHECK(waited >= kReconnectSeconds - 1.0);
    CHECK(waited <= kReconnectUpperBoundSeconds);
    require_ok(wait_running_on(c, "d1", "g1"));
    CHECK(fs::exists(state));
}

// --- scenario 5 --------------------------------------------------------------------------
void graceful_shutdown(Peer peer)
{
    auto setup = bring_up(peer, 1);
    auto& c = setup->c();
    auto* g1 = setup->guests[0];
    create_dummy(c, "d1", "g1");
    require_ok(wait_running_on(c, "d1", "g1"));
    fs::path state = g1->state_file("Dummy", "d1");
    REQUIRE(fs::exists(state));

    auto begin = std::chrono::steady_clock::now();
    require_ok(g1->signal(SIGTERM));
    if (peer == Peer::remoted) {
        // 2.1.5 (upstream T361): it sends shutdown_req and exits in the same moment, when
        // closing its listener, before the cluster can answer or stop anything.
        auto status = g1->wait_exit(5s);
        require_ok(status);
        double took = seconds_since(begin);
        WARN("timing: pacemaker-remoted 2.1.5 exited " << took << " s after SIGTERM");
        CHECK(took < 3.0);
        CHECK(WIFEXITED(*status));
        CHECK(fs::exists(state));  // left running: the cluster never got to stop it
        auto log = read_file(g1->log_file());
        require_ok(log);
        CHECK(contains(*log, "shutting_down"));
        // To the cluster this was a lost connection of a node that had asked to shut down:
        // without fencing it cannot stop d1 there and the transition waits for the
        // in-flight monitor (action timeout + cluster-delay, which ClusterOptions shortens)
        // before the teardown can proceed.
        require_ok(c.wait_for([](const CrmMon& m) { return !m.node_online("g1"); }, 30s, "g1 to be offline"));
        return;
    }
    // The intended behaviour (2.1.6+): the cluster acks, stops d1 and then the connection;
    // the agent exits 0 afterwards.
    auto status = g1->wait_exit(120s);
    require_ok(status);
    double took = seconds_since(begin);
    WARN("timing: outpost-agent exited " << took << " s after SIGTERM");
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK_FALSE(fs::exists(state));  // stopped by the cluster before the agent exited
    require_ok(c.wait_for([](const CrmMon& m) { return !m.node_online("g1"); }, 30s, "g1 to be offline"));
    auto mon = c.crm_mon();
    require_ok(mon);
    INFO(mon->xml().text());
    CHECK(mon->failed_actions() == 0);
    CHECK(mon->resource_nodes("d1").empty());
    CHECK_FALSE(mon->resource_failed("g1"));
    CHECK(mon->resource_role("g1") == "Stopped");
    CHECK(mon->xml().number("count(/pacemaker-result/fence_history/fence_event)") == 0);
}

}  // namespace

#define OUTPOST_CLUSTER_SCENARIO(title, tag, fn)                                                     \
    TEST_CASE(title " [pacemaker-remoted]", "[remoted]" tag)                                         \
    {                                                                                                \
        fn(Peer::remoted);                                                                           \
    }                                                                                                \
    TEST_CASE(title " [outpost-agent]", "[agent]" tag)                                               \
    {                                                                                                \
        if (!agent_path()) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built yet"); \
        fn(Peer::agent);                                                                             \
    }

OUTPOST_CLUSTER_SCENARIO("1: a remote node comes online and runs a monitored Dummy", "[scenario1]",
                         remote_node_runs_a_dummy)
OUTPOST_CLUSTER_SCENARIO("2: resources move between two remote nodes; a promotable clone spans both",
                         "[scenario2]", resources_move_between_remote_nodes)
OUTPOST_CLUSTER_SCENARIO("3: a monitor failure in the guest is recovered, counted and cleaned up",
                         "[scenario3]", monitor_failure_is_recovered)
OUTPOST_CLUSTER_SCENARIO("4: connection loss, resources keep running, reconnect and re-probe", "[scenario4]",
                         connection_loss_and_reconnect)
OUTPOST_CLUSTER_SCENARIO("5: graceful shutdown on SIGTERM", "[scenario5]", graceful_shutdown)
