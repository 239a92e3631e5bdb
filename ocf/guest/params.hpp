// ocf:outpost:guest's parameters: one table (names, types, defaults, what the metadata
// says about each) from which both the meta-data action and the parsing of the OCF
// environment are made, and the OCF context of one invocation (action, resource, timeout,
// interval, migration peers).
//
// The parameters are VirtualDomain's (resource-agents 4.12.0), so a configuration written
// for ocf:heartbeat:VirtualDomain runs unchanged. Four of VirtualDomain's are refused
// (snapshot, backingfile, stateless, copyindirs: validation fails with a reason naming
// them rather than silently doing something else). `CRM_shutdown_mode` is read as an alias
// of `shutdown_mode`: resource-agents 4.12.0 reads its shutdown mode from that name, and
// configurations that worked around it set it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace outpost::ocf::guest {

enum class ParamType { string, boolean, integer };
enum class Support {
    full,     // implemented
    refused,  // VirtualDomain's, not implemented here: setting it fails validation
};

struct ParamSpec {
    const char* name;
    ParamType type;
    const char* default_value;  // as the metadata shows it ("" = none)
    bool required;
    bool unique;
    bool reloadable;  // takes effect without a restart (reload-agent)
    Support support;
    const char* shortdesc;
    const char* longdesc;
};

std::span<const ParamSpec> param_specs();

struct GuestParams {
    std::string config;
    std::string hypervisor;  // as configured ("" = from the domain's type)
    bool force_stop = false;
    std::string migration_transport;
    std::string migration_user;
    std::chrono::milliseconds migration_downtime{0};
    std::uint64_t migration_speed_mib_s = 0;
    std::string migration_network_suffix;
    std::string migrateuri;
    std::string migrate_options;
    std::optional<unsigned> migrateport;
    std::string remoteuri;
    std::vector<std::string> monitor_scripts;
    bool autoset_utilization_cpu = true;
    bool autoset_utilization_host_memory = true;
    bool autoset_utilization_hv_memory = true;
    bool unset_utilization_cpu = false;
    bool unset_utilization_host_memory = false;
    bool unset_utilization_hv_memory = false;
    bool save_config_on_stop = false;
    bool sync_config_on_stop = false;
    std::string shutdown_mode;
    unsigned shutdown_flags = 0;  // virDomainShutdownFlags from shutdown_mode
    bool start_resources = false;
    // Extra libvirt migration flags and data URI from migrate_options.
    unsigned migrate_option_flags = 0;
    std::string migrate_options_uri;
};

// OCF_RESKEY_<name> of the invocation (nullopt when unset).
using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

// Every value checked; an Error (code -EINVAL) names the parameter and quotes the value.
// Refused parameters that are set are an Error too.
Result<GuestParams> parse_params(const Lookup& lookup);

// The invocation's OCF context (OCF_RESOURCE_INSTANCE, OCF_RESKEY_CRM_meta_*).
struct OcfContext {
    std::string action;
    std::string resource;  // OCF_RESOURCE_INSTANCE ("" when run by hand)
    std::optional<std::int64_t> interval_ms;
    std::chrono::milliseconds timeout{0};  // 0 = not given
    std::string migrate_target;
    std::string migrate_source;
    std::string node;  // OCF_RESKEY_CRM_meta_on_node
    // A monitor with no interval or interval 0 (how ocf_is_probe decides).
    [[nodiscard]] bool probe() const { return action == "monitor" && interval_ms.value_or(0) == 0; }
};

// The action's default timeout (the metadata's) when the cluster gives none.
std::chrono::milliseconds default_timeout(const std::string& action);
OcfContext context_from(const std::string& action, const Lookup& lookup, const std::string& resource);

}  // namespace outpost::ocf::guest
