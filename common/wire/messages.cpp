// Typed messages <-> Element trees (docs/protocol.md 3 and 4.3). Attribute names and their
// order follow what the 2.1.5 peers write (docs/transcripts/transcript1.txt /
// docs/transcripts/transcript2.txt), so that a capture of our traffic reads like one of theirs; parsers do
// not depend on the order.
#include "wire/messages.hpp"

#include <strings.h>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "util/log.hpp"

namespace outpost::wire {

namespace {

// Element and attribute names of the protocol, spelled once.
namespace el {
constexpr std::string_view command = "lrmd_command";
constexpr std::string_view reply = "lrmd_reply";
constexpr std::string_view notify = "lrmd_notify";
constexpr std::string_view proxy = "lrmd_ipc_proxy";
constexpr std::string_view calldata = "lrmd_calldata";
constexpr std::string_view rsc = "lrmd_rsc";
constexpr std::string_view alert = "lrmd_alert";
constexpr std::string_view op = "lrmd_op";  // lrmd_check's data element
constexpr std::string_view rsc_op = "lrmd_rsc_op";
constexpr std::string_view attributes = "attributes";
constexpr std::string_view param = "param";
constexpr std::string_view ipc_msg = "lrmd_ipc_msg";
}  // namespace el

namespace at {
constexpr std::string_view name = "__name__";
constexpr std::string_view t = "t";
constexpr std::string_view async_id = "lrmd_async_id";
constexpr std::string_view op = "lrmd_op";
constexpr std::string_view timeout = "lrmd_timeout";
constexpr std::string_view callopt = "lrmd_callopt";
constexpr std::string_view clientname = "lrmd_clientname";
constexpr std::string_view protocol_version = "lrmd_protocol_version";
constexpr std::string_view is_ipc_provider = "lrmd_is_ipc_provider";
constexpr std::string_view msg_id = "lrmd_remote_msg_id";
constexpr std::string_view msg_type = "lrmd_remote_msg_type";
constexpr std::string_view origin = "lrmd_origin";
constexpr std::string_view rc = "lrmd_rc";
constexpr std::string_view callid = "lrmd_callid";
constexpr std::string_view clientid = "lrmd_clientid";
constexpr std::string_view uptime = "uptime";
constexpr std::string_view node_start_state = "node_start_state";
constexpr std::string_view rsc_id = "lrmd_rsc_id";
constexpr std::string_view rsc_class = "lrmd_class";
constexpr std::string_view provider = "lrmd_provider";
constexpr std::string_view type = "lrmd_type";
constexpr std::string_view action = "lrmd_rsc_action";
constexpr std::string_view userdata = "lrmd_rsc_userdata_str";
constexpr std::string_view interval = "lrmd_rsc_interval";
constexpr std::string_view start_delay = "lrmd_rsc_start_delay";
constexpr std::string_view exec_rc = "lrmd_exec_rc";
constexpr std::string_view op_status = "lrmd_exec_op_status";
constexpr std::string_view rsc_deleted = "lrmd_rsc_deleted";
constexpr std::string_view run_time = "lrmd_run_time";
constexpr std::string_view rcchange_time = "lrmd_rcchange_time";
constexpr std::string_view exec_time = "lrmd_exec_time";
constexpr std::string_view queue_time = "lrmd_queue_time";
constexpr std::string_view exit_reason = "lrmd_rsc_exit_reason";
constexpr std::string_view output = "lrmd_rsc_output";
constexpr std::string_view alert_id = "lrmd_alert_id";
constexpr std::string_view alert_path = "lrmd_alert_path";
constexpr std::string_view watchdog = "lrmd_watchdog";
constexpr std::string_view ipc_op = "lrmd_ipc_op";
constexpr std::string_view ipc_server = "lrmd_ipc_server";
constexpr std::string_view ipc_session = "lrmd_ipc_session";
constexpr std::string_view ipc_client = "lrmd_ipc_client";
constexpr std::string_view ipc_user = "lrmd_ipc_user";
constexpr std::string_view ipc_msg_id = "lrmd_ipc_msg_id";
constexpr std::string_view ipc_msg_flags = "lrmd_ipc_msg_flags";
constexpr std::string_view param_name = "name";
constexpr std::string_view param_value = "value";
}  // namespace at

constexpr std::string_view kExecOpName = "lrmd_rsc_exec";
constexpr std::string_view kNewClientOpName = "lrmd_rsc_new_client";
constexpr std::string_view kIpcFwdOpName = "ipc_fwd";

constexpr std::array kOps = {
    OpInfo{Op::register_client, "register", true, OpData::none},
    OpInfo{Op::rsc_register, "lrmd_rsc_register", true, OpData::rsc},
    OpInfo{Op::rsc_unregister, "lrmd_rsc_unregister", true, OpData::rsc},
    OpInfo{Op::rsc_info, "lrmd_rsc_info", true, OpData::rsc},
    OpInfo{Op::rsc_exec, kExecOpName, true, OpData::rsc},
    OpInfo{Op::rsc_cancel, "lrmd_rsc_cancel", true, OpData::rsc},
    OpInfo{Op::get_recurring, "lrmd_get_recurring", true, OpData::rsc},
    OpInfo{Op::poke, "lrmd_rsc_poke", true, OpData::rsc},
    OpInfo{Op::check, "lrmd_check", false, OpData::check},
    OpInfo{Op::alert_exec, "lrmd_alert_exec", true, OpData::alert},
    OpInfo{Op::ipc_fwd, kIpcFwdOpName, true, OpData::none},
    OpInfo{Op::rsc_metadata, "lrmd_rsc_metadata", true, OpData::rsc},
    // Only ever a notification; a client sending it as a request gets the -95 of an unknown op.
    OpInfo{Op::new_client, kNewClientOpName, true, OpData::none},
};
// op_info() indexes the table by the enum value.
static_assert([] {
    for (std::size_t i = 0; i < kOps.size(); ++i) {
        if (static_cast<std::size_t>(kOps[i].op) != i) return false;
    }
    return kOps.size() == kOpCount;
}());

Error form_error(std::string message)
{
    return make_error("wire", -EBADMSG, std::move(message));
}

// ---- numbers --------------------------------------------------------------------------

template <typename T>
std::string number(T value)
{
    std::array<char, 24> buffer{};
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    (void)ec;  // 24 characters hold any 64-bit integer
    return {buffer.data(), end};
}

// Strict decimal: an optional '-' for signed types, then digits only, in range.
template <typename T>
Result<T> parse_number(const Element& element, std::string_view key, const std::string& text)
{
    T value{};
    const char* first = text.data();
    const char* last = first + text.size();
    if constexpr (std::is_unsigned_v<T>) {
        if (first != last && *first == '-') first = last;  // force the error below
    }
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (text.empty() || ec != std::errc{} || ptr != last) {
        return form_error(
            element.name + " attribute " + std::string(key) + "=" + log::quote(text, 40) +
            (ec == std::errc::result_out_of_range ? " is out of range" : " is not a decimal number") +
            (std::is_unsigned_v<T> ? " (non-negative expected)" : ""));
    }
    return value;
}

template <typename T>
Status read_number(const Element& element, std::string_view key, T& out)
{
    const std::string* text = element.attr(key);
    if (text == nullptr) return {};
    auto parsed = parse_number<T>(element, key, *text);
    if (!parsed) return parsed.error();
    out = *parsed;
    return {};
}

template <typename T>
Status read_number(const Element& element, std::string_view key, std::optional<T>& out)
{
    const std::string* text = element.attr(key);
    if (text == nullptr) return {};
    auto parsed = parse_number<T>(element, key, *text);
    if (!parsed) return parsed.error();
    out = *parsed;
    return {};
}

void read_string(const Element& element, std::string_view key, std::optional<std::string>& out)
{
    if (const std::string* text = element.attr(key)) out = *text;
}

void read_string(const Element& element, std::string_view key, std::string& out)
{
    if (const std::string* text = element.attr(key)) out = *text;
}

// ---- building -------------------------------------------------------------------------

// Appends without the duplicate check of Element::set(): encoders write each name once.
void add(Element& element, std::string_view key, std::string value)
{
    element.attributes.emplace_back(std::string(key), std::move(value));
}

template <typename T>
void add_optional(Element& element, std::string_view key, const std::optional<T>& value)
{
    if (!value) return;
    if constexpr (std::is_same_v<T, std::string>) {
        add(element, key, *value);
    } else {
        add(element, key, number(*value));
    }
}

std::string_view type_name(MsgType type)
{
    switch (type) {
        case MsgType::request:
            return "request";
        case MsgType::reply:
            return "reply";
        case MsgType::notify:
            return "notify";
    }
    return "request";
}

void add_envelope(Element& element, std::uint64_t msg_id, MsgType type)
{
    add(element, at::msg_id, number(msg_id));
    add(element, at::msg_type, std::string(type_name(type)));
}

// The local executor API has no envelope (docs/protocol.md 4.2); the builders add it last, so
// removing it keeps every other attribute where 2.1.5 writes it.
void strip_envelope(Element& element)
{
    std::erase_if(element.attributes, [](const auto& attribute) {
        return attribute.first == at::msg_id || attribute.first == at::msg_type;
    });
}

Element make_root(std::string_view name, std::size_t attributes)
{
    Element root;
    root.name = std::string(name);
    root.attributes.reserve(attributes);
    return root;
}

// A parameter name goes in as an attribute only if it is a plain XML name that cannot be
// mistaken for a namespace declaration; anything else (names starting with a digit, the
// case docs/protocol.md 3.7 names, but also names with spaces or colons that a <param> child
// may carry) uses the <param name= value=/> form, which every receiver collects too.
bool attribute_safe(std::string_view name)
{
    if (name.empty() || name.starts_with("xml")) return false;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!alpha(name.front())) return false;
    for (char c : name) {
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
    }
    return true;
}

void add_params(Element& parent, const ParamMap& params)
{
    Element& attributes = parent.add_child(std::string(el::attributes));
    params_to_element(params, attributes);
}

void rsc_to_element(const RscData& rsc, Op op, bool always_params, Element& calldata)
{
    Element& data = calldata.add_child(std::string(el::rsc));
    data.attributes.reserve(10);
    if (!rsc.origin.empty()) add(data, at::origin, rsc.origin);
    if (op == Op::rsc_cancel) {
        // liblrmd's cancel writes the action before the id (docs/transcripts/transcript1.txt).
        add_optional(data, at::action, rsc.action);
        add_optional(data, at::rsc_id, rsc.id);
    } else {
        add_optional(data, at::rsc_id, rsc.id);
    }
    add_optional(data, at::rsc_class, rsc.rsc_class);
    add_optional(data, at::provider, rsc.provider);
    add_optional(data, at::type, rsc.type);
    if (op != Op::rsc_cancel) add_optional(data, at::action, rsc.action);
    add_optional(data, at::userdata, rsc.userdata);
    add_optional(data, at::interval, rsc.interval_ms);
    add_optional(data, at::timeout, rsc.timeout_ms);
    add_optional(data, at::start_delay, rsc.start_delay_ms);
    if (always_params || !rsc.params.empty()) add_params(data, rsc.params);
}

// Whether `request` carries no data element other than `data`'s.
bool carries_only(const Request& request, OpData data)
{
    return (!request.rsc || data == OpData::rsc) && (!request.alert || data == OpData::alert) &&
           (!request.watchdog || data == OpData::check);
}

Element request_to_element(const Request& request)
{
    const std::string op_name = !request.op_name.empty() || request.op == Op::unknown
                                    ? request.op_name
                                    : std::string(op_info(request.op).name);
    Element root = make_root(el::command, 12);
    if (request.op == Op::register_client) {
        // The hello carries only what 2.1.5 sends (docs/protocol.md 3.2).
        add(root, at::t, "lrmd");
        add(root, at::op, op_name);
        add_optional(root, at::clientname, request.client_name);
        add_optional(root, at::protocol_version, request.protocol_version);
        if (request.ipc_provider) add(root, at::is_ipc_provider, "true");
        add_envelope(root, request.msg_id, MsgType::request);
        return root;
    }
    add(root, at::name, std::string(el::command));
    add(root, at::t, "lrmd");
    add(root, at::async_id, request.async_id);
    add(root, at::op, op_name);
    add_optional(root, at::timeout, request.timeout_ms);
    add_optional(root, at::callopt, request.callopts);
    add_optional(root, at::clientname, request.client_name);
    add_optional(root, at::protocol_version, request.protocol_version);
    if (request.ipc_provider) add(root, at::is_ipc_provider, "true");
    add_envelope(root, request.msg_id, MsgType::request);

    // The table says which data element an operation carries; a request built with another
    // is a programming error. An unknown op (tests, unusual peers) carries what it was given.
    const bool known = request.op != Op::unknown;
    assert(!known || carries_only(request, op_info(request.op).data));
    const bool check = known ? op_info(request.op).data == OpData::check : request.watchdog.has_value();
    if (request.rsc || request.alert || check) {
        Element& calldata = root.add_child(std::string(el::calldata));
        if (request.rsc) rsc_to_element(*request.rsc, request.op, request.op == Op::rsc_exec, calldata);
        if (request.alert) {
            const AlertData& alert = *request.alert;
            Element& data = calldata.add_child(std::string(el::alert));
            if (!alert.origin.empty()) add(data, at::origin, alert.origin);
            add_optional(data, at::alert_id, alert.id);
            add_optional(data, at::alert_path, alert.path);
            add_optional(data, at::timeout, alert.timeout_ms);
            add_params(data, alert.params);
        }
        if (check) {
            Element& data = calldata.add_child(std::string(el::op));
            add_optional(data, at::watchdog, request.watchdog);
        }
    }
    return root;
}

Element reply_to_element(const Reply& reply)
{
    Element root = make_root(el::reply, 14);
    if (!reply.origin.empty()) add(root, at::origin, reply.origin);
    add(root, at::rc, number(reply.rc));
    add(root, at::callid, number(reply.call_id));
    add_optional(root, at::op, reply.op);
    add_optional(root, at::clientid, reply.client_id);
    add_optional(root, at::protocol_version, reply.protocol_version);
    add_optional(root, at::uptime, reply.uptime);
    add_optional(root, at::node_start_state, reply.node_start_state);
    if (reply.rsc_info) {
        add(root, at::rsc_id, reply.rsc_info->id);
        // 2.1.5 registers resources without class or type too, and then leaves them out.
        if (!reply.rsc_info->rsc_class.empty()) add(root, at::rsc_class, reply.rsc_info->rsc_class);
        if (!reply.rsc_info->provider.empty()) add(root, at::provider, reply.rsc_info->provider);
        if (!reply.rsc_info->type.empty()) add(root, at::type, reply.rsc_info->type);
    }
    add_envelope(root, reply.msg_id, MsgType::reply);
    for (const RecurringList& list : reply.recurring) {
        Element& rsc = root.add_child(std::string(el::rsc));
        add(rsc, at::rsc_id, list.rsc_id);
        for (const RecurringOp& op : list.ops) {
            Element& child = rsc.add_child(std::string(el::rsc_op));
            add(child, at::action, op.action);
            add(child, at::interval, number(op.interval_ms));
            add(child, at::timeout, number(op.timeout_ms));
        }
    }
    return root;
}

Element exec_notify_to_element(const ExecNotify& notify)
{
    Element root = make_root(el::notify, 21);
    add(root, at::origin, std::string(origin::exec_notify));
    add(root, at::timeout, number(notify.timeout_ms));
    add(root, at::interval, number(notify.interval_ms));
    add(root, at::start_delay, number(notify.start_delay_ms));
    add(root, at::exec_rc, number(notify.exec_rc));
    add(root, at::op_status, number(static_cast<int>(notify.op_status)));
    add(root, at::callid, number(notify.call_id));
    add(root, at::rsc_deleted, notify.rsc_deleted ? "1" : "0");
    add(root, at::run_time, number(notify.run_time));
    add(root, at::rcchange_time, number(notify.rcchange_time));
    add(root, at::exec_time, number(notify.exec_time_ms));
    add(root, at::queue_time, number(notify.queue_time_ms));
    add(root, at::op, std::string(kExecOpName));
    add(root, at::rsc_id, notify.rsc_id);
    add(root, at::action, notify.action);
    add(root, at::userdata, notify.userdata);
    add_optional(root, at::exit_reason, notify.exit_reason);
    add_optional(root, at::output, notify.output);
    add_envelope(root, 0, MsgType::notify);
    add_params(root, notify.params);
    return root;
}

Element generic_notify_to_element(const GenericNotify& notify)
{
    Element root = make_root(el::notify, 7);
    add(root, at::origin, std::string(origin::generic_notify));
    add(root, at::rc, number(notify.rc));
    add(root, at::callid, number(notify.call_id));
    add(root, at::op, notify.op);
    add_optional(root, at::rsc_id, notify.rsc_id);
    add_envelope(root, 0, MsgType::notify);
    return root;
}

Element new_client_notify_to_element(const NewClientNotify& /*notify*/)
{
    Element root = make_root(el::notify, 4);
    add(root, at::origin, std::string(origin::new_client));
    add(root, at::op, std::string(kNewClientOpName));
    add_envelope(root, 0, MsgType::notify);
    return root;
}

Element proxy_to_element(const ProxyMessage& message)
{
    Element root = make_root(el::proxy, 10);
    add(root, at::ipc_op, message.op);
    add_optional(root, at::ipc_server, message.server);
    add_optional(root, at::ipc_session, message.session);
    add_optional(root, at::ipc_client, message.client);
    add_optional(root, at::ipc_user, message.user);
    add_optional(root, at::ipc_msg_id, message.ipc_msg_id);
    add_optional(root, at::ipc_msg_flags, message.ipc_msg_flags);
    if (message.type == MsgType::request) add(root, at::op, std::string(kIpcFwdOpName));
    add_envelope(root, message.msg_id, message.type);
    if (message.msg) root.add_child(std::string(el::ipc_msg)).children.push_back(*message.msg);
    return root;
}

// ---- parsing --------------------------------------------------------------------------

#define TRY(expr)                             \
    do {                                      \
        auto status_ = (expr);                \
        if (!status_) return status_.error(); \
    } while (0)

Result<MsgType> read_type(const Element& root)
{
    const std::string* text = root.attr(at::msg_type);
    if (text == nullptr) return form_error(root.name + " has no " + std::string(at::msg_type));
    // 2.1.5 compares the type case-insensitively.
    for (MsgType type : {MsgType::request, MsgType::reply, MsgType::notify}) {
        if (strcasecmp(text->c_str(), std::string(type_name(type)).c_str()) == 0) return type;
    }
    return form_error(root.name + " has unknown " + std::string(at::msg_type) + "=" + log::quote(*text, 40));
}

Result<std::uint64_t> read_msg_id(const Element& root)
{
    const std::string* text = root.attr(at::msg_id);
    if (text == nullptr) return form_error(root.name + " has no " + std::string(at::msg_id));
    return parse_number<std::uint64_t>(root, at::msg_id, *text);
}

Status expect_type(const Element& root, MsgType got, MsgType wanted)
{
    if (got == wanted) return {};
    return form_error(root.name + " with " + std::string(at::msg_type) + "=" + std::string(type_name(got)) +
                      " (expected " + std::string(type_name(wanted)) + ")");
}

Result<RscData> rsc_from_element(const Element& data)
{
    RscData rsc;
    read_string(data, at::origin, rsc.origin);
    read_string(data, at::rsc_id, rsc.id);
    read_string(data, at::rsc_class, rsc.rsc_class);
    read_string(data, at::provider, rsc.provider);
    read_string(data, at::type, rsc.type);
    read_string(data, at::action, rsc.action);
    read_string(data, at::userdata, rsc.userdata);
    TRY(read_number(data, at::interval, rsc.interval_ms));
    TRY(read_number(data, at::timeout, rsc.timeout_ms));
    TRY(read_number(data, at::start_delay, rsc.start_delay_ms));
    if (const Element* attributes = data.child(el::attributes)) rsc.params = params_from_element(*attributes);
    return rsc;
}

Result<Message> request_from_element(const Element& root, std::uint64_t msg_id)
{
    Request request;
    request.msg_id = msg_id;
    read_string(root, at::op, request.op_name);
    if (const OpInfo* info = find_op(request.op_name)) request.op = info->op;
    read_string(root, at::async_id, request.async_id);
    TRY(read_number(root, at::callopt, request.callopts));
    TRY(read_number(root, at::timeout, request.timeout_ms));
    read_string(root, at::clientname, request.client_name);
    read_string(root, at::protocol_version, request.protocol_version);
    if (const std::string* flag = root.attr(at::is_ipc_provider)) {
        request.ipc_provider = strcasecmp(flag->c_str(), "true") == 0;
    }
    // 2.1.5 searches the whole request for the first lrmd_rsc / lrmd_alert (an XPath
    // "//lrmd_rsc"), so the data is found wherever a peer put it.
    if (const Element* data = root.find_descendant(el::rsc)) {
        auto rsc = rsc_from_element(*data);
        if (!rsc) return rsc.error();
        request.rsc = std::move(*rsc);
    }
    if (const Element* data = root.find_descendant(el::alert)) {
        AlertData alert;
        read_string(*data, at::origin, alert.origin);
        read_string(*data, at::alert_id, alert.id);
        read_string(*data, at::alert_path, alert.path);
        TRY(read_number(*data, at::timeout, alert.timeout_ms));
        if (const Element* attributes = data->child(el::attributes))
            alert.params = params_from_element(*attributes);
        request.alert = std::move(alert);
    }
    if (const Element* calldata = root.child(el::calldata)) {
        if (const Element* data = calldata->child(el::op)) read_string(*data, at::watchdog, request.watchdog);
    }
    // A known operation uses only the data its table entry names (2.1.5 reads nothing else
    // for it): whatever else a peer put in is dropped, so the request holds what is handled
    // and encodes as such (fuzz-message found an lrmd_alert inside an exec's lrmd_rsc).
    if (request.op != Op::unknown) {
        const OpData data = op_info(request.op).data;
        if (data != OpData::rsc) request.rsc.reset();
        if (data != OpData::alert) request.alert.reset();
        if (data != OpData::check) request.watchdog.reset();
    }
    return Message{std::move(request)};
}

Result<Message> reply_from_element(const Element& root, std::uint64_t msg_id)
{
    Reply reply;
    reply.msg_id = msg_id;
    reply.origin.clear();
    read_string(root, at::origin, reply.origin);
    TRY(read_number(root, at::rc, reply.rc));
    TRY(read_number(root, at::callid, reply.call_id));
    read_string(root, at::op, reply.op);
    read_string(root, at::clientid, reply.client_id);
    read_string(root, at::protocol_version, reply.protocol_version);
    TRY(read_number(root, at::uptime, reply.uptime));
    read_string(root, at::node_start_state, reply.node_start_state);
    if (root.attr(at::rsc_id) != nullptr) {
        RscInfo info;
        read_string(root, at::rsc_id, info.id);
        read_string(root, at::rsc_class, info.rsc_class);
        read_string(root, at::provider, info.provider);
        read_string(root, at::type, info.type);
        reply.rsc_info = std::move(info);
    }
    for (const Element& rsc : root.children) {
        if (rsc.name != el::rsc) continue;
        RecurringList list;
        read_string(rsc, at::rsc_id, list.rsc_id);
        for (const Element& child : rsc.children) {
            if (child.name != el::rsc_op) continue;
            RecurringOp op;
            read_string(child, at::action, op.action);
            TRY(read_number(child, at::interval, op.interval_ms));
            TRY(read_number(child, at::timeout, op.timeout_ms));
            list.ops.push_back(std::move(op));
        }
        reply.recurring.push_back(std::move(list));
    }
    return Message{std::move(reply)};
}

Result<Message> notify_from_element(const Element& root)
{
    const std::string* op = root.attr(at::op);
    if (op != nullptr && *op == kNewClientOpName) return Message{NewClientNotify{}};
    if (op != nullptr && *op == kExecOpName) {
        ExecNotify notify;
        TRY(read_number(root, at::timeout, notify.timeout_ms));
        TRY(read_number(root, at::interval, notify.interval_ms));
        TRY(read_number(root, at::start_delay, notify.start_delay_ms));
        TRY(read_number(root, at::exec_rc, notify.exec_rc));
        int op_status = 0;
        TRY(read_number(root, at::op_status, op_status));
        notify.op_status = static_cast<ExecStatus>(op_status);
        TRY(read_number(root, at::callid, notify.call_id));
        int deleted = 0;
        TRY(read_number(root, at::rsc_deleted, deleted));
        notify.rsc_deleted = deleted != 0;
        TRY(read_number(root, at::run_time, notify.run_time));
        TRY(read_number(root, at::rcchange_time, notify.rcchange_time));
        TRY(read_number(root, at::exec_time, notify.exec_time_ms));
        TRY(read_number(root, at::queue_time, notify.queue_time_ms));
        read_string(root, at::rsc_id, notify.rsc_id);
        read_string(root, at::action, notify.action);
        read_string(root, at::userdata, notify.userdata);
        read_string(root, at::exit_reason, notify.exit_reason);
        read_string(root, at::output, notify.output);
        if (const Element* attributes = root.child(el::attributes))
            notify.params = params_from_element(*attributes);
        return Message{std::move(notify)};
    }
    GenericNotify notify;
    TRY(read_number(root, at::rc, notify.rc));
    TRY(read_number(root, at::callid, notify.call_id));
    if (op != nullptr) notify.op = *op;
    read_string(root, at::rsc_id, notify.rsc_id);
    return Message{std::move(notify)};
}

Result<Message> proxy_from_element(const Element& root, MsgType type, std::uint64_t msg_id)
{
    ProxyMessage message;
    message.type = type;
    message.msg_id = msg_id;
    read_string(root, at::ipc_op, message.op);
    read_string(root, at::ipc_server, message.server);
    read_string(root, at::ipc_session, message.session);
    read_string(root, at::ipc_client, message.client);
    read_string(root, at::ipc_user, message.user);
    TRY(read_number(root, at::ipc_msg_id, message.ipc_msg_id));
    TRY(read_number(root, at::ipc_msg_flags, message.ipc_msg_flags));
    if (const Element* wrapper = root.child(el::ipc_msg)) {
        if (!wrapper->children.empty()) message.msg = wrapper->children.front();
    }
    return Message{std::move(message)};
}

#undef TRY

}  // namespace

