// outpost-controld's domain watch: the engine of `outpost watch` (watch::Watcher, which
// decides that a guest's libvirt domain stopped or crashed without the cluster asking) run
// inside the daemon, on libvirt's event loop on the daemon's GLib main loop. What the
// watcher asks of Pacemaker is answered in-process (ControldTools), with no tool started:
//
//   read the CIB        the daemon's own store (CibStore::current()), serialized
//   report a failure    ControllerActions::fail_resource, the path crm_resource --fail takes
//                       through the crmd face: a failed asyncmon is recorded, the fail count
//                       raised and a transition computed at once; then
//                       ControllerActions::container_lost: the container's guest nodes are
//                       lost at once (their connections closed, their operations in flight
//                       failed), so the recovery waits for no operation's timeout
//   in-flight actions   the control loop's own operations in flight on this node (exact,
//                       where /proc is a guess)
//
// The watcher subscribes to a hypervisor only while a libvirt domain resource
// (ocf:heartbeat:VirtualDomain, ocf:outpost:guest) is configured, so a daemon without
// guests opens no libvirt connection. Besides its own refresh interval it re-reads the CIB
// within kConfigCheck of a configuration change (a new guest is watched from its start).
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/cib_store.hpp"
#include "controller/controller_actions.hpp"
#include "io/source.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"
#include "watch/cluster_tools.hpp"
#include "watch/watcher.hpp"

namespace outpost::controld {

// How often the CIB's configuration version (admin_epoch, epoch) is compared: two
// attributes read, no copy of the CIB.
inline constexpr std::chrono::milliseconds kConfigCheck{1000};

// The operation the control loop runs now for a resource on a node (ControlLoop::
// operation_in_flight), if any.
using InFlight =
    std::function<std::optional<std::string>(const std::string& node, const std::string& rsc_id)>;

// The class, provider and type of primitive `rsc_id` in `cib` (a template's when the
// primitive names one), as crm_resource --fail sends them; nullopt if not configured.
std::optional<cluster::controller::FailedResource> configured_primitive(const xmlDoc* cib,
                                                                        const std::string& rsc_id);

class ControldTools final : public cluster::watch::ClusterTools {
public:
    ControldTools(GMainContext* context, const cluster::controller::CibStore& store,
                  cluster::controller::ControllerActions& actions, std::string node, InFlight in_flight);
    ControldTools(const ControldTools&) = delete;
    ControldTools& operator=(const ControldTools&) = delete;
    ~ControldTools() override = default;

    // Both answer from an idle source (the watcher expects an answer after the call
    // returns, and a report must not re-enter the loop from inside a libvirt callback).
    void query_cib(std::function<void(Result<std::string>)> done) override;
    void report_failure(const std::string& resource, const std::string& node,
                        std::function<void(Status)> done) override;
    std::optional<std::string> agent_action_in_flight(const std::string& resource) override;

private:
    void later(std::function<void()> f);

    GMainContext* context_;
    const cluster::controller::CibStore& store_;
    cluster::controller::ControllerActions& actions_;
    std::string node_;
    InFlight in_flight_;
    std::vector<io::Source> pending_;
    Lifetime lifetime_;
};

// The watcher with its tools, started: installs libvirt's event loop on `context` (once per
// process). Errors: libvirt's event loop cannot be installed.
class DomainWatch {
public:
    static Result<std::unique_ptr<DomainWatch>> start(GMainContext* context,
                                                      const cluster::controller::CibStore& store,
                                                      cluster::controller::ControllerActions& actions,
                                                      const std::string& node, InFlight in_flight,
                                                      std::chrono::milliseconds refresh);
    DomainWatch(const DomainWatch&) = delete;
    DomainWatch& operator=(const DomainWatch&) = delete;
    ~DomainWatch();

    [[nodiscard]] cluster::watch::Watcher& watcher() { return *watcher_; }

private:
    DomainWatch() = default;
    void arm_config_check();
    void check_config();

    GMainContext* context_ = nullptr;
    const cluster::controller::CibStore* store_ = nullptr;
    std::unique_ptr<ControldTools> tools_;
    std::unique_ptr<cluster::watch::Watcher> watcher_;
    std::string config_version_;  // "admin_epoch.epoch" at the last read
    io::Source config_timer_;
};

}  // namespace outpost::controld
