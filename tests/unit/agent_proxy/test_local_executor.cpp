// The lrmd local IPC service end to end inside one process: the real Server (TLS listener
// on loopback, real Executor running a shell OCF agent) with the real IpcProxy attached,
// raw libqb clients speaking the 2.1.5 IPC framing (what liblrmd sends), and our TLS
// client where the last-client rule needs one. Service names get a unique prefix so they
// cannot clash with a cluster stack on this machine. libqb client calls run on a thread
// while the test thread turns the agent's GLib context.
#include <glib.h>
#include <qb/qbipcc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor/process_spawner.hpp"
#include "io/connection.hpp"
#include "io/offload.hpp"
#include "io/source.hpp"
#include "ipc/header.hpp"
#include "proxy/proxy.hpp"
#include "server/server.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "support/raw_client.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/codes.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::agent;
using namespace outpost::agent::proxy;
using namespace std::chrono_literals;
using outpost::test::ContextPtr;
using outpost::test::loop_for;
using outpost::test::PskKey;
using outpost::test::run_until;
using outpost::test::TempDir;

namespace {

constexpr std::size_t kClientBuffer = std::size_t{128} * 1024;
constexpr std::uint32_t kWantsResponse = wire::ipc_flag::client_response;

constexpr const char* kAgent = R"(#!/bin/sh
case "$1" in
start) : > "$OCF_RESKEY_state"; exit 0 ;;
stop) rm -f "$OCF_RESKEY_state"; exit 0 ;;
monitor) [ -f "$OCF_RESKEY_state" ] && exit 0; exit 7 ;;
meta-data) echo '<resource-agent name="Dummy"/>'; exit 0 ;;
*) exit 3 ;;
esac
)";

struct Received {
    ssize_t rc = 0;
    std::optional<ipc::Message> message;
};

class Bench {
public:
    Bench() : spawner_(context())
    {
        static int counter = 0;
        prefix_ = "outpost-lrmd-ut-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-";
        dir_.write("resource.d/test/Dummy", kAgent, 0755);

        server::ServerConfig config;
        config.address = "127.0.0.1";
        config.port = 0;
        config.handle_signals = false;
        config.executor.paths.ocf_root = dir_.path();
        config.executor.paths.ocf_ra_path = {dir_.file("resource.d")};
        config.executor.paths.working_dir = dir_.path();
        auto created = server::Server::create(context(), key_.server_tls(), spawner_, config, [](int) {});
        INFO((created.ok() ? std::string() : created.error().describe()));
        REQUIRE(created.ok());
        server_ = std::move(created).value();

        ProxyOptions options;
        options.name_prefix = prefix_;
        auto proxy = IpcProxy::create(context(), options);
        INFO((proxy.ok() ? std::string() : proxy.error().describe()));
        REQUIRE(proxy.ok());
        proxy_ = std::move(proxy).value();
        proxy_->attach_host(server_.get());
        server_->attach_proxy(proxy_.get());
    }
    ~Bench()
    {
        for (auto* c : clients_)
            qb_ipcc_disconnect(c);
        server_->attach_proxy(nullptr);
        proxy_->attach_host(nullptr);
        proxy_.reset();
        server_.reset();
    }
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;

    GMainContext* context() { return context_.get(); }
    server::Server& server() { return *server_; }
    IpcProxy& proxy() { return *proxy_; }
    [[nodiscard]] const std::string& key() const { return key_.bytes(); }
    [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }

    template <typename T>
    T client(std::function<T()> work)
    {
        std::optional<T> result;
        std::atomic<bool> done{false};
        std::thread worker([&] {
            result = work();
            done = true;
        });
        run_until(
            context(), [&] { return done.load(); }, 10s);
        worker.join();
        return std::move(*result);
    }

    qb_ipcc_connection_t* connect()
    {
        std::string name = prefix_ + "lrmd";
        auto* c = client<qb_ipcc_connection_t*>([&] { return qb_ipcc_connect(name.c_str(), kClientBuffer); });
        if (c != nullptr) clients_.push_back(c);
        return c;
    }
    void disconnect(qb_ipcc_connection_t* c)
    {
        client<int>([&] {
            qb_ipcc_disconnect(c);
            return 0;
        });
        std::erase(clients_, c);
    }