std::span<const OpInfo> op_table()
{
    return kOps;
}

const OpInfo* find_op(std::string_view name)
{
    for (const OpInfo& info : kOps) {
        if (info.name == name) return &info;
    }
    return nullptr;
}

const OpInfo& op_info(Op op)
{
    const auto index = static_cast<std::size_t>(op);
    if (index >= kOps.size()) {
        assert(!"op_info() of an operation outside the table (Op::unknown)");
        std::abort();
    }
    return kOps[index];
}

Request to_request(const ExecRequest& exec)
{
    Request request;
    request.op = Op::rsc_exec;
    request.callopts = exec.callopts;
    request.timeout_ms = exec.timeout_ms;
    RscData data;
    data.origin = "lrmd_api_exec";
    data.id = exec.rsc_id;
    data.action = exec.action;
    data.userdata = exec.userdata;
    data.interval_ms = exec.interval_ms;
    data.timeout_ms = exec.timeout_ms;
    data.start_delay_ms = exec.start_delay_ms;
    data.params = exec.params;
    request.rsc = std::move(data);
    return request;
}

std::optional<ExecRequest> exec_request(const Request& request)
{
    const auto& rsc = request.rsc;
    if (!rsc || !rsc->id || !rsc->action) return std::nullopt;
    ExecRequest exec;
    exec.rsc_id = *rsc->id;
    exec.action = *rsc->action;
    exec.userdata = rsc->userdata.value_or("");
    exec.interval_ms = rsc->interval_ms.value_or(0);
    exec.timeout_ms = rsc->timeout_ms.value_or(0);
    exec.start_delay_ms = rsc->start_delay_ms.value_or(0);
    exec.callopts = request.callopts.value_or(0);
    exec.params = rsc->params;
    return exec;
}

