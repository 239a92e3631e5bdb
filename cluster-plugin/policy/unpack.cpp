// Unpacking the configuration: options, nodes, remote and guest node discovery with the
// implicit connection resources (rules 7-12), and resources.
#include "policy/unpack.hpp"

#include <strings.h>
#include <algorithm>
#include <cctype>
#include <cerrno>

namespace outpost::cluster::policy {

namespace {

using xml::attr;
using xml::attr_c;

Error cib_error(std::string message)
{
    return make_error("cib", -EINVAL, std::move(message));
}
Error unsupported(std::string what)
{
    return make_error("cib", -ENOTSUP, "unsupported: " + std::move(what));
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

Status check_id(const xmlNode* node)
{
    const char* id = attr_c(node, "id");
    if (!id || !*id) return cib_error("<" + std::string(xml::name(node)) + "> without an id");
    if (std::string_view(id).size() > kMaxIdLength)
        return cib_error("<" + std::string(xml::name(node)) + "> id longer than " +
                         std::to_string(kMaxIdLength) + " bytes");
    return {};
}

std::optional<OnFail> parse_on_fail(std::string_view v)
{
    if (v == "ignore") return OnFail::ignore;
    if (v == "demote") return OnFail::demote;
    if (v == "restart") return OnFail::restart;
    if (v == "restart-container") return OnFail::restart_container;
    if (v == "reset-remote") return OnFail::reset_remote;
    if (v == "migrate") return OnFail::ban;
    if (v == "block") return OnFail::block;
    if (v == "stop") return OnFail::stop;
    if (v == "standby") return OnFail::standby;
    if (v == "fence") return OnFail::fence;
    return std::nullopt;
}

bool is_remote_agent(const xmlNode* p)
{
    return iequals(attr(p, "class"), "ocf") && iequals(attr(p, "provider"), "pacemaker") &&
           iequals(attr(p, "type"), "remote");
}

// Meta attribute `name` set directly in one of the element's meta_attributes blocks (rule 10:
// names compared case-insensitively, no rules evaluated).
const char* direct_meta(const xmlNode* p, std::string_view name)
{
    for (const xmlNode* block : xml::elements(p, "meta_attributes")) {
        for (const xmlNode* nv : xml::elements(block, "nvpair")) {
            if (iequals(attr(nv, "name"), name)) return attr_c(nv, "value");
        }
    }
    return nullptr;
}

RuleContext rsc_context(const Cluster& c, const xmlNode* p)
{
    RuleContext ctx;
    ctx.now = c.now;
    ctx.has_rsc = true;
    ctx.rsc_class = attr(p, "class");
    ctx.rsc_provider = attr(p, "provider");
    ctx.rsc_type = attr(p, "type");
    return ctx;
}

// <utilization> blocks into a table, the first value of a name winning, in the order
// Pacemaker inserts them (which decides where GLib's table keeps them).
void unpack_utilization(const xmlNode* parent, const RuleContext& ctx, Utilization& out)
{
    for_each_nvpair(parent, "utilization", ctx, [&](const char* name, const char* value) {
        if (value && std::string_view(value) != "#default") out.set_default(name, value);
    });
}

const xmlNode* section(const xmlNode* root, std::string_view path1, std::string_view path2 = {})
{
    const xmlNode* n = xml::first_child(root, path1);
    if (n && !path2.empty()) n = xml::first_child(n, path2);
    return n;
}

struct Unpacker {
    Cluster& c;
    const xmlNode* configuration = nullptr;
    const xmlNode* rsc_defaults = nullptr;
    const xmlNode* op_defaults = nullptr;

    Status unpack_top(const xmlNode* x);
    Result<RscIdx> unpack_primitive(const xmlNode* x, RscIdx parent, const std::string& suffix);
    Result<RscIdx> unpack_group(const xmlNode* x, RscIdx parent, const std::string& suffix);
    Result<RscIdx> unpack_clone(const xmlNode* x, RscIdx parent);
    void common_meta(Resource& r, const xmlNode* x, RscIdx parent);
    void unpack_ops(Resource& r, const xmlNode* x);
    void apply_common(RscIdx idx);
};

}  // namespace

int compare_node_names(std::string_view a, std::string_view b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const unsigned char ca = static_cast<unsigned char>(a[i]);
        const unsigned char cb = static_cast<unsigned char>(b[j]);
        if (std::isdigit(ca) && std::isdigit(cb)) {
            std::size_t si = i, sj = j;
            while (si < a.size() && a[si] == '0')
                ++si;
            while (sj < b.size() && b[sj] == '0')
                ++sj;
            std::size_t ei = si, ej = sj;
            while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei])))
                ++ei;
            while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej])))
                ++ej;
            if (ei - si != ej - sj) return ei - si < ej - sj ? -1 : 1;
            int cmp = a.substr(si, ei - si).compare(b.substr(sj, ej - sj));
            if (cmp != 0) return cmp < 0 ? -1 : 1;
            i = ei;
            j = ej;
            continue;
        }
        const int la = std::tolower(ca), lb = std::tolower(cb);
        if (la != lb) return la < lb ? -1 : 1;
        ++i;
        ++j;
    }
    if (i < a.size()) return 1;
    if (j < b.size()) return -1;
    return 0;
}

