// Placement: node scores from location constraints, stickiness and failures, colocations
// (with score merging along colocation chains), and assignment of primitives, groups,
// clones and promotable clones to nodes. Connections are assigned first (rule 33).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "policy/actions.hpp"
#include "policy/rules.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

namespace {

// Marks a node that merging found unusable (Pacemaker's INFINITY_HACK).
constexpr Score kUnusable = -100000000;

bool cls(const Cluster& c, NodeIdx n)
{
    return c.nodes[n].is_remote_class();
}

template <typename F>
void for_each_allowed(const Cluster& c, const NodeScores& s, F&& f)
{
    for (NodeIdx n : c.node_order) {
        auto v = s.get(n, cls(c, n));
        if (v) f(n, *v);
    }
}

// Node able to host resources at all (pcmk__node_available without score).
bool can_run(const Cluster& c, NodeIdx n)
{
    const Node& node = c.nodes[n];
    return node.online && !node.shutdown && !node.unclean && !node.standby && !node.maintenance;
}

// Pacemaker's node order for assignment (utilization.hpp U5): negative if a comes before b.
// key_*: the node's score, -INFINITY where it cannot run resources.
int compare_nodes(const Cluster& c, NodeIdx a, Score key_a, NodeIdx b, Score key_b, NodeIdx preferred)
{
    if (key_a != key_b) return key_a > key_b ? -1 : 1;
    const PlacementStrategy strategy = c.options.strategy;
    if (strategy != PlacementStrategy::minimal) {
        if (strategy == PlacementStrategy::balanced) {
            const int r = compare_capacities(c.nodes[a].utilization, c.nodes[b].utilization);
            if (r != 0) return r < 0 ? -1 : 1;
        }
        if (c.nodes[a].assigned_count != c.nodes[b].assigned_count)
            return c.nodes[a].assigned_count < c.nodes[b].assigned_count ? -1 : 1;
        if (preferred != kNone && a != b) {
            if (a == preferred) return -1;
            if (b == preferred) return 1;
        }
    }
    const int r = std::strcmp(c.nodes[a].name.c_str(), c.nodes[b].name.c_str());
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

// Whether s scores some node for which `usable` holds non-negative.
template <typename Usable>
bool any_usable(const Cluster& c, const NodeScores& s, Usable usable)
{
    for (const auto& e : s.entries()) {
        if (e.score >= 0 && usable(e.node)) return true;  // kDisallowed is negative
    }
    for (int k = 0; k < 2; ++k) {
        const auto& d = s.class_default(k == 1);
        if (!d || *d < 0) continue;
        for (NodeIdx n : c.node_order) {
            if (cls(c, n) != (k == 1) || s.find(n) >= 0) continue;
            if (usable(n)) return true;
        }
    }
    return false;
}

bool any_available(const Cluster& c, const NodeScores& s)
{
    return any_usable(c, s, [&](NodeIdx n) { return can_run(c, n); });
}

void add_all(NodeScores& s, Score score)
{
    for (int k = 0; k < 2; ++k) {
        const auto& d = s.class_default(k == 1);
        s.set_class_default(k == 1, add_scores(d.value_or(0), score));
    }
    for (auto& e : s.entries())
        e.score = e.score == NodeScores::kDisallowed ? score : add_scores(e.score, score);
}

// crm_simulate -s lines: the table of a resource (and of each of its descendants).
void log_scores(Cluster& c, const char* fn, RscIdx r, const NodeScores& s)
{
    if (!c.show_scores) return;
    for_each_allowed(c, s, [&](NodeIdx n, Score v) {
        c.score_lines.push_back(
            {ScoreLine::Kind::allocation, fn, c.resources[r].id, c.nodes[n].name, score_text(v), {}});
    });
    for (RscIdx ch : c.resources[r].children)
        log_scores(c, fn, ch, c.resources[ch].allowed);
}

}  // namespace

void resource_location(Cluster& c, RscIdx r, NodeIdx node, Score score)
{
    Resource& rsc = c.resources[r];
    if (node == kNone) {
        add_all(rsc.allowed, score);
    } else {
        rsc.allowed.add(node, cls(c, node), score);
    }
    for (RscIdx ch : rsc.children)
        resource_location(c, ch, node, score);
}

namespace {

NodeIdx instance_node(const Cluster& c, RscIdx inst, bool current)
{
    const Resource& r = c.resources[inst];
    if (current) return r.running_on.size() == 1 ? r.running_on.front() : kNone;
    if (r.is_primitive()) return r.assigned;
    NodeIdx where = kNone;
    for (RscIdx ch : r.children) {
        NodeIdx n = instance_node(c, ch, false);
        if (n == kNone) continue;
        if (where == kNone)
            where = n;
        else if (where != n)
            return kNone;
    }
    return where;
}

Role instance_role(const Cluster& c, RscIdx inst, bool current)
{
    const Resource& r = c.resources[inst];
    if (r.is_primitive()) return current ? r.role : r.next_role;
    Role role = Role::unknown;
    for (RscIdx ch : r.children)
        role = std::max(role, instance_role(c, ch, current));
    return role;
}

}  // namespace

RscIdx find_compatible_instance(const Cluster& c, RscIdx local, RscIdx clone, std::optional<Role> filter,
                                bool current)
{
    auto by_node = [&](NodeIdx node) -> RscIdx {
        for (RscIdx child : c.resources[clone].children) {
            if (filter && instance_role(c, child, current) != *filter) continue;
            if (instance_node(c, child, current) == node) return child;
        }
        return kNone;
    };
    const NodeIdx local_node = instance_node(c, local, current);
    if (local_node != kNone) return by_node(local_node);
    // Otherwise the best of the instance's allowed nodes that has a partner.
    std::vector<std::pair<NodeIdx, Score>> nodes;
    const Resource& lr = c.resources[local];
    for (NodeIdx n : c.node_order) {
        auto sc = lr.allowed.get(n, c.nodes[n].is_remote_class());
        if (sc) nodes.emplace_back(n, can_run(c, n) ? *sc : -kInfinity);
    }
    std::stable_sort(nodes.begin(), nodes.end(), [&](const auto& a, const auto& b) {
        return compare_nodes(c, a.first, a.second, b.first, b.second, kNone) < 0;
    });
    for (const auto& [n, sc] : nodes) {
        RscIdx pair = by_node(n);
        if (pair != kNone) return pair;
    }
    return kNone;
}

NodeIdx current_node(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    return rsc.running_on.empty() ? kNone : rsc.running_on.front();
}

NodeIdx active_node(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (rsc.running_on.empty()) return kNone;
    const auto& on = rsc.running_on;
    if (rsc.partial_migration_source != kNone &&
        std::find(on.begin(), on.end(), rsc.partial_migration_source) != on.end())
        return rsc.partial_migration_source;
    // (Observed: its stop on an unclean node is implied by the fence, and without needing
    // fencing the resource is taken to be where it is still reachable.)
    if (!needs_fencing_requires(rsc)) {
        auto clean = std::find_if(on.begin(), on.end(), [&](NodeIdx n) { return !c.nodes[n].unclean; });
        if (clean != on.end()) return *clean;
    }
    return on.front();
}

void release_assignment(Cluster& c, RscIdx r)
{
    Resource& rsc = c.resources[r];
    if (rsc.assigned == kNone) return;
    Node& n = c.nodes[rsc.assigned];
    --n.assigned_count;
    release_capacity(n.utilization, rsc.utilization);
    rsc.assigned = kNone;
}

// ---------------------------------------------------------------------------------------
// Node criteria
// ---------------------------------------------------------------------------------------

namespace {

// A location constraint on a resource: primitives and clones take the score (clones for
// every instance too); a group takes it, its first member takes it, and the other members
// of a collocated group only become allowed there (score 0).
void location_apply(Cluster& c, RscIdx r, NodeIdx n, Score score, bool set_mode, std::uint8_t mode)
{
    Resource& rsc = c.resources[r];
    rsc.allowed.add(n, c.nodes[n].is_remote_class(), score);
    if (set_mode) {
        bool found = false;
        for (auto& [node, m] : rsc.discover) {
            if (node == n) {
                m = mode;
                found = true;
            }
        }
        if (!found) rsc.discover.emplace_back(n, mode);
        if (mode == 2) rsc.exclusive_discover = true;
    }
    if (rsc.is_group()) {
        const bool collocated = !(rsc.has_meta("collocated") && !is_true(rsc.meta_value("collocated")));
        bool first = true;
        for (RscIdx ch : rsc.children) {
            location_apply(c, ch, n, first || !collocated ? score : 0, set_mode, mode);
            first = false;
        }
        return;
    }
    for (RscIdx ch : rsc.children)
        location_apply(c, ch, n, score, set_mode, mode);
}

void apply_location(Cluster& c, std::uint32_t li)
{
    const Location& loc = c.locations[li];
    if (loc.role) {
        c.resources[loc.rsc].promoted_locations.push_back(li);
        return;
    }
    std::uint8_t mode = loc.discovery == "never" ? 1 : (loc.discovery == "exclusive" ? 2 : 0);
    auto apply = [&](NodeIdx n, Score score) {
        location_apply(c, loc.rsc, n, score, !loc.discovery.empty(), mode);
    };
    if (loc.has_node) {
        NodeIdx n = c.find_node(loc.node);
        if (n != kNone) apply(n, loc.score);
        return;
    }
    for (const xmlNode* rule : loc.rules) {
        const char* role = xml::attr_c(rule, "role");
        if (role && *role) {
            c.resources[loc.rsc].promoted_locations.push_back(li);
            continue;
        }
        const char* score_attr = xml::attr_c(rule, "score-attribute");
        const Score score = parse_score(xml::attr(rule, "score"));
        for (NodeIdx n : c.node_order) {
            RuleContext ctx = node_context(c, n);
            const Resource& rr = c.resources[loc.rsc];
            ctx.rsc_params = &rr.params;
            ctx.rsc_meta = &rr.meta;
            if (!evaluate_rule(rule, ctx)) continue;
            Score s = score;
            if (score_attr) {
                std::string_view v = c.nodes[n].attr(score_attr);
                s = v.empty() ? 0 : parse_score(v);
            }
            apply(n, s);
        }
    }
}

struct FailCount {
    int count = 0;
    EpochSeconds last_failure = 0;
};

// Rule F1 (observed from crm_simulate 2.1.5): a fail count or last failure is recorded per
// operation ("fail-count-<rsc>#<op>_<interval>") since feature set 3.0.13, per resource
// ("fail-count-<rsc>") before it. Which names count depends on the CIB's crm_feature_set
// (none: older): in an older CIB only the per-resource name does, for every use (the
// migration threshold, clearing a fail count, failure expiry).
bool failcount_name_counts(const Cluster& c, std::string_view rest)
{
    return rest.empty() || (rest[0] == '#' && c.options.per_operation_failcounts);
}

// Fail count of resource `base` (configured id) on node n, from fail-count-* attributes.
FailCount failcount_attr(const Cluster& c, const Node& node, std::string_view base)
{
    FailCount fc;
    const std::string prefix = "fail-count-" + std::string(base);
    for (auto it = node.attrs.lower_bound(prefix); it != node.attrs.end(); ++it) {
        const std::string& k = it->first;
        if (k.compare(0, prefix.size(), prefix) != 0) break;
        if (failcount_name_counts(c, std::string_view(k).substr(prefix.size())))
            fc.count = add_scores(fc.count, parse_score(it->second));
    }
    const std::string lprefix = "last-failure-" + std::string(base);
    for (auto it = node.attrs.lower_bound(lprefix); it != node.attrs.end(); ++it) {
        const std::string& k = it->first;
        if (k.compare(0, lprefix.size(), lprefix) != 0) break;
        if (failcount_name_counts(c, std::string_view(k).substr(lprefix.size()))) {
            fc.last_failure = std::max<EpochSeconds>(fc.last_failure, std::atoll(it->second.c_str()));
        }
    }
    return fc;
}

}  // namespace

// Effective fail count (failure-timeout applied; a container counts its fillers, rule 32).
int effective_failcount(const Cluster& c, RscIdx r, NodeIdx n, EpochSeconds* last_failure)
{
    const Resource& rsc = c.resources[r];
    FailCount fc = failcount_attr(c, c.nodes[n], rsc.base_id);
    if (rsc.failure_timeout_s > 0 && fc.last_failure > 0 && c.now > fc.last_failure + rsc.failure_timeout_s)
        fc.count = 0;
    if (last_failure) *last_failure = fc.last_failure;
    int total = fc.count;
    for (RscIdx f : rsc.fillers) {
        const Resource& fr = c.resources[f];
        FailCount ff = failcount_attr(c, c.nodes[n], fr.base_id);
        if (fr.failure_timeout_s > 0 && ff.last_failure > 0 && c.now > ff.last_failure + fr.failure_timeout_s)
            ff.count = 0;
        total = add_scores(total, ff.count);
    }
    return total;
}

int failcount(const Cluster& c, RscIdx r, NodeIdx n, bool effective, const HistoryOp* op,
              EpochSeconds* last_failure)
{
    const Resource& rsc = c.resources[r];
    const Node& node = c.nodes[n];
    const std::string name = c.in_anonymous_clone(r) ? rsc.base_id : rsc.id;
    std::string suffix;
    if (op) suffix = "#" + std::string(op->task) + "_" + std::to_string(op->interval_ms);
    int count = 0;
    EpochSeconds last = 0;
    auto scan = [&](const std::string& prefix, bool is_count) {
        for (auto it = node.attrs.lower_bound(prefix); it != node.attrs.end(); ++it) {
            const std::string& k = it->first;
            if (k.compare(0, prefix.size(), prefix) != 0) break;
            const std::string_view rest = std::string_view(k).substr(prefix.size());
            if (!failcount_name_counts(c, rest) || (!rest.empty() && !suffix.empty() && rest != suffix))
                continue;
            if (is_count)
                count = add_scores(count, parse_score(it->second));
            else
                last = std::max<EpochSeconds>(last, std::atoll(it->second.c_str()));
        }
    };
    scan("fail-count-" + name, true);
    scan("last-failure-" + name, false);
    if (effective && rsc.failure_timeout_s > 0 && last > 0 && c.now > last + rsc.failure_timeout_s) count = 0;
    if (last_failure) *last_failure = last;
    return count;
}

int own_failcount(const Cluster& c, RscIdx r, NodeIdx n)
{
    const Resource& rsc = c.resources[r];
    FailCount fc = failcount_attr(c, c.nodes[n], rsc.base_id);
    if (rsc.failure_timeout_s > 0 && fc.last_failure > 0 && c.now > fc.last_failure + rsc.failure_timeout_s)
        return 0;
    return fc.count;
}

void apply_node_criteria(Cluster& c)
{
    // Bans found while unpacking history (failed stops, hard errors, on-fail=migrate).
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        for (const auto& [n, reason] : c.resources[r].bans)
            resource_location(c, r, n, -kInfinity);
    }
    for (std::uint32_t i = 0; i < c.locations.size(); ++i)
        apply_location(c, i);
    // A resource discovered exclusively on some nodes may only run there.
    for (Resource& rsc : c.resources) {
        if (!rsc.exclusive_discover) continue;
        std::vector<std::pair<NodeIdx, Score>> keep;
        for (const auto& [n, mode] : rsc.discover) {
            auto v = rsc.allowed.get(n, c.nodes[n].is_remote_class());
            if (mode == 2 && v) keep.emplace_back(n, *v);
        }
        for (int k = 0; k < 2; ++k) {
            if (rsc.allowed.class_default(k == 1)) rsc.allowed.set_class_default(k == 1, -kInfinity);
        }
        for (auto& e : rsc.allowed.entries()) {
            if (e.score != NodeScores::kDisallowed) e.score = -kInfinity;
        }
        for (const auto& [n, v] : keep)
            rsc.allowed.set(n, c.nodes[n].is_remote_class(), v);
    }
    // Nodes by the fail-count attributes they hold ("fail-count-<rsc>#<op>_<interval>"),
    // sorted by name so a resource finds its own with one binary search.
    std::vector<std::pair<std::string_view, NodeIdx>> fail_attrs;
    for (NodeIdx n : c.node_order) {
        const auto& attrs = c.nodes[n].attrs;
        for (auto it = attrs.lower_bound("fail-count-");
             it != attrs.end() && it->first.starts_with("fail-count-"); ++it)
            fail_attrs.emplace_back(std::string_view(it->first).substr(11), n);
    }
    std::sort(fail_attrs.begin(), fail_attrs.end());
    // Stickiness and migration-threshold (primitives only, on the nodes that matter).
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        Resource& rsc = c.resources[r];
        if (!rsc.is_primitive()) continue;
        if (rsc.flags.managed && rsc.stickiness != 0 && rsc.running_on.size() == 1) {
            NodeIdx n = rsc.running_on[0];
            if (rsc.allowed.allowed(n, cls(c, n)) || c.options.symmetric)
                resource_location(c, r, n, rsc.stickiness);
        }
        // An active promotable instance also prefers its node by a positive promotion score.
        if (rsc.flags.managed && rsc.flags.promotable && rsc.running_on.size() == 1) {
            const NodeIdx n = rsc.running_on[0];
            const Node& node = c.nodes[n];
            std::string_view v;
            if (node.has_attr("master-" + rsc.id)) {
                v = node.attr("master-" + rsc.id);
            } else if (!rsc.flags.unique && node.has_attr("master-" + rsc.base_id)) {
                v = node.attr("master-" + rsc.base_id);
            }
            const Score p = v.empty() ? 0 : parse_score(v);
            if (p > 0 && (rsc.allowed.allowed(n, cls(c, n)) || c.options.symmetric))
                resource_location(c, r, n, p);
        }
        if (rsc.migration_threshold == 0) continue;
        std::vector<NodeIdx> candidates;
        auto consider = [&](RscIdx x) {
            for (const NodeHistory& h : c.resources[x].history)
                candidates.push_back(h.node);
        };
        consider(r);
        for (RscIdx f : rsc.fillers)
            consider(f);
        // Fail counts may exist without history (cleared history, remote nodes).
        const std::string_view base = rsc.base_id;
        for (auto it = std::lower_bound(fail_attrs.begin(), fail_attrs.end(), std::pair{base, NodeIdx{0}});
             it != fail_attrs.end() && it->first.starts_with(base); ++it)
            candidates.push_back(it->second);
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
        for (NodeIdx n : candidates) {
            // A remote or guest node whose history was not unpacked (its connection or
            // container is not known to run) has no failures to count (F2).
            if (c.nodes[n].is_remote_class() && !c.nodes[n].history_unpacked) continue;
            if (c.find_action(r, op_key(rsc.id, "clear_failcount", 0), n) != kNone) continue;
            const int fc = effective_failcount(c, r, n, nullptr);
            if (fc <= 0) continue;
            RscIdx failed = c.in_anonymous_clone(r) ? c.top_of(r) : r;
            if (fc >= rsc.migration_threshold) resource_location(c, failed, n, -kInfinity);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Internal colocations (groups, containers and connections; rule 34)
// ---------------------------------------------------------------------------------------

namespace {

// Every allowed node that is a Pacemaker Remote node (has a connection) gets -INFINITY.
void avoid_remote_nodes(Cluster& c, RscIdx r)
{
    Resource& rsc = c.resources[r];
    bool all_connected = true;
    for (const Node& node : c.nodes) {
        if (node.is_remote_class() && node.remote_rsc == kNone) all_connected = false;
    }
    if (all_connected) {
        // One class-wide score instead of an entry per node.
        if (rsc.allowed.class_default(true)) rsc.allowed.set_class_default(true, -kInfinity);
        for (auto& e : rsc.allowed.entries()) {
            if (c.nodes[e.node].is_remote_class() && e.score != NodeScores::kDisallowed) e.score = -kInfinity;
        }
        for (NodeIdx n : c.connection_named_members) {
            if (rsc.allowed.allowed(n, false)) rsc.allowed.set(n, false, -kInfinity);
        }
        return;
    }
    for (NodeIdx n : c.node_order) {
        const Node& node = c.nodes[n];
        if (node.remote_rsc == kNone && !node.named_by_connection) continue;
        if (rsc.allowed.allowed(n, node.is_remote_class()))
            rsc.allowed.set(n, node.is_remote_class(), -kInfinity);
    }
}

void add_coloc(Cluster& c, const std::string& id, RscIdx dep, RscIdx primary, Score score, bool influence)
{
    Colocation col;
    col.id = id;
    col.dependent = dep;
    col.primary = primary;
    col.score = score;
    col.influence = influence;
    const auto idx = static_cast<std::uint32_t>(c.colocations.size());
    c.colocations.push_back(std::move(col));
    c.resources[dep].this_with.push_back(idx);
    c.resources[primary].with_this.push_back(idx);
}

}  // namespace

namespace {

int compare_colocated(const Cluster& c, RscIdx a, RscIdx b)
{
    // By the other resource's priority (higher first), clones before groups before
    // primitives, promotable clones first, then its id.
    auto key = [&](RscIdx x) {
        const Resource& rr = c.resources[x];
        return std::make_tuple(-rr.priority, -static_cast<int>(rr.kind),
                               rr.is_clone() && rr.flags.promotable ? 0 : 1);
    };
    const auto ka = key(a), kb = key(b);
    if (ka != kb) return ka < kb ? -1 : 1;
    const int ids = c.resources[a].id.compare(c.resources[b].id);
    return ids < 0 ? -1 : (ids > 0 ? 1 : 0);
}

void insert_colocation(const Cluster& c, std::vector<std::uint32_t>& list, std::uint32_t ci, bool by_primary)
{
    const auto other = [&](std::uint32_t x) {
        return by_primary ? c.colocations[x].primary : c.colocations[x].dependent;
    };
    auto it = list.begin();
    while (it != list.end() && compare_colocated(c, other(ci), other(*it)) > 0)
        ++it;
    list.insert(it, ci);
}

}  // namespace

void add_internal_colocations(Cluster& c)
{
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        Resource& rsc = c.resources[r];
        if (rsc.is_group() && !(rsc.has_meta("collocated") && !is_true(rsc.meta_value("collocated")))) {
            for (std::size_t i = 1; i < rsc.children.size(); ++i) {
                const bool critical = c.resources[rsc.children[i]].flags.critical;
                add_coloc(c, "group:internal_colocation", rsc.children[i], rsc.children[i - 1], kInfinity,
                          critical);
            }
        }
        if (!rsc.is_primitive() || !rsc.flags.managed) continue;
        // Rule 34: resources with a container.
        if (rsc.container != kNone) {
            const RscIdx cont = rsc.container;
            RscIdx remote_rsc = kNone;
            if (rsc.flags.is_remote_connection) {
                // A guest's container may not run on a Pacemaker Remote node.
                avoid_remote_nodes(c, cont);
            } else if (c.resources[cont].flags.is_remote_connection) {
                remote_rsc = cont;
            } else {
                for (RscIdx f : c.resources[cont].fillers) {
                    if (c.resources[f].flags.is_remote_connection) remote_rsc = f;
                }
            }
            if (remote_rsc != kNone) {
                // Forced onto that Pacemaker Remote node instead of following the container:
                // every other node gets -INFINITY (class-wide, not an entry per node).
                NodeScores& a = c.resources[r].allowed;
                const NodeIdx guest = c.resources[remote_rsc].remote_node;
                const auto keep = guest != kNone ? a.get(guest, true) : std::nullopt;
                for (int k = 0; k < 2; ++k) {
                    if (a.class_default(k == 1)) a.set_class_default(k == 1, -kInfinity);
                }
                for (auto& e : a.entries()) {
                    if (e.score != NodeScores::kDisallowed) e.score = -kInfinity;
                }
                if (keep) a.set(guest, true, *keep);
            } else {
                add_coloc(c, "resource-with-container", r, cont, kInfinity, true);
            }
        }
        // Connections and fence devices never run on Pacemaker Remote nodes.
        if (c.resources[r].flags.is_remote_connection || c.resources[r].flags.fence_device)
            avoid_remote_nodes(c, r);
    }
    // Keep colocation lists in Pacemaker's processing order (compare_colocated); a
    // colocation added later comes before an equal one added earlier (Pacemaker inserts
    // each into its sorted list ahead of its equals).
    auto before = [&](std::uint32_t a, std::uint32_t b, RscIdx ra, RscIdx rb) {
        const int order = compare_colocated(c, ra, rb);
        return order != 0 ? order < 0 : a > b;
    };
    for (Resource& rsc : c.resources) {
        std::sort(rsc.this_with.begin(), rsc.this_with.end(), [&](std::uint32_t a, std::uint32_t b) {
            return before(a, b, c.colocations[a].primary, c.colocations[b].primary);
        });
        std::sort(rsc.with_this.begin(), rsc.with_this.end(), [&](std::uint32_t a, std::uint32_t b) {
            return before(a, b, c.colocations[a].dependent, c.colocations[b].dependent);
        });
    }
}

// ---------------------------------------------------------------------------------------
// Assignment
// ---------------------------------------------------------------------------------------

namespace {

NodeIdx first_running(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    return rsc.running_on.empty() ? kNone : rsc.running_on.front();
}

struct Assigner {
    Cluster& c;

