// outpost-controld against Pacemaker 2.1.5's own tools: the daemon runs in a throw-away
// network namespace (its libqb IPC names are abstract sockets, so they live there) with a
// temporary CIB file, and the real cibadmin, crm_attribute, crm_resource, crm_mon,
// crm_simulate and pcs talk to it from the same namespace. The whole executable holds the
// machine-wide cluster lock and refuses to run while a pacemakerd runs on the machine, so
// it never meets a real cluster's daemons.
//   - start-up: --help, bad flags (64), an unusable CIB file (78), names taken (100); a
//     clean exit on SIGTERM
//   - cibadmin query/create/modify/replace/delete; crm_attribute on a cluster property and
//     a node attribute; everything on disk after each acknowledged change
//   - refused updates (exists, schema, stale epoch, no such object) with Pacemaker's exit
//     codes and the file byte for byte unchanged
//   - pcs -f FILE + cibadmin --replace; crm_resource --list / --set-parameter;
//     crm_mon -1 --output-as=xml; pcs resource create / group add, property set, node
//     utilization on the live CIB (cib_apply_diff); crm_simulate -L -S
//   - crm_resource --move (with --lifetime) / --ban / --clear; pcs constraint location,
//     property set, resource ban / clear / delete; cibadmin --upgrade, pcs cluster
//     cib-upgrade
//   - crm_mon as a daemon follows changes through cib_diff_notify, not by polling
//   - kill -9 during a stream of acknowledged writes, restart: the file parses, the last
//     acknowledged value is there, and no temporary file is left beside it
//   - outpost-simulate -L on a CIB with a remote node, a guest node and resources running on
//     them: the same output as crm_simulate -L on the same service and as outpost-simulate -x
//     on the CIB it saved (-I); an unsupported element reported as with -x; no CIB service
//     and permission denied: clear errors, crm_simulate's exit code (66)
//   - ha_cluster_exporter (Debian's prometheus-hacluster-exporter 1.3.1) runs crm_mon and
//     cibadmin against the daemon: its pacemaker collector succeeds with the resources,
//     constraints and nodes of the live CIB and follows a change (SKIP without it)
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kReadyTimeout = 15s;
constexpr auto kToolTimeout = 30000ms;

std::string controld_path()
{
    const char* path = std::getenv("OUTPOST_CONTROLD");
    return path != nullptr ? path : "";
}

std::string simulate_path()
{
    const char* path = std::getenv("OUTPOST_SIMULATE");
    return path != nullptr ? path : "";
}

// The file's text, or "" when it cannot be read (yet).
std::string text_of(const std::filesystem::path& path)
{
    auto text = read_file(path);
    return text ? *text : std::string();
}

int exit_code(const CommandResult& result)
{
    return WIFEXITED(result.wait_status) ? WEXITSTATUS(result.wait_status) : -1;
}

// The machine-wide guard: held for the whole executable.
struct MachineGuard {
    UniqueFd lock;
    MachineGuard()
    {
        auto taken = take_cluster_lock();
        require_ok(taken);
        lock = std::move(*taken);
        auto pacemakerd = find_processes_named("pacemakerd");
        INFO("a pacemakerd runs on this machine (pid "
             << (pacemakerd.empty() ? 0 : pacemakerd.front())
             << "): refusing to serve Pacemaker's IPC names beside it");
        REQUIRE(pacemakerd.empty());
    }
};

// One daemon in its own namespace with a CIB file in a temporary directory.
class Controld {
public:
    Controld() : dir_("outpost-controld")
    {
        auto ns = Netns::create();
        require_ok(ns);
        netns_ = std::make_unique<Netns>(std::move(*ns));
        cib_ = dir_.file("state/cib.xml");
    }

    void start()
    {
        SpawnOptions options;
        options.argv = {controld_path(), "--cib-file", cib_, "--node-name", "node1", "--cib-only"};
        options.netns = netns_.get();
        options.env = {{"OUTPOST_LOG", "controller:debug"}};
        options.log_file = dir_.file("controld.log");
        auto process = Process::spawn(std::move(options));
        require_ok(process);
        daemon_ = std::make_unique<Process>(std::move(*process));
        const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
        for (;;) {
            auto query = tool({"cibadmin", "-Q", "-o", "nodes"});
            if (exit_code(query) == 0) return;
            INFO(text_of(dir_.file("controld.log")));
            REQUIRE(daemon_->is_running());
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(100ms);
        }
    }

