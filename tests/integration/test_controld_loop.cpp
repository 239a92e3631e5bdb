// outpost-controld's control loop with real processes only: the daemon (on the test's own
// network, serving Pacemaker's IPC names: the executable holds the machine-wide cluster
// lock and refuses to run beside a pacemakerd), two remote nodes in network namespaces
// running outpost-agent, and the real Pacemaker 2.1.5 tools to configure and observe.
//   - a configuration pushed with cibadmin --replace: two ocf:pacemaker:remote
//     connections, an ocf:pacemaker:Dummy and an ocf:heartbeat:Dummy each constrained to
//     a remote node and a Dummy constrained to the host; crm_mon --output-as=xml shows
//     them Started where expected, the agents really ran where they should (state files)
//   - a live crm_mon (refresh interval 600 s) follows the loop's own status updates through
//     change notifications
//   - crm_simulate -L -S, and crm_simulate -x / outpost-simulate -x on the saved CIB, then
//     have nothing to do
//     (the recorded status is what the policy needs to see everything as running); the
//     host is online and the DC
//   - a monitor failure inside a guest (state file deleted: rc 7) is recorded
//     (fail-count, failed action) and recovered in place, then cleaned up with
//     crm_resource --cleanup (fail count gone, found running by a probe); a resource with
//     migration-threshold=1 moves to the other guest after one failure and back once the
//     failure expired (failure-timeout: the loop wakes up for it); nothing to do afterwards
//   - a restart of the daemon: what runs is found by probes, nothing is started again
// [guest] (controld-guest): a guest node whose container is a network namespace running
// outpost-agent (tests/integration/data/netns-guest), its failures and their recovery.
// [guest-tools] (controld-guest-tools): the tools inside guests (outpost-agent and
// pacemaker-remoted) served by outpost-controld as IPC provider (attrd_updater included); the
// agent's live CIB limits.
// [proxied-tools] (controld-proxied-tools): crm_node, crm_resource, stonith_admin and
// crm_mon inside remote nodes (outpost-agent and pacemaker-remoted), their crmd and
// stonith-ng sessions served by the host's faces, with a real 2.1.5 cluster's outputs.
// [attrd] (controld-attrd): attrd_updater and crm_attribute -l reboot against the attribute
// manager; dampening, a location rule on an attribute.
// [restart] (controld-restart): kill -9 of the daemon while idle and with starts in flight,
// on the host, a remote node and a guest node.
// [remote-loss] (controld-remote-loss): a remote node's agent killed and back at once; the
// connection's failure is recorded and, with reconnect_interval, the reconnect waits for
// it; what ran on the node is found running again, not restarted.
// [guest-lxc] (controld-guest-lxc): a real libvirt LXC container running outpost-agent as a
// guest node, configured with pcs as an administrator would (ocf:heartbeat:VirtualDomain,
// then ocf:outpost:guest), a Dummy inside it, crm_mon inside the container (through the
// agent's proxy), and recovery after `virsh destroy` behind the cluster's back, timed.
// [fencing] (controld-fencing): stonith-enabled=true and a fence device
// (tests/integration/fence_outpost_test, seen in /usr/sbin only by the daemon, which runs in
// a private mount namespace): a lost remote node stays UNCLEAN while its fencing fails, is
// fenced once the device can, and only then do its resources start on the other node. The
// stonith-ng face: stonith_admin (devices, targets, history, --fence, --confirm, --cleanup),
// crm_mon -m and pcs stonith history against that loop.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"
#include "harness/mounts.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr auto kReadyTimeout = 15s;
constexpr auto kConvergeTimeout = 60s;
constexpr auto kToolTimeout = 30000ms;
constexpr const char* kHost = "host1";

std::string env_or_empty(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

std::string text_of(const fs::path& path)
{
    auto text = read_file(path);
    return text ? *text : std::string();
}

struct MachineGuard {
    UniqueFd lock;
    MachineGuard()
    {
        auto taken = take_cluster_lock();
        require_ok(taken);
        lock = std::move(*taken);
        REQUIRE(find_processes_named("pacemakerd").empty());
    }
};

CommandResult tool(const std::vector<std::string>& argv)
{
    auto result = run_command(argv, nullptr, kToolTimeout);
    require_ok(result);
    return *result;
}

std::optional<CrmMon> crm_mon()
{
    CommandResult r = tool({"crm_mon", "-1", "--output-as=xml"});
    if (!r.succeeded()) return std::nullopt;
    auto xml = XmlQuery::parse(r.output);
    if (!xml) return std::nullopt;
    return CrmMon(std::move(*xml));
}

template <typename Predicate>
bool wait_for(Predicate predicate, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto mon = crm_mon(); mon && predicate(*mon)) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(250ms);
    }
}

// What crm_simulate -L -S (or another simulator's command) would do now: its lines that
// name an action.
std::vector<std::string> pending_actions(const std::vector<std::string>& argv = {"crm_simulate", "-L", "-S"})
{
    CommandResult r = tool(argv);
    INFO(r.output);
    REQUIRE(r.succeeded());
    std::vector<std::string> actions;
    std::size_t start = 0;
    while (start < r.output.size()) {
        std::size_t end = r.output.find('\n', start);
        if (end == std::string::npos) end = r.output.size();
        std::string line = r.output.substr(start, end - start);
        if (line.find("Resource action:") != std::string::npos ||
            line.find("Pseudo action:") != std::string::npos ||
            line.find("Cluster action:") != std::string::npos || line.find("Fencing ") != std::string::npos)
            actions.push_back(line);
        start = end + 1;
    }
    return actions;
}

std::string primitive(const std::string& id, const std::string& provider, const std::string& meta = {})
{
    return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"" + provider + "\" type=\"Dummy\">" + meta +
           "<operations><op id=\"" + id + "-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/>" +
           "</operations></primitive>";
}

// An ocf:pacemaker:remote connection; `extra` holds more of its instance attributes.
std::string remote(const std::string& id, const std::string& address, const std::string& extra = {})
{
    return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">" +
           "<instance_attributes id=\"" + id + "-ia\"><nvpair id=\"" + id +
           "-server\" name=\"server\" value=\"" + address + "\"/>" + extra + "</instance_attributes>" +
           "<operations><op id=\"" + id +
           "-monitor\" name=\"monitor\" interval=\"5s\" timeout=\"15s\"/></operations></primitive>";
}

std::string location(const std::string& rsc, const std::string& node, const std::string& score = "INFINITY")
{
    return "<rsc_location id=\"loc-" + rsc + "\" rsc=\"" + rsc + "\" node=\"" + node + "\" score=\"" + score +
           "\"/>";
}

std::string nvpair(const std::string& id, const std::string& name, const std::string& value)
{
    return "<nvpair id=\"" + id + "-" + name + "\" name=\"" + name + "\" value=\"" + value + "\"/>";
}

// outpost-controld on a CIB file in `dir`, its output appended to dir/controld.log.
class Controld {
public:
    Controld(const TempDir& dir, const fs::path& authkey, const std::string& host_run,
             const EnvList& extra_env = {})
        : log_path_(dir / "controld.log")
    {
        const std::string binary = env_or_empty("OUTPOST_CONTROLD");
        INFO("meson sets OUTPOST_CONTROLD");
        REQUIRE_FALSE(binary.empty());
        spawn_.argv = {binary, "--cib-file", dir.file("state/cib.xml"), "--node-name", kHost};
        spawn_.env = {{"PCMK_authkey_location", authkey.string()},
                      {"HA_VARRUN", host_run},
                      {"HA_RSCTMP", host_run},
                      {"OUTPOST_LOG", "controld:debug,controller:info,control:info,cluster.watch:info"}};
        spawn_.env.insert(spawn_.env.end(), extra_env.begin(), extra_env.end());
        spawn_.log_file = log_path_;
    }

    // Runs the daemon in a mount namespace of its own laid out by `plan` (before start()).
    void in_private_mounts(const MountPlan& plan) { spawn_.argv = with_private_mounts(plan, spawn_.argv); }

    [[nodiscard]] std::string log() const { return text_of(log_path_); }

    // Starts the daemon (again) and waits until it serves the CIB.
    void start()
    {
        auto process = Process::spawn(spawn_);
        require_ok(process);
        const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
        while (!tool({"cibadmin", "-Q", "-o", "nodes"}).succeeded()) {
            INFO(log());
            REQUIRE(process->is_running());
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(100ms);
        }
        process_ = std::make_unique<Process>(std::move(*process));
    }

    // SIGTERM; the exit status.
    int stop()
    {
        REQUIRE(process_);
        auto status = process_->stop();
        require_ok(status);
        process_.reset();
        return *status;
    }

    // kill -9, as a crash would end it.
    void kill()
    {
        REQUIRE(process_);
        require_ok(process_->signal(SIGKILL));
        auto status = process_->wait(5000ms);
        require_ok(status);
        CHECK(WIFSIGNALED(*status));
        process_.reset();
    }

private:
    SpawnOptions spawn_;
    fs::path log_path_;
    std::unique_ptr<Process> process_;
};

// wait_for, failing with the daemon's log since `from` (read once the wait is over).
template <typename Predicate>
void require_eventually(const Controld& daemon, Predicate predicate, std::chrono::milliseconds timeout,
                        std::size_t from = 0)
{
    if (wait_for(predicate, timeout)) return;
    FAIL("not reached within " << timeout.count() << " ms; crm_mon:\n"
                               << tool({"crm_mon", "-1"}).output << "\noutpost-controld's log:\n"
                               << daemon.log().substr(from));
}

// The network-namespace container (tests/integration/data/netns-guest) installed as
// ocf:outposttest-guest:netns-guest for the test, removed afterwards.
constexpr const char* kContainerAgentDir = "/usr/lib/ocf/resource.d/outposttest-guest";

class ContainerAgent {
public:
    ContainerAgent()
    {
        const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
        REQUIRE_FALSE(source.empty());
        std::error_code ec;
        fs::remove_all(kContainerAgentDir, ec);
        fs::create_directories(kContainerAgentDir);
        fs::create_symlink(fs::path(source) / "tests/integration/data/netns-guest",
                           fs::path(kContainerAgentDir) / "netns-guest");
    }
    ContainerAgent(const ContainerAgent&) = delete;
    ContainerAgent& operator=(const ContainerAgent&) = delete;
    ~ContainerAgent()
    {
        std::error_code ec;
        fs::remove_all(kContainerAgentDir, ec);
    }
};

// One guest node: a netns-guest container running outpost-agent. Its subnet and namespace
// name are this test's own (10.216.<index>.0/30, "opctlg<index>"). Destruction runs the
// agent's stop, whatever the cluster left running.
class NetnsGuest {
public:
    NetnsGuest(const TempDir& dir, unsigned index, const fs::path& authkey)
        : node_("guest" + std::to_string(index)),
          container_("ct" + std::to_string(index)),
          netns_("opctlg" + std::to_string(index)),
          host_address_("10.216." + std::to_string(index) + ".1"),
          address_("10.216." + std::to_string(index) + ".2"),
          state_dir_(dir / container_),
          authkey_(authkey)
    {
        fs::create_directories(state_dir_);
        stop();  // leftovers of a crashed run
    }
    NetnsGuest(const NetnsGuest&) = delete;
    NetnsGuest& operator=(const NetnsGuest&) = delete;
    ~NetnsGuest() { stop(); }

    [[nodiscard]] const std::string& node() const { return node_; }
    [[nodiscard]] const std::string& container() const { return container_; }
    [[nodiscard]] const std::string& netns() const { return netns_; }
    // The guest's HA_VARRUN: where its Dummy resources keep their state.
    [[nodiscard]] fs::path run_dir() const { return state_dir_ / "run"; }
    // The agent's PID inside the container (0 when it is not running).
    [[nodiscard]] pid_t daemon_pid() const
    {
        const pid_t pid = static_cast<pid_t>(std::atol(text_of(state_dir_ / (netns_ + ".pid")).c_str()));
        return pid > 1 && ::kill(pid, 0) == 0 ? pid : 0;
    }

    // More "NAME=VALUE" words for the agent's environment (no spaces inside one).
    void add_daemon_env(const std::string& words) { extra_env_ += " " + words; }
    // Another daemon than outpost-agent (pacemaker-remoted).
    void set_daemon(const std::string& path) { daemon_ = path; }

    // The container's primitive: meta remote-node makes it a guest node.
    [[nodiscard]] std::string primitive() const
    {
        return "<primitive id=\"" + container_ +
               "\" class=\"ocf\" provider=\"outposttest-guest\" type=\"netns-guest\">"
               "<instance_attributes id=\"" +
               container_ + "-ia\">" + nvpair(container_, "netns", netns_) +
               nvpair(container_, "host_address", host_address_) +
               nvpair(container_, "guest_address", address_) + nvpair(container_, "daemon", daemon_) +
               nvpair(container_, "state_dir", state_dir_.string()) +
               nvpair(container_, "daemon_env", "PCMK_authkey_location=" + authkey_.string() + extra_env_) +
               "</instance_attributes><meta_attributes id=\"" + container_ + "-meta\">" +
               nvpair(container_, "remote-node", node_) + nvpair(container_, "remote-addr", address_) +
               nvpair(container_, "remote-connect-timeout", "20s") +
               "</meta_attributes><operations><op id=\"" + container_ +
               "-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/></operations></primitive>";
    }

private:
    void stop() const
    {
        const std::string agent = std::string(kContainerAgentDir) + "/netns-guest";
        if (!fs::exists(agent)) return;
        (void)run_command({"env", "OCF_RESKEY_netns=" + netns_, "OCF_RESKEY_host_address=" + host_address_,
                           "OCF_RESKEY_guest_address=" + address_, "OCF_RESKEY_daemon=" + daemon_,
                           "OCF_RESKEY_state_dir=" + state_dir_.string(), agent, "stop"},
                          nullptr, kToolTimeout);
    }

    std::string node_;
    std::string container_;
    std::string netns_;
    std::string host_address_;
    std::string address_;
    fs::path state_dir_;
    fs::path authkey_;
    std::string extra_env_;
    std::string daemon_ = env_or_empty("OUTPOST_AGENT");
};

Authkey created_key(const TempDir& dir)
{
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    return std::move(*key);
}

fs::path made_directory(const fs::path& path)
{
    fs::create_directories(path);
    return path;
}

// What the guest-node scenarios share: their directory, a key, the host's HA_VARRUN, the
// container agent installed and one netns guest (`index` picks its subnet and names).
struct GuestScenario {
    TempDir dir;
    Authkey key;
    fs::path host_run;
    ContainerAgent container_agent;
    NetnsGuest guest;

    GuestScenario(const char* name, unsigned index)
        : dir(name),
          key(created_key(dir)),
          host_run(made_directory(dir / "host-run")),
          guest(dir, index, key.path())
    {
    }
};

// A Dummy that appends every action it runs to `envfile` (its env dump): how often it
// was started, whoever started it.
std::string counted_dummy(const std::string& id, const fs::path& envfile)
{
    return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" +
           "<instance_attributes id=\"" + id + "-ia\">" + nvpair(id, "envfile", envfile.string()) +
           "</instance_attributes><operations><op id=\"" + id +
           "-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/></operations></primitive>";
}

int starts_in(const fs::path& envfile)
{
    const std::string text = text_of(envfile);
    int n = 0;
    for (std::size_t at = text.find("### start @"); at != std::string::npos;
         at = text.find("### start @", at + 1))
        ++n;
    return n;
}

// Where each needle first occurs in `text` at or after `from`, in order; false if one is
// missing or out of order.
bool appear_in_order(const std::string& text, const std::vector<std::string>& needles, std::size_t from = 0)
{
    std::size_t at = from;
    for (const auto& needle : needles) {
        at = text.find(needle, at);
        if (at == std::string::npos) return false;
        ++at;
    }
    return true;
}

std::string configuration(const std::string& resources, const std::string& constraints)
{
    return "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">"
           "<nvpair id=\"opt-stonith\" name=\"stonith-enabled\" value=\"false\"/>"
           "</cluster_property_set></crm_config>"
           "<nodes><node id=\"1\" uname=\"" +
           std::string(kHost) + "\"/></nodes><resources>" + resources + "</resources><constraints>" +
           constraints + "</constraints></configuration>";
}

void push_configuration(const TempDir& dir, const std::string& xml)
{
    const std::string file = dir.write("configuration.xml", xml);
    CommandResult pushed = tool({"cibadmin", "--replace", "-o", "configuration", "--xml-file", file});
    INFO(pushed.describe());
    REQUIRE(pushed.succeeded());
}

}  // namespace

