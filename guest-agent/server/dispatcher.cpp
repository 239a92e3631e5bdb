#include "server/dispatcher.hpp"

#include <cassert>
#include <climits>
#include <utility>
#include <variant>

#include "server/watchdog.hpp"
#include "util/log.hpp"
#include "util/version.hpp"
#include "wire/codes.hpp"

namespace outpost::agent::server {
namespace {

namespace rc = wire::rc;

const log::Category log_cat{"agent.dispatch"};

// 2.1.5 looks up the session of every ipc_fwd first (shutdown_ack/nack aside) and answers
// one it does not know, or none at all, with a destroy notify before the rc 0 reply, whatever
// the proxy operation (docs/conformance.md, item 12).
void send_destroy(Outbox& outbox, const ClientSession& client, const std::optional<std::string>& session)
{
    wire::ProxyMessage destroy;
    destroy.type = wire::MsgType::notify;
    destroy.op = std::string(wire::ipc_op::destroy);
    destroy.session = session;
    outbox.proxy_notify(client.id(), destroy);
}

}  // namespace

Dispatcher::Dispatcher(executor::Executor& executor, Outbox& outbox, Control& control,
                       DispatcherConfig config)
    : executor_(executor), outbox_(outbox), control_(control), config_(std::move(config))
{
}

int Dispatcher::next_call_id()
{
    call_id_ = call_id_ >= INT_MAX || call_id_ < 0 ? 1 : call_id_ + 1;
    return call_id_;
}

wire::Reply Dispatcher::make_reply(const wire::Request& request, int call_id, int rc) const
{
    wire::Reply reply;
    reply.msg_id = request.msg_id;
    reply.origin = std::string(wire::origin::message);
    reply.rc = rc;
    reply.call_id = call_id;
    return reply;
}

void Dispatcher::handle(ClientSession& client, const wire::Request& request)
{
    int call_id = next_call_id();
    if (request.client_name && client.note_name(*request.client_name)) {
        log_info(log_cat, "Client %s is named %s", client.id().c_str(),
                 log::quote(*request.client_name).c_str());
    }
    log_trace(log_cat, "Request %s (msg %llu) from %s gets call id %d", log::quote(request.op_name).c_str(),
              static_cast<unsigned long long>(request.msg_id), client.describe().c_str(), call_id);

    // Unknown ops are answered like the unsupported ones (-95).
    const bool known = request.op != wire::Op::unknown;
    const Handler handler =
        known ? kHandlers[static_cast<std::size_t>(request.op)] : &Dispatcher::do_unsupported;
    Answer answer = (this->*handler)(client, request, call_id);
    // Exec notifies the handler caused (cancellations) are out already; then the reply,
    // then the generic notify, as 2.1.5 orders them.
    const bool replies = !known || wire::op_info(request.op).has_reply;
    assert(replies == answer.reply.has_value());
    if (replies && answer.reply) outbox_.reply(client, *answer.reply);
    if (answer.notify) outbox_.generic_notify(*answer.notify);
}

// In the order of wire::op_table().
const std::array<Dispatcher::Handler, wire::kOpCount> Dispatcher::kHandlers = [] {
    constexpr std::pair<wire::Op, Handler> kRows[] = {
        {wire::Op::register_client, &Dispatcher::do_register},
        {wire::Op::rsc_register, &Dispatcher::do_rsc_register},
        {wire::Op::rsc_unregister, &Dispatcher::do_rsc_unregister},
        {wire::Op::rsc_info, &Dispatcher::do_rsc_info},
        {wire::Op::rsc_exec, &Dispatcher::do_rsc_exec},
        {wire::Op::rsc_cancel, &Dispatcher::do_rsc_cancel},
        {wire::Op::get_recurring, &Dispatcher::do_get_recurring},
        {wire::Op::poke, &Dispatcher::do_poke},
        {wire::Op::check, &Dispatcher::do_check},
        {wire::Op::alert_exec, &Dispatcher::do_alert_exec},
        {wire::Op::ipc_fwd, &Dispatcher::do_ipc_fwd_without_data},
        {wire::Op::rsc_metadata, &Dispatcher::do_unsupported},
        {wire::Op::new_client, &Dispatcher::do_unsupported},
    };
    static_assert(std::size(kRows) == wire::kOpCount, "one handler per operation of the table");
    std::array<Handler, wire::kOpCount> handlers{};
    for (std::size_t i = 0; i < std::size(kRows); ++i) {
        assert(static_cast<std::size_t>(kRows[i].first) == i);  // in the table's order
        handlers[i] = kRows[i].second;
    }
    return handlers;
}();

Dispatcher::Answer Dispatcher::do_register(ClientSession& client, const wire::Request& request, int call_id)
{
    int rc = rc::ok;
    if (!request.protocol_version ||
        version::compare(*request.protocol_version, wire::kMinProtocolVersion) < 0) {
        // The reply is still complete and we do not disconnect: the client decides (2.1.5).
        log_warning(log_cat, "Client %s speaks protocol version %s, older than the %.*s we require",
                    client.describe().c_str(),
                    request.protocol_version ? log::quote(*request.protocol_version).c_str() : "(none)",
                    static_cast<int>(wire::kMinProtocolVersion.size()), wire::kMinProtocolVersion.data());
        rc = rc::protocol;
    }
    if (request.ipc_provider && client.local()) {
        // Only a cluster node (over TLS) can relay IPC; 2.1.5 answers a local client that
        // asks with a complete reply carrying -13 and keeps it as an ordinary client.
        log_warning(log_cat, "Rejecting IPC provider registration from local client %s",
                    client.describe().c_str());
        rc = rc::access_denied;
    } else if (request.ipc_provider) {
        // Even with a protocol error, as 2.1.5 does; the newest provider serves new sessions.
        client.make_provider(++provider_order_);
        log_info(log_cat, "Client %s is an IPC proxy provider", client.describe().c_str());
        // A client that speaks too old a protocol is one the agent does not talk to itself.
        if (rc == rc::ok && proxy_ != nullptr) proxy_->provider_added(client.id());
    }

    wire::Reply reply = make_reply(request, call_id, rc);
    reply.origin = std::string(wire::origin::signon);
    reply.op = std::string(op_info(wire::Op::register_client).name);
    reply.client_id = client.id();
    reply.protocol_version = std::string(wire::kProtocolVersion);
    reply.uptime =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - config_.started)
            .count();
    if (!config_.node_start_state.empty()) reply.node_start_state = config_.node_start_state;
    return {reply, std::nullopt};
}

