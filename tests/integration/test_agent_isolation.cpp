// Per-resource isolation end to end with the real outpost-agent (in its own network
// namespace, in this test's cgroups) and a real OCF agent whose start leaves a daemon
// running: the daemon is in the resource's cgroups with the limits written (read back from
// cgroupfs), changed limits reach it, a bad limit fails the action without running it, a
// stop kills a process the agent forgot, and a daemon over its memory limit is OOM-killed
// so the next monitor fails. Needs root on a cgroup v1 host (this machine); SKIP elsewhere.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "harness/catch_support.hpp"
#include "harness/executor_session.hpp"
#include "harness/harness.hpp"
#include "harness/ocf_test_agent.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outposttest-cg";

// start: a daemon (sleep, or with hog=yes perl allocating 256 MiB: bounded, so a limit not
// applied could not hurt the machine; with busy=yes a shell loop, at most 120 s) and
// a second process that stop forgets; monitor: is the daemon alive (not a zombie).
constexpr const char* kScript = R"SH(#!/bin/sh
pidfile="$OCF_RESKEY_state"
echo "$1" >> "$pidfile.actions"
alive() { [ -f "$pidfile" ] && p=$(cat "$pidfile") && [ -d /proc/$p ] && ! grep -q ') Z ' /proc/$p/stat; }
case "$1" in
  start)
    alive && exit 0
    if [ "$OCF_RESKEY_hog" = yes ]; then
      setsid perl -e '$x = "a" x ($ARGV[0] << 20); sleep 600' 256 </dev/null >/dev/null 2>&1 &
    elif [ "$OCF_RESKEY_busy" = yes ]; then
      setsid timeout 120 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
    else
      setsid sleep 600 </dev/null >/dev/null 2>&1 &
    fi
    echo $! > "$pidfile"
    setsid sleep 600 </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile.forgotten"
    exit 0;;
  stop) alive && kill "$(cat "$pidfile")"; rm -f "$pidfile"; exit 0;;
  monitor) alive && exit 0; echo 'ocf-exit-reason:daemon is gone' >&2; exit 7;;
  meta-data) echo '<resource-agent name="cg"/>'; exit 0;;
  *) exit 3;;
esac
)SH";

