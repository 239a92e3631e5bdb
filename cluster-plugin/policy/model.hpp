// The cluster model the scheduler works on, unpacked from one CIB: options, nodes (cluster,
// remote and guest), resources (primitives, groups, clones, promotable clones; implicit
// guest connections), constraints and the state found in the status section.
//
// Everything is indexed: nodes, resources and actions live in vectors of the Cluster and
// refer to each other by index (NodeIdx, RscIdx, ActIdx), so lookups are O(1) and nothing
// holds a pointer into a vector that may grow. Node scores are sparse (NodeScores: explicit
// entries plus one default per node class), so a resource allowed everywhere costs nothing
// per node.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/scores.hpp"
#include "policy/time.hpp"
#include "policy/utilization.hpp"
#include "policy/xml.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::policy {

// Operation history speaks the protocol's vocabulary (common/wire/codes.hpp): rc-code is an
// OCF exit status, op-status an execution status.
namespace ocf = outpost::wire::ocf;
using outpost::wire::ExecStatus;

using NodeIdx = std::uint32_t;
using RscIdx = std::uint32_t;
using ActIdx = std::uint32_t;
inline constexpr std::uint32_t kNone = 0xffffffffU;

// Pacemaker's role order matters: comparisons such as "role > Stopped" are used throughout.
enum class Role : std::uint8_t { unknown, stopped, started, unpromoted, promoted };
const char* role_name(Role role);  // "Stopped", "Started", "Unpromoted", "Promoted", "Unknown"
std::optional<Role> parse_role(std::string_view text);  // also Master/Slave

enum class NodeKind : std::uint8_t { member, remote, guest };

// on-fail responses, in increasing severity (rule 22): when several failures of one
// resource on one node combine, the most severe wins.
enum class OnFail : std::uint8_t {
    ignore,
    demote,
    restart,
    reset_remote,
    restart_container,
    ban,  // on-fail=migrate
    block,
    stop,
    standby,
    fence,
};

enum class NoQuorumPolicy : std::uint8_t { stop, freeze, ignore, demote, suicide };
enum class Requires : std::uint8_t { nothing, quorum, fencing, unfencing };
enum class MultipleActive : std::uint8_t { stop_start, stop_only, block, stop_unexpected };

