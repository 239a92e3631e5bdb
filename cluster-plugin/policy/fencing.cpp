// Fencing and shutdowns (rules 49-53): real fencing of unclean cluster and remote nodes,
// the guest pseudo-fence, the stops and demotes fencing implies, and shutdowns of cluster
// nodes (never of Pacemaker Remote nodes).
#include <algorithm>

#include "policy/actions.hpp"

namespace outpost::cluster::policy {

ActIdx fence_op(Cluster& c, NodeIdx n, std::string_view op, bool optional, std::string_view reason)
{
    const std::string action = op.empty() ? c.options.stonith_action : std::string(op);
    const std::string key = "stonith-" + c.nodes[n].name + "-" + action;
    ActIdx a = c.find_action(kNone, key, n);
    if (a == kNone) {
        a = c.make_action(kNone, key, "stonith", n, true);
        Action& act = c.actions[a];
        act.fence_action = action;
        act.set_meta("on_node", c.nodes[n].name);
        act.set_meta("on_node_uuid", c.nodes[n].id);
        act.set_meta("stonith_action", action);
    }
    Action& act = c.actions[a];
    if (!optional && can_fence(c, n)) {
        act.flags &= ~kActOptional;
        if (act.reason.empty() && !reason.empty()) act.reason = std::string(reason);
    } else if (!reason.empty() && act.reason.empty()) {
        act.reason = std::string(reason);
    }
    return a;
}

bool needs_fencing_requires(const Resource& r)
{
    return r.requires_ == Requires::fencing || r.requires_ == Requires::unfencing;
}

namespace {

bool action_requires(const Cluster& c, const Action& a, Requires& out)
{
    if (a.rsc == kNone) return false;
    const Resource& r = c.resources[a.rsc];
    if (a.task != "start" && a.task != "promote" && a.task != "migrate_to" && a.task != "migrate_from") {
        out = Requires::nothing;
        return true;
    }
    out = r.requires_;
    return true;
}

// Whether r's state on node n is known; an anonymous clone's instances share what any of
// them knows (observed: a recovering instance on a fenced guest waits for no fence).
bool known_on(const Cluster& c, RscIdx r, NodeIdx n)
{
    auto knows = [&](RscIdx x) {
        const auto& k = c.resources[x].known_on;
        return std::find(k.begin(), k.end(), n) != k.end();
    };
    if (knows(r)) return true;
    if (!c.in_anonymous_clone(r)) return false;
    const RscIdx clone = c.clone_of(r);
    for (RscIdx sibling : c.resources[clone].children) {
        if (sibling != r && c.resources[sibling].is_primitive() && knows(sibling)) return true;
    }
    return false;
}

void stonith_ordering(Cluster& c, RscIdx r, ActIdx fence)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.children.empty()) {
        for (RscIdx ch : std::vector<RscIdx>(rsc.children))
            stonith_ordering(c, ch, fence);
        return;
    }
    if (!rsc.flags.managed) return;
    const NodeIdx target = c.actions[fence].node;
    // Starts after fencing (rule 51).
    for (ActIdx a : std::vector<ActIdx>(rsc.actions)) {
        Requires req = Requires::nothing;
        action_requires(c, c.actions[a], req);
        if (req == Requires::fencing || req == Requires::unfencing) {
            c.order(fence, a, kOrderOptional);
        } else if (req == Requires::quorum && c.actions[a].task == "start" &&
                   rsc.allowed.allowed(target, c.nodes[target].is_remote_class()) &&
                   !known_on(c, r, target)) {
            c.order(fence, a, kOrderOptional | kOrderRunnableLeft);
        }
    }
    // Stops implied by fencing.
    const bool order_implicit = needs_fencing_requires(rsc) || c.nodes[target].kind == NodeKind::guest;
    const RscIdx top = c.top_of(r);
    ActIdx parent_stop = kNone;
    auto stops = rsc_actions(c, r, "stop", target, false);
    if (!stops.empty() && order_implicit) {
        // The top resource's most recently created stop, whichever node it is on: for a
        // primitive active on several nodes that can be another node's stop (observed).
        auto ps = rsc_actions(c, top, "stop", kNone, true);
        if (!ps.empty()) parent_stop = ps.back();
    }
    if (!stops.empty()) notify_fenced_stop(c, r, fence);
    for (ActIdx a : stops) {
        c.actions[a].flags |= kActPseudo | kActRunnable | kActFenced;
        if (order_implicit) {
            c.order(fence, a, kOrderPreserve);
            if (parent_stop != kNone) c.order(fence, parent_stop, kOrderPreserve);
        }
    }
    for (ActIdx a : rsc_actions(c, r, "demote", target, false)) {
        const Node& node = c.nodes[c.actions[a].node];
        if (!node.online || node.unclean || rsc.flags.failed) {
            c.actions[a].flags |= kActPseudo | kActRunnable;
            if (order_implicit) c.order(fence, a, kOrderPreserve | kOrderOptional);
        }
    }
}

void order_vs_fence(Cluster& c, ActIdx fence)
{
    for (RscIdx r : std::vector<RscIdx>(c.top))
        stonith_ordering(c, r, fence);
}

