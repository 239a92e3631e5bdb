// RemoteClient and RemoteConnection against real servers: the real pacemaker-remoted 2.1.5
// and (when $OUTPOST_AGENT is set) our outpost-agent, each running in its own namespace
// through the harness. Every test case runs once per daemon; a daemon that is not
// available is skipped visibly.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
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
#include "support/main_loop.hpp"
#include "tls/context.hpp"
#include "util/log.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace outpost::cluster::connection;
using namespace std::chrono_literals;

namespace {

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

// var_ names the variable the macro declares, so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define PICK_DAEMON(var_)                                                                         \
    OUTPOST_REQUIRE_ROOT_AND_NETNS();                                                             \
    const std::string which_ = GENERATE(as<std::string>{}, "pacemaker-remoted", "outpost-agent"); \
    std::string why_not_;                                                                         \
    auto var_ = pick_daemon(which_, why_not_);                                                    \
    if (!var_) OUTPOST_SKIP(which_ + ": " + why_not_);                                            \
    INFO("daemon: " << var_->label)
// NOLINTEND(bugprone-macro-parentheses)

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
    return test::psk_client(daemon.authkey().bytes());
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
        client->connect([&](const Status& s) { outcome = s; });
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
                if (e.notify.call_id == call_id && static_cast<int>(e.notify.op_status) >= min_status) {
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
    probe.callopts = wire::callopt::notify_changes_only;
    probe.params.insert("state", state);
    probe.params.insert("1st_param", "digit-leading name");
    probe.params.insert("quoted", "say \"hi\" & <bye>\nsecond line");
    probe.params.insert("CRM_meta_timeout", "20000");
    probe.params.insert("crm_feature_set", "3.16.2");
    int probe_id = s.exec(probe);
    auto probed = s.wait_exec(probe_id);
    CHECK_FALSE(probed.synthesized);
    CHECK(probed.notify.exec_rc == 7);
    CHECK(probed.notify.op_status == wire::ExecStatus::done);
    CHECK(probed.notify.exit_reason == "not running here");
    CHECK(probed.notify.rsc_id == "r1");
    CHECK(probed.notify.action == "monitor");
    CHECK(probed.notify.userdata == probe.userdata);
    CHECK(probed.notify.timeout_ms == 20000u);
    INFO("sent: " << dump(probe.params) << "\nechoed: " << dump(probed.notify.params));
    // 2.1.5's serializer writes a newline in an attribute value as the two characters
    // backslash and n (docs/protocol.md 2.4), so the real daemon echoes that; anything else
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
    CHECK(cancel_notify.notify.op_status == wire::ExecStatus::cancelled);
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

TEST_CASE(
    "peer killed: on_close and synthesized failures for the in-flight exec and the recurring monitor; "
    "reconnect "
    "after restart")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    InstalledAgent agent;
    auto state_dir = TempDir::create("outpost-killed");
    require_ok(state_dir);
    Session s(**daemon);
    require_ok(s.connect());
    require_ok(s.register_rsc("sleeper", agent.type()));
    require_ok(s.register_rsc("watched", agent.type()));

    // A recurring monitor whose first result is in: still in flight as far as the
    // cluster is concerned (docs/protocol.md 5.12: its failure is synthesized on a drop).
    ExecRequest start;
    start.rsc_id = "watched";
    start.action = "start";
    start.params.insert("state", (*state_dir / "watched").string());
    CHECK(s.wait_exec(s.exec(start)).notify.exec_rc == 0);
    ExecRequest monitor = start;
    monitor.action = "monitor";
    monitor.interval_ms = 1000;
    monitor.userdata = "recurring";
    monitor.params.insert("CRM_meta_interval", "1000");
    int monitor_id = s.exec(monitor);
    CHECK(s.wait_exec(monitor_id).notify.exec_rc == 0);

    ExecRequest sleep;
    sleep.rsc_id = "sleeper";
    sleep.action = "sleep";
    sleep.timeout_ms = 60000;
    sleep.userdata = "in-flight";
    sleep.params.insert("sleep", "30");
    int call_id = s.exec(sleep);
    CHECK(s.client->pending_execs() == 2);

    require_ok((*daemon)->process().signal(SIGKILL));
    REQUIRE(run_until(s.context.get(), [&] { return s.closed.has_value(); }));
    auto failed = s.wait_exec(call_id, 1s);
    CHECK(failed.synthesized);
    CHECK(failed.notify.exec_rc == 1);
    CHECK(failed.notify.op_status == wire::ExecStatus::not_connected);
    CHECK(failed.notify.exit_reason == std::string(kDroppedExitReason));
    CHECK(failed.notify.userdata == "in-flight");
    CHECK(failed.notify.action == "sleep");
    auto monitor_failed = s.wait_exec(monitor_id, 1s, 8);
    CHECK(monitor_failed.synthesized);
    CHECK(monitor_failed.notify.exec_rc == 1);
    CHECK(monitor_failed.notify.op_status == wire::ExecStatus::not_connected);
    CHECK(monitor_failed.notify.exit_reason == std::string(kDroppedExitReason));
    CHECK(monitor_failed.notify.interval_ms == 1000u);
    CHECK(monitor_failed.notify.userdata == "recurring");
    CHECK(monitor_failed.notify.params == monitor.params);
    CHECK_FALSE(s.client->connected());
    CHECK(s.client->pending_execs() == 0);

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
    // The host's view of the operations it runs through the connection.
    std::vector<ExecEvent> execs;
    bool closed = false;
    bool disconnected = false;
    connection.on_client([&](RemoteClient& client) {
        Handlers handlers;
        handlers.exec = [&](const ExecEvent& e) { execs.push_back(e); };
        handlers.closed = [&](const Error&) { closed = true; };
        handlers.disconnected = [&] { disconnected = true; };
        client.subscribe(handlers);
    });
    InstalledAgent agent;

    connection.start(20s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 1; }));
    REQUIRE(results[0].rc == wire::ocf::ok);
    connection.monitor(5s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 2; }));
    CHECK(results[1].rc == wire::ocf::ok);

    // An operation in flight when the link goes down.
    REQUIRE(connection.client() != nullptr);
    std::optional<Status> registered;
    connection.client()->register_rsc("sleeper", "ocf", "outposttest", agent.type(),
                                      [&](const Status& st) { registered = st; });
    REQUIRE(run_until(context.get(), [&] { return registered.has_value(); }));
    require_ok(*registered);
    ExecRequest sleep;
    sleep.rsc_id = "sleeper";
    sleep.action = "sleep";
    sleep.timeout_ms = 60000;
    sleep.userdata = "in-flight";
    sleep.params.insert("sleep", "30");
    std::optional<Result<int>> call;
    connection.client()->exec(sleep, [&](Result<int> r) { call.emplace(std::move(r)); });
    REQUIRE(run_until(context.get(), [&] { return call.has_value(); }));
    require_ok(*call);

    const std::string ns = (*daemon)->netns().name();
    const std::string dev = (*daemon)->netns().guest_interface();
    require_ok(run_checked({"ip", "-n", ns, "link", "set", dev, "down"}));
    auto begin = std::chrono::steady_clock::now();
    connection.monitor(2s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 3; }));
    CHECK(std::chrono::steady_clock::now() - begin >= 1900ms);
    CHECK(results[2].rc == wire::ocf::unknown_error);
    CHECK(results[2].status == wire::ExecStatus::timeout);
    CHECK(results[2].exit_reason == "Remote executor did not respond");
    CHECK_FALSE(connection.machine().connected());
    // The monitor timeout dropped the connection: the exec in flight fails (rc 1, status
    // 8), then the client reports its disconnect (our own, not a peer close).
    REQUIRE(run_until(context.get(), [&] { return disconnected; }));
    REQUIRE(execs.size() == 1);
    CHECK(execs[0].synthesized);
    CHECK(execs[0].notify.call_id == **call);
    CHECK(execs[0].notify.exec_rc == 1);
    CHECK(execs[0].notify.op_status == wire::ExecStatus::not_connected);
    CHECK(execs[0].notify.userdata == "in-flight");
    CHECK_FALSE(closed);
    REQUIRE(connection.machine().failed_at().has_value());
    connection.monitor(2s);
    REQUIRE(results.size() == 4);
    CHECK(results[3].rc == wire::ocf::not_running);

    require_ok(run_checked({"ip", "-n", ns, "link", "set", dev, "up"}));
    connection.start(20s);
    REQUIRE(run_until(
        context.get(), [&] { return results.size() == 5; }, 25s));
    CHECK(results[4].rc == wire::ocf::ok);
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
        REQUIRE(a_results[0].rc == wire::ocf::ok);
        a.monitor(5s, 60s);
        REQUIRE(run_until(context.get(), [&] { return a_results.size() == 2; }));

        RemoteConnection b(context.get(), client_tls(**daemon), config);
        std::vector<RaResult> b_results;
        b.on_result([&](const RaResult& r) { b_results.push_back(r); });
        b.start(20s);
        REQUIRE(run_until(context.get(), [&] { return b_results.size() == 1 && a_results.size() == 3; }));
        CHECK(b_results[0].rc == wire::ocf::ok);
        CHECK(a_results[2].action == RaAction::monitor);
        CHECK(a_results[2].rc == wire::ocf::unknown_error);
        CHECK_FALSE(a.machine().connected());

        // Now b migrates to c: b expects the takeover, c's start completes it, b's stop
        // does not mark the node down.
        std::vector<bool> b_node;
        b.on_node([&](bool up) { b_node.push_back(up); });
        b.migrate_to();
        REQUIRE(b_results.size() == 2);
        CHECK(b_results[1].rc == wire::ocf::ok);
        RemoteConnection c(context.get(), client_tls(**daemon), config);
        std::vector<RaResult> c_results;
        c.on_result([&](const RaResult& r) { c_results.push_back(r); });
        c.migrate_from(20s);
        REQUIRE(run_until(context.get(),
                          [&] { return c_results.size() == 1 && b.machine().takeover_complete(); }));
        CHECK(c_results[0].action == RaAction::migrate_from);
        CHECK(c_results[0].rc == wire::ocf::ok);
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