ExecNotify notify_for(const ExecRequest& request, int call_id)
{
    ExecNotify notify;
    notify.call_id = call_id;
    notify.rsc_id = request.rsc_id;
    notify.action = request.action;
    notify.interval_ms = request.interval_ms;
    notify.timeout_ms = request.timeout_ms;
    notify.start_delay_ms = request.start_delay_ms;
    notify.userdata = request.userdata;
    notify.params = request.params;
    return notify;
}

Request to_request(const AlertRequest& alert)
{
    Request request;
    request.op = Op::alert_exec;
    request.callopts = callopt::notify_orig_only;
    request.timeout_ms = alert.timeout_ms;
    AlertData data;
    data.origin = "lrmd_api_exec_alert";
    data.id = alert.id;
    data.path = alert.path;
    data.timeout_ms = alert.timeout_ms;
    data.params = alert.params;
    request.alert = std::move(data);
    return request;
}

std::optional<AlertRequest> alert_request(const Request& request)
{
    const auto& alert = request.alert;
    if (!alert || !alert->id || !alert->path) return std::nullopt;
    AlertRequest run;
    run.id = *alert->id;
    run.path = *alert->path;
    run.timeout_ms = alert->timeout_ms.value_or(0);
    run.params = alert->params;
    return run;
}

