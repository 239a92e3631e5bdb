// systemd class (protocol.md 5.7): resource actions become D-Bus calls to systemd's manager
// (org.freedesktop.systemd1 on the system bus) instead of processes. start writes the
// Pacemaker drop-in (50-pacemaker.conf) and reloads before StartUnit(name, "replace"); stop
// removes it (and reloads) before StopUnit; status reads the unit's ActiveState. Because
// StartUnit/StopUnit return when the job is queued, start and stop are followed by status
// polls every min(2 s, timeout/10) until the unit settles, within the original timeout.
//
// Without a reachable systemd (no system bus, or no systemd on it; e.g. in a container
// that does not run systemd) every action reports "not installed" (rc 5, status 7) with a
// reason naming the cause, so the cluster treats the unit as absent on this node rather
// than as a failure to retry.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "executor/agents.hpp"

namespace outpost::agent::executor::systemd {

inline constexpr std::uint32_t kMaxPollDelayMs = 2000;
// A D-Bus call is failed by us this long after the action's timeout, if systemd is silent.
inline constexpr std::uint32_t kCallSafetyMarginMs = 5000;
// Synchronous look-ups (unit existence for the "service" class) wait at most this long.
inline constexpr int kSyncCallTimeoutMs = 5000;
inline constexpr const char* kDropInName = "50-pacemaker.conf";
inline constexpr const char* kRunDir = "/run/systemd/system";

// OCF code for an ActiveState value: active/reloading -> 0, activating/deactivating ->
// pending (193), anything else -> not running (7).
[[nodiscard]] int rc_for_active_state(std::string_view state);
// Delay between follow-up status polls of a start or stop.
[[nodiscard]] std::uint32_t poll_delay_ms(std::uint32_t timeout_ms);
// "<run_dir>/<unit>.d/50-pacemaker.conf" for a unit name ("x.service").
[[nodiscard]] std::string drop_in_path(std::string_view run_dir, std::string_view unit);
// The drop-in's text: description, ordering before Pacemaker, no restarts by systemd.
[[nodiscard]] std::string drop_in_text(std::string_view unit);

class Manager {
public:
    using Done = std::function<void(agents::RawResult)>;

    // Sources attach to `context`; the bus connection is made on first use.
    explicit Manager(GMainContext* context, std::string run_dir = kRunDir);
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    ~Manager();

    // Whether systemd knows the unit (LoadUnit succeeds and its LoadState is not
    // "not-found"). Synchronous; false when systemd is unreachable.
    [[nodiscard]] bool unit_exists(const std::string& unit);

    // Runs `action` ("start", "stop", "status"; others are not supported) on `unit`.
    // `done` runs once, from the main loop, never from inside run(). Returns an id for
    // cancel().
    std::uint64_t run(const std::string& unit, const std::string& action, std::uint32_t timeout_ms,
                      Done done);
    // Abandons an action: its `done` is never called (a queued systemd job is left alone).
    void cancel(std::uint64_t id);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::agent::executor::systemd
