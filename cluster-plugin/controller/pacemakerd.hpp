// The pacemakerd face: Pacemaker's launcher answers a status ping, and crm_mon asks it
// before anything else ("Could not connect to launcher" without it). outpost-controld is
// the launcher here, always in state "running" once it serves IPC. Observed request
// (crm_mon 2.1.5 -VVVVVV, "ipc-sent"):
//   <create_request_adv origin="do_pacemakerd_api_call" t="crmd" version="3.16.1"
//     subt="request" reference="ping-crm_mon-1796553602-0" crm_task="ping"
//     crm_sys_to="pacemakerd" crm_sys_from="21624_crm_mon"/>
// 2.1.5's pacemakerd answers with an <ack status="112"> (CRM_EX_INDETERMINATE: the answer
// follows) as the IPC response, then an event: a <create_reply_adv> with subt="response",
// the same reference and task, and the <ping_response> (names from Pacemaker's public
// crm/msg_xml.h) inside <crm_xml> (observed with crm_mon -VVVVVV against a real cluster).
// Pure: no I/O.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::cluster::controller {

// Requests are tiny; anything larger is refused unread.
inline constexpr std::size_t kMaxPacemakerdRequest = std::size_t{8} * 1024;

struct PacemakerdAnswer {
    std::string ack;    // the IPC response
    std::string event;  // the reply proper, sent after it; empty when there is none
};

// The answer to one request: for a ping, the ack and the ping response; for any other
// task an <ack> with status 3 (CRM_EX_UNIMPLEMENT_FEATURE) alone. An Error for a message
// that is not a request.
Result<PacemakerdAnswer> pacemakerd_reply(std::string_view request, std::time_t now);

}  // namespace outpost::cluster::controller
