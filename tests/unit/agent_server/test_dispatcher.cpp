// Dispatcher unit tests: the rc table of every op, call-id sequencing, the register reply,
// the protocol version check (versions compare as util/version.hpp says, tested there), notification
// targeting and ordering, lrmd_check, ipc_fwd. A real Executor runs a real shell OCF agent written into a
// temporary directory; what the dispatcher sends goes through the real Notifier and is decoded back from XML.
#include <climits>

#include "server/watchdog.hpp"
#include "server_test_support.hpp"

using namespace outpost;
using namespace outpost::test;

namespace {

// By value: callers pass the temporary that take() returns.
wire::Reply only_reply(const std::vector<wire::Message>& messages)
{
    REQUIRE(messages.size() == 1);
    return as<wire::Reply>(messages[0]);
}

}  // namespace

TEST_CASE("check_watchdog follows the stonith-watchdog-timeout rules")
{
    using agent::server::check_watchdog;
    CHECK_FALSE(check_watchdog(std::nullopt, 0).fatal);
    CHECK_FALSE(check_watchdog("0", 0).fatal);
    CHECK_FALSE(check_watchdog("-1", 0).fatal);       // automatic, SBD not running: nothing
    CHECK_FALSE(check_watchdog("-1", 5000).fatal);    // automatic = 2 x SBD
    CHECK(check_watchdog("10", 0).fatal);             // positive but no SBD
    CHECK(check_watchdog("10s", 20000).fatal);        // shorter than SBD's timeout
    CHECK_FALSE(check_watchdog("20s", 20000).fatal);  // equal is enough
    CHECK_FALSE(check_watchdog("1min", 20000).fatal);
    CHECK_FALSE(check_watchdog("junk", 0).fatal);  // unparsable: logged, not fatal
}

TEST_CASE("every operation of the table gets a reply exactly when the table says so")
{
    DispatchBench bench(agent_setup());
    bench.connect("c1");
    std::uint64_t msg_id = 0;
    for (const wire::OpInfo& info : wire::op_table()) {
        INFO(info.name);
        wire::Request request = make_request(std::string(info.name), ++msg_id);
        if (info.data == wire::OpData::rsc) request.rsc.emplace();
        bench.send("c1", request);
        std::size_t replies = 0;
        for (const auto& message : bench.take("c1")) {
            if (const auto* reply = std::get_if<wire::Reply>(&message)) {
                ++replies;
                CHECK(reply->msg_id == msg_id);
            }
        }
        CHECK(replies == (info.has_reply ? 1U : 0U));
    }
    bench.send("c1", make_request("lrmd_no_such_op", ++msg_id));
    CHECK(only_reply(bench.take("c1")).rc == wire::rc::not_supported);
}

TEST_CASE("register reply carries the session token, protocol 1.1, uptime and start state")
{
    agent::server::DispatcherConfig config;
    config.node_start_state = "standby";
    config.started = std::chrono::steady_clock::now() - std::chrono::seconds(42);
    DispatchBench bench(agent_setup(config));
    auto& client = bench.connect("c1");

    bench.send("c1", make_register(7, "controller-1"));
    auto reply = only_reply(bench.take("c1"));
    CHECK(reply.msg_id == 7);
    CHECK(reply.origin == "process_lrmd_signon");
    CHECK(reply.rc == 0);
    CHECK(reply.call_id == 1);
    CHECK(reply.op == std::optional<std::string>("register"));
    CHECK(reply.client_id == std::optional<std::string>(client.id()));
    CHECK(reply.protocol_version == std::optional<std::string>("1.1"));
    REQUIRE(reply.uptime.has_value());
    CHECK(*reply.uptime >= 42);
    CHECK(*reply.uptime < 60);
    CHECK(reply.node_start_state == std::optional<std::string>("standby"));
    CHECK(client.name() == std::optional<std::string>("controller-1"));
    CHECK_FALSE(client.is_provider());

    SECTION("no start state when PCMK_node_start_state is unset")
    {
        DispatchBench plain(agent_setup());
        plain.connect("c2");
        plain.send("c2", make_register(1, "x"));
        CHECK_FALSE(only_reply(plain.take("c2")).node_start_state.has_value());
    }
}

