#include "tls/context.hpp"

#include <fcntl.h>
#include <gnutls/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "util/env.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::tls {

namespace detail {

// Everything a session borrows from its context. Sessions hold a shared_ptr to it, so the
// GnuTLS credentials outlive every session that uses them.
struct ContextState {
    Role role = Role::server;
    CredentialKind kind = CredentialKind::psk;
    std::string priority_string;
    std::vector<std::string> warnings;
    unsigned client_dh_min_bits = 0;
    std::shared_ptr<AuthkeyStore> keys;  // PSK with a key looked up at handshake time

    gnutls_priority_t priority = nullptr;
    gnutls_psk_server_credentials_t psk_server = nullptr;
    gnutls_psk_client_credentials_t psk_client = nullptr;
    gnutls_certificate_credentials_t certificate = nullptr;
    gnutls_dh_params_t dh_params = nullptr;

    ContextState() = default;
    ContextState(const ContextState&) = delete;
    ContextState& operator=(const ContextState&) = delete;
    ~ContextState()
    {
        // Credentials first: they point at the DH parameters.
        if (psk_server != nullptr) gnutls_psk_free_server_credentials(psk_server);
        if (psk_client != nullptr) gnutls_psk_free_client_credentials(psk_client);
        if (certificate != nullptr) gnutls_certificate_free_credentials(certificate);
        if (dh_params != nullptr) gnutls_dh_params_deinit(dh_params);
        if (priority != nullptr) gnutls_priority_deinit(priority);
    }
};

}  // namespace detail

namespace {

const log::Category log_cat{"tls.context"};
constexpr const char* kDomain = "tls";
// Certificates, keys, CA bundles and CRLs are small; a bigger file is a wrong path.
constexpr std::size_t kMaxPemFileSize = std::size_t{4} * 1024 * 1024;

using detail::ContextState;
using detail::SessionLink;

Error tls_error(int code, std::string message)
{
    return make_error(kDomain, code, std::move(message));
}

Error gnutls_failure(const std::string& what, int rc)
{
    return tls_error(-EINVAL, what + ": " + gnutls_strerror(rc));
}

// Owns file bytes that may be a private key: wiped on destruction.
class FileBytes {
public:
    FileBytes() = default;
    FileBytes(const FileBytes&) = delete;
    FileBytes& operator=(const FileBytes&) = delete;
    FileBytes(FileBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
    ~FileBytes()
    {
        if (!bytes_.empty()) explicit_bzero(bytes_.data(), bytes_.size());
    }
    std::string& bytes() { return bytes_; }
    gnutls_datum_t datum()
    {
        return gnutls_datum_t{reinterpret_cast<unsigned char*>(bytes_.data()),
                              static_cast<unsigned int>(bytes_.size())};
    }

private:
    std::string bytes_;
};

// Reads a PEM file named by an environment variable, with messages that name both.
Result<FileBytes> read_pem_file(const char* variable, const std::string& path)
{
    const std::string what = std::string(variable) + " " + log::quote(path);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT) return tls_error(-ENOENT, what + " does not exist");
        return tls_error(-err, what + " could not be opened: " + std::strerror(err));
    }
    FileBytes file;
    struct stat st {};
    Status status;
    if (::fstat(fd, &st) != 0) {
        status = tls_error(-errno, what + " could not be examined: " + std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        status = tls_error(-EINVAL, what + " is not a regular file");
    } else {
        char chunk[8192];
        for (;;) {
            ssize_t n = ::read(fd, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                status = tls_error(-errno, what + " could not be read: " + std::strerror(errno));
                break;
            }
            if (n == 0) break;
            if (file.bytes().size() + static_cast<std::size_t>(n) > kMaxPemFileSize) {
                status = tls_error(-EFBIG, what + " is too large for a PEM file");
                break;
            }
            file.bytes().append(chunk, static_cast<std::size_t>(n));
        }
        explicit_bzero(chunk, sizeof(chunk));
    }
    ::close(fd);
    if (!status) return status.error();
    if (file.bytes().empty()) return tls_error(-EINVAL, what + " is empty");
    return file;
}

// --- GnuTLS callbacks: no exception may escape them -----------------------------------------

SessionLink* link_of(gnutls_session_t session)
{
    return static_cast<SessionLink*>(gnutls_session_get_ptr(session));
}

bool copy_to_datum(const void* data, std::size_t size, gnutls_datum_t* out)
{
    out->data = static_cast<unsigned char*>(gnutls_malloc(size));
    if (out->data == nullptr) return false;
    std::memcpy(out->data, data, size);
    out->size = static_cast<unsigned int>(size);
    return true;
}

// Returns the authkey for a handshake, or records why there is none.
bool fetch_key(SessionLink* link, gnutls_datum_t* key)
{
    if (link == nullptr || link->context == nullptr || !link->context->keys) return false;
    auto fetched = link->context->keys->get();
    if (!fetched) {
        link->failure = fetched.error();
        return false;
    }
    return copy_to_datum(fetched->data(), fetched->size(), key);
}

int psk_server_key(gnutls_session_t session, const gnutls_datum_t* identity, gnutls_datum_t* key) noexcept
{
    return guarded(
        log_cat, "the PSK server key callback",
        [&] {
            // Any identity is accepted (2.1.5 behaviour); it is only logged.
            log_trace(log_cat, "PSK identity %s",
                      log::quote(
                          std::string_view(reinterpret_cast<const char*>(identity->data), identity->size), 64)
                          .c_str());
            return fetch_key(link_of(session), key) ? 0 : -1;
        },
        -1);
}

int psk_client_key(gnutls_session_t session, gnutls_datum_t* identity, gnutls_datum_t* key) noexcept
{
    return guarded(
        log_cat, "the PSK client key callback",
        [&] {
            if (!fetch_key(link_of(session), key)) return -1;
            if (!copy_to_datum(kPskClientIdentity, std::strlen(kPskClientIdentity), identity)) {
                gnutls_free(key->data);
                key->data = nullptr;
                return -1;
            }
            return 0;
        },
        -1);
}

// Verifies the peer's chain against the configured CA (and CRL); no hostname check.
int verify_peer_certificate(gnutls_session_t session) noexcept
{
    return guarded(
        log_cat, "the certificate verification callback",
        [&] {
            SessionLink* link = link_of(session);
            unsigned int status = 0;
            int rc = gnutls_certificate_verify_peers2(session, &status);
            std::string why;
            if (rc < 0) {
                why = gnutls_strerror(rc);
            } else if (status != 0) {
                gnutls_datum_t text{};
                if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
                    why.assign(reinterpret_cast<const char*>(text.data), text.size);
                    gnutls_free(text.data);
                } else {
                    why = "verification status " + std::to_string(status);
                }
            } else {
                return 0;
            }
            if (link != nullptr)
                link->failure = tls_error(-EKEYREJECTED, "peer certificate rejected: " + why);
            return -1;
        },
        -1);
}

