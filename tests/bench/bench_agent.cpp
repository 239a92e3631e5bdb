// bench-agent: outpost-agent against the real pacemaker-remoted 2.1.5, side by side.
//
// Both daemons run at the same time, each in its own network namespace (GuestDaemon), with
// the same trivial OCF agent (a /bin/sh script that exits 0, installed under a provider
// directory of its own and removed at the end) and the same asynchronous client
// (io::Connection + wire messages). Measured, for each daemon:
//
//   * connect-to-registered: TCP connect + TLS handshake + register reply (median);
//   * throughput at 1, 8 and 32 resources in flight: N resources, each with exactly one
//     `monitor` (interval 0) exec outstanding at all times; completions (exec notifies)
//     counted over a fixed window;
//   * latency (exec request sent -> exec notify received), p50 and p99, at 1 in flight;
//   * resident memory (VmRSS) after the windows; for outpost-agent also over a run of
//     10,000 further operations, sampled 10 times (did RssAnon grow in the second half?
//     see kRssAnonGrowthToleranceKb). pacemaker-remoted does about 11 ops/s, so it only
//     gets the windows (10,000 ops would take 15 minutes).
//
// Plus the baseline: the time to run the agent directly (fork + exec + wait, median).
// The results are printed as a table with outpost/remoted ratios and checked against the
// targets; a missed target fails the run only with OUTPOST_BENCH_ENFORCE=1, since a
// shared CI machine is noisy. Needs root and network namespaces (exit 77 otherwise).
//
// Environment: OUTPOST_BENCH_WINDOW (seconds per throughput window, default 10),
// OUTPOST_BENCH_MEMORY_OPS (default 10000), OUTPOST_BENCH_ENFORCE=1, plus the harness's
// OUTPOST_AGENT / OUTPOST_REMOTED.
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "harness/harness.hpp"
#include "io/connection.hpp"
#include "io/source.hpp"
#include "support/main_loop.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;
using outpost::test::ContextPtr;

// The levels of concurrency measured (resources with one exec outstanding each).
constexpr std::array<int, 3> kInFlight{1, 8, 32};
constexpr int kMaxInFlight = 32;
// Default throughput window per daemon and level; pacemaker-remoted completes about
// 110 operations in 10 s, enough for a stable rate and a p99 at 1 in flight.
constexpr int kDefaultWindowSeconds = 10;
// The pipelined client drives both daemons at hundreds of ops/s: 5 s is plenty.
constexpr int kDefaultPipelinedWindowSeconds = 5;
constexpr int kDefaultMemoryOps = 10000;
constexpr int kConnectSamples = 10;
constexpr int kDirectRunSamples = 100;
constexpr int kDirectRunWarmup = 5;
// Generous: pacemaker-remoted at 32 in flight takes about 3 s per operation.
constexpr auto kOpTimeout = 60s;
constexpr std::uint32_t kExecTimeoutMs = 20000;
constexpr auto kReplyTimeout = 10s;

// The targets of the issue (2-core machine).
constexpr double kThroughputTarget = 8.0;  // outpost ops/s at 8 in flight >= 8x remoted's
constexpr double kLatencyTarget = 1.5;     // outpost p50 at 1 in flight <= 1.5x direct run
constexpr double kMemoryTarget = 0.5;      // outpost RSS <= half of remoted's
// "No growth" over the memory run is judged on RssAnon (the daemon's private heap and
// stack pages) between its half and its end, not on VmRSS: VmRSS also counts shared
// library pages, which grow whenever a code path runs for the first time, whatever the
// daemon allocates. Even RssAnon creeps without a leak: glibc's heap keeps 300-350 kB of
// free chunks inside an extent that stops growing after the first few thousand
// operations, and a page of it counts only once first written (measured with mallinfo2
// from an LD_PRELOAD probe: in-use heap flat at ~540 kB in a constant 864 kB extent; over
// 100,000 ops RssAnon rose 72 kB, 12 kB of it in the second 50,000, with the "heap
// extent" printed below unchanged; valgrind: 0 bytes definitely lost). The tolerance
// is 8 pages: the default run's 5,000-op second half showed 0 to +12 kB. What the check
// can catch: a leak first fills those resident free chunks, so only one above about
// (350 + 32) kB / 5,000 ops = 78 bytes per operation is certain to fail it; a longer run
// (OUTPOST_BENCH_MEMORY_OPS=100000: about 4 bytes per operation) or valgrind
// --leak-check=full on the agent is the tool for smaller ones.
constexpr long kRssAnonGrowthToleranceKb = 32;
// The memory run is sampled this many times (RssAnon, RssFile) to show the trend.
constexpr int kMemorySamples = 10;
constexpr int kTargetLevel = 8;

const char* const kAgentScript = "#!/bin/sh\n# outpost bench-agent: succeeds at every action\nexit 0\n";
const char* const kAgentType = "noop";
const char* const kOcfResourceDir = "/usr/lib/ocf/resource.d";

[[noreturn]] void die(const std::string& what)
{
    (void)std::fprintf(stderr, "bench-agent: %s\n", what.c_str());
    std::exit(1);
}

int env_int(const char* name, int fallback)
{
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return fallback;
    char* end = nullptr;
    long parsed = std::strtol(value, &end, 10);
    if (*end != '\0' || parsed <= 0 || parsed > 1000000) die(std::string(name) + ": not a positive number");
    return static_cast<int>(parsed);
}

double percentile(std::vector<double> values, double p)
{
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    rank = std::clamp<std::size_t>(rank, 1, values.size());
    return values[rank - 1];
}

double median(std::vector<double> values)
{
    return percentile(std::move(values), 0.5);
}

// A "Name:   123 kB" field of /proc/PID/<file> in kB, 0 if unreadable.
long proc_kb(pid_t pid, const char* file, const std::string& field)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/" + file);
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
    return 0;
}

// VmRSS: every resident page mapped, shared library pages included.
long rss_kb(pid_t pid)
{
    return proc_kb(pid, "status", "VmRSS");
}
// RssAnon: the private heap/stack part of it.
long rss_anon_kb(pid_t pid)
{
    return proc_kb(pid, "status", "RssAnon");
}
// Pss: shared pages divided among the processes sharing them.
long pss_kb(pid_t pid)
{
    return proc_kb(pid, "smaps_rollup", "Pss");
}

// Size of the [heap] mapping (the brk heap's extent, resident or not) in kB, 0 if none.
long heap_extent_kb(pid_t pid)
{
    std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
    std::string line;
    bool in_heap = false;
    while (std::getline(smaps, line)) {
        if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) != 0 &&
            line.find('-') != std::string::npos && line.find(' ') > line.find('-')) {
            in_heap = line.ends_with("[heap]");
        } else if (in_heap && line.rfind("Size:", 0) == 0) {
            return std::strtol(line.c_str() + 5, nullptr, 10);
        }
    }
    return 0;
}

