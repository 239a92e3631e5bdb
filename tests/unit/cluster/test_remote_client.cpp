// RemoteClient against a local in-process server (real TLS, scripted replies): register,
// message ids and their wrap, reply matching, reply timeout, drops with synthesized
// completions, notifications, fire-and-forget requests, the IPC proxy bridge.
#include <catch.hpp>

#include <cerrno>

#include "../io/raw_peers.hpp"
#include "connection/ipc_provider.hpp"
#include "connection/remote_client.hpp"
#include "connection/remote_connection.hpp"
#include "scripted_server.hpp"
#include "test_provider.hpp"

using namespace outpost;
using namespace outpost::cluster::connection;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

// Answers register with 1.1 and everything else with rc 0 (exec: call id 100 + msg id).
std::vector<std::string> default_script(const wire::Request& request, ScriptedServer&)
{
    switch (request.op) {
        case wire::Op::register_client:
            return {ScriptedServer::register_reply(request)};
        case wire::Op::rsc_exec:
            return {ScriptedServer::reply(request, 100 + static_cast<int>(request.msg_id))};
        case wire::Op::check:
            return {};
        case wire::Op::poke: {
            wire::GenericNotify notify;
            notify.op = "lrmd_rsc_poke";
            notify.call_id = 5;
            return {ScriptedServer::reply(request, 0), wire::encode(notify)};
        }
        default:
            return {ScriptedServer::reply(request, 0)};
    }
}

struct Fixture {
    ContextPtr context{g_main_context_new()};
    ScriptedServer server;
    std::unique_ptr<RemoteClient> client;

    explicit Fixture(ScriptedServer::Script script = default_script, ClientOptions options = {})
        : server(context.get(), std::move(script))
    {
        options.host = "127.0.0.1";
        options.port = server.port();
        if (options.client_name == "outpost-cluster") options.client_name = "unit-client";
        client = std::make_unique<RemoteClient>(context.get(), server.client_tls(), options);
    }

    Status connect()
    {
        std::optional<Status> outcome;
        client->connect([&](const Status& s) { outcome = s; });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        return *outcome;
    }
};

template <typename R>
void require_ok(const R& result)
{
    INFO((result.ok() ? std::string() : result.error().describe()));
    REQUIRE(result.ok());
}

}  // namespace

TEST_CASE("connect registers with name, provider flag and protocol 1.1; server info is exposed")
{
    ClientOptions options;
    options.client_name = "pacemaker-remote-test:3121";
    options.ipc_provider = true;
    Fixture f(
        [](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
            if (request.op != wire::Op::register_client) return default_script(request, server);
            wire::Reply reply;
            reply.msg_id = request.msg_id;
            reply.origin = std::string(wire::origin::signon);
            reply.op = "register";
            reply.client_id = "abc-123";
            reply.protocol_version = "1.2";
            reply.uptime = 4242;
            reply.node_start_state = "standby";
            return {wire::encode(reply)};
        },
        options);
    require_ok(f.connect());
    CHECK(f.client->connected());
    CHECK(f.client->server().client_id == "abc-123");
    CHECK(f.client->server().protocol_version == "1.2");
    CHECK(f.client->server().uptime_s == 4242);
    CHECK(f.client->server().node_start_state == "standby");
    CHECK_FALSE(f.client->tls_description().empty());

    REQUIRE(f.server.requests.size() == 1);
    const auto& hello = f.server.requests[0];
    CHECK(hello.op == wire::Op::register_client);
    CHECK(hello.msg_id == 1);
    CHECK(hello.client_name == "pacemaker-remote-test:3121");
    CHECK(hello.protocol_version == "1.1");
    CHECK(hello.ipc_provider);
}

TEST_CASE("register refused: the reply's rc, or -EPROTO for a bad protocol version")
{
    SECTION("rc -71")
    {
        Fixture f([](const wire::Request& request, ScriptedServer&) -> std::vector<std::string> {
            return {ScriptedServer::register_reply(request, "1.1", -71)};
        });
        auto status = f.connect();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().code == -71);
        CHECK_FALSE(f.client->connected());
    }
    SECTION("version 2.0")
    {
        Fixture f([](const wire::Request& request, ScriptedServer&) -> std::vector<std::string> {
            return {ScriptedServer::register_reply(request, "2.0")};
        });
        auto status = f.connect();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().code == -EPROTO);
    }
    SECTION("no register reply within the reply timeout")
    {
        ClientOptions options;
        options.reply_timeout = 200ms;
        Fixture f([](const wire::Request&, ScriptedServer&) -> std::vector<std::string> { return {}; },
                  options);
        auto status = f.connect();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().code == -ETIMEDOUT);
    }
}

TEST_CASE("connect failures come from io: refused port, wrong key")
{
    ContextPtr context(g_main_context_new());
    ScriptedServer server(context.get(), default_script);
    SECTION("nothing listening")
    {
        ClientOptions options;
        options.host = "127.0.0.1";
        options.port = 1;  // privileged and unused here
        RemoteClient client(context.get(), server.client_tls(), options);
        std::optional<Status> outcome;
        client.connect([&](const Status& s) { outcome = s; });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        REQUIRE_FALSE(outcome->ok());
        CHECK(outcome->error().code == -ECONNREFUSED);
    }
    SECTION("wrong key")
    {
        ClientOptions options;
        options.host = "127.0.0.1";
        options.port = server.port();
        auto tls = test::psk_client(random_bytes(256));
        RemoteClient client(context.get(), tls, options);
        std::optional<Status> outcome;
        client.connect([&](const Status& s) { outcome = s; });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        REQUIRE_FALSE(outcome->ok());
        CHECK(outcome->error().code == -EKEYREJECTED);
    }
}

