// The controller's (crmd) messages for Pacemaker's tools
// (crm_resource --cleanup / --refresh / --fail, crm_node -n, crm_attribute -t rsc_defaults).
// Observed against a real 2.1.5 cluster with the tools at -VVVVVV ("ipc-sent",
// "ipc-received"; docs/architecture.md, "The crmd face"):
//   - every request is a <create_request_adv t="crmd" subt="request" crm_task=...
//     reference=... crm_sys_from="<pid>_<tool>">; the first, crm_task="hello", is not answered;
//   - node-info is answered with a <create_reply_adv subt="response"> holding
//     <crm_xml><node uname id crmd="member" .../></crm_xml>;
//   - lrm_delete and lrm_fail carry <crm_xml><rsc_op transition-key on_node><primitive id
//     class provider type/>..., crm_host_to names the node; they are answered with an
//     "lrm_invoke" request from "lrmd" holding the node_state/lrm/.../lrm_rsc_op of the
//     delete (or asyncmon) acknowledged, which the tool counts as its reply;
//   - probe_again (crm_resource --refresh without a resource) is answered with an empty
//     "lrm_invoke" request;
//   - crm_resource sends attrd's clear-failure before lrm_delete (attrd.hpp).
// A tool waiting for a response (IPC flag client_response) gets an <ack status="112"> as
// that response and the answer as an event. Pure: no I/O.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "controller/controller_actions.hpp"
#include "controller/node_info.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

// Requests are small; anything larger is refused unread.
inline constexpr std::size_t kMaxCrmdRequest = std::size_t{64} * 1024;

struct CrmdRequest {
    std::string task;       // crm_task
    std::string reference;  // echoed in the reply
    std::string sys_from;   // crm_sys_from
    std::string host_to;    // crm_host_to (may be empty: the local node)
    std::string version;
    // node-info: the node asked about (crm_node -N: its id; a remote node's proxied
    // request: its name), none for the controller's own.
    NodeQuery node;
    // lrm_delete / lrm_fail: the resource (node: on_node, else crm_host_to) and the key the
    // tool made up for the operation.
    FailedResource rsc;
    std::string transition_key;
};

// An Error for a message that is not a crmd request, or an lrm_delete/lrm_fail without a
// resource id.
Result<CrmdRequest> parse_crmd_request(std::string_view xml);

// <ack function="..." line="0" status="..."/>.
std::string ipc_ack(const char* function, int status);

// The node-info answer for the controller's own node.
std::string node_info_reply(const CrmdRequest& request, const std::string& client_uuid,
                            const std::string& node_name, const std::string& node_id);
// The node-info answer from the controller on `controller_node` about `node`; nullptr: a
// node it does not know (crm_node -N then says "Node is not known to cluster", exit 68).
std::string node_info_reply(const CrmdRequest& request, const std::string& client_uuid,
                            const std::string& controller_node, const NodeInfo* node);

struct LrmAck {
    std::string operation;  // "delete" or "asyncmon"
    int call_id = 0;
    bool ok = true;  // false: op-status 4 (error), rc error_rc
    std::time_t now = 0;
    int serial = 0;  // makes the reference unique
    int error_rc = 1;
    std::string exit_reason;  // with !ok
};
// The lrm_invoke answer to lrm_delete / lrm_fail.
std::string lrm_invoke_reply(const CrmdRequest& request, const std::string& client_uuid,
                             const std::string& host_name, const std::string& node_id, const LrmAck& ack);
// The lrm_invoke answer to probe_again.
std::string reprobe_reply(const CrmdRequest& request, const std::string& client_uuid,
                          const std::string& host_name, std::time_t now, int serial);

}  // namespace outpost::cluster::controller
