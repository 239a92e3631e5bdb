// The resources' outpost-* meta attributes from CIB XML as Pacemaker reads them: a
// primitive's own value over its template's, group's, clone's and bundle's; sets by score;
// dangling references skipped; which diff notifications are about the
// configuration; and how the table meets an operation's own parameters.
#include <catch2/catch.hpp>

#include "cibfollow/resource_meta.hpp"
#include "isolation/limits.hpp"
#include "support/wire_xml.hpp"

using namespace outpost;
using outpost::test::xml;
using namespace outpost::agent;
using namespace outpost::agent::cibfollow;

namespace {

std::string value(const isolation::ClusterMeta& meta, const std::string& id, const std::string& name)
{
    auto it = meta.find(id);
    if (it == meta.end()) return "(no entry)";
    const std::string* v = it->second.find(name);
    return v == nullptr ? "(unset)" : *v;
}

}  // namespace

TEST_CASE("a primitive's own meta attributes; other names and resources without any are left out")
{
    auto r = resource_meta(xml(R"(<resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="apache">
        <instance_attributes id="web-ia"><nvpair id="a" name="outpost-memory-max" value="1G"/></instance_attributes>
        <meta_attributes id="web-meta">
          <nvpair id="b" name="outpost-cpu-quota" value="50%"/>
          <nvpair id="c" name="target-role" value="Started"/>
          <nvpair id="d" name="outpost-memory-max" value="256M"/>
        </meta_attributes>
      </primitive>
      <primitive id="db" class="ocf" provider="heartbeat" type="pgsql">
        <meta_attributes id="db-meta"><nvpair id="e" name="resource-stickiness" value="100"/></meta_attributes>
      </primitive>
    </resources>)"));
    REQUIRE(r.meta.size() == 1);
    CHECK(value(r.meta, "web", "outpost-cpu-quota") == "50%");
    CHECK(value(r.meta, "web", "outpost-memory-max") == "256M");  // meta, not the instance attribute
    CHECK(value(r.meta, "web", "target-role") == "(unset)");
    CHECK(r.skipped.empty());
}

TEST_CASE("inheritance: own over template over group over clone, each level passing down")
{
    auto r = resource_meta(xml(R"(<cib><configuration><resources>
      <template id="tpl" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="tpl-m"><nvpair id="t1" name="outpost-tasks-max" value="10"/>
          <nvpair id="t2" name="outpost-cpu-weight" value="300"/></meta_attributes>
      </template>
      <clone id="c">
        <meta_attributes id="c-m"><nvpair id="c1" name="outpost-memory-max" value="1G"/>
          <nvpair id="c2" name="outpost-cpu-quota" value="200%"/>
          <nvpair id="c3" name="outpost-tasks-max" value="99"/></meta_attributes>
        <group id="g">
          <meta_attributes id="g-m"><nvpair id="g1" name="outpost-memory-max" value="512M"/></meta_attributes>
          <primitive id="a" template="tpl">
            <meta_attributes id="a-m"><nvpair id="a1" name="outpost-cpu-weight" value="50"/></meta_attributes>
          </primitive>
          <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
        </group>
      </clone>
      <bundle id="bun">
        <docker image="x"/>
        <meta_attributes id="bun-m"><nvpair id="u1" name="outpost-io-weight" value="20"/></meta_attributes>
        <primitive id="inner" class="ocf" provider="heartbeat" type="Dummy"/>
      </bundle>
      <primitive id="plain" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources></configuration><status/></cib>)"));
    CHECK(value(r.meta, "a", "outpost-cpu-weight") == "50");    // its own
    CHECK(value(r.meta, "a", "outpost-tasks-max") == "10");     // its template's, over the clone's
    CHECK(value(r.meta, "a", "outpost-memory-max") == "512M");  // the group's, over the clone's
    CHECK(value(r.meta, "a", "outpost-cpu-quota") == "200%");   // the clone's
    CHECK(value(r.meta, "b", "outpost-memory-max") == "512M");
    CHECK(value(r.meta, "b", "outpost-tasks-max") == "99");
    CHECK(value(r.meta, "b", "outpost-cpu-weight") == "(unset)");
    CHECK(value(r.meta, "inner", "outpost-io-weight") == "20");
    CHECK(r.meta.count("plain") == 0);
    CHECK(r.meta.count("tpl") == 0);  // a template is not a resource
    CHECK(r.meta.count("g") == 0);
}

TEST_CASE("several sets: by score, then as written; dangling references skipped")
{
    auto r = resource_meta(xml(R"(<resources>
      <primitive id="p" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="low"><nvpair id="1" name="outpost-memory-max" value="1M"/>
          <nvpair id="2" name="outpost-tasks-max" value="5"/></meta_attributes>
        <meta_attributes id="high" score="10"><nvpair id="3" name="outpost-memory-max" value="2M"/></meta_attributes>
        <meta_attributes id="ruled" score="INFINITY"><rule id="r" boolean-op="and"/>
          <nvpair id="4" name="outpost-memory-max" value="3M"/></meta_attributes>
        <meta_attributes id-ref="shared"/>
        <meta_attributes id-ref="missing"/>
      </primitive>
      <primitive id="q" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="shared"><nvpair id="5" name="outpost-cpu-quota" value="10%"/></meta_attributes>
      </primitive>
    </resources>)"));
    CHECK(value(r.meta, "p", "outpost-memory-max") == "3M");  // an empty "and" rule holds
    CHECK(value(r.meta, "p", "outpost-tasks-max") == "5");
    CHECK(value(r.meta, "p", "outpost-cpu-quota") == "10%");
    CHECK(value(r.meta, "q", "outpost-cpu-quota") == "10%");
    CHECK(r.skipped == "meta_attributes id-ref missing (no such set)");
}

TEST_CASE("no resources section, an empty one")
{
    CHECK(resource_meta(xml("<cib_calldata/>")).meta.empty());
    CHECK(resource_meta(xml("<resources/>")).meta.empty());
}

TEST_CASE("which diff notifications may have changed the configuration")
{
    auto notify = [](const std::string& diff) {
        return xml(R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result>)" + diff +
                   "</cib_update_result></notify>");
    };
    // An operation's result recorded: status only, and the root's counters.
    CHECK_FALSE(may_touch_configuration(notify(R"(<diff format="2">
        <change operation="modify" path="/cib"><change-list/></change>
        <change operation="create" path="/cib/status/node_state[@id='g1']/lrm" position="0"><lrm id="g1"/></change>
        <change operation="delete" path="/cib/status/node_state[@id='g1']/transient_attributes"/>
      </diff>)")));
    CHECK_FALSE(may_touch_configuration(notify(
        R"(<diff format="2"><change operation="create" path="/cib" position="1"><status/></change></diff>)")));
    // pcs resource meta: a change beneath the configuration.
    CHECK(may_touch_configuration(notify(R"(<diff format="2">
        <change operation="modify" path="/cib"/>
        <change operation="create" path="/cib/configuration/resources/primitive[@id='web']" position="1">
          <meta_attributes id="web-meta_attributes"/></change></diff>)")));
    // controld's coarse patchsets: whole sections.
    CHECK(may_touch_configuration(notify(R"(<diff format="2">
        <change operation="delete" path="/cib/configuration"/>
        <change operation="create" path="/cib" position="0"><configuration/></change></diff>)")));
    // Anything not understood: read again.
    CHECK(may_touch_configuration(notify(R"(<diff format="1"><diff-added/></diff>)")));
    CHECK(may_touch_configuration(notify("")));
    CHECK(may_touch_configuration(notify(R"(<diff format="2"><change path="/cib/status"/></diff>)")));
}

TEST_CASE("the table meets an operation: clone instances, the operation's own values win")
{
    isolation::ClusterMeta meta;
    meta["web"].insert("outpost-memory-max", "256M");
    meta["web"].insert("outpost-cpu-quota", "50%");
    CHECK(isolation::meta_for(meta, "web") == &meta["web"]);
    CHECK(isolation::meta_for(meta, "web:3") == &meta["web"]);
    CHECK(isolation::meta_for(meta, "web:x") == nullptr);
    CHECK(isolation::meta_for(meta, "web:") == nullptr);
    CHECK(isolation::meta_for(meta, "db") == nullptr);

    wire::ParamMap op;
    op.insert("state", "/run/x");
    op.insert("CRM_meta_timeout", "20000");
    op.insert("outpost-memory-max", "1G");  // an instance attribute: wins
    auto merged = isolation::with_cluster_meta(op, isolation::meta_for(meta, "web:0"));
    CHECK_FALSE(merged.contains("state"));
    auto limits = isolation::parse(merged);
    REQUIRE(limits.ok());
    CHECK(limits->memory_max == 1ULL << 30);
    CHECK(limits->cpu_quota_us == 50000);

    wire::ParamMap op_meta;
    op_meta.insert("CRM_meta_outpost_cpu_quota", "20%");  // the operation's meta: wins too
    auto l2 = isolation::parse(isolation::with_cluster_meta(op_meta, &meta["web"]));
    REQUIRE(l2.ok());
    CHECK(l2->cpu_quota_us == 20000);
    CHECK(l2->memory_max == 256ULL << 20);

    // A bad value from the CIB is refused like one in the operation.
    isolation::ClusterMeta bad;
    bad["web"].insert("outpost-memory-mx", "1G");
    auto refused = isolation::parse(isolation::with_cluster_meta({}, &bad["web"]));
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("unknown attribute outpost-memory-mx"));
}
