// Multi-node scenarios with a QEMU/TCG VM as guest node (MultiNodeCluster with
// `.libvirt = true`: a libvirtd per cluster node, the VM bridge 192.168.171.1/24 alike on
// both). The VM boots Debian's kernel and an initramfs around the daemon (outpost-agent, or
// the real pacemaker-remoted 2.1.5), with /usr/lib/ocf and crm_attribute (for Stateful's
// promotion score) inside, at 192.168.171.10. A probe loop in the VM prints, every second
// on its serial console (a file, appended to by both QEMUs): its boot id, the Dummy's state
// file (inode:mtime), the ocf:heartbeat:anything process (pid:start time) and Stateful's
// state: what "kept running" is measured by, from outside the VM.
//
//   [migrate-vm]   the VM (meta remote-node, allow-migrate=true) runs a Dummy, an anything
//                  process and a promotable Stateful (promoted there); `pcs resource move`
//                  to the other node live-migrates it (migrate_to rc 0 on the source,
//                  migrate_from rc 0 on the target), and back; inside nothing restarted:
//                  the same boot id, processes and files, the same last operation (call-id)
//                  of each resource, Stateful still promoted, no failed action; the guest's
//                  connection ends on the VM's new node. Per container agent and daemon:
//                  [agent] (VirtualDomain), [outpost-guest] (ocf:outpost:guest),
//                  [remoted] (VirtualDomain, pacemaker-remoted 2.1.5).
//   [node-loss-vm] fencing on; the VM and a Dummy inside on node1; node1's corosync is
//                  SIGKILLed: node2 fences node1 (fence_outpost_test kills everything in its
//                  network namespace, QEMU included), then starts the VM and the Dummy:
//                  the new QEMU starts after the fence's "off".
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"
#include "harness/multinode.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
using outpost::Status;
namespace fs = std::filesystem;