    // SIGTERM; the wait status.
    int stop()
    {
        auto status = daemon_->stop();
        require_ok(status);
        daemon_.reset();
        return *status;
    }

    void kill9()
    {
        require_ok(daemon_->signal(SIGKILL));
        require_ok(daemon_->wait(5000ms));
        daemon_.reset();
    }

    CommandResult tool(const std::vector<std::string>& argv, const EnvList& env = {})
    {
        auto result = run_command(argv, netns_.get(), kToolTimeout, env);
        require_ok(result);
        return *result;
    }

    std::string ok(const std::vector<std::string>& argv)
    {
        CommandResult result = tool(argv);
        INFO(join_argv(argv) << ": " << result.describe());
        REQUIRE(result.succeeded());
        return result.output;
    }

    [[nodiscard]] const std::string& cib() const { return cib_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    [[nodiscard]] Netns& netns() { return *netns_; }
    [[nodiscard]] std::string log() const { return text_of(dir_.file("controld.log")); }

private:
    TempDir dir_;
    std::unique_ptr<Netns> netns_;
    std::string cib_;
    std::unique_ptr<Process> daemon_;
};

MachineGuard& guard()
{
    static MachineGuard held;
    return held;
}

}  // namespace

TEST_CASE("start-up: help, bad settings, unusable CIB file, IPC names taken")
{
    guard();
    REQUIRE_FALSE(controld_path().empty());
    auto help = run_command({controld_path(), "--help"});
    require_ok(help);
    CHECK(exit_code(*help) == 0);
    CHECK(contains(help->output, "--cib-file"));
    auto bad = run_command({controld_path(), "--frobnicate"});
    require_ok(bad);
    CHECK(exit_code(*bad) == 64);
    auto relative = run_command({controld_path(), "--cib-file", "cib.xml"});
    require_ok(relative);
    CHECK(exit_code(*relative) == 64);

    Controld controld;
    controld.dir().write("bad.xml", "<cib><configuration>");
    auto broken =
        run_command({controld_path(), "--cib-file", controld.dir().file("bad.xml")}, &controld.netns());
    require_ok(broken);
    CHECK(exit_code(*broken) == 78);
    CHECK(contains(broken->output, "not valid XML"));

    controld.start();
    auto second =
        run_command({controld_path(), "--cib-file", controld.dir().file("other.xml")}, &controld.netns());
    require_ok(second);
    CHECK(exit_code(*second) == 100);

    // SIGTERM: a clean exit (in the sanitizer build: nothing leaked, nothing misused).
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    const int status = controld.stop();
    INFO(controld.log());
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK_FALSE(contains(controld.log(), "Sanitizer"));
    CHECK(contains(controld.log(), "Exiting"));
}

