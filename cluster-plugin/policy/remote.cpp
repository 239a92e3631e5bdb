// Actions on Pacemaker Remote nodes ordered against their connection (rules 43-48): the
// connection state table for remote nodes, the container rules for guest nodes, and the
// fencing those rules decide.
#include "policy/actions.hpp"

namespace outpost::cluster::policy {

namespace {

enum class ConnState { alive, resting, failed, unknown, stopped };

bool is_recurring(const Action& a)
{
    return a.interval_ms > 0;
}

void start_then_action(Cluster& c, RscIdx first, ActIdx then, std::uint32_t extra)
{
    order_task_then_action(c, first, "start", then, kOrderPreserve | kOrderRunnableLeft | extra);
}

void action_then_stop(Cluster& c, ActIdx first, RscIdx then, std::uint32_t extra)
{
    order_action_then_task(c, first, then, "stop", kOrderPreserve | extra);
}

// Rule 45.
ConnState remote_state(const Cluster& c, NodeIdx n)
{
    const Node& node = c.nodes[n];
    const Resource& conn = c.resources[node.remote_rsc];
    const NodeIdx host = active_node(c, node.remote_rsc);
    if (conn.next_role == Role::stopped || conn.assigned == kNone) {
        if (host != kNone && c.nodes[host].unclean) return ConnState::failed;
        if (!conn.flags.failed) return ConnState::stopped;
        std::string_view shutdown = node.attr("shutdown");
        const bool shutdown_requested = !shutdown.empty() && shutdown != "0";
        if (conn.next_role == Role::stopped && conn.remote_reconnect_ms > 0 && node.remote_was_fenced &&
            !shutdown_requested)
            return ConnState::unknown;
        return ConnState::failed;
    }
    if (host == kNone) return ConnState::unknown;
    if (c.nodes[host].unclean || !c.nodes[host].online) return ConnState::resting;
    // C1 (observed): a failed connection recovered while its host stays up is alive like any
    // other: a stop on its node comes before the connection's stop; C4 keeps the rest there.
    if (conn.running_on.size() > 1 && conn.partial_migration_source != kNone &&
        conn.partial_migration_target != kNone)
        return ConnState::resting;
    return ConnState::alive;
}

}  // namespace

bool connection_failed(const Cluster& c, NodeIdx n)
{
    return c.nodes[n].remote_rsc != kNone && remote_state(c, n) == ConnState::failed;
}

namespace {

// Rule 47.
void container_ordering(Cluster& c, ActIdx a)
{
    const Action act = c.actions[a];
    const Node& node = c.nodes[act.node];
    const RscIdx conn = node.remote_rsc;
    const RscIdx container = c.resources[conn].container;
    if (c.resources[container].flags.failed) fence_node(c, act.node, "container failed", false);
    std::string_view task = act.task;
    if (task == "migrate_to" || task == "migrate_from") task = "stop";
    if (task == "start" || task == "promote") {
        start_then_action(c, container, a, kOrderImpliesThen);
        start_then_action(c, conn, a, kOrderNone);
    } else if (task == "stop" || task == "demote") {
        if (!c.resources[container].flags.failed) action_then_stop(c, a, conn, kOrderNone);
    } else if (is_recurring(act)) {
        if (task != "notify" && task != "notified") start_then_action(c, conn, a, kOrderImpliesThen);
    } else {
        start_then_action(c, conn, a, kOrderNone);
    }
}

// Rule 46.
void remote_ordering(Cluster& c, ActIdx a)
{
    const Action act = c.actions[a];
    const NodeIdx n = act.node;
    const RscIdx conn = c.nodes[n].remote_rsc;
    const ConnState state = remote_state(c, n);
    std::string_view task = act.task;
    if (task == "migrate_to" || task == "migrate_from") task = "stop";
    if (task == "start" || task == "promote") {
        start_then_action(c, conn, a, state == ConnState::failed ? kOrderImpliesThen : kOrderNone);
    } else if (task == "stop") {
        if (state == ConnState::alive ||
            (state != ConnState::failed && c.resources[conn].next_role == Role::stopped)) {
            // C4 (observed): the connection's stop keeps what runs there from migrating
            // away, but never makes its stop required: a connection that restarts, moves or
            // was active on several nodes leaves the resources there running.
            action_then_stop(c, a, conn, kOrderImpliesFirstUnmigratable);
        } else if (state == ConnState::failed) {
            fence_node(c, n, "resources are active but connection is unrecoverable", false);
        } else {
            start_then_action(c, conn, a, kOrderNone);
        }
    } else if (task == "demote") {
        if (state == ConnState::resting || state == ConnState::unknown)
            start_then_action(c, conn, a, kOrderNone);
    } else if (is_recurring(act)) {
        start_then_action(c, conn, a, kOrderImpliesThen);
    } else {
        const NodeIdx host = active_node(c, conn);
        if (task == "monitor" && state == ConnState::failed)
            fence_node(c, n, "resources are in unknown state and connection is unrecoverable", false);
        if (host != kNone && state == ConnState::stopped) {
            action_then_stop(c, a, conn, kOrderRunnableLeft);
        } else {
            start_then_action(c, conn, a, kOrderNone);
        }
    }
}

}  // namespace

void order_remote_actions(Cluster& c)
{
    bool have_remote = false;
    for (const Node& n : c.nodes)
        have_remote = have_remote || n.is_remote_class();
    if (!have_remote) return;
    // (C2, a connection that cannot stop while a blocked resource is active on its node,
    // comes from the orderings alone (O8): marking its stop unrunnable up front would reach
    // what follows its start before Pacemaker's walk does, rnd-s133-c8-7.)
    // Pacemaker walks its action list newest first.
    const std::size_t count = c.actions.size();
    for (std::size_t i = count; i-- > 0;) {
        const ActIdx a = static_cast<ActIdx>(i);
        const Action act = c.actions[a];
        if (act.rsc == kNone) continue;
        const Resource& rsc = c.resources[act.rsc];
        // Rule 44: clearing a connection's fail count comes before its start.
        if (rsc.is_primitive() && rsc.flags.is_remote_connection && act.task == "clear_failcount") {
            order_action_then_task(c, a, act.rsc, "start", kOrderOptional);
            continue;
        }
        if (act.node == kNone) continue;
        const Node& node = c.nodes[act.node];
        if (!node.is_remote_class()) continue;
        if (act.pseudo()) continue;
        const RscIdx conn = node.remote_rsc;
        if (conn == kNone) continue;
        if (act.task == "start") {
            for (ActIdx other : std::vector<ActIdx>(c.resources[act.rsc].actions)) {
                const Action& oa = c.actions[other];
                if (oa.node != act.node && oa.task == "stop")
                    order_spec(c, conn, "start", 0, kNone, act.rsc, {}, 0, other, kOrderOptional);
            }
        }
        if (c.resources[conn].container != kNone) {
            container_ordering(c, a);
        } else {
            remote_ordering(c, a);
        }
    }
}

// Rule 16: a remote or guest node whose maintenance state (its attribute, or its
// connection unmanaged) differs from the one its node_state records (node_in_maintenance)
// gets it recorded: one pseudo action "maintenance_nodes", created last, listing each such
// node and its state, which the controller writes into the status. Only nodes whose history
// was unpacked count (crm_simulate 2.1.5 reads neither state for the others).
void add_maintenance_update(Cluster& c)
{
    std::vector<std::pair<NodeIdx, bool>> changed;
    for (NodeIdx n = 0; n < c.nodes.size(); ++n) {
        const Node& node = c.nodes[n];
        if (node.is_remote_class() && node.history_unpacked && node.maintenance != node.remote_maintenance)
            changed.emplace_back(n, node.maintenance);
    }
    if (changed.empty()) return;
    const ActIdx a = c.make_action(kNone, "maintenance_nodes", "maintenance_nodes", kNone, false);
    c.actions[a].flags |= kActPseudo | kActRunnable;
    c.actions[a].maintenance = std::move(changed);
}

}  // namespace outpost::cluster::policy