TEST_CASE("register rejects protocol versions below 1.0 with a complete reply")
{
    DispatchBench bench(agent_setup());
    auto& client = bench.connect("c1");

    for (auto [version, expected] :
         std::vector<std::pair<std::optional<std::string>, int>>{{"0.9", -71},
                                                                 {std::nullopt, -71},
                                                                 {"", -71},
                                                                 {"0.10", -71},
                                                                 {"1.0", 0},
                                                                 {"1.2", 0},
                                                                 {"3.0.1", 0}}) {
        INFO((version ? *version : std::string("(missing)")));
        bench.send("c1", make_register(1, "ctl", version, true));
        auto reply = only_reply(bench.take("c1"));
        CHECK(reply.rc == expected);
        CHECK(reply.client_id == std::optional<std::string>(client.id()));
        CHECK(reply.protocol_version == std::optional<std::string>("1.1"));
        CHECK(reply.op == std::optional<std::string>("register"));
    }
    // The provider flag counts even with a protocol error (2.1.5).
    CHECK(client.is_provider());
}

TEST_CASE("the first message carrying a client name names the session")
{
    DispatchBench bench(agent_setup());
    auto& client = bench.connect("c1");
    bench.send("c1", make_request("lrmd_rsc_poke", 1));
    CHECK_FALSE(client.named());
    auto poke = make_request("lrmd_rsc_poke", 2);
    poke.client_name = "first";
    bench.send("c1", poke);
    bench.send("c1", make_register(3, "second"));
    CHECK(client.name() == std::optional<std::string>("first"));
}

TEST_CASE("every request advances the global call id, wrapping to 1")
{
    DispatchBench bench(agent_setup());
    bench.connect("a");
    bench.connect("b");

    bench.send("a", make_register(1, "a"));          // 1
    bench.send("b", make_request("no_such_op", 1));  // 2
    wire::ProxyMessage fwd;
    fwd.type = wire::MsgType::request;
    fwd.msg_id = 2;
    fwd.op = "destroy";
    fwd.session = "s";
    bench.send("b", fwd);                                        // 3 (ipc_fwd)
    bench.send("a", make_request("lrmd_check", 2));              // 4 (no reply)
    bench.send("a", make_request("lrmd_rsc_metadata", 3));       // 5
    bench.send("b", make_rsc_request("lrmd_rsc_info", 3, "x"));  // 6

    auto a = bench.take("a");
    REQUIRE(a.size() == 2);
    CHECK(as<wire::Reply>(a[0]).call_id == 1);
    CHECK(as<wire::Reply>(a[1]).call_id == 5);
    CHECK(as<wire::Reply>(a[1]).msg_id == 3);
    auto b = bench.take("b");
    REQUIRE(b.size() == 4);  // the destroy of an unknown session is answered with destroy
    CHECK(as<wire::Reply>(b[0]).call_id == 2);
    CHECK(as<wire::ProxyMessage>(b[1]).op == "destroy");
    CHECK(as<wire::Reply>(b[2]).call_id == 3);
    CHECK(as<wire::Reply>(b[2]).msg_id == 2);
    CHECK(as<wire::Reply>(b[3]).call_id == 6);
    CHECK(bench.dispatcher().last_call_id() == 6);

    bench.dispatcher().set_last_call_id(INT_MAX - 1);
    bench.send("a", make_request("lrmd_rsc_poke", 4));
    bench.send("a", make_request("lrmd_rsc_poke", 5));
    a = bench.take("a");
    REQUIRE(a.size() == 4);  // reply + notify, twice
    CHECK(as<wire::Reply>(a[0]).call_id == INT_MAX);
    CHECK(as<wire::GenericNotify>(a[1]).call_id == INT_MAX);
    CHECK(as<wire::Reply>(a[2]).call_id == 1);
}

