// Orderings: the internal ones every primitive, group, clone and promotable clone implies
// (stop before start, members in sequence, instances inside their clone's pseudo actions,
// containers and their fillers; rule 34), and the resolution of every ordering
// specification (internal or from rsc_order) into edges between actions.
#include <algorithm>
#include <cstdint>

#include "policy/actions.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

void order_spec(Cluster& c, RscIdx first_rsc, std::string_view first_task, std::int64_t first_interval,
                ActIdx first, RscIdx then_rsc, std::string_view then_task, std::int64_t then_interval,
                ActIdx then, std::uint32_t flags)
{
    // A side given as an action belongs to that action's resource.
    if (first_rsc == kNone && first != kNone) first_rsc = c.actions[first].rsc;
    if (then_rsc == kNone && then != kNone) then_rsc = c.actions[then].rsc;
    Ordering o;
    o.id = static_cast<std::uint32_t>(c.orderings.size());
    o.first_rsc = first_rsc;
    o.first_task = std::string(first_task);
    o.first_interval = first_interval;
    o.first_action = first;
    o.then_rsc = then_rsc;
    o.then_task = std::string(then_task);
    o.then_interval = then_interval;
    o.then_action = then;
    o.flags = flags;
    c.orderings.push_back(std::move(o));
}

namespace {

bool promotable_top(const Cluster& c, RscIdx r)
{
    return c.resources[c.top_of(r)].flags.promotable;
}

// The pseudo action that marks the load on a node going away (utilization.hpp U6).
ActIdx load_stopped(Cluster& c, NodeIdx n)
{
    const std::string key = "load_stopped_" + c.nodes[n].name;
    ActIdx a = c.make_action(kNone, key, key, n, false);
    c.actions[a].flags |= kActPseudo | kActRunnable;
    return a;
}

// U6: stops on the nodes where r runs before their load_stopped; the load_stopped of each
// allowed node before r's start and migrate_to. Of the latter, only the one of the node r is
// assigned to can reach the graph: apply_orderings makes that one once r is assigned, not one
// per allowed node.
void load_orderings(Cluster& c, RscIdx r)
{
    for (NodeIdx n : std::vector<NodeIdx>(c.resources[r].running_on))
        order_task_then_action(c, r, "stop", load_stopped(c, n), kOrderLoad);
    for (NodeIdx n : c.node_order) {
        if (c.resources[r].allowed.allowed(n, c.nodes[n].is_remote_class())) load_stopped(c, n);
    }
    c.resources[r].flags.load_ordered = true;
}

void primitive_orderings(Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.flags.managed) return;
    order_tasks(c, r, "stop", r, "start", kOrderOptional | kOrderImpliesThen | kOrderRestart);
    if (promotable_top(c, r) || rsc.role > Role::unpromoted) {
        order_tasks(c, r, "demote", r, "stop", kOrderPromotedImpliesFirst);
        order_tasks(c, r, "start", r, "promote", kOrderRunnableLeft);
    }
    order_tasks(c, r, "lrm_delete", r, "monitor", kOrderSameNode | kOrderThenCancelsFirst);
    order_restart_around_unfencing(c, r);  // UF5
    if (c.options.strategy != PlacementStrategy::default_ && !rsc.utilization.empty()) load_orderings(c, r);
    if (c.resources[r].container == kNone) return;
    const RscIdx cont = rsc.container;
    if (rsc.flags.is_remote_connection) {
        // Rule 34: a cleaned-up container found running triggers a new transition instead
        // of a needless recovery of its connection.
        order_tasks(c, cont, "monitor", r, "stop", kOrderOptional);
    } else {
        const Resource& cr = c.resources[cont];
        if (cr.flags.is_remote_connection) return;
        for (RscIdx f : cr.fillers) {
            if (c.resources[f].flags.is_remote_connection) return;  // forced onto the guest instead
        }
    }
    order_tasks(c, cont, "start", r, "start", kOrderImpliesThen | kOrderRunnableLeft);
    order_tasks(c, r, "stop", cont, "stop", kOrderImpliesFirst);
}

