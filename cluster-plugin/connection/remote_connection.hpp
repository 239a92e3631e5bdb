// The ocf:pacemaker:remote connection resource (protocol.md section 6), in two layers.
//
// RemoteConnectionMachine is a pure state machine: it is driven by events (an operation
// requested, the connect attempt finished, the poke notify arrived, the connection dropped,
// another client took over, a timer fired), each stamped with the current time, and it
// answers with a list of Effects the caller performs (connect with a per-attempt timeout,
// disconnect, poke, arm or cancel a timer, report an operation's result, announce the node
// up or down). It owns no sockets and no timers, so every transition is a unit test.
//
// RemoteConnection is the thin adapter that performs those effects with a RemoteClient on a
// GMainContext: it is what a host (the controller) drives to start, monitor, stop and
// migrate a connection to a remote node.
//
// Semantics kept from the 2.1.5 controller: start retries connection errors every 1 s while
// more than 3 s of its timeout remain; a missing key (-ENOKEY) or a failed TLS handshake
// (-EKEYREJECTED) is a hard error (rc 2, status 4) without retry; monitor answers rc 7
// "Remote connection inactive" when not connected and otherwise pokes, succeeding when the
// poke notify arrives within the op timeout (a recurring monitor reports its first success
// and then only failures); a monitor timeout fails rc 1 status 2 and drops the connection;
// stop disconnects, after waiting up to half its timeout for a takeover that migrate_to
// announced; an unexpected new client drops the connection ("unexpected client takeover").
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection/remote_client.hpp"
#include "io/source.hpp"
#include "tls/context.hpp"
#include "util/result.hpp"

namespace outpost::cluster::connection {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// OCF exit codes and Pacemaker execution statuses used by the connection resource.
inline constexpr int kOcfOk = 0;
inline constexpr int kOcfUnknownError = 1;
inline constexpr int kOcfInvalidParam = 2;
inline constexpr int kOcfNotRunning = 7;
inline constexpr int kExecDone = 0;
inline constexpr int kExecCancelled = 1;
inline constexpr int kExecTimeout = 2;
inline constexpr int kExecError = 4;
inline constexpr int kExecNotConnected = 8;

// The controller's start retry rules (protocol.md 6).
inline constexpr Millis kStartRetryDelay{1000};
inline constexpr Millis kStartRetryMinRemaining{3000};
inline constexpr Millis kMaxConnectAttempt{10000};

enum class RaAction { start, stop, monitor, migrate_to, migrate_from, reload };
const char* ra_action_name(RaAction action);

struct RaResult {
    RaAction action = RaAction::start;
    int rc = kOcfOk;
    int status = kExecDone;
    std::string exit_reason;
    bool operator==(const RaResult&) const = default;
};

enum class Timer { start_retry, start_deadline, monitor_timeout, monitor_interval, takeover_wait };
const char* timer_name(Timer timer);

struct Effect {
    enum class Kind {
        connect,  // start one connect+register attempt with `timeout`
        cancel_connect,
        disconnect,    // close the connection; `reason` for the log
        poke,          // send lrmd_rsc_poke (reply not awaited)
        arm_timer,     // (re)arm `timer` to fire after `timeout`
        cancel_timer,  // disarm `timer`
        result,        // report `result` to the host
        node_up,       // the remote node joined: purge its history, mark it member
        node_down,     // the remote node left (stop without takeover)
    };
    Kind kind = Kind::result;
    Millis timeout{0};
    Timer timer = Timer::start_retry;
    RaResult result;
    std::string reason;
    bool operator==(const Effect&) const = default;
};
using Effects = std::vector<Effect>;

class RemoteConnectionMachine {
public:
    enum class State { stopped, starting, started, stopping };

    // Operations requested by the host.
    Effects start(Clock::time_point now, Millis timeout, RaAction as = RaAction::start);
    Effects stop(Clock::time_point now, Millis timeout);
    // interval 0 = one-shot (probe); > 0 = recurring (first success, then failures only).
    Effects monitor(Clock::time_point now, Millis timeout, Millis interval = Millis{0});
    Effects cancel_monitor();
    Effects migrate_to();
    Effects migrate_from(Clock::time_point now, Millis timeout)
    {
        return start(now, timeout, RaAction::migrate_from);
    }
    Effects reload(std::optional<Millis> reconnect_interval);

