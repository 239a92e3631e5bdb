#include <catch.hpp>

#include <gnutls/gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "tls/context.hpp"
#include "tls/session.hpp"
#include "tls_test_support.hpp"

using namespace outpost;
using namespace outpost::tls;
using outpost::test::TempDir;
using outpost::test::write_file;

namespace {

struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0); }
    ~SocketPair()
    {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
};

struct HandshakeOutcome {
    Status server;
    Status client;
};

// Drives both sides until both finished or failed (bounded at 10 s). A side that fails
// shuts its socket down, as a real peer would close it.
HandshakeOutcome handshake(TlsSession& server, TlsSession& client, SocketPair& pair)
{
    HandshakeOutcome out;
    bool server_open = true, client_open = true;
    bool server_done = false, client_done = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((server_open && !server_done) || (client_open && !client_done)) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto step = [](TlsSession& s, bool& open, bool& done, Status& status, int fd) {
            if (!open || done) return;
            auto r = s.handshake_step();
            if (!r) {
                status = r.error();
                open = false;
                ::shutdown(fd, SHUT_RDWR);
            } else if (*r == TlsSession::Progress::done) {
                done = true;
            }
        };
        step(server, server_open, server_done, out.server, pair.fds[0]);
        step(client, client_open, client_done, out.client, pair.fds[1]);
        pollfd pfds[2] = {{pair.fds[0], POLLIN, 0}, {pair.fds[1], POLLIN, 0}};
        ::poll(pfds, 2, 20);
    }
    return out;
}

std::string receive_exactly(TlsSession& session, int fd, std::size_t size)
{
    std::string out;
    char buffer[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < size) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto r = session.recv(buffer, sizeof(buffer));
        REQUIRE(r.ok());
        if (r->kind == TlsSession::Received::Kind::data) {
            out.append(buffer, r->size);
        } else {
            REQUIRE(r->kind == TlsSession::Received::Kind::would_block);
            pollfd pfd{fd, POLLIN, 0};
            ::poll(&pfd, 1, 20);
        }
    }
    return out;
}

void send_all(TlsSession& session, int fd, const std::string& data)
{
    std::size_t offset = 0;
    while (offset < data.size()) {
        std::size_t chunk = std::min(kMaxRecordSize, data.size() - offset);
        auto sent = session.send_record(data.data() + offset, chunk);
        REQUIRE(sent.ok());
        if (*sent == 0) {
            pollfd pfd{fd, POLLOUT, 0};
            ::poll(&pfd, 1, 20);
            continue;
        }
        offset += *sent;
    }
}

std::shared_ptr<AuthkeyStore> store_with_key(const TempDir& dir, const std::string& bytes)
{
    write_file(dir.file("authkey"), bytes);
    AuthkeySearch search;
    search.configured = dir.file("authkey");
    search.default_path = dir.file("no-default");
    search.legacy_path = dir.file("no-legacy");
    return std::make_shared<AuthkeyStore>(search);
}

// After a handshake the client believed complete: false if the server dropped it.
bool client_can_read(TlsSession& client, int fd)
{
    char buffer[64];
    for (int i = 0; i < 200; ++i) {
        auto r = client.recv(buffer, sizeof(buffer));
        if (!r || r->kind == TlsSession::Received::Kind::closed) return false;
        if (r->kind == TlsSession::Received::Kind::data) return true;
        pollfd pfd{fd, POLLIN, 0};
        ::poll(&pfd, 1, 20);
    }
    return true;
}

// A 2-byte-per-direction round trip proving both sides can talk.
void check_round_trip(TlsSession& server, TlsSession& client, SocketPair& pair)
{
    send_all(client, pair.fds[1], "ping");
    CHECK(receive_exactly(server, pair.fds[0], 4) == "ping");
    send_all(server, pair.fds[0], "pong");
    CHECK(receive_exactly(client, pair.fds[1], 4) == "pong");
}

}  // namespace

