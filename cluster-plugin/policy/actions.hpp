// Actions and ordering specifications shared by the scheduling stages (internal).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/cluster.hpp"

namespace outpost::cluster::policy {

// Rule 30: whether node n can be fenced.
bool can_fence(const Cluster& c, NodeIdx n, int depth = 0);
// Runnability of a resource action as its node, quorum and `requires` allow.
void init_runnable(Cluster& c, ActIdx a, bool save);
// The action "<rsc>_<task>_<interval>" on node (created optional or made required).
ActIdx rsc_action(Cluster& c, RscIdx r, std::string_view task, NodeIdx node, bool optional,
                  std::int64_t interval_ms = 0);
ActIdx pseudo_action(Cluster& c, RscIdx r, std::string_view task, bool optional);
ActIdx find_rsc_action(const Cluster& c, RscIdx r, std::string_view task, NodeIdx node,
                       std::int64_t interval_ms = 0);
// Actions of r with task (interval 0) on node, or on any node.
std::vector<ActIdx> rsc_actions(const Cluster& c, RscIdx r, std::string_view task, NodeIdx node,
                                bool any_node);

// An ordering to resolve once all actions exist (Pacemaker's custom_action_order): each side
// is a concrete action, or a resource and a task (every action of it with that task and
// interval, on any node).
void order_spec(Cluster& c, RscIdx first_rsc, std::string_view first_task, std::int64_t first_interval,
                ActIdx first, RscIdx then_rsc, std::string_view then_task, std::int64_t then_interval,
                ActIdx then, std::uint32_t flags);
inline void order_tasks(Cluster& c, RscIdx first, std::string_view first_task, RscIdx then,
                        std::string_view then_task, std::uint32_t flags)
{
    order_spec(c, first, first_task, 0, kNone, then, then_task, 0, kNone, flags);
}
inline void order_action_then_task(Cluster& c, ActIdx first, RscIdx then, std::string_view then_task,
                                   std::uint32_t flags)
{
    order_spec(c, kNone, {}, 0, first, then, then_task, 0, kNone, flags);
}
inline void order_task_then_action(Cluster& c, RscIdx first, std::string_view first_task, ActIdx then,
                                   std::uint32_t flags)
{
    order_spec(c, first, first_task, 0, kNone, kNone, {}, 0, then, flags);
}

// sanitized_match: the full digest differs but the one without the operation's secure
// parameters matches (crm_simulate on a CIB with masked secrets: unchanged).
enum class DigestResult { match, sanitized_match, restart, all, unknown };
DigestResult compare_digest(const Cluster& c, RscIdx r, const HistoryOp& op);  // config_changes.cpp
// The op-digest an operation records (one-shot operations digest as the start does).
std::string op_digest(const Resource& rsc, std::string_view task,
                      std::int64_t interval);                                      // config_changes.cpp
ActIdx clear_failcount(Cluster& c, RscIdx r, NodeIdx n, std::string_view reason);  // config_changes.cpp
ActIdx fence_op(Cluster& c, NodeIdx n, std::string_view op, bool optional,
                std::string_view reason);  // fencing.cpp
// Fail count of r on node n from the node's attributes (failure-timeout applied when
// `effective`), only that operation's when op is given.
int failcount(const Cluster& c, RscIdx r, NodeIdx n, bool effective, const HistoryOp* op,
              EpochSeconds* last_failure);

void create_internal_orderings(Cluster& c);  // orderings.cpp
void create_actions(Cluster& c);             // actions.cpp
// notify.cpp: clone notifications (N1-N8 there)
void create_clone_notifications(Cluster& c, RscIdx clone, std::string_view task);
void finish_clone_notifications(Cluster& c);
void notify_fenced_stop(Cluster& c, RscIdx r, ActIdx fence);
void create_probes(Cluster& c);         // probes.cpp (rules 39-42)
void order_remote_actions(Cluster& c);  // remote.cpp (rules 43-48)
// Rule 45: the connection of remote node n is in the failed state.
bool connection_failed(const Cluster& c, NodeIdx n);  // remote.cpp
void schedule_fencing(Cluster& c);                    // fencing.cpp (rules 49-53)
void mark_downed_nodes(Cluster& c);                   // fencing.cpp (rule 53, after propagation)
void add_maintenance_update(Cluster& c);              // remote.cpp (rule 16, last)
// unfencing.cpp (UF1-UF7): whether n must be unfenced; before a probe of r on n: the "on"
// action it must follow (kNone: none); a start of r on n after n's unfencing; every start
// after it.
bool needs_unfencing(const Cluster& c, NodeIdx n);
ActIdx unfence_before_probe(Cluster& c, RscIdx r, NodeIdx n);
void order_after_unfencing(Cluster& c, RscIdx r, NodeIdx n, ActIdx action, std::string_view what);
void order_starts_after_unfencing(Cluster& c);
// UF5: r's stop before and start after the unfencing of each node it may run on; UF7: a fence
// device whose definition changed on n requires n's unfencing.
void order_restart_around_unfencing(Cluster& c, RscIdx r);
void unfence_after_device_change(Cluster& c, RscIdx r, NodeIdx n);
void apply_orderings(Cluster& c);  // orderings.cpp
void update_actions(Cluster& c);   // propagate.cpp
// The completion action ("running", "stopped", ...) of a collective's action, or itself.
ActIdx expand_action(const Cluster& c, ActIdx a);

}  // namespace outpost::cluster::policy
