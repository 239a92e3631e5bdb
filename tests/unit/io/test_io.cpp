// Unit tests of common/io: real GnuTLS sessions over loopback TCP, a Listener and
// Connection::connect_async()/accept_async() on one GMainContext.
#include <catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "../tls/tls_test_support.hpp"
#include "io/connection.hpp"
#include "io/listener.hpp"
#include "io/offload.hpp"
#include "raw_peers.hpp"
#include "support/main_loop.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::io;
using namespace std::chrono_literals;
using outpost::test::ContextPtr;
using outpost::test::FullBacklog;
using outpost::test::loop_for;
using outpost::test::psk_client;
using outpost::test::psk_server;
using outpost::test::random_bytes;
using outpost::test::raw_tcp_connect;
using outpost::test::run_until;
using outpost::test::SilentPeer;
using outpost::test::TempDir;

namespace {

template <typename R>
void require_ok(const R& result)
{
    INFO((result.ok() ? std::string() : result.error().describe()));
    REQUIRE(result.ok());
}

// A Listener whose accepted sockets go through accept_async(); what comes out is kept.
struct Server {
    GMainContext* context;
    tls::TlsContext tls;
    AcceptOptions options;
    std::unique_ptr<Listener> listener;
    std::vector<std::unique_ptr<PendingConnection>> pending;
    std::vector<std::unique_ptr<Connection>> connections;
    std::vector<Error> errors;

    Server(GMainContext* ctx, tls::TlsContext credentials, AcceptOptions accept_options = {},
           const std::string& address = "127.0.0.1")
        : context(ctx), tls(std::move(credentials)), options(accept_options)
    {
        auto created = Listener::create(address, 0, context, [this](UniqueFd fd, std::string peer) {
            pending.push_back(Connection::accept_async(std::move(fd), std::move(peer), tls, context, options,
                                                       [this](Result<std::unique_ptr<Connection>> result) {
                                                           if (result) {
                                                               connections.push_back(
                                                                   std::move(result).value());
                                                           } else {
                                                               errors.push_back(result.error());
                                                           }
                                                       }));
        });
        require_ok(created);
        listener = std::move(created).value();
    }
    [[nodiscard]] std::uint16_t port() const { return listener->port(); }
};

// Messages and close reasons seen by one started Connection.
struct Inbox {
    std::vector<std::string> messages;
    std::vector<Error> closes;

    void start(Connection& connection)
    {
        connection.start([this](std::string xml) { messages.push_back(std::move(xml)); },
                         [this](const Error& reason) { closes.push_back(reason); });
    }
};

struct Outcome {
    bool done = false;
    std::unique_ptr<Connection> connection;
    std::optional<Error> error;
    std::thread::id thread;
    int calls = 0;

    void require_connected() const
    {
        INFO((error ? error->describe() : std::string()));
        REQUIRE(connection != nullptr);
    }
};

std::unique_ptr<PendingConnection> start_connect(GMainContext* context, const std::string& host,
                                                 std::uint16_t port, const tls::TlsContext& tls,
                                                 Outcome& outcome, ConnectOptions options = {})
{
    return Connection::connect_async(host, port, tls, context, options,
                                     [&outcome](Result<std::unique_ptr<Connection>> result) {
                                         ++outcome.calls;
                                         outcome.thread = std::this_thread::get_id();
                                         outcome.done = true;
                                         if (result.ok()) {
                                             outcome.connection = std::move(result).value();
                                         } else {
                                             outcome.error = result.error();
                                         }
                                     });
}

// Connects a client to `server` and waits for both ends.
std::unique_ptr<Connection> connect_pair(GMainContext* context, Server& server,
                                         const tls::TlsContext& client_tls, ConnectOptions options = {})
{
    Outcome outcome;
    auto pending = start_connect(context, "127.0.0.1", server.port(), client_tls, outcome, options);
    const std::size_t before = server.connections.size();
    REQUIRE(run_until(context, [&] { return outcome.done && server.connections.size() > before; }));
    outcome.require_connected();
    return std::move(outcome.connection);
}

std::string message_of_size(std::size_t payload_chars, char fill = 'x')
{
    // <m v="..."/> : 9 characters of markup.
    REQUIRE(payload_chars >= 9);
    return "<m v=\"" + std::string(payload_chars - 9, fill) + "\"/>";
}

std::uint32_t header_field(const std::string& header, std::size_t offset)
{
    std::uint32_t value = 0;
    std::memcpy(&value, header.data() + offset, sizeof(value));
    return value;
}

}  // namespace

TEST_CASE("PSK handshake and messages both ways", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client_tls = psk_client(key);

    Outcome outcome;
    auto pending = start_connect(context.get(), "127.0.0.1", server.port(), client_tls, outcome);
    CHECK(outcome.calls == 0);  // never from inside connect_async()
    CHECK(pending->describe() == "connecting to 127.0.0.1:" + std::to_string(server.port()));
    REQUIRE(run_until(context.get(), [&] { return outcome.done && !server.connections.empty(); }));
    outcome.require_connected();
    CHECK(pending->finished());
    CHECK(outcome.calls == 1);
    auto client = std::move(outcome.connection);
    Connection& served = *server.connections.front();
    CHECK(client->is_open());
    CHECK(client->peer_address() == "127.0.0.1");
    CHECK(served.peer_address() == "127.0.0.1");
    INFO(client->tls_description());
    CHECK(client->tls_description().find("TLS1.") != std::string::npos);

    // Sent before the server started reading: it waits, nothing is lost.
    require_ok(client->send("<hello from=\"client\"/>"));
    loop_for(context.get(), 50ms);
    Inbox server_inbox, client_inbox;
    server_inbox.start(served);
    client_inbox.start(*client);
    REQUIRE(run_until(context.get(), [&] { return !server_inbox.messages.empty(); }));
    CHECK(server_inbox.messages == std::vector<std::string>{"<hello from=\"client\"/>"});

    require_ok(served.send("<reply to=\"client\"/>"));
    REQUIRE(run_until(context.get(), [&] { return !client_inbox.messages.empty(); }));
    CHECK(client_inbox.messages == std::vector<std::string>{"<reply to=\"client\"/>"});
    CHECK(client->queued_bytes() == 0);
    CHECK(served.queued_messages() == 0);
    CHECK(server.errors.empty());
    CHECK(client_inbox.closes.empty());
    CHECK(server_inbox.closes.empty());
}

