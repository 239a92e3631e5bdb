// scripts/demo end to end, as README tells users to run it: the script (with --no-install,
// on the build directory under test) runs the driver tests/integration/demo_main.cpp,
// which brings up the throw-away cluster with two guests, puts a Dummy on each, breaks
// one and shows its recovery, and tears everything down. Checked from what it prints and
// from the machine afterwards:
//   - exit status 0 and "Demo finished";
//   - crm_mon -1 shows both guests online (RemoteOnline: [ g1 g2 ]) and each Dummy
//     started on its guest;
//   - the failure of dummy-g1 is shown: the monitor failure, the fail count 1
//     (crm_mon --include=failcounts, crm_failcount), the restart, the cleanup back to 0;
//   - teardown: the corosync and pacemakerd the demo started are gone, and (under the
//     machine-wide cluster lock, so another test's cluster cannot be mistaken for a
//     leftover) no corosync, pacemakerd or pacemaker-* daemon is left and corosync.conf is
//     the package default or the harness's again.
// [agent] runs the default demo (outpost-agent in the guests), [remoted] `--with-remoted`
// (the real pacemaker-remoted 2.1.5, from $OUTPOST_REMOTED).
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Measured about 40-60 s on 2 cores (most of it the cluster's start and stop); a
// waiting demo also waits for another test's cluster (the lock) first.
constexpr auto kDemoTimeout = 15min;

std::string env_or_empty(const char* name)
{
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread
    return value != nullptr ? value : "";
}

bool alive_as(pid_t pid, const std::string& comm)
{
    for (pid_t found : find_processes_named(comm)) {
        if (found == pid) return true;
    }
    return false;
}

void run_demo(bool with_remoted)
{
    const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
    const std::string build = env_or_empty("OUTPOST_BUILD_ROOT");
    INFO("OUTPOST_SOURCE_ROOT=" << source << " OUTPOST_BUILD_ROOT=" << build);
    REQUIRE_FALSE(source.empty());
    REQUIRE_FALSE(build.empty());
    std::vector<std::string> argv{"bash", (fs::path(source) / "scripts/demo").string(), "--no-install",
                                  "--build-dir", build};
    EnvList env;
    if (with_remoted) {
        auto remoted = remoted_path();
        require_ok(remoted);
        argv.emplace_back("--with-remoted");
        env.emplace_back("OUTPOST_REMOTED", *remoted);
    } else {
        auto agent = agent_path();
        if (!agent) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");
    }

    const auto begin = std::chrono::steady_clock::now();
    auto run = run_command(argv, nullptr, kDemoTimeout, env);
    require_ok(run);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const std::string& out = run->output;
    INFO(join_argv(argv) << ": " << run->describe());
    WARN("timing: scripts/demo" << (with_remoted ? " --with-remoted" : "") << " ran in " << took << " s");
    REQUIRE(run->succeeded());

    CHECK(contains(
        out, with_remoted ? "guests will run the real pacemaker-remoted" : "guests will run outpost-agent"));
    // crm_mon -1 after both Dummies started.
    CHECK(contains(out, "RemoteOnline: [ g1 g2 ]"));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1\s+\(ocf:pacemaker:Dummy\):\s+Started g1)")));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g2\s+\(ocf:pacemaker:Dummy\):\s+Started g2)")));
    // The failure and its recovery.
    CHECK(contains(out, "the monitor failed, the cluster restarted dummy-g1 on g1; state file back: yes"));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1: migration-threshold=\d+ fail-count=1\b)")));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1 3s-interval monitor on g1 returned 'not running')")));
    CHECK(std::regex_search(out, std::regex(R"(name=fail-count-dummy-g1 value=1\b)")));
    CHECK(contains(out, "fail count of dummy-g1 on g1 is 0 again"));
    CHECK(contains(out, "Demo finished"));

    // Teardown: the daemons it started are gone...
    std::smatch pids;
    REQUIRE(std::regex_search(out, pids,
                              std::regex(R"(cluster daemons: corosync\[(\d+)\] pacemakerd\[(\d+)\])")));
    const auto corosync = static_cast<pid_t>(std::stol(pids[1].str()));
    const auto pacemakerd = static_cast<pid_t>(std::stol(pids[2].str()));
    CHECK_FALSE(alive_as(corosync, "corosync"));
    CHECK_FALSE(alive_as(pacemakerd, "pacemakerd"));
    // ...and nothing of a cluster is left on the machine.
    auto clean = check_machine_for_test_cluster();
    INFO((clean ? std::string() : clean.error().message));
    CHECK(clean.ok());
}

}  // namespace

TEST_CASE("scripts/demo end to end with outpost-agent", "[demo][agent]")
{
    run_demo(false);
}

TEST_CASE("scripts/demo --with-remoted end to end (the real pacemaker-remoted 2.1.5)", "[demo][remoted]")
{
    run_demo(true);
}