    ssize_t send(qb_ipcc_connection_t* c, std::int32_t id, const std::string& xml,
                 std::uint32_t flags = kWantsResponse)
    {
        auto bytes = ipc::encode_message(id, xml, flags);
        REQUIRE(bytes.ok());
        return client<ssize_t>([&] { return qb_ipcc_send(c, bytes->data(), bytes->size()); });
    }
    Received receive(qb_ipcc_connection_t* c, bool event, int32_t timeout_ms = 3000)
    {
        return client<Received>([&] {
            std::string buffer(4 * kClientBuffer, '\0');
            Received received;
            received.rc = event ? qb_ipcc_event_recv(c, buffer.data(), buffer.size(), timeout_ms)
                                : qb_ipcc_recv(c, buffer.data(), buffer.size(), timeout_ms);
            if (received.rc > 0) {
                auto decoded = ipc::decode_message(buffer.data(), static_cast<std::size_t>(received.rc));
                if (decoded.ok()) received.message = std::move(decoded).value();
            }
            return received;
        });
    }
    // Sends a request and returns its response (REQUIREd to come, with the request's id).
    ipc::Message request(qb_ipcc_connection_t* c, std::int32_t id, const std::string& xml)
    {
        REQUIRE(send(c, id, xml) > 0);
        auto response = receive(c, false);
        INFO("request " << xml << " -> rc " << response.rc);
        REQUIRE(response.message);
        CHECK(response.message->header.id == id);
        return *response.message;
    }
    // The next event whose XML contains `part`, skipping others; nullopt on timeout.
    std::optional<ipc::Message> event_with(qb_ipcc_connection_t* c, const std::string& part, int tries = 10)
    {
        for (int i = 0; i < tries; ++i) {
            auto event = receive(c, true, 1000);
            if (event.message && event.message->xml.find(part) != std::string::npos) return event.message;
        }
        return std::nullopt;
    }

private:
    ContextPtr context_{g_main_context_new()};
    TempDir dir_{"outpost-lrmd"};
    std::string prefix_;
    PskKey key_;
    executor::ProcessSpawner spawner_;
    std::unique_ptr<server::Server> server_;
    std::unique_ptr<IpcProxy> proxy_;
    std::vector<qb_ipcc_connection_t*> clients_;
};

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

std::string attribute(const std::string& xml, const std::string& name)
{
    auto root = wire::parse_xml(xml);
    if (!root.ok()) return {};
    const std::string* value = root->attr(name);
    return value != nullptr ? *value : std::string();
}

std::string rsc_register(const std::string& rsc, int callopts = 0)
{
    return R"(<lrmd_command __name__="lrmd_command" t="lrmd" lrmd_op="lrmd_rsc_register" lrmd_callopt=")" +
           std::to_string(callopts) + R"("><lrmd_calldata><lrmd_rsc lrmd_rsc_id=")" + rsc +
           R"(" lrmd_class="ocf" lrmd_provider="test" lrmd_type="Dummy"/></lrmd_calldata></lrmd_command>)";
}

std::string exec(const std::string& rsc, const std::string& action, const std::string& state,
                 int interval = 0)
{
    return R"(<lrmd_command __name__="lrmd_command" t="lrmd" lrmd_op="lrmd_rsc_exec" lrmd_callopt="0"><lrmd_calldata><lrmd_rsc lrmd_rsc_id=")" +
           rsc + R"(" lrmd_rsc_action=")" + action + R"(" lrmd_rsc_userdata_str="u" lrmd_rsc_interval=")" +
           std::to_string(interval) +
           R"(" lrmd_timeout="20000" lrmd_rsc_start_delay="0"><attributes state=")" + state +
           R"("/></lrmd_rsc></lrmd_calldata></lrmd_command>)";
}

constexpr const char* kPoke = R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_poke"/>)";

}  // namespace