TEST_CASE("send() refuses what it cannot queue", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(64);
    Server server(context.get(), psk_server(dir, key));
    ConnectOptions options;
    options.limits.max_message_size = 1000;
    options.limits.max_queued_bytes = 2000;
    auto client = connect_pair(context.get(), server, psk_client(key), options);

    CHECK(client->send(std::string("<a>\0</a>", 8)).error().code == -EINVAL);
    CHECK(client->send(message_of_size(2000)).error().code == -EMSGSIZE);
    // Exactly the limit: 40 + 959 + NUL = 1000.
    require_ok(client->send(message_of_size(959)));
    client->close();
    CHECK_FALSE(client->is_open());
    CHECK(client->send("<a/>").error().code == -ENOTCONN);
    client->close();  // idempotent
}

TEST_CASE("1000 messages in a burst arrive complete and in order, both ways", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox server_inbox, client_inbox;
    server_inbox.start(served);
    client_inbox.start(*client);

    constexpr int kCount = 1000;
    for (int i = 0; i < kCount; ++i) {
        require_ok(client->send("<m n=\"" + std::to_string(i) + "\"/>"));
        require_ok(
            served.send("<r n=\"" + std::to_string(i) + "\" pad=\"" + std::string(i % 300, 'p') + "\"/>"));
    }
    REQUIRE(run_until(context.get(), [&] {
        return server_inbox.messages.size() >= kCount && client_inbox.messages.size() >= kCount;
    }));
    REQUIRE(server_inbox.messages.size() == kCount);
    REQUIRE(client_inbox.messages.size() == kCount);
    for (int i = 0; i < kCount; ++i) {
        CHECK(server_inbox.messages[i] == "<m n=\"" + std::to_string(i) + "\"/>");
        CHECK(client_inbox.messages[i] ==
              "<r n=\"" + std::to_string(i) + "\" pad=\"" + std::string(i % 300, 'p') + "\"/>");
    }
}

TEST_CASE("a 100 KB message crosses in several records", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox server_inbox, client_inbox;
    server_inbox.start(served);
    client_inbox.start(*client);

    const std::string big = message_of_size(std::size_t{100} * 1000, 'b');
    require_ok(client->send(big));
    require_ok(client->send("<after/>"));
    require_ok(served.send(big));
    REQUIRE(run_until(context.get(), [&] {
        return server_inbox.messages.size() == 2 && client_inbox.messages.size() == 1;
    }));
    CHECK(server_inbox.messages[0] == big);
    CHECK(server_inbox.messages[1] == "<after/>");
    CHECK(client_inbox.messages[0] == big);
}

TEST_CASE("megabytes arrive complete across read-budget pauses", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    // A small budget, so that reading yields and resumes many times.
    ConnectOptions options;
    options.limits.read_budget_per_wakeup = 1000;
    auto client = connect_pair(context.get(), server, psk_client(key), options);
    Connection& served = *server.connections.front();

    // Much more than the budget sits in the client's socket before it starts reading.
    constexpr int kCount = 40;
    for (int i = 0; i < kCount; ++i) {
        require_ok(served.send(message_of_size(std::size_t{100} * 1000, static_cast<char>('a' + i % 26))));
    }
    loop_for(context.get(), 200ms);
    Inbox inbox;
    inbox.start(*client);
    REQUIRE(run_until(context.get(), [&] { return inbox.messages.size() == kCount; }));
    for (int i = 0; i < kCount; ++i) {
        CHECK(inbox.messages[i] == message_of_size(std::size_t{100} * 1000, static_cast<char>('a' + i % 26)));
    }
    CHECK(inbox.closes.empty());
    CHECK(served.queued_bytes() == 0);
}

TEST_CASE("a zero time budget yields after every record and loses nothing", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    ConnectOptions options;
    options.limits.read_time_per_wakeup = std::chrono::milliseconds{0};
    auto client = connect_pair(context.get(), server, psk_client(key), options);
    Connection& served = *server.connections.front();
    // Many small messages (a header and a payload record each), all waiting before the
    // client reads: each wake-up takes one record.
    constexpr int kCount = 2000;
    for (int i = 0; i < kCount; ++i)
        require_ok(served.send("<m n=\"" + std::to_string(i) + "\"/>"));
    loop_for(context.get(), 200ms);
    Inbox inbox;
    inbox.start(*client);
    REQUIRE(run_until(context.get(), [&] { return inbox.messages.size() == kCount; }));
    CHECK(inbox.messages.back() == "<m n=\"" + std::to_string(kCount - 1) + "\"/>");
    CHECK(inbox.closes.empty());
}