TEST_CASE("cibadmin and crm_attribute read and write the CIB, and every change is on disk")
{
    guard();
    Controld controld;
    controld.start();
    std::string empty = controld.ok({"cibadmin", "-Q"});
    CHECK(contains(empty, R"(validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0")"));

    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    CHECK(contains(text_of(controld.cib()), R"(<node id="1" uname="node1"/>)"));
    controld.ok({"cibadmin", "--modify", "--xml-text", R"(<node id="1" type="member"/>)"});
    CHECK(contains(controld.ok({"cibadmin", "-Q", "--xpath", "//node[@id='1']"}), R"(type="member")"));
    controld.ok({"cibadmin", "--replace", "-o", "nodes", "--xml-text",
                 R"(<nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>)"});
    controld.ok({"cibadmin", "--delete", "--xml-text", R"(<node id="2"/>)"});
    CHECK_FALSE(contains(text_of(controld.cib()), "node2"));

    controld.ok({"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false"});
    CHECK(contains(
        controld.ok({"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--query"}),
        "value=false"));
    CHECK(contains(text_of(controld.cib()), R"(name="stonith-enabled" value="false")"));
    controld.ok({"crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--delete"});
    CHECK_FALSE(contains(text_of(controld.cib()), "stonith-enabled"));

    controld.ok({"crm_attribute", "--node", "node1", "--name", "rack", "--update", "r1"});
    CHECK(controld.ok({"crm_attribute", "--node", "node1", "--name", "rack", "--query", "--quiet"}) ==
          "r1\n");
    controld.ok({"crm_attribute", "--node", "node1", "--name", "rack", "--delete"});
    CHECK(exit_code(controld.tool({"crm_attribute", "--node", "node1", "--name", "rack", "--query"})) == 105);

    // The file holds what the tools see, with the version Pacemaker would give it.
    std::string on_disk = text_of(controld.cib());
    std::string live = controld.ok({"cibadmin", "-Q"});
    CHECK(contains(on_disk, R"(update-client="crm_attribute")"));
    CHECK(contains(live, R"(epoch="9")"));
    CHECK(contains(on_disk, R"(epoch="9")"));
}

TEST_CASE("bad updates are refused with Pacemaker's codes and leave the file unchanged")
{
    guard();
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    const std::string before = text_of(controld.cib());

    auto exists =
        controld.tool({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="x"/>)"});
    CHECK(exit_code(exists) == 108);
    CHECK(contains(exists.output, "File exists"));
    auto invalid =
        controld.tool({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="2" unamex="x"/>)"});
    CHECK(exit_code(invalid) == 78);
    CHECK(contains(invalid.output, "does not conform to the configured schema"));
    auto stale =
        controld.tool({"cibadmin", "--replace", "--xml-text",
                       R"(<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">)"
                       R"(<configuration><crm_config/><nodes/><resources/><constraints/></configuration>)"
                       R"(<status/></cib>)"});
    CHECK(exit_code(stale) == 103);
    CHECK(contains(stale.output, "older than existing configuration"));
    auto missing = controld.tool({"cibadmin", "--modify", "--xml-text", R"(<node id="9" uname="x"/>)"});
    CHECK(exit_code(missing) == 105);
    auto bad_xpath = controld.tool({"cibadmin", "-Q", "--xpath", "//node["});
    CHECK(exit_code(bad_xpath) != 0);
    CHECK(text_of(controld.cib()) == before);
}

TEST_CASE("pcs -f plus cibadmin --replace, crm_resource, crm_mon and crm_simulate on the live CIB")
{
    guard();
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    const std::string file = controld.dir().file("pcs.xml");
    {
        std::ofstream out(file);
        out << controld.ok({"cibadmin", "-Q"});
    }
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"pcs", "-f", file, "resource", "create", "d1", "ocf:pacemaker:Dummy", "op",
                                   "monitor", "interval=30s"},
          std::vector<std::string>{"pcs", "-f", file, "resource", "create", "d2", "ocf:pacemaker:Dummy"},
          std::vector<std::string>{"pcs", "-f", file, "constraint", "location", "d1", "prefers", "node1"},
          std::vector<std::string>{"pcs", "-f", file, "property", "set", "stonith-enabled=false"}}) {
        auto result = run_command(command, nullptr, kToolTimeout);
        require_ok(result);
        INFO(join_argv(command) << ": " << result->describe());
        REQUIRE(result->succeeded());
    }
    controld.ok({"cibadmin", "--replace", "--xml-file", file});
    CHECK(contains(text_of(controld.cib()), R"(<primitive id="d2")"));

    std::string list = controld.ok({"crm_resource", "--list"});
    CHECK(contains(list, "d1\t(ocf:pacemaker:Dummy)"));
    CHECK(contains(list, "d2\t(ocf:pacemaker:Dummy)"));
    controld.ok({"crm_resource", "--resource", "d1", "--set-parameter", "fake", "--parameter-value", "42"});
    CHECK(controld.ok({"crm_resource", "--resource", "d1", "--get-parameter", "fake"}) == "42\n");
    CHECK(exit_code(controld.tool({"crm_resource", "--resource", "nosuch", "--get-parameter", "fake"})) ==
          105);

    std::string mon = controld.ok({"crm_mon", "-1", "--output-as=xml"});
    CHECK(contains(mon, R"(<pacemakerd sys_from="pacemakerd" state="running")"));
    CHECK(contains(mon, R"(<nodes_configured number="1"/>)"));
    CHECK(contains(mon, R"(<resources_configured number="2")"));
    CHECK(contains(mon, R"(client="crm_resource" origin="node1")"));
    CHECK(contains(mon, R"(<resource id="d1" resource_agent="ocf:pacemaker:Dummy" role="Stopped")"));

    // pcs on the live CIB: it writes with cibadmin --patch (cib_apply_diff) and --replace.
    controld.ok({"pcs", "resource", "create", "d3", "ocf:pacemaker:Dummy"});
    controld.ok({"pcs", "resource", "group", "add", "g1", "d3"});
    controld.ok({"pcs", "property", "set", "maintenance-mode=false"});
    controld.ok({"pcs", "node", "utilization", "node1", "cpu=2"});
    const std::string after_pcs = text_of(controld.cib());
    CHECK(contains(after_pcs, R"(<group id="g1">)"));
    controld.ok({"cibadmin", "-Q", "--xpath", "//group[@id='g1']/primitive[@id='d3']"});
    CHECK(contains(after_pcs, R"(name="maintenance-mode" value="false")"));
    CHECK(contains(after_pcs, R"(name="cpu" value="2")"));

    std::string simulated = controld.ok({"crm_simulate", "--live-check", "--simulate"});
    CHECK(contains(simulated, "d1\t(ocf:pacemaker:Dummy):\t Stopped"));
    CHECK(contains(simulated, "Transition Summary:"));
}

