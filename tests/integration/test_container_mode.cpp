// Container (PID 1) mode, docs/protocol.md 5.14: the daemon as PID 1 of a PID namespace
// (`unshare --pid --fork --mount-proc` inside a network namespace of the harness) forks
// itself into a minimal init (pcmk-init) and the daemon. Checked for outpost-agent and,
// as the reference, for the real pacemaker-remoted 2.1.5 run the same way:
//   - /etc/pacemaker/pcmk-init.env is loaded (quotes, comments), existing env wins;
//   - orphans in the namespace are reparented to the init and reaped (no zombies);
//   - the init exits with the daemon's exit status;
//   - SIGTERM to PID 1 is ignored, SIGINT makes it exit 0.
// And PCMK_remote_pid1=full (outpost-agent only): the same init without being PID 1.
//
// The env file is private: the namespace also gets its own mount namespace, in which a
// test directory holding pcmk-init.env and a fresh authkey is bound over /etc/pacemaker.
// The host's /etc/pacemaker is never touched.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::uint16_t kEnvFilePort = 3999;  // set only by the env file
constexpr auto kExitWait = 10s;
constexpr const char* kBadOption = "--no-such-option-outpost";

enum class Peer { remoted, agent };

std::optional<std::string> binary_for(Peer peer)
{
    if (peer == Peer::agent) return agent_path();
    auto path = remoted_path();
    if (!path) return std::nullopt;
    return *path;
}

std::string stat_field(pid_t pid, int field)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return "";
    auto close = line.rfind(')');
    if (close == std::string::npos) return "";
    std::istringstream rest(line.substr(close + 2));
    std::string value;
    for (int i = 3; i <= field; ++i)
        rest >> value;
    return value;
}

std::string pid_ns(pid_t pid)
{
    std::error_code ec;
    auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", ec);
    return ec ? "" : target.string();
}

// Host PIDs of the processes in the PID namespace `ns` (as /proc/PID/ns/pid shows it).
std::vector<pid_t> processes_in(const std::string& ns)
{
    std::vector<pid_t> out;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = std::stoi(name);
        if (pid_ns(pid) == ns) out.push_back(pid);
    }
    return out;
}

