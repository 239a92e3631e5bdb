// Unfencing of nodes that already run resources and after a device changed (unfencing.cpp
// UF5-UF7). Each expectation was checked against crm_simulate 2.1.5 (the inputs unfence-* of
// tests/policy/inputs are the fuller cases).
#include <catch.hpp>

#include <algorithm>

#include "policy/digest.hpp"
#include "policy_fixture.hpp"

using namespace policy_test;

namespace {

// A one-node CIB (cib()) with fencing enabled.
std::string fenced_cib(const std::string& resources, const std::string& status)
{
    std::string text = cib(1, resources, {}, status);
    const std::string off = "name=\"stonith-enabled\" value=\"false\"";
    return text.replace(text.find(off), off.size(), "name=\"stonith-enabled\" value=\"true\"");
}

// fs provides unfencing (parameter ip=x), d1 a plain Dummy, and optionally fa, a device that
// does not provide unfencing (parameter ip=y).
std::string resources(bool with_fa = false)
{
    std::string fa;
    if (with_fa) {
        fa = "<primitive id=\"fa\" class=\"stonith\" type=\"fence_xvm\"><instance_attributes id=\"fa-i\">"
             "<nvpair id=\"fa-ip\" name=\"ip\" value=\"y\"/></instance_attributes></primitive>";
    }
    return fa +
           "<primitive id=\"fs\" class=\"stonith\" type=\"fence_xvm\"><meta_attributes id=\"fs-m\">"
           "<nvpair id=\"fs-p\" name=\"provides\" value=\"unfencing\"/></meta_attributes>"
           "<instance_attributes id=\"fs-i\"><nvpair id=\"fs-ip\" name=\"ip\" value=\"x\"/>"
           "</instance_attributes></primitive>"
           "<primitive id=\"d1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>";
}

std::string digest_of(const std::string& ip)
{
    return parameters_digest({{"ip", ip}});
}

// node1 with transient attributes and fs and d1 (and fa) started there.
std::string node1(const std::string& attrs, const std::string& fs_digest, const std::string& fa_digest = {})
{
    std::string lrm = history("fs", "start", 0, 0, "fence_xvm", "stonith", "", 10, fs_digest) +
                      history("d1", "start", 0, 0, "Dummy", "ocf", "pacemaker", 11);
    if (!fa_digest.empty()) lrm += history("fa", "start", 0, 0, "fence_xvm", "stonith", "", 12, fa_digest);
    std::string state = node_state(1, lrm);
    if (attrs.empty()) return state;
    const std::string transient = "<transient_attributes id=\"1\"><instance_attributes id=\"ta-1\">" + attrs +
                                  "</instance_attributes>"
                                  "</transient_attributes>";
    return state.insert(state.find("<lrm "), transient);
}

std::string attr(const std::string& name, const std::string& value)
{
    return "<nvpair id=\"ta-" + name + "\" name=\"" + name + "\" value=\"" + value + "\"/>";
}

// The node's attributes after an unfencing with fs's parameters ip=`ip`.
std::string unfenced_with(const std::string& ip, const std::string& secure_ip)
{
    return attr("#node-unfenced", "1700000000") +
           attr("#digests-all", "fs:fence_xvm:" + digest_of(ip) + ",") +
           attr("#digests-secure", "fs:fence_xvm:" + digest_of(secure_ip) + ",");
}

bool has_line(const Scheduled& s, const std::string& line)
{
    const auto lines = s.summary();
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("UF5: a node running resources when unfencing is configured is unfenced and they restart")
{
    auto s = schedule_cib(fenced_cib(resources(), node1({}, digest_of("x"))));
    INFO(s.summary_text());
    // fs's start (it stays) is the first to need the unfencing.
    CHECK(has_line(s, "Fence (on) node1 required by fs start"));
    CHECK(has_line(s, "Restart d1 (node1) due to required stonith"));
    CHECK(has_line(s, "Restart fs (node1) due to required stonith"));
    CHECK(s.ordered("d1_stop_0", "node1", "stonith-node1-on", "node1"));
    CHECK(s.ordered("stonith-node1-on", "node1", "d1_start_0", "node1"));
    // (A fence device requires no unfencing: only its start waits for it, not its stop.)
    CHECK_FALSE(s.ordered("fs_stop_0", "node1", "stonith-node1-on", "node1"));
    CHECK(s.ordered("stonith-node1-on", "node1", "fs_start_0", "node1"));
}

TEST_CASE("UF5: a node already unfenced with the devices' current digests keeps its resources")
{
    auto s = schedule_cib(fenced_cib(resources(), node1(unfenced_with("x", "x"), digest_of("x"))));
    INFO(s.summary_text());
    CHECK(s.summary().empty());
    CHECK_FALSE(s.in_graph("stonith-node1-on"));
}

TEST_CASE("UF6: a device changed since the node's unfencing unfences it again, unlisted, and restarts")
{
    // fs now has ip=x; node1 was unfenced when it had ip=old (and fs restarted since).
    auto s = schedule_cib(fenced_cib(resources(), node1(unfenced_with("old", "old"), digest_of("x"))));
    INFO(s.summary_text());
    CHECK(s.in_graph("stonith-node1-on", "node1"));
    // (No reason: crm_simulate lists no "Fence (on)" line for it.)
    CHECK(s.summary() == std::vector<std::string>{"Restart fs (node1) due to required stonith",
                                                  "Restart d1 (node1) due to required stonith"});
}

TEST_CASE("UF6: only private parameters changed, or no digests recorded: nothing to do")
{
    SECTION("the secure digest matches")
    {
        auto s = schedule_cib(fenced_cib(resources(), node1(unfenced_with("old", "x"), digest_of("x"))));
        INFO(s.summary_text());
        CHECK_FALSE(s.in_graph("stonith-node1-on"));
        CHECK(s.summary().empty());
        const auto& info = s.cluster->info_lines;
        CHECK(std::find(info.begin(), info.end(),
                        "Only 'private' parameters to fs for unfencing node1 changed") != info.end());
    }
    SECTION("#node-unfenced without digests")
    {
        auto s = schedule_cib(
            fenced_cib(resources(), node1(attr("#node-unfenced", "1700000000"), digest_of("x"))));
        INFO(s.summary_text());
        CHECK_FALSE(s.in_graph("stonith-node1-on"));
    }
}

TEST_CASE("UF7: a fence device whose definition changed unfences the node it runs on")
{
    // fa does not provide unfencing; its start ran with other parameters.
    auto s = schedule_cib(
        fenced_cib(resources(true), node1(unfenced_with("x", "x"), digest_of("x"), digest_of("old"))));
    INFO(s.summary_text());
    CHECK(has_line(s, "Fence (on) node1 Device parameters changed"));
    CHECK(has_line(s, "Restart fa (node1) due to resource definition change"));
    CHECK(has_line(s, "Restart d1 (node1) due to required stonith"));
}
