// The transition summary as crm_simulate prints it: node actions (fencing, shutdown), then
// one line per resource that changes (Start, Stop, Restart, Recover, Move, Migrate,
// Promote, Demote, Re-promote, Reload), with crm_simulate's column widths and reasons.
#include <algorithm>

#include "policy/actions.hpp"
#include "policy/text.hpp"

namespace outpost::cluster::policy {

namespace {

using Item = SummaryEntry;

struct Summary {
    const Cluster& c;
    std::vector<Item> items;

    ActIdx first_of(RscIdx r, std::string_view task, NodeIdx node, bool any_node) const
    {
        auto v = rsc_actions(c, r, task, node, any_node);
        return v.empty() ? kNone : v.front();
    }
    void add(const char* change, RscIdx r, NodeIdx origin, NodeIdx dest, ActIdx action, ActIdx source);
    void log(RscIdx r);
};

std::string node_name(const Cluster& c, NodeIdx n)
{
    return n == kNone ? std::string() : c.nodes[n].name;
}

void Summary::add(const char* change, RscIdx r, NodeIdx origin, NodeIdx dest, ActIdx action, ActIdx source)
{
    const Resource& rsc = c.resources[r];
    if (source == kNone) source = action;
    const bool need_role = rsc.role > Role::started || rsc.next_role > Role::unpromoted;
    const bool same_host = origin != kNone && dest != kNone && origin == dest;
    const bool same_role = rsc.role == rsc.next_role;
    std::string details;
    const std::string role = role_name(rsc.role);
    const std::string next = role_name(rsc.next_role);
    if (origin == kNone) {
        details = need_role ? role + " -> " + next + " " + node_name(c, dest) : node_name(c, dest);
    } else if (dest == kNone || (same_role && same_host)) {
        details = need_role ? role + " " + node_name(c, origin) : node_name(c, origin);
    } else if (need_role && same_role) {
        details = node_name(c, origin) + " -> " + node_name(c, dest) + " " + role;
    } else if (same_role) {
        details = node_name(c, origin) + " -> " + node_name(c, dest);
    } else if (same_host) {
        details = role + " -> " + next + " " + node_name(c, origin);
    } else {
        details = role + " " + node_name(c, origin) + " -> " + next + " " + node_name(c, dest);
    }
    Item item;
    item.change = change;
    item.rsc = rsc.id;
    item.details = details;
    if (source != kNone) item.reason = c.actions[source].reason;
    item.blocked = action == kNone || !c.actions[action].runnable();
    item.role = rsc.role;
    item.next_role = rsc.next_role;
    item.origin = origin;
    item.dest = dest;
    items.push_back(std::move(item));
}

void Summary::log(RscIdx r)
{
    const Resource& rsc0 = c.resources[r];
    if (!rsc0.children.empty()) {
        for (RscIdx ch : rsc0.children)
            log(ch);
        return;
    }
    Resource rsc = rsc0;  // roles are adjusted for display only
    const NodeIdx next = rsc.assigned;
    NodeIdx current = kNone;
    if (!rsc.running_on.empty()) {
        current = active_node(c, r);
        if (rsc.role == Role::stopped) rsc.role = Role::started;
    }
    if (current == kNone && rsc.flags.orphan) return;
    if (!rsc.flags.managed || (current == kNone && next == kNone)) return;
    const bool moving = current != kNone && next != kNone && current != next;
    // (Unassigned after its actions were made, O11: its start still gives the reason.)
    ActIdx start = first_of(r, "start", next, next == kNone);
    const NodeIdx start_node = (start == kNone || !c.actions[start].runnable()) ? kNone : current;
    ActIdx stop = first_of(r, "stop", start_node, start_node == kNone);
    // (A2: left running where it stays, it is recovered by its stops elsewhere.)
    if (stop == kNone && rsc.flags.stop_unexpected) stop = first_of(r, "stop", kNone, true);
    ActIdx promote = first_of(r, "promote", next, false);
    ActIdx demote = first_of(r, "demote", next, false);
    auto optional = [&](ActIdx a) { return a == kNone || c.actions[a].optional(); };
    // A temporary view with the adjusted role for the details.
    Cluster& cc = const_cast<Cluster&>(c);
    const Role saved_role = cc.resources[r].role;
    cc.resources[r].role = rsc.role;
    if (rsc.role == rsc.next_role) {
        ActIdx migrate = first_of(r, "migrate_from", next, false);
        if (migrate != kNone && current != kNone && c.actions[migrate].runnable()) {
            add("Migrate", r, current, next, start, kNone);
        } else if (rsc.flags.reload) {
            add("Reload", r, current, next, start, kNone);
        } else if (start == kNone || optional(start)) {
            if (demote != kNone && promote != kNone && !optional(demote) && !optional(promote))
                add("Re-promote", r, current, next, promote, demote);
        } else if (!c.actions[start].runnable()) {
            ActIdx reason_op = (stop == kNone || c.actions[stop].reason.empty()) ? start : stop;
            add("Stop", r, current, kNone, stop, reason_op);
        } else if (moving && current != kNone) {
            add(rsc.flags.failed ? "Recover" : "Move", r, current, next, stop, kNone);
        } else if (rsc.flags.failed) {
            add("Recover", r, current, kNone, stop, kNone);
        } else {
            add("Restart", r, current, next, start, kNone);
        }
        cc.resources[r].role = saved_role;
        return;
    }
    if (stop != kNone &&
        (rsc.next_role == Role::stopped || (start != kNone && !c.actions[start].runnable()))) {
        for (NodeIdx n : rsc.running_on) {
            ActIdx reason_op = start;
            ActIdx stop_op = first_of(r, "stop", n, false);
            if (stop_op != kNone && !c.actions[stop_op].reason.empty()) reason_op = stop_op;
            add("Stop", r, n, kNone, stop_op, reason_op);
        }
    } else if (stop != kNone && rsc.flags.failed && rsc.flags.stop_needed) {
        add("Recover", r, current, next, stop, start);
    } else if (moving) {
        add("Move", r, current, next, stop, kNone);
    } else if (rsc.flags.reload) {
        add("Reload", r, current, next, start, kNone);
    } else if (start != kNone && (!optional(start) || (current == kNone && !c.actions[start].runnable()))) {
        // (A1: a start that cannot run stays optional when created, and is listed anyway.)
        // (Stopped and started again where it runs, its role changing: "Restart s1:0 (
        // Promoted -> Unpromoted node1 )", observed, unfence-restart-promotable.)
        const bool restart = current != kNone && stop != kNone && !optional(stop);
        if (!restart && current == kNone && rsc.next_role == Role::promoted && !optional(promote)) {
            // (PR1: a new instance started and promoted is listed by its promotion,
            // "Promote c2r:0 ( Stopped -> Promoted node1 )", blocked as the promotion is.)
            add("Promote", r, current, next, promote, kNone);
        } else {
            add(restart ? "Restart" : "Start", r, current, next, start, kNone);
        }
    } else if (promote != kNone && !optional(promote)) {
        add("Promote", r, current, next, promote, kNone);
    } else if (demote != kNone && !optional(demote)) {
        add("Demote", r, current, next, demote, kNone);
    }
    cc.resources[r].role = saved_role;
}

}  // namespace

std::vector<SummaryEntry> summarize(const Cluster& c)
{
    Summary s{c, {}};
    for (auto it = c.actions.rbegin(); it != c.actions.rend(); ++it) {
        const Action& a = *it;
        if (a.rsc != kNone || a.optional()) continue;
        // (crm_simulate 2.1.5 never lists shutdowns here.)
        if (a.task != "stonith") continue;
        // (An unfencing that only a device's changed digest requires has no reason, and
        // crm_simulate 2.1.5 does not list it: UF6.)
        if (a.reason.empty()) continue;
        SummaryEntry e;
        e.change = "Fence (" + a.fence_action + ")";
        e.fence = true;
        e.dest = a.node;
        if (a.node != kNone) {
            const Node& n = c.nodes[a.node];
            e.details = n.name;
            if (n.kind == NodeKind::guest) {
                const Resource& conn = c.resources[n.remote_rsc];
                e.details += " (resource: " + c.resources[conn.container].id + ")";
            }
        }
        e.reason = a.reason;
        s.items.push_back(std::move(e));
    }
    for (RscIdx r : c.top)
        s.log(r);
    return std::move(s.items);
}

std::string summary_reason(const SummaryEntry& e)
{
    if (e.reason.empty()) return e.blocked ? "blocked" : "";
    return "due to " + e.reason + (e.blocked ? " (blocked)" : "");
}

std::string render_summary(const Cluster& c)
{
    return render_summary(summarize(c));
}

std::string render_summary(const std::vector<SummaryEntry>& entries)
{
    std::string out;
    for (const SummaryEntry& e : entries) {
        if (!e.fence) continue;
        out += "  * " + e.change + " " + e.details;
        if (!e.reason.empty()) out += " '" + e.reason + "'";
        out += "\n";
    }
    // crm_simulate's column widths grow as lines are formatted (once for the log, then
    // for the screen): ids wider than the width so far make it id + 2.
    int rsc_width = 5, detail_width = 5;
    for (const Item& i : entries) {
        if (i.fence) continue;
        if (static_cast<int>(i.rsc.size()) > rsc_width) rsc_width = static_cast<int>(i.rsc.size()) + 2;
        if (static_cast<int>(i.details.size()) > detail_width)
            detail_width = static_cast<int>(i.details.size());
    }
    for (const Item& i : entries) {
        if (i.fence) continue;
        std::string line = "  * ";
        std::string change = i.change;
        change.resize(std::max<std::size_t>(8, change.size()), ' ');
        line += change + "   ";
        std::string id = i.rsc;
        id.resize(std::max<std::size_t>(static_cast<std::size_t>(rsc_width), id.size()), ' ');
        line += id + "   ( ";
        std::string det = i.details;
        if (static_cast<int>(det.size()) < detail_width)
            det.insert(0, static_cast<std::size_t>(detail_width) - det.size(), ' ');
        line += det + " )";
        const std::string reason = summary_reason(i);
        if (!reason.empty()) line.append("  ").append(reason);
        out += line + "\n";
    }
    return out;
}

}  // namespace outpost::cluster::policy
