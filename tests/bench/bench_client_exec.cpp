// Exec round trips through RemoteClient against both daemons side by side: the real
// pacemaker-remoted 2.1.5 and outpost-agent ($OUTPOST_AGENT), each in its own namespace,
// the same trivial OCF agent (a /bin/sh script that exits 0). A round trip is exec request
// -> reply (call id) -> completion notify. Prints ops/s and latency per daemon and
// concurrency, then the agent/remoted ratio. BENCH_OPS sets the operations per run
// (default 100).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection/remote_client.hpp"
#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/source.hpp"
#include "support/main_loop.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace outpost::cluster::connection;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
    double ops_per_s = 0;
    double p50_ms = 0;
    double p95_ms = 0;
    int ops = 0;
    int failures = 0;
};

class TrivialAgent {
public:
    TrivialAgent()
    {
        std::filesystem::create_directories(kDir);
        type_ = "bench-" + std::to_string(::getpid());
        path_ = std::string(kDir) + "/" + type_;
        REQUIRE(write_file(path_, "#!/bin/sh\nexit 0\n", 0755).ok());
    }
    TrivialAgent(const TrivialAgent&) = delete;
    TrivialAgent& operator=(const TrivialAgent&) = delete;
    ~TrivialAgent()
    {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
        std::filesystem::remove(kDir, ignored);
    }
    [[nodiscard]] const std::string& type() const { return type_; }
    static constexpr const char* kDir = "/usr/lib/ocf/resource.d/outposttest";

private:
    std::string type_;
    std::string path_;
};

// `total` monitor execs spread over `lanes` resources, each lane one op at a time.
Figures run_exec_benchmark(const std::string& binary, const std::string& agent_type, int lanes, int total)
{
    auto daemon = GuestDaemon::start(binary);
    REQUIRE(daemon.ok());
    ContextPtr context(g_main_context_new());
    auto tls = test::psk_client((*daemon)->authkey().bytes());
    ClientOptions options;
    options.host = (*daemon)->address();
    options.port = (*daemon)->port();
    options.client_name = "outpost-bench";
    RemoteClient client(context.get(), tls, options);
    std::optional<Status> connected;
    client.connect([&](const Status& s) { connected = s; });
    REQUIRE(run_until(
        context.get(), [&] { return connected.has_value(); }, 20s));
    REQUIRE(connected->ok());

    int registered = 0;
    for (int lane = 0; lane < lanes; ++lane) {
        client.register_rsc("bench" + std::to_string(lane), "ocf", "outposttest", agent_type,
                            [&](const Status& s) {
                                REQUIRE(s.ok());
                                ++registered;
                            });
    }
    REQUIRE(run_until(
        context.get(), [&] { return registered == lanes; }, 20s));

    int started = 0;
    int finished = 0;
    int failures = 0;
    std::vector<double> latencies;
    std::map<int, std::pair<int, Clock::time_point>> in_flight;  // call id -> lane, start
    std::function<void(int)> launch = [&](int lane) {
        if (started >= total) return;
        ++started;
        ExecRequest request;
        request.rsc_id = "bench" + std::to_string(lane);
        request.action = "monitor";
        request.timeout_ms = 20000;
        request.params.insert("CRM_meta_timeout", "20000");
        auto begin = Clock::now();
        client.exec(request, [&, lane, begin](Result<int> call) {
            if (!call.ok()) {
                ++failures;
                ++finished;
                launch(lane);
                return;
            }
            in_flight[*call] = {lane, begin};
        });
    };
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& event) {
        auto found = in_flight.find(event.notify.call_id);
        if (found == in_flight.end()) return;
        auto [lane, begin] = found->second;
        in_flight.erase(found);
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        if (event.notify.exec_rc != 0 || event.notify.op_status != wire::ExecStatus::done) ++failures;
        ++finished;
        launch(lane);
    };
    client.subscribe(handlers);

    auto begin = Clock::now();
    for (int lane = 0; lane < lanes; ++lane)
        launch(lane);
    REQUIRE(run_until(
        context.get(), [&] { return finished == total; }, std::chrono::seconds(30 + total)));
    double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    client.disconnect();

    Figures figures;
    figures.ops = total;
    figures.failures = failures;
    figures.ops_per_s = total / seconds;
    std::sort(latencies.begin(), latencies.end());
    if (!latencies.empty()) {
        figures.p50_ms = latencies[latencies.size() / 2];
        figures.p95_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 95 / 100)];
    }
    return figures;
}

}  // namespace

TEST_CASE("bench: exec round trips through RemoteClient, pacemaker-remoted vs outpost-agent")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto remoted = remoted_path();
    if (!remoted.ok()) OUTPOST_SKIP("real pacemaker-remoted unavailable: " + remoted.error().message);
    std::optional<std::string> agent = agent_path();
    int total = 100;
    if (const char* env = std::getenv("BENCH_OPS")) total = std::max(1, std::atoi(env));
    TrivialAgent ocf;

    std::printf(
        "exec round trips (request -> reply -> completion notify), trivial OCF agent, %d ops per run\n",
        total);
    std::printf("%-18s %5s %10s %9s %9s %8s\n", "daemon", "lanes", "ops/s", "p50 ms", "p95 ms", "failed");
    std::map<int, std::pair<Figures, std::optional<Figures>>> results;
    for (int lanes : {1, 8}) {
        Figures theirs = run_exec_benchmark(*remoted, ocf.type(), lanes, total);
        std::printf("%-18s %5d %10.1f %9.1f %9.1f %8d\n", "pacemaker-remoted", lanes, theirs.ops_per_s,
                    theirs.p50_ms, theirs.p95_ms, theirs.failures);
        std::optional<Figures> ours;
        if (agent) {
            ours = run_exec_benchmark(*agent, ocf.type(), lanes, total);
            std::printf("%-18s %5d %10.1f %9.1f %9.1f %8d\n", "outpost-agent", lanes, ours->ops_per_s,
                        ours->p50_ms, ours->p95_ms, ours->failures);
        }
        (void)std::fflush(stdout);
        CHECK(theirs.failures == 0);
        if (ours) CHECK(ours->failures == 0);
        results[lanes] = {theirs, ours};
    }
    for (const auto& [lanes, pair] : results) {
        if (pair.second) {
            std::printf("ratio outpost-agent / pacemaker-remoted at %d lane(s): %.2fx\n", lanes,
                        pair.second->ops_per_s / pair.first.ops_per_s);
        } else {
            std::printf("outpost-agent: skipped (OUTPOST_AGENT not set)\n");
            break;
        }
    }
    if (!agent) WARN("SKIP: outpost-agent side of the benchmark: OUTPOST_AGENT not set");
}