TEST_CASE("message ids start at 1, grow by one and wrap to 1")
{
    ClientOptions options;
    options.max_msg_id = 3;
    Fixture f(default_script, options);
    require_ok(f.connect());
    for (int i = 0; i < 4; ++i) {
        bool done = false;
        f.client->register_rsc("r" + std::to_string(i), "ocf", "heartbeat", "Dummy", [&](const Status& s) {
            CHECK(s.ok());
            done = true;
        });
        REQUIRE(run_until(f.context.get(), [&] { return done; }));
    }
    std::vector<std::uint64_t> ids;
    for (const auto& request : f.server.requests)
        ids.push_back(request.msg_id);
    CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 1, 2});
    // Fire-and-forget requests take ids too.
    require_ok(f.client->poke());
    CHECK(f.client->last_msg_id() == 3);
}

TEST_CASE("replies are matched by message id, whatever their order")
{
    std::vector<wire::Request> held;
    Fixture f([&](const wire::Request& request, ScriptedServer&) -> std::vector<std::string> {
        if (request.op == wire::Op::register_client) return {ScriptedServer::register_reply(request)};
        held.push_back(request);
        if (held.size() < 2) return {};
        // Answer the second first; rsc_info replies carry the resource they describe.
        std::vector<std::string> out;
        for (auto it = held.rbegin(); it != held.rend(); ++it) {
            wire::Reply reply;
            reply.msg_id = it->msg_id;
            reply.origin = std::string(wire::origin::rsc_info);
            reply.rsc_info = wire::RscInfo{*it->rsc->id, "ocf", "pacemaker", "Dummy-" + *it->rsc->id};
            out.push_back(wire::encode(reply));
        }
        return out;
    });
    require_ok(f.connect());
    std::optional<wire::RscInfo> a;
    std::optional<wire::RscInfo> b;
    f.client->rsc_info("a", [&](const Result<std::optional<wire::RscInfo>>& r) {
        require_ok(r);
        a = **r;
    });
    f.client->rsc_info("b", [&](const Result<std::optional<wire::RscInfo>>& r) {
        require_ok(r);
        b = **r;
    });
    REQUIRE(run_until(f.context.get(), [&] { return a && b; }));
    CHECK(a->id == "a");
    CHECK(a->type == "Dummy-a");
    CHECK(b->id == "b");
    CHECK(f.client->pending_requests() == 0);
}

TEST_CASE("typed operations: rsc_info unknown, exec call id, cancel -95, unregister -115, get_recurring")
{
    Fixture f([](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
        switch (request.op) {
            case wire::Op::rsc_info:
                return {ScriptedServer::reply(request, -ENODEV)};
            case wire::Op::rsc_cancel:
                return {ScriptedServer::reply(request, -EOPNOTSUPP)};
            case wire::Op::rsc_unregister:
                return {ScriptedServer::reply(request, -EINPROGRESS)};
            case wire::Op::get_recurring: {
                wire::Reply reply;
                reply.msg_id = request.msg_id;
                reply.recurring.push_back({"r1", {{"monitor", 10000, 20000}}});
                return {wire::encode(reply)};
            }
            default:
                return default_script(request, server);
        }
    });
    require_ok(f.connect());
    int done = 0;
    f.client->rsc_info("nope", [&](const Result<std::optional<wire::RscInfo>>& r) {
        require_ok(r);
        CHECK_FALSE(r->has_value());
        ++done;
    });
    ExecRequest exec;
    exec.rsc_id = "r1";
    exec.action = "monitor";
    exec.interval_ms = 10000;
    exec.params.insert("1digit", "v");
    f.client->exec(exec, [&](Result<int> r) {
        require_ok(r);
        CHECK(*r > 100);
        ++done;
    });
    f.client->cancel("r1", "monitor", 5, [&](const Status& s) {
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().code == -EOPNOTSUPP);
        ++done;
    });
    f.client->unregister_rsc("r1", [&](const Status& s) {
        CHECK(s.ok());
        ++done;
    });
    f.client->get_recurring("", [&](Result<std::vector<wire::RecurringList>> r) {
        require_ok(r);
        REQUIRE(r->size() == 1);
        CHECK((*r)[0].ops[0].interval_ms == 10000);
        ++done;
    });
    REQUIRE(run_until(f.context.get(), [&] { return done == 5; }));
    // The recurring exec was tracked until the unregister of its resource succeeded.
    CHECK(f.client->pending_execs() == 0);
    const auto& sent = f.server.requests[2];
    CHECK(sent.op == wire::Op::rsc_exec);
    REQUIRE(sent.rsc);
    CHECK(sent.rsc->interval_ms == 10000u);
    CHECK(sent.rsc->params.find("1digit") != nullptr);
    CHECK_FALSE(f.server.requests[5].rsc.has_value());  // get_recurring for every resource
}