TEST_CASE("crm_resource --move/--ban/--clear and pcs constraints, resources and properties on the live CIB")
{
    guard();
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="2" uname="node2"/>)"});
    controld.ok({"pcs", "resource", "create", "d1", "ocf:pacemaker:Dummy"});
    auto constraints = [&] { return controld.ok({"cibadmin", "-Q", "-o", "constraints"}); };

    // crm_resource writes cli-prefer/cli-ban location constraints; --clear deletes them
    // with one cib_delete of the <constraints> section listing each of them.
    controld.ok({"crm_resource", "--move", "-r", "d1", "-N", "node2"});
    controld.ok({"crm_resource", "--ban", "-r", "d1", "-N", "node1"});
    CHECK(contains(constraints(),
                   R"(id="cli-prefer-d1" rsc="d1" role="Started" node="node2" score="INFINITY")"));
    CHECK(contains(constraints(), R"(id="cli-ban-d1-on-node1" rsc="d1" role="Started" node="node1")"));
    const std::string cleared = controld.ok({"crm_resource", "--clear", "-r", "d1"});
    CHECK(contains(cleared, "Removing constraint: cli-ban-d1-on-node1"));
    CHECK(contains(cleared, "Removing constraint: cli-prefer-d1"));
    CHECK_FALSE(contains(text_of(controld.cib()), "cli-"));
    controld.ok({"crm_resource", "--move", "-r", "d1", "-N", "node1", "--lifetime", "PT1H"});
    CHECK(contains(text_of(controld.cib()), R"(<rule id="cli-prefer-rule-d1")"));
    controld.ok({"crm_resource", "--clear", "-r", "d1", "-N", "node1"});
    CHECK_FALSE(contains(text_of(controld.cib()), "cli-prefer"));

    // pcs: constraints (pcs checks node names against corosync.conf, whose package
    // default and the test cluster's both name node1), a property, ban/clear, delete.
    controld.ok({"pcs", "constraint", "location", "d1", "prefers", "node1=50"});
    CHECK(contains(constraints(),
                   R"(<rsc_location id="location-d1-node1-50" rsc="d1" node="node1" score="50"/>)"));
    controld.ok({"pcs", "property", "set", "no-quorum-policy=ignore"});
    CHECK(contains(text_of(controld.cib()), R"(name="no-quorum-policy" value="ignore")"));
    controld.ok({"pcs", "resource", "ban", "d1", "node2"});
    CHECK(contains(constraints(), R"(id="cli-ban-d1-on-node2")"));
    controld.ok({"pcs", "resource", "clear", "d1"});
    CHECK_FALSE(contains(constraints(), "cli-ban"));
    controld.ok({"pcs", "resource", "delete", "d1"});
    const std::string after = text_of(controld.cib());
    CHECK_FALSE(contains(after, R"(<primitive id="d1")"));
    CHECK_FALSE(contains(after, "location-d1-node1-50"));  // pcs removes its constraints too

    // Schema upgrades inside the 3.x series: nothing to do on the newest, else the newest
    // installed schema the CIB validates against.
    CHECK(contains(controld.ok({"cibadmin", "--upgrade", "--force"}), "Upgrade unnecessary"));
    controld.ok({"cibadmin", "--modify", "--xml-text", R"(<cib validate-with="pacemaker-3.2"/>)"});
    CHECK(contains(text_of(controld.cib()), R"(validate-with="pacemaker-3.2")"));
    CHECK(contains(controld.ok({"pcs", "cluster", "cib-upgrade"}), "upgraded to latest version"));
    CHECK_FALSE(contains(text_of(controld.cib()), R"(validate-with="pacemaker-3.2")"));
}

