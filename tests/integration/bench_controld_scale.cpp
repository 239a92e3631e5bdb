// bench-controld-scale (issue 12): the same CIB of N guest nodes, M ocf:heartbeat:Dummy
// resources on each, brought up in one run by a single-node Pacemaker 2.1.5 cluster
// (ClusterHarness) and by outpost-controld, one after the other under one hold of the
// machine-wide cluster lock (both serve the same IPC names).
//
// The CIB has gen_cib.py's shape (/work/shared/tools, scheduler.md 4): containers vmK with
// meta remote-node=guestK (each a network namespace running outpost-agent:
// tests/integration/data/netns-guest, installed for the run as ocf:outpostbench:netns-guest),
// Dummies rK_J with rsc_location INFINITY on guestK, stonith-enabled=false,
// no-quorum-policy=ignore. Each run starts from nothing: no namespace, no agent.
//
// Measured per system: wall time from the push (cibadmin --replace -o configuration) to
// the status recording every container, connection and Dummy started (polled with one
// cibadmin --xpath query for start operations with rc 0, then placement checked with
// crm_mon); CPU seconds (utime+stime of the processes and of the children they reaped, from
// /proc) of the cluster side: pacemakerd and every process under it plus corosync, or
// outpost-controld and every process under it, and separately of the guests' agents
// (outpost-agent and the resource agents it ran); the 1-minute load average while it ran.
// Teardown (also on failure, SIGINT or SIGTERM): the cluster is put in maintenance-mode
// and stopped, or outpost-controld stopped; then every container's stop runs (agents
// killed, namespaces and veths deleted) and leftovers are removed by name.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/cluster.hpp"
#include "harness/harness.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kProvider = "outpostbench";
constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outpostbench";
constexpr const char* kNetnsPrefix = "opsc";  // + guest number: at most 12 characters
constexpr unsigned kMaxGuests = 16383;        // /30s in 10.220.0.0/16
constexpr auto kToolTimeout = 120000ms;

std::atomic<bool> g_interrupted{false};

struct Options {
    unsigned guests = 50;
    unsigned per_guest = 2;
    std::vector<std::string> systems{"pacemaker", "controld"};
    std::chrono::seconds timeout{600};
    std::string discovery = "exclusive";
    std::chrono::milliseconds poll{500};
    bool keep = false;
};

const char* const kUsage =
    "Usage: bench-controld-scale [--guests N] [--per-guest M] [--systems LIST] [--timeout S]\n"
    "                            [--discovery always|exclusive|never] [--poll-ms MS]\n"
    "Brings up the same CIB of N guest nodes (network namespaces running outpost-agent), M\n"
    "ocf:heartbeat:Dummy each, with a single-node Pacemaker cluster and with outpost-controld,\n"
    "and prints the time from the push to all resources started and the CPU seconds spent.\n"
    "  --guests N       guest nodes (default 50)\n"
    "  --per-guest M    Dummies per guest (default 2)\n"
    "  --systems LIST   pacemaker,controld (default both, in that order)\n"
    "  --timeout S      give up on a system after S seconds (default 600)\n"
    "  --discovery D    resource-discovery of the Dummies' location constraints (default\n"
    "                   exclusive: probed on their own guest only; always: on every node, the\n"
    "                   N*N*M probes of gen_cib.py's default)\n"
    "  --poll-ms MS     longest status poll interval (default 500; early in a run it is a\n"
    "                   tenth of the time since the push, at least 100 ms)\n"
    "  --keep           keep the run's directory (logs, CIB files) and print where it is\n"
    "Needs root, OUTPOST_AGENT, OUTPOST_CONTROLD and OUTPOST_SOURCE_ROOT (meson sets them).\n"
    "Exit status: 0 all systems converged, 1 one did not (or a measurement is not sane),\n"
    "64 bad arguments, 77 cannot run here (skipped).\n";

