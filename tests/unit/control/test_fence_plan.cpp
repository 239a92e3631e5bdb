#include <catch2/catch.hpp>

#include "control/fence_plan.hpp"
#include "control/loop_fencer.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::control;
namespace ctl = outpost::cluster::controller;

namespace {

using Levels = std::vector<std::vector<std::string>>;

FenceLevel level(const std::string& id, int index, std::vector<std::string> devices)
{
    FenceLevel l;
    l.id = id;
    l.index = index;
    l.devices = std::move(devices);
    return l;
}

}  // namespace

TEST_CASE("the CIB's fencing-topology, node attributes and device priorities are read",
          "[control][fence_plan]")
{
    auto cib = ctl::parse_document(
        R"(<cib><configuration><nodes><node id="1" uname="r1"><instance_attributes id="r1-ia">)"
        R"(<nvpair id="r1-rack" name="rack" value="a"/></instance_attributes></node><node id="2" uname="r2"/>)"
        R"(</nodes><resources>)"
        R"(<primitive id="f1" class="stonith" type="fence_a"><meta_attributes id="f1-m">)"
        R"(<nvpair id="f1-p" name="priority" value="10"/></meta_attributes></primitive>)"
        R"(<group id="g"><primitive id="f2" class="stonith" type="fence_b"/></group>)"
        R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>)"
        R"(</resources><fencing-topology>)"
        R"(<fencing-level id="l1" target="r1" index="1" devices="f1"/>)"
        R"(<fencing-level id="l2" target-pattern="^r[0-9]$" index="2" devices="f1,f2"/>)"
        R"(<fencing-level id="l3" target-attribute="rack" target-value="a" index="1" devices="f2"/>)"
        R"(<fencing-level id="bad" target="r1" index="3" devices=""/>)"
        R"(</fencing-topology></configuration><status/></cib>)",
        1 << 20, "test CIB");
    REQUIRE(cib.ok());
    const auto levels = cib_fence_levels(cib->get());
    REQUIRE(levels.size() == 3);
    CHECK(levels[0].target == "r1");
    CHECK(levels[0].index == 1);
    CHECK(levels[1].target_pattern == "^r[0-9]$");
    CHECK(levels[1].devices == std::vector<std::string>{"f1", "f2"});
    CHECK(levels[2].target_attribute == "rack");
    CHECK(levels[2].target_value == "a");
    CHECK(cib_node_attributes(cib->get(), "r1") == std::map<std::string, std::string>{{"rack", "a"}});
    CHECK(cib_node_attributes(cib->get(), "r2").empty());
    const auto devices = cib_fence_devices(cib->get());
    REQUIRE(devices.size() == 2);
    CHECK(devices[0].id == "f1");
    CHECK(devices[0].priority == 10);
    CHECK(devices[1].id == "f2");
    CHECK(devices[1].priority == 0);
    auto empty = ctl::parse_document("<cib/>", 1024, "test CIB");
    REQUIRE(empty.ok());
    CHECK(cib_fence_levels(empty->get()).empty());
}

