// Typed Pacemaker Remote messages (docs/protocol.md 3 and 4.3) and their XML form: the table
// of executor operations both the agent's dispatcher and the cluster client work from
// (op_table()), one plain struct per message kind, encode() to a frame payload's XML text and
// decode_message() back to the right struct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.hpp"
#include "wire/codes.hpp"
#include "wire/params.hpp"
#include "wire/xml.hpp"

namespace outpost::wire {

// lrmd_remote_msg_type
enum class MsgType { request, reply, notify };

// Executor operations (lrmd_op). `unknown` keeps the name as sent in Request::op_name.
enum class Op {
    register_client,  // "register"
    rsc_register,
    rsc_unregister,
    rsc_info,
    rsc_exec,
    rsc_cancel,
    get_recurring,
    poke,
    check,
    alert_exec,
    ipc_fwd,
    rsc_metadata,
    new_client,  // only ever in notifications ("lrmd_rsc_new_client")
    unknown,
};

// What a request's data element is (docs/protocol.md 3.2).
enum class OpData { none, rsc, alert, check };

struct OpInfo {
    Op op;
    std::string_view name;  // lrmd_op on the wire
    // Whether the server answers with a reply (false only for lrmd_check): the agent's
    // dispatcher sends one exactly then, the client waits for one exactly then.
    bool has_reply;
    // The one data element a request carries; the encoder refuses (asserts) any other.
    OpData data;
};

// One row per operation, in the order of Op: the single description both sides dispatch
// from (the dispatcher's handlers are indexed by it).
std::span<const OpInfo> op_table();
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::unknown);
const OpInfo* find_op(std::string_view name);  // exact, case-sensitive, as 2.1.5 compares
// The row of `op`; asking for Op::unknown (no row) is a programming error and aborts.
const OpInfo& op_info(Op op);

// lrmd_origin values the 2.1.5 server writes (informational; peers do not check them).
namespace origin {
inline constexpr std::string_view message = "process_lrmd_message";
inline constexpr std::string_view signon = "process_lrmd_signon";
inline constexpr std::string_view rsc_info = "process_lrmd_get_rsc_info";
inline constexpr std::string_view get_recurring = "process_lrmd_get_recurring";
inline constexpr std::string_view exec_notify = "send_cmd_complete_notify";
inline constexpr std::string_view generic_notify = "send_generic_notify";
inline constexpr std::string_view new_client = "notify_of_new_client";
}  // namespace origin

// The data element of resource operations: lrmd_rsc inside lrmd_calldata.
struct RscData {
    std::optional<std::string> id;  // lrmd_rsc_id
    std::optional<std::string> rsc_class;
    std::optional<std::string> provider;
    std::optional<std::string> type;
    std::optional<std::string> action;  // lrmd_rsc_action
    std::optional<std::string> userdata;
    std::optional<std::uint32_t> interval_ms;
    std::optional<std::uint32_t> timeout_ms;  // inner lrmd_timeout (the one that counts)
    std::optional<std::uint32_t> start_delay_ms;
    std::string origin;  // lrmd_origin (caller's API function; informational)
    ParamMap params;     // child <attributes> (both encodings, docs/protocol.md 3.7)
    bool operator==(const RscData&) const = default;
};

// The data element of lrmd_alert_exec.
struct AlertData {
    std::optional<std::string> id;    // lrmd_alert_id
    std::optional<std::string> path;  // lrmd_alert_path
    std::optional<std::uint32_t> timeout_ms;
    std::string origin;
    ParamMap params;  // the environment for the alert agent
    bool operator==(const AlertData&) const = default;
};

// Client -> server executor request (root lrmd_command). Register ("hello") uses only
// client_name, protocol_version and ipc_provider.
struct Request {
    std::uint64_t msg_id = 0;
    Op op = Op::unknown;
    std::string op_name;  // lrmd_op exactly as sent (kept for logs and unknown ops)
    std::optional<unsigned> callopts;
    std::optional<std::uint32_t> timeout_ms;  // outer lrmd_timeout (informational)
    std::optional<std::string> client_name;   // lrmd_clientname
    std::optional<std::string> protocol_version;
    bool ipc_provider = false;  // lrmd_is_ipc_provider="true"
    std::string async_id;       // lrmd_async_id (ignored by servers)
    std::optional<RscData> rsc;
    std::optional<AlertData> alert;
    std::optional<std::string> watchdog;  // lrmd_check: lrmd_watchdog
    bool operator==(const Request&) const = default;
};