TEST_CASE("crm_mon as a daemon follows changes through notifications")
{
    guard();
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    const std::string html = controld.dir().file("mon.html");
    const std::string pid_file = controld.dir().file("mon.pid");
    // A refresh interval far beyond the test: only a notification can update the page.
    controld.ok({"crm_mon", "--daemonize", "--output-as=html", "--output-to=" + html, "--interval=600",
                 "--pid-file=" + pid_file});
    auto wait_for = [&](const std::string& text) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!contains(text_of(html), text) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(100ms);
        return contains(text_of(html), text);
    };
    const bool first = wait_for("1 node configured");
    INFO("outpost-controld log:\n" << controld.log() << "\ncrm_mon page:\n" << text_of(html));
    CHECK(first);
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="2" uname="node2"/>)"});
    CHECK(wait_for("2 nodes configured"));
    controld.ok({"cibadmin", "--create", "-o", "resources", "--xml-text",
                 R"(<primitive id="d9" class="ocf" provider="pacemaker" type="Dummy"/>)"});
    CHECK(wait_for("1 resource instance configured"));
    // The daemon we made it start: stop it by the PID it wrote.
    std::string pid_text = text_of(pid_file);
    pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
    REQUIRE(pid > 1);
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 50 && ::kill(pid, 0) == 0; ++i)
        std::this_thread::sleep_for(100ms);
    CHECK(contains(controld.log(), "subscribed to \"cib_diff_notify\""));
}

TEST_CASE(
    "kill -9 during a stream of writes: restarted, the CIB is intact and the last acknowledged update is "
    "there")
{
    guard();
    Controld controld;
    controld.start();
    std::mt19937 random(std::random_device{}());
    int next = 0;
    for (int round = 0; round < 3; ++round) {
        int acknowledged = -1;
        std::atomic<bool> stop{false};
        std::atomic<int> last_ok{-1};
        std::thread writer([&] {
            for (int value = next; !stop; ++value) {
                auto result = run_command({"crm_attribute", "--type", "crm_config", "--name", "counter",
                                           "--update", std::to_string(value)},
                                          &controld.netns(), kToolTimeout);
                if (!result || !result->succeeded()) break;
                last_ok = value;
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 700));
        controld.kill9();
        stop = true;
        writer.join();
        acknowledged = last_ok;
        INFO("round " << round << ": last acknowledged value " << acknowledged);
        REQUIRE(acknowledged >= next);  // some writes got through before the kill
        controld.start();
        std::string value =
            controld.ok({"crm_attribute", "--type", "crm_config", "--name", "counter", "--query", "--quiet"});
        // The acknowledged value, or the one in flight when the daemon died (written, not
        // yet acknowledged): never an older one.
        int stored = std::atoi(value.c_str());
        CHECK((stored == acknowledged || stored == acknowledged + 1));
        next = stored + 1;
    }
    // No torn file: what is on disk is a whole CIB the daemon accepted at start, and what
    // an interrupted save left beside it was removed at the restart.
    CHECK(contains(text_of(controld.cib()), "</cib>"));
    std::size_t files = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(controld.cib()).parent_path())) {
        INFO(entry.path());
        CHECK(entry.path().filename() == "cib.xml");
        ++files;
    }
    CHECK(files == 1);
}

