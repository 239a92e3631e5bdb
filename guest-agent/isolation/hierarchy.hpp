// Where this process's cgroups are: which kind of hierarchy the machine runs (the v2 unified
// hierarchy, or v1 with one mount per controller) and the directory of the agent's own
// cgroup in each, from /proc/self/mountinfo and /proc/self/cgroup. Pure parsing plus one
// function that reads the real files, so tests can feed any layout.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::agent::isolation {

enum class Kind { v1, v2 };

struct Hierarchy {
    Kind kind = Kind::v2;
    // v2: the one entry "" -> own cgroup directory. v1: controller -> own cgroup directory
    // in that controller's mount, for the controllers the agent uses (memory, cpu, pids,
    // cpuset, blkio, cpuacct) that are mounted; a controller co-mounted with one before it
    // (cpu,cpuacct) is listed once, under the first.
    std::map<std::string, std::string, std::less<>> own;
    // v1: controller -> the key in `own` of the hierarchy that carries it, for each of those
    // controllers that is mounted and visible ("cpuacct" -> "cpu" where co-mounted). v2: empty.
    std::map<std::string, std::string, std::less<>> mount_of;

    // The key in `own` whose hierarchy carries `controller` (v1); empty if none does. A
    // hand-made Hierarchy without mount_of: the controller's own entry, if any.
    [[nodiscard]] std::string key_of(std::string_view controller) const;
};

// The v1 controllers the agent uses, in the order it writes them. cpuacct carries no limit:
// it is there for the resources' cpu time (metrics), where it is mounted apart from cpu.
inline constexpr std::string_view kV1Controllers[] = {"memory", "cpu", "pids", "cpuset", "blkio", "cpuacct"};

// Decides from the two files' text. v1 wins when a v1 mount carries memory, cpu or pids (a
// hybrid host's cgroup2 mount then holds no controller worth using); otherwise the cgroup2
// mount is used. An error says why neither can be.
[[nodiscard]] Result<Hierarchy> discover(std::string_view mountinfo, std::string_view proc_cgroup);

// discover() over /proc/self/mountinfo and /proc/self/cgroup.
[[nodiscard]] Result<Hierarchy> discover_self();

}  // namespace outpost::agent::isolation
