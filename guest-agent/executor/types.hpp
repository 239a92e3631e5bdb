// Executor value types: resource definitions, exec requests and operation results.
//
// These are plain structs shared by the executor and its caller (the server), which maps
// them to and from the wire messages of protocol.md 3.3 and 3.5.1. Codes follow
// Pacemaker 2.1.5: OCF exit statuses and PCMK_EXEC_* execution statuses (protocol.md
// 5.10), call-option bits of protocol.md 3.6. Nothing here knows XML or TLS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wire/params.hpp"

namespace outpost::agent::executor {

// OCF exit statuses as reported in lrmd_exec_rc.
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

// Execution status (lrmd_exec_op_status), PCMK_EXEC_* values.
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

// lrmd_callopt bits (protocol.md 3.6).
namespace callopt {
inline constexpr unsigned notify_orig_only = 0x2;
// 2.1.x defines drop-recurring as 3 (overlapping notify_orig_only) and tests it as "both
// bits set"; 3.0 redefined it as 1. We follow 2.1.5, observed in the conformance scenario
// disconnect_callopt_1: a resource registered with 1 keeps its recurring ops when the
// last client leaves, so a 3.0 controller's drop-recurring is not honoured here, exactly
// as by a 2.1.5 pacemaker-remoted (docs/conformance.md).
inline constexpr unsigned drop_recurring_2_1 = 0x3;
inline constexpr unsigned drop_recurring_3_0 = 0x1;
inline constexpr unsigned notify_changes_only = 0x4;

inline constexpr bool has_drop_recurring(unsigned options)
{
    return (options & drop_recurring_2_1) == drop_recurring_2_1;
}
}  // namespace callopt

// A registered resource (lrmd_rsc_register). `provider` is kept only for the ocf class.
struct ResourceDefinition {
    std::string id;
    std::string rsc_class;  // as sent; compared case-insensitively
    std::string provider;
    std::string type;
    unsigned callopts = 0;  // stored with the resource (drop-recurring)

    bool operator==(const ResourceDefinition&) const = default;
};

// One lrmd_rsc_exec request. The server supplies the global call id separately.
struct ExecRequest {
    std::string rsc_id;
    std::string action;
    std::string userdata;  // opaque, echoed verbatim
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 0;  // 0 = no timeout
    std::uint32_t start_delay_ms = 0;
    unsigned callopts = 0;
    wire::ParamMap params;
    std::string client_id;  // the requesting client, echoed in the result for the server
};

// Everything an exec completion notification carries (protocol.md 3.5.1).
struct OpResult {
    int call_id = 0;
    std::string rsc_id;
    std::string action;  // the requested action (systemd follow-up polls keep the original)
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 0;  // as originally requested
    std::uint32_t start_delay_ms = 0;
    int exec_rc = ocf::ok;
    ExecStatus status = ExecStatus::done;
    bool rsc_deleted = false;
    std::int64_t run_time = 0;       // epoch seconds of the (last) start; 0 if it never ran
    std::int64_t rcchange_time = 0;  // epoch seconds, 0 if never set (see executor.cpp)
    std::uint32_t exec_time_ms = 0;
    std::uint32_t queue_time_ms = 0;
    std::string userdata;
    std::string exit_reason;  // empty = none
    std::string output;       // empty = none
    wire::ParamMap params;    // the request's parameters, echoed unchanged
    std::string client_id;
    unsigned callopts = 0;
};

// One entry of lrmd_get_recurring.
struct RecurringOpInfo {
    std::string action;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 0;
};
struct ResourceRecurring {
    std::string rsc_id;
    std::vector<RecurringOpInfo> ops;
};

// Return codes of the executor's request entry points (negated errno, protocol.md 3.9).
namespace rc {
inline constexpr int ok = 0;
inline constexpr int no_device = -19;      // unknown resource
inline constexpr int invalid = -22;        // missing fields
inline constexpr int not_supported = -95;  // nothing to cancel
inline constexpr int in_progress = -115;   // unregister while an op executes
}  // namespace rc

}  // namespace outpost::agent::executor
