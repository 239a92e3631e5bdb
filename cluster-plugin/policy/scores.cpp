#include "policy/scores.hpp"

#include <cctype>

namespace outpost::cluster::policy {

namespace {

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

Score parse_score(std::string_view text)
{
    if (text.empty()) return 0;
    if (iequals(text, "INFINITY") || iequals(text, "+INFINITY")) return kInfinity;
    if (iequals(text, "-INFINITY")) return -kInfinity;
    if (iequals(text, "red")) return -kInfinity;
    if (iequals(text, "yellow") || iequals(text, "green")) return 0;
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        ++i;
    }
    std::int64_t value = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        value = value * 10 + (text[i] - '0');
        if (value >= kInfinity) {
            value = kInfinity;
            break;
        }
    }
    if (negative) value = -value;
    return static_cast<Score>(value);
}

std::string score_text(Score score)
{
    if (score >= kInfinity) return "INFINITY";
    if (score <= -kInfinity) return "-INFINITY";
    return std::to_string(score);
}

}  // namespace outpost::cluster::policy
