// RemoteClient and RemoteConnection against real servers: the real pacemaker-remoted 2.1.5
// and (when $OUTPOST_AGENT is set) our outpost-agent, each running in its own namespace
// through the harness. Every test case runs once per daemon; a daemon that is not
// available is skipped visibly.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../unit/cluster/test_provider.hpp"
#include "connection/ipc_provider.hpp"
#include "connection/remote_client.hpp"
#include "connection/remote_connection.hpp"
#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/source.hpp"
#include "util/log.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace outpost::cluster::connection;
using namespace std::chrono_literals;

namespace {

struct ContextDeleter {
    void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using ContextPtr = std::unique_ptr<GMainContext, ContextDeleter>;

bool run_until(GMainContext* context, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 15s)
{
    io::Source tick;
    std::function<void()> rearm;
    rearm = [&] { tick = io::add_timeout(context, 10ms, rearm); };
    rearm();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        g_main_context_iteration(context, TRUE);
    }
    return true;
}

// The daemon a test case runs against, or why it cannot.
struct Daemon {
    std::string label;
    std::string binary;
};

std::optional<Daemon> pick_daemon(const std::string& which, std::string& why_not)
{
    if (which == "pacemaker-remoted") {
        auto path = remoted_path();
        if (!path.ok()) {
            why_not = "real pacemaker-remoted unavailable: " + path.error().message;
            return std::nullopt;
        }
        return Daemon{which, *path};
    }
    auto path = agent_path();
    if (!path) {
        why_not = "OUTPOST_AGENT not set: outpost-agent not built";
        return std::nullopt;
    }
    return Daemon{which, *path};
}

#define PICK_DAEMON(var_)                                                                         \
    OUTPOST_REQUIRE_ROOT_AND_NETNS();                                                             \
    const std::string which_ = GENERATE(as<std::string>{}, "pacemaker-remoted", "outpost-agent"); \
    std::string why_not_;                                                                         \
    auto var_ = pick_daemon(which_, why_not_);                                                    \
    if (!var_) OUTPOST_SKIP(which_ + ": " + why_not_);                                            \
    INFO("daemon: " << var_->label)

// A tiny OCF agent installed for the test under /usr/lib/ocf/resource.d/outposttest/
// (the daemon shares our filesystem) and removed at the end.
class InstalledAgent {
public:
    InstalledAgent()
    {
        std::filesystem::create_directories(kDir);
        type_ = "echo-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
        path_ = std::string(kDir) + "/" + type_;
        const char* script =
            "#!/bin/sh\n"
            "state=\"${OCF_RESKEY_state:-/tmp/outposttest-$$.state}\"\n"
            "case \"$1\" in\n"
            "  start) touch \"$state\"; echo started; exit 0;;\n"
            "  stop) rm -f \"$state\"; exit 0;;\n"
            "  monitor) [ -f \"$state\" ] && exit 0; echo 'ocf-exit-reason:not running here' >&2; exit 7;;\n"
            "  sleep) sleep \"${OCF_RESKEY_sleep:-30}\"; exit 0;;\n"
            "  meta-data) echo '<resource-agent name=\"echo\"/>'; exit 0;;\n"
            "  *) exit 3;;\n"
            "esac\n";
        REQUIRE(write_file(path_, script, 0755).ok());
    }
    InstalledAgent(const InstalledAgent&) = delete;
    InstalledAgent& operator=(const InstalledAgent&) = delete;
    ~InstalledAgent()
    {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
        std::filesystem::remove(kDir, ignored);  // only if empty
    }
    [[nodiscard]] const std::string& type() const { return type_; }