bool is_true(std::string_view v)
{
    return iequals(v, "true") || iequals(v, "on") || iequals(v, "yes") || iequals(v, "y") || v == "1";
}

RuleContext node_context(const Cluster& c, NodeIdx node)
{
    RuleContext ctx;
    ctx.now = c.now;
    if (node != kNone) ctx.node_attrs = &c.nodes[node].attrs;
    return ctx;
}

Status unpack_config(Cluster& c)
{
    const xmlNode* root = c.root;
    if (!xml::is(root, "cib"))
        return cib_error("the root element is <" + std::string(xml::name(root)) + ">, not <cib>");
    c.options.have_quorum = is_true(attr(root, "have-quorum"));
    c.options.dc_uuid = std::string(attr(root, "dc-uuid"));
    // Rule F1: a CIB without crm_feature_set counts as older than 3.0.13.
    const std::string_view feature_set = attr(root, "crm_feature_set");
    c.options.per_operation_failcounts = !feature_set.empty() && compare_versions(feature_set, "3.0.13") >= 0;

    const xmlNode* configuration = xml::first_child(root, "configuration");
    if (!configuration) return cib_error("no <configuration> section");
    std::map<std::string, std::string, std::less<>> props;
    RuleContext ctx;
    ctx.now = c.now;
    unpack_nvpair_sets(xml::first_child(configuration, "crm_config"), "cluster_property_set", ctx, props);
    auto get = [&](std::string_view name) -> const std::string* {
        auto it = props.find(name);
        return it == props.end() ? nullptr : &it->second;
    };
    Options& o = c.options;
    if (auto* v = get("symmetric-cluster")) o.symmetric = is_true(*v);
    if (auto* v = get("stonith-enabled")) o.stonith_enabled = is_true(*v);
    if (auto* v = get("stonith-action")) o.stonith_action = *v == "poweroff" ? "off" : *v;
    if (auto* v = get("no-quorum-policy")) {
        if (*v == "freeze")
            o.no_quorum_policy = NoQuorumPolicy::freeze;
        else if (*v == "ignore")
            o.no_quorum_policy = NoQuorumPolicy::ignore;
        else if (*v == "demote")
            o.no_quorum_policy = NoQuorumPolicy::demote;
        else if (*v == "suicide")
            o.no_quorum_policy = NoQuorumPolicy::suicide;
        else
            o.no_quorum_policy = NoQuorumPolicy::stop;
    }
    if (auto* v = get("placement-strategy")) o.placement_strategy = *v;
    o.strategy = parse_placement_strategy(o.placement_strategy);
    if (auto* v = get("start-failure-is-fatal")) o.start_failure_is_fatal = is_true(*v);
    if (auto* v = get("enable-startup-probes")) o.startup_probes = is_true(*v);
    if (auto* v = get("maintenance-mode")) o.maintenance_mode = is_true(*v);
    if (auto* v = get("stop-orphan-resources")) o.stop_orphan_resources = is_true(*v);
    if (auto* v = get("stop-orphan-actions")) o.stop_orphan_actions = is_true(*v);
    if (auto* v = get("stop-all-resources")) o.stop_all_resources = is_true(*v);
    if (auto* v = get("startup-fencing")) o.startup_fencing = is_true(*v);
    if (auto* v = get("concurrent-fencing")) o.concurrent_fencing = is_true(*v);
    if (auto* v = get("shutdown-lock")) o.shutdown_lock = is_true(*v);
    if (auto* v = get("cluster-recheck-interval")) {
        if (auto ms = parse_interval_ms(*v)) o.cluster_recheck_interval_ms = *ms;
    }
    if (auto* v = get("batch-limit")) o.batch_limit = std::atoi(v->c_str());
    if (auto* v = get("node-action-limit")) o.node_action_limit = std::atoi(v->c_str());
    if (auto* v = get("migration-limit")) o.migration_limit = std::atoi(v->c_str());
    if (auto* v = get("cluster-delay")) o.cluster_delay = *v;
    if (auto* v = get("stonith-timeout")) o.stonith_timeout = *v;
    if (auto* v = get("priority-fencing-delay")) {
        if (auto ms = parse_interval_ms(*v)) o.priority_fencing_delay_ms = *ms;
    }
    if (auto* v = get("node-health-strategy")) o.node_health_strategy = *v;
    if (auto* v = get("cluster-name")) o.cluster_name = *v;
    if (o.node_health_strategy != "none" && !o.node_health_strategy.empty())
        return unsupported("node-health-strategy=" + o.node_health_strategy);
    return {};
}

