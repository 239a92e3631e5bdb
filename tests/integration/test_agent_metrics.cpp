// outpost-agent's /metrics scraped by the real Prometheus server (Debian's prometheus 2.42)
// while a client runs operations through the agent: promtool accepts the exposition, and
// Prometheus's HTTP API returns the values this test caused (operation counts by class,
// action and result; the memory of a resource whose daemon holds a known amount). The agent
// runs in its own network namespace with isolation on (cgroup v1 here); Prometheus runs on
// the host's loopback with a throw-away configuration and storage directory, scraping the
// agent through the namespace's veth every 500 ms. SKIP without prometheus or cgroup v1.
//
// A second case scrapes the agent directly and checks the counters of what went wrong by
// the amounts it caused: handshakes that failed (5 connections closed by the peer during
// the handshake, then 2 clients with the wrong PSK; none refused), the client limit (256
// established clients, then one more connection: closed at once, one refused), a daemon over
// outpost-memory-max OOM-killed once (its limit hits as the kernel counted them), forks
// refused by outpost-tasks-max as often as the forking process counted, and proxy sessions (two cibadmin
// sessions open through the agent to an IPC provider that answers nothing, then none). promtool checks that
// scrape too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/executor_session.hpp"
#include "harness/harness.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kMetricsPort = 9673;
// The agent's client limit (kMaxClients in guest-agent/server/server.hpp): connections at
// once, TLS handshakes in progress included.
constexpr std::size_t kClientLimit = 256;
constexpr const char* kProvider = "outposttest-metrics";
constexpr int kMonitors = 60;

// start: a daemon holding at least 48 MiB (perl); monitor: alive?
constexpr const char* kScript = R"SH(#!/bin/sh
pidfile="$OCF_RESKEY_state"
alive() { [ -f "$pidfile" ] && [ -d /proc/$(cat "$pidfile") ]; }
case "$1" in
  start)
    alive && exit 0
    setsid perl -e '$x = "a" x (48 << 20); sleep 600' </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    # Started once the memory is held: the test reads it right after.
    for i in $(seq 100); do
      rss=$(awk '/^VmRSS/ {print $2}' /proc/$!/status 2>/dev/null)
      [ "${rss:-0}" -gt 49152 ] && exit 0
      sleep 0.05
    done
    exit 1;;
  stop) alive && kill "$(cat "$pidfile")"; rm -f "$pidfile"; exit 0;;
  monitor) alive && exit 0; exit 7;;
  meta-data) echo '<resource-agent name="m"/>'; exit 0;;
  *) exit 3;;
esac
)SH";

class InstalledAgent {
public:
    InstalledAgent()
    {
        std::filesystem::create_directories(dir_);
        type_ = "m-" + std::to_string(::getpid());
        REQUIRE(write_file(dir_ / type_, kScript, 0755).ok());
    }
    InstalledAgent(const InstalledAgent&) = delete;
    InstalledAgent& operator=(const InstalledAgent&) = delete;
    ~InstalledAgent()
    {
        std::error_code ignored;
        std::filesystem::remove(dir_ / type_, ignored);
        std::filesystem::remove(dir_, ignored);  // only if empty
    }
    [[nodiscard]] const std::string& type() const { return type_; }

private:
    std::filesystem::path dir_ = std::filesystem::path("/usr/lib/ocf/resource.d") / kProvider;
    std::string type_;
};

std::string url_encode(const std::string& text)
{
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.') {
            out += static_cast<char>(c);
        } else {
            char hex[4];
            (void)std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

// The value of an instant query with one result ("vector" of one sample); nullopt while
// Prometheus has none.
std::optional<double> query(std::uint16_t prometheus_port, const std::string& promql)
{
    auto body = http_get(nullptr, "127.0.0.1", prometheus_port, "/api/v1/query?query=" + url_encode(promql));
    if (!body) return std::nullopt;
    // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1.7e9,"60"]}]}}
    auto at = body->find("\"value\":[");
    if (at == std::string::npos) return std::nullopt;
    auto open = body->find('"', body->find(',', at));
    auto close = body->find('"', open + 1);
    if (open == std::string::npos || close == std::string::npos) return std::nullopt;
    return std::stod(body->substr(open + 1, close - open - 1));
}

// Polls until `promql` has a value that `good` accepts (Prometheus scrapes every 500 ms).
std::optional<double> await(std::uint16_t port, const std::string& promql,
                            const std::function<bool(double)>& good, std::chrono::milliseconds timeout = 15s)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<double> value;
    while (std::chrono::steady_clock::now() < deadline) {
        value = query(port, promql);
        if (value && good(*value)) return value;
        std::this_thread::sleep_for(200ms);
    }
    return value;
}