TEST_CASE("PSK loopback with a 4096-byte random key", "[tls][psk]")
{
    TempDir dir;
    const std::string key = outpost::test::random_bytes(4096);
    auto server_ctx = TlsContext::psk_server(store_with_key(dir, key));
    REQUIRE(server_ctx.ok());
    CHECK(server_ctx->priority_string() == "NORMAL:+DHE-PSK:+PSK");
    CHECK(server_ctx->role() == Role::server);
    auto client_ctx = TlsContext::psk_client(Authkey(key));
    REQUIRE(client_ctx.ok());
    CHECK(client_ctx->role() == Role::client);

    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    REQUIRE(server.ok());
    REQUIRE(client.ok());
    auto outcome = handshake(**server, **client, pair);
    REQUIRE(outcome.server.ok());
    REQUIRE(outcome.client.ok());
    CHECK(gnutls_protocol_get_version((*server)->native()) == GNUTLS_TLS1_3);
    CHECK((*server)->description().find("TLS1.3") != std::string::npos);
    check_round_trip(**server, **client, pair);

    // Sessions keep the credentials alive even after the contexts are gone.
    server_ctx = Error{};
    client_ctx = Error{};
    check_round_trip(**server, **client, pair);

    // Large data in 16 KiB records.
    const std::string big = outpost::test::random_bytes(200000);
    send_all(**client, pair.fds[1], big);
    CHECK(receive_exactly(**server, pair.fds[0], big.size()) == big);

    // Orderly close: the peer sees `closed`.
    auto bye = (*client)->bye();
    REQUIRE(bye.ok());
    CHECK(*bye);
    char buffer[16];
    auto r = (*server)->recv(buffer, sizeof(buffer));
    for (int i = 0; i < 100 && r.ok() && r->kind == TlsSession::Received::Kind::would_block; ++i) {
        pollfd pfd{pair.fds[0], POLLIN, 0};
        ::poll(&pfd, 1, 20);
        r = (*server)->recv(buffer, sizeof(buffer));
    }
    REQUIRE(r.ok());
    CHECK(r->kind == TlsSession::Received::Kind::closed);
}

TEST_CASE("PSK client with a key store", "[tls][psk]")
{
    TempDir dir;
    const std::string key = outpost::test::random_bytes(4096);
    auto store = store_with_key(dir, key);
    auto server_ctx = TlsContext::psk_server(store);
    auto client_ctx = TlsContext::psk_client(store);
    REQUIRE(server_ctx.ok());
    REQUIRE(client_ctx.ok());
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE(outcome.server.ok());
    REQUIRE(outcome.client.ok());
    check_round_trip(**server, **client, pair);
}

TEST_CASE("a wrong PSK is rejected on both sides", "[tls][psk]")
{
    TempDir dir;
    auto server_ctx = TlsContext::psk_server(store_with_key(dir, outpost::test::random_bytes(4096)));
    auto client_ctx = TlsContext::psk_client(Authkey(outpost::test::random_bytes(4096)));
    REQUIRE(server_ctx.ok());
    REQUIRE(client_ctx.ok());
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE_FALSE(outcome.server.ok());
    REQUIRE_FALSE(outcome.client.ok());
    CHECK(outcome.server.error().code == -EKEYREJECTED);
    CHECK(outcome.client.error().code == -EKEYREJECTED);
    CHECK(outcome.server.error().domain == "tls");
    CHECK(outcome.client.error().message.find("TLS handshake failed") != std::string::npos);
}

TEST_CASE("a PSK server without a key fails the handshake with ENOKEY", "[tls][psk]")
{
    TempDir dir;
    AuthkeySearch search;
    search.configured = dir.file("missing");
    search.default_path = dir.file("missing2");
    search.legacy_path = dir.file("missing3");
    auto server_ctx = TlsContext::psk_server(std::make_shared<AuthkeyStore>(search));
    REQUIRE(server_ctx.ok());  // a missing key at start-up is not fatal
    auto client_ctx = TlsContext::psk_client(Authkey(std::string_view("k")));
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE_FALSE(outcome.server.ok());
    CHECK(outcome.server.error().code == -ENOKEY);
    CHECK(outcome.server.error().message.find(dir.file("missing")) != std::string::npos);
    CHECK_FALSE(outcome.client.ok());

    CHECK(TlsContext::psk_client(Authkey()).error().code == -ENOKEY);
    CHECK_FALSE(TlsContext::psk_server(nullptr).ok());
}