TEST_CASE("outpost-controld starts, monitors and recovers resources on remote nodes and the host",
          "[controld][loop]")
{
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    INFO("meson sets OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();

    TempDir dir("outpost-controld-loop");
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    // Namespaces share the file system: each node's agents keep their state apart.
    auto run_dir = [&](const std::string& node) {
        fs::path path = dir / (node + "-run");
        fs::create_directories(path);
        return path;
    };

    std::vector<std::unique_ptr<GuestDaemon>> guests;
    for (const char* name : {"g1", "g2"}) {
        GuestDaemonOptions options;
        options.binary = agent;
        const std::string run = run_dir(name).string();
        options.env = {
            {"PCMK_authkey_location", key->path().string()}, {"HA_VARRUN", run}, {"HA_RSCTMP", run}};
        auto guest = GuestDaemon::start(options);
        require_ok(guest);
        guests.push_back(std::move(*guest));
    }

    auto metrics_port = free_loopback_port();
    require_ok(metrics_port);
    Controld daemon(dir, key->path(), run_dir(kHost).string(),
                    {{"OUTPOST_metrics_address", "127.0.0.1:" + std::to_string(*metrics_port)}});
    auto log = [&] { return daemon.log(); };
    daemon.start();

    const std::string config = configuration(
        remote("g1", guests[0]->address()) + remote("g2", guests[1]->address()) +
            primitive("d1", "pacemaker") + primitive("d2", "heartbeat") + primitive("d3", "pacemaker") +
            primitive("d4", "pacemaker",
                      "<meta_attributes id=\"d4-meta\"><nvpair id=\"d4-mt\" name=\"migration-threshold\" "
                      "value=\"1\"/><nvpair id=\"d4-ft\" name=\"failure-timeout\" value=\"4s\"/>"
                      "</meta_attributes>") +
            primitive("d5", "pacemaker",
                      "<meta_attributes id=\"d5-meta\"><nvpair id=\"d5-stick\" name=\"resource-stickiness\" "
                      "value=\"100\"/></meta_attributes>"),
        location("d1", "g1") + location("d2", "g2") + location("d3", kHost) + location("d4", "g1", "100") +
            "<rsc_location id=\"avoid-d4\" rsc=\"d4\" node=\"" + kHost + "\" score=\"-INFINITY\"/>");
    // A live crm_mon whose refresh interval is far beyond the test: only the daemon's change
    // notifications (its own status updates included) can bring its page up to date.
    const std::string html = dir.file("mon.html");
    const std::string mon_pid = dir.file("mon.pid");
    REQUIRE(tool({"crm_mon", "--daemonize", "--output-as=html", "--output-to=" + html, "--interval=600",
                  "--pid-file=" + mon_pid})
                .succeeded());
    push_configuration(dir, config);

    auto converged = [&](const CrmMon& mon) {
        return mon.node_online("g1") && mon.node_online("g2") &&
               mon.resource_nodes("d1") == std::vector<std::string>{"g1"} &&
               mon.resource_nodes("d2") == std::vector<std::string>{"g2"} &&
               mon.resource_nodes("d3") == std::vector<std::string>{kHost} &&
               mon.resource_role("d1") == "Started" && mon.resource_role("d2") == "Started" &&
               mon.resource_role("d3") == "Started" && mon.has_operation("d1", "g1", "monitor", 2000) &&
               mon.has_operation("d3", kHost, "monitor", 2000);
    };
    auto d4_on = [](const std::string& node) {
        return [node](const CrmMon& mon) {
            return mon.resource_nodes("d4") == std::vector<std::string>{node} &&
                   mon.resource_role("d4") == "Started";
        };
    };
    {
        INFO(log());
        REQUIRE(wait_for([&](const CrmMon& mon) { return converged(mon) && d4_on("g1")(mon); },
                         kConvergeTimeout));
    }
    {
        // /metrics: promtool accepts it; what crm_mon showed is in the gauges (the host, two
        // remote nodes online; the two connections and d1-d4 started), transitions ran. (The
        // first transition may still wait on its recurring monitors when crm_mon shows the
        // starts, on a loaded machine: read again until it has completed.)
        auto text = http_get(nullptr, "127.0.0.1", *metrics_port, "/metrics");
        const auto metrics_deadline = std::chrono::steady_clock::now() + 15s;
        while (text && !contains(*text, "outpost_controld_transitions_total{outcome=\"complete\"} ") &&
               std::chrono::steady_clock::now() < metrics_deadline) {
            std::this_thread::sleep_for(200ms);
            text = http_get(nullptr, "127.0.0.1", *metrics_port, "/metrics");
        }
        require_ok(text);
        INFO(*text);
        const std::string saved = dir.write("metrics.txt", *text);
        if (auto promtool = find_program("promtool")) {
            auto checked = run_command({"sh", "-c", *promtool + " check metrics < " + saved});
            require_ok(checked);
            INFO(checked->output);
            CHECK(checked->succeeded());
        }
        CHECK(contains(*text, "outpost_controld_nodes{kind=\"member\",state=\"online\"} 1\n"));
        CHECK(contains(*text, "outpost_controld_nodes{kind=\"remote\",state=\"online\"} 2\n"));
        CHECK(contains(*text, "outpost_controld_resources{state=\"ok\",role=\"started\"} 7\n"));
        CHECK(contains(*text, "outpost_controld_guest_connections{state=\"connected\"} 2\n"));
        CHECK(contains(*text, "outpost_controld_transitions_total{outcome=\"complete\"} "));
        CHECK_FALSE(contains(*text, "outpost_controld_transition_compute_seconds_count 0\n"));
    }
    {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        auto page_done = [&] {
            const std::string page = text_of(html);
            return page.find("Started g1") != std::string::npos &&
                   page.find("Started g2") != std::string::npos &&
                   page.find(std::string("Started ") + kHost) != std::string::npos;
        };
        while (!page_done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(100ms);
        INFO("crm_mon page:\n" << text_of(html));
        CHECK(page_done());
        const pid_t pid = static_cast<pid_t>(std::atol(text_of(mon_pid).c_str()));
        REQUIRE(pid > 1);
        ::kill(pid, SIGTERM);
    }
    WARN("timing: all started "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count()
         << " s after the first guest started");
    // The agents ran where they should: inside each guest, and on the host for d3.
    CHECK(fs::exists(dir / "g1-run" / "Dummy-d1.state"));
    CHECK(fs::exists(dir / (std::string(kHost) + "-run") / "Dummy-d3.state"));
    CHECK_FALSE(fs::exists(dir / "g2-run" / "Dummy-d1.state"));
    {
        // ocf:heartbeat:Dummy keeps its state under HA_RSCTMP too.
        bool found = false;
        for (const auto& entry : fs::directory_iterator(dir / "g2-run"))
            found = found || entry.path().filename().string().find("d2") != std::string::npos;
        CHECK(found);
    }
    {
        INFO(log());
        CHECK(pending_actions().empty());
        // Our own scheduler agrees on the CIB as saved.
        const std::string saved = dir.write("saved.xml", tool({"cibadmin", "-Q"}).output);
        const std::string simulate =
            env_or_empty("OUTPOST_BUILD_ROOT") + "/cluster-plugin/tools/outpost-simulate";
        CHECK(pending_actions({simulate, "-x", saved, "-S"}).empty());
        CHECK(pending_actions({"crm_simulate", "-x", saved, "-S"}).empty());
        // The same reading finds actions when there are some (an injected monitor failure).
        CHECK_FALSE(
            pending_actions({"crm_simulate", "-x", saved, "-S", "-i", "d1_monitor_2000@g1=7"}).empty());
    }
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        CHECK(mon->node_online(kHost));
        CHECK(mon->dc() == kHost);
    }

    // A monitor failure in g1: recorded, counted, recovered in place.
    fs::remove(dir / "g1-run" / "Dummy-d1.state");
    {
        INFO(log());
        REQUIRE(wait_for([](const CrmMon& mon) { return mon.fail_count("d1", "g1") >= 1; }, 20s));
        REQUIRE(wait_for(converged, kConvergeTimeout));
    }
    CHECK(fs::exists(dir / "g1-run" / "Dummy-d1.state"));
    auto after = crm_mon();
    REQUIRE(after);
    {
        INFO(tool({"cibadmin", "-Q", "-o", "status"}).output);
        INFO(tool({"crm_mon", "-1", "--output-as=xml"}).output);
        CHECK(after->failed_actions("d1") >= 1);
    }
    // crm_resource --cleanup of it (the crmd face, on a remote node): the fail count and
    // the history go, a probe finds it running where it is (not started again).
    {
        const auto started = fs::last_write_time(dir / "g1-run" / "Dummy-d1.state");
        const std::size_t from = log().size();
        CommandResult cleaned = tool({"crm_resource", "--cleanup", "-r", "d1"});
        INFO(cleaned.describe());
        CHECK(cleaned.succeeded());
        CHECK(cleaned.output.rfind("Cleaned up d1 on g1\n", 0) == 0);
        INFO(log().substr(from));
        REQUIRE(wait_for([](const CrmMon& mon) { return mon.fail_count("d1", "g1") == 0; }, 20s));
        REQUIRE(wait_for(converged, kConvergeTimeout));
        CHECK(log().find("Deleting the history of d1 on g1", from) != std::string::npos);
        CHECK(fs::last_write_time(dir / "g1-run" / "Dummy-d1.state") == started);
    }

    // With migration-threshold=1 one failure moves a resource away (to g2, d4's only other
    // allowed node).
    fs::remove(dir / "g1-run" / "Dummy-d4.state");
    {
        INFO(log());
        REQUIRE(wait_for(d4_on("g2"), kConvergeTimeout));
    }
    CHECK(fs::exists(dir / "g2-run" / "Dummy-d4.state"));
    CHECK_FALSE(fs::exists(dir / "g1-run" / "Dummy-d4.state"));
    // Its failure expires after failure-timeout (4 s): the loop wakes up for that and d4
    // goes back to the node it prefers.
    const auto moved = std::chrono::steady_clock::now();
    {
        INFO(log());
        REQUIRE(wait_for(d4_on("g1"), 20s));
    }
    CHECK(std::chrono::steady_clock::now() - moved >= 2s);
    CHECK(fs::exists(dir / "g1-run" / "Dummy-d4.state"));
    // Converged: nothing more to do (the transition settles within a monitor interval).
    std::this_thread::sleep_for(1s);
    {
        INFO(log());
        CHECK(pending_actions().empty());
    }

    // pcs resource move with no node (pcs 0.11: a ban on the current node, crm_resource
    // --wait until the cluster settles, the ban removed, and pcs's own simulation that d5
    // stays, which its stickiness makes true), then pcs resource restart (crm_resource
    // --restart: target-role Stopped, waited for, then Started again).
    {
        auto before = crm_mon();
        REQUIRE(before);
        const std::vector<std::string> was = before->resource_nodes("d5");
        REQUIRE(was.size() == 1);
        auto moved_off = [&](const CrmMon& mon) {
            const auto now = mon.resource_nodes("d5");
            return now.size() == 1 && now[0] != was[0] && mon.resource_role("d5") == "Started";
        };
        std::size_t from = log().size();
        CommandResult moved = tool({"pcs", "resource", "move", "d5"});
        INFO(moved.describe());
        INFO(log().substr(from));
        CHECK(moved.succeeded());
        REQUIRE(wait_for(moved_off, kConvergeTimeout));
        CHECK(tool({"cibadmin", "-Q", "-o", "constraints"}).output.find("cli-ban-d5") == std::string::npos);
        CHECK(log().find("Initiating d5_stop_0", from) != std::string::npos);

        from = log().size();
        CommandResult restarted = tool({"pcs", "resource", "restart", "d5"});
        INFO(restarted.describe());
        INFO(log().substr(from));
        CHECK(restarted.succeeded());
        // Stopped, it has no stickiness to hold it: it starts wherever the scheduler puts
        // it, as under Pacemaker.
        REQUIRE(wait_for(
            [&](const CrmMon& mon) {
                return mon.resource_nodes("d5").size() == 1 && mon.resource_role("d5") == "Started";
            },
            kConvergeTimeout));
        const std::size_t stopped = log().find("Initiating d5_stop_0", from);
        CHECK(stopped != std::string::npos);
        CHECK(log().find("Initiating d5_start_0", stopped == std::string::npos ? from : stopped) !=
              std::string::npos);
        CHECK(tool({"crm_resource", "--meta", "-r", "d5", "-g", "target-role"}).output.find("Stopped") ==
              std::string::npos);
    }

    // g1 in maintenance (a transient attribute, through the attribute manager) and out of
    // it: each time the scheduler's maintenance_nodes action is carried out, its state
    // recorded in g1's node_state as node_in_maintenance (policy rule 16), and then nothing
    // more is asked.
    for (const char* value : {"1", "0"}) {
        const std::size_t from = log().size();
        std::vector<std::string> argv{"crm_attribute", "-N", "g1", "-n", "maintenance", "-l", "reboot"};
        if (std::string(value) == "1") {
            argv.insert(argv.end(), {"-v", "true"});
        } else {
            argv.emplace_back("-D");
        }
        CommandResult set = tool(argv);
        INFO(set.describe());
        REQUIRE(set.succeeded());
        const std::string wanted = std::string("node_in_maintenance=\"") + value + "\"";
        auto recorded = [&] {
            const std::string status = tool({"cibadmin", "-Q", "-o", "status"}).output;
            const std::size_t at = status.find("<node_state id=\"g1\"");
            return at != std::string::npos &&
                   status.substr(at, status.find('>', at) - at).find(wanted) != std::string::npos;
        };
        const auto deadline = std::chrono::steady_clock::now() + kConvergeTimeout;
        while (!recorded() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(200ms);
        INFO(log().substr(from));
        REQUIRE(recorded());
        CHECK(log().find("maintenance_nodes", from) != std::string::npos);
        std::this_thread::sleep_for(1s);
        CHECK(pending_actions().empty());
    }

    // A restart (SIGTERM, then start again): the daemon re-learns what runs by probing the
    // host and, once connected, the guests; nothing is started twice (the agent's state
    // files keep their times) and nothing is lost.
    const fs::path d1_state = dir / "g1-run" / "Dummy-d1.state";
    const fs::path d3_state = dir / (std::string(kHost) + "-run") / "Dummy-d3.state";
    const auto d1_time = fs::last_write_time(d1_state);
    const auto d3_time = fs::last_write_time(d3_state);
    CHECK(daemon.stop() == 0);
    daemon.start();
    {
        INFO(log());
        REQUIRE(wait_for([&](const CrmMon& mon) { return converged(mon) && d4_on("g1")(mon); },
                         kConvergeTimeout));
        CHECK(pending_actions().empty());
    }
    CHECK(fs::last_write_time(d1_state) == d1_time);
    CHECK(fs::last_write_time(d3_state) == d3_time);

    CHECK(daemon.stop() == 0);
    WARN("timing: whole test "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// A guest node: a container (a network namespace running outpost-agent, resource agent
// tests/integration/data/netns-guest) with meta remote-node, and a Dummy inside it. The
// container fails twice behind the cluster's back (its agent killed, then its namespace
// deleted): each time the container is recovered (the guest node's fencing is implied by
// that), then its connection, then the Dummy inside, in that order; crm_mon (real) shows
// the result and crm_simulate -x finds nothing more to do on the CIB the loop wrote.
TEST_CASE("outpost-controld runs a guest node and recovers its container, then the resources in it",
          "[controld][guest]")
{
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    GuestScenario scenario("outpost-controld-guest", 1);
    const TempDir& dir = scenario.dir;
    NetnsGuest& guest = scenario.guest;
    const fs::path envfile = dir / "din.env";

    Controld daemon(dir, scenario.key.path(), scenario.host_run.string());
    daemon.start();
    // din may run only inside the guest.
    push_configuration(dir, configuration(guest.primitive() + counted_dummy("din", envfile),
                                          location("din", guest.node()) + "<rsc_location id=\"avoid-din\" " +
                                              "rsc=\"din\" node=\"" + kHost + "\" score=\"-INFINITY\"/>"));
    auto converged = [&](const CrmMon& mon) {
        return mon.node_online(guest.node()) &&
               mon.resource_nodes(guest.container()) == std::vector<std::string>{kHost} &&
               mon.resource_nodes("din") == std::vector<std::string>{guest.node()} &&
               mon.resource_role("din") == "Started" &&
               mon.has_operation("din", guest.node(), "monitor", 2000);
    };
    require_eventually(daemon, converged, kConvergeTimeout);
    WARN("timing: guest node and its Dummy started "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
    CHECK(fs::exists(guest.run_dir() / "Dummy-din.state"));
    CHECK(starts_in(envfile) == 1);
    {
        CommandResult text = tool({"crm_mon", "-1"});
        INFO(text.output);
        CHECK(text.output.find("GuestOnline: [ " + guest.node() + " ]") != std::string::npos);
        CHECK(text.output.find("Started " + guest.node()) != std::string::npos);
    }
    {
        // The guest's node_state as pacemaker-controld writes one.
        CommandResult status =
            tool({"cibadmin", "-Q", "--xpath", "//node_state[@uname='" + guest.node() + "']"});
        INFO(status.output);
        CHECK(status.output.find("remote_node=\"true\"") != std::string::npos);
        CHECK(status.output.find("in_ccm=\"true\"") != std::string::npos);
    }

    // A container failure: `breaks` damages it, then everything comes back in order.
    auto recover = [&](const std::string& what, const std::function<void()>& breaks, int expected_starts) {
        INFO(what);
        const pid_t old_pid = guest.daemon_pid();
        REQUIRE(old_pid > 0);
        const std::size_t log_from = daemon.log().size();
        const auto broken = std::chrono::steady_clock::now();
        breaks();
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                return converged(mon) && starts_in(envfile) == expected_starts && guest.daemon_pid() != 0 &&
                       guest.daemon_pid() != old_pid;
            },
            kConvergeTimeout, log_from);
        WARN("timing: " << what << ": recovered in "
                        << std::chrono::duration<double>(std::chrono::steady_clock::now() - broken).count()
                        << " s");
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(appear_in_order(
            log, {"Initiating " + guest.container() + "_stop_0", "Guest node " + guest.node() + " is fenced",
                  "Initiating " + guest.container() + "_start_0", "Initiating " + guest.node() + "_start_0",
                  "Initiating din_start_0"}));
        // A fresh container: the Dummy's state is new.
        CHECK(fs::exists(guest.run_dir() / "Dummy-din.state"));
        auto mon = crm_mon();
        REQUIRE(mon);
        // The container's monitor, or the connection's if it noticed first.
        CHECK(mon->fail_count(guest.container(), kHost) + mon->fail_count(guest.node(), kHost) >= 1);
        // What the loop recorded is complete: the real scheduler has nothing more to do.
        std::this_thread::sleep_for(1s);
        const std::string saved = dir.write("saved.xml", tool({"cibadmin", "-Q"}).output);
        INFO(text_of(saved));
        CHECK(pending_actions({"crm_simulate", "-x", saved, "-S"}).empty());
        CHECK(pending_actions().empty());
        CommandResult text = tool({"crm_mon", "-1"});
        INFO(text.output);
        CHECK(text.output.find("GuestOnline: [ " + guest.node() + " ]") != std::string::npos);
    };
    recover(
        "the container's agent killed", [&] { REQUIRE(::kill(guest.daemon_pid(), SIGKILL) == 0); }, 2);
    recover(
        "the container's namespace deleted",
        [&] {
            REQUIRE(tool({"ip", "netns", "del", guest.netns()}).succeeded());
        },
        3);

    // Stopping the container stops the Dummy inside first, then the connection.
    const std::size_t log_from = daemon.log().size();
    REQUIRE(tool({"crm_resource", "--resource", guest.container(), "--meta", "--set-parameter", "target-role",
                  "--parameter-value", "Stopped"})
                .succeeded());
    {
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                return mon.resource_nodes(guest.container()).empty() && mon.resource_nodes("din").empty();
            },
            kConvergeTimeout, log_from);
        INFO(daemon.log().substr(log_from));
        CHECK(appear_in_order(daemon.log(),
                              {"Initiating din_stop_0", "Initiating " + guest.node() + "_stop_0",
                               "Initiating " + guest.container() + "_stop_0"},
                              log_from));
    }
    CHECK(guest.daemon_pid() == 0);
    CHECK(daemon.stop() == 0);
    WARN("timing: whole test "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// The cgroup of `pid` in the v1 hierarchy of `controller` (the line whose controllers
// include it), empty if it has none.
fs::path cgroup_of(pid_t pid, const std::string& controller)
{
    const std::string text = text_of("/proc/" + std::to_string(pid) + "/cgroup");
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        const auto a = line.find(':');
        const auto b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
        if (controllers.find("," + controller + ",") != std::string::npos)
            return fs::path("/sys/fs/cgroup") / controller / line.substr(b + 1).substr(1);
    }
    return {};
}

// A tool inside the guest's network namespace: its libqb IPC names are the agent's proxy,
// which forwards them over the guest's connection to outpost-controld.
CommandResult in_guest(const NetnsGuest& guest, const std::vector<std::string>& argv)
{
    std::vector<std::string> command = {"ip", "netns", "exec", guest.netns()};
    command.insert(command.end(), argv.begin(), argv.end());
    return tool(command);
}

// What the tools inside `guest` get from outpost-controld as its IPC provider (see
// [guest-tools] below); `rsc` runs on the guest, if not empty.
void guest_tools_work(const Controld& daemon, const NetnsGuest& guest, const std::string& rsc)
{
    INFO("guest " << guest.node());
    // The guest's tools reach the controller's CIB once its connection is up (it registered
    // as the guest's IPC provider).
    {
        const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
        CommandResult query = in_guest(guest, {"cibadmin", "-Q"});
        while (!query.succeeded() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(250ms);
            query = in_guest(guest, {"cibadmin", "-Q"});
        }
        INFO(query.describe().substr(0, 3000) << "\noutpost-controld's log:\n" << daemon.log());
        REQUIRE(query.succeeded());
        CHECK(query.output.find("<cib ") != std::string::npos);
        CHECK(query.output.find("uname=\"" + guest.node() + "\"") != std::string::npos);
    }
    {
        // A guest node's proxied crmd and stonith-ng sessions (controld-proxied-tools has the
        // rest): crm_node -n answers the guest's own name, as under Pacemaker.
        CommandResult name = in_guest(guest, {"crm_node", "-n"});
        INFO(name.describe());
        CHECK(name.output == guest.node() + "\n");
        CommandResult devices = in_guest(guest, {"stonith_admin", "--list-registered"});
        INFO(devices.describe());
        CHECK(devices.output == "0 fence devices found\n");
    }
    {
        CommandResult mon = in_guest(guest, {"crm_mon", "-1", "--output-as=xml"});
        INFO(mon.describe());
        REQUIRE(mon.succeeded());
        const auto xml_start = mon.output.find("<pacemaker-result");
        REQUIRE(xml_start != std::string::npos);
        auto xml = XmlQuery::parse(mon.output.substr(xml_start));
        require_ok(xml);
        CrmMon parsed(std::move(*xml));
        CHECK(parsed.node_online(guest.node()));
        CHECK(parsed.node_online(kHost));
        if (!rsc.empty()) CHECK(parsed.resource_nodes(rsc) == std::vector<std::string>{guest.node()});
    }
    {
        // A write from inside the guest; the controller's own tools see it.
        const std::size_t log_from = daemon.log().size();
        const std::string name = "outpost-test-" + guest.node();
        CommandResult write =
            in_guest(guest, {"crm_attribute", "--type", "crm_config", "--name", name, "--update", "42"});
        INFO(write.describe() << "\noutpost-controld's log:\n" << daemon.log().substr(log_from));
        REQUIRE(write.succeeded());
        CommandResult read = tool({"crm_attribute", "--type", "crm_config", "--name", name, "--query"});
        INFO(read.describe());
        CHECK(read.output.find("value=42") != std::string::npos);
        // Made by the guest's root through the proxy.
        CHECK(daemon.log().find("(user \"root\")", log_from) != std::string::npos);
    }
    {
        // attrd_updater inside the guest sets the guest node's attribute (no -N: the guest's
        // own node, as under Pacemaker); the controller's tools see it.
        const std::size_t log_from = daemon.log().size();
        CommandResult set =
            in_guest(guest, {"attrd_updater", "-n", "outpost-test-attr", "-U", "g1", "-VVVVVV"});
        INFO(set.describe() << "\noutpost-controld's log:\n" << daemon.log().substr(log_from));
        REQUIRE(set.succeeded());
        // What the tool sends (the node's daemon forwards it as it is).
        const std::size_t sent = set.output.find("ipc-sent");
        if (sent != std::string::npos) WARN(set.output.substr(sent, set.output.find('\n', sent) - sent));
        CommandResult read = tool({"attrd_updater", "-n", "outpost-test-attr", "-Q", "-N", guest.node()});
        INFO(read.describe());
        CHECK(read.output == "name=\"outpost-test-attr\" host=\"" + guest.node() + "\" value=\"g1\"\n");
        CHECK(
            tool({"crm_attribute", "-l", "reboot", "-N", guest.node(), "-n", "outpost-test-attr", "-G", "-q"})
                .output == "g1\n");
        CommandResult query = in_guest(guest, {"attrd_updater", "-n", "outpost-test-attr", "-Q"});
        INFO(query.describe());
        CHECK(query.output.find("value=\"g1\"") != std::string::npos);
    }
}

// [guest-tools] (controld-guest-tools): outpost-controld is the IPC provider of its guest
// nodes. Inside the guest's namespace the real cibadmin -Q, crm_mon -1 --output-as=xml,
// crm_attribute (a write) and attrd_updater (the guest node's attribute, set and queried)
// work against the controller's CIB and attribute manager, with outpost-agent and with the
// real pacemaker-remoted 2.1.5 as the guest's daemon; the agent's own CIB session
// (cibfollow) gets the resource limits live: a meta outpost-cpu-quota set with cibadmin on
// the controller reaches the running resource's cgroup within seconds, and so does a
// change, without a restart, and a rule on a transient attribute of the guest's node set
// and deleted with attrd_updater on the host. SIGTERM of the connected agent drains the node (its shutdown
// request acked, the Dummy stopped, then the connection), then the guest is recovered.
TEST_CASE("outpost-controld serves the proxied tools of its guest and the agent's live CIB limits",
          "[controld][guest-tools]")
{
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    GuestScenario scenario("outpost-controld-guest-tools", 3);
    const TempDir& dir = scenario.dir;
    NetnsGuest& guest = scenario.guest;
    const fs::path envfile = dir / "lim.env";
    // The resource cgroups go beneath the agent's own cgroup, in a parent of this test's.
    const std::string cgroup_parent = "outpost-controld-test-" + std::to_string(::getpid());
    guest.add_daemon_env("OUTPOST_cgroup_parent=" + cgroup_parent);
    // A second guest running the real pacemaker-remoted 2.1.5: its tools are served the same.
    std::unique_ptr<NetnsGuest> remoted_guest;
    if (auto remoted = remoted_path()) {
        remoted_guest = std::make_unique<NetnsGuest>(dir, 4, scenario.key.path());
        remoted_guest->set_daemon(*remoted);
    } else {
        WARN("pacemaker-remoted not available, its guest is left out: " << remoted.error().message);
    }

    Controld daemon(dir, scenario.key.path(), scenario.host_run.string());
    daemon.start();
    push_configuration(dir,
                       configuration(guest.primitive() + (remoted_guest ? remoted_guest->primitive() : "") +
                                         counted_dummy("lim", envfile),
                                     location("lim", guest.node()) + "<rsc_location id=\"avoid-lim\" " +
                                         "rsc=\"lim\" node=\"" + kHost + "\" score=\"-INFINITY\"/>"));
    auto converged = [&](const CrmMon& mon) {
        return mon.node_online(guest.node()) &&
               mon.resource_nodes("lim") == std::vector<std::string>{guest.node()} &&
               mon.resource_role("lim") == "Started" &&
               (!remoted_guest || mon.node_online(remoted_guest->node()));
    };
    require_eventually(daemon, converged, kConvergeTimeout);
    WARN("timing: guest node and its Dummy started "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");

    guest_tools_work(daemon, guest, "lim");
    if (remoted_guest) guest_tools_work(daemon, *remoted_guest, "");

    // Live limits: the agent follows the CIB through its own proxied session.
    const pid_t agent = guest.daemon_pid();
    REQUIRE(agent > 0);
    const fs::path agent_cpu = cgroup_of(agent, "cpu");
    REQUIRE_FALSE(agent_cpu.empty());
    std::vector<fs::path> parents;  // removed at the end if the agent left them
    for (const char* controller : {"cpu", "memory", "pids", "cpuset", "blkio"}) {
        const fs::path own = cgroup_of(agent, controller);
        if (!own.empty()) parents.push_back(own / cgroup_parent);
    }
    const fs::path quota = agent_cpu / cgroup_parent / "rsc-lim" / "cpu.cfs_quota_us";
    // Waits until the running resource's quota is `expected`.
    auto await_quota = [&](const std::string& expected, std::chrono::steady_clock::time_point from,
                           const std::string& what) {
        std::string seen;
        while (std::chrono::steady_clock::now() - from < 10s) {
            seen = text_of(quota);
            if (seen.starts_with(expected + "\n") || seen == expected) break;
            std::this_thread::sleep_for(100ms);
        }
        INFO(quota.string() << " holds " << seen << "\nguest's log:\n"
                            << text_of(dir / guest.container() / (guest.netns() + ".log")));
        CHECK((seen.starts_with(expected + "\n") || seen == expected));
        WARN("timing: " << what << " on the running resource in "
                        << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
                        << " s");
    };
    auto set_quota = [&](const std::string& value, const std::string& expected) {
        const auto from = std::chrono::steady_clock::now();
        CommandResult set =
            tool({"cibadmin", "--modify", "-o", "resources", "--xml-text",
                  "<primitive id=\"lim\"><meta_attributes id=\"lim-meta\">" +
                      nvpair("lim-meta", "outpost-cpu-quota", value) + "</meta_attributes></primitive>"});
        INFO(set.describe());
        REQUIRE(set.succeeded());
        await_quota(expected, from, "outpost-cpu-quota=" + value + " after cibadmin");
    };
    set_quota("50%", "50000");
    set_quota("25%", "25000");
    // A rule on a transient attribute of the guest's node: set on the host with attrd_updater
    // (controld's attribute manager), seen by the agent's session, then removed again.
    {
        CommandResult rule = tool(
            {"cibadmin", "--modify", "-o", "resources", "--xml-text",
             "<primitive id=\"lim\"><meta_attributes id=\"lim-gold\" score=\"10\"><rule id=\"lim-gold-rule\">"
             "<expression id=\"lim-gold-tier\" attribute=\"outpost-test-tier\" operation=\"eq\" "
             "value=\"gold\"/>"
             "</rule>" +
                 nvpair("lim-gold", "outpost-cpu-quota", "40%") + "</meta_attributes></primitive>"});
        INFO(rule.describe());
        REQUIRE(rule.succeeded());
        auto attrd = [&](const std::vector<std::string>& args, const std::string& expected,
                         const std::string& what) {
            const auto from = std::chrono::steady_clock::now();
            std::vector<std::string> command{"attrd_updater", "-N", guest.node(), "-n", "outpost-test-tier"};
            command.insert(command.end(), args.begin(), args.end());
            CommandResult set = tool(command);
            INFO(set.describe());
            REQUIRE(set.succeeded());
            await_quota(expected, from, what);
        };
        attrd({"-U", "gold"}, "40000", "transient outpost-test-tier=gold after attrd_updater");
        attrd({"-D"}, "25000", "transient outpost-test-tier deleted after attrd_updater");
    }
    CHECK(starts_in(envfile) == 1);  // applied to the running resource: no restart
    CHECK(guest.daemon_pid() == agent);

    // SIGTERM of the connected agent: its shutdown request is acked and the node drained
    // (the Dummy stopped there, then the connection), the agent exits
    // once the connection is gone, and the guest is recovered (its container's monitor
    // finds the agent gone) with the Dummy started again.
    {
        const std::size_t log_from = daemon.log().size();
        REQUIRE(::kill(agent, SIGTERM) == 0);
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                const pid_t now = guest.daemon_pid();
                return converged(mon) && now != 0 && now != agent;
            },
            kConvergeTimeout, log_from);
        INFO(daemon.log().substr(log_from));
        const std::string log = daemon.log();
        const std::size_t acked = log.find(guest.node() + " asks to shut down: answered ack", log_from);
        CHECK(acked != std::string::npos);
        CHECK(appear_in_order(log,
                              {guest.node() + " asks to shut down: answered ack", "Initiating lim_stop_0",
                               std::string("Initiating ") + guest.node() + "_stop_0",
                               "Remote node " + guest.node() + " is drained and down"},
                              log_from));
        // Stopped by the drain; moved meanwhile to the second guest where there is one (the
        // Dummy only avoids the host), and back once guest3 is up again (it prefers guest3).
        CHECK(starts_in(envfile) == (remoted_guest ? 3 : 2));
        if (remoted_guest)
            CHECK(appear_in_order(log,
                                  {"Initiating lim_stop_0 on " + guest.node(),
                                   "Initiating lim_start_0 on " + remoted_guest->node(),
                                   "Initiating lim_start_0 on " + guest.node()},
                                  log_from));
    }

    // Stop it all: the agent removes its cgroups.
    REQUIRE(tool({"crm_resource", "--resource", guest.container(), "--meta", "--set-parameter", "target-role",
                  "--parameter-value", "Stopped"})
                .succeeded());
    require_eventually(
        daemon, [&](const CrmMon& mon) { return mon.resource_nodes(guest.container()).empty(); },
        kConvergeTimeout);
    CHECK(daemon.stop() == 0);
    for (const auto& parent : parents) {
        (void)::rmdir((parent / "rsc-lim").c_str());
        (void)::rmdir(parent.c_str());
    }
    WARN("timing: whole test "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// kill -9 of outpost-controld, then the same daemon on the same CIB file again: a remote
// node (outpost-agent in a namespace), a guest node (a netns-guest container) and a
// Dummy on the host, on each of them. Killed while idle, and while a start runs on the host
// and inside the guest: the restarted daemon waits for the host operation its predecessor
// left running, re-learns the rest by probing (reconnecting to both nodes, whose agents
// kept their resources running), and converges. Each Dummy counts its starts (envfile):
// nothing is started twice, nothing is lost, and the host's recorded failure (fail-count)
// is still there.
TEST_CASE("outpost-controld killed with SIGKILL re-learns the state and starts nothing twice",
          "[controld][restart]")
{
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    GuestScenario scenario("outpost-controld-restart", 2);
    const TempDir& dir = scenario.dir;
    const Authkey& key = scenario.key;
    const fs::path& host_run = scenario.host_run;
    NetnsGuest& guest = scenario.guest;
    GuestDaemonOptions remote_options;
    remote_options.binary = agent;
    const fs::path remote_run = dir / "g1-run";
    fs::create_directories(remote_run);
    remote_options.env = {{"PCMK_authkey_location", key.path().string()},
                          {"HA_VARRUN", remote_run.string()},
                          {"HA_RSCTMP", remote_run.string()}};
    auto remote_node = GuestDaemon::start(remote_options);
    require_ok(remote_node);

    auto env = [&](const std::string& id) { return dir / (id + ".env"); };
    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    const std::string g = guest.node();
    std::string resources = remote("g1", (*remote_node)->address()) + guest.primitive() +
                            counted_dummy("dh", env("dh")) + counted_dummy("dr", env("dr")) +
                            counted_dummy("dg", env("dg"));
    std::string constraints = location("dh", kHost) + location("dr", "g1") + location("dg", g);
    push_configuration(dir, configuration(resources, constraints));
    std::vector<std::pair<std::string, std::string>> placed{{"dh", kHost}, {"dr", "g1"}, {"dg", g}};
    auto converged = [&](const CrmMon& mon) {
        if (!mon.node_online("g1") || !mon.node_online(g)) return false;
        for (const auto& [id, node] : placed) {
            if (mon.resource_nodes(id) != std::vector<std::string>{node} ||
                mon.resource_role(id) != "Started" || !mon.has_operation(id, node, "monitor", 2000))
                return false;
        }
        return true;
    };
    auto require_converged = [&](std::size_t log_from) {
        require_eventually(daemon, converged, kConvergeTimeout, log_from);
        std::this_thread::sleep_for(1s);
        INFO(daemon.log().substr(log_from));
        CHECK(pending_actions().empty());
        const std::string saved = dir.write("saved.xml", tool({"cibadmin", "-Q"}).output);
        CHECK(pending_actions({"crm_simulate", "-x", saved, "-S"}).empty());
        for (const auto& [id, node] : placed) {
            INFO(id);
            CHECK(starts_in(env(id)) == 1);
        }
    };
    // What the restarted daemon initiated: no resource start (connections excepted: they
    // are the reconnections).
    auto started_nothing = [&](std::size_t log_from) {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        for (const auto& [id, node] : placed)
            CHECK(log.find("Initiating " + id + "_start_0") == std::string::npos);
        CHECK(log.find("Initiating " + guest.container() + "_start_0") == std::string::npos);
    };
    require_converged(0);

    // A failure on the host, recovered: its fail-count is a recorded result to keep.
    fs::remove(host_run / "Dummy-dh.state");
    {
        require_eventually(
            daemon, [](const CrmMon& mon) { return mon.fail_count("dh", kHost) == 1; }, 20s);
        require_eventually(daemon, converged, kConvergeTimeout);
    }
    placed.erase(placed.begin());  // dh was started twice, rightly: by the recovery
    const pid_t container_pid = guest.daemon_pid();
    const pid_t remote_pid = (*remote_node)->process().pid();

    // Killed while idle.
    std::this_thread::sleep_for(1s);
    daemon.kill();
    std::size_t log_from = daemon.log().size();
    const auto restarted = std::chrono::steady_clock::now();
    daemon.start();
    require_converged(log_from);
    WARN("timing: idle kill -9: converged again "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count() << " s");
    started_nothing(log_from);
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        CHECK(mon->fail_count("dh", kHost) == 1);
        CHECK(mon->resource_nodes("dh") == std::vector<std::string>{kHost});
    }
    CHECK(guest.daemon_pid() == container_pid);
    CHECK((*remote_node)->process().is_running());
    CHECK((*remote_node)->process().pid() == remote_pid);

    // Killed while a start runs on the host and one inside the guest (each Dummy sleeps 4 s
    // in every action).
    auto slow_dummy = [&](const std::string& id, const std::string& node) {
        const std::string xml =
            "<primitive id=\"" + id +
            "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><instance_attributes id=\"" + id +
            "-ia\">" + nvpair(id, "envfile", env(id).string()) + nvpair(id, "op_sleep", "4") +
            "</instance_attributes><operations><op id=\"" + id +
            "-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/></operations></primitive>";
        REQUIRE(tool({"cibadmin", "--create", "-o", "resources", "--xml-text", xml}).succeeded());
        REQUIRE(tool({"cibadmin", "--create", "-o", "constraints", "--xml-text", location(id, node)})
                    .succeeded());
        placed.emplace_back(id, node);
    };
    log_from = daemon.log().size();
    slow_dummy("sh", kHost);
    slow_dummy("sg", g);
    {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!(starts_in(env("sh")) == 1 && starts_in(env("sg")) == 1) &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(100ms);
        INFO(daemon.log().substr(log_from));  // read after the wait
        REQUIRE(starts_in(env("sh")) == 1);
        REQUIRE(starts_in(env("sg")) == 1);
    }
    std::this_thread::sleep_for(1s);  // both starts are in their sleep now
    daemon.kill();
    log_from = daemon.log().size();
    daemon.start();
    require_converged(log_from);
    started_nothing(log_from);
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(log.find("left running") != std::string::npos);  // it waited for the host's start
    }
    CHECK(guest.daemon_pid() == container_pid);
    CHECK((*remote_node)->process().pid() == remote_pid);

    CHECK(daemon.stop() == 0);
    WARN("timing: whole test "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// A remote node lost (its agent killed) and back at once, as scenario 4 of cluster-remote
// does under a real Pacemaker 2.1.5 cluster: the loss is recorded as a failure of the
// connection resource on the host; with reconnect_interval=8s the connection is not
// restarted before the interval has passed since that failure (the failure then expires,
// as Pacemaker's scheduler lets it); the Dummy that stayed running in the node is found
// by a probe after the reconnect and never started again.
TEST_CASE("outpost-controld honours reconnect_interval after a remote node's connection is lost",
          "[controld][remote-loss]")
{
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    INFO("meson sets OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    MachineGuard guard;

    TempDir dir("outpost-controld-remote-loss");
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    const fs::path g1_run = made_directory(dir / "g1-run");
    GuestDaemonOptions options;
    options.binary = agent;
    options.env = {{"PCMK_authkey_location", key->path().string()},
                   {"HA_VARRUN", g1_run.string()},
                   {"HA_RSCTMP", g1_run.string()}};
    auto started = GuestDaemon::start(options);
    require_ok(started);
    GuestDaemon& g1 = **started;

    Controld daemon(dir, key->path(), made_directory(dir / "host-run").string());
    daemon.start();
    constexpr int kReconnectSeconds = 8;
    push_configuration(
        dir,
        configuration(remote("g1", g1.address(),
                             nvpair("g1", "reconnect_interval", std::to_string(kReconnectSeconds) + "s")) +
                          primitive("d1", "pacemaker"),
                      location("d1", "g1") + "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" + kHost +
                          "\" score=\"-INFINITY\"/>"));
    auto running_on_g1 = [](const CrmMon& mon) {
        return mon.node_online("g1") && mon.resource_nodes("d1") == std::vector<std::string>{"g1"} &&
               mon.resource_role("d1") == "Started" && mon.has_operation("d1", "g1", "monitor", 2000);
    };
    require_eventually(daemon, running_on_g1, kConvergeTimeout);
    const fs::path state = g1_run / "Dummy-d1.state";
    REQUIRE(fs::exists(state));
    const auto started_at = fs::last_write_time(state);
    const std::size_t log_from = daemon.log().size();

    // The agent dies; the node's resources keep running (a Dummy's state is its file).
    require_ok(g1.process().signal(SIGKILL));
    require_ok(g1.process().wait(5000ms));
    const auto lost_at = std::chrono::steady_clock::now();
    auto connection_failed = [](const CrmMon& mon) {
        return !mon.node_online("g1") &&
               mon.xml().boolean(
                   "/pacemaker-result/failures/failure[starts-with(@op_key, 'g1_') and @node='" +
                   std::string(kHost) + "']");
    };
    require_eventually(daemon, connection_failed, 30s, log_from);
    const double noticed = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost_at).count();
    WARN("timing: the loss recorded as g1's failure " << noticed << " s after the kill");
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        CHECK(mon->fail_count("g1", kHost) >= 1);
        // Nowhere else to go: not started anywhere while g1 is away.
        auto nodes = mon->resource_nodes("d1");
        CHECK((nodes.empty() || nodes == std::vector<std::string>{"g1"}));
    }

    // Back at once; the connection waits for reconnect_interval.
    require_ok(g1.restart());
    require_eventually(
        daemon, [](const CrmMon& mon) { return mon.node_online("g1"); }, 40s, log_from);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost_at).count();
    WARN("timing: with reconnect_interval=" << kReconnectSeconds << "s g1 was online again " << waited
                                            << " s after the kill");
    // Not before the interval (a monitor interval may pass before the loss is noticed, and
    // crm_mon polls every 250 ms: less a second), and not much after it (a connection
    // monitor's interval and slack for a loaded ASan machine).
    CHECK(waited >= kReconnectSeconds - 1.0);
    CHECK(waited <= kReconnectSeconds + 5.0 + 10.0);

    // d1 is found running by the re-probe, never started again.
    require_eventually(daemon, running_on_g1, kConvergeTimeout, log_from);
    CHECK(fs::last_write_time(state) == started_at);
    std::this_thread::sleep_for(1s);
    {
        INFO(daemon.log().substr(log_from));
        INFO(tool({"cibadmin", "-Q", "-o", "status"}).output);
        const auto pending = pending_actions();
        for (const auto& line : pending)
            UNSCOPED_INFO(line);
        CHECK(pending.empty());
    }
    CHECK(daemon.stop() == 0);
}

// --- a libvirt LXC container as guest node -----------------------------------------------

constexpr const char* kLxcContainer = "ct-lxc1";
constexpr const char* kLxcGuest = "lxcguest1";
constexpr unsigned kLxcGuestHost = 12;  // 192.168.170.12 on the harness's bridge
constexpr const char* kOutpostGuestAgentPath = "/usr/lib/ocf/resource.d/outpost/guest";

// ocf:outpost:guest where the package installs it: a build under test is linked there for
// the test (an installed agent is used as it is), removed afterwards.
class OutpostGuestAgent {
public:
    OutpostGuestAgent()
    {
        const std::string built = env_or_empty("OUTPOST_OCF_GUEST");
        INFO("meson sets OUTPOST_OCF_GUEST");
        REQUIRE_FALSE(built.empty());
        std::error_code ec;
        if (fs::exists(kOutpostGuestAgentPath, ec)) return;
        dir_made_ = fs::create_directories(fs::path(kOutpostGuestAgentPath).parent_path(), ec);
        fs::create_symlink(built, kOutpostGuestAgentPath, ec);
        INFO(ec.message());
        REQUIRE_FALSE(ec);
        linked_ = true;
    }
    OutpostGuestAgent(const OutpostGuestAgent&) = delete;
    OutpostGuestAgent& operator=(const OutpostGuestAgent&) = delete;
    ~OutpostGuestAgent()
    {
        std::error_code ec;
        if (linked_) fs::remove(kOutpostGuestAgentPath, ec);
        if (dir_made_) fs::remove(fs::path(kOutpostGuestAgentPath).parent_path(), ec);
    }

private:
    bool linked_ = false;
    bool dir_made_ = false;
};

// `pcs ARGS...`, which must succeed.
void pcs_ok(std::vector<std::string> args)
{
    args.insert(args.begin(), "pcs");
    CommandResult r = tool(args);
    INFO(r.describe());
    REQUIRE(r.succeeded());
}

// A tool run inside the LXC container whose init is `init`: its mount, network, UTS, IPC
// and PID namespaces and its root, so libqb's abstract socket names and /dev/shm are the
// container's (served by outpost-agent's proxy).
CommandResult in_container(pid_t init, const std::vector<std::string>& argv)
{
    std::vector<std::string> command = {"nsenter", "-t", std::to_string(init), "-m", "-n", "-u", "-i", "-p",
                                        "-r",      "-w"};
    command.insert(command.end(), argv.begin(), argv.end());
    return tool(command);
}

std::optional<CrmMon> parsed_crm_mon(const std::string& output)
{
    const auto start = output.find("<pacemaker-result");
    if (start == std::string::npos) return std::nullopt;
    auto xml = XmlQuery::parse(output.substr(start));
    if (!xml) return std::nullopt;
    return CrmMon(std::move(*xml));
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// From a domain killed behind the cluster's back to the recovery's first action (issue 14:
// target under 2 s with the domain watch).
constexpr std::chrono::milliseconds kFirstActionTarget{2000};

struct FirstAction {
    double seconds = 0;
    std::string line;
};

// The loop's first "Initiating ..." in the daemon's log after `from`, and how long after
// `begin` it was seen (polled every 20 ms, so late by up to that).
std::optional<FirstAction> first_action_after(const Controld& daemon, std::size_t from,
                                              std::chrono::steady_clock::time_point begin,
                                              std::chrono::seconds limit)
{
    while (seconds_since(begin) < static_cast<double>(limit.count())) {
        const std::string log = daemon.log();
        const auto at = log.find("Initiating ", from);
        if (at != std::string::npos) {
            const double seconds = seconds_since(begin);
            const auto line = log.rfind('\n', at);
            const auto start = line == std::string::npos ? 0 : line + 1;
            return FirstAction{seconds, log.substr(start, log.find('\n', at) - start)};
        }
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

// The domain watch's line about `domain` of `rsc` after `from`: "domain D of R stopped
// (destroyed): reported the resource failed on host1 (N ms after the event)", or "...; not
// reported: the cluster is running its stop" when the loop already acted on the guest's
// closed connection. Empty if the watch logged nothing about it.
std::string watch_line(const std::string& log, std::size_t from, const std::string& domain,
                       const std::string& rsc)
{
    const std::string needle = "domain " + domain + " of " + rsc + " ";
    const auto at = log.find(needle, from);
    if (at == std::string::npos) return {};
    return log.substr(at, log.find('\n', at) - at);
}

enum class ContainerAgentKind { virtual_domain, outpost_guest };

// outpost-controld with a libvirt LXC container running outpost-agent as guest node
// kLxcGuest, configured with pcs on the live CIB as an administrator would, and a Dummy
// inside it. Returns nothing; timings are WARN lines.
void controld_lxc_guest(ContainerAgentKind kind)
{
    const auto begin = std::chrono::steady_clock::now();
    // The libvirt lock first, then the cluster lock: the order the cluster-guest tests take
    // them in.
    auto started = LibvirtHarness::start();
    require_ok(started);
    std::unique_ptr<LibvirtHarness> libvirt = std::move(*started);
    MachineGuard guard;
    TempDir dir("outpost-controld-lxc");
    Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    std::optional<OutpostGuestAgent> outpost_guest;
    if (kind == ContainerAgentKind::outpost_guest) outpost_guest.emplace();

    const std::string agent = env_or_empty("OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    const std::string domain = std::string(kDomainPrefix) + "ctl1";
    LxcGuestSpec spec;
    spec.name = domain;
    spec.command = {agent};
    spec.address = bridge_address(kLxcGuestHost);
    spec.state_dir = made_directory(dir / "guest-state");
    spec.log_file = dir / "agent.out";
    // The container sees the host's filesystem (the key in the test's directory) except
    // /var/lib/pacemaker and /run.
    spec.env = {{"PCMK_logfile", (dir / "agent.log").string()},
                {"PCMK_authkey_location", key.path().string()}};
    const std::string xml = dir.write("ctl1.xml", lxc_domain_xml(spec, libvirt->bridge()));
    libvirt->track_domain(kLxcUri, domain);
    WARN("libvirt set-up: " << libvirt->describe_setup() << " (" << seconds_since(begin) << " s, of which "
                            << libvirt->lock_wait_seconds() << " s waiting for the libvirt lock)");

    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    struct Teardown {
        Controld& daemon;
        const TempDir& dir;
        ~Teardown()
        {
            if (!Catch::getResultCapture().lastAssertionPassed())
                (void)std::fprintf(stderr, "--- agent log ---\n%s\n--- outpost-controld's log ---\n%s\n",
                                   text_of(dir / "agent.log").c_str(), daemon.log().c_str());
        }
    } teardown{daemon, dir};

    // As an administrator would, with pcs on the live CIB.
    const auto configured = std::chrono::steady_clock::now();
    pcs_ok({"property", "set", "stonith-enabled=false"});
    std::vector<std::string> create = {
        "resource", "create", kLxcContainer,
        kind == ContainerAgentKind::outpost_guest ? "ocf:outpost:guest" : "ocf:heartbeat:VirtualDomain",
        "config=" + xml, std::string("hypervisor=") + kLxcUri,
        // Both would write the domain's utilization into the CIB.
        "autoset_utilization_cpu=false", "autoset_utilization_hv_memory=false",
        "autoset_utilization_host_memory=false"};
    // VirtualDomain 4.12.0 reads OCF_RESKEY_CRM_shutdown_mode instead of its shutdown_mode
    // (docs/testing.md); ocf:outpost:guest signals an LXC application container by default.
    if (kind == ContainerAgentKind::virtual_domain) create.emplace_back("CRM_shutdown_mode=signal");
    create.insert(create.end(), {"op", "monitor", "interval=2s", "timeout=30s", "op", "stop", "timeout=20s",
                                 "meta", std::string("remote-node=") + kLxcGuest,
                                 "remote-addr=" + spec.address, "remote-connect-timeout=20s",
                                 // pcs wants `pcs cluster node add-guest` (and pcsd) without it.
                                 "--force"});
    pcs_ok(create);
    pcs_ok(
        {"resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=2s", "timeout=20s"});
    pcs_ok({"constraint", "location", "d1", "prefers", std::string(kLxcGuest) + "=INFINITY"});
    // pcs knows the cluster's full members from corosync.conf, which a controld host does
    // not have ("Node 'host1' does not appear to exist in configuration"): --force.
    pcs_ok({"constraint", "location", "d1", "avoids", kHost, "--force"});

    auto converged = [&](const CrmMon& mon) {
        return mon.node_online(kLxcGuest) &&
               mon.resource_nodes(kLxcContainer) == std::vector<std::string>{kHost} &&
               mon.resource_role(kLxcContainer) == "Started" && !mon.resource_failed(kLxcContainer) &&
               mon.resource_nodes("d1") == std::vector<std::string>{kLxcGuest} &&
               mon.resource_role("d1") == "Started" && !mon.resource_failed("d1") &&
               mon.has_operation("d1", kLxcGuest, "monitor", 2000);
    };
    WARN("timing: the configuration pushed with pcs in " << seconds_since(configured) << " s");
    require_eventually(daemon, converged, kConvergeTimeout);
    WARN("timing: first pcs command -> guest online and d1 monitored inside it in "
         << seconds_since(configured) << " s");
    CHECK(libvirt->domain_running(kLxcUri, domain));
    {
        const std::string log = daemon.log();
        INFO(log);
        // The container through the host executor, then the connection, then d1 inside.
        CHECK(appear_in_order(
            log, {std::string("Initiating ") + kLxcContainer + "_start_0",
                  std::string("Initiating ") + kLxcGuest + "_start_0", "Initiating d1_start_0"}));
    }
    auto dummy_inside = [&] {
        // The Dummy's state file is in the container's private /run.
        auto init = libvirt->lxc_init_pid(domain);
        REQUIRE(init.has_value());
        CHECK(fs::exists("/proc/" + std::to_string(*init) + "/root/run/Dummy-d1.state"));
        CHECK_FALSE(fs::exists("/run/Dummy-d1.state"));
        CHECK_FALSE(fs::exists(host_run / "Dummy-d1.state"));
        return *init;
    };
    const pid_t first_init = dummy_inside();
    // Everything back, in a new container (another init than `old_init`) with d1 inside.
    auto recovered_from = [&](pid_t old_init, std::size_t from) {
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                auto init = libvirt->lxc_init_pid(domain);
                return converged(mon) && init && *init != old_init &&
                       fs::exists("/proc/" + std::to_string(*init) + "/root/run/Dummy-d1.state");
            },
            kConvergeTimeout, from);
    };
    {
        CommandResult text = tool({"crm_mon", "-1"});
        INFO(text.output);
        CHECK(text.output.find(std::string("GuestOnline: [ ") + kLxcGuest + " ]") != std::string::npos);
        CHECK(text.output.find(std::string("Started ") + kLxcGuest) != std::string::npos);
    }
    {
        // crm_mon inside the guest: the agent's proxy forwards its IPC to outpost-controld,
        // which serves the same CIB. The guest's tools work once its connection is up.
        CommandResult inside = in_container(first_init, {"crm_mon", "-1", "--output-as=xml"});
        const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
        while (!inside.succeeded() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(250ms);
            inside = in_container(first_init, {"crm_mon", "-1", "--output-as=xml"});
        }
        INFO(inside.describe());
        REQUIRE(inside.succeeded());
        auto mon = parsed_crm_mon(inside.output);
        REQUIRE(mon.has_value());
        CHECK(mon->node_online(kHost));
        CHECK(mon->node_online(kLxcGuest));
        CHECK(mon->resource_nodes(kLxcContainer) == std::vector<std::string>{kHost});
        CHECK(mon->resource_nodes("d1") == std::vector<std::string>{kLxcGuest});
        CommandResult text = in_container(first_init, {"crm_mon", "-1"});
        INFO(text.describe());
        CHECK(text.output.find(std::string("GuestOnline: [ ") + kLxcGuest + " ]") != std::string::npos);
        // Not the host's IPC: the guest's own namespace answered through the proxy.
        CHECK(daemon.log().find(std::string(kLxcGuest)) != std::string::npos);
    }

    // The container destroyed behind the cluster's back. The domain watch subscribed to
    // lxc:/// when the container was configured (its next CIB read, within a second).
    {
        const std::string log = daemon.log();
        INFO(log);
        REQUIRE(log.find("subscribed to the domain events of lxc:///") != std::string::npos);
    }
    const std::size_t log_from = daemon.log().size();
    const auto destroyed = std::chrono::steady_clock::now();
    CommandResult destroy = tool({"virsh", "-c", kLxcUri, "destroy", domain});
    INFO(destroy.describe());
    REQUIRE(destroy.succeeded());
    const auto first_action = first_action_after(daemon, log_from, destroyed, 30s);
    REQUIRE(first_action.has_value());
    // When the loop learned of it: its first wish for a new transition after the destroy.
    std::optional<double> noticed_s;
    while (!noticed_s && seconds_since(destroyed) < 30) {
        if (daemon.log().find("Transition wanted", log_from) != std::string::npos)
            noticed_s = seconds_since(destroyed);
        else
            std::this_thread::sleep_for(20ms);
    }
    REQUIRE(noticed_s.has_value());
    recovered_from(first_init, log_from);
    const double recovered_s = seconds_since(destroyed);
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        // What told the loop first: the container's monitor, or the guest's connection
        // (the container's processes die with it, so its TCP connection is closed at once).
        const auto noticed = log.find("Transition wanted");
        if (noticed != std::string::npos) {
            const auto line = log.rfind('\n', noticed);
            WARN("the loop learned of the destroyed container from: " << log.substr(
                     line == std::string::npos ? 0 : line + 1,
                     log.find('\n', noticed) - (line == std::string::npos ? 0 : line + 1)));
        }
        CHECK(appear_in_order(
            log, {std::string("Initiating ") + kLxcContainer + "_stop_0",
                  std::string("Guest node ") + kLxcGuest + " is fenced",
                  std::string("Initiating ") + kLxcContainer + "_start_0",
                  std::string("Initiating ") + kLxcGuest + "_start_0", "Initiating d1_start_0"}));
    }
    WARN("timing (" << (kind == ContainerAgentKind::outpost_guest ? "ocf:outpost:guest" : "VirtualDomain")
                    << "): virsh destroy -> noticed by the loop in " << *noticed_s << " s, first action ("
                    << first_action->line << ") in " << first_action->seconds
                    << " s, d1 running again in the new container " << recovered_s << " s");
    CHECK(first_action->seconds * 1000 < static_cast<double>(kFirstActionTarget.count()));
    {
        // The domain watch saw the event too: it reported the container failed, or found
        // the loop already stopping it (the guest's connection closed with the container).
        const std::string seen = watch_line(daemon.log(), log_from, domain, kLxcContainer);
        INFO(daemon.log().substr(log_from));
        CHECK(seen.find("stopped (destroyed)") != std::string::npos);
        WARN("domain watch: " << seen);
    }
    dummy_inside();
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        // The container's monitor, or the connection's if it noticed first.
        CHECK(mon->fail_count(kLxcContainer, kHost) + mon->fail_count(kLxcGuest, kHost) >= 1);
    }
    // What the loop recorded is complete: the real scheduler has nothing more to do.
    std::this_thread::sleep_for(1s);
    {
        INFO(tool({"cibadmin", "-Q", "-o", "status"}).output);
        const auto pending = pending_actions();
        for (const auto& line : pending)
            UNSCOPED_INFO(line);
        CHECK(pending.empty());
    }

    if (kind == ContainerAgentKind::virtual_domain) {
        // The container's init killed (SIGKILL from the host): the container ends with it.
        const auto init = libvirt->lxc_init_pid(domain);
        REQUIRE(init.has_value());
        const std::size_t kill_from = daemon.log().size();
        const auto killed = std::chrono::steady_clock::now();
        REQUIRE(::kill(*init, SIGKILL) == 0);
        const auto first = first_action_after(daemon, kill_from, killed, 30s);
        REQUIRE(first.has_value());
        recovered_from(*init, kill_from);
        const double back_s = seconds_since(killed);
        const std::string seen = watch_line(daemon.log(), kill_from, domain, kLxcContainer);
        INFO(daemon.log().substr(kill_from));
        CHECK(seen.find(" stopped (") != std::string::npos);
        CHECK(first->seconds * 1000 < static_cast<double>(kFirstActionTarget.count()));
        WARN("timing (VirtualDomain): SIGKILL of the container's init -> first action ("
             << first->line << ") in " << first->seconds << " s, d1 running again in " << back_s << " s");
        WARN("domain watch: " << seen);

        // Stopped from inside (its init's SIGTERM, sent in the container): the agent asks
        // to shut down and the node is drained, then the agent and the init exit. The
        // container ends without the cluster having asked: the watch reports it and the
        // container is recovered without waiting for its monitor.
        const auto before = libvirt->lxc_init_pid(domain);
        REQUIRE(before.has_value());
        const std::size_t inside_from = daemon.log().size();
        const auto asked = std::chrono::steady_clock::now();
        CommandResult term = in_container(*before, {"kill", "-TERM", "1"});
        INFO(term.describe());
        REQUIRE(term.succeeded());
        recovered_from(*before, inside_from);
        const std::string log = daemon.log();
        INFO(log.substr(inside_from));
        const std::string reported = watch_line(log, inside_from, domain, kLxcContainer);
        CHECK(reported.find("stopped (shutdown): reported the resource failed on " + std::string(kHost)) !=
              std::string::npos);
        CHECK(appear_in_order(
            log,
            {std::string(kLxcGuest) + " asks to shut down: answered ack", "reported the resource failed",
             std::string("Initiating ") + kLxcContainer + "_stop_0",
             std::string("Initiating ") + kLxcContainer + "_start_0"},
            inside_from));
        WARN("timing (VirtualDomain): stopped from inside -> d1 running again in " << seconds_since(asked)
                                                                                   << " s");
        WARN("domain watch: " << reported);
    }

    // Disabling the container stops d1, then the connection, then the domain.
    const std::size_t stop_from = daemon.log().size();
    const auto disabled = std::chrono::steady_clock::now();
    pcs_ok({"resource", "disable", kLxcContainer});
    require_eventually(
        daemon,
        [&](const CrmMon& mon) {
            return mon.resource_nodes(kLxcContainer).empty() && mon.resource_nodes("d1").empty() &&
                   !mon.node_online(kLxcGuest);
        },
        kConvergeTimeout, stop_from);
    WARN("timing: pcs resource disable -> all stopped in " << seconds_since(disabled) << " s");
    CHECK(libvirt->domain_state(kLxcUri, domain).empty());  // the transient domain is gone
    CHECK(appear_in_order(daemon.log(),
                          {"Initiating d1_stop_0", std::string("Initiating ") + kLxcGuest + "_stop_0",
                           std::string("Initiating ") + kLxcContainer + "_stop_0"},
                          stop_from));
    CHECK(daemon.stop() == 0);
    const auto teardown_begin = std::chrono::steady_clock::now();
    require_ok(libvirt->stop());
    WARN("timing: libvirt teardown " << seconds_since(teardown_begin) << " s; whole test "
                                     << seconds_since(begin) << " s");
}

TEST_CASE("outpost-controld runs a libvirt LXC container as guest node (VirtualDomain)",
          "[controld][guest-lxc]")
{
    controld_lxc_guest(ContainerAgentKind::virtual_domain);
}

TEST_CASE("outpost-controld runs a libvirt LXC container as guest node (ocf:outpost:guest)",
          "[controld][guest-lxc-outpost]")
{
    controld_lxc_guest(ContainerAgentKind::outpost_guest);
}

namespace {

// fence_outpost_test in /usr/sbin for the daemon only (an overlay in its mount namespace).
MountPlan fence_agent_in_sbin(const TempDir& dir, const std::string& source)
{
    const fs::path sbin = made_directory(dir / "sbin");
    fs::copy_file(fs::path(source) / "tests/integration/fence_outpost_test", sbin / "fence_outpost_test");
    fs::permissions(sbin / "fence_outpost_test", fs::perms::owner_all | fs::perms::group_read |
                                                     fs::perms::group_exec | fs::perms::others_read |
                                                     fs::perms::others_exec);
    MountPlan plan;
    plan.overlays = {{sbin, "/usr/sbin"}};
    return plan;
}

bool node_unclean(const CrmMon& mon, const std::string& node)
{
    return mon.xml().boolean("/pacemaker-result/nodes/node[@name='" + node + "' and @unclean='true']");
}

}  // namespace

// r1 and r2 are remote nodes (outpost-agent in namespaces), f1 a fence device for both,
// d1 runs on r1. r1's agent is killed while the device's target list does not know r1: the
// fencing fails (logged), r1 stays UNCLEAN and d1 starts nowhere. Once the list names r1,
// the retried fencing reboots r1 (its link down, its namespace's processes killed, the
// link up), the status records r1 fenced as Pacemaker does, and only then does d1 start
// on r2; crm_mon shows r1 OFFLINE, not UNCLEAN. Then r1's agent starts again: r1 is back
// online, d1 stays on r2 and nothing more is to be done.
TEST_CASE("outpost-controld fences a lost remote node through a fence device", "[controld][fencing]")
{
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
    INFO("meson sets OUTPOST_AGENT and OUTPOST_SOURCE_ROOT");
    REQUIRE_FALSE(agent.empty());
    REQUIRE_FALSE(source.empty());
    MachineGuard guard;

    TempDir dir("outpost-controld-fencing");
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    std::vector<std::unique_ptr<GuestDaemon>> guests;
    std::vector<fs::path> runs;
    for (const char* name : {"r1", "r2"}) {
        runs.push_back(made_directory(dir / (std::string(name) + "-run")));
        GuestDaemonOptions options;
        options.binary = agent;
        options.env = {{"PCMK_authkey_location", key->path().string()},
                       {"HA_VARRUN", runs.back().string()},
                       {"HA_RSCTMP", runs.back().string()}};
        auto started = GuestDaemon::start(options);
        require_ok(started);
        guests.push_back(std::move(*started));
    }
    GuestDaemon& r1 = *guests[0];
    GuestDaemon& r2 = *guests[1];

    // The switch's target list: r2 only for now, so fencing r1 fails ("unknown node").
    const fs::path fence_dir = made_directory(dir / "fence");
    const fs::path config = fence_dir / "targets";
    const fs::path fence_log = fence_dir / "fence.log";
    auto line_of = [](const std::string& node, GuestDaemon& g) {
        return node + " " + g.netns().name() + " " + g.netns().host_interface() + "\n";
    };
    auto write_targets = [&](bool with_r1) {
        std::ofstream out(config, std::ios::trunc);
        out << "host_pid " << ::getpid() << "\n" << line_of("r2", r2) << (with_r1 ? line_of("r1", r1) : "");
    };
    write_targets(false);

    Controld daemon(dir, key->path(), made_directory(dir / "host-run").string());
    daemon.in_private_mounts(fence_agent_in_sbin(dir, source));
    daemon.start();

    const std::string config_xml =
        "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">" +
        nvpair("opt", "stonith-enabled", "true") + nvpair("opt", "stonith-timeout", "20s") +
        "</cluster_property_set></crm_config><nodes><node id=\"1\" uname=\"" + std::string(kHost) +
        "\"/></nodes><resources>" + remote("r1", r1.address()) + remote("r2", r2.address()) +
        "<primitive id=\"f1\" class=\"stonith\" type=\"fence_outpost_test\"><instance_attributes "
        "id=\"f1-ia\">" +
        nvpair("f1", "config", config.string()) + nvpair("f1", "pcmk_host_list", "r1 r2") +
        "</instance_attributes><operations><op id=\"f1-monitor\" name=\"monitor\" interval=\"60s\"/>"
        "</operations></primitive>" +
        primitive("d1", "pacemaker",
                  "<meta_attributes id=\"d1-meta\">" + nvpair("d1", "resource-stickiness", "100") +
                      "</meta_attributes>") +
        "</resources><constraints>" + location("d1", "r1", "50") +
        "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" + kHost + "\" score=\"-INFINITY\"/>" +
        "</constraints></configuration>";
    push_configuration(dir, config_xml);
    auto running_on = [](const std::string& node) {
        return [node](const CrmMon& mon) {
            return mon.node_online("r1") == (node == "r1") && mon.node_online("r2") &&
                   mon.resource_nodes("d1") == std::vector<std::string>{node} &&
                   mon.resource_nodes("f1") == std::vector<std::string>{kHost} &&
                   mon.resource_role("d1") == "Started" && mon.has_operation("d1", node, "monitor", 2000);
        };
    };
    require_eventually(daemon, running_on("r1"), kConvergeTimeout);
    const std::size_t log_from = daemon.log().size();

    // r1's agent dies; its fencing fails while the switch does not know r1.
    const auto killed_at = std::chrono::steady_clock::now();
    require_ok(r1.process().signal(SIGKILL));
    require_ok(r1.process().wait(5000ms));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (daemon.log().find("Fencing (reboot) of r1 failed", log_from) == std::string::npos) {
        INFO(daemon.log().substr(log_from));
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(200ms);
    }
    WARN("timing: r1's first fencing failed "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count()
         << " s after its agent was killed");
    CHECK(daemon.log().find("unknown node 'r1'", log_from) != std::string::npos);
    std::this_thread::sleep_for(2s);
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        INFO(tool({"crm_mon", "-1"}).output);
        CHECK(node_unclean(*mon, "r1"));
        CHECK_FALSE(mon->node_online("r1"));
        auto nodes = mon->resource_nodes("d1");
        CHECK((nodes.empty() || nodes == std::vector<std::string>{"r1"}));
        CHECK_FALSE(fs::exists(runs[1] / "Dummy-d1.state"));
    }

    // The switch learns r1: the next try (kUnrunnableRetry) fences it.
    write_targets(true);
    const auto fixed_at = std::chrono::steady_clock::now();
    auto recovered = [&](const CrmMon& mon) { return running_on("r2")(mon) && !node_unclean(mon, "r1"); };
    require_eventually(daemon, recovered, kConvergeTimeout, log_from);
    WARN("timing: d1 monitored on r2 "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - fixed_at).count()
         << " s after the target list was fixed");
    const auto off = first_logged(fence_log, "off", "r1");
    const auto on = first_logged(fence_log, "on", "r1");
    INFO(text_of(fence_log));
    REQUIRE(off);
    CHECK(on);  // reboot: off, then on
    const double d1_started = mtime_epoch(runs[1] / "Dummy-d1.state");
    CHECK(d1_started > *off);
    WARN("timing: d1's state written on r2 " << d1_started - *off << " s after r1's power-off");
    CHECK(daemon.log().find("Node r1 was fenced (reboot) by f1", log_from) != std::string::npos);
    {
        const std::string status = tool({"cibadmin", "-Q", "-o", "status"}).output;
        INFO(status);
        auto xml = XmlQuery::parse(status);
        REQUIRE(xml);
        const std::string r1_state = "/status/node_state[@id='r1']";
        // As pacemaker-controld 2.1.5 records it: node_fenced is the time of the fencing.
        CHECK(xml->boolean(r1_state + "[@remote_node='true' and @in_ccm='false' and "
                                      "@crm-debug-origin='send_stonith_update' and @node_fenced!='0']"));
        CHECK(xml->number(r1_state + "/@node_fenced") >= std::floor(*off));
        CHECK_FALSE(xml->boolean(r1_state + "/lrm"));
        CHECK_FALSE(xml->boolean(r1_state + "/transient_attributes"));
    }
    {
        auto mon = crm_mon();
        REQUIRE(mon);
        const std::string text = tool({"crm_mon", "-1"}).output;
        INFO(text);
        CHECK(text.find("UNCLEAN") == std::string::npos);
        CHECK(text.find("RemoteOFFLINE: [ r1 ]") != std::string::npos);
    }
    // The fencer's face (stonith-ng): the devices, what they can fence and the history of the
    // loop's own fencing, as stonith_admin, crm_mon -m and pcs show them under Pacemaker.
    auto fencer_from = std::chrono::steady_clock::now();
    CHECK(tool({"stonith_admin", "--list-registered"}).output == "f1\n1 fence device found\n");
    CHECK(tool({"stonith_admin", "--list", "r2"}).output == "f1\n1 fence device found\n");
    CHECK(tool({"stonith_admin", "--list", "r7"}).output == "0 fence devices found\n");
    CHECK(tool({"stonith_admin", "--list-targets", "f1"}).output == "r2\nr1\n2 fence targets found\n");
    CHECK_FALSE(tool({"stonith_admin", "--list-targets", "nosuch"}).succeeded());
    {
        const std::string history = tool({"stonith_admin", "--history", "r1", "--verbose"}).output;
        INFO(history);
        CHECK(
            history.find("reboot of r1 failed (f1 (fence_outpost_test reboot): exited 1: fence_outpost_test: "
                         "unknown node 'r1'): client=outpost-controld.") != std::string::npos);
        CHECK(history.find("reboot of r1 successful: delegate=" + std::string(kHost) +
                           ", client=outpost-controld.") != std::string::npos);
        const std::string mon = tool({"crm_mon", "-1", "-m"}).output;
        INFO(mon);
        CHECK(mon.find("Failed Fencing Actions:\n  * reboot of r1 for outpost-controld.") !=
              std::string::npos);
        CHECK(mon.find("Fencing History:\n  * reboot of r1 by " + std::string(kHost) +
                       " for outpost-controld.") != std::string::npos);
        CHECK(tool({"pcs", "stonith", "history"}).output ==
              tool({"stonith_admin", "--history", "*", "--verbose"}).output);
    }

    double fencer_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fencer_from).count();

    // r1 "boots" (its agent starts again): online, node_fenced back to 0, d1 stays on r2
    // (stickiness), and nothing more is to be done.
    // A boot empties /run: the Dummy's state (in r1's HA_VARRUN) goes with it.
    fs::remove(runs[0] / "Dummy-d1.state");
    require_ok(r1.restart());
    auto back = [](const CrmMon& mon) {
        return mon.node_online("r1") && mon.node_online("r2") &&
               mon.resource_nodes("d1") == std::vector<std::string>{"r2"} &&
               mon.resource_role("d1") == "Started";
    };
    require_eventually(daemon, back, kConvergeTimeout, log_from);
    CHECK(tool({"cibadmin", "-Q", "-o", "status", "--xpath", "//node_state[@id='r1' and @node_fenced='0']"})
              .succeeded());
    std::this_thread::sleep_for(1s);
    {
        INFO(tool({"crm_mon", "-1"}).output);
        INFO(daemon.log().substr(log_from));
        const auto pending = pending_actions();
        for (const auto& line : pending)
            UNSCOPED_INFO(line);
        CHECK(pending.empty());
    }

    // stonith_admin --fence r1: through the loop's fencing path and the switch (off), r1
    // recorded fenced, d1 stays on r2; then --confirm and the history's cleanup.
    fencer_from = std::chrono::steady_clock::now();
    {
        const CommandResult fenced = tool({"stonith_admin", "--fence", "r1"});
        INFO(fenced.describe() << daemon.log().substr(log_from));
        REQUIRE(fenced.succeeded());
        CHECK(text_of(fence_log).find(" off r1\n", text_of(fence_log).find(" on r1\n")) != std::string::npos);
        auto down = [](const CrmMon& mon) {
            return !mon.node_online("r1") && mon.resource_nodes("d1") == std::vector<std::string>{"r2"};
        };
        require_eventually(daemon, down, kConvergeTimeout, log_from);
        CHECK_FALSE(
            tool({"cibadmin", "-Q", "-o", "status", "--xpath",
                  "//node_state[@id='r1' and @crm-debug-origin='send_stonith_update' and @node_fenced!='0']"})
                .output.empty());
        const std::string mon = tool({"crm_mon", "-1", "-m"}).output;
        INFO(mon);
        CHECK(mon.find("  * turning off of r1 by " + std::string(kHost) + " for stonith_admin.") !=
              std::string::npos);
        auto after = crm_mon();
        REQUIRE(after);
        CHECK_FALSE(node_unclean(*after, "r1"));

        REQUIRE(tool({"stonith_admin", "--confirm", "r1"}).succeeded());
        CHECK(tool({"stonith_admin", "--history", "r1", "--verbose"})
                  .output.find("turning off of r1 successful: delegate=a human, client=stonith_admin.") !=
              std::string::npos);
        REQUIRE(tool({"stonith_admin", "--history", "r1", "--cleanup"}).succeeded());
        // What was there went; the loop may have fenced r1 again since (its connection's
        // restart fails while r1 is off): a reboot of its own, never an "off" of the tools.
        const std::string cleaned = tool({"stonith_admin", "--history", "r1", "--verbose"}).output;
        INFO(cleaned);
        CHECK(cleaned.find("turning off of r1") == std::string::npos);
        CHECK(cleaned.find("failed") == std::string::npos);
        fencer_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - fencer_from).count();
        WARN("timing: the stonith-ng checks took " << fencer_seconds << " s");
    }
    CHECK(daemon.stop() == 0);
}

