// Remote and guest node rules (scheduler.md section 1, rule numbers as there; where each is
// implemented is listed in cluster-plugin/policy/remote_rules.hpp). Each case is a small
// CIB whose expected transition was checked against crm_simulate 2.1.5.
#include <catch.hpp>

#include <map>

#include "policy/digest.hpp"
#include "policy/xml_output.hpp"
#include "policy_fixture.hpp"

using namespace policy_test;

namespace {

const std::string kDummy = "ocf\" provider=\"pacemaker\" type=\"Dummy";

std::string primitive(const std::string& id, const std::string& meta = {})
{
    std::string m;
    if (!meta.empty()) m = "<meta_attributes id=\"" + id + "-meta\">" + meta + "</meta_attributes>";
    return "<primitive id=\"" + id + "\" class=\"" + kDummy + "\">" + m + "<operations><op id=\"" + id +
           "-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>";
}

std::string nv(const std::string& id, const std::string& name, const std::string& value)
{
    return "<nvpair id=\"" + id + "\" name=\"" + name + "\" value=\"" + value + "\"/>";
}

std::string remote(const std::string& id, const std::string& extra_params = {})
{
    return "<primitive id=\"" + id +
           "\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\"><instance_attributes id=\"" + id +
           "-params\">" + nv(id + "-server", "server", "192.0.2.1") + extra_params +
           "</instance_attributes><operations><op id=\"" + id +
           "-mon\" name=\"monitor\" interval=\"30s\"/></operations></primitive>";
}

std::string guest_vm(const std::string& vm, const std::string& guest)
{
    return primitive(vm, nv(vm + "-rn", "remote-node", guest));
}

// Where each top-level resource ended in the sort before assignment (U3: Cluster::top is
// sorted in place).
std::map<std::string, std::size_t> sort_positions(const Scheduled& s)
{
    std::map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < s.cluster->top.size(); ++i)
        position[s.cluster->resources[s.cluster->top[i]].id] = i;
    return position;
}

// The CIB with cluster nodes node1..nodeN in standby.
std::string in_standby(std::string text, int nodes)
{
    for (int i = 1; i <= nodes; ++i) {
        const std::string id = std::to_string(i);
        std::string plain = "<node id=\"";
        plain.append(id).append("\" uname=\"node").append(id).append("\"/>");
        std::string with = plain.substr(0, plain.size() - 2);
        with.append("><instance_attributes id=\"n").append(id).append("-a\">");
        with.append(nv("n" + id + "-sb", "standby", "on")).append("</instance_attributes></node>");
        text.replace(text.find(plain), plain.size(), with);
    }
    return text;
}

std::string pin(const std::string& rsc, const std::string& node)
{
    return "<rsc_location id=\"pin-" + rsc + "\" rsc=\"" + rsc + "\" node=\"" + node +
           "\" score=\"INFINITY\"/>";
}

}  // namespace

TEST_CASE("rule 11/34: a guest node's implicit connection follows its container, resources wait for it")
{
    auto s = schedule_cib(cib(1, guest_vm("vm1", "guest1") + primitive("r1"), pin("r1", "guest1")));
    // The implicit connection resource exists and starts where the container starts.
    REQUIRE(s.cluster->find_rsc("guest1") != kNone);
    CHECK(s.in_graph("vm1_start_0", "node1"));
    CHECK(s.in_graph("guest1_start_0", "node1"));
    CHECK(s.in_graph("r1_start_0", "guest1"));
    CHECK(s.ordered("vm1_start_0", "node1", "guest1_start_0", "node1"));
    CHECK(s.ordered("guest1_start_0", "node1", "r1_start_0", "guest1"));
    CHECK(s.ordered("vm1_start_0", "node1", "r1_start_0", "guest1"));
}

TEST_CASE("rule 40: fence devices and connections are never probed on Pacemaker Remote nodes")
{
    const std::string fencer = "<primitive id=\"f\" class=\"stonith\" type=\"fence_dummy\"/>";
    const std::string status = remote_state("remote1", {}) +
                               node_state(1, history("remote1", "start", 0, 0, "remote") +
                                                 history("f", "start", 0, 0, "fence_dummy", "stonith", ""));
    auto s = schedule_cib(cib(1, remote("remote1") + fencer + primitive("r1"), {}, status));
    CHECK(s.in_graph("r1_monitor_0", "remote1"));
    CHECK(s.find("f_monitor_0", "remote1") == kNone);
    CHECK(s.find("remote1_monitor_0", "remote1") == kNone);
}

TEST_CASE("rule 50: fencing a guest node whose container failed is a pseudo action")
{
    const std::string status = node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history("guest1", "start", 0, 0, "remote")) +
                               remote_state("guest1", history("r1", "start"));
    auto s = schedule_cib(cib(1, guest_vm("vm1", "guest1") + primitive("r1"), pin("r1", "guest1"), status));
    const ActIdx fence = s.find("stonith-guest1-reboot");
    REQUIRE(fence != kNone);
    CHECK(s.cluster->actions[fence].pseudo());
    CHECK(s.in_graph("vm1_start_0", "node1"));
    // The container stops before the guest is "fenced"; the guest's resources stop by it.
    CHECK(s.ordered("vm1_stop_0", "node1", "stonith-guest1-reboot", "guest1"));
    CHECK(s.ordered("stonith-guest1-reboot", "guest1", "r1_stop_0", ""));
    CHECK(s.cluster->actions[s.find("r1_stop_0")].pseudo());
    const std::string text = s.summary_text();
    CHECK(text.find("Fence (reboot) guest1 (resource: vm1) guest is unclean") != std::string::npos);
    CHECK(text.find("Recover vm1 (node1)") != std::string::npos);
}

TEST_CASE("F2: fail counts on a guest count only once its history is unpacked")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s2-c8-6): with fencing disabled, the
    // container's host leaving means the guest's history is not unpacked, and fail counts at
    // the threshold there do not ban the resource from it; with the container merely failed
    // on a host that is up, they do.
    std::string guest = remote_state("guest1", history_ops("r1", {{"start", 0, 0}, {"monitor", 7, 10000}}));
    guest.insert(guest.find('>') + 1,
                 "<transient_attributes id=\"guest1\"><instance_attributes id=\"st-guest1\">" +
                     nv("fc", "fail-count-r1#monitor_10000", "1") +
                     "</instance_attributes></transient_attributes>");
    const std::string rsc = guest_vm("vm1", "guest1") +
                            "<primitive id=\"r1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
                            "<meta_attributes id=\"r1-m\">" +
                            nv("r1-mt", "migration-threshold", "1") +
                            "</meta_attributes><operations><op id=\"r1-mon\" name=\"monitor\" "
                            "interval=\"10s\"/></operations></primitive>";
    const std::string prefer = "<rsc_location id=\"l-r1\" rsc=\"r1\" node=\"guest1\" score=\"100\"/>";
    const auto host = [](int container_rc, bool up) {
        std::string state =
            node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", container_rc, 10000}}) +
                              history("guest1", "start", 0, 0, "remote"));
        if (!up) {
            for (auto [from, to] : {std::pair{"in_ccm=\"true\"", "in_ccm=\"false\""},
                                    std::pair{"crmd=\"online\"", "crmd=\"offline\""},
                                    std::pair{"join=\"member\"", "join=\"down\""},
                                    std::pair{"expected=\"member\"", "expected=\"down\""}}) {
                const std::string f = from;
                state.replace(state.find(f), f.size(), to);
            }
        }
        return state;
    };
    // The container failed on a host that is up: the failure counts, r1 leaves the guest.
    auto failed = schedule_cib(cib(2, rsc, prefer, host(7, true) + guest));
    CHECK(failed.in_graph("r1_start_0", "node2"));
    // The host left: the container starts on node2, the guest comes back, and r1 with it.
    auto left = schedule_cib(cib(2, rsc, prefer, host(0, false) + guest));
    CHECK(left.in_graph("vm1_start_0", "node2"));
    CHECK(left.in_graph("r1_start_0", "guest1"));
    CHECK_FALSE(left.in_graph("r1_start_0", "node2"));
}

