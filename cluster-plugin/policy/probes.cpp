// Resource discovery (rules 39-42): a probe (monitor, interval 0) of every resource on
// every node where its state is unknown, with the remote and guest node exceptions, and
// the orderings that make starts wait for probes.
#include <algorithm>

#include "policy/actions.hpp"

namespace outpost::cluster::policy {

namespace {

bool contains_guest_node(const Cluster& c, RscIdx r)
{
    for (RscIdx f : c.resources[r].fillers) {
        if (c.resources[f].flags.is_remote_connection) return true;
    }
    return false;
}

std::uint8_t discover_mode(const Resource& r, NodeIdx n)
{
    for (const auto& [node, mode] : r.discover) {
        if (node == n) return mode;
    }
    return 0;
}

bool known_on(const Resource& r, NodeIdx n)
{
    return std::find(r.known_on.begin(), r.known_on.end(), n) != r.known_on.end();
}

struct Prober {
    Cluster& c;
    bool probe(RscIdx r, NodeIdx n);
    bool probe_primitive(RscIdx r, NodeIdx n);
};

bool Prober::probe(RscIdx r, NodeIdx n)
{
    const Resource& rsc = c.resources[r];
    const Node& node = c.nodes[n];
    if (node.is_remote_class()) {
        if (rsc.is_primitive() && rsc.flags.fence_device) return false;
        if (node.kind == NodeKind::guest && contains_guest_node(c, r)) return false;
        if (rsc.is_primitive() && rsc.flags.is_remote_connection) return false;
    }
    if (rsc.is_clone()) {
        if (rsc.exclusive_discover) {
            auto s = rsc.allowed.get(n, node.is_remote_class());
            if (s && discover_mode(rsc, n) != 2) return false;
        }
        if (rsc.children.empty()) return false;
        if (rsc.flags.unique) {
            bool any = false;
            for (RscIdx ch : rsc.children)
                any = probe(ch, n) || any;
            return any;
        }
        // Anonymous: probe one instance (the one known there, or to run there, or the first).
        RscIdx child = kNone;
        for (RscIdx ch : rsc.children) {
            if (known_on(c.resources[ch], n)) {
                child = ch;
                break;
            }
        }
        if (child == kNone) {
            for (RscIdx ch : rsc.children) {
                std::vector<RscIdx> leaves;
                c.leaves(ch, leaves);
                NodeIdx where = kNone;
                bool single = true;
                for (RscIdx l : leaves) {
                    NodeIdx a = c.resources[l].assigned;
                    if (a == kNone) continue;
                    if (where != kNone && where != a) single = false;
                    where = a;
                }
                if (single && where == n) {
                    child = ch;
                    break;
                }
            }
        }
        if (child == kNone) {
            std::vector<RscIdx> kids = rsc.children;
            std::sort(kids.begin(), kids.end(),
                      [&](RscIdx a, RscIdx b) { return c.resources[a].id < c.resources[b].id; });
            child = kids.front();
        }
        return probe(child, n);
    }
    if (rsc.is_group()) {
        bool any = false;
        for (RscIdx ch : rsc.children)
            any = probe(ch, n) || any;
        return any;
    }
    return probe_primitive(r, n);
}

bool Prober::probe_primitive(RscIdx r, NodeIdx n)
{
    const Resource& rsc = c.resources[r];
    const Node& node = c.nodes[n];
    if (rsc.container != kNone && !rsc.flags.is_remote_connection) return false;
    if (rsc.flags.orphan) return false;
    if (known_on(rsc, n)) return false;
    const RscIdx top = c.top_of(r);
    const auto allowed = rsc.allowed.get(n, node.is_remote_class());
    if (rsc.exclusive_discover || c.resources[top].exclusive_discover) {
        if (!allowed) return false;
        if (discover_mode(rsc, n) != 2) return false;
    }
    if (allowed && discover_mode(rsc, n) == 1) return false;
    if (node.kind == NodeKind::guest) {
        const RscIdx remote = c.resources[node.remote_rsc].container;
        const Resource& cont = c.resources[remote];
        if (cont.role == Role::stopped) {
            // Rule 41: nothing inside a stopped container can be running.
            if (cont.assigned != kNone && !known_on(cont, cont.assigned))
                order_tasks(c, remote, "monitor", top, "start", kOrderOptional);
            return false;
        }
        if (node.remote_requires_reset || node.unclean || cont.flags.failed ||
            cont.next_role == Role::stopped ||
            (cont.assigned != kNone && std::find(cont.running_on.begin(), cont.running_on.end(),
                                                 cont.assigned) == cont.running_on.end())) {
            order_tasks(c, remote, "stop", top, "start", kOrderOptional);
            return false;
        }
    }
    const ActIdx unfence = unfence_before_probe(c, r, n);  // UF2
    ActIdx probe = rsc_action(c, r, "monitor", n, false, 0);
    c.actions[probe].flags &= ~kActOptional;
    if (unfence != kNone) c.order(unfence, probe, kOrderOptional);
    const bool running = std::find(rsc.running_on.begin(), rsc.running_on.end(), n) != rsc.running_on.end();
    if (!running) {
        c.actions[probe].set_meta("op_target_rc", "7");
    } else if (rsc.role == Role::promoted) {
        c.actions[probe].set_meta("op_target_rc", "8");
    }
    const RscIdx then = c.resources[top].is_clone() ? top : r;
    std::uint32_t flags = kOrderOptional;
    if (!c.actions[probe].runnable() && rsc.running_on.empty()) flags |= kOrderRunnableLeft;
    order_action_then_task(c, probe, then, "start", flags);
    order_spec(c, kNone, {}, 0, probe, then, "reload", 0, kNone, kOrderOptional);
    return true;
}

}  // namespace

namespace {

// Which top-level resources can be probed where, so that the work is proportional to the
// probes rather than to nodes x resources: a resource with exclusive discovery only on its
// exclusive nodes; guest containers, connections and fence devices never on Pacemaker
// Remote nodes.
struct ProbeCandidates {
    std::vector<RscIdx> on_members;                     // top resources in order
    std::vector<RscIdx> on_remote;                      // probed on remote nodes
    std::vector<RscIdx> on_guests;                      // probed on guest nodes
    std::vector<std::vector<std::uint32_t>> exclusive;  // per node: positions in c.top
    std::vector<std::uint32_t> position;                // per resource: position in c.top