// [tools] (controld-tools): the tools that talk to the controller (crmd) and, for a cleanup,
// to attrd, run in the same order against outpost-controld and against a real Pacemaker
// 2.1.5 single-node cluster: each must exit with the same code and print the same text
// (docs/architecture.md, "The crmd face"). The effects are checked on outpost-controld:
// --fail records a failed asyncmon and a fail count and the resource is recovered,
// --cleanup deletes the history and fail counts and the resource is probed (found running,
// not restarted), --refresh reprobes the node.
namespace {

int exit_code(const CommandResult& r)
{
    return WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : -1;
}

using ToolRunner = std::function<CommandResult(const std::vector<std::string>&)>;

// The command, and what a real 2.1.5 cluster answers to it; `after(step)` waits for the
// effect (and checks it, on outpost-controld).
void run_tool_sequence(const std::string& node, const ToolRunner& run,
                       const std::function<void(const std::string& step)>& after)
{
    const std::string waited = "Waiting for 1 reply from the controller\n... got reply (done)\n";
    // A cleanup's reply may arrive while crm_resource still works synchronously (a real
    // 2.1.5 controller did so under CI's load): it then prints "... got reply" first and
    // waits for nothing. Both texts are crm_resource's, whichever controller answers.
    auto early = [&](const std::string& output) {
        if (!output.ends_with(waited)) return output;
        return "... got reply\n" + output.substr(0, output.size() - waited.size());
    };
    auto expect = [&](const std::string& step, const std::vector<std::string>& argv, int rc,
                      const std::string& output) {
        CommandResult r = run(argv);
        INFO(step << ": " << r.describe());
        CHECK(exit_code(r) == rc);
        const bool cleanup = step == "cleanup" || step == "cleanup-op";
        if (cleanup && r.output != output)
            CHECK(r.output == early(output));
        else
            CHECK(r.output == output);
        after(step);
    };
    // The node-name query: crm_node -n, and crm_attribute -t rsc_defaults, which asks first.
    expect("node-name", {"crm_node", "-n"}, 0, node + "\n");
    expect("rsc_defaults", {"crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-v", "1"}, 0,
           "");
    expect("fail", {"crm_resource", "--fail", "-r", "d1", "-N", node}, 0, waited);
    expect("cleanup", {"crm_resource", "--cleanup", "-r", "d1"}, 0,
           "Cleaned up d1 on " + node + "\n" + waited);
    // Nothing left to clean: the tool says so and asks the controller nothing.
    expect("pcs-cleanup", {"pcs", "resource", "cleanup", "d1"}, 0, "Cleaned up d1 on " + node + "\n");
    expect("refresh", {"crm_resource", "--refresh"}, 0, waited);
    expect("nosuch", {"crm_resource", "--cleanup", "-r", "nosuch"}, 105,
           "crm_resource: Resource 'nosuch' not found\nError performing operation: No such object\n");
    // One operation's failures: another --fail, then a cleanup of asyncmon alone.
    expect("fail-again", {"crm_resource", "--fail", "-r", "d1", "-N", node}, 0, waited);
    expect("cleanup-op",
           {"crm_resource", "--cleanup", "-r", "d1", "--operation", "asyncmon", "--interval", "0"}, 0,
           "Cleaned up d1 on " + node + "\n" + waited);
}

}  // namespace

