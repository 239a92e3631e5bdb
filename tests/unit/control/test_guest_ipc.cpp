// GuestIpc (control/guest_ipc.hpp) behind the real IpcProxyBridge on a real RemoteClient,
// connected over TLS to an in-process remote daemon (tests/unit/cluster/scripted_server.hpp)
// that plays the node's side of the proxy: a real CibStore (with Pacemaker's installed
// schemas) and the CibService the local IPC names use. What the tools of a guest get:
// register, query, writes (refused on cib_ro), cib_diff_notify events after a change made
// through the proxy and after one the daemon announces, pacemakerd pings, attrd with an
// attribute manager (the guest's own node by default); crmd and stonith-ng handed to the
// local faces (a recording stand-in here); other channels and bad input refused without
// harm; shutdown_req answered as the controller says; sessions closed when the connection
// goes.
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <catch.hpp>

#include "../cluster/scripted_server.hpp"
#include "connection/ipc_provider.hpp"
#include "connection/remote_client.hpp"
#include "control/attribute_manager.hpp"
#include "control/cib_edit.hpp"
#include "control/guest_ipc.hpp"
#include "control/status_record.hpp"
#include "controller/cib_schema.hpp"
#include "controller/cib_service.hpp"
#include "controller/cib_store.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::cluster;
using namespace outpost::test;

namespace {

std::vector<std::string> register_only(const wire::Request& request, ScriptedServer&)
{
    if (request.op == wire::Op::register_client) return {ScriptedServer::register_reply(request)};
    return {ScriptedServer::reply(request, 0)};
}

struct Fixture {
    TempDir dir{"outpost-guest-ipc"};
    ContextPtr context{g_main_context_new()};
    ScriptedServer server{context.get(), register_only};
    std::unique_ptr<controller::CibStore> store;
    std::unique_ptr<controller::CibService> service;
    std::unique_ptr<control::GuestIpc> provider;
    std::unique_ptr<connection::RemoteClient> client;
    std::unique_ptr<connection::IpcProxyBridge> bridge;
    std::uint32_t next_msg_id = 1;
    // What the controller answers a shutdown request, and how often it was asked.
    connection::ShutdownAnswer shutdown_answer = connection::ShutdownAnswer::nack;
    int shutdown_asks = 0;

    Fixture()
    {
        auto opened = controller::CibStore::open(dir.file("cib.xml"), controller::kDefaultSchemaDirectory);
        INFO((opened ? std::string() : opened.error().describe()));
        REQUIRE(opened.ok());
        store = std::move(*opened);
        service = std::make_unique<controller::CibService>(*store, "host1");
        provider = std::make_unique<control::GuestIpc>(*service, "guest1", [this] {
            ++shutdown_asks;
            return shutdown_answer;
        });
        connection::ClientOptions options;
        options.host = "127.0.0.1";
        options.port = server.port();
        options.client_name = "unit-controld";
        options.ipc_provider = true;
        client = std::make_unique<connection::RemoteClient>(context.get(), server.client_tls(), options);
        std::optional<Status> outcome;
        client->connect([&](const Status& s) { outcome = s; });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        REQUIRE(outcome->ok());
        bridge = std::make_unique<connection::IpcProxyBridge>(*client, *provider);
    }

    void open(const std::string& session, const std::string& channel)
    {
        wire::ProxyMessage opened;
        opened.op = "new";
        opened.server = channel;
        opened.session = session;
        server.send(wire::encode(opened));
    }

    // Sends a tool's request (waiting for a response unless `async`) and returns the index
    // of the first proxy message that will answer it.
    std::size_t send(const std::string& session, const std::string& xml, bool async = false,
                     const std::string& user = "root")
    {
        auto msg = wire::parse_xml(xml);
        REQUIRE(msg.ok());
        wire::ProxyMessage request;
        request.op = "request";
        request.session = session;
        request.client = "proxy-" + session;
        request.user = user;
        request.ipc_msg_id = next_msg_id++;
        request.ipc_msg_flags = async ? 0 : wire::ipc_flag::client_response;
        request.msg = *msg;
        const std::size_t at = server.proxies.size();
        server.send(wire::encode(request));
        return at;
    }

