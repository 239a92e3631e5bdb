// ocf:outpost:guest's actions on libvirt's C API (cluster-plugin/lifecycle): what each
// action does and which OCF exit code and exit reason it ends with.
//
//   start         define the domain from `config` (with the owner mark), start it, wait
//                 until it runs (and until monitor_scripts pass); a domain the administrator
//                 defined (no owner mark) is started from the file as a transient domain
//                 instead, as VirtualDomain does, and its definition left alone. A start
//                 that fails removes the definition it made.
//   stop          ask the domain to shut down (shutdown_mode), wait until it is off or the
//                 graceful part of the op's timeout has passed, then destroy it; remove the
//                 definition if it carries our mark. A missing, shut-off or crashed domain
//                 is stopped (crashed ones are destroyed first).
//   monitor       running -> 0; shut off or unknown -> 7 (an exit reason when it ended
//                 abnormally); crashed or paused by an error -> 1 with the reason. A probe
//                 on a node without a reachable libvirt daemon -> 7 (nothing can run there).
//   migrate_to    peer-to-peer live migration to the target node (VIR_MIGRATE_LIVE |
//                 PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE plus migrate_options).
//   migrate_from  wait until the domain runs here (not paused for the migration).
//   reload, reload-agent  every parameter but config and hypervisor is read at each
//                 action, so there is nothing to restart; the utilization is brought up to
//                 date.
//   validate-all  parameters, the config file, the hypervisor URI against the domain's type,
//                 and a connection to the hypervisor.
// When the config file cannot be read (not mounted yet, removed), the domain is found
// through the owner mark of its definition instead (monitor and stop), so a running domain
// is never reported stopped just because its file is unavailable.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "guest/monitor_outcome.hpp"
#include "guest/params.hpp"
#include "util/result.hpp"
#include "wire/codes.hpp"

namespace outpost::ocf::guest {

// What the agent asks of the world outside libvirt; replaced in unit tests.
class Services {
public:
    virtual ~Services() = default;
    // crm_resource --resource R --utilization --set-parameter NAME --parameter-value VALUE
    virtual Status set_utilization(const std::string& resource, const std::string& name,
                                   const std::string& value) = 0;
    // crm_resource --resource R --utilization --delete-parameter NAME
    virtual Status delete_utilization(const std::string& resource, const std::string& name) = 0;
    // Runs a program to completion; its exit status (-1 if it could not run or was killed).
    virtual int run(const std::vector<std::string>& argv) = 0;
    // Where per-resource state lives between invocations (HA_RSCTMP).
    [[nodiscard]] virtual std::filesystem::path state_dir() const = 0;
};

// The real thing: crm_resource, g_spawn_sync, $HA_RSCTMP or /run/resource-agents.
class SystemServices : public Services {
public:
    Status set_utilization(const std::string& resource, const std::string& name,
                           const std::string& value) override;
    Status delete_utilization(const std::string& resource, const std::string& name) override;
    int run(const std::vector<std::string>& argv) override;
    [[nodiscard]] std::filesystem::path state_dir() const override;
};

// How often waits poll the domain's state.
inline constexpr std::chrono::milliseconds kPollInterval{100};
// Of a stop's timeout, kept for destroying a domain that did not shut down in time (at
// most this much, at most a quarter of the timeout).
inline constexpr std::chrono::milliseconds kDestroyReserve{5000};
// Connection URIs searched for a domain by its owner mark when the config file cannot be
// read and no hypervisor is configured.
inline constexpr const char* kFallbackUris[] = {"qemu:///system", "lxc:///"};

Outcome run_action(const OcfContext& context, const Lookup& lookup, Services& services);

// The meta-data document (OCF 1.1).
std::string metadata_xml();

}  // namespace outpost::ocf::guest
