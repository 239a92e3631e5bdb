#include "io/connection.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "io/socket.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.connection"};
constexpr const char* kDomain = "io";

}  // namespace

Connection::Connection(GMainContext* context, UniqueFd fd, std::unique_ptr<tls::TlsSession> session,
                       std::string peer_address, const ConnectionLimits& limits, bool low_latency_tcp)
    : context_(context),
      fd_(std::move(fd)),
      session_(std::move(session)),
      peer_address_(std::move(peer_address)),
      limits_(limits),
      low_latency_tcp_(low_latency_tcp),
      decoder_(limits.max_message_size)
{
}

Connection::~Connection()
{
    lifetime_.end();
    // Only an allocation failure can escape close(); the socket is closed by its owner anyway.
    guarded(log_cat, "closing a connection", [this] { close(); });
}

void Connection::start(MessageHandler on_message, CloseHandler on_close)
{
    if (started_) return;
    started_ = true;
    on_message_ = std::move(on_message);
    on_close_ = std::move(on_close);
    if (closed_) {
        if (failure_ && !close_reported_) {
            report_ = add_idle(context_, [this] { report_failure(); });
        }
        return;
    }
    update_events();
    // The handshake may have pulled application data into GnuTLS already; the socket
    // will not signal it, so look once right away.
    resume_ = add_idle(context_, [this] { (void)read_available(); });
}

void Connection::defer_inflate(std::size_t above, CompressedHandler handler)
{
    inflate_up_to_ = above;
    on_compressed_ = std::move(handler);
}

void Connection::reject(const Error& error)
{
    fail_later(
        make_error(error.domain, error.code, "bad message from " + peer_address_ + ": " + error.message));
}

void Connection::pause()
{
    paused_ = true;
}

void Connection::resume()
{
    if (!paused_) return;
    paused_ = false;
    if (closed_ || !started_) return;
    update_events();
    // Messages may wait whole in the decoder (the socket will not signal them), and more
    // inside GnuTLS: deliver those first, then read.
    resume_ = add_idle(context_, [this] {
        if (deliver_messages()) (void)read_available();
    });
}

Status Connection::send(std::string_view xml)
{
    if (closed_) {
        return make_error(kDomain, -ENOTCONN, "cannot send to " + peer_address_ + ": connection is closed");
    }
    if (xml.find('\0') != std::string_view::npos) {
        return make_error(kDomain, -EINVAL,
                          "cannot send to " + peer_address_ + ": message text contains a NUL byte");
    }
    const std::size_t size = wire::kHeaderSize + xml.size() + 1;
    if (size > limits_.max_message_size || size > UINT32_MAX) {
        return make_error(kDomain, -EMSGSIZE,
                          "cannot send to " + peer_address_ + ": message of " + std::to_string(size) +
                              " bytes exceeds the limit of " + std::to_string(limits_.max_message_size));
    }
    if (queued_bytes_ + size > limits_.max_queued_bytes) {
        return make_error(kDomain, -ENOBUFS,
                          "cannot send to " + peer_address_ + ": " + std::to_string(queued_bytes_) +
                              " bytes already queued (limit " + std::to_string(limits_.max_queued_bytes) +
                              ")");
    }
    queue_.push_back(Outgoing{wire::encode_frame(xml)});
    queued_bytes_ += size;
    if (Status flushed = flush(); !flushed) {
        fail_later(flushed.error());
        return {};
    }
    update_events();
    return {};
}

