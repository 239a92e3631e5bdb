#include "policy_fixture.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace policy_test {

std::string cib(int nodes, const std::string& resources, const std::string& constraints,
                const std::string& status, const std::string& options)
{
    std::string node_list, states;
    for (int i = 1; i <= nodes; ++i) {
        node_list += "<node id=\"" + std::to_string(i) + "\" uname=\"node" + std::to_string(i) + "\"/>";
        if (status.find("<node_state id=\"" + std::to_string(i) + "\"") == std::string::npos)
            states += node_state(i, {});
    }
    return "<cib crm_feature_set=\"3.16.1\" validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" "
           "admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\" execution-date=\"1700000000\"><configuration>"
           "<crm_config><cluster_property_set id=\"opts\">"
           "<nvpair id=\"opt-stonith\" name=\"stonith-enabled\" value=\"false\"/>" +
           options + "</cluster_property_set></crm_config><nodes>" + node_list + "</nodes><resources>" +
           resources + "</resources><constraints>" + constraints + "</constraints></configuration><status>" +
           states + status + "</status></cib>";
}

std::string history(const std::string& rsc, const std::string& task, int rc, int interval_ms,
                    const std::string& type, const std::string& cls, const std::string& provider, int call,
                    const std::string& digest)
{
    const std::string key = rsc + "_" + task + "_" + std::to_string(interval_ms);
    const std::string id = interval_ms > 0 ? key : rsc + "_last_0";
    return "<lrm_resource id=\"" + rsc + "\" class=\"" + cls + "\"" +
           (provider.empty() ? std::string() : " provider=\"" + provider + "\"") + " type=\"" + type +
           "\"><lrm_rsc_op id=\"" + id + "\" operation_key=\"" + key + "\" operation=\"" + task +
           "\" crm-debug-origin=\"test\" crm_feature_set=\"3.16.1\" transition-key=\"1:1:0:test\" "
           "transition-magic=\"0:" +
           std::to_string(rc) + ";1:1:0:test\" exit-reason=\"\" call-id=\"" + std::to_string(call) +
           "\" rc-code=\"" + std::to_string(rc) + "\" op-status=\"0\" interval=\"" +
           std::to_string(interval_ms) +
           "\" last-rc-change=\"1699999990\" exec-time=\"1\" queue-time=\"0\" "
           "op-digest=\"" +
           (digest.empty() ? std::string("f2317cad3d54cec5d7d7aa7d0bf35cf8") : digest) +
           "\"/></lrm_resource>";
}

std::string history_ops(const std::string& rsc, const std::vector<OpRecord>& ops, const std::string& type,
                        const std::string& cls, const std::string& provider, const std::string& digest)
{
    std::string body;
    int call = 10;
    for (const OpRecord& op : ops) {
        const std::string one =
            history(rsc, op.task, op.rc, op.interval_ms, type, cls, provider, call++, digest);
        // The lrm_rsc_op element of that single-operation history.
        const auto begin = one.find("<lrm_rsc_op");
        const auto end = one.find("/>", begin) + 2;
        body += one.substr(begin, end - begin);
    }
    return "<lrm_resource id=\"" + rsc + "\" class=\"" + cls + "\"" +
           (provider.empty() ? std::string() : " provider=\"" + provider + "\"") + " type=\"" + type + "\">" +
           body + "</lrm_resource>";
}

std::string node_state(int id, const std::string& lrm)
{
    const std::string n = std::to_string(id);
    return "<node_state id=\"" + n + "\" uname=\"node" + n +
           "\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"><lrm id=\"" + n +
           "\"><lrm_resources>" + lrm + "</lrm_resources></lrm></node_state>";
}

std::string remote_state(const std::string& name, const std::string& lrm)
{
    return "<node_state id=\"" + name + "\" uname=\"" + name + "\" remote_node=\"true\"><lrm id=\"" + name +
           "\"><lrm_resources>" + lrm + "</lrm_resources></lrm></node_state>";
}

ActIdx Scheduled::find(const std::string& key, const std::string& node) const
{
    for (const Action& a : cluster->actions) {
        if (a.key != key) continue;
        if (!node.empty() && (a.node == kNone || cluster->nodes[a.node].name != node)) continue;
        return a.id;
    }
    return kNone;
}

bool Scheduled::in_graph(const std::string& key, const std::string& node) const
{
    for (const Action& a : cluster->actions) {
        if (a.key != key || !(a.flags & kActInGraph)) continue;
        if (!node.empty() && (a.node == kNone || cluster->nodes[a.node].name != node)) continue;
        return true;
    }
    return false;
}

bool Scheduled::ordered(const std::string& first, const std::string& first_node, const std::string& then,
                        const std::string& then_node) const
{
    for (std::size_t s = 0; s < graph.actions.size(); ++s) {
        const Action& t = cluster->actions[graph.actions[s]];
        if (t.key != then) continue;
        if (!then_node.empty() && (t.node == kNone || cluster->nodes[t.node].name != then_node)) continue;
        for (ActIdx in : graph.inputs[s]) {
            const Action& f = cluster->actions[in];
            if (f.key != first) continue;
            if (!first_node.empty() && (f.node == kNone || cluster->nodes[f.node].name != first_node))
                continue;
            return true;
        }
    }
    return false;
}

std::vector<std::string> Scheduled::summary() const
{
    std::vector<std::string> lines;
    for (const SummaryEntry& e : summarize(*cluster)) {
        std::string line = e.change + " " + (e.fence ? e.details : e.rsc + " (" + e.details + ")");
        const std::string reason = e.fence ? e.reason : summary_reason(e);
        if (!reason.empty()) line += " " + reason;
        lines.push_back(line);
    }
    return lines;
}

std::string Scheduled::summary_text() const
{
    std::string s;
    for (const auto& l : summary())
        s += l + "\n";
    return s;
}

namespace {

// POLICY_TEST_DUMP=DIR writes every CIB a test schedules to DIR (to check the expectations
// against crm_simulate).
void dump(const std::string& text)
{
    static int count = 0;
    if (const char* dir = std::getenv("POLICY_TEST_DUMP")) {
        std::ofstream(std::string(dir) + "/cib-" + std::to_string(++count) + ".xml") << text;
    }
}

}  // namespace

Scheduled schedule_cib(const std::string& text)
{
    dump(text);
    auto doc = xml::parse(text);
    REQUIRE(doc);
    ScheduleOptions so;
    auto c = unpack_and_schedule(std::move(*doc), so);
    if (!c) FAIL(c.error().describe());
    Scheduled s;
    s.cluster = std::move(*c);
    s.graph = build_graph(*s.cluster);
    return s;
}

std::string error_of(const std::string& text)
{
    auto doc = xml::parse(text);
    if (!doc) return doc.error().describe();
    ScheduleOptions so;
    auto c = unpack_and_schedule(std::move(*doc), so);
    if (!c) return c.error().describe();
    return {};
}

}  // namespace policy_test