TEST_CASE(
    "crm_resource --fail/--cleanup/--refresh, pcs resource cleanup, crm_node -n and "
    "crm_attribute -t rsc_defaults, answered by outpost-controld as by Pacemaker's controller",
    "[controld][tools]")
{
    const auto begin = std::chrono::steady_clock::now();
    // First against a real cluster (its own hold of the cluster lock, released when it stops).
    {
        // d1's state file in a directory of the test's (outliving the cluster), not the host's
        // /run, where controld-guest-lxc checks that no Dummy-d1.state appears.
        TempDir real_dir("outpost-controld-tools-real");
        auto cluster = ClusterHarness::start();
        require_ok(cluster);
        ClusterHarness& c = **cluster;
        require_ok(c.pcs({"resource", "create", "d1", "ocf:pacemaker:Dummy",
                          "state=" + (real_dir.path() / "Dummy-d1.state").string(), "op", "monitor",
                          "interval=2s"}));
        auto settle = [&] {
            auto waited = c.tool({"crm_resource", "--wait", "--timeout", "60s"});
            require_ok(waited);
            require_ok(c.wait_for([](const CrmMon& mon) { return mon.resource_role("d1") == "Started"; },
                                  kConvergeTimeout, "d1 started"));
        };
        settle();
        run_tool_sequence(
            kClusterNode,
            [&](const std::vector<std::string>& argv) {
                auto r = c.tool(argv);
                require_ok(r);
                return *r;
            },
            [&](const std::string& step) {
                if (step == "fail" || step == "cleanup" || step == "refresh" || step == "fail-again" ||
                    step == "cleanup-op")
                    settle();
            });
    }
    const auto real_done = std::chrono::steady_clock::now();

    MachineGuard guard;
    TempDir dir("outpost-controld-tools");
    const Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    const fs::path envfile = dir / "d1.env";
    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    push_configuration(dir, configuration(counted_dummy("d1", envfile), location("d1", kHost)));
    auto running = [](const CrmMon& mon) {
        return mon.resource_role("d1") == "Started" && mon.has_operation("d1", kHost, "monitor", 2000);
    };
    require_eventually(daemon, running, kConvergeTimeout);
    auto status = [] { return tool({"cibadmin", "-Q", "-o", "status"}).output; };
    std::size_t log_from = 0;
    run_tool_sequence(kHost, tool, [&](const std::string& step) {
        if (step == "rsc_defaults") {
            CHECK(tool({"crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-G", "-q"})
                      .output == "1\n");
        } else if (step == "fail") {
            // A failed asyncmon and a fail count; the resource is recovered (a second start).
            CHECK(status().find("fail-count-d1#asyncmon_0") != std::string::npos);
            CHECK(status().find("Simulated failure") != std::string::npos);
            require_eventually(
                daemon, [&](const CrmMon& mon) { return running(mon) && starts_in(envfile) == 2; },
                kConvergeTimeout);
        } else if (step == "cleanup") {
            // History and fail counts go; the probe finds it running (no third start).
            require_eventually(daemon, running, kConvergeTimeout);
            const std::string after = status();
            CHECK(after.find("fail-count-d1") == std::string::npos);
            CHECK(after.find("asyncmon") == std::string::npos);
            CHECK(after.find("d1_monitor_0") != std::string::npos);
            log_from = daemon.log().size();
        } else if (step == "refresh") {
            require_eventually(daemon, running, kConvergeTimeout, log_from);
            CHECK(daemon.log().find("Reprobing " + std::string(kHost), log_from) != std::string::npos);
            CHECK(starts_in(envfile) == 2);
        } else if (step == "fail-again") {
            CHECK(status().find("fail-count-d1#asyncmon_0") != std::string::npos);
            require_eventually(
                daemon, [&](const CrmMon& mon) { return running(mon) && starts_in(envfile) == 3; },
                kConvergeTimeout);
        } else if (step == "cleanup-op") {
            require_eventually(daemon, running, kConvergeTimeout);
            const std::string after = status();
            CHECK(after.find("fail-count-d1") == std::string::npos);
            CHECK(after.find("asyncmon") == std::string::npos);
            CHECK(starts_in(envfile) == 3);
        }
    });
    CHECK(daemon.stop() == 0);
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    WARN("controld-tools: the real cluster " << ms(real_done - begin) << " ms, outpost-controld "
                                             << ms(std::chrono::steady_clock::now() - real_done) << " ms");
}