// Rule 50.
void fence_guest(Cluster& c, NodeIdx n)
{
    const RscIdx conn = c.nodes[n].remote_rsc;
    const RscIdx container = c.resources[conn].container;
    ActIdx stop = kNone;
    const char* action = "off";
    if (container != kNone) {
        // C5 (observed): of a container active on several nodes, the stop created last
        // (not the one where it failed, whose stop comes first).
        auto stops = rsc_actions(c, container, "stop", kNone, true);
        if (!stops.empty()) stop = stops.back();
        if (!rsc_actions(c, container, "start", kNone, true).empty()) action = "reboot";
    }
    ActIdx op = fence_op(c, n, action, false, "guest is unclean");
    c.actions[op].flags |= kActPseudo | kActRunnable;
    if (stop != kNone && c.actions[stop].pseudo()) {
        ActIdx parent = fence_op(c, c.actions[stop].node, {}, false, {});
        c.order(parent, op, kOrderRunnableLeft | kOrderImpliesThen);
    } else if (stop != kNone) {
        c.order(stop, op, kOrderRunnableLeft | kOrderImpliesThen);
    } else {
        auto cstops = rsc_actions(c, conn, "stop", kNone, true);
        if (!cstops.empty()) c.order(cstops.front(), op, kOrderOptional);
    }
    order_vs_fence(c, op);
}

}  // namespace

void schedule_fencing(Cluster& c)
{
    bool have_managed = false;
    for (const Resource& r : c.resources) {
        if (r.is_primitive() && r.flags.managed) have_managed = true;
    }
    ActIdx dc_down = kNone;
    std::vector<ActIdx> fencing_ops, shutdown_ops;
    for (NodeIdx n : c.node_order) {
        Node& node = c.nodes[n];
        if (node.kind == NodeKind::guest) {
            if (node.remote_requires_reset && have_managed && can_fence(c, n)) fence_guest(c, n);
            continue;
        }
        ActIdx fencing = kNone;
        if (node.unclean && have_managed && can_fence(c, n)) {
            fencing = fence_op(c, n, {}, false, "node is unclean");
            order_vs_fence(c, fencing);
            if (node.is_dc) {
                dc_down = fencing;
            } else {
                if (!c.options.concurrent_fencing && !fencing_ops.empty())
                    c.order(fencing_ops.front(), fencing, kOrderOptional);
                fencing_ops.insert(fencing_ops.begin(), fencing);
            }
        } else if (node.kind == NodeKind::member && node.online && node.shutdown) {
            ActIdx down = c.make_action(kNone, "do_shutdown-" + node.name, "do_shutdown", n, false);
            c.actions[down].set_meta("op_no_wait", "true");
            c.actions[down].downed.push_back(n);
            // Everything running there stops first.
            for (RscIdx r : node.running) {
                for (ActIdx s : rsc_actions(c, r, "stop", n, false))
                    c.order(s, down, kOrderOptional);
            }
            if (node.is_dc) {
                dc_down = down;
            } else if (shutdown_ops.empty()) {
                shutdown_ops.push_back(down);
            }
        }
    }
    if (dc_down != kNone) {
        if (c.actions[dc_down].task == "do_shutdown") {
            for (ActIdx s : shutdown_ops)
                c.order(s, dc_down, kOrderOptional);
        }
        if (c.options.concurrent_fencing) {
            for (ActIdx f : fencing_ops)
                c.order(f, dc_down, kOrderOptional);
        } else if (!fencing_ops.empty()) {
            c.order(fencing_ops.front(), dc_down, kOrderOptional);
        }
    }
}

// The nodes an action takes down (the graph's <downed>, rule 53), as crm_simulate 2.1.5
// writes them: fencing a node downs it and every guest whose connection runs there (the
// guest's pseudo-fence downs the guest); a connection's stop downs its node unless the
// connection migrates (a migration keeps the node up, partial or not) or could and moves.
void mark_downed_nodes(Cluster& c)
{
    for (Action& a : c.actions) {
        if (a.task != "stonith" || a.node == kNone || !a.runnable() || a.optional()) continue;
        if (a.fence_action == "on") continue;  // UF4
        a.downed.push_back(a.node);
        if (c.nodes[a.node].kind != NodeKind::member) continue;
        // A guest goes down with the node its connection runs on (not its container's: a
        // guest whose connection is stopped stays listed up), by name like a connection's
        // stop below.
        for (RscIdx conn = 0; conn < c.resources.size(); ++conn) {
            const Resource& cr = c.resources[conn];
            if (!cr.flags.is_remote_connection || cr.container == kNone) continue;
            if (std::find(cr.running_on.begin(), cr.running_on.end(), a.node) == cr.running_on.end())
                continue;
            const NodeIdx g = c.find_node(cr.id);
            if (g != kNone && g != a.node) a.downed.push_back(g);
        }
    }
    // By name: a connection whose node a typeless <node> entry keeps a cluster node still
    // downs it.
    for (RscIdx conn = 0; conn < c.resources.size(); ++conn) {
        if (!c.resources[conn].flags.is_remote_connection) continue;
        const NodeIdx n = c.find_node(c.resources[conn].id);
        if (n == kNone) continue;
        const Resource& cr = c.resources[conn];
        if (cr.partial_migration_target != kNone) continue;
        // Nor does a migratable connection that moves (even where it cannot migrate).
        // Multiply active, it moves when its first node (in status order) is not its new one.
        if (cr.flags.allow_migrate && !cr.flags.failed && cr.assigned != kNone && !cr.running_on.empty() &&
            cr.running_on.front() != cr.assigned)
            continue;
        bool migrates = false;
        for (ActIdx m : c.resources[conn].actions) {
            const Action& act = c.actions[m];
            if ((act.task == "migrate_to" || act.task == "migrate_from") && act.runnable() && !act.optional())
                migrates = true;
        }
        if (migrates) continue;
        for (ActIdx s : rsc_actions(c, conn, "stop", kNone, true)) {
            Action& stop = c.actions[s];
            if (!stop.pseudo() && stop.runnable() && !stop.optional()) stop.downed.push_back(n);
        }
    }
}

}  // namespace outpost::cluster::policy