std::optional<Options> parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            return std::string(argv[++i]);
        };
        auto number = [&](unsigned long low, unsigned long high) -> std::optional<unsigned long> {
            auto v = value();
            if (!v || v->empty() || v->find_first_not_of("0123456789") != std::string::npos)
                return std::nullopt;
            const unsigned long n = std::stoul(*v);
            if (n < low || n > high) return std::nullopt;
            return n;
        };
        if (arg == "--guests") {
            auto n = number(1, kMaxGuests);
            if (!n) return std::nullopt;
            o.guests = static_cast<unsigned>(*n);
        } else if (arg == "--per-guest") {
            auto n = number(0, 1000);
            if (!n) return std::nullopt;
            o.per_guest = static_cast<unsigned>(*n);
        } else if (arg == "--timeout") {
            auto n = number(1, 86400);
            if (!n) return std::nullopt;
            o.timeout = std::chrono::seconds(*n);
        } else if (arg == "--poll-ms") {
            auto n = number(100, 60000);
            if (!n) return std::nullopt;
            o.poll = std::chrono::milliseconds(*n);
        } else if (arg == "--discovery") {
            auto v = value();
            if (!v || (*v != "always" && *v != "exclusive" && *v != "never")) return std::nullopt;
            o.discovery = *v;
        } else if (arg == "--keep") {
            o.keep = true;
        } else if (arg == "--systems") {
            auto v = value();
            if (!v) return std::nullopt;
            o.systems.clear();
            std::stringstream list(*v);
            for (std::string s; std::getline(list, s, ',');) {
                if (s != "pacemaker" && s != "controld") return std::nullopt;
                o.systems.push_back(s);
            }
            if (o.systems.empty()) return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    return o;
}

std::string env_or_empty(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

double seconds_since(Clock::time_point from)
{
    return std::chrono::duration<double>(Clock::now() - from).count();
}

double load_average()
{
    std::ifstream in("/proc/loadavg");
    double one = 0;
    in >> one;
    return one;
}

// ---- CPU from /proc ----------------------------------------------------------------

struct ProcCpu {
    pid_t parent = 0;
    unsigned long long start_time = 0;
    double seconds = 0;  // utime + stime + cutime + cstime
    std::string comm;
};

std::optional<ProcCpu> read_cpu(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    const auto open = line.find('(');
    const auto close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
    ProcCpu p;
    p.comm = line.substr(open + 1, close - open - 1);
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    for (std::string w; fields >> w;)
        f.push_back(w);
    if (f.size() < 20) return std::nullopt;
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    p.parent = static_cast<pid_t>(std::stol(f[1]));
    double t = 0;
    for (std::size_t i = 11; i <= 14; ++i)  // fields 14-17
        t += std::stod(f[i]);
    p.seconds = t / ticks;
    p.start_time = std::stoull(f[19]);  // field 22
    return p;
}

std::map<pid_t, ProcCpu> all_processes()
{
    std::map<pid_t, ProcCpu> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const auto pid = static_cast<pid_t>(std::stol(name));
        if (auto p = read_cpu(pid)) out.emplace(pid, std::move(*p));
    }
    return out;
}

// The processes of a daemon tree: `roots` and their live descendants, minus `excluded`.
std::map<pid_t, ProcCpu> tree_of(const std::vector<pid_t>& roots, const std::set<pid_t>& excluded)
{
    const auto procs = all_processes();
    std::map<pid_t, ProcCpu> tree;
    std::vector<pid_t> todo(roots.begin(), roots.end());
    while (!todo.empty()) {
        const pid_t pid = todo.back();
        todo.pop_back();
        auto it = procs.find(pid);
        if (it == procs.end() || excluded.count(pid) != 0 || tree.count(pid) != 0) continue;
        tree.emplace(pid, it->second);
        for (const auto& [child, p] : procs)
            if (p.parent == pid) todo.push_back(child);
    }
    return tree;
}

// CPU seconds a tree spent between two snapshots, in total and by process name.
double cpu_between(const std::map<pid_t, ProcCpu>& before, const std::map<pid_t, ProcCpu>& after,
                   std::map<std::string, double>& by_name)
{
    double total = 0;
    for (const auto& [pid, p] : after) {
        double spent = p.seconds;
        if (auto it = before.find(pid); it != before.end() && it->second.start_time == p.start_time)
            spent -= it->second.seconds;
        by_name[p.comm] += spent;
        total += spent;
    }
    return total;
}

// ---- the container agent and the guests ----------------------------------------------

// tests/integration/data/netns-guest installed as ocf:outpostbench:netns-guest for the run.
class ContainerAgent {
public:
    explicit ContainerAgent(const fs::path& source)
    {
        std::error_code ec;
        fs::remove_all(kAgentDir, ec);
        fs::create_directories(kAgentDir);
        fs::create_symlink(source / "tests/integration/data/netns-guest",
                           fs::path(kAgentDir) / "netns-guest");
    }
    ContainerAgent(const ContainerAgent&) = delete;
    ContainerAgent& operator=(const ContainerAgent&) = delete;
    ~ContainerAgent()
    {
        std::error_code ec;
        fs::remove_all(kAgentDir, ec);
    }
    [[nodiscard]] static std::string path() { return std::string(kAgentDir) + "/netns-guest"; }
};