    static constexpr const char* kDir = "/usr/lib/ocf/resource.d/outposttest";

private:
    static inline std::atomic<int> counter_{0};
    std::string type_;
    std::string path_;
};

tls::TlsContext client_tls(const GuestDaemon& daemon)
{
    auto tls = tls::TlsContext::psk_client(tls::Authkey(daemon.authkey().bytes()));
    REQUIRE(tls.ok());
    return std::move(tls).value();
}

// One client on its own GMainContext, with synchronous helpers for the test's flow.
struct Session {
    ContextPtr context{g_main_context_new()};
    std::unique_ptr<RemoteClient> client;
    std::vector<ExecEvent> execs;
    std::vector<wire::GenericNotify> generics;
    int new_clients = 0;
    std::optional<Error> closed;

    Session(GuestDaemon& daemon, ClientOptions options = {})
    {
        static const bool configured = [] {
            log::configure(log::config_from_environment("test-client-remoted"));
            return true;
        }();
        (void)configured;
        options.host = daemon.address();
        options.port = daemon.port();
        if (options.client_name == "outpost-cluster") options.client_name = "outpost-integration";
        client = std::make_unique<RemoteClient>(context.get(), client_tls(daemon), options);
        Handlers handlers;
        handlers.exec = [this](const ExecEvent& e) { execs.push_back(e); };
        handlers.generic = [this](const wire::GenericNotify& n) { generics.push_back(n); };
        handlers.new_client = [this] { ++new_clients; };
        handlers.closed = [this](const Error& e) { closed = e; };
        client->subscribe(handlers);
    }

    Status connect()
    {
        std::optional<Status> outcome;
        client->connect([&](Status s) { outcome = std::move(s); });
        REQUIRE(run_until(context.get(), [&] { return outcome.has_value(); }));
        return *outcome;
    }
    template <typename T>
    T await(const std::function<void(std::function<void(T)>)>& start, std::chrono::milliseconds limit = 15s)
    {
        std::optional<T> outcome;
        start([&](T value) { outcome.emplace(std::move(value)); });
        REQUIRE(run_until(
            context.get(), [&] { return outcome.has_value(); }, limit));
        return std::move(*outcome);
    }
    Status register_rsc(const std::string& id, const std::string& type)
    {
        return await<Status>([&](auto done) { client->register_rsc(id, "ocf", "outposttest", type, done); });
    }
    int exec(const ExecRequest& request)
    {
        auto call = await<Result<int>>([&](auto done) { client->exec(request, done); });
        require_ok(call);
        return *call;
    }
    ExecEvent wait_exec(int call_id, std::chrono::milliseconds limit = 15s, int min_status = -100)
    {
        const ExecEvent* found = nullptr;
        auto match = [&] {
            for (const auto& e : execs) {
                if (e.notify.call_id == call_id && e.notify.op_status >= min_status) {
                    found = &e;
                    return true;
                }
            }
            return false;
        };
        REQUIRE(run_until(context.get(), match, limit));
        return *found;
    }
    bool wait_generic(const std::string& op, std::size_t count = 1)
    {
        return run_until(context.get(), [&] {
            return static_cast<std::size_t>(std::count_if(
                       generics.begin(), generics.end(), [&](const auto& n) { return n.op == op; })) >= count;
        });
    }
};

std::string dump(const wire::ParamMap& params)
{
    std::string out;
    for (const auto& [k, v] : params)
        out += k + "=" + log::quote(v) + " ";
    return out;
}

std::map<std::string, std::string> as_map(const wire::ParamMap& params)
{
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : params)
        out[k] = v;
    return out;
}

}  // namespace

