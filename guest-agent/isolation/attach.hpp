// Which cgroup v1 hierarchies a resource's processes join. Every hierarchy a child joins is
// one more attach per exec, and each attach waits in the kernel (docs/benchmarks.md), so a
// resource joins only what it needs: always the hierarchies its figures and its stop rely
// on (memory: memory use and peak, OOM kills, outpost-memory-*; pids: the task count,
// outpost-tasks-max; cpuacct: cpu seconds), and those that only carry limits (cpu,
// cpuset, blkio) while it has such a limit. Pure: the manager acts on what this returns.
#pragma once

#include <set>
#include <string>

#include "isolation/hierarchy.hpp"
#include "isolation/limits.hpp"

namespace outpost::agent::isolation {

using KeySet = std::set<std::string, std::less<>>;

// The v1 controllers a resource with `limits` needs, by controller name.
[[nodiscard]] KeySet v1_controllers_for(const Limits& limits);

// The hierarchies (keys of h.own) a resource with `limits` joins: v1, those that carry a
// controller of v1_controllers_for() (one for both where cpu and cpuacct are co-mounted);
// where none of memory, pids and cpuacct is mounted, every hierarchy (nothing else lists
// the resource's processes). v2: the one.
[[nodiscard]] KeySet hierarchies_for(const Hierarchy& h, const Limits& limits);

// The hierarchy (a key of h.own) every process of every resource is in, to list them from:
// pids, else memory, else cpuacct's; with none of them, the first.
[[nodiscard]] std::string members_hierarchy(const Hierarchy& h);

}  // namespace outpost::agent::isolation