TEST_CASE("a target's levels: by name, else pattern, else attribute, in index order", "[control][fence_plan]")
{
    FenceLevel by_name2 = level("n2", 2, {"dB"});
    by_name2.target = "r1";
    FenceLevel by_name1 = level("n1", 1, {"dA", "dC"});
    by_name1.target = "r1";
    FenceLevel by_pattern = level("p1", 1, {"dP"});
    by_pattern.target_pattern = "r[0-9]+";
    FenceLevel by_attribute = level("a1", 1, {"dR"});
    by_attribute.target_attribute = "rack";
    by_attribute.target_value = "a";
    const std::vector<FenceLevel> levels{by_name2, by_pattern, by_attribute, by_name1};
    const std::vector<std::string> devices{"dA", "dB", "dC", "dP", "dR"};
    const std::map<std::string, std::string> rack_a{{"rack", "a"}};

    FencePlan plan = plan_fencing(levels, devices, {}, "r1", rack_a);
    CHECK(plan.topology);
    CHECK(plan.levels == Levels{{"dA", "dC"}, {"dB"}});
    plan = plan_fencing(levels, devices, {}, "r22", rack_a);
    CHECK(plan.topology);
    CHECK(plan.levels == Levels{{"dP"}});
    plan = plan_fencing(levels, devices, {}, "host", rack_a);
    CHECK(plan.topology);
    CHECK(plan.levels == Levels{{"dR"}});
    CHECK(level_targets(by_attribute, "x", rack_a));
    CHECK_FALSE(level_targets(by_attribute, "x", {{"rack", "b"}}));
    CHECK_FALSE(level_targets(by_pattern, "host", {}));

    // No level names it: every device alone, highest priority first, else in the CIB's order.
    plan = plan_fencing(levels, devices, {{"dC", 5}, {"dR", 9}}, "host", {});
    CHECK_FALSE(plan.topology);
    CHECK(plan.levels == Levels{{"dR"}, {"dC"}, {"dA"}, {"dB"}, {"dP"}});
    plan = plan_fencing({}, {}, {}, "host", {});
    CHECK(plan.levels.empty());
    // A bad pattern matches nothing.
    FenceLevel bad = level("b", 1, {"dA"});
    bad.target_pattern = "r[";
    CHECK(plan_fencing({bad}, {"dB"}, {}, "r1", {}).levels == Levels{{"dB"}});
}

TEST_CASE("levels registered and removed through the IPC change the CIB's, in order", "[control][fence_plan]")
{
    FenceLevel cib1 = level("c1", 1, {"dA"});
    cib1.target = "r1";
    FenceLevel cib2 = level("c2", 2, {"dB"});
    cib2.target = "r1";
    FenceLevel other = level("c3", 1, {"dP"});
    other.target_pattern = "r1";  // the same text, but a pattern: another target
    auto change = [](bool remove, int index, std::vector<std::string> devices) {
        LevelChange c{remove, level({}, index, std::move(devices)), {}};
        c.level.target = "r1";
        return c;
    };
    auto devices_of = [](const std::vector<FenceLevel>& levels) {
        Levels out;
        for (const auto& l : levels)
            out.push_back(l.devices);
        return out;
    };
    const std::vector<FenceLevel> cib{cib1, cib2, other};
    // stonith_admin -r r1 -i 1 -v dC replaces the CIB's level 1 of r1; -i 3 adds one.
    CHECK(devices_of(apply_level_changes(cib, {change(false, 1, {"dC"}), change(false, 3, {"dD", "dE"})})) ==
          Levels{{"dB"}, {"dP"}, {"dC"}, {"dD", "dE"}});
    // -d r1 -i 2 removes the CIB's level 2; -i 0 every level of r1 (not the pattern's).
    CHECK(devices_of(apply_level_changes(cib, {change(true, 2, {})})) == Levels{{"dA"}, {"dP"}});
    CHECK(devices_of(apply_level_changes(cib, {change(false, 4, {"dF"}), change(true, 0, {})})) ==
          Levels{{"dP"}});
    // A removal, then a registration of the same level.
    CHECK(devices_of(apply_level_changes(cib, {change(true, 1, {}), change(false, 1, {"dG"})})) ==
          Levels{{"dB"}, {"dP"}, {"dG"}});
    // The plan follows: r1's levels by index.
    const auto merged = apply_level_changes(cib, {change(false, 1, {"dC"})});
    CHECK(plan_fencing(merged, {"dA", "dB", "dC"}, {}, "r1", {}).levels == Levels{{"dC"}, {"dB"}});

    // Once the CIB's topology changes (any level of it, observed), its levels of a change's
    // target and index win again; a change of a target and index the CIB has no level for
    // stays.
    std::vector<LevelChange> changes{change(false, 1, {"dC"}), change(false, 5, {"dD"})};
    changes[0].cib_before = cib;
    changes[1].cib_before = cib;
    drop_overridden_changes(changes, cib);
    CHECK(changes.size() == 2);
    std::vector<FenceLevel> edited = cib;
    edited[2].devices = {"dQ"};  // the pattern's level: not r1's
    drop_overridden_changes(changes, edited);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].level.index == 5);
    CHECK(devices_of(apply_level_changes(edited, changes)) == Levels{{"dA"}, {"dB"}, {"dQ"}, {"dD"}});

    CHECK(level_problem(change(false, 1, {"dA"}).level, false).empty());
    CHECK(level_problem(change(false, 10, {"dA"}).level, false) == "Invalid level number '10'");
    CHECK(level_problem(change(false, 0, {"dA"}).level, false) == "Invalid level number '0'");
    CHECK(level_problem(change(true, 0, {}).level, true).empty());
    FenceLevel bad = level({}, 1, {"dA"});
    bad.target_pattern = "r[";
    CHECK(level_problem(bad, false) == "Invalid target pattern 'r['");
    bad.target_pattern.clear();
    CHECK_FALSE(level_problem(bad, false).empty());  // no target
}

