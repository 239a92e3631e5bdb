// Validated parsing of configuration values from the environment and from
// shell-style environment files (/etc/default/pacemaker, /etc/pacemaker/pcmk-init.env).
//
// Every value from outside is checked here; a bad value becomes an Error whose message
// names the variable and quotes the value, e.g.
//     PCMK_remote_port: "70000" is not a port number (1-65535)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::env {

// The variable's value, or nullopt when unset. An empty value counts as set.
std::optional<std::string> get(const char* name);

Result<std::uint16_t> parse_port(std::string_view name, std::string_view value);
Result<std::int64_t> parse_integer(std::string_view name, std::string_view value, std::int64_t min,
                                   std::int64_t max);
Result<bool> parse_boolean(std::string_view name, std::string_view value);

// Pacemaker-style interval: "10", "10s", "500ms", "2min", "1h" (plain numbers are seconds
// unless `default_unit_ms` is set). Result in milliseconds.
Result<std::int64_t> parse_duration_ms(std::string_view name, std::string_view value,
                                       bool default_unit_ms = false);

// Shell-like NAME=value lines: '#' comments, optional "export ", single or double quotes.
// Lines that are not assignments are ignored, as the shell sourcing them would mostly do.
// Limits: at most kMaxEnvFileBytes read.
inline constexpr std::size_t kMaxEnvFileBytes = 1 << 20;
Result<std::map<std::string, std::string>> read_env_file(const std::string& path);

// Sets every variable of the file that is not already set in the environment (existing
// environment wins, as with Pacemaker's unit file and pcmk-init). Missing file is not an error.
Status load_env_file_defaults(const std::string& path);

}  // namespace outpost::env