void set_builtin_node_attrs(const Cluster& c, Node& n)
{
    n.attrs["#uname"] = n.name;
    n.attrs["#id"] = n.id;
    n.attrs["#is_dc"] = "false";
    if (!c.options.cluster_name.empty()) n.attrs["#cluster-name"] = c.options.cluster_name;
}

namespace {

NodeIdx add_node(Cluster& c, std::string id, std::string name, NodeKind kind)
{
    Node n;
    n.id = std::move(id);
    n.name = std::move(name);
    n.kind = kind;
    // Rule 20: cluster and remote nodes start unclean (unseen) when fencing at start-up
    // applies; guests start clean.
    if (kind == NodeKind::guest || !c.options.stonith_enabled || !c.options.startup_fencing) {
        n.unclean = false;
    } else {
        n.unclean = true;
    }
    n.attrs["#kind"] =
        kind == NodeKind::member ? "cluster" : (kind == NodeKind::remote ? "remote" : "container");
    // A Pacemaker Remote node has its other built-in attributes only once its node_state
    // is read (unpack_status.cpp): until then colocations see no #uname there.
    if (kind == NodeKind::member) set_builtin_node_attrs(c, n);
    const NodeIdx idx = static_cast<NodeIdx>(c.nodes.size());
    c.node_by_name.emplace(n.name, idx);
    c.node_by_id.emplace(n.id, idx);
    c.nodes.push_back(std::move(n));
    return idx;
}

}  // namespace

Status unpack_nodes(Cluster& c)
{
    const xmlNode* nodes = section(c.root, "configuration", "nodes");
    for (const xmlNode* n : xml::elements(nodes, "node")) {
        if (auto st = check_id(n); !st) return st;
        std::string_view type = attr(n, "type");
        std::string uname(attr(n, "uname"));
        if (uname.empty()) uname = std::string(attr(n, "id"));
        if (c.find_node(uname) != kNone) {
            c.config_warnings.push_back("duplicate node " + uname + " ignored");
            continue;
        }
        NodeKind kind = NodeKind::member;
        if (type == "remote") kind = NodeKind::remote;
        if (type == "ping") {
            c.config_warnings.push_back("ping node " + uname + " ignored");
            continue;
        }
        NodeIdx idx = add_node(c, std::string(attr(n, "id")), uname, kind);
        Node& node = c.nodes[idx];
        node.has_node_entry = true;
        if (kind == NodeKind::remote) {
            node.id = node.name;
            // A node entry gives a Pacemaker Remote node its built-in attributes at once.
            set_builtin_node_attrs(c, node);
        }
        // Permanent attributes (rules evaluated against the node's own built-ins).
        RuleContext ctx = node_context(c, idx);
        auto attrs = node.attrs;
        unpack_nvpair_sets(n, "instance_attributes", ctx, attrs);
        node.attrs = std::move(attrs);
        // (Rules here see the time only, not the node's attributes.)
        RuleContext time_only;
        time_only.now = c.now;
        unpack_utilization(n, time_only, node.utilization);
        if (const char* score = attr_c(n, "score")) node.weight = parse_score(score);
    }
    return {};
}