Dispatcher::Answer Dispatcher::do_rsc_register(ClientSession& client, const wire::Request& request,
                                               int call_id)
{
    const auto& rsc = request.rsc;
    if (!rsc || !rsc->id) {
        // 2.1.5 crashes on this one (docs/conformance.md, item 13); refusing it is the only sane
        // answer.
        log_warning(log_cat, "Rejecting resource registration without id from %s", client.describe().c_str());
        return {make_reply(request, call_id, rc::invalid), std::nullopt};
    }
    // Nothing else is checked, as in 2.1.5: a resource without class, provider or type is
    // registered (rc 0, notify), and its actions fail later with "Required agent or action
    // information missing" (executor/agents.cpp).
    if (!rsc->rsc_class || !rsc->type) {
        log_warning(log_cat, "Resource %s registered by %s without %s", log::quote(*rsc->id).c_str(),
                    client.describe().c_str(), !rsc->rsc_class ? "a class" : "a type");
    }
    executor::ResourceDefinition definition;
    definition.id = *rsc->id;
    definition.rsc_class = rsc->rsc_class.value_or("");
    definition.provider = rsc->provider.value_or("");
    definition.type = rsc->type.value_or("");
    definition.callopts = request.callopts.value_or(0);
    int rc = executor_.register_resource(std::move(definition));
    return {make_reply(request, call_id, rc), wire::GenericNotify{rc, call_id, request.op_name, rsc->id}};
}

Dispatcher::Answer Dispatcher::do_rsc_unregister(ClientSession& /*client*/, const wire::Request& request,
                                                 int call_id)
{
    const auto& rsc = request.rsc;
    if (!rsc || !rsc->id) return {make_reply(request, call_id, rc::no_device), std::nullopt};
    int rc = executor_.unregister_resource(*rsc->id);
    Answer answer{make_reply(request, call_id, rc), std::nullopt};
    if (rc == rc::ok || rc == rc::in_progress)
        answer.notify = wire::GenericNotify{rc, call_id, request.op_name, rsc->id};
    return answer;
}

Dispatcher::Answer Dispatcher::do_rsc_info(ClientSession& /*client*/, const wire::Request& request,
                                           int call_id)
{
    const executor::ResourceDefinition* definition = nullptr;
    if (request.rsc && request.rsc->id) definition = executor_.find(*request.rsc->id);

    wire::Reply reply = make_reply(request, call_id, definition != nullptr ? rc::ok : rc::no_device);
    reply.origin = std::string(wire::origin::rsc_info);
    if (definition != nullptr) {
        reply.rsc_info =
            wire::RscInfo{definition->id, definition->rsc_class, definition->provider, definition->type};
    }
    return {reply, std::nullopt};
}