TEST_CASE("lrmd: a local client is an executor client, answered as 2.1.5 answers", "[proxy][lrmd]")
{
    Bench bench;
    auto* c = bench.connect();
    REQUIRE(c != nullptr);
    REQUIRE(run_until(bench.context(), [&] { return bench.server().local_executor_count() == 1; }));
    CHECK(bench.proxy().local_client_count() == 1);

    auto hello = bench.request(
        c, 1,
        R"(<lrmd_command t="lrmd" lrmd_op="register" lrmd_clientname="ut" lrmd_protocol_version="1.1"/>)");
    CHECK(hello.header.flags == wire::ipc_flag::server_free);
    CHECK_FALSE(contains(hello.xml, "lrmd_remote_msg"));
    CHECK(attribute(hello.xml, "lrmd_op") == "register");
    CHECK(attribute(hello.xml, "lrmd_rc") == "0");
    auto sessions = bench.proxy().session_ids();
    REQUIRE(sessions.size() == 1);
    CHECK(attribute(hello.xml, "lrmd_clientid") == sessions[0]);

    auto registered = bench.request(c, 2, rsc_register("r1"));
    CHECK(attribute(registered.xml, "lrmd_rc") == "0");
    auto notify = bench.event_with(c, "lrmd_rsc_register");
    REQUIRE(notify);
    CHECK(notify->header.flags == (wire::ipc_flag::server_event | wire::ipc_flag::server_free));
    CHECK_FALSE(contains(notify->xml, "lrmd_remote_msg"));

    auto queued = bench.request(c, 3, exec("r1", "monitor", bench.file("r1.state")));
    const std::string call_id = attribute(queued.xml, "lrmd_rc");
    CHECK(std::stoi(call_id) > 0);
    CHECK(attribute(queued.xml, "lrmd_callid") == call_id);
    auto result = bench.event_with(c, "send_cmd_complete_notify");
    REQUIRE(result);
    CHECK(attribute(result->xml, "lrmd_callid") == call_id);
    CHECK(attribute(result->xml, "lrmd_exec_rc") == "7");
    CHECK(result->header.id > notify->header.id);  // events are numbered

    // A second, unnamed client: the first hears of it, and it gets notifications too.
    auto* other = bench.connect();
    REQUIRE(other != nullptr);
    CHECK(bench.event_with(c, "lrmd_rsc_new_client"));
    auto poked = bench.request(other, 1, kPoke);
    CHECK(attribute(poked.xml, "lrmd_rc") == "0");
    CHECK(bench.event_with(other, "lrmd_rsc_poke"));
    CHECK(bench.event_with(c, "lrmd_rsc_poke"));

    bench.disconnect(other);
    REQUIRE(run_until(bench.context(), [&] { return bench.server().local_executor_count() == 1; }));
    CHECK(bench.proxy().local_client_count() == 1);
}

TEST_CASE("lrmd: what 2.1.5 does not answer gets no answer, and the client stays", "[proxy][lrmd]")
{
    Bench bench;
    auto* c = bench.connect();
    REQUIRE(c != nullptr);
    REQUIRE(run_until(bench.context(), [&] { return bench.server().local_executor_count() == 1; }));
    const int calls = bench.server().dispatcher().last_call_id();

    SECTION("a request that does not ask for a response is dropped (no call id)")
    {
        REQUIRE(bench.send(c, 1, kPoke, 0) > 0);
        loop_for(bench.context(), 200ms);
        CHECK(bench.receive(c, true, 300).rc < 0);
        CHECK(bench.server().dispatcher().last_call_id() == calls);
    }
    SECTION("XML that does not parse")
    {
        REQUIRE(bench.send(c, 1, "not xml <") > 0);
        CHECK(bench.receive(c, false, 300).rc < 0);
    }
    SECTION("lrmd_check (its call id is used)")
    {
        REQUIRE(bench.send(c, 1, R"(<lrmd_command t="lrmd" lrmd_op="lrmd_check"/>)") > 0);
        CHECK(bench.receive(c, false, 300).rc < 0);
        CHECK(bench.server().dispatcher().last_call_id() == calls + 1);
    }
    auto poked = bench.request(c, 2, kPoke);
    CHECK(attribute(poked.xml, "lrmd_rc") == "0");
}

TEST_CASE("lrmd: a local client asking to be an IPC provider gets -13", "[proxy][lrmd]")
{
    Bench bench;
    auto* c = bench.connect();
    REQUIRE(c != nullptr);
    auto reply = bench.request(
        c, 1,
        R"(<lrmd_command t="lrmd" lrmd_op="register" lrmd_clientname="p" lrmd_protocol_version="1.1" lrmd_is_ipc_provider="true"/>)");
    CHECK(attribute(reply.xml, "lrmd_rc") == "-13");
    CHECK_FALSE(attribute(reply.xml, "lrmd_clientid").empty());
    CHECK_FALSE(bench.server().newest_provider().has_value());
    // Provider traffic cannot reach a local executor session either.
    auto sessions = bench.proxy().session_ids();
    REQUIRE(sessions.size() == 1);
    CHECK_FALSE(bench.proxy().has_session(sessions[0]));  // not a proxied session
    CHECK_FALSE(bench.proxy().deliver_event(sessions[0], "<x/>"));
    CHECK_FALSE(bench.proxy().deliver_response(sessions[0], 1, "<x/>"));
    bench.proxy().destroy_session(sessions[0]);
    CHECK(bench.proxy().local_client_count() == 1);
}

