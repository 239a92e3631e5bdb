// crm_simulate --output-as=xml: the cluster status (crm_mon's <nodes> and <resources>), the
// transition summary (<actions>) and the executed actions (<transition>).
#include "policy/xml_output.hpp"

#include <algorithm>

#include "policy/text.hpp"
#include "policy/unpack.hpp"
#include "util/xml_text.hpp"

namespace outpost::cluster::policy {

namespace {

struct Writer {
    std::string s;
    int indent = 0;

    void open(std::string_view element)
    {
        s.append(static_cast<std::size_t>(indent), ' ');
        s += '<';
        s += element;
    }
    void attr(std::string_view key, std::string_view value)
    {
        s += ' ';
        s += key;
        s += "=\"";
        util::append_xml_escaped(s, value);
        s += '"';
    }
    // (Without this, a string literal would pick the bool overload.)
    void attr(std::string_view key, const char* value) { attr(key, std::string_view(value)); }
    void attr(std::string_view key, bool value) { attr(key, value ? std::string_view("true") : "false"); }
    void end_empty() { s += "/>\n"; }
    void end_open()
    {
        s += ">\n";
        indent += 2;
    }
    // Where the children of the element opened last begin (call right after end_open()).
    [[nodiscard]] std::size_t mark() const { return s.size(); }
    // Closes a list element as crm_simulate does: <x/> when nothing was written since
    // `mark`, or, with `omit_empty`, nothing at all.
    void close_list(std::string_view element, std::size_t mark, bool omit_empty = false)
    {
        if (s.size() != mark) {
            close(element);
            return;
        }
        indent -= 2;
        s.resize(mark - 2);  // the ">\n" of end_open()
        if (omit_empty) {
            s.resize(s.size() - element.size() - 1 - static_cast<std::size_t>(indent));
        } else {
            s += "/>\n";
        }
    }
    void close(std::string_view element)
    {
        indent -= 2;
        s.append(static_cast<std::size_t>(indent), ' ');
        s += "</";
        s += element;
        s += ">\n";
    }
};

std::string agent(const Resource& r)
{
    std::string t = r.cls;
    if (!r.provider.empty()) t += ":" + r.provider;
    return t + ":" + r.type;
}

Role shown_role(const Cluster& c, RscIdx r)
{
    Role role = c.resources[r].role;
    const RscIdx cl = c.clone_of(r);
    if (role == Role::started && cl != kNone && c.resources[cl].flags.promotable) return Role::unpromoted;
    if (role == Role::unknown) return Role::stopped;
    return role;
}

int resources_running(const Cluster& c, NodeIdx n)
{
    int count = 0;
    for (const Resource& r : c.resources) {
        if (!r.is_primitive()) continue;
        if (std::find(r.running_on.begin(), r.running_on.end(), n) != r.running_on.end()) ++count;
    }
    return count;
}

void write_node(const Cluster& c, Writer& w, NodeIdx n)
{
    const Node& node = c.nodes[n];
    w.open("node");
    w.attr("name", node.name);
    w.attr("id", node.id);
    w.attr("online", node.online);
    w.attr("standby", node.standby);
    w.attr("standby_onfail", node.standby_onfail);
    w.attr("maintenance", node.maintenance);
    w.attr("pending", node.pending);
    w.attr("unclean", node.unclean);
    w.attr("health", "green");
    if (node.kind == NodeKind::member && node.online) {
        // The controller records its feature set as the transient attribute #feature-set
        // (a real cluster's status); older controllers did not.
        std::string_view fs = node.attr("#feature-set");
        if (fs.empty() && node.state_xml != nullptr) {
            if (const char* recorded = xml::attr_c(node.state_xml, "crm_feature_set")) fs = recorded;
        }
        w.attr("feature_set", fs.empty() ? std::string_view("<3.15.1") : fs);
    }
    w.attr("shutdown", node.shutdown);
    const char* expected = node.state_xml ? xml::attr_c(node.state_xml, "expected") : nullptr;
    w.attr("expected_up",
           node.kind == NodeKind::member && expected && std::string_view(expected) == "member");
    // (Shown for the member named by dc-uuid even without a node_state, as 2.1.5 does.)
    w.attr("is_dc", node.is_dc || (node.kind == NodeKind::member && node.state_xml == nullptr &&
                                   !c.options.dc_uuid.empty() && node.id == c.options.dc_uuid));
    w.attr("resources_running", std::to_string(resources_running(c, n)));
    w.attr("type", node.kind == NodeKind::member ? "member" : "remote");
    if (node.kind == NodeKind::guest && node.remote_rsc != kNone &&
        c.resources[node.remote_rsc].container != kNone)
        w.attr("id_as_resource", c.resources[c.resources[node.remote_rsc].container].id);
    w.end_empty();
}

// An injected attribute (kind attribute), in the transition or the modifications.
void write_inject_attr(Writer& w, const ExecutedAction& e)
{
    w.open("inject_attr");
    w.attr("name", e.rsc);
    w.attr("value", e.task);
    w.attr("node_path", "/node_state");
    w.attr("cib_node", e.node);
    w.end_empty();
}

// <cpu>4</cpu> for each (name, value) in `values`, or nothing.
void write_values(Writer& w, std::string_view element,
                  const std::vector<std::pair<std::string, std::string>>& values)
{
    if (values.empty()) {
        w.end_empty();
        return;
    }
    w.end_open();
    for (const auto& [k, v] : values) {
        w.s.append(static_cast<std::size_t>(w.indent), ' ');
        w.s += '<' + k + '>';
        util::append_xml_escaped(w.s, v);
        w.s += "</" + k + ">\n";
    }
    w.close(element);
}

void write_resource(const Cluster& c, Writer& w, RscIdx r);

void write_primitive(const Cluster& c, Writer& w, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    bool active = false;
    // (An unmanaged one counts as active on an offline node too, observed: a blocked
    // resource on a remote node whose connection failed, rnd-s305-c2-9.)
    for (NodeIdx n : rsc.running_on) {
        if (c.nodes[n].online || c.nodes[n].unclean || !rsc.flags.managed) active = true;
    }
    w.open("resource");
    w.attr("id", c.in_anonymous_clone(r) ? rsc.base_id : rsc.id);
    w.attr("resource_agent", agent(rsc));
    // (A pending operation shows as the role, as in the text: role="Starting".)
    const std::string pending = pending_state(c, r);
    w.attr("role",
           pending.empty() ? std::string_view(role_name(shown_role(c, r))) : std::string_view(pending));
    if (rsc.has_meta("target-role")) w.attr("target_role", rsc.meta_value("target-role"));
    w.attr("active", active);
    w.attr("orphaned", rsc.flags.orphan);
    w.attr("blocked", rsc.flags.blocked);
    w.attr("managed", rsc.flags.managed);
    w.attr("failed", rsc.flags.failed);
    w.attr("failure_ignored", rsc.flags.failure_ignored);
    w.attr("nodes_running_on", std::to_string(rsc.running_on.size()));
    if (rsc.running_on.empty()) {
        w.end_empty();
        return;
    }
    w.end_open();
    for (NodeIdx n : rsc.running_on) {
        w.open("node");
        w.attr("name", c.nodes[n].name);
        w.attr("id", c.nodes[n].id);
        w.attr("cached", c.nodes[n].online);
        w.end_empty();
    }
    w.close("resource");
}

void write_resource(const Cluster& c, Writer& w, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (rsc.is_primitive()) {
        write_primitive(c, w, r);
        return;
    }
    // (Target-role Unpromoted in a promotable clone disables too, rule TR1.)
    const bool disabled = rsc.target_role == Role::stopped || rsc.target_role == Role::unpromoted;
    if (rsc.is_group()) {
        w.open("group");
        w.attr("id", rsc.id);  // "g:0" in an anonymous clone too, observed
        w.attr("number_resources", std::to_string(rsc.children.size()));
        w.attr("managed", rsc.flags.managed);
        w.attr("disabled", disabled);
    } else {
        const bool failed = rsc.flags.failed;  // (not because an instance failed)
        w.open("clone");
        w.attr("id", rsc.id);
        w.attr("multi_state", rsc.flags.promotable);
        w.attr("unique", rsc.flags.unique);
        w.attr("managed", rsc.flags.managed);
        w.attr("disabled", disabled);
        w.attr("failed", failed);
        w.attr("failure_ignored", false);
        // (Without its own, a clone shows its child's target role.)
        const Resource* with_role = &rsc;
        if (!rsc.has_meta("target-role") && !rsc.children.empty())
            with_role = &c.resources[rsc.children.front()];
        if (with_role->has_meta("target-role")) w.attr("target_role", with_role->meta_value("target-role"));
    }
    w.end_open();
    for (RscIdx ch : rsc.children)
        write_resource(c, w, ch);
    w.close(rsc.is_group() ? "group" : "clone");
}

}  // namespace

std::string status_xml(const Cluster& c, std::string_view element, int indent)
{
    Writer w;
    w.indent = indent;
    w.open(element);
    w.end_open();
    w.open("nodes");
    w.end_open();
    const std::size_t nodes = w.mark();
    for (NodeIdx n : c.node_order)
        write_node(c, w, n);
    w.close_list("nodes", nodes);
    w.open("resources");
    w.end_open();
    const std::size_t resources = w.mark();
    for (RscIdx r : c.top) {
        if (c.resources[r].flags.orphan && c.resources[r].running_on.empty()) continue;
        if (hidden_from_status(c, r)) continue;
        write_resource(c, w, r);
    }
    w.close_list("resources", resources, true);
    w.close(element);
    return std::move(w.s);
}

std::string summary_xml(const Cluster& c, const std::vector<SummaryEntry>& entries, int indent)
{
    Writer w;
    w.indent = indent;
    w.open("actions");
    w.end_open();
    const std::size_t actions = w.mark();
    auto name = [&](NodeIdx n) { return n == kNone ? std::string() : c.nodes[n].name; };
    for (const SummaryEntry& e : entries) {
        if (e.fence) {
            w.open("node_action");
            w.attr("task", e.change);
            w.attr("node", e.details);
            if (!e.reason.empty()) w.attr("reason", e.reason);
            w.end_empty();
            continue;
        }
        std::string action = e.change;
        std::transform(action.begin(), action.end(), action.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        w.open("rsc_action");
        w.attr("action", action);
        w.attr("resource", e.rsc);
        const bool need_role = e.role > Role::started || e.next_role > Role::unpromoted;
        const bool same_host = e.origin != kNone && e.dest != kNone && e.origin == e.dest;
        const bool same_role = e.role == e.next_role;
        // (Observed: a node alone is "node"; with a destination, or where it stays, the
        // node is "source" and the destination "dest", unless the text shows one node
        // only: "Stopped -> Promoted node1" is role, next-role and dest.)
        if (e.origin == kNone) {
            if (need_role) {
                w.attr("role", role_name(e.role));
                w.attr("next-role", role_name(e.next_role));
            }
            w.attr(need_role ? "dest" : "node", name(e.dest));
        } else if (e.dest == kNone) {
            if (need_role) w.attr("role", role_name(e.role));
            w.attr("node", name(e.origin));
        } else if (same_host && same_role) {
            if (need_role) w.attr("role", role_name(e.role));
            w.attr("source", name(e.origin));
        } else if (same_role) {
            // "node1 -> node2 Unpromoted": the role comes last (rnd-s102-c7-6).
            w.attr("source", name(e.origin));
            w.attr("dest", name(e.dest));
            if (need_role) w.attr("role", role_name(e.role));
        } else if (same_host) {
            w.attr("role", role_name(e.role));
            w.attr("next-role", role_name(e.next_role));
            w.attr("source", name(e.origin));
        } else {
            w.attr("role", role_name(e.role));
            w.attr("source", name(e.origin));
            w.attr("next-role", role_name(e.next_role));
            w.attr("dest", name(e.dest));
        }
        if (!e.reason.empty()) w.attr("reason", e.reason);
        if (e.blocked) w.attr("blocked", true);
        w.end_empty();
    }
    w.close_list("actions", actions);
    return std::move(w.s);
}

std::string modifications_xml(const Modifications& m, int indent)
{
    if (m.nodes.empty() && m.injections.empty()) return {};
    Writer w;
    w.indent = indent;
    w.open("modifications");
    if (m.quorum) w.attr("quorum", *m.quorum);
    w.end_open();
    for (const auto& [action, node] : m.nodes) {
        w.open("modify_node");
        w.attr("action", action);
        w.attr("node", node);
        w.end_empty();
    }
    for (const Modifications::Injection& i : m.injections) {
        w.open("inject_spec");
        w.attr("spec", i.spec);
        w.end_empty();
        for (const ExecutedAction& e : i.attrs)
            write_inject_attr(w, e);
    }
    w.close("modifications");
    return std::move(w.s);
}

std::string scores_xml(const std::vector<ScoreLine>& lines, bool scores, bool utilization, int indent)
{
    const char* element = !utilization ? "allocations" : scores ? "allocations_utilizations" : "utilizations";
    Writer w;
    w.indent = indent;
    w.open(element);
    w.end_open();
    const std::size_t mark = w.mark();
    for (const ScoreLine& l : lines) {
        switch (l.kind) {
            case ScoreLine::Kind::allocation:
                w.open("node_weight");
                w.attr("function", l.label);
                w.attr("node", l.node);
                w.attr("score", l.score);
                w.attr("id", l.rsc);
                w.end_empty();
                break;
            case ScoreLine::Kind::promotion:
                w.open("promotion_score");
                w.attr("id", l.rsc);
                w.attr("score", l.score);
                if (!l.node.empty()) w.attr("node", l.node);
                w.end_empty();
                break;
            case ScoreLine::Kind::capacity:
                w.open("capacity");
                w.attr("node", l.node);
                w.attr("comment", l.label);
                write_values(w, "capacity", l.values);
                break;
            case ScoreLine::Kind::utilization:
                w.open("utilization");
                w.attr("resource", l.rsc);
                w.attr("node", l.node);
                w.attr("function", l.label);
                write_values(w, "utilization", l.values);
                break;
        }
    }
    w.close_list(element, mark);
    return std::move(w.s);
}

std::string executed_xml(const std::vector<ExecutedAction>& executed, int indent)
{
    Writer w;
    w.indent = indent;
    w.open("transition");
    w.end_open();
    const std::size_t transition = w.mark();
    for (const ExecutedAction& e : executed) {
        switch (e.kind) {
            case ExecutedAction::Kind::resource:
                w.open("rsc_action");
                w.attr("resource", e.rsc);
                w.attr("op", e.task);
                w.attr("node", e.node);
                if (e.interval_ms > 0) w.attr("interval", std::to_string(e.interval_ms));
                w.end_empty();
                break;
            case ExecutedAction::Kind::pseudo:
                w.open("pseudo_action");
                w.attr("task", e.task);
                if (!e.node.empty()) w.attr("node", e.node);
                w.end_empty();
                break;
            case ExecutedAction::Kind::fencing:
                w.open("fencing_action");
                w.attr("target", e.node);
                w.attr("op", e.task);
                w.end_empty();
                break;
            case ExecutedAction::Kind::cluster:
                w.open("cluster_action");
                w.attr("task", e.task);
                w.attr("node", e.node);
                if (!e.rsc.empty()) w.attr("id", e.rsc);
                w.end_empty();
                break;
            case ExecutedAction::Kind::attribute:
                write_inject_attr(w, e);
                break;
            case ExecutedAction::Kind::message:
                break;
        }
    }
    w.close_list("transition", transition);
    return std::move(w.s);
}

}  // namespace outpost::cluster::policy
