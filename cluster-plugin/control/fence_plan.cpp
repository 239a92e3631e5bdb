#include "control/fence_plan.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "controller/xml.hpp"
#include "util/cib_time.hpp"

namespace outpost::cluster::control {

namespace {

namespace ctl = controller;

const xmlNode* configuration_of(const xmlDoc* cib)
{
    const xmlNode* root = ctl::root_of(cib);
    return root != nullptr ? ctl::child_named(root, "configuration") : nullptr;
}

const std::string* param(const FenceDevice& device, const std::string& name)
{
    auto it = device.params.find(name);
    return it == device.params.end() || it->second.empty() ? nullptr : &it->second;
}

std::vector<std::string> split(std::string_view text, std::string_view separators)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && separators.find(text[i]) != std::string_view::npos)
            ++i;
        const std::size_t start = i;
        while (i < text.size() && separators.find(text[i]) == std::string_view::npos)
            ++i;
        if (i > start) out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

// A time value ("2s", "500ms", "1min", a plain number of seconds) in milliseconds; 0 when bad.
std::uint32_t time_ms(std::string_view text)
{
    auto ms = util::parse_interval_ms(text);
    if (!ms || *ms <= 0) return 0;
    return static_cast<std::uint32_t>(std::min<std::int64_t>(*ms, INT32_MAX));
}

bool pattern_matches(const std::string& pattern, std::string_view target)
{
    try {
        // As regexec() without anchors: the pattern may match anywhere in the name.
        return std::regex_search(target.begin(), target.end(), std::regex(pattern, std::regex::extended));
    } catch (const std::regex_error&) {
        return false;
    }
}

}  // namespace

std::vector<FenceLevel> cib_fence_levels(const xmlDoc* cib)
{
    std::vector<FenceLevel> out;
    const xmlNode* configuration = configuration_of(cib);
    const xmlNode* topology =
        configuration != nullptr ? ctl::child_named(configuration, "fencing-topology") : nullptr;
    if (topology == nullptr) return out;
    for (const xmlNode* node : ctl::element_children(topology)) {
        if (!ctl::is_named(node, "fencing-level")) continue;
        FenceLevel level;
        level.id = ctl::attr(node, "id").value_or("");
        try {
            level.index = std::stoi(ctl::attr(node, "index").value_or("0"));
        } catch (const std::exception&) {
            level.index = 0;
        }
        level.target = ctl::attr(node, "target").value_or("");
        level.target_pattern = ctl::attr(node, "target-pattern").value_or("");
        level.target_attribute = ctl::attr(node, "target-attribute").value_or("");
        level.target_value = ctl::attr(node, "target-value").value_or("");
        level.devices = split(ctl::attr(node, "devices").value_or(""), ",");
        if (level.id.empty() || level.index < 1 || level.devices.empty()) continue;
        out.push_back(std::move(level));
    }
    return out;
}

std::map<std::string, std::string> cib_node_attributes(const xmlDoc* cib, std::string_view node)
{
    std::map<std::string, std::string> out;
    const xmlNode* configuration = configuration_of(cib);
    const xmlNode* nodes = configuration != nullptr ? ctl::child_named(configuration, "nodes") : nullptr;
    if (nodes == nullptr) return out;
    for (const xmlNode* entry : ctl::element_children(nodes)) {
        if (!ctl::is_named(entry, "node") || ctl::attr(entry, "uname").value_or("") != node) continue;
        for (const xmlNode* set : ctl::element_children(entry)) {
            if (!ctl::is_named(set, "instance_attributes")) continue;
            for (const xmlNode* pair : ctl::element_children(set)) {
                auto name = ctl::attr(pair, "name");
                if (ctl::is_named(pair, "nvpair") && name)
                    out.emplace(*name, ctl::attr(pair, "value").value_or(""));
            }
        }
    }
    return out;
}

bool same_level_target(const FenceLevel& a, const FenceLevel& b)
{
    return a.target == b.target && a.target_pattern == b.target_pattern &&
           a.target_attribute == b.target_attribute && a.target_value == b.target_value;
}

namespace {

bool replaces(const LevelChange& change, const FenceLevel& level)
{
    return same_level_target(level, change.level) &&
           (level.index == change.level.index || (change.remove && change.level.index == 0));
}

bool same_level(const FenceLevel& a, const FenceLevel& b)
{
    return a.id == b.id && a.index == b.index && same_level_target(a, b) && a.devices == b.devices;
}

}  // namespace

std::vector<FenceLevel> levels_replaced(const std::vector<FenceLevel>& cib, const LevelChange& change)
{
    std::vector<FenceLevel> out;
    for (const FenceLevel& level : cib)
        if (replaces(change, level)) out.push_back(level);
    return out;
}

void drop_overridden_changes(std::vector<LevelChange>& changes, const std::vector<FenceLevel>& cib)
{
    std::erase_if(changes, [&](const LevelChange& change) {
        const bool changed = !std::equal(cib.begin(), cib.end(), change.cib_before.begin(),
                                         change.cib_before.end(), same_level);
        return changed && !levels_replaced(cib, change).empty();
    });
}