// --- construction helpers ----------------------------------------------------------------

Result<std::shared_ptr<ContextState>> new_state(Role role, CredentialKind kind, const TlsSettings& settings)
{
    auto state = std::make_shared<ContextState>();
    state->role = role;
    state->kind = kind;
    TlsSettings effective = settings;
    effective.kind = kind;
    state->priority_string = effective.priority_string();
    const char* error_pos = nullptr;
    int rc = gnutls_priority_init(&state->priority, state->priority_string.c_str(), &error_pos);
    if (rc != GNUTLS_E_SUCCESS) {
        state->priority = nullptr;
        std::string message = "invalid TLS priority string " + log::quote(state->priority_string);
        if (error_pos != nullptr) message += " (at " + log::quote(error_pos, 40) + ")";
        return tls_error(-EINVAL, message + ": " + gnutls_strerror(rc));
    }
    for (const auto& note : settings.notes)
        state->warnings.push_back(note);
    return state;
}

// GnuTLS ships the RFC 7919 groups; using one is instant where generating a prime takes
// seconds, and every TLS 1.2 DHE-PSK client accepts them.
std::optional<gnutls_sec_param_t> known_dh_group(unsigned bits)
{
    switch (bits) {
        case 2048:
            return GNUTLS_SEC_PARAM_MEDIUM;  // ffdhe2048
        case 3072:
            return GNUTLS_SEC_PARAM_HIGH;  // ffdhe3072
        case 4096:
            return GNUTLS_SEC_PARAM_ULTRA;  // ffdhe4096
        case 8192:
            return GNUTLS_SEC_PARAM_FUTURE;  // ffdhe8192
        default:
            return std::nullopt;
    }
}

