// Scheduling rules beyond remote nodes: clone notifications (notify.cpp N1-N8), clone
// stickiness, require-all=false, exclusive discovery, no-quorum-policy=demote, target-role
// Unpromoted (TR1), clone instance order (I1, I2), and the graph and simulation outputs.
// Each expectation was checked against crm_simulate 2.1.5.
#include <catch.hpp>

#include <algorithm>
#include <tuple>

#include "policy/graph.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"
#include "policy/xml_output.hpp"
#include "policy_fixture.hpp"

using namespace policy_test;

namespace {

std::string clone(const std::string& id, const std::string& meta, const std::string& prim_id,
                  bool stateful = false)
{
    std::string m = meta.empty() ? std::string()
                                 : "<meta_attributes id=\"" + id + "-meta\">" + meta + "</meta_attributes>";
    const std::string ops = stateful
                                ? "<op id=\"" + prim_id +
                                      "-m1\" name=\"monitor\" interval=\"10s\" role=\"Unpromoted\"/>"
                                      "<op id=\"" +
                                      prim_id + "-m2\" name=\"monitor\" interval=\"11s\" role=\"Promoted\"/>"
                                : "<op id=\"" + prim_id + "-m\" name=\"monitor\" interval=\"10s\"/>";
    return "<clone id=\"" + id + "\">" + m + "<primitive id=\"" + prim_id +
           "\" class=\"ocf\" provider=\"pacemaker\" type=\"" + (stateful ? "Stateful" : "Dummy") +
           "\"><operations>" + ops + "</operations></primitive></clone>";
}

std::string nv(const std::string& id, const std::string& name, const std::string& value)
{
    return "<nvpair id=\"" + id + "\" name=\"" + name + "\" value=\"" + value + "\"/>";
}

std::string running_everywhere(const std::string& rsc, int nodes)
{
    std::string s;
    for (int i = 1; i <= nodes; ++i)
        s += node_state(i, history_ops(rsc, {{"start", 0, 0}, {"monitor", 0, 10000}}));
    return s;
}

}  // namespace

TEST_CASE("N1/N3: a notify clone starting: pre and post pseudo actions, post-notifications to new instances")
{
    auto s = schedule_cib(cib(2, clone("C", nv("cn", "notify", "true"), "D")));
    CHECK(s.in_graph("C_pre_notify_start_0"));
    CHECK(s.in_graph("C_confirmed-pre_notify_start_0"));
    CHECK(s.in_graph("C_post_notify_running_0"));
    CHECK(s.in_graph("C_confirmed-post_notify_running_0"));
    CHECK(s.in_graph("D:0_post_notify_start_0", "node1"));
    CHECK(s.in_graph("D:1_post_notify_start_0", "node2"));
    CHECK_FALSE(s.in_graph("D:0_pre_notify_start_0"));  // nothing was active before
    CHECK(s.ordered("C_confirmed-pre_notify_start_0", "", "C_start_0", ""));
    CHECK(s.ordered("C_running_0", "", "C_post_notify_running_0", ""));
    // N4: the new monitors wait for the confirmation.
    CHECK(s.ordered("C_confirmed-post_notify_running_0", "", "D:0_monitor_10000", "node1"));
}

TEST_CASE("N4: an instance leaving a restarted guest: its monitor issued again there waits too")
{
    // P's failed stop on guest1 fences the guest (its container vm1 recovers, guest1
    // restarts); D:0 moves off guest1 (away from Q, colocated -100) and D:2 starts there.
    // crm_simulate 2.1.5 issues D:0's monitor again on guest1 after guest1's new start and
    // orders the start's confirmed post-notification before it too, as before every new
    // monitor of an instance notified after the start (regressions rnd-s102-c7-6,
    // rnd-s158-c7-4).
    const auto primitive = [](const std::string& id, const std::string& meta) {
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" +
               (meta.empty() ? std::string()
                             : "<meta_attributes id=\"" + id + "-m\">" + meta + "</meta_attributes>") +
               "</primitive>";
    };
    const std::string rsc = "<primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>" +
                            primitive("vm1", nv("vm1-rn", "remote-node", "guest1")) + primitive("P", {}) +
                            primitive("Q", {}) + clone("C", nv("cn", "notify", "true"), "D");
    const std::string constraints =
        "<rsc_location id=\"l-vm1\" rsc=\"vm1\" node=\"node1\" score=\"100\"/>"
        "<rsc_location id=\"l-Q\" rsc=\"Q\" node=\"guest1\" score=\"INFINITY\"/>"
        "<rsc_colocation id=\"col\" rsc=\"C\" with-rsc=\"Q\" score=\"-100\"/>";
    const std::string status =
        node_state(1, history("vm1", "start") + history("guest1", "start", 0, 0, "remote")) +
        node_state(2, {}) +
        remote_state("guest1", history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                   history("Q", "start") +
                                   history_ops("P", {{"start", 0, 0}, {"stop", 1, 0}}));
    std::string text = cib(2, rsc, constraints, status);
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto s = schedule_cib(text);
    CHECK(s.summary_text().find("Move D:0 (guest1 -> node1)") != std::string::npos);
    CHECK(s.ordered("C_confirmed-post_notify_running_0", "", "D:0_monitor_10000", "node1"));
    CHECK(s.ordered("guest1_start_0", "node1", "D:0_monitor_10000", "guest1"));
    CHECK(s.ordered("C_confirmed-post_notify_running_0", "", "D:0_monitor_10000", "guest1"));
    CHECK(s.ordered("C_confirmed-post_notify_running_0", "", "D:2_monitor_10000", "guest1"));
}

TEST_CASE("N3: a failed instance recovering: stop notified to all, start notified to the survivors")
{
    const std::string status = node_state(1, history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}})) +
                               node_state(2, history_ops("D", {{"start", 0, 0}, {"monitor", 7, 10000}}));
    auto s = schedule_cib(cib(2, clone("C", nv("cn", "notify", "true"), "D"), {}, status));
    CHECK(s.in_graph("D:0_pre_notify_stop_0", "node1"));
    CHECK(s.in_graph("D:1_pre_notify_stop_0", "node2"));
    CHECK(s.in_graph("D:0_post_notify_stop_0", "node1"));
    CHECK_FALSE(s.in_graph("D:1_post_notify_stop_0", "node2"));  // stopping
    CHECK(s.in_graph("D:0_pre_notify_start_0", "node1"));
    CHECK(s.in_graph("D:1_post_notify_start_0", "node2"));
    CHECK(s.ordered("C_confirmed-post_notify_stopped_0", "", "C_pre_notify_start_0", ""));
}

namespace {

// How many instance notifications (real notify actions) the graph holds.
int notifications_in_graph(const Scheduled& s)
{
    return static_cast<int>(std::count_if(
        s.cluster->actions.begin(), s.cluster->actions.end(),
        [](const Action& a) { return a.task == "notify" && !a.pseudo() && (a.flags & kActInGraph); }));
}

// remote1 on node1 (standby), its stop blocked by p3's failed stop there: nothing can start
// on remote1. `resources` and `status` come on top.
std::string blocked_remote_cib(const std::string& resources, const std::string& constraints,
                               const std::string& status)
{
    const std::string remote =
        "<primitive id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\"/>"
        "<primitive id=\"p3\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    std::string text = cib(2, remote + resources, constraints,
                           node_state(1, history("remote1", "start", 0, 0, "remote")) + status +
                               remote_state("remote1", history("p3", "stop", 1)));
    const std::string node1 = "<node id=\"1\" uname=\"node1\"/>";
    text.replace(text.find(node1), node1.size(),
                 "<node id=\"1\" uname=\"node1\"><instance_attributes id=\"n1-a\">" +
                     nv("n1-standby", "standby", "on") + "</instance_attributes></node>");
    return text;
}

}  // namespace

TEST_CASE("N7: a start no instance can perform keeps its pseudo actions and notifies nobody")
{
    // D runs on node2; the instance placed on remote1 cannot start there. crm_simulate
    // 2.1.5: C_start_0 and its notification pseudo actions, no notify on node2.
    auto s = schedule_cib(blocked_remote_cib(clone("C", nv("cn", "notify", "true"), "D"), {},
                                             node_state(2, history("D", "start"))));
    CHECK(s.in_graph("C_start_0"));
    CHECK(s.in_graph("C_pre_notify_start_0"));
    CHECK(s.in_graph("C_confirmed-post_notify_running_0"));
    CHECK(notifications_in_graph(s) == 0);
    // With a second node where an instance can start, both are notified as usual.
    std::string three = blocked_remote_cib(clone("C", nv("cn", "notify", "true"), "D"), {},
                                           node_state(2, history("D", "start")) + node_state(3, {}));
    three.replace(three.find("</nodes>"), 8, "<node id=\"3\" uname=\"node3\"/></nodes>");
    auto t = schedule_cib(three);
    CHECK(notifications_in_graph(t) == 3);  // pre on node2, post on node2 and node3
}

TEST_CASE("N8: an instance active on two nodes is notified on both before its stops")
{
    const std::string meta =
        nv("cu", "globally-unique", "true") + nv("cm", "clone-max", "2") + nv("cn", "notify", "true");
    const std::string status = node_state(1, history("D:0", "start")) +
                               node_state(2, history("D:0", "start")) +
                               node_state(3, history("D:1", "start"));
    auto s = schedule_cib(cib(3, clone("C", meta, "D"), {}, status));
    CHECK(s.in_graph("D:0_stop_0", "node1"));
    CHECK(s.in_graph("D:0_stop_0", "node2"));
    CHECK(s.in_graph("D:0_pre_notify_stop_0", "node1"));
    CHECK(s.in_graph("D:0_pre_notify_stop_0", "node2"));
    CHECK(s.in_graph("D:1_pre_notify_stop_0", "node3"));
    CHECK_FALSE(s.in_graph("D:0_post_notify_stop_0"));  // stopping everywhere
}

TEST_CASE("clones are sticky by default (resource-stickiness 1)")
{
    auto s =
        schedule_cib(cib(3, clone("C", nv("cm", "clone-max", "2"), "D"), {}, running_everywhere("D", 2)));
    CHECK(s.summary().empty());
    const Cluster& c = *s.cluster;
    const RscIdx d0 = c.find_rsc("D:0");
    REQUIRE(d0 != kNone);
    CHECK(c.resources[d0].stickiness == 1);
}

TEST_CASE("require-all=false: a clone-one-or-more pseudo action between the clones")
{
    const std::string rsc = clone("A", {}, "a") + clone("B", {}, "b");
    auto s = schedule_cib(cib(2, rsc, "<rsc_order id=\"o\" first=\"A\" then=\"B\" require-all=\"false\"/>"));
    CHECK(s.in_graph("clone-one-or-more:o"));
    CHECK(s.ordered("clone-one-or-more:o", "", "B_start_0", ""));
    CHECK(s.ordered("a:0_start_0", "node1", "clone-one-or-more:o", ""));
}

TEST_CASE("resource-discovery=exclusive: probed and placed only on the listed nodes")
{
    const std::string rsc = "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    auto s = schedule_cib(cib(3, rsc,
                              "<rsc_location id=\"l\" rsc=\"p\" node=\"node3\" score=\"0\" "
                              "resource-discovery=\"exclusive\"/>"));
    CHECK(s.in_graph("p_monitor_0", "node3"));
    CHECK_FALSE(s.in_graph("p_monitor_0", "node1"));
    CHECK(s.in_graph("p_start_0", "node3"));
}

TEST_CASE("no-quorum-policy=demote: promotable instances demote, everything else stops")
{
    std::string status;
    status += node_state(1, history("S", "promote", 0, 0, "Stateful") + history("p", "start"));
    status += node_state(2, history("S", "start", 0, 0, "Stateful"));
    std::string text = cib(2,
                           clone("M", nv("mp", "promotable", "true"), "S", true) +
                               "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>",
                           {}, status, nv("nq", "no-quorum-policy", "demote"));
    text.replace(text.find("have-quorum=\"1\""), 15, "have-quorum=\"0\"");
    auto s = schedule_cib(text);
    const std::string summary = s.summary_text();
    CHECK(summary.find("Demote S:0") != std::string::npos);
    CHECK(summary.find("Stop p (node1) due to no quorum") != std::string::npos);
}

TEST_CASE("TR1: target-role Unpromoted demotes a promotable clone's instance and never promotes")
{
    std::string status;
    status += node_state(1, history("S", "promote", 0, 0, "Stateful"));
    status += node_state(2, history("S", "start", 0, 0, "Stateful"));
    const std::string promoted_here =
        "<rsc_location id=\"lp\" rsc=\"M\" node=\"node1\" role=\"Promoted\" "
        "score=\"100\"/>";
    // On the clone (legacy spelling): demoted, the clone shown disabled.
    auto s = schedule_cib(
        cib(2, clone("M", nv("mp", "promotable", "true") + nv("mt", "target-role", "Slave"), "S", true),
            promoted_here, status));
    CHECK(s.summary_text().find("Demote S:0") != std::string::npos);
    CHECK(s.in_graph("S:0_demote_0", "node1"));
    CHECK_FALSE(s.in_graph("S:0_promote_0", "node1"));
    const std::string text = render_status(*s.cluster);
    CHECK(text.find("Clone Set: M [S] (promotable, disabled):") != std::string::npos);
    CHECK(text.find("Unpromoted (target-role): [ node2 ]") != std::string::npos);
    CHECK(render_status_notes(*s.cluster).find("2 of 2 resource instances DISABLED") != std::string::npos);
    // On the primitive, instances stopped: they start unpromoted only; the clone is not
    // disabled itself.
    std::string prim = clone("M", nv("mp", "promotable", "true"), "S", true);
    prim.insert(prim.find("<operations>"),
                "<meta_attributes id=\"sm\">" + nv("st", "target-role", "Unpromoted") + "</meta_attributes>");
    auto t = schedule_cib(cib(2, prim, promoted_here));
    CHECK(t.in_graph("S:0_start_0", "node1"));
    CHECK_FALSE(t.in_graph("S:0_promote_0", "node1"));
    CHECK(render_status(*t.cluster).find("(promotable, disabled)") == std::string::npos);
    // Outside a promotable clone Unpromoted and Promoted mean Started.
    auto u =
        schedule_cib(cib(2, clone("C", nv("ct", "target-role", "Unpromoted"), "D") +
                                "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
                                "<meta_attributes id=\"pm\">" +
                                nv("pt", "target-role", "Promoted") + "</meta_attributes></primitive>"));
    CHECK(u.in_graph("D:0_start_0", "node1"));
    CHECK(u.in_graph("p_start_0"));
    CHECK(render_status_notes(*u.cluster).find("DISABLED") == std::string::npos);
}