struct Session : ExecutorSession {
    explicit Session(GuestDaemon& daemon) : ExecutorSession(daemon, "metrics-test") {}
    void add(const std::string& rsc, const std::string& type) { ExecutorSession::add(rsc, kProvider, type); }
    int exec(const std::string& rsc, const std::string& action, const std::string& state)
    {
        wire::ParamMap params;
        params.insert("state", state);
        params.insert("CRM_meta_timeout", "20000");
        return ExecutorSession::exec(rsc, action, params).exec_rc;
    }
};

// One sample of a scrape: the line "SERIES VALUE" (series as the agent writes it, labels
// in their declared order); nullopt when the scrape has no such line.
std::optional<double> sample(const std::string& text, const std::string& series)
{
    std::size_t at = 0;
    while ((at = text.find(series + " ", at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
        at += series.size();
    }
    return std::nullopt;
}

// Scrapes the agent until `series` has a value `good` accepts (or 10 s pass); the last
// scrape (or why there was none) goes with the test's output.
std::optional<double> settle(const GuestDaemon& guest, const std::string& series,
                             const std::function<bool(double)>& good)
{
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::optional<double> value;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = http_get(nullptr, guest.address(), kMetricsPort, "/metrics");
        last = text ? *text : text.error().describe();
        if (text) value = sample(*text, series);
        if (value && good(*value)) return value;
        std::this_thread::sleep_for(100ms);
    }
    UNSCOPED_INFO("last scrape for " << series << ":\n" << last);
    return value;
}

// The agent's cgroup parent for the memory controller: beneath this process's own, as the
// agent (started by this process) sees it.
std::string memory_parent(const std::string& parent)
{
    std::string self = read_value("/proc/self/cgroup");
    auto at = self.find(":memory:");
    REQUIRE(at != std::string::npos);
    std::string path = self.substr(at + 8, self.find('\n', at) - at - 8);
    if (path == "/") path.clear();
    return "/sys/fs/cgroup/memory" + path + "/" + parent;
}

// start with OCF_RESKEY_mode=hog: a daemon that allocates 48 MiB; mode=forks: five forks
// of sleeping children, the number refused written to OCF_RESKEY_state.
constexpr const char* kLimitScript = R"SH(#!/bin/sh
case "$1" in
  start)
    if [ "$OCF_RESKEY_mode" = hog ]; then
      setsid perl -e '$x = "a" x (48 << 20); sleep 600' </dev/null >/dev/null 2>&1 &
    else
      perl -e 'my $f = 0; for (1 .. 5) { my $p = fork(); if (!defined $p) { $f++ } elsif ($p == 0) { sleep 600; exit 0 } }
               open(my $o, ">", $ARGV[0]) or die; print $o $f; close $o' "$OCF_RESKEY_state"
    fi
    exit 0;;
  stop|monitor) exit 0;;
  meta-data) echo '<resource-agent name="l"/>'; exit 0;;
  *) exit 3;;
esac
)SH";

}  // namespace

