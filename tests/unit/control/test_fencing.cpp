#include <catch2/catch.hpp>

#include "control/fencing.hpp"
#include "control/loop_fencer.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::control;

TEST_CASE("a device's host check and static list follow Pacemaker's rules", "[control][fencing]")
{
    FenceDevice d{"f1", "fence_x", {{"pcmk_host_list", "r1 r2,r3;r4"}}};
    CHECK(host_check(d) == HostCheck::static_list);
    for (const char* n : {"r1", "r2", "r3", "r4"})
        CHECK(in_static_list(d, n));
    CHECK_FALSE(in_static_list(d, "r"));
    FenceDevice mapped{"f2", "fence_x", {{"pcmk_host_map", "r1:1;r2:2,3 r3=7"}}};
    CHECK(host_check(mapped) == HostCheck::static_list);
    CHECK(in_static_list(mapped, "r2"));
    CHECK(port_for(mapped, "r1") == "1");
    CHECK(port_for(mapped, "r2") == "2,3");
    CHECK(port_for(mapped, "r3") == "7");
    CHECK(port_for(mapped, "r9") == "r9");
    CHECK(host_check(FenceDevice{"f3", "fence_x", {}}) == HostCheck::dynamic_list);
    CHECK(host_check(FenceDevice{"f4", "fence_x", {{"pcmk_host_check", "none"}, {"pcmk_host_list", "a"}}}) ==
          HostCheck::none);
    CHECK(host_check(FenceDevice{"f5", "fence_x", {{"pcmk_host_check", "status"}}}) == HostCheck::status);
    CHECK_FALSE(host_check(FenceDevice{"f6", "fence_x", {{"pcmk_host_check", "bogus"}}}));
    CHECK(listed("r1\nr2,alias\n", "r2"));
    CHECK_FALSE(listed("r1\nr22\n", "r2"));
}

TEST_CASE("a fence agent's stdin, action and timeout", "[control][fencing]")
{
    FenceDevice d{"f1",
                  "fence_x",
                  {{"config", "/c"},
                   {"pcmk_host_list", "r1"},
                   {"pcmk_reboot_action", "off"},
                   {"pcmk_off_timeout", "7s"},
                   {"port", "ignored"}}};
    CHECK(agent_action(d, "reboot") == "off");
    CHECK(agent_action(d, "off") == "off");
    CHECK(action_timeout_ms(d, "off", 60000) == 7000);
    CHECK(action_timeout_ms(d, "reboot", 60000) == 60000);
    CHECK(agent_input(d, "off", "r1") == "nodename=r1\nconfig=/c\naction=off\nport=r1\n");
    CHECK(agent_input(d, "monitor") == "config=/c\nport=ignored\naction=monitor\n");
    FenceDevice none{"f2", "fence_x", {{"pcmk_host_argument", "none"}}};
    CHECK(agent_input(none, "reboot", "r1") == "nodename=r1\naction=reboot\n");
    FenceDevice plug{"f3", "fence_x", {{"pcmk_host_argument", "plug"}, {"pcmk_host_map", "r1:4"}}};
    CHECK(agent_input(plug, "reboot", "r1") == "nodename=r1\naction=reboot\nplug=4\n");
    CHECK(agent_path("fence_x") == std::optional<std::string>("/usr/sbin/fence_x"));
    CHECK_FALSE(agent_path("../bin/sh"));
    CHECK(device_params({{"CRM_meta_timeout", "1"}, {"crm_feature_set", "3"}, {"a", "b"}}) ==
          std::map<std::string, std::string>{{"a", "b"}});
}

TEST_CASE("the stonith-ng face's devices are the CIB's stonith primitives", "[control][fencing]")
{
    namespace ctl = outpost::cluster::controller;
    auto cib = ctl::parse_document(
        R"(<cib><configuration><resources>)"
        R"(<primitive id="f1" class="stonith" type="fence_a"><instance_attributes id="ia">)"
        R"(<nvpair id="n1" name="pcmk_host_list" value="r1 r2"/><nvpair id="n2" name="config" value="/c"/>)"
        R"(</instance_attributes></primitive>)"
        R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>)"
        R"(<group id="g"><primitive id="f2" class="stonith" type="fence_b"/></group>)"
        R"(</resources></configuration><status/></cib>)",
        1 << 20, "test CIB");
    REQUIRE(cib.ok());
    auto devices = cib_fence_devices(cib->get());
    REQUIRE(devices.size() == 2);
    CHECK(devices[0].id == "f1");
    CHECK(devices[0].agent == "fence_a");
    CHECK(devices[0].params ==
          std::map<std::string, std::string>{{"pcmk_host_list", "r1 r2"}, {"config", "/c"}});
    CHECK(devices[1].id == "f2");
    CHECK(devices[1].params.empty());
    auto empty = ctl::parse_document("<cib/>", 1024, "test CIB");
    REQUIRE(empty.ok());
    CHECK(cib_fence_devices(empty->get()).empty());
}