TEST_CASE("a message over the receiver's limit closes the connection with a clear error", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    AcceptOptions strict;
    strict.limits.max_message_size = 4096;
    Server server(context.get(), psk_server(dir, key), strict);
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox server_inbox, client_inbox;
    server_inbox.start(served);
    client_inbox.start(*client);

    require_ok(client->send("<small/>"));
    require_ok(client->send(message_of_size(10000)));
    require_ok(client->send("<never-delivered/>"));
    REQUIRE(run_until(context.get(), [&] { return !server_inbox.closes.empty(); }));
    CHECK(server_inbox.messages == std::vector<std::string>{"<small/>"});
    const Error& reason = server_inbox.closes.front();
    INFO(reason.describe());
    CHECK(reason.code == -EMSGSIZE);
    CHECK(reason.message.find("127.0.0.1") != std::string::npos);
    CHECK(reason.message.find("4096") != std::string::npos);
    CHECK_FALSE(served.is_open());
    // The client sees the server go away.
    REQUIRE(run_until(context.get(), [&] { return !client_inbox.closes.empty(); }));
    loop_for(context.get(), 100ms);
    CHECK(server_inbox.closes.size() == 1);
    CHECK(client_inbox.closes.size() == 1);
}

TEST_CASE("a wrong key is -EKEYREJECTED on both sides", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    Server server(context.get(), psk_server(dir, random_bytes(4096)));
    auto client_tls = psk_client(random_bytes(4096));
    Outcome outcome;
    auto pending = start_connect(context.get(), "127.0.0.1", server.port(), client_tls, outcome);
    REQUIRE(run_until(context.get(), [&] { return outcome.done && !server.errors.empty(); }));
    REQUIRE(outcome.error.has_value());
    INFO(outcome.error->describe());
    CHECK(outcome.error->code == -EKEYREJECTED);
    CHECK(failed_phase(*outcome.error) == ConnectPhase::handshake);
    CHECK(outcome.error->message.find("127.0.0.1") != std::string::npos);
    CHECK(server.errors.front().code == -EKEYREJECTED);
    CHECK(failed_phase(server.errors.front()) == ConnectPhase::handshake);
    CHECK(server.connections.empty());
}

TEST_CASE("a client without an authkey gets -ENOKEY", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    Server server(context.get(), psk_server(dir, random_bytes(64)));
    tls::AuthkeySearch nowhere;
    nowhere.configured = dir.file("missing");
    nowhere.default_path = dir.file("missing-default");
    nowhere.legacy_path = dir.file("missing-legacy");
    auto client_tls = tls::TlsContext::psk_client(std::make_shared<tls::AuthkeyStore>(nowhere));
    require_ok(client_tls);
    Outcome outcome;
    auto pending = start_connect(context.get(), "127.0.0.1", server.port(), *client_tls, outcome);
    REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
    REQUIRE(outcome.error.has_value());
    INFO(outcome.error->describe());
    CHECK(outcome.error->code == -ENOKEY);
    CHECK(failed_phase(*outcome.error) == ConnectPhase::handshake);
}

TEST_CASE("connecting to a closed port is -ECONNREFUSED", "[io]")
{
    ContextPtr context(g_main_context_new());
    std::uint16_t port = 0;
    {
        SilentPeer closed;  // find a free port, then close it
        port = closed.port;
    }
    Outcome outcome;
    auto pending = start_connect(context.get(), "127.0.0.1", port, psk_client("k"), outcome);
    REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
    REQUIRE(outcome.error.has_value());
    INFO(outcome.error->describe());
    CHECK(outcome.error->code == -ECONNREFUSED);
    CHECK(outcome.error->domain == kConnectDomain);
    CHECK(failed_phase(*outcome.error) == ConnectPhase::connect);
    CHECK(outcome.error->message.find(std::to_string(port)) != std::string::npos);
}

TEST_CASE("an unresolvable name is -EADDRNOTAVAIL", "[io]")
{
    ContextPtr context(g_main_context_new());
    Outcome outcome;
    auto pending = start_connect(context.get(), "no-such-host.invalid", 3121, psk_client("k"), outcome);
    REQUIRE(run_until(
        context.get(), [&] { return outcome.done; }, 30s));
    REQUIRE(outcome.error.has_value());
    CHECK(outcome.error->code == -EADDRNOTAVAIL);
    CHECK(failed_phase(*outcome.error) == ConnectPhase::resolve);
    CHECK(outcome.error->message.find("no-such-host.invalid") != std::string::npos);
}

TEST_CASE("the per-address connect timeout fires against a listener whose backlog is full", "[io]")
{
    ContextPtr context(g_main_context_new());
    FullBacklog full;
    ConnectOptions options;
    options.connect_timeout = 300ms;
    options.handshake_timeout = 5s;
    Outcome outcome;
    const auto started = std::chrono::steady_clock::now();
    auto pending = start_connect(context.get(), "127.0.0.1", full.port, psk_client("k"), outcome, options);
    REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    REQUIRE(outcome.error.has_value());
    INFO(outcome.error->describe());
    CHECK(outcome.error->code == -ETIMEDOUT);
    // Same code as a handshake timeout; the phase tells them apart.
    CHECK(failed_phase(*outcome.error) == ConnectPhase::connect);
    CHECK(outcome.error->message.find("no answer within 300 ms") != std::string::npos);
    CHECK(elapsed >= 290ms);
    CHECK(elapsed < 3s);
}

