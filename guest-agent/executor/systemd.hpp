// systemd class (docs/protocol.md 5.7): resource actions become D-Bus calls to systemd's
// manager (org.freedesktop.systemd1 on the system bus) instead of processes, the calls
// pacemaker-remoted 2.1.5 makes (docs/conformance.md, item 22). Manager runs them on the
// agent's GLib main loop through sd-bus.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "executor/agents.hpp"

namespace outpost::agent::executor::systemd {

// A D-Bus call is failed by us this long after the action's timeout, if systemd is silent.
inline constexpr std::uint32_t kCallSafetyMarginMs = 5000;
// Synchronous look-ups (unit existence for the "service" class) wait at most this long.
inline constexpr int kSyncCallTimeoutMs = 5000;
inline constexpr const char* kDropInName = "50-pacemaker.conf";
inline constexpr const char* kRunDir = "/run/systemd/system";

// OCF code for an ActiveState value: active/reloading -> 0, activating/deactivating ->
// pending (193), anything else -> not running (7).
[[nodiscard]] int rc_for_active_state(std::string_view state);
// "<run_dir>/<type>.service.d/50-pacemaker.conf" for an agent type. Always ".service.d",
// also for a type that names its unit with a suffix ("x.service", "x.socket"), whose
// drop-in systemd then never reads: 2.1.5 writes it there (docs/conformance.md, item 22).
[[nodiscard]] std::string drop_in_path(std::string_view run_dir, std::string_view type);
// The drop-in's text: description, ordering before Pacemaker, no restarts by systemd.
[[nodiscard]] std::string drop_in_text(std::string_view type);
// Pacemaker's metadata for a systemd agent `type`; `description` is the unit's (empty: none
// could be read).
[[nodiscard]] std::string metadata(std::string_view type, std::string_view description);
// Whether a LoadState makes the "service" class choose systemd: "loaded" and "masked"
// (2.1.5 falls back to LSB for "not-found", "bad-setting" and "error": docs/conformance.md,
// item 23).
[[nodiscard]] bool load_state_exists(std::string_view load_state);

// What run() does, per action:
//
//   every action   connect to the bus (failure: rc 1, status error, "No DBus connection"),
//                  then LoadUnit (failure: rc 1, status error, "No DBus object found for
//                  systemd unit <type>"; meta-data then still answers)
//   monitor/status ActiveState: active/reloading -> 0, activating/deactivating -> pending
//                  (rc 193, status pending), anything else -> 7 with the state as reason
//   start          writes the 50-pacemaker.conf drop-in, Reload, StartUnit(unit, "replace")
//   stop           removes the drop-in (Reload only if there was one), StopUnit(unit, "replace")
//   restart        RestartUnit(unit, "replace"): done when the job is queued
//   meta-data      the unit's Description in Pacemaker's systemd metadata
//   other          rc 3, status error, "Action <action> not implemented for systemd resources"
//
// StartUnit and StopUnit return when the job is queued: run() then reports `follow_up` and
// the executor polls "status" until the unit settles (executor.cpp, follow-ups). A stop of
// a unit systemd does not know (NoSuchUnit) is followed up the same way; a start of one
// fails with rc 5, status not installed, "systemd unit <type> not found"; other refusals
// (a masked unit) with rc 1, status error, "Unable to invoke systemd DBus method".
class Manager {
public:
    using Done = std::function<void(agents::RawResult)>;

    // Sources attach to `context`; the bus connection is made on first use.
    explicit Manager(GMainContext* context, std::string run_dir = kRunDir);
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    ~Manager();

    // Whether the "service" class resolves to systemd for `unit`: LoadUnit succeeds and the
    // LoadState counts (load_state_exists()). Synchronous; false when systemd is unreachable.
    [[nodiscard]] bool unit_exists(const std::string& unit);

    // One attempt of `action` (the agent action: "status" for a monitor) on `unit`, the
    // systemd unit of agent type `type`. `done` runs once, from the main loop, never from
    // inside run(). Returns an id for cancel().
    std::uint64_t run(const std::string& unit, const std::string& type, const std::string& action,
                      std::uint32_t timeout_ms, Done done);
    // Abandons an action: its `done` is never called (a queued systemd job is left alone).
    void cancel(std::uint64_t id);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::agent::executor::systemd
