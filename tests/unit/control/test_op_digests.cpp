// The meta-data digests of an operation record (control/op_digests.hpp), against what a
// real 2.1.5 cluster wrote for ocf:pacemaker:Dummy (2026-12-07): its start with fake=a,
// op_sleep=4, the same after `state` was set, and its 10 s monitor.
#include <catch2/catch.hpp>

#include "control/op_digests.hpp"
#include "policy/digest.hpp"

using namespace outpost::cluster::control;

namespace {

// The parts of Dummy's meta-data (resource-agents 4.12 / pacemaker 2.1.5) that count.
constexpr const char* kDummy = R"(<?xml version="1.0"?>
<resource-agent name="Dummy" version="2.0">
<version>1.1</version>
<parameters>
<parameter name="state" unique-group="state"><content type="string"/></parameter>
<parameter name="passwd" reloadable="1"><content type="string"/></parameter>
<parameter name="fake" reloadable="1"><content type="string"/></parameter>
<parameter name="op_sleep" reloadable="1"><content type="string"/></parameter>
<parameter name="fail_start_on" reloadable="1"><content type="string"/></parameter>
<parameter name="envfile" reloadable="1"><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="reload-agent" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
</actions>
</resource-agent>
)";

}  // namespace

TEST_CASE("meta-data: reloadable and private parameters", "[control][digests]")
{
    auto agent = parse_agent_metadata(kDummy);
    REQUIRE(agent);
    CHECK(agent->reload_agent);
    CHECK(agent->restart == std::vector<std::string>{"state"});
    CHECK(agent->secure == std::vector<std::string>{"passwd"});
    CHECK_FALSE(parse_agent_metadata("<cib/>"));
    CHECK_FALSE(parse_agent_metadata("not xml"));

    // Without reload-agent nothing is reloadable: no restart list at all; private="1" counts.
    auto plain =
        parse_agent_metadata(R"(<resource-agent name="x"><parameters>)"
                             R"(<parameter name="b"/><parameter name="key" private="1"/>)"
                             R"(<parameter name="a" private="true"/></parameters></resource-agent>)");
    REQUIRE(plain);
    CHECK_FALSE(plain->reload_agent);
    CHECK(plain->restart.empty());
    CHECK(plain->secure == std::vector<std::string>{"a", "key"});
    CHECK(spaced_list({"port", "server"}) == "  port server  ");
    CHECK(spaced_list({}).empty());
}

TEST_CASE("op digests are those 2.1.5 wrote", "[control][digests]")
{
    auto agent = parse_agent_metadata(kDummy);
    REQUIRE(agent);
    const std::map<std::string, std::string> start{{"fake", "a"}, {"op_sleep", "4"}};
    CHECK(outpost::cluster::policy::parameters_digest(start) == "1f441a9a90afb744b074da39f95e2b84");
    OpDigests d = op_digests(*agent, start, 0);
    CHECK(d.restart);
    CHECK(d.force_restart == "  state  ");
    CHECK(d.restart_digest == "f2317cad3d54cec5d7d7aa7d0bf35cf8");  // of no parameters
    CHECK(d.secure_params == "  passwd  ");
    CHECK(d.secure_digest == "1f441a9a90afb744b074da39f95e2b84");

    const std::map<std::string, std::string> with_state{
        {"fake", "b"}, {"op_sleep", "4"}, {"state", "/run/Dummy-d1-x.state"}};
    d = op_digests(*agent, with_state, 0);
    CHECK(outpost::cluster::policy::parameters_digest(with_state) == "f6f57a9f59bb72638416c7adc1843883");
    CHECK(d.restart_digest == "8b49be9d3c2027455128f4f76908ba0d");
    CHECK(d.secure_digest == "f6f57a9f59bb72638416c7adc1843883");

    // A recurring monitor: no restart list, the private parameters still.
    const std::map<std::string, std::string> monitor{
        {"CRM_meta_timeout", "20000"}, {"fake", "b"}, {"op_sleep", "4"}};
    d = op_digests(*agent, monitor, 10000);
    CHECK_FALSE(d.restart);
    CHECK(d.force_restart.empty());
    CHECK(d.secure_params == "  passwd  ");
    CHECK(d.secure_digest == "089f260310339d38fe8f74c8a65ed51a");

    // A private parameter set is left out of the secure digest.
    d = op_digests(*agent, {{"fake", "a"}, {"op_sleep", "4"}, {"passwd", "x"}}, 0);
    CHECK(d.secure_digest == "1f441a9a90afb744b074da39f95e2b84");
}

TEST_CASE("a parameter named user is private; no reload-agent, no restart list", "[control][digests]")
{
    // ocf:heartbeat:anything (resource-agents 4.12), probed by 2.1.5 on 2026-12-07:
    // op-digest="9d53445d35861ca9e4733b8cfa1d29bc" op-secure-params="  user  "
    // op-secure-digest="57488691f90583102fd82359d9a8bfa7", no op-force-restart.
    auto agent = parse_agent_metadata(R"(<resource-agent name="anything"><parameters>)"
                                      R"(<parameter name="binfile" required="1" unique="0"/>)"
                                      R"(<parameter name="cmdline_options" required="0"/>)"
                                      R"(<parameter name="user" required="0"/></parameters>)"
                                      R"(<actions><action name="start"/><action name="reload"/></actions>)"
                                      R"(</resource-agent>)");
    REQUIRE(agent);
    const std::map<std::string, std::string> params{
        {"binfile", "/bin/sleep"}, {"cmdline_options", "1000"}, {"user", "root"}};
    CHECK(outpost::cluster::policy::parameters_digest(params) == "9d53445d35861ca9e4733b8cfa1d29bc");
    OpDigests d = op_digests(*agent, params, 0);
    CHECK_FALSE(d.restart);
    CHECK(d.secure_params == "  user  ");
    CHECK(d.secure_digest == "57488691f90583102fd82359d9a8bfa7");
}