// Node scores: explicit entries, and for nodes without one a default per class (index 0 for
// cluster nodes, 1 for remote and guest nodes); nullopt = not allowed.
class NodeScores {
public:
    // An entry with this score marks a node as not allowed despite the class default.
    static constexpr Score kDisallowed = -2000000000;
    struct Entry {
        NodeIdx node;
        Score score;
    };
    [[nodiscard]] bool allowed(NodeIdx node, bool remote_class) const;
    [[nodiscard]] std::optional<Score> get(NodeIdx node, bool remote_class) const;
    // Adds `score` to the node's score, allowing it first with 0 if it was not allowed.
    void add(NodeIdx node, bool remote_class, Score score);
    void set(NodeIdx node, bool remote_class, Score score);
    void disallow(NodeIdx node, bool remote_class);
    [[nodiscard]] const std::optional<Score>& class_default(bool remote_class) const
    {
        return default_[remote_class];
    }
    void set_class_default(bool remote_class, std::optional<Score> score) { default_[remote_class] = score; }
    [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
    [[nodiscard]] std::vector<Entry>& entries() { return entries_; }
    // Entry index or -1 (binary search).
    [[nodiscard]] int find(NodeIdx node) const;

private:
    void insert(NodeIdx node, Score score);
    std::vector<Entry> entries_;  // sorted by node, few per resource in large clusters
    std::optional<Score> default_[2];
};

struct Options {
    std::int64_t default_op_timeout_ms = 20000;  // op_defaults' timeout (operations not configured)
    bool symmetric = true;
    bool stonith_enabled = true;
    std::string stonith_action = "reboot";
    NoQuorumPolicy no_quorum_policy = NoQuorumPolicy::stop;
    std::string placement_strategy = "default";
    PlacementStrategy strategy = PlacementStrategy::default_;
    bool start_failure_is_fatal = true;
    bool startup_probes = true;
    bool maintenance_mode = false;
    bool stop_orphan_resources = true;
    bool stop_orphan_actions = true;
    bool stop_all_resources = false;
    bool startup_fencing = true;
    bool concurrent_fencing = false;
    bool shutdown_lock = false;
    std::int64_t cluster_recheck_interval_ms = std::int64_t{15} * 60 * 1000;
    int batch_limit = 0;
    // The controller's job limit per node (not the scheduler's: outpost-controld reads it
    // here); 0: its default.
    int node_action_limit = 0;
    int migration_limit = -1;
    int node_pending_timeout = 0;
    std::string cluster_delay = "60s";
    std::string stonith_timeout = "60s";
    std::int64_t priority_fencing_delay_ms = 0;
    std::string node_health_strategy = "none";
    bool have_quorum = false;
    // Fail counts per operation ("fail-count-<rsc>#<op>_<interval>") count only in a CIB
    // whose crm_feature_set is 3.0.13 or later; before it, only "fail-count-<rsc>" does
    // (rule F1, placement.cpp).
    bool per_operation_failcounts = false;
    std::string dc_uuid;
    std::string cluster_name;
};

struct Op;  // configured operation

struct Node {
    std::string id;    // uuid (for remote and guest nodes: the name)
    std::string name;  // uname
    NodeKind kind = NodeKind::member;
    bool online = false;
    bool unclean = false;
    bool unseen = true;
    bool standby = false;
    bool standby_onfail = false;
    bool maintenance = false;
    bool shutdown = false;
    bool expected_up = false;
    bool pending = false;
    bool is_dc = false;
    bool remote_requires_reset = false;
    bool remote_was_fenced = false;
    bool remote_maintenance = false;
    bool rsc_discovery_enabled = true;
    bool history_unpacked = false;
    bool has_node_entry = false;  // <node> in the configuration
    std::string fence_reason;     // why it is unclean, for the fence action
    RscIdx remote_rsc = kNone;    // the connection resource (remote and guest nodes)
    // A cluster node named like a connection (a typeless <node> entry of a guest or remote
    // node's name, rule 9): Pacemaker links the two, so it is avoided as a Pacemaker Remote
    // node is (rule 34), yet it stays a cluster node.
    bool named_by_connection = false;
    Score weight = 0;                                       // node-level score (health)
    std::map<std::string, std::string, std::less<>> attrs;  // permanent, transient and built-in
    Utilization utilization;                                // capacity left (utilization.hpp U1)
    std::vector<RscIdx> running;                            // primitives active here
    int assigned_count = 0;                                 // resources assigned here (assignment tie-break)
    int priority = 0;                                       // priority-fencing-delay
    xmlNode* state_xml = nullptr;                           // node_state element, if any

    [[nodiscard]] bool is_remote_class() const { return kind != NodeKind::member; }
    [[nodiscard]] std::string_view attr(std::string_view key) const
    {
        auto it = attrs.find(key);
        return it == attrs.end() ? std::string_view() : std::string_view(it->second);
    }
    [[nodiscard]] bool has_attr(std::string_view key) const { return attrs.find(key) != attrs.end(); }
};

enum class RscKind : std::uint8_t { primitive, group, clone };

// One configured <op>.
struct Op {
    std::string id;
    std::string name;  // start, stop, monitor, promote, ...
    std::int64_t interval_ms = 0;
    std::optional<Role> role;
    std::string timeout;  // as written, after op_defaults
    std::int64_t timeout_ms = 20000;
    std::optional<OnFail> on_fail;
    bool enabled = true;
    std::string start_delay;
    std::optional<bool> record_pending;
    std::vector<std::pair<std::string, std::string>> meta;    // other op attributes / meta (graph)
    std::vector<std::pair<std::string, std::string>> params;  // op instance attributes
};

// Flags on resources.
struct RscFlags {
    bool managed = true;
    bool failed = false;
    bool failure_ignored = false;
    bool orphan = false;
    bool provisional = true;  // not yet assigned
    bool assigning = false;   // assignment in progress (colocation loops)
    bool start_pending = false;
    bool stop_unexpected = false;  // A2: multiply active, stopped only where not assigned
    bool stop_needed = false;      // pe_rsc_stop
    bool blocked = false;
    bool unique = false;
    bool notify = false;
    bool reconnect_hold = false;  // rule 24: reset by a failure, reconnect_interval pending
    bool promotable = false;
    bool interleave = false;
    bool ordered = false;
    bool allow_migrate = false;
    bool critical = true;
    bool is_container = false;
    bool is_remote_connection = false;  // ocf:pacemaker:remote
    bool internal = false;              // implicit guest connection (hidden)
    bool maintenance = false;
    bool fence_device = false;
    bool needs_unfencing = false;
    bool reload = false;
    bool migrating = false;
    bool merging = false;       // colocation score merge in progress
    bool load_ordered = false;  // its starts wait for load_stopped (utilization.hpp U6)
};

// One lrm_rsc_op from the status section (views into the CIB document).
struct HistoryOp {
    xmlNode* xml = nullptr;
    std::string_view id;
    std::string_view task;
    std::string_view key;  // operation_key
    std::int64_t interval_ms = 0;
    int call_id = 0;
    int rc = ocf::ok;
    ExecStatus status = ExecStatus::done;
    int target_rc = -1;
    EpochSeconds last_rc_change = 0;
    EpochSeconds last_run = 0;
    std::string_view migrate_source, migrate_target;
    std::string_view digest, secure_digest, restart_digest, op_restart;
    std::size_t doc_order = 0;
};

// A resource's history on one node (one lrm_resource), ops sorted by call-id.
struct NodeHistory {
    NodeIdx node = kNone;
    std::string lrm_id;  // the lrm_resource id the history is recorded under
    xmlNode* xml = nullptr;
    std::vector<HistoryOp> ops;
    Role role = Role::unknown;
    OnFail on_fail = OnFail::ignore;
    int last_failure = -1;         // index into ops
    bool expired_failure = false;  // a failure expired (fail count to clear)
    bool pending = false;
};

struct Resource {
    std::string id;          // instance id for clone children ("M:4")
    std::string base_id;     // configured id ("M")
    std::string clone_name;  // anonymous instance: the id its history is recorded under
    RscKind kind = RscKind::primitive;
    RscIdx parent = kNone;
    std::vector<RscIdx> children;
    xmlNode* xml = nullptr;
    std::string cls, provider, type;
    std::string variant_name;  // "primitive", "group", "clone", "master" as configured
    std::vector<std::pair<std::string, std::string>> params;  // instance attributes, sorted by name
    std::map<std::string, std::string, std::less<>> meta;
    std::vector<Op> ops;
    Utilization utilization;  // what it uses where it runs (utilization.hpp)
    RscFlags flags;

