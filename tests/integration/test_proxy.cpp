// The local IPC proxy against real tools (docs/protocol.md 4): the installed Pacemaker 2.1.5
// cibadmin and attrd_updater run inside a guest's network namespace and talk to the guest
// daemon's libqb servers; this test is the cluster side, an IPC provider on io::Connection
// that answers proxied sessions with a fixed CIB. The same checks run against outpost-agent
// and against the real pacemaker-remoted 2.1.5 (the reference), so the two cannot drift:
//   - no provider: cibadmin -Q fails fast (< 2 s) with an error
//   - cibadmin -Q prints the provider's CIB; new/request/destroy carry what 2.1.5 sends
//   - a CIB larger than the IPC buffer arrives compressed and cibadmin still prints it
//   - attrd_updater -n foo -U bar arrives at the provider as an attrd update request
//   - a provider that disconnects while a tool waits makes the tool fail fast
//   - local IPC is only for root and the haclient group: a tool run as `nobody` is refused
//     fast with a clear error (the provider hears only a `new` and its `destroy`, as from
//     2.1.5); run as a user whose supplementary group is haclient (created with useradd
//     for the run, removed with userdel after) or as hacluster (primary group haclient) it is served, and the
//     provider sees that user's name in lrmd_ipc_user
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/connection.hpp"
#include "io/source.hpp"
#include "support/main_loop.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace std::chrono_literals;
using outpost::test::contains;
using outpost::test::ContextPtr;
using outpost::test::require_ok;
using outpost::test::run_until;

