// TlsSession: one TLS session over a non-blocking socket, server or client role (taken from
// the context). It owns the gnutls_session_t; the socket stays the caller's and must stay open
// while the session exists.
#pragma once

#include <gnutls/gnutls.h>

#include <cstddef>
#include <memory>
#include <string>

#include "tls/context.hpp"
#include "util/result.hpp"

namespace outpost::tls {

// Largest plaintext in one TLS record.
inline constexpr std::size_t kMaxRecordSize = 16384;

// Nothing here blocks or waits: each call does what the socket allows and says whether it
// needs the socket to become readable or writable. The caller (io::Connection) decides what
// goes in which record; send_record() puts the given bytes in exactly one TLS record, which is
// how the Pacemaker Remote writer rule (docs/protocol.md 2.3: header record, then payload
// record(s), never coalesced) is kept.
class TlsSession {
public:
    enum class Progress { done, want_read, want_write };

    struct Received {
        enum class Kind { data, would_block, closed } kind = Kind::would_block;
        std::size_t size = 0;  // bytes stored when kind == data
    };

    // A session in the context's role on `fd` (non-blocking, borrowed).
    static Result<std::unique_ptr<TlsSession>> create(const TlsContext& context, int fd);

    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;
    ~TlsSession();

    // Advances the handshake as far as the socket allows. Errors: domain "tls", code
    // -EKEYREJECTED for any handshake failure (wrong key, bad certificate, peer gone), or
    // -ENOKEY when no authkey could be read; the message says what happened.
    Result<Progress> handshake_step();
    [[nodiscard]] bool handshake_done() const { return handshake_done_; }

    // Sends `size` bytes (1..kMaxRecordSize) as one TLS record. Returns the bytes sent: all
    // of them, or fewer if the peer negotiated a smaller record size (send the rest as the
    // next record), or 0 if the socket is full; then call again with the same bytes once it
    // is writable (GnuTLS keeps the half-written record and requires that).
    Result<std::size_t> send_record(const void* data, std::size_t size);
    [[nodiscard]] bool send_blocked() const { return blocked_send_size_ != 0; }

    // Reads decrypted bytes. `closed` means the peer sent close_notify; a connection that
    // ended without it is an Error (-ECONNRESET).
    Result<Received> recv(void* buffer, std::size_t capacity);
    // Decrypted bytes GnuTLS already holds: readable without the socket becoming readable.
    [[nodiscard]] std::size_t pending() const;
    // After a would-block result: true if GnuTLS is waiting to write rather than to read.
    [[nodiscard]] bool wants_write() const;

    // One non-blocking attempt to send close_notify. true = sent, false = socket full.
    Result<bool> bye();

    [[nodiscard]] gnutls_session_t native() const { return session_; }
    // E.g. "(TLS1.3-PSK)-(ECDHE-SECP256R1)-(AES-256-GCM)".
    [[nodiscard]] std::string description() const;

private:
    TlsSession() = default;
    Error handshake_error(int rc) const;

    gnutls_session_t session_ = nullptr;
    std::shared_ptr<const detail::ContextState> context_;  // keeps the credentials alive
    detail::SessionLink link_;
    int fd_ = -1;
    bool handshake_done_ = false;
    std::size_t blocked_send_size_ = 0;
};

}  // namespace outpost::tls
