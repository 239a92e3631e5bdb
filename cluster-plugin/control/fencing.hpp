// Fence devices as Pacemaker's fencer uses them (Pacemaker Explained, "Fencing"): which
// device may fence a target (pcmk_host_list, pcmk_host_map, pcmk_host_check), which agent
// action a fencing action becomes (pcmk_reboot_action, pcmk_off_action), its timeout
// (pcmk_<action>_timeout, else stonith-timeout) and the name=value lines a fence agent reads
// on its stdin. Pure: the daemon runs the agents (tools/outpost-controld/fence_devices).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cluster::control {

// A started (registered) fence device: its primitive id, agent (type) and parameters
// (instance attributes, pcmk_* included; no CRM_meta_*).
struct FenceDevice {
    std::string id;
    std::string agent;
    std::map<std::string, std::string> params;
};

// How a device tells whether it can fence a target.
enum class HostCheck {
    static_list,   // pcmk_host_list / pcmk_host_map
    dynamic_list,  // the agent's "list" output names the target
    status,        // the agent's "status" for the target answers 0 (on) or 2 (off)
    none,          // every device can fence every target
};

// pcmk_host_check, or its default: static-list when pcmk_host_list or pcmk_host_map is
// set, dynamic-list otherwise. nullopt for a value Pacemaker does not know.
std::optional<HostCheck> host_check(const FenceDevice& device);
// Whether the target is in pcmk_host_list or pcmk_host_map.
bool in_static_list(const FenceDevice& device, std::string_view target);
// Whether the output of the agent's "list" names the target (one name or "name,alias" a line,
// or names separated by blanks).
bool listed(std::string_view list_output, std::string_view target);
// The agent's "port" value for a target: its pcmk_host_map entry, else the name itself.
std::string port_for(const FenceDevice& device, std::string_view target);
// The agent action for a fencing action ("reboot", "off", "on"): pcmk_<action>_action.
std::string agent_action(const FenceDevice& device, std::string_view action);
// pcmk_<action>_timeout in milliseconds, else `fallback_ms` (stonith-timeout).
std::uint32_t action_timeout_ms(const FenceDevice& device, std::string_view action,
                                std::uint32_t fallback_ms);
// What the agent reads on stdin, in pacemaker-fenced's order: with a target
// "nodename=<target>", the device's own parameters (not the fencer's pcmk_* ones),
// "action=<agent action>" and, with a target, the host argument (pcmk_host_argument,
// default "port"; "none": not passed) set to port_for().
std::string agent_input(const FenceDevice& device, std::string_view agent_action,
                        std::string_view target = {});
// Pacemaker's fence agent directory.
inline constexpr const char* kFenceAgentDir = "/usr/sbin";
// The agent's path in `dir`; nullopt for a type that is not a plain file name.
std::optional<std::string> agent_path(std::string_view agent, std::string_view dir = kFenceAgentDir);
// The parameters of a device from an executor request's parameters: CRM_meta_* and
// crm_feature_set dropped.
std::map<std::string, std::string> device_params(const std::map<std::string, std::string>& request_params);

}  // namespace outpost::cluster::control
