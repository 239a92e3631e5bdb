// Catch2 main for integration test executables that need root and network namespaces:
// when they are unavailable the executable exits with 77 (meson: SKIP) and says why,
// instead of every test case failing or, worse, passing without testing anything.
#include "catch_session.hpp"

#include "harness/environment.hpp"

int main(int argc, char* argv[])
{
    // Listing tests (--list-tests, -h) works anywhere.
    bool listing = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--list", 0) == 0 || arg == "-l" || arg == "-h" || arg == "--help" || arg == "-?")
            listing = true;
    }
    if (!listing) {
        if (auto reason = outpost::test::root_and_netns_unavailable()) {
            outpost::test::skip_executable(argc > 0 ? argv[0] : "integration test", *reason);
        }
    }
    int failures = outpost::test::run_catch_session(argc, argv);
    // Catch2 returns the failure count; 77 failures must not read as "skipped".
    return failures == outpost::test::kSkipExitCode ? 1 : failures;
}
