// IpcProxy with real libqb clients (the library the Pacemaker tools use) and a recording
// ProxyHost in place of the server. Services get a unique name prefix so they cannot clash
// with a cluster stack on this machine. Each client call runs on a thread while the test
// thread turns the proxy's GLib context; all checks happen on the test thread.
#include <glib.h>
#include <qb/qbipcc.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/source.hpp"
#include "ipc/header.hpp"
#include "proxy/channels.hpp"
#include "proxy/endpoint.hpp"
#include "proxy/proxy.hpp"
#include "support/main_loop.hpp"
#include "util/users.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::agent;
using namespace outpost::agent::proxy;
using namespace std::chrono_literals;
using outpost::test::ContextPtr;
using outpost::test::loop_for;
using outpost::test::run_until;

namespace {

constexpr std::size_t kClientBuffer = std::size_t{128} * 1024;
constexpr int32_t kRecvTimeoutMs = 2000;

class RecordingHost : public proxy::ProxyHost {
public:
    std::optional<std::string> provider;
    bool accept_sends = true;
    std::vector<std::pair<std::string, wire::ProxyMessage>> sent;
    int gone = 0;

    [[nodiscard]] std::optional<std::string> newest_provider() const override { return provider; }
    bool send_to_provider(std::string_view id, const wire::ProxyMessage& message) override
    {
        if (!accept_sends) return false;
        sent.emplace_back(std::string(id), message);
        return true;
    }
    void local_client_gone() override { ++gone; }

