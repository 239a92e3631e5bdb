// The local executor API (docs/protocol.md 4.2: the `lrmd` libqb service in the guest) with a
// real client: lrmd-local-client links Pacemaker 2.1.5's own liblrmd (pacemaker-dev) and
// runs inside the guest's network namespace, where lrmd_api_new() connects over local IPC.
// Every scenario runs against the real pacemaker-remoted 2.1.5 (the reference) and against
// outpost-agent, one daemon after the other, each in its own namespace (the lrmd name is a
// per-namespace abstract socket; the shared-memory files carry both PIDs, so they cannot
// collide either), and the two are compared:
//   - register, info, probe (rc 7 + exit reason), start, monitor, recurring list, poke,
//     unregister: same replies, same events (rc, status, call ids, exit reasons)
//   - a local client announces itself to TLS clients (new_client) and hears of new ones
//   - docs/protocol.md 5.12: a local client counts as a client, so recurring ops of a resource
//     registered with drop-recurring keep running when the last TLS client leaves, and stop
//     when the local client leaves too (the resource stays started and registered)
#include <glib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "support/main_loop.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outpostlrmd";
constexpr const char* kAgentPath = "/usr/lib/ocf/resource.d/outpostlrmd/Probe";
constexpr auto kClientTimeout = 60s;
constexpr auto kInterval = 500ms;  // the recurring monitor's interval in the 5.12 scenario

// ocf:outpostlrmd:Probe: state in the file named by `state`, one line per run in `log`.
constexpr const char* kAgentScript = R"SH(#!/bin/sh
# ocf:outpostlrmd:Probe - test agent of test-integration-lrmd-local (installed and removed by it).
action="$1"
if [ -n "$OCF_RESKEY_log" ]; then echo "$action" >> "$OCF_RESKEY_log"; fi
case "$action" in
meta-data)
    echo '<?xml version="1.0"?><resource-agent name="Probe" version="1.0"><version>1.1</version><actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/><action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/></actions></resource-agent>'
    exit 0 ;;
start) : > "$OCF_RESKEY_state"; exit 0 ;;
stop) rm -f "$OCF_RESKEY_state"; exit 0 ;;
monitor)
    [ -f "$OCF_RESKEY_state" ] && exit 0
    echo "ocf-exit-reason:not started yet" >&2
    exit 7 ;;
*) exit 3 ;;
esac
)SH";

// The agent is installed once per process and removed when the process exits.
class InstalledAgent {
public:
    ~InstalledAgent()
    {
        std::error_code ignored;
        if (installed_) std::filesystem::remove_all(kAgentDir, ignored);
    }
    Status install()
    {
        std::lock_guard lock(mutex_);
        if (installed_) return {};
        std::error_code ec;
        std::filesystem::create_directories(kAgentDir, ec);
        if (ec)
            return make_error("lrmd-test", -ec.value(),
                              std::string("create ") + kAgentDir + ": " + ec.message());
        installed_ = true;
        return write_file(kAgentPath, kAgentScript, 0755);
    }

private:
    std::mutex mutex_;
    bool installed_ = false;
};

void install_agent()
{
    static InstalledAgent agent;
    require_ok(agent.install());
}

std::string client_path()
{
    if (const char* path = std::getenv("OUTPOST_LRMD_CLIENT"); path != nullptr && *path != '\0') return path;
    return OUTPOST_LRMD_CLIENT;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t count_lines(const std::filesystem::path& path, const std::string& line)
{
    auto lines = lines_of(read_text(path));
    return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), line));
}

// What one run of lrmd-local-client printed: the steps in order (each command's result)
// and the events as a sorted list (their interleaving with the steps depends on when the
// library's main loop ran, not on the daemon).
struct ClientRun {
    CommandResult result;
    std::vector<std::string> steps;
    std::vector<std::string> events;
};

ClientRun run_client(GuestDaemon& daemon, const std::string& name, const std::vector<std::string>& commands)
{
    std::vector<std::string> argv{client_path(), "--name", name};
    argv.insert(argv.end(), commands.begin(), commands.end());
    auto result = run_command(argv, &daemon.netns(), kClientTimeout);
    require_ok(result);
    ClientRun run;
    run.result = std::move(result).value();
    for (auto& line : lines_of(run.result.output)) {
        if (line.starts_with("event ")) {
            run.events.push_back(std::move(line));
        } else {
            run.steps.push_back(std::move(line));
        }
    }
    std::sort(run.events.begin(), run.events.end());
    return run;
}

std::unique_ptr<GuestDaemon> start_daemon(const std::string& binary)
{
    auto daemon = GuestDaemon::start(binary);
    require_ok(daemon);
    return std::move(daemon).value();
}

