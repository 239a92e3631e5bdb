// Unpacking a CIB into the model (rules 1-32 of scheduler.md live here and in
// unpack_status.cpp). Internal to the policy engine.
#pragma once

#include "policy/cluster.hpp"
#include "policy/rules.hpp"

namespace outpost::cluster::policy {

inline constexpr std::size_t kMaxIdLength = 4096;

Status unpack_config(Cluster& c);
Status unpack_nodes(Cluster& c);
Status unpack_resources(Cluster& c);
Status unpack_constraints(Cluster& c);  // unpack_constraints.cpp
Status unpack_status(Cluster& c);       // unpack_status.cpp

// Natural, case-insensitive order of node names ("node2" < "node10"), as Pacemaker sorts
// its node list.
int compare_node_names(std::string_view a, std::string_view b);
// #uname, #id, #is_dc, #cluster-name (cluster nodes at once, remote nodes with their node_state).
void set_builtin_node_attrs(const Cluster& c, Node& n);
bool is_true(std::string_view value);
// A resource created while unpacking the status section (orphans, orphan clone instances).
RscIdx add_resource(Cluster& c, Resource r);
// Clone instance `n` of clone `clone` (created on demand for orphan instances).
RscIdx create_clone_instance(Cluster& c, RscIdx clone, int n, bool orphan);
// Rule context for node attributes of `node` (rule 38's container-attribute-target aside).
RuleContext node_context(const Cluster& c, NodeIdx node);

}  // namespace outpost::cluster::policy