Dispatcher::Answer Dispatcher::do_rsc_exec(ClientSession& client, const wire::Request& request, int call_id)
{
    auto exec = wire::exec_request(request);
    if (!exec) return {make_reply(request, call_id, rc::invalid), std::nullopt};
    // A stop reports the recurring ops it cancels from inside exec(), so those notifies
    // precede this reply; the exec's own result always comes later, from the loop.
    int rc = executor_.exec(call_id, std::move(*exec), client.id());
    return {make_reply(request, call_id, rc), std::nullopt};
}

Dispatcher::Answer Dispatcher::do_rsc_cancel(ClientSession& /*client*/, const wire::Request& request,
                                             int call_id)
{
    const auto& rsc = request.rsc;
    if (!rsc || !rsc->id || !rsc->action) return {make_reply(request, call_id, rc::invalid), std::nullopt};
    int rc = executor_.cancel(*rsc->id, *rsc->action, rsc->interval_ms.value_or(0));
    return {make_reply(request, call_id, rc), std::nullopt};
}

Dispatcher::Answer Dispatcher::do_get_recurring(ClientSession& /*client*/, const wire::Request& request,
                                                int call_id)
{
    std::string rsc_id = request.rsc && request.rsc->id ? *request.rsc->id : std::string();
    auto found = executor_.recurring(rsc_id);

    wire::Reply reply = make_reply(request, call_id, found ? rc::ok : rc::no_device);
    reply.origin = std::string(wire::origin::get_recurring);
    if (found) reply.recurring = std::move(*found);
    return {reply, std::nullopt};
}

Dispatcher::Answer Dispatcher::do_poke(ClientSession& /*client*/, const wire::Request& request, int call_id)
{
    // The controller treats the poke NOTIFY (not the reply) as its connection monitor.
    std::optional<std::string> rsc_id;
    if (request.rsc && request.rsc->id) rsc_id = request.rsc->id;
    return {make_reply(request, call_id, rc::ok),
            wire::GenericNotify{rc::ok, call_id, request.op_name, std::move(rsc_id)}};
}

Dispatcher::Answer Dispatcher::do_check(ClientSession& client, const wire::Request& request, int /*call_id*/)
{
    // lrmd_check never gets a reply (docs/protocol.md 3.3; the table says so).
    std::optional<std::string_view> value;
    if (request.watchdog) value = *request.watchdog;
    WatchdogVerdict verdict = check_watchdog(value, config_.sbd_timeout_ms);
    if (verdict.fatal) {
        log_error(log_cat, "%s (check from %s)", verdict.message.c_str(), client.describe().c_str());
        control_.fatal_exit(kWatchdogFatalExit, verdict.message);
    } else if (!verdict.message.empty()) {
        log_info(log_cat, "%s", verdict.message.c_str());
    }
    return {};
}

Dispatcher::Answer Dispatcher::do_alert_exec(ClientSession& /*client*/, const wire::Request& request,
                                             int call_id)
{
    auto alert = wire::alert_request(request);
    if (!alert) return {make_reply(request, call_id, rc::invalid), std::nullopt};
    executor_.run_alert(std::move(*alert));
    return {make_reply(request, call_id, rc::ok), std::nullopt};
}

Dispatcher::Answer Dispatcher::do_ipc_fwd_without_data(ClientSession& client, const wire::Request& request,
                                                       int call_id)
{
    // ipc_fwd on an lrmd_command root carries no proxy operation nor session; 2.1.5 finds no
    // session to forward to, says destroy and still answers 0.
    log_warning(log_cat, "Ignoring ipc_fwd without proxy data from %s", client.describe().c_str());
    send_destroy(outbox_, client, std::nullopt);
    return {make_reply(request, call_id, rc::ok), std::nullopt};
}

Dispatcher::Answer Dispatcher::do_unsupported(ClientSession& client, const wire::Request& request,
                                              int call_id)
{
    if (request.op == wire::Op::rsc_metadata) {
        // Metadata is fetched on the cluster node, never over this channel.
        log_debug(log_cat, "lrmd_rsc_metadata from %s is not supported", client.describe().c_str());
    } else {
        log_warning(log_cat, "Unknown IPC request %s from %s", log::quote(request.op_name).c_str(),
                    client.describe().c_str());
    }
    return {make_reply(request, call_id, rc::not_supported), std::nullopt};
}

namespace {

// What a response or event carries for the tool, as the tool gets it; nothing else needs it.
std::string tool_message_xml(const wire::ProxyMessage& message)
{
    const bool for_tool = message.op == wire::ipc_op::response || message.op == wire::ipc_op::event;
    return for_tool && message.msg ? wire::serialize(*message.msg) : std::string();
}

}  // namespace