bool dead(pid_t pid)
{
    std::string stat = read_value("/proc/" + std::to_string(pid) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
}

// The isolation test's resources are all of its installed agent's provider.
struct Session : ExecutorSession {
    explicit Session(GuestDaemon& daemon) : ExecutorSession(daemon, "isolation-test") {}
    void add(const std::string& rsc, const std::string& type)
    {
        ExecutorSession::add(rsc, "outposttest-cg", type);
    }
};

wire::ParamMap params(const std::string& state,
                      std::initializer_list<std::pair<const char*, const char*>> extra)
{
    wire::ParamMap p;
    p.insert("state", state);
    for (auto [n, v] : extra)
        p.insert(n, v);
    p.insert("CRM_meta_timeout", "20000");
    p.insert("crm_feature_set", "3.16.2");
    return p;
}

// The agent with isolation on, its resources' cgroups beneath `parent`, isolation's debug log.
std::unique_ptr<GuestDaemon> start_confined(const std::filesystem::path& agent, const std::string& parent)
{
    GuestDaemonOptions options;
    options.binary = agent;
    options.env = {{"OUTPOST_cgroup_parent", parent}, {"OUTPOST_LOG", "agent.isolation:debug"}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    return std::move(*daemon);
}

}  // namespace

TEST_CASE("outpost-agent confines a resource's processes to its cgroup with the configured limits")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::geteuid() != 0 || !std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") ||
        !std::filesystem::exists("/sys/fs/cgroup/pids/cgroup.procs"))
        OUTPOST_SKIP("needs root on a cgroup v1 host with memory and pids mounted");
    InstalledOcfAgent installed(kAgentDir, "cg", kScript);
    std::string parent = "outpost-it-" + std::to_string(::getpid());
    auto daemon = start_confined(*agent, parent);
    Session s(*daemon);
    std::string state = (daemon->dir() / "cg1.pid").string();
    s.add("cg1", installed.type());

    // Start with limits: the daemon is born in the resource's cgroups, limits in place.
    auto started = s.exec("cg1", "start",
                          params(state, {{"CRM_meta_outpost_memory_max", "64M"},
                                         {"CRM_meta_outpost_tasks_max", "20"},
                                         {"CRM_meta_outpost_cpu_quota", "50%"}}));
    REQUIRE(started.exec_rc == 0);
    CHECK_FALSE(started.exit_reason.has_value());
    pid_t daemon_pid = std::stoi(read_value(state));
    pid_t forgotten = std::stoi(read_value(state + ".forgotten"));
    auto dirs = v1_cgroups_of(daemon_pid);
    INFO("daemon cgroups: " << read_value("/proc/" + std::to_string(daemon_pid) + "/cgroup"));
    for (const auto& [controller, dir] : dirs) {
        INFO(controller);
        CHECK(dir.ends_with("/" + parent + "/rsc-cg1"));
    }
    REQUIRE(dirs.size() == 3);
    CHECK(v1_cgroups_of(forgotten) == dirs);
    CHECK(read_value(dirs["memory"] + "/memory.limit_in_bytes") == "67108864");
    CHECK(read_value(dirs["pids"] + "/pids.max") == "20");
    CHECK(read_value(dirs["cpu"] + "/cpu.cfs_quota_us") == "50000");

    // A later action with other limits changes them for the running daemon.
    auto monitored =
        s.exec("cg1", "monitor",
               params(state, {{"CRM_meta_outpost_memory_max", "48M"}, {"CRM_meta_outpost_tasks_max", "20"}}));
    CHECK(monitored.exec_rc == 0);
    CHECK(read_value(dirs["memory"] + "/memory.limit_in_bytes") == "50331648");
    CHECK(read_value(dirs["cpu"] + "/cpu.cfs_quota_us") == "-1");

    // A bad limit: OCF_ERR_CONFIGURED with the reason, and the agent never ran.
    std::string actions_before = read_value(state + ".actions");
    auto bad = s.exec("cg1", "monitor", params(state, {{"CRM_meta_outpost_memory_max", "lots"}}));
    CHECK(bad.exec_rc == 6);
    CHECK(bad.op_status == wire::ExecStatus::done);
    CHECK(bad.exit_reason.value_or("").starts_with("invalid outpost-memory-max=lots"));
    CHECK(read_value(state + ".actions") == actions_before);

    // Stop: the agent stops its daemon; the process it forgot is killed, the cgroup removed.
    auto stopped = s.exec("cg1", "stop", params(state, {{"CRM_meta_outpost_memory_max", "48M"}}));
    CHECK(stopped.exec_rc == 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    // The agent retries every directory each round until all are gone; one hierarchy may
    // still refuse (EBUSY) for a moment after the others let go, so wait for all of them.
    auto any_left = [&dirs]() {
        return std::any_of(dirs.begin(), dirs.end(),
                           [](const auto& entry) { return std::filesystem::exists(entry.second); });
    };
    while ((!dead(forgotten) || any_left()) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK(dead(forgotten));
    CHECK(dead(daemon_pid));
    for (const auto& [controller, dir] : dirs) {
        INFO(dir << " still lists: " << read_value(dir + "/cgroup.procs") << "; agent log:\n"
                 << file_tail(daemon->log_file()));
        CHECK_FALSE(std::filesystem::exists(dir));
    }
    // The log line, once the daemon has written it (the agent's own daemon may still be
    // dying of its SIGTERM, and then is listed too).
    std::string wanted = std::to_string(forgotten) + " (sleep)";
    std::string log;
    deadline = std::chrono::steady_clock::now() + 5s;
    while (log.find(wanted) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        log = read_value(daemon->log_file().string());
    }
    INFO(log);
    CHECK(log.find(wanted) != std::string::npos);
    CHECK(log.find("\"cg1\": stopped, killing ") != std::string::npos);

    // A daemon over its memory limit is OOM-killed by the kernel; the next monitor fails.
    std::string hog_state = (daemon->dir() / "hog.pid").string();
    s.add("hog", installed.type());
    auto hog_params = params(hog_state, {{"hog", "yes"}, {"CRM_meta_outpost_memory_max", "32M"}});
    REQUIRE(s.exec("hog", "start", hog_params).exec_rc == 0);
    pid_t hog = std::stoi(read_value(hog_state));
    std::string hog_memory = v1_cgroups_of(hog)["memory"];
    deadline = std::chrono::steady_clock::now() + 20s;
    // A monitor that runs while the hog presses on the limit shares its cgroup and may fail
    // itself (rc 1: its shell could not fork, or the kernel took it): it is asked again
    // until the daemon's death is reported.
    int rc = 0;
    std::string seen;
    while (rc != 7 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        auto m = s.exec("hog", "monitor", hog_params);
        rc = m.exec_rc;
        if (rc != 0 && rc != 7) seen += " " + std::to_string(rc);
    }
    INFO("monitor results other than 0 and 7 on the way:" << seen);
    CHECK(rc == 7);
    std::string oom = read_value(hog_memory + "/memory.oom_control");
    INFO(oom);
    CHECK(oom.find("oom_kill 0") == std::string::npos);
    CHECK(s.exec("hog", "stop", hog_params).exec_rc == 0);
    deadline = std::chrono::steady_clock::now() + 10s;
    while (std::filesystem::exists(hog_memory) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK_FALSE(std::filesystem::exists(hog_memory));

    s.client->close();
    auto done = daemon->stop(5s);
    CHECK(done.ok());
    // At exit the agent removes what it created and is empty: the parents too.
    for (const auto& [controller, dir] : dirs) {
        std::string p = dir.substr(0, dir.rfind('/'));
        INFO(p);
        CHECK_FALSE(std::filesystem::exists(p));
        ::rmdir(p.c_str());
    }
    if (auto cpuset = std::string("/sys/fs/cgroup/cpuset/") + parent; std::filesystem::exists(cpuset))
        ::rmdir(cpuset.c_str());
    if (auto blkio = std::string("/sys/fs/cgroup/blkio/") + parent; std::filesystem::exists(blkio))
        ::rmdir(blkio.c_str());
}

namespace {

// Every v1 hierarchy of process `pid`: its first controller -> cgroup path ("cpu,cpuacct"
// counts as cpu).
std::map<std::string, std::string> v1_paths_of(pid_t pid)
{
    std::map<std::string, std::string> paths;
    for (const auto& [mount, path] : v1_hierarchies_of(pid))
        paths[mount.substr(0, mount.find(','))] = path;
    return paths;
}

// Polls `done` every 20 ms until it holds or `timeout` passes; whether it held.
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

// Whether `pid` is listed in the cgroup `dir`'s cgroup.procs.
bool member(const std::string& dir, pid_t pid)
{
    std::istringstream in(read_value(dir + "/cgroup.procs"));
    std::string line;
    while (std::getline(in, line)) {
        if (line == std::to_string(pid)) return true;
    }
    return false;
}

// /sys/fs/cgroup/<controller> and this process's own cgroup there: the agent's parent goes
// beneath it.
std::string own_dir(const std::string& controller)
{
    std::string path = v1_paths_of(::getpid())[controller];
    return "/sys/fs/cgroup/" + controller + (path == "/" ? "" : path);
}

}  // namespace

TEST_CASE("outpost-agent attaches a resource only to the v1 hierarchies its limits need, live")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "cpuset"}) {
        if (::geteuid() != 0 || !std::filesystem::exists(std::string("/sys/fs/cgroup/") + c + "/tasks"))
            OUTPOST_SKIP("needs root on a cgroup v1 host with memory, pids, cpu, cpuacct and cpuset apart");
    }
    InstalledOcfAgent installed(kAgentDir, "cg", kScript);
    std::string parent = "outpost-it-" + std::to_string(::getpid());
    auto daemon = start_confined(*agent, parent);
    Session s(*daemon);
    std::string state = (daemon->dir() / "busy.pid").string();
    s.add("busy", installed.type());
    const std::string mine = "/" + parent + "/rsc-busy";
    auto ours = [&](const std::string& path) { return path.ends_with(mine); };

    // No limits: memory, pids and cpuacct (what the figures and the stop read), not cpu,
    // cpuset or blkio.
    REQUIRE(s.exec("busy", "start", params(state, {{"busy", "yes"}})).exec_rc == 0);
    pid_t busy = std::stoi(read_value(state));
    pid_t forgotten = std::stoi(read_value(state + ".forgotten"));
    auto paths = v1_paths_of(busy);
    INFO("daemon cgroups:\n" << read_value("/proc/" + std::to_string(busy) + "/cgroup"));
    CHECK(ours(paths["memory"]));
    CHECK(ours(paths["pids"]));
    CHECK(ours(paths["cpuacct"]));
    CHECK_FALSE(ours(paths["cpu"]));
    CHECK_FALSE(ours(paths["cpuset"]));
    CHECK_FALSE(ours(paths["blkio"]));
    CHECK_FALSE(std::filesystem::exists(own_dir("cpu") + mine));
    CHECK(v1_paths_of(forgotten) == paths);

    // A CPU quota and allowed cpus arrive (here with a monitor; from the CIB the same code
    // runs): the running daemon and the forgotten process move into new cpu and cpuset
    // cgroups, and the limits take effect.
    const std::string cpu = own_dir("cpu") + mine;
    const std::string cpuset = own_dir("cpuset") + mine;
    auto limited = params(
        state,
        {{"busy", "yes"}, {"CRM_meta_outpost_cpu_quota", "10%"}, {"CRM_meta_outpost_allowed_cpus", "0"}});
    auto monitored = s.exec("busy", "monitor", limited);
    CHECK(monitored.exec_rc == 0);
    CHECK_FALSE(monitored.exit_reason.has_value());
    for (pid_t pid : {busy, forgotten}) {
        INFO(pid << ": " << read_value("/proc/" + std::to_string(pid) + "/cgroup"));
        CHECK(member(cpu, pid));
        CHECK(member(cpuset, pid));
        CHECK(contains(read_value("/proc/" + std::to_string(pid) + "/status"), "Cpus_allowed_list:\t0\n"));
    }
    CHECK(read_value(cpu + "/cpu.cfs_quota_us") == "10000");
    CHECK(read_value(cpuset + "/cpuset.cpus") == "0");
    // The busy loop, at 10% of a CPU, is throttled within a few 100 ms periods.
    CHECK(eventually([&] { return !contains(read_value(cpu + "/cpu.stat"), "nr_throttled 0\n"); }, 5s));
    // The daemon (timeout and its shell loop) and the forgotten process.
    CHECK(eventually(
        [&] {
            return contains(read_value(daemon->log_file().string()),
                            "\"busy\": moved 3 running process(es) into " + cpu + " for its limits");
        },
        5s));

    // The limits removed: lifted, the daemon stays in the cgroups.
    CHECK(s.exec("busy", "monitor", params(state, {{"busy", "yes"}})).exec_rc == 0);
    CHECK(read_value(cpu + "/cpu.cfs_quota_us") == "-1");
    CHECK(read_value(cpuset + "/cpuset.cpus") ==
          read_value(own_dir("cpuset") + "/" + parent + "/cpuset.cpus"));
    CHECK(member(cpu, busy));

    // Stop: the forgotten process is killed and every cgroup of the resource goes.
    CHECK(s.exec("busy", "stop", params(state, {{"busy", "yes"}})).exec_rc == 0);
    std::vector<std::string> dirs = {cpu, cpuset};
    for (const char* c : {"memory", "pids", "cpuacct"})
        dirs.push_back(own_dir(c) + mine);
    CHECK(eventually(
        [&] {
            return dead(forgotten) && dead(busy) && std::none_of(dirs.begin(), dirs.end(), [](const auto& d) {
                       return std::filesystem::exists(d);
                   });
        },
        10s));

    s.client->close();
    CHECK(daemon->stop(5s).ok());
    // The agent removes its empty parents at exit; the test removes what may be left.
    for (const char* c : {"memory", "pids", "cpuacct", "cpu", "cpuset", "blkio"})
        ::rmdir((own_dir(c) + "/" + parent).c_str());
}