    // State (status section)
    Role role = Role::stopped;
    Role next_role = Role::unknown;
    std::string next_role_reason;
    std::vector<NodeIdx> running_on;
    NodeIdx pending_node = kNone;
    std::string pending_task;  // "probe" for a pending monitor without interval
    // PD1: a pending operation is all its history on pending_node says (no role there):
    // shown as that operation there ("Stopping node1") while it runs nowhere.
    bool pending_only = false;
    NodeIdx partial_migration_source = kNone;
    NodeIdx partial_migration_target = kNone;
    NodeIdx dangling_migration = kNone;
    std::vector<NodeIdx> dangling_migrations;
    NodeIdx lock_node = kNone;
    std::vector<NodeHistory> history;    // one per node with an lrm_resource entry
    std::vector<NodeIdx> known_on;       // nodes with history (this resource or, for parents, any child)
    std::vector<NodeIdx> stop_required;  // stops forced by failures while unpacking
    std::vector<NodeIdx> demote_required;
    std::vector<std::pair<NodeIdx, std::string>> bans;  // -INFINITY from unpacking (reason)
    Role target_role = Role::unknown;                   // meta target-role (unknown = no limit)
    // resource-discovery from location constraints: per node, 0 always, 1 never, 2 exclusive
    std::vector<std::pair<NodeIdx, std::uint8_t>> discover;
    bool exclusive_discover = false;
    std::vector<std::uint32_t> promoted_locations;  // role-filtered location constraints
    int sort_index = 0;                             // promotion order
    Score promotion_score = 0;
    NodeIdx prefer_node = kNone;
    bool failed_on_node_fence = false;

    // Configuration-derived
    Score stickiness = 0;
    int priority = 0;
    Score promotion_priority = 0;  // promoted score of an instance
    int migration_threshold = 1000000;
    std::int64_t failure_timeout_s = 0;
    std::int64_t remote_reconnect_ms = 0;
    Requires requires_ = Requires::fencing;
    MultipleActive multiple_active = MultipleActive::stop_start;
    RscIdx container = kNone;
    std::vector<RscIdx> fillers;
    NodeIdx remote_node = kNone;  // the node this connection resource creates
    int clone_max = 0, clone_node_max = 1, promoted_max = 1, promoted_node_max = 1;
    std::string container_attribute_target;

    // Scheduling
    NodeScores allowed;
    NodeIdx assigned = kNone;
    std::vector<std::pair<std::string, Score>> location_log;  // (unused for decisions)
    std::vector<std::uint32_t> this_with;                     // colocations where this is the dependent
    std::vector<std::uint32_t> with_this;                     // colocations where this is the primary
    std::unordered_map<std::string, std::vector<ActIdx>> actions_by_key;
    std::vector<ActIdx> actions;

