#include "policy/cluster.hpp"

#include "policy/unpack.hpp"

#include <strings.h>
#include <algorithm>
#include <cstdio>
#include <cstring>

namespace outpost::cluster::policy {

const char* role_name(Role role)
{
    switch (role) {
        case Role::unknown:
            return "Unknown";
        case Role::stopped:
            return "Stopped";
        case Role::started:
            return "Started";
        case Role::unpromoted:
            return "Unpromoted";
        case Role::promoted:
            return "Promoted";
    }
    return "Unknown";
}

std::optional<Role> parse_role(std::string_view t)
{
    auto eq = [&](const char* s) {
        return t.size() == std::strlen(s) && strncasecmp(t.data(), s, t.size()) == 0;
    };
    if (eq("Stopped")) return Role::stopped;
    if (eq("Started")) return Role::started;
    if (eq("Unpromoted") || eq("Slave")) return Role::unpromoted;
    if (eq("Promoted") || eq("Master")) return Role::promoted;
    if (eq("Unknown")) return Role::unknown;
    return std::nullopt;
}

int NodeScores::find(NodeIdx node) const
{
    auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                               [](const Entry& e, NodeIdx n) { return e.node < n; });
    if (it == entries_.end() || it->node != node) return -1;
    return static_cast<int>(it - entries_.begin());
}

void NodeScores::insert(NodeIdx node, Score score)
{
    auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                               [](const Entry& e, NodeIdx n) { return e.node < n; });
    entries_.insert(it, Entry{node, score});
}

bool NodeScores::allowed(NodeIdx node, bool remote_class) const
{
    return get(node, remote_class).has_value();
}

std::optional<Score> NodeScores::get(NodeIdx node, bool remote_class) const
{
    int i = find(node);
    if (i >= 0) {
        const Score s = entries_[static_cast<std::size_t>(i)].score;
        if (s == kDisallowed) return std::nullopt;
        return s;
    }
    return default_[remote_class];
}

void NodeScores::add(NodeIdx node, bool remote_class, Score score)
{
    int i = find(node);
    if (i >= 0) {
        auto& e = entries_[static_cast<std::size_t>(i)];
        e.score = e.score == kDisallowed ? score : add_scores(e.score, score);
        return;
    }
    const Score base = default_[remote_class].value_or(0);
    insert(node, add_scores(base, score));
}

void NodeScores::set(NodeIdx node, bool remote_class, Score score)
{
    (void)remote_class;
    int i = find(node);
    if (i >= 0) {
        entries_[static_cast<std::size_t>(i)].score = score;
        return;
    }
    insert(node, score);
}

void NodeScores::disallow(NodeIdx node, bool remote_class)
{
    int i = find(node);
    if (!default_[remote_class]) {
        if (i >= 0) entries_.erase(entries_.begin() + i);
        return;
    }
    if (i >= 0) {
        entries_[static_cast<std::size_t>(i)].score = kDisallowed;
    } else {
        insert(node, kDisallowed);
    }
}

void Action::set_meta(std::string name, std::string value)
{
    for (auto& [k, v] : meta) {
        if (k == name) {
            v = std::move(value);
            return;
        }
    }
    meta.emplace_back(std::move(name), std::move(value));
}

const std::string* Action::meta_value(std::string_view name) const
{
    for (const auto& [k, v] : meta) {
        if (k == name) return &v;
    }
    return nullptr;
}

std::string ScoreLine::text() const
{
    std::string s;
    switch (kind) {
        case Kind::allocation:
            return label + ": " + rsc + " allocation score on " + node + ": " + score;
        case Kind::promotion:
            return rsc + " promotion score on " + (node.empty() ? std::string("none") : node) + ": " + score;
        case Kind::capacity:
            s = label + ": " + node + " capacity:";
            break;
        case Kind::utilization:
            s = label + ": " + rsc + " utilization on " + node + ":";
            break;
    }
    for (const auto& [k, v] : values) {
        s += ' ';
        s += k;
        s += '=';
        s += v;
    }
    return s;
}

std::string Cluster::readable_interval(std::int64_t interval_ms)
{
    if (interval_ms <= 0) {
        if (last_readable_interval.empty()) last_readable_interval = "0s";
        return last_readable_interval;
    }
    constexpr std::int64_t kS = 1000, kM = 60 * kS, kH = 60 * kM, kD = 24 * kH;
    std::int64_t ms = interval_ms;
    std::string s;
    // Each unit only when strictly more than one of it is left (60000 reads "60s").
    for (const auto& [unit, suffix] : {std::pair{kD, "d"}, std::pair{kH, "h"}, std::pair{kM, "m"}}) {
        if (ms > unit) {
            s += std::to_string(ms / unit) + suffix;
            ms %= unit;
        }
    }
    if (ms > kS) {
        s += std::to_string(ms / kS);
        ms %= kS;
        if (ms > 0) {
            char frac[8];
            (void)std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
            s += frac;
        }
        s += "s";
    } else if (ms > 0) {
        s += std::to_string(ms) + "ms";
    }
    last_readable_interval = s;
    return s;
}