TEST_CASE("graph: synapses numbered from 1, a resource's actions newest first")
{
    auto s =
        schedule_cib(cib(1, "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"));
    const std::string xml = graph_xml(*s.cluster, s.graph);
    CHECK(xml.find("<transition_graph") == 0);
    CHECK(xml.find("operation_key=\"p_start_0\"") < xml.find("operation_key=\"p_monitor_0\""));
    CHECK(xml.find("id=\"1\" operation=\"monitor\"") != std::string::npos);
}

namespace {

std::string dummy(const std::string& id, const std::string& meta = {})
{
    return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" +
           (meta.empty() ? std::string()
                         : "<meta_attributes id=\"" + id + "-m\">" + meta + "</meta_attributes>") +
           "<operations><op id=\"" + id +
           "-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>";
}

std::string banned_everywhere(const std::string& rsc)
{
    return "<rsc_location id=\"" + rsc + "-b1\" rsc=\"" + rsc + "\" node=\"node1\" score=\"-INFINITY\"/>" +
           "<rsc_location id=\"" + rsc + "-b2\" rsc=\"" + rsc + "\" node=\"node2\" score=\"-INFINITY\"/>";
}

}  // namespace

TEST_CASE("V1-V4: the dot graph as crm_simulate 2.1.5 writes it")
{
    // A group whose second member can run nowhere: its start is required (by the first
    // member's) but cannot run, so it is drawn dashed red with nowhere ("<none>"), as is
    // the group's running; the group's start before it is not drawn (V3).
    auto s = schedule_cib(
        cib(2, "<group id=\"G\">" + dummy("A") + dummy("B") + "</group>", banned_everywhere("B")));
    CHECK(graph_dot(*s.cluster, s.graph) ==
          " digraph \"g\" {\n"
          "\"B_start_0 <none>\" [ style=dashed color=\"red\" fontcolor=\"black\"]\n"
          "\"G_running_0\" [ style=dashed color=\"red\" fontcolor=\"orange\"]\n"
          "\"G_start_0\" [ style=bold color=\"green\" fontcolor=\"orange\"]\n"
          "\"A_monitor_10000 node1\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"A_start_0 node1\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"B_monitor_0 node2\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"A_monitor_0 node2\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"B_monitor_0 node1\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"A_monitor_0 node1\" [ style=bold color=\"green\" fontcolor=\"black\"]\n"
          "\"B_monitor_0 node1\" -> \"B_start_0 <none>\" [ style = dashed]\n"
          "\"B_monitor_0 node2\" -> \"B_start_0 <none>\" [ style = dashed]\n"
          "\"A_start_0 node1\" -> \"B_start_0 <none>\" [ style = dashed]\n"
          "\"A_start_0 node1\" -> \"G_running_0\" [ style = dashed]\n"
          "\"G_start_0\" -> \"G_running_0\" [ style = dashed]\n"
          "\"B_start_0 <none>\" -> \"G_running_0\" [ style = dashed]\n"
          "\"A_start_0 node1\" -> \"A_monitor_10000 node1\" [ style = bold]\n"
          "\"A_monitor_0 node1\" -> \"A_start_0 node1\" [ style = bold]\n"
          "\"A_monitor_0 node2\" -> \"A_start_0 node1\" [ style = bold]\n"
          "\"G_start_0\" -> \"A_start_0 node1\" [ style = bold]\n"
          "}\n");
}