TEST_CASE("exec completion notifies reach every subscriber with every field")
{
    Fixture f;
    require_ok(f.connect());
    std::vector<ExecEvent> first;
    std::vector<ExecEvent> second;
    Handlers h1;
    h1.exec = [&](const ExecEvent& e) { first.push_back(e); };
    f.client->subscribe(h1);
    Handlers h2;
    h2.exec = [&](const ExecEvent& e) { second.push_back(e); };
    auto id2 = f.client->subscribe(h2);

    ExecRequest exec;
    exec.rsc_id = "r1";
    exec.action = "start";
    std::optional<int> call_id;
    f.client->exec(exec, [&](Result<int> r) { call_id = *r; });
    REQUIRE(run_until(f.context.get(), [&] { return call_id.has_value(); }));
    CHECK(f.client->pending_execs() == 1);

    wire::ExecNotify notify;
    notify.call_id = *call_id;
    notify.rsc_id = "r1";
    notify.action = "start";
    notify.exec_rc = 0;
    notify.exit_reason = "fine";
    notify.output = "out";
    notify.run_time = 1700000000;
    // A newline travels as backslash+n (docs/protocol.md 2.4), so the value a 2.1.5 peer sends.
    notify.params.insert("a", "quote\" and\\nnewline");
    f.server.send(wire::encode(notify));
    REQUIRE(run_until(f.context.get(), [&] { return first.size() == 1 && second.size() == 1; }));
    CHECK(first[0].notify == notify);
    CHECK_FALSE(first[0].synthesized);
    CHECK(f.client->pending_execs() == 0);

    f.client->unsubscribe(id2);
    f.server.send(wire::encode(notify));
    REQUIRE(run_until(f.context.get(), [&] { return first.size() == 2; }));
    loop_for(f.context.get(), 50ms);
    CHECK(second.size() == 1);
}

TEST_CASE("a dropped connection fails pending requests and synthesizes pending exec completions")
{
    Fixture f([](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
        if (request.op == wire::Op::rsc_info) return {};  // never answered
        return default_script(request, server);
    });
    require_ok(f.connect());
    std::vector<ExecEvent> events;
    std::optional<Error> closed;
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& e) { events.push_back(e); };
    handlers.closed = [&](const Error& e) { closed = e; };
    f.client->subscribe(handlers);

    ExecRequest exec;
    exec.rsc_id = "r1";
    exec.action = "start";
    exec.userdata = "transition-key";
    exec.timeout_ms = 1234;
    exec.params.insert("x", "1");
    std::optional<int> call_id;
    f.client->exec(exec, [&](Result<int> r) { call_id = *r; });
    REQUIRE(run_until(f.context.get(), [&] { return call_id.has_value(); }));
    std::optional<Error> info_error;
    f.client->rsc_info("r1", [&](const Result<std::optional<wire::RscInfo>>& r) {
        REQUIRE_FALSE(r.ok());
        info_error = r.error();
    });
    REQUIRE(run_until(f.context.get(), [&] { return f.server.requests.size() == 3; }));

    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return closed.has_value(); }));
    REQUIRE(info_error);
    CHECK(info_error->code == -ENOTCONN);
    REQUIRE(events.size() == 1);
    const auto& event = events[0];
    CHECK(event.synthesized);
    CHECK(event.notify.call_id == *call_id);
    CHECK(event.notify.exec_rc == 1);
    CHECK(event.notify.op_status == wire::ExecStatus::not_connected);
    CHECK(event.notify.exit_reason == std::string(kDroppedExitReason));
    CHECK(event.notify.userdata == "transition-key");
    CHECK(event.notify.timeout_ms == 1234u);
    CHECK(event.notify.params == exec.params);
    CHECK_FALSE(f.client->connected());
    CHECK(f.client->pending_execs() == 0);

    // Requests after the drop fail from the loop, not from inside the call.
    bool failed = false;
    f.client->cancel("r1", "start", 0, [&](const Status& s) {
        CHECK(s.error().code == -ENOTCONN);
        failed = true;
    });
    CHECK_FALSE(failed);
    REQUIRE(run_until(f.context.get(), [&] { return failed; }));
}

TEST_CASE("a reply timeout fails the request with -ETIMEDOUT and drops the connection")
{
    ClientOptions options;
    options.reply_timeout = 300ms;
    Fixture f(
        [](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
            if (request.op == wire::Op::rsc_register) return {};
            return default_script(request, server);
        },
        options);
    require_ok(f.connect());
    std::vector<ExecEvent> events;
    std::optional<Error> closed;
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& e) { events.push_back(e); };
    handlers.closed = [&](const Error& e) { closed = e; };
    f.client->subscribe(handlers);
    ExecRequest exec;
    exec.rsc_id = "r1";
    exec.action = "start";
    std::optional<int> call_id;
    f.client->exec(exec, [&](Result<int> r) { call_id = *r; });
    REQUIRE(run_until(f.context.get(), [&] { return call_id.has_value(); }));

    std::optional<Status> outcome;
    auto begin = std::chrono::steady_clock::now();
    f.client->register_rsc("r2", "ocf", "heartbeat", "Dummy", [&](const Status& s) { outcome = s; });
    REQUIRE(run_until(f.context.get(), [&] { return outcome.has_value(); }));
    CHECK(std::chrono::steady_clock::now() - begin >= 290ms);
    REQUIRE_FALSE(outcome->ok());
    CHECK(outcome->error().code == -ETIMEDOUT);
    REQUIRE(closed);
    CHECK(closed->code == -ETIMEDOUT);
    REQUIRE(events.size() == 1);
    CHECK(events[0].synthesized);
    CHECK_FALSE(f.client->connected());
    REQUIRE(run_until(f.context.get(), [&] { return f.server.closed_by_peer == 1; }));
}

