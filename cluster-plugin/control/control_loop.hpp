// ControlLoop: what makes outpost-controld manage resources, as pacemaker-controld does on
// its DC. On every CIB change made by someone else, every operation result that was not
// the expected one and every recheck (cluster-recheck-interval), it runs the policy face
// on the current CIB and executes the transition graph (TransitionRun): resource
// operations on the host through a HostExecutor, ocf:pacemaker:remote connections (and the
// implicit connections of guest nodes, whose pseudo fencing it confirms as Pacemaker does)
// through RemoteConnection, operations on remote and guest nodes through their
// connection's RemoteClient.
// Results are recorded in the status section (status_record.hpp) through the CibStore, so
// the policy, crm_mon and crm_simulate see them. A transition that must be recomputed is
// aborted: no new actions start, the running ones are awaited, then the next one is
// computed.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection/ipc_provider.hpp"
#include "control/graph_actions.hpp"
#include "control/host_executor.hpp"
#include "control/loop_fencer.hpp"
#include "control/loop_observer.hpp"
#include "control/op_digests.hpp"
#include "control/status_record.hpp"
#include "control/transition.hpp"
#include "controller/attrd.hpp"
#include "controller/cib_service.hpp"
#include "controller/cib_store.hpp"
#include "controller/controller_actions.hpp"
#include "controller/proxied_faces.hpp"
#include "io/source.hpp"
#include "tls/context.hpp"
#include "util/lifetime.hpp"

namespace outpost::cluster::connection {
class RemoteConnection;
}

namespace outpost::cluster::control {

// The client name on the loop's own CIB updates.
inline constexpr const char* kLoopClient = "outpost-controld";
// Shortest recheck interval honoured (a smaller cluster-recheck-interval would spin).
inline constexpr std::chrono::seconds kMinRecheck{1};
// Least time between the starts of two transitions when the first was aborted.
inline constexpr std::chrono::milliseconds kMinTransitionSpacing{250};
// ... when an action could not run at all (no connection to its node, fencing): the same
// graph would come again until something changes.
inline constexpr std::chrono::seconds kUnrunnableRetry{5};
// Longest a status record the loop made waits for its batch to be written, and a finished
// action for the next ones to start, when the main loop stays busy (otherwise both happen
// as soon as the loop is idle).
inline constexpr std::chrono::milliseconds kRecordBatchWindow{20};
// Longest a status record that a restart forgets anyway (ControlLoop::Record::forgettable)
// stays out of the CIB file once it is current.
inline constexpr std::chrono::milliseconds kDeferredSave{1000};
struct LoopConfig {
    std::string host_name;  // the controller's node
    tls::TlsContext tls;    // for remote connections
    // Tells the CIB's subscribers (crm_mon live) about a change the loop made; gets the CIB
    // as it was before. May be empty.
    std::function<void(const xmlDoc* before)> announce;
    LoopObserver* observer = nullptr;  // optional (metrics); must outlive the loop
    // Serves the proxied tool sessions of every remote and guest node (control/guest_ipc):
    // each connection registers as the node's IPC provider. nullptr: none is served and the
    // connections do not register as provider. Must outlive the loop.
    controller::CibService* cib_service = nullptr;
    // Serves the nodes' proxied attrd sessions too (with cib_service); may be nullptr.
    controller::AttributeService* attributes = nullptr;
    // Serves their proxied crmd and stonith-ng sessions too (with cib_service): the local
    // faces (controller/proxied_faces.hpp); may be nullptr. Must outlive the loop.
    controller::ProxiedFaces* proxied_faces = nullptr;
};

// It is also what the crmd/attrd IPC faces ask of the controller (ControllerActions):
// deleting a resource's history (crm_resource --cleanup/--refresh), failing it (--fail),
// reprobing a node, clearing fail counts.
class ControlLoop final : public controller::ControllerActions {
public:
    // Records the host as an online member and forgets its old operation history and that
    // of the remote nodes (its executor starts empty, its connections are down: probes find
    // what runs; the host's failure counts stay), then computes the first transition.
    static Result<std::unique_ptr<ControlLoop>> create(GMainContext* context, controller::CibStore& store,
                                                       HostExecutor& host, LoopConfig config);
    ControlLoop(const ControlLoop&) = delete;
    ControlLoop& operator=(const ControlLoop&) = delete;
    ~ControlLoop() override;