TEST_CASE("rule 56: actions on a remote node are routed through its connection's host")
{
    const std::string status =
        remote_state("remote1", {}) + node_state(1, history("remote1", "start", 0, 0, "remote"));
    auto s = schedule_cib(cib(2, remote("remote1") + primitive("r1"), pin("r1", "remote1"), status));
    const ActIdx start = s.find("r1_start_0", "remote1");
    REQUIRE(start != kNone);
    CHECK(router_node(*s.cluster, s.cluster->actions[start]) == s.cluster->find_node("node1"));
}

TEST_CASE("rule 24: a connection reset by a failure stays stopped for its reconnect interval")
{
    const std::string params = nv("remote1-ri", "reconnect_interval", "60s");
    const std::string digest = parameters_digest({{"server", "192.0.2.1"}, {"reconnect_interval", "60s"}});
    const std::string status =
        remote_state("remote1", {}) +
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote", "ocf",
                                  "pacemaker", digest)) +
        node_state(2, history("remote1", "monitor", 7, 0, "remote", "ocf", "pacemaker", 5, digest));
    auto s = schedule_cib(cib(2, remote("remote1", params) + primitive("r1"), {}, status));
    CHECK(s.in_graph("remote1_stop_0", "node1"));
    CHECK_FALSE(s.in_graph("remote1_start_0"));
}

TEST_CASE("rule 24: the reconnect interval holds a connection that failed on a node now unclean")
{
    // Fencing on, node1 lost with the failed connection's history: it is fenced, and the
    // connection still waits rather than starting on node2.
    const auto unclean = [](const std::string& params) {
        const auto replace = [](std::string& text, const std::string& from, const std::string& to) {
            text.replace(text.find(from), from.size(), to);
        };
        std::string state = node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}},
                                                      "remote", "ocf", "pacemaker"));
        replace(state, "in_ccm=\"true\" crmd=\"online\" join=\"member\"",
                "in_ccm=\"false\" crmd=\"offline\" join=\"down\"");
        std::string text = cib(
            2, remote("remote1", params) + "<primitive id=\"fence\" class=\"stonith\" type=\"fence_dummy\"/>",
            {}, remote_state("remote1", {}) + state);
        replace(text, "name=\"stonith-enabled\" value=\"false\"", "name=\"stonith-enabled\" value=\"true\"");
        return schedule_cib(text);
    };
    auto held = unclean(nv("remote1-ri", "reconnect_interval", "60s"));
    CHECK(held.in_graph("stonith-node1-reboot"));
    CHECK_FALSE(held.in_graph("remote1_start_0"));
    CHECK(unclean({}).in_graph("remote1_start_0", "node2"));
}

TEST_CASE("rule 24: a held connection is banned from the start, so a placement strategy sorts it last")
{
    const std::string params = nv("remote1-ri", "reconnect_interval", "60s");
    const std::string digest = parameters_digest({{"server", "192.0.2.1"}, {"reconnect_interval", "60s"}});
    const std::string status = remote_state("remote1", {}) +
                               node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}},
                                                         "remote", "ocf", "pacemaker", digest));
    auto s = schedule_cib(cib(2, remote("remote1", params) + primitive("r1"), {}, status,
                              "<nvpair id=\"opt-ps\" name=\"placement-strategy\" value=\"balanced\"/>"));
    const auto lines = s.summary();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "Start r1 (node1)");
    CHECK(lines[1].starts_with("Stop remote1 (node1)"));
}

TEST_CASE("T5: a connection whose name a typeless <node> entry keeps a cluster node fails as any resource")
{
    // The rule 24 history, but remote1 is a cluster node (rule 9): no reset-remote, no
    // reconnect hold; the failed connection is recovered where it runs (typeless-remote-*).
    const std::string params = nv("remote1-ri", "reconnect_interval", "60s");
    const std::string digest = parameters_digest({{"server", "192.0.2.1"}, {"reconnect_interval", "60s"}});
    const std::string status = node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}},
                                                         "remote", "ocf", "pacemaker", digest));
    std::string text = cib(2, remote("remote1", params) + remote("remote2") + primitive("r1"), {}, status);
    text.replace(text.find("</nodes>"), 0, "<node id=\"remote1\" uname=\"remote1\"/>");
    auto s = schedule_cib(text);
    CHECK(s.in_graph("remote1_stop_0", "node1"));
    CHECK(s.in_graph("remote1_start_0", "node1"));
    CHECK_FALSE(s.in_graph("stonith-remote1-reboot"));
}

TEST_CASE("rule 33: connections are assigned first; a guest container may not run on a remote node")
{
    const std::string status =
        remote_state("remote1", {}) + node_state(1, history("remote1", "start", 0, 0, "remote"));
    auto s = schedule_cib(cib(1, remote("remote1") + guest_vm("vm1", "guest1"), {}, status));
    const Cluster& c = *s.cluster;
    const RscIdx vm = c.find_rsc("vm1");
    REQUIRE(vm != kNone);
    CHECK(c.resources[vm].assigned == c.find_node("node1"));
}

TEST_CASE(
    "rule 53: fencing a guest downs it, so does its connection's stop; the graph's attributes link them")
{
    const std::string status = node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history("guest1", "start", 0, 0, "remote")) +
                               remote_state("guest1", history("r1", "start"));
    auto s = schedule_cib(cib(1, guest_vm("vm1", "guest1") + primitive("r1"), pin("r1", "guest1"), status));
    const NodeIdx guest = s.cluster->find_node("guest1");
    const ActIdx fence = s.find("stonith-guest1-reboot");
    const ActIdx stop = s.find("guest1_stop_0", "node1");
    REQUIRE(fence != kNone);
    REQUIRE(stop != kNone);
    CHECK(s.cluster->actions[fence].downed == std::vector<NodeIdx>{guest});
    CHECK(s.cluster->actions[stop].downed == std::vector<NodeIdx>{guest});
    // As crm_simulate 2.1.5 writes them: the connection names its container, the container
    // its guest, an action in the guest the host; every action the feature set.
    auto attrs = [&](const std::string& key, const std::string& node) {
        return action_attributes(*s.cluster, s.cluster->actions[s.find(key, node)]);
    };
    CHECK(attrs("guest1_start_0", "node1")["CRM_meta_container"] == "vm1");
    CHECK(attrs("guest1_start_0", "node1")["CRM_meta_name"] == "start");
    CHECK(attrs("guest1_start_0", "node1")["crm_feature_set"] == kFeatureSet);
    CHECK(attrs("vm1_start_0", "node1")["CRM_meta_remote_node"] == "guest1");
    CHECK(attrs("r1_start_0", "guest1")["CRM_meta_physical_host"] == "node1");
    CHECK(graph_xml(*s.cluster, s.graph).find("<downed>") != std::string::npos);
}