    NodeIdx assign(RscIdx r, NodeIdx prefer);
    NodeIdx assign_primitive(RscIdx r, NodeIdx prefer);
    NodeIdx assign_group(RscIdx r, NodeIdx prefer);
    NodeIdx assign_clone(RscIdx r, NodeIdx prefer);
    bool choose_node(RscIdx r, NodeIdx prefer);
    bool finalize(RscIdx r, NodeIdx chosen, bool force);
    void unassign(RscIdx r);

    // Colocation of dependent r (a primitive) with `primary` (any kind).
    void apply_colocation(RscIdx dep, RscIdx primary, const Colocation& col);
    void colocation_match(RscIdx dep, RscIdx primary, const Colocation& col);
    // `forward`: follow the colocations `from` is the dependent of (towards primaries)
    // instead of those it is the primary of.
    void merge_scores(RscIdx from, NodeScores& into, const std::string& attr, float factor,
                      bool only_positive, bool rollback, int depth, bool forward = false);
    // Set while U3 merges scores for the sort before assignment (see sort_for_assignment).
    bool sorting = false;

    // Utilization (utilization.hpp U3, U4).
    void sort_for_assignment(std::vector<RscIdx>& order);
    NodeIdx ban_insufficient_capacity(RscIdx r);
    void colocated_resources(RscIdx r, RscIdx orig, std::vector<RscIdx>& list);
    void add_colocated_utilization(RscIdx r, const std::vector<RscIdx>& all, Utilization& total);
    bool affects_location(RscIdx dependent, RscIdx primary, const Colocation& col) const;
    void show_capacities(const char* when);
    // The best score of r on the nodes whose attribute `attr` equals `value` (nullopt: on
    // the nodes without that attribute, as Pacemaker compares two missing values equal).
    Score best_score_matching(RscIdx r, const std::string& attr, std::optional<std::string_view> value);
    std::optional<std::string_view> node_value(NodeIdx n, const std::string& attr) const
    {
        const Node& node = c.nodes[n];
        if (!node.has_attr(attr)) return std::nullopt;
        return node.attr(attr);
    }
    // The nodes without #uname (Pacemaker Remote nodes get it with their node_state),
    // computed once: placement does not change node attributes.
    const std::vector<NodeIdx>& without_uname()
    {
        if (!without_uname_known_) {
            for (NodeIdx n = 0; n < c.nodes.size(); ++n) {
                if (!c.nodes[n].has_attr("#uname")) without_uname_.push_back(n);
            }
            without_uname_known_ = true;
        }
        return without_uname_;
    }
    std::vector<NodeIdx> without_uname_;
    bool without_uname_known_ = false;

