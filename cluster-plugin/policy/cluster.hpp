// The scheduler's working set for one run: the unpacked model plus the actions and
// orderings it decides. Internal to cluster-plugin/policy; the public face is policy.hpp.
//
// Stages (scheduler.cpp runs them in this order; each lives in its own file):
//   unpack_*.cpp    CIB -> options, nodes, resources, constraints, status   (rules 1-32)
//   placement.cpp   node scores, colocations, assignment                    (rules 33-38)
//   actions.cpp     role changes -> start/stop/promote/demote/migrate, recurring monitors
//   probes.cpp      resource discovery                                      (rules 39-42)
//   orderings.cpp   internal and user orderings, groups and clones
//   remote.cpp      orderings against connections, guest fencing            (rules 43-53)
//   fencing.cpp     fencing and shutdowns
//   propagate.cpp   requirement and runnability travel along orderings
//   graph.cpp       transition graph
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "policy/model.hpp"
#include "util/result.hpp"

namespace outpost::cluster::policy {

// One line of crm_simulate -s or -U, with its facts (--output-as=xml writes them as
// <node_weight>, <promotion_score>, <capacity> and <utilization>).
struct ScoreLine {
    enum class Kind { allocation, promotion, capacity, utilization };
    Kind kind = Kind::allocation;
    std::string label;  // allocation, utilization: the function; capacity: Original or Remaining
    std::string rsc;    // allocation, promotion, utilization
    std::string node;   // promotion: empty for none
    std::string score;  // allocation, promotion: as printed
    std::vector<std::pair<std::string, std::string>> values;  // capacity, utilization: in order
    // The line as crm_simulate prints it.
    [[nodiscard]] std::string text() const;
};

// The feature set of the Pacemaker we decide as (2.1.5): what its simulation records in
// history and what its graph gives every action.
inline constexpr const char* kFeatureSet = "3.16.1";

enum ActionFlag : std::uint32_t {
    kActOptional = 1U << 0,
    kActRunnable = 1U << 1,
    kActPseudo = 1U << 2,
    kActMigrateRunnable = 1U << 3,
    kActInGraph = 1U << 4,
    kActRequiresAny = 1U << 5,  // runnable if any input with one-or-more is
    kActReschedule = 1U << 6,
    kActClone = 1U << 7,  // action of a clone's own (pseudo) op
    kActPrinted = 1U << 8,
    kActHaveNodeAttrs = 1U << 9,
    kActFenced = 1U << 10,  // implied by fencing
    kActDedup = 1U << 11,
    kActMigrationImplied = 1U << 12,
    kActNotify = 1U << 13,
    kActAlwaysRunnableInput = 1U << 14,
    kActDangling = 1U << 15,
    kActPrintAlways = 1U << 16,  // in the graph even though optional
};

using EdgeIdx = std::uint32_t;
struct Edge {
    ActIdx first = kNone;
    ActIdx then = kNone;
    std::uint32_t flags = 0;  // OrderFlag; 0 = disabled
    // Its first is a collective's completion standing for the action ordered (O14): the
    // first time the ordering is examined, its then counts as changed.
    bool remapped = false;
};

struct Action {
    ActIdx id = 0;
    std::string key;   // "<rsc>_<task>_<interval>", "stonith-<node>-<action>", ...
    std::string task;  // operation
    RscIdx rsc = kNone;
    NodeIdx node = kNone;
    std::int64_t interval_ms = 0;
    std::uint32_t flags = kActOptional | kActRunnable;
    std::string reason;
    int priority = 0;
    const Op* op = nullptr;                                 // configured op, if any
    std::vector<std::pair<std::string, std::string>> meta;  // CRM_meta_* without the prefix
    std::vector<EdgeIdx> before;                            // edges whose `then` is this action
    std::vector<EdgeIdx> after;                             // edges whose `first` is this action
    // O14: edges whose `first` is a collective's completion standing for this action: they
    // still lead from it, as it was ordered.
    std::vector<EdgeIdx> remapped_after;
    std::vector<NodeIdx> downed;  // nodes this action takes down (graph <downed>)
    // maintenance_nodes: the nodes whose maintenance state to record, and that state
    // (graph <maintenance>, rule 16).
    std::vector<std::pair<NodeIdx, bool>> maintenance;
    std::string fence_action;  // stonith: reboot, off, on
    NodeIdx router = kNone;    // set when the graph is built

