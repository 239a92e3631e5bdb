#include "isolation/settings.hpp"

#include <algorithm>

namespace outpost::agent::isolation {

std::uint64_t v1_cpu_shares(std::uint64_t weight)
{
    return std::max<std::uint64_t>(2, weight * 1024 / kDefaultWeight);
}

std::uint64_t v1_blkio_weight(std::uint64_t weight)
{
    // Piecewise linear, as systemd maps IOWeight= to BlockIOWeight=: 1 -> 10, 100 (both
    // defaults) -> 500, 10000 -> 1000.
    weight = std::clamp(weight, kMinWeight, kMaxWeight);
    if (weight <= kDefaultWeight) return 10 + (weight - 1) * 490 / 99;
    return 500 + (weight - kDefaultWeight) * 500 / 9900;
}

std::vector<Write> plan_writes(Kind kind, const Limits& l, const std::string& cpus_default)
{
    auto num = [](const std::optional<std::uint64_t>& v, const char* unset) {
        return v ? std::to_string(*v) : std::string(unset);
    };
    std::vector<Write> w;
    if (kind == Kind::v2) {
        w.push_back(
            {"outpost-memory-high", "", "memory.high", num(l.memory_high, "max"), l.memory_high.has_value()});
        w.push_back(
            {"outpost-memory-max", "", "memory.max", num(l.memory_max, "max"), l.memory_max.has_value()});
        w.push_back({"outpost-cpu-quota", "", "cpu.max",
                     num(l.cpu_quota_us, "max") + " " + std::to_string(kCpuPeriodUs),
                     l.cpu_quota_us.has_value()});
        w.push_back({"outpost-cpu-weight", "", "cpu.weight",
                     std::to_string(l.cpu_weight.value_or(kDefaultWeight)), l.cpu_weight.has_value()});
        w.push_back({"outpost-tasks-max", "", "pids.max", num(l.tasks_max, "max"), l.tasks_max.has_value()});
        w.push_back({"outpost-io-weight", "", "io.weight",
                     "default " + std::to_string(l.io_weight.value_or(kDefaultWeight)),
                     l.io_weight.has_value()});
        w.push_back({"outpost-allowed-cpus", "", "cpuset.cpus", l.allowed_cpus.value_or(cpus_default),
                     l.allowed_cpus.has_value()});
        return w;
    }
    // v1: no swap allowance beyond the limit (MemoryMax= on v2 counts no swap either, but v2
    // keeps swap in its own file; here memsw must follow memory or swap escapes the limit).
    // memsw >= limit at every step: lift memsw, set the limit, then memsw to match.
    bool mem = l.memory_max.has_value();
    w.push_back({"outpost-memory-max", "memory", "memory.memsw.limit_in_bytes", "-1", mem, true});
    w.push_back({"outpost-memory-max", "memory", "memory.limit_in_bytes", num(l.memory_max, "-1"), mem});
    w.push_back(
        {"outpost-memory-max", "memory", "memory.memsw.limit_in_bytes", num(l.memory_max, "-1"), mem, true});
    w.push_back({"outpost-memory-high", "memory", "memory.soft_limit_in_bytes", num(l.memory_high, "-1"),
                 l.memory_high.has_value()});
    w.push_back({"outpost-cpu-quota", "cpu", "cpu.cfs_period_us", std::to_string(kCpuPeriodUs),
                 l.cpu_quota_us.has_value()});
    w.push_back({"outpost-cpu-quota", "cpu", "cpu.cfs_quota_us", num(l.cpu_quota_us, "-1"),
                 l.cpu_quota_us.has_value()});
    w.push_back({"outpost-cpu-weight", "cpu", "cpu.shares",
                 std::to_string(v1_cpu_shares(l.cpu_weight.value_or(kDefaultWeight))),
                 l.cpu_weight.has_value()});
    w.push_back({"outpost-tasks-max", "pids", "pids.max", num(l.tasks_max, "max"), l.tasks_max.has_value()});
    w.push_back({"outpost-io-weight", "blkio", "blkio.weight",
                 std::to_string(v1_blkio_weight(l.io_weight.value_or(kDefaultWeight))),
                 l.io_weight.has_value()});
    w.push_back({"outpost-allowed-cpus", "cpuset", "cpuset.cpus", l.allowed_cpus.value_or(cpus_default),
                 l.allowed_cpus.has_value()});
    return w;
}

}  // namespace outpost::agent::isolation