TEST_CASE("a full session: register, resources, exec with exact parameter echo, recurring, cancel, alert")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    if (std::getenv("KEEP")) (*daemon)->keep_files();
    InstalledAgent agent;
    auto state_dir = TempDir::create("outpost-client");
    require_ok(state_dir);
    const std::string state = (*state_dir / "state").string();

    Session s(**daemon);
    auto begin = std::chrono::steady_clock::now();
    require_ok(s.connect());
    INFO("connect+register took " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - begin)
                                         .count()
                                  << " ms");
    CHECK(s.client->server().protocol_version == "1.1");
    CHECK_FALSE(s.client->server().client_id.empty());

    // rsc_info of an unknown resource, then register and read it back.
    auto unknown =
        s.await<Result<std::optional<wire::RscInfo>>>([&](auto done) { s.client->rsc_info("r1", done); });
    require_ok(unknown);
    CHECK_FALSE(unknown->has_value());
    require_ok(s.register_rsc("r1", agent.type()));
    CHECK(s.wait_generic("lrmd_rsc_register"));
    auto info =
        s.await<Result<std::optional<wire::RscInfo>>>([&](auto done) { s.client->rsc_info("r1", done); });
    require_ok(info);
    REQUIRE(info->has_value());
    CHECK((*info)->rsc_class == "ocf");
    CHECK((*info)->provider == "outposttest");
    CHECK((*info)->type == agent.type());

    // A one-shot monitor (probe): rc 7 with the exit reason, parameters echoed exactly.
    ExecRequest probe;
    probe.rsc_id = "r1";
    probe.action = "monitor";
    probe.userdata = "probe:0;1:2:7:feedface";
    probe.timeout_ms = 20000;
    probe.callopts = kCallNotifyChangesOnly;
    probe.params.insert("state", state);
    probe.params.insert("1st_param", "digit-leading name");
    probe.params.insert("quoted", "say \"hi\" & <bye>\nsecond line");
    probe.params.insert("CRM_meta_timeout", "20000");
    probe.params.insert("crm_feature_set", "3.16.2");
    int probe_id = s.exec(probe);
    auto probed = s.wait_exec(probe_id);
    CHECK_FALSE(probed.synthesized);
    CHECK(probed.notify.exec_rc == 7);
    CHECK(probed.notify.op_status == 0);
    CHECK(probed.notify.exit_reason == "not running here");
    CHECK(probed.notify.rsc_id == "r1");
    CHECK(probed.notify.action == "monitor");
    CHECK(probed.notify.userdata == probe.userdata);
    CHECK(probed.notify.timeout_ms == 20000u);
    INFO("sent: " << dump(probe.params) << "\nechoed: " << dump(probed.notify.params));
    // 2.1.5's serializer writes a newline in an attribute value as the two characters
    // backslash and n (protocol.md 2.4), so the real daemon echoes that; anything else
    // must come back byte for byte.
    auto expected = as_map(probe.params);
    auto echoed = as_map(probed.notify.params);
    auto quirk = expected;
    quirk["quoted"] = "say \"hi\" & <bye>\\nsecond line";
    CHECK((echoed == expected || echoed == quirk));
    if (echoed == quirk) WARN(daemon_kind->label << " echoed the newline as backslash-n (2.1.5 serializer)");

    // start, recurring monitor, get_recurring, cancel, stop.
    ExecRequest start = probe;
    start.action = "start";
    start.userdata = "start";
    auto started = s.wait_exec(s.exec(start));
    CHECK(started.notify.exec_rc == 0);
    CHECK(started.notify.output.value_or("").find("started") != std::string::npos);

    ExecRequest monitor = probe;
    monitor.interval_ms = 1000;
    monitor.userdata = "recurring";
    monitor.params.insert("CRM_meta_interval", "1000");
    int monitor_id = s.exec(monitor);
    auto first = s.wait_exec(monitor_id);
    CHECK(first.notify.exec_rc == 0);
    CHECK(first.notify.interval_ms == 1000u);

    auto recurring = s.await<Result<std::vector<wire::RecurringList>>>(
        [&](auto done) { s.client->get_recurring("r1", done); });
    require_ok(recurring);
    REQUIRE(recurring->size() == 1);
    CHECK((*recurring)[0].rsc_id == "r1");
    REQUIRE((*recurring)[0].ops.size() == 1);
    CHECK((*recurring)[0].ops[0].action == "monitor");
    CHECK((*recurring)[0].ops[0].interval_ms == 1000u);

    auto cancelled = s.await<Status>([&](auto done) { s.client->cancel("r1", "monitor", 1000, done); });
    require_ok(cancelled);
    auto cancel_notify = s.wait_exec(monitor_id, 5s, 1);
    CHECK(cancel_notify.notify.op_status == 1);
    auto none = s.await<Status>([&](auto done) { s.client->cancel("r1", "monitor", 1000, done); });
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == -EOPNOTSUPP);

    ExecRequest stop = probe;
    stop.action = "stop";
    CHECK(s.wait_exec(s.exec(stop)).notify.exec_rc == 0);

    // poke: the generic notify is the answer; check gets no reply and changes nothing.
    require_ok(s.client->poke());
    CHECK(s.wait_generic("lrmd_rsc_poke"));
    require_ok(s.client->check());
    require_ok(s.client->poke());
    CHECK(s.wait_generic("lrmd_rsc_poke", 2));
    CHECK(s.client->connected());

    // An alert runs the agent with the given environment.
    // Alert agents run as hacluster: give them a directory they can use.
    ::chmod(state_dir->path().c_str(), 0777);
    const std::string alert_out = (*state_dir / "alert.out").string();
    const std::string alert_script = (*state_dir / "alert.sh").string();
    require_ok(write_file(alert_script,
                          "#!/bin/sh\necho \"$CRM_alert_kind $CRM_alert_node\" > " + alert_out + "\n", 0755));
    AlertRequest alert;
    alert.id = "alert1";
    alert.path = alert_script;
    alert.timeout_ms = 10000;
    alert.params.insert("CRM_alert_kind", "node");
    alert.params.insert("CRM_alert_node", "guest1");
    require_ok(s.await<Status>([&](auto done) { s.client->alert_exec(alert, done); }));
    CHECK(run_until(s.context.get(), [&] {
        auto text = read_file(alert_out);
        return text.ok() && *text == "node guest1\n";
    }));

    // unregister, then the resource is gone.
    require_ok(s.await<Status>([&](auto done) { s.client->unregister_rsc("r1", done); }));
    CHECK(s.wait_generic("lrmd_rsc_unregister"));
    auto gone =
        s.await<Result<std::optional<wire::RscInfo>>>([&](auto done) { s.client->rsc_info("r1", done); });
    require_ok(gone);
    CHECK_FALSE(gone->has_value());

    s.client->disconnect();
    CHECK_FALSE(s.client->connected());
    CHECK_FALSE(s.closed.has_value());
}

