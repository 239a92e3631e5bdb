// The agent's node's transient attributes: read from a query's answer, used by rules over
// permanent node attributes of the same name (and over #uname, #kind: the outcomes first
// observed with `CIB_file=... crm_resource --meta -r web -g NAME` on the same CIB with web
// active on g1), and which change notifications may have touched them.
#include <catch2/catch.hpp>

#include "cibfollow/resource_meta.hpp"
#include "cibfollow/transient.hpp"
#include "support/wire_xml.hpp"

using namespace outpost;
using outpost::test::xml;
using namespace outpost::agent;
using namespace outpost::agent::cibfollow;

namespace {

// web: 50% when tier is gold, 20% when silver; 64M when mood is happy; 10M when #kind is odd.
const char* const kConfiguration = R"(<configuration>
    <nodes><node id="g1" uname="g1" type="remote"><instance_attributes id="na">
      <nvpair id="na1" name="tier" value="silver"/><nvpair id="na2" name="zone" value="a"/>
    </instance_attributes></node></nodes>
    <resources><primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
      <meta_attributes id="m1" score="10"><rule id="r1"><expression id="e1" attribute="tier" operation="eq"
        value="gold"/></rule><nvpair id="m1a" name="outpost-cpu-quota" value="50%"/></meta_attributes>
      <meta_attributes id="m2" score="5"><rule id="r2"><expression id="e2" attribute="tier" operation="eq"
        value="silver"/></rule><nvpair id="m2a" name="outpost-cpu-quota" value="20%"/></meta_attributes>
      <meta_attributes id="m3" score="3"><rule id="r3"><expression id="e3" attribute="mood" operation="eq"
        value="happy"/></rule><nvpair id="m3a" name="outpost-memory-max" value="64M"/></meta_attributes>
      <meta_attributes id="m4" score="2"><rule id="r4"><expression id="e4" attribute="#kind" operation="eq"
        value="odd"/></rule><nvpair id="m4a" name="outpost-memory-high" value="10M"/></meta_attributes>
    </primitive></resources></configuration>)";

std::string value(const isolation::ClusterMeta& meta, const std::string& name)
{
    auto it = meta.find("web");
    if (it == meta.end()) return "(no entry)";
    const std::string* v = it->second.find(name);
    return v == nullptr ? "(unset)" : *v;
}

wire::Element notify(const std::string& changes)
{
    return xml(R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result><diff format="2">)" +
               changes + "</diff></cib_update_result></notify>");
}

}  // namespace

