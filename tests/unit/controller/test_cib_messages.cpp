// CIB IPC messages: requests as 2.1.5's tools send them (taken from this service's trace
// log with cibadmin, crm_attribute and crm_mon), the replies, the change patchsets, and
// the pacemakerd ping crm_mon needs.
#include <catch.hpp>
#include <cerrno>

#include <string>
#include <vector>

#include "controller/cib_diff.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_patch.hpp"
#include "controller/cib_request.hpp"
#include "controller/crmd.hpp"
#include "controller/pacemakerd.hpp"

using namespace outpost::cluster::controller;

namespace {

XmlDoc parse(const std::string& text)
{
    auto doc = parse_document(text, 1 << 20, "test XML");
    REQUIRE(doc.ok());
    return std::move(*doc);
}

}  // namespace

TEST_CASE("requests the tools send parse into operations")
{
    auto reg = parse_cib_request(
        R"(<cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/>)", 1 << 20);
    REQUIRE(reg.ok());
    CHECK(reg->op == "register");
    CHECK(reg->client_name == "cibadmin");
    CHECK(reg->options == call_option::sync_call);

    auto create = parse_cib_request(
        R"(<cib_command __name__="cib_command" t="cib" cib_async_id="x" cib_op="cib_create" cib_section="nodes" )"
        R"(cib_callid="2" cib_callopt="0"><cib_calldata><node id="2" uname="n2"/></cib_calldata></cib_command>)",
        1 << 20);
    REQUIRE(create.ok());
    CHECK(create->op == "cib_create");
    CHECK(create->section == "nodes");
    CHECK(create->call_id == 2);
    REQUIRE(create->data != nullptr);
    CHECK(serialize(create->data) == R"(<node id="2" uname="n2"/>)");

    auto notify = parse_cib_request(
        R"(<cib-callback cib_op="cib_notify" cib_notify_type="cib_diff_notify" cib_notify_activate="1"/>)",
        1 << 20);
    REQUIRE(notify.ok());
    CHECK(notify->notify_type == kDiffNotify);
    CHECK(notify->notify_activate);
}

TEST_CASE("bad requests are refused with a reason")
{
    CHECK(parse_cib_request("<cib_command", 1 << 20).error().code == -EBADMSG);
    CHECK(parse_cib_request(R"(<other cib_op="cib_query"/>)", 1 << 20).error().message.find("<other>") !=
          std::string::npos);
    CHECK_FALSE(parse_cib_request(R"(<cib_command t="cib"/>)", 1 << 20).ok());
    CHECK_FALSE(parse_cib_request(R"(<cib_command cib_op="cib_query" cib_callid="x"/>)", 1 << 20).ok());
    CHECK_FALSE(
        parse_cib_request(R"(<cib_command cib_op="cib_query" cib_callopt="99999999999"/>)", 1 << 20).ok());
    CHECK_FALSE(parse_cib_request("<cib_command cib_op=\"" + std::string(300, 'a') + "\"/>", 1 << 20).ok());
    CHECK(parse_cib_request(R"(<cib_command cib_op="cib_query"/>)", 10).error().code == -EMSGSIZE);
    CHECK_FALSE(
        parse_cib_request(R"(<!DOCTYPE x [<!ENTITY a "b">]><cib_command cib_op="cib_query"/>)", 1 << 20)
            .ok());
    // An attribute flood is refused by the bounded scan before libxml2 builds a tree (a tree
    // of 100,000 attributes on one element took libxml2 minutes).
    std::string flood = "<cib_command cib_op=\"cib_query\"";
    for (int i = 0; i < 100000; ++i)
        flood += " a" + std::to_string(i) + "=\"\"";
    flood += "/>";
    auto refused = parse_cib_request(flood, 15 << 20);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == -E2BIG);
    CHECK(refused.error().message.find("more than 4096 attributes") != std::string::npos);
}

