// Server unit tests: the real Server over loopback TCP with real GnuTLS PSK sessions, our
// io::Connection as the client, and a real Executor running a shell OCF agent. Covers what
// the dispatcher alone cannot: the new-client notice on handshake, dropping a client that
// sends garbage (and serving odd but well-formed messages as 2.1.5 does), the client
// limit, the shutdown handshake with an IPC provider (ack, nack, timeout, second SIGTERM)
// and the last-client rule for recurring operations.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>

#include "executor/process_spawner.hpp"
#include "io/connection.hpp"
#include "server/server.hpp"
#include "server_test_support.hpp"
#include "support/psk.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"

using namespace outpost;
using namespace outpost::test;

namespace {

class ServerBench {
public:
    explicit ServerBench(std::size_t max_clients = agent::server::kMaxClients,
                         std::optional<std::chrono::milliseconds> handshake_timeout = std::nullopt)
        : context_(g_main_context_new()), spawner_(context_.get())
    {
        dir_.write("resource.d/test/Dummy", kTestAgent, 0755);

        agent::server::ServerConfig config;
        config.address = "127.0.0.1";
        config.port = 0;
        config.max_clients = max_clients;
        config.handle_signals = false;
        config.shutdown_ack_timeout = 300ms;
        if (handshake_timeout) config.accept.handshake_timeout = *handshake_timeout;
        config.executor.paths.ocf_root = dir_.path().string();
        config.executor.paths.ocf_ra_path = {dir_.file("resource.d")};
        config.executor.paths.working_dir = dir_.path().string();
        auto server = agent::server::Server::create(context_.get(), key_.server_tls(), spawner_, config,
                                                    [this](int code) { exit_code_ = code; });
        INFO((server.ok() ? std::string() : server.error().describe()));
        REQUIRE(server.ok());
        server_ = std::move(server).value();
    }

    [[nodiscard]] GMainContext* context() const { return context_.get(); }
    agent::server::Server& server() { return *server_; }
    [[nodiscard]] const std::optional<int>& exit_code() const { return exit_code_; }
    [[nodiscard]] const std::string& key() const { return key_.bytes(); }
    [[nodiscard]] std::string state_file(const std::string& name) const { return dir_.file(name); }

    bool wait_exit(std::chrono::milliseconds limit = 5s)
    {
        return run_until(
            context(), [&] { return exit_code_.has_value(); }, limit);
    }

private:
    TempDir dir_;
    PskKey key_;
    ContextPtr context_;
    agent::executor::ProcessSpawner spawner_;
    std::unique_ptr<agent::server::Server> server_;
    std::optional<int> exit_code_;
};

// A TLS client of the bench's server (the shared RawClient), once the server has seen it.
std::unique_ptr<RawClient> connect(ServerBench& bench)
{
    const std::size_t before = bench.server().client_count();
    auto client =
        RawClient::open(bench.context(), "127.0.0.1", bench.server().port(), test::psk_client(bench.key()));
    REQUIRE(run_until(
        bench.context(), [&] { return bench.server().client_count() > before; }, 5s));
    return client;
}

void do_register(RawClient& client, const std::string& name, bool provider = false)
{
    auto id = client.send(make_register(0, name, "1.1", provider));
    auto reply = client.expect<wire::Reply>();
    REQUIRE(reply.msg_id == id);
    REQUIRE(reply.rc == 0);
}

void send_proxy(RawClient& client, std::string_view op)
{
    wire::ProxyMessage message;
    message.op = std::string(op);
    client.send(message);
}

bool wait_closed(RawClient& client)
{
    return client.wait([&] { return client.closed(); }, 5s);
}

}  // namespace

TEST_CASE("a finished handshake is announced to the other named clients")
{
    ServerBench bench;
    auto first = connect(bench);
    do_register(*first, "first");
    auto quiet = connect(bench);  // never named

    auto second = connect(bench);
    CHECK(std::holds_alternative<wire::NewClientNotify>(first->next()));
    CHECK(quiet->quiet_for(200ms));
    CHECK(second->quiet_for(50ms));
    CHECK(bench.server().client_count() == 3);
}

TEST_CASE("a client sending something that cannot be read is dropped, others carry on")
{
    ServerBench bench;
    auto good = connect(bench);
    do_register(*good, "good");
    auto bad = connect(bench);

    SECTION("not XML")
    {
        REQUIRE(bad->send_xml("<lrmd_command").ok());
    }
    SECTION("a msg id that is not a number")
    {
        REQUIRE(bad->send_xml("<lrmd_command lrmd_op=\"lrmd_rsc_poke\" lrmd_remote_msg_id=\"abc\"/>").ok());
    }
    (void)good->next();  // new-client notice about `bad`
    CHECK(wait_closed(*bad));
    REQUIRE(run_until(
        bench.context(), [&] { return bench.server().client_count() == 1; }, 5s));

    auto id = good->send(make_request("lrmd_rsc_poke", 0));
    CHECK(as<wire::Reply>(good->next()).msg_id == id);
    CHECK(as<wire::GenericNotify>(good->next()).op == "lrmd_rsc_poke");
}

