#include "util/env.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/log.hpp"

namespace outpost::env {
namespace {

Error bad_value(std::string_view name, std::string_view value, const std::string& why)
{
    return make_error("config", -EINVAL, std::string(name) + ": " + log::quote(value) + " " + why);
}

bool is_name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::string> get(const char* name)
{
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

Result<std::int64_t> parse_integer(std::string_view name, std::string_view value, std::int64_t min,
                                   std::int64_t max)
{
    std::string text(trim(value));
    if (text.empty()) return bad_value(name, value, "is not a number");
    errno = 0;
    char* end = nullptr;
    long long parsed = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') return bad_value(name, value, "is not a number");
    if (parsed < min || parsed > max) {
        return bad_value(name, value,
                         "is out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    }
    return static_cast<std::int64_t>(parsed);
}

Result<std::uint16_t> parse_port(std::string_view name, std::string_view value)
{
    auto number = parse_integer(name, value, 1, 65535);
    if (!number) return bad_value(name, value, "is not a port number (1-65535)");
    return static_cast<std::uint16_t>(*number);
}

Result<bool> parse_boolean(std::string_view name, std::string_view value)
{
    std::string lower;
    for (char c : trim(value))
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "1" || lower == "yes" || lower == "y" || lower == "true" || lower == "on") return true;
    if (lower == "0" || lower == "no" || lower == "n" || lower == "false" || lower == "off") return false;
    return bad_value(name, value, "is not a boolean (yes/no, true/false, on/off, 1/0)");
}

Result<std::int64_t> parse_duration_ms(std::string_view name, std::string_view value, bool default_unit_ms)
{
    std::string_view text = trim(value);
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0 || digits > 15)
        return bad_value(name, value, "is not a duration (e.g. 500ms, 10s, 2min)");
    std::int64_t number = std::strtoll(std::string(text.substr(0, digits)).c_str(), nullptr, 10);
    std::string unit(trim(text.substr(digits)));
    for (char& c : unit)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::int64_t factor = 0;
    if (unit.empty())
        factor = default_unit_ms ? 1 : 1000;
    else if (unit == "ms" || unit == "msec")
        factor = 1;
    else if (unit == "s" || unit == "sec")
        factor = 1000;
    else if (unit == "m" || unit == "min")
        factor = 60 * 1000;
    else if (unit == "h" || unit == "hr")
        factor = 3600 * 1000;
    else
        return bad_value(name, value, "has an unknown unit (use ms, s, min or h)");
    return number * factor;
}

Result<std::map<std::string, std::string>> read_env_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("config", -errno, "cannot read " + log::quote(path));
    std::string content(kMaxEnvFileBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxEnvFileBytes) {
        return make_error("config", -EFBIG, log::quote(path) + " is larger than 1 MiB");
    }

    std::map<std::string, std::string> vars;
    std::istringstream lines(content);
    std::string raw;
    while (std::getline(lines, raw)) {
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (line.substr(0, 7) == "export ") line = trim(line.substr(7));
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        std::string_view key = line.substr(0, eq);
        bool valid = true;
        for (std::size_t i = 0; i < key.size(); ++i)
            valid = valid && is_name_char(key[i], i == 0);
        if (!valid) continue;
        std::string_view rest = line.substr(eq + 1);
        std::string value;
        if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
            char q = rest.front();
            auto close = rest.find(q, 1);
            value = std::string(
                rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
        } else {
            auto hash = rest.find(" #");
            value = std::string(trim(rest.substr(0, hash)));
        }
        vars.emplace(std::string(key), std::move(value));
    }
    return vars;
}

Status load_env_file_defaults(const std::string& path)
{
    auto vars = read_env_file(path);
    if (!vars) {
        if (vars.error().code == -ENOENT) return {};
        return vars.error();
    }
    for (const auto& [key, value] : *vars)
        setenv(key.c_str(), value.c_str(), 0);
    return {};
}

}  // namespace outpost::env
