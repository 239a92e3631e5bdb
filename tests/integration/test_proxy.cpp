// The local IPC proxy against real tools (protocol.md 4): the installed Pacemaker 2.1.5
// cibadmin and attrd_updater run inside a guest's network namespace and talk to the guest
// daemon's libqb servers; this test is the cluster side, an IPC provider on io::Connection
// that answers proxied sessions with a fixed CIB. The same checks run against outpost-agent
// and against the real pacemaker-remoted 2.1.5 (the reference), so the two cannot drift:
//   - no provider: cibadmin -Q fails fast (< 2 s) with an error
//   - cibadmin -Q prints the provider's CIB; new/request/destroy carry what 2.1.5 sends
//   - a CIB larger than the IPC buffer arrives compressed and cibadmin still prints it
//   - attrd_updater -n foo -U bar arrives at the provider as an attrd update request
//   - a provider that disconnects while a tool waits makes the tool fail fast
#include <glib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/connection.hpp"
#include "io/source.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace std::chrono_literals;
using outpost::test::contains;
using outpost::test::require_ok;

namespace {

constexpr auto kFastFailLimit = 2s;
constexpr auto kToolTimeout = 20s;

struct ContextDeleter {
    void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using ContextPtr = std::unique_ptr<GMainContext, ContextDeleter>;

bool run_until(GMainContext* context, const std::function<bool()>& done, std::chrono::milliseconds limit)
{
    io::Source tick;
    std::function<void()> rearm;
    rearm = [&] { tick = io::add_timeout(context, 5ms, rearm); };
    rearm();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        g_main_context_iteration(context, TRUE);
    }
    return true;
}

std::string fixed_cib(int nodes)
{
    std::string cib =
        "<cib epoch=\"7\" num_updates=\"3\" admin_epoch=\"0\" validate-with=\"pacemaker-3.8\" "
        "crm_feature_set=\"3.16.2\"><configuration><crm_config/><nodes>";
    for (int i = 0; i < nodes; ++i)
        cib += "<node id=\"" + std::to_string(i + 1) + "\" uname=\"outpost-proxy-node-" +
               std::to_string(i + 1) + "\"/>";
    cib += "</nodes><resources/><constraints/></configuration><status/></cib>";
    return cib;
}

// The cluster side: registers as IPC provider and answers cib and attrd requests the way
// the 2.1.5 controller relays the daemons' answers (response for 0x200, event otherwise).
class FakeProvider {
public:
    std::string cib = fixed_cib(2);
    bool silent = false;  // record requests but answer none
    std::vector<wire::ProxyMessage> seen;
    std::optional<Error> closed;

    static std::unique_ptr<FakeProvider> connect(test::GuestDaemon& daemon, GMainContext* context)
    {
        auto tls = tls::TlsContext::psk_client(tls::Authkey(daemon.authkey().bytes()));
        require_ok(tls);
        auto provider = std::make_unique<FakeProvider>();
        std::optional<Error> failure;
        auto pending = io::Connection::connect_async(daemon.address(), daemon.port(), *tls, context, {},
                                                     [&](Result<std::unique_ptr<io::Connection>> result) {
                                                         if (result.ok()) {
                                                             provider->connection_ =
                                                                 std::move(result).value();
                                                         } else {
                                                             failure = result.error();
                                                         }
                                                     });
        REQUIRE(run_until(
            context, [&] { return provider->connection_ || failure; }, 10s));
        INFO((failure ? failure->describe() : std::string()));
        REQUIRE(provider->connection_);
        FakeProvider* self = provider.get();
        provider->connection_->start([self](std::string xml) { self->on_message(std::move(xml)); },
                                     [self](const Error& reason) { self->closed = reason; });
        require_ok(provider->connection_->send(
            "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"outpost-proxy-test\" "
            "lrmd_protocol_version=\"1.1\" lrmd_is_ipc_provider=\"true\" lrmd_remote_msg_id=\"1\" "
            "lrmd_remote_msg_type=\"request\"/>"));
        REQUIRE(run_until(
            context, [&] { return self->registered_ || self->closed; }, 5s));
        REQUIRE(self->registered_);
        return provider;
    }

    void disconnect() { connection_.reset(); }

    [[nodiscard]] std::vector<const wire::ProxyMessage*> with_op(const std::string& op) const
    {
        std::vector<const wire::ProxyMessage*> out;
        for (const auto& message : seen) {
            if (message.op == op) out.push_back(&message);
        }
        return out;
    }

private:
    void on_message(std::string xml)
    {
        auto decoded = wire::decode_message(xml);
        if (!decoded) return;
        if (auto* reply = std::get_if<wire::Reply>(&*decoded)) {
            if (reply->msg_id == 1) registered_ = true;
            return;
        }
        auto* proxy = std::get_if<wire::ProxyMessage>(&*decoded);
        if (proxy == nullptr) return;
        seen.push_back(*proxy);
        if (proxy->op == "request" && !silent && proxy->msg) answer(*proxy);
    }

