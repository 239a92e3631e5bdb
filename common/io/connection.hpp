// A TLS connection carrying Pacemaker Remote messages, driven by a GMainContext.
//
// No thread per connection (host name lookups share one small pool) and no blocking call on
// the loop: the handshake, sending and receiving all advance when the socket is ready. A
// Connection only exists once the TLS handshake has completed; it is obtained from
// Connection::accept_async() (server side, an fd from Listener) or
// Connection::connect_async() (client side: each address of the host in turn, non-blocking
// connect with a per-attempt timeout), both of which enforce a handshake timeout and report
// exactly once through a callback. The returned PendingConnection handle cancels the
// attempt when destroyed.
//
// Sending: send(xml) frames the message (wire::encode_frame) and writes the 40-byte header
// as its own TLS record, then the payload in records of at most 16 KiB, one message at a
// time and never coalesced (protocol.md 2.3); a full socket just queues (bounded).
// Receiving: everything available is read, including data GnuTLS already buffered (the
// socket alone is not trusted to signal it), fed to a wire::FrameDecoder, and each whole
// message is delivered to on_message. A stream error or the peer closing reports on_close
// exactly once. Every callback may destroy the Connection (or the PendingConnection).
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"
#include "util/fd.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"
#include "wire/frame.hpp"

namespace outpost::io {

// pacemaker-remoted drops a client that has not finished TLS within 10 s.
inline constexpr std::chrono::milliseconds kServerHandshakeTimeout{10000};
// The 2.1.5 controller gives the server 5 s to finish the handshake.
inline constexpr std::chrono::milliseconds kClientHandshakeTimeout{5000};
// Per-address TCP connect timeout (the controller uses at most 10 s per attempt).
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{10000};
// Unsent data one connection may hold before send() refuses more (a stuck peer must not
// exhaust our memory).
inline constexpr std::size_t kDefaultMaxQueuedBytes = std::size_t{64} * 1024 * 1024;
// Bytes read per wake-up before yielding to the rest of the loop.
inline constexpr std::size_t kReadBudgetPerWakeup = std::size_t{1024} * 1024;

// The step of Connection::connect_async() / accept_async() that failed. Every error they
// report carries it as its domain, so a caller can tell a TCP connect timeout from a TLS
// handshake timeout (both -ETIMEDOUT) without reading messages; what a phase means to the
// caller (retry or give up) is the caller's business.
enum class ConnectPhase {
    resolve,    // no usable address for the host name
    connect,    // TCP: refused, unreachable, per-address timeout (the last address's error)
    handshake,  // TLS: rejected key or certificate, peer closed, handshake timeout
};
inline constexpr const char* kResolveDomain = "io.resolve";
inline constexpr const char* kConnectDomain = "io.connect";
inline constexpr const char* kHandshakeDomain = "io.handshake";
const char* phase_domain(ConnectPhase phase);
// The phase of an error from connect_async()/accept_async(); nullopt for any other error.
std::optional<ConnectPhase> failed_phase(const Error& error);

struct ConnectionLimits {
    std::size_t max_message_size = wire::kDefaultMaxMessageSize;  // header + payload, both ways
    std::size_t max_queued_bytes = kDefaultMaxQueuedBytes;
    // Bytes read in one wake-up before yielding to the rest of the loop (at least one
    // record is always read).
    std::size_t read_budget_per_wakeup = kReadBudgetPerWakeup;
};

// TCP_NODELAY on the socket and TCP_QUICKACK after every read (see connection.cpp,
// set_low_latency): a message is several records written back to back, and without
// these each one can wait about 40 ms for a delayed ACK. Off only to imitate a
// Pacemaker 2.1.5 peer, which leaves both alone (bench-agent).
inline constexpr bool kDefaultLowLatencyTcp = true;

struct AcceptOptions {
    std::chrono::milliseconds handshake_timeout = kServerHandshakeTimeout;
    ConnectionLimits limits;
    bool low_latency_tcp = kDefaultLowLatencyTcp;
};

struct ConnectOptions {
    std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;  // per address
    std::chrono::milliseconds handshake_timeout = kClientHandshakeTimeout;
    ConnectionLimits limits;
    bool low_latency_tcp = kDefaultLowLatencyTcp;
};

class Connection;
class PendingConnection;

class Connection {
public:
    // Called once with the ready Connection or the reason there is none. The error's domain
    // is the phase that failed (ConnectPhase, failed_phase()); its code a negative errno:
    // -ETIMEDOUT (connect or handshake timeout), -ECONNREFUSED and other socket errors,
    // -EKEYREJECTED (TLS handshake failed: wrong key, bad certificate, peer closed during
    // the handshake), -ENOKEY (no authkey), -EADDRNOTAVAIL (cannot resolve).
    using ReadyCallback = std::function<void(Result<std::unique_ptr<Connection>>)>;
    using MessageHandler = std::function<void(std::string xml)>;
    using CloseHandler = std::function<void(const Error& reason)>;

