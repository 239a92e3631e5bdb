// ControllerActions: what the controller's (crmd) IPC face asks of the control loop for
// Pacemaker's tools (crm_resource --cleanup / --refresh / --fail; the failure attributes
// --cleanup clears first are the attribute manager's: control/attribute_manager). The
// control loop implements it; the faces only borrow it, so that the controller library
// does not depend on the loop's.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::controller {

struct FailedResource {
    std::string node;
    std::string rsc_id;
    std::string rsc_class;
    std::string provider;
    std::string type;
};

class ControllerActions {
public:
    virtual ~ControllerActions() = default;
    // The controller's own node id (its node_state id).
    [[nodiscard]] virtual std::string host_node_id() const = 0;
    // lrm_delete: the resource's operation history on the node goes (its recurring operations
    // are cancelled), so the next transition probes it again.
    virtual Status delete_history(const std::string& node, const std::string& rsc_id) = 0;
    // lrm_fail: a failed operation is recorded for the resource, so that it is recovered.
    // The call id of the recorded operation.
    virtual Result<int> fail_resource(const FailedResource& resource) = 0;
    // probe_again: every resource's history on the node goes (as delete_history).
    virtual Status reprobe(const std::string& node) = 0;
    // Not a tool's request: outpost-controld's domain watch saw container `rsc_id` die
    // behind the cluster's back (and reported it failed): every guest node it holds is
    // lost now, as when its connection drops. The guests lost (none by default).
    virtual std::vector<std::string> container_lost(const std::string& rsc_id)
    {
        (void)rsc_id;
        return {};
    }
};

}  // namespace outpost::cluster::controller