TEST_CASE("the PSK server accepts any identity", "[tls][psk]")
{
    TempDir dir;
    const std::string key = outpost::test::random_bytes(4096);
    auto server_ctx = TlsContext::psk_server(store_with_key(dir, key));
    REQUIRE(server_ctx.ok());

    // A raw GnuTLS client presenting identity "somebody" rather than "lrmd".
    gnutls_psk_client_credentials_t creds;
    REQUIRE(gnutls_psk_allocate_client_credentials(&creds) == 0);
    gnutls_datum_t datum{reinterpret_cast<unsigned char*>(const_cast<char*>(key.data())),
                         static_cast<unsigned>(key.size())};
    REQUIRE(gnutls_psk_set_client_credentials(creds, "somebody", &datum, GNUTLS_PSK_KEY_RAW) == 0);
    SocketPair pair;
    gnutls_session_t raw;
    REQUIRE(gnutls_init(&raw, GNUTLS_CLIENT | GNUTLS_NONBLOCK) == 0);
    REQUIRE(gnutls_priority_set_direct(raw, "NORMAL:+DHE-PSK:+PSK", nullptr) == 0);
    REQUIRE(gnutls_credentials_set(raw, GNUTLS_CRD_PSK, creds) == 0);
    gnutls_transport_set_int(raw, pair.fds[1]);

    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    REQUIRE(server.ok());
    bool server_done = false, client_done = false;
    for (int i = 0; i < 500 && !(server_done && client_done); ++i) {
        if (!server_done) {
            auto r = (*server)->handshake_step();
            REQUIRE(r.ok());
            server_done = *r == TlsSession::Progress::done;
        }
        if (!client_done) {
            int rc = gnutls_handshake(raw);
            REQUIRE((rc == 0 || rc == GNUTLS_E_AGAIN));
            client_done = rc == 0;
        }
        pollfd pfds[2] = {{pair.fds[0], POLLIN, 0}, {pair.fds[1], POLLIN, 0}};
        ::poll(pfds, 2, 10);
    }
    CHECK(server_done);
    CHECK(client_done);
    gnutls_deinit(raw);
    gnutls_psk_free_client_credentials(creds);
}

TEST_CASE("TLS 1.2 only: DHE-PSK with a 2048-bit group, client minimum DH size honoured", "[tls][psk]")
{
    TempDir dir;
    const std::string key = outpost::test::random_bytes(4096);
    TlsSettings tls12;
    tls12.priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-PSK";
    auto server_ctx = TlsContext::psk_server(store_with_key(dir, key), TlsSettings{});
    auto client_ctx = TlsContext::psk_client(Authkey(key), tls12);
    REQUIRE(server_ctx.ok());
    REQUIRE(client_ctx.ok());
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE(outcome.server.ok());
    REQUIRE(outcome.client.ok());
    CHECK(gnutls_protocol_get_version((*client)->native()) == GNUTLS_TLS1_2);
    CHECK(gnutls_kx_get((*client)->native()) == GNUTLS_KX_DHE_PSK);
    CHECK(gnutls_dh_get_prime_bits((*client)->native()) == 2048);
    check_round_trip(**server, **client, pair);

    // A client that insists on a 3072-bit prime refuses the 2048-bit server...
    tls12.dh_min_bits = 3072;
    tls12.priorities =
        "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-PSK:-GROUP-ALL";  // no RFC 7919 negotiation
    auto picky_ctx = TlsContext::psk_client(Authkey(key), tls12);
    REQUIRE(picky_ctx.ok());
    {
        SocketPair p2;
        auto s2 = TlsSession::create(*server_ctx, p2.fds[0]);
        auto c2 = TlsSession::create(*picky_ctx, p2.fds[1]);
        auto o2 = handshake(**s2, **c2, p2);
        CHECK_FALSE(o2.client.ok());
    }
    // ...and accepts a server whose PCMK_dh_min_bits raised its prime to 3072 bits.
    TlsSettings bigger;
    bigger.dh_min_bits = 3072;
    CHECK(bigger.server_dh_bits() == 3072);
    auto server3072 = TlsContext::psk_server(store_with_key(dir, key), bigger);
    REQUIRE(server3072.ok());
    {
        SocketPair p3;
        auto s3 = TlsSession::create(*server3072, p3.fds[0]);
        auto c3 = TlsSession::create(*picky_ctx, p3.fds[1]);
        auto o3 = handshake(**s3, **c3, p3);
        REQUIRE(o3.client.ok());
        REQUIRE(o3.server.ok());
        CHECK(gnutls_dh_get_prime_bits((*c3)->native()) == 3072);
    }
}