    // Something changed: abort the running transition (if any) and compute a new one.
    void trigger(const std::string& why);

    [[nodiscard]] int transition_id() const { return transition_id_; }
    [[nodiscard]] bool idle() const { return !run_; }
    // Remote and guest node connections the loop holds, and how many of them are up.
    [[nodiscard]] std::pair<std::size_t, std::size_t> connections() const;
    // The operation ("start", "stop", "migrate_to", ...) the loop is running now for a
    // resource on a node, if any; recurring monitors do not count (outpost-controld's domain
    // watch: the cluster is acting on the resource, a domain event is its own doing).
    [[nodiscard]] std::optional<std::string> operation_in_flight(const std::string& node,
                                                                 const std::string& rsc_id) const;
    // The fencing it does and the history of it, for the stonith-ng face (loop_fencer.hpp).
    [[nodiscard]] LoopFencer& fencer() { return *fencer_; }

    // controller::ControllerActions: each edits the status section and computes a new
    // transition.
    [[nodiscard]] std::string host_node_id() const override { return host_id_; }
    Status delete_history(const std::string& node, const std::string& rsc_id) override;
    Result<int> fail_resource(const controller::FailedResource& resource) override;
    Status reprobe(const std::string& node) override;
    // The container died (the domain watch saw it): each of its guest nodes whose
    // connection is up is lost at once, as when the connection drops (a dead VM closes no
    // TCP connection): the connection is closed, every operation in flight on the guest
    // fails as a dropped connection's do (rc 1, status 8, "Action was pending when executor
    // connection was dropped") and the connection's monitors end ("Remote connection
    // unexpectedly dropped during monitor"), so the transition waiting on them ends and the
    // recovery starts without waiting for their timeouts.
    std::vector<std::string> container_lost(const std::string& rsc_id) override;

private:
    struct Connection;
    // Another transition once the running one is done (it is not aborted).
    void want_transition(const std::string& why);
    struct Recurring {
        int rc = 0;
        int status = 0;
    };

    ControlLoop(GMainContext* context, controller::CibStore& store, HostExecutor& host, LoopConfig config);

