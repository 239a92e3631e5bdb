// Clone notifications (notify=true), as crm_simulate 2.1.5 shows them (docs/policy.md,
// "Clone notifications"):
//
// N1  Each clone action X of a clone with notify=true (start, stop, and for promotable clones
//     promote and demote) gets four pseudo actions, created right after X and its completion
//     Xdone: <clone>_pre_notify_X_0, <clone>_confirmed-pre_notify_X_0,
//     <clone>_post_notify_Xdone_0 and <clone>_confirmed-post_notify_Xdone_0, ordered
//     pre -> confirmed-pre -> X, Xdone -> post, confirmed-pre -> post -> confirmed-post.
//     Orderings of other resources after Xdone use confirmed-post (orderings.cpp).
// N2  Where the clone orders Ydone before X (stopped and demoted before start, demoted before
//     stop, running, stopped and demoted before promote), confirmed-post of Y comes before
//     pre of X.
// N3  Once the transition is decided, a required and runnable X notifies, on its node, every
//     instance active before X (pre) and every instance active after it (post):
//       demote: active now / active now;   stop: active now / active now but not stopping;
//       start: active now but not stopping / active at the end;
//       promote: active at the end / active at the end.
//     "Active now" leaves out instances on lost (unclean or offline) nodes.
// N4  A new recurring monitor of an instance that gets a post-notification waits for that
//     notification's confirmation, on whichever node the monitor is: also one issued again
//     on a restarted guest the instance moves away from.
// N5  Fencing a node where an instance with notify=true runs notifies the instances that stay
//     active elsewhere of the stop fencing implies: <instance>_post_notify_stonith_0 after the
//     fencing, the notifications, then <instance>_confirmed-post_notify_stonith_0. "Stay
//     active" is judged when the fencing is scheduled: no stop required yet (a restart made
//     required by orderings later still counts) and none implied by an earlier fencing.
// N7  A start, promote or demote no instance can perform notifies nobody (its pseudo
//     actions stay); a stop notifies even then.
// N8  An instance active on several nodes is notified on each where "active now" counts;
//     there a stop implied by fencing (a guest to be reset) leaves out only the last node.
// N9  A required clone action that cannot run, with an instance's action required on a
//     node, has its four notification pseudo actions required and unrunnable too (they
//     show in the dot graph, docs/policy.md V2).
#include <algorithm>

#include "policy/actions.hpp"

