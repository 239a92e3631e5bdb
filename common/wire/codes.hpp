// The protocol's vocabulary, defined once for every side (docs/protocol.md 3.6, 3.9, 4.3,
// 4.4, 5.10): OCF exit statuses and execution statuses (with the names Pacemaker's tools
// print), call-option bits, request return codes, the IPC proxy's operations and flags, and
// the protocol version. The agent, the cluster client and the CLI use these names and spell
// no number of their own.
#pragma once

#include <cerrno>
#include <string_view>

namespace outpost::wire {

// OCF exit statuses (lrmd_exec_rc, docs/protocol.md 5.10).
namespace ocf {
inline constexpr int ok = 0;
inline constexpr int unknown_error = 1;
inline constexpr int invalid_param = 2;
inline constexpr int unimplemented = 3;
inline constexpr int insufficient_priv = 4;
inline constexpr int not_installed = 5;
inline constexpr int not_configured = 6;
inline constexpr int not_running = 7;
inline constexpr int running_promoted = 8;
inline constexpr int failed_promoted = 9;
inline constexpr int degraded = 190;
inline constexpr int degraded_promoted = 191;
inline constexpr int pending = 193;
}  // namespace ocf

// An OCF exit status as crm_resource names it in <agent-status message="..."> ("ok",
// "error", "not running", ...); "error" for codes outside 0-9.
std::string_view ocf_rc_name(int rc);

// Execution status (lrmd_exec_op_status, Pacemaker's PCMK_EXEC_* values).
enum class ExecStatus : int {
    unknown = -2,
    pending = -1,
    done = 0,
    cancelled = 1,
    timeout = 2,
    not_supported = 3,
    error = 4,
    error_hard = 5,
    error_fatal = 6,
    not_installed = 7,
    not_connected = 8,
    invalid = 9,
    no_fence_device = 10,
    no_secrets = 11,
};

// The status as crm_resource prints it ("complete", "Cancelled", "Timed Out", ...);
// "Unknown" for pending, unknown and values outside the list.
std::string_view exec_status_name(ExecStatus status);

// lrmd_callopt bits (docs/protocol.md 3.6).
namespace callopt {
// The exec notify goes only to the client that asked (alerts use it).
inline constexpr unsigned notify_orig_only = 0x2;
// Stored with a resource at registration: its recurring operations are cancelled when the
// last client leaves. 2.1.x defines it as 3, overlapping notify_orig_only, and tests for
// both bits; 3.0 redefined it as 1. Servers follow 2.1.5 (has_drop_recurring), so a 3.0
// controller's 1 is not honoured, exactly as by a 2.1.5 pacemaker-remoted
// (docs/conformance.md, scenario disconnect_callopt_1).
inline constexpr unsigned drop_recurring = 0x3;
inline constexpr unsigned drop_recurring_3_0 = 0x1;
// A recurring operation notifies only when its result changes.
inline constexpr unsigned notify_changes_only = 0x4;

inline constexpr bool has_drop_recurring(unsigned options)
{
    return (options & drop_recurring) == drop_recurring;
}
}  // namespace callopt

// lrmd_rc of replies and generic notifies: 0, a call id (> 0, exec), or a negated errno
// (docs/protocol.md 3.9).
namespace rc {
inline constexpr int ok = 0;
inline constexpr int access_denied = -EACCES;                 // provider flag from a local IPC client
inline constexpr int no_device = -ENODEV;                     // unknown resource
inline constexpr int invalid = -EINVAL;                       // missing id, action or alert fields
inline constexpr int protocol = -EPROTO;                      // client protocol version too old
inline constexpr int not_supported = -EOPNOTSUPP;             // unknown operation, nothing to cancel
inline constexpr int in_progress = -EINPROGRESS;              // unregistered while an operation runs
inline constexpr int no_provider_support = -EPROTONOSUPPORT;  // provider flag, non-remote build
}  // namespace rc

// lrmd_ipc_op of IPC proxy messages (docs/protocol.md 4.3).
namespace ipc_op {
// server -> provider
inline constexpr std::string_view new_session = "new";
inline constexpr std::string_view request = "request";
inline constexpr std::string_view shutdown_req = "shutdown_req";
// provider -> server
inline constexpr std::string_view response = "response";
inline constexpr std::string_view event = "event";
inline constexpr std::string_view shutdown_ack = "shutdown_ack";
inline constexpr std::string_view shutdown_nack = "shutdown_nack";
// both ways
inline constexpr std::string_view destroy = "destroy";
}  // namespace ipc_op

// IPC message flags (the libqb header's and lrmd_ipc_msg_flags, docs/protocol.md 4.4).
namespace ipc_flag {
inline constexpr unsigned compressed = 0x1;
inline constexpr unsigned proxied = 0x100;
inline constexpr unsigned client_response = 0x200;  // the tool waits for a response
inline constexpr unsigned server_event = 0x10000;
// Set by the 2.1.5 executor on everything it sends its local clients (responses 0x20000,
// events 0x30000, docs/conformance.md, "Local IPC"); clients ignore it.
inline constexpr unsigned server_free = 0x20000;
}  // namespace ipc_flag

// The protocol version we speak and announce (2.1.5 compatible), the oldest a client may
// register with, and the one family there is (a server announcing 2.x is not understood).
// Versions compare with version::compare() (util/version.hpp).
inline constexpr std::string_view kProtocolVersion = "1.1";
inline constexpr std::string_view kMinProtocolVersion = "1.0";
inline constexpr long kProtocolMajor = 1;

}  // namespace outpost::wire
