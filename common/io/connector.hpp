// Connection attempts: the steps before a Connection exists. A PendingConnection takes an
// accepted socket through the TLS handshake (server side), or resolves a host (io/lookup),
// connects to each of its addresses in turn with a per-attempt timeout and then handshakes
// (client side); it reports exactly once, and destroying it cancels the attempt. Every
// error it reports names the phase that failed (ConnectPhase) as its domain.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/lookup.hpp"
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
// Time spent reading and handling messages per wake-up before yielding: a peer packing
// thousands of small requests into its records must not hold the loop for every one of them
// (docs/limits.md, the packed pokes of agent-hostile).
inline constexpr std::chrono::milliseconds kReadTimePerWakeup{10};
// Bytes written per wake-up before yielding: encrypting a 32 MiB message in one go would
// hold the loop for as long as the peer keeps reading.
inline constexpr std::size_t kWriteBudgetPerWakeup = std::size_t{1024} * 1024;

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
    // The same in time (checked after each record).
    std::chrono::milliseconds read_time_per_wakeup = kReadTimePerWakeup;
    // Bytes written in one wake-up (or one send()) before the rest waits for the next.
    std::size_t write_budget_per_wakeup = kWriteBudgetPerWakeup;
};

// TCP_NODELAY on the socket and TCP_QUICKACK after every read (io/socket.hpp): a message is
// several records written back to back, and without these each one can wait about 40 ms for
// a delayed ACK (docs/benchmarks.md, "Design decisions and their measurements"). Off only to
// imitate a Pacemaker 2.1.5 peer, which leaves both alone (bench-agent).
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

// A connection attempt in progress (accept_async / connect_async). Destroying it cancels
// the attempt; the callback is then never called.
class PendingConnection {
public:
    // Called once with the ready Connection or the reason there is none (see
    // Connection::ReadyCallback).
    using ReadyCallback = std::function<void(Result<std::unique_ptr<Connection>>)>;

    PendingConnection(const PendingConnection&) = delete;
    PendingConnection& operator=(const PendingConnection&) = delete;
    ~PendingConnection();

    // What is going on, for logs: "TLS handshake with ADDRESS" or "connecting to HOST:PORT".
    [[nodiscard]] std::string describe() const;
    // True once the callback has been called.
    [[nodiscard]] bool finished() const { return finished_; }

private:
    friend class Connection;
    explicit PendingConnection(const tls::TlsContext& tls) : tls_(tls) {}

    void start_handshake();
    void handshake_step();
    void on_resolved(Result<AddressList> addresses);
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
    ReadyCallback on_ready_;
    FdWatch watch_;
    Source timer_;
    Source kick_;
    AddressList addresses_;
    std::size_t next_address_ = 0;
    std::optional<Error> last_error_;
    bool finished_ = false;
    Lifetime lifetime_;
};

}  // namespace outpost::io