TEST_CASE("rule 53/15: a guest's host is where its connection runs: fencing it downs and resets the guest")
{
    // A node lost (unclean, fenced) with the container vm1 or guest1's connection: where the
    // connection runs decides whether the fencing downs guest1 too and whether guest1 needs
    // its own (pseudo) fencing, not where its container does.
    const auto fenced = [](int lost, const std::string& node1_conn, const std::string& node2_conn) {
        std::string state = node_state(1, history("fence", "start", 0, 0, "fence_dummy", "stonith", "") +
                                              history("vm1", "start") + node1_conn) +
                            node_state(2, node2_conn);
        const std::string up = "<node_state id=\"" + std::to_string(lost) + "\" uname=\"node" +
                               std::to_string(lost) + "\" in_ccm=\"true\" crmd=\"online\" join=\"member\"";
        std::string down = up;
        down.replace(down.find("in_ccm"), std::string::npos,
                     "in_ccm=\"false\" crmd=\"offline\" join=\"down\"");
        state.replace(state.find(up), up.size(), down);
        std::string text = cib(3,
                               guest_vm("vm1", "guest1") + primitive("r1") +
                                   "<primitive id=\"fence\" class=\"stonith\" type=\"fence_dummy\"/>",
                               pin("r1", "guest1"), state + remote_state("guest1", history("r1", "start")));
        const std::string off = "name=\"stonith-enabled\" value=\"false\"";
        text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
        return schedule_cib(text);
    };
    const auto downed = [](const Scheduled& s, const std::string& fencing) {
        std::vector<std::string> names;
        const ActIdx a = s.find(fencing);
        REQUIRE(a != kNone);
        for (NodeIdx n : s.cluster->actions[a].downed)
            names.push_back(s.cluster->nodes[n].name);
        return names;
    };
    using Names = std::vector<std::string>;
    const std::string running = history("guest1", "start", 0, 0, "remote");
    auto both = fenced(1, running, {});
    CHECK(downed(both, "stonith-node1-reboot") == Names{"node1", "guest1"});
    CHECK(both.in_graph("stonith-guest1-reboot"));
    // The connection is stopped: guest1 is not listed.
    auto stopped = fenced(1, history("guest1", "stop", 0, 0, "remote"), {});
    CHECK(downed(stopped, "stonith-node1-reboot") == Names{"node1"});
    // The connection runs on node2: losing node1 (the container's host) neither downs nor
    // fences guest1, whose r1 stops there for real; losing node2 does both.
    auto container_lost = fenced(1, {}, running);
    CHECK(downed(container_lost, "stonith-node1-reboot") == Names{"node1"});
    CHECK_FALSE(container_lost.in_graph("stonith-guest1-reboot"));
    CHECK(container_lost.in_graph("r1_stop_0", "guest1"));
    auto connection_lost = fenced(2, {}, running);
    CHECK(downed(connection_lost, "stonith-node2-reboot") == Names{"node2", "guest1"});
    CHECK(connection_lost.in_graph("stonith-guest1-reboot"));
}

TEST_CASE("rule 53: a multiply active migratable connection that moves off its first node downs nothing")
{
    // guest1's connection (remote-allow-migrate) and its container run on node1 and node2 and
    // are placed on node2: both stops are plain stops, but the connection moves from its
    // first active node (in status order), so neither downs guest1; placed on node1 they do.
    const auto both = [](const std::string& to) {
        const std::string vm = history("vm1", "start") + history("guest1", "start", 0, 0, "remote");
        const std::string vm_meta =
            nv("vm1-rn", "remote-node", "guest1") + nv("vm1-ram", "remote-allow-migrate", "true");
        auto s = schedule_cib(
            cib(2, primitive("vm1", vm_meta) + primitive("r1"), pin("r1", "guest1") + pin("vm1", to),
                node_state(1, vm) + node_state(2, vm) + remote_state("guest1", history("r1", "start"))));
        const ActIdx one = s.find("guest1_stop_0", "node1");
        const ActIdx two = s.find("guest1_stop_0", "node2");
        REQUIRE(one != kNone);
        REQUIRE(two != kNone);
        return s.cluster->actions[one].downed.size() + s.cluster->actions[two].downed.size();
    };
    CHECK(both("node2") == 0);
    CHECK(both("node1") == 2);
}

TEST_CASE("rule 53: a connection that migrates downs nothing")
{
    const std::string status =
        node_state(1, history("remote1", "start", 0, 0, "remote")) + remote_state("remote1", {});
    const std::string constraints =
        "<rsc_location id=\"away\" rsc=\"remote1\" node=\"node1\" score=\"-INFINITY\"/>";
    auto s = schedule_cib(cib(2, remote("remote1"), constraints, status));
    REQUIRE(s.in_graph("remote1_migrate_to_0", "node1"));
    const ActIdx stop = s.find("remote1_stop_0", "node1");
    REQUIRE(stop != kNone);
    CHECK(s.cluster->actions[stop].downed.empty());
}

TEST_CASE("rule 9: a <node> entry without a type keeps a guest's or remote node's name a cluster node")
{
    // What crm_simulate's own -u writes for a guest or remote node; Pacemaker accepts it.
    std::string text = cib(1, guest_vm("vm1", "guest1") + remote("remote1"), pin("vm1", "node1"));
    const std::string entries =
        "<node id=\"guest1\" uname=\"guest1\"/><node id=\"remote1\" uname=\"remote1\"/>";
    text.replace(text.find("</nodes>"), 0, entries);
    CHECK(error_of(text).empty());
    auto s = schedule_cib(text);
    CHECK(s.cluster->nodes[s.cluster->find_node("guest1")].kind == NodeKind::member);
    CHECK(s.cluster->nodes[s.cluster->find_node("remote1")].kind == NodeKind::member);
    CHECK(s.cluster->find_rsc("guest1") != kNone);  // the implicit connection stays
}

TEST_CASE("rule 51: fencing a guest orders the resource's last stop, on whichever node it is")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s4-c0-7): a primitive active on two
    // guests, one of them fenced with its failed container. Besides its own (pseudo) stop
    // there, the fencing orders the resource's most recently created stop, which is the
    // other guest's when that guest's history comes later in the status section.
    const auto status = [](const std::string& first, const std::string& second) {
        return node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                 history("vm2", "start") + history("guest1", "start", 0, 0, "remote") +
                                 history("guest2", "start", 0, 0, "remote")) +
               remote_state(first, history("r1", "start")) + remote_state(second, history("r1", "start"));
    };
    const std::string rsc = guest_vm("vm1", "guest1") + guest_vm("vm2", "guest2") + primitive("r1");
    const std::string pins = pin("vm1", "node1") + pin("vm2", "node1");
    auto later = schedule_cib(cib(1, rsc, pins, status("guest1", "guest2")));
    REQUIRE(later.find("stonith-guest1-reboot") != kNone);
    CHECK(later.ordered("stonith-guest1-reboot", "guest1", "r1_stop_0", "guest1"));
    CHECK(later.ordered("stonith-guest1-reboot", "guest1", "r1_stop_0", "guest2"));
    auto earlier = schedule_cib(cib(1, rsc, pins, status("guest2", "guest1")));
    CHECK(earlier.ordered("stonith-guest1-reboot", "guest1", "r1_stop_0", "guest1"));
    CHECK_FALSE(earlier.ordered("stonith-guest1-reboot", "guest1", "r1_stop_0", "guest2"));
}