TEST_CASE("poke and check are fire-and-forget; the poke notify reaches subscribers")
{
    Fixture f;
    require_ok(f.connect());
    std::vector<wire::GenericNotify> generic;
    Handlers handlers;
    handlers.generic = [&](const wire::GenericNotify& n) { generic.push_back(n); };
    f.client->subscribe(handlers);
    require_ok(f.client->poke());
    require_ok(f.client->check(std::string("10")));
    REQUIRE(run_until(f.context.get(), [&] { return generic.size() == 1 && f.server.requests.size() == 3; }));
    CHECK(generic[0].op == "lrmd_rsc_poke");
    CHECK(f.server.requests[2].op == wire::Op::check);
    CHECK(f.server.requests[2].watchdog == "10");
    CHECK(f.client->pending_requests() == 0);
    loop_for(f.context.get(), 50ms);
    CHECK(f.client->connected());
}

TEST_CASE("request() of an operation the table says is never answered is refused; check() sends it")
{
    Fixture f;
    require_ok(f.connect());
    wire::Request check;
    check.op = wire::Op::check;
    std::optional<Result<wire::Reply>> answer;
    f.client->request(check, [&](Result<wire::Reply> reply) { answer.emplace(std::move(reply)); });
    REQUIRE(run_until(f.context.get(), [&] { return answer.has_value(); }));
    REQUIRE_FALSE(answer->ok());
    CHECK(answer->error().code == -EINVAL);
    CHECK(f.client->pending_requests() == 0);
    loop_for(f.context.get(), 50ms);
    CHECK(f.server.requests.size() == 1);  // register only
    CHECK(f.client->connected());
}

TEST_CASE("alert_exec sends the alert data with notify-orig-only")
{
    Fixture f;
    require_ok(f.connect());
    AlertRequest alert;
    alert.id = "a1";
    alert.path = "/bin/true";
    alert.params.insert("CRM_alert_kind", "node");
    std::optional<Status> outcome;
    f.client->alert_exec(alert, [&](const Status& s) { outcome = s; });
    REQUIRE(run_until(f.context.get(), [&] { return outcome.has_value(); }));
    require_ok(*outcome);
    const auto& sent = f.server.requests.back();
    CHECK(sent.op == wire::Op::alert_exec);
    CHECK(sent.callopts == wire::callopt::notify_orig_only);
    REQUIRE(sent.alert);
    CHECK(sent.alert->path == "/bin/true");
    CHECK(sent.alert->params == alert.params);
}

TEST_CASE("disconnect fails pending work from the loop and does not report a close")
{
    Fixture f([](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
        if (request.op == wire::Op::rsc_info) return {};
        return default_script(request, server);
    });
    require_ok(f.connect());
    bool closed = false;
    Handlers handlers;
    handlers.closed = [&](const Error&) { closed = true; };
    f.client->subscribe(handlers);
    std::optional<Error> failure;
    f.client->rsc_info("x", [&](const Result<std::optional<wire::RscInfo>>& r) { failure = r.error(); });
    loop_for(f.context.get(), 50ms);
    f.client->disconnect();
    CHECK_FALSE(failure.has_value());
    REQUIRE(run_until(f.context.get(), [&] { return failure.has_value(); }));
    CHECK(failure->code == -ENOTCONN);
    CHECK_FALSE(closed);
    REQUIRE(run_until(f.context.get(), [&] { return f.server.closed_by_peer == 1; }));
}

TEST_CASE("a second client's handshake sends new_client to the first")
{
    Fixture f;
    require_ok(f.connect());
    int new_clients = 0;
    Handlers handlers;
    handlers.new_client = [&] { ++new_clients; };
    f.client->subscribe(handlers);
    ClientOptions options;
    options.host = "127.0.0.1";
    options.port = f.server.port();
    RemoteClient second(f.context.get(), f.server.client_tls(), options);
    std::optional<Status> outcome;
    second.connect([&](const Status& s) { outcome = s; });
    REQUIRE(run_until(f.context.get(), [&] { return outcome.has_value() && new_clients == 1; }));
    require_ok(*outcome);
}

TEST_CASE("a callback may destroy the client")
{
    Fixture f([](const wire::Request& request, ScriptedServer& server) -> std::vector<std::string> {
        if (request.op == wire::Op::rsc_info) return {};
        return default_script(request, server);
    });
    require_ok(f.connect());
    int calls = 0;
    f.client->rsc_info("a", [&](const Result<std::optional<wire::RscInfo>>&) {
        ++calls;
        f.client.reset();
    });
    f.client->rsc_info("b", [&](const Result<std::optional<wire::RscInfo>>&) { ++calls; });
    loop_for(f.context.get(), 50ms);
    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return calls >= 1; }));
    loop_for(f.context.get(), 50ms);
    CHECK(calls == 1);
}

