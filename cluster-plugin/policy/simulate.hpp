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

struct SimulationResult {
    std::vector<std::string> executed;  // "  * Resource action: ..." lines
    xml::Document cib;                  // the CIB after the transition
};

SimulationResult simulate_transition(const Cluster& c, const Graph& g, const std::vector<OpSpec>& failures);

// Synthetic events before scheduling (crm_simulate -u/-d/-f/-i): edit the CIB in place.
void inject_node_up(xml::Document& cib, std::string_view node);
void inject_node_down(xml::Document& cib, std::string_view node);
void inject_node_fail(xml::Document& cib, std::string_view node);
Status inject_op(xml::Document& cib, const OpSpec& spec, EpochSeconds now);

}  // namespace outpost::cluster::policy
