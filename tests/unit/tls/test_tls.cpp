#include <catch.hpp>

#include <gnutls/gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tls/context.hpp"
#include "tls/session.hpp"
#include "tls_test_support.hpp"

using namespace outpost;
using namespace outpost::tls;
using outpost::test::random_bytes;
using outpost::test::TempDir;

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
    const std::string key = random_bytes(4096);
    auto server_ctx = TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", key)));
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
    const std::string big = random_bytes(200000);
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
    const std::string key = random_bytes(4096);
    auto store = outpost::test::key_store(dir.write("authkey", key));
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
    auto server_ctx =
        TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", random_bytes(4096))));
    auto client_ctx = TlsContext::psk_client(Authkey(random_bytes(4096)));
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
    const std::string key = random_bytes(4096);
    auto server_ctx = TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", key)));
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
    const std::string key = random_bytes(4096);
    TlsSettings tls12;
    tls12.priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-PSK";
    auto server_ctx =
        TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", key)), TlsSettings{});
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
    auto server3072 = TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", key)), bigger);
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

TEST_CASE("TLS 1.2 plain PSK also works", "[tls][psk]")
{
    TempDir dir;
    const std::string key = random_bytes(256);
    auto server_ctx = TlsContext::psk_server(outpost::test::key_store(dir.write("authkey", key)));
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

namespace {

// A raw GnuTLS PSK client (no Outpost code on this side) with exactly the given priority
// string: TlsContext::psk_client always appends ":+DHE-PSK:+PSK", so it cannot offer a
// single key exchange on its own.
class RawPskClient {
public:
    RawPskClient(const std::string& key, const char* priorities)
    {
        REQUIRE(gnutls_psk_allocate_client_credentials(&credentials_) == 0);
        gnutls_datum_t datum{reinterpret_cast<unsigned char*>(const_cast<char*>(key.data())),
                             static_cast<unsigned>(key.size())};
        REQUIRE(gnutls_psk_set_client_credentials(credentials_, "lrmd", &datum, GNUTLS_PSK_KEY_RAW) == 0);
        REQUIRE(gnutls_init(&session_, GNUTLS_CLIENT | GNUTLS_NONBLOCK) == 0);
        REQUIRE(gnutls_priority_set_direct(session_, priorities, nullptr) == 0);
        REQUIRE(gnutls_credentials_set(session_, GNUTLS_CRD_PSK, credentials_) == 0);
    }
    RawPskClient(const RawPskClient&) = delete;
    RawPskClient& operator=(const RawPskClient&) = delete;
    ~RawPskClient()
    {
        gnutls_deinit(session_);
        gnutls_psk_free_client_credentials(credentials_);
    }

    struct Outcome {
        Status server;
        int client_rc = GNUTLS_E_AGAIN;  // 0 = handshake completed
    };
    // Handshakes with our `server` session over `pair` (this client on fds[1]).
    Outcome handshake_with(TlsSession& server, SocketPair& pair)
    {
        gnutls_transport_set_int(session_, pair.fds[1]);
        Outcome out;
        bool server_open = true, server_done = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (server_open && !server_done) {
                auto step = server.handshake_step();
                if (!step) {
                    out.server = step.error();
                    server_open = false;
                    ::shutdown(pair.fds[0], SHUT_RDWR);
                } else {
                    server_done = *step == TlsSession::Progress::done;
                }
            }
            if (out.client_rc == GNUTLS_E_AGAIN || out.client_rc == GNUTLS_E_INTERRUPTED) {
                out.client_rc = gnutls_handshake(session_);
            }
            const bool client_finished =
                out.client_rc != GNUTLS_E_AGAIN && out.client_rc != GNUTLS_E_INTERRUPTED;
            if (client_finished && (server_done || !server_open)) break;
            pollfd pfds[2] = {{pair.fds[0], POLLIN, 0}, {pair.fds[1], POLLIN, 0}};
            ::poll(pfds, 2, 10);
        }
        return out;
    }
    [[nodiscard]] gnutls_session_t native() const { return session_; }

private:
    gnutls_psk_client_credentials_t credentials_ = nullptr;
    gnutls_session_t session_ = nullptr;
};

}  // namespace