TEST_CASE("rule 55: a blocked resource on a remote node whose connection must stop stays blocked, unlisted")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s8-c5-5): the connection's stop
    // cannot make the stop of an unmanaged (blocked) resource there required, so neither
    // it nor its group's stop is scheduled; the connection's stop is blocked behind it.
    const std::string group = "<group id=\"g\">" + primitive("gm") + primitive("gm2") + "</group>";
    const std::string status =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote")) +
        remote_state("remote1", history("gm", "stop", 1));
    const std::string text = cib(1, remote("remote1") + group, pin("g", "remote1"), status);
    auto s = schedule_cib(text);
    const ActIdx gm_stop = s.find("gm_stop_0", "remote1");
    REQUIRE(gm_stop != kNone);
    CHECK(s.cluster->actions[gm_stop].optional());
    CHECK_FALSE(s.in_graph("g_stop_0"));
    CHECK_FALSE(s.in_graph("remote1_stop_0"));
    // crm_mon lists no group whose only active member is blocked on an offline node, while
    // the same member outside a group is listed.
    auto doc = xml::parse(text);
    REQUIRE(doc);
    auto current = unpack(std::move(*doc), ScheduleOptions{});
    REQUIRE(current);
    CHECK(render_status(**current).find("Resource Group: g") == std::string::npos);
    CHECK(hidden_from_status(**current, (*current)->find_rsc("g")));
}

TEST_CASE("a remote node whose connection's host left, fencing disabled, has no #uname (rnd-s9-c1-6)")
{
    // Its history is never unpacked, nor are its built-in attributes: a location rule on
    // #uname does not match it (crm_simulate 2.1.5: score 0, not 100), and a colocation
    // matches it with every other node lacking #uname.
    const std::string rule =
        "<rsc_location id=\"l\" rsc=\"d\"><rule id=\"r\" score=\"100\"><expression id=\"e\" "
        "attribute=\"#uname\" operation=\"eq\" value=\"remote1\"/></rule></rsc_location>";
    auto with_host = [&](bool online) {
        const std::string state = online
                                      ? "in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\""
                                      : "in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"down\"";
        const std::string node2 =
            "<node_state id=\"2\" uname=\"node2\" " + state + "><lrm id=\"2\"><lrm_resources>" +
            history("remote1", "start", 0, 0, "remote") + "</lrm_resources></lrm></node_state>";
        return schedule_cib(
            cib(2, remote("remote1") + primitive("d"), rule, node2 + remote_state("remote1", {})));
    };
    auto has_uname = [](const Scheduled& s) {
        const NodeIdx n = s.cluster->find_node("remote1");
        REQUIRE(n != kNone);
        return s.cluster->nodes[n].has_attr("#uname");
    };
    CHECK_FALSE(has_uname(with_host(false)));
    CHECK(has_uname(with_host(true)));
}

TEST_CASE("G4: an action on a node being fenced stays out of the graph, even one made required")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s17-c7-6): remote1 is fenced (r2's
    // failed stop there) while its connection moves from the lost node1 to node2; r1 moves
    // off remote1 too. r1's active monitor there is made required by the connection's new
    // start (rule 46's implies-then), yet it is not scheduled: crm_simulate skips it, "scheduled
    // for unclean node", and it is in no ordering of the graph.
    std::string lost =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 0, 30000}}, "remote"));
    const std::string up = "in_ccm=\"true\" crmd=\"online\" join=\"member\"";
    lost.replace(lost.find(up), up.size(), "in_ccm=\"false\" crmd=\"offline\" join=\"down\"");
    const std::string status =
        lost + remote_state("remote1", history_ops("r1", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                           history("r2", "stop", 1));
    std::string text = cib(2,
                           remote("remote1") + primitive("r1") + primitive("r2") +
                               "<primitive id=\"fence\" class=\"stonith\" type=\"fence_dummy\"/>",
                           pin("r1", "remote1"), status);
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto s = schedule_cib(text);
    REQUIRE(s.in_graph("stonith-remote1-reboot", "remote1"));
    CHECK(s.in_graph("remote1_start_0", "node2"));
    CHECK(s.in_graph("r1_start_0", "node2"));
    const ActIdx mon = s.find("r1_monitor_10000", "remote1");
    REQUIRE(mon != kNone);
    CHECK_FALSE(s.cluster->actions[mon].optional());
    CHECK(s.cluster->actions[mon].runnable());
    CHECK_FALSE(s.in_graph("r1_monitor_10000", "remote1"));
    CHECK(s.in_graph("r1_monitor_10000", "node2"));
}

TEST_CASE("C1: a failed remote connection recovered where it runs stops what leaves its node first")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s71-c6-2,
    // remote-connection-fails-stop-there, -demote-there), fencing disabled: remote1's monitor
    // failed on node1, "Recover remote1 (node1)". Its node is alive, as for any restart (C4):
    // r2 (disabled) stops before the connection's stop, not after its new start; r1 stays,
    // its monitor issued again after the start.
    const std::string status =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote")) +
        remote_state("remote1", history("r1", "start") + history("r2", "start"));
    auto s = schedule_cib(
        cib(1, remote("remote1") + primitive("r1") + primitive("r2", nv("r2-tr", "target-role", "Stopped")),
            pin("r1", "remote1"), status));
    REQUIRE(s.in_graph("remote1_stop_0", "node1"));
    REQUIRE(s.in_graph("remote1_start_0", "node1"));
    REQUIRE(s.in_graph("r2_stop_0", "remote1"));
    CHECK(s.ordered("r2_stop_0", "remote1", "remote1_stop_0", "node1"));
    CHECK_FALSE(s.ordered("remote1_start_0", "node1", "r2_stop_0", "remote1"));
    CHECK_FALSE(s.in_graph("r1_stop_0"));
    CHECK(s.ordered("remote1_start_0", "node1", "r1_monitor_10000", "remote1"));
}

TEST_CASE("C2: a connection that cannot stop for a blocked resource there blocks what needs its start")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s133-c8-7), fencing disabled:
    // remote1's monitor failed, b is blocked on remote1 by a failed stop, so remote1 cannot
    // stop ("Stop remote1 (node1) ... (blocked)") nor start again; p, moving there, cannot start
    // "due to unrunnable remote1 start". p2, moving there too, is first blocked by its own
    // stop (p2 then p3, p3 blocked by a failed stop): "Stop p2 (node2) blocked", no reason.
    const std::string status =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote")) +
        node_state(2, history("p", "start") + history_ops("p2", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                          history("p3", "stop", 1)) +
        remote_state("remote1", history("b", "stop", 1));
    const std::string prefer =
        "<rsc_location id=\"l-p\" rsc=\"p\" node=\"remote1\" score=\"100\"/>"
        "<rsc_location id=\"l-p2\" rsc=\"p2\" node=\"remote1\" score=\"100\"/>"
        "<rsc_order id=\"o\" first=\"p2\" then=\"p3\"/>";
    auto s = schedule_cib(
        cib(2, remote("remote1") + primitive("b") + primitive("p") + primitive("p2") + primitive("p3"),
            pin("remote1", "node1") + prefer, status));
    CHECK_FALSE(s.in_graph("remote1_stop_0"));
    CHECK_FALSE(s.in_graph("p_start_0"));
    CHECK_FALSE(s.in_graph("p2_stop_0"));
    CHECK(s.summary_text().find("Stop remote1 (node1) due to resource definition change (blocked)") !=
          std::string::npos);
    CHECK(s.summary_text().find("Stop p (node2) due to unrunnable remote1 start") != std::string::npos);
    CHECK(s.summary_text().find("Stop p2 (node2) blocked") != std::string::npos);
}