namespace {

void Unpacker::common_meta(Resource& r, const xmlNode* x, RscIdx parent)
{
    for (xmlAttr* a = x->properties; a; a = a->next) {
        const char* v =
            a->children && a->children->content ? reinterpret_cast<const char*>(a->children->content) : "";
        r.meta.emplace(reinterpret_cast<const char*>(a->name), v);
    }
    RuleContext ctx = rsc_context(c, x);
    unpack_nvpair_sets(x, "meta_attributes", ctx, r.meta);
    if (parent != kNone) {
        for (const auto& [k, v] : c.resources[parent].meta)
            r.meta.emplace(k, v);
    }
    if (rsc_defaults) unpack_nvpair_sets(rsc_defaults, "meta_attributes", ctx, r.meta);
}

void Unpacker::unpack_ops(Resource& r, const xmlNode* x)
{
    const xmlNode* ops = resolve_ref(xml::first_child(x, "operations"));
    if (!ops) return;
    for (const xmlNode* opx0 : xml::elements(ops, "op")) {
        const xmlNode* opx = resolve_ref(opx0);
        if (!opx) continue;
        Op op;
        op.id = std::string(attr(opx, "id"));
        op.name = std::string(attr(opx, "name"));
        std::string_view interval = attr(opx, "interval");
        op.interval_ms = interval.empty() ? 0 : parse_interval_ms(interval).value_or(0);
        // Attributes of the op element, then its meta_attributes, then op_defaults.
        std::map<std::string, std::string, std::less<>> meta;
        for (xmlAttr* a = opx->properties; a; a = a->next) {
            const char* v = a->children && a->children->content
                                ? reinterpret_cast<const char*>(a->children->content)
                                : "";
            meta.emplace(reinterpret_cast<const char*>(a->name), v);
        }
        RuleContext ctx;
        ctx.now = c.now;
        ctx.has_op = true;
        ctx.op_name = op.name;
        ctx.op_interval_ms = op.interval_ms;
        ctx.has_rsc = true;
        ctx.rsc_class = r.cls;
        ctx.rsc_provider = r.provider;
        ctx.rsc_type = r.type;
        unpack_nvpair_sets(opx, "meta_attributes", ctx, meta);
        if (op_defaults) unpack_nvpair_sets(op_defaults, "meta_attributes", ctx, meta);
        std::map<std::string, std::string, std::less<>> params;
        unpack_nvpair_sets(opx, "instance_attributes", ctx, params);
        for (auto& [k, v] : params)
            op.params.emplace_back(k, v);
        if (auto it = meta.find("role"); it != meta.end()) op.role = parse_role(it->second);
        if (auto it = meta.find("timeout"); it != meta.end()) op.timeout = it->second;
        if (auto it = meta.find("on-fail"); it != meta.end()) op.on_fail = parse_on_fail(it->second);
        if (auto it = meta.find("enabled"); it != meta.end()) op.enabled = is_true(it->second);
        if (auto it = meta.find("start-delay"); it != meta.end()) op.start_delay = it->second;
        if (auto it = meta.find("record-pending"); it != meta.end()) op.record_pending = is_true(it->second);
        for (auto& [k, v] : meta) {
            if (k == "id" || k == "name" || k == "interval" || k == "role" || k == "timeout" ||
                k == "enabled" || k == "start-delay" || k == "record-pending" || k == "description")
                continue;
            op.meta.emplace_back(k, v);
        }
        if (!op.timeout.empty()) op.timeout_ms = parse_interval_ms(op.timeout).value_or(20000);
        r.ops.push_back(std::move(op));
    }
}

Result<RscIdx> Unpacker::unpack_primitive(const xmlNode* x, RscIdx parent, const std::string& suffix)
{
    if (auto st = check_id(x); !st) return st.error();
    if (xml::has_attr(x, "template"))
        return unsupported("resource template reference in primitive " + std::string(attr(x, "id")));
    Resource r;
    r.base_id = std::string(attr(x, "id"));
    r.id = r.base_id + suffix;
    r.kind = RscKind::primitive;
    r.variant_name = "primitive";
    r.parent = parent;
    r.xml = const_cast<xmlNode*>(x);
    r.cls = std::string(attr(x, "class"));
    r.provider = std::string(attr(x, "provider"));
    r.type = std::string(attr(x, "type"));
    if (r.cls.empty() || r.type.empty()) return cib_error("primitive " + r.id + " has no class or type");
    common_meta(r, x, parent);
    // Instance attributes: own blocks, then the parents' (rule 10's parameters of implicit
    // connections are set by the caller).
    std::map<std::string, std::string, std::less<>> params;
    RuleContext ctx = rsc_context(c, x);
    unpack_nvpair_sets(x, "instance_attributes", ctx, params);
    for (RscIdx p = parent; p != kNone; p = c.resources[p].parent) {
        if (c.resources[p].xml) unpack_nvpair_sets(c.resources[p].xml, "instance_attributes", ctx, params);
    }
    for (auto& [k, v] : params)
        r.params.emplace_back(k, v);
    unpack_ops(r, x);
    unpack_utilization(x, ctx, r.utilization);
    RscIdx idx = add_resource(c, std::move(r));
    apply_common(idx);
    return idx;
}

Result<RscIdx> Unpacker::unpack_group(const xmlNode* x, RscIdx parent, const std::string& suffix)
{
    if (auto st = check_id(x); !st) return st.error();
    Resource g;
    g.base_id = std::string(attr(x, "id"));
    g.id = g.base_id + suffix;
    g.kind = RscKind::group;
    g.variant_name = "group";
    g.parent = parent;
    g.xml = const_cast<xmlNode*>(x);
    common_meta(g, x, parent);
    unpack_utilization(x, rsc_context(c, x), g.utilization);
    RscIdx idx = add_resource(c, std::move(g));
    apply_common(idx);
    for (const xmlNode* child : xml::elements(x)) {
        std::string_view n = xml::name(child);
        if (n == "primitive") {
            auto r = unpack_primitive(child, idx, suffix);
            if (!r) return r.error();
            c.resources[idx].children.push_back(*r);
        } else if (n == "meta_attributes" || n == "instance_attributes" || n == "utilization" ||
                   n == "description") {
            continue;
        } else {
            return unsupported("<" + std::string(n) + "> inside group " + c.resources[idx].id);
        }
    }
    if (c.resources[idx].children.empty())
        c.config_warnings.push_back("group " + c.resources[idx].id + " has no members");
    return idx;
}

Result<RscIdx> Unpacker::unpack_clone(const xmlNode* x, RscIdx parent)
{
    if (auto st = check_id(x); !st) return st.error();
    Resource cl;
    cl.base_id = cl.id = std::string(attr(x, "id"));
    cl.kind = RscKind::clone;
    cl.variant_name = std::string(xml::name(x));
    cl.parent = parent;
    cl.xml = const_cast<xmlNode*>(x);
    common_meta(cl, x, parent);
    unpack_utilization(x, rsc_context(c, x), cl.utilization);
    // Clones are sticky by default (1), for their instances too.
    cl.meta.emplace("resource-stickiness", "1");
    const xmlNode* child = nullptr;
    for (const xmlNode* ch : xml::elements(x)) {
        std::string_view n = xml::name(ch);
        if (n == "primitive" || n == "group") {
            if (child) return cib_error("clone " + cl.id + " has more than one child");
            child = ch;
        } else if (n == "meta_attributes" || n == "instance_attributes" || n == "utilization" ||
                   n == "description") {
            continue;
        } else {
            return unsupported("<" + std::string(n) + "> inside clone " + cl.id);
        }
    }
    if (!child) return cib_error("clone " + cl.id + " has no child resource");
    auto meta_int = [&](std::initializer_list<const char*> names, int dflt) {
        for (const char* n : names) {
            auto it = cl.meta.find(std::string_view(n));
            if (it != cl.meta.end()) return std::atoi(it->second.c_str());
        }
        return dflt;
    };
    cl.flags.promotable = cl.variant_name == "master" || is_true(cl.meta_value("promotable"));
    cl.flags.unique = is_true(cl.meta_value("globally-unique"));
    cl.flags.interleave = is_true(cl.meta_value("interleave"));
    cl.flags.ordered = is_true(cl.meta_value("ordered"));
    cl.flags.notify = is_true(cl.meta_value("notify"));
    cl.clone_max = meta_int({"clone-max"}, static_cast<int>(c.nodes.size()));
    cl.clone_node_max = meta_int({"clone-node-max"}, 1);
    cl.promoted_max = meta_int({"promoted-max", "master-max"}, 1);
    cl.promoted_node_max = meta_int({"promoted-node-max", "master-node-max"}, 1);
    if (cl.clone_max < 0) cl.clone_max = 0;
    RscIdx idx = add_resource(c, std::move(cl));
    apply_common(idx);
    for (int i = 0; i < c.resources[idx].clone_max; ++i) {
        if (create_clone_instance(c, idx, i, false) == kNone)
            return cib_error("cannot create instance " + std::to_string(i) + " of clone " +
                             c.resources[idx].id);
    }
    return idx;
}

// Properties every resource reads from its meta attributes.
void Unpacker::apply_common(RscIdx idx)
{
    Resource& r = c.resources[idx];
    auto m = [&](std::string_view k) { return r.meta_value(k); };
    r.priority = r.has_meta("priority") ? parse_score(m("priority")) : 0;
    if (r.has_meta("is-managed")) r.flags.managed = is_true(m("is-managed"));
    if (r.has_meta("maintenance") && is_true(m("maintenance"))) {
        r.flags.managed = false;
        r.flags.maintenance = true;
    }
    if (c.options.maintenance_mode) {
        r.flags.managed = false;
        r.flags.maintenance = true;
    }
    if (r.has_meta("critical")) r.flags.critical = is_true(m("critical"));
    if (r.parent != kNone) {
        const Resource& p = c.resources[r.parent];
        if (p.flags.notify) r.flags.notify = true;
        if (p.flags.unique) r.flags.unique = true;
        if (p.flags.promotable) r.flags.promotable = true;
        if (p.flags.interleave) r.flags.interleave = true;
    }
    if (r.has_meta("notify") && is_true(m("notify"))) r.flags.notify = true;
    r.migration_threshold =
        r.has_meta("migration-threshold") ? parse_score(m("migration-threshold")) : kInfinity;
    if (r.migration_threshold < 0) r.migration_threshold = 0;
    if (r.has_meta("resource-stickiness")) {
        r.stickiness = parse_score(m("resource-stickiness"));
    } else if (r.has_meta("default-resource-stickiness")) {
        r.stickiness = parse_score(m("default-resource-stickiness"));
    } else {
        r.stickiness = 0;
    }
    if (r.has_meta("failure-timeout")) {
        auto ms = parse_interval_ms(m("failure-timeout"));
        r.failure_timeout_s = ms ? *ms / 1000 : 0;
    }
    if (r.has_meta("multiple-active")) {
        std::string_view v = m("multiple-active");
        if (v == "stop_only")
            r.multiple_active = MultipleActive::stop_only;
        else if (v == "block")
            r.multiple_active = MultipleActive::block;
        else if (v == "stop_unexpected")
            r.multiple_active = MultipleActive::stop_unexpected;
        else
            r.multiple_active = MultipleActive::stop_start;
    }
    if (r.is_primitive()) {
        r.flags.fence_device = r.cls == "stonith";
        r.flags.is_remote_connection =
            iequals(r.cls, "ocf") && iequals(r.provider, "pacemaker") && iequals(r.type, "remote");
        // Rule 12: explicit connections may migrate unless told otherwise; guests only
        // with remote-allow-migrate (copied into allow-migrate by the caller).
        if (r.has_meta("allow-migrate")) {
            r.flags.allow_migrate = is_true(m("allow-migrate"));
        } else {
            r.flags.allow_migrate = r.flags.is_remote_connection && !r.has_meta("container");
        }
        r.container_attribute_target = std::string(m("container-attribute-target"));
    }
    // requires (rule 12 for connections): an explicit valid value, else quorum for fence
    // devices and connections, fencing with fencing enabled, nothing when quorum is
    // ignored, quorum otherwise.
    std::string_view req = m("requires");
    const bool quorum_only = r.flags.fence_device || r.flags.is_remote_connection;
    const bool by_default = req != "nothing" && req != "quorum" && req != "fencing" && req != "unfencing";
    if (req == "nothing" || (by_default && !quorum_only && !c.options.stonith_enabled &&
                             c.options.no_quorum_policy == NoQuorumPolicy::ignore)) {
        r.requires_ = Requires::nothing;
    } else if (by_default && !quorum_only && c.enable_unfencing) {
        r.requires_ = Requires::unfencing;  // UF1
        r.flags.needs_unfencing = true;
    } else if (req == "fencing" || (by_default && !quorum_only && c.options.stonith_enabled)) {
        r.requires_ = Requires::fencing;
    } else if (req == "unfencing" && !r.flags.fence_device && c.options.stonith_enabled) {
        r.requires_ = Requires::unfencing;
        r.flags.needs_unfencing = true;
    } else {
        r.requires_ = Requires::quorum;
    }
    // Rule 12: reconnect_interval of explicit connections overrides failure-timeout.
    if (r.flags.is_remote_connection && !r.has_meta("container")) {
        if (const std::string* ri = r.param("reconnect_interval")) {
            auto ms = parse_interval_ms(*ri);
            if (ms && *ms > 0) {
                r.remote_reconnect_ms = *ms;
                r.failure_timeout_s = *ms / 1000;
            }
        }
    }
    // target-role limits the role placement may give: Stopped anywhere, Unpromoted (or
    // Slave) in a promotable clone (rule TR1). Started is no limit; nor are Promoted, and
    // Unpromoted outside a promotable clone (crm_simulate treats them as Started).
    std::string_view target = m("target-role");
    if (!target.empty() && target != "default") {
        auto role = parse_role(target);
        const RscIdx clone = c.clone_of(idx);
        const bool promotable = clone != kNone && c.resources[clone].flags.promotable;
        if (role && (*role == Role::stopped || (*role == Role::unpromoted && promotable)))
            r.target_role = *role;
    }
}

Status Unpacker::unpack_top(const xmlNode* x)
{
    std::string_view n = xml::name(x);
    if (n == "primitive") {
        auto r = unpack_primitive(x, kNone, "");
        if (!r) return r.error();
        c.top.push_back(*r);
    } else if (n == "group") {
        auto r = unpack_group(x, kNone, "");
        if (!r) return r.error();
        c.top.push_back(*r);
    } else if (n == "clone" || n == "master") {
        auto r = unpack_clone(x, kNone);
        if (!r) return r.error();
        c.top.push_back(*r);
    } else if (n == "bundle") {
        return unsupported("bundle " + std::string(attr(x, "id")));
    } else if (n == "template") {
        return unsupported("template " + std::string(attr(x, "id")));
    } else {
        return unsupported("<" + std::string(n) + "> " + std::string(attr(x, "id")) + " in resources");
    }
    return {};
}

}  // namespace