    // What happened on the connection.
    Effects connect_succeeded(Clock::time_point now);
    Effects connect_failed(Clock::time_point now, const Error& error);
    Effects poke_answered(Clock::time_point now);
    Effects connection_lost(Clock::time_point now, const Error& reason);
    Effects new_client(Clock::time_point now);
    Effects timer_fired(Clock::time_point now, Timer timer);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] bool connected() const { return connected_; }
    [[nodiscard]] bool expecting_takeover() const { return expect_takeover_; }
    [[nodiscard]] bool takeover_complete() const { return takeover_complete_; }
    [[nodiscard]] bool monitor_pending() const { return monitor_pending_; }
    [[nodiscard]] bool recurring_monitor_active() const { return recurring_interval_ > Millis{0}; }
    [[nodiscard]] Millis reconnect_interval() const { return reconnect_interval_; }
    void set_reconnect_interval(Millis interval) { reconnect_interval_ = interval; }

private:
    Effects begin_attempt(Clock::time_point now);
    Effects finish_start(RaResult result);
    Effects finish_stop();
    Effects finish_monitor(int rc, int status, std::string reason, Effects effects);
    Effects drop(std::string reason, Effects effects);

    State state_ = State::stopped;
    bool connected_ = false;
    RaAction start_action_ = RaAction::start;
    Clock::time_point start_deadline_{};
    bool connecting_ = false;

    bool monitor_pending_ = false;
    Millis monitor_timeout_{0};
    Millis recurring_interval_{0};
    bool recurring_reported_success_ = false;

    bool expect_takeover_ = false;
    bool takeover_complete_ = false;
    Millis reconnect_interval_{0};
};

// Parameters of one connection resource (the ocf:pacemaker:remote instance attributes).
struct RemoteConnectionConfig {
    std::string server;  // address or host name
    std::uint16_t port = 3121;
    std::string client_name;  // default "pacemaker-remote-<server>:<port>"
    bool ipc_provider = true;
    Millis reconnect_interval{0};
    Millis handshake_timeout = kDefaultHandshakeTimeout;
    Millis reply_timeout = kDefaultReplyTimeout;
};

// The adapter: performs the machine's effects with a RemoteClient on `context`.
class RemoteConnection {
public:
    using ResultHandler = std::function<void(const RaResult&)>;
    using NodeHandler = std::function<void(bool up)>;
    // Called with each new RemoteClient right after it registered, so the host can
    // subscribe to exec events and attach its IPC provider bridge.
    using ClientHandler = std::function<void(RemoteClient&)>;

    RemoteConnection(GMainContext* context, tls::TlsContext tls, RemoteConnectionConfig config);
    RemoteConnection(const RemoteConnection&) = delete;
    RemoteConnection& operator=(const RemoteConnection&) = delete;
    ~RemoteConnection();

    void on_result(ResultHandler handler) { on_result_ = std::move(handler); }
    void on_node(NodeHandler handler) { on_node_ = std::move(handler); }
    void on_client(ClientHandler handler) { on_client_ = std::move(handler); }

    void start(Millis timeout);
    void stop(Millis timeout);
    void monitor(Millis timeout, Millis interval = Millis{0});
    void cancel_monitor();
    void migrate_to();
    void migrate_from(Millis timeout);
    void reload(std::optional<Millis> reconnect_interval);

    [[nodiscard]] const RemoteConnectionMachine& machine() const { return machine_; }
    // The live client while connected (nullptr otherwise).
    [[nodiscard]] RemoteClient* client() { return client_ && client_->connected() ? client_.get() : nullptr; }

private:
    void apply(const Effects& effects);
    void arm(Timer timer, Millis delay);
    void disarm(Timer timer);

    GMainContext* context_;
    tls::TlsContext tls_;
    RemoteConnectionConfig config_;
    RemoteConnectionMachine machine_;
    std::unique_ptr<RemoteClient> client_;
    std::optional<Subscription> subscription_;
    io::Source timers_[5];
    ResultHandler on_result_;
    NodeHandler on_node_;
    ClientHandler on_client_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace outpost::cluster::connection