TEST_CASE("peer killed: on_close and a synthesized failure for the in-flight exec; reconnect after restart")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    InstalledAgent agent;
    Session s(**daemon);
    require_ok(s.connect());
    require_ok(s.register_rsc("sleeper", agent.type()));
    ExecRequest sleep;
    sleep.rsc_id = "sleeper";
    sleep.action = "sleep";
    sleep.timeout_ms = 60000;
    sleep.userdata = "in-flight";
    sleep.params.insert("sleep", "30");
    int call_id = s.exec(sleep);

    require_ok((*daemon)->process().signal(SIGKILL));
    REQUIRE(run_until(s.context.get(), [&] { return s.closed.has_value(); }));
    auto failed = s.wait_exec(call_id, 1s);
    CHECK(failed.synthesized);
    CHECK(failed.notify.exec_rc == 1);
    CHECK(failed.notify.op_status == 8);
    CHECK(failed.notify.exit_reason == std::string(kDroppedExitReason));
    CHECK(failed.notify.userdata == "in-flight");
    CHECK(failed.notify.action == "sleep");
    CHECK_FALSE(s.client->connected());

    // Restart the daemon in the same namespace with the same key; a new client connects.
    (void)(*daemon)->process().wait(5s);
    SpawnOptions spawn;
    spawn.argv = {daemon_kind->binary};
    spawn.netns = &(*daemon)->netns();
    spawn.log_file = (*daemon)->log_file().parent_path() / "daemon2.out";
    spawn.env = {{"PCMK_authkey_location", (*daemon)->authkey().path().string()},
                 {"PCMK_remote_port", std::to_string((*daemon)->port())},
                 {"PCMK_logfile", ((*daemon)->log_file().parent_path() / "daemon2.log").string()}};
    auto restarted = Process::spawn(spawn);
    require_ok(restarted);
    require_ok(wait_for_tcp(nullptr, (*daemon)->address(), (*daemon)->port(), 15s, &*restarted));
    Session again(**daemon);
    require_ok(again.connect());
    CHECK(again.client->server().protocol_version == "1.1");
    again.client->disconnect();
    (void)restarted->stop();
}

