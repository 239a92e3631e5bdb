// Guest nodes with real libvirt guests under a real single-node Pacemaker 2.1.5 cluster
// (ClusterHarness + LibvirtHarness). The guest is an ocf:heartbeat:VirtualDomain
// resource with meta remote-node/remote-addr; the cluster starts the domain, then the
// implicit connection to the daemon inside it, then an ocf:pacemaker:Dummy placed on
// the guest node.
//
//   [lxc][agent]    LXC application container running outpost-agent
//   [lxc][remoted]  the same with the real pacemaker-remoted 2.1.5 (the reference)
//   [add-guest]     LXC + outpost-agent, declared with `pcs cluster node add-guest`: live it
//                   needs pcsd (even with --skip-offline); on a CIB file (pcs -f) + cib-push it works
//   [outpost-guest] LXC + outpost-agent with ocf:outpost:guest instead of VirtualDomain and
//                   `outpost watch` running on the cluster node: after `virsh destroy` the
//                   time to the recovery's first action is measured (target under 2 s)
//   [qemu-outpost-guest] the QEMU/TCG VM with outpost-agent under ocf:outpost:guest and
//                   outpost watch (as [outpost-guest])
//   [qemu][agent]   QEMU/TCG VM booting Debian's kernel and an initramfs holding
//                   outpost-agent and its library closure
//   [qemu][remoted] the same VM around the real pacemaker-remoted 2.1.5 (the reference)
//
// Each checks: start order (domain, connection, Dummy) in the controller's log;
// `GuestOnline: [ NAME ]` in crm_mon's text (2.1.5; `GuestNode NAME@node1: online` with
// --show-detail) and the guest in its XML; recovery
// after `virsh destroy` behind the cluster's back (the domain is restarted, then the
// connection, then the Dummy inside); and that disabling the VirtualDomain resource stops
// the Dummy, then the connection, then the domain. Timings are printed as WARN lines.
#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
using outpost::Status;
namespace fs = std::filesystem;

