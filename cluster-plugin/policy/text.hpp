// crm_simulate's text (Pacemaker 2.1.5): the cluster status as crm_mon prints it, the
// transition summary lines, and the executed-actions list, so the two tools' outputs can
// be compared line by line.
#pragma once

#include <string>
#include <vector>

#include "policy/cluster.hpp"

namespace outpost::cluster::policy {

// "  * Node List:" ... "  * Full List of Resources:" ... (no heading line). Not fancy: as
// crm_simulate 2.1.5 prints it with -s or -U, the items without list headings, bullets,
// indentation or item names ("[ node1 node2 ]" for "Online: [ node1 node2 ]").
std::string render_status(const Cluster& c, bool fancy = true);
// Whether crm_mon leaves a top-level resource out of the resource list although it is
// partially active (observed): a group or clone whose only active members are unmanaged
// on nodes that are offline. Pacemaker records such a member's node for the member but
// not for its collective, and lists no collective it finds active but running nowhere.
bool hidden_from_status(const Cluster& c, RscIdx r);
// What crm_mon shows instead of a resource's role while an operation on it is pending
// ("Starting", "Migrating", ...; role="Starting" in XML), or empty.
std::string pending_state(const Cluster& c, RscIdx r);
// One "Transition Summary:" line: a fencing (change "Fence (reboot)", details the node) or
// a resource change with its roles and nodes.
struct SummaryEntry {
    std::string change;    // Start, Stop, Move, ..., or "Fence (<action>)"
    std::string rsc;       // resource id (empty for fencing)
    std::string details;   // the parenthesised part as crm_simulate prints it
    std::string reason;    // the action's reason, "node availability" (fencing: without quotes)
    bool blocked = false;  // the action cannot run: "(blocked)", blocked="true" in XML
    Role role = Role::unknown;
    Role next_role = Role::unknown;
    NodeIdx origin = kNone;
    NodeIdx dest = kNone;  // fencing: the fenced node
    bool fence = false;
};
std::vector<SummaryEntry> summarize(const Cluster& c);
// A resource line's text after the details: "due to REASON", "due to REASON (blocked)",
// "blocked" or nothing.
std::string summary_reason(const SummaryEntry& e);
// "Transition Summary:" lines (without the heading).
std::string render_summary(const Cluster& c);
std::string render_summary(const std::vector<SummaryEntry>& entries);
// The notes before the current status: the "Resource management is DISABLED" banner in
// maintenance mode, and "N of M resource instances DISABLED and K BLOCKED from further
// action due to failure" when something is, each followed by a blank line; empty when neither
// applies.
std::string render_status_notes(const Cluster& c);

}  // namespace outpost::cluster::policy
