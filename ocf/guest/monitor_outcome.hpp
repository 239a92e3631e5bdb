// What ocf:outpost:guest's monitor concludes from a domain's state, in one place for both
// of its ways to learn that state: asking libvirt itself (agent.cpp) and asking the
// resident `outpost watch` service (front.cpp, which must not load libvirt). No libvirt here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lifecycle/domain_state.hpp"
#include "wire/codes.hpp"

namespace outpost::ocf::guest {

struct Outcome {
    int rc = wire::ocf::ok;
    std::string reason;            // printed as "ocf-exit-reason:TEXT" when not empty
    bool logged_as_error = false;  // the reason is also worth an error line in the log
};

// `status` nullopt: no such domain. A running domain (rc 0) still has its monitor scripts
// and utilization to see to; the caller does those.
//   running                -> 0
//   stopped                -> 7; an exit reason for a recurring monitor, or for a probe
//                             when it ended abnormally
//   failed                 -> 1 with the reason (logged as an error)
//   absent                 -> 7
Outcome monitor_outcome(const std::string& domain,
                        const std::optional<cluster::lifecycle::DomainStatus>& status, bool probe);

// --- what lets a monitor skip libvirt (front.cpp) -----------------------------------------

// The utilization parameters as the agent reads them.
struct UtilizationSettings {
    bool autoset_cpu = true, autoset_host_memory = true, autoset_hv_memory = true;
    bool unset_cpu = false, unset_host_memory = false, unset_hv_memory = false;
};
// The per-resource cache of what the agent last wrote (name -> value, "-" = deleted).
std::filesystem::path utilization_cache_path(const std::filesystem::path& state_dir,
                                             const std::string& resource);
std::map<std::string, std::string> read_utilization_cache(const std::filesystem::path& path);
// The (name, value) pairs the utilization should have for a running domain, and whether a
// monitor would change anything (a crm_resource call) given the cache.
struct UtilizationItem {
    const char* name;
    bool unset;
    bool autoset;
    std::string value;
};
std::vector<UtilizationItem> utilization_items(const UtilizationSettings& s, unsigned vcpus,
                                               std::uint64_t max_memory_kib);
bool utilization_would_change(const std::vector<UtilizationItem>& items,
                              const std::map<std::string, std::string>& cache);

// The agent's parameters (every OCF_RESKEY_* but the CRM_meta_* ones, sorted) as one text.
// The full agent writes it to the state dir once they have passed its checks
// (params_checked_path); a monitor whose parameters read the same may skip those checks.
std::string params_fingerprint(char** environment);
std::filesystem::path params_checked_path(const std::filesystem::path& state_dir,
                                          const std::string& resource);

}  // namespace outpost::ocf::guest