std::string nvpair(const std::string& owner, const std::string& name, const std::string& value)
{
    return "<nvpair id=\"" + owner + "-" + name + "\" name=\"" + name + "\" value=\"" + xml_escape(value) +
           "\"/>";
}

// Guest k (1-based): container vmK, node guestK, namespace opscK, 10.220.x.y/30.
class BenchGuests {
public:
    BenchGuests(const fs::path& dir, unsigned count, std::string daemon, fs::path authkey)
        : dir_(dir), count_(count), daemon_(std::move(daemon)), authkey_(std::move(authkey))
    {
        for (unsigned k = 1; k <= count_; ++k)
            fs::create_directories(state_dir(k));
    }
    BenchGuests(const BenchGuests&) = delete;
    BenchGuests& operator=(const BenchGuests&) = delete;
    ~BenchGuests()
    {
        for (const auto& problem : stop_all())
            (void)std::fprintf(stderr, "teardown: %s\n", problem.c_str());
    }

    [[nodiscard]] unsigned count() const { return count_; }
    static std::string netns(unsigned k) { return kNetnsPrefix + std::to_string(k); }
    static std::string address(unsigned k, unsigned host_part)
    {
        const unsigned index = k - 1;
        return "10.220." + std::to_string(index / 64) + "." + std::to_string((index % 64) * 4 + host_part);
    }
    [[nodiscard]] fs::path state_dir(unsigned k) const { return dir_ / ("ct" + std::to_string(k)); }

    // The container's primitive (gen_cib.py's ops), carrying the guest node.
    [[nodiscard]] std::string primitive(unsigned k) const
    {
        const std::string id = "vm" + std::to_string(k);
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"" + kProvider +
               "\" type=\"netns-guest\"><instance_attributes id=\"" + id + "-ia\">" +
               nvpair(id, "netns", netns(k)) + nvpair(id, "host_address", address(k, 1)) +
               nvpair(id, "guest_address", address(k, 2)) + nvpair(id, "daemon", daemon_) +
               nvpair(id, "state_dir", state_dir(k).string()) +
               nvpair(id, "daemon_env", "PCMK_authkey_location=" + authkey_.string()) +
               "</instance_attributes><meta_attributes id=\"" + id + "-meta\">" +
               nvpair(id, "remote-node", "guest" + std::to_string(k)) +
               nvpair(id, "remote-addr", address(k, 2)) + "</meta_attributes><operations>" + "<op id=\"" +
               id + "-start\" name=\"start\" interval=\"0s\" timeout=\"120s\"/>" + "<op id=\"" + id +
               "-stop\" name=\"stop\" interval=\"0s\" timeout=\"120s\"/>" + "<op id=\"" + id +
               "-monitor\" name=\"monitor\" interval=\"10s\" timeout=\"30s\"/></operations></primitive>";
    }

    // The agents' PIDs now (from the containers' pid files), remembered for the teardown.
    std::vector<pid_t> agent_pids()
    {
        std::vector<pid_t> pids;
        for (unsigned k = 1; k <= count_; ++k) {
            const auto pid =
                static_cast<pid_t>(std::atol(read_value(state_dir(k) / (netns(k) + ".pid")).c_str()));
            if (pid <= 1) continue;
            auto p = read_cpu(pid);
            if (!p) continue;
            pids.push_back(pid);
            seen_.emplace(pid, p->start_time);
        }
        return pids;
    }

