#include "tls/session.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cassert>
#include <cerrno>
#include <cstdint>

#include "util/log.hpp"

namespace outpost::tls {
namespace {

const log::Category log_cat{"tls.session"};
constexpr const char* kDomain = "tls";

int fd_of(gnutls_transport_ptr_t ptr)
{
    return static_cast<int>(reinterpret_cast<std::intptr_t>(ptr));
}

// Our own transport functions: MSG_NOSIGNAL so a vanished peer is an error, not SIGPIPE.
ssize_t push(gnutls_transport_ptr_t ptr, const void* data, size_t size) noexcept
{
    ssize_t n;
    do {
        n = ::send(fd_of(ptr), data, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t vec_push(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) noexcept
{
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(reinterpret_cast<const iovec*>(iov));
    message.msg_iovlen = static_cast<std::size_t>(iovcnt);
    ssize_t n;
    do {
        n = ::sendmsg(fd_of(ptr), &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t pull(gnutls_transport_ptr_t ptr, void* data, size_t size) noexcept
{
    ssize_t n;
    do {
        n = ::recv(fd_of(ptr), data, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::create(const TlsContext& context, int fd)
{
    if (fd < 0) return make_error(kDomain, -EBADF, "TLS session needs an open socket");
    std::unique_ptr<TlsSession> session(new TlsSession());
    session->fd_ = fd;
    session->context_ = context.share();
    unsigned int flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS;
    flags |= context.role() == Role::server ? GNUTLS_SERVER : GNUTLS_CLIENT;
    int rc = gnutls_init(&session->session_, flags);
    if (rc < 0) {
        session->session_ = nullptr;
        return make_error(kDomain, -ENOMEM, std::string("creating a TLS session: ") + gnutls_strerror(rc));
    }
    if (auto prepared = context.prepare_session(session->session_, session->link_); !prepared) {
        return prepared.error();
    }
    // The fd travels as the transport pointer (fd_of() reads it back); GnuTLS's own
    // int setter stores it that way without a cast here.
    gnutls_transport_set_int(session->session_, fd);
    gnutls_transport_set_push_function(session->session_, push);
    gnutls_transport_set_vec_push_function(session->session_, vec_push);
    gnutls_transport_set_pull_function(session->session_, pull);
    return session;
}

TlsSession::~TlsSession()
{
    if (session_ != nullptr) gnutls_deinit(session_);
}

Error TlsSession::handshake_error(int rc) const
{
    std::string message = std::string("TLS handshake failed: ") + gnutls_strerror(rc);
    int code = -EKEYREJECTED;
    if (link_.failure) {
        message += " (" + link_.failure->message + ")";
        if (link_.failure->code == -ENOKEY) code = -ENOKEY;
    } else if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        message +=
            std::string(" (peer sent alert: ") + gnutls_alert_get_name(gnutls_alert_get(session_)) + ")";
    }
    return make_error(kDomain, code, message);
}

Result<TlsSession::Progress> TlsSession::handshake_step()
{
    if (handshake_done_) return Progress::done;
    for (;;) {
        int rc = gnutls_handshake(session_);
        if (rc == GNUTLS_E_SUCCESS) {
            handshake_done_ = true;
            log_debug(log_cat, "TLS handshake done: %s", description().c_str());
            return Progress::done;
        }
        if (rc == GNUTLS_E_INTERRUPTED) continue;
        if (rc == GNUTLS_E_AGAIN) {
            return gnutls_record_get_direction(session_) == 1 ? Progress::want_write : Progress::want_read;
        }
        if (gnutls_error_is_fatal(rc) == 0) {
            // A warning alert during the handshake: keep going.
            log_debug(log_cat, "TLS handshake warning: %s", gnutls_strerror(rc));
            continue;
        }
        // Tell the peer why, if the error maps to an alert (best effort, never waits).
        if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED && rc != GNUTLS_E_PREMATURE_TERMINATION &&
            rc != GNUTLS_E_PUSH_ERROR && rc != GNUTLS_E_PULL_ERROR) {
            (void)gnutls_alert_send_appropriate(session_, rc);
        }
        return handshake_error(rc);
    }
}

Result<std::size_t> TlsSession::send_record(const void* data, std::size_t size)
{
    assert(handshake_done_);
    assert(size > 0 && size <= kMaxRecordSize);
    // A blocked record must be retried with the same bytes (GnuTLS requirement).
    assert(blocked_send_size_ == 0 || blocked_send_size_ == size);
    for (;;) {
        ssize_t rc = gnutls_record_send(session_, data, size);
        if (rc > 0) {
            blocked_send_size_ = 0;
            return static_cast<std::size_t>(rc);
        }
        if (rc == GNUTLS_E_INTERRUPTED) continue;
        if (rc == GNUTLS_E_AGAIN) {
            blocked_send_size_ = size;
            return std::size_t{0};
        }
        int err = static_cast<int>(rc);
        int code = err == GNUTLS_E_PUSH_ERROR ? -EPIPE : -EIO;
        return make_error(kDomain, code, std::string("TLS send failed: ") + gnutls_strerror(err));
    }
}

Result<TlsSession::Received> TlsSession::recv(void* buffer, std::size_t capacity)
{
    assert(handshake_done_);
    for (;;) {
        ssize_t rc = gnutls_record_recv(session_, buffer, capacity);
        if (rc > 0) return Received{Received::Kind::data, static_cast<std::size_t>(rc)};
        if (rc == 0) return Received{Received::Kind::closed, 0};
        int err = static_cast<int>(rc);
        if (err == GNUTLS_E_AGAIN) return Received{Received::Kind::would_block, 0};
        if (err == GNUTLS_E_INTERRUPTED) continue;
        if (err == GNUTLS_E_REHANDSHAKE) {
            // TLS 1.2 renegotiation request: not supported; ignoring it is allowed.
            log_debug(log_cat, "ignoring a TLS renegotiation request");
            continue;
        }
        if (gnutls_error_is_fatal(err) == 0) {
            log_debug(log_cat, "TLS receive warning: %s", gnutls_strerror(err));
            continue;
        }
        if (err == GNUTLS_E_PREMATURE_TERMINATION || err == GNUTLS_E_PULL_ERROR) {
            return make_error(
                kDomain, -ECONNRESET,
                std::string("connection ended without TLS close_notify: ") + gnutls_strerror(err));
        }
        return make_error(kDomain, -EPROTO, std::string("TLS receive failed: ") + gnutls_strerror(err));
    }
}

std::size_t TlsSession::pending() const
{
    return gnutls_record_check_pending(session_);
}

bool TlsSession::wants_write() const
{
    return gnutls_record_get_direction(session_) == 1;
}

Result<bool> TlsSession::bye()
{
    for (;;) {
        int rc = gnutls_bye(session_, GNUTLS_SHUT_WR);
        if (rc == GNUTLS_E_SUCCESS) return true;
        if (rc == GNUTLS_E_INTERRUPTED) continue;
        if (rc == GNUTLS_E_AGAIN) return false;
        return make_error(kDomain, -EIO, std::string("TLS close_notify failed: ") + gnutls_strerror(rc));
    }
}

std::string TlsSession::description() const
{
    return describe_session(session_);
}

}  // namespace outpost::tls