Result<RemotePayload> Dispatcher::prepare_remote_payload(std::string_view xml, std::size_t max_size)
{
    auto decoded = wire::decode_remote_request(xml, max_size);
    if (!decoded) return decoded.error();
    RemotePayload payload{std::move(decoded).value(), {}};
    if (auto* proxy = std::get_if<wire::ProxyMessage>(&payload.message)) {
        payload.proxy_msg_xml = tool_message_xml(*proxy);
        // The tree is not needed any more, and freeing a large one is work too (under ASan
        // as long as building it): done here, off the loop for a large payload.
        if (!payload.proxy_msg_xml.empty()) proxy->msg.reset();
    }
    return payload;
}

void Dispatcher::handle_prepared(ClientSession& client, const RemotePayload& payload)
{
    if (const auto* request = std::get_if<wire::Request>(&payload.message)) {
        handle(client, *request);
    } else if (const auto* proxy = std::get_if<wire::ProxyMessage>(&payload.message)) {
        handle_proxy(client, *proxy, payload.proxy_msg_xml);
    }
    // The request decoders give nothing else.
}

Status Dispatcher::handle_remote_payload(ClientSession& client, std::string_view xml, std::size_t max_size)
{
    auto prepared = prepare_remote_payload(xml, max_size);
    if (!prepared) return prepared.error();
    handle_prepared(client, *prepared);
    return {};
}

Status Dispatcher::handle_local_payload(ClientSession& client, std::uint32_t ipc_msg_id, std::string_view xml)
{
    return handle_local_prepared(client, wire::decode_local_request(xml, ipc_msg_id));
}

Status Dispatcher::handle_local_prepared(ClientSession& client, const Result<wire::Message>& decoded)
{
    if (!decoded) return decoded.error();
    if (const auto* request = std::get_if<wire::Request>(&*decoded)) {
        handle(client, *request);
    } else if (const auto* proxy = std::get_if<wire::ProxyMessage>(&*decoded)) {
        handle(client, *proxy);
    }
    return {};
}

void Dispatcher::handle(ClientSession& client, const wire::ProxyMessage& message)
{
    handle_proxy(client, message, tool_message_xml(message));
}

void Dispatcher::handle_proxy(ClientSession& client, const wire::ProxyMessage& message,
                              std::string_view msg_xml)
{
    int call_id = next_call_id();
    const std::string& op = message.op;
    // 2.1.5 looks the session up first for every operation but shutdown_ack/nack.
    auto known_session = [&] {
        return message.session && proxy_ != nullptr && proxy_->has_session(*message.session);
    };

    if (op == wire::ipc_op::response || op == wire::ipc_op::event) {
        if (!message.session) {
            log_warning(log_cat, "Ignoring proxy %s without a session from %s", op.c_str(),
                        client.describe().c_str());
            send_destroy(outbox_, client, std::nullopt);
        } else {
            bool delivered = false;
            if (proxy_ != nullptr && !msg_xml.empty()) {
                delivered =
                    op == wire::ipc_op::response
                        ? proxy_->deliver_response(*message.session, message.ipc_msg_id.value_or(0), msg_xml)
                        : proxy_->deliver_event(*message.session, msg_xml);
            }
            if (!delivered) {
                // The session is unknown here (or there is no proxy at all): tell the
                // provider to forget it, as 2.1.5 does.
                log_debug(log_cat, "Proxy %s for unknown session %s from %s", op.c_str(),
                          log::quote(*message.session).c_str(), client.describe().c_str());
                send_destroy(outbox_, client, message.session);
            }
        }
    } else if (op == wire::ipc_op::destroy) {
        if (!known_session()) {
            log_debug(log_cat, "Proxy destroy for an unknown session from %s", client.describe().c_str());
            send_destroy(outbox_, client, message.session);
        } else {
            proxy_->destroy_session(*message.session);
        }
    } else if (op == wire::ipc_op::shutdown_ack) {
        log_debug(log_cat, "shutdown_ack from %s", client.describe().c_str());
        control_.shutdown_acknowledged();
    } else if (op == wire::ipc_op::shutdown_nack) {
        log_debug(log_cat, "shutdown_nack from %s", client.describe().c_str());
        control_.shutdown_refused();
    } else {
        log_warning(log_cat, "Ignoring unknown proxy operation %s from %s", log::quote(op).c_str(),
                    client.describe().c_str());
        if (!known_session()) send_destroy(outbox_, client, message.session);
    }

    if (!wire::op_info(wire::Op::ipc_fwd).has_reply) return;
    wire::Reply reply;
    reply.msg_id = message.msg_id;
    reply.origin = std::string(wire::origin::message);
    reply.rc = rc::ok;
    reply.call_id = call_id;
    outbox_.reply(client, reply);
}

void Dispatcher::on_result(const executor::OpResult& result)
{
    bool requester_only = (result.callopts & wire::callopt::notify_orig_only) != 0;
    outbox_.exec_notify(result.notify, result.client_id, requester_only);
}

}  // namespace outpost::agent::server
