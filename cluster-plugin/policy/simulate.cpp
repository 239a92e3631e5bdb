#include "policy/simulate.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <unordered_map>

#include "policy/actions.hpp"

namespace outpost::cluster::policy {

namespace {

using xml::attr;

xmlNode* status_section(xmlDoc* doc)
{
    xmlNode* root = xmlDocGetRootElement(doc);
    xmlNode* st = xml::first_child(root, "status");
    if (!st) st = xml::add_child(root, "status");
    return st;
}

xmlNode* nodes_section(xmlDoc* doc)
{
    xmlNode* conf = xml::first_child(xmlDocGetRootElement(doc), "configuration");
    xmlNode* nodes = conf ? xml::first_child(conf, "nodes") : nullptr;
    if (conf && !nodes) nodes = xml::add_child(conf, "nodes");
    return nodes;
}

// A <node> entry without a type for `name`, unless one names it already: crm_simulate 2.1.5
// writes one for every node it records a state for once a node was brought up (-u) in the
// run (then a guest or remote node so named is a cluster node when the CIB is read again).
void add_node_entry(xmlDoc* doc, std::string_view name)
{
    xmlNode* nodes = nodes_section(doc);
    if (!nodes) return;
    for (xmlNode* n : xml::elements(nodes, "node")) {
        if (attr(n, "uname") == name) return;
    }
    xmlNode* n = xml::add_child(nodes, "node");
    xml::set_attr(n, "id", name);
    xml::set_attr(n, "uname", name);
}

xmlNode* find_node_state(xmlDoc* doc, std::string_view name, bool create, bool remote,
                         NodeEntries entries = NodeEntries::as_configured)
{
    if (create && entries == NodeEntries::for_every_state) add_node_entry(doc, name);
    xmlNode* st = status_section(doc);
    for (xmlNode* ns : xml::elements(st, "node_state")) {
        if (attr(ns, "uname") == name) return ns;
    }
    // By id: cluster nodes are named in <nodes>.
    if (!create) return nullptr;
    std::string id(name);
    xmlNode* nodes = xml::first_child(xml::first_child(xmlDocGetRootElement(doc), "configuration"), "nodes");
    for (xmlNode* n : xml::elements(nodes, "node")) {
        if (attr(n, "uname") == name && xml::has_attr(n, "id")) id = std::string(attr(n, "id"));
    }
    for (xmlNode* ns : xml::elements(st, "node_state")) {
        if (attr(ns, "id") == id) return ns;
    }
    xmlNode* ns = xml::add_child(st, "node_state");
    xml::set_attr(ns, "id", id);
    xml::set_attr(ns, "uname", name);
    if (remote) xml::set_attr(ns, "remote_node", "true");
    xml::set_attr(ns, "crm-debug-origin", "crm_simulate");
    return ns;
}

xmlNode* ensure_child(xmlNode* parent, const char* name, std::string_view id)
{
    xmlNode* c = xml::first_child(parent, name);
    if (!c) {
        c = xml::add_child(parent, name);
        if (!id.empty()) xml::set_attr(c, "id", id);
    }
    return c;
}

xmlNode* find_lrm_resource(xmlNode* ns, std::string_view id, const Resource* r, bool create)
{
    xmlNode* lrm = create ? ensure_child(ns, "lrm", attr(ns, "id")) : xml::first_child(ns, "lrm");
    if (!lrm) return nullptr;
    xmlNode* lrs = create ? ensure_child(lrm, "lrm_resources", {}) : xml::first_child(lrm, "lrm_resources");
    if (!lrs) return nullptr;
    for (xmlNode* lr : xml::elements(lrs, "lrm_resource")) {
        if (attr(lr, "id") == id) return lr;
    }
    if (!create) return nullptr;
    xmlNode* lr = xml::add_child(lrs, "lrm_resource");
    xml::set_attr(lr, "id", id);
    if (r) {
        xml::set_attr(lr, "type", r->type);
        xml::set_attr(lr, "class", r->cls);
        if (!r->provider.empty()) xml::set_attr(lr, "provider", r->provider);
        if (r->container != kNone) {
            (void)0;
        }
    }
    return lr;
}

// Node states and their resource histories by name, built once per simulation: a
// transition touches every history, and a scan per action would be quadratic.
class StatusIndex {
public:
    StatusIndex(xmlDoc* doc, NodeEntries entries) : doc_(doc), entries_(entries) {}
    xmlNode* node_state(std::string_view name, bool create, bool remote)
    {
        if (!built_) {
            for (xmlNode* ns : xml::elements(status_section(doc_), "node_state")) {
                states_.emplace(std::string(attr(ns, "uname")), ns);
                by_id_.emplace(std::string(attr(ns, "id")), ns);
            }
            xmlNode* nodes =
                xml::first_child(xml::first_child(xmlDocGetRootElement(doc_), "configuration"), "nodes");
            for (xmlNode* n : xml::elements(nodes, "node")) {
                if (xml::has_attr(n, "id"))
                    ids_.emplace(std::string(attr(n, "uname")), std::string(attr(n, "id")));
            }
            built_ = true;
        }
        if (create && entries_ == NodeEntries::for_every_state && !ids_.contains(std::string(name))) {
            add_node_entry(doc_, name);
            ids_.emplace(std::string(name), std::string(name));
        }
        auto it = states_.find(std::string(name));
        if (it != states_.end()) return it->second;
        if (!create) return nullptr;
        // As find_node_state: by the configured id, else a new node_state.
        auto idit = ids_.find(std::string(name));
        const std::string id = idit != ids_.end() ? idit->second : std::string(name);
        xmlNode* ns = nullptr;
        if (auto bi = by_id_.find(id); bi != by_id_.end()) {
            ns = bi->second;
        } else {
            ns = xml::add_child(status_section(doc_), "node_state");
            xml::set_attr(ns, "id", id);
            xml::set_attr(ns, "uname", name);
            if (remote) xml::set_attr(ns, "remote_node", "true");
            xml::set_attr(ns, "crm-debug-origin", "crm_simulate");
            by_id_.emplace(id, ns);
        }
        states_.emplace(std::string(name), ns);
        return ns;
    }
    xmlNode* lrm_resource(xmlNode* ns, std::string_view id, const Resource* r, bool create)
    {
        auto [it, fresh] = lrms_.try_emplace(ns);
        if (fresh) {
            xmlNode* lrs = xml::first_child(xml::first_child(ns, "lrm"), "lrm_resources");
            for (xmlNode* lr : xml::elements(lrs, "lrm_resource"))
                it->second.emplace(std::string(attr(lr, "id")), lr);
        }
        auto found = it->second.find(std::string(id));
        if (found != it->second.end()) return found->second;
        xmlNode* lr = find_lrm_resource(ns, id, r, create);
        if (lr) it->second.emplace(std::string(id), lr);
        return lr;
    }
    // The node's history was removed (fencing).
    void forget_history(xmlNode* ns) { lrms_.erase(ns); }

private:
    xmlDoc* doc_;
    NodeEntries entries_;
    bool built_ = false;
    std::unordered_map<std::string, xmlNode*> states_;  // by uname
    std::unordered_map<std::string, xmlNode*> by_id_;
    std::unordered_map<std::string, std::string> ids_;  // configured node ids by uname
    std::unordered_map<const xmlNode*, std::unordered_map<std::string, xmlNode*>> lrms_;
};

int max_call_id(xmlNode* lr)
{
    int m = 0;
    for (xmlNode* op : xml::elements(lr, "lrm_rsc_op"))
        m = std::max(m, std::atoi(std::string(attr(op, "call-id")).c_str()));
    return m;
}

// How crm_simulate 2.1.5 writes an operation's result (observed with -O): an executed action
// replaces its records whole; an injected one (-i) updates them in place, keeping what it
// does not set (an earlier record's op-digest), and a failed recurring operation is recorded
// only as the last failure.
enum class RecordMode { executed, injected };

void record_op(xmlNode* lr, const std::string& rsc_id, std::string_view task, std::int64_t interval, int rc,
               int target_rc, EpochSeconds now, const std::vector<std::pair<std::string, std::string>>& extra,
               const std::string& id_override, const std::string& exit_reason = {},
               const std::string& digest = {}, RecordMode mode = RecordMode::executed)
{
    const int call_id = max_call_id(lr) + 1;
    const std::string key = op_key(rsc_id, task, interval);
    std::string op_id = !id_override.empty() ? id_override : (interval > 0 ? key : rsc_id + "_last_0");
    auto write = [&](const std::string& id) {
        xmlNode* op = nullptr;
        for (xmlNode* o : xml::elements(lr, "lrm_rsc_op")) {
            if (attr(o, "id") == id) op = o;
        }
        if (!op) op = xml::add_child(lr, "lrm_rsc_op");
        // Replace every attribute (appended: the element has none left to search); an
        // injection keeps the old record's op-digest, which it does not set.
        std::string kept_digest;
        if (mode == RecordMode::injected && digest.empty()) kept_digest = std::string(attr(op, "op-digest"));
        while (op->properties)
            xmlRemoveProp(op->properties);
        auto add = [op](const char* k, const std::string& v) {
            xmlNewProp(op, BAD_CAST k, BAD_CAST v.c_str());
        };
        const std::string tkey = std::to_string(call_id) + ":-1:" + std::to_string(target_rc) +
                                 ":xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
        add("id", id);
        add("operation_key", key);
        add("operation", std::string(task));
        add("crm-debug-origin", "crm_simulate");
        add("crm_feature_set", kFeatureSet);
        add("transition-key", tkey);
        add("transition-magic", "0:" + std::to_string(rc) + ";" + tkey);
        add("exit-reason", exit_reason);
        add("call-id", std::to_string(call_id));
        add("rc-code", std::to_string(rc));
        add("op-status", "0");
        add("interval", std::to_string(interval));
        add("last-rc-change", std::to_string(now));
        add("exec-time", "0");
        add("queue-time", "0");
        if (!digest.empty()) add("op-digest", digest);
        if (!kept_digest.empty()) add("op-digest", kept_digest);
        for (const auto& [k, v] : extra)
            xml::set_attr(op, k.c_str(), v);
    };
    const bool failed = rc != target_rc;
    if (!(mode == RecordMode::injected && failed && interval > 0)) write(op_id);
    if (failed) write(rsc_id + "_last_failure_0");
}

void fence_in_cib(StatusIndex& index, const Cluster& c, NodeIdx n)
{
    const Node& node = c.nodes[n];
    xmlNode* ns = index.node_state(node.name, true, node.is_remote_class());
    index.forget_history(ns);
    // As crm_simulate records fencing, for cluster and remote nodes alike.
    xml::set_attr(ns, "crm-debug-origin", "simulate_fencing_action");
    xml::set_attr(ns, "in_ccm", "false");
    xml::set_attr(ns, "crmd", "offline");
    xml::set_attr(ns, "join", "down");
    xml::set_attr(ns, "expected", "down");
    if (xmlNode* lrm = xml::first_child(ns, "lrm")) xml::remove_node(lrm);
    if (xmlNode* ta = xml::first_child(ns, "transient_attributes")) xml::remove_node(ta);
}

bool clone_has_history(const Cluster& c, RscIdx r)
{
    const RscIdx top = c.top_of(r);
    std::vector<RscIdx> leaves;
    c.leaves(top, leaves);
    for (RscIdx l : leaves) {
        if (c.resources[l].base_id == c.resources[r].base_id && !c.resources[l].history.empty()) return true;
    }
    return false;
}

std::string history_id(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.clone_name.empty()) return rsc.clone_name;
    return c.in_anonymous_clone(r) ? rsc.base_id : rsc.id;
}

// The fail-count and last-failure attributes crm_simulate adds for a failed operation.
// (Also listed as actions: --output-as=xml's inject_attr elements, in its transition or
// its modifications.)
void inject_failure_attrs(xmlNode* ns, const std::string& rsc, std::string_view task, std::int64_t interval,
                          EpochSeconds wall_clock, std::vector<std::string>& lines,
                          std::vector<ExecutedAction>* actions = nullptr)
{
    const std::string node_id(attr(ns, "id"));
    xmlNode* ta = ensure_child(ns, "transient_attributes", node_id);
    xmlNode* ia = ensure_child(ta, "instance_attributes", node_id);
    const std::string suffix = rsc + "#" + std::string(task) + "_" + std::to_string(interval);
    auto set = [&](const std::string& name, const std::string& value, bool increment) {
        xmlNode* nv = nullptr;
        for (xmlNode* x : xml::elements(ia, "nvpair")) {
            if (attr(x, "name") == name) nv = x;
        }
        std::string id = node_id + "-" + name;
        std::replace(id.begin(), id.end(), '#', '.');
        int count = 0;
        if (nv) {
            count = std::atoi(std::string(attr(nv, "value")).c_str());
        } else {
            nv = xml::add_child(ia, "nvpair");
            xml::set_attr(nv, "id", id);
            xml::set_attr(nv, "name", name);
        }
        xml::set_attr(nv, "value", increment ? std::to_string(count + 1) : value);
        const std::string shown = increment ? std::string("value++") : value;
        lines.push_back("  * Injecting attribute " + name + "=" + shown + " into /node_state '" + node_id +
                        "'");
        if (actions)
            actions->push_back({ExecutedAction::Kind::attribute, name, shown, node_id, 0, lines.back()});
    };
    set("fail-count-" + suffix, {}, true);
    set("last-failure-" + suffix, std::to_string(wall_clock), false);
}

}  // namespace