    // Runs every container's stop (16 at a time), then removes what is left of ours by
    // name and PID; returns what had to be forced or could not be removed.
    std::vector<std::string> stop_all()
    {
        std::string script = "#!/bin/sh\n";
        for (unsigned k = 1; k <= count_; ++k) {
            script += "env OCF_RESKEY_netns=" + netns(k) + " OCF_RESKEY_host_address=" + address(k, 1) +
                      " OCF_RESKEY_guest_address=" + address(k, 2) + " OCF_RESKEY_daemon=" + daemon_ +
                      " OCF_RESKEY_state_dir=" + state_dir(k).string() + " " + ContainerAgent::path() +
                      " stop >/dev/null 2>&1 &\n";
            if (k % 16 == 0) script += "wait\n";
        }
        script += "wait\n";
        const fs::path file = dir_ / "stop-all.sh";
        std::vector<std::string> problems;
        if (auto w = write_file(file, script, 0700); !w) problems.push_back(w.error().message);
        if (fs::exists(ContainerAgent::path())) {
            auto ran = run_command({"/bin/sh", file.string()}, nullptr, std::chrono::minutes(10));
            if (!ran) problems.push_back("stop-all: " + ran.error().message);
        }
        // Agents still alive (the same process: PID and start time), namespaces, veths.
        for (const auto& [pid, start] : seen_) {
            auto p = read_cpu(pid);
            if (p && p->start_time == start && p->comm.rfind("outpost-agent", 0) == 0) {
                ::kill(pid, SIGKILL);
                problems.push_back("killed agent " + std::to_string(pid));
            }
        }
        std::error_code ec;
        for (unsigned k = 1; k <= count_; ++k) {
            if (fs::exists("/run/netns/" + netns(k), ec)) {
                (void)run_command({"ip", "netns", "del", netns(k)});
                problems.push_back("deleted namespace " + netns(k));
            }
            if (fs::exists("/sys/class/net/" + netns(k) + "-h", ec)) {
                (void)run_command({"ip", "link", "del", netns(k) + "-h"});
                problems.push_back("deleted link " + netns(k) + "-h");
            }
        }
        return problems;
    }

private:
    fs::path dir_;
    unsigned count_;
    std::string daemon_;
    fs::path authkey_;
    std::map<pid_t, unsigned long long> seen_;
};

// ---- the CIB -------------------------------------------------------------------------

std::string configuration(const Options& o, const BenchGuests& guests, const std::string& node)
{
    std::string xml =
        "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">"
        "<nvpair id=\"opt-stonith-enabled\" name=\"stonith-enabled\" value=\"false\"/>"
        "<nvpair id=\"opt-no-quorum-policy\" name=\"no-quorum-policy\" value=\"ignore\"/>"
        "</cluster_property_set></crm_config><nodes><node id=\"1\" uname=\"" +
        node + "\"/></nodes><resources>";
    for (unsigned k = 1; k <= guests.count(); ++k) {
        xml += guests.primitive(k);
        for (unsigned j = 1; j <= o.per_guest; ++j) {
            const std::string r = "r" + std::to_string(k) + "_" + std::to_string(j);
            xml += "<primitive id=\"" + r + "\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">";
            xml += "<operations><op id=\"" + r;
            xml += "-monitor\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/></operations></primitive>";
        }
    }
    xml += "</resources><constraints>";
    const std::string discovery =
        o.discovery == "always" ? "" : " resource-discovery=\"" + o.discovery + "\"";
    for (unsigned k = 1; k <= guests.count(); ++k)
        for (unsigned j = 1; j <= o.per_guest; ++j) {
            const std::string r = "r" + std::to_string(k) + "_" + std::to_string(j);
            xml += "<rsc_location id=\"loc-" + r;
            xml += "\" rsc=\"" + r;
            xml += "\" node=\"guest";
            xml += std::to_string(k);
            xml += "\" score=\"INFINITY\"";
            xml += discovery;
            xml += "/>";
        }
    return xml + "</constraints></configuration>";
}

// Start operations the status must record (rc 0): container, connection, Dummies.
std::set<std::string> expected_starts(const Options& o)
{
    std::set<std::string> keys;
    for (unsigned k = 1; k <= o.guests; ++k) {
        keys.insert("vm" + std::to_string(k) + "_start_0");
        keys.insert("guest" + std::to_string(k) + "_start_0");
        for (unsigned j = 1; j <= o.per_guest; ++j)
            keys.insert("r" + std::to_string(k) + "_" + std::to_string(j) + "_start_0");
    }
    return keys;
}

// ---- one system's run ----------------------------------------------------------------

struct RunResult {
    std::string system;
    bool done = false;
    std::string error;
    double wall = 0;
    double cluster_cpu = 0;
    double agents_cpu = 0;
    std::map<std::string, double> cluster_by_name;
    double load_start = 0, load_mean = 0, load_max = 0;
    std::size_t started = 0;  // expected starts recorded at the end
};