// docs/protocol.md 1.3 and 9: the 2.1.5 server's priorities ("NORMAL:+DHE-PSK:+PSK") hold no
// ECDHE-PSK, so a TLS 1.2 client offering only ECDHE-PSK fails the handshake. Ours uses
// the same string and must refuse it the same way.
TEST_CASE("a TLS 1.2 client offering only ECDHE-PSK is refused, as by 2.1.5", "[tls][psk]")
{
    TempDir dir;
    const std::string key = random_bytes(256);
    auto keys = outpost::test::key_store(dir.write("authkey", key));
    constexpr const char* kEcdhePskOnly = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-PSK";

    // The control: the same client completes against a server that enables ECDHE-PSK, so
    // the refusal below comes from our server's default priorities, not a broken client.
    TlsSettings with_ecdhe;
    with_ecdhe.priorities = "NORMAL:+ECDHE-PSK";
    auto permissive = TlsContext::psk_server(keys, with_ecdhe);
    REQUIRE(permissive.ok());
    {
        RawPskClient client(key, kEcdhePskOnly);
        SocketPair pair;
        auto server = TlsSession::create(*permissive, pair.fds[0]);
        REQUIRE(server.ok());
        auto outcome = client.handshake_with(**server, pair);
        INFO((outcome.server.ok() ? "" : outcome.server.error().describe()));
        REQUIRE(outcome.server.ok());
        REQUIRE(outcome.client_rc == 0);
        CHECK(gnutls_protocol_get_version(client.native()) == GNUTLS_TLS1_2);
        CHECK(gnutls_kx_get(client.native()) == GNUTLS_KX_ECDHE_PSK);
    }

    // Our server with its default settings refuses it, on both sides.
    auto server_ctx = TlsContext::psk_server(keys);
    REQUIRE(server_ctx.ok());
    RawPskClient client(key, kEcdhePskOnly);
    SocketPair pair;
    auto server = TlsSession::create(*server_ctx, pair.fds[0]);
    REQUIRE(server.ok());
    auto outcome = client.handshake_with(**server, pair);
    REQUIRE_FALSE(outcome.server.ok());
    INFO(outcome.server.error().describe());
    CHECK(outcome.server.error().code == -EKEYREJECTED);
    INFO(gnutls_strerror(outcome.client_rc));
    CHECK(outcome.client_rc < 0);
}

namespace {

// A raw GnuTLS PSK server (no Outpost code on this side) that records the PSK identity
// each client presents and answers with `key`.
class IdentityRecordingServer {
public:
    explicit IdentityRecordingServer(std::string key) : key_(std::move(key))
    {
        REQUIRE(gnutls_psk_allocate_server_credentials(&credentials_) == 0);
        gnutls_psk_set_server_credentials_function2(credentials_, &IdentityRecordingServer::lookup);
        // DHE-PSK in TLS 1.2 needs a group; the RFC 7919 ones need no generation.
        REQUIRE(gnutls_psk_set_server_known_dh_params(credentials_, GNUTLS_SEC_PARAM_MEDIUM) == 0);
        REQUIRE(gnutls_init(&session_, GNUTLS_SERVER | GNUTLS_NONBLOCK) == 0);
        REQUIRE(gnutls_priority_set_direct(session_, "NORMAL:+DHE-PSK:+PSK", nullptr) == 0);
        REQUIRE(gnutls_credentials_set(session_, GNUTLS_CRD_PSK, credentials_) == 0);
        gnutls_session_set_ptr(session_, this);
    }
    IdentityRecordingServer(const IdentityRecordingServer&) = delete;
    IdentityRecordingServer& operator=(const IdentityRecordingServer&) = delete;
    ~IdentityRecordingServer()
    {
        gnutls_deinit(session_);
        gnutls_psk_free_server_credentials(credentials_);
    }