TEST_CASE("IPC proxy bridge: sessions reach the provider, answers go back as ipc_fwd")
{
    Fixture f;
    require_ok(f.connect());
    TestProvider provider;
    IpcProxyBridge bridge(*f.client, provider);

    wire::ProxyMessage opened;
    opened.op = "new";
    opened.server = "cib_rw";
    opened.session = "s1";
    f.server.send(wire::encode(opened));
    wire::ProxyMessage reg;
    reg.op = "request";
    reg.session = "s1";
    reg.client = "proxy-cib_rw-1-s1";
    reg.user = "root";
    reg.ipc_msg_id = 1;
    reg.ipc_msg_flags = 768;
    reg.msg = wire::Element{"cib_command", {{"t", "cib"}, {"cib_op", "register"}}, {}};
    f.server.send(wire::encode(reg));
    wire::ProxyMessage stray = reg;
    stray.session = "unknown";
    f.server.send(wire::encode(stray));
    REQUIRE(run_until(f.context.get(), [&] { return f.server.proxies.size() == 2; }));
    CHECK(bridge.session_count() == 1);
    REQUIRE(provider.opened.size() == 1);
    CHECK(provider.opened[0].server == "cib_rw");
    const auto& response = f.server.proxies[0];
    CHECK(response.op == "response");
    CHECK(response.session == "s1");
    CHECK(response.ipc_msg_id == 1u);
    REQUIRE(response.msg);
    CHECK(*response.msg->attr("cib_clientid") == provider.client_id);
    CHECK(f.server.proxies[1].op == "destroy");
    CHECK(f.server.proxies[1].session == "unknown");

    wire::ProxyMessage shutdown;
    shutdown.op = "shutdown_req";
    shutdown.session = "0";
    f.server.send(wire::encode(shutdown));
    wire::ProxyMessage destroyed;
    destroyed.op = "destroy";
    destroyed.session = "s1";
    f.server.send(wire::encode(destroyed));
    REQUIRE(run_until(f.context.get(),
                      [&] { return f.server.proxies.size() == 3 && provider.closed.size() == 1; }));
    CHECK(f.server.proxies[2].op == "shutdown_ack");
    CHECK(provider.shutdown_requests == 1);
    CHECK(bridge.session_count() == 0);
}

TEST_CASE("RemoteConnection adapter: start, monitor via poke, stop against the local server")
{
    ContextPtr context(g_main_context_new());
    ScriptedServer server(context.get(), default_script);
    RemoteConnectionConfig config;
    config.server = "127.0.0.1";
    config.port = server.port();
    RemoteConnection connection(context.get(), server.client_tls(), config);
    std::vector<RaResult> results;
    std::vector<bool> node;
    connection.on_result([&](const RaResult& r) { results.push_back(r); });
    connection.on_node([&](bool up) { node.push_back(up); });

    connection.monitor(5s);
    REQUIRE(results.size() == 1);
    CHECK(results[0].rc == wire::ocf::not_running);

    connection.start(20s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 2; }));
    CHECK(results[1] == RaResult{RaAction::start, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(node == std::vector<bool>{true});
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].client_name == "pacemaker-remote-127.0.0.1:" + std::to_string(server.port()));
    CHECK(server.requests[0].ipc_provider);

    connection.monitor(5s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 3; }));
    CHECK(results[2].action == RaAction::monitor);
    CHECK(results[2].rc == wire::ocf::ok);

    connection.stop(20s);
    REQUIRE(results.size() == 4);
    CHECK(results[3].action == RaAction::stop);
    CHECK(node == std::vector<bool>{true, false});
    REQUIRE(run_until(context.get(), [&] { return server.closed_by_peer == 1; }));
}

TEST_CASE("RemoteConnection adapter: start retries until the server listens, hard error on a wrong key")
{
    ContextPtr context(g_main_context_new());
    SECTION("wrong key: rc 2 without retry")
    {
        ScriptedServer server(context.get(), default_script);
        RemoteConnectionConfig config;
        config.server = "127.0.0.1";
        config.port = server.port();
        auto tls = test::psk_client(random_bytes(64));
        RemoteConnection connection(context.get(), tls, config);
        std::vector<RaResult> results;
        connection.on_result([&](const RaResult& r) { results.push_back(r); });
        connection.start(20s);
        REQUIRE(run_until(context.get(), [&] { return !results.empty(); }));
        CHECK(results[0].rc == wire::ocf::invalid_param);
        CHECK(results[0].status == wire::ExecStatus::error);
    }
    SECTION("refused: retried, then rc 1 status 2 when under 3 s remain")
    {
        ScriptedServer server(context.get(), default_script);
        RemoteConnectionConfig config;
        config.server = "127.0.0.1";
        config.port = 1;
        RemoteConnection connection(context.get(), server.client_tls(), config);
        std::vector<RaResult> results;
        connection.on_result([&](const RaResult& r) { results.push_back(r); });
        auto begin = std::chrono::steady_clock::now();
        connection.start(4500ms);
        REQUIRE(run_until(context.get(), [&] { return !results.empty(); }));
        auto took = std::chrono::steady_clock::now() - begin;
        CHECK(took >= 1000ms);  // at least one retry after 1 s
        CHECK(took < 4000ms);
        CHECK(results[0].rc == wire::ocf::unknown_error);
        CHECK(results[0].status == wire::ExecStatus::timeout);
    }
}