    // The host and guest1 as the control loop records them (for attribute writes).
    void edit_status()
    {
        REQUIRE(control::edit_cib(
                    *store,
                    [](xmlDoc* cib) {
                        control::record_host_member(cib, "host1", "1");
                        control::record_remote_node(cib, "guest1", true);
                    },
                    "test", "host1", "root")
                    .ok());
    }

    // Waits for proxy message `index` (what the provider sent back through ipc_fwd).
    const wire::ProxyMessage& answer(std::size_t index)
    {
        REQUIRE(run_until(context.get(), [&] { return server.proxies.size() > index; }));
        return server.proxies[index];
    }
};

std::string attr_of(const wire::ProxyMessage& message, const char* name)
{
    if (!message.msg) return {};
    const std::string* value = message.msg->attr(name);
    return value != nullptr ? *value : std::string();
}

constexpr const char* kRegister = R"(<cib_command t="cib" cib_op="register" cib_clientname="cibadmin"/>)";
constexpr const char* kQuery =
    R"(<cib_command t="cib" cib_op="cib_query" cib_callid="2" cib_callopt="4352"/>)";
constexpr const char* kSubscribe =
    R"(<cib-callback cib_op="cib_notify" cib_notify_type="cib_diff_notify" cib_notify_activate="1"/>)";

std::string modify(const std::string& value)
{
    return R"(<cib_command t="cib" cib_op="cib_modify" cib_section="crm_config" cib_callid="3" cib_callopt="4096">)"
           R"(<cib_calldata><crm_config><cluster_property_set id="opts"><nvpair id="opts-x" name="x" value=")" +
           value + R"("/></cluster_property_set></crm_config></cib_calldata></cib_command>)";
}

}  // namespace

TEST_CASE("GuestIpc serves a guest's CIB tools through the proxy bridge, notifications included")
{
    Fixture f;
    f.open("rw", "cib_rw");
    f.open("ro", "cib_ro");
    f.open("shm", "cib_shm");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 3; }));

    // register: the client id comes back as the response to the tool's message id.
    const auto& registered = f.answer(f.send("rw", kRegister));
    CHECK(registered.op == "response");
    CHECK(registered.session == "rw");
    CHECK(registered.ipc_msg_id == 1u);
    const std::string client_id = attr_of(registered, "cib_clientid");
    CHECK(client_id.size() == 36);

    // A query gets the live CIB.
    const auto& queried = f.answer(f.send("ro", kQuery));
    CHECK(queried.op == "response");
    CHECK(attr_of(queried, "cib_rc") == "0");
    REQUIRE(queried.msg);
    REQUIRE(queried.msg->find_descendant("cib") != nullptr);
    CHECK(queried.msg->find_descendant("crm_config") != nullptr);

    // cib_ro subscribes; a write on cib_rw changes the CIB and the subscriber hears of it.
    const auto& subscribed = f.answer(f.send("ro", kSubscribe));
    CHECK(subscribed.op == "response");
    const std::size_t write_at = f.send("rw", modify("1"));
    REQUIRE(run_until(f.context.get(), [&] { return f.server.proxies.size() >= write_at + 2; }));
    const auto& written = f.server.proxies[write_at];
    CHECK(written.op == "response");
    CHECK(written.session == "rw");
    CHECK(attr_of(written, "cib_rc") == "0");
    const auto& notified = f.server.proxies[write_at + 1];
    CHECK(notified.op == "event");
    CHECK(notified.session == "ro");
    CHECK(attr_of(notified, "subt") == "cib_diff_notify");
    CHECK(attr_of(notified, "cib_op") == "cib_modify");
    // The write carries the proxied tool's user as update-user.
    const xmlNode* root = controller::root_of(f.store->current());
    REQUIRE(root != nullptr);
    CHECK(controller::attr(root, "update-user") == std::optional<std::string>("root"));
    CHECK(controller::attr(root, "update-origin") == std::optional<std::string>("host1"));

    // A write on the read-only channel is refused, nothing changes, nobody is notified.
    const std::size_t refused_at = f.send("ro", modify("2"));
    const auto& refused = f.answer(refused_at);
    CHECK(attr_of(refused, "cib_rc") == "-13");
    // cib_shm is read-write (a daemon other than ours may forward it under that name).
    const auto& shm = f.answer(f.send("shm", modify("3"), false, "hacluster"));
    CHECK(attr_of(shm, "cib_rc") == "0");
    const auto& shm_notify = f.answer(refused_at + 2);
    CHECK(shm_notify.op == "event");
    CHECK(shm_notify.session == "ro");
    CHECK(controller::attr(controller::root_of(f.store->current()), "update-user") ==
          std::optional<std::string>("hacluster"));

    // A change the daemon announces (the control loop's status updates) reaches it too.
    const std::size_t before_announce = f.server.proxies.size();
    f.service->announce("cib_replace", "outpost-controld", f.store->current());
    const auto& announced = f.answer(before_announce);
    CHECK(announced.op == "event");
    CHECK(announced.session == "ro");

    // Unsubscribed, it hears no more.
    f.answer(f.send("ro", R"(<cib-callback cib_op="cib_notify" cib_notify_type="cib_diff_notify" )"
                          R"(cib_notify_activate="0"/>)"));
    const std::size_t quiet_at = f.send("rw", modify("4"));
    f.answer(quiet_at);
    const std::size_t ping_at = f.send("rw", kQuery);
    f.answer(ping_at);
    CHECK(f.server.proxies.size() == ping_at + 1);  // no event in between
}