    // Clones
    bool instance_can_run(RscIdx inst, NodeIdx n, int limit, std::vector<int>& counts);
    bool assign_instance(RscIdx clone, RscIdx inst, NodeIdx prefer, bool all_coloc, int limit,
                         std::vector<int>& counts);
    void set_instance_roles(RscIdx clone);
    NodeIdx location(RscIdx r) const;  // assigned node of any resource kind
    std::vector<std::uint32_t> extra_this_with(RscIdx r) const;
    std::unordered_map<RscIdx, std::vector<std::uint32_t>> inst_this_with, inst_with_this;
    // A clone's instances in the order they were last sorted: assigned (promotion falls
    // back on it), then promoted.
    std::unordered_map<RscIdx, std::vector<RscIdx>> instance_order;
    const std::vector<NodeIdx>& table_order();
    std::vector<NodeIdx> table_order_;  // see table_order()
    std::vector<std::uint32_t> this_with_of(RscIdx r) const;
    std::vector<std::uint32_t> with_this_of(RscIdx r) const;
};

std::vector<std::uint32_t> Assigner::this_with_of(RscIdx r) const
{
    std::vector<std::uint32_t> v = c.resources[r].this_with;
    auto it = inst_this_with.find(r);
    if (it != inst_this_with.end()) v.insert(v.end(), it->second.begin(), it->second.end());
    return v;
}

std::vector<std::uint32_t> Assigner::with_this_of(RscIdx r) const
{
    std::vector<std::uint32_t> v = c.resources[r].with_this;
    auto it = inst_with_this.find(r);
    if (it != inst_with_this.end()) v.insert(v.end(), it->second.begin(), it->second.end());
    return v;
}

NodeIdx Assigner::location(RscIdx r) const
{
    const Resource& rsc = c.resources[r];
    if (rsc.is_primitive()) return rsc.assigned;
    if (rsc.is_group()) {
        // All assigned members on one node.
        NodeIdx where = kNone;
        for (RscIdx ch : rsc.children) {
            NodeIdx n = c.resources[ch].assigned;
            if (n == kNone) continue;
            if (where == kNone)
                where = n;
            else if (where != n)
                return kNone;
        }
        return where;
    }
    return kNone;
}

NodeIdx Assigner::assign(RscIdx r, NodeIdx prefer)
{
    switch (c.resources[r].kind) {
        case RscKind::primitive:
            return assign_primitive(r, prefer);
        case RscKind::group:
            return assign_group(r, prefer);
        case RscKind::clone:
            return assign_clone(r, prefer);
    }
    return kNone;
}

void Assigner::unassign(RscIdx r)
{
    release_assignment(c, r);
}

bool Assigner::finalize(RscIdx r, NodeIdx chosen, bool force)
{
    Resource& rsc = c.resources[r];
    if (!force && chosen != kNone) {
        const Score w = c.score_on(r, chosen).value_or(-kInfinity);
        // Rule 36: an unavailable guest node is accepted (its connection will come up).
        if (w < 0 || (!can_run(c, chosen) && c.nodes[chosen].kind != NodeKind::guest)) {
            rsc.next_role = Role::stopped;
            rsc.next_role_reason = "node availability";
            chosen = kNone;
        }
    }
    unassign(r);
    rsc.flags.provisional = false;
    if (chosen == kNone) {
        rsc.next_role = Role::stopped;
        if (rsc.next_role_reason.empty()) rsc.next_role_reason = "unable to allocate";
        return false;
    }
    rsc.assigned = chosen;
    Node& node = c.nodes[chosen];
    ++node.assigned_count;
    consume_capacity(node.utilization, rsc.utilization);
    if (c.show_utilization)
        c.score_lines.push_back({ScoreLine::Kind::utilization,
                                 "pcmk__finalize_assignment",
                                 rsc.id,
                                 node.name,
                                 {},
                                 rsc.utilization.entries()});
    return true;
}

namespace {

// U7: balanced's node order is not transitive (one vote per utilization attribute), so
// Pacemaker's choice depends on how GLib's g_list_sort (a stable top-down merge sort whose
// first half is floor(n/2) long) meets the list: `before(a, b)` is "a sorts before b".
template <typename T, typename Before>
std::vector<T> glib_list_sort(std::vector<T> list, Before&& before)
{
    if (list.size() < 2) return list;
    const auto half = static_cast<std::ptrdiff_t>(list.size() / 2);
    std::vector<T> a = glib_list_sort(std::vector<T>(list.begin(), list.begin() + half), before);
    std::vector<T> b = glib_list_sort(std::vector<T>(list.begin() + half, list.end()), before);
    std::vector<T> out;
    out.reserve(list.size());
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size())
        out.push_back(before(b[j], a[i]) ? b[j++] : a[i++]);  // ties keep the first half's
    out.insert(out.end(), a.begin() + static_cast<std::ptrdiff_t>(i), a.end());
    out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(j), b.end());
    return out;
}

}  // namespace

bool Assigner::choose_node(RscIdx r, NodeIdx prefer)
{
    // U4: nodes without the capacity banned first; the one with the most free capacity is
    // preferred if none has enough.
    const NodeIdx most_free = ban_insufficient_capacity(r);
    if (prefer == kNone) prefer = most_free;
    Resource& rsc = c.resources[r];
    if (!rsc.flags.provisional) return rsc.assigned != kNone;
    const NodeIdx current = current_node(c, r);
    // Sort order (U5): available score (unavailable = -INFINITY) high first, free capacity
    // (balanced), fewer assigned resources and the current node (not minimal), the name.
    struct Cand {
        NodeIdx n;
        Score key;
    };
    auto better = [&](const Cand& a, const Cand& b) {
        return compare_nodes(c, a.n, a.key, b.n, b.key, current) < 0;
    };
    bool have = false;
    Cand best{kNone, 0};
    const bool balanced = c.options.strategy == PlacementStrategy::balanced;
    std::vector<Cand> all;  // balanced: every allowed node (U7)
    auto consider = [&](NodeIdx n, Score s) {
        Cand cand{n, can_run(c, n) ? s : -kInfinity};
        if (balanced) all.push_back(cand);
        if (!have || better(cand, best)) {
            best = cand;
            have = true;
        }
    };
    for (const auto& e : rsc.allowed.entries()) {
        if (e.score != NodeScores::kDisallowed) consider(e.node, e.score);
    }
    for (int k = 0; k < 2; ++k) {
        const auto& d = rsc.allowed.class_default(k == 1);
        if (!d) continue;
        // A default-scored node can only win if its key can beat the best so far.
        if (have && best.key > *d && !balanced) continue;
        for (NodeIdx n : c.node_order) {
            if (cls(c, n) != (k == 1) || rsc.allowed.find(n) >= 0) continue;
            consider(n, *d);
        }
    }
    if (balanced && have) {
        // U7: the list is g_hash_table_get_values of the allowed nodes, the table's slots
        // in reverse.
        std::vector<Cand> list;
        const auto& order = table_order();
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            auto found = std::find_if(all.begin(), all.end(), [&](const Cand& x) { return x.n == *it; });
            if (found != all.end()) list.push_back(*found);
        }
        if (!list.empty()) best = glib_list_sort(std::move(list), better).front();
    }
    NodeIdx chosen = kNone;
    if (prefer != kNone && have) {
        auto ps = rsc.allowed.get(prefer, cls(c, prefer));
        const Score best_w = c.score_on(r, best.n).value_or(-kInfinity);
        if (ps && *ps >= best_w && can_run(c, prefer) && *ps >= 0) chosen = prefer;
    }
    if (chosen == kNone && have) {
        chosen = best.n;
        // A node the resource runs on wins among the nodes sharing the best score, if that
        // score is positive (not for a unique clone's instances, placed where they run
        // beforehand).
        const Score best_w = c.score_on(r, best.n).value_or(-kInfinity);
        const RscIdx parent = rsc.parent;
        const bool unique_instance =
            parent != kNone && c.resources[parent].is_clone() && c.resources[parent].flags.unique;
        if (!unique_instance && best_w > 0 && can_run(c, best.n) && current != kNone && current != best.n &&
            can_run(c, current) && c.score_on(r, current) == best_w)
            chosen = current;
    }
    return finalize(r, chosen, false);
}

