// Normalized transcripts and their comparison, for the differential conformance suite.
//
// A Transcript is what one scenario observed on one daemon: every message each client
// received, client by client and in arrival order (ordering across clients depends on
// socket scheduling, so it is not compared), followed by the scenario's own observations
// (files an agent wrote, whether a connection was dropped). Values that legitimately
// differ between two runs are normalized: session tokens become "{uuid}", call ids become
// offsets from the scenario's first call id ("#0", "#+3"), epoch times become "{now}",
// durations become coarse classes ("{fast}", "{1s+}"), the run's own directories
// become "{dir}", and a start or stop given up after follow-up checks keeps only "a delay"
// and no output (both depend on how long each check took). compare() then checks element
// names, attributes (order-insensitive, as XML parsers read them) and children, and applies
// the documented known differences (docs/conformance.md) so that a deliberate deviation
// does not fail the suite but is still reported. format_side_by_side() renders both
// transcripts in two columns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "conformance/driver.hpp"
#include "wire/xml.hpp"

namespace outpost::test::conformance {

struct Line {
    std::string source;  // client label, or "observe"
    wire::Element element;
};
using Transcript = std::vector<Line>;

struct NormalizeContext {
    std::int64_t epoch_start = 0;            // seconds, when the scenario began (minus slack)
    std::vector<std::string> private_paths;  // replaced by "{dir}" in every value
};

// Durations below this (0 included) are "{fast}", longer ones are classed in whole seconds
// ("{1s+}"): a trivial shell agent takes 10-50 ms, but 400-900 ms was seen on a loaded
// 2-core machine, so no scenario relies on anything finer than a second.
inline constexpr std::int64_t kFastLimitMs = 1000;

// Builds the normalized transcript of a finished scenario.
Transcript normalize(const Driver& driver, const std::vector<wire::Element>& observations,
                     const NormalizeContext& context);

struct Comparison {
    std::vector<std::string> differences;      // empty = conforming
    std::vector<std::string> tolerated;        // known, documented differences that were seen
    std::vector<std::string> tolerated_kinds;  // the name of the known difference, per entry
    std::vector<bool> real_differs;            // per line of each side, for the side-by-side view
    std::vector<bool> outpost_differs;
};

Comparison compare(const Transcript& real, const Transcript& outpost);

std::string format_transcript(const Transcript& transcript);
std::string format_side_by_side(const Transcript& real, const Transcript& outpost,
                                const Comparison& comparison);

}  // namespace outpost::test::conformance
