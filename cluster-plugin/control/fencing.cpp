#include "control/fencing.hpp"

#include <algorithm>

#include "util/cib_time.hpp"

namespace outpost::cluster::control {

namespace {

const std::string* param(const FenceDevice& device, const std::string& name)
{
    auto it = device.params.find(name);
    return it == device.params.end() || it->second.empty() ? nullptr : &it->second;
}

bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == ',' || c == ';';
}

// Words of a list split at blanks, commas and semicolons (pcmk_host_list's separators).
std::vector<std::string_view> words(std::string_view text, bool (*separator)(char))
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && separator(text[i]))
            ++i;
        std::size_t start = i;
        while (i < text.size() && !separator(text[i]))
            ++i;
        if (i > start) out.push_back(text.substr(start, i - start));
    }
    return out;
}

// pcmk_host_map entries ("node1:1;node2:2,3", '=' also accepted): name -> port(s).
std::map<std::string, std::string, std::less<>> host_map(const FenceDevice& device)
{
    std::map<std::string, std::string, std::less<>> map;
    const std::string* text = param(device, "pcmk_host_map");
    if (text == nullptr) return map;
    auto entry_separator = [](char c) { return c == ';' || c == ' ' || c == '\t' || c == '\n'; };
    for (std::string_view entry : words(*text, entry_separator)) {
        const std::size_t colon = entry.find_first_of(":=");
        if (colon == std::string_view::npos || colon == 0) continue;
        map.emplace(std::string(entry.substr(0, colon)), std::string(entry.substr(colon + 1)));
    }
    return map;
}

}  // namespace

std::optional<HostCheck> host_check(const FenceDevice& device)
{
    if (const std::string* check = param(device, "pcmk_host_check")) {
        if (*check == "static-list") return HostCheck::static_list;
        if (*check == "dynamic-list") return HostCheck::dynamic_list;
        if (*check == "status") return HostCheck::status;
        if (*check == "none") return HostCheck::none;
        return std::nullopt;
    }
    if (param(device, "pcmk_host_list") != nullptr || param(device, "pcmk_host_map") != nullptr)
        return HostCheck::static_list;
    return HostCheck::dynamic_list;
}

bool in_static_list(const FenceDevice& device, std::string_view target)
{
    if (const std::string* list = param(device, "pcmk_host_list")) {
        auto names = words(*list, is_separator);
        if (std::find(names.begin(), names.end(), target) != names.end()) return true;
    }
    return host_map(device).count(target) > 0;
}

bool listed(std::string_view list_output, std::string_view target)
{
    auto names = words(list_output, is_separator);
    return std::find(names.begin(), names.end(), target) != names.end();
}

std::string port_for(const FenceDevice& device, std::string_view target)
{
    auto map = host_map(device);
    auto it = map.find(target);
    return it != map.end() ? it->second : std::string(target);
}

std::string agent_action(const FenceDevice& device, std::string_view action)
{
    const std::string* mapped = param(device, "pcmk_" + std::string(action) + "_action");
    return mapped != nullptr ? *mapped : std::string(action);
}

std::uint32_t action_timeout_ms(const FenceDevice& device, std::string_view action, std::uint32_t fallback_ms)
{
    if (const std::string* text = param(device, "pcmk_" + std::string(action) + "_timeout")) {
        if (auto ms = util::parse_interval_ms(*text); ms && *ms > 0) return static_cast<std::uint32_t>(*ms);
    }
    return fallback_ms;
}

std::string agent_input(const FenceDevice& device, std::string_view action, std::string_view target)
{
    // In the order pacemaker-fenced 2.1.5 writes them (observed): the target's name, the
    // device's parameters, the action, the host argument.
    std::string input;
    if (!target.empty()) input.append("nodename=").append(target).append("\n");
    for (const auto& [name, value] : device.params) {
        // The fencer's own settings are not the agent's; a target is passed apart.
        if (name.starts_with("pcmk_") || name == "action" || name == "nodename") continue;
        if (!target.empty() && (name == "port" || name == "plug")) continue;
        input.append(name).append("=").append(value).append("\n");
    }
    input.append("action=").append(action).append("\n");
    if (!target.empty()) {
        const std::string* argument = param(device, "pcmk_host_argument");
        const std::string host_argument = argument != nullptr ? *argument : "port";
        if (host_argument != "none")
            input.append(host_argument).append("=").append(port_for(device, target)).append("\n");
    }
    return input;
}

std::optional<std::string> agent_path(std::string_view agent, std::string_view dir)
{
    if (agent.empty() || agent.find('/') != std::string_view::npos || agent == "." || agent == "..")
        return std::nullopt;
    return std::string(dir) + "/" + std::string(agent);
}

std::map<std::string, std::string> device_params(const std::map<std::string, std::string>& request_params)
{
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : request_params) {
        if (name.starts_with("CRM_meta_") || name == "crm_feature_set") continue;
        out.emplace(name, value);
    }
    return out;
}

}  // namespace outpost::cluster::control