TEST_CASE("V2 and N9: a clone's notifications that are required but cannot run are drawn dashed red")
{
    // P runs on node1 and may run nowhere: with `P then C`, the instances of C (notify=true)
    // stop, and C's start with its notifications is required but cannot run.
    std::string status = node_state(1, history_ops("R", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                           history_ops("P", {{"start", 0, 0}, {"monitor", 0, 10000}})) +
                         node_state(2, history_ops("R", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    auto s =
        schedule_cib(cib(2,
                         dummy("P") + "<clone id=\"C\">" + "<meta_attributes id=\"cm\">" +
                             nv("cn", "notify", "true") + "</meta_attributes>" + dummy("R") + "</clone>",
                         "<rsc_order id=\"ordP\" first=\"P\" then=\"C\"/>" + banned_everywhere("P"), status));
    const std::string dot = graph_dot(*s.cluster, s.graph);
    for (const char* line :
         {"\"C_pre_notify_start_0\" [ style=dashed color=\"red\" fontcolor=\"orange\"]",
          "\"C_confirmed-post_notify_running_0\" [ style=dashed color=\"red\" fontcolor=\"orange\"]",
          "\"R_pre_notify_stop_0 node1\" [ style=bold color=\"green\" fontcolor=\"black\"]",
          "\"R_start_0 node1\" [ style=dashed color=\"red\" fontcolor=\"black\"]",
          "\"C_pre_notify_start_0\" -> \"C_confirmed-pre_notify_start_0\" [ style = dashed]"}) {
        INFO(line);
        CHECK(dot.find(std::string(line) + "\n") != std::string::npos);
    }
}

TEST_CASE("O13: a user's ordering does not reach a start made for a later ordering's first side")
{
    const std::string rsc = dummy("A1") + dummy("A2", nv("a2t", "target-role", "Stopped")) + dummy("B");
    const std::string a2_then_b = "<rsc_order id=\"ordx1\" first=\"A2\" then=\"B\"/>";
    const std::string a1_then_a2 = "<rsc_order id=\"ordx2\" first=\"A1\" then=\"A2\"/>";
    // A2's start (nowhere to run) is made for `A2 then B`: read first, `A1 then A2` reaches
    // it and makes it required; read after, it does not.
    const std::string edge = "\"A1_start_0 node1\" -> \"A2_start_0 <none>\" [ style = dashed]\n";
    auto before = schedule_cib(cib(2, rsc, a2_then_b + a1_then_a2));
    const std::string dot = graph_dot(*before.cluster, before.graph);
    CHECK(dot.find("\"A2_start_0 <none>\" [ style=dashed color=\"red\" fontcolor=\"black\"]\n") !=
          std::string::npos);
    CHECK(dot.find(edge) != std::string::npos);
    auto after = schedule_cib(cib(2, rsc, a1_then_a2 + a2_then_b));
    CHECK(graph_dot(*after.cluster, after.graph).find("A2_start_0") == std::string::npos);
    CHECK(graph_dot(*after.cluster, after.graph) != dot);
}

TEST_CASE("simulation: every action succeeds and the revised status shows the result")
{
    auto s =
        schedule_cib(cib(1, "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"));
    SimulationResult sim = simulate_transition(*s.cluster, s.graph, {}, 0);
    REQUIRE(sim.executed.size() == 2);
    CHECK(sim.executed[0].text == "  * Resource action: p               monitor on node1");
    CHECK(sim.executed[1].text == "  * Resource action: p               start on node1");
    ScheduleOptions so;
    auto revised = unpack(std::move(sim.cib), so);
    REQUIRE(revised);
    CHECK(render_status(**revised).find("p\t(ocf:pacemaker:Dummy):\t Started node1") != std::string::npos);
}

TEST_CASE("simulation: a failed action aborts the transition and is counted")
{
    auto s = schedule_cib(
        cib(1,
            "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
            "<operations><op id=\"pm\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"));
    auto failure = parse_op_spec("p_start_0@node1=1");
    REQUIRE(failure);
    SimulationResult sim = simulate_transition(*s.cluster, s.graph, {*failure}, 1700000100);
    bool pretended = false, monitored = false;
    for (const auto& e : sim.executed) {
        if (e.text.find("Pretending action") != std::string::npos) pretended = true;
        if (e.task == "monitor" && e.interval_ms == 10000) monitored = true;
    }
    CHECK(pretended);
    CHECK_FALSE(monitored);  // the monitor after the failed start never runs
    CHECK(sim.cib.serialize().find("fail-count-p#start_0") != std::string::npos);
    // --output-as=xml lists the failure's attributes in the transition (rnd-s146-c5-4).
    const std::string xml = executed_xml(sim.executed, 2);
    CHECK(xml.find("<inject_attr name=\"fail-count-p#start_0\" value=\"value++\" node_path=\"/node_state\" "
                   "cib_node=\"1\"/>") != std::string::npos);
    CHECK(xml.find("<inject_attr name=\"last-failure-p#start_0\" value=\"1700000100\"") != std::string::npos);
}

TEST_CASE("-i: an injected result is recorded as crm_simulate 2.1.5 records it")
{
    // p: started, its 10 s monitor ok, and an older stop failure (call 9) whose last-failure
    // record carries a digest.
    std::string lrm = history_ops("p", {{"start", 0, 0}, {"monitor", 0, 10000}});
    lrm.insert(lrm.find("</lrm_resource>"),
               "<lrm_rsc_op id=\"p_last_failure_0\" operation_key=\"p_stop_0\" operation=\"stop\" "
               "transition-key=\"1:1:0:test\" transition-magic=\"0:1;1:1:0:test\" call-id=\"9\" "
               "rc-code=\"1\" op-status=\"0\" interval=\"0\" last-rc-change=\"1699999990\" "
               "op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/>");
    const std::string text =
        cib(1,
            "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
            "<operations><op id=\"pm\" name=\"monitor\" interval=\"10s\"/></operations></primitive>",
            {}, node_state(1, lrm));
    const auto inject = [&](const std::string& spec, std::vector<std::string>& lines) {
        auto doc = outpost::cluster::policy::xml::parse(text);
        REQUIRE(doc);
        auto op = parse_op_spec(spec);
        REQUIRE(op);
        REQUIRE(inject_op(*doc, *op, 1700000100, lines, NodeEntries::as_configured).ok());
        return doc->serialize();
    };
    const auto record = [](const std::string& xml, const std::string& id) {
        const auto at = xml.find("id=\"" + id + "\"");
        return at == std::string::npos ? std::string() : xml.substr(at, xml.find("/>", at) - at);
    };
    std::vector<std::string> lines;
    // A failed recurring monitor: only the last failure, over the old one, keeping its digest.
    std::string xml = inject("p_monitor_10000@node1=7", lines);
    CHECK(record(xml, "p_monitor_10000").find("rc-code=\"0\"") != std::string::npos);
    CHECK(record(xml, "p_last_failure_0").find("operation_key=\"p_monitor_10000\"") != std::string::npos);
    CHECK(record(xml, "p_last_failure_0").find("op-digest=") != std::string::npos);
    CHECK(lines.size() == 2);  // fail-count and last-failure
    // A probe finding it stopped: a last failure (rc 7 expected 0) but nothing counted.
    lines.clear();
    xml = inject("p_monitor_0@node1=7", lines);
    CHECK(record(xml, "p_last_failure_0").find("operation_key=\"p_monitor_0\"") != std::string::npos);
    CHECK(lines.empty());
    // A probe finding it running: no failure at all.
    lines.clear();
    xml = inject("p_monitor_0@node1=0", lines);
    CHECK(record(xml, "p_last_failure_0").find("operation_key=\"p_stop_0\"") != std::string::npos);
    CHECK(lines.empty());
}

TEST_CASE("without fencing, a member whose controller left while expected up is unclean")
{
    const auto node1 = [](const std::string& expected) {
        std::string text =
            cib(2, "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>");
        const std::string up = "uname=\"node1\" in_ccm=\"true\" crmd=\"online\"";
        REQUIRE(text.find(up) != std::string::npos);
        text.replace(text.find(up), up.size(), "uname=\"node1\" in_ccm=\"true\" crmd=\"offline\"");
        const std::string exp = "expected=\"member\"";
        text.replace(text.find(exp, text.find("uname=\"node1\"")), exp.size(),
                     "expected=\"" + expected + "\"");
        auto s = schedule_cib(text);
        return s.cluster->nodes[s.cluster->find_node("node1")];
    };
    const Node up = node1("member");
    CHECK_FALSE(up.online);
    CHECK(up.unclean);  // "Node node1: UNCLEAN (offline)", regression nofencing-controller-gone-unclean
    const Node down = node1("down");
    CHECK_FALSE(down.online);
    CHECK_FALSE(down.unclean);
}

TEST_CASE("-s text: the status without list headings, bullets or item names (crm_simulate 2.1.5)")
{
    auto s = schedule_cib(cib(2,
                              "<group id=\"G\"><primitive id=\"g1\" class=\"ocf\" provider=\"pacemaker\" "
                              "type=\"Dummy\"/></group>" +
                                  clone("C", "", "D")));
    const std::string fancy = render_status(*s.cluster);
    const std::string plain = render_status(*s.cluster, false);
    CHECK(fancy.find("  * Node List:\n    * Online: [ node1 node2 ]\n") == 0);
    CHECK(fancy.find("    * Resource Group: G:\n      * g1\t(ocf:pacemaker:Dummy):\t Stopped\n") !=
          std::string::npos);
    CHECK(plain ==
          "[ node1 node2 ]\n"
          "\n"
          "g1\t(ocf:pacemaker:Dummy):\t Stopped\n"
          "Stopped: [ node1 node2 ]\n");
}

TEST_CASE("readable intervals as Pacemaker formats them, with its static buffer for 0")
{
    Cluster c;
    CHECK(c.readable_interval(0) == "0s");
    CHECK(c.readable_interval(60000) == "60s");  // a unit only when strictly more than one
    CHECK(c.readable_interval(0) == "60s");      // 0 repeats the last text
    CHECK(c.readable_interval(120000) == "2m");
    CHECK(c.readable_interval(3600000) == "60m");
    CHECK(c.readable_interval(90061500) == "1d1h1m1.500s");
    CHECK(c.readable_interval(1000) == "1000ms");
    CHECK(c.readable_interval(61000) == "1m1000ms");
}

TEST_CASE("placement strategies (utilization.hpp): balanced by free capacity, capacity bans, load_stopped")
{
    auto node_util = [](const std::string& node, const std::string& cpu, const std::string& mem) {
        return "<utilization id=\"" + node + "-u\">" + nv(node + "-cpu", "cpu", cpu) +
               nv(node + "-mem", "mem", mem) + "</utilization>";
    };
    auto with_capacities = [&](std::string text) {
        for (const auto& [n, cpu, mem] : {std::tuple{"1", "4", "100"}, std::tuple{"2", "8", "50"}}) {
            const std::string plain = std::string("<node id=\"") + n + "\" uname=\"node" + n + "\"/>";
            const auto at = text.find(plain);
            REQUIRE(at != std::string::npos);
            text.replace(at, plain.size(),
                         std::string("<node id=\"") + n + "\" uname=\"node" + n + "\">" +
                             node_util(std::string("node") + n, cpu, mem) + "</node>");
        }
        return text;
    };
    auto prim = [](const std::string& id, const std::string& util) {
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" +
               (util.empty() ? std::string()
                             : "<utilization id=\"" + id + "-u\">" + util + "</utilization>") +
               "</primitive>";
    };
    const std::string resources =
        prim("A", nv("A-cpu", "cpu", "2") + nv("A-mem", "mem", "30") + nv("A-disk", "disk", "3")) +
        prim("B", nv("B-cpu", "cpu", "3")) + prim("C", "");
    auto s = schedule_cib(with_capacities(
        cib(2, resources, {}, {}, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"balanced\"/>")));
    // A needs disk, which no node offers: it stays stopped. B: the nodes' free capacities
    // tie (node1 more mem, node2 more cpu), the name decides; C: node2 now has more.
    CHECK(s.summary() == std::vector<std::string>{"Start B (node1)", "Start C (node2)"});
    CHECK(s.in_graph("load_stopped_node1"));
    CHECK(s.in_graph("load_stopped_node2"));
    CHECK(s.ordered("load_stopped_node1", "", "B_start_0", "node1"));
    CHECK_FALSE(s.ordered("load_stopped_node2", "", "C_start_0", "node2"));  // C uses nothing
    // With the default strategy capacities are still consumed (crm_simulate -U shows it), but
    // they place nothing and there are no load_stopped actions.
    ScheduleOptions so;
    so.show_utilization = true;
    auto doc = xml::parse(with_capacities(cib(2, resources)));
    REQUIRE(doc);
    auto c = unpack_and_schedule(std::move(*doc), so);
    REQUIRE(c);
    const auto& lines = (*c)->score_lines;
    CHECK(lines.front().text() == "Original: node1 capacity: cpu=4 mem=100");
    std::vector<std::string> texts;
    texts.reserve(lines.size());
    for (const ScoreLine& l : lines)
        texts.push_back(l.text());
    CHECK(std::find(texts.begin(), texts.end(),
                    "pcmk__finalize_assignment: A utilization on node1: cpu=2 mem=30 disk=3") != texts.end());
    CHECK(std::find(texts.begin(), texts.end(), "Remaining: node1 capacity: cpu=2 mem=70 disk=0") !=
          texts.end());
    CHECK((*c)->actions_by_key.count("load_stopped_node1") == 0);
}

TEST_CASE("G5: a required stop that cannot run stays an input of what it is ordered before")
{
    // Group G (C, B) on node1, B's stop failed (blocked): C must stop before B, so C's stop
    // is required but cannot run, and is not in the graph.
    auto prim = [](const std::string& id, const std::string& util) {
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" + util +
               "</primitive>";
    };
    auto group = [&](const std::string& util_c) {
        return prim("A", "") + "<group id=\"G\">" + prim("C", util_c) + prim("B", "") + "</group>";
    };
    const std::string status =
        node_state(1, history("A", "start") + history("C", "start") + history("B", "stop", 1)) +
        node_state(2, history("A", "monitor", 7) + history("C", "monitor", 7) + history("B", "monitor", 7));
    const std::string balanced = "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"balanced\"/>";
    const std::string util = "<utilization id=\"C-u\">" + nv("C-mem", "mem", "1") + "</utilization>";
    auto invalid = [](const Scheduled& s) { return simulate_transition(*s.cluster, s.graph, {}, 0).invalid; };

    // U6 with G5: node1's load_stopped waits for C's stop, so it never runs.
    auto s = schedule_cib(cib(2, group(util), {}, status, balanced));
    CHECK(s.summary() == std::vector<std::string>{"Stop C (node1) due to node availability (blocked)"});
    CHECK_FALSE(s.in_graph("C_stop_0", "node1"));
    CHECK(s.in_graph("load_stopped_node1"));
    CHECK(s.ordered("C_stop_0", "node1", "load_stopped_node1", ""));
    CHECK(invalid(s));
    // Without utilization (or strategy) there is nothing to wait for.
    auto plain = schedule_cib(cib(2, group(""), {}, status, balanced));
    CHECK_FALSE(plain.ordered("C_stop_0", "node1", "load_stopped_node1", ""));
    CHECK_FALSE(invalid(plain));

    // A user's ordering "A then C": A's stop (A banned) waits for C's stop, a mandatory
    // ordering (and a serializing one) lists it, an optional one does not.
    const std::string ban =
        "<rsc_location id=\"l1\" rsc=\"A\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"l2\" rsc=\"A\" node=\"node2\" score=\"-INFINITY\"/>";
    auto order = [&](const std::string& kind) {
        return ban + "<rsc_order id=\"o\" first=\"A\" then=\"C\" kind=\"" + kind + "\"/>";
    };
    auto mandatory = schedule_cib(cib(2, group(""), order("Mandatory"), status));
    CHECK(mandatory.in_graph("A_stop_0", "node1"));
    CHECK(mandatory.ordered("C_stop_0", "node1", "A_stop_0", "node1"));
    CHECK(invalid(mandatory));
    auto optional = schedule_cib(cib(2, group(""), order("Optional"), status));
    CHECK_FALSE(optional.ordered("C_stop_0", "node1", "A_stop_0", "node1"));
    CHECK_FALSE(invalid(optional));
}

TEST_CASE("G5u: what follows an unmanaged resource's required start waits for it in the graph")
{
    // Observed with crm_simulate 2.1.5 (unmanaged-first-member-input): with `p2 then g`, p2
    // recovering requires g's start, so its first member gm's, which runs unmanaged: that
    // start is runnable but not in the graph, yet still gm2's input, so the stopped gm2 is
    // listed to start but never does ("An invalid transition was produced"). Without the
    // ordering gm2 starts without waiting.
    const std::string rsc =
        "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"p2-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
        "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<meta_attributes id=\"gm-m\">" +
        nv("gm-um", "is-managed", "false") +
        "</meta_attributes></primitive>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/></group>";
    const std::string status = node_state(1, history_ops("p2", {{"start", 0, 0}, {"monitor", 1, 10000}}) +
                                                 history("gm", "start") + history("gm2", "monitor", 7));
    auto invalid = [](const Scheduled& s) { return simulate_transition(*s.cluster, s.graph, {}, 0).invalid; };
    auto s = schedule_cib(cib(1, rsc, "<rsc_order id=\"o\" first=\"p2\" then=\"g\"/>", status));
    REQUIRE(s.in_graph("gm2_start_0", "node1"));
    CHECK_FALSE(s.in_graph("gm_start_0", "node1"));
    CHECK(s.ordered("gm_start_0", "node1", "gm2_start_0", "node1"));
    CHECK(invalid(s));
    auto alone = schedule_cib(cib(1, rsc, {}, status));
    REQUIRE(alone.in_graph("gm2_start_0", "node1"));
    CHECK_FALSE(alone.ordered("gm_start_0", "node1", "gm2_start_0", "node1"));
    CHECK_FALSE(invalid(alone));
}

TEST_CASE("G5c: a collective's required stop that cannot run stays an input of its own stopped")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s55-c5-6): with `X then p2` and p2's
    // stop failed (blocked, no fencing), X's own stop cannot run: its members' stops still
    // do, and X's stopped waits for X's stop all the same (an invalid transition). Its other
    // pseudo inputs are not kept (X's stop is no input of a member's stop).
    const auto prim = [](const std::string& id) {
        return "<primitive id=\"" + id +
               "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
               "<operations><op id=\"" +
               id + "-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive>";
    };
    const std::string failed = history_ops("gm", {{"start", 0, 0}, {"monitor", 7, 10000}});
    const std::string blocked = history("p2", "stop", 1);
    auto invalid = [](const Scheduled& s) { return simulate_transition(*s.cluster, s.graph, {}, 0).invalid; };
    const auto check = [&](const std::string& x, const std::string& rsc, const std::string& status,
                           const std::string& member_stop) {
        auto s =
            schedule_cib(cib(2, rsc + prim("p2"), "<rsc_order id=\"o\" first=\"" + x + "\" then=\"p2\"/>",
                             node_state(1, status + blocked)));
        CHECK(s.in_graph(member_stop, "node1"));
        CHECK_FALSE(s.in_graph(x + "_stop_0"));
        REQUIRE(s.in_graph(x + "_stopped_0"));
        CHECK(s.ordered(x + "_stop_0", "", x + "_stopped_0", ""));
        CHECK_FALSE(s.ordered(x + "_stop_0", "", member_stop, "node1"));
        CHECK(invalid(s));
    };
    check("g", "<group id=\"g\">" + prim("gm") + prim("gm2") + "</group>", failed + history("gm2", "start"),
          "gm_stop_0");
    check("c", "<clone id=\"c\">" + prim("gm") + "</clone>", failed, "gm:0_stop_0");
}

TEST_CASE("require-all=false in ordered sets: a one-or-more pseudo action before the next set")
{
    const auto prim = [](const std::string& id, const std::string& meta = {}) {
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" + meta +
               "</primitive>";
    };
    const std::string rsc = prim("a1") +
                            prim("a2", "<meta_attributes id=\"a2-m\">" +
                                           nv("a2-t", "target-role", "Stopped") + "</meta_attributes>") +
                            prim("b1") + prim("b2");
    const std::string order =
        "<rsc_order id=\"o\"><resource_set id=\"s1\" require-all=\"false\">"
        "<resource_ref id=\"a1\"/><resource_ref id=\"a2\"/></resource_set>"
        "<resource_set id=\"s2\"><resource_ref id=\"b1\"/><resource_ref id=\"b2\"/>"
        "</resource_set></rsc_order>";
    auto s = schedule_cib(cib(2, rsc, order));
    CHECK(s.in_graph("one-or-more:s1"));
    CHECK(s.ordered("a1_start_0", "", "one-or-more:s1", ""));
    // Every member of the next set waits (a set not said to be sequential counts whole).
    CHECK(s.ordered("one-or-more:s1", "", "b1_start_0", ""));
    CHECK(s.ordered("one-or-more:s1", "", "b2_start_0", ""));
    // With no member of the first set able to start, the second set's starts cannot either.
    auto banned =
        schedule_cib(cib(2, rsc,
                         order + "<rsc_location id=\"l1\" rsc=\"a1\" node=\"node1\" score=\"-INFINITY\"/>"
                                 "<rsc_location id=\"l2\" rsc=\"a1\" node=\"node2\" score=\"-INFINITY\"/>"));
    CHECK(banned.summary_text().find("Start b1") != std::string::npos);
    CHECK(banned.summary_text().find("due to unrunnable one-or-more:s1 (blocked)") != std::string::npos);
}

namespace {

// A cluster node's node_state with transient attributes (fail counts) and lrm history.
std::string node_state_with_attrs(int id, const std::string& attrs, const std::string& lrm)
{
    std::string state = node_state(id, lrm);
    const std::string n = std::to_string(id);
    state.insert(state.find('>') + 1, "<transient_attributes id=\"" + n + "\"><instance_attributes id=\"st-" +
                                          n + "\">" + attrs +
                                          "</instance_attributes></transient_attributes>");
    return state;
}

}  // namespace

TEST_CASE("F1: fail counts per operation count only in a CIB of feature set 3.0.13 or later")
{
    const std::string rsc =
        "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<meta_attributes id=\"p-m\">" +
        nv("p-mt", "migration-threshold", "1") +
        "</meta_attributes><operations><op id=\"p-mon\" name=\"monitor\" "
        "interval=\"10s\"/></operations></primitive>";
    const auto status = [](const std::string& name) {
        return node_state_with_attrs(1, nv("fc", name, "1"),
                                     history_ops("p", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    };
    const std::string per_op = cib(2, rsc, {}, status("fail-count-p#monitor_10000"));
    // Feature set 3.16.1: the failure reaches the threshold, p leaves node1.
    CHECK(schedule_cib(per_op).in_graph("p_start_0", "node2"));
    // No crm_feature_set (older than 3.0.13): only "fail-count-p" counts, p stays.
    std::string old = per_op;
    old.erase(old.find("crm_feature_set=\"3.16.1\" "), 25);
    auto stays = schedule_cib(old);
    CHECK_FALSE(stays.in_graph("p_stop_0"));
    CHECK_FALSE(stays.in_graph("p_start_0"));
    old.replace(old.find("fail-count-p#monitor_10000"), 26, "fail-count-p");
    CHECK(schedule_cib(old).in_graph("p_start_0", "node2"));
}

TEST_CASE("O1: a clone ordered before a primitive or group requires it only through the instance on its node")
{
    const std::string rsc = clone("C", {}, "D") +
                            "<primitive id=\"w\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
                            "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" "
                            "type=\"Dummy\"/></group>";
    const std::string constraints =
        "<rsc_location id=\"lw\" rsc=\"w\" node=\"node1\" score=\"100\"/>"
        "<rsc_location id=\"lg\" rsc=\"g\" node=\"node1\" score=\"100\"/>"
        "<rsc_order id=\"o1\" first=\"C\" then=\"w\"/>"
        "<rsc_order id=\"o2\" first=\"C\" then=\"g\"/>";
    const std::string on_node1 = history_ops("w", {{"start", 0, 0}}) + history_ops("gm", {{"start", 0, 0}});
    // A new instance on node2 restarts neither w nor g on node1.
    auto joined = schedule_cib(
        cib(2, rsc, constraints,
            node_state(1, history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}) + on_node1)));
    CHECK(joined.in_graph("D:1_start_0", "node2"));
    CHECK_FALSE(joined.in_graph("w_stop_0"));
    CHECK_FALSE(joined.in_graph("gm_stop_0"));
    // The instance on node2 recovering restarts neither; the one on node1 restarts both.
    const auto failed_on = [&](int failed) {
        std::string status;
        for (int n = 1; n <= 2; ++n) {
            const int rc = n == failed ? 7 : 0;
            status += node_state(n, history_ops("D", {{"start", 0, 0}, {"monitor", rc, 10000}}) +
                                        (n == 1 ? on_node1 : std::string()));
        }
        return schedule_cib(cib(2, rsc, constraints, status));
    };
    auto elsewhere = failed_on(2);
    CHECK(elsewhere.in_graph("D:1_stop_0", "node2"));
    CHECK_FALSE(elsewhere.in_graph("w_stop_0"));
    CHECK_FALSE(elsewhere.in_graph("gm_stop_0"));
    auto here = failed_on(1);
    CHECK(here.in_graph("w_stop_0", "node1"));
    CHECK(here.in_graph("gm_stop_0", "node1"));
}

TEST_CASE("O1b: an instance of the first clone stopping or moving away restarts nothing after it")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s8-c0-3): with `C then w`, the
    // instance on w's node stopping (banned) or moving to another node leaves w running;
    // only one that restarts there restarts w (O1 above).
    const std::string rsc = clone("C", nv("C-max", "clone-max", "2"), "D") +
                            "<primitive id=\"w\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string order =
        "<rsc_location id=\"lw\" rsc=\"w\" node=\"node1\" score=\"100\"/>"
        "<rsc_order id=\"o1\" first=\"C\" then=\"w\"/>";
    const std::string ban = "<rsc_location id=\"ban\" rsc=\"C\" node=\"node1\" score=\"-INFINITY\"/>";
    const std::string status = node_state(1, history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                                 history_ops("w", {{"start", 0, 0}})) +
                               node_state(2, history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    auto stops = schedule_cib(cib(2, rsc, order + ban, status));
    CHECK(stops.in_graph("D:0_stop_0", "node1"));
    CHECK_FALSE(stops.in_graph("w_stop_0"));
    auto moves = schedule_cib(cib(3, rsc, order + ban, status));
    CHECK(moves.in_graph("D:0_stop_0", "node1"));
    CHECK(moves.in_graph("D:0_start_0", "node3"));
    CHECK_FALSE(moves.in_graph("w_stop_0"));
}