// lrmd_rsc_info reply data.
struct RscInfo {
    std::string id;
    std::string rsc_class;  // empty = not sent (2.1.5 registers resources without one)
    std::string provider;   // empty = not sent
    std::string type;       // empty = not sent
    bool operator==(const RscInfo&) const = default;
};

// lrmd_get_recurring reply data: one entry per resource.
struct RecurringOp {
    std::string action;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 0;
    bool operator==(const RecurringOp&) const = default;
};
struct RecurringList {
    std::string rsc_id;
    std::vector<RecurringOp> ops;
    bool operator==(const RecurringList&) const = default;
};

// Server -> client answer (root lrmd_reply), msg_id = the request's.
struct Reply {
    std::uint64_t msg_id = 0;
    std::string origin{origin::message};
    int rc = 0;
    int call_id = 0;
    // register
    std::optional<std::string> op;  // "register"
    std::optional<std::string> client_id;
    std::optional<std::string> protocol_version;
    std::optional<std::int64_t> uptime;           // seconds (2.1.6+)
    std::optional<std::string> node_start_state;  // 2.1.7+
    // lrmd_rsc_info
    std::optional<RscInfo> rsc_info;
    // lrmd_get_recurring
    std::vector<RecurringList> recurring;
    bool operator==(const Reply&) const = default;
};

// Operation completion (docs/protocol.md 3.5.1).
struct ExecNotify {
    std::uint32_t timeout_ms = 0;
    std::uint32_t interval_ms = 0;
    std::uint32_t start_delay_ms = 0;
    int exec_rc = ocf::ok;
    ExecStatus op_status = ExecStatus::done;
    int call_id = 0;
    bool rsc_deleted = false;
    std::int64_t run_time = 0;
    std::int64_t rcchange_time = 0;
    std::uint32_t exec_time_ms = 0;
    std::uint32_t queue_time_ms = 0;
    std::string rsc_id;
    std::string action;
    std::string userdata;
    std::optional<std::string> exit_reason;
    std::optional<std::string> output;
    ParamMap params;
    bool operator==(const ExecNotify&) const = default;
};

// An lrmd_rsc_exec once it is complete, as both ends handle it: what RemoteClient::exec()
// sends and what the agent's executor runs. to_request() gives its wire form (as liblrmd
// writes it), exec_request() takes it back out of one.
struct ExecRequest {
    std::string rsc_id;
    std::string action;
    std::uint32_t interval_ms = 0;
    // A default-constructed request carries the cluster's default operation timeout; 0 = none.
    std::uint32_t timeout_ms = 20000;
    std::uint32_t start_delay_ms = 0;
    std::string userdata;  // opaque, echoed verbatim in the result
    ParamMap params;
    unsigned callopts = 0;
    bool operator==(const ExecRequest&) const = default;
};
Request to_request(const ExecRequest& exec);
// nullopt without a resource id or action (the server answers -EINVAL); absent numbers are 0.
std::optional<ExecRequest> exec_request(const Request& request);

// The completion notify of `request` with call id `call_id` before anything ran: the
// request's fields echoed, rc ok, status done, no times. The executor fills in the rest; a
// client synthesizes failures from it when the connection drops.
ExecNotify notify_for(const ExecRequest& request, int call_id);

// An lrmd_alert_exec once it is complete (docs/protocol.md 5.13): sent by
// RemoteClient::alert_exec(), run by the agent's executor.
struct AlertRequest {
    std::string id;
    std::string path;
    std::uint32_t timeout_ms = 30000;
    ParamMap params;  // the environment for the alert agent
    bool operator==(const AlertRequest&) const = default;
};
Request to_request(const AlertRequest& alert);
// nullopt without an alert id or path (the server answers -EINVAL); an absent timeout is 0.
std::optional<AlertRequest> alert_request(const Request& request);

// Register/unregister/poke broadcast (docs/protocol.md 3.5.2).
struct GenericNotify {
    int rc = 0;
    int call_id = 0;
    std::string op;  // the request's lrmd_op
    std::optional<std::string> rsc_id;
    bool operator==(const GenericNotify&) const = default;
};

// A new client finished its TLS handshake (docs/protocol.md 3.5.3).
struct NewClientNotify {
    bool operator==(const NewClientNotify&) const = default;
};

