// Catch2 glue for integration tests: skipping one test case visibly.
//
//     TEST_CASE("...") {
//         OUTPOST_REQUIRE_ROOT_AND_NETNS();
//         ...
//
// returns from the test case with a WARN line (Catch2 v2 prints warnings even for passing
// tests) and a "SKIP:" line on stderr. Whole executables built with harness_main_dep skip
// with exit code 77 before any test case runs, which meson reports as SKIP.
#pragma once

#include <catch.hpp>

#include "harness/environment.hpp"

#define OUTPOST_SKIP(why_)                                                                               \
    do {                                                                                                 \
        const std::string outpost_skip_why_ = (why_);                                                    \
        ::outpost::test::report_skip(Catch::getResultCapture().getCurrentTestName(), outpost_skip_why_); \
        WARN("SKIP: " << outpost_skip_why_);                                                             \
        return;                                                                                          \
    } while (false)

#define OUTPOST_REQUIRE_ROOT_AND_NETNS()                                            \
    do {                                                                            \
        if (auto outpost_reason_ = ::outpost::test::root_and_netns_unavailable()) { \
            OUTPOST_SKIP(*outpost_reason_);                                         \
        }                                                                           \
    } while (false)
