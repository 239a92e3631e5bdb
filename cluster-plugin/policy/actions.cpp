// Actions: what each resource must do to get from its current role on its current node
// to its next role on its assigned node (start, stop, promote, demote, migrate_to,
// migrate_from), recurring monitors, and the pseudo actions of groups and clones.
#include <algorithm>

#include "policy/actions.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

namespace {

const Op* find_op(const Resource& r, std::string_view name, std::int64_t interval_ms)
{
    for (const Op& op : r.ops) {
        if (op.name == name && op.interval_ms == interval_ms && op.enabled) return &op;
    }
    return nullptr;
}

// The op configuration an action uses: exact match; for a probe (monitor 0) the shortest
// recurring monitor's timeout is not used (Pacemaker takes the configured 0-interval op
// or the defaults).
std::int64_t action_timeout(const Cluster& c, const Resource& r, std::string_view task,
                            std::int64_t interval_ms)
{
    if (const Op* op = find_op(r, task, interval_ms)) {
        if (!op->timeout.empty()) return op->timeout_ms;
    } else if (task == "monitor" && interval_ms == 0) {
        // A probe without its own operation takes the first recurring monitor's timeout.
        for (const Op& op : r.ops) {
            if (op.name == "monitor")
                return op.timeout.empty() ? c.options.default_op_timeout_ms : op.timeout_ms;
        }
    }
    return c.options.default_op_timeout_ms;
}

}  // namespace

bool can_fence(const Cluster& c, NodeIdx n, int depth)
{
    const Node& node = c.nodes[n];
    if (node.kind == NodeKind::guest) {
        if (depth > 8) return false;
        const Resource& conn = c.resources[node.remote_rsc];
        if (conn.container == kNone) return false;
        for (NodeIdx host : c.resources[conn.container].running_on) {
            if (!c.nodes[host].online && !can_fence(c, host, depth + 1)) return false;
        }
        return true;
    }
    if (!c.options.stonith_enabled || !c.have_fence_device) return false;
    if (c.options.have_quorum) return true;
    if (c.options.no_quorum_policy == NoQuorumPolicy::ignore) return true;
    return node.online && !node.unclean;
}

bool action_needs_quorum(const Action& a, const Resource& r)
{
    if (a.task != "start" && a.task != "promote" && a.task != "migrate_to" && a.task != "migrate_from")
        return false;
    return r.requires_ != Requires::nothing;
}

void init_runnable(Cluster& c, ActIdx ai, bool save)
{
    Action& a = c.actions[ai];
    if (a.rsc == kNone) return;
    Resource& r = c.resources[a.rsc];
    if (a.pseudo()) return;
    if (a.node == kNone) {
        a.flags &= ~kActRunnable;
        return;
    }
    const Node& node = c.nodes[a.node];
    if (!r.flags.managed && a.interval_ms == 0) {
        a.flags |= kActOptional;
        return;
    }
    if (!node.online && (node.kind != NodeKind::guest || node.remote_requires_reset)) {
        a.flags &= ~kActRunnable;
        if (r.flags.managed && save && a.task == "stop" && !node.unclean)
            fence_node(c, a.node, "stop is unrunnable", false);
        return;
    }
    if (node.pending) {
        a.flags &= ~kActRunnable;
        return;
    }
    if (!action_needs_quorum(a, r)) {
        if (node.kind == NodeKind::guest && !can_fence(c, a.node, 0)) {
            c.actions[ai].flags &= ~kActRunnable;
        } else {
            c.actions[ai].flags |= kActRunnable;
        }
        return;
    }
    // no-quorum-policy=demote: promotable instances keep running unpromoted, the rest stops.
    const bool demote_policy = c.options.no_quorum_policy == NoQuorumPolicy::demote;
    if (!c.options.have_quorum && demote_policy && r.flags.promotable && a.task != "promote") {
        a.flags |= kActRunnable;
        return;
    }
    if (!c.options.have_quorum && (c.options.no_quorum_policy == NoQuorumPolicy::stop || demote_policy)) {
        if (a.reason.empty()) a.reason = "no quorum";
        a.flags &= ~kActRunnable;
        return;
    }
    if (!c.options.have_quorum && c.options.no_quorum_policy == NoQuorumPolicy::freeze) {
        if (r.running_on.empty() || r.next_role > r.role) {
            if (a.reason.empty()) a.reason = "quorum freeze";
            a.flags &= ~kActRunnable;
        }
        return;
    }
    a.flags |= kActRunnable;
}