TEST_CASE(
    "connection resource: its own IPC bridge serves cibadmin -Q in the guest across a stop and a new start")
{
    PICK_DAEMON(daemon_kind);
    ::unsetenv("CIB_file");
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    ContextPtr context(g_main_context_new());
    TestProvider provider;
    provider.answer_async_query_as_event = true;  // as the CIB manager answers cibadmin -Q
    RemoteConnectionConfig config;
    config.server = (*daemon)->address();
    config.port = (*daemon)->port();
    config.provider = &provider;
    RemoteConnection connection(context.get(), client_tls(**daemon), config);
    std::vector<RaResult> results;
    connection.on_result([&](const RaResult& r) { results.push_back(r); });

    auto cibadmin = [&](const std::string& log) {
        SpawnOptions spawn;
        spawn.argv = {"cibadmin", "-Q"};
        spawn.netns = &(*daemon)->netns();
        spawn.log_file = (*daemon)->dir() / log;
        auto tool = Process::spawn(spawn);
        REQUIRE(tool.ok());
        REQUIRE(run_until(
            context.get(), [&] { return !tool->is_running(); }, 30s));
        auto output = read_file((*daemon)->dir() / log);
        INFO("cibadmin: " << describe_wait_status(*tool->wait_status()) << ": "
                          << (output.ok() ? *output : std::string()));
        CHECK(WIFEXITED(*tool->wait_status()));
        CHECK(WEXITSTATUS(*tool->wait_status()) == 0);
        CHECK((output.ok() && output->find("epoch=\"7\"") != std::string::npos));
    };

    for (int round = 1; round <= 2; ++round) {
        INFO("start number " << round);
        connection.start(20s);
        REQUIRE(run_until(context.get(), [&] { return results.size() == 2U * round - 1; }));
        REQUIRE(results.back().rc == wire::ocf::ok);
        REQUIRE(connection.bridge() != nullptr);
        std::size_t opened = provider.opened.size();
        cibadmin("cibadmin-" + std::to_string(round) + ".out");
        CHECK(provider.opened.size() > opened);
        connection.stop(10s);
        REQUIRE(
            run_until(context.get(), [&] { return results.size() == static_cast<std::size_t>(2 * round); }));
        CHECK(results.back().action == RaAction::stop);
        CHECK(connection.bridge() == nullptr);
    }
}

