// The default variant of outpost-demo (scripts/demo): outpost-controld on the host
// (ControldHarness) and two guest nodes whose containers the cluster runs, configured with
// pcs as an administrator would (docs/admin-guide.md, "Worked example"):
//   - libvirt LXC application containers (LibvirtHarness, lxc_domain_xml) created as
//     `pcs resource create ct-gN ocf:heartbeat:VirtualDomain ... meta remote-node=gN`,
//     outpost-agent (or pacemaker-remoted) inside;
//   - where libvirt LXC cannot run (checked by starting a throw-away probe container), or
//     with --netns: network namespaces (tests/integration/data/netns-guest, linked as
//     ocf:outpost-demo:netns-guest for the run) in the same place, and says so.
// A Dummy in each guest (pcs), crm_mon -1 on the host and inside g1, g1's container
// destroyed behind the cluster's back (virsh destroy; kill -9 of the namespace's daemon),
// the measured recovery of the container and then of the Dummy in it, and a teardown that
// disables everything, stops the daemons it started and checks that nothing is left.
// test_demo.cpp reads the lines this prints: keep them in step.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "demo.hpp"
#include "harness/controld.hpp"
#include "harness/environment.hpp"
#include "harness/libvirt.hpp"
#include "harness/peers.hpp"
#include "support/files.hpp"

