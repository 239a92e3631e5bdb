// RemoteClient: the cluster side of one Pacemaker Remote executor connection (docs/protocol.md
// 1, 3, 5.12), as the 2.1.5 controller's executor client behaves on the wire. Nothing blocks:
// every result arrives through a callback on the GMainContext, never from inside the call that
// started the work, and any callback may destroy the RemoteClient.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/connection.hpp"
#include "io/deferred.hpp"
#include "io/source.hpp"
#include "tls/context.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"

namespace outpost::cluster::connection {

inline constexpr std::uint16_t kDefaultPort = 3121;
// The 2.1.5 client waits at most 10 s for any reply; a request not answered by then fails
// with -ETIMEDOUT and the connection is dropped. (The connect and handshake defaults are
// io's: io::kDefaultConnectTimeout, io::kClientHandshakeTimeout.)
inline constexpr std::chrono::milliseconds kDefaultReplyTimeout{10000};
// Requests carry message ids from 1, one more each time; each reply is matched to its
// request by id. 2.1.5 keeps them in an int: after INT_MAX they start at 1 again.
inline constexpr std::uint64_t kDefaultMaxMsgId = 2147483647;
// Fire-and-forget requests (poke, ipc_fwd) whose late replies we still recognise; beyond
// this the oldest are forgotten (a peer that never replies must not grow our memory).
inline constexpr std::size_t kMaxLateReplyIds = 4096;
// Executions awaiting their completion notify; more is a runaway caller.
inline constexpr std::size_t kMaxPendingExecs = 100000;

// Every exec is tracked from its reply until its last notify: a one-shot until its
// completion, a recurring one until the notify that ends it (cancelled, by cancel or by the
// resource's stop, or the resource deleted) or until a cancel or unregister of it succeeds.
// When the connection drops (or disconnect() closes it), every request still waiting fails
// (-ENOTCONN) and every exec still tracked, recurring ones included, gets a synthesized
// completion (docs/protocol.md 5.12, 6), as from the 2.1.5 client:
inline constexpr const char* kDroppedExitReason = "Action was pending when executor connection was dropped";
inline constexpr int kSynthesizedRc = wire::ocf::unknown_error;
inline constexpr wire::ExecStatus kSynthesizedStatus = wire::ExecStatus::not_connected;

struct ClientOptions {
    std::string host;
    std::uint16_t port = kDefaultPort;
    std::string client_name = "outpost-cluster";
    bool ipc_provider = false;
    std::chrono::milliseconds connect_timeout = io::kDefaultConnectTimeout;  // per address
    std::chrono::milliseconds handshake_timeout = io::kClientHandshakeTimeout;
    std::chrono::milliseconds reply_timeout = kDefaultReplyTimeout;
    // Largest message id before wrapping to 1 (small values only in tests).
    std::uint64_t max_msg_id = kDefaultMaxMsgId;
    io::ConnectionLimits limits;
};

// What register told us about the server.
struct ServerInfo {
    std::string client_id;         // lrmd_clientid (the session token)
    std::string protocol_version;  // e.g. "1.1"
    std::optional<std::int64_t> uptime_s;
    std::optional<std::string> node_start_state;
};

using wire::AlertRequest;
using wire::ExecRequest;

// An operation completion as the server reported it, or as we synthesized it on a drop.
struct ExecEvent {
    wire::ExecNotify notify;
    bool synthesized = false;
};

// A subscriber's handlers; any may be empty. Every notification goes to every subscriber.
struct Handlers {
    std::function<void(const ExecEvent&)> exec;
    std::function<void(const wire::GenericNotify&)> generic;  // register/unregister/poke
    std::function<void()> new_client;
    std::function<void(const wire::ProxyMessage&)> proxy;
    // The connection dropped (not called for disconnect()).
    std::function<void(const Error&)> closed;
    // disconnect() closed a registered connection; called from the loop afterwards, after
    // the failed requests and synthesized completions (never together with `closed`).
    std::function<void()> disconnected;
};
using Subscription = std::uint64_t;

class RemoteClient {
public:
    using DoneCallback = std::function<void(Status)>;
    using ReplyCallback = std::function<void(Result<wire::Reply>)>;

    RemoteClient(GMainContext* context, tls::TlsContext tls, ClientOptions options);
    RemoteClient(const RemoteClient&) = delete;
    RemoteClient& operator=(const RemoteClient&) = delete;
    ~RemoteClient();

    // Resolves the server, tries each address in turn (per-attempt timeout), completes the TLS
    // handshake (PSK or X.509, from the TlsContext) and registers (client name, optionally as
    // IPC provider), checking the reply's rc and protocol version; server() then holds what
    // the register reply said. `done` gets Status ok or the error: io's (-ETIMEDOUT,
    // -ECONNREFUSED, -EKEYREJECTED, -ENOKEY, -EADDRNOTAVAIL, ..., with the failed phase as
    // domain, see io::failed_phase()), the register reply's negative rc, or -EPROTO for an
    // unusable register reply.
    void connect(DoneCallback done);
    // Orderly close. Pending requests fail (-ENOTCONN) and tracked execs get synthesized
    // completions, delivered from the loop shortly after, then `disconnected` handlers run
    // (`closed` handlers are not called).
    void disconnect();
    // The peer is known dead (its machine is gone, so no FIN will come): the connection is
    // closed as if it had dropped with `reason`. Pending requests fail, tracked execs get
    // their synthesized completions and the `closed` handlers run, all from inside this
    // call: call it from the loop, not from one of this client's callbacks. Nothing happens
    // unless connected.
    void lose(const std::string& reason);
    [[nodiscard]] bool connected() const { return registered_ && connection_ && connection_->is_open(); }
    [[nodiscard]] const ServerInfo& server() const { return server_; }
    [[nodiscard]] const ClientOptions& options() const { return options_; }
    [[nodiscard]] std::string tls_description() const;