void params_to_element(const ParamMap& params, Element& attributes)
{
    attributes.attributes.reserve(attributes.attributes.size() + params.size());
    for (const auto& [name, value] : params) {
        if (attribute_safe(name)) {
            attributes.attributes.emplace_back(name, value);
        } else {
            Element& param = attributes.add_child(std::string(el::param));
            add(param, at::param_name, name);
            add(param, at::param_value, value);
        }
    }
}

// Duplicates: the last one wins (attributes first, then <param> children in order), as
// in 2.1.5, which fills a hash table in that order (docs/conformance.md, item 1).
ParamMap params_from_element(const Element& attributes)
{
    ParamMap params;
    for (const auto& [name, value] : attributes.attributes)
        params.set(name, value);
    for (const Element& child : attributes.children) {
        if (child.name != el::param) continue;
        const std::string* name = child.attr(at::param_name);
        if (name == nullptr) continue;
        const std::string* value = child.attr(at::param_value);
        params.set(*name, value != nullptr ? *value : std::string());
    }
    return params;
}

Element to_element(const Message& message)
{
    return std::visit(
        [](const auto& m) -> Element {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Request>) {
                return request_to_element(m);
            } else if constexpr (std::is_same_v<T, Reply>) {
                return reply_to_element(m);
            } else if constexpr (std::is_same_v<T, ExecNotify>) {
                return exec_notify_to_element(m);
            } else if constexpr (std::is_same_v<T, GenericNotify>) {
                return generic_notify_to_element(m);
            } else if constexpr (std::is_same_v<T, NewClientNotify>) {
                return new_client_notify_to_element(m);
            } else {
                return proxy_to_element(m);
            }
        },
        message);
}

