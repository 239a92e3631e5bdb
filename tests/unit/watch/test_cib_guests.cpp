// watch/cib_guests: which domain resources the CIB has on a node, and in which state.
#include <catch2/catch.hpp>

#include "cib_fixture.hpp"
#include "watch/cib_guests.hpp"

using namespace outpost::cluster::watch;
using namespace outpost::test;

namespace {

const GuestResource& find(const CibGuests& cib, const std::string& id)
{
    for (const auto& g : cib.guests)
        if (g.id == id) return g;
    FAIL("no resource " << id);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("domain agents are recognised, others ignored")
{
    CHECK(is_domain_agent("ocf", "heartbeat", "VirtualDomain"));
    CHECK(is_domain_agent("ocf", "outpost", "guest"));
    CHECK_FALSE(is_domain_agent("ocf", "pacemaker", "Dummy"));
    CHECK_FALSE(is_domain_agent("systemd", "", "libvirtd"));

    CibResource dummy{"d1", "pacemaker", "Dummy", "", "", "", started_ops("d1")};
    CibResource vd{"vd1", "heartbeat",       "VirtualDomain", "/etc/vm/vd1.xml", "qemu:///system",
                   "",    started_ops("vd1")};
    CibResource og{"g1", "outpost", "guest", "/etc/vm/g1.xml", "", "", {}};
    auto cib = parse_cib(make_cib({dummy, vd, og}), "node1");
    REQUIRE(cib.ok());
    REQUIRE(cib->guests.size() == 2);
    CHECK(cib->node_known);
    const auto& v = find(*cib, "vd1");
    CHECK(v.agent == "ocf:heartbeat:VirtualDomain");
    CHECK(v.config == "/etc/vm/vd1.xml");
    CHECK(v.hypervisor == "qemu:///system");
    CHECK(v.managed);
    CHECK(v.state == NodeState::active);
    CHECK(v.decisive_call == 5);
    CHECK(v.detail == "start rc 0 (call 5)");
    const auto& g = find(*cib, "g1");
    CHECK(g.agent == "ocf:outpost:guest");
    CHECK(g.state == NodeState::inactive);
    CHECK(g.detail == "no history on the node");
}

TEST_CASE("the state on the node follows the resource history")
{
    std::vector<CibResource> r{
        {"pending",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"pending_last_0", "stop", -1, 193, -1, 0}, {"pending_monitor_30000", "monitor", 6, 0, 0, 30000}}},
        {"stopped", "outpost", "guest", "/c", "", "", {{"stopped_last_0", "stop", 9, 0, 0, 0}}},
        {"probed-off", "outpost", "guest", "/c", "", "", {{"probed-off_last_0", "monitor", 3, 7, 0, 0}}},
        {"probed-on", "outpost", "guest", "/c", "", "", {{"probed-on_last_0", "monitor", 3, 0, 0, 0}}},
        {"failed-start",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"failed-start_last_0", "start", 4, 1, 0, 0},
          {"failed-start_last_failure_0", "start", 4, 1, 0, 0}}},
        {"reported",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"reported_last_0", "asyncmon", 12, 1, 0, 0},
          {"reported_last_failure_0", "asyncmon", 12, 1, 0, 0},
          {"reported_monitor_30000", "monitor", 8, 0, 0, 30000}}},
        {"recovered",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"recovered_last_0", "start", 14, 0, 0, 0},
          {"recovered_last_failure_0", "asyncmon", 12, 1, 0, 0},
          {"recovered_monitor_30000", "monitor", 15, 0, 0, 30000}}},
        {"monitor-failed",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"monitor-failed_last_0", "start", 5, 0, 0, 0},
          {"monitor-failed_monitor_30000", "monitor", 6, 7, 0, 30000},
          {"monitor-failed_last_failure_0", "monitor", 6, 7, 0, 30000}}},
        {"migrated-away",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"migrated-away_last_0", "migrate_to", 9, 0, 0, 0}}},
        {"migrated-in",
         "outpost",
         "guest",
         "/c",
         "",
         "",
         {{"migrated-in_last_0", "migrate_from", 9, 0, 0, 0}}},
    };
    auto cib = parse_cib(make_cib(r), "node1");
    REQUIRE(cib.ok());
    CHECK(find(*cib, "pending").state == NodeState::busy);
    CHECK(find(*cib, "pending").detail == "pending stop");
    CHECK(find(*cib, "stopped").state == NodeState::inactive);
    CHECK(find(*cib, "probed-off").state == NodeState::inactive);
    CHECK(find(*cib, "probed-on").state == NodeState::active);
    CHECK(find(*cib, "failed-start").state == NodeState::failed);
    CHECK(find(*cib, "reported").state == NodeState::failed);
    CHECK(find(*cib, "recovered").state == NodeState::active);
    CHECK(find(*cib, "recovered").decisive_call == 14);
    CHECK(find(*cib, "monitor-failed").state == NodeState::failed);
    CHECK(find(*cib, "monitor-failed").detail == "monitor rc 7 (call 6) after start rc 0 (call 5)");
    CHECK(find(*cib, "migrated-away").state == NodeState::inactive);
    CHECK(find(*cib, "migrated-in").state == NodeState::active);
}

