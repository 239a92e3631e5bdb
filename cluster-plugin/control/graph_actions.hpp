// The transition graph as the control loop executes it: the policy face's graph XML (the
// format crm_simulate -G writes and pacemaker-controld executes) read back into actions
// with their inputs. Reading the XML rather than the policy's internal structures keeps
// the loop on the policy face's public output: what it runs is what outpost-simulate
// shows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::control {

enum class ActionKind {
    rsc_op,     // an operation of a resource on a node
    pseudo,     // an ordering point: completes at once
    crm_event,  // clear_failcount, do_shutdown, lrm_refresh: done by the controller itself
    stonith,    // fencing a node through a fence device (ControlLoop::run_fencing)
};

struct GraphAction {
    int id = 0;
    ActionKind kind = ActionKind::pseudo;
    std::string operation;  // start, stop, monitor, cancel, clear_failcount, ...
    std::string key;        // operation_key
    std::string node;       // on_node
    std::string node_uuid;  // on_node_uuid
    std::string router;     // router_node: the cluster node carrying a remote node's action
    std::string rsc_id;     // primitive id
    std::string rsc_class;
    std::string rsc_provider;
    std::string rsc_type;
    std::map<std::string, std::string> attributes;  // as in the graph, CRM_meta_* included
    std::vector<int> inputs;                        // ids of the actions this one waits for
    // Nodes this action takes down (<downed><node id=.../>): a guest node's pseudo fencing,
    // the stop of its connection.
    std::vector<std::string> downed;
    // maintenance_nodes: each remote node whose maintenance state to record, and the state
    // (<maintenance><node id=... node_in_maintenance="1|0"/>).
    std::vector<std::pair<std::string, bool>> maintenance;
    int target_rc = 0;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 20000;

    // The parameters an agent gets: every attribute that is not CRM_meta_*.
    [[nodiscard]] std::map<std::string, std::string> parameters() const;
    // The parameters Pacemaker digests for op-digest: the resource's own, so not the graph's
    // crm_feature_set (an agent gets it), and a recurring op's CRM_meta_timeout too.
    [[nodiscard]] std::map<std::string, std::string> digest_parameters() const;
    [[nodiscard]] const std::string* meta(std::string_view name) const;
};

struct TransitionGraph {
    std::vector<GraphAction> actions;  // in synapse order
};

// Errors: -EBADMSG for text that is not a transition graph.
Result<TransitionGraph> parse_graph(std::string_view xml);

}  // namespace outpost::cluster::control