Result<Message> from_element(const Element& root)
{
    const bool known = root.name == el::command || root.name == el::reply || root.name == el::notify ||
                       root.name == el::proxy;
    if (!known) return form_error("unknown message root element " + log::quote(root.name, 60));
    auto type = read_type(root);
    if (!type) return type.error();
    auto msg_id = read_msg_id(root);
    if (!msg_id) return msg_id.error();

    if (root.name == el::proxy) return proxy_from_element(root, *type, *msg_id);
    if (root.name == el::command) {
        if (auto status = expect_type(root, *type, MsgType::request); !status) return status.error();
        return request_from_element(root, *msg_id);
    }
    if (root.name == el::reply) {
        if (auto status = expect_type(root, *type, MsgType::reply); !status) return status.error();
        return reply_from_element(root, *msg_id);
    }
    if (auto status = expect_type(root, *type, MsgType::notify); !status) return status.error();
    return notify_from_element(root);
}

Result<Message> decode_message(std::string_view xml, std::size_t max_size)
{
    auto root = parse_xml(xml, max_size);
    if (!root) return root.error();
    return from_element(*root);
}

Result<Message> decode_local_request(std::string_view xml, std::uint64_t msg_id)
{
    auto root = parse_xml(xml);
    if (!root) return root.error();
    if (root->name == el::proxy) return proxy_from_element(*root, MsgType::request, msg_id);
    return request_from_element(*root, msg_id);
}