Result<OpSpec> parse_op_spec(std::string_view text)
{
    OpSpec s;
    auto at = text.rfind('@');
    auto eq = text.rfind('=');
    if (at == std::string_view::npos || eq == std::string_view::npos || eq < at)
        return make_error("simulate", -EINVAL, "invalid operation spec \"" + std::string(text) + "\"");
    std::string_view key = text.substr(0, at);
    s.node = std::string(text.substr(at + 1, eq - at - 1));
    s.rc = std::atoi(std::string(text.substr(eq + 1)).c_str());
    auto last = key.rfind('_');
    if (last == std::string_view::npos)
        return make_error("simulate", -EINVAL, "invalid operation key in \"" + std::string(text) + "\"");
    s.interval_ms = std::atoll(std::string(key.substr(last + 1)).c_str());
    key = key.substr(0, last);
    // The task: the last "_word" (or migrate_to/migrate_from).
    for (const char* t : {"migrate_to", "migrate_from"}) {
        std::string suffix = std::string("_") + t;
        if (key.size() > suffix.size() && key.substr(key.size() - suffix.size()) == suffix) {
            s.task = t;
            s.rsc = std::string(key.substr(0, key.size() - suffix.size()));
            return s;
        }
    }
    auto us = key.rfind('_');
    if (us == std::string_view::npos)
        return make_error("simulate", -EINVAL, "invalid operation key in \"" + std::string(text) + "\"");
    s.task = std::string(key.substr(us + 1));
    s.rsc = std::string(key.substr(0, us));
    return s;
}