// The started keys the status records now (empty when the query fails or finds none).
std::set<std::string> recorded_starts()
{
    auto r = run_command({"cibadmin", "-Q", "--xpath", "//lrm_rsc_op[@operation='start' and @rc-code='0']"},
                         nullptr, kToolTimeout);
    std::set<std::string> keys;
    if (!r || !r->succeeded()) return keys;
    auto xml = XmlQuery::parse(r->output);
    if (!xml) return keys;
    for (auto& key : xml->strings("//lrm_rsc_op/@operation_key"))
        keys.insert(std::move(key));
    return keys;
}

// Every Dummy rK_J active on guestK, and only there (crm_mon).
std::string misplaced(const Options& o)
{
    auto r = run_command({"crm_mon", "-1", "--output-as=xml"}, nullptr, kToolTimeout);
    auto mon = parse_crm_mon(r);
    if (!mon) return "crm_mon: " + mon.error().message;
    for (unsigned k = 1; k <= o.guests; ++k)
        for (unsigned j = 1; j <= o.per_guest; ++j) {
            const std::string r_id = "r" + std::to_string(k) + "_" + std::to_string(j);
            const auto nodes = mon->resource_nodes(r_id);
            if (nodes != std::vector<std::string>{"guest" + std::to_string(k)})
                return r_id + " is not (only) on guest" + std::to_string(k);
        }
    return {};
}

// Pushes the configuration and waits until everything is started; CPU of the trees under
// `roots` (and of the agents) from just before the push to then.
void measure(const Options& o, const fs::path& config_file, const std::vector<pid_t>& roots,
             BenchGuests& guests, RunResult& result)
{
    const auto expected = expected_starts(o);
    const auto before = tree_of(roots, {});
    result.load_start = load_average();
    const auto pushed_at = Clock::now();
    auto pushed =
        run_command({"cibadmin", "--replace", "-o", "configuration", "--xml-file", config_file.string()},
                    nullptr, kToolTimeout);
    if (!pushed || !pushed->succeeded()) {
        result.error = "cibadmin --replace: " + (pushed ? pushed->describe() : pushed.error().message);
        return;
    }
    double load_sum = 0;
    unsigned samples = 0;
    std::size_t last_count = 0;
    auto last_report = Clock::now();
    for (;;) {
        const double load = load_average();
        load_sum += load;
        ++samples;
        result.load_max = std::max(result.load_max, load);
        const auto recorded = recorded_starts();
        std::size_t count = 0;
        for (const auto& key : expected)
            count += recorded.count(key);
        last_count = count;
        if (count == expected.size()) {
            const double at = seconds_since(pushed_at);
            if (const std::string wrong = misplaced(o); wrong.empty()) {
                result.wall = at;
                result.done = true;
                break;
            } else if (seconds_since(pushed_at) > static_cast<double>(o.timeout.count())) {
                result.error = wrong;
                break;
            }
        }
        if (g_interrupted) {
            result.error = "interrupted";
            break;
        }
        if (seconds_since(pushed_at) > static_cast<double>(o.timeout.count())) {
            result.error = "timed out after " + std::to_string(o.timeout.count()) + " s";
            break;
        }
        if (seconds_since(last_report) >= 10) {
            (void)std::fprintf(stderr, "  %s: %zu of %zu starts recorded after %.0f s (load %.1f)\n",
                               result.system.c_str(), count, expected.size(), seconds_since(pushed_at), load);
            last_report = Clock::now();
        }
        // The poll rounds the figure up by up to one interval: a tenth of the time so far
        // (at least 100 ms, at most --poll-ms) keeps that under about 10% for a fast run
        // without adding many queries to a slow one.
        const auto so_far = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pushed_at);
        std::this_thread::sleep_for(std::clamp(so_far / 10, std::chrono::milliseconds(100), o.poll));
    }
    result.started = last_count;
    result.load_mean = samples > 0 ? load_sum / samples : 0;
    const auto agent_pids = guests.agent_pids();
    const std::set<pid_t> agents(agent_pids.begin(), agent_pids.end());
    const auto after = tree_of(roots, agents);
    result.cluster_cpu = cpu_between(before, after, result.cluster_by_name);
    for (const pid_t pid : agent_pids)
        if (auto p = read_cpu(pid)) result.agents_cpu += p->seconds;  // started after the push
}