namespace {

constexpr auto kFastFailLimit = 2s;
constexpr auto kToolTimeout = 20s;
// The group Pacemaker's local IPC is restricted to, and the users the permission checks
// run tools as: `nobody` (never in haclient), hacluster (primary group haclient, created by
// the pacemaker package) and a user created for the run whose only link to haclient is a
// supplementary membership.
constexpr const char* kClusterGroup = "haclient";
constexpr const char* kOutsider = "nobody";
constexpr const char* kClusterUser = "hacluster";
constexpr const char* kTempUserPrefix = "outpost-ipc-";

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
        auto provider = std::make_unique<FakeProvider>();
        FakeProvider* self = provider.get();
        provider->connection_ = test::raw_client(context, daemon);
        provider->connection_->on_message([self](const std::string& xml) { self->on_message(xml); });
        provider->connection_->on_close([self](const Error& reason) { self->closed = reason; });
        require_ok(provider->connection_->send_xml(
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
    void on_message(const std::string& xml)
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
        require_ok(connection_->send_xml(wire::encode(out)));
    }

    std::unique_ptr<test::RawClient> connection_;
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

// argv run as `user` (its primary group and its supplementary groups from /etc/group),
// through util-linux setpriv: no PAM session, nothing but the credentials change.
std::vector<std::string> as_user(const std::string& user, const std::vector<std::string>& argv)
{
    const struct passwd* pw = ::getpwnam(user.c_str());
    REQUIRE(pw != nullptr);
    std::vector<std::string> out{"setpriv", "--reuid=" + user, "--regid=" + std::to_string(pw->pw_gid),
                                 "--init-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

// Whether `user` is a member of `group`, by primary group or /etc/group membership.
bool user_in_group(const std::string& user, const std::string& group)
{
    const struct passwd* pw = ::getpwnam(user.c_str());
    const struct group* gr = ::getgrnam(group.c_str());
    if (pw == nullptr || gr == nullptr) return false;
    const gid_t wanted = gr->gr_gid;
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(user.c_str(), pw->pw_gid, groups.data(), &count) < 0) return false;
    }
    groups.resize(static_cast<std::size_t>(count));
    return std::find(groups.begin(), groups.end(), wanted) != groups.end();
}

// A system user for one test run, in haclient only through a supplementary membership,
// with no home and no login shell; removed (with its user group) by the destructor. The
// name carries this process's PID so parallel runs from other build directories never
// share one; users left by a crashed run (their PID gone) are removed first.
class TempUser {
public:
    static std::unique_ptr<TempUser> create()
    {
        remove_stale();
        auto user = std::unique_ptr<TempUser>(new TempUser(kTempUserPrefix + std::to_string(::getpid())));
        auto added =
            test::run_command({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                               "--user-group", "--groups", kClusterGroup, user->name_});
        test::require_ok(added);
        INFO("useradd " << user->name_ << ": " << added->describe());
        REQUIRE(added->succeeded());
        user->created_ = true;
        return user;
    }

    TempUser(const TempUser&) = delete;
    TempUser& operator=(const TempUser&) = delete;
    ~TempUser()
    {
        if (!created_) return;
        auto removed = test::run_command({"userdel", name_});
        if (!removed || !removed->succeeded())
            (void)std::fprintf(stderr, "userdel %s: %s\n", name_.c_str(),
                               removed ? removed->describe().c_str() : removed.error().message.c_str());
    }

    [[nodiscard]] const std::string& name() const { return name_; }

private:
    explicit TempUser(std::string name) : name_(std::move(name)) {}

    static void remove_stale()
    {
        std::vector<std::string> stale;
        ::setpwent();
        while (const struct passwd* pw = ::getpwent()) {
            const std::string name = pw->pw_name;
            if (name.rfind(kTempUserPrefix, 0) != 0) continue;
            const std::string pid = name.substr(std::string(kTempUserPrefix).size());
            if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos &&
                !std::filesystem::exists("/proc/" + pid))
                stale.push_back(name);
        }
        ::endpwent();
        for (const auto& name : stale)
            (void)test::run_command({"userdel", name});
    }

    std::string name_;
    bool created_ = false;
};

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
    REQUIRE_FALSE(requests.empty());
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

// Local IPC is for root and the haclient group only (as pacemaker-remoted's): with a
// provider connected, `nobody` is refused at connection time, fast, with the tool's own
// error, and the provider only hears of it as a session opened and at once destroyed; a haclient member
// (supplementary or primary group) is served and named in lrmd_ipc_user.
void check_permissions(test::GuestDaemon& daemon, GMainContext* context, FakeProvider& provider)
{
    REQUIRE(::getgrnam(kClusterGroup) != nullptr);
    INFO(kOutsider << " must exist and not be in " << kClusterGroup);
    REQUIRE(::getpwnam(kOutsider) != nullptr);
    REQUIRE_FALSE(user_in_group(kOutsider, kClusterGroup));

    // What each 2.1.5 tool prints when the daemon refuses its connection (the same with
    // both daemons): cibadmin reports the failed connection, attrd_updater the errno.
    const std::vector<std::pair<std::vector<std::string>, std::string>> tools{
        {{"cibadmin", "-Q"}, "Could not connect to the CIB"},
        {{"attrd_updater", "-n", "foo", "-U", "bar"}, "Permission denied"}};
    for (const auto& [argv, error] : tools) {
        provider.seen.clear();
        auto run = run_tool(daemon, context, as_user(kOutsider, argv));
        REQUIRE(run.result);
        require_ok(*run.result);
        INFO(test::join_argv(argv) << " as " << kOutsider << ": " << (*run.result)->describe() << " ("
                                   << run.elapsed.count() << " ms)");
        CHECK_FALSE((*run.result)->succeeded());
        CHECK(run.elapsed < kFastFailLimit);
        CHECK(contains((*run.result)->output, error));
        // The tool's request never reaches the provider, but the refused connection is
        // announced to it (2.1.5 does so): a `new` for the tool's channel, then at once its
        // `destroy`. Let a late destroy arrive first.
        run_until(
            context,
            [&] {
                return !provider.with_op("new").empty() &&
                       provider.with_op("destroy").size() >= provider.with_op("new").size();
            },
            2s);
        CHECK(provider.with_op("request").empty());
        CHECK_FALSE(provider.with_op("new").empty());
        for (const auto* opened : provider.with_op("new")) {
            INFO("new " << opened->server.value_or("?") << " session " << opened->session.value_or("?"));
            bool destroyed = false;
            for (const auto* d : provider.with_op("destroy"))
                destroyed = destroyed || d->session == opened->session;
            CHECK(destroyed);
        }
    }

    auto temp = TempUser::create();
    REQUIRE(user_in_group(temp->name(), kClusterGroup));
    const std::vector<std::string> members{temp->name(), kClusterUser};
    for (const auto& user : members) {
        INFO("user " << user);
        REQUIRE(user_in_group(user, kClusterGroup));
        provider.seen.clear();
        auto run = run_tool(daemon, context, as_user(user, {"cibadmin", "-Q"}));
        REQUIRE(run.result);
        require_ok(*run.result);
        INFO("cibadmin -Q as " << user << ": " << (*run.result)->describe());
        CHECK((*run.result)->succeeded());
        CHECK(contains((*run.result)->output, "outpost-proxy-node-2"));
        auto requests = provider.with_op("request");
        REQUIRE_FALSE(requests.empty());
        for (const auto* request : requests)
            CHECK(request->user == std::optional<std::string>(user));

        provider.seen.clear();
        run = run_tool(daemon, context, as_user(user, {"attrd_updater", "-n", "foo", "-U", "bar"}));
        REQUIRE(run.result);
        require_ok(*run.result);
        INFO("attrd_updater as " << user << ": " << (*run.result)->describe());
        CHECK((*run.result)->succeeded());
        requests = provider.with_op("request");
        REQUIRE_FALSE(requests.empty());
        CHECK(requests[0]->user == std::optional<std::string>(user));
    }
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
    check_permissions(*daemon, context.get(), *provider);
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