namespace outpost::test::demo {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kConvergeTimeout = 90s;
constexpr auto kRecoveryTimeout = 60s;
constexpr auto kGuestToolsTimeout = 15s;
constexpr const char* kDemoDomainPrefix = "demo-";  // after kDomainPrefix
constexpr const char* kNetnsProvider = "outpost-demo";
constexpr const char* kNetnsPrefix = "odemo";
constexpr const char* kPretendNoLxc = "OUTPOST_DEMO_PRETEND_NO_LXC";

struct Guest {
    unsigned index = 0;
    std::string node;       // g1: the guest node
    std::string container;  // ct-g1: its container resource
    std::string dummy;      // dummy-g1
    std::string address;    // the guest's address (remote-addr)
};

Status make_directory(const fs::path& path)
{
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return make_error("demo", -ec.value(), "create " + path.string() + ": " + ec.message());
    return {};
}

// What makes the container's resource a guest node (after its `meta`); pcs wants
// `pcs cluster node add-guest` (and pcsd in the guest) without --force, the CIB is the same.
std::vector<std::string> guest_node_meta(const Guest& guest)
{
    return {"remote-node=" + guest.node, "remote-addr=" + guest.address, "remote-connect-timeout=20s",
            "--force"};
}

std::vector<std::string> concat(std::vector<std::string> head, const std::vector<std::string>& tail)
{
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

Guest make_guest(unsigned index, std::string address)
{
    const std::string node = "g" + std::to_string(index);
    return {index, node, "ct-" + node, "dummy-" + node, std::move(address)};
}

// How the guests' containers are made and looked at.
class Containers {
public:
    Containers() = default;
    Containers(const Containers&) = delete;
    Containers& operator=(const Containers&) = delete;
    virtual ~Containers() = default;

    [[nodiscard]] virtual std::string kind() const = 0;
    [[nodiscard]] virtual std::vector<Guest> guests() const = 0;
    // The arguments of `pcs resource create` for the guest's container (meta remote-node).
    virtual Result<std::vector<std::string>> create_args(const Guest& guest, const ControldHarness& controld,
                                                         const DemoOptions& options) = 0;
    // The container's first process (LXC: its init; a namespace: its daemon), if it runs.
    [[nodiscard]] virtual std::optional<pid_t> first_process(const Guest& guest) const = 0;
    // True if the guest's Dummy keeps its state inside the container that `first` runs.
    [[nodiscard]] virtual bool dummy_inside(const Guest& guest, pid_t first) const = 0;
    [[nodiscard]] virtual GuestTools tools(const Guest& guest, pid_t first) const = 0;
    // The command that destroys the container behind the cluster's back.
    [[nodiscard]] virtual std::vector<std::string> destroy_command(const Guest& guest, pid_t first) const = 0;
    // What is left of the guest's container on the machine ("" when nothing).
    [[nodiscard]] virtual std::string leftover(const Guest& guest) const = 0;
    // Undoes what the constructor did (also run by the destructor).
    virtual Status stop() = 0;

protected:
    // stop() from a destructor, which runs while an error unwinds: nothing may escape it.
    void stop_quietly() noexcept
    {
        try {
            if (auto s = stop(); !s) std::cerr << "demo teardown: " << s.error().message << std::endl;
        } catch (...) {
            std::cerr << "demo teardown: unexpected exception" << std::endl;
        }
    }
};

// --- libvirt LXC -------------------------------------------------------------------------

class LxcContainers : public Containers {
public:
    // Starts libvirt (LibvirtHarness: libvirtd if not running, the bridge, the libvirt lock)
    // and a throw-away probe container; an Error saying why LXC cannot run here otherwise.
    static Result<std::unique_ptr<LxcContainers>> start()
    {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread
        if (const char* pretend = std::getenv(kPretendNoLxc); pretend != nullptr && *pretend != '\0')
            return make_error("demo", -ENOTSUP, std::string(kPretendNoLxc) + " is set");
        for (const char* program : {"libvirtd", "virsh"}) {
            if (!find_program(program))
                return make_error("demo", -ENOENT, std::string(program) + " is not installed");
        }
        auto libvirt = LibvirtHarness::start();
        if (!libvirt) return libvirt.error();
        auto dir = TempDir::create("outpost-demo-lxc");
        if (!dir) return dir.error();
        std::unique_ptr<LxcContainers> self(new LxcContainers(std::move(*libvirt), std::move(*dir)));
        if (auto probed = self->probe(); !probed) {
            (void)self->stop();
            return probed.error();
        }
        return self;
    }

    ~LxcContainers() override { stop_quietly(); }

    [[nodiscard]] std::string kind() const override { return "libvirt LXC container"; }
    [[nodiscard]] std::string describe_setup() const { return libvirt_->describe_setup(); }

    [[nodiscard]] std::vector<Guest> guests() const override
    {
        return {make_guest(1, bridge_address(41)), make_guest(2, bridge_address(42))};
    }

    Result<std::vector<std::string>> create_args(const Guest& guest, const ControldHarness& controld,
                                                 const DemoOptions& options) override
    {
        const fs::path home = controld.dir() / guest.container;
        if (auto made = make_directory(home / "state"); !made) return made.error();
        LxcGuestSpec spec;
        spec.name = domain(guest);
        spec.command = {options.daemon};
        spec.address = guest.address;
        // The same at every start: the host reaches a recreated container at once.
        spec.mac = "52:54:00:de:00:0" + std::to_string(guest.index);
        spec.state_dir = home / "state";
        spec.log_file = home / "daemon.out";
        // The container sees the host's filesystem (the key in the demo's directory) except
        // /var/lib/pacemaker, /run and /dev/shm.
        spec.env = {{"PCMK_logfile", (home / "daemon.log").string()},
                    {"PCMK_authkey_location", controld.authkey().string()}};
        const fs::path xml = home / "domain.xml";
        if (auto written = write_file(xml, lxc_domain_xml(spec, libvirt_->bridge())); !written)
            return written.error();
        libvirt_->track_domain(kLxcUri, spec.name);
        // VirtualDomain 4.12.0 reads CRM_shutdown_mode, not its shutdown_mode (admin guide);
        // the autoset_* parameters would write the domain's utilization into the CIB.
        return concat({"resource", "create", guest.container, "ocf:heartbeat:VirtualDomain",
                       "config=" + xml.string(), std::string("hypervisor=") + kLxcUri,
                       "autoset_utilization_cpu=false", "autoset_utilization_hv_memory=false",
                       "autoset_utilization_host_memory=false", "CRM_shutdown_mode=signal", "op", "monitor",
                       "interval=2s", "timeout=30s", "op", "stop", "timeout=20s", "meta"},
                      guest_node_meta(guest));
    }

    [[nodiscard]] std::optional<pid_t> first_process(const Guest& guest) const override
    {
        return libvirt_->lxc_init_pid(domain(guest));
    }

    [[nodiscard]] bool dummy_inside(const Guest& guest, pid_t first) const override
    {
        // Its state file is in the container's private /run.
        return fs::exists("/proc/" + std::to_string(first) + "/root/run/Dummy-" + guest.dummy + ".state");
    }

    [[nodiscard]] GuestTools tools(const Guest& guest, pid_t first) const override
    {
        return GuestTools::in_container(first, guest.node);
    }

    [[nodiscard]] std::vector<std::string> destroy_command(const Guest& guest, pid_t /*first*/) const override
    {
        return {"virsh", "-c", kLxcUri, "destroy", domain(guest)};
    }

    [[nodiscard]] std::string leftover(const Guest& guest) const override
    {
        const std::string name = domain(guest);
        const std::string state = stopped_ ? std::string() : libvirt_->domain_state(kLxcUri, name);
        if (!state.empty()) return "libvirt domain " + name + " (" + state + ")";
        // libvirt's own record of a running container.
        const fs::path record = fs::path("/run/libvirt/lxc") / (name + ".pid");
        return fs::exists(record) ? record.string() : std::string();
    }

    Status stop() override
    {
        if (stopped_) return {};
        stopped_ = true;
        return libvirt_->stop();
    }

private:
    LxcContainers(std::unique_ptr<LibvirtHarness> libvirt, TempDir dir)
        : libvirt_(std::move(libvirt)), dir_(std::move(dir))
    {
    }

    static std::string domain(const Guest& guest)
    {
        return std::string(kDomainPrefix) + kDemoDomainPrefix + guest.node;
    }

    // A container that only sleeps, started and destroyed: what fails here (the lxc driver,
    // cgroups, namespaces) would fail the guests too.
    Status probe()
    {
        LxcGuestSpec spec;
        spec.name = std::string(kDomainPrefix) + kDemoDomainPrefix + "probe";
        spec.command = {"/bin/sleep", "60"};
        spec.address = bridge_address(40);
        spec.state_dir = dir_ / "probe-state";
        spec.log_file = dir_ / "probe.out";
        std::error_code ec;
        fs::create_directories(spec.state_dir, ec);
        const fs::path xml = dir_ / "probe.xml";
        if (auto written = write_file(xml, lxc_domain_xml(spec, libvirt_->bridge())); !written)
            return written.error();
        if (auto created = libvirt_->create_domain(kLxcUri, xml, spec.name); !created) return created.error();
        const bool ran = libvirt_->domain_running(kLxcUri, spec.name);
        auto destroyed = libvirt_->virsh(kLxcUri, {"destroy", spec.name});
        if (!ran) return make_error("demo", -EIO, "the probe container " + spec.name + " did not run");
        if (!destroyed || !destroyed->succeeded())
            return make_error("demo", -EIO, "could not destroy the probe container " + spec.name);
        return {};
    }

    std::unique_ptr<LibvirtHarness> libvirt_;
    TempDir dir_;
    bool stopped_ = false;
};

// --- network namespaces ------------------------------------------------------------------

class NetnsContainers : public Containers {
public:
    // Links tests/integration/data/netns-guest as ocf:outpost-demo:netns-guest.
    static Result<std::unique_ptr<NetnsContainers>> start()
    {
        const fs::path agent = source_root() / "tests/integration/data/netns-guest";
        if (!fs::exists(agent)) return make_error("demo", -ENOENT, agent.string() + " is missing");
        std::unique_ptr<NetnsContainers> self(new NetnsContainers());
        std::error_code ec;
        fs::remove_all(agent_dir(), ec);  // a crashed run's
        fs::create_directories(agent_dir(), ec);
        if (!ec) fs::create_symlink(agent, agent_dir() / "netns-guest", ec);
        if (ec) return make_error("demo", -ec.value(), "link " + agent_dir().string() + ": " + ec.message());
        self->linked_ = true;
        return self;
    }

    ~NetnsContainers() override { stop_quietly(); }

    [[nodiscard]] std::string kind() const override { return "network namespace"; }

    [[nodiscard]] std::vector<Guest> guests() const override
    {
        return {make_guest(1, guest_address(1)), make_guest(2, guest_address(2))};
    }

    Result<std::vector<std::string>> create_args(const Guest& guest, const ControldHarness& controld,
                                                 const DemoOptions& options) override
    {
        const fs::path state = controld.dir() / guest.container;
        if (auto made = make_directory(state); !made) return made.error();
        made_.push_back({guest, state, options.daemon});
        return concat(
            {"resource", "create", guest.container, std::string("ocf:") + kNetnsProvider + ":netns-guest",
             "netns=" + netns(guest), "host_address=" + host_address(guest.index),
             "guest_address=" + guest.address, "daemon=" + options.daemon, "state_dir=" + state.string(),
             "daemon_env=PCMK_authkey_location=" + controld.authkey().string(), "op", "monitor",
             "interval=2s", "timeout=20s", "meta"},
            guest_node_meta(guest));
    }

    [[nodiscard]] std::optional<pid_t> first_process(const Guest& guest) const override
    {
        for (const auto& made : made_) {
            if (made.guest.node != guest.node) continue;
            auto text = read_file(made.state / (netns(guest) + ".pid"), 64);
            if (!text) return std::nullopt;
            const auto pid = static_cast<pid_t>(std::atol(text->c_str()));
            if (pid > 1 && ::kill(pid, 0) == 0) return pid;
        }
        return std::nullopt;
    }

    [[nodiscard]] bool dummy_inside(const Guest& guest, pid_t /*first*/) const override
    {
        // The namespace's HA_VARRUN goes with it (netns-guest: state_dir/run).
        for (const auto& made : made_) {
            if (made.guest.node == guest.node)
                return fs::exists(made.state / "run" / ("Dummy-" + guest.dummy + ".state"));
        }
        return false;
    }

    [[nodiscard]] GuestTools tools(const Guest& guest, pid_t /*first*/) const override
    {
        return GuestTools::in_netns(netns(guest), guest.node);
    }

    [[nodiscard]] std::vector<std::string> destroy_command(const Guest& /*guest*/, pid_t first) const override
    {
        // The namespace's only process dies, as a destroyed container's processes do.
        return {"kill", "-9", std::to_string(first)};
    }

    [[nodiscard]] std::string leftover(const Guest& guest) const override
    {
        return fs::exists("/run/netns/" + netns(guest)) ? "network namespace " + netns(guest) : std::string();
    }

    Status stop() override
    {
        // What the cluster left running (a failed run): the agent's own stop.
        for (const auto& made : made_) {
            if (leftover(made.guest).empty() && !first_process(made.guest)) continue;
            (void)run_command({"env", "OCF_RESKEY_netns=" + netns(made.guest),
                               "OCF_RESKEY_host_address=" + host_address(made.guest.index),
                               "OCF_RESKEY_guest_address=" + made.guest.address,
                               "OCF_RESKEY_daemon=" + made.daemon,
                               "OCF_RESKEY_state_dir=" + made.state.string(),
                               (agent_dir() / "netns-guest").string(), "stop"});
        }
        made_.clear();
        if (linked_) {
            std::error_code ec;
            fs::remove_all(agent_dir(), ec);
            linked_ = false;
            if (ec)
                return make_error("demo", -ec.value(),
                                  "remove " + agent_dir().string() + ": " + ec.message());
        }
        return {};
    }

private:
    NetnsContainers() = default;

    struct Made {
        Guest guest;
        fs::path state;
        std::string daemon;
    };

    static fs::path agent_dir() { return fs::path("/usr/lib/ocf/resource.d") / kNetnsProvider; }
    static std::string netns(const Guest& guest) { return kNetnsPrefix + std::to_string(guest.index); }
    // 10.216.2N.0/30: the host's end .1, the guest's .2.
    static std::string host_address(unsigned index) { return "10.216." + std::to_string(20 + index) + ".1"; }
    static std::string guest_address(unsigned index) { return "10.216." + std::to_string(20 + index) + ".2"; }

    std::vector<Made> made_;
    bool linked_ = false;
};

// Polls until the guest's container runs again in a new first process, then until its node
// is online, then until its Dummy runs inside; the seconds since `since` for each.
struct Recovery {
    std::optional<double> container;
    std::optional<double> node;
    std::optional<double> dummy;
    pid_t first = 0;
};

// The last `count` lines of a daemon log at notice level or above (transitions, actions
// initiated, results, aborts), without the info lines of every IPC query.
constexpr std::size_t kNoticeLines = 40;
std::string notice_lines(const fs::path& log, std::size_t count)
{
    std::ifstream in(log);
    std::deque<std::string> kept;
    for (std::string line; std::getline(in, line);) {
        if (line.find(") info: ") != std::string::npos || line.find(") debug: ") != std::string::npos)
            continue;
        kept.push_back(line);
        if (kept.size() > count) kept.pop_front();
    }
    std::string out;
    for (const auto& line : kept)
        out += line + "\n";
    return out;
}

Recovery watch_recovery(const ControldHarness& controld, const Containers& containers, const Guest& guest,
                        pid_t old_first, std::chrono::steady_clock::time_point since)
{
    Recovery r;
    const std::string& host = controld.node_name();
    while (!r.dummy && seconds_since(since) < std::chrono::duration<double>(kRecoveryTimeout).count()) {
        auto mon = controld.crm_mon();
        auto first = containers.first_process(guest);
        if (mon && first && *first != old_first) {
            if (!r.container && mon->resource_nodes(guest.container) == std::vector<std::string>{host} &&
                mon->resource_role(guest.container) == "Started") {
                r.container = seconds_since(since);
                r.first = *first;
            }
            if (r.container && !r.node && mon->node_online(guest.node)) r.node = seconds_since(since);
            if (r.node && mon->resource_nodes(guest.dummy) == std::vector<std::string>{guest.node} &&
                mon->resource_role(guest.dummy) == "Started" && containers.dummy_inside(guest, *first))
                r.dummy = seconds_since(since);
        }
        if (!r.dummy) std::this_thread::sleep_for(100ms);
    }
    return r;
}

}  // namespace

int run_controld_demo(const DemoOptions& options)
{
    auto begin = std::chrono::steady_clock::now();
    step("checking that this machine is not part of a real cluster");
    // Waits first if a test run's throw-away cluster holds the machine (its lock).
    if (auto check = check_machine_for_test_cluster(); !check) return refuse(check.error());
    detail("no corosync.conf of a real cluster, no cluster daemons running: ok");
    begin = std::chrono::steady_clock::now();  // not counting a wait for another test's cluster

    // Declared before the controller: it goes first, the containers after it.
    std::unique_ptr<Containers> containers;
    if (options.netns) {
        step("guests: network namespaces, as asked (--netns)");
    } else {
        step("checking that libvirt LXC containers can run here (libvirtd, a throw-away probe container)");
        auto lxc = LxcContainers::start();
        if (lxc) {
            detail("libvirt LXC works: " + (*lxc)->describe_setup());
            containers = std::move(*lxc);
        } else {
            detail("libvirt LXC cannot run here: " + lxc.error().message);
            std::cout << "\n*** FALLBACK: libvirt LXC is not available on this machine; the guests will be "
                         "network namespaces (ocf:outpost-demo:netns-guest) instead of LXC containers. ***"
                      << std::endl;
        }
    }
    if (!containers) {
        auto netns = NetnsContainers::start();
        if (!netns) return fail("setting up the namespace guests", netns.error());
        containers = std::move(*netns);
    }

    step("starting outpost-controld on the host (serving Pacemaker's IPC names: pcs and crm_mon talk to it)");
    ControldOptions controld_options;
    controld_options.binary = options.controld;
    auto started = ControldHarness::start(controld_options);
    if (!started) return fail("starting outpost-controld", started.error());
    std::unique_ptr<ControldHarness> controld = std::move(*started);
    const pid_t controld_pid = controld->pid();
    const std::string host = controld->node_name();
    detail("outpost-controld[" + std::to_string(controld_pid) + "] as node " + host + ", CIB file " +
           controld->dir().file("state/cib.xml") + ", log " + controld->log_file().string());
    // The error first, the daemon's decisions last: where a test run is reported by its
    // last lines, those say what the controller did and did not do.
    auto failed = [&](const std::string& what, const Error& error) {
        const int rc = fail(what, error);
        for (const char* guest : {"ct-g1", "ct-g2"}) {
            for (const char* log : {"daemon.log", "daemon.out"}) {
                const fs::path path = controld->dir() / guest / log;
                if (fs::exists(path))
                    std::cerr << "--- " << guest << "'s " << log << " (last lines) ---\n"
                              << file_tail(path, 2000) << std::endl;
            }
        }
        std::cerr << "--- outpost-controld's log (last lines) ---\n"
                  << file_tail(controld->log_file(), 3000) << "--- outpost-controld's log (last "
                  << kNoticeLines << " lines at notice level or above) ---\n"
                  << notice_lines(controld->log_file(), kNoticeLines) << std::endl;
        controld->keep_dir();  // its logs, for a post-mortem
        return rc;
    };

    const std::vector<Guest> guests = containers->guests();
    step("creating two guest nodes, each a " + containers->kind() + " running " + options.daemon_label +
         " that the cluster starts (meta remote-node)");
    const auto configured = std::chrono::steady_clock::now();
    if (auto s = show_pcs(*controld, {"property", "set", "stonith-enabled=false"}); !s)
        return failed("pcs", s.error());
    for (const auto& g : guests) {
        auto args = containers->create_args(g, *controld, options);
        if (!args) return failed("preparing " + g.container, args.error());
        if (auto s = show_pcs(*controld, *args); !s) return failed("pcs", s.error());
    }
    step("placing an ocf:pacemaker:Dummy in each guest");
    for (const auto& g : guests) {
        std::vector<std::string> avoid{"constraint", "location", g.dummy, "avoids", host};
        for (const auto& other : guests) {
            if (other.node != g.node) avoid.push_back(other.node);
        }
        // pcs knows full members from corosync.conf, which a controld host has not: --force.
        avoid.emplace_back("--force");
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {"resource", "create", g.dummy, "ocf:pacemaker:Dummy", "op", "monitor", "interval=2s",
                  "timeout=20s"},
                 {"constraint", "location", g.dummy, "prefers", g.node + "=INFINITY"},
                 avoid}) {
            if (auto s = show_pcs(*controld, args); !s) return failed("pcs", s.error());
        }
    }
    auto converged = [&](const CrmMon& mon) {
        for (const auto& g : guests) {
            if (!mon.node_online(g.node) ||
                mon.resource_nodes(g.container) != std::vector<std::string>{host} ||
                mon.resource_role(g.container) != "Started" ||
                mon.resource_nodes(g.dummy) != std::vector<std::string>{g.node} ||
                mon.resource_role(g.dummy) != "Started")
                return false;
        }
        return true;
    };
    if (auto s = controld->wait_for(converged, kConvergeTimeout, "both guests online, each Dummy started");
        !s)
        return failed("starting the guests", s.error());
    detail("both containers, both guest nodes and both Dummies started " +
           seconds_text(seconds_since(configured)) + " s after the first pcs command");

    step("the cluster as Pacemaker's crm_mon sees it, on the host");
    if (auto s = show_tool(*controld, {"crm_mon", "-1"}); !s) return failed("crm_mon -1", s.error());
    detail("(\"Failed to get fencing history: Not connected\": outpost-controld serves no fencer IPC yet)");

    const Guest& g1 = guests[0];
    auto first = containers->first_process(g1);
    if (!first)
        return failed("finding g1's container", make_error("demo", -ESRCH, "its first process is gone"));
    step("the same inside guest g1: its crm_mon talks to " + options.daemon_label +
         "'s IPC proxy, which forwards to outpost-controld");
    const GuestTools inside = containers->tools(g1, *first);
    (void)wait_until(
        [&] {
            auto r = inside.tool({"crm_mon", "-1"});
            return r && r->succeeded();
        },
        kGuestToolsTimeout, "crm_mon inside g1", 250ms);
    if (auto s = show_tool(inside, {"crm_mon", "-1"}, inside.prefix()); !s)
        return failed("crm_mon -1 inside g1", s.error());

    step("destroying g1's container behind the cluster's back");
    const auto destroy = containers->destroy_command(g1, *first);
    show_command(destroy);
    const auto destroyed = std::chrono::steady_clock::now();
    auto ran = run_command(destroy);
    if (!ran || !ran->succeeded())
        return failed("destroying g1's container",
                      ran ? make_error("demo", -EIO, ran->describe()) : ran.error());
    const Recovery recovery = watch_recovery(*controld, *containers, g1, *first, destroyed);
    if (!recovery.dummy) {
        return failed("recovering g1", make_error("demo", -ETIMEDOUT,
                                                  "not recovered within 60 s\n" + controld->crm_mon_text()));
    }
    detail("the cluster recovered the container, then the guest node, then the resource in it:");
    detail("  container " + g1.container + " running again (first process " + std::to_string(recovery.first) +
           ", was " + std::to_string(*first) + ") after " + seconds_text(*recovery.container) + " s");
    detail("  guest node " + g1.node + " online again after " + seconds_text(*recovery.node) + " s");
    detail("  " + g1.dummy + " started in the new container after " + seconds_text(*recovery.dummy) +
           " s (measured from the destroy)");
    if (auto s = show_tool(*controld, {"crm_mon", "-1", "--include=failcounts"}); !s)
        return failed("crm_mon -1", s.error());

    hold_if_asked(options.hold,
                  "outpost-controld and the guests stay up; try crm_mon -1, pcs status, "
                  "cibadmin -Q ...");

    const bool lxc = containers->kind() == "libvirt LXC container";
    step(
        "tearing down: the cluster stops the Dummies, the guest nodes and the containers, then "
        "outpost-controld stops" +
        std::string(lxc ? ", then what was started for libvirt" : ""));
    std::vector<std::string> disable{"resource", "disable"};
    for (const auto& g : guests)
        disable.push_back(g.dummy);
    for (const auto& g : guests)
        disable.push_back(g.container);
    if (auto s = show_pcs(*controld, disable); !s) return failed("pcs", s.error());
    auto all_stopped = [&](const CrmMon& mon) {
        for (const auto& g : guests) {
            if (!mon.resource_nodes(g.container).empty() || !mon.resource_nodes(g.dummy).empty() ||
                mon.node_online(g.node))
                return false;
        }
        return true;
    };
    if (auto s = controld->wait_for(all_stopped, kConvergeTimeout, "everything to stop"); !s)
        return failed("stopping the guests", s.error());
    std::vector<std::string> left;
    for (const auto& g : guests) {
        if (auto what = containers->leftover(g); !what.empty()) left.push_back(what);
    }
    if (auto s = controld->stop(); !s) return failed("stopping outpost-controld", s.error());
    const fs::path controld_dir = controld->dir().path();
    controld.reset();  // its directory goes with it
    if (auto s = containers->stop(); !s) return fail("the teardown", s.error());
    for (const auto& g : guests) {
        if (auto what = containers->leftover(g); !what.empty()) left.push_back(what);
    }
    if (alive_as(controld_pid, "outpost-control"))
        left.push_back("outpost-controld[" + std::to_string(controld_pid) + "]");
    for (pid_t pid : {*first, recovery.first}) {
        if (::kill(pid, 0) == 0) left.push_back("the guest's process " + std::to_string(pid));
    }
    if (fs::exists(controld_dir)) left.push_back(controld_dir.string());
    for (const auto& g : guests) {
        if (fs::exists("/run/Dummy-" + g.dummy + ".state"))
            left.push_back("/run/Dummy-" + g.dummy + ".state");
    }
    if (!left.empty()) {
        std::string what;
        for (const auto& l : left)
            what += "\n  " + l;
        return fail("the teardown", make_error("demo", -EBUSY, "left behind:" + what));
    }
    detail("outpost-controld[" + std::to_string(controld_pid) + "] is gone, no " + containers->kind() +
           " of the demo is left, its files are removed");
    std::cout << "\nDemo finished in " << seconds_text(seconds_since(begin)) << " s: nothing left running."
              << std::endl;
    return 0;
}

}  // namespace outpost::test::demo