TEST_CASE("replies follow the 2.1.5 rc table")
{
    DispatchBench bench(agent_setup());
    bench.connect("c");
    std::uint64_t msg = 1;
    auto rc_of = [&](const wire::Request& request) {
        bench.send("c", request);
        auto messages = bench.take("c");
        REQUIRE_FALSE(messages.empty());
        const auto& reply = as<wire::Reply>(messages[0]);
        CHECK(reply.msg_id == request.msg_id);
        return reply.rc;
    };

    // Resource registration and info
    CHECK(rc_of(make_rsc_register(msg++, "r1")) == 0);
    // 2.1.5 does not validate a registration (observed): without type and provider it
    // is rc 0 (with the register notify for named clients; "c" has no name); only a
    // missing id is refused (2.1.5 crashes there).
    auto incomplete = make_rsc_register(msg++, "r2");
    incomplete.rsc->type.reset();
    incomplete.rsc->provider.reset();
    CHECK(rc_of(incomplete) == 0);
    {
        bench.send("c", make_rsc_request("lrmd_rsc_info", msg++, "r2"));
        auto info = only_reply(bench.take("c"));
        CHECK(info.rc == 0);
        // Absent attributes stay absent in the reply, as 2.1.5 sends it.
        const std::string xml = wire::encode(info);
        CHECK(xml.find("lrmd_class=\"ocf\"") != std::string::npos);
        CHECK(xml.find("lrmd_type") == std::string::npos);
        CHECK(xml.find("lrmd_provider") == std::string::npos);
    }
    auto no_id = make_rsc_register(msg++, "x");
    no_id.rsc->id.reset();
    CHECK(rc_of(no_id) == -22);
    CHECK(rc_of(make_rsc_request("lrmd_rsc_info", msg++, "nope")) == -19);
    CHECK(rc_of(make_rsc_request("lrmd_rsc_info", msg++, std::nullopt)) == -19);
    CHECK(rc_of(make_request("lrmd_rsc_info", msg++)) == -19);
    {
        bench.send("c", make_rsc_request("lrmd_rsc_info", msg++, "r1"));
        auto info = only_reply(bench.take("c"));
        CHECK(info.rc == 0);
        CHECK(info.origin == "process_lrmd_get_rsc_info");
        REQUIRE(info.rsc_info.has_value());
        CHECK(info.rsc_info->id == "r1");
        CHECK(info.rsc_info->rsc_class == "ocf");
        CHECK(info.rsc_info->provider == "test");
        CHECK(info.rsc_info->type == "Dummy");
    }

    // Exec and cancel
    auto exec_no_id = make_exec(msg++, "r1", "monitor", bench.dir().file("s"));
    exec_no_id.rsc->id.reset();
    CHECK(rc_of(exec_no_id) == -22);
    auto exec_no_action = make_exec(msg++, "r1", "monitor", bench.dir().file("s"));
    exec_no_action.rsc->action.reset();
    CHECK(rc_of(exec_no_action) == -22);
    CHECK(rc_of(make_exec(msg++, "unknown", "monitor", bench.dir().file("s"))) == -19);
    auto cancel = make_rsc_request("lrmd_rsc_cancel", msg++, "r1");
    CHECK(rc_of(cancel) == -22);  // no action
    cancel.msg_id = msg++;
    cancel.rsc->action = "monitor";
    cancel.rsc->interval_ms = 10000;
    CHECK(rc_of(cancel) == -95);  // nothing to cancel
    cancel.msg_id = msg++;
    cancel.rsc->id = "unknown";
    CHECK(rc_of(cancel) == -19);

    // get_recurring
    {
        bench.send("c", make_rsc_request("lrmd_get_recurring", msg++, "unknown"));
        auto reply = only_reply(bench.take("c"));
        CHECK(reply.rc == -19);
        CHECK(reply.origin == "process_lrmd_get_recurring");
        bench.send("c", make_request("lrmd_get_recurring", msg++));
        auto all = only_reply(bench.take("c"));
        CHECK(all.rc == 0);
        REQUIRE(all.recurring.size() == 2);
        CHECK(all.recurring[0].rsc_id == "r1");
        CHECK(all.recurring[0].ops.empty());
        CHECK(all.recurring[1].rsc_id == "r2");
    }

    // Alerts
    auto alert = make_request("lrmd_alert_exec", msg++);
    alert.alert.emplace();
    alert.alert->id = "a1";
    CHECK(rc_of(alert) == -22);  // no path
    CHECK(rc_of(make_request("lrmd_alert_exec", msg++)) == -22);

    // Unsupported and unknown ops
    CHECK(rc_of(make_request("lrmd_rsc_metadata", msg++)) == -95);
    CHECK(rc_of(make_request("lrmd_rsc_new_client", msg++)) == -95);
    CHECK(rc_of(make_request("whatever", msg++)) == -95);
    CHECK(rc_of(make_request("lrmd_rsc_poke", msg++)) == 0);

    // Unregister: missing id -19; unknown 0; known 0
    CHECK(rc_of(make_rsc_request("lrmd_rsc_unregister", msg++, std::nullopt)) == -19);
    CHECK(rc_of(make_rsc_request("lrmd_rsc_unregister", msg++, "unknown")) == 0);
    CHECK(rc_of(make_rsc_request("lrmd_rsc_unregister", msg++, "r1")) == 0);
    CHECK(bench.executor().find("r1") == nullptr);
}