    // Server side: TLS handshake on an accepted socket. The callback never runs from inside
    // this call. An unauthenticated client is dropped after options.handshake_timeout.
    [[nodiscard]] static std::unique_ptr<PendingConnection> accept_async(
        UniqueFd fd, std::string peer_address, const tls::TlsContext& tls, GMainContext* context,
        AcceptOptions options, ReadyCallback on_ready);
    // Client side: resolve `host` (numeric addresses directly; names on a lookup pool of
    // at most two threads shared by the process, never on the loop), connect to each
    // address in turn, then handshake.
    [[nodiscard]] static std::unique_ptr<PendingConnection> connect_async(
        std::string host, std::uint16_t port, const tls::TlsContext& tls, GMainContext* context,
        ConnectOptions options, ReadyCallback on_ready);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Starts delivering messages. Until then incoming data waits (nothing is lost). If the
    // connection already failed, on_close is called soon (never from inside start()).
    void start(MessageHandler on_message, CloseHandler on_close);

    // Queues one message (XML text without NUL). Returns an error, and queues nothing, if
    // the connection is closed (-ENOTCONN), the text holds a NUL (-EINVAL), the message
    // exceeds max_message_size (-EMSGSIZE) or the queue limit (-ENOBUFS). A write failure
    // found while sending is reported later through on_close, never from inside send().
    Status send(std::string_view xml);

    // Orderly close: writes whatever the socket takes right away of the queue, sends TLS
    // close_notify (best effort, never waits), closes the socket. on_close is not called.
    // Idempotent; the object stays valid (send() then fails with -ENOTCONN).
    void close();

    [[nodiscard]] bool is_open() const { return !closed_; }
    [[nodiscard]] const std::string& peer_address() const { return peer_address_; }
    [[nodiscard]] std::size_t queued_bytes() const { return queued_bytes_; }
    [[nodiscard]] std::size_t queued_messages() const { return queue_.size(); }
    // E.g. "(TLS1.3-PSK)-(ECDHE-SECP256R1)-(CHACHA20-POLY1305)"; empty once closed.
    [[nodiscard]] std::string tls_description() const;

private:
    friend class PendingConnection;
    Connection(GMainContext* context, UniqueFd fd, std::unique_ptr<tls::TlsSession> session,
               std::string peer_address, const ConnectionLimits& limits, bool low_latency_tcp);

    void on_io(GIOCondition happened);
    // Each returns false if the connection was closed or destroyed meanwhile.
    bool read_available();
    bool deliver_messages();
    Status flush();
    void update_events();
    void fail(Error reason);
    void fail_later(Error reason);
    void report_failure();
    void release_socket();

    GMainContext* context_;
    UniqueFd fd_;
    std::unique_ptr<tls::TlsSession> session_;
    std::string peer_address_;
    ConnectionLimits limits_;
    bool low_latency_tcp_;
    wire::FrameDecoder decoder_;
    FdWatch watch_;
    Source resume_;  // continues reading when the budget ran out or after start()
    Source report_;  // deferred on_close

    struct Outgoing {
        wire::EncodedFrame frame;
        bool header_sent = false;
        std::size_t payload_sent = 0;
    };
    std::deque<Outgoing> queue_;
    std::size_t queued_bytes_ = 0;

    MessageHandler on_message_;
    CloseHandler on_close_;
    bool started_ = false;
    bool closed_ = false;            // no more I/O
    bool close_reported_ = false;    // on_close called (or close() requested)
    bool hup_seen_ = false;          // hang-up before start(): stop watching until then
    bool read_wants_write_ = false;  // GnuTLS needs to write to go on reading
    std::optional<Error> failure_;
    Lifetime lifetime_;
};

// A connection attempt in progress (accept_async / connect_async). Destroying it cancels
// the attempt; the callback is then never called.
class PendingConnection {
public:
    PendingConnection(const PendingConnection&) = delete;
    PendingConnection& operator=(const PendingConnection&) = delete;
    ~PendingConnection();

    // What is going on, for logs: "TLS handshake with ADDRESS" or "connecting to HOST:PORT".
    [[nodiscard]] std::string describe() const;
    // True once the callback has been called.
    [[nodiscard]] bool finished() const { return finished_; }

    struct Address {
        sockaddr_storage storage{};
        socklen_t length = 0;
    };

private:
    friend class Connection;
    explicit PendingConnection(const tls::TlsContext& tls) : tls_(tls) {}

    void start_handshake();
    void handshake_step();
    void on_resolved(Result<std::vector<Address>> addresses);
    void try_next_address();
    void on_connect_ready();
    void attempt_failed(Error error);
    void finish(Result<std::unique_ptr<Connection>> result);

    GMainContext* context_ = nullptr;
    tls::TlsContext tls_;                         // a handle sharing the service's credentials
    ConnectPhase phase_ = ConnectPhase::resolve;  // what a failure now would be
    std::unique_ptr<tls::TlsSession> session_;
    UniqueFd fd_;
    std::string host_;
    std::uint16_t port_ = 0;
    std::string peer_address_;
    ConnectionLimits limits_;
    bool low_latency_tcp_ = kDefaultLowLatencyTcp;
    std::chrono::milliseconds connect_timeout_{};
    std::chrono::milliseconds handshake_timeout_{};
    Connection::ReadyCallback on_ready_;
    FdWatch watch_;
    Source timer_;
    Source kick_;
    std::vector<Address> addresses_;
    std::size_t next_address_ = 0;
    std::optional<Error> last_error_;
    bool finished_ = false;
    Lifetime lifetime_;
};

}  // namespace outpost::io