Status Connection::flush()
{
    std::size_t written = 0;
    while (!queue_.empty()) {
        Outgoing& out = queue_.front();
        if (!out.header_sent) {
            // The header travels alone in its record (docs/protocol.md 2.3).
            auto sent = session_->send_record(out.frame.header.data(), out.frame.header.size());
            if (!sent) return sent.error();
            if (*sent == 0) return {};
            if (*sent != out.frame.header.size()) {
                // Only a record size limit below 40 bytes could split it, and TLS forbids
                // limits below 64; a peer claiming one is broken.
                return make_error(
                    kDomain, -EPROTO,
                    "peer " + peer_address_ + " accepts TLS records too small for a frame header");
            }
            out.header_sent = true;
        }
        const std::string& payload = out.frame.payload;
        while (out.payload_sent < payload.size()) {
            // The rest goes on the next wake-up (the socket is still writable, so G_IO_OUT
            // comes back at once); other sources run in between.
            if (written >= limits_.write_budget_per_wakeup) return {};
            // Same offset after a would-block, hence the same bytes: what GnuTLS requires.
            const std::size_t chunk = std::min(tls::kMaxRecordSize, payload.size() - out.payload_sent);
            auto sent = session_->send_record(payload.data() + out.payload_sent, chunk);
            if (!sent) return sent.error();
            if (*sent == 0) return {};
            out.payload_sent += *sent;
            written += *sent;
        }
        queued_bytes_ -= wire::kHeaderSize + payload.size();
        queue_.pop_front();
    }
    return {};
}

void Connection::update_events()
{
    if (closed_ || !fd_) {
        watch_.reset();
        return;
    }
    unsigned events = 0;
    if (started_ && !paused_) events |= G_IO_IN;
    if (!queue_.empty() || (session_ && session_->send_blocked()) || read_wants_write_) events |= G_IO_OUT;
    // Before start() a hang-up would be reported on every iteration with nobody to read
    // it; stop watching until start() (or until there is something to send).
    // The same while paused.
    const bool reading = started_ && !paused_;
    if (!reading && hup_seen_ && (events & G_IO_OUT) == 0) events = 0;
    if (events == 0) {
        // G_IO_HUP and G_IO_ERR are reported even for an empty mask: no watch at all.
        if (!reading)
            watch_.reset();
        else
            watch_.set_events(GIOCondition(0));
        return;
    }
    if (!watch_.active()) {
        watch_ = FdWatch(context_, fd_.get(), GIOCondition(events),
                         [this](GIOCondition happened) { on_io(happened); });
    } else {
        watch_.set_events(GIOCondition(events));
    }
}

void Connection::on_io(GIOCondition happened)
{
    const Lifetime::Watch alive = lifetime_.watch();
    if (closed_) return;
    if ((happened & (G_IO_HUP | G_IO_ERR)) != 0 && (!started_ || paused_)) hup_seen_ = true;
    if ((happened & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) != 0 && (!queue_.empty() || session_->send_blocked())) {
        if (Status flushed = flush(); !flushed) {
            fail(flushed.error());
            return;
        }
    }
    const bool readable = (happened & (G_IO_IN | G_IO_HUP | G_IO_ERR)) != 0;
    const bool read_unblocked = read_wants_write_ && (happened & G_IO_OUT) != 0;
    if (started_ && !paused_ && (readable || read_unblocked)) {
        if (!read_available()) return;
    }
    if (alive && !closed_) update_events();
}

