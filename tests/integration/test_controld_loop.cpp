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
//     (fail-count, failed action) and recovered in place; a resource with
//     migration-threshold=1 moves to the other guest after one failure and back once the
//     failure expired (failure-timeout: the loop wakes up for it); nothing to do afterwards
//   - a restart of the daemon: what runs is found by probes, nothing is started again
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"

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

std::string remote(const std::string& id, const std::string& address)
{
    return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">" +
           "<instance_attributes id=\"" + id + "-ia\"><nvpair id=\"" + id +
           "-server\" name=\"server\" value=\"" + address + "\"/></instance_attributes>" +
           "<operations><op id=\"" + id +
           "-monitor\" name=\"monitor\" interval=\"5s\" timeout=\"15s\"/></operations></primitive>";
}

std::string location(const std::string& rsc, const std::string& node, const std::string& score = "INFINITY")
{
    return "<rsc_location id=\"loc-" + rsc + "\" rsc=\"" + rsc + "\" node=\"" + node + "\" score=\"" + score +
           "\"/>";
}

}  // namespace

TEST_CASE("outpost-controld starts, monitors and recovers resources on remote nodes and the host",
          "[controld][loop]")
{
    const std::string controld = env_or_empty("OUTPOST_CONTROLD");
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    INFO("meson sets OUTPOST_CONTROLD and OUTPOST_AGENT");
    REQUIRE_FALSE(controld.empty());
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

    SpawnOptions spawn;
    const std::string cib = dir.file("state/cib.xml");
    const std::string host_run = run_dir(kHost).string();
    spawn.argv = {controld, "--cib-file", cib, "--node-name", kHost};
    spawn.env = {{"PCMK_authkey_location", key->path().string()},
                 {"HA_VARRUN", host_run},
                 {"HA_RSCTMP", host_run},
                 {"OUTPOST_LOG", "controld:debug"}};
    spawn.log_file = dir.file("controld.log");
    auto log = [&] { return text_of(dir / "controld.log"); };
    auto start_daemon = [&] {
        auto process = Process::spawn(spawn);
        require_ok(process);
        const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
        while (!tool({"cibadmin", "-Q", "-o", "nodes"}).succeeded()) {
            INFO(log());
            REQUIRE(process->is_running());
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(100ms);
        }
        return std::make_unique<Process>(std::move(*process));
    };
    auto daemon = start_daemon();

    const std::string configuration =
        "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">"
        "<nvpair id=\"opt-stonith\" name=\"stonith-enabled\" value=\"false\"/>"
        "</cluster_property_set></crm_config>"
        "<nodes><node id=\"1\" uname=\"" +
        std::string(kHost) + "\"/></nodes><resources>" + remote("g1", guests[0]->address()) +
        remote("g2", guests[1]->address()) + primitive("d1", "pacemaker") + primitive("d2", "heartbeat") +
        primitive("d3", "pacemaker") +
        primitive("d4", "pacemaker",
                  "<meta_attributes id=\"d4-meta\"><nvpair id=\"d4-mt\" name=\"migration-threshold\" "
                  "value=\"1\"/><nvpair id=\"d4-ft\" name=\"failure-timeout\" value=\"4s\"/>"
                  "</meta_attributes>") +
        "</resources><constraints>" + location("d1", "g1") + location("d2", "g2") + location("d3", kHost) +
        location("d4", "g1", "100") + "<rsc_location id=\"avoid-d4\" rsc=\"d4\" node=\"" + kHost +
        "\" score=\"-INFINITY\"/></constraints></configuration>";
    // A live crm_mon whose refresh interval is far beyond the test: only the daemon's change
    // notifications (its own status updates included) can bring its page up to date.
    const std::string html = dir.file("mon.html");
    const std::string mon_pid = dir.file("mon.pid");
    REQUIRE(tool({"crm_mon", "--daemonize", "--output-as=html", "--output-to=" + html, "--interval=600",
                  "--pid-file=" + mon_pid})
                .succeeded());
    const std::string file = dir.write("configuration.xml", configuration);
    CommandResult pushed = tool({"cibadmin", "--replace", "-o", "configuration", "--xml-file", file});
    INFO(pushed.describe());
    REQUIRE(pushed.succeeded());

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

    // A restart (SIGTERM, then start again): the daemon re-learns what runs by probing the
    // host and, once connected, the guests; nothing is started twice (the agents' state
    // files keep their times) and nothing is lost.
    const fs::path d1_state = dir / "g1-run" / "Dummy-d1.state";
    const fs::path d3_state = dir / (std::string(kHost) + "-run") / "Dummy-d3.state";
    const auto d1_time = fs::last_write_time(d1_state);
    const auto d3_time = fs::last_write_time(d3_state);
    auto stopped = daemon->stop();
    require_ok(stopped);
    CHECK(*stopped == 0);
    daemon = start_daemon();
    {
        INFO(log());
        REQUIRE(wait_for([&](const CrmMon& mon) { return converged(mon) && d4_on("g1")(mon); },
                         kConvergeTimeout));
        CHECK(pending_actions().empty());
    }
    CHECK(fs::last_write_time(d1_state) == d1_time);
    CHECK(fs::last_write_time(d3_state) == d3_time);

    auto status = daemon->stop();
    require_ok(status);
    CHECK(*status == 0);
    WARN("timing: whole test "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}