Score Assigner::best_score_matching(RscIdx r, const std::string& attr, std::optional<std::string_view> value)
{
    const Resource& rsc = c.resources[r];
    Score best = -kInfinity;
    bool found = false;
    // Only nodes able to run resources count.
    if (value && (attr == "#uname" || attr == "#id")) {
        NodeIdx n = attr == "#uname" ? c.find_node(*value) : c.find_node_by_id(*value);
        if (n == kNone || !c.nodes[n].has_attr(attr) || !can_run(c, n)) return -kInfinity;
        auto s = rsc.allowed.get(n, cls(c, n));
        return s ? *s : -kInfinity;
    }
    for_each_allowed(c, rsc.allowed, [&](NodeIdx n, Score s) {
        if (can_run(c, n) && node_value(n, attr) == value && (!found || s > best)) {
            best = s;
            found = true;
        }
    });
    return found ? best : -kInfinity;
}

// The end of a merge: a node only the merge's own marker made unusable counts as barely
// allowed (score 1), in the entries and in both class defaults.
void settle_unusable(NodeScores& result)
{
    for (auto& e : result.entries()) {
        if (e.score == kUnusable) e.score = 1;
    }
    for (int k = 0; k < 2; ++k) {
        if (result.class_default(k == 1) == kUnusable) result.set_class_default(k == 1, 1);
    }
}

// The factor of a colocation further along a merge's chain: its own score's fraction of
// INFINITY, with the sign of the merge so far (observed: p2 with p3 at 100 and p3 with p2 at
// -100 give p3 -100, not -1, where p3 scores INFINITY on another node without #uname); the
// magnitudes do not multiply.
float chained_factor(float factor, Score score)
{
    const float own = static_cast<float>(score) / static_cast<float>(kInfinity);
    return factor < 0 ? -own : own;
}

// Adds `factor` times the scores of `from` (and, transitively, of what is colocated with
// it) to `into` (Pacemaker's colocated node score merge).
void Assigner::merge_scores(RscIdx from, NodeScores& into, const std::string& attr, float factor,
                            bool only_positive, bool rollback, int depth, bool forward)
{
    Resource& rsc = c.resources[from];
    if (rsc.flags.merging || depth > 64) return;
    rsc.flags.merging = true;
    // U3: merging for the sort where no node is available yet, only `from`'s bans count (its
    // negative scores, on every node but those to be fenced, guests included, rnd-s84-c1-9,
    // and those in standby), and the result is kept unless it leaves every node negative or
    // the merge is not along a group's own chain (rnd-s84-c9-8: a primitive's is undone).
    const bool unavailable_sort = sorting && !any_available(c, into);
    auto counts = [&](NodeIdx n) { return unavailable_sort || can_run(c, n); };
    auto ban_only = [&](Score v) { return unavailable_sort ? std::min(v, 0) : v; };
    auto kept = [&](const NodeScores& s) {
        const bool in_group = rsc.parent != kNone && c.resources[rsc.parent].is_group() &&
                              c.resources[rsc.parent].flags.merging;
        return unavailable_sort && in_group && any_usable(c, s, [](NodeIdx) { return true; });
    };
    if (rsc.is_group() && !rsc.children.empty()) {
        // A group's scores are its first member's, merged along that member's colocations
        // (the group's own chain); then those of the group's colocations (towards primaries)
        // or of its last member's (towards dependents).
        NodeScores result = into;
        merge_scores(rsc.children.front(), result, attr, factor, only_positive, rollback, depth + 1, forward);
        if (any_available(c, result)) {
            const std::vector<std::uint32_t> list =
                forward ? this_with_of(from) : with_this_of(c.resources[from].children.back());
            for (std::uint32_t ci : list) {
                const Colocation& col = c.colocations[ci];
                if (!forward && !col.influence) continue;
                const float other_factor = chained_factor(factor, col.score);
                merge_scores(forward ? col.primary : col.dependent, result, col.node_attribute, other_factor,
                             only_positive, true, depth + 1, forward);
            }
        } else if (rollback && !kept(result)) {
            c.resources[from].flags.merging = false;
            return;
        }
        settle_unusable(result);
        into = std::move(result);
        c.resources[from].flags.merging = false;
        return;
    }
    const NodeScores& work = into;
    auto combine = [&](Score score, Score& w) {
        if (factor < 0 && score < 0) return;
        if (w == kUnusable) return;
        const float wf = factor * static_cast<float>(score);
        int weight = static_cast<int>(wf < 0 ? wf - 0.5F : wf + 0.5F);
        if (weight == 0 && score != 0) weight = factor > 0 ? 1 : (factor < 0 ? -1 : 0);
        const Score ns = add_scores(weight, w);
        if (only_positive && ns < 0 && w > 0) {
            w = kUnusable;
            return;
        }
        if (only_positive && ns < 0 && w == 0) return;
        w = ns;
    };
    // `from`'s score on a node counts only where the node can run resources (U3, where no
    // node is available: not on a node to be fenced, nor on one in standby, rnd-s267-c6-6).
    auto own = [&](NodeIdx n, std::optional<Score> v) {
        const Node& node = c.nodes[n];
        if (unavailable_sort && (node.unclean || node.remote_requires_reset || (node.online && node.standby)))
            return 0;
        return v && *v != NodeScores::kDisallowed && counts(n) ? ban_only(*v) : -kInfinity;
    };
    NodeScores result;
    if ((attr.empty() || attr == "#uname") && without_uname().empty()) {
        // Per node: `from`'s own score there. Nodes with an entry in neither table share
        // their class's defaults (unless they cannot run resources), so the work is linear
        // in the entries and the unavailable nodes, not in the nodes.
        const NodeScores& fs = rsc.allowed;
        result = work;
        for (auto& e : result.entries()) {
            if (e.score == NodeScores::kDisallowed) continue;
            combine(own(e.node, fs.get(e.node, cls(c, e.node))), e.score);
        }
        for (const auto& e : fs.entries()) {
            if (work.find(e.node) >= 0) continue;
            auto v = work.get(e.node, cls(c, e.node));
            if (!v) continue;
            Score w = *v;
            combine(own(e.node, e.score), w);
            result.set(e.node, cls(c, e.node), w);
        }
        for (NodeIdx n : c.node_order) {
            if (counts(n) || work.find(n) >= 0 || fs.find(n) >= 0) continue;
            const auto& d = work.class_default(cls(c, n));
            if (!d) continue;
            Score w = *d;
            combine(-kInfinity, w);
            result.set(n, cls(c, n), w);
        }
        for (int k = 0; k < 2; ++k) {
            const auto& d = work.class_default(k == 1);
            if (!d) continue;
            Score w = *d;
            combine(ban_only(fs.class_default(k == 1).value_or(-kInfinity)), w);
            result.set_class_default(k == 1, w);
        }
    } else if (attr.empty() || attr == "#uname") {
        // Nodes with #uname match themselves; those without all match each other.
        const NodeScores& fs = rsc.allowed;
        Score best_missing = -kInfinity;
        for (NodeIdx n : without_uname()) {
            if (auto v = fs.get(n, cls(c, n)); v && counts(n) && ban_only(*v) > best_missing)
                best_missing = ban_only(*v);
        }
        std::vector<std::pair<NodeIdx, Score>> all;
        for_each_allowed(c, work, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
        for (auto& [n, s] : all) {
            Score w = s;
            combine(c.nodes[n].has_attr("#uname") ? own(n, fs.get(n, cls(c, n))) : best_missing, w);
            result.set(n, cls(c, n), w);
        }
    } else {
        // Materialise every allowed node (defaults may differ per node in `from`).
        std::vector<std::pair<NodeIdx, Score>> all;
        for_each_allowed(c, work, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
        for (auto& [n, s] : all) {
            Score w = s;
            combine(best_score_matching(from, attr, node_value(n, attr)), w);
            result.set(n, cls(c, n), w);
        }
    }
    if (any_available(c, result)) {
        for (std::uint32_t ci : forward ? this_with_of(from) : with_this_of(from)) {
            const Colocation& col = c.colocations[ci];
            if (!forward && !col.influence) continue;
            const float other_factor = chained_factor(factor, col.score);
            merge_scores(forward ? col.primary : col.dependent, result, col.node_attribute, other_factor,
                         only_positive, true, depth + 1, forward);
        }
    } else if (rollback && !kept(result)) {
        rsc.flags.merging = false;
        return;
    }
    settle_unusable(result);
    into = std::move(result);
    rsc.flags.merging = false;
}

// ----- utilization (utilization.hpp) ---------------------------------------------------

void Assigner::show_capacities(const char* when)
{
    if (!c.show_utilization) return;
    for (NodeIdx n : c.node_order)
        c.score_lines.push_back(
            {ScoreLine::Kind::capacity, when, {}, c.nodes[n].name, {}, c.nodes[n].utilization.entries()});
}

// Whether a colocation would place the dependent (rather than only affect its role), judged
// before either is assigned.
bool Assigner::affects_location(RscIdx dependent, RscIdx primary, const Colocation& col) const
{
    const Resource& d = c.resources[dependent];
    if (col.dependent_role && *col.dependent_role >= Role::unpromoted && d.parent != kNone &&
        c.resources[d.parent].flags.promotable && !d.flags.provisional)
        return false;
    if (col.dependent_role && *col.dependent_role != Role::unknown && *col.dependent_role != d.next_role)
        return false;
    if (col.primary_role && *col.primary_role != Role::unknown &&
        *col.primary_role != c.resources[primary].next_role)
        return false;
    return true;
}

// The resources that will be on the same node as r: the chain of INFINITY colocations with
// a say in placement, both ways (from a clone only to other clones).
void Assigner::colocated_resources(RscIdx r, RscIdx orig, std::vector<RscIdx>& list)
{
    const Resource& rsc = c.resources[r];
    if (rsc.is_group() && !rsc.children.empty()) {
        const bool collocated = !(rsc.has_meta("collocated") && !is_true(rsc.meta_value("collocated")));
        const bool cloned = rsc.parent != kNone && c.resources[rsc.parent].is_clone();
        if (collocated || cloned) {
            for (RscIdx ch : std::vector<RscIdx>(rsc.children))
                colocated_resources(ch, orig, list);
        } else {
            colocated_resources(rsc.children.front(), orig, list);
        }
    }
    if (std::find(list.begin(), list.end(), r) != list.end()) return;
    list.push_back(r);
    for (std::uint32_t ci : this_with_of(r)) {
        const Colocation& col = c.colocations[ci];
        if (col.primary == orig) continue;
        if (col.score == kInfinity && affects_location(r, col.primary, col))
            colocated_resources(col.primary, orig, list);
    }
    for (std::uint32_t ci : with_this_of(r)) {
        const Colocation& col = c.colocations[ci];
        if (col.dependent == orig) continue;
        if (c.resources[r].is_clone() && !c.resources[col.dependent].is_clone()) continue;
        if (col.score == kInfinity && affects_location(col.dependent, r, col))
            colocated_resources(col.dependent, orig, list);
    }
}

// What the unassigned resources among `all` will use, summed (a group's members, a clone's
// first instance or the instances listed).
void Assigner::add_colocated_utilization(RscIdx r, const std::vector<RscIdx>& all, Utilization& total)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.flags.provisional) return;
    auto listed = [&](RscIdx x) { return std::find(all.begin(), all.end(), x) != all.end(); };
    switch (rsc.kind) {
        case RscKind::primitive:
            add_utilization(total, rsc.utilization);
            return;
        case RscKind::group: {
            if (rsc.children.empty()) return;
            const bool collocated = !(rsc.has_meta("collocated") && !is_true(rsc.meta_value("collocated")));
            const bool cloned = rsc.parent != kNone && c.resources[rsc.parent].is_clone();
            if (collocated || cloned) {
                for (RscIdx ch : rsc.children) {
                    if (c.resources[ch].flags.provisional && !listed(ch))
                        add_colocated_utilization(ch, all, total);
                }
            } else {
                const RscIdx first = rsc.children.front();
                if (c.resources[first].flags.provisional && !listed(first))
                    add_colocated_utilization(first, all, total);
            }
            return;
        }
        case RscKind::clone: {
            bool existing = false;
            for (RscIdx ch : rsc.children) {
                if (listed(ch)) {
                    existing = true;
                    continue;
                }
                for (RscIdx member : c.resources[ch].children) {
                    if (listed(member)) {
                        add_colocated_utilization(ch, all, total);
                        existing = true;
                        break;
                    }
                }
            }
            if (!existing && !rsc.children.empty())
                add_colocated_utilization(rsc.children.front(), all, total);
            return;
        }
    }
}