TEST_CASE("connection resource: start retries until a daemon that comes up late answers")
{
    PICK_DAEMON(daemon_kind);
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    // The namespace and key stay; the daemon goes away until we bring it back.
    require_ok((*daemon)->stop());

    ContextPtr context(g_main_context_new());
    RemoteConnectionConfig config;
    config.server = (*daemon)->address();
    config.port = (*daemon)->port();
    RemoteConnection connection(context.get(), client_tls(**daemon), config);
    std::vector<RaResult> results;
    std::vector<bool> node;
    connection.on_result([&](const RaResult& r) { results.push_back(r); });
    connection.on_node([&](bool up) { node.push_back(up); });
    auto begin = std::chrono::steady_clock::now();
    connection.start(30s);

    // Refused for a while: retried every second, no result yet.
    CHECK_FALSE(run_until(
        context.get(), [&] { return !results.empty(); }, 2500ms));
    SpawnOptions spawn;
    spawn.argv = {daemon_kind->binary};
    spawn.netns = &(*daemon)->netns();
    spawn.log_file = (*daemon)->dir() / "late.out";
    spawn.env = {{"PCMK_authkey_location", (*daemon)->authkey().path().string()},
                 {"PCMK_remote_port", std::to_string((*daemon)->port())},
                 {"PCMK_logfile", ((*daemon)->dir() / "late.log").string()}};
    auto late = Process::spawn(spawn);
    require_ok(late);
    REQUIRE(run_until(
        context.get(), [&] { return !results.empty(); }, 25s));
    auto took = std::chrono::steady_clock::now() - begin;
    INFO("start took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(results[0] == RaResult{RaAction::start, wire::ocf::ok, wire::ExecStatus::done, ""});
    CHECK(took >= 2500ms);
    CHECK(node == std::vector<bool>{true});
    REQUIRE(connection.client() != nullptr);
    connection.monitor(5s);
    REQUIRE(run_until(context.get(), [&] { return results.size() == 2; }));
    CHECK(results[1].rc == wire::ocf::ok);
    connection.stop(10s);
    (void)late->stop();
}

namespace {

// A CA and a server and a client certificate signed by it, made with certtool (gnutls-bin)
// at run time.
struct Certificates {
    std::string ca, server_cert, server_key, client_cert, client_key;
};

Certificates make_certificates(const TempDir& dir)
{
    auto path = [&](const std::string& name) { return (dir / name).string(); };
    auto certtool = [](std::vector<std::string> args) {
        args.insert(args.begin(), "certtool");
        require_ok(run_checked(args));
    };
    require_ok(write_file(dir / "ca.tmpl",
                          "cn = \"outpost test CA\"\nca\ncert_signing_key\nexpiration_days = 30\n"));
    certtool({"--generate-privkey", "--key-type=ecdsa", "--outfile", path("ca-key.pem")});
    certtool({"--generate-self-signed", "--load-privkey", path("ca-key.pem"), "--template", path("ca.tmpl"),
              "--outfile", path("ca.pem")});
    for (const std::string leaf : {"server", "client"}) {
        std::string tmpl = "cn = \"outpost test ";
        tmpl += leaf;
        tmpl += "\"\ntls_www_";
        tmpl += leaf;
        tmpl += "\nsigning_key\nencryption_key\nexpiration_days = 30\n";
        require_ok(write_file(dir / (leaf + ".tmpl"), tmpl));
        certtool({"--generate-privkey", "--key-type=ecdsa", "--outfile", path(leaf + "-key.pem")});
        certtool({"--generate-certificate", "--load-privkey", path(leaf + "-key.pem"),
                  "--load-ca-certificate", path("ca.pem"), "--load-ca-privkey", path("ca-key.pem"),
                  "--template", path(leaf + ".tmpl"), "--outfile", path(leaf + ".pem")});
    }
    return Certificates{path("ca.pem"), path("server.pem"), path("server-key.pem"), path("client.pem"),
                        path("client-key.pem")};
}

}  // namespace

TEST_CASE(
    "RemoteClient over X.509 certificates against outpost-agent (PCMK_cert_file, PCMK_key_file, "
    "PCMK_ca_file)")
{
    // pacemaker-remoted 2.1.5 has no X.509 mode (it came with 3.0, docs/protocol.md 8): ours only.
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto agent_binary = agent_path();
    if (!agent_binary) OUTPOST_SKIP("OUTPOST_AGENT not set: outpost-agent not built");
    if (!find_program("certtool").ok()) OUTPOST_SKIP("certtool (gnutls-bin) not installed");
    auto dir = TempDir::create("outpost-x509");
    require_ok(dir);
    auto certs = make_certificates(*dir);
    GuestDaemonOptions options;
    options.binary = *agent_binary;
    options.env = {{"PCMK_cert_file", certs.server_cert},
                   {"PCMK_key_file", certs.server_key},
                   {"PCMK_ca_file", certs.ca}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    InstalledAgent agent;

    tls::TlsSettings settings;
    settings.kind = tls::CredentialKind::x509;
    settings.x509 = tls::X509Files{certs.client_cert, certs.client_key, certs.ca, ""};
    auto x509 = tls::TlsContext::x509_client(settings);
    require_ok(x509);

    ContextPtr context(g_main_context_new());
    ClientOptions client_options;
    client_options.host = (*daemon)->address();
    client_options.port = (*daemon)->port();
    RemoteClient client(context.get(), *x509, client_options);
    std::vector<ExecEvent> execs;
    std::vector<wire::GenericNotify> generics;
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& e) { execs.push_back(e); };
    handlers.generic = [&](const wire::GenericNotify& n) { generics.push_back(n); };
    client.subscribe(handlers);
    std::optional<Status> connected;
    client.connect([&](const Status& st) { connected = st; });
    REQUIRE(run_until(context.get(), [&] { return connected.has_value(); }));
    INFO((*daemon)->log_tail());
    require_ok(*connected);
    INFO("TLS: " << client.tls_description());
    CHECK(client.tls_description().find("PSK") == std::string::npos);
    CHECK(client.server().protocol_version == "1.1");

    std::optional<Status> registered;
    client.register_rsc("x1", "ocf", "outposttest", agent.type(), [&](const Status& st) { registered = st; });
    REQUIRE(run_until(context.get(), [&] { return registered.has_value(); }));
    require_ok(*registered);
    ExecRequest probe;
    probe.rsc_id = "x1";
    probe.action = "monitor";
    probe.params.insert("state", (*dir / "x1.state").string());
    std::optional<Result<int>> call;
    client.exec(probe, [&](Result<int> r) { call.emplace(std::move(r)); });
    REQUIRE(run_until(context.get(), [&] { return call.has_value(); }));
    require_ok(*call);
    REQUIRE(run_until(context.get(), [&] { return !execs.empty(); }));
    CHECK(execs[0].notify.call_id == **call);
    CHECK(execs[0].notify.exec_rc == 7);
    require_ok(client.poke());
    CHECK(run_until(context.get(), [&] {
        return std::any_of(generics.begin(), generics.end(),
                           [](const auto& n) { return n.op == "lrmd_rsc_poke"; });
    }));
    client.disconnect();

    // A PSK client cannot talk to a certificate-only agent: a handshake failure, which the
    // connection resource treats as a hard error (rc 2).
    RemoteConnectionConfig config;
    config.server = (*daemon)->address();
    config.port = (*daemon)->port();
    RemoteConnection psk(context.get(), client_tls(**daemon), config);
    std::vector<RaResult> results;
    psk.on_result([&](const RaResult& r) { results.push_back(r); });
    psk.start(20s);
    REQUIRE(run_until(context.get(), [&] { return !results.empty(); }));
    CHECK(results[0].rc == wire::ocf::invalid_param);
    CHECK(results[0].status == wire::ExecStatus::error);
}

namespace {

int exit_code(const CommandResult& r)
{
    return WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : -1;
}

std::string cli_path()
{
    return (build_root() / "cluster-plugin/tools/outpost").string();
}

// The <pacemaker-result> document in a command's output (stderr may be interleaved).
wire::Element xml_result(const CommandResult& r)
{
    auto begin = r.output.find("<pacemaker-result");
    auto end = r.output.find("</pacemaker-result>");
    INFO(r.output);
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    auto parsed = wire::parse_xml(r.output.substr(begin, end + std::strlen("</pacemaker-result>") - begin));
    require_ok(parsed);
    return *parsed;
}

// Checks the Pacemaker tool envelope: api-version, request echo, and the status last.
const wire::Element& xml_status(const wire::Element& root, int code, const std::string& request_part)
{
    CHECK(root.name == "pacemaker-result");
    REQUIRE(root.attr("api-version") != nullptr);
    CHECK(*root.attr("api-version") == "2.25");
    REQUIRE(root.attr("request") != nullptr);
    CHECK(contains(*root.attr("request"), request_part));
    REQUIRE_FALSE(root.children.empty());
    const wire::Element& status = root.children.back();
    CHECK(status.name == "status");
    REQUIRE(status.attr("code") != nullptr);
    CHECK(*status.attr("code") == std::to_string(code));
    REQUIRE(status.attr("message") != nullptr);
    CHECK_FALSE(status.attr("message")->empty());
    if (code == 0) {
        CHECK(status.children.empty());
    } else {
        const wire::Element* errors = status.child("errors");
        REQUIRE(errors != nullptr);
        CHECK(errors->child("error") != nullptr);
    }
    return status;
}

}  // namespace

TEST_CASE("outpost CLI: --help texts, keygen with group haclient, usage errors in text and XML")
{
    const std::string cli = cli_path();
    REQUIRE(::access(cli.c_str(), X_OK) == 0);  // built with this test (meson depends)

    auto top = run_command({cli, "--help"});
    require_ok(top);
    CHECK(exit_code(*top) == 0);
    for (const char* part :
         {"check HOST[:PORT]", "exec HOST RSC", "keygen FILE", "watch [--node NAME]", "--output-as=xml|text",
          "pacemaker-result", "69 node unreachable", "77 key or certificate", "78 invalid TLS", "64 usage"}) {
        INFO(part);
        CHECK(contains(top->output, part));
    }
    auto check_help = run_command({cli, "check", "--help"});
    require_ok(check_help);
    CHECK(exit_code(*check_help) == 0);
    CHECK(contains(check_help->output, "Usage: outpost check HOST[:PORT]"));
    CHECK(contains(check_help->output, "uptime"));
    auto keygen_help = run_command({cli, "keygen", "--help"});
    require_ok(keygen_help);
    CHECK(exit_code(*keygen_help) == 0);
    CHECK(contains(keygen_help->output, "Usage: outpost keygen FILE [--force]"));
    CHECK(contains(keygen_help->output, "haclient"));
    auto watch_help = run_command({cli, "watch", "--help"});
    require_ok(watch_help);
    CHECK(exit_code(*watch_help) == 0);
    CHECK(contains(watch_help->output, "Usage: outpost watch [--node NAME] [--refresh DURATION]"));
    auto watch_usage = run_command({cli, "watch", "--refresh", "soon"});
    require_ok(watch_usage);
    CHECK(exit_code(*watch_usage) == 64);
    CHECK(contains(watch_usage->output, "--refresh needs a positive duration"));
    auto exec_help = run_command({cli, "exec", "--help", "--output-as=xml"});  // help stays text
    require_ok(exec_help);
    CHECK(exit_code(*exec_help) == 0);
    CHECK(contains(exec_help->output, "Usage: outpost exec HOST"));

    // keygen: 4096 bytes, mode 0640, owner root, group haclient when that group exists;
    // refuses to overwrite without --force (73); --force replaces atomically.
    auto dir = TempDir::create("outpost-cli");
    require_ok(dir);
    const std::string new_key = (*dir / "authkey").string();
    auto keygen = run_command({cli, "keygen", new_key});
    require_ok(keygen);
    INFO(keygen->output);
    CHECK(exit_code(*keygen) == 0);
    struct stat st {};
    REQUIRE(::stat(new_key.c_str(), &st) == 0);
    CHECK(st.st_size == 4096);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(st.st_uid == 0);
    if (const struct group* haclient = ::getgrnam("haclient")) {
        CHECK(st.st_gid == haclient->gr_gid);
        CHECK(contains(keygen->output, "group haclient"));
    } else {
        CHECK(st.st_gid == ::getegid());
        WARN("no haclient group on this machine: keygen keeps the caller's group");
    }
    auto before = read_file(new_key);
    require_ok(before);
    auto again = run_command({cli, "keygen", new_key, "--output-as=xml"});
    require_ok(again);
    CHECK(exit_code(*again) == 73);
    auto refused_root = xml_result(*again);
    xml_status(refused_root, 73, "outpost keygen");
    CHECK(*read_file(new_key) == *before);
    auto forced = run_command({cli, "keygen", new_key, "--force", "--output-as=xml"});
    require_ok(forced);
    CHECK(exit_code(*forced) == 0);
    auto forced_root = xml_result(*forced);
    xml_status(forced_root, 0, "--force");
    const wire::Element* key = forced_root.child("authkey");
    REQUIRE(key != nullptr);
    CHECK(*key->attr("bytes") == "4096");
    CHECK(*key->attr("mode") == "0640");
    CHECK(*key->attr("owner") == "root");
    CHECK(*key->attr("group") == (::getgrnam("haclient") ? "haclient" : "root"));
    CHECK(*read_file(new_key) != *before);
    REQUIRE(::stat(new_key.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);

    // Usage errors: 64, as text on stderr or as an XML document.
    auto usage = run_command({cli, "check"});
    require_ok(usage);
    CHECK(exit_code(*usage) == 64);
    CHECK(contains(usage->output, "Usage: outpost check"));
    auto usage_xml = run_command({cli, "check", "--bogus", "--output-as", "xml"});
    require_ok(usage_xml);
    CHECK(exit_code(*usage_xml) == 64);
    auto usage_root = xml_result(*usage_xml);
    const auto& usage_status = xml_status(usage_root, 64, "outpost check --bogus --output-as xml");
    CHECK(*usage_status.attr("message") == "Incorrect usage");
    auto no_command = run_command({cli, "--output-as=xml"});
    require_ok(no_command);
    CHECK(exit_code(*no_command) == 64);
    xml_status(xml_result(*no_command), 64, "outpost --output-as=xml");
    // A missing key: 77, also in XML.
    auto missing =
        run_command({cli, "check", "192.0.2.1", "--authkey", (*dir / "missing").string(), "--output-as=xml"});
    require_ok(missing);
    CHECK(exit_code(*missing) == 77);
    xml_status(xml_result(*missing), 77, "outpost check 192.0.2.1");
    // An invalid TLS setting in the environment: 78.
    auto bad_env = run_command({cli, "check", "192.0.2.1", "--authkey", new_key}, nullptr,
                               kDefaultCommandTimeout, {{"PCMK_dh_min_bits", "lots"}});
    require_ok(bad_env);
    CHECK(exit_code(*bad_env) == 78);
    CHECK(contains(bad_env->output, "PCMK_dh_min_bits"));
}

TEST_CASE(
    "outpost CLI against a daemon: check (uptime, XML), exec (one-shot, recurring, --timeout), exit codes")
{
    PICK_DAEMON(daemon_kind);
    const std::string cli = cli_path();
    REQUIRE(::access(cli.c_str(), X_OK) == 0);  // built with this test (meson depends)
    auto daemon = GuestDaemon::start(daemon_kind->binary);
    require_ok(daemon);
    InstalledAgent agent;
    const std::string key = (*daemon)->authkey().path().string();
    const std::string host = (*daemon)->address();
    const std::string port = std::to_string((*daemon)->port());
    const bool real_remoted = daemon_kind->label == "pacemaker-remoted";

    auto check = run_command({cli, "check", host + ":" + port, "--authkey", key});
    require_ok(check);
    INFO(check->output);
    CHECK(exit_code(*check) == 0);
    CHECK(contains(check->output, "remote protocol version: 1.1"));
    CHECK(contains(check->output, "poke answered in"));
    // 2.1.5 does not report its uptime (2.1.6 added it); outpost-agent does.
    if (real_remoted) {
        CHECK(contains(check->output, "remote uptime: not reported"));
    } else {
        CHECK(contains(check->output, "remote uptime: "));
        CHECK_FALSE(contains(check->output, "not reported"));
    }

    auto check_xml = run_command({cli, "check", host, "--port", port, "--authkey", key, "--output-as=xml"});
    require_ok(check_xml);
    CHECK(exit_code(*check_xml) == 0);
    auto check_root = xml_result(*check_xml);
    xml_status(check_root, 0, "outpost check " + host + " --port " + port);
    const wire::Element* executor = check_root.child("remote-executor");
    REQUIRE(executor != nullptr);
    CHECK(*executor->attr("protocol-version") == "1.1");
    CHECK(*executor->attr("poke") == "answered");
    CHECK(*executor->attr("host") == host);
    CHECK(*executor->attr("port") == port);
    CHECK((executor->attr("uptime") == nullptr) == real_remoted);
    if (!real_remoted) {
        REQUIRE(executor->attr("uptime") != nullptr);
        CHECK(std::stoll(*executor->attr("uptime")) >= 0);
    }

    // Unreachable port: 69; wrong key: 77 (text and XML).
    auto refused = run_command({cli, "check", host + ":1", "--authkey", key});
    require_ok(refused);
    CHECK(exit_code(*refused) == 69);
    auto refused_xml = run_command({cli, "check", host + ":1", "--authkey", key, "--output-as=xml"});
    require_ok(refused_xml);
    CHECK(exit_code(*refused_xml) == 69);
    auto refused_root = xml_result(*refused_xml);
    const auto& refused_status = xml_status(refused_root, 69, "outpost check");
    CHECK(contains(refused_xml->output, "Connection refused"));
    CHECK(refused_status.child("errors") != nullptr);
    auto dir = TempDir::create("outpost-cli");
    require_ok(dir);
    require_ok(write_file(*dir / "wrong", std::string(4096, 'x'), 0600));
    auto wrong = run_command({cli, "check", host + ":" + port, "--authkey", (*dir / "wrong").string()});
    require_ok(wrong);
    CHECK(exit_code(*wrong) == 77);
    auto wrong_xml = run_command(
        {cli, "check", host + ":" + port, "--authkey", (*dir / "wrong").string(), "--output-as=xml"});
    require_ok(wrong_xml);
    CHECK(exit_code(*wrong_xml) == 77);
    xml_status(xml_result(*wrong_xml), 77, "outpost check");

    const std::string state = (*dir / "state").string();
    const std::string agent_spec = "ocf:outposttest:" + agent.type();
    auto probe = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "monitor", "--param",
                              "state=" + state, "--authkey", key});
    require_ok(probe);
    INFO(probe->output);
    CHECK(exit_code(*probe) == 7);
    CHECK(contains(probe->output, "rc=7 (not running)"));
    CHECK(contains(probe->output, "exit reason: not running here"));
    auto probe_xml = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "monitor", "--param",
                                  "state=" + state, "--authkey", key, "--output-as=xml"});
    require_ok(probe_xml);
    CHECK(exit_code(*probe_xml) == 7);
    auto probe_root = xml_result(*probe_xml);
    xml_status(probe_root, 7, "outpost exec");
    const wire::Element* action = probe_root.child("resource-agent-action");
    REQUIRE(action != nullptr);
    CHECK(*action->attr("action") == "monitor");
    CHECK(*action->attr("rsc") == "r1");
    CHECK(*action->attr("class") == "ocf");
    CHECK(*action->attr("provider") == "outposttest");
    CHECK(*action->attr("type") == agent.type());
    const wire::Element* agent_status = action->child("agent-status");
    REQUIRE(agent_status != nullptr);
    CHECK(*agent_status->attr("code") == "7");
    CHECK(*agent_status->attr("message") == "not running");
    CHECK(*agent_status->attr("execution_code") == "0");
    CHECK(*agent_status->attr("execution_message") == "complete");
    CHECK(*agent_status->attr("reason") == "not running here");

    auto start = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "start", "--param",
                              "state=" + state, "--authkey", key, "--output-as=xml"});
    require_ok(start);
    INFO(start->output);
    CHECK(exit_code(*start) == 0);
    auto start_root = xml_result(*start);
    xml_status(start_root, 0, "outpost exec");
    const wire::Element* start_action = start_root.child("resource-agent-action");
    REQUIRE(start_action != nullptr);
    REQUIRE(start_action->child("command") != nullptr);
    CHECK(contains(start->output, "<output>started"));
    auto recurring =
        run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "monitor", "--param", "state=" + state,
                     "--interval", "2000", "--authkey", key, "--output-as=xml"});
    require_ok(recurring);
    INFO(recurring->output);
    CHECK(exit_code(*recurring) == 0);
    auto recurring_root = xml_result(*recurring);
    REQUIRE(recurring_root.child("resource-agent-action") != nullptr);
    CHECK(*recurring_root.child("resource-agent-action")->attr("interval") == "2000");

    // --timeout that fires: the daemon kills the agent after 1 s: rc 1, status Timed Out.
    auto begin = std::chrono::steady_clock::now();
    auto timed_out = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "sleep", "--param",
                                  "sleep=30", "--timeout", "1000", "--authkey", key});
    auto took = std::chrono::steady_clock::now() - begin;
    require_ok(timed_out);
    INFO(timed_out->output);
    CHECK(exit_code(*timed_out) == 1);
    CHECK(contains(timed_out->output, "status=2 (Timed Out)"));
    CHECK(took < 10s);
    auto timed_out_xml = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "sleep", "--param",
                                      "sleep=30", "--timeout", "1000", "--authkey", key, "--output-as=xml"});
    require_ok(timed_out_xml);
    CHECK(exit_code(*timed_out_xml) == 1);
    auto timeout_root = xml_result(*timed_out_xml);
    xml_status(timeout_root, 1, "--timeout 1000");
    const wire::Element* timeout_action = timeout_root.child("resource-agent-action");
    REQUIRE(timeout_action != nullptr);
    REQUIRE(timeout_action->child("agent-status") != nullptr);
    CHECK(*timeout_action->child("agent-status")->attr("execution_code") == "2");
    CHECK(*timeout_action->child("agent-status")->attr("execution_message") == "Timed Out");

    auto stop = run_command({cli, "exec", host + ":" + port, "r1", agent_spec, "stop", "--param",
                             "state=" + state, "--authkey", key});
    require_ok(stop);
    CHECK(exit_code(*stop) == 0);
}