    explicit ProbeCandidates(const Cluster& c) : exclusive(c.nodes.size()), position(c.resources.size())
    {
        for (std::uint32_t pos = 0; pos < c.top.size(); ++pos) {
            const RscIdx r = c.top[pos];
            position[r] = pos;
            const Resource& rsc = c.resources[r];
            if (rsc.exclusive_discover) {
                std::vector<NodeIdx> nodes;
                collect_exclusive(c, r, nodes);
                std::sort(nodes.begin(), nodes.end());
                nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
                for (NodeIdx n : nodes)
                    exclusive[n].push_back(pos);
                continue;
            }
            on_members.push_back(r);
            const bool primitive = rsc.is_primitive();
            if (primitive && (rsc.flags.fence_device || rsc.flags.is_remote_connection)) continue;
            on_remote.push_back(r);
            if (!contains_guest_node(c, r)) on_guests.push_back(r);
        }
    }

    static void collect_exclusive(const Cluster& c, RscIdx r, std::vector<NodeIdx>& out)
    {
        for (const auto& [n, mode] : c.resources[r].discover) {
            if (mode == 2) out.push_back(n);
        }
        for (RscIdx ch : c.resources[r].children)
            collect_exclusive(c, ch, out);
    }

    // The candidates for one node, in c.top order (a merge of two ordered lists).
    void for_node(const Cluster& c, NodeIdx n, std::vector<RscIdx>& out) const
    {
        const Node& node = c.nodes[n];
        const std::vector<RscIdx>& general =
            !node.is_remote_class() ? on_members : (node.kind == NodeKind::guest ? on_guests : on_remote);
        out.clear();
        std::size_t e = 0;
        for (RscIdx r : general) {
            while (e < exclusive[n].size() && exclusive[n][e] < position[r])
                out.push_back(c.top[exclusive[n][e++]]);
            out.push_back(r);
        }
        while (e < exclusive[n].size())
            out.push_back(c.top[exclusive[n][e++]]);
    }
};

}  // namespace

void create_probes(Cluster& c)
{
    Prober p{c};
    const ProbeCandidates candidates(c);
    auto probes_node = [&](const Node& node) {
        if (!node.online || node.unclean || !node.rsc_discovery_enabled) return false;
        std::string_view probed = node.attr("probe_complete");
        if (!probed.empty() && !(probed == "true" || probed == "yes" || probed == "1" || probed == "on"))
            return false;
        return c.options.startup_probes;
    };
    // I2: where any node is probed, every clone's instances go back in instance order (as
    // created), even a clone not probed there (exclusive discovery elsewhere): the actions,
    // the graph and the summary follow that order, else the one assignment sorted them in.
    if (std::any_of(c.node_order.begin(), c.node_order.end(),
                    [&](NodeIdx n) { return probes_node(c.nodes[n]); })) {
        for (Resource& rsc : c.resources) {
            if (rsc.is_clone()) std::sort(rsc.children.begin(), rsc.children.end());
        }
    }
    std::vector<RscIdx> tops;
    for (NodeIdx n : c.node_order) {
        Node& node = c.nodes[n];
        if (!node.online) {
            // Rule 39: an offline remote node with a failed connection is fenced.
            if (node.kind == NodeKind::remote && connection_failed(c, n))
                fence_node(c, n, "the connection is unrecoverable", false);
            continue;
        }
        if (!probes_node(node)) continue;
        candidates.for_node(c, n, tops);
        for (RscIdx r : tops)
            p.probe(r, n);
    }
}

}  // namespace outpost::cluster::policy