TEST_CASE("unregister while an op executes answers -115 and still notifies")
{
    DispatchBench bench(agent_setup());
    bench.connect("c");
    bench.send("c", make_register(1, "ctl"));
    bench.send("c", make_rsc_register(2, "r1"));
    bench.send("c", make_exec(3, "r1", "slow", bench.dir().file("s")));
    (void)bench.take("c");
    REQUIRE(run_until(bench.context(), [&] { return bench.executor().running_count() == 1; }));

    bench.send("c", make_rsc_request("lrmd_rsc_unregister", 4, "r1"));
    auto messages = bench.take("c");
    REQUIRE(messages.size() == 2);
    CHECK(as<wire::Reply>(messages[0]).rc == -115);
    const auto& notify = as<wire::GenericNotify>(messages[1]);
    CHECK(notify.rc == -115);
    CHECK(notify.op == "lrmd_rsc_unregister");
    CHECK(notify.rsc_id == std::optional<std::string>("r1"));

    // The running op finishes and is reported as belonging to a deleted resource.
    REQUIRE(bench.wait_for("c", 1, 10s));
    auto done = as<wire::ExecNotify>(bench.take("c")[0]);
    CHECK(done.rsc_deleted);
    CHECK(done.call_id == 3);
}

TEST_CASE("exec: reply rc is the call id; the notify carries it with params and userdata echoed")
{
    DispatchBench bench(agent_setup());
    bench.connect("c");
    bench.send("c", make_register(1, "ctl"));
    bench.send("c", make_rsc_register(2, "r1"));
    (void)bench.take("c");
    std::string state = bench.dir().file("r1.state");

    auto probe = make_exec(3, "r1", "monitor", state);
    bench.send("c", probe);
    auto reply = only_reply(bench.take("c"));
    CHECK(reply.rc == 3);
    CHECK(reply.call_id == 3);
    CHECK(reply.msg_id == 3);
    CHECK(reply.origin == "process_lrmd_message");

    REQUIRE(bench.wait_for("c", 1));
    auto messages = bench.take("c");
    REQUIRE(messages.size() == 1);
    const auto& notify = as<wire::ExecNotify>(messages[0]);
    CHECK(notify.call_id == 3);
    CHECK(notify.exec_rc == 7);
    CHECK(notify.op_status == wire::ExecStatus::done);
    CHECK(notify.rsc_id == "r1");
    CHECK(notify.action == "monitor");
    CHECK(notify.userdata == *probe.rsc->userdata);
    CHECK(notify.params == probe.rsc->params);
    CHECK(notify.timeout_ms == 20000);
    CHECK_FALSE(notify.rsc_deleted);

    bench.send("c", make_exec(4, "r1", "start", state));
    CHECK(only_reply(bench.take("c")).rc == 4);
    REQUIRE(bench.wait_for("c", 1));
    CHECK(as<wire::ExecNotify>(bench.take("c")[0]).exec_rc == 0);

    bench.send("c", make_exec(5, "r1", "fail", state));
    (void)bench.take("c");
    REQUIRE(bench.wait_for("c", 1));
    auto failed = as<wire::ExecNotify>(bench.take("c")[0]);
    CHECK(failed.exec_rc == 1);
    CHECK(failed.exit_reason == std::optional<std::string>("it broke"));
}

