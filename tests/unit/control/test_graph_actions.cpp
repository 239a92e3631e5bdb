#include <catch2/catch.hpp>

#include "control/graph_actions.hpp"

using namespace outpost::cluster::control;

namespace {

// As the policy face writes it (the shape of crm_simulate -G): a probe on a remote node
// routed through the host, a start waiting for it and a pseudo action.
constexpr const char* kGraph = R"(<transition_graph cluster-delay="60s" transition_id="0">
  <synapse id="0">
    <action_set>
      <rsc_op id="8" operation="monitor" operation_key="d1_monitor_0" on_node="g1" on_node_uuid="g1" router_node="host">
        <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>
        <attributes CRM_meta_on_node="g1" CRM_meta_op_target_rc="7" CRM_meta_timeout="20000" fake="x"/>
      </rsc_op>
    </action_set>
    <inputs/>
  </synapse>
  <synapse id="1">
    <action_set>
      <rsc_op id="9" operation="monitor" operation_key="d1_monitor_10000" on_node="g1" on_node_uuid="g1" router_node="host">
        <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>
        <attributes CRM_meta_interval="10000" CRM_meta_name="monitor" CRM_meta_timeout="30000" crm_feature_set="3.16.2" fake="x"/>
      </rsc_op>
    </action_set>
    <inputs>
      <trigger><rsc_op id="8" operation="monitor" operation_key="d1_monitor_0" on_node="g1"/></trigger>
      <trigger><pseudo_event id="3" operation="running" operation_key="grp_running_0"/></trigger>
    </inputs>
  </synapse>
  <synapse id="2">
    <action_set><pseudo_event id="3" operation="running" operation_key="grp_running_0"><attributes/></pseudo_event></action_set>
    <inputs/>
  </synapse>
  <synapse id="3">
    <action_set><crm_event id="4" operation="clear_failcount" operation_key="d1_clear_failcount_0" on_node="g1"/></action_set>
    <inputs/>
  </synapse>
</transition_graph>)";

}  // namespace

TEST_CASE("the graph's actions, inputs and parameters are read back", "[control][graph]")
{
    auto graph = parse_graph(kGraph);
    REQUIRE(graph);
    REQUIRE(graph->actions.size() == 4);
    const GraphAction& probe = graph->actions[0];
    CHECK(probe.id == 8);
    CHECK(probe.kind == ActionKind::rsc_op);
    CHECK(probe.key == "d1_monitor_0");
    CHECK(probe.node == "g1");
    CHECK(probe.router == "host");
    CHECK(probe.rsc_type == "Dummy");
    CHECK(probe.target_rc == 7);
    CHECK(probe.interval_ms == 0);
    CHECK(probe.parameters() == std::map<std::string, std::string>{{"fake", "x"}});
    CHECK(probe.digest_parameters() == std::map<std::string, std::string>{{"fake", "x"}});

    const GraphAction& monitor = graph->actions[1];
    CHECK(monitor.interval_ms == 10000);
    CHECK(monitor.timeout_ms == 30000);
    CHECK(monitor.inputs == std::vector<int>{8, 3});
    // The agent gets the graph's crm_feature_set; the digest covers the resource's own
    // parameters (else every result recorded would differ from what the scheduler expects:
    // a restart of everything after each transition) and a recurring operation's timeout.
    CHECK(monitor.parameters() ==
          std::map<std::string, std::string>{{"crm_feature_set", "3.16.2"}, {"fake", "x"}});
    CHECK(monitor.digest_parameters() ==
          std::map<std::string, std::string>{{"CRM_meta_timeout", "30000"}, {"fake", "x"}});

    CHECK(graph->actions[2].kind == ActionKind::pseudo);
    CHECK(graph->actions[3].kind == ActionKind::crm_event);
    CHECK(graph->actions[3].operation == "clear_failcount");
}

TEST_CASE("a guest node's pseudo fencing names the node it takes down", "[control][graph]")
{
    // As crm_simulate -G writes it when a guest's container fails.
    auto graph = parse_graph(R"(<transition_graph transition_id="0">
  <synapse id="0">
    <action_set>
      <pseudo_event id="10" operation="stonith" operation_key="stonith-guest1-reboot" on_node="guest1" on_node_uuid="guest1">
        <attributes CRM_meta_on_node="guest1" CRM_meta_stonith_action="reboot"/>
        <downed><node id="guest1"/></downed>
      </pseudo_event>
    </action_set>
    <inputs><trigger><rsc_op id="9" operation="stop" operation_key="ct1_stop_0" on_node="host1"/></trigger></inputs>
  </synapse>
</transition_graph>)");
    REQUIRE(graph);
    REQUIRE(graph->actions.size() == 1);
    const GraphAction& fence = graph->actions[0];
    CHECK(fence.kind == ActionKind::pseudo);
    CHECK(fence.operation == "stonith");
    CHECK(fence.downed == std::vector<std::string>{"guest1"});
    CHECK(fence.inputs == std::vector<int>{9});
}

TEST_CASE("maintenance_nodes lists the remote nodes whose maintenance to record", "[control][graph]")
{
    // As crm_simulate -G writes it with maintenance-mode=true and two guests.
    auto graph = parse_graph(R"(<transition_graph transition_id="0">
  <synapse id="0">
    <action_set>
      <pseudo_event id="19" operation="maintenance_nodes" operation_key="maintenance_nodes">
        <attributes crm_feature_set="3.16.1"/>
        <maintenance>
          <node id="g1" node_in_maintenance="1"/>
          <node id="g2" node_in_maintenance="0"/>
        </maintenance>
      </pseudo_event>
    </action_set>
    <inputs/>
  </synapse>
</transition_graph>)");
    REQUIRE(graph);
    REQUIRE(graph->actions.size() == 1);
    const GraphAction& update = graph->actions[0];
    CHECK(update.kind == ActionKind::pseudo);
    CHECK(update.maintenance == std::vector<std::pair<std::string, bool>>{{"g1", true}, {"g2", false}});
}

TEST_CASE("what is not a transition graph is an error", "[control][graph]")
{
    CHECK_FALSE(parse_graph("<cib/>"));
    CHECK_FALSE(parse_graph("not xml"));
    CHECK_FALSE(
        parse_graph(R"(<transition_graph><synapse id="0"><action_set/></synapse></transition_graph>)"));
    CHECK_FALSE(parse_graph(
        R"(<transition_graph><synapse id="0"><action_set><rsc_op id="x"/></action_set></synapse></transition_graph>)"));
    auto empty = parse_graph(R"(<transition_graph transition_id="0"/>)");
    REQUIRE(empty);
    CHECK(empty->actions.empty());
}