TEST_CASE("connect to a name with two addresses: the first refuses, the next one is used")
{
    PICK_DAEMON(daemon_kind);
    const std::string cli = cli_path();
    REQUIRE(::access(cli.c_str(), X_OK) == 0);
    // The daemon listens on the guest address only, so inside its namespace 127.0.0.1
    // refuses; the name lists 127.0.0.1 first (the smaller scope sorts first, RFC 6724).
    GuestDaemonOptions options;
    options.binary = daemon_kind->binary;
    options.bind_guest_address = true;
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    auto dir = TempDir::create("outpost-names");
    require_ok(dir);
    const std::string name = "outpost-two-addresses.test";
    const std::string hosts = (*dir / "hosts").string();
    require_ok(
        write_file(hosts, "127.0.0.1 " + name + "\n" + (*daemon)->address() + " " + name + "\n", 0644));
    // A private mount namespace sees our hosts file; the machine's /etc/hosts is untouched.
    auto in_guest = [&](std::vector<std::string> argv) {
        std::vector<std::string> wrapped = {
            "unshare", "--mount", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts};
        const auto prefix = (*daemon)->netns().exec_prefix();
        wrapped.insert(wrapped.end(), prefix.begin(), prefix.end());
        wrapped.insert(wrapped.end(), argv.begin(), argv.end());
        return run_command(wrapped, nullptr, kDefaultCommandTimeout, {{"PCMK_debug", "yes"}});
    };
    auto order = in_guest({"getent", "ahostsv4", name});
    require_ok(order);
    INFO(order->output);
    REQUIRE(order->output.rfind("127.0.0.1 ", 0) == 0);
    REQUIRE(contains(order->output, (*daemon)->address()));

    auto check = in_guest({cli, "check", name + ":" + std::to_string((*daemon)->port()), "--authkey",
                           (*daemon)->authkey().path().string()});
    require_ok(check);
    INFO(check->output);
    CHECK(exit_code(*check) == 0);
    CHECK(contains(check->output,
                   "connecting to 127.0.0.1:" + std::to_string((*daemon)->port()) + ": Connection refused"));
    CHECK(contains(check->output, "poke answered in"));
}