TEST_CASE("O12: a stopped group or clone before a stop that is required keeps no stopped pseudo action")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s22-c9-7): with `p2 then g`, p2
    // recovering makes its stop required; g, stopped, has nothing to stop, so its stopped
    // pseudo action (ordered before p2's stop) stays optional and out of the graph. Where
    // a member runs, its stop makes the group's stopped required. Likewise a clone's.
    const std::string members =
        "<primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string p2 =
        "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"p2-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive>";
    const std::string failed = history_ops("p2", {{"start", 0, 0}, {"monitor", 1, 10000}});
    const std::string group = "<group id=\"g\">" + members + "</group>";
    const std::string order = "<rsc_order id=\"o\" first=\"p2\" then=\"g\"/>";
    auto stopped = schedule_cib(cib(2, p2 + group, order, node_state(1, failed)));
    CHECK(stopped.in_graph("p2_stop_0", "node1"));
    CHECK(stopped.in_graph("g_start_0"));
    CHECK_FALSE(stopped.in_graph("g_stopped_0"));
    auto running = schedule_cib(
        cib(2, p2 + group, order, node_state(1, failed) + node_state(2, history("gm", "start"))));
    CHECK(running.in_graph("gm_stop_0", "node2"));
    CHECK(running.in_graph("g_stopped_0"));
    CHECK(running.ordered("g_stopped_0", "", "p2_stop_0", "node1"));
    auto cloned = schedule_cib(cib(2, p2 + "<clone id=\"C\">" + group + "</clone>",
                                   "<rsc_order id=\"o\" first=\"p2\" then=\"C\"/>", node_state(1, failed)));
    CHECK(cloned.in_graph("p2_stop_0", "node1"));
    CHECK(cloned.in_graph("C_start_0"));
    CHECK_FALSE(cloned.in_graph("C_stopped_0"));
}

TEST_CASE("G2: a cloned group's own pseudo actions carry the clone's meta-data but no instance number")
{
    // Observed with crm_simulate 2.1.5: g:0_start_0 has CRM_meta_clone_max and the others,
    // not CRM_meta_clone, which its member's start gm:0_start_0 has.
    const std::string rsc =
        "<clone id=\"C\"><group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" "
        "type=\"Dummy\"/></group></clone>";
    auto s = schedule_cib(cib(2, rsc));
    auto attrs = [&](const std::string& key) {
        const ActIdx a = s.find(key);
        REQUIRE(a != kNone);
        return action_attributes(*s.cluster, s.cluster->actions[a]);
    };
    REQUIRE(s.in_graph("g:0_start_0"));
    CHECK(attrs("g:0_start_0").count("CRM_meta_clone") == 0);
    CHECK(attrs("g:0_start_0")["CRM_meta_clone_max"] == "2");
    CHECK(attrs("gm:0_start_0")["CRM_meta_clone"] == "0");
}

TEST_CASE("G6: a clone of groups shows its stop before a group instance that restarts")
{
    // Observed with crm_simulate 2.1.5: with `p2 then C`, p2 recovering restarts C's group
    // instance; C's stop pseudo action is in the graph, before the instance's stop, as a
    // clone of primitives' is before its instance's.
    const std::string rsc =
        "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"p2-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
        "<clone id=\"C\"><group id=\"g\">"
        "<primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/></group></clone>";
    const std::string status = node_state(1, history_ops("p2", {{"start", 0, 0}, {"monitor", 1, 10000}})) +
                               node_state(2, history("gm", "start") + history("gm2", "start"));
    auto s = schedule_cib(cib(2, rsc, "<rsc_order id=\"o\" first=\"p2\" then=\"C\"/>", status));
    REQUIRE(s.in_graph("gm:0_stop_0", "node2"));
    CHECK(s.in_graph("g:0_stop_0"));
    CHECK(s.in_graph("C_stop_0"));
    CHECK(s.ordered("C_stop_0", "", "g:0_stop_0", ""));
    CHECK(s.in_graph("C_stopped_0"));
}

TEST_CASE("D1: an anonymous clone's group instance shown in full names its members without instance numbers")
{
    // Observed with crm_simulate 2.1.5 (crm_mon's text): a failed member shows its group
    // instance in full, "Resource Group: g:0:" with "gm2 ... FAILED node2"; a unique
    // clone's members keep theirs ("gm2:0").
    const std::string group =
        "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><operations>"
        "<op id=\"gm2-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive></group>";
    const std::string status =
        node_state(2, history("gm", "start") + history_ops("gm2", {{"start", 0, 0}, {"monitor", 1, 10000}}));
    auto s = schedule_cib(cib(2, "<clone id=\"C\">" + group + "</clone>", {}, status));
    const std::string text = render_status(*s.cluster);
    CHECK(text.find("Resource Group: g:0:") != std::string::npos);
    CHECK(text.find("* gm2\t(ocf:pacemaker:Dummy):\t FAILED node2") != std::string::npos);
    CHECK(text.find("gm2:0") == std::string::npos);
}

namespace {

// A promotable clone c2 (c2r, Stateful) preferring promotion on every node, after a clone c
// of Dummy (c disabled where `c_disabled`), ordered `c then c2` with the given then-action.
Scheduled promotable_after(bool c_disabled, const std::string& then_action, const std::string& c2_meta)
{
    const std::string c_meta = c_disabled ? nv("c-tr", "target-role", "Stopped") : std::string();
    const std::string rsc =
        clone("c", c_meta, "cr") +
        clone("c2", nv("c2-p", "promotable", "true") + nv("c2-pm", "promoted-max", "2") + c2_meta, "c2r",
              true);
    const std::string constraints =
        "<rsc_location id=\"l\" rsc=\"c2\"><rule id=\"l-r\" score=\"10\" role=\"Promoted\">"
        "<expression id=\"l-e\" attribute=\"#uname\" operation=\"defined\"/></rule></rsc_location>"
        "<rsc_order id=\"o\" first=\"c\" first-action=\"start\" then=\"c2\" then-action=\"" +
        then_action + "\"/>";
    return schedule_cib(cib(2, rsc, constraints));
}

}  // namespace

TEST_CASE("D2: a new instance that starts and is promoted is listed as its promotion")
{
    // Observed with crm_simulate 2.1.5: "Promote c2r:0 ( Stopped -> Promoted node1 )", with
    // or without interleave, whatever runs of the first clone; blocked and with a reason
    // as the promotion is, not as the start.
    const std::string interleave = nv("c2-i", "interleave", "true");
    CHECK(promotable_after(false, "promote", interleave).summary() ==
          std::vector<std::string>{"Start cr:0 (node1)", "Start cr:1 (node2)",
                                   "Promote c2r:0 (Stopped -> Promoted node1)",
                                   "Promote c2r:1 (Stopped -> Promoted node2)"});
    // The first clone disabled: the start runs, the promotion cannot.
    CHECK(promotable_after(true, "promote", {}).summary() ==
          std::vector<std::string>{
              "Promote c2r:0 (Stopped -> Promoted node1) due to unrunnable c running (blocked)",
              "Promote c2r:1 (Stopped -> Promoted node2) due to unrunnable c running (blocked)"});
    // Neither can run; the promotion gives no reason (the start would).
    CHECK(promotable_after(true, "start", {}).summary() ==
          std::vector<std::string>{"Promote c2r:0 (Stopped -> Promoted node1) blocked",
                                   "Promote c2r:1 (Stopped -> Promoted node2) blocked"});
}

TEST_CASE("D3: --output-as=xml shows a blocked action as blocked=\"true\" beside its reason")
{
    // Observed with crm_simulate 2.1.5: reason="unrunnable c running" blocked="true" for the
    // text's "due to unrunnable c running (blocked)", blocked="true" alone for "blocked";
    // a new instance's promotion names its node "dest".
    auto with_reason = promotable_after(true, "promote", {});
    std::string xml = summary_xml(*with_reason.cluster, summarize(*with_reason.cluster), 0);
    CHECK(
        xml.find("<rsc_action action=\"promote\" resource=\"c2r:0\" role=\"Stopped\" next-role=\"Promoted\" "
                 "dest=\"node1\" reason=\"unrunnable c running\" blocked=\"true\"/>") != std::string::npos);
    auto without = promotable_after(true, "start", {});
    xml = summary_xml(*without.cluster, summarize(*without.cluster), 0);
    CHECK(xml.find("dest=\"node1\" blocked=\"true\"/>") != std::string::npos);
    CHECK(xml.find("reason=") == std::string::npos);
    CHECK(xml.find("(blocked)") == std::string::npos);
}

TEST_CASE("R1: a recurring operation no longer configured is cancelled, after the stop where it stops")
{
    // Observed with crm_simulate 2.1.5: p's history has a 10s monitor its configuration no
    // longer has: "cancel=10000" (CRM_meta_call_id the history's call, no CRM_meta_name);
    // when p recovers from that monitor's failure, after p's stop.
    const std::string rsc = "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    auto runs = schedule_cib(
        cib(1, rsc, {}, node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 0, 10000}}))));
    const ActIdx cancel = runs.find("p_monitor_10000", "node1");
    REQUIRE(cancel != kNone);
    CHECK(runs.cluster->actions[cancel].task == "cancel");
    CHECK(runs.in_graph("p_monitor_10000", "node1"));
    const auto attrs = action_attributes(*runs.cluster, runs.cluster->actions[cancel]);
    CHECK(attrs.count("CRM_meta_call_id") == 1);
    CHECK(attrs.count("CRM_meta_name") == 0);
    CHECK(attrs.at("CRM_meta_operation") == "monitor");
    auto recovers = schedule_cib(
        cib(1, rsc, {}, node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 1, 10000}}))));
    REQUIRE(recovers.in_graph("p_stop_0", "node1"));
    CHECK(recovers.in_graph("p_monitor_10000", "node1"));
    CHECK(recovers.ordered("p_stop_0", "node1", "p_monitor_10000", "node1"));
}

TEST_CASE("R2: a resource in maintenance gets no recurring monitor, an unmanaged one does")
{
    // Observed with crm_simulate 2.1.5 (regression maintenance-member-no-monitor): p runs
    // without its configured 10s monitor in the history; unmanaged (is-managed=false) it is
    // issued, "p monitor=10000", in maintenance (maintenance=true) it is not.
    auto with_meta = [](const std::string& name) {
        const std::string rsc =
            "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
            "<meta_attributes id=\"p-m\">" +
            nv("p-m-1", name, name == "maintenance" ? "true" : "false") +
            "</meta_attributes><operations><op id=\"p-mon\" name=\"monitor\" "
            "interval=\"10s\"/></operations></primitive>";
        return schedule_cib(cib(1, rsc, {}, node_state(1, history("p", "start"))));
    };
    CHECK(with_meta("is-managed").in_graph("p_monitor_10000", "node1"));
    CHECK(with_meta("maintenance").find("p_monitor_10000", "node1") == kNone);
}

TEST_CASE("R3: a resource active on a node in maintenance is unmanaged")
{
    // Observed with crm_simulate 2.1.5 (regression maintenance-node-unmanaged): p runs on
    // node2 and prefers node1; with node2 in maintenance it stays there, "Started node2
    // (unmanaged)", without a stop or a move.
    const std::string rsc = "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string prefer = "<rsc_location id=\"l1\" rsc=\"p\" node=\"node1\" score=\"100\"/>";
    auto in_maintenance = [](bool on) {
        std::string st = node_state(2, history("p", "start"));
        if (on) {
            const std::string attrs = "<transient_attributes id=\"2\"><instance_attributes id=\"st2\">" +
                                      nv("st2-m", "maintenance", "true") +
                                      "</instance_attributes></transient_attributes>";
            st.insert(st.find("<lrm "), attrs);
        }
        return st;
    };
    auto kept = schedule_cib(cib(2, rsc, prefer, in_maintenance(true)));
    CHECK_FALSE(kept.cluster->resources[kept.cluster->find_rsc("p")].flags.managed);
    CHECK_FALSE(kept.in_graph("p_stop_0", "node2"));
    CHECK(kept.summary().empty());
    auto moves = schedule_cib(cib(2, rsc, prefer, in_maintenance(false)));
    CHECK(moves.in_graph("p_stop_0", "node2"));
}