    void answer(const wire::ProxyMessage& request)
    {
        const wire::Element& msg = *request.msg;
        const std::string* t = msg.attr("t");
        std::optional<wire::Element> answer;
        if (t != nullptr && *t == "cib") {
            const std::string* op = msg.attr("cib_op");
            if (op != nullptr && *op == "register") {
                answer =
                    wire::Element{"cib_command",
                                  {{"t", "cib"}, {"cib_op", "register"}, {"cib_clientid", "fake-cib-client"}},
                                  {}};
            } else {
                auto reply = wire::parse_xml(
                    "<cib-reply t=\"cib\" cib_clientid=\"fake-cib-client\" cib_rc=\"0\"><cib_calldata>" +
                    cib + "</cib_calldata></cib-reply>");
                require_ok(reply);
                answer = std::move(reply).value();
                if (op != nullptr) answer->set("cib_op", *op);
                if (const std::string* call = msg.attr("cib_callid")) answer->set("cib_callid", *call);
            }
        } else if (t != nullptr && *t == "attrd") {
            answer = wire::Element{
                "ack", {{"function", "outpost_proxy_test"}, {"line", "1"}, {"status", "0"}}, {}};
        }
        if (!answer) return;
        wire::ProxyMessage out;
        out.type = wire::MsgType::request;
        out.msg_id = next_msg_id_++;
        out.session = request.session;
        const bool sync = (request.ipc_msg_flags.value_or(0) & 0x200U) != 0;
        out.op = sync ? "response" : "event";
        if (sync) out.ipc_msg_id = request.ipc_msg_id;
        out.msg = std::move(answer);
        require_ok(connection_->send(wire::encode(out)));
    }

