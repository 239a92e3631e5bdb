// The local-session path of the server side (docs/protocol.md 4.2): wire's envelope-less
// decoding and encoding, and local ClientSessions in the real Notifier and Dispatcher with
// a real Executor (DispatchBench), next to TLS sessions. What 2.1.5 does on its lrmd IPC
// (observed with a raw libqb client): replies and notifications without the envelope,
// notifications to local clients whether or not they sent a name, -13 for a local client
// that asks to be an IPC provider.
#include "server_test_support.hpp"

using namespace outpost;
using namespace outpost::test;

namespace {

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// A local session whose replies and events are kept apart, as the proxy keeps IPC
// responses and events apart.
struct LocalInbox {
    std::vector<std::string> replies;
    std::vector<std::string> events;
};

agent::server::ClientSession& add_local(DispatchBench& bench, const std::string& id, LocalInbox& inbox,
                                        std::vector<std::unique_ptr<agent::server::ClientSession>>& owner)
{
    owner.push_back(std::make_unique<agent::server::ClientSession>(
        id, "local test client",
        [&inbox](std::string_view xml) {
            inbox.events.emplace_back(xml);
            return Status{};
        },
        [&inbox](std::string_view xml) {
            inbox.replies.emplace_back(xml);
            return Status{};
        }));
    bench.notifier().add(*owner.back());
    return *owner.back();
}

// What arrives on the lrmd IPC has no envelope: DispatchBench checks that and reads it.
wire::Message decode_local(const std::string& xml)
{
    INFO(xml);
    auto message = DispatchBench::decode_local(xml);
    REQUIRE(message.ok());
    return std::move(message).value();
}

}  // namespace

TEST_CASE("decode_local_request reads envelope-less requests as 2.1.5's lrmd IPC does", "[wire][local]")
{
    SECTION("a liblrmd register")
    {
        auto decoded = wire::decode_local_request(
            R"(<lrmd_command t="lrmd" lrmd_op="register" lrmd_clientname="crm_resource" lrmd_protocol_version="1.1"/>)",
            7);
        REQUIRE(decoded.ok());
        const auto& request = as<wire::Request>(*decoded);
        CHECK(request.op == wire::Op::register_client);
        CHECK(request.msg_id == 7);
        CHECK(request.client_name == "crm_resource");
        CHECK(request.protocol_version == "1.1");
    }
    SECTION("an exec with parameters in both encodings")
    {
        auto decoded = wire::decode_local_request(
            R"(<lrmd_command __name__="lrmd_command" t="lrmd" lrmd_async_id="x" lrmd_op="lrmd_rsc_exec" lrmd_timeout="20000" lrmd_callopt="4"><lrmd_calldata><lrmd_rsc lrmd_origin="lrmd_api_exec" lrmd_rsc_id="d1" lrmd_rsc_action="monitor" lrmd_rsc_userdata_str="u" lrmd_rsc_interval="0" lrmd_timeout="20000" lrmd_rsc_start_delay="0"><attributes state="/s"><param name="1digit" value="x"/></attributes></lrmd_rsc></lrmd_calldata></lrmd_command>)",
            3);
        REQUIRE(decoded.ok());
        const auto& request = as<wire::Request>(*decoded);
        CHECK(request.op == wire::Op::rsc_exec);
        CHECK(request.callopts == 4U);
        REQUIRE(request.rsc);
        CHECK(request.rsc->params.find("state") != nullptr);
        CHECK(request.rsc->params.find("1digit") != nullptr);
    }
    SECTION("any root element is a request; envelope attributes are ignored")
    {
        auto decoded = wire::decode_local_request(
            R"(<foo lrmd_op="lrmd_rsc_poke" lrmd_remote_msg_id="99" lrmd_remote_msg_type="reply"/>)", 4);
        REQUIRE(decoded.ok());
        const auto& request = as<wire::Request>(*decoded);
        CHECK(request.op == wire::Op::poke);
        CHECK(request.msg_id == 4);
    }
    SECTION("lrmd_ipc_proxy is ipc_fwd traffic")
    {
        auto decoded = wire::decode_local_request(
            R"(<lrmd_ipc_proxy lrmd_op="ipc_fwd" lrmd_ipc_op="destroy" lrmd_ipc_session="s1"/>)", 5);
        REQUIRE(decoded.ok());
        const auto& proxy = as<wire::ProxyMessage>(*decoded);
        CHECK(proxy.type == wire::MsgType::request);
        CHECK(proxy.op == "destroy");
        CHECK(proxy.session == "s1");
    }
    SECTION("not XML, or a number that is not one, is an error")
    {
        CHECK_FALSE(wire::decode_local_request("not xml <", 1).ok());
        CHECK_FALSE(
            wire::decode_local_request(R"(<lrmd_command lrmd_op="lrmd_rsc_poke" lrmd_callopt="x"/>)", 1)
                .ok());
    }
}

