// Requirement and runnability travel along orderings until nothing changes: a required
// "first" may make "then" required (implies-then), a required "then" may make "first"
// required (implies-first), an unrunnable "first" makes "then" unrunnable (runnable-left),
// a required start of an active resource makes its stop required (restart). Orderings that
// involve a collective act on its instances (interleaved clones pair instances by node).
//
// O1 (observed from crm_simulate 2.1.5): a clone's action in an ordering counts as required
// for the other side only through its instances on that side's node (a primitive's node; a
// group's start: the node its members are assigned to, its stop: where they run), so a new
// or recovering instance elsewhere restarts nothing ordered after the clone.
// O1b (observed): neither an instance's action nor the clone's own stop makes the first
// required. So with `c2 then p`, an instance of c2 that stops on p's node or moves away
// from it leaves p running, while one that restarts there restarts p through the start
// side ("due to required c2 running").
//
// The order in which actions and their inputs are examined is Pacemaker's (newest first,
// depth first on every change): which change happens first decides the reason a summary
// line gives ("due to required X start").
#include <algorithm>

#include <cstdio>
#include <cstdlib>

#include "policy/actions.hpp"

namespace outpost::cluster::policy {

namespace {

struct Propagator {
    Cluster& c;
    int depth = 0;
    // The second pass (update_actions) examines each action again for the collectives'
    // summaries that changed in passing (O5c).
    bool catch_up = false;
    // Actions an inhibited instance changed (O11), examined once its pairing was again
    // (with a flag still to clear then: a group instance's own, after its members').
    std::vector<std::pair<ActIdx, std::uint32_t>> inhibited;
    // Starts O10 blocked: only their inputs are examined then, not what follows them (O10d).
    std::vector<bool> blocked_quietly;

    // Re-examine a changed action's successors (and the action itself).
    void after_changed(ActIdx a)
    {
        std::vector<EdgeIdx> after = c.actions[a].after;
        // O14: an ordering swapped to a collective's completion runs from that completion
        // only once its then has been examined (rnd-s158-c8-3: a clone's notification
        // changing does not reach p4's stop through `p4 then c` before p4's stop is
        // examined), and from the action ordered throughout (rnd-s305-c2-5).
        std::erase_if(after, [&](EdgeIdx e) { return c.edges[e].remapped; });
        if (const auto& swapped = c.actions[a].remapped_after; !swapped.empty()) {
            after.insert(after.end(), swapped.begin(), swapped.end());
            std::sort(after.begin(), after.end());
        }
        for (auto it = after.rbegin(); it != after.rend(); ++it)
            update(c.edges[*it].then);
    }
    void push(ActIdx a) { update(a); }
    void push_after(ActIdx a)
    {
        after_changed(a);
        update(a);
    }