TEST_CASE("a stop's cancel notifies precede its reply; recurring ops notify changes only")
{
    DispatchBench bench(agent_setup());
    bench.connect("c");
    bench.send("c", make_register(1, "ctl"));
    bench.send("c", make_rsc_register(2, "r1"));
    std::string state = bench.dir().file("r1.state");
    bench.send("c", make_exec(3, "r1", "start", state));
    REQUIRE(bench.wait_for("c", 4));  // reg reply, rsc reply, rsc notify, start reply ... + start notify
    REQUIRE(bench.wait_for("c", 5));
    (void)bench.take("c");

    bench.send("c", make_exec(4, "r1", "monitor", state, 4, 100));
    CHECK(only_reply(bench.take("c")).rc == 4);
    REQUIRE(bench.wait_for("c", 1));
    CHECK(as<wire::ExecNotify>(bench.take("c")[0]).exec_rc == 0);
    // Several more runs, all rc 0: nothing more is notified.
    loop_for(bench.context(), 500ms);
    CHECK(bench.pending("c") == 0);

    bench.send("c", make_exec(5, "r1", "stop", state));
    auto messages = bench.take("c");
    REQUIRE(messages.size() == 2);
    const auto& cancelled = as<wire::ExecNotify>(messages[0]);
    CHECK(cancelled.call_id == 4);
    CHECK(cancelled.op_status == wire::ExecStatus::cancelled);
    CHECK(as<wire::Reply>(messages[1]).rc == 5);
}

TEST_CASE("exec notifies go to named clients only, or only the requester with call option 2")
{
    DispatchBench bench(agent_setup());
    bench.connect("named1");
    bench.connect("named2");
    bench.connect("anonymous");
    bench.send("named1", make_register(1, "one"));
    bench.send("named2", make_register(1, "two"));
    bench.send("named1", make_rsc_register(2, "r1"));
    (void)bench.take("named1");
    (void)bench.take("named2");
    std::string state = bench.dir().file("r1.state");

    SECTION("broadcast")
    {
        bench.send("anonymous", make_exec(5, "r1", "monitor", state));
        CHECK(only_reply(bench.take("anonymous")).rc > 0);
        REQUIRE(bench.wait_for("named1", 1));
        REQUIRE(bench.wait_for("named2", 1));
        CHECK(as<wire::ExecNotify>(bench.take("named1")[0]).exec_rc == 7);
        CHECK(as<wire::ExecNotify>(bench.take("named2")[0]).exec_rc == 7);
        loop_for(bench.context(), 100ms);
        CHECK(bench.pending("anonymous") == 0);  // replies, never notifications
    }
    SECTION("requester only")
    {
        bench.send("named2", make_exec(5, "r1", "monitor", state, 2));
        CHECK(only_reply(bench.take("named2")).rc > 0);
        REQUIRE(bench.wait_for("named2", 1));
        CHECK(as<wire::ExecNotify>(bench.take("named2")[0]).exec_rc == 7);
        loop_for(bench.context(), 100ms);
        CHECK(bench.pending("named1") == 0);
    }
    SECTION("requester only, but it is gone: dropped")
    {
        bench.send("named2", make_exec(5, "r1", "monitor", state, 2));
        bench.disconnect("named2");
        REQUIRE(run_until(bench.context(), [&] { return bench.executor().running_count() == 0; }));
        loop_for(bench.context(), 100ms);
        CHECK(bench.pending("named1") == 0);
    }
    SECTION("requester only, unnamed requester gets nothing")
    {
        bench.send("anonymous", make_exec(5, "r1", "monitor", state, 2));
        (void)bench.take("anonymous");
        loop_for(bench.context(), 300ms);
        CHECK(bench.pending("anonymous") == 0);
        CHECK(bench.pending("named1") == 0);
    }
}

