#include "policy/graph.hpp"

#include <algorithm>
#include <cstdint>
#include <map>

#include "policy/actions.hpp"
#include "policy/time.hpp"
#include "util/xml_text.hpp"

namespace outpost::cluster::policy {

// An anonymous clone instance known from history under a name ("M" for M:4) shows that
// name in operation keys (the internal key keeps the instance).
std::string display_key(const Cluster& c, const Action& a)
{
    if (a.rsc == kNone) return a.key;
    const Resource& r = c.resources[a.rsc];
    if (!r.is_primitive()) return a.key;
    const std::string& name = !r.clone_name.empty() ? r.clone_name : r.id;
    // An anonymous instance's notifications show the operation they are about
    // ("post_notify_stop" for a stop implied by fencing too) and its confirmations are
    // "<rsc>_notified_0"; a unique instance's keep their own keys (observed).
    if (name == r.id) return a.key;
    if (a.task == "notified") return op_key(name, "notified", 0);
    if (a.task == "notify") {
        const std::string* type = a.meta_value("notify_type");
        const std::string* op = a.meta_value("notify_operation");
        if (type && op) return notify_key(name, *type, *op);
    }
    if (name != r.id && a.key.compare(0, r.id.size(), r.id) == 0) return name + a.key.substr(r.id.size());
    return a.key;
}

namespace {

bool should_dump(const Cluster& c, const Action& a)
{
    if (!a.runnable()) return false;
    if (a.optional() && !(a.flags & kActPrintAlways)) return false;
    if (a.rsc != kNone && !c.resources[a.rsc].flags.managed && a.task != "monitor" && a.interval_ms == 0 &&
        a.task != "cancel")
        return false;
    if (a.pseudo() || a.task == "stonith" || a.task == "do_shutdown") return true;
    if (a.node == kNone) return false;
    const Node& node = c.nodes[a.node];
    if (node.kind == NodeKind::guest && !node.remote_requires_reset) return true;
    if (!node.online) return false;
    // G4: nothing but fencing and pseudo actions is scheduled on a node being fenced, even
    // an action made required (a moving resource's monitor there, by its connection's start).
    if (node.unclean) return false;
    return true;
}

bool should_add_input(const Cluster& c, const std::vector<char>& dumped, const Action& a, const Edge& e)
{
    const Action& in = c.actions[e.first];
    (void)a;
    if (e.flags == kOrderNone) return false;
    if (!in.runnable() && (e.flags & kOrderOneOrMore)) return false;
    if ((e.flags & kOrderImpliesFirstMigratable) && !in.runnable()) return false;
    if ((e.flags & kOrderApplyFirstNonMigratable) && (in.flags & kActMigrateRunnable)) return false;
    if ((e.flags & ~kOrderThenInterleave) == kOrderOptional && (in.flags & kActMigrateRunnable) &&
        in.task == "stop")
        return false;
    if (e.flags == kOrderLoad) {
        // Only on the same node (for migrate_to: where the resource goes), and only when the
        // load really goes (utilization.hpp U6).
        const NodeIdx where = a.rsc != kNone && a.task == "migrate_to" ? c.resources[a.rsc].assigned : a.node;
        if (in.node == kNone || where == kNone || in.node != where) return false;
        if (in.optional()) return false;
    }
    if (in.rsc != kNone && in.rsc != a.rsc && c.resources[in.rsc].flags.failed &&
        !c.resources[in.rsc].flags.managed && in.task == "stop" && a.rsc != kNone &&
        c.clone_of(a.rsc) != kNone)
        return false;
    // G5: an input left out of the graph because it cannot run is still listed when it is
    // required, a resource's own action (not a pseudo action) and the ordering is neither a
    // plain optional one nor an instance's before its clone's pseudo action (implies-then-
    // printed): the action then waits for ever (crm_simulate: "An invalid transition was
    // produced"). So is one left out because its resource is unmanaged (the start of an
    // unmanaged first member of a group that a required first starts, G5u).
    if (!dumped[e.first]) {
        const std::uint32_t type = e.flags & ~kOrderUser;
        const bool unmanaged = in.rsc != kNone && !c.resources[in.rsc].flags.managed;
        // G5c: so does a collective's own pseudo stop (start) before its stopped (running),
        // the only pseudo input kept, also when a member's action only made it shown.
        const bool own_pseudo =
            in.pseudo() && type == kOrderRunnableLeft && in.rsc != kNone && in.rsc == a.rsc;
        const bool required = !in.optional() || (own_pseudo && (in.flags & kActPrintAlways));
        return required && (!in.runnable() || unmanaged) && (!in.pseudo() || own_pseudo) &&
               type != kOrderOptional && type != kOrderImpliesThenPrinted;
    }
    return true;
}

void expand(const Cluster& c, RscIdx r, std::vector<ActIdx>& out)
{
    const Resource& rsc = c.resources[r];
    // Newest first, as Pacemaker lists a resource's actions; a group before its members,
    // a clone after its instances.
    if (!rsc.is_group()) {
        for (RscIdx ch : rsc.children)
            expand(c, ch, out);
    }
    for (auto it = rsc.actions.rbegin(); it != rsc.actions.rend(); ++it)
        out.push_back(*it);
    if (rsc.is_group()) {
        for (RscIdx ch : rsc.children)
            expand(c, ch, out);
    }
}

}  // namespace

NodeIdx router_node(const Cluster& c, const Action& a)
{
    if (a.node == kNone || a.task == "stonith") return kNone;
    const Node& node = c.nodes[a.node];
    if (node.kind == NodeKind::member || node.remote_rsc == kNone) return kNone;
    const Resource& conn = c.resources[node.remote_rsc];
    const NodeIdx began = conn.running_on.empty() ? kNone : conn.running_on.front();
    const NodeIdx ended = conn.assigned;
    const bool partial = conn.container == kNone && conn.partial_migration_target != kNone;
    if (began == kNone) return ended;
    if (ended == kNone) return began;
    if (began == ended) return began;
    std::string_view task = a.task;
    if (task == "notify") {
        if (const std::string* op = a.meta_value("notify_operation")) task = *op;
    }
    if ((task == "cancel" || task == "stop" || task == "demote" || task == "migrate_from" ||
         task == "migrate_to") &&
        !partial)
        return began;
    return ended;
}

Graph build_graph(Cluster& c)
{
    Graph g;
    std::vector<char> dumped(c.actions.size(), 0);
    for (ActIdx a = 0; a < c.actions.size(); ++a)
        dumped[a] = should_dump(c, c.actions[a]) ? 1 : 0;
    std::vector<ActIdx> order;
    order.reserve(c.actions.size());
    for (RscIdx r : c.top)
        expand(c, r, order);
    for (ActIdx a = static_cast<ActIdx>(c.actions.size()); a-- > 0;) {
        if (c.actions[a].rsc == kNone) order.push_back(a);
    }
    g.synapse_of.assign(c.actions.size(), -1);
    std::vector<char> seen(c.actions.size(), 0);
    for (ActIdx a : order) {
        if (seen[a] || !dumped[a]) continue;
        seen[a] = 1;
        g.synapse_of[a] = static_cast<int>(g.actions.size());
        g.actions.push_back(a);
        std::vector<ActIdx> in;
        for (EdgeIdx e : c.actions[a].before) {
            if (should_add_input(c, dumped, c.actions[a], c.edges[e])) in.push_back(c.edges[e].first);
        }
        std::sort(in.begin(), in.end());
        in.erase(std::unique(in.begin(), in.end()), in.end());
        g.inputs.push_back(std::move(in));
    }
    for (ActIdx a : g.actions)
        c.actions[a].flags |= kActInGraph;
    return g;
}

namespace {

struct XmlOut {
    std::string s;
    void attr(const char* k, std::string_view v)
    {
        s += ' ';
        s += k;
        s += "=\"";
        util::append_xml_escaped(s, v);
        s += '"';
    }
};

const char* element_of(const Action& a)
{
    if (a.pseudo()) return "pseudo_event";
    if (a.task == "stonith" || a.task == "do_shutdown" || a.task == "clear_failcount" ||
        a.task == "lrm_delete")
        return "crm_event";
    return "rsc_op";
}

void action_head(const Cluster& c, XmlOut& o, const Action& a, bool with_ids)
{
    o.s += '<';
    o.s += element_of(a);
    o.attr("id", std::to_string(a.id + 1));  // Pacemaker numbers actions from 1
    std::string_view operation = a.task;
    if (a.task == "cancel") operation = "cancel";
    o.attr("operation", operation);
    const std::string key = display_key(c, a);
    o.attr("operation_key", key);
    if (key != a.key) o.attr("internal_operation_key", a.key);
    if (a.node != kNone && !a.pseudo()) {
        const Node& n = c.nodes[a.node];
        o.attr("on_node", n.name);
        o.attr("on_node_uuid", n.id);
        const NodeIdx router = router_node(c, a);
        if (router != kNone) o.attr("router_node", c.nodes[router].name);
    } else if (a.node != kNone && a.task == "stonith") {
        const Node& n = c.nodes[a.node];
        o.attr("on_node", n.name);
        o.attr("on_node_uuid", n.id);
    }
    (void)with_ids;
}

// The clone meta-data every action of a clone and of its instances carries.
void add_clone_attributes(const Cluster& c, const Action& a, std::map<std::string, std::string>& attrs)
{
    const RscIdx clone = c.resources[a.rsc].is_clone() ? a.rsc : c.clone_of(a.rsc);
    if (clone == kNone) return;
    const Resource& cl = c.resources[clone];
    attrs["CRM_meta_clone_max"] = std::to_string(cl.clone_max);
    attrs["CRM_meta_clone_node_max"] = std::to_string(cl.clone_node_max);
    attrs["CRM_meta_globally_unique"] = cl.flags.unique ? "true" : "false";
    attrs["CRM_meta_notify"] = cl.flags.notify ? "true" : "false";
    if (cl.flags.promotable) {
        // Both spellings, as Pacemaker 2.1 passes them to agents.
        attrs["CRM_meta_promoted_max"] = attrs["CRM_meta_master_max"] = std::to_string(cl.promoted_max);
        attrs["CRM_meta_promoted_node_max"] = attrs["CRM_meta_master_node_max"] =
            std::to_string(cl.promoted_node_max);
    }
    // (The instance number: on a primitive's actions, not on a group instance's own pseudo
    // actions, observed: `g:0_start_0` of an anonymous or unique clone of groups has none.)
    if (a.rsc != clone && c.resources[a.rsc].is_primitive()) {
        const std::string& id = c.resources[a.rsc].id;
        if (const auto colon = id.rfind(':'); colon != std::string::npos)
            attrs["CRM_meta_clone"] = id.substr(colon + 1);
    }
}

}  // namespace

// An action's <attributes>, as crm_simulate 2.1.5 writes them: CRM_meta_* of the action
// (timeout, interval, name of a configured operation, ...), its node (not for pseudo
// actions), the clone meta-data, the resource's parameters, the feature
// set. Sorted by name.
std::map<std::string, std::string> action_attributes(const Cluster& c, const Action& a)
{
    std::map<std::string, std::string> attrs;
    for (const auto& [k, v] : a.meta)
        attrs["CRM_meta_" + k] = v;
    // Pseudo actions carry no node (a guest's fencing names its own in its meta-data).
    if (a.node != kNone && !a.pseudo()) {
        attrs["CRM_meta_on_node"] = c.nodes[a.node].name;
        attrs["CRM_meta_on_node_uuid"] = c.nodes[a.node].id;
    }
    if (a.rsc != kNone) {
        const Resource& r = c.resources[a.rsc];
        if (r.is_primitive()) {
            for (const auto& [k, v] : r.params)
                attrs[k] = v;
            // Of a primitive's meta-data only the links between guests and their containers
            // travel (a filler's or an implicit connection's container, a container's guest).
            if (r.container != kNone) attrs["CRM_meta_container"] = c.resources[r.container].id;
            if (std::string_view v = r.meta_value("remote-node"); !v.empty())
                attrs["CRM_meta_remote_node"] = v;
            // A notification's timeout is its configured operation's.
            const Op* op = a.op;
            if (!op && (a.task == "notify" || a.task == "notified")) {
                for (const Op& o : r.ops) {
                    if (o.name == "notify" && o.interval_ms == 0) op = &o;
                }
                if (op) {
                    attrs["CRM_meta_name"] = "notify";
                    if (!op->timeout.empty()) attrs["CRM_meta_timeout"] = std::to_string(op->timeout_ms);
                }
            }
            // The operation's own attributes (role, on-fail, start-delay in ms, ...).
            if (op) {
                if (op->role && op->interval_ms > 0) attrs["CRM_meta_role"] = role_name(*op->role);
                for (const auto& [k, v] : op->meta) {
                    std::string name = "CRM_meta_" + k;
                    std::replace(name.begin(), name.end(), '-', '_');
                    attrs.emplace(std::move(name), v);
                }
                if (!op->start_delay.empty()) {
                    if (auto ms = parse_interval_ms(op->start_delay))
                        attrs["CRM_meta_start_delay"] = std::to_string(*ms);
                }
            }
        }
        // A collective's and a notification's pseudo actions carry the default timeout.
        if (attrs.find("CRM_meta_timeout") == attrs.end())
            attrs["CRM_meta_timeout"] = std::to_string(c.options.default_op_timeout_ms);
        add_clone_attributes(c, a, attrs);
    }
    // Rule 60: an action on a guest names the host its container runs on; not a cancel
    // (observed: a recurring monitor cancelled on a guest, its interval changed or the guest
    // in maintenance).
    if (a.rsc != kNone && a.node != kNone && c.nodes[a.node].kind == NodeKind::guest &&
        c.nodes[a.node].remote_rsc != kNone && a.task != "clear_failcount" && a.task != "cancel") {
        const RscIdx container = c.resources[c.nodes[a.node].remote_rsc].container;
        if (container != kNone) {
            const Resource& cont = c.resources[container];
            const NodeIdx was = cont.running_on.empty() ? kNone : cont.running_on.front();
            std::string_view task = a.task;
            if (const std::string* op = a.meta_value("notify_operation"); op && task == "notify") task = *op;
            const bool leaving = task == "stop" || task == "demote";
            NodeIdx host = leaving ? was : cont.assigned;
            if (host == kNone && !leaving) host = was;
            if (host != kNone) attrs["CRM_meta_physical_host"] = c.nodes[host].name;
        }
    }
    attrs["crm_feature_set"] = kFeatureSet;
    return attrs;
}

std::string graph_xml(const Cluster& c, const Graph& g)
{
    XmlOut o;
    o.s += "<transition_graph";
    o.attr("cluster-delay", c.options.cluster_delay);
    o.attr("stonith-timeout", c.options.stonith_timeout);
    o.attr("failed-stop-offset", "INFINITY");
    o.attr("failed-start-offset", "INFINITY");
    o.attr("batch-limit", std::to_string(c.options.batch_limit));
    if (c.options.migration_limit >= 0) o.attr("migration-limit", std::to_string(c.options.migration_limit));
    o.attr("transition_id", "0");
    o.s += ">\n";
    for (std::size_t i = 0; i < g.actions.size(); ++i) {
        const Action& a = c.actions[g.actions[i]];
        o.s += "  <synapse";
        o.attr("id", std::to_string(i));
        if (a.priority != 0) o.attr("priority", std::to_string(a.priority));
        o.s += ">\n    <action_set>\n      ";
        action_head(c, o, a, true);
        o.s += ">\n";
        if (a.rsc != kNone && !a.pseudo()) {
            const Resource& r = c.resources[a.rsc];
            o.s += "        <primitive";
            if (!r.clone_name.empty()) {
                o.attr("id", r.clone_name);
                o.attr("long-id", r.id);
            } else if (c.in_anonymous_clone(a.rsc)) {
                o.attr("id", r.base_id);
                o.attr("long-id", r.id);
            } else {
                o.attr("id", r.id);
            }
            o.attr("class", r.cls);
            if (!r.provider.empty()) o.attr("provider", r.provider);
            o.attr("type", r.type);
            o.s += "/>\n";
        }
        std::map<std::string, std::string> attrs = action_attributes(c, a);
        o.s += "        <attributes";
        for (const auto& [k, v] : attrs)
            o.attr(k.c_str(), v);
        o.s += "/>\n";
        if (!a.downed.empty()) {
            o.s += "        <downed>\n";
            for (NodeIdx n : a.downed) {
                o.s += "          <node";
                o.attr("id", c.nodes[n].id);
                o.s += "/>\n";
            }
            o.s += "        </downed>\n";
        }
        if (!a.maintenance.empty()) {
            o.s += "        <maintenance>\n";
            for (const auto& [n, on] : a.maintenance) {
                o.s += "          <node";
                o.attr("id", c.nodes[n].id);
                o.attr("node_in_maintenance", on ? "1" : "0");
                o.s += "/>\n";
            }
            o.s += "        </maintenance>\n";
        }
        o.s += "      </";
        o.s += element_of(a);
        o.s += ">\n    </action_set>\n";
        if (g.inputs[i].empty()) {
            o.s += "    <inputs/>\n";
        } else {
            o.s += "    <inputs>\n";
            for (ActIdx in : g.inputs[i]) {
                o.s += "      <trigger>\n        ";
                action_head(c, o, c.actions[in], false);
                o.s += "/>\n      </trigger>\n";
            }
            o.s += "    </inputs>\n";
        }
        o.s += "  </synapse>\n";
    }
    o.s += "</transition_graph>\n";
    return o.s;
}

namespace {

// V1: the name the dot graph gives an action (docs/policy.md, "The dot graph"): its internal
// key, but an anonymous instance known from history by a name shows that name, and its
// notifications the clone notification they answer ("<name>_post_notify_running_0" where
// the graph has "<name>_post_notify_start_0").
std::string dot_key(const Cluster& c, const Action& a)
{
    if (a.rsc == kNone) return a.key;
    const Resource& r = c.resources[a.rsc];
    if (!r.is_primitive() || r.clone_name.empty() || r.clone_name == r.id) return a.key;
    const std::string* type = a.meta_value("notify_key_type");
    const std::string* op = a.meta_value("notify_key_operation");
    if (type && op) return r.clone_name + "_" + *type + "_notify_" + *op + "_0";
    if (a.key.compare(0, r.id.size(), r.id) == 0) return r.clone_name + a.key.substr(r.id.size());
    return a.key;
}

std::string dot_label(const Cluster& c, const Action& a)
{
    if (a.task == "stonith")
        return "stonith '" + a.fence_action + "' " + (a.node != kNone ? c.nodes[a.node].name : std::string());
    std::string l = a.task == "do_shutdown" ? a.task : dot_key(c, a);
    if (a.task == "cancel") l = "Cancel " + l;
    if (a.node != kNone) {
        l += " " + c.nodes[a.node].name;
    } else if (!a.pseudo()) {
        l += " <none>";  // a resource action with nowhere to run
    }
    return l;
}

// V2: drawn are the actions in the graph and the required ones left out of it (they cannot
// run), but never an unmanaged resource's. A one-or-more pseudo action is required only
// through a required input (which marks it printed); an optional action marked printed
// counts as required.
bool dot_drawn(const Cluster& c, const Graph& g, ActIdx a)
{
    if (g.synapse_of[a] >= 0) return true;
    const Action& act = c.actions[a];
    if (act.rsc != kNone && !c.resources[act.rsc].flags.managed) return false;
    if (act.flags & kActPrintAlways) return true;
    return !act.optional() && !(act.flags & kActRequiresAny);
}

// V3: an ordering that is not one of the graph's inputs is drawn dashed between two drawn
// actions, but not a disabled one, a utilization one, nor a group's pseudo action before a
// member action with nowhere to run.
bool dot_dashed_edge(const Cluster& c, const Graph& g, const Edge& e)
{
    if (e.flags == kOrderNone || e.flags == kOrderLoad || !dot_drawn(c, g, e.first)) return false;
    const Action& first = c.actions[e.first];
    const Action& then = c.actions[e.then];
    return !(first.rsc != kNone && c.resources[first.rsc].is_group() && then.node == kNone && !then.pseudo());
}

}  // namespace

// As crm_simulate -D writes it (docs/policy.md, "The dot graph"), V4: the drawn actions,
// newest first, then, for each in the same order, the orderings into it, oldest first
// action first.
std::string graph_dot(const Cluster& c, const Graph& g)
{
    std::string s = " digraph \"g\" {\n";
    std::vector<ActIdx> drawn;
    for (ActIdx a = static_cast<ActIdx>(c.actions.size()); a-- > 0;) {
        if (dot_drawn(c, g, a)) drawn.push_back(a);
    }
    for (ActIdx a : drawn) {
        const bool in_graph = g.synapse_of[a] >= 0;
        s += "\"" + dot_label(c, c.actions[a]) +
             "\" [ style=" + (in_graph ? "bold color=\"green\"" : "dashed color=\"red\"") + " fontcolor=\"" +
             (c.actions[a].pseudo() ? "orange" : "black") + "\"]\n";
    }
    for (ActIdx a : drawn) {
        const int syn = g.synapse_of[a];
        // (first, is an input of the graph); one line per first, bold if any ordering is.
        std::vector<std::pair<ActIdx, bool>> firsts;
        for (EdgeIdx e : c.actions[a].before) {
            const Edge& edge = c.edges[e];
            const bool input = syn >= 0 && std::find(g.inputs[syn].begin(), g.inputs[syn].end(),
                                                     edge.first) != g.inputs[syn].end();
            if (input || dot_dashed_edge(c, g, edge)) firsts.emplace_back(edge.first, input);
        }
        std::sort(firsts.begin(), firsts.end(), [](const auto& x, const auto& y) {
            return x.first != y.first ? x.first < y.first : (x.second && !y.second);
        });
        firsts.erase(std::unique(firsts.begin(), firsts.end(),
                                 [](const auto& x, const auto& y) { return x.first == y.first; }),
                     firsts.end());
        const std::string then = dot_label(c, c.actions[a]);
        for (const auto& [first, input] : firsts)
            s += "\"" + dot_label(c, c.actions[first]) + "\" -> \"" + then +
                 "\" [ style = " + (input ? "bold" : "dashed") + "]\n";
    }
    s += "}\n";
    return s;
}

}  // namespace outpost::cluster::policy