    std::unique_ptr<io::Connection> connection_;
    bool registered_ = false;
    std::uint64_t next_msg_id_ = 2;
};

struct ToolRun {
    std::optional<Result<test::CommandResult>> result;
    std::chrono::milliseconds elapsed{0};
};

// Runs a tool inside the guest's namespace on a thread while `context` keeps turning (the
// provider answers from it).
ToolRun run_tool(test::GuestDaemon& daemon, GMainContext* context, const std::vector<std::string>& argv)
{
    ToolRun run;
    std::atomic<bool> done{false};
    const auto start = std::chrono::steady_clock::now();
    std::thread worker([&] {
        run.result = test::run_command(argv, &daemon.netns(), kToolTimeout);
        done = true;
    });
    run_until(
        context, [&] { return done.load(); }, kToolTimeout + 5s);
    worker.join();
    run.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return run;
}

std::unique_ptr<test::GuestDaemon> start_daemon(const std::string& binary)
{
    auto daemon = test::GuestDaemon::start(binary);
    require_ok(daemon);
    return std::move(daemon).value();
}

void check_no_provider(test::GuestDaemon& daemon, GMainContext* context)
{
    auto run = run_tool(daemon, context, {"cibadmin", "-Q"});
    REQUIRE(run.result);
    require_ok(*run.result);
    INFO("cibadmin -Q without provider: " << (*run.result)->describe());
    CHECK_FALSE((*run.result)->succeeded());
    CHECK(run.elapsed < kFastFailLimit);
    CHECK(contains((*run.result)->output, "Could not connect to the CIB"));
}

void check_cib_query(test::GuestDaemon& daemon, GMainContext* context, FakeProvider& provider)
{
    provider.seen.clear();
    auto run = run_tool(daemon, context, {"cibadmin", "-Q"});
    REQUIRE(run.result);
    require_ok(*run.result);
    INFO("cibadmin -Q: " << (*run.result)->describe());
    REQUIRE((*run.result)->succeeded());
    CHECK(contains((*run.result)->output, "epoch=\"7\""));
    CHECK(contains((*run.result)->output, "outpost-proxy-node-2"));
    // Let the destroy arrive.
    run_until(
        context, [&] { return !provider.with_op("destroy").empty(); }, 2s);

    auto news = provider.with_op("new");
    REQUIRE(news.size() == 1);
    CHECK(news[0]->server == std::optional<std::string>("cib_rw"));
    REQUIRE(news[0]->session);
    const std::string session = *news[0]->session;
    CHECK(session.size() == 36);
    CHECK(news[0]->type == wire::MsgType::notify);
    CHECK(news[0]->msg_id == 0);

    auto requests = provider.with_op("request");
    REQUIRE(requests.size() == 2);
    for (const auto* request : requests) {
        CHECK(request->session == std::optional<std::string>(session));
        REQUIRE(request->client);
        CHECK(request->client->rfind("proxy-cib_rw-", 0) == 0);
        CHECK(request->client->substr(request->client->size() - 8) == session.substr(0, 8));
        CHECK(request->user == std::optional<std::string>("root"));
        REQUIRE(request->msg);
    }
    CHECK(requests[0]->ipc_msg_id == std::optional<std::uint32_t>(1));
    CHECK(requests[0]->ipc_msg_flags == std::optional<std::uint32_t>(768));
    CHECK(*requests[0]->msg->attr("cib_op") == "register");
    CHECK(requests[1]->ipc_msg_id == std::optional<std::uint32_t>(2));
    CHECK(requests[1]->ipc_msg_flags == std::optional<std::uint32_t>(256));
    CHECK(*requests[1]->msg->attr("cib_op") == "cib_query");

    auto destroys = provider.with_op("destroy");
    REQUIRE(destroys.size() == 1);
    CHECK(destroys[0]->session == std::optional<std::string>(session));
}

void check_big_cib(test::GuestDaemon& daemon, GMainContext* context, FakeProvider& provider)
{
    // ~250 KiB of XML: above the 128 KiB IPC buffer, so the daemon must compress it.
    provider.cib = fixed_cib(5000);
    auto run = run_tool(daemon, context, {"cibadmin", "-Q"});
    provider.cib = fixed_cib(2);
    REQUIRE(run.result);
    require_ok(*run.result);
    INFO("cibadmin -Q (big CIB): " << (*run.result)->describe().substr(0, 2000));
    REQUIRE((*run.result)->succeeded());
    CHECK(contains((*run.result)->output, "outpost-proxy-node-5000\""));
}

void check_attrd(test::GuestDaemon& daemon, GMainContext* context, FakeProvider& provider)
{
    provider.seen.clear();
    auto run = run_tool(daemon, context, {"attrd_updater", "-n", "foo", "-U", "bar"});
    REQUIRE(run.result);
    require_ok(*run.result);
    INFO("attrd_updater: " << (*run.result)->describe());
    CHECK((*run.result)->succeeded());
    auto news = provider.with_op("new");
    REQUIRE(news.size() == 1);
    CHECK(news[0]->server == std::optional<std::string>("attrd"));
    auto requests = provider.with_op("request");
    REQUIRE(requests.size() >= 1);
    const wire::ProxyMessage& request = *requests[0];
    REQUIRE(request.msg);
    CHECK(request.msg->name == "create_attrd_op");
    CHECK(*request.msg->attr("t") == "attrd");
    CHECK(*request.msg->attr("attr_name") == "foo");
    CHECK(*request.msg->attr("attr_value") == "bar");
    CHECK(*request.msg->attr("task") == "update");
    REQUIRE(request.client);
    CHECK(request.client->rfind("proxy-attrd-", 0) == 0);
    CHECK((request.ipc_msg_flags.value_or(0) & 0x100U) != 0);
}

void check_provider_loss(test::GuestDaemon& daemon, GMainContext* context,
                         std::unique_ptr<FakeProvider>& provider)
{
    provider->silent = true;
    provider->seen.clear();
    ToolRun run;
    std::atomic<bool> done{false};
    std::thread worker([&] {
        run.result = test::run_command({"cibadmin", "-Q"}, &daemon.netns(), kToolTimeout);
        done = true;
    });
    // The tool now waits for the register response that never comes.
    const bool asked = run_until(
        context, [&] { return !provider->with_op("request").empty() || done.load(); }, 10s);
    const auto lost = std::chrono::steady_clock::now();
    provider->disconnect();
    run_until(
        context, [&] { return done.load(); }, kToolTimeout + 5s);
    worker.join();
    const auto after =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lost);
    REQUIRE(asked);
    REQUIRE(run.result);
    require_ok(*run.result);
    INFO("cibadmin -Q when the provider goes away: " << (*run.result)->describe());
    CHECK_FALSE((*run.result)->succeeded());
    CHECK(after < 5s);
    provider.reset();
}

void run_all_checks(const std::string& binary)
{
    auto daemon = start_daemon(binary);
    INFO("daemon log tail:\n" << daemon->log_tail());
    ContextPtr context(g_main_context_new());

    check_no_provider(*daemon, context.get());
    auto provider = FakeProvider::connect(*daemon, context.get());
    check_cib_query(*daemon, context.get(), *provider);
    check_big_cib(*daemon, context.get(), *provider);
    check_attrd(*daemon, context.get(), *provider);
    check_provider_loss(*daemon, context.get(), provider);
    CHECK(daemon->process().is_running());
}

}  // namespace

TEST_CASE("IPC proxy: cluster tools through outpost-agent", "[proxy][agent]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto agent = test::agent_path();
    if (!agent) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");
    run_all_checks(*agent);
}

TEST_CASE("IPC proxy: cluster tools through the real pacemaker-remoted 2.1.5", "[proxy][remoted]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto remoted = test::remoted_path();
    require_ok(remoted);
    run_all_checks(*remoted);
}