TEST_CASE("generic notifies follow the reply and reach every named client")
{
    DispatchBench bench(agent_setup());
    bench.connect("a");
    bench.connect("b");
    bench.connect("anonymous");
    bench.send("a", make_register(1, "a"));
    bench.send("b", make_register(1, "b"));
    (void)bench.take("a");
    (void)bench.take("b");

    bench.send("a", make_rsc_register(2, "r1"));
    auto a = bench.take("a");
    REQUIRE(a.size() == 2);
    CHECK(as<wire::Reply>(a[0]).rc == 0);
    const auto& notify = as<wire::GenericNotify>(a[1]);
    CHECK(notify.op == "lrmd_rsc_register");
    CHECK(notify.rc == 0);
    CHECK(notify.call_id == as<wire::Reply>(a[0]).call_id);
    CHECK(notify.rsc_id == std::optional<std::string>("r1"));
    auto b = bench.take("b");
    REQUIRE(b.size() == 1);
    CHECK(as<wire::GenericNotify>(b[0]).op == "lrmd_rsc_register");

    bench.send("anonymous", make_request("lrmd_rsc_poke", 9));
    auto anon = bench.take("anonymous");
    REQUIRE(anon.size() == 1);  // the reply only
    CHECK(as<wire::Reply>(anon[0]).rc == 0);
    auto a_poke = bench.take("a");
    REQUIRE(a_poke.size() == 1);
    const auto& poke = as<wire::GenericNotify>(a_poke[0]);
    CHECK(poke.op == "lrmd_rsc_poke");
    CHECK_FALSE(poke.rsc_id.has_value());
    CHECK(bench.take("b").size() == 1);

    // Unregister of an unknown resource: rc 0, notified; missing id: -19, not notified.
    bench.send("a", make_rsc_request("lrmd_rsc_unregister", 3, "ghost"));
    CHECK(bench.take("a").size() == 2);
    CHECK(bench.take("b").size() == 1);
    bench.send("a", make_rsc_request("lrmd_rsc_unregister", 4, std::nullopt));
    CHECK(bench.take("a").size() == 1);
    CHECK(bench.take("b").empty());
}

TEST_CASE("lrmd_check gets no reply; an unsafe watchdog setting asks for exit 100")
{
    agent::server::DispatcherConfig config;
    config.sbd_timeout_ms = 20000;
    DispatchBench bench(agent_setup(config));
    bench.connect("c");

    auto check = make_request("lrmd_check", 1);
    bench.send("c", check);
    check.watchdog = "30s";
    bench.send("c", check);
    CHECK(bench.pending("c") == 0);
    CHECK_FALSE(bench.control().fatal_code.has_value());

    check.watchdog = "5s";
    bench.send("c", check);
    CHECK(bench.pending("c") == 0);
    CHECK(bench.control().fatal_code == std::optional<int>(100));
}

TEST_CASE("new-client notify reaches the other named clients only")
{
    DispatchBench bench(agent_setup());
    bench.connect("old");
    bench.connect("quiet");
    bench.send("old", make_register(1, "old"));
    (void)bench.take("old");
    auto& newcomer = bench.connect("new");
    bench.send("new", make_register(1, "new"));  // named, but the notice is about itself
    (void)bench.take("new");

    bench.notifier().new_client(newcomer);
    auto old = bench.take("old");
    REQUIRE(old.size() == 1);
    CHECK(std::holds_alternative<wire::NewClientNotify>(old[0]));
    CHECK(bench.pending("quiet") == 0);
    CHECK(bench.pending("new") == 0);
}