namespace {

wire::ExecNotify completion(int call_id, const ExecRequest& exec, int rc = 0,
                            wire::ExecStatus status = wire::ExecStatus::done)
{
    wire::ExecNotify notify = wire::notify_for(exec, call_id);
    notify.exec_rc = rc;
    notify.op_status = status;
    return notify;
}

// A connected client with a recording subscriber.
struct Recorder {
    std::vector<ExecEvent> execs;
    std::optional<Error> closed;
    int disconnected = 0;
    Handlers handlers()
    {
        Handlers h;
        h.exec = [this](const ExecEvent& e) { execs.push_back(e); };
        h.closed = [this](const Error& e) { closed = e; };
        h.disconnected = [this] { ++disconnected; };
        return h;
    }
    [[nodiscard]] std::vector<ExecEvent> synthesized() const
    {
        std::vector<ExecEvent> out;
        for (const auto& e : execs) {
            if (e.synthesized) out.push_back(e);
        }
        return out;
    }
};

int exec_now(Fixture& f, const ExecRequest& exec)
{
    std::optional<int> call_id;
    f.client->exec(exec, [&](Result<int> r) {
        require_ok(r);
        call_id = *r;
    });
    REQUIRE(run_until(f.context.get(), [&] { return call_id.has_value(); }));
    return *call_id;
}

ExecRequest recurring_monitor(const std::string& rsc = "r1", std::uint32_t interval_ms = 10000)
{
    ExecRequest exec;
    exec.rsc_id = rsc;
    exec.action = "monitor";
    exec.interval_ms = interval_ms;
    exec.userdata = "recurring-" + rsc;
    exec.params.insert("CRM_meta_interval", std::to_string(interval_ms));
    return exec;
}

}  // namespace

TEST_CASE("a recurring exec stays tracked across its results and fails on a drop like a one-shot")
{
    Fixture f;
    require_ok(f.connect());
    Recorder rec;
    f.client->subscribe(rec.handlers());
    ExecRequest monitor = recurring_monitor();
    int monitor_id = exec_now(f, monitor);
    ExecRequest start;
    start.rsc_id = "r2";
    start.action = "start";
    int start_id = exec_now(f, start);
    CHECK(f.client->pending_execs() == 2);

    // Two runs of the recurring monitor: still tracked after each.
    f.server.send(wire::encode(completion(monitor_id, monitor)));
    f.server.send(wire::encode(completion(monitor_id, monitor, 7)));
    REQUIRE(run_until(f.context.get(), [&] { return rec.execs.size() == 2; }));
    CHECK(f.client->pending_execs() == 2);

    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return rec.closed.has_value(); }));
    auto synthesized = rec.synthesized();
    REQUIRE(synthesized.size() == 2);
    std::map<int, ExecEvent> by_id;
    for (const auto& e : synthesized)
        by_id.emplace(e.notify.call_id, e);
    REQUIRE(by_id.count(monitor_id) == 1);
    REQUIRE(by_id.count(start_id) == 1);
    const auto& failed = by_id.at(monitor_id).notify;
    CHECK(failed.exec_rc == kSynthesizedRc);
    CHECK(failed.op_status == kSynthesizedStatus);
    CHECK(failed.exit_reason == std::string(kDroppedExitReason));
    CHECK(failed.interval_ms == 10000u);
    CHECK(failed.userdata == "recurring-r1");
    CHECK(failed.params == monitor.params);
    CHECK(f.client->pending_execs() == 0);
}

TEST_CASE("a recurring exec is forgotten by its cancel notify, a cancel that succeeded, its resource deleted")
{
    Fixture f;
    require_ok(f.connect());
    Recorder rec;
    f.client->subscribe(rec.handlers());

    SECTION("the cancel notify (status cancelled)")
    {
        ExecRequest monitor = recurring_monitor();
        int id = exec_now(f, monitor);
        f.server.send(wire::encode(completion(id, monitor, 0, wire::ExecStatus::cancelled)));
        REQUIRE(run_until(f.context.get(), [&] { return rec.execs.size() == 1; }));
        CHECK(f.client->pending_execs() == 0);
    }
    SECTION("a notify for a deleted resource")
    {
        ExecRequest monitor = recurring_monitor();
        int id = exec_now(f, monitor);
        auto notify = completion(id, monitor);
        notify.rsc_deleted = true;
        f.server.send(wire::encode(notify));
        REQUIRE(run_until(f.context.get(), [&] { return rec.execs.size() == 1; }));
        CHECK(f.client->pending_execs() == 0);
    }
    SECTION("a successful cancel of that op (rsc, action, interval) even before its notify")
    {
        ExecRequest monitor = recurring_monitor("r1", 10000);
        ExecRequest other_interval = recurring_monitor("r1", 20000);
        ExecRequest other_rsc = recurring_monitor("r2", 10000);
        (void)exec_now(f, monitor);
        (void)exec_now(f, other_interval);
        (void)exec_now(f, other_rsc);
        std::optional<Status> cancelled;
        f.client->cancel("r1", "monitor", 10000, [&](const Status& s) { cancelled = s; });
        REQUIRE(run_until(f.context.get(), [&] { return cancelled.has_value(); }));
        require_ok(*cancelled);
        CHECK(f.client->pending_execs() == 2);
    }
    SECTION("a one-shot is forgotten by its first notify, whatever the status")
    {
        ExecRequest start;
        start.rsc_id = "r1";
        start.action = "start";
        int id = exec_now(f, start);
        f.server.send(wire::encode(completion(id, start, 1, wire::ExecStatus::timeout)));
        REQUIRE(run_until(f.context.get(), [&] { return rec.execs.size() == 1; }));
        CHECK(f.client->pending_execs() == 0);
    }
    // Whatever was forgotten is not failed by a drop.
    const std::size_t tracked = f.client->pending_execs();
    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return rec.closed.has_value(); }));
    CHECK(rec.synthesized().size() == tracked);
}