bool Connection::read_available()
{
    if (closed_ || !started_ || paused_) return !closed_;
    std::array<char, tls::kMaxRecordSize> buffer;
    std::size_t total = 0;
    read_wants_write_ = false;
    const gint64 started = g_get_monotonic_time();
    const gint64 time_budget_us =
        std::chrono::duration_cast<std::chrono::microseconds>(limits_.read_time_per_wakeup).count();
    for (;;) {
        if (total > 0 &&
            (total >= limits_.read_budget_per_wakeup || g_get_monotonic_time() - started >= time_budget_us)) {
            // Yield to the rest of the loop; data may wait inside GnuTLS where the socket
            // would not wake us, so come back on our own.
            // Always a new idle: when this runs from the previous one, that one is still
            // "active" until its dispatch returns, and then gone.
            log_trace(log_cat, "read %zu bytes from %s, yielding", total, peer_address_.c_str());
            resume_ = add_idle(context_, [this] { (void)read_available(); });
            return true;
        }
        auto received = session_->recv(buffer.data(), buffer.size());
        if (!received) {
            std::string message = "receiving from " + peer_address_ + ": " + received.error().message;
            // As for a clean close below: a peer that died mid-message is worth telling apart.
            if (decoder_.buffered() > 0) message += " (in the middle of a message)";
            fail(make_error(received.error().domain, received.error().code, message));
            return false;
        }
        switch (received->kind) {
            case tls::TlsSession::Received::Kind::data:
                decoder_.feed(buffer.data(), received->size);
                total += received->size;
                if (!deliver_messages()) return false;
                if (paused_) {
                    update_events();
                    return true;
                }
                break;
            case tls::TlsSession::Received::Kind::closed: {
                std::string message = "peer " + peer_address_ + " closed the connection";
                if (decoder_.buffered() > 0) message += " in the middle of a message";
                fail(make_error(kDomain, -ENOTCONN, message));
                return false;
            }
            case tls::TlsSession::Received::Kind::would_block:
                if (low_latency_tcp_ && total > 0) ack_now(fd_.get());
                read_wants_write_ = session_->wants_write();
                update_events();
                return true;
        }
    }
}

bool Connection::deliver_messages()
{
    const Lifetime::Watch alive = lifetime_.watch();
    // A copy: the handler may destroy this Connection, and with it on_message_.
    MessageHandler handler = on_message_;
    CompressedHandler compressed = on_compressed_;
    while (!closed_ && !paused_) {
        auto next = decoder_.next_frame(compressed ? inflate_up_to_ : SIZE_MAX);
        if (!next) {
            fail(make_error(next.error().domain, next.error().code,
                            "bad message from " + peer_address_ + ": " + next.error().message));
            return false;
        }
        if (!next->has_value()) return true;
        if (auto* text = std::get_if<std::string>(&**next)) {
            if (handler) handler(std::move(*text));
        } else {
            compressed(std::get<wire::CompressedPayload>(std::move(**next)));
        }
        if (!alive) return false;
    }
    return !closed_;
}

void Connection::fail(Error reason)
{
    if (failure_ || close_reported_) return;
    log_debug(log_cat, "connection with %s failed: %s", peer_address_.c_str(), reason.describe().c_str());
    closed_ = true;
    release_socket();
    failure_ = std::move(reason);
    if (!started_) return;  // start() reports it
    report_failure();
}

void Connection::fail_later(Error reason)
{
    if (failure_ || close_reported_) return;
    log_debug(log_cat, "connection with %s failed: %s", peer_address_.c_str(), reason.describe().c_str());
    closed_ = true;
    release_socket();
    failure_ = std::move(reason);
    if (started_) report_ = add_idle(context_, [this] { report_failure(); });
}

void Connection::report_failure()
{
    if (close_reported_ || !failure_) return;
    close_reported_ = true;
    // Local copies: the handler may destroy this Connection.
    CloseHandler handler = std::move(on_close_);
    on_message_ = nullptr;
    Error reason = *failure_;
    if (handler) handler(reason);
}

void Connection::release_socket()
{
    watch_.reset();
    resume_.reset();
    session_.reset();
    fd_.reset();
    queue_.clear();
    queued_bytes_ = 0;
}

void Connection::close()
{
    report_.reset();
    close_reported_ = true;
    if (closed_) return;
    closed_ = true;
    if (session_) {
        // Best effort, never waiting: what the socket takes now, then close_notify.
        Status flushed = flush();
        if (flushed && !session_->send_blocked()) (void)session_->bye();
    }
    log_debug(log_cat, "closing connection with %s", peer_address_.c_str());
    release_socket();
    on_message_ = nullptr;
    on_close_ = nullptr;
}

std::string Connection::tls_description() const
{
    return session_ ? session_->description() : std::string();
}

}  // namespace outpost::io