void group_orderings(Cluster& c, RscIdx g)
{
    const Resource& grp = c.resources[g];
    const bool ordered = !(grp.has_meta("ordered") && !is_true(grp.meta_value("ordered")));
    const bool promotable = promotable_top(c, g);
    order_tasks(c, g, "stopped", g, "start", kOrderOptional);
    order_tasks(c, g, "start", g, "running", kOrderRunnableLeft);
    order_tasks(c, g, "stop", g, "stopped", kOrderRunnableLeft);
    RscIdx last = kNone, last_active = kNone;
    const std::vector<RscIdx> kids = grp.children;
    for (RscIdx ch : kids) {
        std::uint32_t stop = kOrderNone;
        std::uint32_t stopped = kOrderImpliesThenPrinted;
        const std::uint32_t start = kOrderImpliesThen | kOrderRunnableLeft;
        const std::uint32_t started = kOrderRunnableLeft | kOrderImpliesThen | kOrderImpliesThenPrinted;
        primitive_orderings(c, ch);
        if (last == kNone && ordered) {
            stop |= kOrderOptional;
            stopped = kOrderImpliesThen;
        }
        if (promotable) {
            order_tasks(c, g, "demote", ch, "demote", stop | kOrderImpliesFirstPrinted);
            order_tasks(c, ch, "demote", g, "demoted", stopped);
            order_tasks(c, ch, "promote", g, "promoted", started);
            order_tasks(c, g, "promote", ch, "promote", kOrderImpliesFirstPrinted);
        }
        order_tasks(c, g, "stop", ch, "stop", stop | kOrderImpliesFirstPrinted);
        order_tasks(c, ch, "stop", g, "stopped", stopped);
        order_tasks(c, ch, "start", g, "running", started);
        order_tasks(c, g, "start", ch, "start", start | kOrderImpliesFirstPrinted);
        if (!ordered) {
            order_tasks(c, g, "start", ch, "start", start | kOrderImpliesFirstPrinted);
            if (promotable) order_tasks(c, g, "promote", ch, "promote", start | kOrderImpliesFirstPrinted);
        } else if (last != kNone) {
            order_tasks(c, last, "start", ch, "start", start);
            order_tasks(c, ch, "stop", last, "stop", kOrderOptional | kOrderRestart);
            if (promotable) {
                order_tasks(c, last, "promote", ch, "promote", start);
                order_tasks(c, ch, "demote", last, "demote", kOrderOptional);
            }
        } else {
            order_tasks(c, g, "start", ch, "start", kOrderNone);
            if (promotable) order_tasks(c, g, "promote", ch, "promote", kOrderNone);
        }
        // Partially active groups still stop in sequence.
        if (!c.resources[ch].running_on.empty()) {
            if (ordered && last != kNone && c.resources[last].running_on.empty() && last_active != kNone &&
                !c.resources[last_active].running_on.empty())
                order_tasks(c, ch, "stop", last_active, "stop", kOrderOptional);
            last_active = ch;
        }
        last = ch;
    }
    if (ordered && last != kNone) {
        order_tasks(c, g, "stop", last, "stop", kOrderImpliesThen);
        order_tasks(c, last, "stop", g, "stopped", kOrderOptional);
        if (promotable) {
            order_tasks(c, g, "demote", last, "demote", kOrderImpliesThen);
            order_tasks(c, last, "demote", g, "demoted", kOrderOptional);
        }
    }
}

void resource_orderings(Cluster& c, RscIdx r);

void clone_orderings(Cluster& c, RscIdx cl)
{
    const Resource& clone = c.resources[cl];
    order_tasks(c, cl, "stopped", cl, "start", kOrderOptional);
    order_tasks(c, cl, "start", cl, "running", kOrderRunnableLeft);
    order_tasks(c, cl, "stop", cl, "stopped", kOrderRunnableLeft);
    if (clone.flags.promotable) {
        order_tasks(c, cl, "demoted", cl, "stop", kOrderOptional);
        order_tasks(c, cl, "running", cl, "promote", kOrderRunnableLeft);
    }
    std::vector<RscIdx> kids = clone.children;
    const bool ordered = clone.flags.ordered;
    if (ordered) {
        std::sort(kids.begin(), kids.end(),
                  [&](RscIdx a, RscIdx b) { return c.resources[a].id < c.resources[b].id; });
    }
    RscIdx last = kNone;
    for (RscIdx ch : kids) {
        resource_orderings(c, ch);
        order_tasks(c, cl, "start", ch, "start", kOrderRunnableLeft | kOrderImpliesFirstPrinted);
        order_tasks(c, ch, "start", cl, "running", kOrderImpliesThenPrinted);
        if (ordered && last != kNone) order_tasks(c, last, "start", ch, "start", kOrderOptional);
        order_tasks(c, cl, "stop", ch, "stop", kOrderImpliesFirstPrinted);
        order_tasks(c, ch, "stop", cl, "stopped", kOrderImpliesThenPrinted);
        if (ordered && last != kNone) order_tasks(c, ch, "stop", last, "stop", kOrderOptional);
        last = ch;
    }
    if (clone.flags.promotable) {
        last = kNone;
        for (RscIdx ch : kids) {
            order_tasks(c, ch, "demote", ch, "promote", kOrderOptional);
            order_tasks(c, cl, "promote", ch, "promote", kOrderOptional);
            order_tasks(c, ch, "promote", cl, "promoted", kOrderOptional);
            if (last != kNone && ordered) order_tasks(c, last, "promote", ch, "promote", kOrderOptional);
            order_tasks(c, cl, "demote", ch, "demote", kOrderImpliesFirstPrinted);
            order_tasks(c, ch, "demote", cl, "demoted", kOrderImpliesThenPrinted);
            if (last != kNone && ordered) order_tasks(c, ch, "demote", last, "demote", kOrderOptional);
            last = ch;
        }
        // Clone-level: demotions before starts and promotions, stops before promotions.
        order_tasks(c, cl, "demote", cl, "demoted", kOrderRunnableLeft);
        order_tasks(c, cl, "demoted", cl, "promote", kOrderOptional);
        order_tasks(c, cl, "demoted", cl, "start", kOrderOptional);
        order_tasks(c, cl, "stopped", cl, "promote", kOrderOptional);
    }
}

