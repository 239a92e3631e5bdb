// The policy engine's building blocks: scores, times, digests, sparse node scores, and the
// CIB limits and refusals (a CIB the engine does not support is an error naming the element,
// never a different transition).
#include <catch.hpp>
#include <cerrno>

#include "policy/digest.hpp"
#include "policy/scores.hpp"
#include "policy/time.hpp"
#include "policy/unpack.hpp"
#include "policy/utilization.hpp"
#include "policy/xml.hpp"
#include "policy_fixture.hpp"

using namespace outpost::cluster::policy;
using policy_test::cib;
using policy_test::error_of;

TEST_CASE("scores: INFINITY spellings, saturation, +INFINITY + -INFINITY = -INFINITY")
{
    CHECK(parse_score("INFINITY") == kInfinity);
    CHECK(parse_score("+INFINITY") == kInfinity);
    CHECK(parse_score("-INFINITY") == -kInfinity);
    CHECK(parse_score("2000000") == kInfinity);
    CHECK(parse_score("-42") == -42);
    CHECK(add_scores(kInfinity, 5) == kInfinity);
    CHECK(add_scores(kInfinity, -kInfinity) == -kInfinity);
    CHECK(add_scores(999999, 5) == kInfinity);
    CHECK(score_text(-kInfinity) == "-INFINITY");
    CHECK(score_text(7) == "7");
}

TEST_CASE("time: intervals, ISO 8601 date-times and durations")
{
    CHECK(parse_interval_ms("10s") == 10000);
    CHECK(parse_interval_ms("10") == 10000);
    CHECK(parse_interval_ms("1m") == 60000);
    CHECK(parse_interval_ms("500ms") == 500);
    CHECK(parse_interval_ms("PT1M30S") == 90000);
    CHECK_FALSE(parse_interval_ms("soon").has_value());
    auto t = parse_datetime("2023-11-14T22:13:20Z");
    REQUIRE(t);
    CHECK(*t == 1700000000);
    CHECK(format_datetime(1700000000) == "2023-11-14 22:13:20Z");
}

TEST_CASE("digest: the MD5 of Pacemaker's <parameters/> serialisation")
{
    // What crm_simulate records for an operation of a resource without parameters.
    CHECK(parameters_digest({}) == "f2317cad3d54cec5d7d7aa7d0bf35cf8");
    CHECK(parameters_digest({{"a", "1"}}) != parameters_digest({{"a", "2"}}));
}

TEST_CASE("node scores: sparse entries over per-class defaults")
{
    NodeScores s;
    s.set_class_default(false, 0);            // cluster nodes allowed at 0
    s.set_class_default(true, std::nullopt);  // remote nodes not allowed
    CHECK(s.get(3, false) == 0);
    CHECK_FALSE(s.get(4, true).has_value());
    s.add(3, false, 100);
    CHECK(s.get(3, false) == 100);
    s.add(4, true, 5);  // allowed by the addition
    CHECK(s.get(4, true) == 5);
    s.disallow(3, false);
    CHECK_FALSE(s.allowed(3, false));
    CHECK(s.get(2, false) == 0);
    s.add(3, false, 7);  // a disallowed node is allowed again by an addition
    CHECK(s.get(3, false) == 7);
}

TEST_CASE("xml limits: too deep, DOCTYPE, malformed input are errors")
{
    std::string deep;
    for (int i = 0; i < xml::kMaxDepth + 5; ++i)
        deep += "<a>";
    for (int i = 0; i < xml::kMaxDepth + 5; ++i)
        deep += "</a>";
    CHECK_FALSE(xml::parse(deep));
    CHECK_FALSE(xml::parse("<!DOCTYPE cib [<!ENTITY x \"y\">]><cib/>"));
    CHECK_FALSE(xml::parse("<cib><configuration>"));
    CHECK_FALSE(xml::parse(""));
    CHECK(xml::parse("<cib/>"));
    // Counted before libxml2 builds the tree: a flood is refused by the scan.
    std::string flood = "<cib";
    for (int i = 0; i < 100000; ++i)
        flood += " a" + std::to_string(i) + "=\"\"";
    flood += "/>";
    auto refused = xml::parse(flood);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == -E2BIG);
}

TEST_CASE("refusals: bundles, templates, tickets, unknown elements")
{
    const std::string dummy = "<primitive id=\"d\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    CHECK(
        error_of(cib(1, "<bundle id=\"b1\"><docker image=\"x\"/></bundle>")).find("unsupported: bundle b1") !=
        std::string::npos);
    CHECK(error_of(cib(1, "<template id=\"t1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"))
              .find("unsupported: template t1") != std::string::npos);
    CHECK(error_of(cib(1, dummy, "<rsc_ticket id=\"tk\" rsc=\"d\" ticket=\"T\"/>"))
              .find("unsupported: rsc_ticket tk") != std::string::npos);
    CHECK(error_of(cib(1, dummy + "<gizmo id=\"g1\"/>")).find("unsupported") != std::string::npos);
    // (Placement strategies are modelled: utilization.hpp.)
    CHECK(
        error_of(cib(1, dummy, {}, {}, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"balanced\"/>"))
            .empty());
    CHECK(error_of(cib(1, dummy)).empty());
}

TEST_CASE("refusals: an id longer than the limit is an error")
{
    const std::string id(kMaxIdLength + 1, 'x');
    CHECK_FALSE(
        error_of(cib(1, "<primitive id=\"" + id + "\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"))
            .empty());
}