TEST_CASE("replies carry rc and data; register and notify replies")
{
    auto request = parse_cib_request(
        R"(<cib_command t="cib" cib_op="cib_query" cib_callid="7" cib_callopt="4352"/>)", 1 << 20);
    REQUIRE(request.ok());
    XmlDoc output = parse("<nodes/>");
    CHECK(
        operation_reply(*request, "id-1", 0, output.get()) ==
        R"(<cib-reply t="cib" cib_op="cib_query" cib_callid="7" cib_clientid="id-1" cib_callopt="4352" cib_rc="0">)"
        R"(<cib_calldata><nodes/></cib_calldata></cib-reply>)");
    CHECK(
        operation_reply(*request, "id-1", -6, nullptr) ==
        R"(<cib-reply t="cib" cib_op="cib_query" cib_callid="7" cib_clientid="id-1" cib_callopt="4352" cib_rc="-6"/>)");
    CHECK(register_reply("abc") == R"(<cib_common_callback_worker cib_op="register" cib_clientid="abc"/>)");
}

TEST_CASE("a change's patchset names both versions and replaces what differs")
{
    XmlDoc before = empty_cib();
    XmlDoc after = copy_document(before.get());
    xmlNode* nodes = find_section(after.get(), "nodes");
    xmlNode* node = xmlNewChild(nodes, nullptr, reinterpret_cast<const xmlChar*>("node"), nullptr);
    set_attr(node, "id", "1");
    write_version(root_of(after.get()), CibVersion{0, 2, 0});
    XmlDoc patch = make_patchset(before.get(), after.get());
    CHECK(
        serialize(root_of(patch.get())) ==
        R"(<diff format="2"><version><source admin_epoch="0" epoch="1" num_updates="0"/>)"
        R"(<target admin_epoch="0" epoch="2" num_updates="0"/></version>)"
        R"(<change operation="modify" path="/cib"><change-list><change-attr name="epoch" operation="set" value="2"/>)"
        R"(</change-list><change-result><cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="2" )"
        R"(num_updates="0" admin_epoch="0"/></change-result></change>)"
        R"(<change operation="delete" path="/cib/configuration/nodes"/>)"
        R"(<change operation="create" path="/cib/configuration" position="1"><nodes><node id="1"/></nodes></change>)"
        R"(</diff>)");
    auto request = parse_cib_request(
        R"(<cib_command cib_op="cib_create" cib_callid="3" cib_section="nodes"/>)", 1 << 20);
    REQUIRE(request.ok());
    std::string notification = diff_notification(*request, "id-2", before.get(), after.get());
    CHECK(notification.rfind(
              R"(<notify t="cib_notify" subt="cib_diff_notify" cib_op="cib_create" cib_rc="0")", 0) == 0);
    CHECK(notification.find("<cib_update_result><diff format=\"2\">") != std::string::npos);
    CHECK(notification.find(R"(<cib_generation><generation_tuple crm_feature_set="3.16.1" )") !=
          std::string::npos);
}

TEST_CASE("same_tree agrees with comparing the serialized text")
{
    const std::vector<std::string> texts = {
        R"(<a x="1" y="2"><b id="1"/><c>t</c></a>)",
        R"(<a x="1" y="2"><b id="1"/><c>t</c></a>)",
        R"(<a y="2" x="1"><b id="1"/><c>t</c></a>)",  // attribute order counts, as in the text
        R"(<a x="1" y="3"><b id="1"/><c>t</c></a>)",
        R"(<a x="1" y="2"><b id="1"/><c>u</c></a>)",
        R"(<a x="1" y="2"><b id="1"/></a>)",
        R"(<a x="1" y="2"><b id="1"/><c>t</c><d/></a>)",
        R"(<a x="1" y="2"><b id="2"/><c>t</c></a>)",
        R"(<a x="1"><b id="1"/><c>t</c></a>)",
        R"(<a x="1&amp;" y="2"><b id="1"/><c>t</c></a>)",
    };
    std::vector<XmlDoc> docs;
    docs.reserve(texts.size());
    for (const auto& text : texts)
        docs.push_back(parse(text));
    for (std::size_t i = 0; i < docs.size(); ++i)
        for (std::size_t j = 0; j < docs.size(); ++j) {
            INFO(texts[i] << " vs " << texts[j]);
            const xmlNode* a = root_of(docs[i].get());
            const xmlNode* b = root_of(docs[j].get());
            CHECK(same_tree(a, b) == (serialize(a) == serialize(b)));
        }
}