namespace outpost::cluster::policy {

// P1 (observed from crm_simulate 2.1.5): a probe of A comes before the stops (demotes) of
// every other primitive whose start (promotion) a start of A requires, however far down the
// chain: along orderings that carry requirement (implies-then), and from a group's or
// clone's own action to its members' (to the paired instance only, for an interleaved
// clone), so the probe is done before anything that restarts because of A does. The walk
// does not go up from a group's member to the group's own action (P1b: with "g then X", a
// probe of g's member is not ordered before X's stop; rnd-s3-c9-1, rnd-s6-c3-1).
class RestartWalk {
public:
    explicit RestartWalk(Cluster& c) : c_(c), seen_(c.actions.size(), 0) {}

    void from_probe(ActIdx probe)
    {
        probe_ = probe;
        ++mark_;
        for (EdgeIdx e : std::vector<EdgeIdx>(c_.actions[probe].after)) {
            if (c_.edges[e].flags != kOrderNone) visit(c_.edges[e].then);
        }
    }

private:
    Cluster& c_;
    std::vector<std::uint32_t> seen_;  // per action: the walk that saw it last
    std::uint32_t mark_ = 0;
    ActIdx probe_ = kNone;

    void visit(ActIdx a)
    {
        if (seen_[a] == mark_) return;
        seen_[a] = mark_;
        const RscIdx probed = c_.actions[probe_].rsc;
        const RscIdx r = c_.actions[a].rsc;
        if (r != kNone && c_.resources[r].is_primitive() && r != probed) {
            const std::string_view task = c_.actions[a].task;
            const char* undo = task == "start" ? "stop" : task == "promote" ? "demote" : nullptr;
            // P2: not the stops of one that is not to run again (its start unassigned).
            if (undo && c_.resources[r].assigned != kNone) {
                for (ActIdx u : rsc_actions(c_, r, undo, kNone, true)) {
                    if (!c_.actions[u].pseudo()) c_.order(probe_, u, kOrderOptional);
                }
            }
        }
        RscIdx paired = kNone;
        const bool interleaved = r != kNone && c_.resources[r].is_clone() && c_.resources[r].flags.interleave;
        if (interleaved) paired = find_compatible_instance(c_, probed, r, std::nullopt, false);
        for (EdgeIdx e : std::vector<EdgeIdx>(c_.actions[a].after)) {
            const Edge edge = c_.edges[e];
            if (edge.flags == kOrderNone) continue;
            // Never up from a member to its group's action: crm_simulate does not order a
            // member's probe before the stops of what requires the group (P1b).
            const RscIdx up = c_.actions[edge.then].rsc;
            if (r != kNone && up != kNone && c_.resources[r].parent == up && c_.resources[up].is_group())
                continue;
            // Nor up from another clone instance to its clone's action: a container's probe
            // reaches the instances in its guest, not what requires their clone (P1c,
            // rnd-s17-c2-8); the probed instance's own step up stays.
            if (r != kNone && r != probed && up != kNone && c_.resources[r].parent == up &&
                c_.resources[up].is_clone())
                continue;
            const bool own = r != kNone && !c_.resources[r].is_primitive() && c_.actions[edge.then].rsc == r;
            if (!own && !(edge.flags & (kOrderImpliesThen | kOrderImpliesThenPrinted))) {
                // Down from a collective's action to its members' only.
                if (r == kNone || c_.resources[r].is_primitive() || c_.resources[probed].parent == r)
                    continue;
                const RscIdx member = c_.actions[edge.then].rsc;
                if (member == kNone || c_.resources[member].is_clone() || c_.resources[member].parent != r)
                    continue;
                if (interleaved && member != paired) continue;
            }
            visit(edge.then);
        }
    }
};

// For every ordering "A stop then X", A's probes also come before X (a probe that finds A
// running must not race with what depends on A being stopped).
void order_probes(Cluster& c)
{
    const std::size_t count = c.orderings.size();
    // "A stop then B stop" where B's stop forces A's (implies-first, or a restart link as
    // between a group's members): B's probes come before A's stop too, but only when A is to
    // run again (P2, observed: not when A is disabled or has no node left, even where its
    // start exists unassigned as the first of another ordering; rnd-s59-c5-7).
    for (std::size_t i = 0; i < count; ++i) {
        const Ordering o = c.orderings[i];
        if (o.first_rsc == kNone || o.then_rsc == kNone || o.first_rsc == o.then_rsc) continue;
        if (o.first_action != kNone || o.then_action != kNone) continue;
        if (o.first_task != "stop" || o.then_task != "stop" || o.first_interval != 0 || o.then_interval != 0)
            continue;
        if (!(o.flags & (kOrderImpliesFirst | kOrderRestart))) continue;
        if (!c.resources[o.first_rsc].is_primitive() || !c.resources[o.then_rsc].is_primitive()) continue;
        if (c.resources[o.first_rsc].assigned == kNone) continue;
        auto stops = rsc_actions(c, o.first_rsc, "stop", kNone, true);
        // P2b (observed): as the orderings were kept between the actions: one dropped for an
        // earlier ordering of the same two stops that shares a flag with it (`p3 then p2`
        // optional, then mandatory) orders no probe (rnd-s456-c3-1).
        const bool kept = std::any_of(stops.begin(), stops.end(), [&](ActIdx s) {
            return std::any_of(c.actions[s].after.begin(), c.actions[s].after.end(), [&](EdgeIdx e) {
                const Edge& edge = c.edges[e];
                return c.actions[edge.then].rsc == o.then_rsc && c.actions[edge.then].task == "stop" &&
                       (edge.flags & (kOrderImpliesFirst | kOrderRestart)) != 0;
            });
        });
        if (!kept) continue;
        auto probes = rsc_actions(c, o.then_rsc, "monitor", kNone, true);
        for (ActIdx p : probes) {
            for (ActIdx s : stops) {
                if (!c.actions[s].pseudo()) c.order(p, s, kOrderOptional);
            }
        }
    }
    // P1 before the orderings below add their own successors to probes.
    RestartWalk walk(c);
    for (ActIdx a = 0; a < c.actions.size(); ++a) {
        const Action& act = c.actions[a];
        if (act.task != "monitor" || act.interval_ms != 0 || act.rsc == kNone || act.pseudo()) continue;
        if (!c.resources[act.rsc].is_primitive()) continue;
        walk.from_probe(a);
    }
    // In a group, every member's probes come before the stops of the members after it.
    for (const Resource& g : c.resources) {
        if (!g.is_group()) continue;
        for (std::size_t i = 0; i < g.children.size(); ++i) {
            auto probes = rsc_actions(c, g.children[i], "monitor", kNone, true);
            if (probes.empty()) continue;
            for (std::size_t j = i + 1; j < g.children.size(); ++j) {
                for (ActIdx s : rsc_actions(c, g.children[j], "stop", kNone, true)) {
                    if (c.actions[s].pseudo()) continue;
                    for (ActIdx p : probes)
                        c.order(p, s, kOrderOptional);
                }
            }
        }
    }
    for (std::size_t i = 0; i < count; ++i) {
        const Ordering o = c.orderings[i];
        if (o.flags == kOrderNone) continue;
        if (o.first_rsc == kNone || o.first_rsc == o.then_rsc) continue;
        if (o.first_action != kNone) {
            if (c.actions[o.first_action].task != "stop") continue;
        } else if (o.first_task != "stop" || o.first_interval != 0) {
            continue;
        }
        if (o.then_rsc != kNone && c.resources[o.first_rsc].container == o.then_rsc) {
            if (o.then_action != kNone ? c.actions[o.then_action].task == "stop" : o.then_task == "stop")
                continue;
        }
        std::uint32_t type = kOrderOptional;
        if (o.flags & kOrderApplyFirstNonMigratable) type |= kOrderApplyFirstNonMigratable;
        if (o.flags & kOrderSameNode) type |= kOrderSameNode;
        if (o.flags == kOrderLoad) type = kOrderLoad;  // (utilization.hpp U6)
        auto probes = rsc_actions(c, o.first_rsc, "monitor", kNone, true);
        if (probes.empty()) continue;
        std::vector<ActIdx> thens;
        if (o.then_action != kNone) {
            thens.push_back(o.then_action);
        } else if (o.then_rsc != kNone) {
            const Resource& tr = c.resources[o.then_rsc];
            auto it = tr.actions_by_key.find(op_key(tr.id, o.then_task, o.then_interval));
            if (it == tr.actions_by_key.end()) continue;
            thens = it->second;
        }
        for (ActIdx p : probes) {
            for (ActIdx t : thens) {
                const Action& ta = c.actions[t];
                const Action& pa = c.actions[p];
                if (ta.task == "do_shutdown" && pa.node != kNone && ta.node != kNone && pa.node != ta.node)
                    continue;
                // (Probes on a node come after its unfencing, never before: UF5.)
                if (ta.task == "stonith" && ta.fence_action == "on" && pa.node != kNone && pa.node == ta.node)
                    continue;
                c.order(p, t, type);
            }
        }
    }
}

}  // namespace outpost::cluster::policy