TEST_CASE("handshake timeouts: a silent server, a client that never speaks", "[io]")
{
    ContextPtr context(g_main_context_new());

    SECTION("client side: -ETIMEDOUT against a TCP peer that never speaks TLS")
    {
        SilentPeer silent;
        ConnectOptions options;
        options.handshake_timeout = 300ms;
        Outcome outcome;
        const auto started = std::chrono::steady_clock::now();
        auto pending =
            start_connect(context.get(), "127.0.0.1", silent.port, psk_client("k"), outcome, options);
        REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
        const auto elapsed = std::chrono::steady_clock::now() - started;
        REQUIRE(outcome.error.has_value());
        INFO(outcome.error->describe());
        CHECK(outcome.error->code == -ETIMEDOUT);
        CHECK(failed_phase(*outcome.error) == ConnectPhase::handshake);
        CHECK(elapsed >= 290ms);
        CHECK(elapsed < 3s);
    }

    SECTION("server side: a client that never handshakes is dropped")
    {
        TempDir dir;
        AcceptOptions options;
        options.handshake_timeout = 300ms;
        Server server(context.get(), psk_server(dir, "key"), options);
        UniqueFd raw = raw_tcp_connect(server.port());
        REQUIRE(run_until(context.get(), [&] { return !server.errors.empty(); }));
        CHECK(server.errors.front().code == -ETIMEDOUT);
        CHECK(failed_phase(server.errors.front()) == ConnectPhase::handshake);
        CHECK(server.connections.empty());
        // The socket is closed: the raw client reads end-of-file.
        pollfd pfd{raw.get(), POLLIN, 0};
        REQUIRE(::poll(&pfd, 1, 2000) == 1);
        char byte;
        CHECK(::recv(raw.get(), &byte, 1, 0) <= 0);
    }
}

TEST_CASE("a host name is resolved off the loop, the result comes back on it", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key), AcceptOptions{}, "");
    Outcome outcome;
    auto pending = start_connect(context.get(), "localhost", server.port(), psk_client(key), outcome);
    CHECK(pending->describe() == "connecting to localhost:" + std::to_string(server.port()));
    CHECK(outcome.calls == 0);
    REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
    outcome.require_connected();
    CHECK(outcome.thread == std::this_thread::get_id());
    auto client = std::move(outcome.connection);
    REQUIRE(run_until(context.get(), [&] { return !server.connections.empty(); }));
    Inbox inbox;
    inbox.start(*server.connections.front());
    require_ok(client->send("<via-name/>"));
    REQUIRE(run_until(context.get(), [&] { return !inbox.messages.empty(); }));
    CHECK(inbox.messages.front() == "<via-name/>");
}

namespace {

// Threads of this process right now (/proc/self/task has one entry per thread).
std::size_t thread_count()
{
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        (void)entry;
        ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("many name lookups at once share the lookup pool, not a thread each", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key), AcceptOptions{}, "");
    constexpr int kConnections = 16;
    const std::size_t before = thread_count();
    std::vector<Outcome> outcomes(kConnections);
    std::vector<std::unique_ptr<PendingConnection>> pending;
    pending.reserve(outcomes.size());
    for (auto& outcome : outcomes)
        pending.push_back(start_connect(context.get(), "localhost", server.port(), psk_client(key), outcome));
    std::size_t most = before;
    REQUIRE(run_until(context.get(), [&] {
        most = std::max(most, thread_count());
        return std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.done; });
    }));
    for (auto& outcome : outcomes)
        outcome.require_connected();
    // At most two lookup threads, however many connections were waiting for a name.
    CHECK(most <= before + 2);
}

TEST_CASE("destroying a PendingConnection cancels it without a callback", "[io]")
{
    ContextPtr context(g_main_context_new());
    int calls = 0;
    auto count = [&calls](Result<std::unique_ptr<Connection>>) { ++calls; };

    SECTION("during the TLS handshake")
    {
        SilentPeer silent;
        auto pending =
            Connection::connect_async("127.0.0.1", silent.port, psk_client("k"), context.get(), {}, count);
        loop_for(context.get(), 100ms);
        CHECK(pending->describe() == "TLS handshake with 127.0.0.1");
        pending.reset();
        loop_for(context.get(), 300ms);
    }
    SECTION("while the name is being resolved")
    {
        auto pending = Connection::connect_async("localhost", 9, psk_client("k"), context.get(), {}, count);
        pending.reset();
        loop_for(context.get(), 500ms);
    }
    SECTION("before the first step ran")
    {
        auto pending = Connection::connect_async("127.0.0.1", 9, psk_client("k"), context.get(), {}, count);
        pending.reset();
        loop_for(context.get(), 200ms);
    }
    SECTION("server side")
    {
        TempDir dir;
        std::vector<std::unique_ptr<PendingConnection>> accepting;
        auto listener = Listener::create("127.0.0.1", 0, context.get(), [&](UniqueFd fd, std::string peer) {
            accepting.push_back(Connection::accept_async(std::move(fd), std::move(peer), psk_server(dir, "k"),
                                                         context.get(), {}, count));
        });
        require_ok(listener);
        UniqueFd raw = raw_tcp_connect((*listener)->port());
        REQUIRE(run_until(context.get(), [&] { return !accepting.empty(); }));
        accepting.clear();
        loop_for(context.get(), 200ms);
        pollfd pfd{raw.get(), POLLIN, 0};
        REQUIRE(::poll(&pfd, 1, 2000) == 1);
        char byte;
        CHECK(::recv(raw.get(), &byte, 1, MSG_DONTWAIT) == 0);  // closed
    }
    CHECK(calls == 0);
}

TEST_CASE("callbacks may destroy their Connection", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox server_inbox;
    server_inbox.start(served);

    SECTION("from on_message, with more messages already received")
    {
        int delivered = 0;
        int closes = 0;
        for (int i = 0; i < 5; ++i)
            require_ok(served.send("<m/>"));
        loop_for(context.get(), 100ms);  // all five now sit in the client's socket
        client->start(
            [&](const std::string&) {
                ++delivered;
                client.reset();
            },
            [&](const Error&) { ++closes; });
        REQUIRE(run_until(context.get(), [&] { return client == nullptr; }));
        loop_for(context.get(), 100ms);
        CHECK(delivered == 1);
        CHECK(closes == 0);
        // The server sees its peer go away.
        REQUIRE(run_until(context.get(), [&] { return !server_inbox.closes.empty(); }));
    }
    SECTION("from on_close")
    {
        int closes = 0;
        client->start([](const std::string&) {},
                      [&](const Error&) {
                          ++closes;
                          client.reset();
                      });
        served.close();
        REQUIRE(run_until(context.get(), [&] { return client == nullptr; }));
        loop_for(context.get(), 100ms);
        CHECK(closes == 1);
        CHECK(server_inbox.closes.empty());  // close() does not report
    }
}