SimulationResult simulate_transition(const Cluster& c, const Graph& g, const std::vector<OpSpec>& failures,
                                     EpochSeconds wall_clock, NodeEntries entries)
{
    SimulationResult out;
    bool aborted = false;  // after a failure only INFINITY-priority and pseudo actions start
    out.cib = c.cib.copy();
    xmlDoc* doc = out.cib.get();
    StatusIndex index(doc, entries);
    const std::size_t n = g.actions.size();
    std::vector<char> done(n, 0);
    std::vector<char> failed_action(c.actions.size(), 0);
    std::size_t remaining = n;
    bool progress = true;
    while (remaining > 0 && progress) {
        progress = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (done[i]) continue;
            bool ready = true;
            bool after_failure = false;
            for (ActIdx in : g.inputs[i]) {
                const int s = g.synapse_of[in];
                if (s < 0 || !done[static_cast<std::size_t>(s)]) {
                    ready = false;
                    break;
                }
                if (failed_action[in]) after_failure = true;
            }
            if (!ready) continue;
            // What follows a failed action runs only if it must (INFINITY priority).
            if (after_failure && c.actions[g.actions[i]].priority < kInfinity) continue;
            if (aborted && !c.actions[g.actions[i]].pseudo() && c.actions[g.actions[i]].priority < kInfinity)
                continue;
            done[i] = 1;
            --remaining;
            progress = true;
            const ActIdx ai = g.actions[i];
            const Action& a = c.actions[ai];
            if (a.pseudo()) {
                std::string line = "  * Pseudo action:   " + display_key(c, a);
                if (a.task == "stonith" && a.node != kNone) line += " on " + c.nodes[a.node].name;
                out.executed.push_back(
                    {ExecutedAction::Kind::pseudo,
                     {},
                     display_key(c, a),
                     a.task == "stonith" && a.node != kNone ? c.nodes[a.node].name : std::string(),
                     0,
                     line});
                continue;
            }
            if (a.task == "stonith") {
                out.executed.push_back({ExecutedAction::Kind::fencing,
                                        {},
                                        a.fence_action,
                                        c.nodes[a.node].name,
                                        0,
                                        "  * Fencing " + c.nodes[a.node].name + " (" + a.fence_action + ")"});
                if (a.fence_action != "on") fence_in_cib(index, c, a.node);  // UF4
                continue;
            }
            if (a.task == "do_shutdown") {
                // Shown only: crm_simulate leaves the node as it is.
                out.executed.push_back({ExecutedAction::Kind::cluster,
                                        {},
                                        "do_shutdown",
                                        c.nodes[a.node].name,
                                        0,
                                        "  * Cluster action:  do_shutdown on " + c.nodes[a.node].name});
                continue;
            }
            if (a.task == "clear_failcount") {
                const std::string id = history_id(c, a.rsc);
                out.executed.push_back(
                    {ExecutedAction::Kind::cluster, id, "clear_failcount", c.nodes[a.node].name, 0,
                     "  * Cluster action:  clear_failcount for " + id + " on " + c.nodes[a.node].name});
                xmlNode* ns = index.node_state(c.nodes[a.node].name, false, false);
                xmlNode* ta = ns ? xml::first_child(ns, "transient_attributes") : nullptr;
                for (xmlNode* ia : xml::elements(ta, "instance_attributes")) {
                    std::vector<xmlNode*> dead;
                    for (xmlNode* nv : xml::elements(ia, "nvpair")) {
                        std::string_view name = attr(nv, "name");
                        for (const char* p : {"fail-count-", "last-failure-"}) {
                            const std::string pre = p + id;
                            if (name.substr(0, pre.size()) == pre &&
                                (name.size() == pre.size() || name[pre.size()] == '#'))
                                dead.push_back(nv);
                        }
                    }
                    for (xmlNode* d : dead)
                        xml::remove_node(d);
                }
                continue;
            }
            if (a.rsc == kNone || a.node == kNone) continue;
            const Resource& r = c.resources[a.rsc];
            const std::string id = history_id(c, a.rsc);
            std::string task_text = a.task;
            if (a.interval_ms > 0) task_text += "=" + std::to_string(a.interval_ms);
            // An anonymous instance shows its instance name unless the clone has history
            // somewhere (then crm_simulate shows the name history knows it by).
            std::string padded = !r.clone_name.empty() ? r.clone_name : r.id;
            if (r.clone_name.empty() && c.in_anonymous_clone(a.rsc) && clone_has_history(c, a.rsc))
                padded = r.base_id;
            const std::string shown = padded;
            if (padded.size() < 15) padded.resize(15, ' ');
            out.executed.push_back({ExecutedAction::Kind::resource, shown, a.task, c.nodes[a.node].name,
                                    a.interval_ms,
                                    std::string("  * Resource action: ")
                                        .append(padded)
                                        .append(" ")
                                        .append(task_text)
                                        .append(" on ")
                                        .append(c.nodes[a.node].name)});
            const Node& node = c.nodes[a.node];
            xmlNode* ns = index.node_state(node.name, true, node.is_remote_class());
            if (a.task == "delete" || a.task == "meta-data") continue;  // shown, no history (as crm_simulate)
            int target = ocf::ok;
            if (const std::string* t = a.meta_value("op_target_rc")) target = std::atoi(t->c_str());
            int rc = target;
            for (const OpSpec& f : failures) {
                if ((f.rsc == id || f.rsc == r.id || f.rsc == r.base_id) && f.task == a.task &&
                    f.interval_ms == a.interval_ms && f.node == node.name) {
                    rc = f.rc;
                    failed_action[ai] = 1;
                }
            }
            xmlNode* lr = index.lrm_resource(ns, id, &r, true);
            std::vector<std::pair<std::string, std::string>> extra;
            if (const std::string* s = a.meta_value("migrate_source"))
                extra.emplace_back("migrate_source", *s);
            if (const std::string* t = a.meta_value("migrate_target"))
                extra.emplace_back("migrate_target", *t);
            // A notification is recorded under the notification's name, a cancellation as a
            // "cancel" operation beside the monitor it cancels (as crm_simulate does).
            std::string op_id;
            if (a.task == "notify") {
                const std::string* type = a.meta_value("notify_type");
                const std::string* op = a.meta_value("notify_operation");
                if (type && op) op_id = notify_key(id, *type, *op);
            }
            record_op(lr, id, a.task, a.interval_ms, rc, target, c.now, extra, op_id,
                      failed_action[ai] ? "User-injected result" : "", op_digest(r, a.task, a.interval_ms));
            if (failed_action[ai]) {
                // As crm_simulate: the transition aborts, the failure is counted.
                out.executed.push_back({ExecutedAction::Kind::message,
                                        {},
                                        {},
                                        {},
                                        0,
                                        "Pretending action " + std::to_string(a.id + 1) +
                                            " failed with rc=" + std::to_string(rc)});
                std::vector<std::string> lines;
                inject_failure_attrs(ns, id, a.task, a.interval_ms, wall_clock, lines, &out.executed);
                aborted = true;
            }
        }
    }
    out.invalid = remaining > 0 && !aborted;
    return out;
}

