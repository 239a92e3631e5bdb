// Remote and guest node rules (scheduler.md section 1, rule numbers as there; where each is
// implemented is listed in cluster-plugin/policy/remote_rules.hpp). Each case is a small
// CIB whose expected transition was checked against crm_simulate 2.1.5.
#include <catch.hpp>

#include "policy/digest.hpp"
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