TEST_CASE("GuestIpc answers async requests as events and pacemakerd pings as the local face does")
{
    Fixture f;
    f.open("ro", "cib_ro");
    f.open("pcmk", "pacemakerd");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 2; }));

    const auto& queried = f.answer(f.send("ro", kQuery, true));
    CHECK(queried.op == "event");
    CHECK(attr_of(queried, "cib_rc") == "0");

    const std::string ping = R"(<create_request_adv origin="x" t="crmd" version="3.16.1" subt="request" )"
                             R"(reference="ping-crm_mon-1-0" crm_task="ping" crm_sys_to="pacemakerd" )"
                             R"(crm_sys_from="1_crm_mon"/>)";
    const std::size_t at = f.send("pcmk", ping);
    REQUIRE(run_until(f.context.get(), [&] { return f.server.proxies.size() >= at + 2; }));
    CHECK(f.server.proxies[at].op == "response");
    CHECK(f.server.proxies[at].msg->name == "ack");
    CHECK(f.server.proxies[at + 1].op == "event");
    CHECK(f.server.proxies[at + 1].msg->find_descendant("ping_response") != nullptr);
    // Asynchronous: the answer alone.
    const std::size_t async_at = f.send("pcmk", ping, true);
    const auto& alone = f.answer(async_at);
    CHECK(alone.op == "event");
    CHECK(alone.msg->find_descendant("ping_response") != nullptr);
}

TEST_CASE(
    "GuestIpc refuses other channels and bad input cleanly, answers shutdown as told, forgets sessions on "
    "drop")
{
    Fixture f;
    for (const char* channel : {"attrd", "stonith-ng", "crmd", "lrmd", "attrd"})
        f.open(std::string("s-") + channel, channel);
    REQUIRE(run_until(f.context.get(), [&] { return f.server.proxies.size() == 5; }));
    for (const auto& destroyed : f.server.proxies)
        CHECK(destroyed.op == "destroy");
    CHECK(f.provider->session_count() == 0);
    CHECK(f.bridge->session_count() == 0);

    f.open("rw", "cib_rw");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 1; }));
    // Not a CIB request: -EBADMSG, the session stays.
    const auto& bad = f.answer(f.send("rw", R"(<nonsense a="1"/>)"));
    CHECK(bad.op == "response");
    CHECK(attr_of(bad, "cib_rc") == std::to_string(-EBADMSG));
    // A bad request the tool does not wait for is dropped silently.
    const std::size_t silent_at = f.send("rw", R"(<cib_command t="cib"/>)", true);
    const auto& next = f.answer(f.send("rw", kRegister));
    CHECK(f.server.proxies.size() == silent_at + 1);
    CHECK(next.op == "response");
    // An absurd user name closes the session.
    const auto& closed = f.answer(f.send("rw", kQuery, false, std::string(1000, 'u')));
    CHECK(closed.op == "destroy");
    CHECK(f.provider->session_count() == 0);
    CHECK(f.bridge->session_count() == 0);

    // shutdown_req: the controller's answer goes back (nack: the node's connection is not
    // managed; ack: it drains the node).
    wire::ProxyMessage shutdown;
    shutdown.op = "shutdown_req";
    shutdown.session = "0";
    const std::size_t shutdown_at = f.server.proxies.size();
    f.server.send(wire::encode(shutdown));
    CHECK(f.answer(shutdown_at).op == "shutdown_nack");
    f.shutdown_answer = connection::ShutdownAnswer::ack;
    const std::size_t drained_at = f.server.proxies.size();
    f.server.send(wire::encode(shutdown));
    CHECK(f.answer(drained_at).op == "shutdown_ack");
    CHECK(f.shutdown_asks == 2);

    // A subscribed session on a dropped connection: forgotten, and a change afterwards
    // sends nothing anywhere.
    f.open("ro", "cib_ro");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 1; }));
    f.answer(f.send("ro", kSubscribe));
    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 0; }));
    f.service->announce("cib_replace", "outpost-controld", f.store->current());
    CHECK(f.bridge->session_count() == 0);

    // The bridge going (a new start replaces the client) closes what is open too.
    Fixture g;
    g.open("a", "cib_ro");
    REQUIRE(run_until(g.context.get(), [&] { return g.provider->session_count() == 1; }));
    g.bridge.reset();
    CHECK(g.provider->session_count() == 0);
}

