// Watcher: the engine of `outpost watch`. It keeps a libvirt lifecycle-event subscription
// (lifecycle::HypervisorWatch) on every hypervisor that holds a guest domain of the
// cluster, and when a domain of a resource active on this node stops or crashes without
// the cluster having asked, it reports the resource as failed on this node at once
// (ClusterTools::report_failure), so recovery starts without waiting for the next monitor.
//
// Deciding that the cluster did not ask, on every suspicious event:
//   1. the event means the domain ended here (stopped: shut down, destroyed, crashed, saved,
//      emulator failed; crashed; suspended by an I/O error or a watchdog). "Stopped because
//      migrated" never counts: the domain runs on the target now;
//   2. a fresh read of the CIB says the resource is managed, not in maintenance (cluster or
//      node), active on this node with no operation in flight (a pending record means the
//      cluster is starting, stopping or migrating it) and with no failure recorded since
//      (then the cluster knows already);
//   3. no resource agent process is running start, stop, migrate_to or migrate_from for it
//      on this node (covers the moment before a pending record is written, and clusters with
//      record-pending=false);
//   4. libvirt still says the domain is not running (not restarted meanwhile).
// Then the resource is reported once; it is not reported again until the CIB shows a new
// operation deciding its state (a new start or probe).
//
// Events are never the only signal: the cluster's own monitors keep running, and the
// watcher re-reads the CIB every refresh interval and after every (re)connection to a
// hypervisor, checking each active guest's domain, so a lost event (libvirtd restarted,
// the watcher started late) costs latency, never correctness.
#pragma once

#include <glib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/source.hpp"
#include "lifecycle/hypervisor_watch.hpp"
#include "watch/cib_guests.hpp"
#include "watch/cluster_tools.hpp"
#include "watch/state_protocol.hpp"

namespace outpost::cluster::watch {

inline constexpr std::chrono::seconds kDefaultRefresh{30};

struct WatcherOptions {
    std::string node;  // this node's name in the cluster
    std::chrono::milliseconds refresh = kDefaultRefresh;
    bool dry_run = false;  // log what would be reported, report nothing
    lifecycle::HypervisorWatch::Options hypervisor;
};

// A report (or a dry-run decision), for logs and tests.
struct Report {
    std::string resource;
    std::string domain;
    std::string why;  // "stopped (destroyed)"
    std::chrono::steady_clock::time_point noticed;
    std::chrono::steady_clock::time_point reported;  // when the tool returned
    bool ok = false;
    std::string error;
};

class Watcher {
public:
    // `context` must carry libvirt's event loop (lifecycle::install_event_loop).
    Watcher(GMainContext* context, WatcherOptions options, ClusterTools& tools);
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher();

    // Reads the CIB and subscribes; the rest happens on the loop.
    void start();
    // Reads the CIB again now (a caller that knows it changed: outpost-controld, whose
    // CIB is its own), instead of at the next refresh interval.
    void refresh_now() { refresh(); }

    // Called after each report attempt (tests, metrics).
    std::function<void(const Report&)> on_report;
    // Called after each CIB refresh has been applied.
    std::function<void()> on_refresh;

    // A domain-state query (StateService): answered for a guest resource known from the
    // CIB with the same hypervisor and config parameters, whose hypervisor connection is
    // up; the domain name is read from the config file again, as the agent would.
    StateAnswer answer(const StateQuery& query);

    [[nodiscard]] std::vector<std::string> watched_uris() const;
    [[nodiscard]] std::size_t guest_count() const { return guests_.size(); }

private:
    struct Guest {
        GuestResource resource;
        std::string uri;     // resolved: hypervisor, else from the domain's type
        std::string domain;  // from the config file ("" when it cannot be read)
        std::string config_problem;
        long reported_call = -2;  // decisive_call at the last report (-2: never reported)
    };
    struct Suspicion {
        std::string resource;
        std::string why;
        std::chrono::steady_clock::time_point noticed;
    };

    void refresh(std::function<void()> then = nullptr);
    void apply(const CibGuests& cib);
    void sync_watches();
    void on_event(const std::string& watch_uri, const lifecycle::LifecycleEvent& event);
    void on_connected(const std::string& watch_uri, lifecycle::Hypervisor& hypervisor);
    // Checks every active guest on `uri` ("" = all) against libvirt's state.
    void check_domains(const std::string& uri);
    void suspect(const std::string& resource, const std::string& why,
                 std::chrono::steady_clock::time_point noticed);
    void decide(const Suspicion& s, const CibGuests& cib);
    // Whether the domain runs now according to libvirt (nullopt: cannot tell).
    std::optional<bool> domain_running(const Guest& g);
    Guest* guest_for_domain(const std::string& uri, const std::string& name);

    GMainContext* context_;
    WatcherOptions options_;
    ClusterTools& tools_;
    std::map<std::string, Guest> guests_;                                         // by resource id
    std::map<std::string, std::unique_ptr<lifecycle::HypervisorWatch>> watches_;  // by URI
    // For answer(): domain handles by "URI\nname" (one libvirt call per query instead of
    // three; dropped on any error and at every reconnection), and each config file's
    // domain name by its modification time.
    struct NamedConfig {
        std::filesystem::file_time_type mtime;
        std::string name;
    };
    std::map<std::string, lifecycle::Domain> answer_domains_;
    std::map<std::string, NamedConfig> answer_configs_;
    std::optional<std::string> domain_name_of(const std::string& config, std::string& why);
    std::set<std::string> config_warnings_;  // logged once per resource and problem
    std::set<std::string> disconnected_;     // URIs whose loss has been logged
    bool refreshing_ = false;
    std::vector<std::function<void()>> after_refresh_;
    io::Source refresh_timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool maintenance_logged_ = false;
};

}  // namespace outpost::cluster::watch
