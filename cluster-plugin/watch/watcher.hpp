// Watcher: the engine of `outpost watch`. It keeps a libvirt lifecycle-event subscription
// (lifecycle::HypervisorWatch) on every hypervisor that holds a guest domain of the
// cluster, and when a domain of a resource active on this node stops or crashes without
// the cluster having asked, it reports the resource as failed on this node at once
// (ClusterTools::report_failure), so recovery starts without waiting for the next monitor.
//
// What counts as the domain ending (the first one seen is acted on):
//   - an event saying it ended here: stopped (shut down, destroyed, crashed, saved,
//     emulator failed), crashed, suspended by an I/O error or a watchdog. "Stopped because
//     migrated" never counts: the domain runs on the target now;
//   - an event saying it is going down: shutdown (the guest powered off, or QEMU got a
//     signal); libvirt sends "stopped" only once the emulator process is gone, seconds
//     later where the process is reaped late. A guest's own power-off does not count for
//     a domain whose <on_poweroff> restarts it;
//   - its emulator process exiting (a local QEMU: lifecycle::ProcessExit, a pidfd): for
//     `virsh destroy` libvirt sends neither event before the process is reaped.
// Deciding that the cluster did not ask, on every suspicion:
//   1. a fresh read of the CIB says the resource is managed, not in maintenance (cluster or
//      node), active on this node with no operation in flight (a pending record means the
//      cluster is starting, stopping or migrating it) and with no failure recorded since
//      (then the cluster knows already);
//   2. no resource agent process is running start, stop, migrate_to or migrate_from for it
//      on this node (covers the moment before a pending record is written, and clusters with
//      record-pending=false);
//   3. for a "stopped" event, libvirt still says the domain is not running (not restarted
//      meanwhile); for an exited process, libvirt's PID file names no newer QEMU of the
//      domain (libvirt is not asked: it holds the domain until the process is reaped).
// Then the resource is reported once; it is not reported again until the CIB shows a new
// operation deciding its state (a new start or probe), so the "stopped" that follows a
// shutdown or an exited process finds it reported already (or the cluster stopping it).
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
#include "lifecycle/emulator_exit.hpp"
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
    // The running emulator process of a domain (uri, name), watched for its exit; empty:
    // lifecycle::emulator_pid (a local QEMU's PID file). Tests give their own processes.
    std::function<std::optional<pid_t>(const std::string& uri, const std::string& domain)> emulator_pid;
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

    // A lifecycle event of `uri`'s domain, as its HypervisorWatch delivers it (public for
    // tests that play events libvirt's test driver never sends, such as shutdown).
    void domain_event(const std::string& uri, const lifecycle::LifecycleEvent& event);

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
        long reported_call = -2;            // decisive_call at the last report (-2: never reported)
        bool restarts_on_poweroff = false;  // <on_poweroff> restart: a guest power-off is no end
    };
    // What made the watcher suspect a domain's end, and so what confirms it (decide()).
    enum class Evidence {
        ended,   // an event: it ended; libvirt must still say it is not running
        ending,  // a shutdown event: the emulator is going down
        exited,  // its emulator process exited (`pid`)
    };
    struct Suspicion {
        std::string resource;
        std::string why;
        std::chrono::steady_clock::time_point noticed;
        Evidence evidence = Evidence::ended;
        pid_t pid = -1;
    };
    struct EmulatorWatch {
        std::string uri;
        std::string domain;
        std::unique_ptr<lifecycle::ProcessExit> exit;
    };

    void refresh(std::function<void()> then = nullptr);
    void apply(const CibGuests& cib);
    void sync_watches();
    void on_connected(const std::string& watch_uri, lifecycle::Hypervisor& hypervisor);
    // Checks every active guest on `uri` ("" = all) against libvirt's state.
    void check_domains(const std::string& uri);
    void suspect(const Suspicion& s);
    void decide(const Suspicion& s, const CibGuests& cib);
    // Why the suspected end is over already (the domain runs again), if it is.
    std::optional<std::string> runs_again(const Guest& g, const Suspicion& s);
    // Emulator processes: watched for every guest whose domain has one running here.
    void watch_emulators();
    void watch_emulator(const Guest& g);
    void on_emulator_exit(const std::string& resource, pid_t pid);
    std::optional<pid_t> find_emulator(const std::string& uri, const std::string& domain) const;
    // Whether the domain runs now according to libvirt (nullopt: cannot tell).
    std::optional<bool> domain_running(const Guest& g);
    Guest* guest_for_domain(const std::string& uri, const std::string& name);

    GMainContext* context_;
    WatcherOptions options_;
    ClusterTools& tools_;
    std::map<std::string, Guest> guests_;                                         // by resource id
    std::map<std::string, std::unique_ptr<lifecycle::HypervisorWatch>> watches_;  // by URI
    std::map<std::string, EmulatorWatch> emulators_;                              // by resource id
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