ActIdx rsc_action(Cluster& c, RscIdx r, std::string_view task, NodeIdx node, bool optional,
                  std::int64_t interval_ms)
{
    Resource& rsc = c.resources[r];
    std::string key = op_key(rsc.id, task, interval_ms);
    ActIdx existing = c.find_action(r, key, node);
    if (existing != kNone) {
        if (!optional) c.actions[existing].flags &= ~kActOptional;
        init_runnable(c, existing, true);
        return existing;
    }
    ActIdx a = c.make_action(r, std::move(key), std::string(task), node, optional, interval_ms);
    Action& act = c.actions[a];
    act.op = find_op(rsc, task, interval_ms);
    if (rsc.is_primitive()) {
        act.set_meta("timeout", std::to_string(action_timeout(c, rsc, task, interval_ms)));
        if (interval_ms > 0) {
            act.set_meta("interval", std::to_string(interval_ms));
            act.set_meta("name", std::string(task));
        } else if (act.op) {
            act.set_meta("name", std::string(task));  // a configured one-shot operation
        }
    }
    init_runnable(c, a, true);
    return a;
}

ActIdx pseudo_action(Cluster& c, RscIdx r, std::string_view task, bool optional)
{
    ActIdx a = rsc_action(c, r, task, kNone, optional);
    c.actions[a].flags |= kActPseudo | kActRunnable;
    return a;
}

ActIdx find_rsc_action(const Cluster& c, RscIdx r, std::string_view task, NodeIdx node,
                       std::int64_t interval_ms)
{
    return c.find_action(r, op_key(c.resources[r].id, task, interval_ms), node);
}

std::vector<ActIdx> rsc_actions(const Cluster& c, RscIdx r, std::string_view task, NodeIdx node,
                                bool any_node)
{
    std::vector<ActIdx> out;
    auto it = c.resources[r].actions_by_key.find(op_key(c.resources[r].id, task, 0));
    if (it == c.resources[r].actions_by_key.end()) return out;
    for (ActIdx a : it->second) {
        if (any_node || c.actions[a].node == node) out.push_back(a);
    }
    return out;
}

namespace {

struct ActionMaker {
    Cluster& c;