Status set_server_dh(ContextState& state, unsigned bits)
{
    if (auto group = known_dh_group(bits)) {
        int rc = gnutls_psk_set_server_known_dh_params(state.psk_server, *group);
        if (rc < 0) return gnutls_failure("setting " + std::to_string(bits) + "-bit DH parameters", rc);
        return {};
    }
    // An unusual size asked for by PCMK_dh_min_bits / PCMK_dh_max_bits: generate it once.
    log_debug(log_cat, "generating Diffie-Hellman parameters with a %u-bit prime", bits);
    int rc = gnutls_dh_params_init(&state.dh_params);
    if (rc < 0) {
        state.dh_params = nullptr;
        return gnutls_failure("allocating DH parameters", rc);
    }
    rc = gnutls_dh_params_generate2(state.dh_params, bits);
    if (rc < 0) return gnutls_failure("generating " + std::to_string(bits) + "-bit DH parameters", rc);
    gnutls_psk_set_server_dh_params(state.psk_server, state.dh_params);
    return {};
}

Result<TlsContext> make_psk_client(const TlsSettings& settings, const Authkey* key,
                                   std::shared_ptr<AuthkeyStore> keys);

std::string describe_days(double days)
{
    if (days < 0) return "expired " + std::to_string(static_cast<long>(-days)) + " days ago";
    return "expires in " + std::to_string(static_cast<long>(days)) + " days";
}

// Warns (not fails) when the local certificate expires soon, as Pacemaker 3.0 does.
void check_expiry(ContextState& state, const std::string& cert_file)
{
    gnutls_x509_crt_t* certs = nullptr;
    unsigned int count = 0;
    if (gnutls_certificate_get_x509_crt(state.certificate, 0, &certs, &count) < 0 || count == 0) return;
    const std::time_t expires = gnutls_x509_crt_get_expiration_time(certs[0]);
    for (unsigned int i = 0; i < count; ++i)
        gnutls_x509_crt_deinit(certs[i]);
    gnutls_free(certs);
    if (expires == static_cast<std::time_t>(-1)) return;
    const double days = std::difftime(expires, std::time(nullptr)) / 86400.0;
    if (days < kCertificateExpiryWarningDays) {
        state.warnings.push_back(std::string(kCertFileEnv) + " " + log::quote(cert_file) + ": certificate " +
                                 describe_days(days));
    }
}

Result<TlsContext> make_x509(Role role, const TlsSettings& settings);

}  // namespace

// --- TlsSettings ---------------------------------------------------------------------------

Result<TlsSettings> TlsSettings::from_environment()
{
    TlsSettings settings;
    if (auto priorities = env::get(kPrioritiesEnv); priorities && !priorities->empty()) {
        settings.priorities = *priorities;
    }
    for (auto [name, target] :
         {std::pair{kDhMinBitsEnv, &settings.dh_min_bits}, std::pair{kDhMaxBitsEnv, &settings.dh_max_bits}}) {
        auto text = env::get(name);
        if (!text || text->empty()) continue;
        auto bits = env::parse_integer(name, *text, 0, kMaxDhBits);
        if (!bits) return bits.error();
        *target = static_cast<unsigned>(*bits);
    }
    if (settings.dh_max_bits > 0 && settings.dh_max_bits < settings.dh_min_bits) {
        settings.notes.push_back(std::string("ignoring ") + kDhMaxBitsEnv + " (" +
                                 std::to_string(settings.dh_max_bits) + ") because it is less than " +
                                 kDhMinBitsEnv + " (" + std::to_string(settings.dh_min_bits) + ")");
    }

    auto cert = env::get(kCertFileEnv);
    auto key = env::get(kKeyFileEnv);
    auto ca = env::get(kCaFileEnv);
    auto set = [](const std::optional<std::string>& v) { return v && !v->empty(); };
    if (set(cert) && set(key) && set(ca)) {
        settings.kind = CredentialKind::x509;
        settings.x509.cert_file = *cert;
        settings.x509.key_file = *key;
        settings.x509.ca_file = *ca;
        if (auto crl = env::get(kCrlFileEnv); set(crl)) settings.x509.crl_file = *crl;
    } else if (set(cert) || set(key) || set(ca)) {
        settings.notes.push_back(std::string("using PSK: X.509 needs all of ") + kCertFileEnv + ", " +
                                 kKeyFileEnv + " and " + kCaFileEnv);
    }
    return settings;
}