TEST_CASE("the peer closing is reported once; close() reports nothing", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox server_inbox, client_inbox;
    server_inbox.start(served);
    client_inbox.start(*client);

    require_ok(served.send("<last-words/>"));
    served.close();  // the message goes out before close_notify
    CHECK_FALSE(served.is_open());
    CHECK(served.tls_description().empty());
    REQUIRE(run_until(context.get(), [&] { return !client_inbox.closes.empty(); }));
    loop_for(context.get(), 200ms);
    CHECK(client_inbox.messages == std::vector<std::string>{"<last-words/>"});
    REQUIRE(client_inbox.closes.size() == 1);
    INFO(client_inbox.closes.front().describe());
    CHECK(client_inbox.closes.front().code == -ENOTCONN);
    CHECK_FALSE(client->is_open());
    CHECK(client->send("<a/>").error().code == -ENOTCONN);
    CHECK(server_inbox.closes.empty());
}

TEST_CASE("a failure before start() is reported after start(), not inside it", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    server.connections.clear();  // the server goes away (close_notify) before the client started
    loop_for(context.get(), 100ms);
    Inbox inbox;
    inbox.start(*client);
    CHECK(inbox.closes.empty());
    REQUIRE(run_until(context.get(), [&] { return !inbox.closes.empty(); }));
    loop_for(context.get(), 100ms);
    CHECK(inbox.closes.size() == 1);
}

TEST_CASE("X.509 connection", "[io][x509]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    auto certs = outpost::test::make_certificates(dir);
    tls::TlsSettings server_settings;
    server_settings.kind = tls::CredentialKind::x509;
    server_settings.x509 = tls::X509Files{certs.server_cert, certs.server_key, certs.ca_cert, ""};
    tls::TlsSettings client_settings = server_settings;
    client_settings.x509 = tls::X509Files{certs.client_cert, certs.client_key, certs.ca_cert, ""};
    auto server_tls = tls::TlsContext::x509_server(server_settings);
    require_ok(server_tls);
    auto client_tls = tls::TlsContext::x509_client(client_settings);
    require_ok(client_tls);

    Server server(context.get(), *server_tls);
    auto client = connect_pair(context.get(), server, *client_tls);
    Inbox inbox;
    inbox.start(*server.connections.front());
    require_ok(client->send("<over-x509/>"));
    REQUIRE(run_until(context.get(), [&] { return !inbox.messages.empty(); }));
    CHECK(inbox.messages.front() == "<over-x509/>");
    CHECK(client->tls_description().find("TLS1.") != std::string::npos);
}

// docs/protocol.md 2.3: the 2.1.5 reader needs the 40-byte header alone in a TLS record, then
// the payload in its own record(s), and never two messages in one record. A raw TlsSession
// on the receiving side sees record boundaries: gnutls_record_recv() returns one record at
// a time when the buffer is large enough.
TEST_CASE("each message is a header record, then payload records, never coalesced", "[io][wire-rule]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    auto server_tls = psk_server(dir, key);
    auto client_tls = psk_client(key);

    // The raw side is whichever end is not a Connection.
    UniqueFd raw_fd;
    std::unique_ptr<tls::TlsSession> raw;
    std::unique_ptr<Connection> sender;
    Server* server_ptr = nullptr;
    std::optional<Server> server;
    std::unique_ptr<Listener> plain_listener;
    std::unique_ptr<PendingConnection> pending;

    const bool connection_is_client = GENERATE(true, false);
    INFO((connection_is_client ? "Connection as client" : "Connection as server"));
    if (connection_is_client) {
        // A plain listener: the accepted socket gets a raw server TlsSession.
        auto listener = Listener::create("127.0.0.1", 0, context.get(),
                                         [&](UniqueFd fd, const std::string&) { raw_fd = std::move(fd); });
        require_ok(listener);
        plain_listener = std::move(listener).value();
        Outcome outcome;
        pending = start_connect(context.get(), "127.0.0.1", plain_listener->port(), client_tls, outcome);
        REQUIRE(run_until(context.get(), [&] { return raw_fd.valid(); }));
        auto session = tls::TlsSession::create(server_tls, raw_fd.get());
        require_ok(session);
        raw = std::move(session).value();
        REQUIRE(run_until(context.get(), [&] {
            auto step = raw->handshake_step();
            REQUIRE(step.ok());
            return outcome.done && raw->handshake_done();
        }));
        outcome.require_connected();
        sender = std::move(outcome.connection);
    } else {
        server.emplace(context.get(), server_tls);
        server_ptr = &*server;
        raw_fd = raw_tcp_connect(server_ptr->port());
        REQUIRE(::fcntl(raw_fd.get(), F_SETFL, O_NONBLOCK) == 0);
        auto session = tls::TlsSession::create(client_tls, raw_fd.get());
        require_ok(session);
        raw = std::move(session).value();
        REQUIRE(run_until(context.get(), [&] {
            auto step = raw->handshake_step();
            REQUIRE(step.ok());
            return raw->handshake_done() && !server_ptr->connections.empty();
        }));
        sender = std::move(server_ptr->connections.front());
    }

    const std::string first = "<first/>";
    const std::string second = message_of_size(20000, 's');  // two payload records
    require_ok(sender->send(first));
    require_ok(sender->send(second));
    loop_for(context.get(), 100ms);

    std::vector<std::string> records;
    std::vector<char> buffer(65536);
    REQUIRE(run_until(context.get(), [&] {
        auto received = raw->recv(buffer.data(), buffer.size());
        REQUIRE(received.ok());
        if (received->kind == tls::TlsSession::Received::Kind::data) {
            records.emplace_back(buffer.data(), received->size);
        }
        return records.size() >= 5;
    }));
    REQUIRE(records.size() == 5);
    CHECK(records[0].size() == wire::kHeaderSize);
    CHECK(header_field(records[0], 0) == wire::kEndianMagic);
    CHECK(header_field(records[0], 24) == wire::kHeaderSize + first.size() + 1);
    CHECK(records[1] == first + '\0');
    CHECK(records[2].size() == wire::kHeaderSize);
    CHECK(header_field(records[2], 24) == wire::kHeaderSize + second.size() + 1);
    CHECK(header_field(records[2], 36) == second.size() + 1);
    CHECK(records[3].size() == tls::kMaxRecordSize);
    CHECK(records[3] + records[4] == second + '\0');
}