void resource_orderings(Cluster& c, RscIdx r)
{
    switch (c.resources[r].kind) {
        case RscKind::primitive:
            primitive_orderings(c, r);
            break;
        case RscKind::group:
            group_orderings(c, r);
            break;
        case RscKind::clone:
            clone_orderings(c, r);
            break;
    }
}

bool is_ancestor(const Cluster& c, RscIdx ancestor, RscIdx r)
{
    for (RscIdx p = c.resources[r].parent; p != kNone; p = c.resources[p].parent) {
        if (p == ancestor) return true;
    }
    return false;
}

Role current_state(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (rsc.is_primitive()) return rsc.role;
    Role role = Role::stopped;
    for (RscIdx ch : rsc.children)
        role = std::max(role, current_state(c, ch));
    return role;
}

std::vector<ActIdx> find_by_task(const Cluster& c, RscIdx r, std::string_view task, std::int64_t interval)
{
    std::vector<ActIdx> out;
    const Resource& rsc = c.resources[r];
    auto it = rsc.actions_by_key.find(op_key(rsc.id, task, interval));
    if (it != rsc.actions_by_key.end()) out = it->second;
    return out;
}

void edge(Cluster& c, ActIdx first, ActIdx then, std::uint32_t flags)
{
    const Action& f = c.actions[first];
    const Action& t = c.actions[then];
    if (flags == kOrderLoad) {
        // Only an ordering on the node the action is for (for migrate_to: where the resource
        // goes) can reach the graph, and nothing travels along it: the others are not made
        // (utilization.hpp U6; thousands of allowed nodes would make millions).
        const NodeIdx where = t.rsc != kNone && t.task == "migrate_to" ? c.resources[t.rsc].assigned : t.node;
        if (f.node == kNone || f.node != where) return;
    }
    bool remapped = false;
    const ActIdx ordered = first;
    if (f.rsc != kNone && t.rsc != kNone && f.rsc != t.rsc && !is_ancestor(c, f.rsc, t.rsc)) {
        const ActIdx done = expand_action(c, first);
        remapped = done != first;
        first = done;
    }
    if (c.order(first, then, flags) && remapped) {
        c.edges.back().remapped = true;
        c.actions[ordered].remapped_after.push_back(static_cast<EdgeIdx>(c.edges.size() - 1));
    }
}

void order_then(Cluster& c, ActIdx lh, RscIdx then_rsc, const Ordering& o)
{
    std::vector<ActIdx> rh;
    if (o.then_action != kNone) {
        rh.push_back(o.then_action);
    } else {
        rh = find_by_task(c, then_rsc, o.then_task, o.then_interval);
        // O13
        std::erase_if(rh, [&](ActIdx a) { return a >= o.later_firsts_begin && a < o.later_firsts_end; });
    }
    if (rh.empty()) return;
    std::uint32_t flags = o.flags;
    if (lh != kNone && c.actions[lh].rsc == then_rsc && (c.actions[lh].flags & kActDangling))
        flags &= ~kOrderImpliesThen;
    for (ActIdx a : rh) {
        if (lh != kNone) {
            edge(c, lh, a, flags);
        } else if (flags & kOrderImpliesThen) {
            c.actions[a].flags &= ~kActRunnable;
        }
    }
}