RscIdx add_resource(Cluster& c, Resource r)
{
    // Symmetric clusters allow every resource everywhere with 0 until constraints say more;
    // rule 12: guest connections get that opt-in in asymmetric clusters too.
    if (c.options.symmetric || (r.flags.internal && r.has_meta("container"))) {
        r.allowed.set_class_default(false, 0);
        r.allowed.set_class_default(true, 0);
    }
    const RscIdx idx = static_cast<RscIdx>(c.resources.size());
    c.rsc_by_id.emplace(r.id, idx);
    c.resources.push_back(std::move(r));
    return idx;
}

RscIdx create_clone_instance(Cluster& c, RscIdx clone, int n, bool orphan)
{
    const xmlNode* child = nullptr;
    for (const xmlNode* ch : xml::elements(c.resources[clone].xml)) {
        if (xml::is(ch, "primitive") || xml::is(ch, "group")) {
            child = ch;
            break;
        }
    }
    if (!child) return kNone;
    Unpacker u{c, nullptr, nullptr, nullptr};
    u.configuration = section(c.root, "configuration");
    u.rsc_defaults = xml::first_child(u.configuration, "rsc_defaults");
    u.op_defaults = xml::first_child(u.configuration, "op_defaults");
    const std::string suffix = ":" + std::to_string(n);
    Result<RscIdx> r = xml::is(child, "group") ? u.unpack_group(child, clone, suffix)
                                               : u.unpack_primitive(child, clone, suffix);
    if (!r) return kNone;
    c.resources[clone].children.push_back(*r);
    if (orphan) {
        std::vector<RscIdx> leaves;
        c.leaves(*r, leaves);
        c.resources[*r].flags.orphan = true;
        for (RscIdx l : leaves)
            c.resources[l].flags.orphan = true;
    }
    return *r;
}

