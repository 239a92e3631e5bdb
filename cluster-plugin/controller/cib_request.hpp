// CIB IPC messages (Pacemaker 2.1.x): what a tool sends (<cib_command>, parsed and checked
// here) and what the CIB manager sends back (the register reply, <cib-reply>, and the
// <notify> of a change). Observed with 2.1.5's cibadmin, crm_mon, crm_attribute and
// crm_resource against this service, against a real 2.1.5 cluster (the tools' -VVVVVV
// traces show every message they send and receive) and through the agent's IPC proxy
// (docs/transcripts/transcript2.txt). Our <notify> carries a coarser patchset than
// 2.1.5's (whole sections instead of single attributes) and no <cib_update> copy of the
// request; crm_mon applies it all the same:
//   <cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/>
//   -> <cib_common_callback_worker cib_op="register" cib_clientid="UUID"/>
//   <cib_command t="cib" cib_op="cib_query" cib_callid="2" cib_callopt="4352"
//                cib_section="nodes" ...><cib_calldata>DATA</cib_calldata></cib_command>
//   -> <cib-reply t="cib" cib_op="cib_query" cib_callid="2" cib_clientid=... cib_rc="0">
//        <cib_calldata>RESULT</cib_calldata></cib-reply>
//   <cib-callback cib_op="cib_notify" cib_notify_type="cib_diff_notify"
//                 cib_notify_activate="1"/>  (subscribe; events follow as <notify>)
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "controller/cib_ops.hpp"
#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

// Field names longer than this are refused (names, ids, ops are short).
inline constexpr std::size_t kMaxRequestFieldLength = 256;
inline constexpr const char* kDiffNotify = "cib_diff_notify";

struct CibRequest {
    XmlDoc message;  // the whole request; `data` points into it
    std::string op;
    std::string section;
    std::uint32_t options = 0;
    std::int64_t call_id = 0;
    std::string client_id;
    std::string client_name;
    std::string user;
    std::string notify_type;  // cib_notify: the event kind to (un)subscribe
    bool notify_activate = false;
    const xmlNode* data = nullptr;  // first element inside <cib_calldata>, if any

    [[nodiscard]] CibOperation operation() const { return {op, section, options, data}; }
};

// Parses and checks one request (root <cib_command> or <cib-callback>, known field formats, bounded
// lengths); an Error (code -EBADMSG or -EMSGSIZE) says what is wrong.
Result<CibRequest> parse_cib_request(std::string_view xml, std::size_t max_size);

std::string register_reply(const std::string& client_id);
// The reply to an operation: rc and, if `output` is set, the result as cib_calldata.
std::string operation_reply(const CibRequest& request, const std::string& client_id, int rc,
                            const xmlDoc* output);
// The acknowledgement of a cib_notify request.
std::string notify_reply(const CibRequest& request, int rc);
// The cib_diff_notify event of a change from `before` to `after` made by `request`.
std::string diff_notification(const CibRequest& request, const std::string& client_id, const xmlDoc* before,
                              const xmlDoc* after);

}  // namespace outpost::cluster::controller