    std::uint32_t flags_for(ActIdx a, NodeIdx node);
    std::uint32_t ordering_flags(ActIdx a, NodeIdx node);
    void update(ActIdx then);
    // Returns {then changed, first changed}.
    std::pair<bool, bool> update_pair(ActIdx first, ActIdx then, NodeIdx node, std::uint32_t first_flags,
                                      std::uint32_t type);
    std::pair<bool, bool> native_update(ActIdx first, ActIdx then, std::uint32_t first_flags,
                                        std::uint32_t type);
    bool interleave(ActIdx first, ActIdx then);
    // A stop that cannot run, of a resource that is blocked and unmanaged.
    [[nodiscard]] bool blocked_stop(ActIdx a) const;
    std::pair<bool, bool> interleave_update(ActIdx first, ActIdx then, NodeIdx node, std::uint32_t type);
    void set_flag_reason(ActIdx action, ActIdx reason, std::uint32_t flag, bool clear);
    // O10 (observed, "due to colocation with X"): once a resource's own start cannot run,
    // nor can the starts of what is colocated with it at INFINITY.
    void block_colocation_dependents(ActIdx a);
    void block_dependent(RscIdx r, const std::string& reason, bool member = false);
    // O11: an interleaved instance with no partner to follow is unassigned.
    bool inhibit(RscIdx r);  // true if it was assigned
    // O5c: in the catch-up pass, an action examined for itself (not for a change) skips
    // what another resource's collective action (not a notification) says: its
    // requirement may have come in passing, through its instances, which Pacemaker does not
    // show what follows it again.
    [[nodiscard]] bool passing_summary(ActIdx first, ActIdx then) const;
};

bool Propagator::passing_summary(ActIdx first, ActIdx then) const
{
    const Action& f = c.actions[first];
    const Action& t = c.actions[then];
    if (f.rsc == kNone || t.rsc == kNone || c.resources[f.rsc].is_primitive()) return false;
    if (f.task == "notify" || f.task == "notified") return false;
    return c.top_of(f.rsc) != c.top_of(t.rsc);
}

const char* child_task(std::string_view task)
{
    if (task == "stopped" || task == "stop") return "stop";
    if (task == "running" || task == "start") return "start";
    if (task == "promoted" || task == "promote") return "promote";
    if (task == "demoted" || task == "demote") return "demote";
    if (task == "notified" || task == "notify") return "notify";
    return nullptr;
}

ActIdx first_child_action(const Cluster& c, RscIdx child, std::string_view task, NodeIdx node)
{
    const Resource& r = c.resources[child];
    for (ActIdx a : r.actions) {
        const Action& act = c.actions[a];
        if (act.task != task) continue;
        if (node != kNone && act.node != node) continue;
        return a;
    }
    return kNone;
}

// G6 (observed): a group's own action counts as required for showing the collective's
// action before it when a member's is (a clone of groups: `cl_stop_0` before `g:0_stop_0`).
// (For showing only: requirement itself reaches the group's action through its members'
// orderings, which keeps the reasons the summary gives.)
bool group_member_required(const Cluster& c, ActIdx a)
{
    const Action& act = c.actions[a];
    if (act.rsc == kNone || !c.resources[act.rsc].is_group()) return false;
    const char* task = child_task(act.task);
    if (!task) return false;
    return std::any_of(c.resources[act.rsc].children.begin(), c.resources[act.rsc].children.end(),
                       [&](RscIdx ch) {
                           const ActIdx ca = first_child_action(c, ch, task, kNone);
                           return ca != kNone && !c.actions[ca].optional();
                       });
}

// The node an action of an ordering stands for (O1): its own; for a group's start the node
// its members are assigned to (none if they are not all on one).
NodeIdx ordering_node(const Cluster& c, ActIdx a)
{
    const Action& act = c.actions[a];
    if (act.rsc == kNone || !c.resources[act.rsc].is_group()) return act.node;
    const bool stop = act.task == "stop" || act.task == "stopped";
    if (act.task != "start" && !stop) return act.node;
    NodeIdx node = kNone;
    for (RscIdx member : c.resources[act.rsc].children) {
        const auto& running = c.resources[member].running_on;
        const NodeIdx m = stop ? (running.size() == 1 ? running[0] : kNone) : c.resources[member].assigned;
        if (m == kNone) continue;
        if (node != kNone && m != node) return kNone;
        node = m;
    }
    return node;
}

// Pacemaker's "required/unrunnable <rsc> <task>" reason for a flag changed by another action.
void Propagator::set_flag_reason(ActIdx action, ActIdx reason, std::uint32_t flag, bool clear)
{
    Action& a = c.actions[action];
    bool changed = false;
    if (clear) {
        if (a.flags & flag) {
            a.flags &= ~flag;
            changed = true;
        }
    } else if (!(a.flags & flag)) {
        a.flags |= flag;
        changed = true;
    }
    if (!changed) return;  // a reason is recorded only when the flag changes
    if (const char* watch = std::getenv("OUTPOST_DEBUG_FLAG"); watch && a.key == watch)
        (void)std::fprintf(stderr, "[flag] %s %s%x by %s\n", a.key.c_str(), clear ? "-" : "+", flag,
                           reason == kNone ? "-" : c.actions[reason].key.c_str());
    const char* change = nullptr;
    bool overwrite = false;
    if (flag == kActRunnable)
        change = "unrunnable";
    else if (flag == kActOptional)
        change = "required";
    else if (flag == kActMigrateRunnable) {
        change = "unrunnable";
        overwrite = true;
    }
    if (!change || reason == kNone) return;
    const Action& r = c.actions[reason];
    if (a.rsc == r.rsc) return;
    if (!a.reason.empty() && !overwrite) return;
    // (An action of no resource is named by its task: "unrunnable one-or-more:set1".)
    a.reason = std::string(change) + (r.rsc == kNone ? "" : " " + c.resources[r.rsc].id) + " " + r.task;
}

// A clone's flags as seen from a node: requirement is node-specific, but an action that is
// runnable anywhere counts as runnable.
std::uint32_t Propagator::ordering_flags(ActIdx a, NodeIdx node)
{
    const Action& act = c.actions[a];
    if (act.rsc == kNone || !c.resources[act.rsc].is_clone()) return flags_for(a, kNone);
    if (act.task == "notify" || act.task == "notified") {
        // A clone's notification stands for its operation. On a node: required there only
        // if it is itself and an instance's operation there is. To what runs on no node
        // (N10, observed: "Extracted action 'running' from
        // 'c2_confirmed-post_notify_running_0'"): required once any instance's operation
        // is, so `c2 then c` restarts c's instances "due to required c2 notified"
        // (rnd-s356-c9-2).
        std::uint32_t flags = act.flags;
        const std::string* op = act.meta_value("notify_operation");
        const bool decide = node == kNone ? (flags & kActOptional) != 0 : (flags & kActOptional) == 0;
        if (!op || !decide) return flags;
        flags |= kActOptional;
        for (RscIdx ch : c.resources[act.rsc].children) {
            const ActIdx ca = first_child_action(c, ch, *op, c.resources[ch].children.empty() ? node : kNone);
            if (ca != kNone && !(flags_for(ca, node) & kActOptional)) flags &= ~kActOptional;
        }
        return flags;
    }
    if (node == kNone) return flags_for(a, kNone);
    const bool runnable = (flags_for(a, kNone) & kActRunnable) != 0;
    std::uint32_t flags = flags_for(a, node);
    if (runnable) flags |= kActRunnable;
    return flags;
}

std::uint32_t Propagator::flags_for(ActIdx a, NodeIdx node)
{
    Action& act = c.actions[a];
    if (act.rsc == kNone) return act.flags;
    const Resource& rsc = c.resources[act.rsc];
    if (rsc.is_primitive()) return act.flags;
    const char* task = child_task(act.task);
    // (Notification pseudo actions keep their own flags: notify.cpp decides them.)
    if (!task || act.task == "notify" || act.task == "notified") return act.flags;
    std::uint32_t flags = kActOptional | kActRunnable | kActPseudo;
    if (rsc.is_group()) {
        if (!(act.flags & kActOptional)) flags &= ~kActOptional;  // required itself
        // (A group's flags do not depend on the node asking: only a clone's do.)
        for (RscIdx ch : rsc.children) {
            ActIdx ca = first_child_action(c, ch, task, kNone);
            if (ca != kNone) {
                const std::uint32_t cf = flags_for(ca, node);
                // O5b (observed): a required member action makes the group's completion
                // (running, stopped) required in passing, which is no change of it, so its
                // successors are not examined again for it: with `p then g`, gm's stop
                // does not take `g_stopped then g_start` back to p's start ("Restart gm2
                // due to required gm start"). (Not the group's start or stop: that would
                // credit the wrong action in summary reasons, "required g start".)
                if (act.task != task && !(cf & kActOptional)) {
                    flags &= ~kActOptional;
                    act.flags &= ~kActOptional;
                }
                if (act.task != task && (flags & kActRunnable) && !(cf & kActRunnable)) {
                    flags &= ~kActRunnable;
                    act.flags &= ~kActRunnable;
                }
            } else if (std::string_view(task) != "stop" && std::string_view(task) != "demote") {
                flags &= ~kActRunnable;
            }
        }
        return flags;
    }
    // Clone: required if any instance's action is (on `node` when one is asked about: O1),
    // or, asked about no node, if it is itself; runnable if any instance's is.
    if (node == kNone && !(act.flags & kActOptional)) flags &= ~kActOptional;
    bool any_runnable = false;
    for (RscIdx ch : rsc.children) {
        ActIdx ca = first_child_action(c, ch, task, c.resources[ch].children.empty() ? node : kNone);
        if (ca == kNone) continue;
        const std::uint32_t cf = flags_for(ca, node);
        if ((flags & kActOptional) && !(cf & kActOptional)) {
            flags &= ~kActOptional;
            act.flags &= ~kActOptional;
        }
        if (cf & kActRunnable) any_runnable = true;
    }
    if (!any_runnable) {
        flags &= ~kActRunnable;
        if (node == kNone) act.flags &= ~kActRunnable;
    }
    return flags;
}

std::pair<bool, bool> Propagator::native_update(ActIdx first, ActIdx then, std::uint32_t flags,
                                                std::uint32_t type)
{
    Action& f = c.actions[first];
    Action& t = c.actions[then];
    const std::uint32_t then_before = t.flags;
    const std::uint32_t first_before = f.flags;
    if (type & kOrderAsymmetrical) {
        if (t.rsc != kNone) {
            const Resource& tr = c.resources[t.rsc];
            Role state = tr.role;
            if (!tr.is_primitive()) {
                state = Role::stopped;
                std::vector<RscIdx> leaves;
                c.leaves(t.rsc, leaves);
                for (RscIdx l : leaves)
                    state = std::max(state, c.resources[l].role);
            }
            // (Not a stop of what is stopped, nor the start of what runs there already.)
            const bool moot = (state == Role::stopped && t.task == "stop") ||
                              (state >= Role::started && t.task == "start" && t.optional() &&
                               t.node != kNone && tr.running_on.size() == 1 && tr.running_on[0] == t.node);
            if (!moot && !(f.flags & kActRunnable)) t.flags &= ~(kActRunnable | kActOptional);
        }
    }
    // (A stop replaced by a migration does not make what must precede it required.)
    // (Nor does anything make an unmanaged resource's action required, observed: the stop of
    // a blocked resource on a remote node stays optional when the connection must stop.)
    const bool first_managed = f.rsc == kNone || c.resources[f.rsc].flags.managed;
    // (O1c, observed: nor a clone's own action, whose requirement is its instances': with
    // `p2 then c` and p2's node fenced, p2's stop leaves c_stopped optional, so c's start
    // is not reached through it and cr:0 restarts "due to required vm1 start", rnd-s22-c0-8.
    // O12: nor a group's, for the same reason: a stopped group ordered before a required
    // stop has no stopped pseudo action in the graph, rnd-s22-c9-7.)
    const bool first_collective = f.rsc != kNone && !c.resources[f.rsc].is_primitive();
    // (O1d, observed: nor an instance paired with it by interleaving: with `c2 then c`
    // interleaved, c2r:3's stop required on guest2 leaves cr:0's stop there optional
    // ("cr:0_stop_0 then c2r:3_stop_0: unchanged after pe_order_implies_first"), so cr:0
    // restarts "due to required c2r:3 start", rnd-s415-c3-3.)
    const bool paired = (type & kOrderThenInterleave) != 0;
    if ((type & (kOrderImpliesFirst | kOrderImpliesFirstUnmigratable)) && first_managed && !paired &&
        !first_collective && !(t.flags & kActOptional) && !(t.flags & kActMigrateRunnable)) {
        // (Required by what follows it: no reason is recorded, observed: `p then p2 then p3`
        // with p disabled stops p3 "due to required p2 start", its start's reason.)
        if (type & kOrderImpliesFirst) set_flag_reason(first, kNone, kActOptional, true);
        if ((f.flags & kActMigrateRunnable) && !(t.flags & kActMigrateRunnable))
            set_flag_reason(first, then, kActMigrateRunnable, true);
    }
    if ((type & kOrderPromotedImpliesFirst) && !(t.flags & kActOptional) && t.rsc != kNone &&
        c.resources[t.rsc].role == Role::promoted) {
        set_flag_reason(first, then, kActOptional, true);
        if ((f.flags & kActMigrateRunnable) && !(t.flags & kActMigrateRunnable))
            set_flag_reason(first, then, kActMigrateRunnable, true);
    }
    if (type & kOrderImpliesFirstMigratable) {
        if (!(t.flags & kActMigrateRunnable) || !(t.flags & kActRunnable))
            set_flag_reason(first, then, kActRunnable, true);
        if (!(t.flags & kActOptional)) set_flag_reason(first, then, kActOptional, true);
    }
    if ((type & kOrderPseudoLeft) && !(f.flags & kActRunnable)) {
        set_flag_reason(then, first, kActMigrateRunnable, true);
        t.flags &= ~kActPseudo;
    }
    // (Requirement before runnability: a required, unrunnable first names itself as
    // "required" in the reason, observed. But not between the paired instances of
    // interleaved clones: Pacemaker orders those once per flag, runnability first, so an
    // instance inhibited by O11 that must stop gives the next clone's instance "due to
    // unrunnable c2r:2 start", observed.)
    const auto implies_then = [&] {
        if ((type & kOrderImpliesThen) && (t.flags & kActOptional) && !(flags & kActOptional) &&
            !(f.flags & kActMigrateRunnable)) {
            set_flag_reason(then, first, kActOptional, true);
        }
    };
    if (!(type & kOrderThenInterleave)) implies_then();
    if ((type & kOrderRunnableLeft) && (t.flags & kActRunnable) && !(flags & kActRunnable)) {
        set_flag_reason(then, first, kActRunnable, true);
        set_flag_reason(then, first, kActMigrateRunnable, true);
    }
    if (type & kOrderThenInterleave) implies_then();
    if (type & kOrderRestart) {
        // A resource that must restart but cannot start still stops.
        const char* reason = nullptr;
        if (!(t.flags & kActOptional)) reason = "restart";
        if (!(t.flags & kActRunnable) && t.rsc != kNone && c.resources[t.rsc].flags.managed && f.rsc == t.rsc)
            reason = "stop";
        if (reason) {
            if (f.flags & kActRunnable) set_flag_reason(first, then, kActOptional, true);
            if (!(t.flags & kActOptional)) set_flag_reason(first, then, kActOptional, true);
            if (!(t.flags & kActMigrateRunnable)) set_flag_reason(first, then, kActMigrateRunnable, true);
            if (!(f.flags & kActOptional) && !(f.flags & kActRunnable))
                set_flag_reason(then, first, kActRunnable, true);
        }
    }
    const bool then_changed = c.actions[then].flags != then_before;
    const bool first_changed = c.actions[first].flags != first_before;
    // O5 (observed): a clone instance's or group member's changed action is examined again
    // at once (its inputs; its successors only if that changes it again, or through what
    // changes before it, such as its stop): so with `p then g` gm's start changes gm's stop,
    // gm2's stop after it and so gm2's start "due to required gm start" before the ordering
    // reaches gm2, while with gm recovering gm2 is required by p itself.
    if (then_changed && c.actions[then].rsc != kNone && c.resources[c.actions[then].rsc].parent != kNone)
        update(then);
    return {then_changed, first_changed};
}

void Propagator::block_colocation_dependents(ActIdx a)
{
    const Action& act = c.actions[a];
    if (act.runnable() || act.rsc == kNone || act.task != "start") return;
    // (The resource's own start: a clone's pseudo action, an instance's own, a
    // primitive's. A group whose member cannot start still has a runnable start, and one
    // whose own start cannot run blocks nothing through it, observed: rnd-s169-c2-6.)
    if (c.resources[act.rsc].is_group()) return;
    const std::string reason = "colocation with " + c.resources[act.rsc].id;
    // O10e (observed): a clone instance's start that cannot run, while no instance's start
    // can, blocks what is colocated with the clone, in the instance's name ("due to
    // colocation with c2r:3", rnd-s252-c9-4).
    RscIdx primary = act.rsc;
    const RscIdx top = c.top_of(act.rsc);
    if (top != act.rsc && c.resources[top].is_clone()) {
        std::vector<RscIdx> leaves;
        c.leaves(top, leaves);
        for (RscIdx l : leaves) {
            for (ActIdx x : c.resources[l].actions) {
                if (c.actions[x].task == "start" && c.actions[x].runnable()) return;
            }
        }
        primary = top;
    }
    for (std::uint32_t ci : std::vector<std::uint32_t>(c.resources[primary].with_this)) {
        const Colocation& col = c.colocations[ci];
        // (Not a group's own chain: its next member cannot start through their ordering.)
        const RscIdx parent = c.resources[col.dependent].parent;
        if (parent != kNone && parent == c.resources[act.rsc].parent && c.resources[parent].is_group())
            continue;
        if (col.score >= kInfinity) block_dependent(col.dependent, reason);
    }
}

void Propagator::block_dependent(RscIdx r, const std::string& reason, bool member)
{
    // O10b (observed): a collective dependent's members and instances cannot start either,
    // each "due to colocation with" the primary, one at a time and depth first, each then
    // examined for its inputs: a running member that must stop makes its start required,
    // which reaches the next member first ("due to unrunnable gm start"). A member's own
    // colocation dependents (the group's next member) are not blocked through it.
    for (ActIdx a : std::vector<ActIdx>(c.resources[r].actions)) {
        Action& act = c.actions[a];
        if (!act.runnable() || act.task != "start") continue;
        act.flags &= ~kActRunnable;
        if (blocked_quietly.size() <= a) blocked_quietly.resize(c.actions.size());
        blocked_quietly[a] = true;
        if (act.reason.empty()) act.reason = reason;
        if (!member) block_colocation_dependents(a);
        update(a);
    }
    for (RscIdx child : std::vector<RscIdx>(c.resources[r].children))
        block_dependent(child, reason, true);
}

// O11 (observed, crm_simulate 2.1.5: "Inhibiting c2r:0 from being active"): `c then c2`
// (Mandatory, symmetrical) with c2 interleaved pairs each instance of c2 with c's instance
// assigned to its node; an instance of c2 where c has none is unassigned as if it could not
// be placed: it does not start (no summary line: it is stopped and goes nowhere), and one
// that runs there stops. Its clone's start then cannot run if no instance can, which blocks
// what is colocated with the clone (O10). Not through an optional or asymmetrical ordering.
bool Propagator::inhibit(RscIdx r)
{
    // (A group instance's members are; the group itself and its own actions are not, observed.)
    std::vector<RscIdx> members;
    c.leaves(r, members);
    bool assigned = false;
    for (RscIdx m : members)
        assigned = assigned || c.resources[m].assigned != kNone;
    if (!assigned) return false;
    for (RscIdx m : members) {
        release_assignment(c, m);
        Resource& rsc = c.resources[m];
        rsc.next_role = Role::stopped;
        rsc.next_role_reason = "unable to allocate";
        for (ActIdx a : rsc.actions) {
            Action& act = c.actions[a];
            const std::uint32_t before = act.flags;
            if (act.task == "start" || act.task == "promote" ||
                (act.task == "monitor" && act.interval_ms > 0))
                act.flags &= ~kActRunnable;
            else if (act.task == "stop" && !rsc.running_on.empty())
                act.flags &= ~kActOptional;
            if (act.flags != before) inhibited.emplace_back(a, 0);
        }
    }
    // A group instance whose members stop is itself stopped and started again (its own
    // actions are required as its members' are, observed: the clone's show in the graph).
    bool active = false;
    for (RscIdx m : members)
        active = active || !c.resources[m].running_on.empty();
    if (!c.resources[r].is_primitive() && active) {
        for (ActIdx a : c.resources[r].actions) {
            const Action& act = c.actions[a];
            if (act.task == "stop" || act.task == "start") inhibited.emplace_back(a, kActOptional);
        }
    }
    return true;
}

bool Propagator::blocked_stop(ActIdx a) const
{
    const Action& act = c.actions[a];
    if (act.task != "stop" || act.runnable() || act.rsc == kNone) return false;
    const Resource& r = c.resources[act.rsc];
    return r.flags.blocked && !r.flags.managed;
}

bool Propagator::interleave(ActIdx first, ActIdx then)
{
    const Action& f = c.actions[first];
    const Action& t = c.actions[then];
    if (f.rsc == kNone || t.rsc == kNone || f.rsc == t.rsc) return false;
    if (!c.resources[f.rsc].is_clone() || !c.resources[t.rsc].is_clone()) return false;
    const bool use_first = t.key.size() >= 7 && (t.task == "stop" || t.task == "demote");
    const Resource& r = c.resources[use_first ? f.rsc : t.rsc];
    return r.flags.interleave;
}

std::pair<bool, bool> Propagator::interleave_update(ActIdx first, ActIdx then, NodeIdx node,
                                                    std::uint32_t type)
{
    bool tc = false, fc = false;
    const Action fa = c.actions[first];
    const Action ta = c.actions[then];
    const auto ends_with = [](const std::string& key, std::string_view end) {
        return key.size() >= end.size() && key.compare(key.size() - end.size(), end.size(), end) == 0;
    };
    // (By the key, as Pacemaker decides: a first clone's confirmed notification stands for
    // its operation, so `c2_confirmed-post_notify_running_0` pairs its instances' starts.)
    const bool current = ends_with(fa.key, "_stopped_0") || ends_with(fa.key, "_demoted_0");
    const char* ftask = child_task(fa.task);
    if ((fa.task == "notified" || fa.task == "notify") && (fa.flags & kActNotify)) {
        const std::string* op = fa.meta_value("notify_operation");
        ftask = op ? child_task(*op) : nullptr;
    }
    if (!ftask) return {false, false};
    for (RscIdx then_child : std::vector<RscIdx>(c.resources[ta.rsc].children)) {
        RscIdx first_child = find_compatible_instance(c, then_child, fa.rsc, std::nullopt, current);
        if (first_child == kNone) {
            // O11: through an ordering that carries the first's start or promotion (not its
            // stop or demotion: those pair by where instances run now), an instance with no
            // partner on its node cannot be active at all.
            // (The pairing is then examined again: the unassigned instance pairs with the
            // best partner its allowed nodes offer, observed, and is required through it.)
            if (!current && (type & (kOrderImpliesThen | kOrderRunnableLeft)) != 0 && inhibit(then_child))
                tc = true;
            continue;
        }
        // The instance actions (a group instance uses its own pseudo actions).
        ActIdx fact = first_child_action(c, first_child, ftask, node);
        ActIdx tact = first_child_action(c, then_child, ta.task, node);
        if (fact == kNone || tact == kNone) continue;
        const std::uint32_t pair_type = type == kOrderNone ? type : type | kOrderThenInterleave;
        if (c.order(fact, tact, pair_type)) tc = fc = true;
        auto [t2, f2] = native_update(fact, tact, flags_for(fact, node), pair_type);
        tc = tc || t2;
        fc = fc || f2;
    }
    return {tc, fc};
}

std::pair<bool, bool> Propagator::update_pair(ActIdx first, ActIdx then, NodeIdx node,
                                              std::uint32_t first_flags, std::uint32_t type)
{
    const Action& t = c.actions[then];
    if (t.rsc == kNone || c.resources[t.rsc].is_primitive())
        return native_update(first, then, first_flags, type);
    // (A collective's notification pseudo actions are ordered with the instances' own
    // notifications explicitly: notify.cpp.)
    if (t.task == "notify" || t.task == "notified") return native_update(first, then, first_flags, type);
    const Resource& tr = c.resources[t.rsc];
    if (tr.is_clone() && interleave(first, then)) return interleave_update(first, then, node, type);
    // (O1b: a clone's stop, required or not, does not make the first's stop required.)
    auto result =
        native_update(first, then, first_flags, tr.is_clone() ? (type & ~kOrderImpliesFirst) : type);
    // Every instance of a (non-interleaved) clone follows the first; group members follow
    // on the first's node (a start: O6 below). What makes the first required is the
    // collective's own action alone (O1b above), never an instance's.
    constexpr std::uint32_t kAffectsFirst = kOrderImpliesFirst | kOrderImpliesFirstUnmigratable |
                                            kOrderImpliesFirstMigratable | kOrderPromotedImpliesFirst |
                                            kOrderImpliesFirstPrinted | kOrderRestart;
    // O6 (observed): a group's start reaches every member in turn, on whatever node the
    // first runs, each change examined at once (O5) before the next member: so `p then g`
    // restarts gm "due to required p start" and gm2 "due to required gm start" (reached
    // through gm's change first), but with gm recovering gm2 "due to required p start", and
    // with gm2 recovering gm3 "due to required p start" too (rnd-s22-c9-8, rnd-s18-c3-1).
    // O6b: so a first on no node (a clone's notification) makes every member's start
    // unrunnable itself, "due to unrunnable c2 notified" (rnd-s15-c0-7).
    const bool group_start = tr.is_group() && c.actions[then].task == "start";
    for (RscIdx ch : std::vector<RscIdx>(tr.children)) {
        ActIdx ca =
            first_child_action(c, ch, c.actions[then].task, tr.is_clone() || group_start ? kNone : node);
        if (ca == kNone) continue;
        const bool same_node = node == kNone || c.actions[ca].node == kNone || c.actions[ca].node == node;
        if (!same_node) {
            const ActIdx on_node = first_child_action(c, ch, c.actions[then].task, node);
            if (on_node != kNone) continue;  // that one is handled instead
        }
        if (tr.is_clone() && !(flags_for(ca, node) & kActRunnable)) continue;
        const std::uint32_t member_type = type & ~kAffectsFirst;
        if (member_type == 0) continue;
        auto [tc, fc] = update_pair(first, ca, node, first_flags, member_type);
        // (A group's start: its members' successors are not examined for the change, O6.)
        if (tc && !group_start) after_changed(ca);
        if (fc) result.second = true;
    }
    return result;
}

void Propagator::update(ActIdx then)
{
    if (++depth > 100000) {
        --depth;
        return;
    }
    bool then_changed = false;
    const bool was_runnable = c.actions[then].runnable();
    // An action that needs any one of its one-or-more inputs (require-all=false).
    const bool requires_any = (c.actions[then].flags & kActRequiresAny) != 0;
    bool any_runnable = false;
    const std::vector<EdgeIdx> inputs = c.actions[then].before;
    for (auto it = inputs.rbegin(); it != inputs.rend(); ++it) {
        const EdgeIdx e = *it;
        const Edge edge = c.edges[e];
        if (edge.flags == kOrderNone) continue;
        const ActIdx first = edge.first;
        if (catch_up && depth == 1 && passing_summary(first, then)) continue;
        // O10d (observed): a start O10 blocked reaches a primitive's action that follows it
        // only if that is examined afterwards anyway; the second pass does not carry it on
        // (a recurring monitor examined before stays in the graph, with the blocked start
        // as its input: rnd-s158-c9-5). A collective's actions follow their instances'.
        if (catch_up && depth == 1 && !requires_any && first < blocked_quietly.size() &&
            blocked_quietly[first] && c.actions[then].rsc != kNone &&
            c.resources[c.actions[then].rsc].is_primitive())
            continue;
        const NodeIdx then_node = ordering_node(c, then);
        const NodeIdx first_node = ordering_node(c, first);
        if ((edge.flags & kOrderSameNode) && first_node != kNone && then_node != kNone &&
            first_node != then_node) {
            c.edges[e].flags = kOrderNone;
            continue;
        }
        if ((edge.flags & kOrderThenCancelsFirst) && !c.actions[then].optional())
            c.actions[first].flags |= kActOptional;
        const std::uint32_t first_flags = ordering_flags(first, then_node);
        const std::uint32_t then_flags = ordering_flags(then, first_node);
        if (requires_any && (edge.flags & kOrderOneOrMore) && (first_flags & kActRunnable))
            any_runnable = true;
        // O14 (observed): Pacemaker puts a collective's completion in the place of its
        // action ordered ("Ordering p4_stop_0 after c_stopped_0 instead of c_stop_0") only
        // when it first examines the ordering, and counts that as a change of then: its
        // successors are examined again at once, before the actions after it in the list
        // (`p4 then c`: remote1's stop and start before p3's, rnd-s154-c1-5).
        // O14b (observed): that examination applies nothing through the ordering: then's
        // other inputs come first, and the completion only when then is examined again for
        // the change. With `p then c2` and `c then c2`, c's instances recovering (so
        // c_running required) and p recovering, c2r restarts "due to required p start"
        // (rnd-s177-c2-6).
        if (edge.remapped) {
            c.edges[e].remapped = false;
            // (Made now: the newest ordering of both its actions.)
            for (auto* list : {&c.actions[first].after, &c.actions[then].before}) {
                std::erase(*list, e);
                list->push_back(e);
            }
            then_changed = true;
            continue;
        }
        // Collective pseudo actions show in the graph when an instance's action is required.
        if ((edge.flags & kOrderImpliesThenPrinted) && !(first_flags & kActOptional))
            c.actions[then].flags |= kActPrintAlways;
        if ((edge.flags & kOrderImpliesFirstPrinted) &&
            (!(then_flags & kActOptional) || group_member_required(c, then)))
            c.actions[first].flags |= kActPrintAlways;
        auto [tc, fc] = update_pair(first, then, first_node, first_flags, edge.flags);
        then_changed = then_changed || tc;
        // (Observed: through an ordering that carries requirement either way, what follows
        // a blocked, unmanaged resource's stop that cannot run cannot run either: `p then
        // p2` with p2 blocked leaves p's stop blocked. Not through an optional ordering
        // (rnd-s13-c3-3) nor one that only preserves order (a resource on a guest before
        // its connection's stop, rnd-s8-c4-8).)
        if ((edge.flags & (kOrderImpliesFirst | kOrderImpliesFirstUnmigratable | kOrderImpliesThen)) != 0 &&
            blocked_stop(first) && c.actions[then].runnable()) {
            set_flag_reason(then, kNone, kActRunnable, true);
            then_changed = true;
        }
        if (fc) {
            after_changed(first);
            update(first);
        }
    }
    if (requires_any && !any_runnable && c.actions[then].runnable()) {
        c.actions[then].flags &= ~kActRunnable;
        then_changed = true;
    }
    // RS1 (observed, "Re-processing X and its 'after' actions"): an action its inputs
    // changed is examined again itself first, then what follows it (a first that changed:
    // what follows it first, above). With O14b's swap that decides reasons: c_start made
    // required by g_running before its instances are examined (rnd-s161-c6-5).
    if (then_changed) {
        update(then);
        after_changed(then);
    }
    if (!inhibited.empty()) {
        // (O11's changes, in order: the members' stops first, the last member's first, as
        // Pacemaker examines them, so that each member's start is required by its own stop,
        // not by the member before it, observed: no reason on "Stop gb:2"; then the rest;
        // a group instance's own actions last.)
        auto pending = std::move(inhibited);
        inhibited.clear();
        const auto stops = std::stable_partition(pending.begin(), pending.end(), [&](const auto& p) {
            return p.second == 0 && c.actions[p.first].task == "stop";
        });
        std::reverse(pending.begin(), stops);
        for (auto [a, flag] : pending) {
            if (flag != 0 && !(c.actions[a].flags & flag)) continue;
            c.actions[a].flags &= ~flag;
            push_after(a);
        }
    }
    // (After what follows it was examined: their own reasons come first, observed.)
    if (was_runnable && !c.actions[then].runnable()) block_colocation_dependents(then);
    --depth;
}

}  // namespace

void update_actions(Cluster& c)
{
    Propagator p{c, 0, false, {}, {}};
    // O10c (observed): once the orderings are made, every start that cannot run already
    // blocks what is colocated with it (O10), before any ordering is examined: a blocked
    // primary whose start an ordering made (unassigned, so it cannot run) stops its
    // dependents, "due to colocation with p2" (rnd-s245-c6-4).
    for (std::size_t i = c.actions.size(); i-- > 0;)
        p.block_colocation_dependents(static_cast<ActIdx>(i));
    // Pacemaker's action list is newest first.
    for (std::size_t i = c.actions.size(); i-- > 0;)
        p.update(static_cast<ActIdx>(i));
    // A collective's summary flags can change while its instances are examined, after its
    // successors were: a second pass carries those changes on (but O5c).
    p.catch_up = true;
    for (std::size_t i = c.actions.size(); i-- > 0;)
        p.update(static_cast<ActIdx>(i));
}

}  // namespace outpost::cluster::policy