    [[nodiscard]] bool optional() const { return (flags & kActOptional) != 0; }
    [[nodiscard]] bool runnable() const { return (flags & kActRunnable) != 0; }
    [[nodiscard]] bool pseudo() const { return (flags & kActPseudo) != 0; }
    void set_meta(std::string name, std::string value);
    [[nodiscard]] const std::string* meta_value(std::string_view name) const;
};

struct EdgeKey {
    ActIdx first;
    ActIdx then;
    bool operator==(const EdgeKey&) const = default;
};
struct EdgeKeyHash {
    std::size_t operator()(const EdgeKey& k) const
    {
        std::uint64_t h = (static_cast<std::uint64_t>(k.first) << 32 | k.then) * 0x9E3779B97F4A7C15ULL;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

// The orderings made so far between each pair of actions, for O(1) deduplication: an
// open-addressing table (a transition with N x M probes has that many orderings; a
// node-based set would allocate once per ordering). As crm_simulate 2.1.5 does, a second
// ordering between the same two actions that shares a flag with an earlier one is dropped
// (observed: `p then c` Optional followed by `p then c` Mandatory restarts nothing when p
// starts); sharing a flag with any earlier one is sharing it with their union, so one slot
// per pair holds all it takes.
class EdgeSet {
public:
    // True if the ordering is new: no earlier one between the pair shares a flag with it
    // (an ordering without flags: none without flags yet).
    bool insert(const EdgeKey& key, std::uint32_t flags)
    {
        if ((count_ + 1) * 2 > slots_.size()) grow();
        Slot& s = find(slots_, key);
        if (!s.used) {
            s = Slot{key, flags, flags == 0, true};
            ++count_;
            return true;
        }
        if (flags == 0 ? s.none : (s.flags & flags) != 0) return false;
        s.flags |= flags;
        s.none = s.none || flags == 0;
        return true;
    }

private:
    struct Slot {
        EdgeKey key{};
        std::uint32_t flags = 0;  // union of the pair's orderings' flags
        bool none = false;        // an ordering without flags was made
        bool used = false;
    };
    static Slot& find(std::vector<Slot>& slots, const EdgeKey& key)
    {
        const std::size_t mask = slots.size() - 1;
        for (std::size_t i = EdgeKeyHash{}(key)&mask;; i = (i + 1) & mask) {
            Slot& s = slots[i];
            if (!s.used || s.key == key) return s;
        }
    }
    void grow()
    {
        std::vector<Slot> bigger(slots_.empty() ? 1024 : slots_.size() * 2);
        for (const Slot& s : slots_) {
            if (s.used) find(bigger, s.key) = s;
        }
        slots_ = std::move(bigger);
    }
    std::vector<Slot> slots_;
    std::size_t count_ = 0;
};

struct Cluster {
    xml::Document cib;
    xmlNode* root = nullptr;
    EpochSeconds now = 0;
    bool now_from_cib = false;  // execution-date
    Options options;
    std::vector<Node> nodes;
    std::vector<NodeIdx> node_order;                // Pacemaker's node list order (by name)
    std::vector<NodeIdx> connection_named_members;  // Node::named_by_connection (rule 9)
    std::unordered_map<std::string, NodeIdx> node_by_name;
    std::unordered_map<std::string, NodeIdx> node_by_id;
    std::vector<Resource> resources;
    std::vector<RscIdx> top;  // top-level resources in configuration order
    std::unordered_map<std::string, RscIdx> rsc_by_id;
    std::vector<Location> locations;
    std::vector<Colocation> colocations;
    std::vector<Ordering> orderings;
    std::size_t internal_orderings_end = 0;  // orderings before it: groups, clones, stop/start
    std::unordered_map<std::string, Ticket> tickets;
    std::vector<std::string> config_warnings;
    bool show_scores = false;       // collect allocation score lines (-s)
    bool show_utilization = false;  // collect utilization lines (-U)
    bool sanitized = false;         // ScheduleOptions::sanitized
    // Assignment's lines in the order crm_simulate prints them: allocation and promotion
    // scores (-s), node capacities and assigned utilization (-U).
    std::vector<ScoreLine> score_lines;
    // Informational lines crm_simulate prints with -s or -U before them ("Only 'private'
    // parameters ... changed").
    std::vector<std::string> info_lines;
    // Pacemaker's readable interval ("60s", "2m", "1500ms"), with its static buffer: an
    // interval of 0 reads "0s" only while nothing else was formatted, the last text after.
    std::string readable_interval(std::int64_t interval_ms);
    std::string last_readable_interval;
    bool have_fence_device = false;
    bool unfencing_configured = false;  // UF1: a fence device provides unfencing (or a resource requires it)
    bool enable_unfencing = false;      // and stonith-enabled
    int disabled_count = 0;             // for "N of M resource instances DISABLED"
    int blocked_count = 0;

    // Actions
    std::vector<Action> actions;
    std::unordered_map<std::string, std::vector<ActIdx>> actions_by_key;  // key -> actions (any node)
    std::vector<Edge> edges;
    EdgeSet edge_set;  // orderings already made
    std::vector<ActIdx> fence_actions;

    // A node created after resources were unpacked (an orphaned connection's): kept in name
    // order and, as in Pacemaker, not in any resource's allowed nodes.
    NodeIdx add_late_node(Node node);

    // Lookup
    [[nodiscard]] NodeIdx find_node(std::string_view name) const;
    [[nodiscard]] NodeIdx find_node_by_id(std::string_view id) const;
    [[nodiscard]] RscIdx find_rsc(std::string_view id) const;
    Resource& rsc(RscIdx idx) { return resources[idx]; }
    [[nodiscard]] const Resource& rsc(RscIdx idx) const { return resources[idx]; }
    Node& node(NodeIdx idx) { return nodes[idx]; }
    [[nodiscard]] const Node& node(NodeIdx idx) const { return nodes[idx]; }
    Action& action(ActIdx idx) { return actions[idx]; }
    [[nodiscard]] const Action& action(ActIdx idx) const { return actions[idx]; }

    // Resource tree helpers
    [[nodiscard]] RscIdx top_of(RscIdx r) const;
    [[nodiscard]] RscIdx clone_of(RscIdx r) const;  // nearest clone ancestor or kNone
    [[nodiscard]] bool in_anonymous_clone(RscIdx r) const;
    // Leaf primitives below r (r itself if primitive).
    void leaves(RscIdx r, std::vector<RscIdx>& out) const;
    [[nodiscard]] bool is_guest_node(NodeIdx n) const { return nodes[n].kind == NodeKind::guest; }
    [[nodiscard]] bool is_remote_node(NodeIdx n) const { return nodes[n].kind == NodeKind::remote; }
    // Node scores of a resource on a node (nullopt = not allowed).
    [[nodiscard]] std::optional<Score> score_on(RscIdx r, NodeIdx n) const;
    // Available for placement: online, not unclean/standby/maintenance/shutdown.
    [[nodiscard]] bool node_available(NodeIdx n, bool consider_guest_pending = false) const;

    // Actions
    ActIdx find_action(RscIdx r, std::string_view key, NodeIdx node) const;
    // Finds or creates the action `key` on `node` (kNone = no node). New actions are optional
    // when `optional` is true; an existing one is made required when `optional` is false.
    ActIdx make_action(RscIdx r, std::string key, std::string task, NodeIdx node, bool optional,
                       std::int64_t interval_ms = 0);
    void set_required(ActIdx a, std::string_view reason = {});
    void set_unrunnable(ActIdx a, std::string_view reason = {});
    // Orders two actions (deduplicated on (first, then, flags)). Returns false if it existed.
    bool order(ActIdx first, ActIdx then, std::uint32_t flags);
};

// Keys as Pacemaker spells them.
std::string op_key(std::string_view rsc, std::string_view task, std::int64_t interval_ms);
std::string notify_key(std::string_view rsc, std::string_view type, std::string_view op);

// Stage entry points (one file each).
Status unpack_cib(Cluster& c);              // unpack.cpp (calls the unpack_* parts)
void apply_node_criteria(Cluster& c);       // placement.cpp: locations, stickiness, failures
void add_internal_colocations(Cluster& c);  // placement.cpp: groups, containers (rule 34)
void assign_resources(Cluster& c);          // placement.cpp (rules 33, 35, 36)
// Rule 29, used while unpacking and scheduling.
void fence_node(Cluster& c, NodeIdx n, const std::string& reason, bool priority_delay);
// Adds `score` to the resource (and its descendants) on `node`, or on every node.
void resource_location(Cluster& c, RscIdx r, NodeIdx node, Score score);
// Pacemaker's find_compatible_child: the instance of `clone` paired with instance `local`
// (same node, current or assigned; else the best of local's allowed nodes), or kNone.
RscIdx find_compatible_instance(const Cluster& c, RscIdx local, RscIdx clone, std::optional<Role> filter,
                                bool current);
// The node a resource is active on (first of several), or kNone.
NodeIdx current_node(const Cluster& c, RscIdx r);
// MA1: the node a resource counts as active on in the summary and for its remote node: a
// partial migration's source, else, unless it needs fencing, the first clean node it is
// active on, else the first.
NodeIdx active_node(const Cluster& c, RscIdx r);
// The resource's `requires` is fencing or unfencing (fencing.cpp).
bool needs_fencing_requires(const Resource& r);
// Takes a primitive's assignment back: its node's count and capacity (placement.cpp).
void release_assignment(Cluster& c, RscIdx r);

}  // namespace outpost::cluster::policy