TEST_CASE("any well-formed message is served by its lrmd_op, whatever its root or type (2.1.5)")
{
    // Observed against pacemaker-remoted 2.1.5: the root element's name and
    // lrmd_remote_msg_type are never looked at; an absent msg id is 0.
    ServerBench bench;
    auto c = connect(bench);
    do_register(*c, "c");
    auto expect_reply = [&](std::uint64_t msg_id, int rc) {
        auto reply = as<wire::Reply>(c->next());
        CHECK(reply.msg_id == msg_id);
        CHECK(reply.rc == rc);
        CHECK(reply.origin == "process_lrmd_message");
    };

    // An unknown root element: an unknown op.
    REQUIRE(c->send_xml(R"(<foo lrmd_remote_msg_id="7" lrmd_remote_msg_type="request"/>)").ok());
    expect_reply(7, -95);
    REQUIRE(c->send_xml("<foo/>").ok());
    expect_reply(0, -95);
    // A command without lrmd_op, a reply from a client: unknown ops too.
    REQUIRE(c->send_xml(R"(<lrmd_command t="lrmd" lrmd_remote_msg_id="2" lrmd_remote_msg_type="request"/>)")
                .ok());
    expect_reply(2, -95);
    wire::Reply reply;
    reply.msg_id = 9;
    REQUIRE(c->send_xml(wire::encode(reply)).ok());
    expect_reply(9, -95);
    // A notify that names an op is that op (here a poke: reply, then its notify).
    REQUIRE(
        c->send_xml(
             R"(<lrmd_notify lrmd_op="lrmd_rsc_poke" lrmd_remote_msg_id="21" lrmd_remote_msg_type="notify"/>)")
            .ok());
    expect_reply(21, 0);
    CHECK(as<wire::GenericNotify>(c->next()).op == "lrmd_rsc_poke");
    // lrmd_ipc_proxy without lrmd_op="ipc_fwd" is no proxy message.
    REQUIRE(
        c->send_xml(
             R"(<lrmd_ipc_proxy lrmd_ipc_op="bogus" lrmd_remote_msg_id="28" lrmd_remote_msg_type="request"/>)")
            .ok());
    expect_reply(28, -95);

    // Still connected and served.
    auto id = c->send(make_request("lrmd_rsc_poke", 0));
    expect_reply(id, 0);
    CHECK(as<wire::GenericNotify>(c->next()).op == "lrmd_rsc_poke");
    CHECK(bench.server().client_count() == 1);
}

TEST_CASE("connections beyond the client limit are closed")
{
    ServerBench bench(1);
    auto first = connect(bench);
    CHECK_FALSE(RawClient::connect(bench.context(), "127.0.0.1", bench.server().port(),
                                   test::psk_client(bench.key()), {}, 10s)
                    .ok());
    CHECK(bench.server().client_count() == 1);
}

TEST_CASE("a connection that does not finish its TLS handshake is dropped; 10 s by default")
{
    // docs/protocol.md 1.3: 2.1.5 drops an unauthenticated client after 10 s ("Remote client
    // authentication timed out"), and so does the Server unless told otherwise.
    CHECK(io::kServerHandshakeTimeout == 10s);
    CHECK(agent::server::ServerConfig{}.accept.handshake_timeout == io::kServerHandshakeTimeout);

    // The Server uses what its configuration says (here shortened to keep the test quick).
    ServerBench bench(agent::server::kMaxClients, 300ms);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(bench.server().port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    const auto connected = std::chrono::steady_clock::now();
    REQUIRE(run_until(
        bench.context(), [&] { return bench.server().pending_count() == 1; }, 2s));
    REQUIRE(run_until(
        bench.context(), [&] { return bench.server().pending_count() == 0; }, 3s));
    const auto waited = std::chrono::steady_clock::now() - connected;
    CHECK(waited >= 250ms);
    CHECK(bench.server().client_count() == 0);
    // The peer sees the connection end (a TLS alert, if anything, then EOF).
    bool ended = false;
    for (int i = 0; i < 20 && !ended; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char buffer[256];
            ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            ended = n <= 0;
        }
    }
    CHECK(ended);
    ::close(fd);
}

