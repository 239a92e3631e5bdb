// Virtual execution of a transition, as crm_simulate -S does it: every action in the graph
// "runs" in dependency order and succeeds (unless an injected failure says otherwise), and
// its result is recorded in a copy of the CIB's status section, which then describes the
// cluster after the transition (crm_simulate -O writes it; its status is the "Revised
// Cluster Status").
#pragma once

#include <string>
#include <vector>

#include "policy/cluster.hpp"
#include "policy/graph.hpp"
#include "util/result.hpp"

namespace outpost::cluster::policy {

// crm_simulate's OPSPEC: ${resource}_${task}_${interval_in_ms}@${node}=${rc}
struct OpSpec {
    std::string rsc;
    std::string task;
    std::int64_t interval_ms = 0;
    std::string node;
    int rc = 0;
};
Result<OpSpec> parse_op_spec(std::string_view text);

// One line of "Executing Cluster Transition:", with what it says as fields.
struct ExecutedAction {
    enum class Kind { resource, pseudo, fencing, cluster, attribute, message };
    Kind kind = Kind::message;
    std::string rsc;   // resource: as shown; cluster: clear_failcount's resource; attribute: its name
    std::string task;  // operation; pseudo: the action key; fencing: reboot/off/on; attribute: value
    std::string node;  // attribute: the node_state's id
    std::int64_t interval_ms = 0;
    std::string text;  // the line as crm_simulate prints it
};

struct SimulationResult {
    std::vector<ExecutedAction> executed;
    xml::Document cib;  // the CIB after the transition
    // Actions were left waiting for inputs that never ran, with no failure to explain it (an
    // input the graph lists without it, rule G5): crm_simulate's "Transition failed:
    // terminated" and "An invalid transition was produced", exit status 1.
    bool invalid = false;
};

// Which nodes get a <node> entry when their state is recorded: crm_simulate 2.1.5, once a node
// was brought up (-u) in a run, writes a typeless one (id and uname the name) for every node it
// records a state for that has none, injections and executed actions alike, so a guest or
// remote node touched then is a cluster node of that name when the CIB is read again.
enum class NodeEntries { as_configured, for_every_state };

// `failures` (crm_simulate -F) make the matching actions fail: the transition then aborts
// (only INFINITY-priority and pseudo actions still start) and the failure is counted, with
// `wall_clock` as its last-failure time (crm_simulate uses the real clock there).
SimulationResult simulate_transition(const Cluster& c, const Graph& g, const std::vector<OpSpec>& failures,
                                     EpochSeconds wall_clock,
                                     NodeEntries entries = NodeEntries::as_configured);

// Synthetic events before scheduling (crm_simulate -u/-d/-f/-i): edit the CIB in place.
void inject_node_up(xml::Document& cib, std::string_view node);
void inject_node_down(xml::Document& cib, std::string_view node, NodeEntries entries);
void inject_node_fail(xml::Document& cib, std::string_view node, NodeEntries entries);
// Records the operation result; a failure also counts (fail-count, last-failure), one
// "  * Injecting attribute ..." line each in `lines` (and an attribute action each in
// `attributes`, if given).
Status inject_op(xml::Document& cib, const OpSpec& spec, EpochSeconds now, std::vector<std::string>& lines,
                 NodeEntries entries, std::vector<ExecutedAction>* attributes = nullptr);

}  // namespace outpost::cluster::policy