TEST_CASE("TLS 1.2 plain PSK also works; ECDHE-PSK only is refused like 2.1.5", "[tls][psk]")
{
    TempDir dir;
    const std::string key = outpost::test::random_bytes(256);
    auto server_ctx = TlsContext::psk_server(store_with_key(dir, key));
    REQUIRE(server_ctx.ok());
    TlsSettings plain;
    plain.priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK";
    auto client_ctx = TlsContext::psk_client(Authkey(key), plain);
    REQUIRE(client_ctx.ok());
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE(outcome.server.ok());
    REQUIRE(outcome.client.ok());
    CHECK(gnutls_kx_get((*client)->native()) == GNUTLS_KX_PSK);
}

TEST_CASE("DH size clamping and settings from the environment", "[tls][settings]")
{
    TlsSettings s;
    CHECK(s.server_dh_bits() == 2048);
    s.dh_max_bits = 1024;
    CHECK(s.server_dh_bits() == 1024);
    s.dh_min_bits = 3072;  // max < min: max ignored
    CHECK(s.server_dh_bits() == 3072);
    s.dh_max_bits = 4096;
    CHECK(s.server_dh_bits() == 3072);
    s.dh_min_bits = 0;
    CHECK(s.server_dh_bits() == 2048);

    for (const char* name :
         {kPrioritiesEnv, kDhMinBitsEnv, kDhMaxBitsEnv, kCertFileEnv, kKeyFileEnv, kCaFileEnv, kCrlFileEnv})
        ::unsetenv(name);
    auto defaults = TlsSettings::from_environment();
    REQUIRE(defaults.ok());
    CHECK(defaults->kind == CredentialKind::psk);
    CHECK(defaults->priority_string() == "NORMAL:+DHE-PSK:+PSK");
    CHECK(defaults->notes.empty());

    ::setenv(kPrioritiesEnv, "SECURE256", 1);
    ::setenv(kDhMinBitsEnv, "3000", 1);
    ::setenv(kDhMaxBitsEnv, "1000", 1);
    ::setenv(kCertFileEnv, "/c.pem", 1);
    auto custom = TlsSettings::from_environment();
    REQUIRE(custom.ok());
    CHECK(custom->priority_string() == "SECURE256:+DHE-PSK:+PSK");
    CHECK(custom->dh_min_bits == 3000);
    CHECK(custom->server_dh_bits() == 3000);
    CHECK(custom->kind == CredentialKind::psk);  // only one of the three certificate variables
    CHECK(custom->notes.size() == 2);

    ::setenv(kKeyFileEnv, "/k.pem", 1);
    ::setenv(kCaFileEnv, "/ca.pem", 1);
    ::setenv(kCrlFileEnv, "/crl.pem", 1);
    auto x509 = TlsSettings::from_environment();
    REQUIRE(x509.ok());
    CHECK(x509->kind == CredentialKind::x509);
    CHECK(x509->priority_string() == "SECURE256");
    CHECK(x509->x509.cert_file == "/c.pem");
    CHECK(x509->x509.key_file == "/k.pem");
    CHECK(x509->x509.ca_file == "/ca.pem");
    CHECK(x509->x509.crl_file == "/crl.pem");

    ::setenv(kDhMinBitsEnv, "lots", 1);
    auto bad = TlsSettings::from_environment();
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find(kDhMinBitsEnv) != std::string::npos);
    for (const char* name :
         {kPrioritiesEnv, kDhMinBitsEnv, kDhMaxBitsEnv, kCertFileEnv, kKeyFileEnv, kCaFileEnv, kCrlFileEnv})
        ::unsetenv(name);
}

TEST_CASE("an invalid priority string is refused at creation", "[tls][settings]")
{
    TlsSettings s;
    s.priorities = "NORMAL:+NO-SUCH-THING";
    auto ctx = TlsContext::psk_client(Authkey(std::string_view("k")), s);
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find("priority") != std::string::npos);
    CHECK(ctx.error().message.find("NO-SUCH-THING") != std::string::npos);
}

