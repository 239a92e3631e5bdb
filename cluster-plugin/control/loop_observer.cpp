#include "control/loop_observer.hpp"

#include <algorithm>
#include <cctype>

#include <ctime>

#include "policy/cluster.hpp"
#include "policy/policy.hpp"

namespace outpost::cluster::control {

namespace {

const char* node_kind(policy::NodeKind kind)
{
    switch (kind) {
        case policy::NodeKind::member:
            return "member";
        case policy::NodeKind::remote:
            return "remote";
        case policy::NodeKind::guest:
            return "guest";
    }
    return "member";
}

const char* node_state(const policy::Node& node)
{
    if (node.unclean) return "unclean";
    if (!node.online) return "offline";
    if (node.pending) return "pending";
    if (node.maintenance) return "maintenance";
    if (node.standby) return "standby";
    return "online";
}

const char* resource_state(const policy::Resource& rsc)
{
    if (rsc.flags.failed) return "failed";
    if (!rsc.flags.managed) return "unmanaged";
    if (rsc.flags.blocked) return "blocked";
    return "ok";
}

std::string role_label(policy::Role role)
{
    std::string name = policy::role_name(role);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name;
}

}  // namespace

Result<ClusterCounts> count_cib(const xmlDoc* cib)
{
    policy::ScheduleOptions options;
    options.clock_now = static_cast<policy::EpochSeconds>(std::time(nullptr));
    policy::xml::Document doc(policy::xml::DocPtr(xmlCopyDoc(const_cast<xmlDoc*>(cib), 1)));
    auto unpacked = policy::unpack(std::move(doc), options);
    if (!unpacked) return unpacked.error();
    const policy::Cluster& cluster = **unpacked;
    ClusterCounts counts;
    for (const auto& node : cluster.nodes)
        ++counts.nodes[{node_kind(node.kind), node_state(node)}];
    for (const auto& rsc : cluster.resources) {
        // Primitives only (a group or clone is counted through its members); the implicit
        // connection of a guest node is not a configured resource.
        if (rsc.kind != policy::RscKind::primitive || rsc.flags.internal) continue;
        ++counts.resources[{resource_state(rsc), role_label(rsc.role)}];
    }
    return counts;
}

}  // namespace outpost::cluster::control
