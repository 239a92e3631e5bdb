// What a resource's cgroup has used, read from its cgroupfs files (v1: cpuacct.usage,
// memory.usage_in_bytes, memory.max_usage_in_bytes, memory.failcnt, pids.current,
// pids.events; v2: cpu.stat, memory.current, memory.peak, memory.events, pids.current,
// pids.events), and the agent's metric families that show it. A value whose file is absent
// (no cpuacct mounted, memory.peak before Linux 5.19) is left out rather than shown as 0.
// Reading is a handful of small reads of kernel memory per resource: it never blocks, but
// with 1,000 resources a scrape that read them all would hold the loop for tens of ms
// (docs/benchmarks.md), so the figures are cached and refreshed a slice at a time.
#pragma once

#include <glib.h>
#include <cstdint>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "isolation/hierarchy.hpp"

namespace outpost::metrics {
class Registry;
}

namespace outpost::agent::isolation {

class Manager;

struct Usage {
    std::optional<double> cpu_seconds;
    std::optional<std::uint64_t> memory_bytes;
    std::optional<std::uint64_t> memory_peak_bytes;
    std::optional<std::uint64_t> tasks;
    // v1 memory.failcnt (+ memory.memsw.failcnt), v2 memory.events "max"
    std::optional<std::uint64_t> memory_limit_hits;
    std::optional<std::uint64_t> tasks_limit_hits;  // pids.events "max"
    std::optional<std::uint64_t> oom_kills;         // v1 memory.oom_control, v2 memory.events "oom_kill"
};

// One resource's cgroup: its directory per controller (Manager's map; "" on v2).
[[nodiscard]] Usage read_usage(Kind kind, const std::map<std::string, std::string, std::less<>>& dirs);

// The value of `key` in a flat-keyed cgroup file ("usage_usec 123\nuser_usec 100\n").
[[nodiscard]] std::optional<std::uint64_t> keyed_value(const std::string& text, const std::string& key);

// Resources whose figures one refresh tick reads, and how often a tick runs: with N
// resources each figure is at most max(1, N / kUsageRefreshBatch) ticks old.
inline constexpr std::size_t kUsageRefreshBatch = 50;
inline constexpr unsigned kUsageRefreshMs = 250;

// Registers outpost_agent_resource_* families for every cgroup the manager holds: a
// resource's figures are read at the first scrape that sees it, then refreshed by a timer
// on `context`, kUsageRefreshBatch resources per tick. `manager` must outlive the returned
// owner, which must outlive `registry`'s renders.
[[nodiscard]] std::shared_ptr<void> register_metrics(GMainContext* context, metrics::Registry& registry,
                                                     const Manager& manager);

}  // namespace outpost::agent::isolation
