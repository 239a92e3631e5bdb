// rsc_defaults and rules in the resources' meta_attributes sets, with the outcomes real
// Pacemaker 2.1.5 gives: each case was first run through `CIB_file=... crm_resource
// --resource R --meta --get-parameter NAME` on the same configuration (docs/isolation.md,
// "Rules"), quirks included (an rsc_expression without provider, defaults a group matched).
#include <catch2/catch.hpp>

#include "cibfollow/resource_meta.hpp"
#include "cibfollow/rules.hpp"
#include "support/wire_xml.hpp"

using namespace outpost;
using outpost::test::xml;
using namespace outpost::agent::cibfollow;

namespace {

std::string value(const ResourceMeta& r, const std::string& id, const std::string& name)
{
    auto it = r.meta.find(id);
    if (it == r.meta.end()) return "(no entry)";
    const std::string* v = it->second.find(name);
    return v == nullptr ? "(unset)" : *v;
}

util::EpochSeconds at(const char* when)
{
    auto t = util::parse_datetime(when);
    REQUIRE(t);
    return *t;
}

MetaContext context(const char* when, std::string node = {})
{
    MetaContext c;
    c.now = at(when);
    c.node_name = std::move(node);
    return c;
}

// The resources every case shares: an ocf:pacemaker:Dummy, one from a template, an LSB
// service (no provider) and a Dummy in a group.
std::string configuration(const std::string& defaults, const std::string& extra = {})
{
    return R"(<configuration><crm_config/>
      <nodes><node id="1" uname="node1"><instance_attributes id="n1"><nvpair id="n1a" name="tier" value="gold"/>
        </instance_attributes></node></nodes>
      <resources>
        <template id="tpl" class="ocf" provider="pacemaker" type="Dummy"/>
        <primitive id="q" class="ocf" provider="pacemaker" type="Dummy">)" +
           extra + R"(</primitive>
        <primitive id="p" template="tpl"/>
        <primitive id="l" class="lsb" type="foo"/>
        <group id="g"><primitive id="gp" class="ocf" provider="pacemaker" type="Dummy"/></group>
      </resources><constraints/>
      <rsc_defaults>)" +
           defaults + R"(</rsc_defaults></configuration>)";
}

}  // namespace

TEST_CASE("rsc_defaults: every resource, beneath its own, template and group values")
{
    auto r = resource_meta(xml(R"(<cib><configuration><resources>
        <template id="tpl" class="ocf" provider="pacemaker" type="Dummy">
          <meta_attributes id="t"><nvpair id="t1" name="outpost-cpu-weight" value="300"/></meta_attributes></template>
        <primitive id="a" template="tpl">
          <meta_attributes id="a-m"><nvpair id="a1" name="outpost-tasks-max" value="10"/></meta_attributes></primitive>
        <group id="g"><meta_attributes id="g-m"><nvpair id="g1" name="outpost-memory-max" value="1G"/></meta_attributes>
          <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></group>
      </resources>
      <rsc_defaults><meta_attributes id="d"><nvpair id="d1" name="outpost-memory-high" value="40M"/>
        <nvpair id="d2" name="outpost-memory-max" value="64M"/><nvpair id="d3" name="outpost-tasks-max" value="99"/>
        <nvpair id="d4" name="outpost-cpu-weight" value="1"/><nvpair id="d5" name="resource-stickiness" value="1"/>
      </meta_attributes></rsc_defaults></configuration></cib>)"));
    CHECK(value(r, "a", "outpost-memory-high") == "40M");
    CHECK(value(r, "a", "outpost-tasks-max") == "10");    // own
    CHECK(value(r, "a", "outpost-cpu-weight") == "300");  // template
    CHECK(value(r, "a", "outpost-memory-max") == "64M");
    CHECK(value(r, "b", "outpost-memory-max") == "1G");  // group
    CHECK(value(r, "b", "outpost-memory-high") == "40M");
    CHECK(value(r, "b", "resource-stickiness") == "(unset)");
    CHECK(r.skipped.empty());
    CHECK_FALSE(r.next_change);
}

TEST_CASE("rsc_expression: class, provider and type of the resource, as 2.1.5 matches them")
{
    auto defaults = [](const std::string& expr) {
        return configuration(
            R"(<meta_attributes id="all"><nvpair id="a1" name="outpost-memory-max" value="all"/></meta_attributes>
          <meta_attributes id="ruled" score="10"><rule id="r" score="0"><rsc_expression id="e" )" +
            expr + R"(/></rule><nvpair id="r1" name="outpost-memory-max" value="ruled"/></meta_attributes>)");
    };
    auto r = resource_meta(xml(defaults(R"(class="ocf" provider="pacemaker" type="Dummy")")),
                           context("2026-12-06"));
    CHECK(value(r, "q", "outpost-memory-max") == "ruled");
    CHECK(value(r, "p", "outpost-memory-max") == "ruled");   // the template's agent
    CHECK(value(r, "gp", "outpost-memory-max") == "ruled");  // the group does not match: its child does
    CHECK(value(r, "l", "outpost-memory-max") == "all");
    // Without provider an expression matches only resources without one (2.1.5).
    r = resource_meta(xml(defaults(R"(class="ocf" type="Dummy")")));
    CHECK(value(r, "q", "outpost-memory-max") == "all");
    r = resource_meta(xml(defaults(R"(class="ocf")")));
    CHECK(value(r, "q", "outpost-memory-max") == "all");
    r = resource_meta(xml(defaults(R"(provider="pacemaker")")));
    CHECK(value(r, "q", "outpost-memory-max") == "ruled");
    CHECK(value(r, "l", "outpost-memory-max") == "all");
    r = resource_meta(xml(defaults(R"(class="lsb")")));
    CHECK(value(r, "l", "outpost-memory-max") == "ruled");
    CHECK(value(r, "q", "outpost-memory-max") == "all");
    // Case counts.
    r = resource_meta(xml(defaults(R"(class="ocf" provider="pacemaker" type="dummy")")));
    CHECK(value(r, "q", "outpost-memory-max") == "all");
    // A default the group matched does not pass down: its child evaluates its own.
    r = resource_meta(xml(defaults("")));
    CHECK(value(r, "gp", "outpost-memory-max") == "all");
    CHECK(value(r, "l", "outpost-memory-max") == "ruled");
}