std::string comm_of(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

std::string children_file(const std::string& pid)
{
    std::string path = "/proc/";
    path.append(pid).append("/task/").append(pid).append("/children");
    return path;
}

// One daemon started as PID 1 of fresh PID + mount namespaces inside a Netns.
struct Pid1Run {
    Netns netns;
    TempDir dir;
    std::optional<Process> process;  // unshare (PID namespace) or the daemon itself (full)
    pid_t init = -1;                 // host PID of the init part

    [[nodiscard]] fs::path etc() const { return dir / "etc-pacemaker"; }
};

struct RunOptions {
    std::string binary;
    std::vector<std::string> args;
    std::string env_file;  // contents of pcmk-init.env ("" = no file)
    EnvList env;
    bool pid_namespace = true;  // false: PCMK_remote_pid1=full, not PID 1
};

std::unique_ptr<Pid1Run> start_pid1(const RunOptions& options)
{
    auto netns = Netns::create();
    require_ok(netns);
    auto dir = TempDir::create("outpost-pid1");
    require_ok(dir);
    auto run = std::unique_ptr<Pid1Run>(new Pid1Run{std::move(*netns), std::move(*dir), std::nullopt, -1});
    fs::create_directories(run->etc());
    require_ok(Authkey::create(run->etc() / "authkey"));
    if (!options.env_file.empty()) require_ok(write_file(run->etc() / "pcmk-init.env", options.env_file));

    // sh binds the private directory over /etc/pacemaker, then execs the daemon, which
    // so becomes PID 1 of the new PID namespace.
    std::vector<std::string> argv{"unshare", "--mount"};
    if (options.pid_namespace) argv.insert(argv.end(), {"--pid", "--fork", "--mount-proc"});
    argv.insert(argv.end(), {"sh", "-c", "mount --bind \"$1\" /etc/pacemaker && shift && exec \"$@\"", "sh",
                             run->etc().string(), options.binary});
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    SpawnOptions spawn;
    spawn.argv = argv;
    spawn.netns = &run->netns;
    spawn.env = options.env;
    if (!options.pid_namespace) spawn.env.emplace_back("PCMK_remote_pid1", "full");
    spawn.log_file = run->dir / "output.log";
    auto process = Process::spawn(spawn);
    require_ok(process);
    run->process.emplace(std::move(*process));
    if (!options.pid_namespace) {
        run->init = run->process->pid();
        return run;
    }
    // unshare's only child is the namespace's PID 1.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    std::string task = std::to_string(run->process->pid());
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(children_file(task));
        pid_t child = 0;
        if (in >> child && child > 0) {
            run->init = child;
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    // A daemon that fails at once (bad option) may be gone before we look.
    if (run->init <= 0) REQUIRE_FALSE(run->process->is_running());
    return run;
}

// The daemon child of the init (its only child right after start).
pid_t daemon_child(pid_t init)
{
    for (int i = 0; i < 100; ++i) {
        std::string task = std::to_string(init);
        std::ifstream in(children_file(task));
        pid_t child = 0;
        if (in >> child && child > 0) return child;
        std::this_thread::sleep_for(20ms);
    }
    return -1;
}

int exit_code_of(int wait_status)
{
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::string env_file_text(const fs::path& dir)
{
    return "# written by test_container_mode\n"
           "PCMK_remote_port=" +
           std::to_string(kEnvFilePort) +
           "\n"
           "\n"
           "PCMK_logfile=\"" +
           (dir / "from-file.log").string() +
           "\"\n"
           "PCMK_debug='no'\n";
}

void env_file_and_signals(Peer peer)
{
    auto binary = binary_for(peer);
    if (!binary) OUTPOST_SKIP("daemon not available");
    // The log path from the environment must beat the one in the file.
    auto probe = TempDir::create("outpost-pid1-logs");
    require_ok(probe);
    RunOptions options;
    options.binary = *binary;
    options.env_file = env_file_text(probe->path());
    options.env = {{"PCMK_logfile", (probe->path() / "from-env.log").string()}};
    auto run = start_pid1(options);
    auto& ns = run->netns;

    // PCMK_remote_port came from the file.
    require_ok(wait_for_tcp(&ns, ns.guest_address(), kEnvFilePort, 15s, &*run->process));
    CHECK(daemon_child(run->init) > 0);                                      // the init forked the daemon
    CHECK(stat_field(run->init, 4) == std::to_string(run->process->pid()));  // PPid: unshare
    std::this_thread::sleep_for(300ms);
    CHECK(fs::exists(probe->path() / "from-env.log"));
    CHECK_FALSE(fs::exists(probe->path() / "from-file.log"));

    // Orphans: sh started inside the namespace leaves three sleeps behind.
    std::string ns_id = pid_ns(run->init);
    REQUIRE_FALSE(ns_id.empty());
    auto spawned = run_command({"nsenter", "--target", std::to_string(run->init), "--pid", "--mount", "--",
                                "sh", "-c", "for i in 1 2 3; do sleep 1 & done; exit 0"});
    require_ok(spawned);
    REQUIRE(spawned->succeeded());
    std::vector<pid_t> sleeps;
    for (pid_t pid : processes_in(ns_id))
        if (comm_of(pid) == "sleep") sleeps.push_back(pid);
    REQUIRE(sleeps.size() == 3);
    for (pid_t pid : sleeps)
        CHECK(stat_field(pid, 4) == std::to_string(run->init));  // reparented to our init
    std::this_thread::sleep_for(1800ms);
    int zombies = 0;
    for (pid_t pid : processes_in(ns_id))
        if (stat_field(pid, 3) == "Z") ++zombies;
    CHECK(zombies == 0);
    for (pid_t pid : sleeps)
        CHECK_FALSE(fs::exists("/proc/" + std::to_string(pid)));

    // SIGTERM to PID 1: ignored; the daemon keeps serving.
    REQUIRE(::kill(run->init, SIGTERM) == 0);
    std::this_thread::sleep_for(1s);
    CHECK(run->process->is_running());
    CHECK(wait_for_tcp(&ns, ns.guest_address(), kEnvFilePort, 2s).ok());

    // SIGINT to PID 1: exit 0 (the kernel then ends the rest of the namespace).
    auto begin = std::chrono::steady_clock::now();
    REQUIRE(::kill(run->init, SIGINT) == 0);
    auto status = run->process->wait(kExitWait);
    require_ok(status);
    CHECK(exit_code_of(*status) == 0);
    WARN("SIGINT to PID 1 -> exit after "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() << " s");
}

// The init exits with the daemon's status: a usage error, then a clean SIGTERM stop.
void exit_status_follows_daemon(Peer peer)
{
    auto binary = binary_for(peer);
    if (!binary) OUTPOST_SKIP("daemon not available");
    // Reference: the same bad option outside any init.
    auto direct = run_command({*binary, kBadOption});
    require_ok(direct);
    int usage_code = exit_code_of(direct->wait_status);
    CHECK(usage_code != 0);

    RunOptions bad;
    bad.binary = *binary;
    bad.args = {kBadOption};
    auto run = start_pid1(bad);
    auto status = run->process->wait(kExitWait);
    require_ok(status);
    CHECK(exit_code_of(*status) == usage_code);

    RunOptions good;
    good.binary = *binary;
    auto run2 = start_pid1(good);
    require_ok(wait_for_tcp(&run2->netns, run2->netns.guest_address(), 3121, 15s, &*run2->process));
    pid_t daemon = daemon_child(run2->init);
    REQUIRE(daemon > 0);
    REQUIRE(::kill(daemon, SIGTERM) == 0);  // no cluster connected: a clean exit 0
    status = run2->process->wait(kExitWait);
    require_ok(status);
    CHECK(exit_code_of(*status) == 0);
}

}  // namespace

TEST_CASE("PID 1: env file, orphans, SIGTERM ignored, SIGINT exits 0 (outpost-agent)", "[pid1][agent]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    env_file_and_signals(Peer::agent);
}

TEST_CASE("PID 1: env file, orphans, SIGTERM ignored, SIGINT exits 0 (pacemaker-remoted 2.1.5)",
          "[pid1][remoted]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    env_file_and_signals(Peer::remoted);
}

TEST_CASE("PID 1: init exits with the daemon's status (outpost-agent)", "[pid1][agent]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    exit_status_follows_daemon(Peer::agent);
}

TEST_CASE("PID 1: init exits with the daemon's status (pacemaker-remoted 2.1.5)", "[pid1][remoted]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    exit_status_follows_daemon(Peer::remoted);
}

TEST_CASE("PCMK_remote_pid1=full: the init without being PID 1 (outpost-agent)", "[full][agent]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto binary = agent_path();
    if (!binary) OUTPOST_SKIP("OUTPOST_AGENT is not set");
    auto probe = TempDir::create("outpost-pid1-logs");
    require_ok(probe);
    RunOptions options;
    options.binary = *binary;
    options.env_file = env_file_text(probe->path());
    options.env = {{"PCMK_logfile", (probe->path() / "from-env.log").string()}};
    options.pid_namespace = false;
    auto run = start_pid1(options);
    auto& ns = run->netns;
    require_ok(wait_for_tcp(&ns, ns.guest_address(), kEnvFilePort, 15s, &*run->process));
    CHECK(run->init != 1);
    pid_t daemon = daemon_child(run->init);
    CHECK(daemon > 0);
    // The init is a child subreaper here, standing in for PID 1.
    CHECK(stat_field(daemon, 4) == std::to_string(run->init));
    REQUIRE(::kill(run->init, SIGTERM) == 0);
    std::this_thread::sleep_for(500ms);
    CHECK(run->process->is_running());
    REQUIRE(::kill(run->init, SIGINT) == 0);
    auto status = run->process->wait(kExitWait);
    require_ok(status);
    CHECK(exit_code_of(*status) == 0);
    // Not PID 1, so nothing ends the daemon with the init: stop it ourselves.
    if (daemon > 0 && ::kill(daemon, 0) == 0) {
        (void)::kill(daemon, SIGTERM);
        for (int i = 0; i < 100 && ::kill(daemon, 0) == 0 && stat_field(daemon, 3) != "Z"; ++i)
            std::this_thread::sleep_for(50ms);
    }
}