TEST_CASE("delays before a device: pcmk_delay_base, pcmk_delay_max, off and reboot only",
          "[control][fence_plan]")
{
    FenceDevice plain{"f", "fence_x", {}};
    CHECK(device_delay_ms(plain, "reboot", "r1", 0.5) == 0);
    FenceDevice base{"f", "fence_x", {{"pcmk_delay_base", "2s"}}};
    CHECK(delay_base_ms(base, "r1") == 2000);
    CHECK(device_delay_ms(base, "reboot", "r1", 0.9) == 2000);
    CHECK(device_delay_ms(base, "off", "r1", 0.0) == 2000);
    CHECK(device_delay_ms(base, "on", "r1", 0.0) == 0);
    FenceDevice mapped{"f", "fence_x", {{"pcmk_delay_base", "r1:1s;r2:500ms r3:3"}}};
    CHECK(delay_base_ms(mapped, "r1") == 1000);
    CHECK(delay_base_ms(mapped, "r2") == 500);
    CHECK(delay_base_ms(mapped, "r3") == 3000);
    CHECK(delay_base_ms(mapped, "r4") == 0);
    FenceDevice random{"f", "fence_x", {{"pcmk_delay_max", "10s"}, {"pcmk_delay_base", "2s"}}};
    CHECK(delay_max_ms(random) == 10000);
    CHECK(device_delay_ms(random, "reboot", "r1", 0.0) == 2000);
    CHECK(device_delay_ms(random, "reboot", "r1", 0.5) == 6000);
    CHECK(device_delay_ms(random, "reboot", "r1", 0.999) < 10000);
    FenceDevice max_only{"f", "fence_x", {{"pcmk_delay_max", "4s"}}};
    CHECK(device_delay_ms(max_only, "off", "r1", 0.25) == 1000);
    // A base above the maximum: the base.
    FenceDevice over{"f", "fence_x", {{"pcmk_delay_max", "1s"}, {"pcmk_delay_base", "3s"}}};
    CHECK(device_delay_ms(over, "off", "r1", 0.5) == 3000);
}

TEST_CASE("tries of a failed fencing action: pcmk_<action>_retries, default 2", "[control][fence_plan]")
{
    CHECK(action_tries(FenceDevice{"f", "fence_x", {}}, "reboot") == 2);
    FenceDevice d{
        "f", "fence_x", {{"pcmk_reboot_retries", "0"}, {"pcmk_off_retries", "5"}, {"pcmk_on_retries", "x"}}};
    CHECK(action_tries(d, "reboot") == 1);
    CHECK(action_tries(d, "off") == 5);
    CHECK(action_tries(d, "on") == 2);
}
