// Dispatcher: turns each decoded client request into the reply and notifications that
// pacemaker-remoted 2.1.5 would produce (docs/protocol.md 3.3, 3.4, 3.5, 4.3). Pure with
// respect to I/O: it calls the Executor and says everything through an Outbox and a Control,
// which the server wires to the live sessions and tests and the fuzz target to recorders.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "executor/executor.hpp"
#include "proxy/endpoint.hpp"
#include "server/client_session.hpp"
#include "wire/messages.hpp"

namespace outpost::agent::server {

// Where replies and notifications go, in wire order: exec notifications the executor reports
// synchronously (cancellations) first, then the reply, then the generic notify (register,
// unregister, poke).
class Outbox {
public:
    virtual ~Outbox() = default;
    // The answer to a request of `client`.
    virtual void reply(ClientSession& client, const wire::Reply& reply) = 0;
    // Exec completion: to every named client, or only to `requester_id` (if it is still
    // connected and named) when `requester_only` (call option notify_orig_only).
    virtual void exec_notify(const wire::ExecNotify& notify, std::string_view requester_id,
                             bool requester_only) = 0;
    // Register/unregister/poke: to every named client.
    virtual void generic_notify(const wire::GenericNotify& notify) = 0;
    // IPC proxy traffic for one provider.
    virtual void proxy_notify(std::string_view provider_id, const wire::ProxyMessage& message) = 0;
};

// Daemon-level effects of requests (shutdown ack/nack, the fatal watchdog exit).
class Control {
public:
    virtual ~Control() = default;
    virtual void shutdown_acknowledged() = 0;  // ipc_fwd shutdown_ack
    virtual void shutdown_refused() = 0;       // ipc_fwd shutdown_nack
    // lrmd_check found a watchdog configuration this node cannot honour.
    virtual void fatal_exit(int exit_code, const std::string& reason) = 0;
};

// A TLS client's payload read but not yet acted on: decoded, and for proxy traffic to a
// local tool (response, event) the inner message serialized again as the tool gets it (in
// place of message.msg, which is empty then).
// Self-contained, so that a large one is prepared off the loop (docs/limits.md).
struct RemotePayload {
    wire::Message message;
    std::string proxy_msg_xml;
};

struct DispatcherConfig {
    std::string node_start_state;     // PCMK_node_start_state; empty = not announced
    std::int64_t sbd_timeout_ms = 0;  // SBD_WATCHDOG_TIMEOUT; 0 = SBD not configured
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class Dispatcher {
public:
    Dispatcher(executor::Executor& executor, Outbox& outbox, Control& control, DispatcherConfig config = {});
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;
    ~Dispatcher() = default;

    // One executor request (root lrmd_command) from `client`.
    void handle(ClientSession& client, const wire::Request& request);
    // One ipc_fwd request (root lrmd_ipc_proxy, type request) from `client`.
    void handle(ClientSession& client, const wire::ProxyMessage& message);

    // The two ways a payload enters the daemon; the Server calls these and the fuzz
    // targets call the same functions, so what is fuzzed is what is served.
    // A TLS client's payload, read as 2.1.5 reads it (wire::decode_remote_request: any
    // root, lrmd_op decides; ipc_fwd on lrmd_ipc_proxy is proxy traffic) and handled.
    // An Error means it could not be read at all: the server drops that client.
    // `max_size` is the connection's message limit, which the XML parser enforces too.
    Status handle_remote_payload(ClientSession& client, std::string_view xml,
                                 std::size_t max_size = wire::kDefaultMaxMessageSize);
    // The two halves of handle_remote_payload(): reading (pure, thread-safe: the server
    // runs it on a worker thread for a large payload) and acting on what was read.
    static Result<RemotePayload> prepare_remote_payload(std::string_view xml,
                                                        std::size_t max_size = wire::kDefaultMaxMessageSize);
    void handle_prepared(ClientSession& client, const RemotePayload& payload);
    // A request of a local lrmd IPC client (wire::decode_local_request; `ipc_msg_id` is
    // its IPC request id). An Error means it could not be read; 2.1.5 answers nothing
    // then and keeps the client.
    Status handle_local_payload(ClientSession& client, std::uint32_t ipc_msg_id, std::string_view xml);
    // The same, read already (wire::decode_local_request, maybe on a worker thread).
    Status handle_local_prepared(ClientSession& client, const Result<wire::Message>& decoded);

    // The executor's result callback: turns a result into an exec notify. (The executor
    // already withholds unchanged results of notify-changes-only recurring ops.)
    void on_result(const executor::OpResult& result);

    // The local IPC proxy, once it exists (nullptr detaches). Borrowed.
    void attach_proxy(proxy::ProxyEndpoint* endpoint) { proxy_ = endpoint; }

    // The call id given to the most recent request (0 before the first). One counter for the
    // whole daemon, incremented for EVERY request (any op, ipc_fwd and unknown ops included)
    // and wrapping to 1; an exec's reply rc and its completion notify carry that id.
    [[nodiscard]] int last_call_id() const { return call_id_; }
    // For tests of the wrap-around: the next request gets `value + 1` (or 1 past INT_MAX).
    void set_last_call_id(int value) { call_id_ = value; }

private:
    // `msg_xml`: what the tool gets of a response or event (its lrmd_ipc_msg serialized);
    // empty when there is none.
    void handle_proxy(ClientSession& client, const wire::ProxyMessage& message, std::string_view msg_xml);
    int next_call_id();
    wire::Reply make_reply(const wire::Request& request, int call_id, int rc) const;

    // What a handler has to say once its effects are done: the reply (sent when the
    // operation table says the op has one; a handler of an op without one gives none) and
    // the generic notify that follows it.
    struct Answer {
        std::optional<wire::Reply> reply;
        std::optional<wire::GenericNotify> notify;
    };
    using Handler = Answer (Dispatcher::*)(ClientSession& client, const wire::Request& request, int call_id);
    // One handler per row of wire::op_table(), indexed by wire::Op.
    static const std::array<Handler, wire::kOpCount> kHandlers;

    Answer do_register(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_rsc_register(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_rsc_unregister(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_rsc_info(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_rsc_exec(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_rsc_cancel(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_get_recurring(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_poke(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_check(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_alert_exec(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_ipc_fwd_without_data(ClientSession& client, const wire::Request& request, int call_id);
    Answer do_unsupported(ClientSession& client, const wire::Request& request, int call_id);

    executor::Executor& executor_;
    Outbox& outbox_;
    Control& control_;
    DispatcherConfig config_;
    proxy::ProxyEndpoint* proxy_ = nullptr;
    int call_id_ = 0;
    std::uint64_t provider_order_ = 0;
};

}  // namespace outpost::agent::server