TEST_CASE("link down: the poke monitor times out (rc 1, status 2) and drops; start reconnects after link up")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    ContextPtr context(g_main_context_new());
    RemoteConnectionConfig config;
    config.server = (*daemon)->address();
    config.port = (*daemon)->port();
    RemoteConnection connection(context.get(), client_tls(**daemon), config);
    std::vector<RaResult> results;
    connection.on_result([&](const RaResult& r) { results.push_back(r); });

    connection.start(20s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 1; }));
    REQUIRE(results[0].rc == kOcfOk);
    connection.monitor(5s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 2; }));
    CHECK(results[1].rc == kOcfOk);

    const std::string ns = (*daemon)->netns().name();
    const std::string dev = (*daemon)->netns().guest_interface();
    require_ok(run_checked({"ip", "-n", ns, "link", "set", dev, "down"}));
    auto begin = std::chrono::steady_clock::now();
    connection.monitor(2s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 3; }));
    CHECK(std::chrono::steady_clock::now() - begin >= 1900ms);
    CHECK(results[2].rc == kOcfUnknownError);
    CHECK(results[2].status == kExecTimeout);
    CHECK(results[2].exit_reason == "Remote executor did not respond");
    CHECK_FALSE(connection.machine().connected());
    connection.monitor(2s);
    REQUIRE(results.size() == 4);
    CHECK(results[3].rc == kOcfNotRunning);

    require_ok(run_checked({"ip", "-n", ns, "link", "set", dev, "up"}));
    connection.start(20s);
    REQUIRE(run_until(
        context.get(), [&] { return results.size() == 5; }, 25s));
    CHECK(results[4].rc == kOcfOk);
    connection.stop(10s);
}

TEST_CASE(
    "two clients: the second's handshake sends new_client; unexpected takeover drops, expected completes")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);

    SECTION("plain clients")
    {
        Session first(**daemon);
        require_ok(first.connect());
        Session second(**daemon);
        require_ok(second.connect());
        CHECK(run_until(first.context.get(), [&] { return first.new_clients == 1; }));
        CHECK(second.new_clients == 0);
        // Both stay usable; both see the generic notify of a poke.
        require_ok(second.client->poke());
        CHECK(second.wait_generic("lrmd_rsc_poke"));
        CHECK(first.wait_generic("lrmd_rsc_poke"));
    }
    SECTION("connection resources: unexpected, then expected takeover")
    {
        ContextPtr context(g_main_context_new());
        RemoteConnectionConfig config;
        config.server = (*daemon)->address();
        config.port = (*daemon)->port();
        RemoteConnection a(context.get(), client_tls(**daemon), config);
        std::vector<RaResult> a_results;
        std::vector<bool> a_node;
        a.on_result([&](const RaResult& r) { a_results.push_back(r); });
        a.on_node([&](bool up) { a_node.push_back(up); });
        a.start(20s);
        REQUIRE(run_until(context.get(), [&] { return a_results.size() == 1; }));
        REQUIRE(a_results[0].rc == kOcfOk);
        a.monitor(5s, 60s);
        REQUIRE(run_until(context.get(), [&] { return a_results.size() == 2; }));

        RemoteConnection b(context.get(), client_tls(**daemon), config);
        std::vector<RaResult> b_results;
        b.on_result([&](const RaResult& r) { b_results.push_back(r); });
        b.start(20s);
        REQUIRE(run_until(context.get(), [&] { return b_results.size() == 1 && a_results.size() == 3; }));
        CHECK(b_results[0].rc == kOcfOk);
        CHECK(a_results[2].action == RaAction::monitor);
        CHECK(a_results[2].rc == kOcfUnknownError);
        CHECK_FALSE(a.machine().connected());

        // Now b migrates to c: b expects the takeover, c's start completes it, b's stop
        // does not mark the node down.
        std::vector<bool> b_node;
        b.on_node([&](bool up) { b_node.push_back(up); });
        b.migrate_to();
        REQUIRE(b_results.size() == 2);
        CHECK(b_results[1].rc == kOcfOk);
        RemoteConnection c(context.get(), client_tls(**daemon), config);
        std::vector<RaResult> c_results;
        c.on_result([&](const RaResult& r) { c_results.push_back(r); });
        c.migrate_from(20s);
        REQUIRE(run_until(context.get(),
                          [&] { return c_results.size() == 1 && b.machine().takeover_complete(); }));
        CHECK(c_results[0].action == RaAction::migrate_from);
        CHECK(c_results[0].rc == kOcfOk);
        CHECK(b.machine().connected());
        b.stop(10s);
        REQUIRE(b_results.size() == 3);
        CHECK(b_results[2].action == RaAction::stop);
        CHECK(b_node.empty());
        c.stop(10s);
    }
}

