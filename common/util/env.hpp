// Validated parsing of configuration values from the environment and from environment files
// (systemd's EnvironmentFile= format of the files Pacemaker's unit reads, and container mode's
// shell-like /etc/pacemaker/pcmk-init.env). Every value from outside is checked here; a bad
// one becomes an Error naming the variable and quoting the value, e.g.
//     PCMK_remote_port: "70000" is not a port number (1-65535)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::env {

// The variable's value, or nullopt when unset. An empty value counts as set.
std::optional<std::string> get(const char* name);

Result<std::uint16_t> parse_port(std::string_view name, std::string_view value);
Result<std::int64_t> parse_integer(std::string_view name, std::string_view value, std::int64_t min,
                                   std::int64_t max);
Result<bool> parse_boolean(std::string_view name, std::string_view value);
// Whether `value` is exactly one of the true words of parse_boolean (any case, no blanks
// trimmed), the test Pacemaker applies to PCMK_debug.
bool is_true_word(std::string_view value);

// Pacemaker-style interval: "10", "10s", "500ms", "2min", "1h" (plain numbers are seconds
// unless `default_unit_ms` is set). Result in milliseconds.
Result<std::int64_t> parse_duration_ms(std::string_view name, std::string_view value,
                                       bool default_unit_ms = false);

// Environment files are read up to this size (both formats below); larger ones are an Error.
inline constexpr std::size_t kMaxEnvFileBytes = 1 << 20;

// systemd's EnvironmentFile= format, as systemd.exec(5) describes it:
// - blank lines, lines without '=', and lines whose first non-blank character is '#' or
//   ';' are ignored; there are no comments after a value ("A=x # y" sets "x # y");
// - NAME=value: blanks around NAME and before the value are dropped; an assignment whose
//   NAME is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*, so also "export NAME") is
//   ignored and reported in `ignored`;
// - unquoted text: a backslash keeps the next character ("\\" is one backslash), a
//   backslash at the end of a line joins the next line; blanks inside are kept, trailing
//   blanks (space, tab, CR) dropped, quotes after the first character kept;
// - '...' is verbatim and may span lines; "..." may span lines, takes \" \\ \` \$ as the
//   character, backslash-newline as nothing and keeps any other backslash; pieces join
//   ("a"'b'c is abc; blanks between pieces are dropped);
// - the last assignment of a name wins. No variable expansion, no "export".
// Invalid UTF-8 or a NUL byte makes the file an Error (systemd refuses to start the unit).
// (systemd before 254 also continued a comment line that ends in a backslash; the man
// page, and this parser, end a comment at its newline.)
struct EnvironmentFile {
    std::map<std::string, std::string> vars;
    std::vector<std::string> ignored;  // "<origin>:<line>: ..." for each assignment dropped
};
Result<EnvironmentFile> parse_environment_file(std::string_view text, std::string_view origin);
// Reads and parses one file (at most kMaxEnvFileBytes). A missing file is -ENOENT.
Result<EnvironmentFile> read_environment_file(const std::string& path);

// Several files in the order a unit lists them (EnvironmentFile=-path lines): missing
// files are skipped, a later file overrides an earlier one.
struct EnvironmentFiles {
    std::map<std::string, std::string> vars;
    std::vector<std::string> read;     // the files that existed, in order
    std::vector<std::string> ignored;  // as EnvironmentFile::ignored, all files
};
Result<EnvironmentFiles> read_environment_files(const std::vector<std::string>& paths);

// Sets each variable that is not in the process environment yet (set but empty counts as
// set); returns the names it set.
std::vector<std::string> apply_environment_defaults(const std::map<std::string, std::string>& vars);

// Shell-like NAME=value lines (pcmk-init.env, which Pacemaker reads with its own simple
// parser): '#' comments, optional "export ", single or double quotes. Lines that are not
// assignments are ignored, as the shell sourcing them would mostly do.
Result<std::map<std::string, std::string>> read_env_file(const std::string& path);

// Sets every variable of the file that is not already set in the environment (existing
// environment wins, as with Pacemaker's unit file and pcmk-init). Missing file is not an error.
Status load_env_file_defaults(const std::string& path);

}  // namespace outpost::env