TEST_CASE("date expressions, nested rules and or; the next time an outcome changes")
{
    auto r = resource_meta(xml(configuration(R"(
      <meta_attributes id="x1"><rule id="x1r"><date_expression id="x1e" operation="in_range" start="2020-01-01">
        <duration id="x1d" years="100"/></date_expression></rule><nvpair id="x1n" name="outpost-a" value="in"/></meta_attributes>
      <meta_attributes id="x2"><rule id="x2r"><date_expression id="x2e" operation="in_range" end="2000-01-01"/></rule>
        <nvpair id="x2n" name="outpost-b" value="in"/></meta_attributes>
      <meta_attributes id="x3"><rule id="x3r"><date_expression id="x3e" operation="date_spec"><date_spec id="x3s" years="2000-2100"/>
        </date_expression></rule><nvpair id="x3n" name="outpost-c" value="in"/></meta_attributes>
      <meta_attributes id="x4"><rule id="x4r" boolean-op="or"><rsc_expression id="x4a" class="lsb"/>
        <date_expression id="x4b" operation="lt" end="2000-01-01"/></rule><nvpair id="x4n" name="outpost-d" value="or"/></meta_attributes>
      <meta_attributes id="x5"><rule id="x5r"><rule id="x5i" boolean-op="or"><rsc_expression id="x5a" class="lsb"/>
        <rsc_expression id="x5b" class="ocf" provider="pacemaker" type="Dummy"/></rule>
        <date_expression id="x5c" operation="gt" start="2027-01-01"/></rule><nvpair id="x5n" name="outpost-e" value="nested"/></meta_attributes>
      <meta_attributes id="x6"><rule id="x6r"><op_expression id="x6o" name="start"/></rule>
        <nvpair id="x6n" name="outpost-f" value="op"/></meta_attributes>)")),
                           context("2026-12-06 10:00:00Z"));
    CHECK(value(r, "q", "outpost-a") == "in");
    CHECK(value(r, "q", "outpost-b") == "(unset)");
    CHECK(value(r, "q", "outpost-c") == "in");
    CHECK(value(r, "q", "outpost-d") == "(unset)");
    CHECK(value(r, "l", "outpost-d") == "or");
    CHECK(value(r, "q", "outpost-e") == "(unset)");  // not yet
    CHECK(value(r, "q", "outpost-f") == "(unset)");  // no operation: never
    CHECK(r.skipped.empty());
    // The gt turns on a second after its start; the date_spec on years at the next midnight.
    REQUIRE(r.next_change);
    CHECK(*r.next_change == at("2026-12-07"));

    r = resource_meta(xml(configuration(R"(<meta_attributes id="x5"><rule id="x5r">
        <date_expression id="x5c" operation="gt" start="2027-01-01"/></rule><nvpair id="x5n" name="outpost-e" value="on"/>
        </meta_attributes>)")),
                      context("2027-01-01 00:00:01Z"));
    CHECK(value(r, "gp", "outpost-e") == "on");
    CHECK_FALSE(r.next_change);
}

TEST_CASE("node attributes: against the agent's node when it knows its name, else never")
{
    std::string own = R"(
      <meta_attributes id="m-gold" score="10"><rule id="r1"><expression id="e1" attribute="tier" operation="eq" value="gold"/>
        </rule><nvpair id="m1" name="outpost-cpu-quota" value="gold"/></meta_attributes>
      <meta_attributes id="m-nd" score="5"><rule id="r2"><expression id="e2" attribute="tier" operation="not_defined"/>
        </rule><nvpair id="m2" name="outpost-x-notdef" value="yes"/></meta_attributes>
      <meta_attributes id="m-ne" score="4"><rule id="r3"><expression id="e3" attribute="tier" operation="ne" value="gold"/>
        </rule><nvpair id="m3" name="outpost-x-ne" value="yes"/></meta_attributes>
      <meta_attributes id="m-lt" score="3"><rule id="r4"><expression id="e4" attribute="tier" operation="lt" value="5"/>
        </rule><nvpair id="m4" name="outpost-x-lt" value="yes"/></meta_attributes>
      <meta_attributes id="m-un" score="2"><rule id="r5"><expression id="e5" attribute="#uname" operation="eq" value="node1"/>
        </rule><nvpair id="m5" name="outpost-x-uname" value="yes"/></meta_attributes>
      <meta_attributes id="m-kind" score="2"><rule id="r6"><expression id="e6" attribute="#kind" operation="eq" value="remote"/>
        </rule><nvpair id="m6" name="outpost-x-kind" value="yes"/></meta_attributes>
      <meta_attributes id="m-base"><nvpair id="m7" name="outpost-cpu-quota" value="base"/></meta_attributes>)";
    auto cib = xml(configuration("", own));
    // crm_resource on a resource active nowhere: every node-attribute expression is false.
    auto none = resource_meta(cib, context("2026-12-06"));
    CHECK(value(none, "q", "outpost-cpu-quota") == "base");
    for (const char* name :
         {"outpost-x-notdef", "outpost-x-ne", "outpost-x-lt", "outpost-x-uname", "outpost-x-kind"})
        CHECK(value(none, "q", name) == "(unset)");
    // Active on node1 (tier=gold): crm_resource shows gold and #uname, nothing else.
    auto on = resource_meta(cib, context("2026-12-06", "node1"));
    CHECK(value(on, "q", "outpost-cpu-quota") == "gold");
    CHECK(value(on, "q", "outpost-x-uname") == "yes");
    CHECK(value(on, "q", "outpost-x-kind") == "yes");
    CHECK(value(on, "q", "outpost-x-notdef") == "(unset)");
    CHECK(value(on, "q", "outpost-x-ne") == "(unset)");
    CHECK(value(on, "q", "outpost-x-lt") == "(unset)");  // "gold" < "5": neither integer, compared as text
    // A node the CIB has no entry for: its attributes are undefined.
    auto other = resource_meta(cib, context("2026-12-06", "guest9"));
    CHECK(value(other, "q", "outpost-cpu-quota") == "base");
    CHECK(value(other, "q", "outpost-x-notdef") == "yes");
    CHECK(value(other, "q", "outpost-x-ne") == "yes");
}

TEST_CASE("attribute comparisons: integer, number, version, string")
{
    NodeAttrs node{{"n", "10"}, {"f", "2.5"}, {"v", "3.0.13"}, {"s", "Alpha"}};
    auto check = [&](const std::string& expr) {
        auto rule = xml(R"(<rule id="r">)" + expr + "</rule>");
        IdIndex ids(rule);
        RuleTarget target;
        target.node = &node;
        RuleEvaluator evaluator(ids, target);
        RuleResult result = evaluator.rule(rule);
        REQUIRE(result.outcome != Outcome::unknown);
        return result.outcome == Outcome::holds;
    };
    CHECK(check(R"(<expression id="e" attribute="n" operation="gt" value="9"/>)"));   // integer, not text
    CHECK(check(R"(<expression id="e" attribute="f" operation="lt" value="10"/>)"));  // a '.': number
    CHECK(check(R"(<expression id="e" attribute="n" operation="gt" value="9" type="string"/>)") == false);
    CHECK(check(R"(<expression id="e" attribute="v" operation="gt" value="3.0.9" type="version"/>)"));
    CHECK(check(R"(<expression id="e" attribute="s" operation="eq" value="alpha"/>)"));  // case-insensitive
    CHECK(check(R"(<expression id="e" attribute="s" operation="lte" value="beta"/>)"));
    CHECK(check(R"(<expression id="e" attribute="missing" operation="lt" value="beta"/>)") == false);
    CHECK(check(R"(<expression id="e" attribute="n" operation="defined"/>)"));
    CHECK(check("") == true);                                    // an empty "and" rule holds
    CHECK(check(R"(<rule id="o" boolean-op="or"/>)") == false);  // an empty "or" does not
}

TEST_CASE("a rule not understood leaves its set out, says why, and never crashes")
{
    std::string nested;
    for (int i = 0; i < 40; ++i)
        nested += "<rule id=\"n" + std::to_string(i) + "\">";
    for (int i = 0; i < 40; ++i)
        nested += "</rule>";
    const std::pair<const char*, std::string> cases[] = {
        {"operation 'matches'",
         R"(<rule id="r"><expression id="e" attribute="a" operation="matches" value="x"/></rule>)"},
        {"type 'float'",
         R"(<rule id="r"><expression id="e" attribute="a" operation="eq" value="x" type="float"/></rule>)"},
        {"boolean-op 'xor'", R"(<rule id="r" boolean-op="xor"><rsc_expression id="e" class="ocf"/></rule>)"},
        {"operation 'sometimes'",
         R"(<rule id="r"><date_expression id="d" operation="sometimes" start="2020-01-01"/></rule>)"},
        {"start 'yesterday'",
         R"(<rule id="r"><date_expression id="d" operation="gt" start="yesterday"/></rule>)"},
        {"in_range without start or end", R"(<rule id="r"><date_expression id="d"/></rule>)"},
        {"date_spec missing", R"(<rule id="r"><date_expression id="d" operation="date_spec"/></rule>)"},
        {"moon",
         R"(<rule id="r"><date_expression id="d" operation="date_spec"><date_spec id="s" moon="1"/></date_expression></rule>)"},
        {"hours='9-x'",
         R"(<rule id="r"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="9-x"/></date_expression></rule>)"},
        {"not a rule expression", R"(<rule id="r"><node_expression id="x"/></rule>)"},
        {"no such rule", R"(<rule id-ref="nowhere"/>)"},
        {"nested deeper", "<rule id=\"top\">" + nested + "</rule>"},
    };
    for (const auto& [why, rule] : cases) {
        INFO(rule);
        auto r = resource_meta(
            xml(configuration(
                R"(<meta_attributes id="base"><nvpair id="b" name="outpost-memory-max" value="base"/></meta_attributes>
          <meta_attributes id="odd" score="10">)" +
                rule + R"(<nvpair id="o" name="outpost-memory-max" value="odd"/></meta_attributes>)")),
            context("2026-12-06"));
        CHECK(value(r, "q", "outpost-memory-max") == "base");
        CHECK_THAT(r.skipped, Catch::Contains("rsc_defaults meta_attributes odd (rule not understood") &&
                                  Catch::Contains(why));
    }
}

TEST_CASE("id-refs to rules and expressions")
{
    auto r = resource_meta(xml(configuration(
        R"(<meta_attributes id="a"><rule id="shared"><rsc_expression id="lsb" class="lsb"/></rule>
          <nvpair id="a1" name="outpost-tasks-max" value="7"/></meta_attributes>
        <meta_attributes id="b"><rule id-ref="shared"/><nvpair id="b1" name="outpost-cpu-weight" value="7"/></meta_attributes>)")));
    CHECK(value(r, "l", "outpost-tasks-max") == "7");
    CHECK(value(r, "l", "outpost-cpu-weight") == "7");
    CHECK(r.meta.count("q") == 0);
}
