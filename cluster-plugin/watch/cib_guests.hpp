// What the CIB says about the guests on one node: the resources whose agent is a libvirt
// domain agent (ocf:heartbeat:VirtualDomain, ocf:outpost:guest), where each one's domain
// is described (config, hypervisor), whether the cluster manages it, and its state on the
// node as the resource history (lrm_rsc_op) records it. Pure: CIB XML in, values out.
//
// The state on the node follows the last non-recurring operation (highest call-id):
//   active    start, migrate_from or promote/demote succeeded, or a probe found it running,
//             and no failure has been recorded since;
//   inactive  stopped, migrated away, never ran here, or a probe found it stopped;
//   busy      an operation is in flight (a pending record: the cluster itself is starting,
//             stopping or migrating it);
//   failed    the last operation failed, or a failure (a monitor's, or one reported with
//             crm_resource --fail) was recorded after it: the cluster knows already.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::watch {

enum class NodeState { inactive, active, busy, failed };
const char* node_state_name(NodeState state);

struct GuestResource {
    std::string id;
    std::string agent;       // "ocf:heartbeat:VirtualDomain"
    std::string config;      // instance attribute config
    std::string hypervisor;  // instance attribute hypervisor ("" = from the domain's type)
    bool managed = true;     // is-managed and not in maintenance (resource, parents, defaults)
    NodeState state = NodeState::inactive;
    std::string detail;       // "start rc 0 (call 12)", "pending stop", ...
    long decisive_call = -1;  // call-id of the operation that decided `state`
};

struct CibGuests {
    bool cluster_maintenance = false;  // maintenance-mode=true
    bool node_maintenance = false;     // the node's maintenance attribute
    bool node_known = false;           // the node has a node_state entry
    std::vector<GuestResource> guests;
};

// True for the agents whose resources are libvirt domains.
bool is_domain_agent(std::string_view cls, std::string_view provider, std::string_view type);

Result<CibGuests> parse_cib(std::string_view cib_xml, const std::string& node);

}  // namespace outpost::cluster::watch
