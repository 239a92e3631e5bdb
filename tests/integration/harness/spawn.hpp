// Internal: the fork/exec core shared by Process and run_command(). Not for tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness/command.hpp"
#include "util/result.hpp"

namespace outpost::test::detail {

struct ChildSpec {
    std::vector<std::string> argv;  // argv[0] already resolved to a path
    EnvList env;                    // overrides on top of the inherited environment
    int netns_fd = -1;              // setns() target, or -1
    int output_fd = -1;             // becomes stdout and stderr, or -1 to inherit
    std::string working_dir;        // empty = inherit
};

// Forks and execs; returns the child's PID once exec has succeeded, or an Error naming
// the step that failed in the child (setns, chdir, exec).
Result<pid_t> spawn_child(const ChildSpec& spec);

// Records PIDs for started_by_harness().
void remember_pid(pid_t pid);

}  // namespace outpost::test::detail