TEST_CASE("encode_local writes messages without the envelope, everything else as encode does",
          "[wire][local]")
{
    wire::Reply reply;
    reply.msg_id = 12;
    reply.rc = 5;
    reply.call_id = 5;
    const std::string local = wire::encode_local(reply);
    CHECK(local == R"(<lrmd_reply lrmd_origin="process_lrmd_message" lrmd_rc="5" lrmd_callid="5"/>)");
    std::string remote = wire::encode(reply);
    CHECK(contains(remote, R"(lrmd_remote_msg_id="12" lrmd_remote_msg_type="reply")"));

    wire::GenericNotify notify{0, 8, "lrmd_rsc_register", std::string("r1")};
    CHECK(
        wire::encode_local(notify) ==
        R"(<lrmd_notify lrmd_origin="send_generic_notify" lrmd_rc="0" lrmd_callid="8" lrmd_op="lrmd_rsc_register" lrmd_rsc_id="r1"/>)");
    CHECK(wire::encode_local(wire::Message{notify}) == wire::encode_local(notify));

    wire::ExecNotify exec;
    exec.rsc_id = "r1";
    exec.action = "monitor";
    exec.params.insert("1digit", "x");
    std::string text = wire::encode_local(exec);
    CHECK_FALSE(contains(text, "lrmd_remote_msg_"));
    CHECK(contains(text, R"(<param name="1digit" value="x"/>)"));
}

TEST_CASE("a local session gets replies as replies and notifications as events, unnamed or not", "[local]")
{
    // Declared before the bench so the bench (and its notifier) goes first.
    LocalInbox local;
    std::vector<std::unique_ptr<agent::server::ClientSession>> owner;
    DispatchBench bench(agent_setup());
    auto& session = add_local(bench, "local-1", local, owner);
    bench.connect("tls-unnamed");  // never registers: no notifications (TLS rule)
    bench.connect("tls-named");
    bench.send("tls-named", make_register(1, "controller"));
    (void)bench.take("tls-named");

    SECTION("register: the reply carries the session id as lrmd_clientid")
    {
        bench.dispatcher().handle(session, make_register(1, "crm_resource"));
        REQUIRE(local.replies.size() == 1);
        const wire::Message reply_message = decode_local(local.replies[0]);
        const auto& reply = as<wire::Reply>(reply_message);
        CHECK(reply.rc == 0);
        CHECK(reply.client_id == "local-1");
        CHECK(reply.protocol_version == "1.1");
        CHECK(local.events.empty());
        CHECK(session.name() == "crm_resource");
    }

    SECTION("exec without a register: reply, then the result as an event to every local client")
    {
        std::string state = bench.dir().file("r1.state");
        bench.dispatcher().handle(session, make_rsc_register(1, "r1"));
        REQUIRE(local.replies.size() == 1);
        CHECK(as<wire::Reply>(decode_local(local.replies[0])).rc == 0);
        REQUIRE(local.events.size() == 1);
        CHECK(as<wire::GenericNotify>(decode_local(local.events[0])).op == "lrmd_rsc_register");
        // The named TLS client hears of it too, with the envelope.
        REQUIRE(bench.pending("tls-named") == 1);
        CHECK(as<wire::GenericNotify>(bench.take("tls-named")[0]).rsc_id == "r1");
        CHECK(bench.pending("tls-unnamed") == 0);

        bench.dispatcher().handle(session, make_exec(2, "r1", "monitor", state, 0));
        REQUIRE(local.replies.size() == 2);
        int call_id = as<wire::Reply>(decode_local(local.replies[1])).rc;
        CHECK(call_id == bench.dispatcher().last_call_id());
        REQUIRE(run_until(bench.context(), [&] { return local.events.size() >= 2; }));
        const wire::Message result_message = decode_local(local.events[1]);
        const auto& result = as<wire::ExecNotify>(result_message);
        CHECK(result.call_id == call_id);
        CHECK(result.exec_rc == 7);
        CHECK(result.params.find("1numeric") != nullptr);
        CHECK(bench.wait_for("tls-named", 1));
        CHECK(bench.pending("tls-unnamed") == 0);
        CHECK_FALSE(session.named());
    }

    SECTION("a client that connects is announced to local clients without the envelope")
    {
        auto& newcomer = bench.connect("tls-new");
        bench.notifier().new_client(newcomer);
        REQUIRE(local.events.size() == 1);
        CHECK(std::holds_alternative<wire::NewClientNotify>(decode_local(local.events[0])));
        CHECK(bench.pending("tls-named") == 1);
    }

    SECTION("asking to be an IPC provider: a complete reply with -13, and no provider")
    {
        bench.dispatcher().handle(session, make_register(1, "sneaky", "1.1", true));
        REQUIRE(local.replies.size() == 1);
        const wire::Message reply_message = decode_local(local.replies[0]);
        const auto& reply = as<wire::Reply>(reply_message);
        CHECK(reply.rc == wire::rc::access_denied);
        CHECK(reply.op == "register");
        CHECK(reply.client_id == "local-1");
        CHECK_FALSE(session.is_provider());
        CHECK(bench.notifier().newest_provider() == nullptr);
    }

    SECTION("ipc_fwd for an unknown session is answered on the local session")
    {
        wire::ProxyMessage response;
        response.type = wire::MsgType::request;
        response.op = "response";
        response.session = "nobody";
        response.msg = wire::Element{"x", {}, {}};
        bench.dispatcher().handle(session, response);
        REQUIRE(local.replies.size() == 1);
        CHECK(as<wire::Reply>(decode_local(local.replies[0])).rc == 0);
        REQUIRE(local.events.size() == 1);
        CHECK(contains(local.events[0],
                       R"(<lrmd_ipc_proxy lrmd_ipc_op="destroy" lrmd_ipc_session="nobody"/>)"));
    }
}
