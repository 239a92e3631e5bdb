// The attribute manager's (attrd) messages, as Pacemaker 2.1.5's attrd_updater, crm_attribute
// -l reboot, crm_resource --cleanup and crm_failcount send them and pacemaker-attrd answers
// them (observed with the tools at -VVVVVV; docs/architecture.md, "The attrd face"):
//   - every request is one <create_attrd_op t="attrd" src="<tool>" task=...> with
//     attr_name, attr_value (absent: unset, attrd_updater -D), attr_dampening ("5s", "5000",
//     attrd_updater -d), attr_host (absent: the local node), attr_set, attr_is_private,
//     attr_is_remote, attr_resource / attr_clear_operation / attr_clear_interval
//     (clear-failure);
//   - tasks update, update-both (value and dampening), update-delay (dampening only),
//     query, refresh, clear-failure, peer-remove; each but query is answered with
//     <ack function=... line=... status="112" ipc-protocol-version="4"/>;
//   - query is answered with <build_query_reply t="attrd" subt="query" attr_version="4"
//     attr_name=...> holding one <node attr_host=... attr_value=.../> per node that knows
//     the attribute (no attr_value: known but unset); an attribute nobody knows is answered
//     with a bare <build_query_reply t subt attr_version/> (the tool: "does not exist").
// Also the value expansion attrd does ("value++", "value+=N") and its dampening syntax.
// Pure: no I/O; AttributeService is what the IPC faces hand decoded requests to.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::controller {

// Requests are small; anything larger is refused unread.
inline constexpr std::size_t kMaxAttrdRequest = std::size_t{64} * 1024;
// The protocol version 2.1.5 announces (ack and query reply).
inline constexpr const char* kAttrdProtocol = "4";
// A dampening longer than this is refused (a typo would otherwise hold a value for years).
inline constexpr std::chrono::milliseconds kMaxDampening{std::chrono::hours(24 * 7)};

struct AttrdOp {
    std::string task;
    std::string source;                    // src: the tool's name
    std::string name;                      // attr_name
    std::optional<std::string> value;      // attr_value; nullopt: unset the attribute
    std::optional<std::string> dampening;  // attr_dampening as sent
    std::string host;                      // attr_host: empty for the local node
    std::string set;                       // attr_set: empty for status-<node id>
    bool is_private = false;
    bool is_remote = false;
    std::string resource;   // clear-failure: attr_resource (empty: every resource)
    std::string operation;  // clear-failure: attr_clear_operation (empty: every one)
    std::string interval;   // clear-failure: attr_clear_interval (ms, as text)
};

// An Error for a message that is not an attrd operation, or an attribute task without a
// name.
Result<AttrdOp> parse_attrd_op(std::string_view xml);

// The ack pacemaker-attrd sends for every request but query (status 112: accepted).
std::string attrd_ack(const char* function, int status = 112);

// One node's value in a query reply; nullopt: the node knows the attribute, unset.
using AttrdValue = std::pair<std::string, std::optional<std::string>>;
// Empty `values`: the bare reply for an attribute nobody knows.
std::string attrd_query_reply(const std::string& name, const std::vector<AttrdValue>& values);

// attr_dampening as time: plain digits are seconds, a unit (ms, s, m, min, h) may follow.
// nullopt: not a duration or longer than kMaxDampening.
std::optional<std::chrono::milliseconds> parse_dampening(std::string_view text);

// What attrd stores for `value` given the attribute's current value: "value++" and
// "value+=N" add (1 or N) to the current integer (0 when unset or not a number), capped at
// +/-1000000 (INFINITY); anything else is stored as it is.
std::string expand_attribute_value(std::string_view value, const std::optional<std::string>& current);

// What answers attrd requests (control/attribute_manager); the faces borrow it.
class AttributeService {
public:
    virtual ~AttributeService() = default;
    // The reply to `op` (an ack, or the query reply); an op without attr_host is for
    // `local_node`.
    virtual std::string handle(const AttrdOp& op, const std::string& local_node) = 0;
};

}  // namespace outpost::cluster::controller
