// Unpacking the status section: node membership, transient attributes, resource history
// and the failures found in it (rules 13-32).
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "policy/actions.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

void active_op_range(const NodeHistory& h, int& start_index, int& stop_index);  // config_changes.cpp

namespace {

using xml::attr;
using xml::attr_c;

int to_int(std::string_view v, int dflt = 0)
{
    if (v.empty()) return dflt;
    std::string s(v);
    char* end = nullptr;
    long r = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str()) return dflt;
    if (r > INT_MAX) return INT_MAX;
    if (r < INT_MIN) return INT_MIN;
    return static_cast<int>(r);
}

std::int64_t to_int64(std::string_view v)
{
    if (v.empty()) return 0;
    std::string s(v);
    return std::strtoll(s.c_str(), nullptr, 10);
}

// op-status: an execution status; "done" when absent or not a number (any other value is
// kept as it is and treated as a failure).
ExecStatus exec_status_of(std::string_view v)
{
    return static_cast<ExecStatus>(to_int(v, static_cast<int>(ExecStatus::done)));
}

// transition-key "action:transition:target_rc:uuid" -> target_rc
int target_rc_of(std::string_view key)
{
    auto a = key.find(':');
    if (a == std::string_view::npos) return -1;
    auto b = key.find(':', a + 1);
    if (b == std::string_view::npos) return -1;
    auto e = key.find(':', b + 1);
    if (e == std::string_view::npos) return -1;
    return to_int(key.substr(b + 1, e - b - 1), -1);
}

HistoryOp parse_op(xmlNode* x, std::size_t order)
{
    HistoryOp op;
    op.xml = x;
    op.id = attr(x, "id");
    op.task = attr(x, "operation");
    op.key = attr(x, "operation_key");
    op.interval_ms = to_int64(attr(x, "interval"));
    op.call_id = to_int(attr(x, "call-id"), -1);
    op.rc = to_int(attr(x, "rc-code"), ocf::unknown_error);
    op.status = exec_status_of(attr(x, "op-status"));
    op.target_rc = target_rc_of(attr(x, "transition-key"));
    op.last_rc_change = to_int64(attr(x, "last-rc-change"));
    op.last_run = to_int64(attr(x, "last-run"));
    op.migrate_source = attr(x, "migrate_source");
    op.migrate_target = attr(x, "migrate_target");
    op.digest = attr(x, "op-digest");
    op.secure_digest = attr(x, "op-secure-digest");
    op.restart_digest = attr(x, "op-restart-digest");
    op.op_restart = attr(x, "op-force-restart");
    op.doc_order = order;
    return op;
}

bool op_less(const HistoryOp& a, const HistoryOp& b)
{
    const long ka = a.call_id < 0 ? LONG_MAX : a.call_id;
    const long kb = b.call_id < 0 ? LONG_MAX : b.call_id;
    if (ka != kb) return ka < kb;
    if (a.last_rc_change != b.last_rc_change) return a.last_rc_change < b.last_rc_change;
    return a.doc_order < b.doc_order;
}

std::string_view strip_instance(std::string_view id)
{
    auto colon = id.rfind(':');
    if (colon == std::string_view::npos) return id;
    for (std::size_t i = colon + 1; i < id.size(); ++i) {
        if (id[i] < '0' || id[i] > '9') return id;
    }
    return colon + 1 < id.size() ? id.substr(0, colon) : id;
}

void add_running(Cluster& c, RscIdx r, NodeIdx n);

struct StatusUnpacker {
    Cluster& c;
    // base id of a primitive inside an anonymous clone -> the clone
    std::unordered_map<std::string, RscIdx> anon_base;

    void build_anon_index();
    void node_state_pass(xmlNode* ns);
    bool determine_online_fencing(NodeIdx n, xmlNode* ns);
    bool determine_online_nofencing(NodeIdx n, xmlNode* ns);
    void determine_remote_online(NodeIdx n);
    void apply_remote_attrs(NodeIdx n);
    void unpack_lrm(NodeIdx n, xmlNode* ns);
    void unpack_lrm_resource(NodeIdx n, xmlNode* lr);
    RscIdx find_history_rsc(NodeIdx n, std::string_view id, xmlNode* lr);
    RscIdx find_anonymous_instance(RscIdx clone, NodeIdx n, std::string_view base);
    RscIdx create_orphan(std::string_view id, xmlNode* lr);
    void unpack_op(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i);
    void op_failure(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i, ExecStatus status);
    void op_success(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i);
    void process_state(RscIdx r, NodeIdx n, NodeHistory& h);
    bool check_expiry(RscIdx r, NodeIdx n, NodeHistory& h, const HistoryOp& op);
    void migrate_to_success(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i);
    const xmlNode* history_on(NodeIdx node, std::string_view lrm_id) const;
    const xmlNode* find_op_on(NodeIdx node, std::string_view lrm_id, std::string_view task) const;
    std::optional<long long> last_change_on(NodeIdx node, std::string_view lrm_id) const;
    std::string_view cur_lrm_id;
    // RF2: a failed filler's container stops only where it runs, known only once every
    // node's history is unpacked (the stops left for then).
    std::vector<std::pair<RscIdx, NodeIdx>> container_stops;
};

}  // namespace

// Rule 29: "fencing" a node by kind (used here and by the later stages).
void fence_node(Cluster& c, NodeIdx n, const std::string& reason, bool priority_delay);