// --- a QEMU/TCG VM as guest node: the domain watch's event path --------------------------

namespace {

constexpr const char* kVmContainer = "vm-qemu1";
constexpr const char* kVmGuest = "qemuguest1";
constexpr unsigned kVmGuestHost = 13;  // 192.168.170.13 on the harness's bridge
// TCG boot to a listening agent: 6-13 s idle, over a minute on a loaded machine.
constexpr auto kVmConnectTimeout = 150s;

}  // namespace

// Waits (up to a minute) until the loop is idle: its last transition finished and nothing
// was initiated since.
void require_idle_loop(const Controld& daemon)
{
    auto idle = [&] {
        const std::string log = daemon.log();
        // The last "Transition <id> ..." line ("Transition wanted" is no transition).
        auto last = log.rfind("Transition ");
        while (last != std::string::npos && last > 0 &&
               (last + 11 >= log.size() || std::isdigit(static_cast<unsigned char>(log[last + 11])) == 0))
            last = log.rfind("Transition ", last - 1);
        if (last == std::string::npos || last == 0) return false;
        const std::string line = log.substr(last, log.find('\n', last) - last);
        const bool finished =
            line.find(" complete") != std::string::npos || line.find("nothing to do") != std::string::npos;
        const auto initiated = log.rfind("Initiating ");
        return finished && (initiated == std::string::npos || initiated < last);
    };
    const auto waited = std::chrono::steady_clock::now();
    while (!idle() && seconds_since(waited) < 60)
        std::this_thread::sleep_for(50ms);
    REQUIRE(idle());
}