// U4: returns the node with the most free capacity when none can hold r and what is
// colocated with it, else kNone.
NodeIdx Assigner::ban_insufficient_capacity(RscIdx r)
{
    if (c.options.strategy == PlacementStrategy::default_) return kNone;
    std::vector<RscIdx> list;
    colocated_resources(r, r, list);
    Utilization needed;
    for (RscIdx x : list)
        add_colocated_utilization(x, list, needed);
    auto usable = [&](NodeIdx n) {
        if (!can_run(c, n)) return false;
        const auto score = c.score_on(r, n);
        return score && *score >= 0;
    };
    bool any_capable = false;
    for (NodeIdx n : c.node_order) {
        if (usable(n) && enough_capacity(c.nodes[n].utilization, needed)) {
            any_capable = true;
            break;
        }
    }
    // If some node can hold them all, the others are banned; else those that cannot hold
    // r alone, and the node with the most free capacity is the answer (the first of equals
    // in the order Pacemaker's table of allowed nodes, keyed by node id and filled in node
    // order, iterates).
    const Utilization& wanted = any_capable ? needed : c.resources[r].utilization;
    NodeIdx most_free = kNone;
    if (!any_capable) {
        for (NodeIdx n : table_order()) {
            if (!c.resources[r].allowed.allowed(n, cls(c, n)) || !usable(n)) continue;
            if (most_free == kNone ||
                compare_capacities(c.nodes[n].utilization, c.nodes[most_free].utilization) < 0)
                most_free = n;
        }
    }
    for (NodeIdx n : c.node_order) {
        if (usable(n) && !enough_capacity(c.nodes[n].utilization, wanted))
            resource_location(c, r, n, -kInfinity);
    }
    return any_capable ? kNone : most_free;
}

// The order Pacemaker's table of a resource's allowed nodes iterates: keyed by node id and
// filled in node order (Utilization is GLib's table model). Computed once for a table
// holding every node: a resource allowed on fewer nodes is taken in the same order, which
// is exact in symmetric clusters.
const std::vector<NodeIdx>& Assigner::table_order()
{
    if (table_order_.empty()) {
        Utilization ids;
        for (NodeIdx n : c.node_order)
            ids.set(c.nodes[n].id, {});
        ids.for_each([&](const std::string& id, const std::string&) {
            const NodeIdx n = c.find_node_by_id(id);
            if (n != kNone) table_order_.push_back(n);
        });
    }
    return table_order_;
}

// U3: the order of assignment with a placement strategy.
void Assigner::sort_for_assignment(std::vector<RscIdx>& order)
{
    // The nodes as Pacemaker sorts them before anything is assigned.
    auto key = [&](NodeIdx n) { return can_run(c, n) ? c.nodes[n].weight : -kInfinity; };
    const std::vector<NodeIdx> nodes = glib_list_sort(c.node_order, [&](NodeIdx a, NodeIdx b) {
        return compare_nodes(c, a, key(a), b, key(b), kNone) < 0;
    });
    // Each resource's scores merged with those of the resources it is colocated with (a
    // group: its last member's, merged along that member's colocations, then the group's).
    // Where no node is available the merge still happens, with the bans (negative scores)
    // of what is merged on every node (merge_scores): a group's first member banned from the
    // remote node that went down under it takes the group's score there with it
    // (rnd-s39-c5-9), its preferences do not (rnd-s31-c0-6), nor its ban from a node to be
    // fenced (rnd-s68-c5-8), a merge that leaves every node negative is undone
    // (u3-group-blocked-single-node), so is one along any colocation other than a group's
    // own chain (rnd-s84-c9-8, u3-colocation-rollback-standby), and the chain stops there
    // (rnd-s26-c2-9).
    std::unordered_map<RscIdx, std::vector<Score>> merged;
    sorting = true;
    auto merge_primaries = [&](RscIdx from, NodeScores& work) {
        for (std::uint32_t ci : this_with_of(from)) {
            const Colocation& col = c.colocations[ci];
            merge_scores(col.primary, work, col.node_attribute,
                         static_cast<float>(col.score) / static_cast<float>(kInfinity), false, true, 0, true);
        }
    };
    for (RscIdx r : order) {
        Resource& rsc = c.resources[r];
        NodeScores work;
        rsc.flags.merging = true;
        if (rsc.is_group() && !rsc.children.empty()) {
            const RscIdx last = rsc.children.back();
            c.resources[last].flags.merging = true;
            work = c.resources[last].allowed;
            merge_primaries(last, work);
            c.resources[last].flags.merging = false;
        } else {
            work = rsc.allowed;
        }
        merge_primaries(r, work);
        c.resources[r].flags.merging = false;
        std::vector<Score>& v = merged[r];
        v.reserve(nodes.size() + 1);
        const NodeIdx current = current_node(c, r);
        v.push_back(current == kNone ? -kInfinity : work.get(current, cls(c, current)).value_or(-kInfinity));
        for (NodeIdx n : nodes)
            v.push_back(work.get(n, cls(c, n)).value_or(-kInfinity));
    }
    sorting = false;
    // Higher priority first, then the higher score on the current node, then the first
    // node (in that order) where one scores higher.
    std::stable_sort(order.begin(), order.end(), [&](RscIdx a, RscIdx b) {
        const int pa = c.resources[a].priority, pb = c.resources[b].priority;
        if (pa != pb) return pa > pb;
        const std::vector<Score>& va = merged[a];
        const std::vector<Score>& vb = merged[b];
        for (std::size_t i = 0; i < va.size(); ++i) {
            if (va[i] != vb[i]) return va[i] > vb[i];
        }
        return false;
    });
}