    void compute();
    void advance();
    void start_action(const GraphAction& action);
    void finish_action(int id, bool ok);
    // The action could not run at all (no result to record): fails it, and the next
    // transition waits kUnrunnableRetry unless something changes.
    void fail_unrunnable(int id);
    void run_crm_event(const GraphAction& action);
    void run_connection_op(const GraphAction& action);
    static std::string cancelled_operation(const GraphAction& action);
    void forget_cancelled(const GraphAction& action);
    [[nodiscard]] wire::ExecRequest exec_request_for(const GraphAction& action) const;
    void run_host_op(const GraphAction& action);
    void run_remote_op(const GraphAction& action);
    void on_exec_result(const std::string& node, const wire::ExecNotify& notify);
    void on_connection_result(const std::string& rsc, int rc, int status, const std::string& reason,
                              std::uint32_t interval_ms);
    void handle_result(OpRecord record, std::optional<int> action_id, bool recurring_repeat);
    void forget_node_operations(const std::string& node);
    // Cancels the resource's recurring operations on a node and forgets them.
    void cancel_recurring(const std::string& node, const std::string& rsc_id);
    [[nodiscard]] bool knows_node(const std::string& node);
    void guest_fenced(const std::string& node);
    // A remote or guest node's shutdown request: drained (ack) unless its connection is
    // not managed (nack).
    connection::ShutdownAnswer drain(const std::string& node);
    void run_fencing(const GraphAction& action);
    // A node was fenced (by the graph or a client) or confirmed fenced.
    void node_fenced(const std::string& node, std::int64_t when, bool requested);
    void record_unfenced(const std::string& node, const std::string& digests_all,
                         const std::string& digests_secure);
    Connection& connection_for(const GraphAction& action);
    Connection* connection_of_node(const std::string& node);
    // What a record is to a restart. A restarted daemon forgets the operation history of
    // every node and the remote nodes' state (it re-probes and reconnects), so those
    // records need not be on disk before anything depends on them: they are `forgettable`
    // and reach the file within kDeferredSave (or with the next durable write). Everything
    // else (failure counts, fencing, shutdown requests, a node's history deleted on
    // request, the host's membership) is `durable`: saved before anyone is told.
    enum class Record { durable, forgettable };
    // Queues `edit` (our own change: it must own what it refers to) for the next write of
    // the CIB: flush_records() applies all queued edits to one copy of the current CIB and
    // stores it (one change notification for the batch; one file save unless every edit
    // of the batch is forgettable).
    void update_cib(std::function<void(xmlDoc*)> edit, Record kind = Record::durable);
    // Writes the queued edits now. Before the loop reads the CIB or lets anything depend on
    // a queued result (a following action, a reply to a client or node), so nothing durable
    // is acknowledged before it is saved.
    void flush_records();
    // Saves the forgettable records the file does not hold yet.
    void save_deferred();
    OpRecord record_for(const GraphAction& action, const std::string& exec_node);
    // The agent's parameters as its meta-data describes them (read once per agent), or
    // nullptr when there is no meta-data to read.
    const AgentParameters* agent_parameters(const GraphAction& action);
    // The operation is dispatched: recorded pending as 2.1.5 records it (record-pending),
    // until its result replaces the entry.
    void record_dispatched(const GraphAction& action, const std::string& exec_node);
    // A recurring operation given again (a reload reschedules the monitors with the same
    // key): the running one is cancelled first, and the new one's first result completes
    // its action whatever the old one last reported.
    void replace_recurring(const GraphAction& action);
    void arm_recheck();

    GMainContext* context_;
    controller::CibStore& store_;
    HostExecutor& host_;
    LoopConfig config_;
    std::string host_id_;

    int transition_id_ = -1;
    std::unique_ptr<TransitionRun> run_;
    std::map<int, GraphAction> actions_;  // of the running transition, by id
    bool pending_trigger_ = false;
    bool unrunnable_ = false;  // an action of the running transition could not run at all
    io::Source trigger_source_;
    // The next advance() after an action finished: when idle, or kRecordBatchWindow later.
    io::Source advance_idle_;
    io::Source advance_deadline_;
    io::Source recheck_source_;
    std::chrono::milliseconds recheck_{std::chrono::minutes(15)};
    int next_call_id_ = 1;
    std::chrono::steady_clock::time_point last_compute_;

    std::map<std::string, std::unique_ptr<Connection>> connections_;  // by connection resource id
    // Resource definitions and pending graph actions of operations in flight, by
    // "<node>\n<operation key>".
    std::map<std::string, GraphAction> inflight_;
    std::map<std::string, Recurring> recurring_;  // last recorded result, same key
    // Meta-data of each agent ("class:provider:type") read so far; nullopt: none to read.
    std::map<std::string, std::optional<AgentParameters>> agents_;
    std::uint32_t stonith_timeout_ms_ = 60000;  // the cluster's stonith-timeout
    std::unique_ptr<LoopFencer> fencer_;
    // Status records made since the last write (update_cib), and what writes them.
    std::vector<std::function<void(xmlDoc*)>> pending_records_;
    bool pending_durable_ = false;  // one of them is Record::durable
    io::Source deferred_save_;
    io::Source flush_idle_;
    io::Source flush_deadline_;
    Lifetime lifetime_;
};

}  // namespace outpost::cluster::control