std::string TlsSettings::priority_string() const
{
    return kind == CredentialKind::psk ? priorities + kPskPrioritySuffix : priorities;
}

unsigned TlsSettings::server_dh_bits() const
{
    unsigned bits = kDefaultDhBits;
    if (dh_min_bits > 0 && bits < dh_min_bits) bits = dh_min_bits;
    const bool max_usable = dh_max_bits > 0 && dh_max_bits >= dh_min_bits;
    if (max_usable && bits > dh_max_bits) bits = dh_max_bits;
    return bits;
}

// --- TlsContext ----------------------------------------------------------------------------

Result<TlsContext> TlsContext::psk_server(std::shared_ptr<AuthkeyStore> keys, const TlsSettings& settings)
{
    if (!keys) return tls_error(-EINVAL, "PSK server needs an authkey store");
    auto made = new_state(Role::server, CredentialKind::psk, settings);
    if (!made) return made.error();
    auto state = std::move(made).value();
    state->keys = std::move(keys);
    int rc = gnutls_psk_allocate_server_credentials(&state->psk_server);
    if (rc < 0) {
        state->psk_server = nullptr;
        return gnutls_failure("allocating PSK server credentials", rc);
    }
    gnutls_psk_set_server_credentials_function2(state->psk_server, psk_server_key);
    if (auto dh = set_server_dh(*state, settings.server_dh_bits()); !dh) return dh.error();
    return TlsContext(std::move(state));
}

Result<TlsContext> TlsContext::psk_client(const Authkey& key, const TlsSettings& settings)
{
    if (key.empty()) return tls_error(-ENOKEY, "PSK client needs a non-empty authkey");
    return make_psk_client(settings, &key, nullptr);
}

Result<TlsContext> TlsContext::psk_client(std::shared_ptr<AuthkeyStore> keys, const TlsSettings& settings)
{
    if (!keys) return tls_error(-EINVAL, "PSK client needs an authkey store");
    return make_psk_client(settings, nullptr, std::move(keys));
}

namespace {

Result<TlsContext> make_psk_client(const TlsSettings& settings, const Authkey* key,
                                   std::shared_ptr<AuthkeyStore> keys)
{
    auto made = new_state(Role::client, CredentialKind::psk, settings);
    if (!made) return made.error();
    auto state = std::move(made).value();
    state->client_dh_min_bits = settings.dh_min_bits;
    int rc = gnutls_psk_allocate_client_credentials(&state->psk_client);
    if (rc < 0) {
        state->psk_client = nullptr;
        return gnutls_failure("allocating PSK client credentials", rc);
    }
    if (key != nullptr) {
        gnutls_datum_t datum{const_cast<unsigned char*>(key->data()), static_cast<unsigned int>(key->size())};
        rc = gnutls_psk_set_client_credentials(state->psk_client, kPskClientIdentity, &datum,
                                               GNUTLS_PSK_KEY_RAW);
        if (rc < 0) return gnutls_failure("setting the PSK client key", rc);
    } else {
        state->keys = std::move(keys);
        gnutls_psk_set_client_credentials_function2(state->psk_client, psk_client_key);
    }
    return TlsContext(std::move(state));
}

}  // namespace

Result<TlsContext> TlsContext::x509_server(const TlsSettings& settings)
{
    return make_x509(Role::server, settings);
}
Result<TlsContext> TlsContext::x509_client(const TlsSettings& settings)
{
    return make_x509(Role::client, settings);
}

