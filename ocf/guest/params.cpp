#include "guest/params.hpp"

#include <array>
#include <cerrno>
#include <sstream>

#include "lifecycle/libvirt.hpp"
#include "lifecycle/migration.hpp"
#include "util/env.hpp"
#include "util/log.hpp"

namespace outpost::ocf::guest {

namespace {

using ParamType::boolean;
using ParamType::integer;
using ParamType::string;
using Support::full;
using Support::refused;

// clang-format off
constexpr ParamSpec kParams[] = {
    {"config", string, "", true, true, false, full, "Domain configuration file",
     "Absolute path of the libvirt domain XML file that describes the domain. The domain's name and type come "
     "from it; the agent defines the domain from this file at every start, so edits take effect at the next "
     "start."},
    {"hypervisor", string, "", false, false, false, full, "Hypervisor URI",
     "The libvirt connection URI, e.g. qemu:///system or lxc:///. Empty: chosen from the domain's type "
     "(lxc: lxc:///, qemu and kvm: qemu:///system, xen: xen:///system), else libvirt's default URI."},
    {"force_stop", boolean, "false", false, false, true, full, "Always destroy on stop",
     "Stop by destroying the domain at once instead of asking it to shut down first. Only for domains that "
     "cannot shut down gracefully."},
    {"migration_transport", string, "", false, false, true, full, "Migration transport",
     "Transport of the connection to the target's libvirtd during a live migration (ssh, tcp, tls, ...). "
     "Empty: the transport of the hypervisor URI, or libvirt's default."},
    {"migration_user", string, "", false, false, true, full, "Migration user",
     "User name put into the target's libvirt URI during a migration. Ignored when remoteuri is set."},
    {"migration_downtime", integer, "0", false, false, true, full, "Maximum migration downtime (ms)",
     "The longest pause, in milliseconds, that the final phase of a live migration may cause. 0: the "
     "hypervisor's default."},
    {"migration_speed", integer, "0", false, false, true, full, "Migration bandwidth (MiB/s)",
     "Bandwidth limit of a live migration in MiB/s. 0: no limit."},
    {"migration_network_suffix", string, "", false, false, true, full, "Migration network host name suffix",
     "Migrate over a dedicated network: this suffix is added to the target node's name (before the first dot "
     "of a fully qualified name) to form the host name used for the migration."},
    {"migrateuri", string, "", false, false, true, full, "Migration data URI",
     "The hypervisor's migration data URI (e.g. tcp://%n-mig:49152); %n stands for the target node. Overrides "
     "migration_network_suffix and migrateport for the data channel."},
    {"migrate_options", string, "", false, false, true, full, "Extra migration options",
     "virsh migrate options that have a libvirt flag: --tunnelled --compressed --auto-converge --unsafe "
     "--abort-on-error --postcopy --tls --copy-storage-all --copy-storage-inc --migrateuri URI (and --live "
     "--p2p --persistent --undefinesource --verbose, which every migration here implies). Others fail "
     "validation."},
    {"migrateport", integer, "", false, false, true, full, "Migration data port",
     "Port of the QEMU migration data channel. Empty: one chosen by libvirt."},
    {"remoteuri", string, "", false, false, true, full, "Target libvirt URI",
     "The target's libvirt URI for a migration; %n stands for the target node. Overrides "
     "migration_transport, migration_user and migration_network_suffix."},
    {"monitor_scripts", string, "", false, false, true, full, "Monitor scripts",
     "Space-separated list of programs run after the domain is found running at every monitor; a non-zero "
     "exit fails the monitor. Start and migrate_from wait until all of them succeed."},
    {"autoset_utilization_cpu", boolean, "true", false, false, true, full, "Set the cpu utilization",
     "Put the domain's number of virtual CPUs into the resource's cpu utilization attribute (when it "
     "changes, checked at start and monitor)."},
    {"autoset_utilization_host_memory", boolean, "true", false, false, true, full,
     "Set the host_memory utilization",
     "Put the domain's maximum memory (MiB) into the resource's host_memory utilization attribute."},
    {"autoset_utilization_hv_memory", boolean, "true", false, false, true, full, "Set the hv_memory utilization",
     "Put the domain's maximum memory (MiB) into the resource's hv_memory utilization attribute."},
    {"unset_utilization_cpu", boolean, "false", false, false, true, full, "Remove the cpu utilization",
     "Remove the resource's cpu utilization attribute (at start and monitor)."},
    {"unset_utilization_host_memory", boolean, "false", false, false, true, full,
     "Remove the host_memory utilization", "Remove the resource's host_memory utilization attribute."},
    {"unset_utilization_hv_memory", boolean, "false", false, false, true, full,
     "Remove the hv_memory utilization", "Remove the resource's hv_memory utilization attribute."},
    {"save_config_on_stop", boolean, "false", false, false, true, full, "Save the configuration on stop",
     "Before stopping, write the running domain's configuration back to the config file (atomically), so "
     "changes made while it ran are kept."},
    {"sync_config_on_stop", boolean, "false", false, false, true, full, "Save and sync the configuration",
     "As save_config_on_stop, then run csync2 -x to copy the file to the other nodes."},
    {"shutdown_mode", string, "", false, false, true, full, "Shutdown mode",
     "How a stop asks the domain to shut down: acpi, agent, initctl, signal or paravirt (a comma-separated "
     "list lets the hypervisor try each). Empty: the hypervisor's default, except for LXC application "
     "containers (<os><type>exe</type>), which are sent SIGTERM (signal)."},
    {"start_resources", boolean, "false", false, false, true, full, "Start networks and storage pools",
     "Start the libvirt virtual networks and storage pools the domain uses before starting it or migrating "
     "it in."},
    {"snapshot", string, "", false, false, false, refused, "Not supported",
     "VirtualDomain's save-to-file on stop and restore on start. Not supported by ocf:outpost:guest: setting "
     "it fails validation."},
    {"backingfile", string, "", false, false, false, refused, "Not supported",
     "VirtualDomain's copy-on-write image creation. Not supported by ocf:outpost:guest: setting it fails "
     "validation."},
    {"stateless", boolean, "false", false, false, false, refused, "Not supported",
     "VirtualDomain's stateless copy-on-write mode. Not supported by ocf:outpost:guest: setting it to true "
     "fails validation."},
    {"copyindirs", string, "", false, false, false, refused, "Not supported",
     "VirtualDomain's virt-copy-in for stateless mode. Not supported by ocf:outpost:guest: setting it fails "
     "validation."},
};
// clang-format on

Error param_error(const std::string& message)
{
    return make_error("ocf.guest", -EINVAL, message);
}

Result<bool> boolean_param(const Lookup& lookup, const char* name, bool fallback)
{
    auto v = lookup(name);
    if (!v || v->empty()) return fallback;
    auto parsed = env::parse_boolean(name, *v);
    if (!parsed) return param_error(parsed.error().message);
    return *parsed;
}

std::string string_param(const Lookup& lookup, const char* name)
{
    auto v = lookup(name);
    return v ? *v : "";
}

Result<std::optional<std::int64_t>> integer_param(const Lookup& lookup, const char* name, std::int64_t max)
{
    auto v = lookup(name);
    if (!v || v->empty()) return std::optional<std::int64_t>();
    auto parsed = env::parse_integer(name, *v, 0, max);
    if (!parsed) return param_error(parsed.error().message);
    return std::optional<std::int64_t>(*parsed);
}

}  // namespace

std::span<const ParamSpec> param_specs()
{
    return kParams;
}

Result<GuestParams> parse_params(const Lookup& lookup)
{
    GuestParams p;
    p.config = string_param(lookup, "config");
    if (p.config.empty()) return param_error("config is required (the domain's XML file)");
    if (p.config.front() != '/')
        return param_error("config must be an absolute path: " + log::quote(p.config));
    p.hypervisor = string_param(lookup, "hypervisor");

    for (const auto& spec : param_specs()) {
        if (spec.support != Support::refused) continue;
        auto v = lookup(spec.name);
        if (!v || v->empty()) continue;
        if (spec.type == ParamType::boolean) {
            auto b = env::parse_boolean(spec.name, *v);
            if (b && !*b) continue;
        }
        return param_error(std::string(spec.name) + " is not supported by ocf:outpost:guest (set to " +
                           log::quote(*v) + "); use ocf:heartbeat:VirtualDomain for it");
    }

    struct BoolField {
        const char* name;
        bool GuestParams::*field;
    };
    static constexpr std::array<BoolField, 10> kBools{{
        {"force_stop", &GuestParams::force_stop},
        {"autoset_utilization_cpu", &GuestParams::autoset_utilization_cpu},
        {"autoset_utilization_host_memory", &GuestParams::autoset_utilization_host_memory},
        {"autoset_utilization_hv_memory", &GuestParams::autoset_utilization_hv_memory},
        {"unset_utilization_cpu", &GuestParams::unset_utilization_cpu},
        {"unset_utilization_host_memory", &GuestParams::unset_utilization_host_memory},
        {"unset_utilization_hv_memory", &GuestParams::unset_utilization_hv_memory},
        {"save_config_on_stop", &GuestParams::save_config_on_stop},
        {"sync_config_on_stop", &GuestParams::sync_config_on_stop},
        {"start_resources", &GuestParams::start_resources},
    }};
    for (const auto& b : kBools) {
        auto v = boolean_param(lookup, b.name, p.*(b.field));
        if (!v) return v.error();
        p.*(b.field) = *v;
    }
    if (p.sync_config_on_stop) p.save_config_on_stop = true;

    p.migration_transport = string_param(lookup, "migration_transport");
    p.migration_user = string_param(lookup, "migration_user");
    p.migration_network_suffix = string_param(lookup, "migration_network_suffix");
    p.migrateuri = string_param(lookup, "migrateuri");
    p.migrate_options = string_param(lookup, "migrate_options");
    p.remoteuri = string_param(lookup, "remoteuri");

    auto downtime = integer_param(lookup, "migration_downtime", 3600000);
    if (!downtime) return downtime.error();
    p.migration_downtime = std::chrono::milliseconds(downtime->value_or(0));
    auto speed = integer_param(lookup, "migration_speed", 1LL << 40);
    if (!speed) return speed.error();
    p.migration_speed_mib_s = static_cast<std::uint64_t>(speed->value_or(0));
    auto port = integer_param(lookup, "migrateport", 65535);
    if (!port) return port.error();
    if (*port) {
        if (**port == 0) return param_error("migrateport: 0 is not a port number (1-65535)");
        p.migrateport = static_cast<unsigned>(**port);
    }
    if (auto s = cluster::lifecycle::parse_migrate_options(p.migrate_options, p.migrate_option_flags,
                                                           p.migrate_options_uri);
        !s)
        return param_error(s.error().message);

    std::istringstream scripts(string_param(lookup, "monitor_scripts"));
    std::string script;
    while (scripts >> script)
        p.monitor_scripts.push_back(script);

    p.shutdown_mode = string_param(lookup, "shutdown_mode");
    if (p.shutdown_mode.empty()) p.shutdown_mode = string_param(lookup, "CRM_shutdown_mode");
    auto modes = cluster::lifecycle::parse_shutdown_modes(p.shutdown_mode);
    if (!modes) return param_error("shutdown_mode: " + modes.error().message);
    p.shutdown_flags = *modes;
    return p;
}

std::chrono::milliseconds default_timeout(const std::string& action)
{
    using std::chrono::seconds;
    if (action == "start" || action == "stop") return seconds(90);
    if (action == "migrate_to") return seconds(120);
    if (action == "migrate_from") return seconds(60);
    if (action == "monitor" || action == "status") return seconds(30);
    return seconds(20);
}

OcfContext context_from(const std::string& action, const Lookup& lookup, const std::string& resource)
{
    OcfContext c;
    c.action = action;
    c.resource = resource;
    if (auto v = lookup("CRM_meta_interval"); v && !v->empty()) {
        auto ms = env::parse_integer("CRM_meta_interval", *v, 0, INT64_MAX);
        if (ms) c.interval_ms = *ms;
    }
    c.timeout = default_timeout(action);
    if (auto v = lookup("CRM_meta_timeout"); v && !v->empty()) {
        auto ms = env::parse_integer("CRM_meta_timeout", *v, 1, INT64_MAX);
        if (ms) c.timeout = std::chrono::milliseconds(*ms);
    }
    c.migrate_target = lookup("CRM_meta_migrate_target").value_or("");
    c.migrate_source = lookup("CRM_meta_migrate_source").value_or("");
    c.node = lookup("CRM_meta_on_node").value_or("");
    return c;
}

}  // namespace outpost::ocf::guest
