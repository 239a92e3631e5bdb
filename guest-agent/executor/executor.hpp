// Executor: the resource registry and the operations run on it (docs/protocol.md 5). It never
// touches the network: it knows nothing of clients but the opaque client id it echoes in each
// OpResult, and its results come back through Callbacks::on_result, the one place the server
// turns them into exec notifications.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "executor/agents.hpp"
#include "executor/alerts.hpp"
#include "executor/spawner.hpp"
#include "executor/types.hpp"

namespace outpost::agent::isolation {
class Manager;
}

namespace outpost::agent::executor {

// Resources are registered by id; each has a FIFO of operations of which at most one runs at
// a time, while operations on different resources run in parallel. Recurring operations run
// first immediately (after any start delay), then `interval` after each completion, until
// cancelled; a duplicate recurring request is merged into the existing one. A stop first
// cancels the resource's recurring operations.
//
// Ordering contract with the server (it must match what 2.1.5 puts on the wire):
// - exec() never reports a result from inside the call: even an immediate failure
//   (unknown class, agent not installed) is delivered later from the main loop, so the
//   server's reply (rc = call id) always precedes the notify.
// - cancel(), unregister_resource(), register_resource() (replacing a definition), and
//   exec() of a "stop" report the operations they cancel synchronously, from inside the
//   call, so the cancel notifications precede the server's reply.
class Executor {
public:
    struct Callbacks {
        // A finished (or cancelled) operation. Called from the main loop, or synchronously
        // from the calls listed in the ordering contract above. May call back into the
        // Executor.
        std::function<void(const OpResult&)> on_result;
    };

    struct Options {
        agents::Paths paths;
        // Who alerts run as (Alerts::Options::run_as): hacluster in the daemon.
        std::function<std::optional<RunAs>()> alert_user;
        // Per-resource cgroups (isolation/manager.hpp); nullptr: none (tests, and the
        // limits attributes are then not even validated). Must outlive the executor.
        isolation::Manager* isolation = nullptr;
        // Every finished run of an operation (also those a notify-changes-only monitor does
        // not report), with its resource's class: what the metrics count. Optional.
        std::function<void(const OpResult&, std::string_view rsc_class)> on_run = nullptr;
    };

    // `spawner` must outlive the executor; tests pass a recorder, the daemon ProcessSpawner.
    Executor(GMainContext* context, Spawner& spawner, Options options, Callbacks callbacks);
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    ~Executor();

    // lrmd_rsc_register. Identical re-registration is a no-op; a different definition
    // replaces the entry (its queued ops are reported cancelled). Returns rc::ok.
    int register_resource(ResourceDefinition definition);
    // lrmd_rsc_unregister: rc::ok (also when unknown), rc::in_progress if an op is executing
    // (the resource is removed anyway; the running op's result has rsc_deleted set).
    int unregister_resource(std::string_view rsc_id);
    [[nodiscard]] const ResourceDefinition* find(std::string_view rsc_id) const;

    // lrmd_rsc_exec with the server-assigned call id, for client `client_id` (echoed in
    // its results; empty: none). Returns call_id, or rc::no_device for an unknown resource.
    int exec(int call_id, wire::ExecRequest request, std::string client_id = {});
    // lrmd_rsc_cancel: rc::ok, rc::no_device (unknown resource) or rc::not_supported.
    int cancel(std::string_view rsc_id, std::string_view action, std::uint32_t interval_ms);
    // lrmd_get_recurring: every resource (rsc_id empty) or one; nullopt if it is unknown.
    [[nodiscard]] std::optional<std::vector<wire::RecurringList>> recurring(std::string_view rsc_id) const;

    // The last client went away: cancel the recurring ops of resources registered with
    // the drop-recurring call option (docs/protocol.md 5.12).
    void drop_recurring();

    // lrmd_alert_exec: runs asynchronously; the outcome is only logged. The parameters are
    // exported as they are, plus CRM_alert_node_sequence and CRM_notify_node_sequence.
    // Ignored (but accepted) once draining has begun.
    void run_alert(wire::AlertRequest request);
    // Stops accepting alerts and calls `done` when the running ones have finished (or after
    // the longest alert timeout + 5 s). Resources are left as they are.
    void drain_alerts(std::function<void()> done);

    [[nodiscard]] std::size_t resource_count() const;
    [[nodiscard]] std::size_t running_count() const;  // operations with a live process
    [[nodiscard]] std::size_t queued_count() const;   // operations waiting for their turn

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace outpost::agent::executor