void run_pacemaker(const Options& o, const UniqueFd& lock, const TempDir& dir, const fs::path& authkey,
                   BenchGuests& guests, RunResult& result)
{
    ClusterOptions options;
    options.properties = {};
    auto cluster = ClusterHarness::start(UniqueFd(::dup(lock.get())), options);
    if (!cluster) {
        result.error = "cluster: " + cluster.error().message;
        return;
    }
    // The guests' key is the cluster's (the CIB names the same file in both runs).
    auto key = read_file(kSharedAuthkeyPath);
    if (!key) {
        result.error = key.error().message;
        return;
    }
    if (auto w = write_file(authkey, *key, 0600); !w) {
        result.error = w.error().message;
        return;
    }
    const fs::path config = dir.write("pacemaker-configuration.xml", configuration(o, guests, kClusterNode));
    measure(o, config, {(*cluster)->pacemakerd_pid(), (*cluster)->corosync_pid()}, guests, result);
    if (!result.done) (void)std::fprintf(stderr, "%s\n", (*cluster)->crm_mon_text().c_str());
    // Stopping leaves the resources running (maintenance): the guests' own teardown is faster.
    (void)(*cluster)->tool({"crm_attribute", "-t", "crm_config", "-n", "maintenance-mode", "-v", "true"});
    if (auto s = (*cluster)->stop(); !s)
        (void)std::fprintf(stderr, "cluster stop: %s\n", s.error().message.c_str());
}

void run_controld(const Options& o, const TempDir& dir, const fs::path& authkey, BenchGuests& guests,
                  RunResult& result)
{
    const fs::path state = dir / "controld";
    const fs::path host_run = dir / "controld-run";
    fs::create_directories(state);
    fs::create_directories(host_run);
    SpawnOptions spawn;
    spawn.argv = {env_or_empty("OUTPOST_CONTROLD"), "--cib-file", (state / "cib.xml").string(), "--node-name",
                  kClusterNode};
    spawn.env = {{"PCMK_authkey_location", authkey.string()},
                 {"HA_VARRUN", host_run.string()},
                 {"HA_RSCTMP", host_run.string()}};
    spawn.log_file = dir / "controld.log";
    auto daemon = Process::spawn(spawn);
    if (!daemon) {
        result.error = "outpost-controld: " + daemon.error().message;
        return;
    }
    const auto deadline = Clock::now() + 30s;
    for (;;) {
        auto q = run_command({"cibadmin", "-Q", "-o", "nodes"}, nullptr, kToolTimeout);
        if (q && q->succeeded()) break;
        if (!daemon->is_running() || Clock::now() > deadline) {
            result.error = "outpost-controld did not serve the CIB: " + file_tail(spawn.log_file, 2000);
            return;
        }
        std::this_thread::sleep_for(100ms);
    }
    const fs::path config = dir.write("controld-configuration.xml", configuration(o, guests, kClusterNode));
    measure(o, config, {daemon->pid()}, guests, result);
    if (!result.done) {
        auto mon = run_command({"crm_mon", "-1"}, nullptr, kToolTimeout);
        if (mon) (void)std::fprintf(stderr, "%s\n", mon->output.c_str());
    }
    (void)daemon->stop();
}

void on_signal(int /*sig*/)
{
    g_interrupted = true;
}