TEST_CASE("rules see the node's transient attributes, over permanent ones of the same name")
{
    const wire::Element configuration = xml(kConfiguration);
    MetaContext context;
    context.node_name = "g1";
    // None: the permanent tier.
    ResourceMeta read = resource_meta(configuration, context);
    CHECK(value(read.meta, "outpost-cpu-quota") == "20%");
    CHECK(value(read.meta, "outpost-memory-max") == "(unset)");

    NodeAttrs transient = transient_attributes(xml(R"(<transient_attributes id="g1">
        <instance_attributes id="status-g1"><nvpair id="s1" name="tier" value="gold"/>
        <nvpair id="s2" name="mood" value="happy"/></instance_attributes></transient_attributes>)"));
    CHECK(transient.size() == 2);
    context.transient = &transient;
    read = resource_meta(configuration, context);
    CHECK(value(read.meta, "outpost-cpu-quota") == "50%");   // crm_resource: 50%
    CHECK(value(read.meta, "outpost-memory-max") == "64M");  // only transient: 64M
    CHECK(value(read.meta, "outpost-memory-high") == "(unset)");

    // Even the built-in ones give way (crm_resource sees a transient #kind, #uname too).
    transient.emplace("#kind", "odd");
    read = resource_meta(configuration, context);
    CHECK(value(read.meta, "outpost-memory-high") == "10M");

    // Without a node, no node attributes at all.
    context.node_name.clear();
    read = resource_meta(configuration, context);
    CHECK(value(read.meta, "outpost-cpu-quota") == "(no entry)");
}

TEST_CASE("a query's answer: one entry, several in an xpath-query, sets by score")
{
    NodeAttrs attrs = transient_attributes(xml(R"(<xpath-query>
        <transient_attributes id="g1"><instance_attributes id="a" score="1"><nvpair id="1" name="x" value="low"/>
        </instance_attributes><instance_attributes id="b" score="5"><nvpair id="2" name="x" value="high"/>
        </instance_attributes><instance_attributes id="c" score="9"><rule id="r"/><nvpair id="3" name="y" value="ruled"/>
        </instance_attributes></transient_attributes>
        <transient_attributes id="g1b"><instance_attributes id="d"><nvpair id="4" name="z" value="1"/>
        </instance_attributes></transient_attributes></xpath-query>)"));
    CHECK(attrs.size() == 2);
    CHECK(attrs["x"] == "high");
    CHECK(attrs["z"] == "1");
    CHECK(transient_attributes(xml("<lrm/>")).empty());
}

TEST_CASE("the XPath of a node's transient attributes")
{
    CHECK(transient_xpath("g1") == "/cib/status/node_state[@uname='g1']/transient_attributes");
    CHECK(transient_xpath("o'neil") == R"(/cib/status/node_state[@uname="o'neil"]/transient_attributes)");
    CHECK(transient_xpath(R"(a'b"c)").empty());
    CHECK(transient_xpath("").empty());
}

TEST_CASE("which change notifications may have touched this node's transient attributes")
{
    const std::vector<std::string> ids{"g1"};
    // Its own attribute set, changed, created, deleted (Pacemaker's and controld's forms).
    CHECK(may_touch_transient(notify(R"(<change operation="modify"
        path="/cib/status/node_state[@id='g1']/transient_attributes[@id='g1']/instance_attributes[@id='status-g1']/nvpair[@id='status-g1-tier']"/>)"),
                              ids));
    CHECK(may_touch_transient(notify(R"(<change operation="create" position="0"
        path="/cib/status/node_state[@id='g1']/transient_attributes[@id='g1']/instance_attributes[@id='status-g1']"><nvpair id="n" name="tier" value="gold"/></change>)"),
                              ids));
    CHECK(may_touch_transient(notify(R"(<change operation="create" path="/cib/status/node_state[@id='g1']"
        position="0"><transient_attributes id="g1"/></change>)"),
                              ids));
    CHECK(may_touch_transient(
        notify(R"(<change operation="delete" path="/cib/status/node_state[@id='g1']"/>)"), ids));
    CHECK(may_touch_transient(notify(R"(<change operation="create" path="/cib/status" position="1">
        <node_state id="g1" uname="g1"/></change>)"),
                              ids));
    CHECK(may_touch_transient(
        notify(R"(<change operation="create" path="/cib" position="1"><status/></change>)"), ids));
    CHECK(may_touch_transient(xml(R"(<notify subt="cib_diff_notify"><diff format="1"/></notify>)"), ids));

    // Its operation history, its node_state's own attributes, another node, the root's counters.
    CHECK_FALSE(may_touch_transient(notify(R"(<change operation="create"
        path="/cib/status/node_state[@id='g1']/lrm[@id='g1']/lrm_resources/lrm_resource[@id='web']"><lrm_rsc_op id="web_last_0"/></change>
        <change operation="modify" path="/cib/status/node_state[@id='g1']"/>
        <change operation="create" path="/cib/status/node_state[@id='g1']" position="1"><lrm id="g1"/></change>
        <change operation="modify" path="/cib"/>)"),
                                    ids));
    CHECK_FALSE(may_touch_transient(notify(R"(<change operation="modify"
        path="/cib/status/node_state[@id='1']/transient_attributes[@id='1']/instance_attributes[@id='status-1']/nvpair[@id='x']"/>
        <change operation="delete" path="/cib/status/node_state[@id='g10']"/>
        <change operation="create" path="/cib/status" position="2"><node_state id="2" uname="n2"/></change>)"),
                                    ids));
    // The configuration is the other question's.
    CHECK_FALSE(may_touch_transient(
        notify(R"(<change operation="delete" path="/cib/configuration/resources/primitive[@id='web']"/>)"),
        ids));
    // The node_state's id as the answer named it.
    CHECK(may_touch_transient(notify(R"(<change operation="delete"
        path="/cib/status/node_state[@id='uuid-7']/transient_attributes[@id='uuid-7']"/>)"),
                              {"g1", "uuid-7"}));
}