TEST_CASE("ipc_fwd: rc 0 always, destroy for unknown or absent sessions, shutdown ack and nack")
{
    DispatchBench bench(agent_setup());
    bench.connect("provider");
    bench.send("provider", make_register(1, "ctl", "1.1", true));
    (void)bench.take("provider");

    wire::ProxyMessage response;
    response.type = wire::MsgType::request;
    response.msg_id = 2;
    response.op = "response";
    response.session = "known-session";
    response.ipc_msg_id = 1;
    response.msg = wire::Element{"cib_command", {}, {}};

    SECTION("no proxy attached: destroy notify, then the reply")
    {
        bench.send("provider", response);
        auto messages = bench.take("provider");
        REQUIRE(messages.size() == 2);
        const auto& destroy = as<wire::ProxyMessage>(messages[0]);
        CHECK(destroy.op == "destroy");
        CHECK(destroy.session == std::optional<std::string>("known-session"));
        CHECK(destroy.type == wire::MsgType::notify);
        CHECK(as<wire::Reply>(messages[1]).rc == 0);
        CHECK(as<wire::Reply>(messages[1]).msg_id == 2);
    }
    SECTION("with a proxy attached")
    {
        FakeProxy proxy;
        bench.dispatcher().attach_proxy(&proxy);
        bench.send("provider", response);
        CHECK(only_reply(bench.take("provider")).rc == 0);
        REQUIRE(proxy.responses.size() == 1);
        CHECK(proxy.responses[0].first == 1);
        CHECK(proxy.responses[0].second == "cib_command");

        auto event = response;
        event.op = "event";
        event.session = "other";
        bench.send("provider", event);
        auto messages = bench.take("provider");
        REQUIRE(messages.size() == 2);
        CHECK(as<wire::ProxyMessage>(messages[0]).op == "destroy");

        auto destroy = response;
        destroy.op = "destroy";
        bench.send("provider", destroy);
        CHECK(only_reply(bench.take("provider")).rc == 0);
        CHECK(proxy.destroyed == std::vector<std::string>{"known-session"});

        // A destroy or an unknown operation naming a session the proxy does not have:
        // destroy back, then the reply (2.1.5, conformance scenario rc_paths).
        for (const char* op : {"destroy", "bogus"}) {
            INFO(op);
            auto unknown = response;
            unknown.op = op;
            unknown.session = "other";
            bench.send("provider", unknown);
            auto answers = bench.take("provider");
            REQUIRE(answers.size() == 2);
            CHECK(as<wire::ProxyMessage>(answers[0]).op == "destroy");
            CHECK(as<wire::ProxyMessage>(answers[0]).session == std::optional<std::string>("other"));
            CHECK(as<wire::Reply>(answers[1]).rc == 0);
        }
        // An unknown operation for a live session: nothing but the reply.
        auto odd = response;
        odd.op = "bogus";
        bench.send("provider", odd);
        CHECK(only_reply(bench.take("provider")).rc == 0);
        CHECK(proxy.destroyed == std::vector<std::string>{"known-session"});
        bench.dispatcher().attach_proxy(nullptr);
    }
    SECTION("shutdown ack and nack reach the daemon's control")
    {
        wire::ProxyMessage ack;
        ack.type = wire::MsgType::request;
        ack.msg_id = 3;
        ack.op = "shutdown_ack";
        bench.send("provider", ack);
        ack.op = "shutdown_nack";
        bench.send("provider", ack);
        ack.op = "bogus";
        bench.send("provider", ack);
        CHECK(bench.control().acks == 1);
        CHECK(bench.control().nacks == 1);
        auto messages = bench.take("provider");
        REQUIRE(messages.size() == 4);
        CHECK(as<wire::Reply>(messages[0]).rc == 0);
        CHECK(as<wire::Reply>(messages[1]).rc == 0);
        // The unknown operation without a session: destroy first, as 2.1.5.
        CHECK(as<wire::ProxyMessage>(messages[2]).op == "destroy");
        CHECK(as<wire::Reply>(messages[3]).rc == 0);
    }
    SECTION("no session at all: destroy without a session, then the reply (2.1.5)")
    {
        FakeProxy proxy;
        bench.dispatcher().attach_proxy(&proxy);
        for (const char* op : {"response", "event", "destroy", "bogus"}) {
            INFO(op);
            auto fwd = response;
            fwd.op = op;
            fwd.session.reset();
            bench.send("provider", fwd);
            auto messages = bench.take("provider");
            REQUIRE(messages.size() == 2);
            const auto& destroy = as<wire::ProxyMessage>(messages[0]);
            CHECK(destroy.op == "destroy");
            CHECK_FALSE(destroy.session.has_value());
            CHECK(as<wire::Reply>(messages[1]).rc == 0);
        }
        CHECK(proxy.responses.empty());
        CHECK(proxy.destroyed.empty());
        // ipc_fwd on a command root: no proxy data, no session.
        bench.send("provider", make_request("ipc_fwd", 9));
        auto messages = bench.take("provider");
        REQUIRE(messages.size() == 2);
        CHECK(as<wire::ProxyMessage>(messages[0]).op == "destroy");
        CHECK(as<wire::Reply>(messages[1]).rc == 0);
        bench.dispatcher().attach_proxy(nullptr);
    }
}