    void history_actions();
    void create(RscIdx r);
    void primitive(RscIdx r);
    void group(RscIdx r);
    void clone(RscIdx r);
    bool stop_rsc(RscIdx r, NodeIdx next, bool optional);
    bool start_rsc(RscIdx r, NodeIdx next, bool optional);
    bool promote_rsc(RscIdx r, NodeIdx next, bool optional);
    bool demote_rsc(RscIdx r, NodeIdx next, bool optional);
    bool role_step(Role from, Role to, RscIdx r, NodeIdx node, bool optional);
    void recurring(RscIdx r, ActIdx start, NodeIdx node);
    void migration(RscIdx r, NodeIdx current, NodeIdx chosen);
};

// Pacemaker's role state machine: the next role on the way from one role to another.
Role next_step(Role from, Role to)
{
    static const Role kMatrix[5][5] = {
        // to:  unknown         stopped         started         unpromoted        promoted
        {Role::unknown, Role::stopped, Role::stopped, Role::stopped, Role::stopped},        // from unknown
        {Role::stopped, Role::stopped, Role::started, Role::unpromoted, Role::unpromoted},  // from stopped
        {Role::stopped, Role::stopped, Role::started, Role::unpromoted, Role::promoted},    // from started
        {Role::stopped, Role::stopped, Role::stopped, Role::unpromoted, Role::promoted},    // from unpromoted
        {Role::stopped, Role::unpromoted, Role::unpromoted, Role::unpromoted,
         Role::promoted},  // from promoted
    };
    return kMatrix[static_cast<int>(from)][static_cast<int>(to)];
}

bool ActionMaker::role_step(Role from, Role to, RscIdx r, NodeIdx node, bool optional)
{
    // Which action takes a resource from one role to an adjacent one.
    if (from == to) return true;
    if (to == Role::stopped) {
        if (from == Role::promoted) return demote_rsc(r, node, optional);
        return stop_rsc(r, node, optional);
    }
    if (from == Role::stopped && (to == Role::started || to == Role::unpromoted))
        return start_rsc(r, node, optional);
    if (to == Role::promoted && (from == Role::started || from == Role::unpromoted))
        return promote_rsc(r, node, optional);
    if (from == Role::promoted) return demote_rsc(r, node, optional);
    if (from == Role::unpromoted && to == Role::started) return stop_rsc(r, node, optional);
    if (from == Role::started && to == Role::unpromoted) return true;
    if (from == Role::unknown && to == Role::stopped) return stop_rsc(r, node, optional);
    return false;
}

bool ActionMaker::stop_rsc(RscIdx r, NodeIdx next, bool optional)
{
    (void)next;
    Resource& rsc = c.resources[r];
    for (NodeIdx cur : std::vector<NodeIdx>(rsc.running_on)) {
        bool opt = optional;
        if (rsc.partial_migration_target != kNone) {
            if (rsc.partial_migration_target == cur && rsc.assigned == rsc.partial_migration_target) continue;
            opt = false;
        }
        // A2: left running where it is assigned, unless it failed there (its stop exists).
        const bool expected = rsc.flags.stop_unexpected && cur == rsc.assigned;
        if (expected && rsc_actions(c, r, "stop", cur, false).empty()) continue;
        ActIdx stop = rsc_action(c, r, "stop", cur, opt);
        if (c.resources[r].assigned == kNone) {
            c.actions[stop].reason = "node availability";
        } else if (c.resources[r].flags.stop_unexpected && !expected) {
            c.actions[stop].reason = "being multiply active";
        }
        if (!c.resources[r].flags.managed) c.actions[stop].flags &= ~kActRunnable;
    }
    return true;
}

bool ActionMaker::start_rsc(RscIdx r, NodeIdx next, bool optional)
{
    if (next == kNone) return false;
    ActIdx start = rsc_action(c, r, "start", next, true);
    if (c.resources[r].flags.stop_unexpected) c.actions[start].flags |= kActPseudo;  // A2
    // A1 (observed): the start of an inactive resource that cannot run where it was placed
    // stays optional, so a required first ordered before it makes it required with a reason,
    // "Start p ... due to required p3 start (blocked)"; the summary lists it all the same,
    // "Start p ... blocked". (An active resource's start is required by its own stop
    // first, which records no reason: "Stop p ..." as before.)
    const bool inactive = c.resources[r].running_on.empty();
    if (!optional && (c.actions[start].runnable() || !inactive)) c.set_required(start);
    return true;
}

bool ActionMaker::promote_rsc(RscIdx r, NodeIdx next, bool optional)
{
    if (next == kNone) return false;
    bool runnable = true;
    for (ActIdx s : rsc_actions(c, r, "start", next, false)) {
        if (!c.actions[s].runnable()) runnable = false;
    }
    if (runnable) {
        rsc_action(c, r, "promote", next, optional);
        return true;
    }
    for (ActIdx p : rsc_actions(c, r, "promote", next, false))
        c.actions[p].flags &= ~kActRunnable;
    return true;
}

bool ActionMaker::demote_rsc(RscIdx r, NodeIdx next, bool optional)
{
    (void)next;
    Resource& rsc = c.resources[r];
    for (NodeIdx cur : std::vector<NodeIdx>(rsc.running_on))
        rsc_action(c, r, "demote", cur, optional);
    return true;
}

void ActionMaker::recurring(RscIdx r, ActIdx start, NodeIdx node)
{
    Resource& rsc = c.resources[r];
    // R2 (observed): nothing recurs for a resource in maintenance or on a node in maintenance
    // (its history's monitors are cancelled, R1), though an unmanaged one's are issued.
    if (rsc.flags.maintenance || (node != kNone && c.nodes[node].maintenance)) return;
    const std::vector<Op> ops = rsc.ops;
    for (std::size_t oi = 0; oi < ops.size(); ++oi) {
        const Op& op = ops[oi];
        if (op.interval_ms <= 0 || !op.enabled) continue;
        if (op.role && *op.role == Role::stopped) continue;
        // The first op of a name and interval counts (duplicates are ignored).
        bool dup = false;
        for (std::size_t j = 0; j < oi; ++j) {
            if (ops[j].name == op.name && ops[j].interval_ms == op.interval_ms) dup = true;
        }
        if (dup) continue;
        const std::string key = op_key(rsc.id, op.name, op.interval_ms);
        bool optional = start != kNone ? c.actions[start].optional() : true;
        ActIdx existing = node != kNone ? c.find_action(r, key, node) : kNone;
        if (existing == kNone || (c.actions[existing].flags & kActReschedule)) optional = false;
        Role op_role = op.role ? *op.role : Role::unknown;
        if (op_role == Role::started) op_role = Role::unknown;
        const Role nr = c.resources[r].next_role;
        // R4 (observed): "Unpromoted" is how a promotable clone's instance runs when started;
        // anything else started is not unpromoted, so such a monitor is not run (and one
        // running is cancelled).
        const RscIdx clone = c.clone_of(r);
        const bool promotable = clone != kNone && c.resources[clone].flags.promotable;
        const bool role_mismatch = (nr == Role::promoted && op_role == Role::unknown) ||
                                   (op_role != Role::unknown && op_role != nr &&
                                    !(op_role == Role::unpromoted && nr == Role::started && promotable));
        if (role_mismatch) {
            if (optional && existing != kNone) {
                // Running with the wrong role: cancel it.
                ActIdx cancel = c.make_action(r, key, "cancel", node, false, op.interval_ms);
                c.actions[cancel].task = "cancel";  // the monitor it was becomes its cancellation
                c.actions[cancel].set_meta("interval", std::to_string(op.interval_ms));
                c.actions[cancel].set_meta("operation", op.name);
                c.actions[cancel].set_meta("timeout", std::to_string(op.timeout_ms));
                c.actions[cancel].flags |= kActRunnable;
                c.actions[cancel].flags &= ~kActOptional;
                std::string after;
                const Role cr = c.resources[r].role;
                if (cr == Role::unpromoted || cr == Role::started) {
                    if (nr == Role::promoted)
                        after = "promote";
                    else if (nr == Role::stopped)
                        after = "stop";
                } else if (cr == Role::promoted) {
                    after = "demote";
                }
                if (!after.empty()) order_action_then_task(c, cancel, r, after, kOrderRunnableLeft);
            }
            continue;
        }
        ActIdx mon = rsc_action(c, r, op.name, node, optional, op.interval_ms);
        Action& m = c.actions[mon];
        m.set_meta("interval", std::to_string(op.interval_ms));
        m.set_meta("name", op.name);
        m.set_meta("timeout", std::to_string(op.timeout.empty() ? 20000 : op.timeout_ms));
        if (start == kNone || !c.actions[start].runnable() || node == kNone || !c.nodes[node].online ||
            c.nodes[node].unclean)
            m.flags &= ~kActRunnable;
        if (nr == Role::promoted) m.set_meta("op_target_rc", "8");
        if (node == kNone || c.resources[r].flags.managed) {
            order_task_then_action(c, r, "start", mon, kOrderImpliesThen | kOrderRunnableLeft);
            order_task_then_action(c, r, "reload-agent", mon, kOrderImpliesThen | kOrderRunnableLeft);
            if (nr == Role::promoted) {
                order_task_then_action(c, r, "promote", mon, kOrderOptional | kOrderRunnableLeft);
            } else if (c.resources[r].role == Role::promoted) {
                order_task_then_action(c, r, "demote", mon, kOrderOptional | kOrderRunnableLeft);
            }
        }
    }
}

void ActionMaker::migration(RscIdx r, NodeIdx current, NodeIdx chosen)
{
    Resource& rsc = c.resources[r];
    const bool partial = rsc.partial_migration_target != kNone;
    ActIdx start = rsc_action(c, r, "start", chosen, true);
    ActIdx stop = rsc_action(c, r, "stop", current, true);
    ActIdx migrate_to = kNone;
    if (!partial) migrate_to = rsc_action(c, r, "migrate_to", current, true);
    ActIdx migrate_from = rsc_action(c, r, "migrate_from", chosen, true);
    c.actions[start].flags |= kActMigrateRunnable | kActPseudo;
    c.actions[stop].flags |= kActMigrateRunnable;
    c.actions[migrate_from].flags |= kActMigrateRunnable;
    if (partial) {
        order_tasks(c, r, "monitor", r, "migrate_from", kOrderOptional);
    } else {
        c.actions[migrate_to].flags |= kActMigrateRunnable;
        order_tasks(c, r, "monitor", r, "migrate_to", kOrderOptional);
        order_tasks(c, r, "migrate_to", r, "migrate_from", kOrderOptional | kOrderImpliesFirstMigratable);
    }
    order_tasks(c, r, "migrate_from", r, "stop", kOrderOptional | kOrderImpliesFirstMigratable);
    order_tasks(c, r, "migrate_from", r, "start",
                kOrderOptional | kOrderImpliesFirstMigratable | kOrderPseudoLeft);
    if (migrate_to != kNone) {
        c.actions[migrate_to].set_meta("migrate_source", c.nodes[current].name);
        c.actions[migrate_to].set_meta("migrate_target", c.nodes[chosen].name);
        if (!rsc.flags.is_remote_connection) c.actions[migrate_to].set_meta("record_pending", "true");
    }
    c.actions[migrate_from].set_meta("migrate_source", c.nodes[current].name);
    c.actions[migrate_from].set_meta("migrate_target", c.nodes[chosen].name);
}

void ActionMaker::primitive(RscIdx r)
{
    Resource& rsc0 = c.resources[r];
    bool allow_migrate = rsc0.flags.allow_migrate;
    const NodeIdx chosen = rsc0.assigned;
    if (rsc0.next_role == Role::unknown) rsc0.next_role = chosen == kNone ? Role::stopped : Role::started;
    // Active nodes, and those that are clean.
    unsigned all_active = 0, clean_active = 0;
    NodeIdx current = kNone;
    for (NodeIdx n : rsc0.running_on) {
        ++all_active;
        if (!c.nodes[n].unclean && c.nodes[n].online) ++clean_active;
        if (current == kNone) current = n;
    }
    // A partial migration runs from its source (the target was added while unpacking).
    if (rsc0.partial_migration_source != kNone &&
        std::find(rsc0.running_on.begin(), rsc0.running_on.end(), rsc0.partial_migration_source) !=
            rsc0.running_on.end())
        current = rsc0.partial_migration_source;
    for (NodeIdx src : std::vector<NodeIdx>(rsc0.dangling_migrations)) {
        ActIdx stop = rsc_action(c, r, "stop", src, false);
        c.actions[stop].flags |= kActDangling;
    }
    bool need_stop = false;
    bool need_promote = false;
    bool is_moving = false;
    bool multiply_active = false;
    Resource& rsc = c.resources[r];
    if (all_active == 2 && clean_active == 2 && chosen != kNone && rsc.partial_migration_source != kNone &&
        rsc.partial_migration_target != kNone && current == rsc.partial_migration_source &&
        chosen == rsc.partial_migration_target) {
        // continue the partial migration
    } else if (all_active == 1 && rsc.partial_migration_target != kNone) {
        // M2 (observed): partially migrated but stopped on the source since, it is
        // restarted on the target ("Restart remote1 (node2)", rnd-s117-c1-9); not when the
        // source is lost (being fenced): it just runs on the target (rnd-s376-c4-5).
        const NodeIdx source = rsc.partial_migration_source;
        if (source == kNone || (c.nodes[source].online && !c.nodes[source].unclean)) {
            need_stop = true;
            allow_migrate = false;
        }
        rsc.partial_migration_source = rsc.partial_migration_target = kNone;
    } else if (rsc.requires_ == Requires::nothing || rsc.requires_ == Requires::quorum) {
        multiply_active = clean_active > 1;
    } else {
        multiply_active = all_active > 1;
    }
    if (multiply_active) {
        if (rsc.multiple_active == MultipleActive::stop_start ||
            rsc.multiple_active == MultipleActive::stop_unexpected)
            need_stop = true;
        // A2 (observed, crm_simulate 2.1.5): multiple-active=stop_unexpected stops it only
        // where it was not assigned ("being multiply active") and its start becomes a
        // pseudo action, in place ("Restart x (node1)") or not.
        if (rsc.multiple_active == MultipleActive::stop_unexpected && chosen != kNone)
            rsc.flags.stop_unexpected = true;
        rsc.partial_migration_source = rsc.partial_migration_target = kNone;
        allow_migrate = false;
    }
    if (rsc.flags.start_pending) {
        // In the graph although optional (crm_simulate on a CIB with a pending start shows
        // it among the actions, not in the summary).
        ActIdx start = rsc_action(c, r, "start", chosen, true);
        c.actions[start].flags |= kActPrintAlways;
    }
    if (current != kNone && chosen != kNone && current != chosen) {
        is_moving = true;
        need_stop = true;
    } else if (rsc.flags.failed) {
        if (rsc.flags.stop_needed) {
            need_stop = true;
        } else if (rsc.next_role == Role::promoted) {
            need_promote = true;
        }
    } else if (rsc.flags.blocked) {
        need_stop = true;
    } else if (rsc.role > Role::started && current != kNone && chosen != kNone) {
        ActIdx start = rsc_action(c, r, "start", chosen, true);
        if (!c.actions[start].optional()) need_stop = true;
    }
    // Down to Stopped, then up to the current role, then on to the next role.
    Role role = c.resources[r].role;
    while (role != Role::stopped) {
        const Role next = next_step(role, Role::stopped);
        if (!role_step(role, next, r, current, !need_stop)) break;
        role = next;
    }
    const Role cur_role = c.resources[r].role;
    while (cur_role <= c.resources[r].next_role && role != cur_role && !c.resources[r].flags.blocked) {
        bool required = need_stop;
        const Role next = next_step(role, cur_role);
        if (next == Role::promoted && need_promote) required = true;
        if (!role_step(role, next, r, chosen, !required)) break;
        role = next;
    }
    role = c.resources[r].role;
    while (role != c.resources[r].next_role) {
        const Role next = next_step(role, c.resources[r].next_role);
        if (!role_step(role, next, r, chosen, false)) break;
        role = next;
    }
    Resource& after = c.resources[r];
    if (after.flags.blocked) {
        // no recurring monitors
    } else if (after.next_role != Role::stopped || !after.flags.managed) {
        ActIdx start = chosen != kNone ? rsc_action(c, r, "start", chosen, true) : kNone;
        recurring(r, start, chosen);
    }
    Resource& fin = c.resources[r];
    const bool partial_elsewhere =
        fin.partial_migration_target != kNone && (chosen == kNone || fin.partial_migration_target != chosen);
    if (partial_elsewhere || !is_moving || !fin.flags.managed || fin.flags.failed ||
        fin.flags.start_pending || (current != kNone && c.nodes[current].unclean) ||
        fin.next_role < Role::started)
        allow_migrate = false;
    if (allow_migrate) migration(r, current, chosen);
}

void ActionMaker::group(RscIdx r)
{
    for (RscIdx ch : std::vector<RscIdx>(c.resources[r].children))
        create(ch);
    pseudo_action(c, r, "start", true);
    pseudo_action(c, r, "running", true);
    pseudo_action(c, r, "stop", true);
    pseudo_action(c, r, "stopped", true);
    RscIdx cl = c.clone_of(r);
    if (cl != kNone && c.resources[cl].flags.promotable) {
        pseudo_action(c, r, "demote", true);
        pseudo_action(c, r, "demoted", true);
        pseudo_action(c, r, "promote", true);
        pseudo_action(c, r, "promoted", true);
    }
}

void instance_status(const Cluster& c, RscIdx r, bool& stopping, bool& starting, bool& active)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.children.empty()) {
        for (RscIdx ch : rsc.children)
            instance_status(c, ch, stopping, starting, active);
        return;
    }
    if (!rsc.running_on.empty()) active = true;
    for (ActIdx a : rsc.actions) {
        const Action& act = c.actions[a];
        if (starting && stopping) return;
        if (act.optional()) continue;
        if (!(act.flags & (kActPseudo | kActRunnable))) continue;
        if (act.task == "stop")
            stopping = true;
        else if (act.task == "start" && act.runnable())
            starting = true;
    }
}

