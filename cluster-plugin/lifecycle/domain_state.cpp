#include "lifecycle/domain_state.hpp"

#include <array>
#include <span>

namespace outpost::cluster::lifecycle {

namespace {

// Names indexed by libvirt's reason numbers (libvirt-domain.h of libvirt 9.0), in virsh's
// words where virsh has them.
constexpr std::array<const char*, 12> kRunningReasons{
    "unknown",       "booted",   "migrated",           "restored",
    "from snapshot", "unpaused", "migration canceled", "save canceled",
    "event wakeup",  "crashed",  "post-copy",          "post-copy failed"};
constexpr std::array<const char*, 14> kPausedReasons{
    "unknown",   "user",        "migrating",     "saving",          "dumping",
    "I/O error", "watchdog",    "from snapshot", "shutting down",   "creating snapshot",
    "crashed",   "starting up", "post-copy",     "post-copy failed"};
constexpr std::array<const char*, 9> kShutoffReasons{
    "unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"};
constexpr std::array<const char*, 2> kShutdownReasons{"unknown", "user"};
constexpr std::array<const char*, 2> kCrashedReasons{"unknown", "panicked"};

constexpr int kPausedIoError = 5;
constexpr int kPausedWatchdog = 6;
constexpr int kPausedCrashed = 10;
constexpr int kPausedPostcopyFailed = 13;
constexpr int kShutoffCrashed = 3;
constexpr int kShutoffFailed = 6;

const char* pick(std::span<const char* const> names, int index)
{
    if (index < 0 || static_cast<std::size_t>(index) >= names.size()) return "unknown";
    return names[static_cast<std::size_t>(index)];
}

constexpr std::array<const char*, 9> kEventTypes{"defined",   "undefined",   "started",
                                                 "suspended", "resumed",     "stopped",
                                                 "shutdown",  "pmsuspended", "crashed"};
constexpr std::array<const char*, 4> kDefinedDetails{"added", "updated", "renamed", "from snapshot"};
constexpr std::array<const char*, 2> kUndefinedDetails{"removed", "renamed"};
constexpr std::array<const char*, 5> kStartedDetails{"booted", "migrated", "restored", "from snapshot",
                                                     "wakeup"};
constexpr std::array<const char*, 9> kSuspendedDetails{"paused",    "migrated",  "I/O error",
                                                       "watchdog",  "restored",  "from snapshot",
                                                       "API error", "post-copy", "post-copy failed"};
constexpr std::array<const char*, 5> kResumedDetails{"unpaused", "migrated", "from snapshot", "post-copy",
                                                     "post-copy failed"};
constexpr std::array<const char*, 7> kStoppedDetails{"shutdown", "destroyed", "crashed",      "migrated",
                                                     "saved",    "failed",    "from snapshot"};
constexpr std::array<const char*, 3> kShutdownDetails{"finished", "guest", "host"};
constexpr std::array<const char*, 2> kPmDetails{"memory", "disk"};
constexpr std::array<const char*, 2> kCrashedDetails{"panicked", "crashloaded"};

constexpr int kSuspendedIoError = 2;
constexpr int kSuspendedWatchdog = 3;
constexpr int kSuspendedPostcopyFailed = 8;

}  // namespace

const char* state_name(State state)
{
    switch (state) {
        case State::no_state:
            return "no state";
        case State::running:
            return "running";
        case State::blocked:
            return "idle";
        case State::paused:
            return "paused";
        case State::shutting_down:
            return "in shutdown";
        case State::shut_off:
            return "shut off";
        case State::crashed:
            return "crashed";
        case State::pm_suspended:
            return "pmsuspended";
    }
    return "unknown";
}

std::string reason_name(State state, int reason)
{
    switch (state) {
        case State::running:
            return pick(kRunningReasons, reason);
        case State::paused:
            return pick(kPausedReasons, reason);
        case State::shutting_down:
            return pick(kShutdownReasons, reason);
        case State::shut_off:
            return pick(kShutoffReasons, reason);
        case State::crashed:
            return pick(kCrashedReasons, reason);
        case State::no_state:
        case State::blocked:
        case State::pm_suspended:
            break;
    }
    return "unknown";
}

std::string describe(const DomainStatus& status)
{
    return std::string(state_name(status.state)) + " (" + reason_name(status.state, status.reason) + ")";
}

Health classify(const DomainStatus& status)
{
    switch (status.state) {
        case State::running:
        case State::blocked:
        case State::shutting_down:
        case State::pm_suspended:
            return Health::running;
        case State::paused:
            if (status.reason == kPausedIoError || status.reason == kPausedWatchdog ||
                status.reason == kPausedCrashed || status.reason == kPausedPostcopyFailed)
                return Health::failed;
            return Health::running;
        case State::crashed:
            return Health::failed;
        case State::shut_off:
        case State::no_state:
            return Health::stopped;
    }
    return Health::failed;
}

bool ended_abnormally(const DomainStatus& status)
{
    return status.state == State::shut_off &&
           (status.reason == kShutoffCrashed || status.reason == kShutoffFailed);
}

const char* event_type_name(int type)
{
    return pick(kEventTypes, type);
}

std::string event_detail_name(int type, int detail)
{
    switch (static_cast<EventType>(type)) {
        case EventType::defined:
            return pick(kDefinedDetails, detail);
        case EventType::undefined:
            return pick(kUndefinedDetails, detail);
        case EventType::started:
            return pick(kStartedDetails, detail);
        case EventType::suspended:
            return pick(kSuspendedDetails, detail);
        case EventType::resumed:
            return pick(kResumedDetails, detail);
        case EventType::stopped:
            return pick(kStoppedDetails, detail);
        case EventType::shutdown:
            return pick(kShutdownDetails, detail);
        case EventType::pm_suspended:
            return pick(kPmDetails, detail);
        case EventType::crashed:
            return pick(kCrashedDetails, detail);
    }
    return "unknown";
}

std::string describe(const LifecycleEvent& event)
{
    return std::string(event_type_name(event.type)) + " (" + event_detail_name(event.type, event.detail) +
           ")";
}

EventMeaning meaning(const LifecycleEvent& event)
{
    switch (static_cast<EventType>(event.type)) {
        case EventType::stopped:
            if (event.detail == static_cast<int>(StoppedDetail::migrated)) return EventMeaning::left;
            return EventMeaning::ended;
        case EventType::crashed:
            return EventMeaning::ended;
        case EventType::shutdown:
            return EventMeaning::ending;
        case EventType::suspended:
            if (event.detail == kSuspendedIoError || event.detail == kSuspendedWatchdog ||
                event.detail == kSuspendedPostcopyFailed)
                return EventMeaning::failed;
            return EventMeaning::irrelevant;
        case EventType::defined:
        case EventType::undefined:
        case EventType::started:
        case EventType::resumed:
        case EventType::pm_suspended:
            return EventMeaning::irrelevant;
    }
    return EventMeaning::irrelevant;
}

}  // namespace outpost::cluster::lifecycle