TEST_CASE("IPC provider: cibadmin -Q and attrd_updater inside the guest reach the test provider")
{
    PICK_DAEMON(daemon_kind);
    ::unsetenv("CIB_file");
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    if (std::getenv("KEEP")) (*daemon)->keep_files();
    ClientOptions options;
    options.ipc_provider = true;
    Session s(**daemon, options);
    require_ok(s.connect());
    TestProvider provider;
    provider.answer_async_query_as_event = std::getenv("QUERY_AS_RESPONSE") == nullptr;
    IpcProxyBridge bridge(*s.client, provider);

    auto run_tool = [&](const std::vector<std::string>& argv, const std::string& log) {
        SpawnOptions spawn;
        spawn.argv = argv;
        spawn.netns = &(*daemon)->netns();
        spawn.log_file = (*daemon)->log_file().parent_path() / log;
        auto tool = Process::spawn(spawn);
        REQUIRE(tool.ok());
        REQUIRE(run_until(
            s.context.get(), [&] { return !tool->is_running(); }, 30s));
        auto output = read_file((*daemon)->log_file().parent_path() / log);
        return std::make_pair(*tool->wait_status(), output.ok() ? *output : std::string());
    };

    auto [cib_status, cib_output] = run_tool({"cibadmin", "-Q"}, "cibadmin.out");
    INFO("cibadmin: " << describe_wait_status(cib_status) << ": " << cib_output);
    CHECK(WIFEXITED(cib_status));
    CHECK(WEXITSTATUS(cib_status) == 0);
    CHECK(cib_output.find("epoch=\"7\"") != std::string::npos);
    REQUIRE_FALSE(provider.opened.empty());
    CHECK((provider.opened[0].server == "cib_rw" || provider.opened[0].server == "cib_ro"));
    REQUIRE(provider.requests.size() >= 2);
    CHECK(*provider.requests[0].msg.attr("cib_op") == "register");
    CHECK(provider.requests[0].flags == 768u);
    CHECK(*provider.requests[1].msg.attr("cib_op") == "cib_query");
    CHECK(run_until(
        s.context.get(), [&] { return !provider.closed.empty(); }, 5s));

    auto [attrd_status, attrd_output] =
        run_tool({"attrd_updater", "-n", "outpost-test-attr", "-U", "val1"}, "attrd.out");
    INFO("attrd_updater: " << describe_wait_status(attrd_status) << ": " << attrd_output);
    REQUIRE(provider.attrd_updates.size() == 1);
    CHECK(provider.attrd_updates[0].name == "outpost-test-attr");
    CHECK(provider.attrd_updates[0].value == "val1");
    CHECK(WIFEXITED(attrd_status));
    CHECK(WEXITSTATUS(attrd_status) == 0);
    CHECK(s.client->connected());
}