namespace {

Result<TlsContext> make_x509(Role role, const TlsSettings& settings)
{
    const X509Files& files = settings.x509;
    if (files.cert_file.empty() || files.key_file.empty() || files.ca_file.empty()) {
        return tls_error(-EINVAL, std::string("X.509 needs all of ") + kCertFileEnv + ", " + kKeyFileEnv +
                                      " and " + kCaFileEnv);
    }
    auto made = new_state(role, CredentialKind::x509, settings);
    if (!made) return made.error();
    auto state = std::move(made).value();
    state->client_dh_min_bits = role == Role::client ? settings.dh_min_bits : 0;

    auto ca = read_pem_file(kCaFileEnv, files.ca_file);
    if (!ca) return ca.error();
    auto cert = read_pem_file(kCertFileEnv, files.cert_file);
    if (!cert) return cert.error();
    auto key = read_pem_file(kKeyFileEnv, files.key_file);
    if (!key) return key.error();

    int rc = gnutls_certificate_allocate_credentials(&state->certificate);
    if (rc < 0) {
        state->certificate = nullptr;
        return gnutls_failure("allocating certificate credentials", rc);
    }
    gnutls_datum_t ca_datum = ca->datum();
    rc = gnutls_certificate_set_x509_trust_mem(state->certificate, &ca_datum, GNUTLS_X509_FMT_PEM);
    if (rc < 0) return gnutls_failure(std::string(kCaFileEnv) + " " + log::quote(files.ca_file), rc);
    if (rc == 0) {
        return tls_error(
            -EINVAL, std::string(kCaFileEnv) + " " + log::quote(files.ca_file) + " holds no PEM certificate");
    }
    if (!files.crl_file.empty()) {
        auto crl = read_pem_file(kCrlFileEnv, files.crl_file);
        if (!crl) return crl.error();
        gnutls_datum_t crl_datum = crl->datum();
        rc = gnutls_certificate_set_x509_crl_mem(state->certificate, &crl_datum, GNUTLS_X509_FMT_PEM);
        if (rc < 0) return gnutls_failure(std::string(kCrlFileEnv) + " " + log::quote(files.crl_file), rc);
    }
    gnutls_datum_t cert_datum = cert->datum();
    gnutls_datum_t key_datum = key->datum();
    rc = gnutls_certificate_set_x509_key_mem2(state->certificate, &cert_datum, &key_datum,
                                              GNUTLS_X509_FMT_PEM, nullptr, 0);
    if (rc < 0) {
        return gnutls_failure(std::string(kCertFileEnv) + " " + log::quote(files.cert_file) + " with " +
                                  kKeyFileEnv + " " + log::quote(files.key_file),
                              rc);
    }
    gnutls_certificate_set_verify_function(state->certificate, verify_peer_certificate);
    check_expiry(*state, files.cert_file);
    return TlsContext(std::move(state));
}

}  // namespace

Result<TlsContext> TlsContext::server(const TlsSettings& settings, std::shared_ptr<AuthkeyStore> keys)
{
    if (settings.kind == CredentialKind::x509) return x509_server(settings);
    return psk_server(std::move(keys), settings);
}

Result<TlsContext> TlsContext::client(const TlsSettings& settings, std::shared_ptr<AuthkeyStore> keys)
{
    if (settings.kind == CredentialKind::x509) return x509_client(settings);
    return psk_client(std::move(keys), settings);
}

Role TlsContext::role() const
{
    return state_->role;
}
CredentialKind TlsContext::kind() const
{
    return state_->kind;
}
const std::string& TlsContext::priority_string() const
{
    return state_->priority_string;
}
const std::vector<std::string>& TlsContext::warnings() const
{
    return state_->warnings;
}

Status TlsContext::prepare_session(gnutls_session_t session, detail::SessionLink& link) const
{
    link.context = state_.get();
    gnutls_session_set_ptr(session, &link);
    int rc = gnutls_priority_set(session, state_->priority);
    if (rc < 0) return gnutls_failure("setting TLS priorities", rc);
    if (state_->psk_server != nullptr) {
        rc = gnutls_credentials_set(session, GNUTLS_CRD_PSK, state_->psk_server);
    } else if (state_->psk_client != nullptr) {
        rc = gnutls_credentials_set(session, GNUTLS_CRD_PSK, state_->psk_client);
    } else {
        rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, state_->certificate);
        if (rc >= 0 && state_->role == Role::server) {
            gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        }
    }
    if (rc < 0) return gnutls_failure("attaching TLS credentials", rc);
    if (state_->client_dh_min_bits > 0) gnutls_dh_set_prime_bits(session, state_->client_dh_min_bits);
    return {};
}

std::string describe_session(gnutls_session_t session)
{
    char* desc = gnutls_session_get_desc(session);
    if (desc == nullptr) return "unknown";
    std::string text(desc);
    gnutls_free(desc);
    return text;
}

}  // namespace outpost::tls