TEST_CASE("outpost-agent with isolation off says so in the exit reason of a limited resource")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    InstalledOcfAgent installed(kAgentDir, "cg", kScript);
    GuestDaemonOptions options;
    options.binary = *agent;
    options.env = {{"OUTPOST_isolation", "no"}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    Session s(**daemon);
    std::string state = ((*daemon)->dir() / "cg1.pid").string();
    s.add("cg1", installed.type());
    auto started = s.exec("cg1", "start", params(state, {{"CRM_meta_outpost_memory_max", "64M"}}));
    CHECK(started.exec_rc == 0);
    CHECK(started.exit_reason ==
          std::optional<std::string>(
              "resource limits not applied: isolation is disabled (OUTPOST_isolation=no)"));
    // Still validated: a bad value fails the action.
    CHECK(s.exec("cg1", "monitor", params(state, {{"CRM_meta_outpost_tasks_max", "none"}})).exec_rc == 6);
    auto plain = s.exec("cg1", "monitor", params(state, {}));
    CHECK(plain.exec_rc == 0);
    CHECK_FALSE(plain.exit_reason.has_value());
    CHECK(s.exec("cg1", "stop", params(state, {})).exec_rc == 0);
    s.client->close();
    CHECK((*daemon)->stop(5s).ok());
}