    // Handshakes with `client` over `pair` (this server on fds[0]); true when both finished.
    bool handshake_with(TlsSession& client, SocketPair& pair)
    {
        gnutls_transport_set_int(session_, pair.fds[0]);
        bool server_done = false, client_done = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!(server_done && client_done) && std::chrono::steady_clock::now() < deadline) {
            if (!client_done) {
                auto step = client.handshake_step();
                if (!step) return false;
                client_done = *step == TlsSession::Progress::done;
            }
            if (!server_done) {
                const int rc = gnutls_handshake(session_);
                if (rc != 0 && rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) return false;
                server_done = rc == 0;
            }
            pollfd pfds[2] = {{pair.fds[0], POLLIN, 0}, {pair.fds[1], POLLIN, 0}};
            ::poll(pfds, 2, 10);
        }
        return server_done && client_done;
    }

    [[nodiscard]] const std::vector<std::string>& identities() const { return identities_; }
    [[nodiscard]] gnutls_session_t native() const { return session_; }

private:
    static int lookup(gnutls_session_t session, const gnutls_datum_t* identity, gnutls_datum_t* key) noexcept
    {
        auto* self = static_cast<IdentityRecordingServer*>(gnutls_session_get_ptr(session));
        try {
            self->identities_.emplace_back(reinterpret_cast<const char*>(identity->data), identity->size);
        } catch (...) {
            return -1;
        }
        key->data = static_cast<unsigned char*>(gnutls_malloc(self->key_.size()));
        if (key->data == nullptr) return -1;
        std::memcpy(key->data, self->key_.data(), self->key_.size());
        key->size = static_cast<unsigned>(self->key_.size());
        return 0;
    }

    std::string key_;
    gnutls_psk_server_credentials_t credentials_ = nullptr;
    gnutls_session_t session_ = nullptr;
    std::vector<std::string> identities_;
};

}  // namespace

// docs/protocol.md 1.2: the 2.1.5 client always presents PSK identity "lrmd" (seen on the wire);
// a server may look at it, so ours must present exactly that, whichever way it got its key
// and whichever TLS version is negotiated.
TEST_CASE("our PSK client presents the identity lrmd", "[tls][psk]")
{
    TempDir dir;
    const std::string key = random_bytes(4096);
    const bool from_store = GENERATE(false, true);
    const bool tls12 = GENERATE(false, true);
    INFO((from_store ? "key from an AuthkeyStore" : "key given directly")
         << ", " << (tls12 ? "TLS 1.2" : "TLS 1.3"));
    TlsSettings settings;
    if (tls12) settings.priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
    auto client_ctx =
        from_store ? TlsContext::psk_client(outpost::test::key_store(dir.write("authkey", key)), settings)
                   : TlsContext::psk_client(Authkey(key), settings);
    REQUIRE(client_ctx.ok());

    IdentityRecordingServer server(key);
    SocketPair pair;
    auto client = TlsSession::create(*client_ctx, pair.fds[1]);
    REQUIRE(client.ok());
    REQUIRE(server.handshake_with(**client, pair));
    CHECK(gnutls_protocol_get_version(server.native()) == (tls12 ? GNUTLS_TLS1_2 : GNUTLS_TLS1_3));
    REQUIRE_FALSE(server.identities().empty());
    for (const std::string& identity : server.identities())
        CHECK(identity == "lrmd");
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

    dir.write("garbage.pem", "not a certificate\n");
    auto bad_ca =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.server_key, dir.file("garbage.pem")));
    REQUIRE_FALSE(bad_ca.ok());
    CHECK(bad_ca.error().message.find("PCMK_ca_file") != std::string::npos);

    auto mismatch =
        TlsContext::x509_server(x509_settings(certs.server_cert, certs.client_key, certs.ca_cert));
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message.find("PCMK_key_file") != std::string::npos);

    dir.write("empty.pem", "");
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
    dir.write("crl.tmpl", "crl_next_update = 30\ncrl_number = 1\n");
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