    Subscription subscribe(Handlers handlers);
    void unsubscribe(Subscription id);

    // Requests answered by a reply. The callback always runs from the loop.
    void register_rsc(const std::string& rsc_id, const std::string& rsc_class, const std::string& provider,
                      const std::string& type, DoneCallback done,
                      unsigned callopts = wire::callopt::drop_recurring);
    // Ok for rc 0 and for -115 (removed while an op runs); -19 etc. as errors. Recurring
    // execs of the resource are no longer tracked once it succeeded.
    void unregister_rsc(const std::string& rsc_id, DoneCallback done);
    // nullopt for an unknown resource (-19).
    void rsc_info(const std::string& rsc_id, std::function<void(Result<std::optional<wire::RscInfo>>)> done);
    // The call id; the completion arrives later as an ExecEvent.
    void exec(const ExecRequest& request, std::function<void(Result<int>)> done);
    // -95 when there is no such operation to cancel. A recurring exec it cancels is no
    // longer tracked once it succeeded.
    void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms,
                DoneCallback done);
    // rsc_id empty = every resource.
    void get_recurring(const std::string& rsc_id,
                       std::function<void(Result<std::vector<wire::RecurringList>>)> done);
    void alert_exec(const AlertRequest& request, DoneCallback done);
    // Any request with its raw reply (for tools and tests). An operation the server never
    // answers (lrmd_check, per the operation table) is not sent: -EINVAL, use check().
    void request(wire::Request request, ReplyCallback done);

    // Fire-and-forget: the reply is expected but not awaited (its arrival is ignored).
    // The poke's generic notify is the liveness answer.
    Status poke();
    // lrmd_check: the server never replies. watchdog = the cluster's stonith-watchdog-timeout.
    Status check(const std::optional<std::string>& watchdog = std::nullopt);
    // IPC proxy traffic to the server (response, event, destroy, shutdown_ack/nack).
    Status ipc_fwd(wire::ProxyMessage message);

    // Test hooks.
    [[nodiscard]] std::uint64_t last_msg_id() const { return last_msg_id_; }
    [[nodiscard]] std::size_t pending_requests() const { return pending_.size(); }
    [[nodiscard]] std::size_t pending_execs() const { return execs_.size(); }

private:
    struct Pending {
        ReplyCallback done;
        io::Source timer;
        wire::Op op = wire::Op::unknown;
        std::optional<ExecRequest> exec;  // for rsc_exec: remembered until the notify
    };

    std::uint64_t next_msg_id();
    // Sends and remembers a request the server answers (the table's has_reply); failures are
    // reported through `done` from the loop.
    void send_request(wire::Request request, ReplyCallback done, std::optional<ExecRequest> exec = {});
    // Sends without waiting for an answer; a reply the table says will come is recognised
    // when it arrives and ignored.
    Status send_untracked(wire::Request request);
    Status send_unawaited(const std::string& xml, std::uint64_t msg_id, wire::Op op);
    void fail_soon(ReplyCallback done, Error error);
    void on_ready(Result<std::unique_ptr<io::Connection>> result);
    void on_register_reply(Result<wire::Reply> reply);
    void on_message(const std::string& xml);
    void on_reply(wire::Reply reply);
    void on_exec_notify(wire::ExecNotify notify);
    // Stops tracking the recurring execs of `rsc_id` (all of them when `action` is empty).
    void forget_recurring(const std::string& rsc_id, const std::string& action = {},
                          std::uint32_t interval_ms = 0);
    void on_reply_timeout(std::uint64_t msg_id);
    // Tears the connection down: fails requests, synthesizes completions; `reason` goes to
    // the closed handlers when `notify_closed`.
    void drop(const Error& reason, bool notify_closed);
    void finish_connect(Status status);
    // A request for `op` as liblrmd sends it: callopts 0, lrmd_async_id our session token.
    wire::Request make_request(wire::Op op) const;
    // `request` with its op name and our session token filled in.
    wire::Request addressed(wire::Request request) const;

    GMainContext* context_;
    tls::TlsContext tls_;
    ClientOptions options_;
    std::unique_ptr<io::PendingConnection> pending_connection_;
    std::unique_ptr<io::Connection> connection_;
    DoneCallback connect_done_;
    io::Source connect_report_;
    bool registered_ = false;
    ServerInfo server_;

    std::uint64_t last_msg_id_ = 0;
    std::map<std::uint64_t, Pending> pending_;
    std::vector<std::uint64_t> late_ids_;  // fire-and-forget ids, oldest first
    std::map<int, ExecRequest> execs_;     // call id -> request, until its last notify
    io::Deferred deferred_{context_};      // reports and releases out of a call stack

    // Calls `call(handlers)` with a copy of each subscriber's handlers (a handler may
    // unsubscribe, or destroy this client); false once this client was destroyed.
    template <typename Call>
    bool each_subscriber(const Call& call);

    std::map<Subscription, Handlers> subscribers_;
    Subscription next_subscription_ = 1;
    Lifetime lifetime_;
};

}  // namespace outpost::cluster::connection