// A named executor client over TLS (the shared RawClient) that records what it gets.
class TlsClient {
public:
    TlsClient(GMainContext* context, const GuestDaemon& daemon, const std::string& name)
        : client_(raw_client(context, daemon))
    {
        client_->on_message([this](const std::string& xml) {
            auto decoded = wire::decode_message(xml);
            if (decoded) received.push_back(std::move(decoded).value());
        });
        client_->send(make_register(1, name));
        REQUIRE(client_->wait([&] { return registered(); }, 10s));
    }

    [[nodiscard]] std::size_t count_new_client() const
    {
        return static_cast<std::size_t>(std::count_if(
            received.begin(), received.end(),
            [](const wire::Message& m) { return std::holds_alternative<wire::NewClientNotify>(m); }));
    }
    void disconnect() { client_.reset(); }

    std::vector<wire::Message> received;

private:
    [[nodiscard]] bool registered() const
    {
        return std::any_of(received.begin(), received.end(), [](const wire::Message& m) {
            const auto* reply = std::get_if<wire::Reply>(&m);
            return reply != nullptr && reply->msg_id == 1;
        });
    }

    std::unique_ptr<RawClient> client_;
};

// ---- scenario 1: one session, compared line by line ---------------------------------

ClientRun basic_session(const std::string& binary)
{
    install_agent();
    auto daemon = start_daemon(binary);
    INFO("daemon log tail:\n" << daemon->log_tail());
    std::string state = (daemon->dir() / "r1.state").string();
    std::string params = "state=" + state;
    auto run = run_client(*daemon, "outpost-lrmd-basic",
                          {
                              "info,r1",
                              "register,r1,ocf,outpostlrmd,Probe,3",
                              "info,r1",
                              "exec,r1,monitor,0,20000,0," + params,
                              "wait,1",
                              "exec,r1,start,0,20000,0," + params,
                              "wait,1",
                              "exec,r1,monitor,0,20000,4," + params + ",1digit=kept",
                              "wait,1",
                              "exec,r1,monitor,1000,20000,0," + params,
                              "wait,1",
                              "recurring,r1",
                              "cancel,r1,monitor,1000",
                              "cancel,r1,monitor,1000",
                              "exec,nosuch,monitor,0,20000,0",
                              "poke",
                              "unregister,r1",
                              "events,3,5000",
                          });
    INFO("lrmd-local-client: " << run.result.describe());
    CHECK(run.result.succeeded());
    CHECK(daemon->process().is_running());
    return run;
}

void check_basic_expectations(const ClientRun& run)
{
    const auto& s = run.steps;
    INFO("steps:\n"
         << [&] {
                std::string all;
                for (const auto& line : s)
                    all += line + "\n";
                return all;
            }());
    REQUIRE(s.size() >= 18);
    CHECK(s[0] == "connect rc=0");
    CHECK(s[1] == "info r1 none");
    CHECK(s[2] == "register r1 rc=0");
    CHECK(s[3] == "info r1 class=ocf provider=outpostlrmd type=Probe");
    CHECK(contains(s[4], "exec r1 monitor interval=0 queued call="));
    CHECK(s[5] == "wait 1 done");
    CHECK(contains(s[12], "recurring r1 rc=0 count=1"));
    CHECK(s[13] == "recurring-op rsc=r1 op=monitor interval=1000 timeout=20000");
    CHECK(s[14] == "cancel r1 monitor interval=1000 rc=0");
    CHECK(s[15] == "cancel r1 monitor interval=1000 rc=-95");  // nothing left to cancel
    CHECK(s[16] == "exec nosuch monitor interval=0 rc=-19");
    CHECK(s[17] == "poke rc=0");
    CHECK(s[18] == "unregister r1 rc=0");
    auto has_event = [&](const std::string& part) {
        return std::any_of(run.events.begin(), run.events.end(),
                           [&](const std::string& e) { return contains(e, part); });
    };
    CHECK(has_event("op=monitor interval=0 rc=7 status=0"));
    CHECK(has_event("exit_reason=not started yet"));
    CHECK(has_event("op=start interval=0 rc=0 status=0"));
    CHECK(has_event("op=monitor interval=0 rc=0 status=0"));
    CHECK(has_event("op=monitor interval=1000 rc=0 status=1"));  // the cancellation
    CHECK(has_event("event register rsc=r1"));
    CHECK(has_event("event poke rsc=(null)"));
    CHECK(has_event("event unregister rsc=r1"));
}

// ---- scenario 2: local and TLS clients together (docs/protocol.md 5.12) ------------------

struct Observed {
    bool tls_heard_local_client = false;  // TLS client got new_client when the local one came
    bool local_heard_tls_client = false;  // local client got new_client when a TLS one came
    std::size_t monitors_with_local_only = 0;
    std::size_t monitors_after_all_left = 0;
    bool still_registered = false;
    bool still_started = false;
    int holder_status = -1;
};

