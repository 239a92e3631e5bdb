#include "util/version.hpp"

#include <climits>

namespace outpost::version {
namespace {

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Leading digits of one component, saturating instead of overflowing.
long component_value(std::string_view component)
{
    long value = 0;
    for (char c : component) {
        if (!is_digit(c)) break;
        if (value > (LONG_MAX - 9) / 10) return LONG_MAX;
        value = value * 10 + (c - '0');
    }
    return value;
}

std::string_view next_component(std::string_view& rest)
{
    auto dot = rest.find('.');
    std::string_view component = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    return component;
}

}  // namespace

int compare(std::string_view a, std::string_view b)
{
    while (!a.empty() || !b.empty()) {
        long left = component_value(next_component(a));
        long right = component_value(next_component(b));
        if (left != right) return left < right ? -1 : 1;
    }
    return 0;
}

std::optional<long> major(std::string_view text)
{
    std::string_view rest = text;
    std::string_view first = next_component(rest);
    if (first.empty()) return std::nullopt;
    for (char c : first) {
        if (!is_digit(c)) return std::nullopt;
    }
    // "1." and "1.x" are not versions; what follows a second component is not looked at.
    if (first.size() < text.size() && (rest.empty() || !is_digit(rest.front()))) return std::nullopt;
    return component_value(first);
}

}  // namespace outpost::version