TEST_CASE("orderings and colocations with cycles do not hang")
{
    const std::string rsc =
        "<primitive id=\"a\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
        "<primitive id=\"b\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
    const std::string cons =
        "<rsc_order id=\"o1\" first=\"a\" then=\"b\"/><rsc_order id=\"o2\" first=\"b\" then=\"a\"/>"
        "<rsc_colocation id=\"c1\" rsc=\"a\" with-rsc=\"b\" score=\"INFINITY\"/>"
        "<rsc_colocation id=\"c2\" rsc=\"b\" with-rsc=\"a\" score=\"INFINITY\"/>";
    CHECK(error_of(cib(2, rsc, cons)).empty());
}

TEST_CASE("utilization tables iterate in GLib's order for Pacemaker's string hash (crm_simulate -U)")
{
    auto order = [](const std::vector<std::string>& keys) {
        Utilization u;
        for (std::size_t i = 0; i < keys.size(); ++i)
            u.set(keys[i], std::to_string(i));
        std::string text;
        for (const auto& [k, v] : u.entries()) {
            text += ' ';
            text += k;
            text += '=';
            text += v;
        }
        return text;
    };
    // As crm_simulate 2.1.5 printed these node capacities.
    CHECK(order({"a", "b", "c", "d", "e"}) == " b=1 d=3 a=0 c=2 e=4");
    CHECK(order({"cpu", "mem", "disk"}) == " cpu=0 mem=1 disk=2");
    std::vector<std::string> twenty;
    twenty.reserve(20);
    for (int i = 0; i < 20; ++i)
        twenty.push_back("k" + std::to_string(i));  // two resizes on the way
    CHECK(order(twenty) ==
          " k0=0 k10=10 k13=13 k3=3 k6=6 k16=16 k9=9 k19=19 k1=1 k11=11 k4=4 k14=14 k7=7 k17=17 "
          "k2=2 k12=12 k5=5 k15=15 k8=8 k18=18");
    // A replaced value keeps its slot; names are case-sensitive.
    Utilization u;
    u.set("cpu", "4");
    u.set("CPU", "1");
    u.set("cpu", "8");
    REQUIRE(u.find("cpu") != nullptr);
    CHECK(*u.find("cpu") == "8");
    CHECK(*u.find("CPU") == "1");
}

TEST_CASE("U7: balanced's votes are not transitive: the head of GLib's merge sort in hash-table order wins")
{
    // node1 beats node2 (a tie, then the name), node2 beats node3 (a tie, the name), node3
    // beats node1 (disk and mem): crm_simulate 2.1.5 starts p on node2, where a linear
    // choice in name order takes node3.
    auto with_util = [](int i, const std::string& items) {
        const std::string id = std::to_string(i);
        return "<node id=\"" + id + "\" uname=\"node" + id + "\"><utilization id=\"u" + id + "\">" + items +
               "</utilization></node>";
    };
    auto item = [](int i, const std::string& name, int value) {
        return "<nvpair id=\"u" + std::to_string(i) + "-" + name + "\" name=\"" + name + "\" value=\"" +
               std::to_string(value) + "\"/>";
    };
    std::string text = policy_test::cib(
        3,
        "<primitive id=\"p\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><utilization id=\"pu\">"
        "<nvpair id=\"pu-d\" name=\"disk\" value=\"2\"/><nvpair id=\"pu-m\" name=\"mem\" value=\"2\"/>"
        "</utilization></primitive>",
        {}, {}, "<nvpair id=\"ps\" name=\"placement-strategy\" value=\"balanced\"/>");
    const std::string plain =
        "<node id=\"1\" uname=\"node1\"/><node id=\"2\" uname=\"node2\"/>"
        "<node id=\"3\" uname=\"node3\"/>";
    const auto at = text.find(plain);
    REQUIRE(at != std::string::npos);
    text.replace(at, plain.size(),
                 with_util(1, item(1, "cpu", 16) + item(1, "disk", 4) + item(1, "mem", 4)) +
                     with_util(2, item(2, "cpu", 8) + item(2, "disk", 4) + item(2, "mem", 16)) +
                     with_util(3, item(3, "disk", 8) + item(3, "mem", 16)));
    auto s = policy_test::schedule_cib(text);
    CHECK(s.in_graph("p_start_0", "node2"));
}

TEST_CASE("utilization: consuming, releasing and comparing capacities (utilization.hpp U1, U2, U5)")
{
    Utilization node, rsc, other;
    node.set("cpu", "4");
    node.set("mem", "junk");  // no digits: 0
    rsc.set("cpu", "3");
    rsc.set("disk", "2");
    CHECK(enough_capacity(node, Utilization{}));
    CHECK_FALSE(enough_capacity(node, rsc));  // no disk
    consume_capacity(node, rsc);
    CHECK(*node.find("cpu") == "1");
    CHECK(*node.find("disk") == "0");  // added as 0, not -2
    release_capacity(node, rsc);
    CHECK(*node.find("cpu") == "4");
    CHECK(*node.find("disk") == "2");
    other.set("cpu", "8");
    other.set("mem", "1");
    // node: cpu 4, mem 0, disk 2; other: cpu 8, mem 1 (disk 0): other wins 2 to 1.
    CHECK(compare_capacities(node, other) == 1);
    CHECK(compare_capacities(other, node) == -1);
    CHECK(utilization_value(nullptr) == 0);
    const std::string text = "12abc";
    CHECK(utilization_value(&text) == 12);
    CHECK(parse_placement_strategy("Balanced") == PlacementStrategy::balanced);
    CHECK(parse_placement_strategy("nonsense") == PlacementStrategy::default_);
}