// The domain watch's decision lines about `domain` of `rsc` after `from` (watch_line's, all).
std::vector<std::string> watch_lines(const std::string& log, std::size_t from, const std::string& domain,
                                     const std::string& rsc)
{
    std::vector<std::string> out;
    const std::string needle = "domain " + domain + " of " + rsc + " ";
    for (auto at = log.find(needle, from); at != std::string::npos; at = log.find(needle, at + 1))
        out.push_back(log.substr(at, log.find('\n', at) - at));
    return out;
}

// A destroyed VM sends no FIN: without the domain watch the loop learns of it from the
// container's monitor or the guest connection's timeout. With it, the libvirt event is
// recorded as the container's failure at once.
namespace {

// The same with either agent for the container (issue 14: ocf:outpost:guest too).
void controld_qemu_guest(ContainerAgentKind kind)
{
    const auto begin = std::chrono::steady_clock::now();
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    std::optional<OutpostGuestAgent> outpost_guest;
    if (kind == ContainerAgentKind::outpost_guest) outpost_guest.emplace();
    const char* agent_name =
        kind == ContainerAgentKind::outpost_guest ? "ocf:outpost:guest" : "VirtualDomain";
    auto k = kernel();
    require_ok(k);
    LibvirtOptions options;
    options.lxc = false;
    options.qemu = true;
    auto started = LibvirtHarness::start(options);
    require_ok(started);
    std::unique_ptr<LibvirtHarness> libvirt = std::move(*started);
    MachineGuard guard;
    TempDir dir("outpost-controld-qemu");
    // QEMU runs as libvirt-qemu: it must reach the kernel and initrd.
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    const std::string domain = std::string(kDomainPrefix) + "ctlvm1";

    InitramfsSpec spec;
    spec.kernel = *k;
    spec.daemon = agent;
    spec.env = {{"PCMK_logfile", "none"}, {"PCMK_stderr", "1"}};
    spec.address = bridge_address(kVmGuestHost);
    spec.authkey = key.path();
    spec.trees = {"/usr/lib/ocf", "/etc/passwd", "/etc/group"};
    spec.work_dir = made_directory(dir / "initrd-work");
    spec.output = dir / "initrd.gz";
    auto initrd = build_initramfs(spec);
    require_ok(initrd);
    const VmGuestSpec vm = vm_for_initramfs(domain, k->boot_image(), *initrd, dir / "console.log");
    const std::string xml = dir.write("vm1.xml", qemu_domain_xml(vm, libvirt->bridge()));
    libvirt->track_domain(kQemuUri, domain);
    WARN("libvirt set-up and initramfs: " << seconds_since(begin) << " s (" << libvirt->lock_wait_seconds()
                                          << " s waiting for the libvirt lock)");

    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    struct Teardown {
        Controld& daemon;
        fs::path console;
        ~Teardown()
        {
            if (!Catch::getResultCapture().lastAssertionPassed())
                (void)std::fprintf(stderr, "--- VM console ---\n%s\n--- outpost-controld's log ---\n%s\n",
                                   text_of(console).c_str(), daemon.log().c_str());
        }
    } teardown{daemon, vm.console_log};

    const std::string ia = std::string(kVmContainer) + "-ia";
    const std::string container =
        "<primitive id=\"" + std::string(kVmContainer) +
        (kind == ContainerAgentKind::outpost_guest
             ? "\" class=\"ocf\" provider=\"outpost\" type=\"guest\""
             : "\" class=\"ocf\" provider=\"heartbeat\" type=\"VirtualDomain\"") +
        "><instance_attributes id=\"" + ia + "\">" + nvpair(ia, "config", xml) +
        nvpair(ia, "hypervisor", kQemuUri) + nvpair(ia, "autoset_utilization_cpu", "false") +
        nvpair(ia, "autoset_utilization_hv_memory", "false") +
        nvpair(ia, "autoset_utilization_host_memory", "false") +
        "</instance_attributes><meta_attributes id=\"" + kVmContainer + "-meta\">" +
        nvpair(kVmContainer, "remote-node", kVmGuest) + nvpair(kVmContainer, "remote-addr", spec.address) +
        nvpair(kVmContainer, "remote-connect-timeout", std::to_string(kVmConnectTimeout.count()) + "s") +
        // A 30 s monitor: recovery must not wait for it.
        "</meta_attributes><operations><op id=\"" + kVmContainer +
        "-monitor\" name=\"monitor\" interval=\"30s\" timeout=\"30s\"/><op id=\"" + kVmContainer +
        "-start\" name=\"start\" interval=\"0\" timeout=\"90s\"/><op id=\"" + kVmContainer +
        "-stop\" name=\"stop\" interval=\"0\" timeout=\"60s\"/></operations></primitive>";
    push_configuration(
        dir, configuration(container + primitive("d1", "pacemaker"),
                           location("d1", kVmGuest) + "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" +
                               kHost + "\" score=\"-INFINITY\"/>"));
    auto converged = [&](const CrmMon& mon) {
        return mon.node_online(kVmGuest) &&
               mon.resource_nodes(kVmContainer) == std::vector<std::string>{kHost} &&
               !mon.resource_failed(kVmContainer) &&
               mon.resource_nodes("d1") == std::vector<std::string>{kVmGuest} &&
               mon.resource_role("d1") == "Started" && !mon.resource_failed("d1");
    };
    const auto configured = std::chrono::steady_clock::now();
    require_eventually(daemon, converged, kVmConnectTimeout + 30s);
    WARN("timing: configuration pushed -> VM booted, guest online, d1 started inside in "
         << seconds_since(configured) << " s");
    {
        const std::string log = daemon.log();
        INFO(log);
        REQUIRE(log.find("subscribed to the domain events of qemu:///system") != std::string::npos);
    }

    // From an idle loop: the plain case (one with an operation in flight on the guest comes
    // below).
    require_idle_loop(daemon);
    // The VM destroyed behind the cluster's back. virsh runs beside the test: libvirt
    // returns only once QEMU's process is reaped, and the recovery must not wait for that.
    const std::size_t log_from = daemon.log().size();
    const auto destroyed = std::chrono::steady_clock::now();
    Result<std::string> destroy_result = std::string();
    double virsh_s = 0;
    std::thread destroyer([&] {
        destroy_result = libvirt->virsh_checked(kQemuUri, {"destroy", domain});
        virsh_s = seconds_since(destroyed);
    });
    const auto first = first_action_after(daemon, log_from, destroyed, 60s);
    destroyer.join();
    require_ok(destroy_result);
    REQUIRE(first.has_value());
    WARN("timing (QEMU/TCG, " << agent_name << "): virsh destroy began -> first action (" << first->line
                              << ") in " << first->seconds << " s (virsh destroy returned after " << virsh_s
                              << " s)");
    // Held from the start of the destroy: the watch sees QEMU's process exit (30-80 ms after
    // libvirt's SIGTERM) through a pidfd, not libvirt's events, which wait for the reaping
    // (up to 2 s more on this machine, whose init reaps orphans late).
    {
        INFO(daemon.log().substr(log_from));
        CHECK(first->seconds * 1000 < static_cast<double>(kFirstActionTarget.count()));
    }
    {
        // The watch reported it (a destroyed VM's connection stays open: nothing else knew):
        // from the process's exit, or failing that from libvirt's shutdown or stopped event.
        const std::string log = daemon.log();
        const std::string seen = watch_line(log, log_from, domain, kVmContainer);
        INFO(log.substr(log_from));
        CHECK(seen.find(": reported the resource failed on " + std::string(kHost)) != std::string::npos);
        CHECK(seen.find(" exited (its process ") != std::string::npos);
        WARN("domain watch: " << seen);
        // Once: the events that follow find it reported (or the loop stopping it).
        CHECK(log.find("reported the resource failed", log.find(seen) + seen.size()) == std::string::npos);
    }
    require_eventually(daemon, converged, kVmConnectTimeout + 60s, log_from);
    WARN("timing: virsh destroy -> VM, guest and d1 back in " << seconds_since(destroyed) << " s");
    CHECK(libvirt->domain_running(kQemuUri, domain));
    {
        const std::string log = daemon.log();
        INFO(log.substr(log_from));
        // Recorded as crm_resource --fail records it; the guest "fenced" by recovering it.
        CHECK(appear_in_order(log,
                              {std::string("Initiating ") + kVmContainer + "_stop_0",
                               std::string("Guest node ") + kVmGuest + " is fenced",
                               std::string("Initiating ") + kVmContainer + "_start_0",
                               std::string("Initiating ") + kVmGuest + "_start_0", "Initiating d1_start_0"},
                              log_from));
        auto mon = crm_mon();
        REQUIRE(mon);
        CHECK(mon->fail_count(kVmContainer, kHost) >= 1);
    }

    // Powered off from inside: the ACPI power button (`virsh shutdown`); the guest's init
    // stops the agent, which asks to shut down (the node is drained), and powers the VM off.
    // libvirt sends "shutdown (guest)" when QEMU sees the power-off, then ends QEMU: the
    // watch reports the first sign, once, and the VM is recovered.
    require_idle_loop(daemon);
    {
        const std::size_t off_from = daemon.log().size();
        const auto pressed = std::chrono::steady_clock::now();
        require_ok(libvirt->virsh_checked(kQemuUri, {"shutdown", domain}));
        auto reported = [&] {
            for (const auto& line : watch_lines(daemon.log(), off_from, domain, kVmContainer))
                if (line.find("reported the resource failed") != std::string::npos) return line;
            return std::string();
        };
        while (reported().empty() && seconds_since(pressed) < 60)
            std::this_thread::sleep_for(20ms);
        const std::string line = reported();
        const double reported_s = seconds_since(pressed);
        INFO(daemon.log().substr(off_from));
        REQUIRE_FALSE(line.empty());
        CHECK((line.find(" shutdown (guest): ") != std::string::npos ||
               line.find(" exited (its process ") != std::string::npos));
        WARN("timing (QEMU/TCG): power button -> the watch's report in " << reported_s << " s: " << line);
        const auto back_from = daemon.log().find("reported the resource failed", off_from);
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                return daemon.log().find(std::string("Initiating ") + kVmContainer + "_start_0", back_from) !=
                           std::string::npos &&
                       converged(mon);
            },
            kVmConnectTimeout + 60s, off_from);
        WARN("timing (QEMU/TCG): power button -> VM, guest and d1 back in " << seconds_since(pressed)
                                                                            << " s");
        const std::string log = daemon.log();
        std::size_t reports = 0;
        for (const auto& l : watch_lines(log, off_from, domain, kVmContainer))
            if (l.find("reported the resource failed") != std::string::npos) ++reports;
        CHECK(reports == 1);
        CHECK(appear_in_order(
            log,
            {"reported the resource failed", std::string("Initiating ") + kVmContainer + "_stop_0",
             std::string("Initiating ") + kVmContainer + "_start_0",
             std::string("Initiating ") + kVmGuest + "_start_0", "Initiating d1_start_0"},
            off_from));
    }

    // Destroyed with an operation in flight on the guest (issue 14/12): d2's probe, a Dummy
    // whose every check sleeps kBusySleep (the host does not probe it). The dead VM never
    // answers and closes no connection; the watch's report makes the guest lost at once (its
    // connection closed, the probe failed as a dropped connection's operations are, rc 1
    // status 8), so the recovery starts without waiting for the probe, or for the
    // connection's monitor to time out.
    require_idle_loop(daemon);
    {
        constexpr int kBusySleep = 5;
        const std::string d2 =
            "<primitive id=\"d2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
            "<instance_attributes id=\"d2-ia\">" +
            nvpair("d2", "op_sleep", std::to_string(kBusySleep)) +
            "</instance_attributes><operations><op id=\"d2-monitor\" name=\"monitor\" interval=\"10s\" "
            "timeout=\"30s\"/></operations></primitive>";
        const std::string busy_constraints = location("d1", kVmGuest) +
                                             "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" + kHost +
                                             "\" score=\"-INFINITY\"/>" + location("d2", kVmGuest) +
                                             "<rsc_location id=\"avoid-d2\" rsc=\"d2\" node=\"" + kHost +
                                             "\" score=\"-INFINITY\" resource-discovery=\"never\"/>";
        const std::size_t busy_from = daemon.log().size();
        push_configuration(dir,
                           configuration(container + primitive("d1", "pacemaker") + d2, busy_constraints));
        const std::string probe = std::string("Initiating d2_monitor_0 on ") + kVmGuest;
        const auto pushed = std::chrono::steady_clock::now();
        while (daemon.log().find(probe, busy_from) == std::string::npos && seconds_since(pushed) < 30)
            std::this_thread::sleep_for(20ms);
        REQUIRE(daemon.log().find(probe, busy_from) != std::string::npos);
        std::this_thread::sleep_for(1s);  // the probe runs in the guest (kBusySleep s)
        const std::size_t busy_log = daemon.log().size();
        REQUIRE(daemon.log().find("Result of d2_monitor_0", busy_from) == std::string::npos);
        const auto killed = std::chrono::steady_clock::now();
        Result<std::string> killed_result = std::string();
        std::thread killer([&] { killed_result = libvirt->virsh_checked(kQemuUri, {"destroy", domain}); });
        const auto busy_first = first_action_after(daemon, busy_log, killed, 90s);
        killer.join();
        require_ok(killed_result);
        REQUIRE(busy_first.has_value());
        const std::string log = daemon.log();
        INFO(log.substr(busy_from));
        WARN("timing (QEMU/TCG, an operation in flight on the guest): virsh destroy began -> first action ("
             << busy_first->line << ") in " << busy_first->seconds << " s");
        CHECK(busy_first->seconds * 1000 < static_cast<double>(kFirstActionTarget.count()));
        // The recovery's, not d2's start: the probe failed with the connection.
        CHECK(busy_first->line.find("d2_") == std::string::npos);
        require_eventually(
            daemon,
            [&](const CrmMon& mon) {
                return converged(mon) && mon.resource_nodes("d2") == std::vector<std::string>{kVmGuest} &&
                       mon.resource_role("d2") == "Started";
            },
            kVmConnectTimeout + 60s, busy_log);
        WARN("timing: virsh destroy with d2's probe in flight -> VM, guest, d1 and d2 back in "
             << seconds_since(killed) << " s");
        {
            const std::string back = daemon.log();
            INFO(back.substr(busy_from));
            CHECK(appear_in_order(
                back,
                {std::string("recorded the failure of ") + kVmContainer + " on " + kHost,
                 std::string("Guest node ") + kVmGuest + " is lost: its container " + kVmContainer + " died",
                 std::string("Result of d2_monitor_0 on ") + kVmGuest + ": rc 1, status 8",
                 std::string("Initiating ") + kVmContainer + "_stop_0",
                 std::string("Guest node ") + kVmGuest + " is fenced",
                 std::string("Initiating ") + kVmContainer + "_start_0"},
                busy_log));
        }
        // Once, and nothing left for the real scheduler once it is back.
        std::size_t reports = 0;
        for (const auto& l : watch_lines(daemon.log(), busy_log, domain, kVmContainer))
            if (l.find("reported the resource failed") != std::string::npos) ++reports;
        CHECK(reports == 1);
        require_idle_loop(daemon);
        CHECK(pending_actions().empty());
    }

    // Crashed: QEMU's process SIGKILLed behind libvirt's back (issue 14, "crashed (SIGKILL of
    // its process)"). libvirt learns of it only once the process is reaped; the watch sees
    // the exit through its pidfd on the PID libvirt recorded.
    require_idle_loop(daemon);
    {
        const std::size_t crash_log = daemon.log().size();
        const std::string pid_text = text_of(fs::path("/run/libvirt/qemu") / (domain + ".pid"));
        INFO("libvirt's PID file for " << domain << ": " << pid_text);
        const long qemu = std::strtol(pid_text.c_str(), nullptr, 10);
        REQUIRE(qemu > 1);
        const auto killed = std::chrono::steady_clock::now();
        REQUIRE(::kill(static_cast<pid_t>(qemu), SIGKILL) == 0);  // our own test VM's QEMU
        const auto crash_first = first_action_after(daemon, crash_log, killed, 60s);
        REQUIRE(crash_first.has_value());
        WARN("timing (QEMU/TCG): SIGKILL of QEMU -> first action (" << crash_first->line << ") in "
                                                                    << crash_first->seconds << " s");
        CHECK(crash_first->seconds * 1000 < static_cast<double>(kFirstActionTarget.count()));
        require_eventually(daemon, converged, kVmConnectTimeout + 60s, crash_log);
        WARN("timing: SIGKILL of QEMU -> VM, guest and d1 back in " << seconds_since(killed) << " s");
        std::size_t reports = 0;
        for (const auto& l : watch_lines(daemon.log(), crash_log, domain, kVmContainer))
            if (l.find("reported the resource failed") != std::string::npos) ++reports;
        CHECK(reports == 1);
    }

    // Stopping it through the cluster is never reported: the watch sees the loop's stop.
    const std::size_t stop_from = daemon.log().size();
    push_configuration(
        dir, configuration(container + primitive("d1", "pacemaker"),
                           location("d1", kVmGuest) + "<rsc_location id=\"avoid-vm\" rsc=\"" + kVmContainer +
                               "\" node=\"" + kHost + "\" score=\"-INFINITY\"/>"));
    require_eventually(
        daemon, [&](const CrmMon& mon) { return mon.resource_nodes(kVmContainer).empty(); }, 90s, stop_from);
    std::this_thread::sleep_for(1s);
    {
        const std::string log = daemon.log();
        INFO(log.substr(stop_from));
        CHECK(log.find("reported the resource failed", stop_from) == std::string::npos);
    }
    CHECK(daemon.stop() == 0);
    require_ok(libvirt->stop());
    WARN("timing: whole test " << seconds_since(begin) << " s");
}

}  // namespace