namespace {

void StatusUnpacker::build_anon_index()
{
    for (RscIdx i = 0; i < c.resources.size(); ++i) {
        const Resource& r = c.resources[i];
        if (!r.is_clone() || r.flags.unique) continue;
        for (RscIdx inst : r.children) {
            std::vector<RscIdx> leaves;
            c.leaves(inst, leaves);
            for (RscIdx l : leaves)
                anon_base.emplace(c.resources[l].base_id, i);
        }
    }
}

void StatusUnpacker::node_state_pass(xmlNode* ns)
{
    std::string_view id = attr(ns, "id");
    std::string_view uname = attr(ns, "uname");
    NodeIdx n = c.find_node_by_id(id);
    if (n == kNone) n = c.find_node(uname);
    if (n == kNone) return;
    Node& node = c.nodes[n];
    if (node.state_xml) return;  // first entry wins
    node.state_xml = ns;
    // Transient attributes overwrite permanent ones.
    const xmlNode* ta = xml::first_child(ns, "transient_attributes");
    RuleContext ctx = node_context(c, n);
    auto attrs = node.attrs;
    unpack_nvpair_sets(ta, "instance_attributes", ctx, attrs, true);
    node.attrs = std::move(attrs);
    if (node.is_remote_class()) {
        // (Built-in attributes come with the history: try_unpack.)
        // Rule 13: only node_fenced matters here for remote and guest nodes.
        node.remote_was_fenced = is_true(attr(ns, "node_fenced")) || to_int(attr(ns, "node_fenced")) != 0;
        node.remote_maintenance = is_true(attr(ns, "node_in_maintenance"));
        return;
    }
    node.unclean = false;
    node.unseen = false;
    node.is_dc = !c.options.dc_uuid.empty() && node.id == c.options.dc_uuid;
    node.attrs["#is_dc"] = node.is_dc ? "true" : "false";
    std::string_view shutdown = node.attr("shutdown");
    if (!shutdown.empty() && shutdown != "0") node.shutdown = true;
    if (is_true(node.attr("standby"))) node.standby = true;
    if (is_true(node.attr("maintenance"))) node.maintenance = true;
    node.expected_up = attr(ns, "expected") == "member";
    node.online =
        c.options.stonith_enabled ? determine_online_fencing(n, ns) : determine_online_nofencing(n, ns);
    if (node.online && node.unclean) {
        // online but unclean stays as it is: fenced later
    }
}

bool StatusUnpacker::determine_online_nofencing(NodeIdx n, xmlNode* ns)
{
    Node& node = c.nodes[n];
    const bool in_cluster = is_true(attr(ns, "in_ccm"));
    const bool peer = attr(ns, "crmd") == "online";
    std::string_view join = attr(ns, "join");
    std::string_view expected = attr(ns, "expected");
    if (!in_cluster) return false;
    if (!peer) {
        // A member whose controller is gone while it was expected up: unclean, even
        // with nothing to fence it (observed: "Node node1: UNCLEAN (offline)").
        if (node.expected_up) node.unclean = true;
        return false;
    }
    if (join == "member") return true;
    if (expected == "down" || join == "pending" || join == "down") {
        node.pending = true;
        node.standby = true;
    }
    return false;
}

bool StatusUnpacker::determine_online_fencing(NodeIdx n, xmlNode* ns)
{
    Node& node = c.nodes[n];
    const char* in_ccm = attr_c(ns, "in_ccm");
    const bool in_cluster = in_ccm && is_true(in_ccm);
    const bool peer = attr(ns, "crmd") == "online";
    std::string_view join = attr(ns, "join");
    std::string_view expected = attr(ns, "expected");
    if (expected.empty()) expected = "down";
    std::string_view terminate = node.attr("terminate");
    const bool do_terminate = is_true(terminate) || (!terminate.empty() && terminate[0] != '0' &&
                                                     terminate[0] >= '0' && terminate[0] <= '9');

    if (node.shutdown) return peer;
    if (!in_ccm) {
        fence_node(c, n, "peer has not been seen by the cluster", false);
        return false;
    }
    if (join == "nack") {
        fence_node(c, n, "peer failed Pacemaker membership criteria", false);
        return in_cluster;
    }
    if (!do_terminate && expected == "down") {
        if (in_cluster || peer) {
            node.standby = true;
            node.pending = true;
        }
        return in_cluster;
    }
    if (do_terminate && join == "down" && !in_cluster && !peer) return false;  // just shot
    if (!in_cluster) {
        fence_node(c, n, "peer is no longer part of the cluster", true);
        return false;
    }
    if (!peer) {
        fence_node(c, n, "peer process is no longer available", false);
        return true;
    }
    if (do_terminate) {
        fence_node(c, n, "termination was requested", false);
        return true;
    }
    if (join == "member") return true;
    if (join == "pending" || join == "down") {
        node.standby = true;
        node.pending = true;
        return true;
    }
    fence_node(c, n, "peer was in an unknown state", false);
    return true;
}

// Rule 15.
void StatusUnpacker::determine_remote_online(NodeIdx n)
{
    Node& node = c.nodes[n];
    if (node.remote_rsc == kNone) {
        node.online = false;
        return;
    }
    Resource& conn = c.resources[node.remote_rsc];
    const Resource* container = conn.container != kNone ? &c.resources[conn.container] : nullptr;
    bool online = false;
    if (conn.role == Role::started) {
        online = true;
        if (conn.next_role == Role::stopped) node.shutdown = true;
    }
    if (container && container->flags.failed) {
        online = false;
        node.remote_requires_reset = true;
    } else if (conn.flags.failed) {
        online = false;
    } else if (conn.role == Role::stopped || (container && container->role == Role::stopped)) {
        online = false;
        node.remote_requires_reset = false;
    } else if (container && conn.running_on.size() == 1) {
        // The guest's host is where its connection runs (not its container, should the two
        // part), as for rule 53's downed nodes.
        const Node& host = c.nodes[conn.running_on[0]];
        if (!host.online && host.unclean) {
            online = false;
            node.remote_requires_reset = true;
        }
    }
    node.online = online;
}

// Rule 16 and 17.
void StatusUnpacker::apply_remote_attrs(NodeIdx n)
{
    Node& node = c.nodes[n];
    std::string_view shutdown = node.attr("shutdown");
    if (!shutdown.empty() && shutdown != "0") node.shutdown = true;
    if (is_true(node.attr("standby"))) node.standby = true;
    const bool conn_unmanaged = node.remote_rsc != kNone && !c.resources[node.remote_rsc].flags.managed;
    if (is_true(node.attr("maintenance")) || conn_unmanaged) node.maintenance = true;
    std::string_view disc = node.attr("resource-discovery-enabled");
    if (!disc.empty() && !is_true(disc)) {
        if (node.kind == NodeKind::guest || c.options.stonith_enabled) node.rsc_discovery_enabled = false;
    }
}

RscIdx StatusUnpacker::create_orphan(std::string_view id, xmlNode* lr)
{
    Resource r;
    r.id = r.base_id = std::string(id);
    r.kind = RscKind::primitive;
    r.variant_name = "primitive";
    r.cls = std::string(attr(lr, "class"));
    r.provider = std::string(attr(lr, "provider"));
    r.type = std::string(attr(lr, "type"));
    r.meta["id"] = r.id;
    r.meta["class"] = r.cls;
    if (!r.provider.empty()) r.meta["provider"] = r.provider;
    r.meta["type"] = r.type;
    r.flags.orphan = true;
    r.flags.fence_device = r.cls == "stonith";
    r.flags.is_remote_connection = r.cls == "ocf" && r.provider == "pacemaker" && r.type == "remote";
    if (!c.options.stop_orphan_resources) r.flags.managed = false;
    if (c.options.maintenance_mode) r.flags.managed = false;
    const bool quorum_only = r.flags.fence_device || r.flags.is_remote_connection;
    if (!quorum_only && c.options.stonith_enabled) {
        r.requires_ = Requires::fencing;
    } else if (!quorum_only && c.options.no_quorum_policy == NoQuorumPolicy::ignore) {
        r.requires_ = Requires::nothing;
    } else {
        r.requires_ = Requires::quorum;
    }
    RscIdx idx = add_resource(c, std::move(r));
    c.top.push_back(idx);
    if (c.resources[idx].flags.managed) c.resources[idx].bans.emplace_back(kNone, "__orphan_do_not_run__");
    // Rule 21: an orphaned connection creates (or finds) its node, which shuts down.
    if (c.resources[idx].flags.is_remote_connection) {
        NodeIdx rn = c.find_node(id);
        if (rn == kNone) {
            Node node;
            node.id = node.name = std::string(id);
            node.kind = NodeKind::remote;
            node.unclean = c.options.stonith_enabled && c.options.startup_fencing;
            node.attrs["#uname"] = node.name;
            node.attrs["#id"] = node.id;
            node.attrs["#kind"] = "remote";
            node.attrs["#is_dc"] = "false";
            rn = c.add_late_node(std::move(node));
        }
        if (c.nodes[rn].kind != NodeKind::member) {
            c.nodes[rn].remote_rsc = idx;
            c.resources[idx].remote_node = rn;
            c.nodes[rn].shutdown = true;
            if (c.resources[idx].container != kNone) {
                c.nodes[rn].kind = NodeKind::guest;
                c.nodes[rn].attrs["#kind"] = "container";
                c.nodes[rn].unclean = false;
            }
        }
    }
    return idx;
}

RscIdx StatusUnpacker::find_anonymous_instance(RscIdx clone, NodeIdx n, std::string_view base)
{
    Resource& cl = c.resources[clone];
    auto leaf_of = [&](RscIdx inst) -> RscIdx {
        const Resource& ir = c.resources[inst];
        if (ir.is_primitive()) return ir.base_id == base ? inst : kNone;
        for (RscIdx ch : ir.children) {
            if (c.resources[ch].base_id == base) return ch;
        }
        return kNone;
    };
    auto active_on = [&](RscIdx inst, NodeIdx node) {
        std::vector<RscIdx> leaves;
        c.leaves(inst, leaves);
        for (RscIdx l : leaves) {
            const auto& ro = c.resources[l].running_on;
            if (std::find(ro.begin(), ro.end(), node) != ro.end()) return true;
        }
        return false;
    };
    auto active_anywhere = [&](RscIdx inst) {
        std::vector<RscIdx> leaves;
        c.leaves(inst, leaves);
        for (RscIdx l : leaves) {
            if (!c.resources[l].running_on.empty()) return true;
        }
        return false;
    };
    // OR1 (observed): on a node that is offline or unclean, and not a guest, an instance
    // that does not need fencing to start elsewhere is not given a configured instance
    // number unless there are instances for every node: it becomes an orphan instance, so
    // that a number stays free to start elsewhere (a promoted instance on a remote node
    // whose connection failed, clone-max 1: "Start sr:0 (remote1)", "Stop sr:1 (Promoted
    // remote1)").
    const Node& node = c.nodes[n];
    auto numbered = [&](RscIdx leaf) {
        if (node.online && !node.unclean) return true;
        if (node.kind == NodeKind::guest) return true;
        if (c.resources[leaf].requires_ == Requires::fencing ||
            c.resources[leaf].requires_ == Requires::unfencing)
            return true;
        return cl.clone_max >= static_cast<int>(c.nodes.size());
    };
    RscIdx inactive = kNone;
    for (RscIdx inst : cl.children) {
        if (active_on(inst, n)) {
            RscIdx leaf = leaf_of(inst);
            if (leaf != kNone && numbered(leaf)) return leaf;
        } else if (inactive == kNone && !active_anywhere(inst)) {
            RscIdx leaf = leaf_of(inst);
            const Resource* lr = leaf != kNone ? &c.resources[leaf] : nullptr;
            if (lr && (lr->pending_node == kNone || lr->pending_node == n)) inactive = leaf;
        }
    }
    if (inactive != kNone && numbered(inactive)) return inactive;
    // More instances active than clone-max: an orphan instance.
    int next = static_cast<int>(cl.children.size());
    RscIdx inst = create_clone_instance(c, clone, next, true);
    if (inst == kNone) return kNone;
    return leaf_of(inst);
}

RscIdx StatusUnpacker::find_history_rsc(NodeIdx n, std::string_view id, xmlNode* lr)
{
    RscIdx exact = c.find_rsc(id);
    if (exact != kNone) {
        const Resource& r = c.resources[exact];
        if (r.is_primitive() && !(r.parent != kNone && c.in_anonymous_clone(exact))) return exact;
    }
    std::string_view base = strip_instance(id);
    auto it = anon_base.find(std::string(base));
    if (it != anon_base.end()) {
        RscIdx inst = find_anonymous_instance(it->second, n, base);
        if (inst != kNone) c.resources[inst].clone_name = std::string(id);
        return inst;
    }
    if (exact != kNone && c.resources[exact].is_primitive()) return exact;
    return create_orphan(id, lr);
}

// Rule 22: the on-fail of an operation.
OnFail action_on_fail(const Cluster& c, const Resource& r, std::string_view task, std::int64_t interval_ms,
                      bool is_probe)
{
    const Op* conf = nullptr;
    for (const Op& op : r.ops) {
        if (op.name == task && op.interval_ms == interval_ms) {
            conf = &op;
            break;
        }
    }
    std::optional<OnFail> explicit_value = conf ? conf->on_fail : std::nullopt;
    if (explicit_value && *explicit_value == OnFail::restart_container && r.container == kNone)
        explicit_value.reset();
    if (explicit_value && *explicit_value == OnFail::demote && !(r.flags.promotable)) {
        // demote only makes sense for promote/monitor of promotable resources
    }
    // A connection counts as one only with its remote node: a typeless <node> entry of its
    // name keeps that node a cluster node (rule 9, T2), and a failure is then an ordinary
    // resource's (observed: "Recover remote1", no fencing, no reconnect hold).
    const bool remote_connection =
        r.flags.is_remote_connection && r.container == kNone && r.remote_node != kNone;
    if (explicit_value && !(remote_connection && !r.flags.managed)) return *explicit_value;
    if (!explicit_value && r.container != kNone) return OnFail::restart_container;
    if (remote_connection && !is_probe && task != "start" && (!explicit_value || !r.flags.managed)) {
        if (!r.flags.managed) return OnFail::stop;
        return OnFail::reset_remote;
    }
    if (explicit_value) return *explicit_value;
    if (task == "stop") return c.options.stonith_enabled ? OnFail::fence : OnFail::block;
    return OnFail::restart;
}

// Failure expiry (failure-timeout, rule 25) and fail counts to clear, for every operation
// in the history; true if the operation is an expired one.
bool StatusUnpacker::check_expiry(RscIdx r, NodeIdx n, NodeHistory& h, const HistoryOp& op)
{
    Resource& rsc = c.resources[r];
    const bool is_last_failure = op.id.size() >= 15 && op.id.substr(op.id.size() - 15) == "_last_failure_0";
    bool expired = false;
    int unexpired = 0;
    if (rsc.failure_timeout_s > 0 && xml::has_attr(op.xml, "last-rc-change")) {
        bool ignore_timeout = false;
        // Rule 25: recurring failures of a connection with a reconnect interval wait for
        // the node's fencing.
        if (rsc.remote_reconnect_ms > 0 && c.options.stonith_enabled && op.interval_ms != 0 &&
            op.task == "monitor" && rsc.remote_node != kNone && !c.nodes[rsc.remote_node].remote_was_fenced)
            ignore_timeout = true;
        if (c.now >= op.last_rc_change + rsc.failure_timeout_s && !ignore_timeout) expired = true;
        unexpired = failcount(c, r, n, true, &op, nullptr);
    }
    const char* clear_reason = nullptr;
    if (expired) {
        if (failcount(c, r, n, false, &op, nullptr) != 0) {
            if (unexpired == 0) {
                clear_reason = "it expired";
            } else {
                expired = false;
            }
        } else if (is_last_failure && rsc.remote_reconnect_ms > 0) {
            clear_reason = "reconnect interval is set";
        }
    }
    if (!expired && is_last_failure && (op.task == "start" || op.task == "monitor")) {
        const DigestResult d = compare_digest(c, r, op);
        if (d != DigestResult::match && d != DigestResult::sanitized_match && d != DigestResult::unknown)
            clear_reason = "resource parameters have changed";
    }
    if (clear_reason) {
        ActIdx clear = clear_failcount(c, r, n, clear_reason);
        if (c.options.stonith_enabled && rsc.remote_reconnect_ms > 0) {
            NodeIdx rn = c.find_node(rsc.id);
            if (rn != kNone) c.order(fence_op(c, rn, {}, true, {}), clear, kOrderImpliesThen);
        }
    }
    if (expired && op.interval_ms == 0 && op.task == "monitor") {
        switch (op.rc) {
            case ocf::ok:
            case ocf::not_running:
            case ocf::running_promoted:
            case ocf::degraded:
            case ocf::degraded_promoted:
                expired = false;  // probes with these results do not expire
                break;
            default:
                break;
        }
    }
    if (expired) h.expired_failure = true;
    return expired;
}

void StatusUnpacker::op_success(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i)
{
    Resource& rsc = c.resources[r];
    const HistoryOp& op = h.ops[i];
    std::string_view task = op.task;
    bool clear_past = false;
    auto set_active = [&]() {
        RscIdx top = c.top_of(r);
        rsc.role = c.resources[top].flags.promotable ? Role::unpromoted : Role::started;
    };
    if (op.rc == ocf::not_running) {
        clear_past = true;
    } else if (task == "monitor") {
        if (h.last_failure >= 0 && h.ops[static_cast<std::size_t>(h.last_failure)].key == op.key)
            clear_past = true;
        if (op.rc == ocf::running_promoted || op.rc == ocf::degraded_promoted) {
            rsc.role = Role::promoted;
        } else if (rsc.role < Role::started) {
            set_active();
        }
    } else if (task == "start" || task == "migrate_from") {
        rsc.role = Role::started;
        clear_past = true;
    } else if (task == "stop") {
        rsc.role = Role::stopped;
        clear_past = true;
    } else if (task == "promote") {
        rsc.role = Role::promoted;
        clear_past = true;
    } else if (task == "demote") {
        if (h.on_fail == OnFail::demote) clear_past = true;
        rsc.role = Role::unpromoted;
    } else if (task == "migrate_to") {
        migrate_to_success(r, n, h, i);
    } else if (rsc.role < Role::started) {
        set_active();
    }
    if (clear_past) {
        switch (h.on_fail) {
            case OnFail::stop:
            case OnFail::fence:
            case OnFail::ban:
            case OnFail::standby:
                break;
            case OnFail::block:
            case OnFail::ignore:
            case OnFail::demote:
            case OnFail::restart:
            case OnFail::restart_container:
                h.on_fail = OnFail::ignore;
                rsc.next_role = Role::unknown;
                break;
            case OnFail::reset_remote:
                if (rsc.remote_reconnect_ms == 0) {
                    h.on_fail = OnFail::ignore;
                    rsc.next_role = Role::unknown;
                }
                break;
        }
    }
}

const xmlNode* StatusUnpacker::history_on(NodeIdx node, std::string_view lrm_id) const
{
    const xmlNode* ns = c.nodes[node].state_xml;
    if (!ns) {
        for (const xmlNode* s : xml::elements(xml::first_child(c.root, "status"), "node_state")) {
            if (attr(s, "uname") == c.nodes[node].name) {
                ns = s;
                break;
            }
        }
    }
    const xmlNode* lrs = xml::first_child(xml::first_child(ns, "lrm"), "lrm_resources");
    for (const xmlNode* lr : xml::elements(lrs, "lrm_resource")) {
        if (attr(lr, "id") == lrm_id) return lr;
    }
    return nullptr;
}

const xmlNode* StatusUnpacker::find_op_on(NodeIdx node, std::string_view lrm_id, std::string_view task) const
{
    for (const xmlNode* op : xml::elements(history_on(node, lrm_id), "lrm_rsc_op")) {
        if (attr(op, "operation") == task) return op;
    }
    return nullptr;
}

// When the last operation on `node` (its *_last_0 record, else the highest call id)
// changed its result, if there is one.
std::optional<long long> StatusUnpacker::last_change_on(NodeIdx node, std::string_view lrm_id) const
{
    const xmlNode* last = nullptr;
    long best_call = -1;
    for (const xmlNode* op : xml::elements(history_on(node, lrm_id), "lrm_rsc_op")) {
        if (std::string_view(attr(op, "id")).ends_with("_last_0")) {
            last = op;
            break;
        }
        const long call = to_int(attr(op, "call-id"), -1);
        if (!last || call > best_call) {
            last = op;
            best_call = call;
        }
    }
    if (!last) return std::nullopt;
    return to_int64(attr(last, "last-rc-change"));
}

// A successful migrate_to on the source: the target's migrate_from decides (rules 54-55),
// or without one the target's last record (M2); a stop on the source since leaves at most
// a partial migration.
void StatusUnpacker::migrate_to_success(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i)
{
    Resource& rsc = c.resources[r];
    const HistoryOp& op = h.ops[i];
    bool stopped_since = false;
    for (std::size_t j = i + 1; j < h.ops.size(); ++j) {
        if (h.ops[j].task == "stop" && h.ops[j].rc == ocf::ok && h.ops[j].status == ExecStatus::done)
            stopped_since = true;
    }
    if (!stopped_since) {
        rsc.role = Role::started;
        // Started again on the source since: no migration is left there (observed: no
        // dangling stop first, rnd-s40-c9-6).
        for (std::size_t j = i + 1; j < h.ops.size(); ++j) {
            if (h.ops[j].task == "start" && h.ops[j].status == ExecStatus::done) return;
        }
    }
    NodeIdx target = c.find_node(op.migrate_target);
    if (target == kNone || target == n) return;
    // Partial migration: the resource may already be active on the target.
    auto partially_migrated = [&] {
        const Node& tn = c.nodes[target];
        if (!tn.online || tn.unclean) return;
        add_running(c, r, target);
        rsc.partial_migration_source = n;
        rsc.partial_migration_target = target;
    };
    const xmlNode* from = find_op_on(target, cur_lrm_id, "migrate_from");
    // M2 (observed): without a migrate_from, the target's last record decides, compared by
    // when its result changed: none means no migration (a new one is made, regression
    // m2-target-no-record), a newer one that the migration failed (recovered), one no newer
    // a partial migration, even when the source stopped it since (rnd-s117-c1-9).
    const std::optional<long long> target_change = from ? std::nullopt : last_change_on(target, cur_lrm_id);
    if (stopped_since) {
        if (!from && target_change && *target_change <= op.last_rc_change) partially_migrated();
        return;
    }
    if (from) {
        const int rc = to_int(attr(from, "rc-code"), ocf::unknown_error);
        const ExecStatus status = exec_status_of(attr(from, "op-status"));
        if (rc == ocf::ok && status == ExecStatus::done) {
            // Migrated: only the stop on the source is left to do.
            rsc.role = Role::stopped;
            rsc.dangling_migrations.push_back(n);
            return;
        }
        if (status == ExecStatus::pending) {
            rsc.partial_migration_source = n;
            rsc.partial_migration_target = target;
        }
        return;
    }
    if (!target_change) return;
    if (*target_change > op.last_rc_change) {
        rsc.flags.failed = true;
        rsc.flags.stop_needed = true;
        rsc.flags.allow_migrate = false;
        return;
    }
    partially_migrated();
}

void StatusUnpacker::op_failure(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i, ExecStatus status)
{
    Resource& rsc = c.resources[r];
    const HistoryOp& op = h.ops[i];
    std::string_view task = op.task;
    const bool is_probe = task == "monitor" && op.interval_ms == 0;
    OnFail strategy = action_on_fail(c, rsc, task, op.interval_ms, is_probe);
    // Rule 23: a failed stop of a filler counts as a success (the container is restarted).
    if (strategy == OnFail::ignore || (strategy == OnFail::restart_container && task == "stop")) {
        op_success(r, n, h, i);
        rsc.flags.failure_ignored = true;
        if (strategy == OnFail::restart_container && h.on_fail <= OnFail::restart) h.on_fail = strategy;
        return;
    }
    h.last_failure = static_cast<int>(i);
    if (strategy > h.on_fail) h.on_fail = strategy;
    if (task == "stop") {
        rsc.bans.emplace_back(n, "__stop_fail__");
    } else if (task == "migrate_to" || task == "migrate_from") {
        // A failed migration leaves the resource possibly active on both ends.
        NodeIdx other = c.find_node(task == "migrate_to" ? op.migrate_target : op.migrate_source);
        if (other != kNone && other != n) rsc.dangling_migrations.push_back(other);
    } else if (task == "promote") {
        rsc.role = Role::promoted;
    } else if (task == "demote") {
        if (strategy == OnFail::block) {
            rsc.role = Role::promoted;
            rsc.next_role = Role::stopped;
        } else if (op.rc == ocf::not_running) {
            rsc.role = Role::stopped;
        } else {
            rsc.role = Role::unpromoted;
        }
    }
    if (op.rc == ocf::failed_promoted || op.rc == ocf::running_promoted) rsc.role = Role::promoted;
    if (is_probe && op.rc == ocf::not_installed) {
        rsc.role = Role::stopped;
        h.on_fail = OnFail::ignore;
    } else if (rsc.role < Role::started) {
        rsc.role = Role::started;
    }
    if (status == ExecStatus::error_hard) {
        rsc.bans.emplace_back(n, "hard-error");
    } else if (status == ExecStatus::error_fatal) {
        rsc.bans.emplace_back(kNone, "fatal-error");
    }
}

void StatusUnpacker::unpack_op(RscIdx r, NodeIdx n, NodeHistory& h, std::size_t i)
{
    Resource& rsc = c.resources[r];
    const HistoryOp& op = h.ops[i];
    std::string_view task = op.task;
    if (task.empty() || task == "notify" || task == "cancel" || task == "meta-data" || task == "reload-agent")
        return;
    if (task == "reload" && op.rc == ocf::ok) return;
    const bool is_probe = task == "monitor" && op.interval_ms == 0;
    ExecStatus status = op.status;
    int target = op.target_rc;

    if (status == ExecStatus::pending) {
        h.pending = true;
        if (task == "start" || task == "migrate_from") {
            rsc.role = Role::started;
            rsc.flags.start_pending = true;
        } else if (task == "promote") {
            rsc.role = Role::promoted;
        } else if (task == "migrate_to") {
            rsc.role = Role::started;
            NodeIdx tgt = c.find_node(op.migrate_target);
            if (tgt != kNone) {
                rsc.partial_migration_source = n;
                rsc.partial_migration_target = tgt;
            }
        }
        rsc.pending_task = is_probe ? std::string("probe") : std::string(task);
        rsc.pending_node = n;
        return;
    }
    if (status == ExecStatus::cancelled) return;

    const bool expired = status != ExecStatus::not_installed && check_expiry(r, n, h, op);
    // Map the rc against the expected one (remap).
    if (status == ExecStatus::done) {
        switch (op.rc) {
            case ocf::ok:
                if (!is_probe && target >= 0 && target != ocf::ok) status = ExecStatus::error;
                break;
            case ocf::not_running:
                if (is_probe || target == ocf::not_running || !rsc.flags.managed) {
                    rsc.role = Role::stopped;
                    h.on_fail = OnFail::ignore;
                    rsc.next_role = Role::unknown;
                } else if (rsc.role != Role::stopped || op.interval_ms > 0) {
                    // RF1 (observed): a recurring monitor is a failure even where the
                    // resource was found stopped: it is active and failed there.
                    status = ExecStatus::error;
                }
                break;
            case ocf::running_promoted:
                if (!is_probe && target >= 0 && target != ocf::running_promoted) status = ExecStatus::error;
                rsc.role = Role::promoted;
                break;
            case ocf::failed_promoted:
                rsc.role = Role::promoted;
                status = ExecStatus::error;
                break;
            case ocf::degraded:
            case ocf::degraded_promoted:
                if (op.rc == ocf::degraded_promoted) rsc.role = Role::promoted;
                break;
            case ocf::unimplemented:
                status = op.interval_ms > 0 ? ExecStatus::not_supported : ExecStatus::error_hard;
                break;
            case ocf::not_installed:
            case ocf::invalid_param:
            case ocf::insufficient_priv:
                status = ExecStatus::error_hard;
                break;
            case ocf::not_configured:
                status = ExecStatus::error_fatal;
                break;
            default:
                status = ExecStatus::error;
                break;
        }
    }

    // An expired failure is forgotten.
    const int expected = target >= 0 ? target : ocf::ok;
    if (expired && op.rc != expected) return;

    switch (status) {
        case ExecStatus::done:
            op_success(r, n, h, i);
            break;
        case ExecStatus::not_installed:
            if (is_probe) {
                rsc.role = Role::stopped;
            } else {
                op_failure(r, n, h, i, ExecStatus::error_hard);
            }
            break;
        case ExecStatus::not_connected:
            // Rule 26: an action behind a managed connection failed: the connection did.
            if (c.nodes[n].remote_rsc != kNone && c.resources[c.nodes[n].remote_rsc].flags.managed) {
                c.resources[c.nodes[n].remote_rsc].flags.failed = true;
                c.resources[c.nodes[n].remote_rsc].flags.stop_needed = true;
            }
            op_failure(r, n, h, i, status);
            break;
        case ExecStatus::error:
        case ExecStatus::error_hard:
        case ExecStatus::error_fatal:
        case ExecStatus::timeout:
        case ExecStatus::not_supported:
        case ExecStatus::no_fence_device:
        case ExecStatus::no_secrets:
        case ExecStatus::invalid:
        default:
            op_failure(r, n, h, i, status);
            break;
    }
}

void add_running(Cluster& c, RscIdx r, NodeIdx n)
{
    for (RscIdx p = r; p != kNone; p = c.resources[p].parent) {
        auto& ro = c.resources[p].running_on;
        if (std::find(ro.begin(), ro.end(), n) == ro.end()) ro.push_back(n);
    }
    auto& nr = c.nodes[n].running;
    if (std::find(nr.begin(), nr.end(), r) == nr.end()) nr.push_back(r);
    Resource& rsc = c.resources[r];
    if (rsc.running_on.size() > 1) {
        if (rsc.multiple_active == MultipleActive::block) {
            rsc.flags.managed = false;
            rsc.flags.blocked = true;
        } else if (rsc.multiple_active == MultipleActive::stop_only) {
            rsc.next_role = Role::stopped;
        }
    }
}

// Rule 27 and the on-fail responses.
void StatusUnpacker::process_state(RscIdx r, NodeIdx n, NodeHistory& h)
{
    Resource& rsc = c.resources[r];
    Node& node = c.nodes[n];
    OnFail on_fail = h.on_fail;
    if (rsc.role > Role::stopped && !node.online && !node.maintenance && rsc.flags.managed) {
        bool should_fence = false;
        std::string reason;
        if (node.kind == NodeKind::guest) {
            rsc.flags.failed = true;
            rsc.flags.stop_needed = true;
            should_fence = true;
        } else if (c.options.stonith_enabled) {
            if (node.kind == NodeKind::remote && node.remote_rsc != kNone &&
                !c.resources[node.remote_rsc].flags.failed) {
                node.unseen = true;
                reason = rsc.id +
                         " is active there (fencing will be revoked if remote connection can be "
                         "re-established elsewhere)";
            }
            should_fence = true;
        }
        if (should_fence) {
            if (reason.empty()) reason = rsc.id + " is thought to be active there";
            fence_node(c, n, reason, false);
        }
    }
    const OnFail saved = on_fail;
    // Rule 24 (observed): a connection reset with a reconnect interval stays stopped until
    // the failure expires even when the node it failed on is unclean, whose failures are
    // otherwise left to its fencing.
    if (node.unclean && on_fail == OnFail::reset_remote && rsc.remote_reconnect_ms > 0) {
        rsc.next_role = Role::stopped;
        rsc.flags.reconnect_hold = true;
    }
    if (node.unclean) on_fail = OnFail::ignore;
    switch (on_fail) {
        case OnFail::ignore:
            break;
        case OnFail::demote:
            rsc.flags.failed = true;
            rsc_action(c, r, "demote", n, false);
            break;
        case OnFail::fence:
            fence_node(c, n, rsc.id + " failed there", false);
            break;
        case OnFail::standby:
            node.standby = true;
            node.standby_onfail = true;
            break;
        case OnFail::block:
            rsc.flags.managed = false;
            rsc.flags.blocked = true;
            break;
        case OnFail::ban:
            rsc.bans.emplace_back(n, "__action_migration_auto__");
            break;
        case OnFail::stop:
            rsc.next_role = Role::stopped;
            break;
        case OnFail::restart:
            if (rsc.role != Role::stopped && rsc.role != Role::unknown) {
                rsc.flags.failed = true;
                rsc.flags.stop_needed = true;
                rsc_action(c, r, "stop", n, false);
            }
            break;
        case OnFail::restart_container:
            rsc.flags.failed = true;
            rsc.flags.stop_needed = true;
            if (rsc.container != kNone) {
                // RF2 (observed): where the container runs (a guest connection active on
                // two nodes whose monitor fails on the one without its container restarts
                // nothing but the connection).
                const auto& on = c.resources[rsc.container].running_on;
                if (std::find(on.begin(), on.end(), n) != on.end())
                    rsc_action(c, rsc.container, "stop", n, false);
                else
                    container_stops.emplace_back(rsc.container, n);
            } else if (rsc.role != Role::stopped && rsc.role != Role::unknown) {
                rsc_action(c, r, "stop", n, false);
            }
            break;
        case OnFail::reset_remote:
            rsc.flags.failed = true;
            rsc.flags.stop_needed = true;
            if (c.options.stonith_enabled && rsc.remote_node != kNone) {
                Node& rn = c.nodes[rsc.remote_node];
                if (rn.kind == NodeKind::remote && !rn.remote_was_fenced)
                    fence_node(c, rsc.remote_node, "remote connection is unrecoverable", false);
            }
            if (rsc.role > Role::stopped) rsc_action(c, r, "stop", n, false);
            if (rsc.remote_reconnect_ms > 0) {
                rsc.next_role = Role::stopped;
                rsc.flags.reconnect_hold = true;
            }
            break;
    }
    // Rule 28: a failed connection whose node is unclean is fenced for sure.
    if (rsc.flags.failed && rsc.flags.is_remote_connection && rsc.remote_node != kNone) {
        Node& rn = c.nodes[rsc.remote_node];
        if (rn.unclean) rn.unseen = false;
    }
    if (rsc.role != Role::stopped && rsc.role != Role::unknown) {
        add_running(c, r, n);
        switch (on_fail) {
            case OnFail::ignore:
                break;
            case OnFail::demote:
            case OnFail::block:
                rsc.flags.failed = true;
                break;
            default:
                rsc.flags.failed = true;
                rsc.flags.stop_needed = true;
                break;
        }
    }
    (void)saved;
    // R3 (observed): one active on a node in maintenance is unmanaged.
    if (rsc.role != Role::stopped && rsc.role != Role::unknown && node.maintenance) rsc.flags.managed = false;
    if ((rsc.role == Role::stopped || rsc.role == Role::unknown) &&
        rsc.clone_name.find(':') != std::string::npos)
        rsc.clone_name.clear();  // older status sections named instances
    // A stop after migrate_to on the source keeps a partially migrated resource active on
    // the target; not on a source that is lost (M2: then the role is what the histories
    // say, rnd-s350-c9-8).
    if (rsc.role == Role::stopped && rsc.partial_migration_source == n &&
        rsc.partial_migration_target != kNone && !rsc.running_on.empty() && node.online && !node.unclean)
        rsc.role = Role::started;
}

void StatusUnpacker::unpack_lrm_resource(NodeIdx n, xmlNode* lr)
{
    std::string_view id = attr(lr, "id");
    if (id.empty()) return;
    NodeHistory h;
    h.node = n;
    h.lrm_id = std::string(id);
    h.xml = lr;
    std::size_t order = 0;
    for (xmlNode* op : xml::elements(lr, "lrm_rsc_op"))
        h.ops.push_back(parse_op(op, order++));
    if (h.ops.empty()) return;
    RscIdx r = find_history_rsc(n, id, lr);
    if (r == kNone) return;
    cur_lrm_id = id;
    std::stable_sort(h.ops.begin(), h.ops.end(), op_less);
    Resource& rsc = c.resources[r];
    const Role saved_role = rsc.role;
    rsc.role = Role::unknown;
    for (std::size_t i = 0; i < h.ops.size(); ++i)
        unpack_op(r, n, h, i);
    // Recurring operations active now (after the last start) exist as optional actions.
    if (c.nodes[n].online) {
        int start_index = -1, stop_index = -1;
        active_op_range(h, start_index, stop_index);
        for (std::size_t i = 0; i < h.ops.size(); ++i) {
            const int counter = static_cast<int>(i);
            if (start_index < stop_index && counter <= stop_index) continue;
            if (counter < start_index) continue;
            const HistoryOp& op = h.ops[i];
            if (op.interval_ms == 0 || op.status == ExecStatus::pending) continue;
            rsc_action(c, r, op.task, n, true, op.interval_ms);
        }
    }
    process_state(r, n, h);
    Resource& rr = c.resources[r];
    // Instances of promotable clones are Unpromoted when merely started.
    if (rr.role == Role::started && c.clone_of(r) != kNone && c.resources[c.clone_of(r)].flags.promotable)
        rr.role = Role::unpromoted;
    h.role = rr.role;
    // PD1 (observed): a history that gives no role (a pending stop, demote or probe alone)
    // leaves the resource unknown there: probed again, not running.
    if (rr.role == Role::unknown) {
        if (rr.pending_node == n) rr.pending_only = true;
    } else {
        for (RscIdx p = r; p != kNone; p = c.resources[p].parent) {
            auto& ko = c.resources[p].known_on;
            if (std::find(ko.begin(), ko.end(), n) == ko.end()) ko.push_back(n);
        }
    }
    if (saved_role > rr.role) rr.role = saved_role;
    rr.history.push_back(std::move(h));
}

void StatusUnpacker::unpack_lrm(NodeIdx n, xmlNode* ns)
{
    const xmlNode* lrm = xml::first_child(ns, "lrm");
    const xmlNode* lrs = xml::first_child(lrm, "lrm_resources");
    for (xmlNode* lr : xml::elements(lrs, "lrm_resource"))
        unpack_lrm_resource(n, lr);
    // Rule 21: orphans whose history names a container are re-attached to it, once every
    // resource of this node is known.
    for (xmlNode* lr : xml::elements(lrs, "lrm_resource")) {
        std::string_view container = attr(lr, "container");
        if (container.empty()) continue;
        RscIdx r = c.find_rsc(attr(lr, "id"));
        RscIdx ci = c.find_rsc(container);
        if (r == kNone || ci == kNone || r == ci) continue;
        Resource& rsc = c.resources[r];
        if (!rsc.flags.orphan || rsc.container != kNone) continue;
        rsc.container = ci;
        rsc.meta["container"] = std::string(container);
        c.resources[ci].flags.is_container = true;
        c.resources[ci].fillers.push_back(r);
        if (rsc.flags.is_remote_connection && rsc.remote_node != kNone) {
            Node& rn = c.nodes[rsc.remote_node];
            rn.kind = NodeKind::guest;
            rn.attrs["#kind"] = "container";
            rn.unclean = false;
        }
    }
}

}  // namespace