// IPC proxy traffic (root lrmd_ipc_proxy, docs/protocol.md 4.3), both directions: server ->
// provider as notify (msg id 0), provider -> server as request with lrmd_op="ipc_fwd".
struct ProxyMessage {
    MsgType type = MsgType::notify;
    std::uint64_t msg_id = 0;
    std::string op;                      // lrmd_ipc_op: new, request, response, event, destroy, shutdown_*
    std::optional<std::string> server;   // lrmd_ipc_server (new)
    std::optional<std::string> session;  // lrmd_ipc_session
    std::optional<std::string> client;   // lrmd_ipc_client (request)
    std::optional<std::string> user;     // lrmd_ipc_user (request)
    std::optional<std::uint32_t> ipc_msg_id;
    std::optional<std::uint32_t> ipc_msg_flags;
    std::optional<Element> msg;  // the single child of <lrmd_ipc_msg>
    bool operator==(const ProxyMessage&) const = default;
};

using Notify = std::variant<ExecNotify, GenericNotify, NewClientNotify>;
using Message = std::variant<Request, Reply, ExecNotify, GenericNotify, NewClientNotify, ProxyMessage>;

// XML payload text (no NUL) with the envelope attributes. Requests get __name__, t and
// lrmd_async_id as liblrmd writes them; register gets only what 2.1.5 sends.
std::string encode(const Request& request);
std::string encode(const Reply& reply);
std::string encode(const ExecNotify& notify);
std::string encode(const GenericNotify& notify);
std::string encode(const NewClientNotify& notify);
std::string encode(const ProxyMessage& message);
std::string encode(const Message& message);

// The local executor API (the `lrmd` libqb service, docs/protocol.md 4.2) carries the same
// messages without the TLS envelope: the IPC header's request id takes the place of
// lrmd_remote_msg_id, and responses and events take the place of reply and notify.
// encode_local() writes a message as 2.1.5 sends it there (no envelope attributes).
std::string encode_local(const Reply& reply);
std::string encode_local(const ExecNotify& notify);
std::string encode_local(const GenericNotify& notify);
std::string encode_local(const NewClientNotify& notify);
std::string encode_local(const ProxyMessage& message);
std::string encode_local(const Message& message);

// Parses a local client's request: a ProxyMessage (type request) for root lrmd_ipc_proxy,
// otherwise a Request whatever the root is called (2.1.5 looks only at lrmd_op on this
// path and serves `<foo lrmd_op="lrmd_rsc_poke"/>` as a poke). `msg_id` (the IPC request
// id) becomes the message's msg_id; envelope attributes a client sends anyway are ignored.
// Errors (domain "wire", -EBADMSG/-EPROTO) as decode_message's: not XML, a number that is not.
Result<Message> decode_local_request(std::string_view xml, std::uint64_t msg_id = 0);

// Parses what a remote (TLS) client sent, as pacemaker-remoted 2.1.5 reads it: the root
// element's name and lrmd_remote_msg_type are not looked at, lrmd_op alone decides. Root
// lrmd_ipc_proxy with lrmd_op="ipc_fwd" gives a ProxyMessage (type request), anything else
// a Request: `<foo lrmd_remote_msg_id="7"/>` or a command without lrmd_op is an unknown op
// (answered -95), a client's `<lrmd_notify lrmd_op="lrmd_rsc_poke" .../>` a poke. An absent
// lrmd_remote_msg_id is 0. Errors as decode_message's: not XML, or a number that is not a
// non-negative decimal (2.1.5 carries on with -1 there; such a peer is refused instead).
// `max_size` as decode_message's.
Result<Message> decode_remote_request(std::string_view xml, std::size_t max_size = kDefaultMaxMessageSize);

// Element forms, for callers that add attributes (tests, unusual peers).
Element to_element(const Message& message);
Result<Message> from_element(const Element& root);

// Parses a payload. Decoding checks only form (well-formed XML, known root element, numbers
// that are numbers); what a request means (missing resource id -> -22, unknown op -> -95,
// ...) is the dispatcher's business, so every field a peer may omit is optional in the
// structs. Errors (domain "wire", -EPROTO/-EBADMSG) name what was wrong: not XML,
// unknown root element, missing or mistyped envelope, a numeric attribute that is not one,
// or a payload longer than `max_size` (-EMSGSIZE; a receiver passes the message limit of
// its connection, io::ConnectionLimits::max_message_size, so a raised limit holds).
Result<Message> decode_message(std::string_view xml, std::size_t max_size = kDefaultMaxMessageSize);

// Parameter maps (docs/protocol.md 3.7): names that start with a digit become <param> children.
// Decoding collects attributes, then <param> children; of duplicate names the last wins.
void params_to_element(const ParamMap& params, Element& attributes);
ParamMap params_from_element(const Element& attributes);

}  // namespace outpost::wire