TEST_CASE("Listener binds the wildcard dual-stack and reports its port", "[io][listener]")
{
    ContextPtr context(g_main_context_new());
    std::vector<std::string> peers;
    auto listener = Listener::create("", 0, context.get(), [&](UniqueFd fd, std::string peer) {
        CHECK(fd.valid());
        CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
        CHECK((::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) != 0);
        peers.push_back(std::move(peer));
    });
    require_ok(listener);
    CHECK((*listener)->port() != 0);
    CHECK((*listener)->listening());
    UniqueFd raw = raw_tcp_connect((*listener)->port());
    REQUIRE(run_until(context.get(), [&] { return !peers.empty(); }));
    if ((*listener)->family() == AF_INET6) {
        CHECK((*listener)->bound_address() == "::");
        CHECK(peers.front() == "::ffff:127.0.0.1");
    } else {
        CHECK(peers.front() == "127.0.0.1");
    }

    // The port is taken now: a second listener on it fails with a clear error.
    auto second = Listener::create("127.0.0.1", (*listener)->port(), context.get(),
                                   [](UniqueFd, const std::string&) {});
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == -EADDRINUSE);
    CHECK(second.error().message.find(std::to_string((*listener)->port())) != std::string::npos);
    (*listener)->close();
    CHECK_FALSE((*listener)->listening());
}

// The limits the rest of the code relies on, by their real names: the 2.1.5 server drops a
// client that has not finished TLS within 10 s, the 2.1.5 controller gives the server 5 s
// (docs/protocol.md 1.3), and a message may be 32 MiB unless configured otherwise (docs/limits.md).
TEST_CASE("default handshake timeouts and message size match docs/protocol.md", "[io][limits]")
{
    CHECK(wire::kDefaultMaxMessageSize == std::size_t{32} * 1024 * 1024);
    const AcceptOptions accept{};
    CHECK(accept.handshake_timeout == 10s);
    CHECK(accept.limits.max_message_size == wire::kDefaultMaxMessageSize);
    const ConnectOptions connect{};
    CHECK(connect.handshake_timeout == 5s);
    CHECK(connect.limits.max_message_size == wire::kDefaultMaxMessageSize);
    CHECK(connect.connect_timeout == kDefaultConnectTimeout);
    CHECK(kDefaultConnectTimeout <= 10s);  // the controller's longest attempt per address
}

// A listener whose accept queue is full makes the kernel drop further SYNs (the client
// keeps retransmitting), so a connect to it stays in progress: only our per-address
// timeout can end the attempt.
TEST_CASE("the per-address connect timeout fires with a clear error", "[io][limits]")
{
    ContextPtr context(g_main_context_new());
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener.valid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(listener.get(), 0) == 0);  // the queue holds one connection
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::uint16_t port = ntohs(address.sin_port);

    // Fill the queue (never accepted), then prove that a further connect does hang.
    UniqueFd filler = raw_tcp_connect(port);
    UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(probe.valid());
    const int rc = ::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
    REQUIRE((rc == -1 && errno == EINPROGRESS));
    pollfd pfd{probe.get(), POLLOUT, 0};
    REQUIRE(::poll(&pfd, 1, 300) == 0);  // no SYN-ACK: the queue is full

    ConnectOptions options;
    options.connect_timeout = 400ms;
    options.handshake_timeout = 5s;  // must not be what ends it
    Outcome outcome;
    const auto started = std::chrono::steady_clock::now();
    auto pending = start_connect(context.get(), "127.0.0.1", port, psk_client("k"), outcome, options);
    loop_for(context.get(), 100ms);
    CHECK(pending->describe() == "connecting to 127.0.0.1:" + std::to_string(port));
    REQUIRE(run_until(context.get(), [&] { return outcome.done; }));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    REQUIRE(outcome.error.has_value());
    INFO(outcome.error->describe());
    CHECK(outcome.error->code == -ETIMEDOUT);
    CHECK(outcome.error->message.find("connecting to 127.0.0.1:" + std::to_string(port)) !=
          std::string::npos);
    CHECK(outcome.error->message.find("no answer within 400 ms") != std::string::npos);
    CHECK(elapsed >= 390ms);
    CHECK(elapsed < 3s);
    CHECK(outcome.calls == 1);
}

namespace {

// A raw TLS client (a TlsSession, no Connection) connected to `server`, handshake done.
struct RawClient {
    UniqueFd fd;
    std::unique_ptr<tls::TlsSession> session;