TEST_CASE("outpost-controld recovers a destroyed QEMU VM guest node from the domain event",
          "[controld][guest-qemu-watch]")
{
    controld_qemu_guest(ContainerAgentKind::virtual_domain);
}

TEST_CASE("outpost-controld recovers a QEMU VM guest node under ocf:outpost:guest from the domain event",
          "[controld][guest-qemu-outpost]")
{
    controld_qemu_guest(ContainerAgentKind::outpost_guest);
}

// [attrd] (controld-attrd): the real attrd_updater and crm_attribute -l reboot against
// outpost-controld's attribute manager, answered as pacemaker-attrd 2.1.5 answers them
// (docs/architecture.md, "The attrd face"): an update is in the CIB at once (status-1-<name>),
// query of the local node and of all (-A), unset (-D: gone from the CIB, the query answers
// it empty), private (-p: never written), value++, crm_attribute -l reboot set/get/delete,
// a dampened update (-B -d 1s) in the CIB only after the delay, a fail count set through
// attrd seen by crm_failcount and cleared by crm_resource --cleanup, and a location rule on
// an attribute stopping a Dummy and starting it again once the attribute is unset.
namespace {

std::string status_section()
{
    return tool({"cibadmin", "-Q", "-o", "status"}).output;
}

void attrd_ok(const std::vector<std::string>& argv, const std::string& output = {})
{
    CommandResult r = tool(argv);
    INFO(r.describe());
    CHECK(r.succeeded());
    CHECK(r.output == output);
}

}  // namespace

TEST_CASE("attrd_updater and crm_attribute -l reboot against outpost-controld's attribute manager",
          "[controld][attrd]")
{
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    TempDir dir("outpost-controld-attrd");
    const Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    const fs::path envfile = dir / "d1.env";
    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    // d1 may not run where attribute "blocked" is 1.
    const std::string rule =
        R"(<rsc_location id="loc-d1-blocked" rsc="d1"><rule id="loc-d1-blocked-rule" score="-INFINITY">)"
        R"(<expression id="loc-d1-blocked-expr" attribute="blocked" operation="eq" value="1"/></rule>)"
        R"(</rsc_location>)";
    push_configuration(dir, configuration(counted_dummy("d1", envfile), location("d1", kHost) + rule));
    auto running = [](const CrmMon& mon) { return mon.resource_role("d1") == "Started"; };
    require_eventually(daemon, running, kConvergeTimeout);

    // Update: written at once, as pacemaker-attrd writes it.
    attrd_ok({"attrd_updater", "-n", "a1", "-U", "v1"});
    CHECK(status_section().find(R"(<nvpair id="status-1-a1" name="a1" value="v1"/>)") != std::string::npos);
    attrd_ok({"attrd_updater", "-n", "a1", "-Q"}, "name=\"a1\" host=\"host1\" value=\"v1\"\n");
    attrd_ok({"attrd_updater", "-n", "a1", "-U", "x", "-N", "othernode"});
    // The tool lists the reply's nodes last first (a real cluster's answer reads the same).
    attrd_ok({"attrd_updater", "-n", "a1", "-Q", "-A"},
             "name=\"a1\" host=\"othernode\" value=\"x\"\nname=\"a1\" host=\"host1\" value=\"v1\"\n");
    attrd_ok({"attrd_updater", "-n", "a1", "-Q", "-N", "othernode"},
             "name=\"a1\" host=\"othernode\" value=\"x\"\n");
    {
        CommandResult nope = tool({"attrd_updater", "-n", "nope", "-Q"});
        CHECK(WEXITSTATUS(nope.wait_status) == 78);
        CHECK(nope.output == "attrd_updater: Could not query value of nope: attribute does not exist\n");
    }
    // Unset: gone from the CIB, still known.
    attrd_ok({"attrd_updater", "-n", "a1", "-D"});
    CHECK(status_section().find("status-1-a1") == std::string::npos);
    attrd_ok({"attrd_updater", "-n", "a1", "-Q", "-N", "host1"}, "name=\"a1\" host=\"host1\" value=\"\"\n");
    // Private: answered, never written.
    attrd_ok({"attrd_updater", "-n", "p1", "-U", "secret", "-p"});
    attrd_ok({"attrd_updater", "-n", "p1", "-Q"}, "name=\"p1\" host=\"host1\" value=\"secret\"\n");
    CHECK(status_section().find("p1") == std::string::npos);
    // value++ and value+=N.
    attrd_ok({"attrd_updater", "-n", "c1", "-U", "value++"});
    attrd_ok({"attrd_updater", "-n", "c1", "-U", "value+=5"});
    attrd_ok({"attrd_updater", "-n", "c1", "-Q"}, "name=\"c1\" host=\"host1\" value=\"6\"\n");

    // crm_attribute -l reboot goes through attrd; -G reads the CIB.
    attrd_ok({"crm_attribute", "-l", "reboot", "-n", "r1", "-v", "rv"});
    attrd_ok({"crm_attribute", "-l", "reboot", "-n", "r1", "-G"}, "scope=status  name=r1 value=rv\n");
    attrd_ok({"crm_attribute", "-l", "reboot", "-n", "r1", "-D"});
    {
        CommandResult gone = tool({"crm_attribute", "-l", "reboot", "-n", "r1", "-G"});
        CHECK(WEXITSTATUS(gone.wait_status) == 105);
    }

    // Dampening: the value waits for the delay (1 s) before it reaches the CIB.
    const auto damp_start = std::chrono::steady_clock::now();
    attrd_ok({"attrd_updater", "-n", "d1", "-B", "5", "-d", "1s"});
    CHECK(status_section().find("status-1-d1") == std::string::npos);
    attrd_ok({"attrd_updater", "-n", "d1", "-Q"}, "name=\"d1\" host=\"host1\" value=\"5\"\n");
    REQUIRE(wait_until([] { return status_section().find(R"(name="d1" value="5")") != std::string::npos; },
                       5000ms, "the dampened d1 written")
                .ok());
    const auto damp_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - damp_start)
            .count();
    CHECK(damp_ms >= 1000);

    // A fail count set through attrd is the one crm_failcount reads and --cleanup clears.
    attrd_ok({"attrd_updater", "-n", "fail-count-d1#monitor_2000", "-U", "3"});
    attrd_ok({"crm_failcount", "-r", "d1", "-G", "-N", kHost, "-q"}, "3\n");
    {
        CommandResult cleanup = tool({"crm_resource", "--cleanup", "-r", "d1"});
        INFO(cleanup.describe());
        CHECK(cleanup.succeeded());
    }
    REQUIRE(wait_until([] { return status_section().find("fail-count-d1") == std::string::npos; }, 10000ms,
                       "the fail count cleared")
                .ok());

    // A location rule on an attribute: d1 stops where blocked=1, starts again when unset.
    require_eventually(daemon, running, kConvergeTimeout);
    const int starts = starts_in(envfile);
    attrd_ok({"attrd_updater", "-n", "blocked", "-U", "1"});
    require_eventually(
        daemon, [](const CrmMon& mon) { return mon.resource_role("d1") == "Stopped"; }, kConvergeTimeout);
    attrd_ok({"attrd_updater", "-n", "blocked", "-D"});
    require_eventually(daemon, running, kConvergeTimeout);
    CHECK(starts_in(envfile) == starts + 1);
    CHECK(daemon.stop() == 0);
    WARN("controld-attrd: dampened write after "
         << damp_ms << " ms; the test "
         << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin)
                .count()
         << " ms");
}

// [fence-topology] (controld-fence-topology): fencing beyond one device, through the
// stonith-ng face and the loop's fencing path (control/fence_plan.hpp), with
// tests/integration/fence_outpost_test on paper targets (no guests): a fencing-topology of
// two levels whose first device fails (tried twice, then the second level fences),
// pcmk_delay_base and stonith_admin --delay measured, an "on" (unfencing) never delayed,
// the static host list picking the one device that lists the target, and the levels
// managed and listed with pcs (pcs stonith level add/config/verify, through cibadmin) and
// changed in memory with stonith_admin --register-level/--deregister-level, and the host
// unfenced once (a device with provides=unfencing) before anything is probed.
namespace {

// The time fence.log noted `what` (e.g. "off t1 f-good"), nullopt when absent.
std::optional<double> noted(const std::string& log, const std::string& what)
{
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t space = line.find(' ');
        if (space != std::string::npos && line.substr(space + 1) == what)
            return std::stod(line.substr(0, space));
    }
    return std::nullopt;
}