namespace {

enum class Peer { remoted, agent };
// The container's resource agent.
enum class Agent { virtual_domain, outpost_guest };
constexpr const char* kOutpostGuestAgent = "/usr/lib/ocf/resource.d/outpost/guest";
// From virsh destroy to the first action of the recovery, with outpost watch (issue 14).
constexpr std::chrono::milliseconds kWatchRecoveryTarget{2000};

constexpr const char* kGuestNode = "guest1";
constexpr const char* kContainer = "vm-guest1";
constexpr unsigned kGuestHost = 2;  // 192.168.170.2
constexpr const char* kDummyMonitor = "3s";
// How long the cluster waits for the daemon in a booting QEMU/TCG VM to accept the
// connection (the guest's remote-connect-timeout).
constexpr std::chrono::seconds kQemuConnectTimeout{150};

const char* label(Peer peer)
{
    return peer == Peer::remoted ? "pacemaker-remoted 2.1.5" : "outpost-agent";
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
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

// Where each of `needles` first occurs in `log` at or after `from` (npos if absent).
std::vector<std::size_t> positions(const std::string& log, const std::vector<std::string>& needles,
                                   std::size_t from = 0)
{
    std::vector<std::size_t> out;
    out.reserve(needles.size());
    for (const auto& n : needles)
        out.push_back(log.find(n, from));
    return out;
}

bool in_order(const std::vector<std::size_t>& pos)
{
    for (std::size_t i = 0; i < pos.size(); ++i) {
        if (pos[i] == std::string::npos) return false;
        if (i > 0 && pos[i] <= pos[i - 1]) return false;
    }
    return true;
}

// The controller's line for a finished operation (Pacemaker 2.1.5 wording).
std::string result_line(const std::string& op, const std::string& rsc, const std::string& node)
{
    return "Result of " + op + " operation for " + rsc + " on " + node + ": ok";
}

// Everything a scenario owns; the cluster goes before libvirt (its shutdown stops the
// VirtualDomain resource through libvirtd).
struct Setup {
    std::unique_ptr<LibvirtHarness> libvirt;
    std::unique_ptr<ClusterHarness> cluster;
    std::optional<TempDir> dir;
    std::vector<fs::path> guest_logs;
    std::optional<Process> watch;
    bool agent_linked = false;    // kOutpostGuestAgent is our symlink, removed at the end
    bool agent_dir_made = false;  // and its directory, made for it

    ~Setup()
    {
        if (watch) (void)watch->stop();
        if (cluster) {
            if (!Catch::getResultCapture().lastAssertionPassed()) {
                (void)std::fprintf(stderr, "--- crm_mon ---\n%s\n--- pacemaker.log (this run) ---\n%s\n",
                                   cluster->crm_mon_text().c_str(),
                                   cluster->pacemaker_log_tail(6000).c_str());
                for (const auto& log : guest_logs)
                    (void)std::fprintf(stderr, "--- %s ---\n%s\n", log.c_str(), file_tail(log, 3000).c_str());
            }
            auto s = cluster->stop();
            if (!s) (void)std::fprintf(stderr, "%s\n", s.error().message.c_str());
        }
        if (libvirt) {
            auto s = libvirt->stop();
            if (!s) (void)std::fprintf(stderr, "%s\n", s.error().message.c_str());
        }
        if (agent_linked) {
            std::error_code ec;
            fs::remove(kOutpostGuestAgent, ec);
            if (agent_dir_made) fs::remove(fs::path(kOutpostGuestAgent).parent_path(), ec);
        }
    }
};

// Pacemaker finds ocf:outpost:guest where the package installs it; a build under test is
// linked there for the run (an installed agent is used as it is).
void install_outpost_guest(Setup& setup)
{
    const char* built = std::getenv("OUTPOST_OCF_GUEST");
    if (built == nullptr || *built == '\0')
        FAIL("OUTPOST_OCF_GUEST is not set (ocf:outpost:guest is not built)");
    std::error_code ec;
    if (fs::exists(kOutpostGuestAgent, ec)) {
        WARN("using the installed " << kOutpostGuestAgent);
        return;
    }
    setup.agent_dir_made = fs::create_directories(fs::path(kOutpostGuestAgent).parent_path(), ec);
    fs::create_symlink(built, kOutpostGuestAgent, ec);
    if (ec) FAIL("cannot link " << kOutpostGuestAgent << ": " << ec.message());
    setup.agent_linked = true;
}

// ocf:outpost:guest installed and outpost watch running on the cluster node, as its
// systemd unit runs it; returns the watcher's log file.
fs::path start_outpost_guest_and_watch(Setup& setup)
{
    install_outpost_guest(setup);
    const char* cli = std::getenv("OUTPOST_CLI");
    if (cli == nullptr || *cli == '\0') FAIL("OUTPOST_CLI is not set (the outpost CLI is not built)");
    fs::path log = *setup.dir / "watch.log";
    SpawnOptions options;
    // A short refresh: the resource is created after the watcher starts.
    // --verbose: the state service logs each query it answers (checked below).
    options.argv = {cli, "watch", "--node", kClusterNode, "--refresh", "2s", "--verbose"};
    options.env = {{"PCMK_logfile", log.string()}};
    options.log_file = *setup.dir / "watch.out";
    auto watch = Process::spawn(options);
    require_ok(watch);
    setup.watch.emplace(std::move(*watch));
    setup.guest_logs.push_back(log);
    return log;
}

// How the guest node is declared: `pcs resource create ... meta remote-node=...`, or the
// VirtualDomain resource first and `pcs cluster node add-guest` after it.
enum class Declare { meta, add_guest };

// `meta` adds meta attributes (name=value) next to remote-node/remote-addr (Declare::meta
// only).
void create_guest_resource(ClusterHarness& c, const std::string& uri, const fs::path& xml,
                           const std::vector<std::string>& extra, Declare how = Declare::meta,
                           const std::vector<std::string>& meta = {}, Agent agent = Agent::virtual_domain,
                           const std::string& monitor_interval = "3s")
{
    std::vector<std::string> args{
        "resource",
        "create",
        kContainer,
        agent == Agent::outpost_guest ? "ocf:outpost:guest" : "ocf:heartbeat:VirtualDomain",
        "hypervisor=" + uri,
        "config=" + xml.string(),
        "autoset_utilization_cpu=false",
        "autoset_utilization_hv_memory=false",
        "autoset_utilization_host_memory=false"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"op", "monitor", "interval=" + monitor_interval, "timeout=30s"});
    std::string remote_node = std::string("remote-node=") + kGuestNode;
    std::string remote_addr = "remote-addr=" + bridge_address(kGuestHost);
    if (how == Declare::meta) {
        // pcs refuses meta remote-node without --force ("use 'pcs cluster node
        // add-guest'"); --force writes the same CIB that add-guest would.
        args.insert(args.end(), {"meta", remote_node, remote_addr});
        args.insert(args.end(), meta.begin(), meta.end());
        args.emplace_back("--force");
        require_ok(c.pcs(args));
        return;
    }
    REQUIRE(meta.empty());
    args.insert(args.end(), {"--disabled", "--force"});
    require_ok(c.pcs(args));
    // add-guest also wants pcsd in the guest (to push the authkey and start
    // pacemaker_remote there); our guests have none, so unreachable is expected.
    auto plain = c.pcs({"cluster", "node", "add-guest", kGuestNode, kContainer, remote_addr});
    WARN("pcs cluster node add-guest (no pcsd in the guest): " << (plain ? "succeeded\n" + *plain
                                                                         : plain.error().message));
    if (!plain) {
        auto skip =
            c.pcs({"cluster", "node", "add-guest", kGuestNode, kContainer, remote_addr, "--skip-offline"});
        WARN("pcs cluster node add-guest --skip-offline: " << (skip ? "succeeded\n" + *skip
                                                                    : skip.error().message));
        if (!skip) {
            // What works without pcsd: add-guest on a CIB file (pcs -f skips the key
            // distribution and the pacemaker_remote start), pushed back.
            fs::path cib = xml.parent_path() / "add-guest-cib.xml";
            require_ok(c.pcs({"cluster", "cib", cib.string()}));
            auto offline = c.pcs(
                {"-f", cib.string(), "cluster", "node", "add-guest", kGuestNode, kContainer, remote_addr});
            require_ok(offline);
            WARN("pcs -f CIB cluster node add-guest + cib-push: " << *offline);
            require_ok(c.pcs({"cluster", "cib-push", cib.string(), "--config"}));
        }
    }
    require_ok(c.pcs({"resource", "enable", kContainer}));
}

Status wait_guest_online(ClusterHarness& c, std::chrono::milliseconds timeout)
{
    bool start_failed = false;
    auto s = c.wait_for(
        [&](const CrmMon& mon) {
            // A failed start of the domain will not be retried on this single node: stop
            // waiting at once.
            start_failed = mon.xml().boolean(std::string("/pacemaker-result/failures/failure[@op_key='") +
                                             kContainer + "_start_0']");
            // The node is listed online while its connection is still "Starting".
            return start_failed ||
                   (mon.node_online(kGuestNode) && mon.resource_role(kContainer) == "Started" &&
                    mon.resource_role(kGuestNode) == "Started");
        },
        timeout, std::string("guest node ") + kGuestNode + " to be online");
    if (s && start_failed) {
        return outpost::make_error("test", -EIO,
                                   std::string("the start of ") + kContainer + " failed:\n" +
                                       c.crm_mon_text() + "\n" + c.pacemaker_log_tail(3000));
    }
    return s;
}

Status wait_dummy_on_guest(ClusterHarness& c, std::chrono::milliseconds timeout, const std::string& what)
{
    return c.wait_for(
        [](const CrmMon& mon) {
            auto nodes = mon.resource_nodes("d1");
            return nodes.size() == 1 && nodes[0] == kGuestNode && mon.resource_role("d1") == "Started" &&
                   !mon.resource_failed("d1");
        },
        timeout, what);
}

// The common part of both guest kinds, from "resource created" to "stopped".
void run_guest_scenario(Setup& setup, const std::string& uri, const std::string& domain, const char* kind,
                        std::chrono::milliseconds boot_timeout,
                        const std::function<void()>& check_dummy_inside = {},
                        const std::optional<fs::path>& watch_log = std::nullopt,
                        bool first_action_target = true)
{
    auto& c = *setup.cluster;
    auto& lv = *setup.libvirt;

    // 1. Start: domain, connection, then the Dummy inside.
    auto begin = std::chrono::steady_clock::now();
    require_ok(wait_guest_online(c, boot_timeout));
    double online_s = seconds_since(begin);
    std::string text = c.crm_mon_text();
    INFO(text);
    // 2.1.5's default text lists the bare name; the NAME@HOST form is in the detailed view.
    CHECK(contains(text, std::string("GuestOnline: [ ") + kGuestNode + " ]"));
    auto detail = c.tool_checked({"crm_mon", "-1", "--show-detail"});
    require_ok(detail);
    INFO(*detail);
    CHECK(contains(*detail, std::string("GuestNode ") + kGuestNode + "@" + kClusterNode + ": online"));
    auto mon = c.crm_mon();
    require_ok(mon);
    // XML: the guest is a node of type remote whose resource is the implicit connection.
    CHECK(mon->xml().boolean(std::string("/pacemaker-result/nodes/node[@name='") + kGuestNode +
                             "' and @online='true' and @type='remote' and @id_as_resource='" + kContainer +
                             "']"));
    CHECK(mon->resource_nodes(kContainer) == std::vector<std::string>{kClusterNode});
    CHECK(mon->resource_nodes(kGuestNode) == std::vector<std::string>{kClusterNode});
    WARN("timing (" << kind << "): guest node online " << online_s << " s after pcs resource create");

    begin = std::chrono::steady_clock::now();
    require_ok(c.pcs({"resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor",
                      std::string("interval=") + kDummyMonitor, "--disabled"}));
    require_ok(c.pcs({"constraint", "location", "d1", "prefers", std::string(kGuestNode) + "=INFINITY"}));
    require_ok(c.pcs({"constraint", "location", "d1", "avoids", kClusterNode}));
    require_ok(c.pcs({"resource", "enable", "d1"}));
    require_ok(wait_dummy_on_guest(c, 60s, "d1 to start on the guest node"));
    WARN("timing (" << kind << "): Dummy started inside the guest " << seconds_since(begin)
                    << " s after create");
    if (check_dummy_inside) check_dummy_inside();
    CHECK_FALSE(fs::exists("/run/Dummy-d1.state"));  // not on the cluster node

    std::string log = c.pacemaker_log_tail(64U << 20);
    auto start_order = positions(
        log, {result_line("start", kContainer, kClusterNode), result_line("start", kGuestNode, kClusterNode),
              result_line("start", "d1", kGuestNode)});
    INFO("start order positions: " << start_order[0] << " " << start_order[1] << " " << start_order[2]);
    CHECK(in_order(start_order));

    // 2. The domain dies behind the cluster's back.
    std::size_t before_destroy = log.size();
    begin = std::chrono::steady_clock::now();
    if (watch_log) {
        // The watcher picks the guest up at its next CIB refresh (--refresh below) and
        // subscribes to the hypervisor's events.
        auto until = std::chrono::steady_clock::now() + 30s;
        while (!contains(file_tail(*watch_log, 1 << 20), "subscribed to the domain events of") &&
               std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(100ms);
        REQUIRE(contains(file_tail(*watch_log, 1 << 20), "subscribed to the domain events of"));
        // A monitor of the container through ocf:outpost:guest's front is answered by the
        // watcher's state service, without loading libvirt (the first one of a resource may
        // go to the agent proper, which then vouches for its parameters).
        for (int i = 0; i < 2; ++i)
            require_ok(c.tool_checked({"crm_resource", "--force-check", "--resource", kContainer}));
        std::string watched = file_tail(*watch_log, 1 << 20);
        INFO(watched);
        CHECK(contains(
            watched, std::string("state query for ") + kContainer + " answered: state\t" + domain + "\t1\t"));
        begin = std::chrono::steady_clock::now();
    }
    require_ok(lv.virsh_checked(uri, {"destroy", domain}));
    if (watch_log) {
        // The controller logs "Initiating ACTION operation ..." for each action of a
        // transition: the first one after the destroy is the recovery's first action.
        std::optional<double> first_action_s;
        std::string first_action;
        while (!first_action_s && seconds_since(begin) < 120) {
            std::string now = c.pacemaker_log_tail(64U << 20);
            auto at = now.find("Initiating ", std::min(before_destroy, now.size()));
            if (at != std::string::npos) {
                first_action_s = seconds_since(begin);
                first_action = now.substr(at, now.find('\n', at) - at);
            } else {
                std::this_thread::sleep_for(20ms);
            }
        }
        REQUIRE(first_action_s.has_value());
        WARN("timing (" << kind << "): virsh destroy -> recovery's first action (\"" << first_action
                        << "\") in " << *first_action_s << " s with outpost watch");
        // A QEMU VM sends no FIN: an operation in flight on the guest (the Dummy's monitor,
        // the connection's) only ends at its timeout, and the controller starts no new
        // transition before the aborted one has no action pending, whoever reported the
        // failure. There the target is the watcher's own report (below).
        if (first_action_target)
            CHECK(*first_action_s * 1000 < static_cast<double>(kWatchRecoveryTarget.count()));
    }
    require_ok(c.wait_for(
        [](const CrmMon& m) { return m.fail_count(kContainer, kClusterNode) >= 1 || m.failed_actions() > 0; },
        60s, "the cluster to notice the destroyed domain"));
    double noticed_s = seconds_since(begin);
    require_ok(c.wait_for(
        [&](const CrmMon& m) {
            auto nodes = m.resource_nodes("d1");
            return m.node_online(kGuestNode) && nodes.size() == 1 && nodes[0] == kGuestNode &&
                   m.resource_role("d1") == "Started" && !m.resource_failed("d1") &&
                   m.resource_role(kContainer) == "Started" && !m.resource_failed(kContainer);
        },
        boot_timeout + 60s, "the guest and d1 to be recovered after virsh destroy"));
    WARN("timing (" << kind << "): destroyed domain noticed after " << noticed_s
                    << " s, guest and Dummy back after " << seconds_since(begin) << " s");
    CHECK(lv.domain_running(uri, domain));
    if (watch_log) {
        // The watcher reported the container failed (crm_resource --fail): without that the
        // cluster first tries to reconnect to the dead guest, fails, and bans the
        // connection until its 30 s monitor sees the domain gone.
        std::string watch_text = file_tail(*watch_log, 8000);
        INFO("outpost watch log:\n" << watch_text);
        auto at = watch_text.find("reported the resource failed on " + std::string(kClusterNode));
        CHECK(at != std::string::npos);
        if (at != std::string::npos) {
            auto line = watch_text.rfind('\n', at);
            WARN("outpost watch: " << watch_text.substr(line + 1, watch_text.find('\n', at) - line - 1));
            // "... reported the resource failed on node1 (367 ms after the event)"
            auto open = watch_text.find('(', at);
            long ms =
                open != std::string::npos ? std::strtol(watch_text.c_str() + open + 1, nullptr, 10) : -1;
            CHECK(ms >= 0);
            CHECK(ms < kWatchRecoveryTarget.count());
        }
    }
    if (check_dummy_inside) check_dummy_inside();
    log = c.pacemaker_log_tail(64U << 20);
    auto recovery_order =
        positions(log,
                  {result_line("start", kContainer, kClusterNode),
                   result_line("start", kGuestNode, kClusterNode), result_line("start", "d1", kGuestNode)},
                  before_destroy);
    INFO("recovery order positions: " << recovery_order[0] << " " << recovery_order[1] << " "
                                      << recovery_order[2]);
    CHECK(in_order(recovery_order));
    // Whichever fails first (the domain's monitor, or the connection's when the daemon's
    // TCP connection dies with it), the scheduler "fences" the guest by recovering its
    // container.
    CHECK(log.find(std::string("Fence (reboot) ") + kGuestNode + " (resource: " + kContainer + ")",
                   before_destroy) != std::string::npos);

    // 3. Stopping the guest resource stops what runs inside first.
    std::size_t before_stop = log.size();
    begin = std::chrono::steady_clock::now();
    require_ok(c.pcs({"resource", "disable", kContainer}));
    require_ok(c.wait_for(
        [](const CrmMon& m) {
            return m.resource_role(kContainer) == "Stopped" && m.resource_nodes(kContainer).empty() &&
                   m.resource_nodes("d1").empty() && !m.node_online(kGuestNode);
        },
        90s, "the guest resource and d1 to stop"));
    WARN("timing (" << kind << "): pcs resource disable -> all stopped in " << seconds_since(begin) << " s");
    CHECK(lv.domain_state(uri, domain).empty());  // transient domain is gone
    log = c.pacemaker_log_tail(64U << 20);
    auto stop_order =
        positions(log,
                  {result_line("stop", "d1", kGuestNode), result_line("stop", kGuestNode, kClusterNode),
                   result_line("stop", kContainer, kClusterNode)},
                  before_stop);
    INFO("stop order positions: " << stop_order[0] << " " << stop_order[1] << " " << stop_order[2]);
    CHECK(in_order(stop_order));
}

std::unique_ptr<Setup> bring_up(bool qemu)
{
    auto setup = std::make_unique<Setup>();
    auto begin = std::chrono::steady_clock::now();
    LibvirtOptions options;
    options.lxc = !qemu;
    options.qemu = qemu;
    auto lv = LibvirtHarness::start(options);
    require_ok(lv);
    setup->libvirt = std::move(*lv);
    WARN("libvirt set-up: " << setup->libvirt->describe_setup());
    auto cluster = ClusterHarness::start();
    require_ok(cluster);
    setup->cluster = std::move(*cluster);
    auto dir = TempDir::create("outpost-guest");
    require_ok(dir);
    setup->dir.emplace(std::move(*dir));
    WARN("timing: libvirt + cluster up in " << seconds_since(begin) << " s");
    return setup;
}

// --- LXC ---------------------------------------------------------------------------------
void lxc_guest_node(Peer peer, Declare how = Declare::meta, Agent agent = Agent::virtual_domain)
{
    std::string why;
    auto binary = binary_for(peer, why);
    if (!binary) FAIL("no " << label(peer) << ": " << why);
    auto setup = bring_up(false);
    auto& dir = *setup->dir;
    std::string domain = std::string(kDomainPrefix) + "lxc1";

    LxcGuestSpec spec;
    spec.name = domain;
    spec.command = {*binary};
    spec.address = bridge_address(kGuestHost);
    spec.state_dir = dir / "state";
    spec.log_file = dir / "daemon.out";
    // Each daemon logs to its own file, not the cluster's pacemaker.log.
    spec.env = {{"PCMK_logfile", (dir / "daemon.log").string()}};
    fs::create_directories(spec.state_dir);
    setup->guest_logs = {spec.log_file, dir / "daemon.log"};
    fs::path xml = dir / "lxc1.xml";
    require_ok(write_file(xml, lxc_domain_xml(spec)));
    setup->libvirt->track_domain(kLxcUri, domain);

    // VirtualDomain 4.12.0 reads OCF_RESKEY_CRM_shutdown_mode instead of its own
    // shutdown_mode parameter: an instance attribute of that name reaches it, and
    // `virsh shutdown --mode signal` stops the container in well under a second
    // instead of waiting (stop timeout - 5 s) and destroying it.
    std::optional<fs::path> watch_log;
    if (agent == Agent::outpost_guest) {
        watch_log = start_outpost_guest_and_watch(*setup);
        // Its own shutdown_mode works; the 30 s monitor shows that recovery does not wait
        // for it.
        create_guest_resource(*setup->cluster, kLxcUri, xml, {"op", "stop", "timeout=20s"}, how, {}, agent,
                              "30s");
    } else {
        create_guest_resource(*setup->cluster, kLxcUri, xml,
                              {"CRM_shutdown_mode=signal", "op", "stop", "timeout=20s"}, how);
    }

    auto dummy_inside = [&] {
        // The Dummy's state file is in the container's private /run.
        auto init = setup->libvirt->lxc_init_pid(domain);
        REQUIRE(init.has_value());
        CHECK(fs::exists("/proc/" + std::to_string(*init) + "/root/run/Dummy-d1.state"));
    };
    const char* kind = agent == Agent::outpost_guest
                           ? "LXC, outpost-agent, ocf:outpost:guest + outpost watch"
                           : (peer == Peer::remoted ? "LXC, pacemaker-remoted" : "LXC, outpost-agent");
    run_guest_scenario(*setup, kLxcUri, domain, kind, 60s, dummy_inside, watch_log);
}

TEST_CASE("LXC guest node runs outpost-agent", "[lxc][agent]")
{
    lxc_guest_node(Peer::agent);
}

TEST_CASE("LXC guest node declared with pcs cluster node add-guest", "[lxc][agent][add-guest]")
{
    lxc_guest_node(Peer::agent, Declare::add_guest);
}

TEST_CASE("LXC guest node under ocf:outpost:guest, with outpost watch", "[outpost-guest]")
{
    lxc_guest_node(Peer::agent, Declare::meta, Agent::outpost_guest);
}

TEST_CASE("LXC guest node runs pacemaker-remoted 2.1.5 (reference)", "[lxc][remoted]")
{
    lxc_guest_node(Peer::remoted);
}

// --- QEMU --------------------------------------------------------------------------------
void qemu_guest_node(Peer peer, Agent agent = Agent::virtual_domain)
{
    std::string why;
    auto binary = binary_for(peer, why);
    if (!binary) FAIL("no " << label(peer) << ": " << why);
    auto k = kernel();
    require_ok(k);
    auto setup = bring_up(true);
    auto& dir = *setup->dir;
    // QEMU runs as libvirt-qemu: it must reach the initrd (and writes nothing here).
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    std::string domain = std::string(kDomainPrefix) + "vm1";

    InitramfsSpec spec;
    spec.kernel = *k;
    spec.daemon = *binary;
    // stderr: the serial console file (pacemaker-remoted logs there only with PCMK_stderr).
    spec.env = {{"PCMK_logfile", "none"}, {"PCMK_stderr", "1"}};
    spec.address = bridge_address(kGuestHost);
    spec.authkey = kSharedAuthkeyPath;  // the cluster's fresh key
    // Dummy and ocf-shellfuncs; the user and group databases, where both daemons look up
    // haclient (the local IPC's group) and pacemaker-remoted its hacluster user.
    spec.trees = {"/usr/lib/ocf", "/etc/passwd", "/etc/group"};
    spec.work_dir = dir.path();
    spec.output = dir / "initrd.gz";
    auto begin = std::chrono::steady_clock::now();
    auto initrd = build_initramfs(spec);
    require_ok(initrd);
    WARN("initramfs with " << label(peer) << ": " << initrd->compressed_bytes / 1024 << " KiB gzip, "
                           << initrd->content_bytes / 1024 << " KiB unpacked, of which the daemon + "
                           << initrd->libraries.size() << " libraries " << initrd->daemon_bytes / 1024
                           << " KiB; built in " << seconds_since(begin) << " s");

    // 256 MiB fits a normal build (about 25 MB gzip, 57 MB unpacked, with outpost-agent or
    // pacemaker-remoted alike: both closures hold libicudata); the ASan build's agent and
    // libasan make it 33/93 MB, so the VM is sized from the image.
    VmGuestSpec vm = vm_for_initramfs(domain, k->boot_image(), *initrd, dir / "console.log");
    WARN("VM memory: " << vm.memory_mib << " MiB");
    setup->guest_logs = {vm.console_log};
    WARN("booting " << vm.kernel.string());
    fs::path xml = dir / "vm1.xml";
    require_ok(write_file(xml, qemu_domain_xml(vm)));
    setup->libvirt->track_domain(kQemuUri, domain);
    // A destroyed VM sends no FIN: the guest connection's in-flight 30 s monitor (a poke)
    // only fails at its timeout, and the controller runs the connection's stop after it.
    // With the default 20 s op timeout that stop "times out" first, its failure counts
    // INFINITY and the recovered VM is banned from node1. An op default above the
    // implicit monitor's 30 s lets the stop outwait it (Pacemaker 2.1.5 cluster side; the
    // same with any daemon in the VM).
    require_ok(setup->cluster->pcs({"resource", "op", "defaults", "update", "timeout=45s"}));
    // TCG boot to a listening daemon takes 6-13 s on an idle machine, but over a minute on
    // a loaded one (seen: network up after 18 s, then pacemaker-remoted 2.1.5 still
    // generating its 2048-bit DH parameters 40 s later, so the implicit connection's start
    // failed at the default remote-connect-timeout of 60 s and the guest was banned).
    // Generous timeouts for both: the domain's start (it only waits for QEMU) and the
    // connection's start (remote-connect-timeout: it waits for the daemon).
    std::optional<fs::path> watch_log;
    if (agent == Agent::outpost_guest) watch_log = start_outpost_guest_and_watch(*setup);
    create_guest_resource(*setup->cluster, kQemuUri, xml,
                          {"op", "start", "timeout=90s", "op", "stop", "timeout=60s"}, Declare::meta,
                          {"remote-connect-timeout=" + std::to_string(kQemuConnectTimeout.count()) + "s"},
                          agent, agent == Agent::outpost_guest ? "30s" : "3s");
    const char* kind =
        agent == Agent::outpost_guest
            ? "QEMU/TCG, outpost-agent, ocf:outpost:guest + outpost watch"
            : (peer == Peer::remoted ? "QEMU/TCG, pacemaker-remoted" : "QEMU/TCG, outpost-agent");
    run_guest_scenario(*setup, kQemuUri, domain, kind, kQemuConnectTimeout + 30s, {}, watch_log, false);
    // The stop went through ACPI: the power button reached the init and the daemon.
    std::string console = file_tail(vm.console_log, 1 << 20);
    CHECK(contains(console, "power button: SIGTERM to the daemon"));
}

TEST_CASE("QEMU/TCG guest node under ocf:outpost:guest, with outpost watch", "[qemu-outpost-guest]")
{
    qemu_guest_node(Peer::agent, Agent::outpost_guest);
}

TEST_CASE("QEMU/TCG guest node runs outpost-agent", "[qemu][agent]")
{
    qemu_guest_node(Peer::agent);
}

TEST_CASE("QEMU/TCG guest node runs pacemaker-remoted 2.1.5 (reference)", "[qemu][remoted]")
{
    qemu_guest_node(Peer::remoted);
}

}  // namespace