namespace outpost::cluster::policy {

namespace {

const char* done_of(std::string_view task)
{
    if (task == "start") return "running";
    if (task == "stop") return "stopped";
    if (task == "promote") return "promoted";
    return "demoted";
}

ActIdx notify_pseudo(Cluster& c, RscIdx clone, const std::string& key, const char* task, bool optional,
                     std::string_view type, std::string_view key_type, std::string_view op,
                     std::string_view key_op)
{
    ActIdx a = c.make_action(clone, key, task, kNone, optional);
    Action& act = c.actions[a];
    act.flags |= kActPseudo | kActRunnable | kActNotify;
    act.set_meta("notify_type", std::string(type));
    act.set_meta("notify_operation", std::string(op));
    act.set_meta("notify_key_type", std::string(key_type));
    act.set_meta("notify_key_operation", std::string(key_op));
    return a;
}

struct NotifyOps {
    ActIdx action = kNone;
    ActIdx pre = kNone;
    ActIdx confirmed_pre = kNone;
    ActIdx post = kNone;
    ActIdx confirmed_post = kNone;
};

NotifyOps find_notify_ops(const Cluster& c, RscIdx clone, std::string_view task)
{
    const std::string& id = c.resources[clone].id;
    const std::string done = done_of(task);
    NotifyOps n;
    n.action = c.find_action(clone, op_key(id, task, 0), kNone);
    n.pre = c.find_action(clone, id + "_pre_notify_" + std::string(task) + "_0", kNone);
    n.confirmed_pre = c.find_action(clone, id + "_confirmed-pre_notify_" + std::string(task) + "_0", kNone);
    n.post = c.find_action(clone, id + "_post_notify_" + done + "_0", kNone);
    n.confirmed_post = c.find_action(clone, id + "_confirmed-post_notify_" + done + "_0", kNone);
    return n;
}

bool required_runnable(const Cluster& c, ActIdx a)
{
    return a != kNone && !c.actions[a].optional() && c.actions[a].runnable();
}

// The required, runnable action `task` of primitive r (on `node` if given), or kNone.
ActIdx live_action(const Cluster& c, RscIdx r, std::string_view task, NodeIdx node)
{
    for (ActIdx a : c.resources[r].actions) {
        const Action& act = c.actions[a];
        if (act.task != task || act.interval_ms != 0) continue;
        if (node != kNone && act.node != node) continue;
        if (required_runnable(c, a)) return a;
    }
    return kNone;
}

// Where an instance (a primitive) stands for notifications.
struct ActiveOn {
    NodeIdx node = kNone;
    bool stopping = false;
};
struct InstanceState {
    std::vector<ActiveOn> now;  // active now on nodes that can be notified (N8: every one)
    NodeIdx after = kNone;      // active at the end of the transition
};

InstanceState instance_state(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    InstanceState s;
    bool stays = false;
    for (const NodeIdx n : rsc.running_on) {
        const Node& node = c.nodes[n];
        const ActIdx stop = live_action(c, r, "stop", n);
        // Not on a node being fenced (its stop is implied, nothing runs there); a remote
        // node whose fencing was revoked (its connection comes back elsewhere) is notified
        // (rnd-s42-c9-3), a guest whose container is recovered is not. N8: of an instance
        // active on several nodes only the stop on the last is judged implied: a guest to
        // be reset before it is still notified (rnd-s363-c4-5).
        const bool guest_reset = node.kind == NodeKind::guest && node.remote_requires_reset;
        const bool implied = guest_reset || (stop != kNone && c.actions[stop].pseudo());
        if (!node.online || node.unclean || (implied && n == rsc.running_on.back())) continue;
        s.now.push_back({n, stop != kNone});
        stays = stays || (n == rsc.assigned && stop == kNone);
    }
    if (rsc.assigned != kNone && rsc.next_role != Role::stopped) {
        if (stays || live_action(c, r, "start", rsc.assigned) != kNone) s.after = rsc.assigned;
    }
    return s;
}

// One instance notification (found or created) with the ordering around it.
ActIdx instance_notify(Cluster& c, RscIdx r, NodeIdx node, std::string_view type, std::string_view op,
                       std::string_view key_op, ActIdx before, ActIdx after)
{
    ActIdx a = c.make_action(r, notify_key(c.resources[r].id, type, op), "notify", node, false);
    Action& act = c.actions[a];
    if (act.meta_value("notify_type") == nullptr) {
        act.flags |= kActNotify;
        act.set_meta("notify_type", std::string(type));
        act.set_meta("notify_operation", std::string(op));
        act.set_meta("notify_key_type", std::string(type));
        act.set_meta("notify_key_operation", std::string(key_op));
        if (type == "post") act.priority = kInfinity;  // still sent when the transition aborts
        init_runnable(c, a, true);
    }
    c.order(before, a, kOrderOptional);
    c.order(a, after, kOrderOptional);
    return a;
}

void leaves_of_instances(const Cluster& c, RscIdx clone, std::vector<RscIdx>& out)
{
    for (RscIdx ch : c.resources[clone].children)
        c.leaves(ch, out);
}

}  // namespace

void create_clone_notifications(Cluster& c, RscIdx clone, std::string_view task)
{
    const Resource& rsc = c.resources[clone];
    if (!rsc.is_clone() || !rsc.flags.notify) return;
    const std::string done = done_of(task);
    const ActIdx action = c.find_action(clone, op_key(rsc.id, task, 0), kNone);
    const ActIdx complete = c.find_action(clone, op_key(rsc.id, done, 0), kNone);
    if (action == kNone || complete == kNone) return;
    // Optional until the transition is decided (finish_clone_notifications).
    const bool optional = true;
    const std::string id = rsc.id;
    const std::string t(task);
    // N1
    ActIdx pre =
        notify_pseudo(c, clone, id + "_pre_notify_" + t + "_0", "notify", optional, "pre", "pre", t, t);
    ActIdx cpre = notify_pseudo(c, clone, id + "_confirmed-pre_notify_" + t + "_0", "notified", optional,
                                "pre", "confirmed-pre", t, t);
    ActIdx post = notify_pseudo(c, clone, id + "_post_notify_" + done + "_0", "notify", optional, "post",
                                "post", t, done);
    ActIdx cpost = notify_pseudo(c, clone, id + "_confirmed-post_notify_" + done + "_0", "notified", optional,
                                 "post", "confirmed-post", t, done);
    c.actions[post].priority = kInfinity;
    c.actions[cpost].priority = kInfinity;
    // The post-notifications are required with the completion (so what is ordered after
    // the confirmation follows) and unrunnable with it; the pre-notifications are decided
    // with the transition (finish_clone_notifications).
    c.order(pre, cpre, kOrderOptional);
    c.order(cpre, action, kOrderOptional);
    c.order(complete, post, kOrderOptional | kOrderImpliesThen | kOrderRunnableLeft);
    c.order(cpre, post, kOrderOptional);
    c.order(post, cpost, kOrderOptional | kOrderImpliesThen | kOrderRunnableLeft);
    // N2: with the notifications of the tasks created before this one.
    static constexpr std::pair<const char*, const char*> kBefore[] = {
        {"stop", "start"},    {"demote", "start"}, {"demote", "stop"},
        {"start", "promote"}, {"stop", "promote"}, {"demote", "promote"},
    };
    for (const auto& [first, then] : kBefore) {
        if (first != task && then != task) continue;
        NotifyOps f = find_notify_ops(c, clone, first);
        NotifyOps s = find_notify_ops(c, clone, then);
        if (f.confirmed_post != kNone && s.pre != kNone) c.order(f.confirmed_post, s.pre, kOrderOptional);
    }
}

namespace {

// N4 for the notifications of stops implied by fencing (N5): the new recurring monitors of
// each notified instance wait for the confirmation too.
void order_monitors_after_fenced_stop_notifications(Cluster& c)
{
    const auto count = static_cast<ActIdx>(c.actions.size());
    for (ActIdx confirmed = 0; confirmed < count; ++confirmed) {
        const Action& ca = c.actions[confirmed];
        if (ca.task != "notified" || ca.rsc == kNone || !c.resources[ca.rsc].is_primitive()) continue;
        std::vector<ActIdx> notified;
        for (EdgeIdx e : ca.before) {
            const Action& n = c.actions[c.edges[e].first];
            if (n.task == "notify" && !n.pseudo() && n.node != kNone) notified.push_back(c.edges[e].first);
        }
        for (ActIdx n : notified) {
            const RscIdx j = c.actions[n].rsc;
            const NodeIdx node = c.actions[n].node;
            for (ActIdx a : std::vector<ActIdx>(c.resources[j].actions)) {
                const Action& act = c.actions[a];
                if (act.task == "monitor" && act.interval_ms > 0 && act.node == node &&
                    required_runnable(c, a))
                    c.order(confirmed, a, kOrderOptional);
            }
        }
    }
}

}  // namespace

void finish_clone_notifications(Cluster& c)
{
    order_monitors_after_fenced_stop_notifications(c);
    for (RscIdx clone = 0; clone < c.resources.size(); ++clone) {
        const Resource& rsc = c.resources[clone];
        if (!rsc.is_clone() || !rsc.flags.notify) continue;
        std::vector<RscIdx> instances;
        leaves_of_instances(c, clone, instances);
        std::vector<InstanceState> states;
        states.reserve(instances.size());
        for (RscIdx r : instances)
            states.push_back(instance_state(c, r));
        for (const char* task : {"start", "stop", "promote", "demote"}) {
            NotifyOps n = find_notify_ops(c, clone, task);
            if (n.pre == kNone) continue;
            // N9: a required clone action that cannot run has required notifications that
            // cannot run either when an instance's action is required on a node (observed in
            // crm_simulate's dot graph: drawn dashed red; not when no instance has one).
            const auto instance_required = [&] {
                return std::any_of(instances.begin(), instances.end(), [&](RscIdx r) {
                    return std::any_of(c.resources[r].actions.begin(), c.resources[r].actions.end(),
                                       [&](ActIdx a) {
                                           return c.actions[a].task == task && c.actions[a].node != kNone &&
                                                  !c.actions[a].optional();
                                       });
                });
            };
            if (n.action != kNone && !c.actions[n.action].optional() && !c.actions[n.action].runnable() &&
                instance_required()) {
                for (ActIdx a : {n.pre, n.confirmed_pre, n.post, n.confirmed_post})
                    c.actions[a].flags &= ~(kActOptional | kActRunnable);
                continue;
            }
            if (!required_runnable(c, n.action)) continue;
            for (ActIdx a : {n.pre, n.confirmed_pre, n.post, n.confirmed_post})
                c.set_required(a);
            const std::string_view t = task;
            // N7: a start, promote or demote no instance performs (their instance actions
            // all unrunnable, e.g. a start on a remote node whose connection cannot start)
            // keeps its pseudo actions but notifies nobody (rnd-s48-c2-8); a stop always
            // notifies (rnd-s20-c5-4: the only stop is on a node gone).
            const bool performed = std::any_of(instances.begin(), instances.end(), [&](RscIdx r) {
                return live_action(c, r, task, kNone) != kNone;
            });
            if (!performed && t != "stop") continue;
            for (std::size_t i = 0; i < instances.size(); ++i) {
                const RscIdx r = instances[i];
                const InstanceState& s = states[i];
                std::vector<NodeIdx> pre_nodes;
                std::vector<NodeIdx> post_nodes;
                if (t == "promote") {
                    if (s.after != kNone) pre_nodes = post_nodes = {s.after};
                } else if (t == "start") {
                    for (const ActiveOn& on : s.now)
                        if (!on.stopping) pre_nodes.push_back(on.node);
                    if (s.after != kNone) post_nodes = {s.after};
                } else {
                    // demote: every node active now, both times; stop: those not stopping after.
                    for (const ActiveOn& on : s.now) {
                        pre_nodes.push_back(on.node);
                        if (t == "demote" || !on.stopping) post_nodes.push_back(on.node);
                    }
                }
                // N3
                for (const NodeIdx node : pre_nodes)
                    instance_notify(c, r, node, "pre", t, t, n.pre, n.confirmed_pre);
                for (const NodeIdx node : post_nodes)
                    instance_notify(c, r, node, "post", t, done_of(task), n.post, n.confirmed_post);
                // N4: every new recurring monitor of the instance, wherever it runs: also the
                // one issued again on a restarted guest the instance leaves (rnd-s102-c7-6).
                if (post_nodes.empty()) continue;
                for (ActIdx a : std::vector<ActIdx>(c.resources[r].actions)) {
                    const Action& act = c.actions[a];
                    if (act.task == "monitor" && act.interval_ms > 0 && act.node != kNone &&
                        required_runnable(c, a))
                        c.order(n.confirmed_post, a, kOrderOptional);
                }
            }
        }
    }
}

void notify_fenced_stop(Cluster& c, RscIdx r, ActIdx fence)
{
    const Resource& rsc = c.resources[r];
    const RscIdx clone = c.clone_of(r);
    if (!rsc.is_primitive() || !rsc.flags.notify || clone == kNone) return;
    const NodeIdx target = c.actions[fence].node;
    // N5
    ActIdx post = notify_pseudo(c, r, notify_key(rsc.id, "post", "stonith"), "notify", false, "post", "post",
                                "stop", "stonith");
    ActIdx confirmed = notify_pseudo(c, r, notify_key(rsc.id, "confirmed-post", "stonith"), "notified", false,
                                     "post", "confirmed-post", "stop", "stonith");
    c.actions[post].priority = kInfinity;
    c.actions[confirmed].priority = kInfinity;
    c.order(fence, post, kOrderOptional);
    c.order(post, confirmed, kOrderOptional);
    std::vector<RscIdx> siblings;
    leaves_of_instances(c, clone, siblings);
    for (RscIdx j : siblings) {
        if (j == r || c.resources[j].base_id != rsc.base_id) continue;
        // Active on a node up, not the fenced one, whose stop there is neither implied by a
        // fencing handled before (pseudo) nor required yet: before propagation, so a
        // restart that only becomes required later is notified, on a node about to be
        // fenced too (rnd-s16-c7-5).
        const Resource& rj = c.resources[j];
        if (rj.running_on.empty()) continue;
        const NodeIdx on = rj.running_on.front();
        if (on == target || !c.nodes[on].online) continue;
        const auto stops = rsc_actions(c, j, "stop", on, false);
        const bool skip = std::any_of(stops.begin(), stops.end(), [&](ActIdx x) {
            const Action& stop = c.actions[x];
            return stop.pseudo() || !(stop.flags & kActOptional);
        });
        if (skip) continue;
        ActIdx a = c.make_action(j, notify_key(c.resources[j].id, "post", "stop"), "notify", on, false);
        Action& act = c.actions[a];
        act.flags |= kActNotify;
        act.set_meta("notify_type", "post");
        act.set_meta("notify_operation", "stop");
        act.set_meta("notify_key_type", "post");
        act.set_meta("notify_key_operation", "stonith");
        act.priority = kInfinity;
        init_runnable(c, a, true);
        c.order(post, a, kOrderOptional);
        c.order(a, confirmed, kOrderOptional);
    }
}

}  // namespace outpost::cluster::policy