namespace {

enum class Peer { agent, remoted };
enum class Container { virtual_domain, outpost_guest };

constexpr const char* kGuest = "vmguest1";
constexpr const char* kVm = "vm1";
constexpr const char* kVmHost = "10";  // 192.168.171.10
constexpr const char* kOutpostGuestAgent = "/usr/lib/ocf/resource.d/outpost/guest";
// A TCG boot to a listening daemon: 16-21 s measured, more on a loaded machine.
constexpr auto kBootTimeout = 150s;
constexpr auto kMoveTimeout = 120s;

std::string vm_address()
{
    return std::string(kNodeVmSubnet) + kVmHost;
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double now_epoch()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <typename R>
std::string why(const R& result)
{
    return result ? std::string() : result.error().message;
}

// Printed by the VM every second (see the file comment).
constexpr const char* kProbeScript =
    "( while :; do\n"
    "  p=$(cat /run/anything_p1.pid 2>/dev/null)\n"
    "  ps=''; [ -n \"$p\" ] && ps=\"$p:$(cut -d' ' -f22 /proc/$p/stat 2>/dev/null)\"\n"
    "  echo \"outpost-probe boot=$(cat /proc/sys/kernel/random/boot_id) dummy=$(stat -c '%i:%Y' "
    "/run/Dummy-d1.state 2>/dev/null) proc=$ps stateful=$(cat /run/Stateful-st1*.state 2>/dev/null) "
    "end\"\n"
    "  sleep 1\n"
    "done ) >/dev/console 2>&1 &\n";

struct Probe {
    std::string boot, dummy, proc, stateful;
    bool operator==(const Probe&) const = default;
};

std::string field(const std::string& line, const std::string& name)
{
    auto at = line.find(" " + name + "=");
    if (at == std::string::npos) return "";
    at += name.size() + 2;
    return line.substr(at, line.find(' ', at) - at);
}

// The last complete probe line of the console.
std::optional<Probe> last_probe(const fs::path& console)
{
    std::string text = file_tail(console, 16384);
    auto end = text.rfind(" end");
    if (end == std::string::npos) return std::nullopt;
    auto begin = text.rfind("outpost-probe ", end);
    if (begin == std::string::npos) return std::nullopt;
    std::string line = text.substr(begin, end - begin + 1);
    return Probe{field(line, "boot"), field(line, "dummy"), field(line, "proc"), field(line, "stateful")};
}

// The console without the probe lines (the kernel's, /init's and the daemon's messages).
std::string console_messages(const fs::path& console)
{
    std::istringstream lines(file_tail(console, 1 << 20));
    std::string line;
    std::string out;
    while (std::getline(lines, line))
        if (line.rfind("outpost-probe ", 0) != 0) out += line + "\n";
    return out.size() > 4000 ? out.substr(out.size() - 4000) : out;
}

std::string describe(const Probe& p)
{
    return "boot " + p.boot + ", dummy " + p.dummy + ", process " + p.proc + ", stateful " + p.stateful;
}

std::optional<std::string> daemon_binary(Peer peer)
{
    if (peer == Peer::agent) return agent_path();
    auto path = remoted_path();
    if (!path) return std::nullopt;
    return *path;
}

// The cluster with a libvirtd per node, the VM image and domain XML; prints the VM's
// console and the nodes' logs when the test failed.
struct VmCluster {
    std::unique_ptr<MultiNodeCluster> cluster;
    std::optional<TempDir> dir;
    fs::path console;
    fs::path xml;
    std::string domain = std::string(kDomainPrefix) + "mn1";
    bool agent_linked = false;
    bool agent_dir_made = false;

    ~VmCluster()
    {
        if (cluster && !Catch::getResultCapture().lastAssertionPassed()) {
            (void)std::fprintf(stderr, "--- crm_mon ---\n%s\n%s\n--- console ---\n%s\n",
                               cluster->node(0).crm_mon_text().c_str(), cluster->logs(5000).c_str(),
                               console_messages(console).c_str());
        }
        if (cluster) {
            auto s = cluster->stop();
            if (!s) (void)std::fprintf(stderr, "%s\n", s.error().message.c_str());
        }
        if (agent_linked) {
            std::error_code ec;
            fs::remove(kOutpostGuestAgent, ec);
            if (agent_dir_made) fs::remove(fs::path(kOutpostGuestAgent).parent_path(), ec);
        }
    }

    [[nodiscard]] ClusterNode& node(const std::string& name) const
    {
        ClusterNode* n = cluster->node_named(name);
        REQUIRE(n != nullptr);
        return *n;
    }
};

// ocf:outpost:guest where Pacemaker looks for it (every node sees the machine's
// /usr/lib/ocf); a build under test is linked there for the run.
void install_outpost_guest(VmCluster& vc)
{
    const char* built = std::getenv("OUTPOST_OCF_GUEST");
    if (built == nullptr || *built == '\0')
        FAIL("OUTPOST_OCF_GUEST is not set (ocf:outpost:guest is not built)");
    std::error_code ec;
    if (fs::exists(kOutpostGuestAgent, ec)) return;
    vc.agent_dir_made = fs::create_directories(fs::path(kOutpostGuestAgent).parent_path(), ec);
    fs::create_symlink(built, kOutpostGuestAgent, ec);
    if (ec) FAIL("cannot link " << kOutpostGuestAgent << ": " << ec.message());
    vc.agent_linked = true;
}

void bring_up(VmCluster& vc, Peer peer, bool fencing)
{
    auto binary = daemon_binary(peer);
    if (!binary) FAIL("no daemon binary for this variant");
    auto k = kernel();
    require_ok(k);
    auto begin = std::chrono::steady_clock::now();
    MultiNodeOptions options;
    options.libvirt = true;
    options.fencing = fencing;
    auto started = MultiNodeCluster::start(options);
    INFO(why(started));
    REQUIRE(started);
    vc.cluster = std::move(*started);
    WARN("timing: two cluster nodes with a libvirtd each up in " << seconds_since(begin) << " s");
    if (fencing) require_ok(vc.cluster->create_fence_device(vc.cluster->node(0)));
    auto dir = TempDir::create("outpost-mnvm");
    require_ok(dir);
    vc.dir.emplace(std::move(*dir));

    begin = std::chrono::steady_clock::now();
    InitramfsSpec spec;
    spec.kernel = *k;
    spec.daemon = *binary;
    spec.env = {{"PCMK_logfile", "none"}, {"PCMK_stderr", "1"}};
    spec.address = vm_address();
    spec.authkey = vc.cluster->authkey_path();
    // The user and group databases (both daemons look up haclient, pacemaker-remoted its
    // hacluster user), with root's login shell the image's /bin/sh: ocf:heartbeat:anything
    // starts its process through `su - root`, which runs that shell (/bin/bash: none here).
    auto passwd = read_file("/etc/passwd");
    require_ok(passwd);
    std::string users = *passwd;
    for (std::size_t at = users.find(":/bin/bash"); at != std::string::npos;
         at = users.find(":/bin/bash", at))
        users.replace(at, 10, ":/bin/sh");
    spec.trees = {"/usr/lib/ocf", "/etc/group"};
    spec.files = {{"/etc/passwd", users}};
    // crm_attribute: Stateful's promotion score (through the daemon's IPC proxy); nohup:
    // anything starts its process with it, and Debian's busybox has no such applet.
    spec.binaries = {"/usr/sbin/crm_attribute", "/usr/bin/nohup"};
    spec.setup_script = kProbeScript;
    spec.work_dir = vc.dir->path();
    spec.output = *vc.dir / "initrd.gz";
    auto initrd = build_initramfs(spec);
    require_ok(initrd);
    WARN("initramfs: " << initrd->compressed_bytes / 1024 << " KiB gzip, built in " << seconds_since(begin)
                       << " s");
    vc.console = *vc.dir / "console.log";
    VmGuestSpec vm = vm_for_initramfs(vc.domain, k->boot_image(), *initrd, vc.console);
    vm.console_append = true;
    vc.xml = *vc.dir / "vm1.xml";
    require_ok(write_file(vc.xml, qemu_domain_xml(vm, kNodeVmBridge)));

    const ClusterNode& n1 = vc.cluster->node(0);
    // Stickiness keeps each resource where it is once pcs's move constraint is gone;
    // longer op timeouts than the guest connection's implicit 30 s monitor (see
    // test_cluster_guest.cpp: a VM sends no FIN).
    require_ok(n1.pcs({"resource", "defaults", "update", "resource-stickiness=100"}));
    require_ok(n1.pcs({"resource", "op", "defaults", "update", "timeout=45s"}));
}

void create_vm_resource(VmCluster& vc, Container container, const std::vector<std::string>& extra = {})
{
    if (container == Container::outpost_guest) install_outpost_guest(vc);
    std::vector<std::string> args{
        "resource",
        "create",
        kVm,
        container == Container::outpost_guest ? "ocf:outpost:guest" : "ocf:heartbeat:VirtualDomain",
        "hypervisor=qemu:///system",
        "config=" + vc.xml.string(),
        "migration_transport=tcp",
        "autoset_utilization_cpu=false",
        "autoset_utilization_hv_memory=false",
        "autoset_utilization_host_memory=false",
        "op",
        "start",
        "timeout=90s",
        "op",
        "stop",
        "timeout=60s",
        "op",
        "migrate_to",
        "timeout=120s",
        "op",
        "migrate_from",
        "timeout=60s",
        "op",
        "monitor",
        "interval=5s",
        "timeout=30s",
        "meta",
        std::string("remote-node=") + kGuest,
        "remote-addr=" + vm_address(),
        "remote-connect-timeout=150s",
        "allow-migrate=true"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.emplace_back("--force");  // pcs wants `cluster node add-guest` for remote-node
    require_ok(vc.cluster->node(0).pcs(args));
}

Status wait_guest(const ClusterNode& via, std::chrono::milliseconds timeout)
{
    return via.wait_for(
        [](const CrmMon& m) {
            return m.node_online(kGuest) && m.resource_nodes(kVm).size() == 1 &&
                   m.resource_nodes(kGuest) == m.resource_nodes(kVm);
        },
        timeout, std::string("guest node ") + kGuest + " online");
}

// d1 (Dummy), p1 (anything: /bin/sleep) and st1-clone (Stateful, one instance) on the guest
// only, st1 promoted there.
void create_inner_resources(VmCluster& vc)
{
    const ClusterNode& n1 = vc.cluster->node(0);
    require_ok(n1.pcs({"resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=5s"}));
    require_ok(n1.pcs({"resource", "create", "p1", "ocf:heartbeat:anything", "binfile=/bin/sleep",
                       "cmdline_options=3600", "op", "monitor", "interval=5s", "--force"}));
    require_ok(n1.pcs({"resource", "create", "st1", "ocf:pacemaker:Stateful", "op", "monitor", "interval=5s",
                       "role=Promoted", "op", "monitor", "interval=7s", "role=Unpromoted", "promotable",
                       "clone-max=1", "promoted-max=1"}));
    for (const char* rsc : {"d1", "p1", "st1-clone"}) {
        require_ok(n1.pcs({"constraint", "location", rsc, "prefers", std::string(kGuest) + "=100"}));
        require_ok(n1.pcs({"constraint", "location", rsc, "avoids", "node1", "node2"}));
    }
    const std::vector<std::string> guest{kGuest};
    auto up = n1.wait_for(
        [&](const CrmMon& m) {
            return m.resource_nodes("d1") == guest && m.resource_nodes("p1") == guest &&
                   m.nodes_in_role("st1", "Promoted") == guest &&
                   m.has_operation("d1", kGuest, "monitor", 5000) &&
                   m.has_operation("p1", kGuest, "monitor", 5000);
        },
        90s, "d1, p1 and st1 (promoted) running and monitored on the guest");
    INFO(why(up));
    REQUIRE(up);
    // crm_mon lists st1 promoted while its promote still runs: wait for the VM's own word.
    auto inside = wait_until(
        [&] {
            auto probe = last_probe(vc.console);
            return probe && probe->stateful == "Promoted" && !probe->dummy.empty() && !probe->proc.empty();
        },
        30s, "the VM's probe line showing d1, p1 and st1 promoted");
    INFO(why(inside) << "\n" << file_tail(vc.console, 400));
    REQUIRE(inside);
}

// The operations recorded for `rsc` on `node`, as "task:call-id:rc" in call order.
std::vector<std::string> operations(const XmlQuery& status, const std::string& node, const std::string& rsc)
{
    const std::string base =
        "//node_state[@uname='" + node + "']//lrm_resource[@id='" + rsc + "']/lrm_rsc_op";
    std::vector<std::string> out;
    for (const auto& id : status.strings(base + "/@id")) {
        std::string op = base;
        op.append("[@id='").append(id).append("']");
        std::string entry = status.string(op + "/@operation");
        entry.append(":").append(status.string(op + "/@call-id")).append(":rc");
        entry.append(status.string(op + "/@rc-code"));
        out.push_back(std::move(entry));
    }
    return out;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : " ") + item;
    return out;
}

// What the DC initiated in its log from `offset` on ("Initiating ACTION operation ...").
std::string initiated(const ClusterNode& dc, std::uintmax_t offset)
{
    auto log = read_file(dc.pacemaker_log());
    if (!log || offset > log->size()) return "";
    std::istringstream lines(log->substr(offset));
    std::string line;
    std::string out;
    while (std::getline(lines, line)) {
        auto at = line.find("Initiating ");
        if (at != std::string::npos)
            out += "  " + line.substr(0, 18) + " " + line.substr(at, line.find(" |", at) - at) + "\n";
    }
    return out;
}

// `pcs resource move` of the VM to the other node. What Pacemaker 2.1.5 does there (the
// checks below): the VM migrates live (migrate_to on the source, migrate_from on the
// target, then the source's stop that ends a migration, which finds the domain gone); the
// guest's connection is not migrated but stopped on the source and started on the target;
// the guest's resource history is then rebuilt by probes, which find everything running
// (Stateful promoted, rc 8): nothing inside is stopped, started, promoted or demoted, and
// the same processes run (the VM's probe line: the same boot, state files and process).
void migrate_vm(VmCluster& vc)
{
    MultiNodeCluster& c = *vc.cluster;
    const ClusterNode& n1 = c.node(0);
    auto mon = n1.crm_mon();
    require_ok(mon);
    auto hosts = mon->resource_nodes(kVm);
    REQUIRE(hosts.size() == 1);
    const std::string from = hosts.front();
    const std::string to = from == "node1" ? "node2" : "node1";
    REQUIRE(mon->nodes_in_role("st1", "Promoted") == std::vector<std::string>{kGuest});
    auto before = last_probe(vc.console);
    REQUIRE(before);
    INFO("before: " << describe(*before));
    REQUIRE(!before->boot.empty());
    REQUIRE(!before->dummy.empty());
    REQUIRE(!before->proc.empty());
    REQUIRE(before->stateful == "Promoted");
    const ClusterNode& dc = vc.node(mon->dc());
    const std::uintmax_t dc_log_from = fs::file_size(dc.pacemaker_log());

    auto began = std::chrono::steady_clock::now();
    require_ok(n1.pcs({"resource", "move", kVm, to}));
    const double move_returned = seconds_since(began);
    auto arrived = n1.wait_for(
        [&](const CrmMon& m) {
            return m.resource_nodes(kVm) == std::vector<std::string>{to} &&
                   m.resource_nodes(kGuest) == std::vector<std::string>{to} && m.node_online(kGuest) &&
                   m.nodes_in_role("st1", "Promoted") == std::vector<std::string>{kGuest} &&
                   m.resource_nodes("d1") == std::vector<std::string>{kGuest} &&
                   m.resource_nodes("p1") == std::vector<std::string>{kGuest} &&
                   m.has_operation("d1", kGuest, "monitor", 5000) &&
                   m.has_operation("p1", kGuest, "monitor", 5000);
        },
        kMoveTimeout, std::string("the VM and its connection on ") + to + ", everything monitored");
    INFO(why(arrived));
    REQUIRE(arrived);
    WARN("timing: pcs resource move "
         << kVm << " " << from << " -> " << to << " returned after " << move_returned
         << " s; guest online there, everything monitored after " << seconds_since(began) << " s");
    WARN("the DC's actions for the move:\n" << initiated(dc, dc_log_from));
    auto job = vc.node(to).libvirt()->virsh({"domjobinfo", "--completed", vc.domain});
    if (job && job->succeeded()) WARN("libvirt's completed migration job on " << to << ":\n" << job->output);

    auto status = n1.cibadmin({"-Q", "-o", "status"});
    require_ok(status);
    auto xml = XmlQuery::parse(*status);
    require_ok(xml);
    const auto vm_from = operations(*xml, from, kVm);
    const auto vm_to = operations(*xml, to, kVm);
    const auto conn_from = operations(*xml, from, kGuest);
    const auto conn_to = operations(*xml, to, kGuest);
    INFO("vm1 on " << from << ": " << joined(vm_from) << "\nvm1 on " << to << ": " << joined(vm_to) << "\n"
                   << kGuest << " on " << from << ": " << joined(conn_from) << "\n"
                   << kGuest << " on " << to << ": " << joined(conn_to));
    auto has = [](const std::vector<std::string>& ops, const std::string& prefix) {
        for (const auto& op : ops)
            if (op.rfind(prefix, 0) == 0) return true;
        return false;
    };
    // The VM: migrated, not restarted.
    CHECK(xml->string("//node_state[@uname='" + from + "']//lrm_resource[@id='" + kVm +
                      "']/lrm_rsc_op[@operation='migrate_to']/@rc-code") == "0");
    CHECK(xml->string("//node_state[@uname='" + to + "']//lrm_resource[@id='" + kVm +
                      "']/lrm_rsc_op[@operation='migrate_from']/@rc-code") == "0");
    CHECK_FALSE(has(vm_to, "start:"));
    // The connection: stopped on the source, started on the target.
    CHECK(has(conn_from, "stop:"));
    CHECK(has(conn_to, "start:"));
    WARN("the guest connection's history: " << from << ": " << joined(conn_from) << "; " << to << ": "
                                            << joined(conn_to));

    // Inside: re-probed only, nothing stopped, started, promoted or demoted.
    for (const char* rsc : {"d1", "p1", "st1"}) {
        const auto ops = operations(*xml, kGuest, rsc);
        INFO(rsc << " on " << kGuest << ": " << joined(ops));
        for (const char* task : {"start:", "stop:", "promote:", "demote:"})
            CHECK_FALSE(has(ops, task));
    }
    // The same processes and files: a probe line printed after the move.
    std::this_thread::sleep_for(2s);
    auto after = last_probe(vc.console);
    REQUIRE(after);
    INFO("after: " << describe(*after));
    CHECK(*after == *before);
    auto final_mon = n1.crm_mon();
    require_ok(final_mon);
    INFO(n1.crm_mon_text());
    CHECK(final_mon->failed_actions() == 0);
    CHECK(final_mon->nodes_in_role("st1", "Promoted") == std::vector<std::string>{kGuest});
    // The source's TCP connection to the guest is gone: Pacemaker stopped it (a VM that
    // left would send no FIN).
    auto ss = vc.node(from).tool({"ss", "-Htn", "state", "established", "dst", vm_address()});
    require_ok(ss);
    CHECK(ss->output.empty());
}

void migrate_scenario(Peer peer, Container container)
{
    VmCluster vc;
    bring_up(vc, peer, false);
    auto began = std::chrono::steady_clock::now();
    create_vm_resource(vc, container);
    auto online = wait_guest(vc.cluster->node(0), kBootTimeout);
    INFO(why(online));
    REQUIRE(online);
    WARN("timing: guest node online " << seconds_since(began) << " s after the resource was created");
    create_inner_resources(vc);
    migrate_vm(vc);
    migrate_vm(vc);  // and back
    auto stopped = vc.cluster->stop();
    INFO(why(stopped));
    CHECK(stopped);
}

}  // namespace

TEST_CASE("agent: a QEMU guest node live-migrates between cluster nodes (VirtualDomain)",
          "[migrate-vm][agent]")
{
    migrate_scenario(Peer::agent, Container::virtual_domain);
}

TEST_CASE("agent: a QEMU guest node live-migrates between cluster nodes (ocf:outpost:guest)",
          "[migrate-vm][outpost-guest]")
{
    migrate_scenario(Peer::agent, Container::outpost_guest);
}

TEST_CASE("remoted: a QEMU guest node live-migrates between cluster nodes (VirtualDomain)",
          "[migrate-vm][remoted]")
{
    migrate_scenario(Peer::remoted, Container::virtual_domain);
}

namespace {

// The PID of the VM's QEMU on `node` (libvirt's pid file in the node's /run), or -1.
pid_t qemu_pid(const ClusterNode& node, const std::string& domain)
{
    auto text = read_file(
        "/proc/" + std::to_string(node.holder_pid()) + "/root/run/libvirt/qemu/" + domain + ".pid", 64);
    if (!text) return -1;
    try {
        return static_cast<pid_t>(std::stol(*text));
    } catch (const std::exception&) {
        return -1;
    }
}

// When `pid` started, in seconds since the epoch (btime + its start time in clock ticks).
std::optional<double> start_epoch(pid_t pid)
{
    auto stat = read_process_stat(pid);
    auto text = read_file("/proc/stat", 1 << 16);
    if (!stat || !text) return std::nullopt;
    auto at = text->find("\nbtime ");
    if (at == std::string::npos) return std::nullopt;
    double btime = std::strtod(text->c_str() + at + 7, nullptr);
    return btime + static_cast<double>(stat->start_time) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

// Scenario 3 with a guest VM: the cluster node hosting it loses corosync; the survivor
// fences it (fence_outpost_test: everything in its network namespace is killed, its QEMU
// too), and only then starts the VM and the Dummy inside it.
TEST_CASE("agent: the cluster node hosting a QEMU guest node is lost, fenced, the guest recovered",
          "[node-loss-vm]")
{
    VmCluster vc;
    bring_up(vc, Peer::agent, true);
    MultiNodeCluster& c = *vc.cluster;
    ClusterNode& lost = c.node(0);
    ClusterNode& survivor = c.node(1);
    auto began = std::chrono::steady_clock::now();
    create_vm_resource(vc, Container::virtual_domain, {"--disabled"});
    require_ok(survivor.pcs({"constraint", "location", kVm, "prefers", lost.name() + "=50"}));
    require_ok(survivor.pcs({"resource", "enable", kVm}));
    auto online = wait_guest(survivor, kBootTimeout);
    INFO(why(online));
    REQUIRE(online);
    WARN("timing: guest node online " << seconds_since(began) << " s after the resource was created");
    require_ok(
        survivor.pcs({"resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=5s"}));
    require_ok(survivor.pcs({"constraint", "location", "d1", "prefers", std::string(kGuest) + "=100"}));
    require_ok(survivor.pcs({"constraint", "location", "d1", "avoids", "node1", "node2"}));
    const std::vector<std::string> guest{kGuest};
    require_ok(survivor.wait_for([&](const CrmMon& m) { return m.resource_nodes("d1") == guest; }, 60s,
                                 "d1 on the guest"));
    auto mon = survivor.crm_mon();
    require_ok(mon);
    REQUIRE(mon->resource_nodes(kVm) == std::vector<std::string>{lost.name()});
    const pid_t old_qemu = qemu_pid(lost, vc.domain);
    REQUIRE(old_qemu > 0);
    auto old_stat = read_process_stat(old_qemu);
    REQUIRE(old_stat);
    std::this_thread::sleep_for(1500ms);
    auto before = last_probe(vc.console);
    REQUIRE(before);

    const double cut = now_epoch();
    began = std::chrono::steady_clock::now();
    REQUIRE(lost.stack().corosync()->signal(SIGKILL));
    const std::string survivor_name = survivor.name();
    auto recovered = survivor.wait_for(
        [&](const CrmMon& m) {
            return m.resource_nodes(kVm) == std::vector<std::string>{survivor_name} &&
                   m.node_online(kGuest) && m.resource_nodes("d1") == guest &&
                   m.has_operation("d1", kGuest, "monitor", 5000);
        },
        kBootTimeout + 60s, "the VM, its guest node and d1 recovered on " + survivor_name);
    INFO(why(recovered) << "\n" << c.logs(3000));
    REQUIRE(recovered);
    WARN("timing: " << lost.name() << " lost -> VM, guest and d1 running on " << survivor_name << " after "
                    << seconds_since(began) << " s");

    auto off = first_logged(c.fence_log(), "off", lost.name());
    INFO(file_tail(c.fence_log()));
    REQUIRE(off);
    CHECK(*off > cut);
    WARN(lost.name() << " fenced (off) " << static_cast<int>((*off - cut) * 1000)
                     << " ms after corosync was killed");
    // The power-off took the old QEMU with it.
    auto gone = read_process_stat(old_qemu);
    CHECK((!gone || gone->start_time != old_stat->start_time || gone->state == 'Z'));
    // The new QEMU started after the fence's off; the VM booted afresh and d1 started in it.
    const pid_t new_qemu = qemu_pid(survivor, vc.domain);
    REQUIRE(new_qemu > 0);
    auto qemu_started = start_epoch(new_qemu);
    REQUIRE(qemu_started);
    CHECK(*qemu_started > *off);
    WARN("new QEMU started " << static_cast<int>((*qemu_started - *off) * 1000) << " ms after the off");
    std::this_thread::sleep_for(1500ms);
    auto after = last_probe(vc.console);
    REQUIRE(after);
    INFO("before: " << describe(*before) << "\nafter: " << describe(*after));
    CHECK(after->boot != before->boot);
    CHECK_FALSE(after->dummy.empty());
    auto history = survivor.tool_checked({"stonith_admin", "--history", lost.name()});
    require_ok(history);
    CHECK(contains(*history, "successful"));
    auto stopped = c.stop();
    INFO(why(stopped));
    CHECK(stopped);
}