namespace {

TlsSettings x509_settings(const std::string& cert, const std::string& key, const std::string& ca)
{
    TlsSettings s;
    s.kind = CredentialKind::x509;
    s.x509 = X509Files{cert, key, ca, ""};
    return s;
}

}  // namespace

TEST_CASE("X.509 loopback: success, wrong CA rejected", "[tls][x509]")
{
    TempDir dir;
    auto certs = outpost::test::make_certificates(dir, "a");
    auto server_ctx =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.server_key, certs.ca_cert));
    REQUIRE(server_ctx.ok());
    CHECK(server_ctx->priority_string() == "NORMAL");
    CHECK(server_ctx->kind() == CredentialKind::x509);
    CHECK(server_ctx->warnings().empty());
    auto client_ctx =
        TlsContext::x509_client(x509_settings(certs.client_cert, certs.client_key, certs.ca_cert));
    REQUIRE(client_ctx.ok());

    {
        SocketPair pair;
        auto server = TlsSession::create(*server_ctx, pair.fds[0]);
        auto client = TlsSession::create(*client_ctx, pair.fds[1]);
        auto outcome = handshake(**server, **client, pair);
        REQUIRE(outcome.server.ok());
        REQUIRE(outcome.client.ok());
        // The server required and got the client's certificate.
        unsigned int count = 0;
        CHECK(gnutls_certificate_get_peers((*server)->native(), &count) != nullptr);
        CHECK(count >= 1);
        check_round_trip(**server, **client, pair);
    }

    // A client whose certificate comes from another CA: the server rejects it.
    auto other = outpost::test::make_certificates(dir, "b");
    auto stranger =
        TlsContext::x509_client(x509_settings(other.client_cert, other.client_key, certs.ca_cert));
    REQUIRE(stranger.ok());
    {
        SocketPair pair;
        auto server = TlsSession::create(*server_ctx, pair.fds[0]);
        auto client = TlsSession::create(*stranger, pair.fds[1]);
        auto outcome = handshake(**server, **client, pair);
        REQUIRE_FALSE(outcome.server.ok());
        CHECK(outcome.server.error().code == -EKEYREJECTED);
        // The client does not even offer a certificate the server's CA did not issue.
        CHECK(outcome.server.error().message.find("Certificate is required") != std::string::npos);
        // In TLS 1.3 the client finishes first; it then finds the connection dead.
        if (outcome.client.ok()) CHECK_FALSE(client_can_read(**client, pair.fds[1]));
    }
    // A client trusting another CA: it rejects our server.
    auto distrustful =
        TlsContext::x509_client(x509_settings(certs.client_cert, certs.client_key, other.ca_cert));
    REQUIRE(distrustful.ok());
    {
        SocketPair pair;
        auto server = TlsSession::create(*server_ctx, pair.fds[0]);
        auto client = TlsSession::create(*distrustful, pair.fds[1]);
        auto outcome = handshake(**server, **client, pair);
        REQUIRE_FALSE(outcome.client.ok());
        CHECK(outcome.client.error().message.find("peer certificate rejected") != std::string::npos);
        CHECK_FALSE(outcome.server.ok());
    }
}

TEST_CASE("X.509 server requires a client certificate", "[tls][x509]")
{
    TempDir dir;
    auto certs = outpost::test::make_certificates(dir, "r");
    auto server_ctx =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.server_key, certs.ca_cert));
    REQUIRE(server_ctx.ok());

    gnutls_certificate_credentials_t creds;
    REQUIRE(gnutls_certificate_allocate_credentials(&creds) == 0);
    REQUIRE(gnutls_certificate_set_x509_trust_file(creds, certs.ca_cert.c_str(), GNUTLS_X509_FMT_PEM) == 1);
    SocketPair pair;
    gnutls_session_t raw;
    REQUIRE(gnutls_init(&raw, GNUTLS_CLIENT | GNUTLS_NONBLOCK) == 0);
    REQUIRE(gnutls_set_default_priority(raw) == 0);
    REQUIRE(gnutls_credentials_set(raw, GNUTLS_CRD_CERTIFICATE, creds) == 0);
    gnutls_transport_set_int(raw, pair.fds[1]);
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    Status server_status;
    bool server_done = false;
    int client_rc = GNUTLS_E_AGAIN;
    for (int i = 0; i < 500 && server_status.ok() && !server_done; ++i) {
        auto r = (*server)->handshake_step();
        if (!r)
            server_status = r.error();
        else
            server_done = *r == TlsSession::Progress::done;
        if (client_rc == GNUTLS_E_AGAIN) client_rc = gnutls_handshake(raw);
        pollfd pfds[2] = {{pair.fds[0], POLLIN, 0}, {pair.fds[1], POLLIN, 0}};
        ::poll(pfds, 2, 10);
    }
    CHECK_FALSE(server_done);
    REQUIRE_FALSE(server_status.ok());
    CHECK(server_status.error().code == -EKEYREJECTED);
    gnutls_deinit(raw);
    gnutls_certificate_free_credentials(creds);
}