TEST_CASE("C4: a remote connection that restarts or was active twice leaves the resources there running")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s23-c9-5, rnd-s24-c9-6): the
    // connection's stops (on every node it was active on) are not ordered after restarts of
    // what runs on its node; those resources stay, their recurring monitors are issued again
    // once the connection is back. The same for a connection restarted by a changed
    // definition (the history's digest is a Dummy's here) or one that moves.
    const std::string rsc = remote("remote1") + primitive("r1");
    const auto check = [](const Scheduled& s) {
        CHECK_FALSE(s.in_graph("r1_stop_0"));
        CHECK_FALSE(s.in_graph("r1_start_0"));
        CHECK(s.in_graph("r1_monitor_10000", "remote1"));
        CHECK(s.ordered("remote1_start_0", "node1", "r1_monitor_10000", "remote1"));
    };
    const std::string twice = node_state(1, history("remote1", "start", 0, 0, "remote")) +
                              node_state(2, history("remote1", "start", 0, 0, "remote")) +
                              remote_state("remote1", history("r1", "start"));
    auto multi = schedule_cib(cib(2, rsc, pin("r1", "remote1") + pin("remote1", "node1"), twice));
    CHECK(multi.in_graph("remote1_stop_0", "node1"));
    CHECK(multi.in_graph("remote1_stop_0", "node2"));
    check(multi);
    const std::string once = node_state(1, history("remote1", "start", 0, 0, "remote")) +
                             remote_state("remote1", history("r1", "start"));
    auto changed = schedule_cib(cib(2, rsc, pin("r1", "remote1") + pin("remote1", "node1"), once));
    CHECK(changed.in_graph("remote1_stop_0", "node1"));
    check(changed);
}

TEST_CASE("C5: a guest's fencing follows its container's stop created last, not where it failed")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s24-c9-6): vm1 failed on node1 and
    // is also active on node2; the guest's pseudo-fence comes after vm1's stop on node2,
    // whichever node's history comes first in the status section.
    const std::string failed = history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                               history("guest1", "start", 0, 0, "remote");
    const std::string rsc = guest_vm("vm1", "guest1") + primitive("r1");
    for (bool failed_first : {true, false}) {
        const std::string nodes = failed_first
                                      ? node_state(1, failed) + node_state(2, history("vm1", "start"))
                                      : node_state(2, history("vm1", "start")) + node_state(1, failed);
        auto s = schedule_cib(
            cib(2, rsc, pin("r1", "guest1"), nodes + remote_state("guest1", history("r1", "start"))));
        REQUIRE(s.find("stonith-guest1-reboot") != kNone);
        CHECK(s.ordered("vm1_stop_0", "node2", "stonith-guest1-reboot", "guest1"));
        CHECK_FALSE(s.ordered("vm1_stop_0", "node1", "stonith-guest1-reboot", "guest1"));
    }
}

TEST_CASE(
    "MA1: a resource active on an unclean node and elsewhere is where it is clean, unless it needs fencing")
{
    // Observed with crm_simulate 2.1.5 (regression inject-connection-failure-elsewhere):
    // node1 is unclean (x's stop failed there); remote1 runs on node1 and failed on node2.
    // The connection is taken to be on node2, "Recover remote1 (node2)", so its remote node
    // is alive: r1's stop comes before the connection's stops, not after its new start. A
    // resource needing fencing counts on the first node it is active on instead.
    const std::string node1 =
        node_state(1, history("remote1", "start", 0, 0, "remote") + history("x", "stop", 1) +
                          history("p", "start") + history("q", "start"));
    // A monitor failing where the resource was not started (as crm_simulate -i injects it).
    const std::string node2 =
        node_state(2, history("remote1", "monitor", 1, 30000, "remote") + history("p", "monitor", 1, 10000) +
                          history("q", "monitor", 1, 10000));
    const std::string rsc = "<primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>" +
                            remote("remote1") + primitive("r1") + primitive("x") + primitive("p") +
                            primitive("q", nv("q-req", "requires", "quorum"));
    const std::string ban_x = "<rsc_location id=\"ban-x\" rsc=\"x\" node=\"node2\" score=\"-INFINITY\"/>";
    std::string text = cib(2, rsc, pin("r1", "remote1") + ban_x,
                           node1 + node2 + remote_state("remote1", history("r1", "start")));
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto s = schedule_cib(text);
    const std::string summary = s.summary_text();
    CHECK(summary.find("Recover remote1 (node2)") != std::string::npos);
    CHECK(summary.find("Recover p (node1 -> node2)") != std::string::npos);
    CHECK(summary.find("Recover q (node2)") != std::string::npos);
    CHECK(s.ordered("r1_stop_0", "", "remote1_stop_0", "node2"));
    CHECK_FALSE(s.ordered("remote1_start_0", "node2", "r1_stop_0", ""));
}

TEST_CASE("A1: an inactive resource's start that cannot run stays optional until an ordering requires it")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s34-c0-2): p can only go to guest1,
    // whose container failed and cannot run anywhere (guest1 is fenced and stops), so p's
    // start cannot run there. It stays optional: with `p3 then p` and p3 recovering, p3's
    // start makes it required, "due to required p3 start (blocked)"; without the ordering
    // the summary still lists it, "blocked".
    const std::string status =
        node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                          history("guest1", "start", 0, 0, "remote") +
                          history_ops("p3", {{"start", 0, 0}, {"monitor", 7, 10000}})) +
        remote_state("guest1", {});
    const std::string rsc = guest_vm("vm1", "guest1") + primitive("p") + primitive("p3");
    const std::string place = pin("p", "guest1") +
                              "<rsc_location id=\"banp1\" rsc=\"p\" node=\"node1\" score=\"-INFINITY\"/>" +
                              "<rsc_location id=\"banp2\" rsc=\"p\" node=\"node2\" score=\"-INFINITY\"/>";
    const std::string ban_vm =
        "<rsc_location id=\"ban1\" rsc=\"vm1\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"ban2\" rsc=\"vm1\" node=\"node2\" score=\"-INFINITY\"/>";
    const std::string order = "<rsc_order id=\"ord\" first=\"p3\" then=\"p\"/>";
    auto ordered = schedule_cib(cib(2, rsc, place + order + ban_vm, status));
    const ActIdx start = ordered.find("p_start_0", "guest1");
    REQUIRE(start != kNone);
    CHECK_FALSE(ordered.cluster->actions[start].runnable());
    CHECK_FALSE(ordered.cluster->actions[start].optional());
    CHECK(ordered.summary_text().find("Start p (guest1) due to required p3 start (blocked)") !=
          std::string::npos);
    auto alone = schedule_cib(cib(2, rsc, place + ban_vm, status));
    const ActIdx start2 = alone.find("p_start_0", "guest1");
    REQUIRE(start2 != kNone);
    CHECK(alone.cluster->actions[start2].optional());
    CHECK(alone.summary_text().find("Start p (guest1) blocked") != std::string::npos);
}

