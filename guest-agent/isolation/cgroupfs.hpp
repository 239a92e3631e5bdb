// The few file operations cgroupfs needs, with errors as values that name the file: a
// cgroup is a directory, each setting a file written with one write(2) (the kernel parses
// the whole buffer at once), its members a list of pids in cgroup.procs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/result.hpp"

namespace outpost::agent::isolation::cgroupfs {

[[nodiscard]] bool exists(const std::string& path);
[[nodiscard]] Status write(const std::string& path, const std::string& value);
[[nodiscard]] Result<std::string> read(const std::string& path);
// Creates the directory; true if it was created, false if it existed already.
[[nodiscard]] Result<bool> make_dir(const std::string& path);
[[nodiscard]] Status remove_dir(const std::string& path);
// remove_dir() of the cgroups beneath `path` (deepest first), then of `path`: a resource's
// processes may have made cgroups of their own inside its cgroup.
[[nodiscard]] Status remove_tree(const std::string& path);
// Members of the cgroup `dir` (its cgroup.procs).
[[nodiscard]] Result<std::vector<pid_t>> procs(const std::string& dir);
// A process's command name (/proc/PID/comm), for log lines; "?" once it is gone.
[[nodiscard]] std::string comm(pid_t pid);

}  // namespace outpost::agent::isolation::cgroupfs