std::string fixed(double v, int decimals = 1)
{
    char buf[64];
    (void)std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

void print_table(const Options& o, const std::vector<RunResult>& results)
{
    const std::size_t resources = static_cast<std::size_t>(o.guests) * (o.per_guest + 2);
    std::printf(
        "bench-controld-scale: N=%u guest nodes, M=%u ocf:heartbeat:Dummy each, %zu resources "
        "(containers, connections, Dummies), discovery=%s, %u cores\n",
        o.guests, o.per_guest, resources, o.discovery.c_str(), std::thread::hardware_concurrency());
    std::printf("%-10s %10s %14s %13s %22s  %s\n", "system", "wall s", "cluster CPU s", "agents CPU s",
                "load start/mean/max", "result");
    for (const auto& r : results) {
        const std::string load = fixed(r.load_start) + "/" + fixed(r.load_mean) + "/" + fixed(r.load_max);
        std::printf("%-10s %10s %14s %13s %22s  %s\n", r.system.c_str(), r.done ? fixed(r.wall).c_str() : "-",
                    fixed(r.cluster_cpu).c_str(), fixed(r.agents_cpu).c_str(), load.c_str(),
                    r.done ? "all started" : r.error.c_str());
    }
    const RunResult* pcmk = nullptr;
    const RunResult* ours = nullptr;
    for (const auto& r : results)
        (r.system == "pacemaker" ? pcmk : ours) = &r;
    if (pcmk != nullptr && ours != nullptr && ours->done && ours->wall > 0 && ours->cluster_cpu > 0) {
        if (pcmk->done) {
            std::printf("ratio pacemaker/controld: wall %.1fx, cluster CPU %.1fx\n", pcmk->wall / ours->wall,
                        pcmk->cluster_cpu / ours->cluster_cpu);
        } else {
            std::printf("ratio pacemaker/controld: wall > %.1fx (pacemaker did not finish)\n",
                        static_cast<double>(o.timeout.count()) / ours->wall);
        }
    }
    for (const auto& r : results) {
        std::vector<std::pair<double, std::string>> parts;
        for (const auto& [name, s] : r.cluster_by_name)
            if (s >= 0.05) parts.emplace_back(s, name);
        std::sort(parts.rbegin(), parts.rend());
        std::printf("%s cluster CPU by process:", r.system.c_str());
        for (const auto& [s, name] : parts)
            std::printf(" %s %.1f", name.c_str(), s);
        std::printf("\n");
    }
    (void)std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv)
{
    auto parsed = parse_options(argc, argv);
    if (!parsed) {
        (void)std::fputs(kUsage, stderr);
        return 64;
    }
    const Options o = *parsed;
    if (auto why = root_and_netns_unavailable()) {
        report_skip("bench-controld-scale", *why);
        return kSkipExitCode;
    }
    const std::string agent = env_or_empty("OUTPOST_AGENT");
    const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
    if (agent.empty() || source.empty() ||
        (env_or_empty("OUTPOST_CONTROLD").empty() &&
         std::find(o.systems.begin(), o.systems.end(), "controld") != o.systems.end())) {
        report_skip("bench-controld-scale",
                    "OUTPOST_AGENT, OUTPOST_CONTROLD and OUTPOST_SOURCE_ROOT are needed");
        return kSkipExitCode;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    (void)::sigaction(SIGINT, &sa, nullptr);
    (void)::sigaction(SIGTERM, &sa, nullptr);

    // One hold of the cluster lock for the whole run: the cluster and outpost-controld
    // serve the same IPC names, and no other test's cluster may run meanwhile.
    auto lock = take_cluster_lock();
    if (!lock) {
        (void)std::fprintf(stderr, "%s\n", lock.error().message.c_str());
        return 1;
    }
    if (!find_processes_named("pacemakerd").empty()) {
        (void)std::fprintf(stderr, "a pacemakerd runs on this machine: not benchmarking beside it\n");
        return 1;
    }
    std::vector<RunResult> results;
    {
        TempDir dir("outpost-bench-scale");
        auto key = Authkey::create(dir / "authkey");
        if (!key) {
            (void)std::fprintf(stderr, "%s\n", key.error().message.c_str());
            return 1;
        }
        ContainerAgent container_agent{fs::path(source)};
        BenchGuests guests(dir.path(), o.guests, agent, key->path());
        for (const auto& problem : guests.stop_all())  // a crashed run's leftovers
            (void)std::fprintf(stderr, "before the run: %s\n", problem.c_str());
        for (const auto& system : o.systems) {
            if (g_interrupted) break;
            RunResult r;
            r.system = system;
            (void)std::fprintf(stderr, "%s: N=%u M=%u ...\n", system.c_str(), o.guests, o.per_guest);
            if (system == "pacemaker")
                run_pacemaker(o, *lock, dir, key->path(), guests, r);
            else
                run_controld(o, dir, key->path(), guests, r);
            const auto teardown = Clock::now();
            const auto problems = guests.stop_all();
            (void)std::fprintf(stderr, "%s: %s; teardown %.1f s\n", system.c_str(),
                               r.done ? ("all started in " + fixed(r.wall) + " s").c_str() : r.error.c_str(),
                               seconds_since(teardown));
            for (const auto& problem : problems)
                (void)std::fprintf(stderr, "  teardown: %s\n", problem.c_str());
            results.push_back(std::move(r));
        }
        if (o.keep) dir.keep();  // last: it forgets the path
    }
    print_table(o, results);
    bool ok = results.size() == o.systems.size();
    for (const auto& r : results)
        ok = ok && r.done && r.wall > 0 && r.cluster_cpu > 0 && r.agents_cpu > 0 &&
             r.started == expected_starts(o).size();
    return ok ? 0 : 1;
}