TEST_CASE("A2: multiple-active=stop_unexpected stops only where not assigned, its start a pseudo action")
{
    // Observed with crm_simulate 2.1.5 (stop-unexpected-E16, -E17): x runs on node1 and
    // node2 and prefers node1. It stays on node1: stopped on node2 only, its start there a
    // pseudo action (no node in the graph) after that stop, "Restart x (node1)". Assigned to
    // node3 instead, it stops on both, "Move x (node1 -> node3) due to being multiply active",
    // its start still a pseudo action.
    const std::string meta = nv("x-ma", "multiple-active", "stop_unexpected");
    const std::string status = node_state(1, history_ops("x", {{"start", 0, 0}, {"monitor", 0, 10000}})) +
                               node_state(2, history_ops("x", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    auto prefer = [](const std::string& node) {
        return "<rsc_location id=\"l1\" rsc=\"x\" node=\"" + node + "\" score=\"100\"/>";
    };
    auto stays = schedule_cib(cib(3, primitive("x", meta), prefer("node1"), status));
    CHECK(stays.find("x_stop_0", "node1") == kNone);
    CHECK(stays.in_graph("x_stop_0", "node2"));
    const ActIdx start = stays.find("x_start_0", "node1");
    REQUIRE(start != kNone);
    CHECK((stays.cluster->actions[start].flags & kActPseudo) != 0);
    CHECK(stays.ordered("x_stop_0", "node2", "x_start_0", {}));
    CHECK(stays.in_graph("x_monitor_10000", "node1"));
    CHECK(stays.summary_text().find("Restart x (node1)\n") != std::string::npos);
    auto moves = schedule_cib(cib(3, primitive("x", meta), prefer("node3"), status));
    CHECK(moves.in_graph("x_stop_0", "node1"));
    CHECK(moves.in_graph("x_stop_0", "node2"));
    const ActIdx start3 = moves.find("x_start_0", "node3");
    REQUIRE(start3 != kNone);
    CHECK((moves.cluster->actions[start3].flags & kActPseudo) != 0);
    CHECK(moves.summary_text().find("Move x (node1 -> node3) due to being multiply active") !=
          std::string::npos);
    // Failed on node2 it stays on node1 all the same, "Recover x (node1) due to being
    // multiply active"; failed on node1 it stops there too, "Recover x (node1)".
    auto failed_on = [&](int n) {
        auto ops = [&](int i) {
            return history_ops("x", {{"start", 0, 0}, {"monitor", i == n ? 1 : 0, 10000}});
        };
        return schedule_cib(
            cib(3, primitive("x", meta), prefer("node1"), node_state(1, ops(1)) + node_state(2, ops(2))));
    };
    auto elsewhere = failed_on(2);
    CHECK(elsewhere.find("x_stop_0", "node1") == kNone);
    CHECK(elsewhere.summary_text().find("Recover x (node1) due to being multiply active") !=
          std::string::npos);
    auto there = failed_on(1);
    CHECK(there.in_graph("x_stop_0", "node1"));
    CHECK(there.in_graph("x_stop_0", "node2"));
    CHECK(there.summary_text().find("Recover x (node1)\n") != std::string::npos);
    // The default, stop_start, stops it on both and starts it for real.
    auto plain = schedule_cib(cib(3, primitive("x"), prefer("node1"), status));
    CHECK(plain.in_graph("x_stop_0", "node1"));
    CHECK(plain.in_graph("x_start_0", "node1"));
}

TEST_CASE("U3: with no node available, the sort merges a group's members' scores on every node")
{
    // Only node1 (standby) is a cluster node; remote1's connection there failed, so without
    // fencing remote1 is down and no node can run anything. Group g runs on remote1, a on
    // node1, g first in the configuration. With no node available, the sort before
    // assignment still merges g's members' scores, counting every node: gm's failed stop
    // (a ban from remote1) takes g's score on its current node with it, so a sorts first
    // (crm_simulate -s assigns a before g). With gm healthy, g keeps that score and sorts
    // first (crm_simulate's summary: "Stop gm", "Stop a", "Stop remote1").
    auto run = [&](bool first_member_failed) {
        const std::string status =
            node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote") +
                              history("a", "start")) +
            remote_state("remote1",
                         history("gm", first_member_failed ? "stop" : "start", first_member_failed ? 1 : 0));
        std::string text =
            cib(1,
                remote("remote1") + "<group id=\"g\">" + primitive("gm") + primitive("gm2") + "</group>" +
                    primitive("a"),
                {}, status, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"utilization\"/>");
        const std::string n1 = "<node id=\"1\" uname=\"node1\"/>";
        text.replace(text.find(n1), n1.size(),
                     "<node id=\"1\" uname=\"node1\"><instance_attributes id=\"n1-a\">" +
                         nv("n1-sb", "standby", "on") + "</instance_attributes></node>");
        return sort_positions(schedule_cib(text));
    };
    auto failed = run(true);
    CHECK(failed["a"] < failed["g"]);
    auto healthy = run(false);
    CHECK(healthy["g"] < healthy["a"]);
    CHECK(healthy["a"] < healthy["remote1"]);
}

TEST_CASE("U3: with no node available, a merge along a colocation outside a group is undone")
{
    // b comes before p2 in the configuration; p2 prefers node1 (50) and is colocated (100)
    // with p3, banned from node1. With both nodes in standby nothing can run: merging p3's
    // ban would leave p2 at -50 on node1 and b would sort first, but where no node is
    // available that merge is undone, so p2 keeps 50 there and sorts before b
    // (rnd-s84-c9-8: crm_simulate lists p2's start before p's).
    auto run = [&](bool standby) {
        std::string text = cib(2, primitive("b") + primitive("p2") + primitive("p3"),
                               "<rsc_location id=\"l-p2\" rsc=\"p2\" node=\"node1\" score=\"50\"/>"
                               "<rsc_location id=\"l-p3\" rsc=\"p3\" node=\"node1\" score=\"-INFINITY\"/>"
                               "<rsc_colocation id=\"col\" rsc=\"p2\" with-rsc=\"p3\" score=\"100\"/>",
                               {}, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"utilization\"/>");
        if (standby) text = in_standby(text, 2);
        return sort_positions(schedule_cib(text));
    };
    auto none_available = run(true);
    CHECK(none_available["p2"] < none_available["b"]);
    // With the nodes available the merge stays (node2 can still take p2): p2 scores -50 on
    // node1 and sorts after b.
    auto available = run(false);
    CHECK(available["b"] < available["p2"]);
}

TEST_CASE("M2: a migrate_to without migrate_from is judged by the target's last record")
{
    // remote1 ran on node1 and migrate_to node2 succeeded there; node2 has no migrate_from.
    // `source_stopped`: node1 stopped it since. `target`: node2's last operation ("" =
    // none), with its last-rc-change `target_change` (the migrate_to's is 1699999990).
    const std::string digest = parameters_digest({{"server", "192.0.2.1"}});
    auto op = [&](const std::string& id, const std::string& task, int call, int interval_ms, long change,
                  const std::string& extra = {}) {
        return "<lrm_rsc_op id=\"" + id + "\" operation_key=\"remote1_" + task + "_" +
               std::to_string(interval_ms) + "\" operation=\"" + task +
               "\" crm-debug-origin=\"test\" crm_feature_set=\"3.16.1\" transition-key=\"1:1:0:test\" "
               "transition-magic=\"0:0;1:1:0:test\" exit-reason=\"\" call-id=\"" +
               std::to_string(call) + "\" rc-code=\"0\" op-status=\"0\" interval=\"" +
               std::to_string(interval_ms) + "\" last-rc-change=\"" + std::to_string(change) +
               "\" exec-time=\"1\" queue-time=\"0\" op-digest=\"" + digest + "\"" + extra + "/>";
    };
    auto lrm = [](const std::string& ops) {
        return "<lrm_resource id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">" + ops +
               "</lrm_resource>";
    };
    auto run = [&](bool source_stopped, const std::string& target, long target_change) {
        std::string source = op("remote1_monitor_30000", "monitor", 3, 30000, 1699999980) +
                             op("remote1_migrate_to_0", "migrate_to", 4, 0, 1699999990,
                                " migrate_source=\"node1\" migrate_target=\"node2\"");
        source += source_stopped ? op("remote1_last_0", "stop", 5, 0, 1699999990)
                                 : op("remote1_last_0", "start", 2, 0, 1699999970);
        const std::string on_target =
            target.empty() ? std::string() : op("remote1_last_0", target, 2, 0, target_change);
        return schedule_cib(
            cib(2, remote("remote1"), {},
                node_state(1, lrm(source)) + node_state(2, lrm(on_target)) + remote_state("remote1", {})));
    };
    SECTION("stopped on the source since, a target record no newer: restarted there")
    {
        auto s = run(true, "start", 1699999990);
        CHECK(s.in_graph("remote1_stop_0", "node2"));
        CHECK(s.in_graph("remote1_start_0", "node2"));
        CHECK(s.ordered("remote1_stop_0", "node2", "remote1_start_0", "node2"));
        // So is one that only stopped it there.
        auto stopped = run(true, "stop", 1699999980);
        CHECK(stopped.in_graph("remote1_stop_0", "node2"));
        CHECK(stopped.in_graph("remote1_start_0", "node2"));
    }
    SECTION("stopped on the source since, a newer target record: nothing to do")
    {
        auto s = run(true, "start", 1699999999);
        CHECK_FALSE(s.in_graph("remote1_stop_0", "node2"));
        CHECK_FALSE(s.in_graph("remote1_start_0", "node2"));
    }
    SECTION("no record on the target: no partial migration, it runs on the source")
    {
        auto s = run(false, "", 0);
        CHECK_FALSE(s.in_graph("remote1_migrate_from_0", "node2"));
        CHECK_FALSE(s.in_graph("remote1_stop_0", "node1"));
        CHECK(s.in_graph("remote1_monitor_0", "node2"));
    }
    SECTION("a newer target record: the migration failed, it is recovered")
    {
        auto s = run(false, "start", 1699999999);
        CHECK(s.in_graph("remote1_stop_0", "node1"));
        CHECK(s.in_graph("remote1_stop_0", "node2"));
        CHECK_FALSE(s.in_graph("remote1_migrate_to_0", "node1"));
    }
}

TEST_CASE("F3: a fail count cleared on a guest whose container failed cannot run")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s196-c7-8): r1's last failure on
    // guest1 was recorded with other parameters, so its fail count is cleared there. When
    // guest1's container has failed, guest1 is offline while its history is unpacked: that
    // clear cannot run and is left out of the transition; with the container healthy it is in.
    auto run = [&](bool container_failed) {
        std::string r1 = history_ops("r1", {{"start", 0, 0}, {"monitor", 0, 10000}});
        const std::string failure =
            "<lrm_rsc_op id=\"r1_last_failure_0\" operation_key=\"r1_monitor_10000\" operation=\"monitor\" "
            "crm-debug-origin=\"test\" crm_feature_set=\"3.16.1\" transition-key=\"1:1:0:test\" "
            "transition-magic=\"0:7;1:1:0:test\" exit-reason=\"\" call-id=\"5\" rc-code=\"7\" "
            "op-status=\"0\" "
            "interval=\"10000\" last-rc-change=\"1699999990\" exec-time=\"1\" queue-time=\"0\" "
            "op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/>";
        r1.insert(r1.find("</lrm_resource>"), failure);
        const std::string status =
            node_state(1,
                       history_ops("vm1", {{"start", 0, 0}, {"monitor", container_failed ? 7 : 0, 10000}}) +
                           history("guest1", "start", 0, 0, "remote")) +
            remote_state("guest1", r1);
        return schedule_cib(cib(1, guest_vm("vm1", "guest1") + primitive("r1"), pin("r1", "guest1"), status));
    };
    auto failed = run(true);
    const ActIdx clear = failed.find("r1_clear_failcount_0", "guest1");
    REQUIRE(clear != kNone);
    CHECK_FALSE(failed.cluster->actions[clear].runnable());
    CHECK_FALSE(failed.in_graph("r1_clear_failcount_0", "guest1"));
    auto healthy = run(false);
    CHECK(healthy.in_graph("r1_clear_failcount_0", "guest1"));
}

