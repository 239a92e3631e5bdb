// Scores as Pacemaker computes with them: integers clamped to +-INFINITY (1000000), where
// -INFINITY wins over everything (INFINITY + -INFINITY = -INFINITY).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace outpost::cluster::policy {

using Score = int;
inline constexpr Score kInfinity = 1000000;

inline Score add_scores(Score a, Score b)
{
    if (a <= -kInfinity || b <= -kInfinity) return -kInfinity;
    if (a >= kInfinity || b >= kInfinity) return kInfinity;
    const std::int64_t sum = static_cast<std::int64_t>(a) + b;
    if (sum >= kInfinity) return kInfinity;
    if (sum <= -kInfinity) return -kInfinity;
    return static_cast<Score>(sum);
}

// "INFINITY", "+INFINITY", "-INFINITY", "red"/"yellow"/"green" (node health colours, as
// configured by node-health-red etc.; here the defaults), or an integer (clamped; junk after
// the digits ignored, no digits = 0), as Pacemaker's char2score reads them.
Score parse_score(std::string_view text);
// "INFINITY", "-INFINITY" or the decimal value.
std::string score_text(Score score);

}  // namespace outpost::cluster::policy