std::size_t count_of(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

double epoch_now()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("outpost-controld fences through a topology, with delays, retries and host lists",
          "[controld][fence-topology]")
{
    const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
    INFO("meson sets OUTPOST_SOURCE_ROOT");
    REQUIRE_FALSE(source.empty());
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();

    TempDir dir("outpost-controld-fence-topology");
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    const fs::path fence_dir = made_directory(dir / "fence");
    const fs::path config = fence_dir / "targets";
    const fs::path fence_log = fence_dir / "fence.log";
    {
        std::ofstream out(config);
        out << "host_pid " << ::getpid() << "\nt1 - -\nt3 - -\nt4 - -\n" << kHost << " - -\n";
    }
    Controld daemon(dir, key->path(), made_directory(dir / "host-run").string());
    daemon.in_private_mounts(fence_agent_in_sbin(dir, source));
    daemon.start();

    auto device = [&](const std::string& id, const std::string& extra, const std::string& meta = {}) {
        return "<primitive id=\"" + id +
               "\" class=\"stonith\" type=\"fence_outpost_test\"><instance_attributes id=\"" + id + "-ia\">" +
               nvpair(id, "config", config.string()) + nvpair(id, "label", id) + extra +
               "</instance_attributes>" + meta + "</primitive>";
    };
    const std::string config_xml =
        "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">" +
        nvpair("opt", "stonith-enabled", "true") + nvpair("opt", "stonith-timeout", "20s") +
        "</cluster_property_set></crm_config><nodes><node id=\"1\" uname=\"" + std::string(kHost) +
        "\"/></nodes><resources>" +
        device("f-bad", nvpair("f-bad", "fail", "yes") + nvpair("f-bad", "pcmk_host_list", "t1 t3")) +
        device("f-good", nvpair("f-good", "pcmk_host_list", "t1")) +
        device("f-slow",
               nvpair("f-slow", "pcmk_host_list", "t3") + nvpair("f-slow", "pcmk_delay_base", "1s")) +
        device("f-four", nvpair("f-four", "pcmk_host_list", "t4 " + std::string(kHost)),
               "<meta_attributes id=\"f-four-meta\">" + nvpair("f-four", "provides", "unfencing") +
                   "</meta_attributes>") +
        "</resources><constraints/><fencing-topology>"
        "<fencing-level id=\"fl-t1-1\" target=\"t1\" index=\"1\" devices=\"f-bad\"/>"
        "<fencing-level id=\"fl-t1-2\" target=\"t1\" index=\"2\" devices=\"f-good\"/>"
        "</fencing-topology></configuration>";
    push_configuration(dir, config_xml);
    auto started = [](const CrmMon& mon) {
        for (const char* id : {"f-bad", "f-good", "f-slow", "f-four"})
            if (mon.resource_role(id) != "Started") return false;
        return true;
    };
    require_eventually(daemon, started, kConvergeTimeout);
    const std::size_t log_from = daemon.log().size();
    // Unfencing: f-four provides it, so the host is unfenced ("on", by f-four before its own
    // start) before any probe, and recorded (#node-unfenced), once.
    auto unfenced_host = [&] {
        return count_of(text_of(fence_log), " on " + std::string(kHost) + " f-four\n");
    };
    {
        INFO(text_of(fence_log) << daemon.log());
        CHECK(unfenced_host() == 1);
        CHECK(tool({"cibadmin", "-Q", "-o", "status", "--xpath",
                    "//node_state[@uname='" + std::string(kHost) + "']//nvpair[@name='#node-unfenced']"})
                  .succeeded());
        CHECK(tool({"stonith_admin", "--history", kHost})
                  .output.find("unfencing of " + std::string(kHost) + " successful") != std::string::npos);
    }
    CHECK(tool({"stonith_admin", "--list-registered"}).output ==
          "f-bad\nf-good\nf-slow\nf-four\n4 fence devices found\n");
    CHECK(tool({"stonith_admin", "--list", "t1"}).output == "f-bad\nf-good\n2 fence devices found\n");
    CHECK(tool({"stonith_admin", "--list", "t4"}).output == "f-four\n1 fence device found\n");

    // t1: level 1 (f-bad) fails twice (pcmk_off_retries' default), a second apart; level 2
    // (f-good) fences it.
    {
        const auto from = std::chrono::steady_clock::now();
        const CommandResult fenced = tool({"stonith_admin", "--fence", "t1"});
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
        const std::string log = text_of(fence_log);
        INFO(fenced.describe() << log << daemon.log().substr(log_from));
        CHECK(fenced.succeeded());
        CHECK(count_of(log, " fail-off t1 f-bad\n") == 2);
        CHECK(count_of(log, " off t1 f-good\n") == 1);
        const auto good = noted(log, "off t1 f-good");
        REQUIRE(good);
        CHECK(*good > *noted(log, "fail-off t1 f-bad") + 1.0);
        CHECK(took < 5.0);
        WARN("timing: the two-level fencing of t1 took " << took << " s");
        const std::string history = tool({"stonith_admin", "--history", "t1"}).output;
        CHECK(history.find("turning off of t1 successful: delegate=" + std::string(kHost)) !=
              std::string::npos);
    }
    // t4: no topology; the static host lists leave only f-four (f-bad, first, is not run).
    {
        const std::size_t before = text_of(fence_log).size();
        const CommandResult fenced = tool({"stonith_admin", "--reboot", "t4"});
        const std::string log = text_of(fence_log).substr(before);
        INFO(fenced.describe() << log);
        CHECK(fenced.succeeded());
        CHECK(log.find(" off t4 f-four\n") != std::string::npos);
        CHECK(log.find(" on t4 f-four\n") != std::string::npos);
        CHECK(log.find("f-bad") == std::string::npos);
    }
    // t3: f-bad fails (twice), then f-slow after its pcmk_delay_base of 1 s; the
    // requested --delay 1 comes on top, before the first device only.
    {
        const std::size_t before = text_of(fence_log).size();
        const double asked = epoch_now();
        const CommandResult fenced = tool({"stonith_admin", "--fence", "t3", "--delay", "1"});
        const std::string log = text_of(fence_log).substr(before);
        INFO(fenced.describe() << log << daemon.log().substr(log_from));
        CHECK(fenced.succeeded());
        const auto first = noted(log, "fail-off t3 f-bad");
        const auto slow = noted(log, "off t3 f-slow");
        REQUIRE(first);
        REQUIRE(slow);
        CHECK(*first - asked >= 1.0);  // --delay 1 before f-bad
        CHECK(*first - asked < 2.5);
        CHECK(*slow - *first >= 2.0);  // f-bad's second try a second later, then 1 s of delay
        WARN("timing: --delay 1 made the first device wait "
             << *first - asked << " s; f-slow ran " << *slow - *first << " s after f-bad's first try");
    }
    // Unfencing (on) is never delayed.
    {
        const std::size_t before = text_of(fence_log).size();
        const auto from = std::chrono::steady_clock::now();
        const CommandResult unfenced = tool({"stonith_admin", "--unfence", "t4"});
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
        INFO(unfenced.describe());
        CHECK(unfenced.succeeded());
        CHECK(text_of(fence_log).substr(before).find(" on t4 f-four\n") != std::string::npos);
        CHECK(took < 1.0);
    }
    // Levels through the IPC: stonith_admin --register-level / --deregister-level change the
    // levels the fencer holds in memory, not the CIB (as pacemaker-fenced 2.1.5 does).
    {
        const auto from = std::chrono::steady_clock::now();
        const std::string cib_levels = tool({"cibadmin", "-Q", "-o", "fencing-topology"}).output;
        CHECK(tool({"stonith_admin", "--deregister-level", "t1", "--index", "2"}).succeeded());
        std::size_t before = text_of(fence_log).size();
        const CommandResult failed = tool({"stonith_admin", "--fence", "t1"});
        std::string log = text_of(fence_log).substr(before);
        INFO(failed.describe() << log << daemon.log().substr(log_from));
        CHECK_FALSE(failed.succeeded());  // only level 1 (f-bad) is left
        CHECK(log.find("f-good") == std::string::npos);
        CHECK(tool({"stonith_admin", "--register-level", "t1", "--index", "1", "--device", "f-good"})
                  .succeeded());
        before = text_of(fence_log).size();
        const CommandResult fenced = tool({"stonith_admin", "--fence", "t1"});
        log = text_of(fence_log).substr(before);
        INFO(fenced.describe() << log);
        CHECK(fenced.succeeded());
        CHECK(log.find(" off t1 f-good\n") != std::string::npos);
        CHECK(log.find("f-bad") == std::string::npos);
        const CommandResult bad = tool({"stonith_admin", "-r", "t1", "-i", "10", "-v", "f-good"});
        INFO(bad.describe());
        CHECK(WEXITSTATUS(bad.wait_status) == 70);  // as stonith_admin against pacemaker-fenced
        CHECK(bad.output.find("Can't register topology level 10 for t1: Invalid argument") !=
              std::string::npos);
        CHECK(tool({"cibadmin", "-Q", "-o", "fencing-topology"}).output == cib_levels);
        WARN("timing: the levels through the IPC took "
             << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count() << " s");
    }
    // The levels with pcs, through the CIB tools, as against Pacemaker.
    {
        CommandResult added = tool({"pcs", "stonith", "level", "add", "3", "t1", "f-four", "--force"});
        INFO(added.describe());
        CHECK(added.succeeded());
        // The CIB's topology changed: its levels 1 and 2 of t1 win again over those changed
        // through the IPC above (as pacemaker-fenced registers the CIB's levels anew,
        // observed): f-bad is tried first again, then f-good.
        const std::size_t before = text_of(fence_log).size();
        CHECK(tool({"stonith_admin", "--fence", "t1"}).succeeded());
        const std::string log = text_of(fence_log).substr(before);
        INFO(log);
        CHECK(log.find(" fail-off t1 f-bad\n") != std::string::npos);
        CHECK(log.find(" off t1 f-good\n") != std::string::npos);
        CHECK_FALSE(tool({"pcs", "stonith", "level", "add", "4", kHost, "nosuch"}).succeeded());
        CHECK(tool({"pcs", "stonith", "level", "add", "1", kHost, "f-four"}).succeeded());
        const std::string levels = tool({"pcs", "stonith", "level"}).output;
        CHECK(levels == "Target: " + std::string(kHost) +
                            "\n  Level 1 - f-four\nTarget: t1\n  Level 1 - f-bad\n  Level 2 - f-good\n"
                            "  Level 3 - f-four\n");
        const CommandResult verified = tool({"pcs", "stonith", "level", "verify"});
        CHECK_FALSE(verified.succeeded());
        CHECK(verified.output.find("Error: Node 't1' does not appear to exist in configuration") !=
              std::string::npos);
        CHECK(tool({"pcs", "stonith", "level", "clear", "t1"}).succeeded());
        CHECK(tool({"pcs", "stonith", "level", "verify"}).succeeded());
    }
    CHECK(unfenced_host() == 1);  // never again
    // A changed parameter of f-four (its label): the host is unfenced again and its digests
    // recorded anew (as pacemaker-controld 2.1.5 records them: #node-unfenced, #digests-all,
    // #digests-secure, observed on a real cluster), once.
    {
        const std::string xpath =
            "//node_state[@uname='" + std::string(kHost) + "']//nvpair[@name='#digests-all']";
        const auto from = std::chrono::steady_clock::now();
        const std::string digests_before = tool({"cibadmin", "-Q", "-o", "status", "--xpath", xpath}).output;
        CHECK(tool({"crm_resource", "--resource", "f-four", "--set-parameter", "label", "--parameter-value",
                    "f-four-b"})
                  .succeeded());
        const std::string again = " on " + std::string(kHost) + " f-four-b\n";
        auto unfenced = wait_until([&] { return count_of(text_of(fence_log), again) == 1; }, kConvergeTimeout,
                                   "the host unfenced again");
        INFO((unfenced ? std::string() : unfenced.error().message)
             << text_of(fence_log) << daemon.log().substr(log_from));
        CHECK(unfenced.ok());
        auto recorded = wait_until(
            [&] {
                const std::string now = tool({"cibadmin", "-Q", "-o", "status", "--xpath", xpath}).output;
                return !now.empty() && now != digests_before;
            },
            kConvergeTimeout, "the new digests recorded");
        CHECK(recorded.ok());
        require_eventually(daemon, started, kConvergeTimeout);
        CHECK(count_of(text_of(fence_log), again) == 1);
        WARN("timing: unfenced again and the devices back "
             << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
             << " s after the parameter changed");
    }
    CHECK(daemon.stop() == 0);
    WARN("controld-fence-topology: the test took "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// --- the remote nodes' proxied crmd and stonith-ng sessions ------------------------------

// [proxied-tools] (controld-proxied-tools, issue 12): inside a remote node (a namespace
// running outpost-agent, and one running the real pacemaker-remoted 2.1.5 when there is
// one) the real tools reach outpost-controld's crmd and stonith-ng faces through the node's
// IPC proxy. What they print is what they print inside a remote node g1 of a real 2.1.5
// cluster of node1 (observed by hand with a Dummy d1 on g1): crm_node -n "g1"; crm_node -N 1
// "node1"; crm_node -N 7 "Node is not known to cluster", exit 68; stonith_admin
// --list-registered "0 fence devices found", --history '*' "0 events found";
// crm_resource --fail "Waiting for 1 reply from the controller\n... got reply (done)", exit 0,
// but the controller refuses it ("Unprivileged user cannot fail resources": nothing fails);
// crm_resource --cleanup of a failure recorded from the cluster node "Cleaned up d1 on g1"
// ... then the wait for the controller's reply, and the failure is gone; crm_resource
// --refresh waits for one reply; crm_mon -1 -m shows the nodes and resources and no fencing
// error.
namespace {

void proxied_tools_work(const Controld& daemon, GuestDaemon& node, const std::string& name,
                        const std::string& rsc)
{
    INFO("remote node " << name);
    auto in_node = [&](const std::vector<std::string>& argv) {
        std::vector<std::string> command = node.netns().exec_prefix();
        command.insert(command.end(), argv.begin(), argv.end());
        return tool(command);
    };
    const std::string waited = "Waiting for 1 reply from the controller\n... got reply (done)\n";
    auto expect = [&](const std::vector<std::string>& argv, int rc, const std::string& output) {
        const std::size_t log_from = daemon.log().size();
        CommandResult r = in_node(argv);
        INFO(r.describe() << "\noutpost-controld's log:\n" << daemon.log().substr(log_from));
        CHECK(exit_code(r) == rc);
        CHECK(r.output == output);
        return r;
    };
    expect({"crm_node", "-n"}, 0, name + "\n");
    expect({"crm_node", "-N", "1"}, 0, std::string(kHost) + "\n");
    expect({"crm_node", "-N", "7"}, 68, "Node is not known to cluster\n");
    expect({"stonith_admin", "--list-registered"}, 0, "0 fence devices found\n");
    expect({"stonith_admin", "--history", "*"}, 0, "0 events found\n");
    {
        CommandResult mon = in_node({"crm_mon", "-1", "-m"});
        INFO(mon.describe());
        CHECK(exit_code(mon) == 0);
        CHECK(mon.output.find("RemoteOnline: [ ") != std::string::npos);
        CHECK(mon.output.find("Active Resources:") != std::string::npos);
        CHECK(mon.output.find("encing") == std::string::npos);  // no fencing history error
    }
    if (rsc.empty()) return;
    auto status = [] { return tool({"cibadmin", "-Q", "-o", "status"}).output; };
    {
        // Refused, as by Pacemaker's controller: the tool waits for its reply, nothing fails.
        const std::size_t log_from = daemon.log().size();
        expect({"crm_resource", "--fail", "-r", rsc, "-N", name}, 0, waited);
        CHECK(daemon.log().find("Refusing to fail " + rsc + " on " + name, log_from) != std::string::npos);
        CHECK(status().find("fail-count-" + rsc) == std::string::npos);
    }
    // A failure recorded from the host, cleaned up from inside the node.
    REQUIRE(tool({"crm_resource", "--fail", "-r", rsc, "-N", name}).succeeded());
    require_eventually(
        daemon,
        [&](const CrmMon& mon) {
            return mon.failed_actions(rsc) > 0 && mon.resource_role(rsc) == "Started" &&
                   mon.has_operation(rsc, name, "monitor", 2000);
        },
        kConvergeTimeout);
    {
        CommandResult r = in_node({"crm_resource", "--cleanup", "-r", rsc});
        INFO(r.describe() << "\noutpost-controld's log:\n" << daemon.log());
        CHECK(exit_code(r) == 0);
        CHECK(r.output.starts_with("Cleaned up " + rsc + " on " + name + "\n"));
        CHECK(r.output.ends_with(waited));
        require_eventually(
            daemon, [&](const CrmMon& mon) { return mon.failed_actions(rsc) == 0; }, kConvergeTimeout);
        CHECK(status().find("fail-count-" + rsc) == std::string::npos);
    }
    {
        // As under Pacemaker, a refresh naming no node reprobes the controller's node.
        const std::size_t log_from = daemon.log().size();
        expect({"crm_resource", "--refresh"}, 0, waited);
        CHECK(daemon.log().find("Reprobing " + std::string(kHost), log_from) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("crm_node, crm_resource, stonith_admin and crm_mon inside remote nodes, through outpost-controld",
          "[controld][proxied-tools]")
{
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    TempDir dir("outpost-controld-proxied");
    const Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    struct Node {
        std::string name;
        std::unique_ptr<GuestDaemon> daemon;
    };
    std::vector<Node> nodes;
    auto add_node = [&](const std::string& name, const std::string& binary) {
        GuestDaemonOptions options;
        options.binary = binary;
        const std::string run = made_directory(dir / (name + "-run")).string();
        options.env = {
            {"PCMK_authkey_location", key.path().string()}, {"HA_VARRUN", run}, {"HA_RSCTMP", run}};
        auto started = GuestDaemon::start(options);
        require_ok(started);
        nodes.push_back({name, std::move(*started)});
    };
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    add_node("g1", agent);
    if (auto remoted = remoted_path()) {
        add_node("r1", *remoted);
    } else {
        WARN("pacemaker-remoted not available, its remote node is left out: " << remoted.error().message);
    }
    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    std::string resources;
    for (const auto& node : nodes)
        resources += remote(node.name, node.daemon->address());
    push_configuration(
        dir, configuration(resources + counted_dummy("d1", dir / "d1.env"),
                           location("d1", "g1") + "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" + kHost +
                               "\" score=\"-INFINITY\"/>"));
    require_eventually(
        daemon,
        [&](const CrmMon& mon) {
            for (const auto& node : nodes)
                if (!mon.node_online(node.name)) return false;
            return mon.resource_nodes("d1") == std::vector<std::string>{"g1"} &&
                   mon.has_operation("d1", "g1", "monitor", 2000);
        },
        kConvergeTimeout);
    const auto up = std::chrono::steady_clock::now();
    proxied_tools_work(daemon, *nodes[0].daemon, "g1", "d1");
    if (nodes.size() > 1) proxied_tools_work(daemon, *nodes[1].daemon, "r1", "");
    CHECK(daemon.stop() == 0);
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    WARN("controld-proxied-tools: up in " << ms(up - begin) << " ms, the tools in "
                                          << ms(std::chrono::steady_clock::now() - up) << " ms");
}

// [pending] (controld-pending): what 2.1.5's controller records besides results, against
// one host and ocf:pacemaker:Dummy (observed on a real 2.1.5 cluster on 2026-12-07): an
// operation in flight recorded pending (rc-code 193, op-status -1, call-id -1) until its
// result replaces it, so crm_mon shows "Starting"; a kill -9 while the start is pending
// in the CIB file, after which the restarted daemon takes the pending record for no result
// (it waits for the start, probes, starts nothing twice); the meta-data digests
// (op-force-restart "  state  ", op-secure-params "  passwd  ") by which a change of a
// reloadable parameter is a reload-agent and a change of `state` a restart; and a private
// attribute (attrd_updater -p) kept across the kill.
namespace {

// The lrm_rsc_op element with id `id` in `xml`, "" when none.
std::string op_element(const std::string& xml, const std::string& id)
{
    const std::size_t at = xml.find("<lrm_rsc_op id=\"" + id + "\"");
    if (at == std::string::npos) return {};
    return xml.substr(at, xml.find('>', at) - at + 1);
}

// The node_state of node `uname` in `xml`, "" when none.
std::string node_status(const std::string& xml, const std::string& uname)
{
    std::size_t at = xml.find("<node_state ");
    while (at != std::string::npos) {
        const std::size_t end = xml.find("</node_state>", at);
        std::string state = xml.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (state.substr(0, state.find('>')).find(" uname=\"" + uname + "\"") != std::string::npos)
            return state;
        at = xml.find("<node_state ", at + 1);
    }
    return {};
}

std::string op_field(const std::string& op, const std::string& name)
{
    const std::size_t at = op.find(" " + name + "=\"");
    if (at == std::string::npos) return {};
    const std::size_t from = at + name.size() + 3;
    return op.substr(from, op.find('"', from) - from);
}

// Waits until d1_last_0 in `source` (the live status, or the CIB file) is `operation`
// pending; the element.
std::string pending_op(const std::function<std::string()>& source, const std::string& operation)
{
    std::string op;
    const bool seen =
        wait_until(
            [&] {
                op = op_element(source(), "d1_last_0");
                return op_field(op, "operation") == operation && op_field(op, "op-status") == "-1";
            },
            10000ms, "d1 " + operation + " pending")
            .ok();
    INFO(op);
    REQUIRE(seen);
    return op;
}

}  // namespace

TEST_CASE("outpost-controld records pending operations and meta-data digests as 2.1.5 does",
          "[controld][pending]")
{
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    TempDir dir("outpost-controld-pending");
    const Authkey key = created_key(dir);
    const fs::path host_run = made_directory(dir / "host-run");
    const fs::path envfile = dir / "d1.env";
    Controld daemon(dir, key.path(), host_run.string());
    daemon.start();
    // Every action of d1 sleeps 3 s at first, so each is seen in flight.
    const std::string d1 =
        "<primitive id=\"d1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><instance_attributes "
        "id=\"d1-ia\">" +
        nvpair("d1", "envfile", envfile.string()) + nvpair("d1", "op_sleep", "3") +
        nvpair("d1", "fake", "a") +
        "</instance_attributes><operations><op id=\"d1-monitor\" name=\"monitor\" interval=\"10s\" "
        "timeout=\"20s\"/></operations></primitive>";
    push_configuration(dir, configuration(d1, location("d1", kHost)));

    // The probe, then the start, in flight: recorded pending with the fields 2.1.5 writes.
    const std::string probe = pending_op(status_section, "monitor");
    INFO(probe);
    CHECK(op_field(probe, "operation_key") == "d1_monitor_0");
    CHECK(op_field(probe, "rc-code") == "193");
    CHECK(op_field(probe, "call-id") == "-1");
    CHECK(op_field(probe, "exec-time") == "0");
    CHECK(op_field(probe, "transition-magic").rfind("-1:193;", 0) == 0);
    CHECK(op_field(probe, "op-force-restart") == "  state  ");
    CHECK(op_field(probe, "op-secure-params") == "  passwd  ");
    CHECK(op_field(probe, "op-secure-digest") == op_field(probe, "op-digest"));
    CHECK(status_section().find("d1_last_failure_0") == std::string::npos);  // pending is no failure
    pending_op(status_section, "start");
    {
        CommandResult mon = tool({"crm_mon", "-1"});
        INFO(mon.output);
        CHECK(mon.output.find("d1\t(ocf:pacemaker:Dummy):\t Starting host1") != std::string::npos);
    }
    // A private attribute, to be kept across the kill.
    attrd_ok({"attrd_updater", "-p", "-n", "p1", "-U", "secret"});

    // Killed once the pending start is in the CIB file.
    const fs::path cib_file = dir / "state" / "cib.xml";
    pending_op([&] { return text_of(cib_file); }, "start");
    daemon.kill();
    std::size_t log_from = daemon.log().size();
    daemon.start();
    auto monitored = [](const CrmMon& mon) {
        return mon.resource_role("d1") == "Started" && mon.has_operation("d1", kHost, "monitor", 10000);
    };
    require_eventually(daemon, monitored, kConvergeTimeout, log_from);
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(log.find("Initiating d1_start_0") == std::string::npos);
        CHECK(starts_in(envfile) == 1);
        const std::string status = status_section();
        INFO(status);
        CHECK(status.find("op-status=\"-1\"") == std::string::npos);
        CHECK(op_field(op_element(status, "d1_monitor_10000"), "op-secure-params") == "  passwd  ");
        CHECK(op_element(status, "d1_monitor_10000").find("op-force-restart") == std::string::npos);
        CHECK(pending_actions().empty());
    }
    attrd_ok({"attrd_updater", "-n", "p1", "-Q"}, "name=\"p1\" host=\"host1\" value=\"secret\"\n");
    CHECK(status_section().find("p1") == std::string::npos);

    // A reloadable parameter changes: reload-agent (recorded as the start), the monitor
    // rescheduled; no stop, no start.
    const std::string before = op_element(status_section(), "d1_last_0");
    log_from = daemon.log().size();
    REQUIRE(tool({"crm_resource", "-r", "d1", "-p", "op_sleep", "-v", "0"}).succeeded());
    REQUIRE(wait_until(
                [&] {
                    const std::string op = op_element(status_section(), "d1_last_0");
                    return op_field(op, "operation") == "start" && op_field(op, "op-status") == "0" &&
                           op_field(op, "op-digest") != op_field(before, "op-digest");
                },
                10000ms, "d1 reloaded")
                .ok());
    REQUIRE(
        wait_until(
            [&] { return daemon.log().find("Result of d1_monitor_10000", log_from) != std::string::npos; },
            10000ms, "d1's monitor rescheduled")
            .ok());
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(appear_in_order(log, {"Initiating d1_reload-agent_0", "Initiating d1_monitor_10000"}));
        CHECK(log.find("Initiating d1_stop_0") == std::string::npos);
        CHECK(log.find("Initiating d1_start_0") == std::string::npos);
        CHECK(starts_in(envfile) == 1);
        CHECK(text_of(envfile).find("### reload-agent @") != std::string::npos);
        const std::string op = op_element(status_section(), "d1_last_0");
        INFO(op);
        CHECK(op_field(op, "operation_key") == "d1_start_0");
        CHECK(op_field(op, "op-restart-digest") == op_field(before, "op-restart-digest"));
    }

    // `state` (not reloadable) changes: a restart.
    log_from = daemon.log().size();
    REQUIRE(tool({"crm_resource", "-r", "d1", "-p", "state", "-v", (host_run / "d1-new.state").string()})
                .succeeded());
    require_eventually(
        daemon, [&](const CrmMon& mon) { return monitored(mon) && starts_in(envfile) == 2; },
        kConvergeTimeout, log_from);
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(appear_in_order(log, {"Initiating d1_stop_0", "Initiating d1_start_0"}));
        CHECK(log.find("reload-agent") == std::string::npos);
        CHECK(op_field(op_element(status_section(), "d1_last_0"), "op-restart-digest") !=
              op_field(before, "op-restart-digest"));
        CHECK(pending_actions().empty());
    }
    CHECK(daemon.stop() == 0);
    WARN("controld-pending: the test "
         << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin)
                .count()
         << " ms");
}

// The same on a remote node (controld-pending runs both): a start in flight there is
// recorded pending in the node's status (carried by the host, on_node), and the
// connection's reconnect_interval (reloadable in ocf:pacemaker:remote's meta-data, whose
// records carry op-force-restart "  port server  ") changed is a reload-agent of the
// connection: no stop, the node stays online, its resource untouched.
TEST_CASE("outpost-controld records a remote node's pending start and reloads its connection",
          "[controld][pending]")
{
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    INFO("meson sets OUTPOST_AGENT");
    REQUIRE_FALSE(agent.empty());
    MachineGuard guard;
    const auto begin = std::chrono::steady_clock::now();
    TempDir dir("outpost-controld-pending-remote");
    const Authkey key = created_key(dir);
    const fs::path g1_run = made_directory(dir / "g1-run");
    GuestDaemonOptions options;
    options.binary = agent;
    options.env = {{"PCMK_authkey_location", key.path().string()},
                   {"HA_VARRUN", g1_run.string()},
                   {"HA_RSCTMP", g1_run.string()}};
    auto started = GuestDaemon::start(options);
    require_ok(started);
    Controld daemon(dir, key.path(), made_directory(dir / "host-run").string());
    daemon.start();
    const fs::path envfile = dir / "d1.env";
    const std::string d1 =
        "<primitive id=\"d1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><instance_attributes "
        "id=\"d1-ia\">" +
        nvpair("d1", "envfile", envfile.string()) + nvpair("d1", "op_sleep", "2") +
        "</instance_attributes><operations><op id=\"d1-monitor\" name=\"monitor\" interval=\"10s\" "
        "timeout=\"20s\"/></operations></primitive>";
    push_configuration(
        dir, configuration(remote("g1", (*started)->address(), nvpair("g1", "reconnect_interval", "8s")) + d1,
                           location("d1", "g1") + "<rsc_location id=\"avoid-d1\" rsc=\"d1\" node=\"" + kHost +
                               "\" score=\"-INFINITY\"/>"));
    const std::string pending = pending_op([] { return node_status(status_section(), "g1"); }, "start");
    INFO(pending);
    CHECK(op_field(pending, "on_node") == kHost);
    CHECK(op_field(pending, "rc-code") == "193");
    {
        CommandResult mon = tool({"crm_mon", "-1"});
        INFO(mon.output);
        CHECK(mon.output.find("d1\t(ocf:pacemaker:Dummy):\t Starting g1") != std::string::npos);
    }
    auto monitored = [](const CrmMon& mon) {
        return mon.node_online("g1") && mon.resource_role("d1") == "Started" &&
               mon.has_operation("d1", "g1", "monitor", 10000);
    };
    require_eventually(daemon, monitored, kConvergeTimeout);
    const std::string connection = op_element(status_section(), "g1_last_0");
    CHECK(op_field(connection, "op-force-restart") == "  port server  ");

    const std::size_t log_from = daemon.log().size();
    REQUIRE(tool({"crm_resource", "-r", "g1", "-p", "reconnect_interval", "-v", "9s"}).succeeded());
    REQUIRE(wait_until(
                [&] {
                    const std::string op = op_element(status_section(), "g1_last_0");
                    return op_field(op, "operation") == "start" &&
                           op_field(op, "op-digest") != op_field(connection, "op-digest");
                },
                10000ms, "g1 reloaded")
                .ok());
    require_eventually(daemon, monitored, kConvergeTimeout, log_from);
    {
        const std::string log = daemon.log().substr(log_from);
        INFO(log);
        CHECK(log.find("Initiating g1_reload-agent_0") != std::string::npos);
        CHECK(log.find("Initiating g1_stop_0") == std::string::npos);
        CHECK(log.find("Initiating d1_") == std::string::npos);
        CHECK(starts_in(envfile) == 1);
        CHECK(op_field(op_element(status_section(), "g1_last_0"), "op-restart-digest") ==
              op_field(connection, "op-restart-digest"));
        CHECK(pending_actions().empty());
    }
    CHECK(daemon.stop() == 0);
    WARN("controld-pending (remote): the test "
         << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin)
                .count()
         << " ms");
}