// With an attribute manager, a guest's attrd_updater is served: a request naming no node is
// for the guest's own node (as Pacemaker's controller fills in the remote node's name), a
// named node is kept, the query answers as the local face does, and a request that is not
// an attrd operation closes the session.
TEST_CASE("GuestIpc serves a guest's attrd_updater for the guest's node through the attribute manager")
{
    Fixture f;
    f.edit_status();
    control::AttributeManager attributes(f.context.get(), *f.service, "host1");
    f.provider->set_attributes(&attributes);
    f.open("at", "attrd");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 1; }));
    const auto& ack =
        f.answer(f.send("at", R"(<create_attrd_op t="attrd" src="attrd_updater" attr_name="a1" )"
                              R"(task="update" attr_value="v1" attr_is_remote="1"/>)"));
    CHECK(ack.op == "response");
    CHECK(ack.msg->name == "ack");
    CHECK(attr_of(ack, "status") == "112");
    CHECK(control::transient_attribute(f.store->current(), "guest1", "a1") ==
          std::optional<std::string>("v1"));
    CHECK_FALSE(control::transient_attribute(f.store->current(), "host1", "a1"));
    f.answer(f.send("at", R"(<create_attrd_op t="attrd" src="attrd_updater" attr_name="a1" task="update" )"
                          R"(attr_value="h" attr_host="host1"/>)"));
    CHECK(control::transient_attribute(f.store->current(), "host1", "a1") == std::optional<std::string>("h"));
    const auto& reply = f.answer(f.send("at", R"(<create_attrd_op t="attrd" attr_name="a1" task="query"/>)"));
    CHECK(reply.op == "response");
    REQUIRE(reply.msg);
    CHECK(reply.msg->name == "build_query_reply");
    CHECK(reply.msg->children.size() == 2);
    const auto& closed = f.answer(f.send("at", R"(<cib_command t="cib" cib_op="cib_query"/>)"));
    CHECK(closed.op == "destroy");
    CHECK(f.provider->session_count() == 0);
}

namespace {

// A recording stand-in for the local crmd and fencer faces (IpcFaces in the daemon, whose
// side the controld-proxied-tools integration test covers with the real tools).
struct RecordingFaces final : controller::ProxiedFaces {
    std::map<ClientId, Carrier> carriers;
    std::vector<std::string> channels;
    std::vector<std::tuple<ClientId, std::int32_t, std::uint32_t, std::string>> requests;
    std::vector<ClientId> closed;
    ClientId next = 100;
    bool refuse_fencer = false;

    Result<ClientId> open_proxied(const std::string& channel, Carrier carrier) override
    {
        if (channel == "stonith-ng" && refuse_fencer) return make_error("ipc", -ECONNREFUSED, "no fencer");
        channels.push_back(channel);
        carriers.emplace(next, std::move(carrier));
        return next++;
    }
    void proxied_request(ClientId id, std::int32_t msg_id, std::uint32_t flags, std::string xml) override
    {
        requests.emplace_back(id, msg_id, flags, std::move(xml));
    }
    void close_proxied(ClientId id) override
    {
        closed.push_back(id);
        carriers.erase(id);
    }
};

}  // namespace