Result<Message> decode_remote_request(std::string_view xml, std::size_t max_size)
{
    auto root = parse_xml(xml, max_size);
    if (!root) return root.error();
    // 2.1.5 reads the msg id as a number when present (0 when absent) and never looks at
    // the root's name or lrmd_remote_msg_type: lrmd_op alone decides what is done.
    std::uint64_t msg_id = 0;
    if (auto read = read_number(*root, at::msg_id, msg_id); !read) return read.error();
    const std::string* op = root->attr(at::op);
    if (root->name == el::proxy && op != nullptr && *op == kIpcFwdOpName)
        return proxy_from_element(*root, MsgType::request, msg_id);
    return request_from_element(*root, msg_id);
}

namespace {
// The local IPC form of a message: the same element without the TLS envelope.
std::string local_text(Element root)
{
    strip_envelope(root);
    return serialize(root);
}
}  // namespace

std::string encode_local(const Reply& reply)
{
    return local_text(reply_to_element(reply));
}

std::string encode_local(const ExecNotify& notify)
{
    return local_text(exec_notify_to_element(notify));
}

std::string encode_local(const GenericNotify& notify)
{
    return local_text(generic_notify_to_element(notify));
}

std::string encode_local(const NewClientNotify& notify)
{
    return local_text(new_client_notify_to_element(notify));
}

std::string encode_local(const ProxyMessage& message)
{
    return local_text(proxy_to_element(message));
}

std::string encode_local(const Message& message)
{
    return local_text(to_element(message));
}

std::string encode(const Request& request)
{
    return serialize(request_to_element(request));
}

std::string encode(const Reply& reply)
{
    return serialize(reply_to_element(reply));
}

std::string encode(const ExecNotify& notify)
{
    return serialize(exec_notify_to_element(notify));
}

std::string encode(const GenericNotify& notify)
{
    return serialize(generic_notify_to_element(notify));
}

std::string encode(const NewClientNotify& notify)
{
    return serialize(new_client_notify_to_element(notify));
}

std::string encode(const ProxyMessage& message)
{
    return serialize(proxy_to_element(message));
}

std::string encode(const Message& message)
{
    return serialize(to_element(message));
}

}  // namespace outpost::wire