TEST_CASE("OR1: a clone's history on a remote node whose connection failed is an orphan instance")
{
    // Fencing disabled, clone-max 1, two nodes: d runs on remote1 whose connection's
    // monitor failed, so remote1 is offline while its history is unpacked. That history
    // gets the orphan instance d:1 (stopped), and d:0 stays free to start (on remote1 once
    // its connection is recovered); with clone-max 2 (an instance for every node) it is
    // d:0 and stays.
    auto run = [&](const std::string& clone_max) {
        const std::string rsc = remote("remote1") + "<clone id=\"c\"><meta_attributes id=\"c-m\">" +
                                nv("c-cm", "clone-max", clone_max) + "</meta_attributes>" + primitive("d") +
                                "</clone>";
        const std::string status =
            node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote")) +
            remote_state("remote1", history("d", "start"));
        return schedule_cib(cib(1, rsc, {}, status));
    };
    auto one = run("1");
    REQUIRE(one.cluster->find_rsc("d:1") != kNone);
    CHECK(one.in_graph("d:1_stop_0", "remote1"));
    CHECK(one.in_graph("d:0_start_0", "remote1"));
    auto every = run("2");
    CHECK(every.cluster->find_rsc("d:1") != kNone);  // configured, for node1
    CHECK_FALSE(every.in_graph("d:0_stop_0", "remote1"));
    CHECK_FALSE(every.in_graph("d:0_start_0", "remote1"));
}

TEST_CASE("U3: with no node available, a member's ban on a node in standby does not count")
{
    // node1 and node2 are in standby: nothing can run. a comes before g in the
    // configuration. g's middle member gm2 failed to stop on node1 (blocked, banned there);
    // the sort merges g's members' bans but not on a node in standby, so g keeps its score
    // on its current node and sorts first (rnd-s267-c6-6).
    const std::string status =
        node_state(1, history("gm", "start") + history("gm2", "stop", 1) + history("gm3", "start"));
    std::string text =
        cib(2,
            primitive("a") + "<group id=\"g\">" + primitive("gm") + primitive("gm2") + primitive("gm3") +
                "</group>",
            {}, status, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"utilization\"/>");
    auto position = sort_positions(schedule_cib(in_standby(text, 2)));
    CHECK(position["g"] < position["a"]);
}

TEST_CASE("--output-as=xml: an unmanaged resource on an offline remote node is active")
{
    // Observed with crm_simulate 2.1.5 (rnd-s305-c2-9): p's stop failed on remote1 (blocked,
    // so unmanaged), and remote1's connection failed (offline): its status element still
    // says active="true".
    const std::string status =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote")) +
        remote_state("remote1", history("p", "stop", 1));
    auto s = schedule_cib(cib(1, remote("remote1") + primitive("p"), {}, status));
    const std::string xml = status_xml(*s.cluster, "cluster_status", 2);
    const auto at = xml.find("<resource id=\"p\"");
    REQUIRE(at != std::string::npos);
    const std::string element = xml.substr(at, xml.find('>', at) - at);
    CHECK(element.find("managed=\"false\"") != std::string::npos);
    CHECK(element.find("active=\"true\"") != std::string::npos);
}

TEST_CASE("rule 16: a guest whose history is never unpacked takes none of its transient attributes")
{
    // Observed with crm_simulate 2.1.5 (regressions demo-guest-shutdown-offline and
    // -fencing, the state a CI run of scripts/demo stalled in): a guest asked to shut down
    // on its way out (SIGTERM) and its container was recovered; its connection is stopped.
    // With fencing disabled its history is not unpacked and its `shutdown` attribute does
    // not stop the connection: it starts again. With fencing the history is unpacked and
    // the connection stays stopped.
    std::string guest = remote_state("guest1", {});
    guest.insert(guest.find('>') + 1,
                 "<transient_attributes id=\"guest1\"><instance_attributes id=\"st-guest1\">" +
                     nv("sd", "shutdown", "1700000000") + "</instance_attributes></transient_attributes>");
    const std::string host = node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                               history("guest1", "stop", 0, 0, "remote"));
    const std::string rsc = guest_vm("vm1", "guest1") + primitive("r1");
    auto unfenced = schedule_cib(cib(1, rsc, pin("r1", "guest1"), host + guest));
    CHECK(unfenced.in_graph("guest1_start_0", "node1"));
    CHECK(unfenced.in_graph("r1_start_0", "guest1"));
    std::string fenced = cib(1, "<primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>" + rsc,
                             pin("r1", "guest1"), host + guest);
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    fenced.replace(fenced.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto with_fencing = schedule_cib(fenced);
    CHECK_FALSE(with_fencing.in_graph("guest1_start_0"));
    CHECK_FALSE(with_fencing.in_graph("r1_start_0", "guest1"));
}

