// Catch2's implementation, compiled once for every test executable (unit tests, the
// integration harness's two mains). Each executable's main() calls run_catch_session()
// (catch_session.hpp): Catch2 declares its Session class only inside the implementation.
// The implementation is not code under test: tests/meson.build builds this file without
// optimisation and without sanitizers, about ten times cheaper than an instrumented -O2
// copy (docs/testing.md, "Build cost").
//
// No POSIX signal handlers: Catch2's handler for a fatal signal (SIGSEGV, SIGABRT, SIGTERM)
// reports through the run's message stack from whatever thread took the signal, racing
// the main thread's test: the likely cause of a heap-use-after-free seen once in CI
// inside such a report, which hid the real fault. Without it, ASan reports a crash with its own stack and
// anything else ends the process with the signal, which meson names.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#define CATCH_CONFIG_RUNNER
#include <catch.hpp>

#include "catch_session.hpp"

#include <cstdio>

namespace outpost::test {

int run_catch_session(int argc, char* argv[])
{
    // Line-buffered even into meson's pipe: a test killed by its timeout (SIGTERM, which
    // no handler of Catch2's reports now) keeps everything it printed up to then.
    (void)std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return Catch::Session().run(argc, argv);
}

}  // namespace outpost::test
