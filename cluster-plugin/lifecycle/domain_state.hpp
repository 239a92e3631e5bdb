// What a libvirt domain's state means to a cluster: libvirt's (state, reason) pairs and
// lifecycle events (type, detail) named and classified, with no libvirt connection involved.
//
// The OCF agent's monitor and the watcher's event handling both decide from these
// classifications, so "running", "stopped" and "failed" mean the same thing to both:
//   running  running, blocked, paused by an administrator or for a migration, in
//            shutdown, PM-suspended: the domain exists and holds its resources;
//   stopped  shut off (or no state for a domain that is not active): nothing runs;
//   failed   crashed (kept in the crashed state), or paused after an I/O error, a
//            watchdog, a crash or a failed post-copy migration: it exists but cannot
//            serve, and the cluster must recover it.
#pragma once

#include <string>

namespace outpost::cluster::lifecycle {

// libvirt's virDomainState values (same numbers), kept here so that callers need not
// include libvirt.
enum class State {
    no_state = 0,
    running = 1,
    blocked = 2,
    paused = 3,
    shutting_down = 4,
    shut_off = 5,
    crashed = 6,
    pm_suspended = 7,
};

struct DomainStatus {
    State state = State::no_state;
    int reason = 0;  // the virDomain<State>Reason value that goes with `state`
};

enum class Health { running, stopped, failed };

// "running", "shut off", ... (virsh's words).
const char* state_name(State state);
// The reason's name in virsh's words ("destroyed", "crashed", "migrated", ...), or
// "unknown".
std::string reason_name(State state, int reason);
// "shut off (crashed)", "paused (I/O error)", "running (booted)".
std::string describe(const DomainStatus& status);
Health classify(const DomainStatus& status);
// Whether a shut-off domain ended badly (crashed, or its emulator failed): worth an exit
// reason even though it is simply not running now.
bool ended_abnormally(const DomainStatus& status);

// --- lifecycle events --------------------------------------------------------------------

// libvirt's virDomainEventType values.
enum class EventType {
    defined = 0,
    undefined = 1,
    started = 2,
    suspended = 3,
    resumed = 4,
    stopped = 5,
    shutdown = 6,
    pm_suspended = 7,
    crashed = 8,
};

// The detail values of VIR_DOMAIN_EVENT_STOPPED this module reasons about.
enum class StoppedDetail {
    shutdown = 0,
    destroyed = 1,
    crashed = 2,
    migrated = 3,
    saved = 4,
    failed = 5,
    from_snapshot = 6,
};

// The detail values of VIR_DOMAIN_EVENT_SHUTDOWN: who asked (finished: not known).
enum class ShutdownDetail {
    finished = 0,
    guest = 1,
    host = 2,
};

struct LifecycleEvent {
    std::string uri;   // the connection's canonical URI
    std::string name;  // domain name
    std::string uuid;  // "8-4-4-4-12" hex
    int type = 0;      // EventType
    int detail = 0;    // per type
};

const char* event_type_name(int type);
std::string event_detail_name(int type, int detail);
// "stopped (destroyed)".
std::string describe(const LifecycleEvent& event);

// What an event says about whether the domain still serves on this host.
enum class EventMeaning {
    irrelevant,  // defined, undefined, resumed, started, ...
    left,        // stopped because it migrated away: it runs elsewhere now
    ending,      // shutdown (finished, guest, host): the emulator saw the guest power off or
                 // got a signal (QEMU's SHUTDOWN) and is going down; "stopped" follows once
                 // its process is gone, which can take seconds (emulator_exit.hpp)
    ended,       // it no longer runs here: stopped (shut down, destroyed, crashed, saved,
                 // emulator failed) or crashed
    failed,      // suspended by an I/O error, a watchdog or a failed post-copy: it cannot
                 // serve
};
EventMeaning meaning(const LifecycleEvent& event);

}  // namespace outpost::cluster::lifecycle