    RawClient(GMainContext* context, Server& server, const tls::TlsContext& tls)
    {
        fd = raw_tcp_connect(server.port());
        REQUIRE(::fcntl(fd.get(), F_SETFL, O_NONBLOCK) == 0);
        auto created = tls::TlsSession::create(tls, fd.get());
        require_ok(created);
        session = std::move(created).value();
        const std::size_t before = server.connections.size();
        REQUIRE(run_until(context, [&] {
            auto step = session->handshake_step();
            REQUIRE(step.ok());
            return session->handshake_done() && server.connections.size() > before;
        }));
    }

    void send(const void* data, std::size_t size)
    {
        const auto* bytes = static_cast<const char*>(data);
        while (size > 0) {
            auto sent = session->send_record(bytes, std::min(size, tls::kMaxRecordSize));
            require_ok(sent);
            if (*sent == 0) {
                pollfd pfd{fd.get(), POLLOUT, 0};
                ::poll(&pfd, 1, 20);
                continue;
            }
            bytes += *sent;
            size -= *sent;
        }
    }
};

}  // namespace

// docs/protocol.md 2.3: a 2.1.5 peer sends the header, then the payload. One that dies in
// between leaves a partial message; the close reason must say so, whether the peer said
// goodbye (TLS close_notify) or just vanished.
TEST_CASE("a peer closing in the middle of a message is reported as such", "[io]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    RawClient raw(context.get(), server, psk_client(key));
    Inbox inbox;
    inbox.start(*server.connections.front());

    // One whole message first: the partial one is what is cut off, not the stream itself.
    const wire::EncodedFrame whole = wire::encode_frame("<whole/>");
    raw.send(whole.header.data(), whole.header.size());
    raw.send(whole.payload.data(), whole.payload.size());
    const wire::EncodedFrame frame = wire::encode_frame(message_of_size(1000));
    raw.send(frame.header.data(), frame.header.size());
    raw.send(frame.payload.data(), frame.payload.size() / 2);
    REQUIRE(run_until(context.get(), [&] { return !inbox.messages.empty(); }));
    loop_for(context.get(), 100ms);

    const bool with_close_notify = GENERATE(true, false);
    INFO((with_close_notify ? "TLS close_notify, then close" : "socket closed without close_notify"));
    if (with_close_notify) {
        auto bye = raw.session->bye();
        require_ok(bye);
        CHECK(*bye);
    }
    raw.session.reset();
    raw.fd.reset();
    REQUIRE(run_until(context.get(), [&] { return !inbox.closes.empty(); }));
    loop_for(context.get(), 100ms);
    CHECK(inbox.messages == std::vector<std::string>{"<whole/>"});
    REQUIRE(inbox.closes.size() == 1);
    const Error& reason = inbox.closes.front();
    INFO(reason.describe());
    CHECK(reason.message.find("in the middle of a message") != std::string::npos);
    CHECK(reason.message.find("127.0.0.1") != std::string::npos);
    CHECK(reason.code == (with_close_notify ? -ENOTCONN : -ECONNRESET));
}

// The message limit is configurable (ConnectionLimits::max_message_size) and must hold
// end to end: framing, then the XML parser behind decode_message.
TEST_CASE("a message over the default limit passes with a raised limit and is refused by default",
          "[io][limits]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    const std::size_t raised = 2 * wire::kDefaultMaxMessageSize;
    // A real message kind: an operation result whose output is 1 MiB over the limit.
    wire::ExecNotify notify;
    notify.rsc_id = "big";
    notify.action = "monitor";
    notify.output = std::string(wire::kDefaultMaxMessageSize + std::size_t{1024} * 1024, 'o');
    const std::string xml = wire::encode(notify);
    REQUIRE(xml.size() > wire::kDefaultMaxMessageSize);

    ConnectOptions sender_options;
    sender_options.limits.max_message_size = raised;

    SECTION("raised on the receiver: delivered and decoded")
    {
        AcceptOptions accept;
        accept.limits.max_message_size = raised;
        Server server(context.get(), psk_server(dir, key), accept);
        auto client = connect_pair(context.get(), server, psk_client(key), sender_options);
        Inbox inbox;
        inbox.start(*server.connections.front());
        require_ok(client->send(xml));
        REQUIRE(run_until(
            context.get(), [&] { return !inbox.messages.empty() || !inbox.closes.empty(); }, 60s));
        REQUIRE(inbox.closes.empty());
        REQUIRE(inbox.messages.size() == 1);
        CHECK(inbox.messages.front().size() == xml.size());
        auto decoded = wire::decode_message(inbox.messages.front(), accept.limits.max_message_size);
        INFO((decoded.ok() ? "" : decoded.error().describe()));
        REQUIRE(decoded.ok());
        REQUIRE(std::holds_alternative<wire::ExecNotify>(*decoded));
        CHECK(std::get<wire::ExecNotify>(*decoded) == notify);
        // The same text with the default limit: the parser refuses it.
        CHECK(wire::decode_message(inbox.messages.front()).error().code == -EMSGSIZE);
    }
    SECTION("default on the receiver: the connection is closed with -EMSGSIZE")
    {
        Server server(context.get(), psk_server(dir, key));
        auto client = connect_pair(context.get(), server, psk_client(key), sender_options);
        Inbox inbox;
        inbox.start(*server.connections.front());
        require_ok(client->send(xml));
        REQUIRE(run_until(
            context.get(), [&] { return !inbox.closes.empty(); }, 60s));
        CHECK(inbox.messages.empty());
        INFO(inbox.closes.front().describe());
        CHECK(inbox.closes.front().code == -EMSGSIZE);
    }
    SECTION("default on the sender: send() refuses it")
    {
        Server server(context.get(), psk_server(dir, key));
        auto client = connect_pair(context.get(), server, psk_client(key));
        CHECK(client->send(xml).error().code == -EMSGSIZE);
    }
}