// The "first" actions of an ordering between resources: those that exist, else one made
// for no node (not a stop of what is stopped, nor a demotion of what is not promoted).
std::vector<ActIdx> first_actions(Cluster& c, const Ordering& o)
{
    std::vector<ActIdx> lh;
    if (o.first_action != kNone) {
        lh.push_back(o.first_action);
    } else {
        lh = find_by_task(c, o.first_rsc, o.first_task, o.first_interval);
    }
    if (lh.empty() && o.first_rsc != o.then_rsc) {
        const Role state = current_state(c, o.first_rsc);
        if (state == Role::stopped && o.first_task == "stop") return lh;
        if (state == Role::unpromoted && o.first_task == "demote") return lh;
        lh.push_back(rsc_action(c, o.first_rsc, o.first_task, kNone, true, o.first_interval));
    }
    return lh;
}

void order_first(Cluster& c, const Ordering& o)
{
    const std::vector<ActIdx> lh = first_actions(c, o);
    if (lh.empty()) return;
    RscIdx then_rsc = o.then_rsc;
    if (then_rsc == kNone && o.then_action != kNone) then_rsc = c.actions[o.then_action].rsc;
    for (ActIdx a : lh) {
        if (then_rsc != kNone) {
            order_then(c, a, then_rsc, o);
        } else if (o.then_action != kNone) {
            edge(c, a, o.then_action, o.flags);
        }
    }
}

}  // namespace

ActIdx expand_action(const Cluster& c, ActIdx a)
{
    const Action& act = c.actions[a];
    if (act.rsc == kNone) return a;
    const Resource& rsc = c.resources[act.rsc];
    if (rsc.is_primitive()) return a;
    const char* done = nullptr;
    if (act.task == "start")
        done = "running";
    else if (act.task == "stop")
        done = "stopped";
    else if (act.task == "promote")
        done = "promoted";
    else if (act.task == "demote")
        done = "demoted";
    if (!done) return a;
    std::string key;
    if (rsc.parent == kNone && rsc.flags.notify && rsc.is_clone()) {
        key = rsc.id + "_confirmed-post_notify_" + done + "_0";
    } else {
        key = op_key(rsc.id, done, 0);
    }
    ActIdx found = c.find_action(act.rsc, key, kNone);
    return found == kNone ? a : found;
}

namespace {

std::string_view spec_task(const Cluster& c, ActIdx action, const std::string& task)
{
    return action != kNone ? std::string_view(c.actions[action].task) : std::string_view(task);
}

// Orderings between a migrating resource and another one also order the migration
// actions ("A start then B start" -> "A migrate_from then B migrate_to", ...).
void migration_equivalents(Cluster& c, const Ordering& o)
{
    if (o.first_rsc == kNone || o.then_rsc == kNone || o.first_rsc == o.then_rsc) return;
    if (is_ancestor(c, o.first_rsc, o.then_rsc) || is_ancestor(c, o.then_rsc, o.first_rsc)) return;
    const bool first_migratable = c.resources[o.first_rsc].flags.allow_migrate;
    const bool then_migratable = c.resources[o.then_rsc].flags.allow_migrate;
    if (!first_migratable && !then_migratable) return;
    const std::string_view lh = spec_task(c, o.first_action, o.first_task);
    const std::string_view rh = spec_task(c, o.then_action, o.then_task);
    const RscIdx a = o.first_rsc, b = o.then_rsc;
    if (lh == "start" && rh == "start") {
        std::uint32_t flags = kOrderOptional;
        if (first_migratable && then_migratable) order_tasks(c, a, "migrate_from", b, "migrate_to", flags);
        if (then_migratable) {
            if (first_migratable) flags |= kOrderApplyFirstNonMigratable;
            order_tasks(c, a, "start", b, "migrate_to", flags);
        }
    } else if (then_migratable && lh == "stop" && rh == "stop") {
        std::uint32_t flags = kOrderOptional;
        if (first_migratable) flags |= kOrderApplyFirstNonMigratable;
        order_tasks(c, a, "stop", b, "migrate_to", flags);
        if (c.resources[b].partial_migration_target != kNone)
            order_tasks(c, a, "stop", b, "migrate_from", flags);
    } else if (lh == "promote" && rh == "start") {
        if (then_migratable) order_tasks(c, a, "promote", b, "migrate_to", kOrderOptional);
    } else if (lh == "demote" && rh == "stop") {
        if (then_migratable) {
            order_tasks(c, a, "demote", b, "migrate_to", kOrderOptional);
            if (c.resources[b].partial_migration_target != kNone)
                order_tasks(c, a, "demote", b, "migrate_from", kOrderOptional);
        }
    }
}

}  // namespace

void create_internal_orderings(Cluster& c)
{
    for (RscIdx r : std::vector<RscIdx>(c.top))
        resource_orderings(c, r);
}