TEST_CASE("rule 16: a remote node's maintenance that differs from the recorded one is recorded")
{
    // Observed with crm_simulate 2.1.5 (regressions demo-guest-maintenance-*,
    // demo-maintenance-mode-guests, demo-host-maintenance-guests): one pseudo action
    // maintenance_nodes, created last, lists each remote or guest node whose maintenance
    // state differs from its node_state's node_in_maintenance; none when all agree, none
    // for a node whose history is not unpacked.
    const std::string rsc = guest_vm("vm1", "guest1") + primitive("r1");
    const auto status = [](const std::string& recorded, const std::string& attr, bool up) {
        std::string guest = remote_state("guest1", up ? history("r1", "start") : std::string());
        if (!recorded.empty())
            guest.insert(guest.find(" uname=\"guest1\""), " node_in_maintenance=\"" + recorded + "\"");
        if (!attr.empty())
            guest.insert(guest.find('>') + 1,
                         "<transient_attributes id=\"guest1\"><instance_attributes id=\"st-guest1\">" +
                             nv("m", "maintenance", attr) + "</instance_attributes></transient_attributes>");
        return node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                 history("guest1", up ? "start" : "stop", 0, 0, "remote")) +
               guest;
    };
    auto entering = schedule_cib(cib(1, rsc, pin("r1", "guest1"), status({}, "true", true)));
    const ActIdx a = entering.find("maintenance_nodes");
    REQUIRE(a != kNone);
    CHECK(entering.in_graph("maintenance_nodes"));
    CHECK(a == entering.cluster->actions.size() - 1);
    const auto& list = entering.cluster->actions[a].maintenance;
    REQUIRE(list.size() == 1);
    CHECK(entering.cluster->nodes[list[0].first].name == "guest1");
    CHECK(list[0].second);
    CHECK(graph_xml(*entering.cluster, entering.graph)
              .find("<node id=\"guest1\" node_in_maintenance=\"1\"/>") != std::string::npos);
    // Recorded already: nothing to do.
    auto recorded = schedule_cib(cib(1, rsc, pin("r1", "guest1"), status("1", "true", true)));
    CHECK(recorded.find("maintenance_nodes") == kNone);
    // Recorded, no longer in maintenance: recorded as 0.
    auto leaving = schedule_cib(cib(1, rsc, pin("r1", "guest1"), status("1", {}, true)));
    REQUIRE(leaving.find("maintenance_nodes") != kNone);
    CHECK_FALSE(leaving.cluster->actions[leaving.find("maintenance_nodes")].maintenance[0].second);
    // Fencing disabled and its connection stopped: the guest's history is not unpacked.
    auto offline = schedule_cib(cib(1, rsc, pin("r1", "guest1"), status("1", {}, false)));
    CHECK(offline.find("maintenance_nodes") == kNone);
}

TEST_CASE("M2: a partial migration whose source is being fenced is not forced to recover")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s376-c4-5, rnd-s350-c9-8 and
    // -target-up): remote1's migrate_to node1 -> node2 succeeded and node1 stopped it since;
    // node1 is now lost (fenced). Unlike M2 with node1 up, nothing forces a recovery: the
    // role is what the histories say. Started by a start on node2: nothing to do; only
    // probed there (not running): started there, with no stop.
    const std::string digest = parameters_digest({{"server", "192.0.2.1"}});
    auto op = [&](const std::string& id, const std::string& task, int call, int rc,
                  const std::string& extra = {}) {
        return "<lrm_rsc_op id=\"" + id + "\" operation_key=\"remote1_" + task + "_0\" operation=\"" + task +
               "\" crm-debug-origin=\"test\" crm_feature_set=\"3.16.1\" transition-key=\"1:1:0:test\" "
               "transition-magic=\"0:" +
               std::to_string(rc) + ";1:1:0:test\" exit-reason=\"\" call-id=\"" + std::to_string(call) +
               "\" rc-code=\"" + std::to_string(rc) +
               "\" op-status=\"0\" interval=\"0\" last-rc-change=\"1699999990\" exec-time=\"1\" "
               "queue-time=\"0\" "
               "op-digest=\"" +
               digest + "\"" + extra + "/>";
    };
    auto lrm = [](const std::string& ops) {
        return "<lrm_resource id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">" + ops +
               "</lrm_resource>";
    };
    auto run = [&](const std::string& target) {
        const std::string source = op("remote1_migrate_to_0", "migrate_to", 4, 0,
                                      " migrate_source=\"node1\" migrate_target=\"node2\"") +
                                   op("remote1_last_0", "stop", 5, 0);
        std::string lost = node_state(1, lrm(source));
        for (auto [from, to] : {std::pair{"in_ccm=\"true\"", "in_ccm=\"false\""},
                                std::pair{"crmd=\"online\"", "crmd=\"offline\""}}) {
            const std::string f = from;
            lost.replace(lost.find(f), f.size(), to);
        }
        std::string text =
            cib(2, "<primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>" + remote("remote1"),
                {}, lost + node_state(2, lrm(target)) + remote_state("remote1", {}));
        const std::string off = "name=\"stonith-enabled\" value=\"false\"";
        text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
        return schedule_cib(text);
    };
    auto started = run(op("remote1_last_0", "start", 2, 0));
    CHECK(started.in_graph("stonith-node1-reboot"));
    CHECK_FALSE(started.in_graph("remote1_stop_0", "node2"));
    CHECK_FALSE(started.in_graph("remote1_start_0", "node2"));
    auto probed = run(op("remote1_last_0", "monitor", 1, 7));
    CHECK(probed.in_graph("remote1_start_0", "node2"));
    CHECK_FALSE(probed.in_graph("remote1_stop_0", "node2"));
}

TEST_CASE("rule 60: a cancel on a guest names no physical host")
{
    // Observed with crm_simulate 2.1.5 (regressions demo-guest-monitor-interval-changed,
    // demo-guest-maintenance-attr): a recurring monitor cancelled on a guest, its interval
    // changed, has no CRM_meta_physical_host; the new monitor has it.
    const std::string status =
        node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                          history("guest1", "start", 0, 0, "remote")) +
        remote_state("guest1", history_ops("r1", {{"start", 0, 0}, {"monitor", 0, 20000}}));
    auto s = schedule_cib(cib(1, guest_vm("vm1", "guest1") + primitive("r1"), pin("r1", "guest1"), status));
    REQUIRE(s.in_graph("r1_monitor_20000", "guest1"));
    REQUIRE(s.in_graph("r1_monitor_10000", "guest1"));
    const std::string graph = graph_xml(*s.cluster, s.graph);
    const std::size_t cancel = graph.find("operation=\"cancel\" operation_key=\"r1_monitor_20000\"");
    REQUIRE(cancel != std::string::npos);
    CHECK(graph.substr(cancel, graph.find("</rsc_op>", cancel) - cancel).find("CRM_meta_physical_host") ==
          std::string::npos);
    const std::size_t monitor = graph.find("operation=\"monitor\" operation_key=\"r1_monitor_10000\"");
    REQUIRE(monitor != std::string::npos);
    CHECK(graph.substr(monitor, graph.find("</rsc_op>", monitor) - monitor)
              .find("CRM_meta_physical_host=\"node1\"") != std::string::npos);
}