TEST_CASE("R4: a monitor for the Unpromoted role runs only for a promotable clone's instances")
{
    // Observed with crm_simulate 2.1.5 (regressions monitor-unpromoted-role-*): a Stateful
    // primitive with a 10s monitor for role Unpromoted, running with that monitor recorded.
    // In a promotable clone the monitor stays; in a clone that is not promotable, or alone,
    // it is cancelled ("cancel=10000"), as a started resource is not unpromoted.
    const std::string ops =
        "<operations><op id=\"sr-mon\" name=\"monitor\" interval=\"10s\" "
        "role=\"Unpromoted\"/></operations>";
    const std::string prim =
        "<primitive id=\"sr\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\">" + ops + "</primitive>";
    // The monitor recorded with the digest 2.1.5 gives its definition (role included).
    std::string status =
        node_state(1, history_ops("sr", {{"start", 0, 0}, {"monitor", 0, 10000}}, "Stateful"));
    const auto mon = status.find("id=\"sr_monitor_10000\"");
    const auto digest = status.find("op-digest=\"", mon) + 11;
    status.replace(digest, 32, "4811cef7f7f94e3a35a70be7916cb2fd");
    auto clone = [&](const char* promotable) {
        return "<clone id=\"ms\"><meta_attributes id=\"ms-m\">" + nv("ms-p", "promotable", promotable) +
               nv("ms-cm", "clone-max", "1") + "</meta_attributes>" + prim + "</clone>";
    };
    auto cancelled = [](const Scheduled& s) {
        for (ActIdx a = 0; a < s.cluster->actions.size(); ++a) {
            const Action& act = s.cluster->actions[a];
            if (act.task == "cancel" && act.interval_ms == 10000 && act.runnable() && !act.optional())
                return true;
        }
        return false;
    };
    CHECK_FALSE(cancelled(schedule_cib(cib(1, clone("true"), {}, status))));
    CHECK(cancelled(schedule_cib(cib(1, clone("false"), {}, status))));
    CHECK(cancelled(schedule_cib(cib(1, prim, {}, status))));
}

TEST_CASE("interleave: a first clone with notifications pairs its instances' starts by node")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s10-c6-0): with `C2 then C`, C
    // interleaved and C2 notifying, the ordering's first is C2's confirmed post-notification
    // of its start, and each instance of C starts after C2's instance on its node.
    const std::string rsc =
        clone("C", nv("C-il", "interleave", "true"), "D") + clone("C2", nv("C2-n", "notify", "true"), "D2");
    auto s = schedule_cib(cib(2, rsc, "<rsc_order id=\"o\" first=\"C2\" then=\"C\"/>"));
    CHECK(s.ordered("C2_confirmed-post_notify_running_0", "", "C_start_0", ""));
    for (const char* node : {"node1", "node2"}) {
        std::string d, d2;
        for (const char* i : {"0", "1"}) {
            if (s.in_graph(std::string("D:") + i + "_start_0", node)) d = std::string("D:") + i + "_start_0";
            if (s.in_graph(std::string("D2:") + i + "_start_0", node))
                d2 = std::string("D2:") + i + "_start_0";
        }
        REQUIRE_FALSE(d.empty());
        REQUIRE_FALSE(d2.empty());
        CHECK(s.ordered(d2, node, d, node));
    }
}

TEST_CASE("a blocked resource's stop that cannot run blocks the stop ordered after it")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s10-c8-8): with `p then p2` and p2
    // blocked by a failed stop (fencing disabled), disabling p cannot stop it: p2 must stop
    // first and cannot.
    const std::string rsc =
        "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<meta_attributes id=\"p-m\">" +
        nv("p-tr", "target-role", "Stopped") +
        "</meta_attributes></primitive>"
        "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string status = node_state(1, history_ops("p", {{"start", 0, 0}}) + history("p2", "stop", 1));
    auto s = schedule_cib(cib(1, rsc, "<rsc_order id=\"o\" first=\"p\" then=\"p2\"/>", status));
    const ActIdx stop = s.find("p_stop_0", "node1");
    REQUIRE(stop != kNone);
    CHECK_FALSE(s.cluster->actions[stop].runnable());
    CHECK_FALSE(s.in_graph("p_stop_0"));
    CHECK(s.summary_text().find("Stop p (node1) due to node availability (blocked)") != std::string::npos);
}

TEST_CASE("O10: a resource whose start cannot run blocks the starts of what is colocated with it")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s12-c9-3): C2 cannot start (it must
    // follow g, whose member gm is blocked by a failed stop), so p, colocated with C2 at
    // INFINITY and recovering from a failed monitor, is stopped "due to colocation with C2";
    // a group whose member cannot start still has a runnable start and blocks nothing.
    const std::string prim =
        "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"p-m\" name=\"monitor\" interval=\"10s\"/></operations>"
        "</primitive>";
    const std::string rsc = prim + clone("C2", {}, "D2") +
                            "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" "
                            "type=\"Dummy\"/></group>";
    const std::string constraints =
        "<rsc_order id=\"o\" first=\"g\" then=\"C2\"/>"
        "<rsc_colocation id=\"col\" rsc=\"p\" with-rsc=\"C2\" score=\"INFINITY\"/>";
    const std::string status =
        node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 7, 10000}}) + history("gm", "stop", 1));
    auto s = schedule_cib(cib(1, rsc, constraints, status));
    const ActIdx start = s.find("p_start_0", "node1");
    REQUIRE(start != kNone);
    CHECK_FALSE(s.cluster->actions[start].runnable());
    CHECK(s.summary_text().find("Stop p (node1) due to colocation with C2") != std::string::npos);
}

TEST_CASE("O10: a group whose own start cannot run blocks nothing through its colocations")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s169-c2-6): p2 cannot start (banned
    // everywhere); g and q must follow it, so neither's start can run. p is colocated with
    // the group g at INFINITY and still starts; p3, colocated with the primitive q, does
    // not ("due to colocation with q").
    const std::string rsc =
        dummy("p2") + dummy("p") + dummy("p3") + dummy("q") + "<group id=\"g\">" + dummy("gm") + "</group>";
    const std::string constraints =
        "<rsc_location id=\"ban\" rsc=\"p2\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_order id=\"o1\" first=\"p2\" then=\"g\"/>"
        "<rsc_order id=\"o2\" first=\"p2\" then=\"q\"/>"
        "<rsc_colocation id=\"c1\" rsc=\"p\" with-rsc=\"g\" score=\"INFINITY\"/>"
        "<rsc_colocation id=\"c2\" rsc=\"p3\" with-rsc=\"q\" score=\"INFINITY\"/>";
    auto s = schedule_cib(cib(1, rsc, constraints));
    CHECK(s.in_graph("p_start_0", "node1"));
    CHECK_FALSE(s.in_graph("gm_start_0", "node1"));
    const ActIdx p3 = s.find("p3_start_0", "node1");
    REQUIRE(p3 != kNone);
    CHECK_FALSE(s.cluster->actions[p3].runnable());
    CHECK(s.summary_text().find("Start p3 (node1) due to colocation with q (blocked)") != std::string::npos);
}

TEST_CASE("O10b: a collective colocated with a resource that cannot start blocks its members' starts")
{
    // Observed with crm_simulate 2.1.5 (random runs rnd-s115-c4-2, rnd-s146-c5-4): p cannot
    // start (it must follow x, which can run nowhere), so each member of g, colocated with p
    // at INFINITY, cannot start "due to colocation with p"; a running member that must stop
    // makes its start required first, which reaches the next member through the group's
    // ordering before the colocation does.
    const std::string dummy = "class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string rsc = "<primitive id=\"x\" " + dummy + "<primitive id=\"p\" " + dummy +
                            "<group id=\"g\"><primitive id=\"gm\" " + dummy + "<primitive id=\"gm2\" " +
                            dummy + "</group>";
    const std::string constraints =
        "<rsc_location id=\"l1\" rsc=\"x\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"l2\" rsc=\"x\" node=\"node2\" score=\"-INFINITY\"/>"
        "<rsc_order id=\"o\" first=\"x\" then=\"p\"/>"
        "<rsc_colocation id=\"col\" rsc=\"g\" with-rsc=\"p\" score=\"INFINITY\"/>";
    auto s = schedule_cib(cib(2, rsc, constraints));
    CHECK_FALSE(s.in_graph("gm_start_0"));
    CHECK_FALSE(s.in_graph("gm2_start_0"));
    CHECK(s.summary_text().find("Start gm (node1) due to colocation with p (blocked)") != std::string::npos);
    CHECK(s.summary_text().find("Start gm2 (node1) due to colocation with p (blocked)") != std::string::npos);

    const std::string running =
        node_state(1, history_ops("p", {{"start", 0, 0}}) + history_ops("gm", {{"start", 0, 0}}) +
                          history_ops("gm2", {{"start", 0, 0}}));
    auto r = schedule_cib(cib(2, rsc, constraints, running));
    CHECK(r.in_graph("gm_stop_0", "node1"));
    CHECK(r.in_graph("gm2_stop_0", "node1"));
    CHECK(r.summary_text().find("Stop gm (node1) due to colocation with p") != std::string::npos);
    CHECK(r.summary_text().find("Stop gm2 (node1) due to required gm start") != std::string::npos);
}

TEST_CASE("O11: an interleaved instance with no partner on its node is not active")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s27-c3): with `C then C2` and C2
    // interleaved, C2's instance on a node where C has none is unassigned ("Inhibiting"):
    // it neither starts nor shows in the summary, C2's start cannot run, and p, colocated
    // with C2 at INFINITY, is blocked "due to colocation with C2". Not through an optional
    // ordering; an instance running there stops.
    const std::string prim = "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string rsc =
        prim + clone("C", nv("C-m", "clone-max", "2"), "D") +
        clone("C2", nv("C2-i", "interleave", "true") + nv("C2-m", "clone-max", "1"), "D2");
    const std::string placement =
        "<rsc_location id=\"l\" rsc=\"C\" node=\"node3\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"l1\" rsc=\"C2\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"l2\" rsc=\"C2\" node=\"node2\" score=\"-INFINITY\"/>"
        "<rsc_colocation id=\"col\" rsc=\"p\" with-rsc=\"C2\" score=\"INFINITY\"/>";
    auto s = schedule_cib(cib(3, rsc, placement + "<rsc_order id=\"o\" first=\"C\" then=\"C2\"/>"));
    CHECK(s.in_graph("D:0_start_0", "node1"));
    CHECK_FALSE(s.in_graph("D2:0_start_0"));
    CHECK_FALSE(s.in_graph("p_start_0"));
    CHECK(s.summary_text().find("Start p (node3) due to colocation with C2 (blocked)") != std::string::npos);
    CHECK(s.summary_text().find("D2") == std::string::npos);

    auto optional = schedule_cib(
        cib(3, rsc, placement + "<rsc_order id=\"o\" first=\"C\" then=\"C2\" kind=\"Optional\"/>"));
    CHECK(optional.in_graph("D2:0_start_0", "node3"));
    CHECK(optional.in_graph("p_start_0", "node3"));

    // Running where C cannot be: stopped.
    const std::string rsc3 = clone("C", {}, "D") + clone("C2", nv("C2-i", "interleave", "true"), "D2");
    const std::string status = node_state(3, history_ops("D2", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    auto running = schedule_cib(cib(3, rsc3,
                                    "<rsc_location id=\"l\" rsc=\"C\" node=\"node3\" score=\"-INFINITY\"/>"
                                    "<rsc_order id=\"o\" first=\"C\" then=\"C2\"/>",
                                    status));
    CHECK(running.in_graph("D2:0_stop_0", "node3"));
    CHECK(running.summary_text().find("Stop D2:0 (node3) due to required D:0 start") != std::string::npos);
}

TEST_CASE("graph: a clone of groups numbers its members' actions, not the group instance's own")
{
    // Observed with crm_simulate 2.1.5 (regression clone-group-pseudo-attributes): g:0's
    // start pseudo action has the clone's meta-data but no CRM_meta_clone; ga:0's start has.
    const std::string rsc =
        "<clone id=\"C\"><group id=\"g\">"
        "<primitive id=\"ga\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "</group></clone>";
    auto s = schedule_cib(cib(1, rsc));
    auto attrs = [&](const std::string& key) {
        return action_attributes(*s.cluster, s.cluster->actions[s.find(key)]);
    };
    REQUIRE(s.in_graph("g:0_start_0"));
    CHECK(attrs("g:0_start_0").count("CRM_meta_clone") == 0);
    CHECK(attrs("g:0_start_0")["CRM_meta_clone_max"] == "1");
    CHECK(attrs("ga:0_start_0")["CRM_meta_clone"] == "0");
}

TEST_CASE("S4: a clone's colocations reach its instances in reverse order among equals")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s15-c6-1): `C with p` at -100, then
    // `C with p` at INFINITY. The instance applies -100 first (its node stays available at
    // -99), then INFINITY (every other node banned): nowhere left, C stops on p's node.
    const std::string prim = "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string constraints =
        "<rsc_location id=\"lp\" rsc=\"p\" node=\"node1\" score=\"100\"/>"
        "<rsc_colocation id=\"col\" rsc=\"C\" with-rsc=\"p\" score=\"-100\"/>"
        "<rsc_colocation id=\"col2\" rsc=\"C\" with-rsc=\"p\" score=\"INFINITY\"/>";
    const std::string status = node_state(
        1, history_ops("p", {{"start", 0, 0}}) + history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    auto s = schedule_cib(cib(2, prim + clone("C", {}, "D"), constraints, status));
    CHECK(s.in_graph("D:0_stop_0", "node1"));
    CHECK_FALSE(s.in_graph("D:0_start_0"));
    CHECK_FALSE(s.in_graph("D:1_start_0"));
}

TEST_CASE("S5: a group's INFINITY colocations bind every member, not only the first")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s153-c1-4, rnd-s149-c8-8): g's first
    // member gm runs unmanaged on node1 while p, which g is with at INFINITY, is banned there.
    // gm2 is with gm (node1) and with p (node2): nowhere, so it stays stopped and g does
    // not start. At 100 (or -INFINITY) only gm takes the colocation: gm2 starts beside it.
    const std::string rsc =
        "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<meta_attributes id=\"gm-m\">" +
        nv("gm-um", "is-managed", "false") +
        "</meta_attributes></primitive>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/></group>";
    const std::string status = node_state(1, history("gm", "start"));
    const auto with_score = [&](const std::string& score) {
        return schedule_cib(cib(2, rsc,
                                "<rsc_location id=\"lp\" rsc=\"p\" node=\"node1\" score=\"-INFINITY\"/>"
                                "<rsc_colocation id=\"col\" rsc=\"g\" with-rsc=\"p\" score=\"" +
                                    score + "\"/>",
                                status));
    };
    auto s = with_score("INFINITY");
    CHECK(s.in_graph("p_start_0", "node2"));
    CHECK_FALSE(s.in_graph("gm2_start_0"));
    CHECK_FALSE(s.in_graph("g_start_0"));
    CHECK(s.summary_text().find("gm2") == std::string::npos);
    auto optional = with_score("100");
    CHECK(optional.in_graph("gm2_start_0", "node1"));
}

