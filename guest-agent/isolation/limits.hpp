// Resource limits as the administrator writes them, named like systemd's resource-control
// settings (outpost-memory-max=256M for MemoryMax=). An operation carries them as instance
// attributes of the resource ("outpost-memory-max": Pacemaker 2.1.5 passes every instance
// attribute to every operation) or as meta attributes of the operation
// ("CRM_meta_outpost_memory_max"); Pacemaker 2.1.5 does not pass the resource's own meta
// attributes, which cibfollow/ reads from the CIB (ClusterMeta, docs/isolation.md). Parsing
// is strict: a value the kernel would read differently from what the administrator meant is
// an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "wire/params.hpp"

namespace outpost::agent::isolation {

// The CPU period quotas are expressed in (cgroup v1 cpu.cfs_period_us, v2 cpu.max).
inline constexpr std::uint64_t kCpuPeriodUs = 100000;
// Kernel bounds: a quota below 1 ms is refused by the kernel.
inline constexpr std::uint64_t kMinCpuQuotaUs = 1000;
inline constexpr std::uint64_t kMaxCpuQuotaUs = kCpuPeriodUs * 1024;  // 1024 CPUs
// Weights as systemd's CPUWeight= and IOWeight= take them (default 100).
inline constexpr std::uint64_t kMinWeight = 1;
inline constexpr std::uint64_t kMaxWeight = 10000;
inline constexpr std::uint64_t kDefaultWeight = 100;
inline constexpr unsigned kMaxCpuIndex = 8191;

// A limit that is set. An attribute that is absent leaves the kernel's default (no limit).
// "infinity" is accepted where systemd accepts it and means the same as absent.
struct Limits {
    std::optional<std::uint64_t> cpu_quota_us;  // per kCpuPeriodUs
    std::optional<std::uint64_t> cpu_weight;
    std::optional<std::uint64_t> memory_max;   // bytes
    std::optional<std::uint64_t> memory_high;  // bytes
    std::optional<std::uint64_t> tasks_max;
    std::optional<std::uint64_t> io_weight;
    std::optional<std::string> allowed_cpus;  // normalised cpu list, e.g. "0-1,3"

    [[nodiscard]] bool empty() const
    {
        return !cpu_quota_us && !cpu_weight && !memory_max && !memory_high && !tasks_max && !io_weight &&
               !allowed_cpus;
    }
    bool operator==(const Limits&) const = default;
};

// One configured attribute as the administrator wrote it, for log lines and exit reasons.
struct Attribute {
    std::string name;  // "outpost-memory-max"
    std::string value;
};

// The attribute names, in the order they are documented.
[[nodiscard]] const std::vector<std::string>& attribute_names();

// The outpost-* attributes found in an operation's parameters: CRM_meta_outpost_* (with '_'
// back to '-') first, then instance attributes outpost-* (which win), unknown names
// included (parse() refuses those).
[[nodiscard]] std::vector<Attribute> configured(const wire::ParamMap& params);

// Parses and validates every outpost-* attribute of `params`. The error's message names
// the attribute, the value and what is accepted.
[[nodiscard]] Result<Limits> parse(const wire::ParamMap& params);

// The resources' meta attributes as the cluster's CIB holds them (cibfollow/ reads them),
// by the CIB's id of each primitive: the outpost-* names with their values, already
// inherited (a parent's where the primitive has none of its own).
using ClusterMeta = std::map<std::string, wire::ParamMap, std::less<>>;

// The entry for an executor resource id: the id itself, else, for a clone instance
// ("web:1"), the primitive's ("web"). nullptr if there is none.
[[nodiscard]] const wire::ParamMap* meta_for(const ClusterMeta& meta, std::string_view rsc_id);

// The outpost-* parameters of an operation (instance attributes and CRM_meta_outpost_*).
[[nodiscard]] wire::ParamMap limit_params(const wire::ParamMap& params);

// An operation's limit parameters with the CIB's meta attributes added beneath them, as
// CRM_meta_outpost_* (what a Pacemaker that passed them would send): what the operation
// itself carries wins, its instance attributes above all.
[[nodiscard]] wire::ParamMap with_cluster_meta(const wire::ParamMap& op_params, const wire::ParamMap* meta);

// Single values, exposed for tests.
[[nodiscard]] Result<std::optional<std::uint64_t>> parse_bytes(const std::string& value);
[[nodiscard]] Result<std::optional<std::uint64_t>> parse_cpu_quota(const std::string& value);
[[nodiscard]] Result<std::string> parse_cpu_list(const std::string& value);

}  // namespace outpost::agent::isolation