    [[nodiscard]] bool is_primitive() const { return kind == RscKind::primitive; }
    [[nodiscard]] bool is_group() const { return kind == RscKind::group; }
    [[nodiscard]] bool is_clone() const { return kind == RscKind::clone; }
    [[nodiscard]] std::string_view meta_value(std::string_view key) const
    {
        auto it = meta.find(key);
        return it == meta.end() ? std::string_view() : std::string_view(it->second);
    }
    [[nodiscard]] bool has_meta(std::string_view key) const { return meta.find(key) != meta.end(); }
    [[nodiscard]] const std::string* param(std::string_view key) const
    {
        for (const auto& [k, v] : params) {
            if (k == key) return &v;
        }
        return nullptr;
    }
};

struct LocationRule;  // parsed rule kept by reference

struct Location {
    std::string id;
    RscIdx rsc = kNone;
    std::optional<Role> role;
    std::string discovery;  // always, never, exclusive
    // Either a fixed node + score or rules (evaluated per node).
    std::string node;
    Score score = 0;
    bool has_node = false;
    std::vector<xmlNode*> rules;
};

struct Colocation {
    std::string id;
    RscIdx dependent = kNone;
    RscIdx primary = kNone;
    Score score = 0;
    std::optional<Role> dependent_role;
    std::optional<Role> primary_role;
    std::string node_attribute = "#uname";
    bool influence = true;
};

enum class OrderKind : std::uint8_t { optional, mandatory, serialize };

// Ordering flags (which way requirements travel along an ordering of two actions).
enum OrderFlag : std::uint32_t {
    kOrderNone = 0,
    kOrderOptional = 1U << 0,
    kOrderImpliesThen = 1U << 1,   // first required -> then required
    kOrderImpliesFirst = 1U << 2,  // then required -> first required
    kOrderRunnableLeft = 1U << 3,  // first unrunnable -> then unrunnable
    kOrderRestart = 1U << 4,       // then (start) required and resource active -> first (stop) required
    kOrderOneOrMore = 1U << 5,     // then runnable if any first is
    kOrderSerialize = 1U << 6,     // not at the same time, no ordering of runnability
    kOrderImpliesThenOnNode = 1U << 7,
    kOrderImpliesFirstMigratable = 1U << 8,
    kOrderImpliesFirstPromoted = 1U << 9,
    kOrderPromotedImpliesFirst = 1U << 10,
    kOrderApplyFirstNonMigratable = 1U << 11,
    kOrderPseudoLeft = 1U << 12,
    kOrderPreserve = 1U << 13,  // exempt from loop breaking (rule 43)
    kOrderSameNode = 1U << 14,
    kOrderThenCancelsFirst = 1U << 15,
    kOrderAsymmetrical = 1U << 16,
    kOrderAntiColocation = 1U << 17,
    kOrderImpliesThenPrinted = 1U << 18,
    kOrderImpliesFirstPrinted = 1U << 19,
    kOrderProbe = 1U << 20,
    kOrderUser = 1U << 21,            // from a user constraint (rule 48)
    kOrderThenInterleave = 1U << 22,  // clone-to-clone interleaving
    // Utilization (utilization.hpp U6): only between actions on the same node, and only
    // when the first is required; no requirement or runnability travels along it.
    kOrderLoad = 1U << 23,
    // then required -> first may not migrate, yet stays optional (C4: what runs on a remote
    // node before its connection's stop)
    kOrderImpliesFirstUnmigratable = 1U << 24,
};

// A user or internal ordering before resolution to actions: each side is a concrete action
// or a resource + action key (every action of that resource with that key).
struct Ordering {
    std::uint32_t id = 0;
    RscIdx first_rsc = kNone;
    std::string first_task;  // with first_rsc: every action of it with this task/interval
    std::int64_t first_interval = 0;
    ActIdx first_action = kNone;
    RscIdx then_rsc = kNone;
    std::string then_task;
    std::int64_t then_interval = 0;
    ActIdx then_action = kNone;
    std::uint32_t flags = 0;
    // O13: the actions made for the "first" side of the user's orderings read after this
    // one (ids [begin, end)), which its "then" side does not reach.
    ActIdx later_firsts_begin = kNone;
    ActIdx later_firsts_end = kNone;
};

struct Ticket {
    std::string id;
    bool granted = false;
    bool standby = false;
};

}  // namespace outpost::cluster::policy