TEST_CASE("P1: a probe comes before the stops of what restarts after its start, through a clone")
{
    const std::string rsc = "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>" +
                            clone("C", {}, "D") +
                            "<primitive id=\"w\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string constraints =
        "<rsc_location id=\"lw\" rsc=\"w\" node=\"node2\" score=\"100\"/>"
        "<rsc_order id=\"o1\" first=\"p2\" then=\"C\"/>"
        "<rsc_order id=\"o2\" first=\"C\" then=\"w\"/>";
    // Everything runs on node1; node2 is new: w moves there, C gets an instance there.
    auto s = schedule_cib(cib(
        2, rsc, constraints,
        node_state(1, history("p2", "start") + history_ops("D", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                          history("w", "start"))));
    CHECK(s.in_graph("w_stop_0", "node1"));
    // p2 start -> C start -> instances -> C running -> w start, which restarts w.
    CHECK(s.ordered("p2_monitor_0", "node2", "w_stop_0", "node1"));
    // The new instance's own probe: its start -> C running -> w start.
    CHECK(s.ordered("D:1_monitor_0", "node2", "w_stop_0", "node1"));
}

TEST_CASE("P1b: a group member's probe does not come before the stops of what requires the group")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s3-c9-1, rnd-s6-c3-1): "g then w"
    // restarts w when a member of g recovers, and the members' probes on a new node are not
    // ordered before w's stop (the probe of a primitive first would be, P1).
    const std::string rsc =
        "<group id=\"g\"><primitive id=\"gm\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<primitive id=\"gm2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"gm2-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive></group>"
        "<primitive id=\"w\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string constraints =
        "<rsc_location id=\"lg\" rsc=\"g\" node=\"node1\" score=\"100\"/>"
        "<rsc_location id=\"lw\" rsc=\"w\" node=\"node1\" score=\"100\"/>"
        "<rsc_order id=\"o1\" first=\"g\" then=\"w\"/>";
    auto s = schedule_cib(cib(
        2, rsc, constraints,
        node_state(1, history("gm", "start") + history_ops("gm2", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                          history("w", "start"))));
    REQUIRE(s.in_graph("gm2_stop_0", "node1"));
    REQUIRE(s.in_graph("w_stop_0", "node1"));
    REQUIRE(s.in_graph("gm2_monitor_0", "node2"));
    CHECK_FALSE(s.ordered("gm2_monitor_0", "node2", "w_stop_0", "node1"));
    CHECK_FALSE(s.ordered("gm_monitor_0", "node2", "w_stop_0", "node1"));
    // Still before the group's own starts.
    CHECK(s.ordered("gm2_monitor_0", "node2", "gm2_start_0", "node1"));
}

TEST_CASE("P2: a probe comes before the stops of what it requires only where that is to run again")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s59-c5-7, order-probe-disabled-then-stop,
    // order-probe-unassigned-then-start): with "p3 then p4", p3's probe on node2 comes before
    // p4's stop there when p4 moves (or recovers, or stops "due to required p3 start"), not
    // when p4 is disabled, even with its unassigned start the first of "p4 then p6".
    const auto prim = [](const std::string& id, const std::string& meta) {
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" + meta +
               "</primitive>";
    };
    const std::string disabled =
        "<meta_attributes id=\"p4-meta\">" + nv("p4-tr", "target-role", "Stopped") + "</meta_attributes>";
    const std::string status = node_state(1, history("p3", "start")) + node_state(2, history("p4", "start"));
    const std::string order =
        "<rsc_location id=\"l3\" rsc=\"p3\" node=\"node1\" score=\"100\"/>"
        "<rsc_order id=\"o\" first=\"p3\" then=\"p4\"/>";
    auto moves = schedule_cib(cib(2, prim("p3", "") + prim("p4", ""),
                                  order + "<rsc_location id=\"l4\" rsc=\"p4\" node=\"node1\" score=\"100\"/>",
                                  status));
    REQUIRE(moves.in_graph("p4_stop_0", "node2"));
    CHECK(moves.ordered("p3_monitor_0", "node2", "p4_stop_0", "node2"));
    auto stops = schedule_cib(cib(2, prim("p3", "") + prim("p4", disabled), order, status));
    REQUIRE(stops.in_graph("p4_stop_0", "node2"));
    REQUIRE(stops.in_graph("p3_monitor_0", "node2"));
    CHECK_FALSE(stops.ordered("p3_monitor_0", "node2", "p4_stop_0", "node2"));
    auto first = schedule_cib(cib(2, prim("p3", "") + prim("p4", disabled) + prim("p6", ""),
                                  order + "<rsc_order id=\"o6\" first=\"p4\" then=\"p6\"/>", status));
    REQUIRE(first.in_graph("p4_stop_0", "node2"));
    CHECK_FALSE(first.ordered("p3_monitor_0", "node2", "p4_stop_0", "node2"));
}

TEST_CASE("orderings: a second ordering between the same resources that shares a flag is dropped")
{
    // Observed with crm_simulate 2.1.5: `a then b` Optional followed by `a then b` Mandatory
    // restarts nothing when a recovers; the Mandatory one alone restarts b.
    const std::string status = node_state(1, history_ops("a", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history("b", "start") + history("b", "monitor", 0, 10000));
    const std::string optional = "<rsc_order id=\"o1\" first=\"a\" then=\"b\" kind=\"Optional\"/>";
    const std::string mandatory = "<rsc_order id=\"o2\" first=\"a\" then=\"b\" kind=\"Mandatory\"/>";
    const std::string resources =
        "<primitive id=\"a\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<operations><op id=\"a-mon\" name=\"monitor\" interval=\"10s\"/></operations>"
        "</primitive><primitive id=\"b\" class=\"ocf\" provider=\"pacemaker\" "
        "type=\"Dummy\"><operations><op id=\"b-mon\" name=\"monitor\" interval=\"10s\"/>"
        "</operations></primitive>";
    auto both = schedule_cib(cib(1, resources, optional + mandatory, status));
    CHECK(both.summary_text().find("Recover") != std::string::npos);
    CHECK(both.summary_text().find("Restart b") == std::string::npos);
    auto alone = schedule_cib(cib(1, resources, mandatory, status));
    CHECK(alone.summary_text().find("Restart b") != std::string::npos);
}

TEST_CASE("O5, O6: an ordering's start of a group reaches every member in turn, each change at once")
{
    // Observed with crm_simulate 2.1.5 (random runs rnd-s22-c9-8, rnd-s18-c3-1): `p then g`
    // with p starting restarts gm "due to required p start" and gm2 through gm's change
    // ("due to required gm start"); a member already required (recovering) passes the
    // ordering on to the next one, which p itself then makes required.
    const std::string mon = "<operations><op id=\"%-m\" name=\"monitor\" interval=\"10s\"/></operations>";
    const auto prim = [&](const std::string& id) {
        std::string ops = mon;
        ops.replace(ops.find('%'), 1, id);
        return "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">" + ops +
               "</primitive>";
    };
    const std::string rsc =
        prim("p") + "<group id=\"g\">" + prim("gm") + prim("gm2") + prim("gm3") + "</group>";
    const std::string order = "<rsc_order id=\"o\" first=\"p\" then=\"g\"/>";
    const auto member = [](const std::string& id, int monitor_rc) {
        return history_ops(id, {{"start", 0, 0}, {"monitor", monitor_rc, 10000}});
    };
    const auto summary = [&](int gm_rc, int gm2_rc) {
        const std::string status =
            node_state(1, member("gm", gm_rc) + member("gm2", gm2_rc) + member("gm3", 0));
        return schedule_cib(cib(1, rsc, order, status)).summary();
    };
    CHECK(summary(0, 0) == std::vector<std::string>{"Start p (node1)",
                                                    "Restart gm (node1) due to required p start",
                                                    "Restart gm2 (node1) due to required gm start",
                                                    "Restart gm3 (node1) due to required gm2 start"});
    CHECK(summary(7, 0) == std::vector<std::string>{"Start p (node1)", "Recover gm (node1)",
                                                    "Restart gm2 (node1) due to required p start",
                                                    "Restart gm3 (node1) due to required gm2 start"});
    CHECK(summary(0, 7) ==
          std::vector<std::string>{"Start p (node1)", "Restart gm (node1) due to required p start",
                                   "Recover gm2 (node1)", "Restart gm3 (node1) due to required p start"});
}

TEST_CASE("O1c: what follows a clone's own action does not make it required")
{
    // Observed with crm_simulate 2.1.5's trace (random run rnd-s22-c0-8): with `p2 then c`,
    // p2's stop orders c_stopped before it (implies-first), yet p2 moving leaves c_stopped
    // optional: a clone's action is required through its instances only.
    const std::string rsc = "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>" +
                            clone("c", nv("c-tr", "target-role", "Stopped"), "cr");
    const std::string constraints =
        "<rsc_order id=\"ord\" first=\"p2\" then=\"c\"/>"
        "<rsc_location id=\"ban\" rsc=\"p2\" node=\"node1\" score=\"-INFINITY\"/>";
    auto s = schedule_cib(cib(2, rsc, constraints, node_state(1, history("p2", "start"))));
    const ActIdx stop = s.find("p2_stop_0", "node1");
    const ActIdx stopped = s.find("c_stopped_0");
    REQUIRE(stop != kNone);
    REQUIRE(stopped != kNone);
    CHECK_FALSE(s.cluster->actions[stop].optional());
    CHECK(s.cluster->actions[stopped].optional());
}

TEST_CASE(
    "O14: a collective's completion in an ordering's place, and a blocked connection stop, change at once")
{
    // Observed with crm_simulate 2.1.5 (regression rnd-s154-c1-5): remote1's connection
    // failed and cannot stop (p2's stop failed there). `p4 then c`: examining p4's stop puts
    // c_stopped in c_stop's place, which counts as a change, so remote1's stop and start are
    // examined before p3's actions: p3's start cannot run, its stop is required, and only
    // then blocked behind p's (`p3 then p`, p's stop failed): "Stop p3 ... (blocked)".
    const auto prim = [](const std::string& id) {
        return "<primitive id=\"" + id +
               "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
               "<operations><op id=\"" +
               id + "-m\" name=\"monitor\" interval=\"10s\"/></operations></primitive>";
    };
    const std::string rsc =
        "<primitive id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\"/>" + prim("p") +
        prim("p2") + prim("p3") + prim("p4") + clone("c", {}, "cr");
    const std::string constraints =
        "<rsc_location id=\"l3\" rsc=\"p3\" node=\"remote1\" score=\"50\"/>"
        "<rsc_order id=\"o1\" first=\"p3\" then=\"p\"/>"
        "<rsc_order id=\"o2\" first=\"p4\" then=\"c\"/>";
    // Every resource probed everywhere (no probes to order).
    const auto probed = [](std::initializer_list<const char*> ids) {
        std::string out;
        for (const char* id : ids)
            out += history(id, "monitor", 7);
        return out;
    };
    const std::string running = history_ops("p3", {{"start", 0, 0}, {"monitor", 0, 10000}}) +
                                history_ops("p4", {{"start", 0, 0}, {"monitor", 0, 10000}});
    const std::string status =
        node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote") +
                          history("cr", "start") + probed({"p", "p2", "p3", "p4"})) +
        node_state(2, history("p", "stop", 1) + history("remote1", "monitor", 7, 0, "remote") +
                          probed({"p2", "p3", "p4", "cr"})) +
        remote_state("remote1", history("p2", "stop", 1) + running + history("cr", "start") + probed({"p"}));
    auto s = schedule_cib(cib(2, rsc, constraints, status));
    CHECK_FALSE(s.in_graph("p3_stop_0"));
    CHECK(s.summary_text().find("Stop p3 (remote1) due to unrunnable remote1 start (blocked)") !=
          std::string::npos);
}

TEST_CASE(
    "O5c: a clone's start required in passing by an instance that cannot start leaves what follows alone")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s73-c5-4): with `c then c2`, the
    // instance of c on remote1, whose connection failed and cannot start again, must restart
    // there but cannot start: c_running is required through it, c2 does not restart. A
    // recovery that can run (cr's monitor failed on node1) restarts c2 "due to required c
    // running".
    const std::string rsc =
        "<primitive id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\"/>"
        "<primitive id=\"p2\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>" +
        clone("c", {}, "cr") + clone("c2", nv("c2n", "notify", "true"), "c2r");
    const std::string constraints =
        "<rsc_order id=\"ord\" first=\"c\" then=\"c2\"/>"
        "<rsc_location id=\"b1\" rsc=\"c2\" node=\"node1\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"b2\" rsc=\"c2\" node=\"remote1\" score=\"-INFINITY\"/>";
    const auto status = [](int cr_monitor_rc) {
        return node_state(1, history_ops("remote1", {{"start", 0, 0}, {"monitor", 1, 30000}}, "remote") +
                                 history_ops("cr", {{"start", 0, 0}, {"monitor", cr_monitor_rc, 10000}})) +
               node_state(2, history("cr", "start") + history("c2r", "start")) +
               remote_state("remote1", history("cr", "start") + history("p2", "stop", 1));
    };
    auto s = schedule_cib(cib(2, rsc, constraints, status(0)));
    CHECK(s.in_graph("c_running_0"));
    CHECK_FALSE(s.in_graph("cr:2_start_0", "remote1"));
    CHECK_FALSE(s.in_graph("c2r:0_stop_0", "node2"));
    CHECK(s.summary_text().find("c2r") == std::string::npos);
    auto recovering = schedule_cib(cib(2, rsc, constraints, status(1)));
    CHECK(recovering.in_graph("c2r:0_stop_0", "node2"));
    CHECK(recovering.summary_text().find("Restart c2r:0 (node2) due to required c running") !=
          std::string::npos);
}

TEST_CASE("O14: an ordering from a collective runs from the action ordered until its then is examined")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s158-c8-3): p4 is blocked by a
    // failed stop; `p4 then c` (c notifying, stopped) stands for c's confirmed
    // post-notification of its stop before p4's stop, and `p2 then p4` orders p4's stop
    // before p2's. c cannot start (after p4), so p2, colocated with c, is stopped "due to
    // colocation with c": its stop is required before what follows p4's blocked stop makes
    // it unrunnable, as c's notifications changing reach p4's stop only once that stop has
    // been examined, not before.
    const std::string rsc = dummy("p2") + dummy("p4") + clone("c", nv("c-n", "notify", "true"), "cr");
    const std::string constraints =
        "<rsc_colocation id=\"col\" rsc=\"p2\" with-rsc=\"c\" score=\"INFINITY\"/>"
        "<rsc_order id=\"o1\" first=\"p2\" then=\"p4\"/>"
        "<rsc_order id=\"o2\" first=\"p4\" then=\"c\"/>";
    const std::string status = node_state(1, history("p2", "start") + history("p4", "stop", 1));
    auto s = schedule_cib(cib(1, rsc, constraints, status));
    CHECK(s.summary_text().find("Stop p2 (node1) due to colocation with c (blocked)") != std::string::npos);
}