void inject_node_up(xml::Document& cib, std::string_view node)
{
    // A node new to the configuration joins it too (its id is its name).
    xmlNode* ns = find_node_state(cib.get(), node, true, false, NodeEntries::for_every_state);
    xml::set_attr(ns, "in_ccm", "true");
    xml::set_attr(ns, "crmd", "online");
    xml::set_attr(ns, "join", "member");
    xml::set_attr(ns, "expected", "member");
    xml::set_attr(ns, "crm-debug-origin", "crm_simulate");
}

void inject_node_down(xml::Document& cib, std::string_view node, NodeEntries entries)
{
    xmlNode* ns = find_node_state(cib.get(), node, true, false, entries);
    xml::set_attr(ns, "in_ccm", "false");
    xml::set_attr(ns, "crmd", "offline");
    xml::set_attr(ns, "join", "down");
    xml::set_attr(ns, "expected", "down");
    xml::set_attr(ns, "crm-debug-origin", "crm_simulate");
    if (xmlNode* lrm = xml::first_child(ns, "lrm")) xml::remove_node(lrm);
    if (xmlNode* ta = xml::first_child(ns, "transient_attributes")) xml::remove_node(ta);
}

// A node that left the membership without saying goodbye (its controller still "online").
void inject_node_fail(xml::Document& cib, std::string_view node, NodeEntries entries)
{
    xmlNode* ns = find_node_state(cib.get(), node, true, false, entries);
    xml::set_attr(ns, "in_ccm", "false");
    xml::set_attr(ns, "crmd", "online");
    xml::set_attr(ns, "join", "member");
    xml::set_attr(ns, "expected", "member");
    xml::set_attr(ns, "crm-debug-origin", "crm_simulate");
}