TEST_CASE("lrmd: a local client counts for the last-client rule (docs/protocol.md 5.12)", "[proxy][lrmd]")
{
    Bench bench;
    // A TLS client comes and goes while the local client holds a drop-recurring monitor.
    auto remote = test::RawClient::open(bench.context(), "127.0.0.1", bench.server().port(),
                                        test::psk_client(bench.key()));
    REQUIRE(run_until(bench.context(), [&] { return bench.server().client_count() == 1; }));

    auto* c = bench.connect();
    REQUIRE(c != nullptr);
    std::string state = bench.file("r2.state");
    CHECK(attribute(bench.request(c, 1, rsc_register("r2", 3)).xml, "lrmd_rc") == "0");
    (void)bench.request(c, 2, exec("r2", "start", state));
    REQUIRE(bench.event_with(c, R"(lrmd_rsc_action="start")"));
    (void)bench.request(c, 3, exec("r2", "monitor", state, 100));
    REQUIRE(bench.event_with(c, R"(lrmd_rsc_action="monitor")"));

    auto monitors = [&] {
        auto recurring = bench.server().executor().recurring("r2");
        REQUIRE(recurring.has_value());
        REQUIRE(recurring->size() == 1);
        return (*recurring)[0].ops.size();
    };
    remote.reset();
    REQUIRE(run_until(bench.context(), [&] { return bench.server().client_count() == 0; }));
    loop_for(bench.context(), 300ms);
    CHECK(monitors() == 1);  // the local client is still there

    bench.disconnect(c);
    REQUIRE(run_until(bench.context(), [&] { return bench.proxy().local_client_count() == 0; }));
    loop_for(bench.context(), 100ms);
    CHECK(monitors() == 0);
    CHECK(bench.server().executor().find("r2") != nullptr);
    CHECK(std::filesystem::exists(state));
}

TEST_CASE("lrmd: a large request is read off the loop, and what follows waits for it", "[proxy][lrmd]")
{
    Bench bench;
    auto* c = bench.connect();
    REQUIRE(c != nullptr);
    REQUIRE(run_until(bench.context(), [&] { return bench.server().local_executor_count() == 1; }));
    // Over io::kOffloadAbove uncompressed (compressed by the client: it exceeds its buffer).
    const std::string extra = "<extra>" + std::string(std::size_t{1} << 20, 'x') + "</extra>";
    const std::string large = R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_info"><lrmd_calldata>)"
                              R"(<lrmd_rsc lrmd_rsc_id="none"/></lrmd_calldata>)" +
                              extra + "</lrmd_command>";
    REQUIRE(large.size() > io::kOffloadAbove);

    SECTION("answered, and a poke sent right behind it is answered after it")
    {
        REQUIRE(bench.send(c, 1, large) > 0);
        REQUIRE(bench.send(c, 2, kPoke) > 0);
        auto first = bench.receive(c, false);
        REQUIRE(first.message);
        CHECK(first.message->header.id == 1);
        CHECK(attribute(first.message->xml, "lrmd_rc") == std::to_string(wire::rc::no_device));
        auto second = bench.receive(c, false);
        REQUIRE(second.message);
        CHECK(second.message->header.id == 2);
        CHECK(attribute(second.message->xml, "lrmd_rc") == "0");
    }
    SECTION("one that does not parse gets no answer, one that asks for none neither; the client stays")
    {
        REQUIRE(bench.send(c, 1, large.substr(0, large.size() - 3)) > 0);
        REQUIRE(bench.send(c, 2, large, 0) > 0);
        CHECK(bench.receive(c, false, 500).rc < 0);
        CHECK(attribute(bench.request(c, 3, kPoke).xml, "lrmd_rc") == "0");
    }
    SECTION("a client that leaves while its request is read is forgotten")
    {
        REQUIRE(bench.send(c, 1, large) > 0);
        bench.disconnect(c);
        REQUIRE(run_until(bench.context(), [&] { return bench.server().local_executor_count() == 0; }));
        loop_for(bench.context(), 300ms);
    }
}