struct MemorySample {
    long ops = 0;
    long vm_rss = 0;
    long rss_anon = 0;
    long rss_file = 0;
    long heap_extent = 0;
};

MemorySample memory_sample(pid_t pid, long ops)
{
    return MemorySample{ops, rss_kb(pid), rss_anon_kb(pid), proc_kb(pid, "status", "RssFile"),
                        heap_extent_kb(pid)};
}

// User + system CPU time of the process itself (not its children), in ms.
double cpu_ms(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return 0.0;
    std::istringstream fields(text.substr(close + 2));
    std::string skip;
    // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
    for (int field = 3; field < 14; ++field)
        fields >> skip;
    unsigned long long utime = 0, stime = 0;
    fields >> utime >> stime;
    return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The trivial OCF agent, under a provider directory unique to this run; removed on
// destruction (and by the signal handler below if the run is interrupted).
std::string g_provider_dir;  // for the signal handler

void remove_provider_dir()
{
    if (g_provider_dir.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(g_provider_dir, ignored);
    g_provider_dir.clear();
}

extern "C" void on_fatal_signal(int sig)
{
    // Not async-signal-safe in theory; good enough to avoid littering
    // /usr/lib/ocf/resource.d when someone presses ^C on a benchmark.
    remove_provider_dir();
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

class AgentInstall {
public:
    AgentInstall()
    {
        provider_ = "outpost-bench-" + std::to_string(getpid());
        dir_ = std::string(kOcfResourceDir) + "/" + provider_;
        std::filesystem::create_directories(dir_);
        g_provider_dir = dir_;
        (void)signal(SIGINT, on_fatal_signal);
        (void)signal(SIGTERM, on_fatal_signal);
        auto written = test::write_file(path(), kAgentScript, 0755);
        if (!written) die(written.error().describe());
    }
    AgentInstall(const AgentInstall&) = delete;
    AgentInstall& operator=(const AgentInstall&) = delete;
    ~AgentInstall() { remove_provider_dir(); }

    [[nodiscard]] const std::string& provider() const { return provider_; }
    [[nodiscard]] std::string path() const { return dir_ + "/" + kAgentType; }

private:
    std::string provider_;
    std::string dir_;
};

// Baseline: fork + exec of the agent with the OCF environment a daemon would give it,
// output to /dev/null, waited for.
std::vector<double> direct_run_samples(const AgentInstall& agent)
{
    std::string path = agent.path();
    std::vector<std::string> env_strings{
        "OCF_ROOT=/usr/lib/ocf",
        "OCF_RA_VERSION_MAJOR=1",
        "OCF_RA_VERSION_MINOR=1",
        "OCF_RESOURCE_INSTANCE=rsc-0",
        "OCF_RESOURCE_TYPE=noop",
        "OCF_RESOURCE_PROVIDER=" + agent.provider(),
        "OCF_RESKEY_CRM_meta_timeout=20000",
        "OCF_RESKEY_crm_feature_set=3.16.2",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    };
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string action = "monitor";
    std::array<char*, 3> argv{path.data(), action.data(), nullptr};
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) die("cannot open /dev/null");

    std::vector<double> samples;
    for (int i = 0; i < kDirectRunWarmup + kDirectRunSamples; ++i) {
        auto begin = Clock::now();
        pid_t pid = fork();
        if (pid < 0) die("fork failed");
        if (pid == 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            dup2(null_fd, 2);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
        }
        auto end = Clock::now();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the agent failed when run directly");
        if (i >= kDirectRunWarmup) samples.push_back(Ms(end - begin).count());
    }
    close(null_fd);
    return samples;
}

// A periodic wake-up of the loop while a client waits: long enough not to add work of its
// own to the measured windows.
constexpr auto kWaitTick = 50ms;

// How the client talks (both daemons get the same one).
enum class ClientMode {
    // As Pacemaker 2.1.5's controller does through liblrmd: Nagle left on, no quick ACKs,
    // and each request waits for its reply before the next one is sent (exec calls are
    // synchronous there; the results still come back asynchronously as notifies).
    controller,
    // Our own client at full speed: TCP_NODELAY + quick ACKs, requests pipelined.
    pipelined,
};

const char* mode_name(ClientMode mode)
{
    return mode == ClientMode::controller ? "controller-like" : "pipelined";
}

// One executor client on one daemon: register, resources, execs kept in flight.
class BenchClient {
public:
    BenchClient(GMainContext* context, const test::GuestDaemon& daemon, std::string name, ClientMode mode)
        : context_(context), daemon_(daemon), name_(std::move(name)), mode_(mode)
    {
        auto tls = tls::TlsContext::psk_client(tls::Authkey(daemon.authkey().bytes()));
        if (!tls) die(tls.error().describe());
        tls_.emplace(std::move(*tls));
    }

    // TCP connect + TLS + register reply; returns the time it took.
    double connect_and_register()
    {
        auto begin = Clock::now();
        io::ConnectOptions options;
        options.low_latency_tcp = mode_ == ClientMode::pipelined;
        auto connected = test::RawClient::connect(context_, daemon_.address(), daemon_.port(), *tls_, options,
                                                  kReplyTimeout);
        if (!connected) die(name_ + ": connect failed: " + connected.error().describe());
        connection_ = std::move(connected).value();
        connection_->on_message([this](const std::string& xml) { on_message(xml); });
        connection_->on_close([this](const Error& e) { die(name_ + ": connection lost: " + e.describe()); });
        wire::Request hello = request(wire::Op::register_client);
        hello.client_name = "outpost-bench-agent";
        hello.protocol_version = std::string(wire::kProtocolVersion);
        wire::Reply reply = call(std::move(hello));
        if (reply.rc != 0) die(name_ + ": register failed with rc " + std::to_string(reply.rc));
        return Ms(Clock::now() - begin).count();
    }

    void disconnect()
    {
        if (connection_) connection_->close();
        connection_.reset();
        waiting_for_reply_ = false;
        send_queue_.clear();
    }

    // Registers resources rsc-0 .. rsc-(n-1) (re-registering an identical definition
    // is a no-op for both daemons).
    void ensure_resources(int n, const std::string& provider)
    {
        while (static_cast<int>(resources_.size()) < n) {
            Resource rsc;
            rsc.id = "rsc-" + std::to_string(resources_.size());
            rsc.exec = exec_request(rsc.id);
            resources_.push_back(std::move(rsc));
        }
        for (int i = registered_; i < n; ++i) {
            wire::Request reg = request(wire::Op::rsc_register);
            reg.rsc.emplace();
            reg.rsc->id = resources_[static_cast<std::size_t>(i)].id;
            reg.rsc->rsc_class = "ocf";
            reg.rsc->provider = provider;
            reg.rsc->type = kAgentType;
            reg.rsc->origin = "lrmd_api_register_rsc";
            wire::Reply reply = call(std::move(reg));
            if (reply.rc != 0)
                die(name_ + ": registering " + resources_[static_cast<std::size_t>(i)].id +
                    " failed with rc " + std::to_string(reply.rc));
        }
        registered_ = std::max(registered_, n);
    }

    struct Window {
        int in_flight = 0;
        double seconds = 0;
        long completed = 0;
        double ops_per_second = 0;
        std::vector<double> latencies_ms;
        double daemon_cpu_ms = 0;  // the daemon's own CPU time during the window
        [[nodiscard]] double cpu_per_op() const
        {
            return completed > 0 ? daemon_cpu_ms / static_cast<double>(completed) : 0.0;
        }
    };

    // Keeps `n` execs in flight for `window`, counting completions that arrive within it,
    // then lets the outstanding ones finish (uncounted). Every resource runs one op first
    // (warm-up) so the window measures the steady state.
    Window measure(int n, Clock::duration window, const std::string& provider)
    {
        ensure_resources(n, provider);
        run_ops(n, n);  // warm-up: one op per resource
        Window result;
        result.in_flight = n;
        pid_t pid = daemon_pid();
        double cpu_before = cpu_ms(pid);
        counting_ = true;
        latencies_.clear();
        completed_ = 0;
        auto begin = Clock::now();
        deadline_ = begin + window;
        for (int i = 0; i < n; ++i)
            send_exec(resources_[static_cast<std::size_t>(i)]);
        if (!test::run_until(
                context_, [&] { return Clock::now() >= deadline_; },
                std::chrono::duration_cast<std::chrono::milliseconds>(window + kOpTimeout), kWaitTick))
            die(name_ + ": window did not end");
        result.seconds = std::chrono::duration<double>(window).count();
        result.completed = completed_;
        result.ops_per_second = static_cast<double>(completed_) / result.seconds;
        result.latencies_ms = std::move(latencies_);
        result.daemon_cpu_ms = cpu_ms(pid) - cpu_before;
        counting_ = false;
        if (!test::run_until(
                context_, [&] { return outstanding_ == 0; }, kOpTimeout, kWaitTick))
            die(name_ + ": operations still outstanding after the window");
        return result;
    }

    // Runs `total` operations with `n` in flight; `at` is called (with the count) each
    // time the completed count reaches one of `checkpoints`.
    void run_ops(int n, long total, const std::vector<long>& checkpoints = {},
                 const std::function<void(long)>& at = {})
    {
        completed_ = 0;
        target_ = total;
        checkpoints_ = checkpoints;
        at_checkpoint_ = at;
        issued_ = 0;
        deadline_ = Clock::time_point::max();
        for (int i = 0; i < n && issued_ < target_; ++i) {
            ++issued_;
            send_exec(resources_[static_cast<std::size_t>(i)]);
        }
        auto limit = kOpTimeout + std::chrono::seconds(total / 2);
        if (!test::run_until(
                context_, [&] { return outstanding_ == 0; }, limit, kWaitTick))
            die(name_ + ": " + std::to_string(total) + " operations did not finish");
        target_ = -1;
        checkpoints_.clear();
        at_checkpoint_ = {};
    }

    // One operation on each registered resource in turn, `n` in flight.
    void run_each(int n)
    {
        spread_ = true;
        run_ops(n, registered_);
        spread_ = false;
    }

    [[nodiscard]] pid_t daemon_pid() const { return const_cast<test::GuestDaemon&>(daemon_).process().pid(); }
    [[nodiscard]] long total_completed() const { return total_completed_; }

private:
    struct Resource {
        std::string id;
        wire::Request exec;
        Clock::time_point sent{};
        bool busy = false;
    };

    static wire::Request request(wire::Op op)
    {
        wire::Request r;
        r.op = op;
        r.op_name = std::string(wire::op_info(op).name);
        r.callopts = 0;
        r.timeout_ms = 0;
        return r;
    }

    // A probe-style monitor as the 2.1.5 controller sends it (docs/protocol.md 3.8).
    static wire::Request exec_request(const std::string& rsc_id)
    {
        wire::Request r = request(wire::Op::rsc_exec);
        r.callopts = 4;
        r.timeout_ms = kExecTimeoutMs;
        r.rsc.emplace();
        r.rsc->id = rsc_id;
        r.rsc->action = "monitor";
        r.rsc->userdata = "0:7:7:bench-" + rsc_id;
        r.rsc->interval_ms = 0;
        r.rsc->timeout_ms = kExecTimeoutMs;
        r.rsc->start_delay_ms = 0;
        r.rsc->origin = "lrmd_api_exec";
        r.rsc->params.insert("CRM_meta_timeout", std::to_string(kExecTimeoutMs));
        r.rsc->params.insert("crm_feature_set", "3.16.2");
        return r;
    }

    std::uint64_t send(wire::Request& r)
    {
        r.msg_id = ++last_msg_id_;
        auto sent = connection_->send_xml(wire::encode(r));
        if (!sent) die(name_ + ": send failed: " + sent.error().describe());
        return r.msg_id;
    }

    wire::Reply call(wire::Request r)
    {
        std::uint64_t id = send(r);
        awaited_.insert(id);
        if (!test::run_until(
                context_, [&] { return replies_.count(id) != 0; }, kReplyTimeout, kWaitTick))
            die(name_ + ": no reply to " + r.op_name);
        wire::Reply reply = std::move(replies_[id]);
        replies_.erase(id);
        return reply;
    }

    void send_exec(Resource& rsc)
    {
        rsc.busy = true;
        ++outstanding_;
        send_queue_.push_back(&rsc);
        pump();
    }

    // Sends queued execs: all at once when pipelining, else the next one only after the
    // previous one's reply.
    void pump()
    {
        while (!send_queue_.empty() && !waiting_for_reply_) {
            Resource* rsc = send_queue_.front();
            send_queue_.pop_front();
            rsc->sent = Clock::now();
            send(rsc->exec);
            waiting_for_reply_ = mode_ == ClientMode::controller;
        }
    }

    void on_message(const std::string& xml)
    {
        auto now = Clock::now();
        auto decoded = wire::decode_message(xml);
        if (!decoded) die(name_ + ": undecodable message: " + decoded.error().describe());
        if (auto* reply = std::get_if<wire::Reply>(&*decoded)) {
            if (awaited_.erase(reply->msg_id) != 0) {
                replies_[reply->msg_id] = std::move(*reply);
                return;
            }
            // Exec replies (not waited for by call()) carry the call id; <= 0 is a refusal.
            if (reply->rc <= 0) die(name_ + ": exec refused with rc " + std::to_string(reply->rc));
            waiting_for_reply_ = false;
            pump();
            return;
        }
        auto* done = std::get_if<wire::ExecNotify>(&*decoded);
        if (done == nullptr) return;  // generic notifies (register)
        if (done->exec_rc != 0 || done->op_status != wire::ExecStatus::done)
            die(name_ + ": " + done->rsc_id + " monitor ended with rc " + std::to_string(done->exec_rc) +
                " status " + std::to_string(static_cast<int>(done->op_status)) + " (" +
                done->exit_reason.value_or("") + ")");
        Resource* rsc = find(done->rsc_id);
        if (rsc == nullptr || !rsc->busy) die(name_ + ": unexpected notify for " + done->rsc_id);
        rsc->busy = false;
        --outstanding_;
        ++total_completed_;
        ++completed_;
        if (counting_) {
            if (now <= deadline_) {
                latencies_.push_back(Ms(now - rsc->sent).count());
                send_exec(*rsc);
            } else {
                --completed_;  // finished after the window
            }
            return;
        }
        if (!checkpoints_.empty() && completed_ == checkpoints_.front()) {
            checkpoints_.erase(checkpoints_.begin());
            if (at_checkpoint_) at_checkpoint_(completed_);
        }
        if (issued_ < target_) {
            // Spread: the next resource in turn (the one issued_ names is idle: fewer are in
            // flight than are registered); otherwise the one that just finished again.
            Resource& next = spread_ ? resources_[static_cast<std::size_t>(issued_ % registered_)] : *rsc;
            ++issued_;
            send_exec(next);
        }
    }

    Resource* find(const std::string& id)
    {
        // rsc-<index>
        if (id.rfind("rsc-", 0) != 0) return nullptr;
        std::size_t index = std::strtoul(id.c_str() + 4, nullptr, 10);
        return index < resources_.size() ? &resources_[index] : nullptr;
    }

    GMainContext* context_;
    const test::GuestDaemon& daemon_;
    std::string name_;
    ClientMode mode_;
    std::optional<tls::TlsContext> tls_;
    std::unique_ptr<test::RawClient> connection_;
    std::uint64_t last_msg_id_ = 0;
    std::set<std::uint64_t> awaited_;  // msg ids call() waits for
    std::map<std::uint64_t, wire::Reply> replies_;
    std::vector<Resource> resources_;
    int registered_ = 0;
    std::deque<Resource*> send_queue_;
    bool waiting_for_reply_ = false;
    int outstanding_ = 0;
    long total_completed_ = 0;
    long completed_ = 0;
    long issued_ = 0;
    long target_ = -1;
    std::vector<long> checkpoints_;
    std::function<void(long)> at_checkpoint_;
    bool counting_ = false;
    bool spread_ = false;  // run_each(): issue to the next resource, not the same one
    Clock::time_point deadline_{};
    std::vector<double> latencies_;
};

// What one client mode measured on one daemon.
struct ModeResults {
    std::vector<double> connect_ms;
    std::map<int, BenchClient::Window> windows;
    [[nodiscard]] double p50() const { return median(windows.at(1).latencies_ms); }
    [[nodiscard]] double p99() const { return percentile(windows.at(1).latencies_ms, 0.99); }
};

std::string fmt(const char* format, double value)
{
    std::array<char, 64> buf{};
    // A figure longer than the buffer is cut short, which is fine for a table cell.
    (void)std::snprintf(buf.data(), buf.size(), format, value);
    return buf.data();
}

void row(const std::string& label, const std::string& remoted, const std::string& outpost,
         const std::string& ratio)
{
    std::printf("  %-36s %16s %16s %14s\n", label.c_str(), remoted.c_str(), outpost.c_str(), ratio.c_str());
}

std::string version_of(const std::string& binary)
{
    auto out = test::run_command({binary, "--version"}, nullptr, 10s);
    if (!out || out->output.empty()) return "?";
    std::string first = out->output.substr(0, out->output.find('\n'));
    return first;
}

// bench-agent isolation (docs/benchmarks.md, "Isolation and metrics"): two outpost-agents
// side by side, one with per-resource cgroups (OUTPOST_isolation=yes, the default, and
// OUTPOST_metrics_address set) and one without (OUTPOST_isolation=no); the pipelined client
// at 8 and 32 in flight, windows alternating between the two, twice each; then 1,000
// resources registered on each with one operation each (so each has its cgroup on the one
// with isolation), VmRSS of both, and the time a GET /metrics takes with those 1,000 cgroups.
constexpr std::array<int, 2> kIsolationInFlight{8, 32};
constexpr int kIsolationRounds = 2;
constexpr int kManyResources = 1000;
constexpr int kScrapeSamples = 9;
constexpr std::uint16_t kBenchMetricsPort = 9673;
constexpr double kIsolationTarget = 0.8;  // ops/s with isolation >= 0.8x without

int isolation_main()
{
    if (auto reason = test::root_and_netns_unavailable())
        test::skip_executable("bench-agent isolation", *reason);
    auto agent_binary = test::agent_path();
    if (!agent_binary)
        test::skip_executable("bench-agent isolation", "outpost-agent is not built (OUTPOST_AGENT unset)");
    if (!std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") &&
        !std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"))
        test::skip_executable("bench-agent isolation", "no cgroup hierarchy mounted");
    const char* enforce_env = std::getenv("OUTPOST_BENCH_ENFORCE");
    const bool enforce = enforce_env != nullptr && std::string(enforce_env) == "1";
    const auto window =
        std::chrono::seconds(env_int("OUTPOST_BENCH_PIPELINED_WINDOW", kDefaultPipelinedWindowSeconds));
    AgentInstall agent;

    const std::array<const char*, 2> names{"isolation off", "isolation on"};
    std::array<std::unique_ptr<test::GuestDaemon>, 2> daemons;
    for (std::size_t d = 0; d < 2; ++d) {
        test::GuestDaemonOptions options;
        options.binary = *agent_binary;
        options.env = {{"OUTPOST_isolation", d == 0 ? "no" : "yes"},
                       {"OUTPOST_cgroup_parent", "outpost-bench-" + std::to_string(getpid())}};
        if (d == 1) options.env.emplace_back("OUTPOST_metrics_address", "0.0.0.0");
        auto started = test::GuestDaemon::start(options);
        if (!started) die(std::string(names[d]) + ": " + started.error().describe());
        daemons[d] = std::move(*started);
    }
    ContextPtr context(g_main_context_new());
    g_main_context_push_thread_default(context.get());
    std::array<std::unique_ptr<BenchClient>, 2> clients;
    for (std::size_t d = 0; d < 2; ++d) {
        clients[d] =
            std::make_unique<BenchClient>(context.get(), *daemons[d], names[d], ClientMode::pipelined);
        clients[d]->connect_and_register();
    }

    std::map<int, std::array<double, 2>> ops;  // in flight -> [off, on] ops/s (mean of rounds)
    std::map<int, std::array<double, 2>> cpu;  // daemon CPU ms/op
    for (int n : kIsolationInFlight) {
        for (int round = 0; round < kIsolationRounds; ++round) {
            for (std::size_t d = 0; d < 2; ++d) {
                auto w = clients[d]->measure(n, window, agent.provider());
                std::printf(
                    "bench-agent isolation: %-13s %2d in flight: %6ld ops in %.0f s = %7.1f ops/s, p50 "
                    "%.2f ms (daemon CPU %.3f ms/op)\n",
                    names[d], n, w.completed, w.seconds, w.ops_per_second, median(w.latencies_ms),
                    w.cpu_per_op());
                (void)std::fflush(stdout);
                ops[n][d] += w.ops_per_second / kIsolationRounds;
                cpu[n][d] += w.cpu_per_op() / kIsolationRounds;
            }
        }
    }

    // 1,000 resources, one operation each: each gets its cgroup where isolation is on.
    std::array<long, 2> rss_before{};
    std::array<long, 2> rss_after{};
    std::array<long, 2> anon_after{};
    std::array<double, 2> many_seconds{};
    for (std::size_t d = 0; d < 2; ++d) {
        pid_t pid = clients[d]->daemon_pid();
        rss_before[d] = rss_kb(pid);
        auto begin = Clock::now();
        clients[d]->ensure_resources(kManyResources, agent.provider());
        clients[d]->run_ops(kManyResources, kManyResources);
        many_seconds[d] = std::chrono::duration<double>(Clock::now() - begin).count();
        rss_after[d] = rss_kb(pid);
        anon_after[d] = rss_anon_kb(pid);
    }
    std::vector<double> scrape_ms;
    std::size_t scrape_bytes = 0;
    for (int i = 0; i < kScrapeSamples; ++i) {
        auto begin = Clock::now();
        auto body = test::http_get(nullptr, daemons[1]->address(), kBenchMetricsPort, "/metrics");
        if (!body) die("GET /metrics: " + body.error().describe());
        scrape_ms.push_back(Ms(Clock::now() - begin).count());
        scrape_bytes = body->size();
        if (i == 0 &&
            body->find("outpost_agent_resource_memory_bytes{resource=\"rsc-999\"}") == std::string::npos)
            die("GET /metrics: no cgroup figures for rsc-999");
    }
    std::printf("bench-agent isolation: %d resources registered and run once in %.1f s (off) / %.1f s (on)\n",
                kManyResources, many_seconds[0], many_seconds[1]);

    std::printf("\n");
    row("", "isolation off", "isolation on", "on/off");
    for (int n : kIsolationInFlight) {
        row("ops/s, " + std::to_string(n) + " in flight", fmt("%.1f", ops[n][0]), fmt("%.1f", ops[n][1]),
            fmt("%.2fx", ops[n][1] / ops[n][0]));
        row("agent CPU ms/op, " + std::to_string(n) + " in flight", fmt("%.3f", cpu[n][0]),
            fmt("%.3f", cpu[n][1]), fmt("%.2fx", cpu[n][1] / cpu[n][0]));
    }
    row("VmRSS kB, 32 resources", std::to_string(rss_before[0]), std::to_string(rss_before[1]),
        fmt("%.2fx", static_cast<double>(rss_before[1]) / static_cast<double>(rss_before[0])));
    row("VmRSS kB, 1,000 resources (each with a cgroup when on)", std::to_string(rss_after[0]),
        std::to_string(rss_after[1]),
        fmt("%.2fx", static_cast<double>(rss_after[1]) / static_cast<double>(rss_after[0])));
    row("of which RssAnon kB", std::to_string(anon_after[0]), std::to_string(anon_after[1]),
        fmt("%.2fx", static_cast<double>(anon_after[1]) / static_cast<double>(anon_after[0])));
    // The first scrape reads every new resource's cgroup files; later ones render what the
    // refresh timer keeps (isolation/usage.hpp).
    row("GET /metrics ms, 1,000 cgroups, first", "-", fmt("%.1f", scrape_ms.front()), "");
    row("GET /metrics ms, later (median of " + std::to_string(kScrapeSamples - 1) + ")", "-",
        fmt("%.1f", median(std::vector<double>(scrape_ms.begin() + 1, scrape_ms.end()))), "");
    row("exposition bytes", "-", std::to_string(scrape_bytes), "");

    const double ratio = std::min(ops[8][1] / ops[8][0], ops[32][1] / ops[32][0]);
    const bool met = ratio >= kIsolationTarget;
    std::printf("\ntarget: ops/s with isolation >= %.1fx without (lowest level: %.2fx): %s\n",
                kIsolationTarget, ratio, met ? "met" : "MISSED");
    g_main_context_pop_thread_default(context.get());
    return met || !enforce ? 0 : 1;
}

// bench-agent memory (docs/benchmarks.md, "Memory with 1,000 resources"): the real
// pacemaker-remoted 2.1.5 and outpost-agent side by side, the same workload on each in one
// run: a client registers, then 1,000 resources are registered, each runs one monitor with 32
// in flight (as a controller paces them), then one more each with all 1,000 at once. The
// agent runs twice: as installed (per-resource cgroups, the default) and with
// OUTPOST_isolation=no, pacemaker-remoted's way.
// Each daemon's VmRSS, RssAnon, Pss and VmHWM (its peak) are read before and after, and
// printed with the outpost/remoted ratio. The target (RSS at most half of
// remoted's) fails the run only with OUTPOST_BENCH_ENFORCE=1. About 1 minute.
struct Footprint {
    long vm_rss = 0;
    long rss_anon = 0;
    long pss = 0;
    long vm_hwm = 0;
};

Footprint footprint(pid_t pid)
{
    return Footprint{rss_kb(pid), rss_anon_kb(pid), pss_kb(pid), proc_kb(pid, "status", "VmHWM")};
}

int memory_main()
{
    if (auto reason = test::root_and_netns_unavailable())
        test::skip_executable("bench-agent memory", *reason);
    auto agent_binary = test::agent_path();
    if (!agent_binary)
        test::skip_executable("bench-agent memory", "outpost-agent is not built (OUTPOST_AGENT unset)");
    auto remoted_binary = test::remoted_path();
    if (!remoted_binary)
        test::skip_executable("bench-agent memory",
                              "no pacemaker-remoted: " + remoted_binary.error().describe());
    const char* enforce_env = std::getenv("OUTPOST_BENCH_ENFORCE");
    const bool enforce = enforce_env != nullptr && std::string(enforce_env) == "1";
    AgentInstall agent;

    // The agent twice: as installed (per-resource cgroups on where the machine has them,
    // the default) and with OUTPOST_isolation=no, which is what pacemaker-remoted does.
    constexpr std::size_t kDaemons = 3;
    const std::array<const char*, kDaemons> names{"pacemaker-remoted", "outpost-agent",
                                                  "outpost-agent, isolation=no"};
    const std::array<std::string, kDaemons> binaries{*remoted_binary, *agent_binary, *agent_binary};
    std::array<std::unique_ptr<test::GuestDaemon>, kDaemons> daemons;
    for (std::size_t d = 0; d < kDaemons; ++d) {
        test::GuestDaemonOptions options;
        options.binary = binaries[d];
        // meson test sets MALLOC_PERTURB_, which makes glibc write every block it hands out
        // and takes back: not how either daemon runs in production.
        options.env = {{"MALLOC_PERTURB_", "0"}};
        if (d == 2) options.env.emplace_back("OUTPOST_isolation", "no");
        auto started = test::GuestDaemon::start(options);
        if (!started) die(std::string(names[d]) + ": " + started.error().describe());
        daemons[d] = std::move(*started);
    }
    ContextPtr context(g_main_context_new());
    g_main_context_push_thread_default(context.get());
    std::array<Footprint, kDaemons> idle{};
    std::array<Footprint, kDaemons> registered{};
    std::array<Footprint, kDaemons> bounded{};
    std::array<Footprint, kDaemons> monitored{};
    std::array<double, kDaemons> register_seconds{};
    std::array<double, kDaemons> bounded_seconds{};
    std::array<double, kDaemons> monitor_seconds{};
    // One daemon at a time, so each has the machine to itself while it works.
    for (std::size_t d = 0; d < kDaemons; ++d) {
        BenchClient client(context.get(), *daemons[d], names[d], ClientMode::pipelined);
        client.connect_and_register();
        const pid_t pid = client.daemon_pid();
        idle[d] = footprint(pid);
        auto begin = Clock::now();
        client.ensure_resources(kManyResources, agent.provider());
        register_seconds[d] = std::chrono::duration<double>(Clock::now() - begin).count();
        registered[d] = footprint(pid);
        begin = Clock::now();
        client.run_each(kMaxInFlight);
        bounded_seconds[d] = std::chrono::duration<double>(Clock::now() - begin).count();
        bounded[d] = footprint(pid);
        begin = Clock::now();
        client.run_ops(kManyResources, kManyResources);
        monitor_seconds[d] = std::chrono::duration<double>(Clock::now() - begin).count();
        monitored[d] = footprint(pid);
        std::printf(
            "bench-agent memory: %s: %d resources registered in %.1f s, a monitor each %d at a time "
            "in %.1f s, all at once in %.1f s\n",
            names[d], kManyResources, register_seconds[d], kMaxInFlight, bounded_seconds[d],
            monitor_seconds[d]);
        (void)std::fflush(stdout);
        client.disconnect();
    }
    g_main_context_pop_thread_default(context.get());

    auto ratio = [](long outpost, long remoted) {
        return fmt("%.2fx", static_cast<double>(outpost) / static_cast<double>(remoted));
    };
    auto line = [&](const std::string& label, long Footprint::*field,
                    const std::array<Footprint, kDaemons>& at) {
        std::printf("  %-34s %9ld %9ld %7s %9ld %7s\n", label.c_str(), at[0].*field, at[1].*field,
                    ratio(at[1].*field, at[0].*field).c_str(), at[2].*field,
                    ratio(at[2].*field, at[0].*field).c_str());
    };
    auto seconds = [&](const std::string& label, const std::array<double, kDaemons>& at) {
        std::printf("  %-34s %9.1f %9.1f %7s %9.1f\n", label.c_str(), at[0], at[1], "", at[2]);
    };
    std::printf("\n== memory, %d resources: outpost-agent vs pacemaker-remoted ==\n", kManyResources);
    std::printf("  remoted: %s; outpost: %s\n", version_of(*remoted_binary).c_str(),
                version_of(*agent_binary).c_str());
    std::printf("  %-34s %9s %9s %7s %9s %7s\n", "", "remoted", "outpost", "/remoted", "isol.=no",
                "/remoted");
    line("VmRSS kB, client registered", &Footprint::vm_rss, idle);
    line("VmRSS kB, 1,000 registered", &Footprint::vm_rss, registered);
    line("VmRSS kB, monitored 32 at a time", &Footprint::vm_rss, bounded);
    line("  RssAnon kB (private)", &Footprint::rss_anon, bounded);
    line("VmRSS kB, monitored all at once", &Footprint::vm_rss, monitored);
    line("  RssAnon kB (private)", &Footprint::rss_anon, monitored);
    line("  Pss kB (shared pages divided)", &Footprint::pss, monitored);
    line("VmHWM kB (peak)", &Footprint::vm_hwm, monitored);
    seconds("s to register 1,000", register_seconds);
    seconds("s for 1,000 monitors, 32 at a time", bounded_seconds);
    seconds("s for 1,000 monitors, all at once", monitor_seconds);
    const double mem_ratio =
        static_cast<double>(monitored[1].vm_rss) / static_cast<double>(monitored[0].vm_rss);
    const bool met = mem_ratio <= kMemoryTarget;
    std::printf("\ntarget: VmRSS with %d resources <= %.1fx remoted's (%.2fx; %.2fx with isolation=no): %s\n",
                kManyResources, kMemoryTarget, mem_ratio,
                static_cast<double>(monitored[2].vm_rss) / static_cast<double>(monitored[0].vm_rss),
                met ? "met" : "MISSED");
    return met || !enforce ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc > 1 && std::string(argv[1]) == "isolation") return isolation_main();
    if (argc > 1 && std::string(argv[1]) == "memory") return memory_main();

    if (auto reason = test::root_and_netns_unavailable()) test::skip_executable("bench-agent", *reason);
    auto agent_binary = test::agent_path();
    if (!agent_binary)
        test::skip_executable("bench-agent", "outpost-agent is not built (OUTPOST_AGENT unset)");
    auto remoted_binary = test::remoted_path();
    if (!remoted_binary)
        test::skip_executable("bench-agent", "no pacemaker-remoted: " + remoted_binary.error().describe());
    const char* enforce_env = std::getenv("OUTPOST_BENCH_ENFORCE");
    const bool enforce = enforce_env != nullptr && std::string(enforce_env) == "1";
    const std::map<ClientMode, std::chrono::seconds> windows{
        {ClientMode::controller,
         std::chrono::seconds(env_int("OUTPOST_BENCH_WINDOW", kDefaultWindowSeconds))},
        {ClientMode::pipelined,
         std::chrono::seconds(env_int("OUTPOST_BENCH_PIPELINED_WINDOW", kDefaultPipelinedWindowSeconds))},
    };
    const long memory_ops = env_int("OUTPOST_BENCH_MEMORY_OPS", kDefaultMemoryOps);
    const auto run_begin = Clock::now();

    AgentInstall agent;
    std::printf("bench-agent: agent %s (ocf:%s:%s)\n", agent.path().c_str(), agent.provider().c_str(),
                kAgentType);
    // Sampled now and again right after the 1-in-flight windows: the machine's load
    // drifts, and the latency target compares against this baseline.
    std::vector<double> direct_samples = direct_run_samples(agent);
    std::printf("bench-agent: direct fork+exec+wait of the agent: median %.2f ms over %d runs\n",
                median(direct_samples), kDirectRunSamples);
    (void)std::fflush(stdout);

    // Both daemons up side by side; only the one being measured has work at any moment.
    auto remoted = test::GuestDaemon::start(*remoted_binary);
    if (!remoted) die("pacemaker-remoted: " + remoted.error().describe());
    auto outpost = test::GuestDaemon::start(*agent_binary);
    if (!outpost) die("outpost-agent: " + outpost.error().describe());
    const pid_t remoted_pid = (*remoted)->process().pid();
    const pid_t outpost_pid = (*outpost)->process().pid();

    ContextPtr context(g_main_context_new());
    g_main_context_push_thread_default(context.get());

    const std::array<ClientMode, 2> modes{ClientMode::controller, ClientMode::pipelined};
    const std::array<const char*, 2> names{"pacemaker-remoted", "outpost-agent"};
    std::map<ClientMode, std::array<ModeResults, 2>> results;  // [mode][0 = remoted, 1 = outpost]
    std::array<std::unique_ptr<BenchClient>, 2> last_clients;  // the pipelined ones, kept for the memory run

    for (ClientMode mode : modes) {
        std::array<std::unique_ptr<BenchClient>, 2> clients{
            std::make_unique<BenchClient>(context.get(), **remoted, names[0], mode),
            std::make_unique<BenchClient>(context.get(), **outpost, names[1], mode),
        };
        auto& res = results[mode];
        // Connect-to-registered, alternating between the daemons.
        for (int i = 0; i < kConnectSamples; ++i) {
            for (std::size_t d = 0; d < 2; ++d) {
                res[d].connect_ms.push_back(clients[d]->connect_and_register());
                clients[d]->disconnect();
            }
        }
        for (auto& client : clients)
            client->connect_and_register();
        std::printf(
            "bench-agent: [%s client] connect+TLS+register medians: remoted %.2f ms, outpost %.2f ms\n",
            mode_name(mode), median(res[0].connect_ms), median(res[1].connect_ms));
        (void)std::fflush(stdout);
        // Throughput windows, alternating daemons at each level.
        for (int n : kInFlight) {
            for (std::size_t d = 0; d < 2; ++d) {
                auto w = clients[d]->measure(n, windows.at(mode), agent.provider());
                std::printf(
                    "bench-agent: [%s client] %-17s %2d in flight: %6ld ops in %.0f s = %7.1f ops/s, "
                    "p50 %.2f ms (daemon CPU %.3f ms/op)\n",
                    mode_name(mode), names[d], n, w.completed, w.seconds, w.ops_per_second,
                    median(w.latencies_ms), w.cpu_per_op());
                (void)std::fflush(stdout);
                res[d].windows[n] = std::move(w);
            }
            if (n == 1 && mode == ClientMode::controller) {
                auto again = direct_run_samples(agent);
                std::printf("bench-agent: direct run again: median %.2f ms\n", median(again));
                direct_samples.insert(direct_samples.end(), again.begin(), again.end());
            }
        }
        if (mode == ClientMode::pipelined) {
            last_clients = std::move(clients);
        } else {
            for (auto& client : clients)
                client->disconnect();
        }
    }
    const long remoted_ops = last_clients[0]->total_completed();
    const long outpost_ops_before = last_clients[1]->total_completed();
    const long remoted_rss = rss_kb(remoted_pid);
    const long outpost_rss_windows = rss_kb(outpost_pid);
    const std::array<long, 2> anon{rss_anon_kb(remoted_pid), rss_anon_kb(outpost_pid)};
    const std::array<long, 2> pss{pss_kb(remoted_pid), pss_kb(outpost_pid)};
    last_clients[0]->disconnect();

    // outpost-agent only: memory over `memory_ops` more operations at 32 in flight,
    // sampled kMemorySamples times; the half-way sample is the growth check's start.
    std::vector<long> checkpoints;
    for (int i = 1; i < kMemorySamples; ++i)
        checkpoints.push_back(memory_ops * i / kMemorySamples);
    if (std::find(checkpoints.begin(), checkpoints.end(), memory_ops / 2) == checkpoints.end())
        checkpoints.push_back(memory_ops / 2);
    std::sort(checkpoints.begin(), checkpoints.end());
    checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
    std::erase(checkpoints, 0L);  // a tiny run: the first sample is taken before it
    std::vector<MemorySample> samples{memory_sample(outpost_pid, 0)};
    auto mem_begin = Clock::now();
    last_clients[1]->run_ops(kMaxInFlight, memory_ops, checkpoints,
                             [&](long ops) { samples.push_back(memory_sample(outpost_pid, ops)); });
    const double mem_seconds = std::chrono::duration<double>(Clock::now() - mem_begin).count();
    samples.push_back(memory_sample(outpost_pid, memory_ops));
    std::printf("bench-agent: outpost-agent memory run: %ld ops at %d in flight in %.1f s (%.1f ops/s)\n",
                memory_ops, kMaxInFlight, mem_seconds, static_cast<double>(memory_ops) / mem_seconds);
    for (const auto& sample : samples) {
        std::printf(
            "bench-agent:   +%6ld ops: VmRSS %6ld kB = RssAnon %5ld + RssFile %5ld (+ RssShmem); heap extent "
            "%ld kB\n",
            sample.ops, sample.vm_rss, sample.rss_anon, sample.rss_file, sample.heap_extent);
    }
    const MemorySample& half = *std::find_if(samples.begin(), samples.end(),
                                             [&](const MemorySample& m) { return m.ops == memory_ops / 2; });
    const MemorySample& end = samples.back();
    const long rss_half = half.vm_rss;
    const long rss_end = end.vm_rss;
    last_clients[1]->disconnect();
    g_main_context_pop_thread_default(context.get());

    // ---- Report ----
    const double direct_ms = median(direct_samples);
    std::printf("\n== outpost-agent vs pacemaker-remoted ==\n");
    std::printf("  remoted: %s; outpost: %s\n", version_of(*remoted_binary).c_str(),
                version_of(*agent_binary).c_str());
    std::printf("  agent: /bin/sh script exiting 0, run directly (fork+exec+wait): median %.2f ms\n",
                direct_ms);
    std::printf(
        "  controller-like client: Nagle on, one request at a time (as Pacemaker 2.1.5's liblrmd); "
        "window %lld s\n",
        static_cast<long long>(windows.at(ClientMode::controller).count()));
    std::printf("  pipelined client: TCP_NODELAY + quick ACKs, requests pipelined; window %lld s\n\n",
                static_cast<long long>(windows.at(ClientMode::pipelined).count()));
    row("", "remoted", "outpost", "outpost/remoted");
    for (ClientMode mode : modes) {
        const auto& rr = results[mode][0];
        const auto& oo = results[mode][1];
        std::printf("  [%s client]\n", mode_name(mode));
        for (int n : kInFlight) {
            const auto& rw = rr.windows.at(n);
            const auto& ow = oo.windows.at(n);
            row("ops/s, " + std::to_string(n) + " in flight", fmt("%.1f", rw.ops_per_second),
                fmt("%.1f", ow.ops_per_second), fmt("%.2fx", ow.ops_per_second / rw.ops_per_second));
        }
        row("latency p50 ms, 1 in flight", fmt("%.2f", rr.p50()), fmt("%.2f", oo.p50()),
            fmt("%.3fx", oo.p50() / rr.p50()));
        row("latency p99 ms, 1 in flight", fmt("%.2f", rr.p99()), fmt("%.2f", oo.p99()),
            fmt("%.3fx", oo.p99() / rr.p99()));
        row("  (latency samples)", fmt("%.0f", static_cast<double>(rr.windows.at(1).latencies_ms.size())),
            fmt("%.0f", static_cast<double>(oo.windows.at(1).latencies_ms.size())), "");
        const double rc = median(rr.connect_ms), oc = median(oo.connect_ms);
        row("connect+TLS+register ms (median)", fmt("%.2f", rc), fmt("%.2f", oc), fmt("%.3fx", oc / rc));
        for (int n : kInFlight) {
            const auto& rw = rr.windows.at(n);
            const auto& ow = oo.windows.at(n);
            row("daemon CPU ms/op, " + std::to_string(n) + " in flight", fmt("%.3f", rw.cpu_per_op()),
                fmt("%.3f", ow.cpu_per_op()), fmt("%.2fx", ow.cpu_per_op() / rw.cpu_per_op()));
        }
    }
    std::printf("  [memory]\n");
    row("VmRSS kB after all windows", fmt("%.0f", static_cast<double>(remoted_rss)),
        fmt("%.0f", static_cast<double>(outpost_rss_windows)),
        fmt("%.3fx", static_cast<double>(outpost_rss_windows) / static_cast<double>(remoted_rss)));
    row("  of which RssAnon kB (private)", fmt("%.0f", static_cast<double>(anon[0])),
        fmt("%.0f", static_cast<double>(anon[1])),
        fmt("%.3fx", static_cast<double>(anon[1]) / static_cast<double>(anon[0])));
    row("  Pss kB (shared pages divided)", fmt("%.0f", static_cast<double>(pss[0])),
        fmt("%.0f", static_cast<double>(pss[1])),
        fmt("%.3fx", static_cast<double>(pss[1]) / static_cast<double>(pss[0])));
    row("  (ops run by then)", fmt("%.0f", static_cast<double>(remoted_ops)),
        fmt("%.0f", static_cast<double>(outpost_ops_before)), "");
    row("VmRSS kB, outpost, +" + std::to_string(memory_ops / 2) + " ops", "-",
        fmt("%.0f", static_cast<double>(rss_half)), "");
    row("VmRSS kB, outpost, +" + std::to_string(memory_ops) + " ops", "-",
        fmt("%.0f", static_cast<double>(rss_end)),
        fmt("%.3fx", static_cast<double>(rss_end) / static_cast<double>(remoted_rss)));
    row("RssAnon kB, outpost, +" + std::to_string(memory_ops / 2) + " ops", "-",
        fmt("%.0f", static_cast<double>(half.rss_anon)), "");
    row("RssAnon kB, outpost, +" + std::to_string(memory_ops) + " ops", "-",
        fmt("%.0f", static_cast<double>(end.rss_anon)), "");

    // ---- Targets (judged with the controller-like client: what a real cluster sees) ----
    const auto& ctl = results[ClientMode::controller];
    const double tp_ratio =
        ctl[1].windows.at(kTargetLevel).ops_per_second / ctl[0].windows.at(kTargetLevel).ops_per_second;
    const double lat_ratio = ctl[1].p50() / direct_ms;
    const double mem_ratio = static_cast<double>(rss_end) / static_cast<double>(remoted_rss);
    const long growth = end.rss_anon - half.rss_anon;
    struct Check {
        std::string what;
        bool ok;
    };
    const std::vector<Check> checks{
        {fmt("throughput at 8 in flight: %.2fx remoted's", tp_ratio) +
             fmt(" (target >= %.0fx)", kThroughputTarget),
         tp_ratio >= kThroughputTarget},
        {fmt("p50 latency at 1 in flight: %.2fx the direct run", lat_ratio) +
             fmt(" (target <= %.1fx)", kLatencyTarget),
         lat_ratio <= kLatencyTarget},
        {fmt("RSS after +%.0f ops: ", static_cast<double>(memory_ops)) + fmt("%.2fx remoted's", mem_ratio) +
             fmt(" (target <= %.1fx)", kMemoryTarget),
         mem_ratio <= kMemoryTarget},
        {fmt("RssAnon growth from +%.0f", static_cast<double>(half.ops)) +
             fmt(" to +%.0f ops: ", static_cast<double>(memory_ops)) +
             fmt("%+.0f kB", static_cast<double>(growth)) +
             fmt(" (target: none, within %.0f kB of page noise;",
                 static_cast<double>(kRssAnonGrowthToleranceKb)) +
             fmt(" VmRSS %+.0f kB,", static_cast<double>(rss_end - rss_half)) +
             fmt(" heap extent %+.0f kB)", static_cast<double>(end.heap_extent - half.heap_extent)),
         growth <= kRssAnonGrowthToleranceKb},
    };
    std::printf("\n== targets (controller-like client) ==\n");
    bool all_ok = true;
    for (const auto& c : checks) {
        std::printf("  %-4s %s\n", c.ok ? "MET" : "MISS", c.what.c_str());
        all_ok = all_ok && c.ok;
    }
    std::printf("  total run time %.0f s\n", std::chrono::duration<double>(Clock::now() - run_begin).count());
    if (!all_ok && enforce) {
        std::printf("bench-agent: targets missed and OUTPOST_BENCH_ENFORCE=1\n");
        return 1;
    }
    if (!all_ok)
        std::printf("bench-agent: targets missed (not enforced; set OUTPOST_BENCH_ENFORCE=1 to fail)\n");
    return 0;
}