TEST_CASE("O10c: a start that cannot run from the outset blocks what is colocated with it")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s245-c6-4): p2's stop failed, so it
    // is blocked and gets no start of its own; the ordering `p2 then p3` makes one, which
    // cannot run (p2 is not assigned). Before any ordering is examined, that start blocks
    // p, colocated with p2 at INFINITY: p is stopped "due to colocation with p2". Without
    // the ordering there is no start of p2 and p stays.
    auto run = [&](bool ordered) {
        const std::string rsc = dummy("p") + dummy("p2") + dummy("p3");
        std::string constraints = "<rsc_colocation id=\"col\" rsc=\"p\" with-rsc=\"p2\" score=\"INFINITY\"/>";
        if (ordered) constraints += "<rsc_order id=\"o\" first=\"p2\" then=\"p3\" kind=\"Optional\"/>";
        const std::string status =
            node_state(1, history("p", "start") + history("p2", "stop", 1) + history("p3", "start"));
        return schedule_cib(cib(1, rsc, constraints, status));
    };
    auto with = run(true);
    CHECK(with.in_graph("p_stop_0", "node1"));
    CHECK(with.summary_text().find("Stop p (node1) due to colocation with p2") != std::string::npos);
    auto without = run(false);
    CHECK_FALSE(without.in_graph("p_stop_0", "node1"));
}

TEST_CASE("O10d: a start O10 blocks does not reach a recurring monitor examined before")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s158-c9-5): gm's stop failed, so the
    // group g cannot start and neither can p2 (`g then p2`); c's instance, colocated with
    // p2 at INFINITY, has its start blocked "due to colocation with p2" only once p2's
    // start changed, after the instance's recurring monitor was examined: that monitor
    // stays in the graph with the blocked start as its input.
    const std::string rsc =
        "<group id=\"g\">" + dummy("gm") + "</group>" + dummy("p2") +
        clone("c", nv("c-u", "globally-unique", "true") + nv("c-m", "clone-max", "1"), "cr");
    const std::string constraints =
        "<rsc_order id=\"o\" first=\"g\" then=\"p2\"/>"
        "<rsc_colocation id=\"col\" rsc=\"c\" with-rsc=\"p2\" score=\"INFINITY\"/>";
    const std::string status = node_state(1, history("gm", "stop", 1));
    auto s = schedule_cib(cib(1, rsc, constraints, status));
    CHECK(s.summary_text().find("Start cr:0 (node1) due to colocation with p2 (blocked)") !=
          std::string::npos);
    CHECK_FALSE(s.in_graph("cr:0_start_0", "node1"));
    CHECK(s.in_graph("cr:0_monitor_10000", "node1"));
    // The clone's own completion follows its instances: no instance can start.
    CHECK_FALSE(s.in_graph("c_running_0"));
}

TEST_CASE("O10e: a clone none of whose instances can start blocks its dependents in an instance's name")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s252-c9-4): c2 is disabled and
    // banned from the cluster nodes; it runs on remote1 only. No instance's start can run,
    // and p2, colocated with c2 at INFINITY and left on node1, is stopped "due to
    // colocation with c2r:2", the newest instance's start being examined first. (With a
    // placement strategy p2, sticky, is assigned before c2, on node1.)
    const std::string rsc =
        "<primitive id=\"remote1\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">"
        "<instance_attributes id=\"r1-p\">" +
        nv("r1-s", "server", "192.0.2.1") + "</instance_attributes></primitive>" +
        dummy("p2", nv("p2-st", "resource-stickiness", "100")) +
        clone("c2", nv("c2-tr", "target-role", "Stopped"), "c2r");
    const std::string constraints =
        banned_everywhere("c2") +
        "<rsc_colocation id=\"col\" rsc=\"p2\" with-rsc=\"c2\" score=\"INFINITY\"/>"
        "<rsc_colocation id=\"col2\" rsc=\"c2\" with-rsc=\"p2\" score=\"-100\"/>";
    const std::string status =
        node_state(1, history("p2", "start") + history("remote1", "start", 0, 0, "remote")) +
        "<node_state id=\"remote1\" uname=\"remote1\"><lrm id=\"remote1\"><lrm_resources>" +
        history("c2r", "start") + "</lrm_resources></lrm></node_state>";
    auto s = schedule_cib(cib(2, rsc, constraints, status,
                              "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"balanced\"/>"));
    CHECK(s.summary_text().find("Stop p2 (node1) due to colocation with c2r:2") != std::string::npos);
}

TEST_CASE("O14: once swapped, an ordering still brings its then back when the action ordered changes")
{
    // Observed with crm_simulate 2.1.5 (random run rnd-s305-c2-5): p recovers, so c's
    // instance restarts "due to required p start" (`p then c`); `c then g` stands for c's
    // running before g's start. g cannot run (its member is banned), yet g's start is
    // examined again when c's start changes, through the ordering as first made, and is
    // then required by c's running: the pseudo action is in the graph.
    const std::string rsc = dummy("p") + clone("c", {}, "cr") + "<group id=\"g\">" + dummy("gm") + "</group>";
    const std::string constraints =
        "<rsc_order id=\"o1\" first=\"p\" then=\"c\"/>"
        "<rsc_order id=\"o2\" first=\"c\" then=\"g\"/>" +
        banned_everywhere("gm");
    const std::string status =
        node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 7, 10000}}) + history("cr", "start"));
    auto s = schedule_cib(cib(1, rsc, constraints, status));
    CHECK(s.in_graph("c_running_0"));
    CHECK(s.in_graph("g_start_0"));
    CHECK(s.ordered("c_running_0", "", "g_start_0", ""));
}

namespace {

// The index of the summary line that names this instance, or -1.
int line_of(const std::vector<std::string>& lines, const std::string& instance)
{
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].find(" " + instance + " ") != std::string::npos) return static_cast<int>(i);
    }
    return -1;
}

}  // namespace

TEST_CASE("I2: without probes, a clone's actions and summary follow its sorted instances")
{
    // D:0 failed on node1 (recovered), D:1's parameters changed on node2 (restarted): the
    // assignment sorts the failed instance last; probing puts the instances back in order.
    const std::string rsc =
        "<clone id=\"C\"><primitive id=\"D\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<instance_attributes id=\"D-ia\">" +
        nv("D-f", "fake", "1") +
        "</instance_attributes><operations><op id=\"D-m\" name=\"monitor\" interval=\"10s\"/>"
        "</operations></primitive></clone>";
    const std::string status = node_state(1, history_ops("D", {{"start", 0, 0}, {"monitor", 1, 10000}})) +
                               node_state(2, history_ops("D", {{"start", 0, 0}}));
    for (const bool probes : {true, false}) {
        CAPTURE(probes);
        auto s = schedule_cib(
            cib(2, rsc, {}, status, probes ? "" : nv("opt-probes", "enable-startup-probes", "false")));
        const auto lines = s.summary();
        const int d0 = line_of(lines, "D:0"), d1 = line_of(lines, "D:1");
        REQUIRE(d0 >= 0);
        REQUIRE(d1 >= 0);
        CHECK((d0 < d1) == probes);
        // Every later stage (actions, graph) walks the clone's list in the same order.
        const Cluster& c = *s.cluster;
        const RscIdx first = c.resources[c.find_rsc("C")].children.front();
        CHECK(c.resources[first].id == (probes ? "D:0" : "D:1"));
    }
}

TEST_CASE("I1: an instance on an offline node sorts after one on an online node that cannot run it")
{
    // node1 left (unclean, fenced), node2 is in standby, node3 may not run C: nothing is
    // probed, so the summary shows the assignment's order, D:1 before D:0.
    const std::string rsc =
        "<primitive id=\"F\" class=\"stonith\" type=\"fence_dummy\"/>" + clone("C", {}, "D");
    const std::string up = "in_ccm=\"true\" crmd=\"online\" join=\"member\"";
    std::string node1 = node_state(1, history_ops("D", {{"start", 0, 0}}));
    node1.replace(node1.find(up), up.size(), "in_ccm=\"false\" crmd=\"offline\" join=\"down\"");
    const std::string status =
        node1 + node_state_with_attrs(2, nv("sb2", "standby", "on"), history_ops("D", {{"start", 0, 0}})) +
        node_state(3, history("F", "start", 0, 0, "fence_dummy", "stonith", ""));
    std::string text = cib(3, rsc, "<rsc_location id=\"l\" rsc=\"C\" node=\"node3\" score=\"-INFINITY\"/>",
                           status, nv("opt-probes", "enable-startup-probes", "false"));
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto s = schedule_cib(text);
    const auto lines = s.summary();
    const int d0 = line_of(lines, "D:0"), d1 = line_of(lines, "D:1");
    REQUIRE(d0 >= 0);
    REQUIRE(d1 >= 0);
    CHECK(d1 < d0);
}

TEST_CASE("D4: --output-as=xml lists the requested modifications as crm_simulate 2.1.5 does")
{
    // Observed (input xml-modifications): the quorum as given, then the nodes brought up,
    // taken down and failed, then each injection with the attributes its failure sets.
    const std::string text =
        cib(1, "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>", {},
            node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 0, 10000}})));
    auto doc = outpost::cluster::policy::xml::parse(text);
    REQUIRE(doc);
    Modifications m;
    m.quorum = "1";
    m.nodes = {{"Online", "node2"}, {"Offline", "remote1"}, {"Failing", "node1"}};
    for (const char* spec : {"p_monitor_10000@node1=7", "p_start_0@node1=0"}) {
        auto op = parse_op_spec(spec);
        REQUIRE(op);
        m.injections.push_back({spec, {}});
        std::vector<std::string> lines;
        REQUIRE(
            inject_op(*doc, *op, 1700000100, lines, NodeEntries::as_configured, &m.injections.back().attrs)
                .ok());
    }
    CHECK(modifications_xml(m, 2) ==
          "  <modifications quorum=\"1\">\n"
          "    <modify_node action=\"Online\" node=\"node2\"/>\n"
          "    <modify_node action=\"Offline\" node=\"remote1\"/>\n"
          "    <modify_node action=\"Failing\" node=\"node1\"/>\n"
          "    <inject_spec spec=\"p_monitor_10000@node1=7\"/>\n"
          "    <inject_attr name=\"fail-count-p#monitor_10000\" value=\"value++\" node_path=\"/node_state\" "
          "cib_node=\"1\"/>\n"
          "    <inject_attr name=\"last-failure-p#monitor_10000\" value=\"1700000100\" "
          "node_path=\"/node_state\" cib_node=\"1\"/>\n"
          "    <inject_spec spec=\"p_start_0@node1=0\"/>\n"
          "  </modifications>\n");
    // -q alone writes no element (crm_simulate ignores it then: Q1, input xml-quorum-alone).
    Modifications quorum_only;
    quorum_only.quorum = "0";
    CHECK(modifications_xml(quorum_only, 2).empty());
}

TEST_CASE("D5: --output-as=xml writes the -s and -U lines in their order, in crm_simulate's elements")
{
    // Observed (inputs xml-scores-utilization, xml-utilization-only, scores-quiet): with -s
    // <allocations>, with -U <utilizations>, with both <allocations_utilizations>; a
    // promotion score "on none" has no node; empty utilization is an empty element.
    std::vector<ScoreLine> lines = {
        {ScoreLine::Kind::capacity, "Original", {}, "node1", {}, {{"cpu", "4"}, {"mem", "100"}}},
        {ScoreLine::Kind::capacity, "Original", {}, "remote1", {}, {}},
        {ScoreLine::Kind::allocation, "pcmk__primitive_assign", "A", "node1", "-INFINITY", {}},
        {ScoreLine::Kind::utilization, "pcmk__finalize_assignment", "A", "node1", {}, {{"cpu", "2"}}},
        {ScoreLine::Kind::utilization, "pcmk__finalize_assignment", "B", "node1", {}, {}},
        {ScoreLine::Kind::promotion, {}, "c:0", "node1", "10", {}},
        {ScoreLine::Kind::promotion, {}, "c:1", {}, "0", {}},
    };
    CHECK(lines[1].text() == "Original: remote1 capacity:");
    CHECK(lines[3].text() == "pcmk__finalize_assignment: A utilization on node1: cpu=2");
    CHECK(lines[6].text() == "c:1 promotion score on none: 0");
    CHECK(
        scores_xml(lines, true, true, 2) ==
        "  <allocations_utilizations>\n"
        "    <capacity node=\"node1\" comment=\"Original\">\n"
        "      <cpu>4</cpu>\n"
        "      <mem>100</mem>\n"
        "    </capacity>\n"
        "    <capacity node=\"remote1\" comment=\"Original\"/>\n"
        "    <node_weight function=\"pcmk__primitive_assign\" node=\"node1\" score=\"-INFINITY\" id=\"A\"/>\n"
        "    <utilization resource=\"A\" node=\"node1\" function=\"pcmk__finalize_assignment\">\n"
        "      <cpu>2</cpu>\n"
        "    </utilization>\n"
        "    <utilization resource=\"B\" node=\"node1\" function=\"pcmk__finalize_assignment\"/>\n"
        "    <promotion_score id=\"c:0\" score=\"10\" node=\"node1\"/>\n"
        "    <promotion_score id=\"c:1\" score=\"0\"/>\n"
        "  </allocations_utilizations>\n");
    CHECK(scores_xml({}, true, false, 2) == "  <allocations/>\n");
    CHECK(scores_xml({}, false, true, 2) == "  <utilizations/>\n");
    // Scheduling collects them so (the same facts the text prints).
    ScheduleOptions so;
    so.show_scores = true;
    auto doc = outpost::cluster::policy::xml::parse(
        cib(2, "<primitive id=\"A\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"));
    REQUIRE(doc);
    auto c = unpack_and_schedule(std::move(*doc), so);
    REQUIRE(c);
    const std::string xml = scores_xml((*c)->score_lines, true, false, 0);
    CHECK(xml.find(
              "<allocations>\n  <node_weight function=\"pcmk__primitive_assign\" node=\"node1\" score=\"0\" "
              "id=\"A\"/>\n") == 0);
}