TEST_CASE("the agent counts failed handshakes, limit hits and proxy sessions as caused")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::geteuid() != 0 || !std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") ||
        !std::filesystem::exists("/sys/fs/cgroup/pids/cgroup.procs"))
        OUTPOST_SKIP("needs root on a cgroup v1 host with memory and pids mounted");
    auto cibadmin = find_program("cibadmin");
    if (!cibadmin) OUTPOST_SKIP("cibadmin not installed (Debian package pacemaker-cli-utils)");
    auto started = std::chrono::steady_clock::now();
    const std::string dir = std::string("/usr/lib/ocf/resource.d/") + kProvider;
    std::filesystem::create_directories(dir);
    const std::string type = "l-" + std::to_string(::getpid());
    REQUIRE(write_file(dir + "/" + type, kLimitScript, 0755).ok());
    const std::string parent = "outpost-mcount-" + std::to_string(::getpid());

    GuestDaemonOptions options;
    options.binary = *agent;
    options.env = {{"OUTPOST_cgroup_parent", parent}, {"OUTPOST_metrics_address", "0.0.0.0"}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    GuestDaemon& guest = **daemon;
    require_ok(wait_for_tcp(nullptr, guest.address(), kMetricsPort, 10s));
    // Counters from where they stand once the start-up probe's connection has failed its
    // handshake (GuestDaemon::start waits for the port with a plain TCP connect).
    const std::string accepted = "outpost_agent_connections_accepted_total";
    const std::string refused = "outpost_agent_connections_refused_total";
    const std::string failed = "outpost_agent_tls_handshake_failures_total";
    std::optional<double> probes = settle(guest, accepted, [](double) { return true; });
    REQUIRE(probes);
    REQUIRE(settle(guest, failed, [&](double v) { return v == *probes; }) == *probes);
    const double failed0 = *probes;
    const double refused0 = settle(guest, refused, [](double) { return true; }).value_or(-1);
    REQUIRE(refused0 >= 0);
    auto counter = [&](const std::string& series, double want) {
        auto v = settle(guest, series, [&](double x) { return x == want; });
        INFO(series);
        CHECK(v == want);
    };

    // Connections closed by the peer during the handshake: each one a failed handshake.
    constexpr int kDropped = 5;
    std::vector<UniqueFd> held;
    for (int i = 0; i < kDropped; ++i) {
        auto fd = tcp_connect(nullptr, guest.address(), guest.port(), 5s);
        require_ok(fd);
        held.push_back(std::move(fd).value());
    }
    counter(R"(outpost_agent_connections{kind="handshake"})", kDropped);
    held.clear();
    counter(failed, failed0 + kDropped);
    counter(R"(outpost_agent_connections{kind="handshake"})", 0);
    // The wrong key: two more.
    ContextPtr context{g_main_context_new()};
    for (int i = 0; i < 2; ++i) {
        auto wrong =
            RawClient::connect(context.get(), guest.address(), guest.port(), psk_client(random_bytes()));
        CHECK_FALSE(wrong.ok());
    }
    counter(failed, failed0 + kDropped + 2);
    // Nothing of this was over the client limit.
    counter(refused, refused0);

    // The client limit: with kClientLimit clients connected, the next connection is closed
    // at once and counted as refused; once they are gone the agent accepts again. The
    // clients complete their handshakes (the agent keeps an established client however
    // long it says nothing), so none leaves by the 10 s handshake timeout while the rest
    // connect, however loaded the machine.
    {
        const tls::TlsContext tls = psk_client(guest.authkey().bytes());
        std::vector<std::unique_ptr<RawClient>> clients;
        const auto filling = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < kClientLimit; ++i) {
            auto client = RawClient::connect(context.get(), guest.address(), guest.port(), tls);
            INFO("client " << i + 1 << ": " << (client ? std::string() : client.error().describe()));
            REQUIRE(client.ok());
            clients.push_back(std::move(client).value());
        }
        WARN(kClientLimit << " clients connected in "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - filling)
                                 .count()
                          << " ms");
        counter(R"(outpost_agent_connections{kind="cluster"})", static_cast<double>(kClientLimit));
        auto over = tcp_connect(nullptr, guest.address(), guest.port(), 5s);
        require_ok(over);
        CHECK(closed_by_peer(over->get(), 5s));
        counter(refused, refused0 + 1);
        clients.clear();
        counter(R"(outpost_agent_connections{kind="cluster"})", 0);
        auto again = RawClient::connect(context.get(), guest.address(), guest.port(), tls);
        INFO((again ? std::string() : again.error().describe()));
        CHECK(again.ok());
        counter(refused, refused0 + 1);
    }

    // Limit hits, counted by the kernel and by the forking process.
    ExecutorSession s(guest, "metrics-limits");
    s.add("hog", kProvider, type);
    s.add("forks", kProvider, type);
    wire::ParamMap hog;
    hog.insert("mode", "hog");
    hog.insert("outpost-memory-max", "16M");
    hog.insert("CRM_meta_timeout", "20000");
    REQUIRE(s.exec("hog", "start", hog).exec_rc == 0);
    // The kernel OOM-kills the daemon once: one OOM kill. Limit hits are what the kernel
    // counted (memory.failcnt, plus memory.memsw.failcnt where swap is accounted; Linux 6.18
    // counts neither for a memory+swap charge, so there it may be 0).
    const std::string hog_dir = memory_parent(parent) + "/rsc-hog";
    counter(R"(outpost_agent_resource_oom_kills_total{resource="hog"})", 1);
    auto kernel_hits = [&] {
        return std::stod("0" + read_value(hog_dir + "/memory.failcnt")) +
               std::stod("0" + read_value(hog_dir + "/memory.memsw.failcnt"));
    };
    CHECK(settle(guest, R"(outpost_agent_resource_limit_hits_total{resource="hog",limit="memory"})",
                 [&](double v) { return v == kernel_hits(); }) == kernel_hits());
    WARN("the hog's memory limit hits as the kernel counted them: " << kernel_hits());

    const std::string refused_forks = (guest.dir() / "forks.refused").string();
    wire::ParamMap forks;
    forks.insert("mode", "forks");
    forks.insert("state", refused_forks);
    forks.insert("outpost-tasks-max", "4");  // the script and perl, then two children
    forks.insert("CRM_meta_timeout", "20000");
    REQUIRE(s.exec("forks", "start", forks).exec_rc == 0);
    const double counted = std::stod(read_value(refused_forks));
    CHECK(counted == 3);
    counter(R"(outpost_agent_resource_limit_hits_total{resource="forks",limit="tasks"})", counted);
    counter(R"(outpost_agent_resource_limit_hits_total{resource="hog",limit="tasks"})", 0);

    // Stopped before a provider registers (every client hears the proxy traffic then).
    wire::ParamMap stop;
    stop.insert("CRM_meta_timeout", "20000");
    CHECK(s.exec("hog", "stop", stop).exec_rc == 0);
    CHECK(s.exec("forks", "stop", stop).exec_rc == 0);

    // Proxy sessions: an IPC provider that answers nothing, two cibadmin waiting on it.
    ExecutorSession provider_session(guest, "metrics-provider");
    {
        auto hello = make_request("register");
        hello.client_name = "metrics-provider";
        hello.protocol_version = "1.1";
        hello.ipc_provider = true;
        REQUIRE(provider_session.client->reply(provider_session.client->send(hello)).rc == 0);
    }
    counter("outpost_agent_proxy_sessions", 0);
    std::vector<Process> tools;
    for (int i = 0; i < 2; ++i) {
        auto tool = Process::spawn({*cibadmin, "-Q"}, &guest.netns());
        require_ok(tool);
        tools.push_back(std::move(tool).value());
    }
    counter("outpost_agent_proxy_sessions", 2);

    // The exposition with all of them passes promtool.
    if (auto promtool = find_program("promtool")) {
        TempDir scratch("outpost-metrics-count");
        auto text = http_get(nullptr, guest.address(), kMetricsPort, "/metrics");
        require_ok(text);
        REQUIRE(write_file(scratch / "metrics.txt", *text, 0644).ok());
        auto checked =
            run_command({"sh", "-c", *promtool + " check metrics < " + (scratch / "metrics.txt").string()});
        REQUIRE(checked.ok());
        INFO(checked->output);
        CHECK(checked->succeeded());
    }
    tools.clear();  // killed
    counter("outpost_agent_proxy_sessions", 0);

    std::error_code ignored;
    std::filesystem::remove(dir + "/" + type, ignored);
    std::filesystem::remove(dir, ignored);
    WARN("agent-metrics counters: "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s");
}