    [[nodiscard]] std::vector<wire::ProxyMessage> with_op(const std::string& op) const
    {
        std::vector<wire::ProxyMessage> out;
        for (const auto& [id, message] : sent) {
            if (message.op == op) out.push_back(message);
        }
        return out;
    }
};

std::string big_xml(std::size_t approx)
{
    std::string xml = "<cib-reply t=\"cib\"><cib_calldata><cib><status>";
    int i = 0;
    while (xml.size() < approx)
        xml += "<node_state id=\"" + std::to_string(i++) + "\" uname=\"n\"/>";
    xml += "</status></cib></cib_calldata></cib-reply>";
    return xml;
}

struct Received {
    ssize_t rc = 0;
    std::optional<ipc::Message> message;
};

class Fixture {
public:
    Fixture()
    {
        static int counter = 0;
        prefix_ = "outpost-ut-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-";
        ProxyOptions options;
        options.name_prefix = prefix_;
        auto created = IpcProxy::create(context_.get(), options);
        INFO((created ? std::string() : created.error().describe()));
        REQUIRE(created);
        proxy = std::move(created).value();
        proxy->attach_host(&host);
    }
    ~Fixture()
    {
        for (auto* c : clients_)
            qb_ipcc_disconnect(c);
        proxy.reset();
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    RecordingHost host;
    std::unique_ptr<IpcProxy> proxy;

    GMainContext* context() { return context_.get(); }

    // Runs `work` on a client thread while the proxy's loop turns here.
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

    qb_ipcc_connection_t* connect(const std::string& channel)
    {
        std::string name = prefix_ + channel;
        auto* c = client<qb_ipcc_connection_t*>([&] { return qb_ipcc_connect(name.c_str(), kClientBuffer); });
        if (c != nullptr) clients_.push_back(c);
        return c;
    }

    ssize_t send(qb_ipcc_connection_t* c, std::int32_t id, const std::string& xml, std::uint32_t flags)
    {
        auto bytes = ipc::encode_message(id, xml, flags);
        REQUIRE(bytes);
        return send_raw(c, *bytes);
    }
    ssize_t send_raw(qb_ipcc_connection_t* c, const std::string& bytes)
    {
        return client<ssize_t>([&] { return qb_ipcc_send(c, bytes.data(), bytes.size()); });
    }

    Received receive(qb_ipcc_connection_t* c, bool event)
    {
        return client<Received>([&] {
            std::string buffer(4 * kClientBuffer, '\0');
            Received received;
            received.rc = event ? qb_ipcc_event_recv(c, buffer.data(), buffer.size(), kRecvTimeoutMs)
                                : qb_ipcc_recv(c, buffer.data(), buffer.size(), kRecvTimeoutMs);
            if (received.rc > 0) {
                auto decoded = ipc::decode_message(buffer.data(), static_cast<std::size_t>(received.rc));
                if (decoded) received.message = std::move(decoded).value();
            }
            return received;
        });
    }

    // True once the server side has closed the connection.
    bool disconnected(qb_ipcc_connection_t* c)
    {
        return client<bool>([&] {
            std::string buffer(4 * kClientBuffer, '\0');
            for (int i = 0; i < 20; ++i) {
                ssize_t rc = qb_ipcc_event_recv(c, buffer.data(), buffer.size(), 100);
                if (rc == -ENOTCONN || rc == -ESHUTDOWN || rc == -ECONNRESET) return true;
                if (!qb_ipcc_is_connected(c)) return true;
            }
            return false;
        });
    }

    void forget(qb_ipcc_connection_t* c)
    {
        qb_ipcc_disconnect(c);
        std::erase(clients_, c);
    }

private:
    ContextPtr context_{g_main_context_new()};
    std::string prefix_;
    std::vector<qb_ipcc_connection_t*> clients_;
};

}  // namespace

TEST_CASE("Local connections are refused without provider, on pacemakerd and on lrmd", "[proxy][ipc]")
{
    Fixture f;
    CHECK(f.connect("cib_rw") == nullptr);
    CHECK(f.proxy->local_client_count() == 0);

    f.host.provider = "provider-1";
    CHECK(f.connect("pacemakerd") == nullptr);
    CHECK(f.connect("lrmd") == nullptr);
    CHECK(f.host.sent.empty());
    CHECK(f.connect("cib_ro") != nullptr);
    REQUIRE(run_until(f.context(), [&] { return !f.host.sent.empty(); }));
    CHECK(f.host.sent[0].second.server == std::optional<std::string>("cib_ro"));
}

TEST_CASE("A proxied session: new, request, response, events, destroy", "[proxy][ipc]")
{
    Fixture f;
    f.host.provider = "provider-1";
    auto* c = f.connect("cib_shm");
    REQUIRE(c != nullptr);
    REQUIRE(run_until(f.context(), [&] { return f.host.sent.size() == 1; }));
    const auto& [to, announced] = f.host.sent[0];
    CHECK(to == "provider-1");
    CHECK(announced.op == "new");
    CHECK(announced.server == std::optional<std::string>("cib_rw"));  // cib_shm is proxied as cib_rw
    REQUIRE(announced.session);
    const std::string session = *announced.session;
    CHECK(session.size() == 36);
    CHECK(f.proxy->local_client_count() == 1);

    const std::string reg = R"(<cib_command t="cib" cib_op="register" cib_clientname="unit"/>)";
    REQUIRE(f.send(c, 1, reg, wire::ipc_flag::client_response) > 0);
    REQUIRE(run_until(f.context(), [&] { return f.host.sent.size() == 2; }));
    const wire::ProxyMessage request = f.host.sent[1].second;
    CHECK(request.op == "request");
    CHECK(request.type == wire::MsgType::notify);
    CHECK(request.session == std::optional<std::string>(session));
    CHECK(request.client == std::optional<std::string>("proxy-cib_rw-" + std::to_string(::getpid()) + "-" +
                                                       session.substr(0, 8)));
    CHECK(request.user == std::optional<std::string>(users::user_name(::getuid())));
    CHECK(request.ipc_msg_id == std::optional<std::uint32_t>(1));
    CHECK(request.ipc_msg_flags == std::optional<std::uint32_t>(0x300));
    REQUIRE(request.msg);
    CHECK(wire::serialize(*request.msg) == reg);

    SECTION("response, event, compressed event, compressed request, local disconnect")
    {
        auto answer = wire::parse_xml(R"(<cib_command t="cib" cib_op="register" cib_clientid="x"/>)");
        REQUIRE(answer);
        CHECK(f.proxy->deliver_response(session, 1, wire::serialize(*answer)));
        Received response = f.receive(c, false);
        REQUIRE(response.message);
        CHECK(response.message->header.id == 1);
        CHECK((response.message->header.flags & wire::ipc_flag::server_event) == 0);
        CHECK(response.message->xml == wire::serialize(*answer));

        CHECK(f.proxy->deliver_event(session, wire::serialize(*answer)));
        Received event = f.receive(c, true);
        REQUIRE(event.message);
        CHECK((event.message->header.flags & wire::ipc_flag::server_event) != 0);
        CHECK(event.message->xml == wire::serialize(*answer));

        auto big = wire::parse_xml(big_xml(std::size_t{300} * 1024));
        REQUIRE(big);
        CHECK(f.proxy->deliver_event(session, wire::serialize(*big)));
        Received big_event = f.receive(c, true);
        INFO("rc " << big_event.rc);
        REQUIRE(big_event.message);
        CHECK((big_event.message->header.flags & wire::ipc_flag::compressed) != 0);
        CHECK(big_event.message->xml == wire::serialize(*big));

        // A tool compresses requests above its buffer; the provider gets them inflated.
        REQUIRE(f.send(c, 2, wire::serialize(*big), 0) > 0);
        REQUIRE(run_until(f.context(), [&] { return f.host.with_op("request").size() == 2; }));
        auto forwarded = f.host.with_op("request")[1];
        CHECK(forwarded.ipc_msg_flags == std::optional<std::uint32_t>(0x100));
        REQUIRE(forwarded.msg);
        CHECK(*forwarded.msg == *big);

        f.forget(c);
        REQUIRE(run_until(f.context(), [&] { return !f.host.with_op("destroy").empty(); }));
        CHECK(f.host.with_op("destroy")[0].session == std::optional<std::string>(session));
        CHECK(f.proxy->local_client_count() == 0);
        CHECK(f.host.gone == 1);
        CHECK_FALSE(f.proxy->deliver_event(session, wire::serialize(*answer)));
    }

    SECTION("large messages are translated off the loop and keep their order")
    {
        // Over io::kOffloadAbove, so each goes to the worker; the small ones behind wait.
        auto big = wire::parse_xml(big_xml(std::size_t{300} * 1024));
        REQUIRE(big);
        const std::string big_text = wire::serialize(*big);
        REQUIRE(f.send(c, 2, big_text, 0) > 0);
        REQUIRE(f.send(c, 3, reg, 0) > 0);
        REQUIRE(run_until(f.context(), [&] { return f.host.with_op("request").size() == 3; }));
        CHECK(f.host.with_op("request")[1].ipc_msg_id == std::optional<std::uint32_t>(2));
        REQUIRE(f.host.with_op("request")[1].msg);
        CHECK(*f.host.with_op("request")[1].msg == *big);
        CHECK(f.host.with_op("request")[2].ipc_msg_id == std::optional<std::uint32_t>(3));

        // A large event, then a small one: the tool gets them in that order.
        CHECK(f.proxy->deliver_event(session, big_text));
        CHECK(f.proxy->deliver_event(session, reg));
        Received first = f.receive(c, true);
        INFO("rc " << first.rc);
        REQUIRE(first.message);
        CHECK(first.message->xml == big_text);
        Received second = f.receive(c, true);
        REQUIRE(second.message);
        CHECK(second.message->xml == reg);

        // The provider's destroy waits for what it sent before.
        CHECK(f.proxy->deliver_event(session, big_text));
        f.proxy->destroy_session(session);
        CHECK(f.proxy->has_session(session));
        REQUIRE(run_until(f.context(), [&] { return !f.proxy->has_session(session); }));
        CHECK(f.disconnected(c));
        CHECK(f.proxy->local_client_count() == 0);
    }

    SECTION("unknown sessions are reported as such")
    {
        auto answer = wire::parse_xml("<x/>");
        REQUIRE(answer);
        CHECK(f.proxy->has_session(session));
        CHECK_FALSE(f.proxy->has_session("no-such-session"));
        CHECK_FALSE(f.proxy->deliver_response("no-such-session", 1, "<x/>"));
        CHECK_FALSE(f.proxy->deliver_event("no-such-session", "<x/>"));
        f.proxy->destroy_session("no-such-session");
        CHECK(f.proxy->local_client_count() == 1);
    }

    SECTION("the provider's destroy closes the local client without a destroy back")
    {
        f.proxy->destroy_session(session);
        CHECK(f.proxy->local_client_count() == 0);
        CHECK(f.disconnected(c));
        CHECK(f.host.with_op("destroy").empty());
    }

    SECTION("an invalid request closes the session and tells the provider")
    {
        auto bytes = ipc::encode_message(2, "<ok/>", 0);
        REQUIRE(bytes);
        (*bytes)[36] = 2;  // another header version
        f.send_raw(c, *bytes);
        REQUIRE(run_until(f.context(), [&] { return !f.host.with_op("destroy").empty(); }));
        CHECK(f.proxy->local_client_count() == 0);
        CHECK(f.disconnected(c));
    }
}

TEST_CASE("A provider that goes away takes only its own sessions", "[proxy][ipc]")
{
    Fixture f;
    f.host.provider = "old";
    auto* a = f.connect("attrd");
    REQUIRE(a != nullptr);
    f.host.provider = "new";
    auto* b = f.connect("stonith-ng");
    REQUIRE(b != nullptr);
    REQUIRE(run_until(f.context(), [&] { return f.host.sent.size() == 2; }));
    CHECK(f.host.sent[0].first == "old");
    CHECK(f.host.sent[1].first == "new");
    CHECK(f.host.sent[1].second.server == std::optional<std::string>("stonith-ng"));
    REQUIRE(f.proxy->local_client_count() == 2);

    const auto sent_before = f.host.sent.size();
    f.proxy->provider_gone("old");
    CHECK(f.proxy->local_client_count() == 1);
    CHECK(f.disconnected(a));
    CHECK(f.host.sent.size() == sent_before);  // nobody to tell
    CHECK(f.host.gone == 0);                   // the server counts clients itself here
    CHECK(f.proxy->session_ids() == std::vector<std::string>{*f.host.sent[1].second.session});
}

TEST_CASE("A session whose provider cannot be reached is closed at once", "[proxy][ipc]")
{
    Fixture f;
    f.host.provider = "gone";
    f.host.accept_sends = false;
    auto* c = f.connect("crmd");
    if (c != nullptr) CHECK(f.disconnected(c));
    CHECK(f.proxy->local_client_count() == 0);
}

TEST_CASE("Only one proxy (libqb loop adapter) per process", "[proxy][ipc]")
{
    Fixture f;
    ContextPtr other = outpost::test::new_context();
    auto second = IpcProxy::create(other.get());
    CHECK_FALSE(second);
}

TEST_CASE("A tool that leaves while the proxy closes its session is released once", "[proxy][ipc]")
{
    Fixture f;
    f.host.provider = "provider-1";
    auto* c = f.connect("cib_rw");
    REQUIRE(c != nullptr);
    REQUIRE(run_until(f.context(), [&] { return f.host.sent.size() == 1; }));  // `new`
    // The tool leaves, and before the loop sees its hang-up the proxy closes the session
    // itself (its provider went away): libqb reports the disconnect first, then the
    // proxy's own disconnect comes due. The connection must be released exactly once.
    f.forget(c);
    f.proxy->provider_gone("provider-1");
    loop_for(f.context(), 300ms);
    CHECK(f.proxy->local_client_count() == 0);
    // The proxy still serves new tools afterwards.
    f.host.provider = "provider-2";
    auto* again = f.connect("cib_rw");
    REQUIRE(again != nullptr);
    CHECK(run_until(f.context(), [&] { return f.host.sent.size() == 2; }));
}

TEST_CASE("The agent's own session gets its messages; tools never see it, the last-client rule ignores it",
          "[proxy][ipc]")
{
    struct Own : proxy::OwnSession {
        std::string id = "own-session";
        std::vector<std::string> got;
        [[nodiscard]] bool owns(std::string_view session) const override { return session == id; }
        void response(std::uint32_t ipc_msg_id, const wire::Element& msg) override
        {
            got.push_back("response " + std::to_string(ipc_msg_id) + " " + msg.name);
        }
        void event(const wire::Element& msg) override { got.push_back("event " + msg.name); }
        void destroyed() override { got.emplace_back("destroyed"); }
        void provider_added(std::string_view p) override { got.push_back("added " + std::string(p)); }
        void provider_gone(std::string_view p) override { got.push_back("gone " + std::string(p)); }
    };
    Fixture f;
    Own own;
    f.proxy->attach_own_session(&own);
    f.host.provider = "provider-1";
    auto* c = f.connect("cib_ro");
    REQUIRE(c != nullptr);
    REQUIRE(run_until(f.context(), [&] { return f.host.sent.size() == 1; }));
    const std::string tool_session = *f.host.sent[0].second.session;

    const std::string msg = R"(<notify t="cib_notify"/>)";
    CHECK(f.proxy->has_session("own-session"));
    CHECK(f.proxy->deliver_response("own-session", 4, msg));
    CHECK(f.proxy->deliver_event("own-session", msg));
    // What the own session cannot read is logged and dropped, never handed to a tool.
    CHECK(f.proxy->deliver_event("own-session", "<notify"));
    f.proxy->provider_added("provider-2");
    f.proxy->destroy_session("own-session");
    CHECK(own.got ==
          std::vector<std::string>{"response 4 notify", "event notify", "added provider-2", "destroyed"});
    // Only the tool is a local client and a listed session; its session is untouched.
    CHECK(f.proxy->local_client_count() == 1);
    CHECK(f.proxy->session_ids() == std::vector<std::string>{tool_session});
    CHECK(f.proxy->has_session(tool_session));

    // A provider's going reaches both; the tool's session is closed, the own one is told.
    f.proxy->provider_gone("provider-1");
    CHECK(own.got.back() == "gone provider-1");
    CHECK(f.proxy->local_client_count() == 0);
    f.proxy->attach_own_session(nullptr);
    CHECK_FALSE(f.proxy->has_session("own-session"));
    CHECK_FALSE(f.proxy->deliver_event("own-session", msg));
}