TEST_CASE("disconnect(): tracked execs (recurring too) get synthesized completions, then disconnected")
{
    Fixture f;
    require_ok(f.connect());
    Recorder rec;
    f.client->subscribe(rec.handlers());
    ExecRequest monitor = recurring_monitor();
    int id = exec_now(f, monitor);
    f.server.send(wire::encode(completion(id, monitor)));
    REQUIRE(run_until(f.context.get(), [&] { return rec.execs.size() == 1; }));

    f.client->disconnect();
    CHECK(rec.disconnected == 0);  // never from inside the call
    REQUIRE(run_until(f.context.get(), [&] { return rec.disconnected == 1; }));
    REQUIRE(rec.synthesized().size() == 1);
    CHECK(rec.synthesized()[0].notify.call_id == id);
    CHECK(rec.execs.back().synthesized);  // the completions came before `disconnected`
    CHECK_FALSE(rec.closed.has_value());
    // Once only.
    f.client->disconnect();
    loop_for(f.context.get(), 50ms);
    CHECK(rec.disconnected == 1);
}

TEST_CASE("lose(): the peer known dead, in-flight execs fail and `closed` runs at once, as on a drop")
{
    Fixture f;
    require_ok(f.connect());
    Recorder rec;
    f.client->subscribe(rec.handlers());
    ExecRequest start;
    start.rsc_id = "r2";
    start.action = "start";
    const int id = exec_now(f, start);
    std::optional<Status> pending;
    f.client->rsc_info("r3", [&](const Result<std::optional<wire::RscInfo>>& r) {
        pending = r ? Status() : Status(r.error());
    });

    // The server stays open (a dead VM sends no FIN): nothing but lose() ends the start.
    f.client->lose("its container vm1 died");
    REQUIRE(rec.synthesized().size() == 1);  // from inside the call
    CHECK(rec.synthesized()[0].notify.call_id == id);
    CHECK(rec.synthesized()[0].notify.exec_rc == kSynthesizedRc);
    CHECK(rec.synthesized()[0].notify.op_status == kSynthesizedStatus);
    CHECK(rec.synthesized()[0].notify.exit_reason == std::string(kDroppedExitReason));
    REQUIRE(rec.closed.has_value());
    CHECK(rec.closed->code == -EHOSTDOWN);
    CHECK(rec.closed->message == "its container vm1 died");
    CHECK(rec.disconnected == 0);
    REQUIRE(pending.has_value());
    CHECK_FALSE(pending->ok());
    CHECK_FALSE(f.client->connected());
    // Once only.
    f.client->lose("again");
    CHECK(rec.synthesized().size() == 1);
}

TEST_CASE("disconnect() before registration reports no disconnected event")
{
    Fixture f([](const wire::Request&, ScriptedServer&) -> std::vector<std::string> { return {}; });
    Recorder rec;
    f.client->subscribe(rec.handlers());
    std::optional<Status> outcome;
    f.client->connect([&](const Status& s) { outcome = s; });
    loop_for(f.context.get(), 100ms);
    f.client->disconnect();
    REQUIRE(run_until(f.context.get(), [&] { return outcome.has_value(); }));
    CHECK(outcome->error().code == -ECANCELED);
    loop_for(f.context.get(), 50ms);
    CHECK(rec.disconnected == 0);
    CHECK_FALSE(rec.closed.has_value());
}

TEST_CASE("IPC proxy bridge: disconnect() closes the open sessions towards the provider")
{
    Fixture f;
    require_ok(f.connect());
    TestProvider provider;
    IpcProxyBridge bridge(*f.client, provider);
    for (const char* session : {"s1", "s2"}) {
        wire::ProxyMessage opened;
        opened.op = "new";
        opened.server = "cib_ro";
        opened.session = session;
        f.server.send(wire::encode(opened));
    }
    REQUIRE(run_until(f.context.get(), [&] { return bridge.session_count() == 2; }));
    f.client->disconnect();
    REQUIRE(run_until(f.context.get(), [&] { return bridge.session_count() == 0; }));
    CHECK(provider.closed.size() == 2);
}

