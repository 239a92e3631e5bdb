// Limits -> the cgroupfs files that carry them, for each kind of hierarchy. Pure: the
// manager writes what this returns, in order (the order matters on v1, where the memory
// and memory+swap limits must stay ordered while both change).
#pragma once

#include <string>
#include <vector>

#include "isolation/hierarchy.hpp"
#include "isolation/limits.hpp"

namespace outpost::agent::isolation {

struct Write {
    std::string attribute;   // outpost-* name, for reports
    std::string controller;  // v1 controller ("" on v2)
    std::string file;        // e.g. "memory.max"
    std::string value;
    bool configured = false;  // the administrator set it (false: restoring the default)
    bool optional = false;    // skipped silently where the file does not exist (memsw)
};

// Every file for every limit: set ones get their value, unset ones the kernel's default,
// so a limit removed from the configuration is lifted. `cpus_default` is what
// cpuset.cpus gets when outpost-allowed-cpus is unset (v1: the parent's cpus; v2: "").
[[nodiscard]] std::vector<Write> plan_writes(Kind kind, const Limits& limits,
                                             const std::string& cpus_default);

// cgroup v1 cpu.shares for a systemd-style weight (100 -> 1024), and blkio.weight (10..1000, 100 -> 500).
[[nodiscard]] std::uint64_t v1_cpu_shares(std::uint64_t weight);
[[nodiscard]] std::uint64_t v1_blkio_weight(std::uint64_t weight);

}  // namespace outpost::agent::isolation
