// Per-resource isolation end to end with the real outpost-agent (in its own network
// namespace, in this test's cgroups) and a real OCF agent whose start leaves a daemon
// running: the daemon is in the resource's cgroups with the limits written (read back from
// cgroupfs), changed limits reach it, a bad limit fails the action without running it, a
// stop kills a process the agent forgot, and a daemon over its memory limit is OOM-killed
// so the next monitor fails. Needs root on a cgroup v1 host (this machine); SKIP elsewhere.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outposttest-cg";

// start: a daemon (sleep, or with hog=yes perl allocating 256 MiB: bounded, so a limit not
// applied could not hurt the machine) and
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

class InstalledAgent {
public:
    InstalledAgent()
    {
        std::filesystem::create_directories(kAgentDir);
        type_ = "cg-" + std::to_string(::getpid());
        path_ = std::string(kAgentDir) + "/" + type_;
        REQUIRE(write_file(path_, kScript, 0755).ok());
    }
    InstalledAgent(const InstalledAgent&) = delete;
    InstalledAgent& operator=(const InstalledAgent&) = delete;
    ~InstalledAgent()
    {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
        std::filesystem::remove(kAgentDir, ignored);  // only if empty
    }
    [[nodiscard]] const std::string& type() const { return type_; }

private:
    std::string type_;
    std::string path_;
};

// controller -> cgroup directory of a process, for the v1 controllers mounted under
// /sys/fs/cgroup/<name> (this machine's layout).
std::map<std::string, std::string> cgroups_of(pid_t pid)
{
    std::map<std::string, std::string> dirs;
    std::istringstream in(read_value("/proc/" + std::to_string(pid) + "/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a + 1);
        std::string controller = line.substr(a + 1, b - a - 1);
        if (controller == "memory" || controller == "cpu" || controller == "pids")
            dirs[controller] = "/sys/fs/cgroup/" + controller + line.substr(b + 1);
    }
    return dirs;
}

bool dead(pid_t pid)
{
    std::string stat = read_value("/proc/" + std::to_string(pid) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
}

struct Session {
    ContextPtr context{g_main_context_new()};
    std::unique_ptr<RawClient> client;

    explicit Session(GuestDaemon& daemon) : client(raw_client(context.get(), daemon))
    {
        auto hello = make_request("register");
        hello.client_name = "isolation-test";
        hello.protocol_version = "1.1";
        REQUIRE(client->reply(client->send(hello)).rc == 0);
    }

    void add(const std::string& rsc, const std::string& type)
    {
        auto reg = make_request("lrmd_rsc_register");
        reg.callopts = 3;
        reg.rsc.emplace();
        reg.rsc->id = rsc;
        reg.rsc->rsc_class = "ocf";
        reg.rsc->provider = "outposttest-cg";
        reg.rsc->type = type;
        REQUIRE(client->reply(client->send(reg)).rc == 0);
        (void)client->expect<wire::GenericNotify>();
    }

    wire::ExecNotify exec(const std::string& rsc, const std::string& action, const wire::ParamMap& params)
    {
        auto r = make_request("lrmd_rsc_exec");
        r.callopts = 4;
        r.timeout_ms = 20000;
        r.rsc.emplace();
        r.rsc->id = rsc;
        r.rsc->action = action;
        r.rsc->interval_ms = 0;
        r.rsc->timeout_ms = 20000;
        r.rsc->start_delay_ms = 0;
        r.rsc->params = params;
        auto reply = client->reply(client->send(r));
        REQUIRE(reply.rc > 0);
        auto done = client->expect<wire::ExecNotify>(30s);
        REQUIRE(done.call_id == reply.rc);
        UNSCOPED_INFO(rsc << " " << action << ": rc " << done.exec_rc << ", reason "
                          << done.exit_reason.value_or("(none)") << ", output "
                          << done.output.value_or("(none)"));
        return done;
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

}  // namespace

TEST_CASE("outpost-agent confines a resource's processes to its cgroup with the configured limits")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::geteuid() != 0 || !std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") ||
        !std::filesystem::exists("/sys/fs/cgroup/pids/cgroup.procs"))
        OUTPOST_SKIP("needs root on a cgroup v1 host with memory and pids mounted");
    InstalledAgent installed;
    std::string parent = "outpost-it-" + std::to_string(::getpid());

    GuestDaemonOptions options;
    options.binary = *agent;
    options.env = {{"OUTPOST_cgroup_parent", parent}, {"OUTPOST_LOG", "agent.isolation:debug"}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    Session s(**daemon);
    std::string state = ((*daemon)->dir() / "cg1.pid").string();
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
    auto dirs = cgroups_of(daemon_pid);
    INFO("daemon cgroups: " << read_value("/proc/" + std::to_string(daemon_pid) + "/cgroup"));
    for (const auto& [controller, dir] : dirs) {
        INFO(controller);
        CHECK(dir.ends_with("/" + parent + "/rsc-cg1"));
    }
    REQUIRE(dirs.size() == 3);
    CHECK(cgroups_of(forgotten) == dirs);
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
    while ((!dead(forgotten) || std::filesystem::exists(dirs["pids"])) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK(dead(forgotten));
    CHECK(dead(daemon_pid));
    for (const auto& [controller, dir] : dirs)
        CHECK_FALSE(std::filesystem::exists(dir));
    // The log line, once the daemon has written it (the agent's own daemon may still be
    // dying of its SIGTERM, and then is listed too).
    std::string wanted = std::to_string(forgotten) + " (sleep)";
    std::string log;
    deadline = std::chrono::steady_clock::now() + 5s;
    while (log.find(wanted) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        log = read_value((*daemon)->log_file().string());
    }
    INFO(log);
    CHECK(log.find(wanted) != std::string::npos);
    CHECK(log.find("\"cg1\": stopped, killing ") != std::string::npos);

    // A daemon over its memory limit is OOM-killed by the kernel; the next monitor fails.
    std::string hog_state = ((*daemon)->dir() / "hog.pid").string();
    s.add("hog", installed.type());
    auto hog_params = params(hog_state, {{"hog", "yes"}, {"CRM_meta_outpost_memory_max", "32M"}});
    REQUIRE(s.exec("hog", "start", hog_params).exec_rc == 0);
    pid_t hog = std::stoi(read_value(hog_state));
    std::string hog_memory = cgroups_of(hog)["memory"];
    deadline = std::chrono::steady_clock::now() + 20s;
    int rc = 0;
    while (rc == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        auto m = s.exec("hog", "monitor", hog_params);
        rc = m.exec_rc;
    }
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
    auto done = (*daemon)->stop(5s);
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

TEST_CASE("outpost-agent with isolation off says so in the exit reason of a limited resource")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    InstalledAgent installed;
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