TEST_CASE("another node's history is not this node's")
{
    CibResource vd{"vd1", "heartbeat", "VirtualDomain", "/c", "", "", started_ops("vd1")};
    auto cib = parse_cib(make_cib({vd}, "", "", "node2"), "node1");
    REQUIRE(cib.ok());
    CHECK_FALSE(cib->node_known);
    CHECK(find(*cib, "vd1").state == NodeState::inactive);
}

TEST_CASE("managed, maintenance and templates")
{
    CibResource off{"off",
                    "outpost",
                    "guest",
                    "/c",
                    "",
                    "<nvpair id=\"off-m\" name=\"is-managed\" value=\"false\"/>",
                    started_ops("off")};
    CibResource maint{"maint",
                      "outpost",
                      "guest",
                      "/c",
                      "",
                      "<nvpair id=\"mm\" name=\"maintenance\" value=\"true\"/>",
                      started_ops("maint")};
    CibResource on{"on", "outpost", "guest", "/c", "", "", started_ops("on")};
    std::string group =
        "<group id=\"grp\"><meta_attributes id=\"grp-m\"><nvpair id=\"grp-m-1\" name=\"is-managed\" "
        "value=\"false\"/></meta_attributes><primitive id=\"in-group\" class=\"ocf\" provider=\"outpost\" "
        "type=\"guest\"/></group>"
        "<template id=\"vm-tmpl\" class=\"ocf\" provider=\"heartbeat\" type=\"VirtualDomain\">"
        "<instance_attributes id=\"t-ia\"><nvpair id=\"t-h\" name=\"hypervisor\" value=\"lxc:///\"/>"
        "</instance_attributes></template>"
        "<primitive id=\"from-tmpl\" template=\"vm-tmpl\"><instance_attributes id=\"ft-ia\"><nvpair "
        "id=\"ft-c\" "
        "name=\"config\" value=\"/t.xml\"/></instance_attributes></primitive>";
    auto cib = parse_cib(make_cib({off, maint, on}, "", group), "node1");
    REQUIRE(cib.ok());
    CHECK_FALSE(find(*cib, "off").managed);
    CHECK_FALSE(find(*cib, "maint").managed);
    CHECK(find(*cib, "on").managed);
    CHECK_FALSE(find(*cib, "in-group").managed);
    CHECK(find(*cib, "from-tmpl").agent == "ocf:heartbeat:VirtualDomain");
    CHECK(find(*cib, "from-tmpl").config == "/t.xml");
    CHECK(find(*cib, "from-tmpl").hypervisor == "lxc:///");
    CHECK_FALSE(cib->cluster_maintenance);

    auto m =
        parse_cib(make_cib({on}, "<nvpair id=\"mm\" name=\"maintenance-mode\" value=\"true\"/>"), "node1");
    REQUIRE(m.ok());
    CHECK(m->cluster_maintenance);
}

TEST_CASE("a CIB that is not XML is an error")
{
    CHECK_FALSE(parse_cib("<cib><configuration>", "node1").ok());
    CHECK_FALSE(parse_cib("", "node1").ok());
}
