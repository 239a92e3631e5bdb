// Catch2 glue for integration tests: skipping one test case visibly, and the two checks
// every test uses (require_ok on a Result, contains on text).
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

#include <string>

#include "harness/environment.hpp"

namespace outpost::test {

// REQUIRE that a Result (or Status) is ok, showing its error otherwise.
template <typename R>
void require_ok(const R& result)
{
    INFO((result.ok() ? std::string() : result.error().describe()));
    REQUIRE(result.ok());
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

}  // namespace outpost::test

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
