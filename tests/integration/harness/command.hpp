// Running short helper commands (ip, ss, cibadmin, ...) from integration tests.
//
// run_command() spawns argv (optionally inside a network namespace), captures stdout and
// stderr together up to kMaxCapturedOutput bytes, and kills the command if it outruns its
// timeout. find_program() resolves a name through PATH plus the sbin directories, which a
// test runner's PATH may lack. Long-running daemons belong to Process (process.hpp).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"
#include "util/xml_text.hpp"

namespace outpost::test {

class Netns;

inline constexpr std::size_t kMaxCapturedOutput = 1 << 20;
inline constexpr std::chrono::milliseconds kDefaultCommandTimeout{30000};

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct CommandResult {
    int wait_status = 0;  // as returned by waitpid()
    std::string output;   // stdout and stderr interleaved, truncated at kMaxCapturedOutput

    [[nodiscard]] bool succeeded() const;        // exited with status 0
    [[nodiscard]] std::string describe() const;  // "exited with status 1: <output>"
};

// Absolute path of an executable: `name` itself if it contains '/', else the first match in
// PATH, /usr/local/sbin, /usr/sbin, /sbin, /usr/local/bin, /usr/bin, /bin.
Result<std::string> find_program(const std::string& name);

// Runs argv to completion. An Error only when it cannot be started or times out (then it
// is killed); a non-zero exit is reported in the CommandResult.
Result<CommandResult> run_command(const std::vector<std::string>& argv, const Netns* netns = nullptr,
                                  std::chrono::milliseconds timeout = kDefaultCommandTimeout,
                                  const EnvList& env = {});

// run_command() that also turns a non-zero exit into an Error naming the command.
Result<std::string> run_checked(const std::vector<std::string>& argv, const Netns* netns = nullptr,
                                std::chrono::milliseconds timeout = kDefaultCommandTimeout);

// "a b 'c d'": argv quoted for messages.
std::string join_argv(const std::vector<std::string>& argv);

// Escapes a value for XML text and attribute values in either quotes (domain XML, a seeded
// CIB).
inline std::string xml_escape(const std::string& s)
{
    return util::xml_escaped(s, util::Apostrophe::escape);
}

// "exited with status 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

}  // namespace outpost::test