TEST_CASE("Prometheus scrapes outpost-agent under load and reads the operations and memory it caused")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    auto prometheus = find_program("prometheus");
    auto promtool = find_program("promtool");
    if (!prometheus || !promtool)
        OUTPOST_SKIP("prometheus or promtool not installed (Debian package prometheus)");
    if (::geteuid() != 0 || !std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs"))
        OUTPOST_SKIP("needs root on a cgroup v1 host with memory mounted");
    auto started = std::chrono::steady_clock::now();
    InstalledAgent installed;

    GuestDaemonOptions options;
    options.binary = *agent;
    options.env = {{"OUTPOST_cgroup_parent", "outpost-metrics-" + std::to_string(::getpid())},
                   {"OUTPOST_metrics_address", "0.0.0.0"}};  // inside its own namespace
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    GuestDaemon& guest = **daemon;
    require_ok(wait_for_tcp(nullptr, guest.address(), kMetricsPort, 10s));

    TempDir dir("outpost-prometheus");
    auto free_port = free_loopback_port();
    require_ok(free_port);
    std::uint16_t port = *free_port;
    std::string config =
        "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n"
        "scrape_configs:\n  - job_name: outpost-agent\n    static_configs:\n"
        "      - targets: ['" +
        guest.address() + ":" + std::to_string(kMetricsPort) + "']\n";
    REQUIRE(write_file(dir / "prometheus.yml", config, 0644).ok());
    SpawnOptions spawn;
    spawn.argv = {*prometheus, "--config.file=" + (dir / "prometheus.yml").string(),
                  "--storage.tsdb.path=" + (dir / "data").string(),
                  "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"};
    spawn.log_file = dir / "prometheus.log";
    auto server = Process::spawn(spawn);
    require_ok(server);
    require_ok(wait_for_tcp(nullptr, "127.0.0.1", port, 20s, &*server));

    // Load: a daemon that holds 48 MiB, then kMonitors monitors, while Prometheus scrapes.
    Session s(guest);
    std::string state = (guest.dir() / "m1.pid").string();
    s.add("m1", installed.type());
    REQUIRE(s.exec("m1", "start", state) == 0);
    for (int i = 0; i < kMonitors; ++i)
        REQUIRE(s.exec("m1", "monitor", state) == 0);
    s.add("gone", installed.type());
    CHECK(s.exec("gone", "monitor", (guest.dir() / "none.pid").string()) == 7);

    // The exposition as the agent serves it passes promtool's checks (format and lint).
    auto text = http_get(nullptr, guest.address(), kMetricsPort, "/metrics");
    require_ok(text);
    REQUIRE(write_file(dir / "metrics.txt", *text, 0644).ok());
    auto checked =
        run_command({"sh", "-c", *promtool + " check metrics < " + (dir / "metrics.txt").string()});
    REQUIRE(checked.ok());
    INFO(checked->output);
    CHECK(checked->succeeded());

    auto monitors = await(port, R"(outpost_agent_operations_total{class="ocf",action="monitor",result="ok"})",
                          [](double v) { return v == kMonitors; });
    CHECK(monitors == kMonitors);
    CHECK(await(port, R"(outpost_agent_operations_total{class="ocf",action="monitor",result="not_running"})",
                [](double v) { return v == 1; }) == 1);
    CHECK(await(port, R"(outpost_agent_operations_total{action="start",result="ok"})",
                [](double v) { return v == 1; }) == 1);
    CHECK(await(port, R"(outpost_agent_operation_exec_seconds_count{action="monitor"})",
                [](double v) { return v == kMonitors + 1; }) == kMonitors + 1);
    CHECK(await(port, "outpost_agent_resources", [](double v) { return v == 2; }) == 2);
    CHECK(await(port, R"(outpost_agent_connections{kind="cluster"})", [](double v) { return v == 1; }) == 1);
    CHECK(await(port, "outpost_agent_operations_running", [](double v) { return v == 0; }) == 0);
    // What the daemon holds (at least its 48 MiB; perl builds the string in a temporary
    // first, so it is resident twice) is charged to the resource's cgroup, plus what the
    // agent script left there: allow 32 MiB more than the daemon's anonymous memory (its
    // file pages, perl and libc, are charged to whoever read them first).
    pid_t daemon_pid = std::stoi(read_value(state));
    double rss = 0;
    {
        std::string status = read_value("/proc/" + std::to_string(daemon_pid) + "/status");
        auto at = status.find("RssAnon:");
        REQUIRE(at != std::string::npos);
        rss = std::stod(status.substr(at + 8)) * 1024;
    }
    REQUIRE(rss >= 48.0 * (1 << 20));
    auto memory = await(port, R"(outpost_agent_resource_memory_bytes{resource="m1"})",
                        [&](double v) { return v >= rss; });
    REQUIRE(memory);
    CHECK(*memory >= rss);
    CHECK(*memory < rss + 32.0 * (1 << 20));
    CHECK(await(port, R"(outpost_agent_resource_memory_peak_bytes{resource="m1"})",
                [&](double v) { return v >= *memory; }) >= *memory);
    CHECK(await(port, R"(outpost_agent_resource_tasks{resource="m1"})", [](double v) { return v == 1; }) ==
          1);
    CHECK(await(port, R"(outpost_agent_resource_cpu_seconds_total{resource="m1"})",
                [](double v) { return v > 0; }) > 0);
    // Nothing in the scrapes failed.
    CHECK(await(port, R"(up{job="outpost-agent"})", [](double v) { return v == 1; }) == 1);

    REQUIRE(s.exec("m1", "stop", state) == 0);
    auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    WARN("agent-metrics: " << wall << " s");
}