TEST_CASE("outpost CLI: check, exec (one-shot and recurring), keygen, exit codes")
{
    PICK_DAEMON(daemon_kind);
    const std::string cli = (build_root() / "cluster-plugin/tools/outpost").string();
    if (::access(cli.c_str(), X_OK) != 0) OUTPOST_SKIP("outpost CLI not built at " + cli);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    InstalledAgent agent;
    const std::string key = (*daemon)->authkey().path().string();
    const std::string host = (*daemon)->address();
    const std::string port = std::to_string((*daemon)->port());
    auto exit_code = [](const CommandResult& r) {
        return WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : -1;
    };

    auto check = run_command({cli, "check", host + ":" + port, "--authkey", key});
    require_ok(check);
    INFO(check->output);
    CHECK(exit_code(*check) == 0);
    CHECK(check->output.find("remote protocol version: 1.1") != std::string::npos);
    CHECK(check->output.find("poke answered in") != std::string::npos);

    auto check_xml = run_command({cli, "check", host, "--port", port, "--authkey", key, "--output-as=xml"});
    require_ok(check_xml);
    CHECK(exit_code(*check_xml) == 0);
    CHECK(check_xml->output.find("protocol-version=\"1.1\"") != std::string::npos);

    // Unreachable port: 69; wrong key: 77; no key at all: 77; usage: 64.
    auto refused = run_command({cli, "check", host + ":1", "--authkey", key});
    require_ok(refused);
    CHECK(exit_code(*refused) == 69);
    auto dir = TempDir::create("outpost-cli");
    require_ok(dir);
    require_ok(write_file(*dir / "wrong", std::string(4096, 'x'), 0600));
    auto wrong = run_command({cli, "check", host + ":" + port, "--authkey", (*dir / "wrong").string()});
    require_ok(wrong);
    CHECK(exit_code(*wrong) == 77);
    auto missing = run_command({cli, "check", host + ":" + port, "--authkey", (*dir / "missing").string()});
    require_ok(missing);
    CHECK(exit_code(*missing) == 77);
    auto usage = run_command({cli, "check"});
    require_ok(usage);
    CHECK(exit_code(*usage) == 64);

    const std::string state = (*dir / "state").string();
    const std::string agent_spec = "ocf:outposttest:" + agent.type();
    auto probe = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "monitor", "--param",
                              "state=" + state, "--authkey", key});
    require_ok(probe);
    INFO(probe->output);
    CHECK(exit_code(*probe) == 7);
    CHECK(probe->output.find("exit reason: not running here") != std::string::npos);
    auto start = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "start", "--param",
                              "state=" + state, "--authkey", key});
    require_ok(start);
    CHECK(exit_code(*start) == 0);
    CHECK(start->output.find("started") != std::string::npos);
    auto recurring =
        run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "monitor", "--param", "state=" + state,
                     "--interval", "2000", "--authkey", key, "--output-as=xml"});
    require_ok(recurring);
    INFO(recurring->output);
    CHECK(exit_code(*recurring) == 0);
    CHECK(recurring->output.find("interval-ms=\"2000\"") != std::string::npos);

    // keygen: 4096 bytes, mode 0640, group haclient; refuses to overwrite without --force.
    const std::string new_key = (*dir / "authkey").string();
    auto keygen = run_command({cli, "keygen", new_key});
    require_ok(keygen);
    CHECK(exit_code(*keygen) == 0);
    struct stat st {};
    REQUIRE(::stat(new_key.c_str(), &st) == 0);
    CHECK(st.st_size == 4096);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(st.st_uid == 0);
    auto again = run_command({cli, "keygen", new_key});
    require_ok(again);
    CHECK(exit_code(*again) != 0);
    auto forced = run_command({cli, "keygen", new_key, "--force"});
    require_ok(forced);
    CHECK(exit_code(*forced) == 0);
    auto help = run_command({cli, "exec", "--help"});
    require_ok(help);
    CHECK(exit_code(*help) == 0);
}