void promotable_status(const Cluster& c, RscIdx r, bool& demoting, bool& promoting)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.children.empty()) {
        for (RscIdx ch : rsc.children)
            promotable_status(c, ch, demoting, promoting);
        return;
    }
    for (ActIdx a : rsc.actions) {
        const Action& act = c.actions[a];
        if (act.optional()) continue;
        if (!(act.flags & (kActPseudo | kActRunnable))) continue;
        if (act.task == "demote")
            demoting = true;
        else if (act.task == "promote")
            promoting = true;
    }
}

void ActionMaker::clone(RscIdx r)
{
    bool active = false, starting = false, stopping = false, restarting = false;
    for (RscIdx ch : std::vector<RscIdx>(c.resources[r].children)) {
        create(ch);
        bool s1 = false, s2 = false;
        instance_status(c, ch, s1, s2, active);
        stopping = stopping || s1;
        starting = starting || s2;
        restarting = restarting || (s1 && s2);
    }
    ActIdx start = pseudo_action(c, r, "start", !starting);
    ActIdx running = rsc_action(c, r, "running", kNone, !starting);
    c.actions[running].flags |= kActPseudo;
    c.actions[running].flags &= ~kActRunnable;
    c.actions[running].priority = kInfinity;
    if (active || starting) c.actions[running].flags |= kActRunnable;
    (void)start;
    create_clone_notifications(c, r, "start");
    ActIdx stop = pseudo_action(c, r, "stop", !stopping);
    ActIdx stopped = pseudo_action(c, r, "stopped", !stopping);
    c.actions[stopped].priority = kInfinity;
    // (Observed: the clone's stop is migratable unless an instance both stops and starts,
    // in place or on another node.)
    if (!restarting) c.actions[stop].flags |= kActMigrateRunnable;
    create_clone_notifications(c, r, "stop");
    if (c.resources[r].flags.ordered) {
        std::vector<RscIdx> kids = c.resources[r].children;
        ActIdx last_stop = kNone, last_start = kNone;
        for (RscIdx ch : kids) {
            auto stops = rsc_actions(c, ch, "stop", kNone, true);
            auto starts = rsc_actions(c, ch, "start", kNone, true);
            ActIdx s = stops.empty() ? kNone : stops.front();
            ActIdx st = starts.empty() ? kNone : starts.front();
            if (s != kNone && last_stop != kNone) c.order(s, last_stop, kOrderOptional);
            if (st != kNone && last_start != kNone) c.order(last_start, st, kOrderOptional);
            last_stop = s;
            last_start = st;
        }
    }
    if (c.resources[r].flags.promotable) {
        bool demoting = false, promoting = false;
        for (RscIdx ch : c.resources[r].children)
            promotable_status(c, ch, demoting, promoting);
        ActIdx promote = pseudo_action(c, r, "promote", !promoting);
        ActIdx promoted = pseudo_action(c, r, "promoted", !promoting);
        c.actions[promoted].priority = kInfinity;
        create_clone_notifications(c, r, "promote");
        ActIdx demote = pseudo_action(c, r, "demote", !demoting);
        ActIdx demoted = pseudo_action(c, r, "demoted", !demoting);
        c.actions[demoted].priority = kInfinity;
        create_clone_notifications(c, r, "demote");
        (void)promote;
        (void)demote;
    }
}

void ActionMaker::create(RscIdx r)
{
    switch (c.resources[r].kind) {
        case RscKind::primitive:
            primitive(r);
            break;
        case RscKind::group:
            group(r);
            break;
        case RscKind::clone:
            clone(r);
            break;
    }
}

// Resources without a node: stops required, starts and recurring monitors unrunnable
// (what assignment does to the actions that exist by then).
void ActionMaker::history_actions()
{
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        Resource& rsc = c.resources[r];
        if (!rsc.is_primitive() || rsc.assigned != kNone || rsc.flags.provisional) continue;
        for (ActIdx a : rsc.actions) {
            Action& act = c.actions[a];
            if (act.task == "stop") {
                act.flags &= ~kActOptional;
            } else if (act.task == "start" || act.interval_ms > 0) {
                act.flags &= ~kActRunnable;
            }
        }
    }
}

}  // namespace

void create_actions(Cluster& c)
{
    ActionMaker m{c};
    m.history_actions();
    for (RscIdx r : std::vector<RscIdx>(c.top))
        m.create(r);
}

}  // namespace outpost::cluster::policy
