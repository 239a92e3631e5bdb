// The status section as pacemaker-controld keeps it, as edits of a CIB document (pure: the
// control loop applies them to a copy of the current CIB and stores the result):
// node_state of the controller's own node (an online member) and of remote nodes
// (remote_node="true"), operation history (lrm/lrm_resources/lrm_resource/lrm_rsc_op with
// the fields 2.1.5 writes) and the failure attributes attrd would set (fail-count-<rsc>#<op>_<ms>,
// last-failure-<rsc>#<op>_<ms> in transient_attributes).
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outpost::cluster::control {

// The feature set 2.1.5 writes.
inline constexpr const char* kFeatureSet = "3.16.1";

struct OpRecord {
    std::string node;  // where the operation ran (uname)
    // The cluster node that executed it (on_node): a remote or guest node's operations are
    // recorded with the node carrying its connection, as pacemaker-controld records them.
    // Empty: `node`.
    std::string executed_by;
    std::string node_id;  // its node_state id (a remote node's is its name)
    bool remote_node = false;
    std::string rsc_id;
    std::string rsc_class;
    std::string rsc_provider;
    std::string rsc_type;
    std::string task;
    std::uint32_t interval_ms = 0;
    std::string transition_key;  // "<action>:<transition>:<target rc>:<dc uuid>"
    int target_rc = 0;
    int rc = 0;
    int op_status = 0;  // PCMK_EXEC_*
    int call_id = 0;
    std::int64_t last_rc_change = 0;
    std::uint32_t exec_time_ms = 0;
    std::uint32_t queue_time_ms = 0;
    std::string exit_reason;
    std::string op_digest;
    // From the agent's meta-data (op_digests.hpp): written when set.
    std::optional<std::string> force_restart;
    std::string restart_digest;
    std::optional<std::string> secure_params;
    std::string secure_digest;
    std::string origin = "do_update_resource";  // crm-debug-origin
};

// An operation in flight as 2.1.5 records it (record-pending, observed): rc-code 193,
// op-status -1, call-id -1, exec-time and queue-time 0, last-rc-change the time it was
// dispatched. `record` carries the operation's identity and digests.
OpRecord pending_record(OpRecord record, std::int64_t now);
// Whether 2.1.5 records the operation pending (observed: probes, starts, stops, the first
// run of a recurring monitor; not cancel, notify, meta-data, delete).
bool records_pending(const std::string& task);

// The transition key and magic as Pacemaker spells them.
std::string transition_key(int action, int transition, int target_rc, const std::string& dc_uuid);
std::string transition_magic(int op_status, int rc, const std::string& key);

// Whether a result is the one the graph expected (rc = target, executed).
bool expected_result(const OpRecord& record);
// Whether it counts as a failure (fail-count): not expected, except a probe's "running" or
// "not running" answers, which only say where the resource is.
bool counts_as_failure(const OpRecord& record);

// The controller's own node as an online member: its <node> in configuration/nodes, its
// node_state, and have-quorum/dc-uuid on <cib> (it is the whole cluster).
void record_host_member(xmlDoc* cib, const std::string& name, const std::string& id);
// The node's id in configuration/nodes, or "" when the node is not configured.
std::string configured_node_id(const xmlDoc* cib, const std::string& name);

// Drops a node's operation history and transient attributes (a remote node whose
// connection (re)starts, the host at start-up: their executors start afresh).
void forget_node_history(xmlDoc* cib, const std::string& node);
// Drops only a node's operation history (the host at start-up: its executor starts
// afresh, while its failures, the transient attributes, stay as attrd would keep them).
void forget_operation_history(xmlDoc* cib, const std::string& node);
// Every remote node as the controller finds them at start-up: offline, history and
// transient attributes dropped (nothing is known until its connection starts and probes).
void forget_remote_nodes(xmlDoc* cib);
// A remote node whose connection started / stopped.
void record_remote_node(xmlDoc* cib, const std::string& name, bool up);

// A remote or guest node that asked to shut down, as Pacemaker's attribute manager records
// it: the node's transient attribute `shutdown` set to the time of the request (epoch
// seconds). The scheduler then moves or stops everything on the node and stops its
// connection.
void record_shutdown_request(xmlDoc* cib, const std::string& name, std::int64_t when);
// A remote or guest node's maintenance state as the scheduler last saw it (its graph's
// maintenance_nodes action): node_state's node_in_maintenance, "1" or "0".
void record_node_maintenance(xmlDoc* cib, const std::string& name, bool on);
// Why a node's shutdown request is refused (Pacemaker's controller nacks it when the
// node's connection is not managed): "" when it may be drained, else the reason. Looks at
// maintenance-mode and the meta attributes is-managed and maintenance of the node's
// connection (ocf:pacemaker:remote with the node's name) or container (meta remote-node).
std::string shutdown_refusal(const xmlDoc* cib, const std::string& name);
// The guest nodes whose container is primitive `container` (its meta remote-node; a
// primitive in a group or clone counts too): what dies with it when it dies.
std::vector<std::string> guests_of_container(const xmlDoc* cib, const std::string& container);
// Whether the node has a shutdown request recorded (a `shutdown` attribute other than 0).
bool shutdown_requested(const xmlDoc* cib, const std::string& name);
// Drops a node's transient attributes (a drained node whose connection stopped: Pacemaker's
// controller purges them, so the connection may start again when the node is back).
void forget_transient_attributes(xmlDoc* cib, const std::string& name);

// A guest node's pseudo fencing (its container recovered), as pacemaker-controld confirms
// it: its resource history and transient attributes are dropped and it is down.
void record_guest_fenced(xmlDoc* cib, const std::string& name);

// A remote node fenced through a fence device, as pacemaker-controld 2.1.5 records it
// (observed: `<node_state remote_node="true" id="r1" uname="r1" in_ccm="false"
// crm-debug-origin="send_stonith_update" node_fenced="<epoch seconds>"/>`): down,
// node_fenced the time of the fencing, its resource history and transient attributes
// dropped.
void record_remote_fenced(xmlDoc* cib, const std::string& name, std::int64_t when);

// Records one result: the resource's last (or recurring) entry, and <rsc>_last_failure_0
// when the result was not the expected one. A reload or reload-agent is recorded as 2.1.5
// records it: as a start when it succeeded, else as a monitor. A pending operation
// (pending_record()) replaces the entry until its result comes; it is no failure.

void record_operation(xmlDoc* cib, const OpRecord& record);
// Drops recurring entries (interval != 0) of a resource on a node: all of them, or the one
// with operation key `key`.
void forget_recurring(xmlDoc* cib, const std::string& node, const std::string& rsc_id,
                      const std::string& key = {});
// Drops a resource's whole history on a node.
void forget_resource(xmlDoc* cib, const std::string& node, const std::string& rsc_id);
// fail-count + 1 and last-failure = now for the operation, as attrd does for a failure.
void count_failure(xmlDoc* cib, const OpRecord& record, std::int64_t now);
// Every last-failure-<rsc>#<op>_<ms> attribute: (node, resource id, time).
struct RecordedFailure {
    std::string node;
    std::string rsc_id;
    std::int64_t when = 0;
};
std::vector<RecordedFailure> recorded_failures(const xmlDoc* cib);
// Removes the resource's fail-count-* and last-failure-* attributes on a node and its
// <rsc>_last_failure_0 history entry there (clear_failcount).
void clear_failures(xmlDoc* cib, const std::string& node, const std::string& rsc_id);
// attrd's clear-failure: removes fail-count-* and last-failure-* attributes of `rsc_id`
// (every resource when empty) on `node` (every node when empty); only those of one
// operation when `operation` is given (interval in ms, "0" when empty).
void clear_failure_attributes(xmlDoc* cib, const std::string& node, const std::string& rsc_id,
                              const std::string& operation = {}, const std::string& interval_ms = {});
// The highest call-id in a node's operation history (0 when it has none).
int highest_call_id(const xmlDoc* cib, const std::string& node);
// The resources with operation history on a node.
std::vector<std::string> history_resources(const xmlDoc* cib, const std::string& node);

}  // namespace outpost::cluster::control

namespace outpost::cluster::control {

// Transient attributes as the attribute manager (control/attribute_manager) keeps them in
// the CIB, in the same places count_failure() writes fail counts: the node's
// transient_attributes/instance_attributes "status-<node id>" (or the set `set`), nvpair
// "status-<node id>-<name>" ('#' spelled '.'), or "<set>-<name>".
// The value of `name` on `node` (in whichever set holds it), or nullopt.
std::optional<std::string> transient_attribute(const xmlDoc* cib, const std::string& node,
                                               const std::string& name);
// Every node with `name` set: (uname, value).
std::vector<std::pair<std::string, std::string>> transient_attribute_values(const xmlDoc* cib,
                                                                            const std::string& name);
// Sets `name` on `node` to `value`, or removes it from every set when nullopt. A node with
// no node_state gets one with id `create_id` when that is not empty; otherwise nothing is
// written and the answer is false.
bool write_transient_attribute(xmlDoc* cib, const std::string& node, const std::string& name,
                               const std::optional<std::string>& value, const std::string& set = {},
                               const std::string& create_id = {});

}  // namespace outpost::cluster::control