TEST_CASE("a status change's patchset names the changed entries only, and applies back")
{
    const std::string head =
        R"(<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="NU" )"
        R"(admin_epoch="0"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status>)";
    auto node = [](const std::string& id, const std::string& ops) {
        return R"(<node_state id=")" + id + R"(" uname=")" + id + R"("><lrm id=")" + id +
               R"("><lrm_resources><lrm_resource id="d1" type="Dummy">)" + ops +
               "</lrm_resource></lrm_resources></lrm></node_state>";
    };
    auto cib = [&](const std::string& nu, const std::string& status) {
        std::string text = head;
        text.replace(text.find("NU"), 2, nu);
        return parse(text + status + "</status></cib>");
    };
    const std::string probe = R"(<lrm_rsc_op id="d1_last_0" operation="monitor" rc-code="7"/>)";
    const std::string start = R"(<lrm_rsc_op id="d1_last_0" operation="start" rc-code="0"/>)";
    const std::string monitor = R"(<lrm_rsc_op id="d1_monitor_10000" operation="monitor" rc-code="0"/>)";
    XmlDoc before = cib("1", node("n1", probe) + node("n2", probe));
    XmlDoc after = cib("2", node("n1", probe) + node("n2", start + monitor) + node("n3", ""));
    XmlDoc patch = make_patchset(before.get(), after.get());
    const std::string text = serialize(root_of(patch.get()));
    INFO(text);
    const std::string n2 =
        "/cib/status/node_state[@id='n2']/lrm[@id='n2']/lrm_resources/lrm_resource[@id='d1']";
    CHECK(text.find(R"(<change operation="delete" path=")" + n2 + R"(/lrm_rsc_op[@id='d1_last_0']"/>)") !=
          std::string::npos);
    CHECK(text.find(R"(<change operation="create" path=")" + n2 + R"(" position="0">)" + start) !=
          std::string::npos);
    CHECK(text.find(R"(<change operation="create" path=")" + n2 + R"(" position="1">)" + monitor) !=
          std::string::npos);
    CHECK(text.find(R"(<change operation="create" path="/cib/status" position="2"><node_state id="n3")") !=
          std::string::npos);
    CHECK(text.find("n1") == std::string::npos);  // unchanged: not sent
    XmlDoc work = copy_document(before.get());
    const PatchResult applied = apply_patchset(work.get(), root_of(patch.get()));
    INFO(applied.message);
    REQUIRE(applied.rc == 0);
    CHECK(serialize(root_of(work.get())) == serialize(root_of(after.get())));
}

TEST_CASE("pacemakerd: ping answered as running, other tasks not implemented")
{
    auto reply = pacemakerd_reply(
        R"(<create_request_adv origin="do_pacemakerd_api_call" t="crmd" version="3.16.1" subt="request" )"
        R"(reference="ping-crm_mon-1-0" crm_task="ping" crm_sys_to="pacemakerd" crm_sys_from="21624_crm_mon"/>)",
        1796553602);
    REQUIRE(reply.ok());
    CHECK(reply->ack == R"(<ack function="pacemakerd" line="0" status="112"/>)");
    CHECK(
        reply->event ==
        R"(<create_reply_adv origin="outpost-controld" t="crmd" version="3.16.1" subt="response" )"
        R"(reference="ping-crm_mon-1-0" crm_task="ping" crm_sys_to="21624_crm_mon" crm_sys_from="pacemakerd">)"
        R"(<crm_xml><ping_response crm_subsystem="pacemakerd" crm-timestamp="1796553602" )"
        R"(pacemakerd_state="running" result="ok"/></crm_xml></create_reply_adv>)");
    auto other = pacemakerd_reply(R"(<create_request_adv subt="request" crm_task="shutdown"/>)", 0);
    REQUIRE(other.ok());
    CHECK(other->ack.find(R"(status="3")") != std::string::npos);
    CHECK(other->event.empty());
    CHECK_FALSE(pacemakerd_reply("<ping/>", 0).ok());
    CHECK_FALSE(pacemakerd_reply(std::string(kMaxPacemakerdRequest + 1, ' '), 0).ok());
}

