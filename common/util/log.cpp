#include "util/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/env.hpp"

namespace outpost::log {
namespace {

struct Rule {
    std::string prefix;
    Level level;
};

struct State {
    std::mutex mutex;
    std::string program = "outpost";
    FILE* file = nullptr;
    bool also_stderr = false;
    Level default_level = Level::notice;
    std::vector<Rule> rules;
    unsigned generation = 1;
};

State& state()
{
    static State instance;
    return instance;
}

const char* level_name(Level level)
{
    switch (level) {
        case Level::error:
            return "error";
        case Level::warning:
            return "warning";
        case Level::notice:
            return "notice";
        case Level::info:
            return "info";
        case Level::debug:
            return "debug";
        case Level::trace:
            return "trace";
    }
    return "?";
}

// A rule "wire" matches categories "wire" and "wire.frame" but not "wireless".
bool prefix_matches(const std::string& prefix, const char* name)
{
    std::string_view n(name);
    if (prefix.empty() || prefix == "*") return true;
    if (n.substr(0, prefix.size()) != prefix) return false;
    return n.size() == prefix.size() || n[prefix.size()] == '.';
}

std::vector<Rule> parse_spec(std::string_view spec)
{
    std::vector<Rule> rules;
    while (!spec.empty()) {
        auto comma = spec.find(',');
        auto item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        auto colon = item.rfind(':');
        Level level;
        if (colon == std::string_view::npos) {
            if (parse_level(item, level)) rules.push_back({"", level});
            continue;
        }
        if (parse_level(item.substr(colon + 1), level))
            rules.push_back({std::string(item.substr(0, colon)), level});
    }
    return rules;
}

}  // namespace

bool parse_level(std::string_view text, Level& level)
{
    std::string lower;
    for (char c : text)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::pair<const char*, Level> names[] = {
        {"error", Level::error}, {"warning", Level::warning}, {"notice", Level::notice},
        {"info", Level::info},   {"debug", Level::debug},     {"trace", Level::trace},
    };
    for (const auto& [name, value] : names) {
        if (lower == name) {
            level = value;
            return true;
        }
    }
    return false;
}

bool Category::enabled(Level level) const
{
    State& s = state();
    if (cached_generation_ != s.generation) {
        std::lock_guard lock(s.mutex);
        Level effective = s.default_level;
        std::size_t best = 0;
        bool matched = false;
        for (const Rule& rule : s.rules) {
            if (prefix_matches(rule.prefix, name_) && (!matched || rule.prefix.size() >= best)) {
                effective = rule.level;
                best = rule.prefix.size();
                matched = true;
            }
        }
        cached_level_ = static_cast<int>(effective);
        cached_generation_ = s.generation;
    }
    return static_cast<int>(level) <= cached_level_;
}

void configure(const Config& config)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    if (s.file != nullptr) {
        // Nothing to do about a failed close of the old log but to open the new one.
        (void)std::fclose(s.file);
        s.file = nullptr;
    }
    if (!config.file.empty() && config.file != "/dev/stderr" && config.file != "stderr") {
        s.file = std::fopen(config.file.c_str(), "ae");
        if (s.file == nullptr) {
            (void)std::fprintf(stderr, "%s: cannot open log file %s, logging to stderr\n",
                               config.program.c_str(), quote(config.file).c_str());
        } else {
            // Line buffering is a nicety (whole lines for tail -f); without it we still log.
            (void)std::setvbuf(s.file, nullptr, _IOLBF, 0);
        }
    }
    s.program = config.program;
    s.also_stderr = config.also_stderr;
    s.default_level = config.default_level;
    s.rules = parse_spec(config.spec);
    ++s.generation;
}

bool debug_requested(std::string_view value, std::span<const std::string_view> names)
{
    if (env::is_true_word(value)) return true;
    return std::any_of(names.begin(), names.end(), [&](std::string_view name) {
        return !name.empty() && value.find(name) != std::string_view::npos;
    });
}

Config config_from_environment(std::string program, std::span<const std::string_view> debug_names)
{
    Config config;
    config.program = std::move(program);
    const std::string_view own_name[] = {config.program};
    if (debug_names.empty()) debug_names = own_name;
    if (const char* file = std::getenv("PCMK_logfile"); file != nullptr && *file != '\0') {
        std::string_view f(file);
        if (f != "none" && f != "/dev/null") config.file = file;
    }
    if (const char* debug = std::getenv("PCMK_debug");
        debug != nullptr && debug_requested(debug, debug_names))
        config.default_level = Level::debug;
    if (const char* spec = std::getenv("OUTPOST_LOG"); spec != nullptr) config.spec = spec;
    return config;
}

void vwrite(const Category& category, Level level, const char* format, va_list args)
{
    char message[4096];
    // A longer message is cut at the buffer's size, on purpose.
    (void)std::vsnprintf(message, sizeof message, format, args);

    char stamp[32];
    std::time_t now = std::time(nullptr);
    struct tm tm_now {};
    localtime_r(&now, &tm_now);
    // "Mmm dd hh:mm:ss" always fits; on failure the stamp would be empty, not garbage.
    if (std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &tm_now) == 0) stamp[0] = '\0';

    State& s = state();
    std::lock_guard lock(s.mutex);
    auto emit = [&](FILE* out) {
        // A logger has nowhere to report its own write failure.
        (void)std::fprintf(out, "%s %s [%d] (%s) %s: %s\n", stamp, s.program.c_str(),
                           static_cast<int>(getpid()), category.name(), level_name(level), message);
    };
    if (s.file != nullptr) {
        emit(s.file);
        if (s.also_stderr) emit(stderr);
    } else {
        emit(stderr);
    }
}

void write(const Category& category, Level level, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    vwrite(category, level, format, args);
    va_end(args);
}

std::string quote(std::string_view text, std::size_t limit)
{
    std::string out = "\"";
    std::size_t shown = 0;
    for (char c : text) {
        if (shown++ == limit) {
            out += "...";
            break;
        }
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            (void)std::snprintf(buf, sizeof buf, "\\x%02x", u);  // 4 characters and NUL: fits
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

}  // namespace outpost::log