TEST_CASE("pause() holds the next messages back, resume() delivers them in order", "[io][offload]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();

    // The handler pauses on the first message, as the agent does for a large one.
    std::vector<std::string> seen;
    served.start(
        [&](std::string xml) {
            seen.push_back(std::move(xml));
            if (seen.size() == 1) served.pause();
        },
        [](const Error&) {});
    constexpr int kCount = 50;
    for (int i = 0; i < kCount; ++i)
        require_ok(client->send("<m n=\"" + std::to_string(i) + "\"/>"));
    REQUIRE(run_until(context.get(), [&] { return !seen.empty(); }));
    loop_for(context.get(), 100ms);
    CHECK(seen.size() == 1);
    CHECK(served.paused());
    // Sending still works while paused.
    Inbox back;
    back.start(*client);
    require_ok(served.send("<reply/>"));
    REQUIRE(run_until(context.get(), [&] { return back.messages.size() == 1; }));

    served.resume();
    CHECK(seen.size() == 1);  // never from inside resume()
    REQUIRE(run_until(context.get(), [&] { return seen.size() == kCount; }));
    for (int i = 0; i < kCount; ++i)
        CHECK(seen[static_cast<std::size_t>(i)] == "<m n=\"" + std::to_string(i) + "\"/>");
}

TEST_CASE("a peer closing while the connection is paused is reported after resume()", "[io][offload]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox inbox;
    inbox.start(served);
    served.pause();
    require_ok(client->send("<last/>"));
    client.reset();
    // No busy loop on the hang-up meanwhile: a handful of dispatches, not thousands.
    int dispatches = 0;
    const auto until = std::chrono::steady_clock::now() + 200ms;
    while (std::chrono::steady_clock::now() < until) {
        if (g_main_context_iteration(context.get(), FALSE) != FALSE) {
            ++dispatches;
        } else {
            std::this_thread::sleep_for(1ms);
        }
    }
    CHECK(dispatches < 20);
    CHECK(inbox.messages.empty());
    CHECK(inbox.closes.empty());
    served.resume();
    REQUIRE(run_until(context.get(), [&] { return !inbox.closes.empty(); }));
    REQUIRE(inbox.messages.size() == 1);
    CHECK(inbox.messages[0] == "<last/>");
}

TEST_CASE("a large send is written a budget per wake-up, not in one go", "[io][offload]")
{
    ContextPtr context(g_main_context_new());
    TempDir dir;
    const std::string key = random_bytes(4096);
    Server server(context.get(), psk_server(dir, key));
    auto client = connect_pair(context.get(), server, psk_client(key));
    Connection& served = *server.connections.front();
    Inbox inbox;
    inbox.start(*client);
    const std::string big = message_of_size(std::size_t{8} * 1024 * 1024, 'b');
    require_ok(served.send(big));
    // At most one budget went out inside send(); the rest waits for the loop.
    CHECK(served.queued_bytes() + kWriteBudgetPerWakeup >= big.size());
    REQUIRE(run_until(context.get(), [&] { return inbox.messages.size() == 1; }));
    CHECK(inbox.messages[0] == big);
    CHECK(served.queued_bytes() == 0);
}

TEST_CASE("Offload: work runs off the loop, steps complete in order, a dropped lane drops its result",
          "[io][offload]")
{
    ContextPtr context(g_main_context_new());
    const std::thread::id loop_thread = std::this_thread::get_id();
    std::vector<std::string> order;
    std::atomic<bool> off_loop{true};

    auto lane = std::make_unique<Offload>(context.get());
    CHECK(lane->idle());
    lane->then([&] { order.emplace_back("at once"); });  // idle: runs inside then()
    CHECK(order.size() == 1);
    for (int i = 0; i < 3; ++i) {
        lane->run([&, i]() -> Offload::Step {
            if (std::this_thread::get_id() == loop_thread) off_loop = false;
            std::this_thread::sleep_for(20ms);
            std::string result = "work " + std::to_string(i);
            return [&order, result] { order.push_back(result); };
        });
        lane->then([&, i] { order.push_back("then " + std::to_string(i)); });
    }
    CHECK_FALSE(lane->idle());
    CHECK(order.size() == 1);
    REQUIRE(run_until(context.get(), [&] { return lane->idle(); }));
    CHECK(off_loop);
    CHECK(order ==
          std::vector<std::string>{"at once", "work 0", "then 0", "work 1", "then 1", "work 2", "then 2"});

    // A step may destroy its own lane; what was queued behind it never runs.
    bool after = false;
    lane->run([]() -> Offload::Step { return {}; });
    lane->then([&] { lane.reset(); });
    lane->then([&] { after = true; });
    REQUIRE(run_until(context.get(), [&] { return lane == nullptr; }));
    loop_for(context.get(), 50ms);
    CHECK_FALSE(after);

    // Destroyed while its work runs: the work finishes on its thread, its result is
    // destroyed unused (ASan checks nothing touches the lane).
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    bool delivered = false;
    auto doomed = std::make_unique<Offload>(context.get());
    doomed->run([&]() -> Offload::Step {
        started = true;
        std::this_thread::sleep_for(100ms);
        finished = true;
        return [&delivered, payload = std::string(std::size_t{1024} * 1024, 'p')] {
            delivered = !payload.empty();
        };
    });
    REQUIRE(run_until(context.get(), [&] { return started.load(); }));
    doomed.reset();
    REQUIRE(run_until(context.get(), [&] { return finished.load(); }));
    loop_for(context.get(), 100ms);
    CHECK_FALSE(delivered);
}