TEST_CASE("IPC proxy bridge: a dropped connection closes the open sessions towards the provider")
{
    Fixture f;
    require_ok(f.connect());
    TestProvider provider;
    IpcProxyBridge bridge(*f.client, provider);
    wire::ProxyMessage opened;
    opened.op = "new";
    opened.server = "attrd";
    opened.session = "s1";
    f.server.send(wire::encode(opened));
    REQUIRE(run_until(f.context.get(), [&] { return bridge.session_count() == 1; }));
    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return bridge.session_count() == 0; }));
    CHECK(provider.closed == std::vector<std::string>{"s1"});
}

TEST_CASE("connect: a TCP connect timeout and a TLS handshake timeout are told apart by their phase")
{
    ContextPtr context(g_main_context_new());
    auto tls = test::psk_client(random_bytes(32));
    ClientOptions options;
    options.host = "127.0.0.1";
    options.connect_timeout = 300ms;
    options.handshake_timeout = 300ms;
    auto connect = [&](std::uint16_t port) {
        options.port = port;
        RemoteClient client(context.get(), tls, options);
        std::optional<Status> outcome;
        client.connect([&](const Status& s) { outcome = s; });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        REQUIRE_FALSE(outcome->ok());
        return outcome->error();
    };
    FullBacklog full;
    Error tcp = connect(full.port);
    INFO(tcp.describe());
    CHECK(tcp.code == -ETIMEDOUT);
    CHECK(io::failed_phase(tcp) == io::ConnectPhase::connect);
    SilentPeer silent;
    Error tls_timeout = connect(silent.port);
    INFO(tls_timeout.describe());
    CHECK(tls_timeout.code == -ETIMEDOUT);
    CHECK(io::failed_phase(tls_timeout) == io::ConnectPhase::handshake);
}

TEST_CASE(
    "RemoteConnection adapter: a TLS handshake timeout is a hard start failure, a connect timeout is retried")
{
    ContextPtr context(g_main_context_new());
    auto tls = test::psk_client(random_bytes(32));
    RemoteConnectionConfig config;
    config.server = "127.0.0.1";
    config.handshake_timeout = 300ms;
    std::vector<RaResult> results;

    SECTION("silent TCP peer: rc 2 status 4 after one handshake timeout, no retry")
    {
        SilentPeer silent;
        config.port = silent.port;
        RemoteConnection connection(context.get(), tls, config);
        connection.on_result([&](const RaResult& r) { results.push_back(r); });
        auto begin = std::chrono::steady_clock::now();
        connection.start(20s);
        REQUIRE(run_until(context.get(), [&] { return !results.empty(); }));
        auto took = std::chrono::steady_clock::now() - begin;
        CHECK(took >= 290ms);
        CHECK(took < 1000ms);  // no 1 s retry happened
        CHECK(results[0].rc == wire::ocf::invalid_param);
        CHECK(results[0].status == wire::ExecStatus::error);
        CHECK(results[0].exit_reason.find("TLS handshake") != std::string::npos);
        CHECK(connection.machine().state() == RemoteConnectionMachine::State::stopped);
        CHECK(connection.machine().failed_at().has_value());
    }
    SECTION("full backlog: a TCP connect timeout is not a hard error (rc 1 status 2 at the deadline)")
    {
        FullBacklog full;
        config.port = full.port;
        RemoteConnection connection(context.get(), tls, config);
        connection.on_result([&](const RaResult& r) { results.push_back(r); });
        auto begin = std::chrono::steady_clock::now();
        // The attempt gets the op's 3.5 s (under the 10 s cap) and times out with it.
        connection.start(3500ms);
        REQUIRE(run_until(
            context.get(), [&] { return !results.empty(); }, 10s));
        auto took = std::chrono::steady_clock::now() - begin;
        CHECK(took >= 3400ms);
        CHECK(results[0].rc == wire::ocf::unknown_error);
        CHECK(results[0].status == wire::ExecStatus::timeout);
    }
}

TEST_CASE(
    "RemoteConnection adapter: stop during a one-shot monitor; the restarted connection survives its timer")
{
    ContextPtr context(g_main_context_new());
    bool answer_pokes = false;
    ScriptedServer server(context.get(), [&](const wire::Request& request, ScriptedServer& s) {
        if (request.op == wire::Op::poke && !answer_pokes) return std::vector<std::string>{};
        return default_script(request, s);
    });
    RemoteConnectionConfig config;
    config.server = "127.0.0.1";
    config.port = server.port();
    RemoteConnection connection(context.get(), server.client_tls(), config);
    std::vector<RaResult> results;
    connection.on_result([&](const RaResult& r) { results.push_back(r); });

    connection.start(20s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 1; }));
    connection.monitor(400ms);  // its poke is never answered
    loop_for(context.get(), 50ms);
    connection.stop(5s);
    REQUIRE(results.size() == 3);
    CHECK(results[1] ==
          RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::cancelled, kReasonCancelledByStop});
    CHECK(results[2].action == RaAction::stop);

    answer_pokes = true;
    connection.start(20s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 4; }));
    CHECK(results[3].rc == wire::ocf::ok);
    loop_for(context.get(), 600ms);  // past the old monitor's timeout
    CHECK(results.size() == 4);      // no spurious monitor failure
    CHECK(connection.machine().connected());
    REQUIRE(connection.client() != nullptr);
    connection.monitor(2s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 5; }));
    CHECK(results[4] == RaResult{RaAction::monitor, wire::ocf::ok, wire::ExecStatus::done, ""});
    connection.stop(5s);
}
