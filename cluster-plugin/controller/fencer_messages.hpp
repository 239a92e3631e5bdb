// The fencer's (stonith-ng) messages for Pacemaker's tools (stonith_admin, crm_mon's fencing
// history, pcs stonith history/fence/confirm) and the bounded fencing history the fencer
// keeps in memory. Observed against a real pacemaker-fenced 2.1.5 with the tools at
// -VVVVVV and the fencer traced (docs/architecture.md, "The stonith-ng face"):
//   - a request is <stonith_command t="stonith-ng" st_op=... st_callid st_callopt st_timeout
//     st_clientid st_clientname>, possibly holding <st_calldata> with one element: the
//     target, device or action of the call; subscriptions are <stonith_set_notification
//     st_op="st_notify" st_notify_activate|st_notify_deactivate="st_notify_fence">;
//   - "register" is answered with <reply st_op="register" st_clientid=UUID>, st_notify with
//     <ack function="handle_notify_request" status="0">, both as the libqb response;
//   - every other call is answered with an <st-reply> carrying op-status (pcmk exec status),
//     rc-code (exit code), st_rc (negative errno), st_op, st_callid and the client's ids; as
//     the response when its call options hold st_opt_sync_call (0x1000), as an event else;
//   - st_fence answers when the fencing is over (before it, an <st-async-timeout-value>
//     event), and every client subscribed to st_notify_fence gets a <notify
//     subt="st_notify_fence"> of its outcome; st_notify_history subscribers get a <notify
//     subt="st_notify_history"> whenever the history changes.
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::controller {

// Requests are small; anything larger is refused unread.
inline constexpr std::size_t kMaxFencerRequest = std::size_t{64} * 1024;
// Longest node, device, agent, action or client name accepted.
inline constexpr std::size_t kMaxFencerName = 256;
// Device parameters a registration may carry.
inline constexpr std::size_t kMaxFencerParams = 128;
// Fencing operations kept in memory (pacemaker-fenced keeps 500).
inline constexpr std::size_t kFenceHistorySize = 500;

// Call options (st_callopt) the face reads.
namespace st_opt {
inline constexpr std::uint32_t manual_ack = 0x8;      // stonith_admin --confirm
inline constexpr std::uint32_t sync_call = 0x1000;    // the caller waits for the response
inline constexpr std::uint32_t cleanup = 0x80000;     // st_fence_history: forget, do not list
inline constexpr std::uint32_t broadcast = 0x100000;  // to every fencer of the cluster
}  // namespace st_opt

// A topology level of stonith_admin --register-level / --deregister-level: the request's
// <fencing-level> (st_calldata) names the target by exactly one of target, target-pattern or
// target-attribute with target-value, and holds index (1-9; a removal's 0 means every level
// of the target) and, to register, devices (comma-separated).
struct FencerLevel {
    int index = 0;
    std::string target;
    std::string target_pattern;
    std::string target_attribute;
    std::string target_value;
    std::vector<std::string> devices;
};

struct FencerRequest {
    std::string root;  // stonith_command or stonith_set_notification
    std::string op;    // st_op: register, st_notify, st_query, st_fence, ...
    int call_id = 0;
    std::uint32_t call_options = 0;
    int timeout_s = 0;  // st_timeout
    std::string client_id;
    std::string client_name;
    std::string notify_activate;    // st_notify
    std::string notify_deactivate;  // st_notify
    // From st_calldata's element.
    std::string target;                         // st_target
    std::string action;                         // st_device_action
    std::string device;                         // st_device_id (st_execute) or id (registration, removal)
    std::string agent;                          // a registration's agent
    int tolerance_s = 0;                        // st_tolerance
    int delay_s = 0;                            // st_delay (stonith_admin --delay; -1: none at all)
    std::map<std::string, std::string> params;  // a registration's <attributes>
    FencerLevel level;                          // st_level_add, st_level_remove
};

// An Error for a message that is not a fencer request, a bad number, a name over
// kMaxFencerName or more than kMaxFencerParams parameters.
Result<FencerRequest> parse_fencer_request(std::string_view xml);

// What a call did: op-status, rc-code and st_rc of the <st-reply>.
struct FencerResult {
    wire::ExecStatus status = wire::ExecStatus::done;
    int exit_code = 0;   // rc-code (CRM_EX_*)
    int rc = 0;          // st_rc (0 or a negative errno)
    std::string reason;  // exit-reason
    static FencerResult ok() { return {}; }
    static FencerResult failed(wire::ExecStatus status, int rc, std::string reason);
};

// One fencing operation, as the history keeps it.
enum class FenceState { pending = 1, done = 2, failed = 4 };
struct FenceHistoryEntry {
    std::string id;  // st_remote_op
    std::string target;
    std::string action;     // off, reboot, on
    std::string origin;     // the node that asked
    std::string delegate;   // the node (or "a human") that fenced it; empty on failure
    std::string client;     // the asking client's name
    std::string client_id;  // and its registration id (may be empty)
    FenceState state = FenceState::pending;
    FencerResult result;
    std::int64_t completed = 0;  // epoch seconds (the start while pending)
    long completed_ns = 0;
};

// The in-memory history: newest last, at most `limit` entries (the oldest go first).
class FenceHistory {
public:
    explicit FenceHistory(std::size_t limit = kFenceHistorySize) : limit_(limit) {}
    void add(FenceHistoryEntry entry);
    // The entry with `id` gets `state`, `result`, `delegate` and the completion time; false
    // when it is gone.
    bool finish(const std::string& id, FenceState state, const FencerResult& result,
                const std::string& delegate, std::int64_t when, long when_ns);
    // Forgets the finished entries of `target` (every target when empty); how many went.
    std::size_t clear(const std::string& target);
    [[nodiscard]] const std::deque<FenceHistoryEntry>& entries() const { return entries_; }
    [[nodiscard]] const FenceHistoryEntry* find(const std::string& id) const;

private:
    std::size_t limit_;
    std::deque<FenceHistoryEntry> entries_;
};

// What an agent action of a device (list, monitor, status) ended with.
struct DeviceActionOutcome {
    bool ran = false;  // false: the agent could not run (then exit_code is meaningless)
    bool timed_out = false;
    int exit_code = 0;
    std::string output;  // its stdout
    std::string error;   // why it failed, for the log and exit-reason
};

// A fence device as the fencer lists it.
struct FencerDevice {
    std::string id;
    std::string agent;
    std::map<std::string, std::string> params;
    int priority = 0;  // the `priority` meta attribute: tried first without a topology
};

// <reply st_op="register" st_clientid=.../>
std::string fencer_register_reply(const std::string& client_id);
// <ack function="handle_notify_request" line="0" status="0"/>
std::string fencer_notify_ack();
// <st-reply> for `request` with `result`; `calldata` (serialized XML, may be empty) goes
// inside <st_calldata>; `extra` attributes go on the root (st_delegate, st_output, ...).
std::string fencer_reply(const FencerRequest& request, const FencerResult& result,
                         const std::string& calldata = {},
                         const std::vector<std::pair<std::string, std::string>>& extra = {});
// st_fence_history's calldata: <st_history> with the entries of `target` (every entry when
// empty), newest first as pacemaker-fenced lists them.
std::string fencer_history_calldata(const std::deque<FenceHistoryEntry>& entries, const std::string& target);
// st_query's calldata: the devices that can do the action on the target.
std::string fencer_query_calldata(const std::string& target, const std::vector<FencerDevice>& devices);
// The reply to st_fence once the fencing is over (also the answer to --confirm).
std::string fencer_fence_reply(const FencerRequest& request, const FenceHistoryEntry& entry,
                               const std::string& node_name);
// <st-async-timeout-value> of a call: how long the caller should wait (120 % of st_timeout).
std::string fencer_timeout_value(int call_id, int timeout_s);
// <notify subt="st_notify_fence"> of a finished fencing, for its subscribers.
std::string fencer_fence_notification(const FenceHistoryEntry& entry);
// <notify subt="st_notify_history">: the history changed.
std::string fencer_history_notification();

}  // namespace outpost::cluster::controller