namespace {

void apply_ordering(Cluster& c, const Ordering& o)
{
    migration_equivalents(c, o);
    if (o.first_rsc != kNone) {
        order_first(c, o);
    } else if (o.then_rsc != kNone) {
        order_then(c, o.first_action, o.then_rsc, o);
    } else if (o.first_action != kNone && o.then_action != kNone) {
        edge(c, o.first_action, o.then_action, o.flags);
    }
}

// The orderings [begin, end) (user: 1 only the user's, 0 only the others, -1 all). Applying
// one may add more (so each is copied first: the vector may grow).
void apply_orderings_in(Cluster& c, std::size_t begin, std::size_t end, int user)
{
    for (std::size_t i = begin; i < end && i < c.orderings.size(); ++i) {
        const Ordering o = c.orderings[i];
        if (user < 0 || ((o.flags & kOrderUser) != 0) == (user == 1)) apply_ordering(c, o);
    }
}

}  // namespace

void apply_orderings(Cluster& c)
{
    // U6: where a resource with utilization goes, its start and migrate_to wait for that
    // node's load_stopped.
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        const Resource& rsc = c.resources[r];
        if (!rsc.flags.load_ordered || rsc.assigned == kNone) continue;
        const ActIdx ls = c.find_action(kNone, "load_stopped_" + c.nodes[rsc.assigned].name, rsc.assigned);
        if (ls == kNone) continue;
        order_action_then_task(c, ls, r, "start", kOrderLoad);
        order_action_then_task(c, ls, r, "migrate_to", kOrderLoad);
    }
    // The internal orderings of resources first, then the user's, then those of the later
    // stages (probes, monitors, connections, fencing): the newest ordering of an action is
    // examined first when requirement propagates, which decides the reason a summary gives
    // ("Restart B due to required A start" for `A then B`, observed from crm_simulate 2.1.5).
    const std::size_t internal_end = std::min(c.internal_orderings_end, c.orderings.size());
    // The actions the user's orderings make for their "first" side exist before any
    // ordering is applied (observed: with `p then p2` and p disabled while it runs, the
    // start p's ordering makes is ordered after p's stop, so required by it, and p2's stop
    // shows "due to required p start", not "unrunnable").
    // O13 (observed): in the order the constraints are read, so an action made for a later
    // ordering's "first" side did not exist when an earlier ordering's "then" side was
    // looked up, and that ordering does not reach it: with `A1 then A2` before `A2 then B`
    // and A2 disabled, A2's start (made for the second) is not ordered after A1's, nor made
    // required by it; in the other order it is.
    // (The orderings into a one-or-more pseudo action come from the constraints too.)
    std::vector<std::size_t> user;
    for (std::size_t i = 0; i < internal_end; ++i) {
        const Ordering o = c.orderings[i];
        const bool any = o.then_action != kNone && (c.actions[o.then_action].flags & kActRequiresAny);
        if (!(o.flags & kOrderUser) && !any) continue;
        user.push_back(i);
        if (o.first_rsc != kNone) (void)first_actions(c, o);
        c.orderings[i].later_firsts_begin = static_cast<ActIdx>(c.actions.size());
    }
    for (std::size_t i : user)
        c.orderings[i].later_firsts_end = static_cast<ActIdx>(c.actions.size());
    apply_orderings_in(c, 0, internal_end, 0);
    apply_orderings_in(c, 0, internal_end, 1);
    // (Then those of the later stages, and what applying any of them adds, in order.)
    apply_orderings_in(c, internal_end, SIZE_MAX, -1);
}

}  // namespace outpost::cluster::policy

namespace outpost::cluster::policy {

// Rule 48: an ordering from an action on a guest node to that guest's own container,
// unless generated internally, is invalid and dropped.
void disable_invalid_orderings(Cluster& c)
{
    for (Edge& e : c.edges) {
        if (e.flags == kOrderNone || (e.flags & kOrderPreserve)) continue;
        const Action& first = c.actions[e.first];
        const Action& then = c.actions[e.then];
        if (first.rsc == kNone || then.rsc == kNone || first.node == kNone) continue;
        const Node& node = c.nodes[first.node];
        RscIdx conn = node.kind == NodeKind::guest ? node.remote_rsc : kNone;
        // (Also a cluster node a typeless <node> entry makes of a guest's name: Pacemaker
        // links it to the connection all the same, observed: the container's probe there is
        // not ordered before the container's start, rnd-s4-c4-5.)
        if (conn == kNone && node.named_by_connection) conn = c.find_rsc(node.name);
        if (conn == kNone) continue;
        if (c.resources[conn].container == then.rsc) e.flags = kOrderNone;
    }
}

}  // namespace outpost::cluster::policy
