// Dotted version strings ("1.1", "3.16.2") as Pacemaker compares them: numerically, one
// component at a time. Used for the executor protocol version and, on the cluster side,
// for feature sets.
#pragma once

#include <optional>
#include <string_view>

namespace outpost::version {

// <0, 0 or >0 as strcmp. "1.10" > "1.9"; a missing component counts as 0 ("1" == "1.0");
// a component counts by its leading digits ("abc" is 0), saturating rather than overflowing.
int compare(std::string_view a, std::string_view b);

// The first component of a version that is digits, optionally followed by '.' and more
// digits ("1", "1.1", "1.1.5"); nullopt for anything else ("", "abc", "1.", "x.1").
std::optional<long> major(std::string_view text);

}  // namespace outpost::version
