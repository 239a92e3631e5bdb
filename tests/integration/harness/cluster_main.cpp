// Catch2 main for the real-cluster test executables (ClusterHarness): the whole executable
// skips with exit code 77 (meson: SKIP) and says why when
//   - root or network namespaces are missing,
//   - it was asked for the [agent] half (first argument starting with "[agent]") while
//     OUTPOST_AGENT is unset (outpost-agent not built),
//   - this machine looks like part of a real cluster, or Pacemaker daemons of a crashed
//     run are still there (check_machine_for_test_cluster(), which first waits for
//     another test process's cluster to finish).
#include "catch_session.hpp"

#include <string>

#include "harness/cluster.hpp"
#include "harness/environment.hpp"
#include "harness/peers.hpp"

int main(int argc, char* argv[])
{
    using namespace outpost::test;
    bool listing = false;
    bool agent_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--list", 0) == 0 || arg == "-l" || arg == "-h" || arg == "--help" || arg == "-?")
            listing = true;
        if (arg.rfind("[agent]", 0) == 0) agent_only = true;
    }
    if (!listing) {
        const std::string what = argc > 0 ? argv[0] : "cluster test";
        if (auto reason = root_and_netns_unavailable()) skip_executable(what, *reason);
        if (agent_only && !agent_path()) {
            skip_executable(what,
                            "OUTPOST_AGENT is not set: outpost-agent is not built yet, so the [agent] "
                            "half cannot run");
        }
        if (auto s = check_machine_for_test_cluster(); !s) skip_executable(what, s.error().message);
    }
    int failures = run_catch_session(argc, argv);
    // Catch2 returns the failure count; 77 failures must not read as "skipped".
    return failures == kSkipExitCode ? 1 : failures;
}
