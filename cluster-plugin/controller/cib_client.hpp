// The tool side of the CIB IPC: sign on to the CIB manager and fetch the whole live CIB,
// as crm_simulate -L and cibadmin -Q do (observed against outpost-controld's trace log and
// a real 2.1.5 cluster):
//   <cib_command t="cib" cib_op="register" cib_clientname="NAME" cib_callopt="4096"/>
//   -> <cib_common_callback_worker cib_op="register" cib_clientid="UUID"/>
//   <cib_command t="cib" cib_async_id="UUID" cib_op="cib_query" cib_callid="2"
//                cib_callopt="4352"/>     (scope local + sync call)
//   -> <cib-reply ... cib_rc="0"><cib_calldata><cib ...>...</cib></cib_calldata></cib-reply>
// The same exchange works against pacemaker-based and outpost-controld. The message
// builders and reply readers are pure (unit-tested); fetch_live_cib() does the I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::cluster::controller {

// Whole-CIB queries are answered at once; a DC under load may take a while.
inline constexpr std::chrono::milliseconds kCibQueryTimeout{30000};
// The read-only channel: a query needs nothing more.
inline constexpr const char* kCibReadOnlyService = "cib_ro";

std::string register_request(std::string_view client_name);
std::string query_request(std::string_view client_id, std::int64_t call_id);
// The client id the CIB manager handed out, or an Error (-EBADMSG) saying what is wrong.
Result<std::string> read_register_reply(std::string_view xml);
// The <cib> of a query reply, serialized; a non-zero cib_rc is an Error with that code.
Result<std::string> read_query_reply(std::string_view xml);

struct LiveCibOptions {
    std::string service = kCibReadOnlyService;
    std::string client_name = "outpost-simulate";
    std::size_t buffer_size = std::size_t{128} * 1024;  // PCMK_ipc_buffer (ipc::kDefaultBufferSize)
    std::chrono::milliseconds timeout = kCibQueryTimeout;
};

// Connects, registers and queries the whole CIB. Errors (domain "cib"): -ENOTCONN (no CIB
// service on this machine), -EACCES (not root, not in haclient), -EPERM (the service runs as
// an untrusted user), -ETIMEDOUT, or the CIB manager's own rc; each message names the
// service and what to do.
Result<std::string> fetch_live_cib(const LiveCibOptions& options);

}  // namespace outpost::cluster::controller
