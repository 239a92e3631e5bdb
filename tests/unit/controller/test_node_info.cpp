// node-info (controller/node_info.hpp, crmd.hpp): which node a request names, found in the
// CIB as Pacemaker 2.1.5's controller answers (fields observed with the real crm_node inside
// a remote node of a real cluster), and the reply for a node nobody knows.
#include <catch.hpp>

#include "controller/crmd.hpp"
#include "controller/node_info.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::controller;

namespace {

constexpr const char* kCib =
    R"(<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes>)"
    R"(<node id="1" uname="host1"/><node id="2" uname="other"/><node id="r9" uname="r9" type="remote"/></nodes>)"
    R"(<resources><primitive id="g1" class="ocf" provider="pacemaker" type="remote"/>)"
    R"(<group id="grp"><primitive id="vm1" class="ocf" provider="heartbeat" type="Dummy">)"
    R"(<meta_attributes id="vm1-meta"><nvpair id="vm1-rn" name="remote-node" value="guest1"/>)"
    R"(</meta_attributes></primitive></group>)"
    R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/>)"
    R"(</configuration><status><node_state id="g1" uname="g1" remote_node="true" in_ccm="true"/>)"
    R"(<node_state id="guest1" uname="guest1" remote_node="true" in_ccm="false"/></status></cib>)";

std::optional<NodeInfo> find(const std::string& id, const std::string& uname)
{
    auto doc = parse_document(kCib, 1 << 20, "test CIB");
    REQUIRE(doc.ok());
    return find_node_info(doc->get(), NodeInfo{"1", "host1", false, true}, NodeQuery{id, uname});
}

}  // namespace

TEST_CASE("node-info finds the controller's node, CIB cluster nodes, remote and guest nodes by id or name")
{
    // None named (crm_node -n on the host), id 0, the host's id or name: the host.
    for (const auto& [id, uname] :
         std::vector<std::pair<std::string, std::string>>{{"", ""}, {"0", ""}, {"1", ""}, {"", "host1"}}) {
        auto host = find(id, uname);
        REQUIRE(host);
        CHECK(host->uname == "host1");
        CHECK(host->id == "1");
        CHECK(host->member);
        CHECK_FALSE(host->remote);
    }
    // A remote node (its connection primitive) by name: id = name, up per its node_state.
    auto g1 = find("", "g1");
    REQUIRE(g1);
    CHECK(g1->id == "g1");
    CHECK(g1->remote);
    CHECK(g1->member);
    // A guest node (meta remote-node, inside a group), down.
    auto guest = find("", "guest1");
    REQUIRE(guest);
    CHECK(guest->id == "guest1");
    CHECK(guest->remote);
    CHECK_FALSE(guest->member);
    // A cluster node of <nodes>, by id or name: known, not up.
    auto other = find("2", "");
    REQUIRE(other);
    CHECK(other->uname == "other");
    CHECK_FALSE(other->member);
    CHECK(find("", "other"));
    // Unknown: a free id, a resource that is no node, a remote <node> with no connection.
    CHECK_FALSE(find("7", ""));
    CHECK_FALSE(find("", "d1"));
    CHECK_FALSE(find("", "vm1"));
    CHECK_FALSE(find("", "r9"));
    CHECK_FALSE(find("", "nosuch"));
}

TEST_CASE("node-info requests carry the node asked about, replies the fields 2.1.5 returns")
{
    auto by_id = parse_crmd_request(R"(<create_request_adv t="crmd" subt="request" crm_task="node-info" )"
                                    R"(reference="r1" crm_sys_from="9_crm_node" id="7"/>)");
    REQUIRE(by_id.ok());
    CHECK(by_id->node.id == "7");
    CHECK(by_id->node.uname.empty());
    // Not known: the node element holds no node.
    CHECK(node_info_reply(*by_id, "uuid", "host1", nullptr) ==
          R"(<create_reply_adv origin="handle_node_info_request" t="crmd" version="3.16.1" subt="response" )"
          R"(reference="r1" crm_task="node-info" crm_sys_to="uuid" crm_sys_from="crmd" src="host1">)"
          R"(<crm_xml><node crm_subsystem="crmd" have-quorum="true"/></crm_xml></create_reply_adv>)");
    const NodeInfo remote{"g1", "g1", true, true};
    CHECK(node_info_reply(*by_id, "uuid", "host1", &remote)
              .find(R"(<node crm_subsystem="crmd" have-quorum="true" id="g1" uname="g1" crmd="member" )"
                    R"(remote_node="true"/>)") != std::string::npos);
    const NodeInfo lost{"2", "other", false, false};
    CHECK(node_info_reply(*by_id, "uuid", "host1", &lost).find(R"(crmd="lost" remote_node="false")") !=
          std::string::npos);
}