TEST_CASE("D6: a resource whose start is pending shows as Starting, in the text and the XML status")
{
    // Observed (inputs pending-start, xml-pending-start): a start recorded by a 2.1.5
    // controller while running (rc 193, op-status -1) is role="Starting".
    const std::string lrm =
        "<lrm_resource id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<lrm_rsc_op id=\"p_last_0\" operation_key=\"p_start_0\" operation=\"start\" "
        "transition-key=\"2:0:0:test\" transition-magic=\"-1:193;2:0:0:test\" call-id=\"-1\" rc-code=\"193\" "
        "op-status=\"-1\" interval=\"0\" last-rc-change=\"1699999990\" "
        "op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/></lrm_resource>";
    auto s = schedule_cib(cib(1, "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>",
                              {}, node_state(1, lrm)));
    REQUIRE(s.cluster);
    const RscIdx p = s.cluster->find_rsc("p");
    CHECK(pending_state(*s.cluster, p) == "Starting");
    CHECK(render_status(*s.cluster).find("p\t(ocf:pacemaker:Dummy):\t Starting node1") != std::string::npos);
    CHECK(status_xml(*s.cluster, "cluster_status", 2)
              .find("<resource id=\"p\" resource_agent=\"ocf:pacemaker:Dummy\" "
                    "role=\"Starting\" active=\"true\"") != std::string::npos);
}

TEST_CASE("O14b: the examination that remaps an ordering applies nothing through it")
{
    // Observed with crm_simulate 2.1.5's trace (random run rnd-s177-c2-6): c2_start's inputs
    // are examined newest first: `c then c2` (c_start, remapped to c_running there, applying
    // nothing), then `p then c2`: so p's start, not c_running (required before it by cr's
    // recovery), makes c2's start required. In the other order of the constraints p's start
    // is examined first anyway.
    const std::string rsc = dummy("p") + clone("c", {}, "cr") + clone("c2", {}, "c2r");
    const std::string p_then_c2 = "<rsc_order id=\"o1\" first=\"p\" then=\"c2\"/>";
    const std::string c_then_c2 = "<rsc_order id=\"o2\" first=\"c\" then=\"c2\"/>";
    const std::string status = node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history_ops("cr", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history("c2r", "start"));
    for (const std::string& constraints : {p_then_c2 + c_then_c2, c_then_c2 + p_then_c2}) {
        auto s = schedule_cib(cib(1, rsc, constraints, status));
        CHECK(s.summary() == std::vector<std::string>{"Recover p (node1)", "Recover cr:0 (node1)",
                                                      "Restart c2r:0 (node1) due to required p start"});
    }
}

namespace {

// vm1 holding guest1, p on guest1, g (gm) on node1 and clone c; `g then c`, `p then g`.
std::string p_then_g_then_c_resources()
{
    return dummy("vm1", nv("vm1-rn", "remote-node", "guest1")) + dummy("p") + "<group id=\"g\">" +
           dummy("gm") + "</group>" + clone("c", {}, "cr");
}

std::string p_then_g_then_c_constraints()
{
    return "<rsc_location id=\"l1\" rsc=\"p\" node=\"guest1\" score=\"INFINITY\"/>"
           "<rsc_location id=\"l2\" rsc=\"g\" node=\"node1\" score=\"INFINITY\"/>"
           "<rsc_order id=\"o1\" first=\"g\" then=\"c\"/>"
           "<rsc_order id=\"o2\" first=\"p\" then=\"g\"/>";
}

}  // namespace

TEST_CASE("RS1: an action its inputs changed is examined again itself before what follows it")
{
    // Observed with crm_simulate 2.1.5's trace (random runs rnd-s161-c6-5, -6: "Re-processing
    // c_start_0 and its 'after' actions" examines c_start_0 first): a stop failed on guest1,
    // which is fenced, so vm1 recovers and p on guest1 restarts with it, so g does (`p then
    // g`); all of it reached from the fencing, before c's start was examined. g's start
    // reaches c's start through `g then c` (O14: still from g_start); that examination
    // remaps the ordering to g_running and so changes c's start (O14b), which is examined
    // again itself (g_running makes it required) before its instances: cr on guest1
    // restarts "due to required g running", not because of its container's start.
    const std::string rsc =
        "<primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>" + p_then_g_then_c_resources();
    const auto running = [](const std::string& id) {
        return history_ops(id, {{"start", 0, 0}, {"monitor", 0, 10000}});
    };
    const std::string status =
        node_state(1, history("fencer", "start", 0, 0, "fence_dummy", "stonith", "") + running("vm1") +
                          history("guest1", "start", 0, 0, "remote") + running("gm") +
                          history("p", "monitor", 7) + history("cr", "monitor", 7)) +
        remote_state("guest1", running("p") + running("cr") + history("gone", "stop", 1));
    // (With fencing enabled: a failed stop fences the guest.)
    std::string text = cib(1, rsc, p_then_g_then_c_constraints(), status);
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
    auto s = schedule_cib(text);
    CHECK(s.summary() ==
          std::vector<std::string>{"Fence (reboot) guest1 (resource: vm1) guest is unclean",
                                   "Recover vm1 (node1)", "Restart p (guest1) due to required vm1 start",
                                   "Restart gm (node1) due to required p start",
                                   "Restart cr:0 (guest1) due to required g running", "Start cr:1 (node1)",
                                   "Restart guest1 (node1) due to required vm1 start",
                                   "Stop gone (guest1) due to node availability"});
}

TEST_CASE("O14: once swapped, the ordering still leads from the action ordered (g_running in passing)")
{
    // Observed with crm_simulate 2.1.5's trace: c_start was examined (and `g then c`
    // remapped to g_running) before p's start, after vm1's recovery, made g restart (`p then
    // g`). g_start's change still examines c_start (after g_running, later in its list):
    // g_running, required in passing by gm's start (O5b), restarts cr on node1 "due to
    // required g running". (Through g_running alone nothing would reach c_start: its change
    // in passing is no change.)
    const std::string rsc = p_then_g_then_c_resources();
    const std::string status = node_state(1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) +
                                                 history("guest1", "start", 0, 0, "remote") +
                                                 history("gm", "start") + history("cr", "start")) +
                               remote_state("guest1", history("p", "start") + history("cr", "start"));
    auto s = schedule_cib(cib(1, rsc, p_then_g_then_c_constraints(), status));
    CHECK(s.summary() == std::vector<std::string>{
                             "Fence (reboot) guest1 (resource: vm1) guest is unclean", "Recover vm1 (node1)",
                             "Recover p (guest1)", "Restart gm (node1) due to required p start",
                             "Restart cr:0 (node1) due to required g running", "Recover cr:1 (guest1)",
                             "Restart guest1 (node1) due to required vm1 start"});
}

TEST_CASE("RF1: a recurring monitor that finds a stopped resource not running is a failure")
{
    // Observed with crm_simulate 2.1.5 (`-i p_monitor_10000@node2=7` where p runs on node1
    // only): after a probe found p stopped on node2, a failed recurring monitor there still
    // counts as a failure: p is active and failed there, stopped on node2 and recovered on
    // node1. (A multiply active guest connection whose monitor fails so: "Recover guest1",
    // not "Restart".)
    const std::string status = node_state(1, history_ops("p", {{"start", 0, 0}, {"monitor", 0, 10000}})) +
                               node_state(2, history_ops("p", {{"monitor", 7, 0}, {"monitor", 7, 10000}}));
    auto s = schedule_cib(cib(2, dummy("p"), {}, status));
    CHECK(s.summary() == std::vector<std::string>{"Recover p (node1)"});
    CHECK(s.in_graph("p_stop_0", "node2"));
    CHECK(s.in_graph("p_start_0", "node1"));
}

TEST_CASE("RF2: a failed guest connection stops its container only where the container runs")
{
    // Observed with crm_simulate 2.1.5: guest1's connection is active on node1 and node2,
    // vm1 (its container) on node2 only; the connection's monitor fails on node1. The
    // container is to stop where the connection failed, which is nowhere it runs: only the
    // connection is recovered, vm1 stays. Failing on node2 restarts vm1 there too.
    const auto status = [](int fail_on) {
        const auto conn = [&](int node) {
            return history_ops("guest1", {{"start", 0, 0}, {"monitor", node == fail_on ? 1 : 0, 30000}},
                               "remote");
        };
        return node_state(1, conn(1) + history("vm1", "monitor", 7)) +
               node_state(2, conn(2) + history_ops("vm1", {{"start", 0, 0}, {"monitor", 0, 10000}}));
    };
    auto s = schedule_cib(cib(2, dummy("vm1", nv("vm1-rn", "remote-node", "guest1")), {}, status(1)));
    CHECK(s.summary() == std::vector<std::string>{"Recover guest1 (node1 -> node2)"});
    CHECK_FALSE(s.in_graph("vm1_stop_0", "node1"));
    CHECK_FALSE(s.in_graph("vm1_stop_0", "node2"));
    auto on_container =
        schedule_cib(cib(2, dummy("vm1", nv("vm1-rn", "remote-node", "guest1")), {}, status(2)));
    CHECK(on_container.in_graph("vm1_stop_0", "node2"));
}

TEST_CASE("N8: of an instance active on several nodes only the last node's implied stop counts")
{
    // rnd-s363-c4-5, checked with crm_simulate 2.1.5: vm1's container fails, so guest1 is
    // reset and D:0's stop there is implied. D:0 also runs on guest2. Listed first in the
    // status, guest1 is still notified before the stops; listed last, it is not.
    const std::string meta =
        nv("cu", "globally-unique", "true") + nv("cm", "clone-max", "2") + nv("cn", "notify", "true");
    const std::string rsc = dummy("vm1", nv("vm1-rn", "remote-node", "guest1")) +
                            dummy("vm2", nv("vm2-rn", "remote-node", "guest2")) + clone("C", meta, "D");
    const std::string d0 = history_ops("D:0", {{"start", 0, 0}, {"monitor", 0, 10000}});
    const std::string guest1 = remote_state("guest1", d0);
    const std::string guest2 = remote_state("guest2", d0 + history("D:1", "start"));
    const std::string host = node_state(
        1, history_ops("vm1", {{"start", 0, 0}, {"monitor", 7, 10000}}) + history("vm2", "start") +
               history("guest1", "start", 0, 0, "remote") + history("guest2", "start", 0, 0, "remote"));
    auto first = schedule_cib(cib(1, rsc, {}, host + guest1 + guest2));
    CHECK(first.in_graph("D:0_stop_0", "guest2"));
    CHECK(first.in_graph("D:0_pre_notify_stop_0", "guest1"));
    CHECK(first.in_graph("D:0_pre_notify_stop_0", "guest2"));
    auto last = schedule_cib(cib(1, rsc, {}, host + guest2 + guest1));
    CHECK(last.in_graph("D:0_stop_0", "guest2"));
    CHECK_FALSE(last.in_graph("D:0_pre_notify_stop_0", "guest1"));
    CHECK(last.in_graph("D:0_pre_notify_stop_0", "guest2"));
}

TEST_CASE("PD1: a pending stop, demote or probe alone leaves a resource unknown there: probed again")
{
    // Observed with crm_simulate 2.1.5 (inputs pending-stop-only, pending-demote-only,
    // pending-probe-only): the history gives no role on node1, so d1 is not running there,
    // is probed again and started; a pending stop or demote shows where it is pending
    // ("Stopping node1"), a pending probe does not.
    auto pending = [](const std::string& task, int interval_ms) {
        std::string op = history("d1", task, 0, interval_ms);
        for (auto [from, to] :
             {std::pair<std::string, std::string>{"transition-magic=\"0:0;", "transition-magic=\"-1:193;"},
              {"call-id=\"10\"", "call-id=\"-1\""},
              {"rc-code=\"0\" op-status=\"0\"", "rc-code=\"193\" op-status=\"-1\""}})
            op.replace(op.find(from), from.size(), to);
        return schedule_cib(cib(1, dummy("d1"), {}, node_state(1, op)));
    };
    for (const auto& [task, shown] :
         {std::pair<std::string, std::string>{"stop", "Stopping node1"}, {"demote", "Demoting node1"}}) {
        INFO(task);
        auto s = pending(task, 0);
        CHECK(s.in_graph("d1_monitor_0", "node1"));
        CHECK(s.summary() == std::vector<std::string>{"Start d1 (node1)"});
        CHECK(render_status(*s.cluster, true).find("d1\t(ocf:pacemaker:Dummy):\t " + shown) !=
              std::string::npos);
    }
    auto probe = pending("monitor", 0);
    CHECK(probe.in_graph("d1_monitor_0", "node1"));
    CHECK(render_status(*probe.cluster, true).find("d1\t(ocf:pacemaker:Dummy):\t Stopped\n") !=
          std::string::npos);
}

TEST_CASE("P2b: a probe is ordered before a stop only through an ordering kept between the stops")
{
    // Observed with crm_simulate 2.1.5 (regressions rnd-s456-c3-1, -7): `p3 then p2`
    // mandatory orders p3's probes before p2's stop; written after an optional `p3 then p2`
    // it is dropped between the two stops (it shares a flag with the first), and so is the
    // probe's ordering.
    const std::string rsc = dummy("p2") + dummy("p3");
    const std::string status = node_state(1, history_ops("p2", {{"start", 0, 0}, {"monitor", 0, 10000}})) +
                               node_state(2, history("p2", "monitor", 7) + history("p3", "monitor", 7));
    const std::string away = "<rsc_location id=\"away\" rsc=\"p2\" node=\"node1\" score=\"-INFINITY\"/>";
    const std::string optional = "<rsc_order id=\"o1\" first=\"p3\" then=\"p2\" kind=\"Optional\"/>";
    const std::string mandatory = "<rsc_order id=\"o2\" first=\"p3\" then=\"p2\" kind=\"Mandatory\"/>";
    auto alone = schedule_cib(cib(2, rsc, away + mandatory, status));
    REQUIRE(alone.in_graph("p3_monitor_0", "node1"));
    CHECK(alone.ordered("p3_monitor_0", "node1", "p2_stop_0", "node1"));
    auto after_optional = schedule_cib(cib(2, rsc, away + optional + mandatory, status));
    REQUIRE(after_optional.in_graph("p3_monitor_0", "node1"));
    CHECK_FALSE(after_optional.ordered("p3_monitor_0", "node1", "p2_stop_0", "node1"));
}