std::vector<FenceLevel> apply_level_changes(std::vector<FenceLevel> levels,
                                            const std::vector<LevelChange>& changes)
{
    for (const LevelChange& change : changes) {
        const FenceLevel& level = change.level;
        std::erase_if(levels, [&](const FenceLevel& l) { return replaces(change, l); });
        if (!change.remove && !level.devices.empty()) levels.push_back(level);
    }
    return levels;
}

std::string level_problem(const FenceLevel& level, bool removal)
{
    if (level.index < (removal ? 0 : 1) || level.index > 9)
        return "Invalid level number '" + std::to_string(level.index) + "'";
    const int ways = static_cast<int>(!level.target.empty()) +
                     static_cast<int>(!level.target_pattern.empty()) +
                     static_cast<int>(!level.target_attribute.empty());
    if (ways != 1 || (!level.target_attribute.empty() && level.target_value.empty()))
        return "a level names its target by one of a node name, a pattern or an attribute and value";
    if (!level.target_pattern.empty()) {
        try {
            std::regex check(level.target_pattern, std::regex::extended);
        } catch (const std::regex_error&) {
            return "Invalid target pattern '" + level.target_pattern + "'";
        }
    }
    return {};
}

bool level_targets(const FenceLevel& level, std::string_view target,
                   const std::map<std::string, std::string>& node_attributes)
{
    if (!level.target.empty()) return level.target == target;
    if (!level.target_pattern.empty()) return pattern_matches(level.target_pattern, target);
    if (!level.target_attribute.empty()) {
        auto it = node_attributes.find(level.target_attribute);
        return it != node_attributes.end() && it->second == level.target_value;
    }
    return false;
}

FencePlan plan_fencing(const std::vector<FenceLevel>& levels, const std::vector<std::string>& devices,
                       const std::map<std::string, int>& priorities, std::string_view target,
                       const std::map<std::string, std::string>& node_attributes)
{
    FencePlan plan;
    // The topology that names the target: by name, else by the first pattern, else by the
    // first attribute that matches; its levels are those with the same target.
    const FenceLevel* chosen = nullptr;
    const std::vector<std::string FenceLevel::*> kinds{&FenceLevel::target, &FenceLevel::target_pattern,
                                                       &FenceLevel::target_attribute};
    for (const auto kind : kinds) {
        for (const auto& level : levels) {
            if ((level.*kind).empty() || !level_targets(level, target, node_attributes)) continue;
            chosen = &level;
            break;
        }
        if (chosen != nullptr) break;
    }
    if (chosen != nullptr) {
        std::vector<const FenceLevel*> same;
        for (const auto& level : levels) {
            if (level.target == chosen->target && level.target_pattern == chosen->target_pattern &&
                level.target_attribute == chosen->target_attribute &&
                level.target_value == chosen->target_value)
                same.push_back(&level);
        }
        std::stable_sort(same.begin(), same.end(),
                         [](const FenceLevel* a, const FenceLevel* b) { return a->index < b->index; });
        plan.topology = true;
        for (const FenceLevel* level : same)
            plan.levels.push_back(level->devices);
        return plan;
    }
    std::vector<std::string> ordered = devices;
    auto priority = [&priorities](const std::string& id) {
        auto it = priorities.find(id);
        return it == priorities.end() ? 0 : it->second;
    };
    std::stable_sort(ordered.begin(), ordered.end(), [&priority](const std::string& a, const std::string& b) {
        return priority(a) > priority(b);
    });
    for (auto& id : ordered)
        plan.levels.push_back({std::move(id)});
    return plan;
}

std::uint32_t delay_base_ms(const FenceDevice& device, std::string_view target)
{
    const std::string* text = param(device, "pcmk_delay_base");
    if (text == nullptr) return 0;
    if (text->find(':') == std::string::npos) return time_ms(*text);
    for (const std::string& entry : split(*text, "; ,\t\n")) {
        const std::size_t colon = entry.find(':');
        if (colon != std::string::npos && std::string_view(entry).substr(0, colon) == target)
            return time_ms(std::string_view(entry).substr(colon + 1));
    }
    return 0;
}

std::uint32_t delay_max_ms(const FenceDevice& device)
{
    const std::string* text = param(device, "pcmk_delay_max");
    return text != nullptr ? time_ms(*text) : 0;
}

std::uint32_t device_delay_ms(const FenceDevice& device, std::string_view action, std::string_view target,
                              double random_fraction)
{
    if (action != "off" && action != "reboot") return 0;
    const std::uint32_t base = delay_base_ms(device, target);
    const std::uint32_t max = delay_max_ms(device);
    if (max <= base) return base;
    const double fraction = std::clamp(random_fraction, 0.0, 1.0);
    return base + static_cast<std::uint32_t>(std::floor(fraction * (max - base)));
}

int action_tries(const FenceDevice& device, std::string_view action)
{
    const std::string* text = param(device, "pcmk_" + std::string(action) + "_retries");
    if (text == nullptr) return 2;
    try {
        return std::max(1, std::stoi(*text));
    } catch (const std::exception&) {
        return 2;
    }
}

}  // namespace outpost::cluster::control