namespace {

// `prefix`, then `tool` and its `args`.
std::vector<std::string> with_tool(const std::string& tool, const std::vector<std::string>& args,
                                   const std::vector<std::string>& prefix = {})
{
    std::vector<std::string> argv = prefix;
    argv.push_back(tool);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// The test CIB brought to a steady state by Pacemaker's own simulation: crm_simulate -S
// until nothing is left to do (the remote connection, the guest's container, then the
// resources on them).
std::string steady_cib(const TempDir& dir)
{
    std::string input = (source_root() / "tests/integration/data/live-remote-guest.xml").string();
    for (int round = 0; round < 5; ++round) {
        const std::string output = dir.file("steady-" + std::to_string(round) + ".xml");
        auto run = run_command({"crm_simulate", "-x", input, "-S", "-O", output}, nullptr, kToolTimeout);
        require_ok(run);
        INFO(run->describe());
        REQUIRE(run->succeeded());
        input = output;
        const std::string summary = run->output.substr(run->output.find("Transition Summary:"));
        if (summary.rfind("Transition Summary:\n\nExecuting", 0) == 0) return input;
    }
    FAIL("the test CIB did not settle in 5 rounds of crm_simulate -S");
    return {};
}

}  // namespace

TEST_CASE("outpost-simulate -L reads the live CIB as crm_simulate -L does")
{
    guard();
    REQUIRE_FALSE(simulate_path().empty());
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--replace", "--xml-file", steady_cib(controld.dir())});
    CHECK(contains(controld.ok({"crm_mon", "-1"}), "RemoteOnline: [ remote1 ]"));

    // The same decisions and the same text, section by section, as the real scheduler.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-L", "-S"}, std::vector<std::string>{"-L", "-S", "-f", "remote1"},
          std::vector<std::string>{"-L", "-S", "-d", "guest1"}, std::vector<std::string>{"-L", "-R", "-s"},
          std::vector<std::string>{"-L", "-S", "--output-as=xml"}}) {
        // (The XML's request="..." echoes argv[0], the path each was started by.)
        const std::regex request(R"(request="[^"]*")");
        const std::string expected =
            std::regex_replace(controld.ok(with_tool("crm_simulate", args)), request, "");
        const std::string ours =
            std::regex_replace(controld.ok(with_tool(simulate_path(), args)), request, "");
        INFO(join_argv(args));
        CHECK(ours == expected);
    }
    const std::string live =
        controld.ok({simulate_path(), "-L", "-S", "-I", controld.dir().file("saved.xml")});
    CHECK(contains(live, "d1\t(ocf:pacemaker:Dummy):\t Started remote1"));
    CHECK(contains(live, "GuestOnline: [ guest1 ]"));
    CHECK(controld.ok({simulate_path(), "-x", controld.dir().file("saved.xml"), "-S"}) == live);
    CHECK(contains(text_of(controld.dir().file("saved.xml")), R"(epoch="6")"));

    // Unsupported elements: the same error, naming the element, whatever the source.
    controld.ok({"cibadmin", "--create", "-o", "resources", "--xml-text",
                 R"(<bundle id="b1"><docker image="outpost-test"/></bundle>)"});
    auto from_live = controld.tool({simulate_path(), "-L", "-R", "-I", controld.dir().file("bundle.xml")});
    auto from_file = controld.tool({simulate_path(), "-x", controld.dir().file("bundle.xml"), "-R"});
    INFO(from_live.describe());
    CHECK(exit_code(from_live) == 65);
    CHECK(contains(from_live.output, "b1"));
    CHECK(contains(from_live.output, "bundle"));
    CHECK(exit_code(from_file) == exit_code(from_live));
    CHECK(from_file.output == from_live.output);

    // Permission denied: crm_simulate's exit code, and a message that says what to do.
    const std::vector<std::string> nobody{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
    auto theirs = controld.tool(with_tool("crm_simulate", {"-L", "-R"}, nobody));
    auto denied = controld.tool(with_tool(simulate_path(), {"-L", "-R"}, nobody));
    INFO(denied.describe());
    CHECK(exit_code(theirs) == 66);
    CHECK(exit_code(denied) == exit_code(theirs));
    CHECK(contains(denied.output, "permission denied"));
    CHECK(contains(denied.output, "haclient"));

    // No CIB service in this namespace.
    auto empty = Netns::create();
    require_ok(empty);
    auto none = run_command({simulate_path(), "-L", "-R"}, &*empty, kToolTimeout);
    auto none_theirs = run_command({"crm_simulate", "-L", "-R"}, &*empty, kToolTimeout);
    require_ok(none);
    require_ok(none_theirs);
    INFO(none->describe());
    CHECK(exit_code(*none_theirs) == 66);
    CHECK(exit_code(*none) == exit_code(*none_theirs));
    CHECK(contains(none->output, "no CIB service"));
}

TEST_CASE("ha_cluster_exporter reads outpost-controld's IPC faces and follows a change")
{
    guard();
    auto exporter = find_program("ha_cluster_exporter");
    if (!exporter)
        OUTPOST_SKIP("ha_cluster_exporter not installed (Debian package prometheus-hacluster-exporter)");
    Controld controld;
    controld.start();
    controld.ok({"cibadmin", "--create", "-o", "nodes", "--xml-text", R"(<node id="1" uname="node1"/>)"});
    controld.ok({"pcs", "resource", "create", "d1", "ocf:pacemaker:Dummy"});
    controld.ok({"pcs", "constraint", "location", "d1", "prefers", "node1"});

    // Inside the daemon's namespace, where its IPC names are; it runs crm_mon and cibadmin
    // on each scrape (the corosync collector finds no corosync: its scrape fails).
    constexpr std::uint16_t kPort = 9664;
    SpawnOptions options;
    options.argv = {*exporter, "--web.listen-address=127.0.0.1:" + std::to_string(kPort), "--log.level=warn"};
    options.netns = &controld.netns();
    options.log_file = controld.dir().file("exporter.log");
    auto process = Process::spawn(std::move(options));
    require_ok(process);
    require_ok(wait_for_tcp(&controld.netns(), "127.0.0.1", kPort, 10s, &*process));
    auto scrape = [&] {
        auto text = http_get(&controld.netns(), "127.0.0.1", kPort, "/metrics", 20s);
        require_ok(text);
        INFO(text_of(controld.dir().file("exporter.log")));
        return *text;
    };
    std::string text = scrape();
    INFO(text);
    CHECK(contains(text, "ha_cluster_scrape_success{collector=\"pacemaker\"} 1\n"));
    CHECK(contains(text, "ha_cluster_scrape_success{collector=\"corosync\"} 0\n"));
    CHECK(contains(text, R"(ha_cluster_pacemaker_resources{agent="ocf:pacemaker:Dummy",clone="",group="",)"
                         R"(managed="true",node="",resource="d1",role="stopped",status="active"} 0)"));
    CHECK(contains(
        text,
        R"(ha_cluster_pacemaker_location_constraints{constraint="location-d1-node1-INFINITY",node="node1",)"
        R"(resource="d1",role=""} +Inf)"));
    CHECK(contains(text, R"(ha_cluster_pacemaker_nodes{node="node1",status="online",type="member"})"));
    CHECK(contains(text, "ha_cluster_pacemaker_stonith_enabled 1\n"));
    CHECK_FALSE(contains(text, "outpost_"));

    // A change on the live CIB is in the next scrape.
    controld.ok({"pcs", "resource", "create", "d2", "ocf:heartbeat:Dummy"});
    text = scrape();
    CHECK(contains(text,
                   R"(agent="ocf:heartbeat:Dummy",clone="",group="",managed="true",node="",resource="d2")"));
}