TEST_CASE("X.509 files are checked at creation", "[tls][x509]")
{
    TempDir dir;
    auto certs = outpost::test::make_certificates(dir, "f");

    auto missing =
        TlsContext::x509_server(x509_settings(dir.file("nope.pem"), certs.server_key, certs.ca_cert));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == -ENOENT);
    CHECK(missing.error().message.find("PCMK_cert_file") != std::string::npos);
    CHECK(missing.error().message.find("does not exist") != std::string::npos);

    write_file(dir.file("garbage.pem"), "not a certificate\n");
    auto bad_ca =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.server_key, dir.file("garbage.pem")));
    REQUIRE_FALSE(bad_ca.ok());
    CHECK(bad_ca.error().message.find("PCMK_ca_file") != std::string::npos);

    auto mismatch =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.client_key, certs.ca_cert));
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message.find("PCMK_key_file") != std::string::npos);

    write_file(dir.file("empty.pem"), "");
    auto empty =
        TlsContext::x509_client(x509_settings(certs.client_cert, dir.file("empty.pem"), certs.ca_cert));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message.find("empty") != std::string::npos);

    auto incomplete = TlsContext::x509_client(x509_settings(certs.client_cert, "", certs.ca_cert));
    REQUIRE_FALSE(incomplete.ok());

    auto with_missing_crl = x509_settings(certs.server_cert, certs.server_key, certs.ca_cert);
    with_missing_crl.x509.crl_file = dir.file("nocrl.pem");
    auto crl = TlsContext::x509_server(with_missing_crl);
    REQUIRE_FALSE(crl.ok());
    CHECK(crl.error().message.find("PCMK_crl_file") != std::string::npos);
}

TEST_CASE("a revoked client certificate is rejected when a CRL is configured", "[tls][x509]")
{
    TempDir dir;
    auto certs = outpost::test::make_certificates(dir, "v");
    write_file(dir.file("crl.tmpl"), "crl_next_update = 30\ncrl_number = 1\n");
    outpost::test::run_or_throw("certtool --generate-crl --load-ca-privkey " + certs.ca_key +
                                " --load-ca-certificate " + certs.ca_cert + " --load-certificate " +
                                certs.client_cert + " --template " + dir.file("crl.tmpl") + " --outfile " +
                                dir.file("crl.pem"));
    auto settings = x509_settings(certs.server_cert, certs.server_key, certs.ca_cert);
    settings.x509.crl_file = dir.file("crl.pem");
    auto server_ctx = TlsContext::x509_server(settings);
    REQUIRE(server_ctx.ok());
    auto client_ctx =
        TlsContext::x509_client(x509_settings(certs.client_cert, certs.client_key, certs.ca_cert));
    REQUIRE(client_ctx.ok());
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    auto outcome = handshake(**server, **client, pair);
    REQUIRE_FALSE(outcome.server.ok());
    CHECK(outcome.server.error().message.find("revoked") != std::string::npos);
}

TEST_CASE("a certificate expiring within 30 days gives a warning", "[tls][x509]")
{
    TempDir dir;
    const std::string ca = outpost::test::make_ca(dir, "w-ca");
    outpost::test::make_leaf(dir, ca, "w-server", true, 10);
    auto ctx = TlsContext::x509_server(
        x509_settings(dir.file("w-server.pem"), dir.file("w-server-key.pem"), dir.file("w-ca.pem")));
    REQUIRE(ctx.ok());
    REQUIRE(ctx->warnings().size() == 1);
    CHECK(ctx->warnings()[0].find("expires in") != std::string::npos);
}
