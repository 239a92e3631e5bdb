// TLS credentials for one service (docs/protocol.md 1.3, X.509 per section 8). A TlsContext
// is made once per service (the agent's listener, a cluster-side client) by a factory that
// checks everything it can up front (priorities, certificate, key, CA and CRL files, DH
// parameters) and says what is wrong.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/authkey.hpp"
#include "util/result.hpp"

namespace outpost::tls {

enum class Role { server, client };
enum class CredentialKind { psk, x509 };

inline constexpr const char* kPskClientIdentity = "lrmd";
inline constexpr const char* kDefaultPriorities = "NORMAL";  // Debian 2.1.5's build-time default
inline constexpr const char* kPskPrioritySuffix = ":+DHE-PSK:+PSK";
// Server DH prime size before PCMK_dh_min_bits / PCMK_dh_max_bits clamp it (GnuTLS's
// "normal" security level, as Pacemaker uses).
inline constexpr unsigned kDefaultDhBits = 2048;
inline constexpr unsigned kMaxDhBits = 16384;
inline constexpr int kCertificateExpiryWarningDays = 30;

inline constexpr const char* kPrioritiesEnv = "PCMK_tls_priorities";
inline constexpr const char* kDhMinBitsEnv = "PCMK_dh_min_bits";
inline constexpr const char* kDhMaxBitsEnv = "PCMK_dh_max_bits";
inline constexpr const char* kCertFileEnv = "PCMK_cert_file";
inline constexpr const char* kKeyFileEnv = "PCMK_key_file";
inline constexpr const char* kCaFileEnv = "PCMK_ca_file";
inline constexpr const char* kCrlFileEnv = "PCMK_crl_file";

// PEM files; the key must be unencrypted. crl_file empty = no CRL.
struct X509Files {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    std::string crl_file;
};

struct TlsSettings {
    CredentialKind kind = CredentialKind::psk;
    std::string priorities = kDefaultPriorities;  // the base string, without the PSK suffix
    X509Files x509;                               // used when kind == x509
    unsigned dh_min_bits = 0;                     // 0 = not set
    unsigned dh_max_bits = 0;                     // 0 = not set
    // Things worth a warning that are not errors (e.g. only some certificate variables set,
    // PCMK_dh_max_bits ignored). The caller logs them.
    std::vector<std::string> notes;

    // Reads PCMK_tls_priorities, PCMK_dh_min_bits, PCMK_dh_max_bits, PCMK_cert_file,
    // PCMK_key_file, PCMK_ca_file, PCMK_crl_file; X.509 only when cert, key and CA are all
    // set. A non-numeric DH size is an error.
    static Result<TlsSettings> from_environment();

    // base + ":+DHE-PSK:+PSK" for PSK; the base alone for X.509.
    [[nodiscard]] std::string priority_string() const;
    // 2048 raised to dh_min_bits, then lowered to dh_max_bits (ignored when below the minimum).
    [[nodiscard]] unsigned server_dh_bits() const;
};

namespace detail {
struct ContextState;
// Per-session data that the GnuTLS credential callbacks reach through
// gnutls_session_get_ptr(). Owned by TlsSession; its address must stay stable.
struct SessionLink {
    const ContextState* context = nullptr;
    std::optional<Error> failure;  // why a callback refused (no key, bad peer certificate)
};
}  // namespace detail

// PSK is Pacemaker's mode: the server fetches the authkey from an AuthkeyStore when a
// handshake needs it and accepts any PSK identity; the client presents identity "lrmd" and the
// raw key bytes. X.509 (3.0 compatible) requires a client certificate on the server, and both
// sides verify the peer's chain against the configured CA without a hostname check.
// TlsContext is a handle: copies and the TlsSessions made from it share the same immutable
// credentials, which live until the last of them is gone.
class TlsContext {
public:
    // PSK server: the key comes from `keys` at handshake time (never cached here).
    static Result<TlsContext> psk_server(std::shared_ptr<AuthkeyStore> keys,
                                         const TlsSettings& settings = {});
    // PSK client with fixed key bytes (identity "lrmd"). An empty key is an error.
    static Result<TlsContext> psk_client(const Authkey& key, const TlsSettings& settings = {});
    // PSK client that fetches the key from `keys` at each handshake (identity "lrmd").
    static Result<TlsContext> psk_client(std::shared_ptr<AuthkeyStore> keys,
                                         const TlsSettings& settings = {});
    // X.509 server / client from settings.x509 (all of cert, key and CA required).
    static Result<TlsContext> x509_server(const TlsSettings& settings);
    static Result<TlsContext> x509_client(const TlsSettings& settings);
    // Picks PSK or X.509 according to settings.kind.
    static Result<TlsContext> server(const TlsSettings& settings, std::shared_ptr<AuthkeyStore> keys);
    static Result<TlsContext> client(const TlsSettings& settings, std::shared_ptr<AuthkeyStore> keys);

    // Copies are cheap handles to the same credentials (e.g. kept by a pending connect).
    TlsContext(const TlsContext&) = default;
    TlsContext& operator=(const TlsContext&) = default;
    TlsContext(TlsContext&&) noexcept = default;
    TlsContext& operator=(TlsContext&&) noexcept = default;
    ~TlsContext() = default;

    [[nodiscard]] Role role() const;
    [[nodiscard]] CredentialKind kind() const;
    [[nodiscard]] const std::string& priority_string() const;
    // Start-up warnings (e.g. "certificate ... expires in 12 days"); the caller logs them.
    [[nodiscard]] const std::vector<std::string>& warnings() const;

    // For TlsSession: attaches credentials, priorities and callbacks to a new session.
    // `link` must outlive the session.
    Status prepare_session(gnutls_session_t session, detail::SessionLink& link) const;
    [[nodiscard]] std::shared_ptr<const detail::ContextState> share() const { return state_; }

    // Used by the factories (ContextState is opaque outside context.cpp).
    explicit TlsContext(std::shared_ptr<detail::ContextState> state) : state_(std::move(state)) {}

private:
    std::shared_ptr<detail::ContextState> state_;
};

// "TLS1.3 / ECDHE-PSK / AES-256-GCM"-style summary of a finished handshake, for logs.
std::string describe_session(gnutls_session_t session);

}  // namespace outpost::tls
