// Connection: a TLS connection carrying Pacemaker Remote messages once its handshake has
// completed (accept_async()/connect_async() make one, through a PendingConnection:
// io/connector.hpp), driven by a GMainContext. Nothing blocks the loop, no connection has a
// thread, and any callback may destroy the Connection.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/connector.hpp"
#include "io/source.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"
#include "util/fd.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"
#include "wire/frame.hpp"

namespace outpost::io {

class Connection {
public:
    // Called once with the ready Connection or the reason there is none. The error's domain
    // is the phase that failed (ConnectPhase, failed_phase()); its code a negative errno:
    // -ETIMEDOUT (connect or handshake timeout), -ECONNREFUSED and other socket errors,
    // -EKEYREJECTED (TLS handshake failed: wrong key, bad certificate, peer closed during
    // the handshake), -ENOKEY (no authkey), -EADDRNOTAVAIL (cannot resolve).
    using ReadyCallback = PendingConnection::ReadyCallback;
    using MessageHandler = std::function<void(std::string xml)>;
    using CloseHandler = std::function<void(const Error& reason)>;
    // A bzip2-compressed message left to inflate off the loop (defer_inflate()).
    using CompressedHandler = std::function<void(wire::CompressedPayload payload)>;

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
    // Everything available is read, including data GnuTLS already buffered (the socket alone
    // is not trusted to signal it), and each whole message goes to on_message; a stream
    // error or the peer closing reports on_close exactly once.
    void start(MessageHandler on_message, CloseHandler on_close);

    // From now on a compressed message whose compressed or announced size exceeds `above`
    // goes to `handler` as it is, not inflated (for a handler that inflates it off the loop
    // with wire::inflate_payload and hands what is wrong with it to reject()).
    void defer_inflate(std::size_t above, CompressedHandler handler);
    // Ends the connection as a bad message in its stream would: on_close with "bad message
    // from PEER: ..." soon, never from inside this call.
    void reject(const Error& error);

    // Stops delivering messages, and reading, until resume(): for a handler that hands a
    // message to work off the loop (io/offload.hpp), so that the connection's next messages
    // wait for it. Effective at once, also from inside on_message. What was read stays
    // buffered, the rest waits in the socket; sending goes on; a peer that closes meanwhile
    // is noticed after resume().
    void pause();
    // Delivers what is buffered, then reads again (from the loop, never inside this call).
    void resume();
    [[nodiscard]] bool paused() const { return paused_; }

    // Queues one message (XML text without NUL): framed, its 40-byte header written as one TLS
    // record, then the payload in records of at most 16 KiB, one message at a time and never
    // coalesced (docs/protocol.md 2.3); a full socket just queues, and so does what exceeds
    // limits.write_budget_per_wakeup (written from the loop, a budget per wake-up). Returns an error, and
    // queues nothing, if the connection is closed (-ENOTCONN), the text holds a NUL (-EINVAL),
    // the message exceeds max_message_size (-EMSGSIZE) or the queue limit (-ENOBUFS). A write
    // failure found while sending is reported later through on_close, never from inside
    // send().
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
    CompressedHandler on_compressed_;
    std::size_t inflate_up_to_ = SIZE_MAX;  // defer_inflate()
    CloseHandler on_close_;
    bool started_ = false;
    bool closed_ = false;            // no more I/O
    bool close_reported_ = false;    // on_close called (or close() requested)
    bool paused_ = false;            // pause(): no reading, no delivering
    bool hup_seen_ = false;          // hang-up before start() or while paused: stop watching until then
    bool read_wants_write_ = false;  // GnuTLS needs to write to go on reading
    std::optional<Error> failure_;
    Lifetime lifetime_;
};

}  // namespace outpost::io