// crmd and stonith-ng sessions are clients of the local faces: opened there with the
// guest's name, each request handed over with its message id and flags, answers sent back
// as responses or events, a session the face closes destroyed (without closing it twice),
// one the tool or the connection ends closed at the face; a face that refuses refuses the
// session.
TEST_CASE("GuestIpc hands a guest's crmd and stonith-ng sessions to the local faces, named by the guest")
{
    Fixture f;
    RecordingFaces faces;
    f.provider->set_proxied_faces(&faces);
    f.open("c", "crmd");
    f.open("s", "stonith-ng");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 2; }));
    CHECK(faces.channels == std::vector<std::string>{"crmd", "stonith-ng"});
    REQUIRE(faces.carriers.size() == 2);
    CHECK(faces.carriers.at(100).node == "guest1");
    CHECK(faces.carriers.at(101).node == "guest1");

    const std::string node_info = R"(<create_request_adv t="crmd" subt="request" crm_task="node-info" )"
                                  R"(reference="node-info-crm_node-1-1" crm_sys_from="1_crm_node"/>)";
    f.send("c", node_info);
    f.send("s", R"(<stonith_command t="stonith-ng" st_op="register" st_clientname="stonith_admin"/>)", true);
    REQUIRE(run_until(f.context.get(), [&] { return faces.requests.size() == 2; }));
    CHECK(std::get<0>(faces.requests[0]) == 100);
    CHECK(std::get<1>(faces.requests[0]) == 1);
    CHECK(std::get<2>(faces.requests[0]) == wire::ipc_flag::client_response);
    CHECK(std::get<3>(faces.requests[0]).find(R"(crm_task="node-info")") != std::string::npos);
    CHECK(std::get<0>(faces.requests[1]) == 101);
    CHECK(std::get<2>(faces.requests[1]) == 0u);

    // Answers: a response to the request's id, an event; our own unparsable answer is an
    // Error and sends nothing.
    const std::size_t at = f.server.proxies.size();
    REQUIRE(faces.carriers.at(100).send(true, 1, R"(<ack function="x" line="0" status="112"/>)").ok());
    REQUIRE(faces.carriers.at(100).send(false, 0, R"(<create_reply_adv subt="response"/>)").ok());
    CHECK_FALSE(faces.carriers.at(100).send(false, 0, "<unclosed").ok());
    const auto& response = f.answer(at);
    CHECK(response.op == "response");
    CHECK(response.session == "c");
    CHECK(response.ipc_msg_id == 1u);
    const auto& event = f.answer(at + 1);
    CHECK(event.op == "event");
    CHECK(event.msg->name == "create_reply_adv");

    // The fencer face drops its client (bad input): the session is destroyed, the face is
    // not told again.
    faces.carriers.at(101).close("undecodable request");
    faces.carriers.erase(101);  // as the face forgets its client
    const auto& destroyed = f.answer(at + 2);
    CHECK(destroyed.op == "destroy");
    CHECK(destroyed.session == "s");
    CHECK(f.provider->session_count() == 1);
    CHECK(faces.closed.empty());

    // The tool leaves: its face client is closed.
    wire::ProxyMessage left;
    left.op = "destroy";
    left.session = "c";
    f.server.send(wire::encode(left));
    REQUIRE(run_until(f.context.get(), [&] { return !faces.closed.empty(); }));
    CHECK(faces.closed == std::vector<controller::ProxiedFaces::ClientId>{100});
    CHECK(f.provider->session_count() == 0);

    // A face that refuses (no fencer: --cib-only) refuses the session.
    faces.refuse_fencer = true;
    const std::size_t refused_at = f.server.proxies.size();
    f.open("s2", "stonith-ng");
    CHECK(f.answer(refused_at).op == "destroy");
    CHECK(f.provider->session_count() == 0);

    // The connection going closes what is open at the faces.
    f.open("c2", "crmd");
    REQUIRE(run_until(f.context.get(), [&] { return f.provider->session_count() == 1; }));
    f.server.close_all();
    REQUIRE(run_until(f.context.get(), [&] { return faces.closed.size() == 2; }));
    CHECK(faces.carriers.empty());
}