Status unpack_resources(Cluster& c)
{
    const xmlNode* configuration = section(c.root, "configuration");
    const xmlNode* resources = xml::first_child(configuration, "resources");
    Unpacker u{c, nullptr, nullptr, nullptr};
    u.configuration = configuration;
    u.rsc_defaults = xml::first_child(configuration, "rsc_defaults");
    u.op_defaults = xml::first_child(configuration, "op_defaults");
    if (u.op_defaults) {
        // The timeout an operation without its own configuration gets (graph attributes).
        RuleContext ctx;
        ctx.now = c.now;
        std::map<std::string, std::string, std::less<>> defaults;
        unpack_nvpair_sets(u.op_defaults, "meta_attributes", ctx, defaults);
        if (auto it = defaults.find("timeout"); it != defaults.end()) {
            if (auto ms = parse_interval_ms(it->second)) c.options.default_op_timeout_ms = *ms;
        }
    }

    // UF1: a fence device that provides unfencing (or a resource that requires it) changes
    // every resource's default requires.
    auto provides_unfencing = [](const xmlNode* p) {
        const char* cls = xml::attr_c(p, "class");
        const bool device = cls != nullptr && std::string_view(cls) == "stonith";
        const char* provides = direct_meta(p, "provides");
        const char* requires_ = direct_meta(p, "requires");
        return (device && provides != nullptr && std::string_view(provides) == "unfencing") ||
               (!device && requires_ != nullptr && std::string_view(requires_) == "unfencing");
    };
    for (const xmlNode* x : xml::elements(resources)) {
        if (xml::is(x, "primitive") && provides_unfencing(x)) c.unfencing_configured = true;
        for (const xmlNode* p : xml::elements(x, "primitive"))
            if (provides_unfencing(p)) c.unfencing_configured = true;
    }
    c.enable_unfencing = c.unfencing_configured && c.options.stonith_enabled;

    // Rule 8: remote and guest nodes are created before any resource is unpacked.
    struct Guest {
        const xmlNode* container;
        std::string name;
    };
    std::vector<Guest> guests;
    auto check_guest = [&](const xmlNode* p) -> Status {
        const char* g = direct_meta(p, "remote-node");
        if (!g || !*g) return {};
        std::string name(g);
        const NodeIdx existing = c.find_node(name);
        if (existing != kNone &&
            !(c.nodes[existing].kind == NodeKind::remote && c.nodes[existing].has_node_entry) &&
            !(c.nodes[existing].kind == NodeKind::member && c.nodes[existing].has_node_entry))
            return cib_error("remote-node \"" + name + "\" of " + std::string(attr(p, "id")) +
                             " collides with an existing node");
        guests.push_back({p, name});
        if (existing != kNone && c.nodes[existing].kind == NodeKind::member) {
            // Rule 9: a <node> entry without a type (crm_simulate's own -u writes one) keeps
            // the name a cluster node, as Pacemaker does: the container and its implicit
            // connection stay resources, no guest node is made.
            return {};
        }
        if (existing == kNone) {
            add_node(c, name, name, NodeKind::guest);
        } else {
            // Rule 3: a <node type="remote"> entry of that name is the guest node (its
            // permanent attributes and utilization live there).
            Node& node = c.nodes[existing];
            node.kind = NodeKind::guest;
            node.unclean = false;
            node.attrs["#kind"] = "container";
        }
        return {};
    };
    for (const xmlNode* x : xml::elements(resources)) {
        if (xml::is(x, "primitive")) {
            if (is_remote_agent(x)) {
                std::string id(attr(x, "id"));
                if (auto st = check_id(x); !st) return st;
                NodeIdx existing = c.find_node(id);
                if (existing == kNone) {
                    add_node(c, id, id, NodeKind::remote);
                } else if (c.nodes[existing].kind == NodeKind::member && !c.nodes[existing].has_node_entry) {
                    return cib_error("remote connection " + id + " has the name of a cluster node");
                }
            } else if (auto st = check_guest(x); !st) {
                return st;
            }
        } else if (xml::is(x, "group")) {
            for (const xmlNode* p : xml::elements(x, "primitive")) {
                if (auto st = check_guest(p); !st) return st;
            }
        }
    }
    // Pacemaker keeps its node list sorted by name.
    {
        std::vector<NodeIdx> order(c.nodes.size());
        for (NodeIdx i = 0; i < order.size(); ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](NodeIdx a, NodeIdx b) {
            return compare_node_names(c.nodes[a].name, c.nodes[b].name) < 0;
        });
        std::vector<Node> sorted;
        sorted.reserve(order.size());
        for (NodeIdx i : order)
            sorted.push_back(std::move(c.nodes[i]));
        c.nodes = std::move(sorted);
        c.node_by_name.clear();
        c.node_by_id.clear();
        c.node_order.clear();
        for (NodeIdx i = 0; i < c.nodes.size(); ++i) {
            c.node_by_name.emplace(c.nodes[i].name, i);
            c.node_by_id.emplace(c.nodes[i].id, i);
            c.node_order.push_back(i);
        }
    }

    for (const xmlNode* x : xml::elements(resources)) {
        if (auto st = u.unpack_top(x); !st) return st;
    }
    // Rule 10: the implicit connection of each guest, appended after the configured ones.
    for (const Guest& g : guests) {
        if (c.find_rsc(g.name) != kNone)
            return cib_error("remote-node \"" + g.name + "\" of " + std::string(attr(g.container, "id")) +
                             " collides with a resource id");
        Resource r;
        r.id = r.base_id = g.name;
        r.kind = RscKind::primitive;
        r.variant_name = "primitive";
        r.cls = "ocf";
        r.provider = "pacemaker";
        r.type = "remote";
        r.meta["id"] = g.name;
        r.meta["class"] = "ocf";
        r.meta["provider"] = "pacemaker";
        r.meta["type"] = "remote";
        r.meta["internal_rsc"] = "true";
        r.meta["container"] = std::string(attr(g.container, "id"));
        if (const char* v = direct_meta(g.container, "remote-allow-migrate")) r.meta["allow-migrate"] = v;
        if (const char* v = direct_meta(g.container, "is-managed")) r.meta["is-managed"] = v;
        if (u.rsc_defaults) {
            RuleContext ctx;
            ctx.now = c.now;
            ctx.has_rsc = true;
            ctx.rsc_class = "ocf";
            ctx.rsc_provider = "pacemaker";
            ctx.rsc_type = "remote";
            unpack_nvpair_sets(u.rsc_defaults, "meta_attributes", ctx, r.meta);
        }
        if (const char* v = direct_meta(g.container, "remote-addr")) r.params.emplace_back("addr", v);
        if (const char* v = direct_meta(g.container, "remote-port")) r.params.emplace_back("port", v);
        r.flags.internal = true;
        Op mon;
        mon.id = g.name + "-monitor-30s";
        mon.name = "monitor";
        mon.interval_ms = 30000;
        mon.timeout = "30s";
        mon.timeout_ms = 30000;
        Op start;
        start.id = g.name + "-start-0";
        start.name = "start";
        const char* t = direct_meta(g.container, "remote-connect-timeout");
        start.timeout = t ? t : "60s";
        start.timeout_ms = parse_interval_ms(start.timeout).value_or(60000);
        r.ops.push_back(std::move(mon));
        r.ops.push_back(std::move(start));
        RscIdx idx = add_resource(c, std::move(r));
        u.apply_common(idx);
        c.top.push_back(idx);
    }

    // Rule 11: container links (any resource with meta container=X).
    for (RscIdx i = 0; i < c.resources.size(); ++i) {
        Resource& r = c.resources[i];
        std::string_view cont = r.meta_value("container");
        if (cont.empty() || cont == r.id) continue;
        RscIdx ci = c.find_rsc(cont);
        if (ci == kNone) {
            c.config_warnings.push_back("resource " + r.id + ": unknown container " + std::string(cont));
            continue;
        }
        r.container = ci;
        c.resources[ci].flags.is_container = true;
        c.resources[ci].fillers.push_back(i);
    }
    // Pacemaker keeps its resource list sorted by priority (highest first, stable).
    std::stable_sort(c.top.begin(), c.top.end(),
                     [&](RscIdx a, RscIdx b) { return c.resources[a].priority > c.resources[b].priority; });
    // Rule 3: link nodes and their connections.
    for (NodeIdx n = 0; n < c.nodes.size(); ++n) {
        RscIdx conn = c.find_rsc(c.nodes[n].name);
        if (conn == kNone || !c.resources[conn].flags.is_remote_connection) continue;
        if (c.nodes[n].kind == NodeKind::member) {
            // Rule 9: a cluster node of a connection's name (observed: fence devices and
            // connections get -INFINITY there, and a guest's one has #kind "container").
            c.nodes[n].named_by_connection = true;
            c.connection_named_members.push_back(n);
            if (c.resources[conn].container != kNone) c.nodes[n].attrs["#kind"] = "container";
            continue;
        }
        c.nodes[n].remote_rsc = conn;
        c.resources[conn].remote_node = n;
        if (c.resources[conn].container != kNone) {
            c.nodes[n].kind = NodeKind::guest;
            c.nodes[n].attrs["#kind"] = "container";
            c.nodes[n].unclean = false;
        }
    }
    // Rule 20: a stale remote node entry without a connection is not fenced.
    for (Node& node : c.nodes) {
        if (node.kind != NodeKind::member && node.remote_rsc == kNone) node.unclean = false;
    }
    return {};
}

}  // namespace outpost::cluster::policy
