// One logger for the whole process: levels, a dotted category per source file, and a
// destination that follows Pacemaker's conventions (PCMK_logfile, PCMK_debug). Library code in
// common/ logs only at debug or trace: the caller that decides what a failure means logs it
// once.
#pragma once

#include <cstdarg>
#include <span>
#include <string>
#include <string_view>

namespace outpost::log {

enum class Level { error = 0, warning = 1, notice = 2, info = 3, debug = 4, trace = 5 };

// Each .cpp file declares its category once:
//     static const outpost::log::Category log_cat{"wire.frame"};
// and logs with printf-style formatting (the macros at the end of this file):
//     log_debug(log_cat, "decoded message of %zu bytes", n);
// Levels per category come from OUTPOST_LOG ("wire:debug,agent.exec:trace", prefix match on
// dotted names, the longest prefix wins) or from PCMK_debug (debug for everything when it is a
// true boolean or names the program, see debug_requested()).
class Category {
public:
    explicit Category(const char* name) : name_(name) {}
    [[nodiscard]] const char* name() const { return name_; }
    [[nodiscard]] bool enabled(Level level) const;

private:
    const char* name_;
    // The effective level is resolved once per configure() call, not per log line.
    mutable int cached_level_ = -1;
    mutable unsigned cached_generation_ = 0;
};

// Process-wide configuration. Call configure() once at start-up (before threads, if any).
struct Config {
    std::string program = "outpost";  // shown in each line
    std::string file;                 // empty = stderr only
    Level default_level = Level::notice;
    std::string spec;          // OUTPOST_LOG-style "category:level,..." overrides
    bool also_stderr = false;  // copy to stderr when logging to a file
};
void configure(const Config& config);

// PCMK_debug as Pacemaker 2.1.5 reads it (docs/conformance.md, item 20): debug logging when
// the value is a true boolean (yes, y, true, on, 1; any case) or contains one of `names` as a
// plain substring, so any list separator works and names are case-sensitive.
bool debug_requested(std::string_view value, std::span<const std::string_view> names);

// Reads PCMK_logfile, PCMK_debug and OUTPOST_LOG into a Config for `program`; PCMK_debug
// enables debug when it names one of `debug_names` (empty: the program's own name).
Config config_from_environment(std::string program, std::span<const std::string_view> debug_names = {});

// Parses "error|warning|notice|info|debug|trace" (case-insensitive).
bool parse_level(std::string_view text, Level& level);

void write(const Category& category, Level level, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
void vwrite(const Category& category, Level level, const char* format, va_list args);

// Quotes a peer- or user-supplied string for a log line: "value", non-printables escaped,
// at most `limit` bytes shown.
std::string quote(std::string_view text, std::size_t limit = 200);

}  // namespace outpost::log

#define OUTPOST_LOG_AT(cat, lvl, ...)                                             \
    do {                                                                          \
        if ((cat).enabled(lvl)) ::outpost::log::write((cat), (lvl), __VA_ARGS__); \
    } while (0)
#define log_error(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::error, __VA_ARGS__)
#define log_warning(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::warning, __VA_ARGS__)
#define log_notice(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::notice, __VA_ARGS__)
#define log_info(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::info, __VA_ARGS__)
#define log_debug(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::debug, __VA_ARGS__)
#define log_trace(cat, ...) OUTPOST_LOG_AT(cat, ::outpost::log::Level::trace, __VA_ARGS__)