Observed last_client_rule(const std::string& binary)
{
    install_agent();
    auto daemon = start_daemon(binary);
    INFO("daemon log tail:\n" << daemon->log_tail());
    ContextPtr context(g_main_context_new());
    const std::filesystem::path dir = daemon->dir().path();
    const std::string state = (dir / "r2.state").string();
    const auto runs = dir / "r2.runs";
    const auto release = dir / "release";
    const auto holder_out = dir / "holder.out";
    Observed seen;

    TlsClient first(context.get(), *daemon, "outpost-lrmd-tls-1");

    // The local client: resource with drop-recurring, started, monitored every 500 ms.
    SpawnOptions spawn;
    spawn.argv = {client_path(),
                  "--name",
                  "outpost-lrmd-holder",
                  "register,r2,ocf,outpostlrmd,Probe,3",
                  "exec,r2,start,0,20000,0,state=" + state,
                  "wait,1",
                  "exec,r2,monitor," + std::to_string(kInterval.count()) + ",20000,0,state=" + state +
                      ",log=" + runs.string(),
                  "wait,1",
                  "until," + release.string()};
    spawn.netns = &daemon->netns();
    spawn.log_file = holder_out;
    auto holder = Process::spawn(spawn);
    require_ok(holder);
    REQUIRE(run_until(
        context.get(), [&] { return contains(read_text(holder_out), "waiting "); }, 30s));
    seen.tls_heard_local_client = first.count_new_client() > 0;

    {
        TlsClient second(context.get(), *daemon, "outpost-lrmd-tls-2");
        (void)run_until(
            context.get(), [&] { return contains(read_text(holder_out), "event new_client"); }, 3s);
        seen.local_heard_tls_client = contains(read_text(holder_out), "event new_client");
        second.disconnect();
    }
    first.disconnect();
    // No TLS client is left; the local one keeps the monitor alive.
    loop_for(context.get(), 500ms);
    std::size_t before = count_lines(runs, "monitor");
    loop_for(context.get(), 2500ms);
    seen.monitors_with_local_only = count_lines(runs, "monitor") - before;

    require_ok(write_file(release, "go\n"));
    auto status = holder->wait(20s);
    require_ok(status);
    seen.holder_status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    INFO("holder output:\n" << read_text(holder_out));
    // The last client is gone: drop-recurring stops the monitor.
    loop_for(context.get(), 1500ms);
    before = count_lines(runs, "monitor");
    loop_for(context.get(), 2500ms);
    seen.monitors_after_all_left = count_lines(runs, "monitor") - before;

    auto info = run_client(*daemon, "outpost-lrmd-check", {"info,r2"});
    seen.still_registered =
        std::find(info.steps.begin(), info.steps.end(),
                  "info r2 class=ocf provider=outpostlrmd type=Probe") != info.steps.end();
    seen.still_started = std::filesystem::exists(state);
    CHECK(daemon->process().is_running());
    return seen;
}

void check_last_client_rule(const Observed& seen)
{
    CHECK(seen.holder_status == 0);
    CHECK(seen.monitors_with_local_only >= 3);  // ~5 runs of a 500 ms monitor in 2.5 s
    CHECK(seen.monitors_after_all_left == 0);
    CHECK(seen.still_registered);
    CHECK(seen.still_started);
}

}  // namespace

TEST_CASE("lrmd local IPC: liblrmd session, outpost-agent matches pacemaker-remoted 2.1.5", "[lrmd]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto remoted = remoted_path();
    require_ok(remoted);
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");

    ClientRun reference = basic_session(*remoted);
    {
        INFO("pacemaker-remoted 2.1.5");
        check_basic_expectations(reference);
    }
    ClientRun ours = basic_session(*agent);
    {
        INFO("outpost-agent");
        check_basic_expectations(ours);
    }
    // Both daemons were fresh, so even the call ids agree.
    CHECK(ours.steps == reference.steps);
    CHECK(ours.events == reference.events);
}

TEST_CASE("lrmd local IPC: a local client counts for the last-client rule (5.12)", "[lrmd]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto remoted = remoted_path();
    require_ok(remoted);
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");

    Observed reference = last_client_rule(*remoted);
    {
        INFO("pacemaker-remoted 2.1.5");
        check_last_client_rule(reference);
    }
    Observed ours = last_client_rule(*agent);
    {
        INFO("outpost-agent");
        check_last_client_rule(ours);
    }
    // 2.1.5 announces a local client to TLS clients (a 2.1.5 controller that is not
    // expecting a takeover disconnects on it) and a TLS client to local ones.
    CHECK(reference.tls_heard_local_client);
    CHECK(reference.local_heard_tls_client);
    CHECK(ours.tls_heard_local_client == reference.tls_heard_local_client);
    CHECK(ours.local_heard_tls_client == reference.local_heard_tls_client);
}