ActIdx fence_op(Cluster& c, NodeIdx n, std::string_view op, bool optional, std::string_view reason);

void fence_node(Cluster& c, NodeIdx n, const std::string& reason, bool priority_delay)
{
    Node& node = c.nodes[n];
    (void)priority_delay;
    if (node.kind == NodeKind::guest) {
        Resource& conn = c.resources[node.remote_rsc];
        RscIdx ci = conn.container;
        if (ci != kNone && !c.resources[ci].flags.failed) {
            Resource& cont = c.resources[ci];
            if (!cont.flags.managed) return;
            node.remote_requires_reset = true;
            cont.flags.failed = true;
            cont.flags.stop_needed = true;
            if (node.fence_reason.empty()) node.fence_reason = reason;
        }
        return;
    }
    if (node.kind == NodeKind::remote && node.remote_rsc != kNone &&
        c.resources[node.remote_rsc].container != kNone) {
        // Dangling guest (rule 21): its container is gone; the connection fails.
        Resource& conn = c.resources[node.remote_rsc];
        conn.flags.failed = true;
        conn.flags.stop_needed = true;
        return;
    }
    if (node.kind == NodeKind::remote) {
        if (node.remote_rsc != kNone && !c.resources[node.remote_rsc].flags.managed) return;
        if (!node.remote_requires_reset) {
            node.remote_requires_reset = true;
            if (node.fence_reason.empty()) node.fence_reason = reason;
            fence_op(c, n, {}, true, reason);
        }
        node.unclean = true;
        return;
    }
    if (node.unclean) {
        if (node.fence_reason.empty()) node.fence_reason = reason;
        return;
    }
    node.unclean = true;
    if (node.fence_reason.empty()) node.fence_reason = reason;
    fence_op(c, n, {}, true, reason);
}

