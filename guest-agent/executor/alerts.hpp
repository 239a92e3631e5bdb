// Alerts (lrmd_alert_exec, docs/protocol.md 5.13): each request runs its alert agent once,
// with the environment it was given plus the node sequence numbers, as the alert user
// (hacluster); the outcome is only logged. drain() stops taking new ones and reports when
// the running ones have finished, or after the longest timeout and a margin, so the daemon
// can exit without killing an alert halfway.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "executor/spawner.hpp"
#include "io/source.hpp"
#include "util/lifetime.hpp"
#include "wire/messages.hpp"

namespace outpost::agent::executor {

// drain() gives up this long after the longest running alert's timeout.
inline constexpr std::uint32_t kAlertDrainMarginMs = 5000;

// Credentials of `user` (uid, primary gid, every group), resolved in the daemon so the
// child needs no name look-ups; nullopt if the user does not exist. The daemon resolves
// "hacluster" with it for alerts (Alerts::Options::run_as).
[[nodiscard]] std::optional<RunAs> lookup_run_as(const std::string& user);

class Alerts {
public:
    struct Options {
        std::string working_dir;
        std::size_t max_output = kMaxCapturedOutput;
        // Who alerts run as; no function, or nullopt from it, = as the daemon. Asked once,
        // before the first alert is spawned, and its answer kept: the supplementary-group
        // look-up consults every NSS source and so loads modules such as libnss_systemd
        // (docs/benchmarks.md, "Design decisions and their measurements"), which a daemon
        // that never runs an alert should not carry.
        std::function<std::optional<RunAs>()> run_as;
    };

    // `spawner` must outlive this object.
    Alerts(GMainContext* context, Spawner& spawner, Options options);
    Alerts(const Alerts&) = delete;
    Alerts& operator=(const Alerts&) = delete;
    ~Alerts() = default;

    // Starts the alert agent; ignored (but accepted) once draining has begun.
    void run(wire::AlertRequest request);
    // Stops accepting alerts and calls `done` from the loop once the running ones have
    // finished (or after the longest alert timeout + kAlertDrainMarginMs).
    void drain(std::function<void()> done);
    [[nodiscard]] std::size_t running() const { return running_.size(); }

private:
    struct Running {
        std::string id;
        std::string path;
        std::uint32_t timeout_ms = 0;
    };

    void finished(Spawner::ChildId id, ChildOutcome outcome);
    void finish_drain();

    GMainContext* context_;
    Spawner& spawner_;
    Options options_;
    std::uint64_t sequence_ = 0;
    // options_.run_as's answer, once the first alert asked for it.
    std::optional<std::optional<RunAs>> run_as_;
    std::map<Spawner::ChildId, Running> running_;
    bool draining_ = false;
    std::function<void()> drain_done_;
    io::Source drain_timer_;
    io::Source drain_idle_;
    Lifetime lifetime_;  // the spawner reports late outcomes through it
};

}  // namespace outpost::agent::executor