void Assigner::colocation_match(RscIdx dep, RscIdx primary, const Colocation& col)
{
    Resource& d = c.resources[dep];
    const NodeIdx pnode = location(primary);
    const std::string attr = col.node_attribute.empty() ? "#uname" : col.node_attribute;
    if (pnode == kNone && col.score < 0) return;
    const std::optional<std::string_view> value = pnode != kNone ? node_value(pnode, attr) : std::nullopt;
    NodeScores work = d.allowed;
    // (A node without the attribute matches every other node without it.)
    const bool unique_attr = (attr == "#uname" || attr == "#id") && value;
    if (pnode == kNone) {
        add_all(work, -col.score);
    } else if (unique_attr) {
        if (col.score >= kInfinity) {
            // Everything but the primary's node is banned.
            auto keep = work.get(pnode, cls(c, pnode));
            for (int k = 0; k < 2; ++k) {
                if (work.class_default(k == 1)) work.set_class_default(k == 1, -kInfinity);
            }
            for (auto& e : work.entries()) {
                if (e.score != NodeScores::kDisallowed) e.score = -kInfinity;
            }
            if (keep) work.set(pnode, cls(c, pnode), *keep);
        } else if (work.allowed(pnode, cls(c, pnode))) {
            work.add(pnode, cls(c, pnode), col.score);
        }
    } else {
        std::vector<std::pair<NodeIdx, Score>> all;
        for_each_allowed(c, work, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
        for (auto& [n, s] : all) {
            if (node_value(n, attr) == value) {
                if (col.score < kInfinity) work.set(n, cls(c, n), add_scores(col.score, s));
            } else if (col.score >= kInfinity) {
                work.set(n, cls(c, n), -kInfinity);
            }
        }
    }
    if (col.score <= -kInfinity || col.score >= kInfinity || any_available(c, work))
        d.allowed = std::move(work);
}

// Rule-filtered colocation of a primitive dependent with any primary.
void Assigner::apply_colocation(RscIdx dep, RscIdx primary, const Colocation& col)
{
    Resource& p = c.resources[primary];
    Resource& d = c.resources[dep];
    if (p.is_group()) {
        if (p.children.empty()) return;
        if (p.flags.provisional) return;
        apply_colocation(dep, col.score >= kInfinity ? p.children.back() : p.children.front(), col);
        return;
    }
    if (p.is_clone()) {
        if (p.flags.provisional) return;
        if (p.flags.promotable && col.primary_role) {
            // Colocation with a role of a promotable clone: nodes where instances will
            // have that role.
            std::vector<NodeIdx> nodes;
            for (RscIdx inst : p.children) {
                NodeIdx n = location(inst);
                if (n == kNone) continue;
                std::vector<RscIdx> leaves;
                c.leaves(inst, leaves);
                Role role = Role::unknown;
                for (RscIdx l : leaves)
                    role = std::max(role, c.resources[l].next_role);
                if (role == *col.primary_role) nodes.push_back(n);
            }
            if (col.score >= kInfinity) {
                std::vector<std::pair<NodeIdx, Score>> all;
                for_each_allowed(c, d.allowed, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
                for (auto& [n, s] : all) {
                    if (std::find(nodes.begin(), nodes.end(), n) == nodes.end())
                        d.allowed.set(n, cls(c, n), -kInfinity);
                }
            } else {
                for (NodeIdx n : nodes) {
                    if (d.allowed.allowed(n, cls(c, n))) d.allowed.add(n, cls(c, n), col.score);
                }
            }
            return;
        }
        const Resource& cons_dep = c.resources[col.dependent];
        const bool interleave = cons_dep.is_clone() && cons_dep.flags.interleave;
        if (interleave) {
            // Pair with the primary instance on the same node.
            RscIdx dep_inst = dep;
            for (RscIdx x = dep; x != kNone; x = c.resources[x].parent) {
                if (c.resources[x].parent == col.dependent) dep_inst = x;
            }
            RscIdx match = find_compatible_instance(c, dep_inst, primary, std::nullopt, false);
            if (match != kNone) {
                apply_colocation(dep, match, col);
            } else if (col.score >= kInfinity) {
                finalize(dep, kNone, true);
            }
            return;
        }
        if (col.score >= kInfinity) {
            std::vector<NodeIdx> nodes;
            for (RscIdx inst : p.children) {
                NodeIdx n = location(inst);
                std::vector<RscIdx> leaves;
                c.leaves(inst, leaves);
                bool blocked = false;
                for (RscIdx l : leaves)
                    blocked = blocked || c.resources[l].flags.blocked;
                if (n != kNone && !blocked) nodes.push_back(n);
            }
            std::vector<std::pair<NodeIdx, Score>> all;
            for_each_allowed(c, d.allowed, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
            for (int k = 0; k < 2; ++k) {
                if (d.allowed.class_default(k == 1)) d.allowed.set_class_default(k == 1, -kInfinity);
            }
            for (auto& [n, s] : all) {
                const bool keep = std::find(nodes.begin(), nodes.end(), n) != nodes.end();
                d.allowed.set(n, cls(c, n), keep ? s : -kInfinity);
            }
            return;
        }
        // Instance by instance in the clone's last sorted order (assignment, then promotion),
        // which decides whether a stopped instance's penalty is kept (it is rolled back
        // where it leaves no node available): observed with p with c at 100 and c's
        // second instance stopped, guest3 100 and node3 0 where c is promotable (promotion
        // sorts the stopped instance first), 0 and -100 where it is not.
        const auto order = instance_order.find(primary);
        for (RscIdx inst : order != instance_order.end() ? order->second : p.children)
            apply_colocation(dep, inst, col);
        return;
    }
    // Primitive primary: filter by roles and provisional state.
    if (p.flags.provisional) return;
    RscIdx dclone = c.clone_of(dep);
    if (col.dependent_role && col.primary_role && dclone != kNone && c.resources[dclone].flags.promotable &&
        !d.flags.provisional) {
        // Affects promotion only.
        NodeIdx pn = p.assigned;
        if (pn != kNone && d.assigned == pn) {
            if (col.score >= kInfinity || col.score <= -kInfinity || true) {
                d.promotion_score = add_scores(d.promotion_score, col.score);
            }
        }
        return;
    }
    if (!d.flags.provisional) return;
    if (col.dependent_role && *col.dependent_role != d.next_role) return;
    if (col.primary_role && *col.primary_role != p.next_role) return;
    colocation_match(dep, primary, col);
}

NodeIdx Assigner::assign_primitive(RscIdx r, NodeIdx prefer)
{
    Resource& rsc = c.resources[r];
    if (rsc.parent != kNone && !c.resources[rsc.parent].flags.assigning) {
        assign(rsc.parent, prefer);
    }
    if (!rsc.flags.provisional) return rsc.assigned;
    if (rsc.flags.assigning) return kNone;
    rsc.flags.assigning = true;
    for (std::uint32_t ci : this_with_of(r)) {
        const Colocation& col = c.colocations[ci];
        const bool keep_archive = (col.dependent_role && *col.dependent_role >= Role::promoted) ||
                                  (col.score < 0 && col.score > -kInfinity);
        NodeScores archive;
        if (keep_archive) archive = rsc.allowed;
        assign(col.primary, kNone);
        apply_colocation(r, col.primary, col);
        if (keep_archive && !any_available(c, c.resources[r].allowed))
            c.resources[r].allowed = std::move(archive);
    }
    for (std::uint32_t ci : with_this_of(r)) {
        const Colocation& col = c.colocations[ci];
        if (!col.influence) continue;
        // Negative scores of dependents count for a primitive (only a clone keeps its nodes
        // from going negative); a merge that leaves no node available is rolled back.
        merge_scores(col.dependent, c.resources[r].allowed, col.node_attribute,
                     static_cast<float>(col.score) / static_cast<float>(kInfinity), false, true, 0);
    }
    Resource& rr = c.resources[r];
    if (rr.next_role == Role::stopped) {
        resource_location(c, r, kNone, -kInfinity);
    } else if (rr.next_role > rr.role && !c.options.have_quorum &&
               c.options.no_quorum_policy == NoQuorumPolicy::freeze) {
        rr.next_role = rr.role;
    }
    // (No lines for an orphan, observed: u3-group-standby-ban-first.)
    if (!(rr.flags.orphan && rr.parent == kNone)) log_scores(c, "pcmk__primitive_assign", r, rr.allowed);
    if (c.options.stonith_enabled && !c.have_fence_device) rr.flags.managed = false;
    if (!rr.flags.managed) {
        rr.next_role = rr.role;
        finalize(r, current_node(c, r), true);
    } else if (c.options.stop_all_resources) {
        finalize(r, kNone, true);
    } else if (rr.flags.provisional) {
        choose_node(r, prefer);
    }
    Resource& done = c.resources[r];
    done.flags.assigning = false;
    // (Pacemaker finds the connection's node by name: a cluster node of that name, from a
    // typeless <node> entry, comes online too when the connection is assigned, observed:
    // crm_simulate then starts resources on a node it shows OFFLINE, rnd-s4-c4-5.)
    NodeIdx conn_node = done.remote_node;
    if (done.flags.is_remote_connection && conn_node == kNone) {
        const NodeIdx named = c.find_node(done.id);
        if (named != kNone && c.nodes[named].named_by_connection) conn_node = named;
    }
    if (done.flags.is_remote_connection && conn_node != kNone) {
        Node& rn = c.nodes[conn_node];
        if (done.assigned != kNone && done.next_role != Role::stopped) {
            rn.online = true;
            if (rn.unseen) rn.unclean = false;
        } else {
            rn.shutdown = true;
        }
    }
    return done.assigned;
}

NodeIdx Assigner::assign_group(RscIdx r, NodeIdx prefer)
{
    Resource& g = c.resources[r];
    if (!g.flags.provisional) return location(r);
    if (g.flags.assigning) return kNone;
    if (g.children.empty()) {
        g.flags.provisional = false;
        return kNone;
    }
    g.flags.assigning = true;
    g.role = c.resources[g.children.front()].role;
    // "Group with X" is "first member with X"; "X with group" is applied where X is, and
    // its scores reach the members through the last one (the chain of their colocations).
    // (Equal ones in the order they were configured, unlike a primitive's: crm_simulate
    // 2.1.5 applies a group's "INFINITY" and "-100" colocations with one primary so.)
    std::vector<std::uint32_t> group_with = g.this_with;  // sorted: one primary's are adjacent
    for (std::size_t i = 0; i < group_with.size();) {
        std::size_t j = i + 1;
        while (j < group_with.size() &&
               c.colocations[group_with[j]].primary == c.colocations[group_with[i]].primary)
            ++j;
        std::sort(group_with.begin() + static_cast<std::ptrdiff_t>(i),
                  group_with.begin() + static_cast<std::ptrdiff_t>(j));
        i = j;
    }
    for (std::uint32_t ci : group_with)
        inst_this_with[g.children.front()].push_back(ci);
    // Rule S5: those at INFINITY bind every member too, after its colocation with the one
    // before, so a member behind an unmanaged first one stuck elsewhere stays stopped.
    // (Observed: crm_simulate's trace colocates gm2 with p as well, rnd-s153-c1-4; not
    // those at -INFINITY, nor those with a clone: a group with a clone at INFINITY has its
    // members placed each where it prefers among the clone's nodes, rnd-s36-c5-0.)
    for (std::size_t k = 1; k < g.children.size(); ++k)
        for (std::uint32_t ci : group_with)
            if (c.colocations[ci].score == kInfinity && !c.resources[c.colocations[ci].primary].is_clone())
                inst_this_with[g.children[k]].push_back(ci);
    for (std::uint32_t ci : g.with_this)
        inst_with_this[g.children.back()].push_back(ci);
    log_scores(c, "pcmk__group_assign", r, g.allowed);
    NodeIdx first = kNone;
    bool have_first = false;
    for (RscIdx ch : std::vector<RscIdx>(g.children)) {
        NodeIdx n = assign(ch, prefer);
        if (!have_first) {
            first = n;
            have_first = true;
        }
    }
    Resource& gg = c.resources[r];
    gg.next_role = c.resources[gg.children.front()].next_role;
    gg.flags.assigning = false;
    gg.flags.provisional = false;
    const bool collocated = !(gg.has_meta("collocated") && !is_true(gg.meta_value("collocated")));
    return collocated ? first : kNone;
}

// ----- clones ---------------------------------------------------------------------------

bool Assigner::instance_can_run(RscIdx inst, NodeIdx n, int limit, std::vector<int>& counts)
{
    Resource& ir = c.resources[inst];
    RscIdx clone = ir.parent;
    bool ok = false;
    if (can_run(c, n) && !ir.flags.orphan) {
        auto ps = c.resources[clone].allowed.get(n, cls(c, n));
        if (!ps) {
            ok = false;
        } else if (*ps < 0) {
            // keep the parent's negative score
            resource_location(c, inst, n, 0);
            auto cur = ir.allowed.get(n, cls(c, n));
            if (cur) {
                std::function<void(RscIdx)> upd = [&](RscIdx x) {
                    c.resources[x].allowed.set(n, cls(c, n), *ps);
                    for (RscIdx ch : c.resources[x].children)
                        upd(ch);
                };
                upd(inst);
            }
            return false;
        } else if (counts[n] < limit) {
            return true;
        }
    }
    (void)ok;
    std::function<void(RscIdx)> ban = [&](RscIdx x) {
        if (c.resources[x].allowed.allowed(n, cls(c, n)))
            c.resources[x].allowed.set(n, cls(c, n), -kInfinity);
        for (RscIdx ch : c.resources[x].children)
            ban(ch);
    };
    ban(inst);
    return false;
}

bool Assigner::assign_instance(RscIdx clone, RscIdx inst, NodeIdx prefer, bool all_coloc, int limit,
                               std::vector<int>& counts)
{
    Resource& ir = c.resources[inst];
    if (!ir.flags.provisional) return location(inst) != kNone;
    if (ir.flags.assigning) return false;
    // The clone's colocations, as far as they apply to each instance.
    const Resource& cl = c.resources[clone];
    // (Each attempt adds the clone's colocations to the instance again: after an early
    // assignment to the current node failed, they count twice. Observed: cr:0 -99, then
    // -199, on node1 where p, with c at -100, is at INFINITY, and so with c with p at
    // -100; the first attempt's scores themselves are undone, utilization bans too.)
    // (Inserted one by one into the instance's sorted list, each ahead of its equals, as
    // Pacemaker does: two colocations with the same primary come reversed, observed:
    // `c with p` at -100 then at INFINITY apply -100 first, rnd-s15-c6-1.)
    auto& tw = inst_this_with[inst];
    for (std::uint32_t ci : cl.this_with) {
        const Colocation& col = c.colocations[ci];
        if (all_coloc || col.score < 0 || col.score == kInfinity) insert_colocation(c, tw, ci, true);
    }
    auto& wt = inst_with_this[inst];
    for (std::uint32_t ci : cl.with_this) {
        const Colocation& col = c.colocations[ci];
        if (!col.influence) continue;
        if (all_coloc || col.score < 0) insert_colocation(c, wt, ci, false);
    }
    if (prefer != kNone) {
        auto lp = ir.allowed.get(prefer, cls(c, prefer));
        if (!lp || *lp < 0) return false;
    }
    // Ban nodes this instance cannot run on (node full, not allowed, ...).
    std::vector<std::pair<NodeIdx, Score>> all;
    for_each_allowed(c, ir.allowed, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
    for (auto& [n, s] : all)
        instance_can_run(inst, n, limit, counts);
    // Assign, and undo when a preferred node was not the result.
    std::vector<std::pair<RscIdx, NodeScores>> backup;
    std::function<void(RscIdx)> save = [&](RscIdx x) {
        backup.emplace_back(x, c.resources[x].allowed);
        for (RscIdx ch : c.resources[x].children)
            save(ch);
    };
    save(inst);
    c.resources[inst].flags.assigning = false;
    // Instances are assigned with their parent "assigning" so that they do not escalate.
    NodeIdx chosen =
        c.resources[inst].is_primitive() ? assign_primitive(inst, prefer) : assign_group(inst, prefer);
    if (chosen != kNone && prefer != kNone && chosen != prefer) {
        for (auto& [x, s] : backup)
            c.resources[x].allowed = std::move(s);
        std::function<void(RscIdx)> reset = [&](RscIdx x) {
            unassign(x);
            Resource& rx = c.resources[x];
            rx.flags.provisional = true;
            rx.next_role = Role::unknown;
            rx.next_role_reason.clear();
            for (RscIdx ch : rx.children)
                reset(ch);
        };
        reset(inst);
        chosen = kNone;
    }
    if (chosen != kNone) ++counts[chosen];
    return chosen != kNone;
}

NodeIdx Assigner::assign_clone(RscIdx r, NodeIdx prefer)
{
    (void)prefer;
    Resource& cl = c.resources[r];
    if (!cl.flags.provisional) return kNone;
    if (cl.flags.assigning) return kNone;
    cl.flags.assigning = true;
    for (std::uint32_t ci : std::vector<std::uint32_t>(cl.this_with))
        assign(c.colocations[ci].primary, kNone);
    for (std::uint32_t ci : std::vector<std::uint32_t>(c.resources[r].with_this)) {
        const Colocation& col = c.colocations[ci];
        if (!col.influence) continue;
        merge_scores(col.dependent, c.resources[r].allowed, col.node_attribute,
                     static_cast<float>(col.score) / static_cast<float>(kInfinity), true, true, 0);
    }
    log_scores(c, "pcmk__clone_allocate", r, c.resources[r].allowed);
    Resource& clr = c.resources[r];
    std::vector<RscIdx> order = clr.children;
    auto active_count = [&](RscIdx inst) {
        std::vector<RscIdx> leaves;
        c.leaves(inst, leaves);
        std::size_t n = 0;
        for (RscIdx l : leaves)
            n = std::max(n, c.resources[l].running_on.size());
        return n;
    };
    auto failed = [&](RscIdx inst) {
        std::vector<RscIdx> leaves;
        c.leaves(inst, leaves);
        for (RscIdx l : leaves) {
            if (c.resources[l].flags.failed) return true;
        }
        return false;
    };
    // Pacemaker's instance order (pcmk__cmp_instance): less multiply active first, not
    // active on a node it may not stay on, higher priority, active, current node able to run
    // resources, the clone allowed there, not failed, the higher score there from the
    // clone's colocations, then the instance number (the list's order).
    std::unordered_map<RscIdx, Score> coloc_score;
    auto colocation_score = [&](RscIdx inst, NodeIdx cur) {
        auto it = coloc_score.find(inst);
        if (it != coloc_score.end()) return it->second;
        NodeScores table;
        // I1: an offline node (an unclean one whose instances are still counted) weighs
        // -INFINITY here, so its instance sorts after those on online nodes (observed:
        // "Assign cr:0 (-1000000 on node1) after cr:1 (0 on node2)", rnd-s161-c0-4).
        table.set(cur, cls(c, cur), c.nodes[cur].online ? c.nodes[cur].weight : -kInfinity);
        for (std::uint32_t ci : std::vector<std::uint32_t>(c.resources[r].this_with)) {
            const Colocation& col = c.colocations[ci];
            merge_scores(col.primary, table, col.node_attribute,
                         static_cast<float>(col.score) / static_cast<float>(kInfinity), false, false, 0);
        }
        for (std::uint32_t ci : std::vector<std::uint32_t>(c.resources[r].with_this)) {
            const Colocation& col = c.colocations[ci];
            if (!col.influence) continue;
            merge_scores(col.dependent, table, col.node_attribute,
                         static_cast<float>(col.score) / static_cast<float>(kInfinity), true, false, 0);
        }
        const Score sc = table.get(cur, cls(c, cur)).value_or(-kInfinity);
        coloc_score.emplace(inst, sc);
        return sc;
    };
    std::stable_sort(order.begin(), order.end(), [&](RscIdx a, RscIdx b) {
        const std::size_t na = active_count(a), nb = active_count(b);
        if (na > 0 && nb > 0 && na != nb) return na < nb;
        NodeIdx cur_a = na > 0 ? first_running(c, a) : kNone;
        NodeIdx cur_b = nb > 0 ? first_running(c, b) : kNone;
        // Active on a node where its score is negative (or not allowed): as if inactive.
        auto allowed_there = [&](RscIdx inst, NodeIdx& cur) {
            if (cur == kNone) return true;
            auto sc = c.resources[inst].allowed.get(cur, cls(c, cur));
            if (!sc || *sc < 0) {
                cur = kNone;
                return false;
            }
            return true;
        };
        const bool aa = allowed_there(a, cur_a), ab = allowed_there(b, cur_b);
        if (aa != ab) return aa;
        if (c.resources[a].priority != c.resources[b].priority)
            return c.resources[a].priority > c.resources[b].priority;
        if (cur_a == kNone || cur_b == kNone) return cur_a != kNone && cur_b == kNone;
        const bool ra = can_run(c, cur_a), rb = can_run(c, cur_b);
        if (ra != rb) return ra;
        const bool pa = clr.allowed.allowed(cur_a, cls(c, cur_a)),
                   pb = clr.allowed.allowed(cur_b, cls(c, cur_b));
        if (!pa || !pb) return pa && !pb;
        const bool fa = failed(a), fb = failed(b);
        if (fa != fb) return !fa;
        const Score sa = colocation_score(a, cur_a), sb = colocation_score(b, cur_b);
        if (sa != sb) return sa > sb;
        return false;
    });
    instance_order[r] = order;
    std::vector<int> counts(c.nodes.size(), 0);
    int available = 0;
    for (NodeIdx n : c.node_order) {
        if (can_run(c, n) && clr.allowed.allowed(n, cls(c, n))) ++available;
    }
    const int max = clr.clone_max;
    const int per_node = clr.clone_node_max;
    const bool all_coloc = max < available;
    int loop_max = available > 0 ? max / available : 1;
    if (loop_max < 1) loop_max = 1;
    int allocated = 0;
    // Pre-assign active instances to where they are.
    for (RscIdx inst : order) {
        if (allocated >= max) break;
        const Resource& ir = c.resources[inst];
        NodeIdx cur = first_running(c, inst);
        if (cur == kNone || !ir.flags.provisional || failed(inst)) continue;
        if (!c.resources[r].allowed.allowed(cur, cls(c, cur))) continue;
        if (counts[cur] < loop_max && can_run(c, cur)) {
            auto ps = c.resources[r].allowed.get(cur, cls(c, cur));
            if (ps && *ps >= 0 && counts[cur] < per_node) {
                if (assign_instance(r, inst, cur, all_coloc, per_node, counts)) ++allocated;
            }
        }
    }
    for (RscIdx inst : order) {
        const Resource& ir = c.resources[inst];
        if (!ir.flags.provisional) continue;
        if (allocated >= max) {
            // Limit reached: the instance stays unassigned.
            resource_location(c, inst, kNone, -kInfinity);
            continue;
        }
        if (assign_instance(r, inst, kNone, all_coloc, per_node, counts)) ++allocated;
    }
    if (c.resources[r].flags.promotable) set_instance_roles(r);
    Resource& done = c.resources[r];
    done.flags.provisional = false;
    done.flags.assigning = false;
    return kNone;
}

}  // namespace

// ----- promotion ------------------------------------------------------------------------

namespace {

void set_next_role_recursive(Cluster& c, RscIdx r, Role role)
{
    Resource& rsc = c.resources[r];
    rsc.next_role = role;
    for (RscIdx ch : rsc.children)
        set_next_role_recursive(c, ch, role);
}

// Unpromoted if assigned, else stopped (next role); or, for the current role, Started
// becomes Unpromoted.
void set_unpromoted(Cluster& c, RscIdx r, bool current)
{
    Resource& rsc = c.resources[r];
    if (current) {
        if (rsc.role == Role::started) rsc.role = Role::unpromoted;
    } else {
        bool assigned = rsc.assigned != kNone;
        if (!rsc.is_primitive()) {
            std::vector<RscIdx> leaves;
            c.leaves(r, leaves);
            assigned = false;
            for (RscIdx l : leaves)
                assigned = assigned || c.resources[l].assigned != kNone;
        }
        rsc.next_role = assigned ? Role::unpromoted : Role::stopped;
    }
    for (RscIdx ch : rsc.children)
        set_unpromoted(c, ch, current);
}

Role inst_next_role(const Cluster& c, RscIdx inst)
{
    const Resource& r = c.resources[inst];
    if (r.is_primitive()) return r.next_role;
    Role role = Role::unknown;
    for (RscIdx ch : r.children)
        role = std::max(role, inst_next_role(c, ch));
    return role;
}

Role inst_role(const Cluster& c, RscIdx inst)
{
    const Resource& r = c.resources[inst];
    if (r.is_primitive()) return r.role;
    Role role = Role::unknown;
    for (RscIdx ch : r.children)
        role = std::max(role, inst_role(c, ch));
    return role;
}

bool anonymous_instance_owns(const Cluster& c, RscIdx inst, NodeIdx n)
{
    const Resource& leaf = c.resources[inst];
    RscIdx clone = c.clone_of(inst);
    std::vector<RscIdx> all;
    for (RscIdx i : c.resources[clone].children)
        c.leaves(i, all);
    for (RscIdx l : all) {
        if (c.resources[l].base_id != leaf.base_id) continue;
        const auto& ro = c.resources[l].running_on;
        if (std::find(ro.begin(), ro.end(), n) != ro.end()) return l == inst;
    }
    for (RscIdx l : all) {
        if (c.resources[l].base_id != leaf.base_id) continue;
        const auto& ko = c.resources[l].known_on;
        if (std::find(ko.begin(), ko.end(), n) != ko.end()) return true;
    }
    return false;
}

bool limited_to_unpromoted(const Cluster& c, RscIdx inst)
{
    std::vector<RscIdx> leaves;
    c.leaves(inst, leaves);
    return std::any_of(leaves.begin(), leaves.end(),
                       [&](RscIdx l) { return c.resources[l].target_role == Role::unpromoted; });
}

Score promotion_score(const Cluster& c, RscIdx r, NodeIdx n, Score not_set)
{
    const Resource& rsc = c.resources[r];
    if (n == kNone) return not_set;
    if (!rsc.children.empty()) {
        Score score = not_set;
        for (RscIdx ch : rsc.children) {
            const Score s = promotion_score(c, ch, n, not_set);
            score = score == not_set ? s : score + s;
        }
        return score;
    }
    if (!rsc.flags.unique && anonymous_instance_owns(c, r, n)) {
        // this instance speaks for the node
    } else if (!rsc.running_on.empty() || !rsc.known_on.empty()) {
        const bool known = std::find(rsc.known_on.begin(), rsc.known_on.end(), n) != rsc.known_on.end();
        const bool running =
            std::find(rsc.running_on.begin(), rsc.running_on.end(), n) != rsc.running_on.end();
        if (!known && !running) return not_set;
    }
    auto w = rsc.allowed.get(n, c.nodes[n].is_remote_class());
    if (!w || *w < 0) return not_set;
    NodeIdx attr_node = n;
    if (rsc.container_attribute_target == "host" && c.nodes[n].kind == NodeKind::guest) {
        const Resource& conn = c.resources[c.nodes[n].remote_rsc];
        if (conn.container != kNone && !c.resources[conn.container].running_on.empty())
            attr_node = c.resources[conn.container].running_on.front();
    }
    const Node& node = c.nodes[attr_node];
    std::string_view v = node.attr("master-" + rsc.id);
    if (!node.has_attr("master-" + rsc.id) && !rsc.flags.unique) {
        v = node.attr("master-" + rsc.base_id);
        if (!node.has_attr("master-" + rsc.base_id)) return not_set;
    } else if (!node.has_attr("master-" + rsc.id)) {
        return not_set;
    }
    return parse_score(v);
}

}  // namespace

void Assigner::set_instance_roles(RscIdx clone)
{
    Resource& cl = c.resources[clone];
    std::vector<int> promoted_count(c.nodes.size(), 0);
    for (RscIdx inst : cl.children) {
        Resource& ir = c.resources[inst];
        if (inst_role(c, inst) == Role::started) set_unpromoted(c, inst, true);
        const NodeIdx chosen = location(inst);
        // Only an instance that will be active can be promoted; the others keep their
        // sort index (0) and are shown "on none".
        if (chosen == kNone) {
            ir.sort_index = 0;
            continue;
        }
        Role next = inst_next_role(c, inst);
        // Rule TR1: target-role Unpromoted (on the clone or inside the instance) keeps the
        // instance from promotion: its promotion score is -INFINITY (an unmanaged promoted
        // instance stays as it is).
        if (next != Role::stopped && next != Role::promoted && limited_to_unpromoted(c, inst))
            next = Role::unpromoted;
        Score priority = 0;
        switch (next) {
            case Role::started:
            case Role::unknown:
                priority = promotion_score(c, inst, chosen, -1);
                break;
            case Role::unpromoted:
            case Role::stopped:
                priority = -kInfinity;
                break;
            case Role::promoted:
                priority = kInfinity;
                break;
        }
        // rsc_location with role=Promoted (on the instance or the clone).
        auto apply_promoted = [&](const std::vector<std::uint32_t>& locs) {
            for (std::uint32_t li : locs) {
                const Location& loc = c.locations[li];
                if (chosen == kNone) continue;
                if (loc.has_node) {
                    if (loc.role && *loc.role == Role::promoted && c.find_node(loc.node) == chosen)
                        priority = add_scores(priority, loc.score);
                    continue;
                }
                for (const xmlNode* rule : loc.rules) {
                    auto rule_role = parse_role(xml::attr(rule, "role"));
                    Role role = loc.role ? *loc.role : (rule_role ? *rule_role : Role::unknown);
                    if (role != Role::promoted) continue;
                    RuleContext ctx = node_context(c, chosen);
                    if (!evaluate_rule(rule, ctx)) continue;
                    const char* score_attr = xml::attr_c(rule, "score-attribute");
                    Score sc = parse_score(xml::attr(rule, "score"));
                    if (score_attr) sc = parse_score(c.nodes[chosen].attr(score_attr));
                    priority = add_scores(priority, sc);
                }
            }
        };
        apply_promoted(ir.promoted_locations);
        apply_promoted(cl.promoted_locations);
        ir.promotion_score = priority;
        // Colocations of this instance that concern roles.
        for (std::uint32_t ci : this_with_of(inst)) {
            const Colocation& col = c.colocations[ci];
            if (!col.dependent_role || !col.primary_role) continue;
            const Resource& p = c.resources[col.primary];
            NodeIdx pn = location(col.primary);
            if (p.is_clone()) {
                for (RscIdx pi : p.children) {
                    if (location(pi) == chosen && chosen != kNone &&
                        inst_next_role(c, pi) == *col.primary_role) {
                        pn = chosen;
                        break;
                    }
                }
            }
            if (pn != kNone && pn == chosen && *col.dependent_role == Role::promoted)
                ir.promotion_score = add_scores(ir.promotion_score, col.score);
        }
        ir.sort_index = next == Role::promoted ? kInfinity : ir.promotion_score;
    }
    // Promotion order: instance scores added to the clone's scores of their nodes, plus
    // the colocations with the promoted role, written back as the sort order.
    NodeScores weights = cl.allowed;
    for (RscIdx inst : cl.children) {
        const NodeIdx chosen = location(inst);
        if (chosen == kNone || c.resources[inst].sort_index < 0) continue;
        weights.add(chosen, cls(c, chosen), c.resources[inst].sort_index);
    }
    for (std::uint32_t ci : cl.this_with) {
        const Colocation& col = c.colocations[ci];
        if (col.dependent_role && *col.dependent_role == Role::promoted) {
            // primary's scores (rollback unless mandatory)
            NodeScores backup = weights;
            std::vector<std::pair<NodeIdx, Score>> all;
            for_each_allowed(c, weights, [&](NodeIdx n, Score s) { all.emplace_back(n, s); });
            const float factor = static_cast<float>(col.score) / static_cast<float>(kInfinity);
            for (auto& [n, s] : all) {
                Score ps = best_score_matching(col.primary, "#uname", node_value(n, "#uname"));
                if (factor < 0 && ps < 0) continue;
                const float wf = factor * static_cast<float>(ps);
                int w = static_cast<int>(wf < 0 ? wf - 0.5F : wf + 0.5F);
                if (w == 0 && ps != 0) w = factor > 0 ? 1 : -1;
                weights.set(n, cls(c, n), add_scores(w, s));
            }
            if (col.score < kInfinity && !any_available(c, weights)) weights = std::move(backup);
        }
    }
    for (std::uint32_t ci : cl.with_this) {
        const Colocation& col = c.colocations[ci];
        if (!col.influence) continue;
        if (col.primary_role && *col.primary_role == Role::promoted) {
            merge_scores(col.dependent, weights, col.node_attribute,
                         static_cast<float>(col.score) / static_cast<float>(kInfinity), true, true, 0);
        }
    }
    for (RscIdx inst : cl.children) {
        Resource& ir = c.resources[inst];
        const NodeIdx chosen = location(inst);
        if (!ir.flags.managed && inst_next_role(c, inst) == Role::promoted) {
            ir.sort_index = kInfinity;
        } else if (chosen != kNone && ir.sort_index >= 0) {
            ir.sort_index = weights.get(chosen, cls(c, chosen)).value_or(ir.sort_index);
        }
    }
    std::vector<RscIdx> order = cl.children;
    if (auto it = instance_order.find(clone); it != instance_order.end()) order = it->second;
    std::stable_sort(order.begin(), order.end(), [&](RscIdx a, RscIdx b) {
        if (c.resources[a].sort_index != c.resources[b].sort_index)
            return c.resources[a].sort_index > c.resources[b].sort_index;
        return inst_role(c, a) > inst_role(c, b);
    });
    instance_order[clone] = order;  // (Pacemaker sorts the clone's instances so.)
    int promoted = 0;
    for (RscIdx inst : order) {
        Resource& ir = c.resources[inst];
        if (c.show_scores) {
            // The final sort index, in promotion order.
            const NodeIdx where = location(inst);
            c.score_lines.push_back({ScoreLine::Kind::promotion,
                                     {},
                                     ir.id,
                                     where == kNone ? std::string() : c.nodes[where].name,
                                     score_text(ir.sort_index),
                                     {}});
        }
        NodeIdx chosen = kNone;
        if (ir.sort_index >= 0 && (promoted < cl.promoted_max || !cl.flags.managed)) {
            const NodeIdx n = location(inst);
            bool ok = n != kNone && ir.promotion_score >= 0;
            if (ok && !ir.flags.managed && inst_role(c, inst) != Role::promoted) ok = false;
            if (ok && !can_run(c, n)) ok = false;
            if (ok && c.nodes[n].kind == NodeKind::guest) {
                const Resource& conn = c.resources[c.nodes[n].remote_rsc];
                if (conn.container == kNone || location(conn.container) == kNone) ok = false;
            }
            if (ok && !cl.allowed.allowed(n, cls(c, n))) ok = false;
            if (ok && promoted_count[n] >= cl.promoted_node_max && ir.flags.managed) ok = false;
            if (ok) chosen = n;
        }
        if (chosen == kNone) {
            set_unpromoted(c, inst, false);
            continue;
        }
        if (!c.options.have_quorum &&
            ((inst_role(c, inst) < Role::promoted && c.options.no_quorum_policy == NoQuorumPolicy::freeze) ||
             c.options.no_quorum_policy == NoQuorumPolicy::demote)) {
            set_unpromoted(c, inst, false);
            continue;
        }
        ++promoted_count[chosen];
        set_next_role_recursive(c, inst, Role::promoted);
        ++promoted;
    }
}

void assign_resources(Cluster& c)
{
    for (const Resource& r : c.resources) {
        if (r.flags.fence_device) c.have_fence_device = true;
    }
    Assigner a{c, false, {}, false, {}, {}, {}, {}};
    // Target roles.
    for (Resource& r : c.resources) {
        if (r.target_role == Role::stopped) {
            r.next_role = Role::stopped;
            r.next_role_reason = "target-role";
        }
    }
    // Resources are assigned in Pacemaker's list order (by priority, then as configured);
    // with a placement strategy, in the order of U3, which every later stage follows too.
    if (c.options.strategy != PlacementStrategy::default_) a.sort_for_assignment(c.top);
    a.show_capacities("Original");
    const std::vector<RscIdx> order = c.top;
    // Without any remote or guest node (every connection's name a cluster node's, rule 9)
    // Pacemaker assigns no connection at all: they stop, and show no scores (observed).
    const bool have_remote_nodes =
        std::any_of(c.nodes.begin(), c.nodes.end(), [](const Node& n) { return n.is_remote_class(); });
    for (RscIdx r : order) {
        const Resource& rsc = c.resources[r];
        if (have_remote_nodes && rsc.is_primitive() && rsc.flags.is_remote_connection)
            a.assign(r, rsc.partial_migration_target);
    }
    for (RscIdx r : order) {
        const Resource& rsc = c.resources[r];
        if (!(rsc.is_primitive() && rsc.flags.is_remote_connection)) a.assign(r, kNone);
    }
    a.show_capacities("Remaining");
    // I2: Pacemaker sorts a clone's own list of instances (for assignment, then promotion),
    // and every later stage follows that list, unless probing puts it back in instance
    // order (create_probes).
    for (auto& [clone, sorted] : a.instance_order)
        c.resources[clone].children = sorted;
}

}  // namespace outpost::cluster::policy