Status unpack_status(Cluster& c)
{
    StatusUnpacker u{c, {}, {}, {}};
    u.build_anon_index();
    xmlNode* status = xml::first_child(c.root, "status");
    std::vector<xmlNode*> states;
    for (xmlNode* ns : xml::elements(status, "node_state"))
        states.push_back(ns);
    for (xmlNode* ns : states)
        u.node_state_pass(ns);

    // Rule 14: history in passes.
    auto node_of = [&](xmlNode* ns) {
        NodeIdx n = c.find_node_by_id(attr(ns, "id"));
        if (n == kNone) n = c.find_node(attr(ns, "uname"));
        return n;
    };
    auto try_unpack = [&](xmlNode* ns, bool fence) {
        NodeIdx n = node_of(ns);
        if (n == kNone) return false;
        if (c.nodes[n].state_xml == nullptr) u.node_state_pass(ns);  // node created while unpacking
        Node& node = c.nodes[n];
        if (node.history_unpacked || node.state_xml != ns) return false;
        if (fence) {
            // every remaining node
        } else if (node.kind == NodeKind::guest) {
            if (node.remote_rsc == kNone) return false;
            const Resource& conn = c.resources[node.remote_rsc];
            if (conn.role != Role::started) return false;
            if (conn.container == kNone || c.resources[conn.container].role != Role::started) return false;
        } else if (node.kind == NodeKind::remote) {
            if (node.remote_rsc == kNone) return false;
            if (!c.options.shutdown_lock && c.resources[node.remote_rsc].role != Role::started) return false;
        } else if (!c.options.stonith_enabled && !c.options.shutdown_lock && !node.online) {
            // Offline cluster nodes wait so that active clone instances are numbered first.
            return false;
        }
        node.history_unpacked = true;
        if (node.is_remote_class()) {
            // A Pacemaker Remote node without a <node> entry gets #uname and the other
            // built-ins only once its history is unpacked: without fencing, not if its
            // connection or container is not started (lost with its host), observed:
            // crm_simulate then matches it with every other node lacking #uname in a
            // colocation (rnd-s9-c1-6, rnd-s14-c9-2).
            set_builtin_node_attrs(c, node);
            u.determine_remote_online(n);
            u.apply_remote_attrs(n);
            if (!c.nodes[n].remote_requires_reset) {
                c.nodes[n].unclean = false;
                c.nodes[n].unseen = false;
            }
        }
        u.unpack_lrm(n, ns);
        return true;
    };
    bool progress = true;
    while (progress) {
        progress = false;
        for (xmlNode* ns : states)
            progress = try_unpack(ns, false) || progress;
    }
    for (xmlNode* ns : states)
        try_unpack(ns, c.options.stonith_enabled);
    for (auto [container, n] : u.container_stops) {
        const auto& on = c.resources[container].running_on;
        if (std::find(on.begin(), on.end(), n) != on.end()) rsc_action(c, container, "stop", n, false);
    }
    // Rule 15 for remote nodes whose history was never unpacked. Rule 16 is not applied to
    // them: crm_simulate leaves their transient attributes out, so a guest that asked to shut
    // down before its container was recovered starts again (demo-guest-shutdown-offline).
    for (NodeIdx n = 0; n < c.nodes.size(); ++n) {
        Node& node = c.nodes[n];
        if (!node.is_remote_class() || node.history_unpacked) continue;
        u.determine_remote_online(n);
    }
    // Rule 24: a connection reset by a failure waits for its reconnect interval, whatever
    // history on other nodes says: banned from every node from the start (so a placement
    // strategy sorts it after what can run, observed: rnd-s37-c0-5).
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        if (!c.resources[r].flags.reconnect_hold) continue;
        c.resources[r].next_role = Role::stopped;
        resource_location(c, r, kNone, -kInfinity);
    }
    // Rule 19: a remote node shutting down stops its connection.
    for (Node& node : c.nodes) {
        if (node.is_remote_class() && node.shutdown && node.remote_rsc != kNone)
            c.resources[node.remote_rsc].next_role = Role::stopped;
    }
    return {};
}

}  // namespace outpost::cluster::policy
