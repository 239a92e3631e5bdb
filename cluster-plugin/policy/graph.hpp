// The transition graph: which actions go into it, with which inputs, and its XML as
// crm_simulate -G writes it (the format pacemaker-controld executes).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy/cluster.hpp"

namespace outpost::cluster::policy {

struct Graph {
    std::vector<ActIdx> actions;              // in synapse order
    std::vector<std::vector<ActIdx>> inputs;  // per synapse
    std::vector<int> synapse_of;              // action -> synapse index or -1
};

Graph build_graph(Cluster& c);
std::string graph_xml(const Cluster& c, const Graph& g);
std::string graph_dot(const Cluster& c, const Graph& g);
// An action's <attributes> in the graph (name -> value, sorted).
std::map<std::string, std::string> action_attributes(const Cluster& c, const Action& a);
// Rule 56: the cluster node that carries an action for a remote or guest node (kNone when
// the action runs on a cluster node or is not a resource action).
NodeIdx router_node(const Cluster& c, const Action& a);
// The operation key the graph shows (an anonymous instance known from history by its
// base name shows that name).
std::string display_key(const Cluster& c, const Action& a);

}  // namespace outpost::cluster::policy