TEST_CASE("shutdown without an IPC provider exits 0 at once")
{
    ServerBench bench;
    auto plain = connect(bench);
    do_register(*plain, "not-a-provider");
    bench.server().request_shutdown();
    REQUIRE(bench.wait_exit(1s));
    CHECK(*bench.exit_code() == 0);
}

TEST_CASE("shutdown with an IPC provider asks the cluster first")
{
    ServerBench bench;
    auto old_provider = connect(bench);
    do_register(*old_provider, "old", true);
    auto provider = connect(bench);
    do_register(*provider, "newest", true);
    (void)old_provider->next();  // new-client notice

    bench.server().request_shutdown();
    auto request = as<wire::ProxyMessage>(provider->next());
    CHECK(request.op == "shutdown_req");
    CHECK(request.session == std::optional<std::string>("0"));
    CHECK(request.type == wire::MsgType::notify);
    CHECK(old_provider->quiet_for(100ms));  // only the newest provider is asked
    CHECK_FALSE(bench.server().listening());
    CHECK_FALSE(bench.exit_code().has_value());

    SECTION("ack: wait for every provider to disconnect, the 20 s timer no longer counts")
    {
        send_proxy(*provider, "shutdown_ack");
        CHECK(as<wire::Reply>(provider->next()).rc == 0);
        bench.server().request_shutdown();  // a second SIGTERM only logs
        loop_for(bench.context(), 600ms);   // longer than the (shortened) ack timeout
        CHECK_FALSE(bench.exit_code().has_value());

        // The cluster keeps working with us meanwhile.
        auto id = provider->send(make_request("lrmd_rsc_poke", 0));
        CHECK(as<wire::Reply>(provider->next()).msg_id == id);

        provider->close();
        loop_for(bench.context(), 100ms);
        CHECK_FALSE(bench.exit_code().has_value());
        old_provider->close();
        REQUIRE(bench.wait_exit());
        CHECK(*bench.exit_code() == 0);
    }
    SECTION("nack: exit now")
    {
        send_proxy(*provider, "shutdown_nack");
        REQUIRE(bench.wait_exit(1s));
        CHECK(*bench.exit_code() == 0);
    }
    SECTION("no answer: exit when the timer expires")
    {
        REQUIRE(bench.wait_exit(2s));
        CHECK(*bench.exit_code() == 0);
    }
}

TEST_CASE("an unsolicited shutdown_ack or shutdown_nack changes nothing")
{
    ServerBench bench;
    auto provider = connect(bench);
    do_register(*provider, "ctl", true);
    send_proxy(*provider, "shutdown_nack");
    CHECK(as<wire::Reply>(provider->next()).rc == 0);
    send_proxy(*provider, "shutdown_ack");
    CHECK(as<wire::Reply>(provider->next()).rc == 0);
    loop_for(bench.context(), 100ms);
    CHECK_FALSE(bench.exit_code().has_value());
    CHECK(bench.server().listening());
}

TEST_CASE("when the last client leaves, drop-recurring ops stop and resources stay")
{
    ServerBench bench;
    std::string state = bench.state_file("r.state");
    {
        auto a = connect(bench);
        do_register(*a, "a");
        auto b = connect(bench);
        (void)a->next();  // new-client notice

        a->send(make_rsc_register(0, "r1"));
        (void)a->next();
        (void)a->next();
        auto start = make_exec(0, "r1", "start", state);
        a->send(start);
        (void)a->next();
        REQUIRE(as<wire::ExecNotify>(a->next()).exec_rc == 0);
        a->send(make_exec(0, "r1", "monitor", state, 4, 100));
        (void)a->next();
        REQUIRE(as<wire::ExecNotify>(a->next()).exec_rc == 0);

        auto recurring = bench.server().executor().recurring("r1");
        REQUIRE(recurring.has_value());
        REQUIRE(recurring->size() == 1);
        CHECK((*recurring)[0].ops.size() == 1);

        a->close();
        loop_for(bench.context(), 300ms);
        // One client remains: the monitor keeps running.
        recurring = bench.server().executor().recurring("r1");
        CHECK((*recurring)[0].ops.size() == 1);
        b->close();
    }
    REQUIRE(run_until(
        bench.context(), [&] { return bench.server().client_count() == 0; }, 5s));
    auto recurring = bench.server().executor().recurring("r1");
    REQUIRE(recurring.has_value());
    REQUIRE(recurring->size() == 1);
    CHECK((*recurring)[0].ops.empty());
    CHECK(bench.server().executor().find("r1") != nullptr);
    CHECK(std::filesystem::exists(state));  // never stopped
}