NodeIdx Cluster::add_late_node(Node node)
{
    const NodeIdx idx = static_cast<NodeIdx>(nodes.size());
    node_by_name.emplace(node.name, idx);
    node_by_id.emplace(node.id, idx);
    const bool remote_class = node.is_remote_class();
    nodes.push_back(std::move(node));
    auto pos = std::lower_bound(node_order.begin(), node_order.end(), idx, [&](NodeIdx a, NodeIdx b) {
        return compare_node_names(nodes[a].name, nodes[b].name) < 0;
    });
    node_order.insert(pos, idx);
    for (Resource& r : resources)
        r.allowed.disallow(idx, remote_class);
    return idx;
}

NodeIdx Cluster::find_node(std::string_view name) const
{
    auto it = node_by_name.find(std::string(name));
    return it == node_by_name.end() ? kNone : it->second;
}

NodeIdx Cluster::find_node_by_id(std::string_view id) const
{
    auto it = node_by_id.find(std::string(id));
    return it == node_by_id.end() ? kNone : it->second;
}

RscIdx Cluster::find_rsc(std::string_view id) const
{
    auto it = rsc_by_id.find(std::string(id));
    return it == rsc_by_id.end() ? kNone : it->second;
}

RscIdx Cluster::top_of(RscIdx r) const
{
    while (resources[r].parent != kNone)
        r = resources[r].parent;
    return r;
}

RscIdx Cluster::clone_of(RscIdx r) const
{
    for (RscIdx p = r; p != kNone; p = resources[p].parent) {
        if (resources[p].is_clone()) return p;
    }
    return kNone;
}

bool Cluster::in_anonymous_clone(RscIdx r) const
{
    RscIdx cl = clone_of(r);
    return cl != kNone && cl != r && !resources[cl].flags.unique;
}

void Cluster::leaves(RscIdx r, std::vector<RscIdx>& out) const
{
    const Resource& rsc = resources[r];
    if (rsc.is_primitive()) {
        out.push_back(r);
        return;
    }
    for (RscIdx ch : rsc.children)
        leaves(ch, out);
}

std::optional<Score> Cluster::score_on(RscIdx r, NodeIdx n) const
{
    return resources[r].allowed.get(n, nodes[n].is_remote_class());
}

bool Cluster::node_available(NodeIdx n, bool consider_guest_pending) const
{
    const Node& node = nodes[n];
    (void)consider_guest_pending;
    return node.online && !node.shutdown && !node.unclean && !node.standby && !node.maintenance &&
           !node.pending;
}

std::string op_key(std::string_view rsc, std::string_view task, std::int64_t interval_ms)
{
    std::string key;
    key.reserve(rsc.size() + task.size() + 24);
    key.append(rsc).append("_").append(task).append("_").append(std::to_string(interval_ms));
    return key;
}

std::string notify_key(std::string_view rsc, std::string_view type, std::string_view op)
{
    std::string key;
    key.append(rsc).append("_").append(type).append("_notify_").append(op).append("_0");
    return key;
}

ActIdx Cluster::find_action(RscIdx r, std::string_view key, NodeIdx node) const
{
    auto it = actions_by_key.find(std::string(key));
    if (it == actions_by_key.end()) return kNone;
    for (ActIdx a : it->second) {
        if (actions[a].node == node && actions[a].rsc == r) return a;
    }
    return kNone;
}

ActIdx Cluster::make_action(RscIdx r, std::string key, std::string task, NodeIdx node, bool optional,
                            std::int64_t interval_ms)
{
    ActIdx existing = find_action(r, key, node);
    if (existing == kNone && node != kNone) {
        // An action created without a node is the same action once a node asks for it.
        ActIdx unassigned = find_action(r, key, kNone);
        if (unassigned != kNone) {
            actions[unassigned].node = node;
            existing = unassigned;
        }
    }
    if (existing != kNone) {
        if (!optional) set_required(existing);
        return existing;
    }
    Action a;
    a.id = static_cast<ActIdx>(actions.size());
    a.key = std::move(key);
    a.task = std::move(task);
    a.rsc = r;
    a.node = node;
    a.interval_ms = interval_ms;
    a.flags = kActRunnable | (optional ? kActOptional : 0U);
    actions_by_key[a.key].push_back(a.id);
    if (r != kNone) {
        resources[r].actions.push_back(a.id);
        resources[r].actions_by_key[a.key].push_back(a.id);
    }
    actions.push_back(std::move(a));
    return actions.back().id;
}

void Cluster::set_required(ActIdx a, std::string_view reason)
{
    Action& act = actions[a];
    if (act.flags & kActOptional) {
        act.flags &= ~kActOptional;
        if (!reason.empty() && act.reason.empty()) act.reason = std::string(reason);
    }
}

void Cluster::set_unrunnable(ActIdx a, std::string_view reason)
{
    Action& act = actions[a];
    if (act.flags & kActRunnable) {
        act.flags &= ~kActRunnable;
        if (!reason.empty() && act.reason.empty()) act.reason = std::string(reason);
    }
}

bool Cluster::order(ActIdx first, ActIdx then, std::uint32_t flags)
{
    if (first == kNone || then == kNone || first == then) return false;
    if (!edge_set.insert(EdgeKey{first, then}, flags)) return false;
    const auto e = static_cast<EdgeIdx>(edges.size());
    edges.push_back({first, then, flags});
    actions[first].after.push_back(e);
    actions[then].before.push_back(e);
    return true;
}

}  // namespace outpost::cluster::policy