TEST_CASE("crmd and attrd: the requests crm_resource and crm_node send, and the answers")
{
    // As crm_resource --fail -r d1 -N node1 sends it (2.1.5, -VVVVVV).
    auto fail = parse_crmd_request(
        R"(<create_request_adv origin="create_controller_request" t="crmd" version="3.16.1" subt="request" )"
        R"(reference="lrm_fail-crm_resource-1-1" crm_task="lrm_fail" crm_sys_to="crmd" )"
        R"(crm_sys_from="19472_crm_resource" crm_host_to="node1"><crm_xml><rsc_op transition-key="19472:0:0:x" )"
        R"(on_node="node1"><primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>)"
        R"(<attributes crm_feature_set="3.16.1" CRM_meta_timeout="60000"/></rsc_op></crm_xml></create_request_adv>)");
    REQUIRE(fail.ok());
    CHECK(fail->task == "lrm_fail");
    CHECK(fail->rsc.node == "node1");
    CHECK(fail->rsc.rsc_id == "d1");
    CHECK(fail->rsc.type == "Dummy");
    CHECK(fail->transition_key == "19472:0:0:x");
    const std::string ack =
        lrm_invoke_reply(*fail, "uuid", "node1", "1", LrmAck{"asyncmon", 8, true, 100, 14, 1, {}});
    CHECK(
        ack.rfind(
            R"(<create_request_adv origin="controld_ack_event_directly" t="crmd" version="3.16.1" )"
            R"(subt="request" reference="lrm_invoke-lrmd-100-14" crm_task="lrm_invoke" crm_sys_to="uuid" )"
            R"(crm_sys_from="lrmd" crm_host_to="node1" src="node1"><crm_xml><node_state id="1" uname="node1")",
            0) == 0);
    CHECK(ack.find(R"(operation_key="d1_asyncmon_0")") != std::string::npos);
    CHECK(ack.find(R"(transition-magic="0:0;19472:0:0:x")") != std::string::npos);
    // lrm_delete without a resource, something that is no request: errors.
    CHECK_FALSE(parse_crmd_request(R"(<create_request_adv subt="request" crm_task="lrm_delete"/>)").ok());
    CHECK_FALSE(parse_crmd_request("<ping/>").ok());
    CHECK_FALSE(parse_crmd_request(std::string(kMaxCrmdRequest + 1, ' ')).ok());

    auto info = parse_crmd_request(
        R"(<create_request_adv t="crmd" version="3.16.1" subt="request" reference="node-info-crm_node-1-1" )"
        R"(crm_task="node-info" crm_sys_to="crmd" crm_sys_from="19469_crm_node"/>)");
    REQUIRE(info.ok());
    CHECK(node_info_reply(*info, "uuid", "node1", "1") ==
          R"(<create_reply_adv origin="handle_node_info_request" t="crmd" version="3.16.1" subt="response" )"
          R"(reference="node-info-crm_node-1-1" crm_task="node-info" crm_sys_to="uuid" crm_sys_from="crmd" )"
          R"(src="node1"><crm_xml><node crm_subsystem="crmd" have-quorum="true" id="1" uname="node1" )"
          R"(crmd="member" remote_node="false"/></crm_xml></create_reply_adv>)");

    CHECK(ipc_ack("dispatch_controller_ipc", 112) ==
          R"(<ack function="dispatch_controller_ipc" line="0" status="112"/>)");
}