Status inject_op(xml::Document& cib, const OpSpec& spec, EpochSeconds now, std::vector<std::string>& lines,
                 NodeEntries entries, std::vector<ExecutedAction>* attributes)
{
    xmlNode* root = cib.root();
    xmlNode* resources = xml::first_child(xml::first_child(root, "configuration"), "resources");
    // Find the primitive (by id, or the primitive inside a clone named by base id).
    std::vector<xmlNode*> stack{resources};
    xmlNode* prim = nullptr;
    const std::string base = spec.rsc.substr(0, spec.rsc.find(':'));
    while (!stack.empty() && !prim) {
        xmlNode* n = stack.back();
        stack.pop_back();
        for (xmlNode* ch : xml::elements(n)) {
            if (xml::is(ch, "primitive") && (attr(ch, "id") == spec.rsc || attr(ch, "id") == base)) {
                prim = ch;
                break;
            }
            stack.push_back(ch);
        }
    }
    xmlNode* ns = find_node_state(cib.get(), spec.node, true, false, entries);
    xmlNode* lrm = ensure_child(ns, "lrm", attr(ns, "id"));
    xmlNode* lrs = ensure_child(lrm, "lrm_resources", {});
    xmlNode* lr = nullptr;
    for (xmlNode* x : xml::elements(lrs, "lrm_resource")) {
        if (attr(x, "id") == spec.rsc) lr = x;
    }
    if (!lr) {
        if (!prim) return make_error("simulate", -ENOENT, "resource " + spec.rsc + " not found");
        lr = xml::add_child(lrs, "lrm_resource");
        xml::set_attr(lr, "id", spec.rsc);
        xml::set_attr(lr, "class", attr(prim, "class"));
        if (xml::has_attr(prim, "provider")) xml::set_attr(lr, "provider", attr(prim, "provider"));
        xml::set_attr(lr, "type", attr(prim, "type"));
    }
    // Observed: an injection expects rc 0 of every operation (its last failure records a
    // probe's "not running" too), but counts no failure for rc 7 of a one-off operation.
    record_op(lr, spec.rsc, spec.task, spec.interval_ms, spec.rc, ocf::ok, now, {}, {},
              spec.rc != ocf::ok ? "Simulated action result" : "", {}, RecordMode::injected);
    const bool counted = spec.rc != ocf::ok && !(spec.interval_ms == 0 && spec.rc == ocf::not_running);
    if (counted) inject_failure_attrs(ns, spec.rsc, spec.task, spec.interval_ms, now, lines, attributes);
    return {};
}

}  // namespace outpost::cluster::policy
