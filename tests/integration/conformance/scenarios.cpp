// The conformance scenarios and their runner: see scenarios.hpp. Each scenario names the
// docs/protocol.md rule it exercises; timings are short (intervals 250-400 ms, timeouts 1.5 s)
// so the whole suite stays quick, and every wait is bounded.
#include "conformance/scenarios.hpp"

#include <bzlib.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <thread>

#include "conformance/agents.hpp"
#include "harness/files.hpp"
#include "harness/guest_daemon.hpp"
#include "wire/frame.hpp"

namespace outpost::test::conformance {

using namespace std::chrono_literals;
using wire::Element;

// ---------------------------------------------------------------------------- requests

namespace request {

Element hello(const std::string& client_name, const std::optional<std::string>& version, bool ipc_provider)
{
    Element e{"lrmd_command", {{"t", "lrmd"}, {"lrmd_op", "register"}, {"lrmd_clientname", client_name}}, {}};
    if (version) e.set("lrmd_protocol_version", *version);
    if (ipc_provider) e.set("lrmd_is_ipc_provider", "true");
    return e;
}

Element command(const Client& client, const std::string& op, unsigned callopt, unsigned timeout)
{
    return Element{"lrmd_command",
                   {{"__name__", "lrmd_command"},
                    {"t", "lrmd"},
                    {"lrmd_async_id", client.token()},
                    {"lrmd_op", op},
                    {"lrmd_timeout", std::to_string(timeout)},
                    {"lrmd_callopt", std::to_string(callopt)}},
                   {}};
}

void add_params(Element& parent, const Params& params)
{
    Element& attributes = parent.add_child("attributes");
    for (const auto& [name, value] : params) {
        if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) != 0) {
            attributes.children.push_back(Element{"param", {{"name", name}, {"value", value}}, {}});
        } else {
            attributes.attributes.emplace_back(name, value);  // duplicates kept on purpose
        }
    }
}

Element rsc_command(const Client& client, const std::string& op, const std::string& origin,
                    const Params& fields, unsigned callopt)
{
    Element e = command(client, op, callopt);
    Element& rsc = e.add_child("lrmd_calldata").add_child("lrmd_rsc");
    rsc.set("lrmd_origin", origin);
    for (const auto& [name, value] : fields)
        rsc.set(name, value);
    return e;
}

Element rsc_register(const Client& client, const std::string& id, const std::string& rsc_class,
                     const std::string& provider, const std::string& type, unsigned callopt)
{
    Params fields{{"lrmd_rsc_id", id}, {"lrmd_class", rsc_class}};
    if (!provider.empty()) fields.emplace_back("lrmd_provider", provider);
    fields.emplace_back("lrmd_type", type);
    return rsc_command(client, "lrmd_rsc_register", "lrmd_api_register_rsc", fields, callopt);
}

Element rsc_unregister(const Client& client, const std::string& id)
{
    return rsc_command(client, "lrmd_rsc_unregister", "lrmd_api_unregister_rsc", {{"lrmd_rsc_id", id}});
}

Element rsc_info(const Client& client, const std::string& id)
{
    return rsc_command(client, "lrmd_rsc_info", "lrmd_api_get_rsc_info", {{"lrmd_rsc_id", id}});
}

Element exec(const Client& client, const ExecSpec& spec)
{
    Element e = command(client, "lrmd_rsc_exec", spec.callopt, spec.timeout_ms);
    Element& rsc = e.add_child("lrmd_calldata").add_child("lrmd_rsc");
    rsc.set("lrmd_origin", "lrmd_api_exec");
    if (!spec.rsc.empty()) rsc.set("lrmd_rsc_id", spec.rsc);
    rsc.set("lrmd_rsc_action", spec.action);
    rsc.set("lrmd_rsc_userdata_str", spec.userdata);
    rsc.set("lrmd_rsc_interval", std::to_string(spec.interval_ms));
    rsc.set("lrmd_timeout", std::to_string(spec.timeout_ms));
    rsc.set("lrmd_rsc_start_delay", std::to_string(spec.start_delay_ms));
    add_params(rsc, spec.params);
    return e;
}

Element cancel(const Client& client, const std::string& id, const std::string& action, unsigned interval_ms)
{
    return rsc_command(client, "lrmd_rsc_cancel", "lrmd_api_cancel",
                       {{"lrmd_rsc_action", action},
                        {"lrmd_rsc_id", id},
                        {"lrmd_rsc_interval", std::to_string(interval_ms)}});
}

Element get_recurring(const Client& client, const std::optional<std::string>& id)
{
    if (!id) return command(client, "lrmd_get_recurring");
    return rsc_command(client, "lrmd_get_recurring", "lrmd_api_get_recurring_ops", {{"lrmd_rsc_id", *id}});
}

Element poke(const Client& client)
{
    return rsc_command(client, "lrmd_rsc_poke", "lrmd_api_poke_connection", {});
}

Element check(const Client& client, const std::optional<std::string>& watchdog)
{
    Element e = command(client, "lrmd_check");
    Element& op = e.add_child("lrmd_calldata").add_child("lrmd_op");
    op.set("lrmd_origin", "lrmd_api_check");
    if (watchdog) op.set("lrmd_watchdog", *watchdog);
    return e;
}

Element alert(const Client& client, const std::string& id, const std::string& path, unsigned timeout_ms,
              const Params& env)
{
    Element e = command(client, "lrmd_alert_exec", 2, timeout_ms);
    Element& a = e.add_child("lrmd_calldata").add_child("lrmd_alert");
    a.set("lrmd_origin", "lrmd_api_exec_alert");
    if (!id.empty()) a.set("lrmd_alert_id", id);
    if (!path.empty()) a.set("lrmd_alert_path", path);
    a.set("lrmd_timeout", std::to_string(timeout_ms));
    add_params(a, env);
    return e;
}

}  // namespace request

// ---------------------------------------------------------------------------- context

Client& ScenarioContext::connect(const std::string& label)
{
    auto client = driver_.connect(label);
    if (!client) throw ScenarioAbort("connect " + label + ": " + client.error().describe());
    return **client;
}

Client& ScenarioContext::registered(const std::string& label)
{
    Client& client = connect(label);
    Element reply = call(client, request::hello("conformance-" + label));
    if (reply.attr("lrmd_rc") == nullptr || *reply.attr("lrmd_rc") != "0")
        throw ScenarioAbort("register " + label + " was refused");
    return client;
}

Element ScenarioContext::call(Client& client, Element req)
{
    auto reply = client.request(std::move(req));
    if (!reply) throw ScenarioAbort(reply.error().message);
    return *reply;
}

namespace {

int rc_of(const Element& reply)
{
    const std::string* rc = reply.attr("lrmd_rc");
    return rc != nullptr ? std::atoi(rc->c_str()) : -9999;
}

std::function<bool(const Received&)> exec_notify(int call_id)
{
    return [call_id](const Received& r) {
        return r.element && r.element->name == "lrmd_notify" && r.attr("lrmd_op") == "lrmd_rsc_exec" &&
               r.attr("lrmd_callid") == std::to_string(call_id);
    };
}

std::function<bool(const Received&)> notify_op(const std::string& op)
{
    return [op](const Received& r) { return r.is_notify() && r.attr("lrmd_op") == op; };
}

}  // namespace

int ScenarioContext::exec_and_wait(Client& client, const ExecSpec& spec, Millis timeout)
{
    int rc = rc_of(call(client, request::exec(client, spec)));
    if (rc > 0) wait_count(client, exec_notify(rc), 1, timeout, spec.rsc + " " + spec.action + " result");
    return rc;
}

bool ScenarioContext::wait_count(Client& client, const std::function<bool(const Received&)>& match,
                                 std::size_t n, Millis timeout, const std::string& what)
{
    bool ok = driver_.wait_for([&] { return client.count(match) >= n; }, timeout);
    if (!ok) observe("timed out waiting for", client.label() + ": " + what);
    return ok;
}

// ---------------------------------------------------------------------------- helpers

namespace {

constexpr unsigned kDropRecurring = 3;  // lrmd_callopt bits (docs/protocol.md 3.6)
constexpr unsigned kNotifyOrigOnly = 2;
constexpr unsigned kNotifyChangesOnly = 4;

void register_conf(ScenarioContext& s, Client& c, const std::string& id, unsigned callopt = 0)
{
    s.call(c, request::rsc_register(c, id, "ocf", kOcfProvider, kOcfAgent, callopt));
}

std::string file_or_missing(const std::filesystem::path& path)
{
    auto text = read_file(path);
    return text ? *text : std::string("(missing)");
}

std::size_t line_count(const std::filesystem::path& path)
{
    auto text = read_file(path);
    if (!text) return 0;
    return static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n'));
}

// "alive", "killed" or "no pid" for the background child an agent started with
// childpid=FILE; a child still alive is killed here (our own leftover).
std::string background_child_state(const std::filesystem::path& pid_file)
{
    std::string child = file_or_missing(pid_file);
    int pid = std::atoi(child.c_str());
    if (pid <= 0) return "no pid";
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    bool alive = stat && stat->find(") Z ") == std::string::npos;
    if (alive) ::kill(pid, SIGKILL);
    return alive ? "alive" : "killed";
}

// ---------------------------------------------------------------------------- scenarios

// 3.3 register: reply fields; old or missing protocol version -> -71 with a complete
// reply and no disconnect; newer versions accepted.
void scenario_register(ScenarioContext& s)
{
    Client& c1 = s.connect("c1");
    s.call(c1, request::hello("conformance-c1", "1.1"));
    Client& c2 = s.connect("c2");
    s.call(c2, request::hello("conformance-c2", "0.9"));
    s.call(c2, request::poke(c2));  // still served after -71
    Client& c3 = s.connect("c3");
    s.call(c3, request::hello("conformance-c3", std::nullopt));
    Client& c4 = s.connect("c4");
    s.call(c4, request::hello("conformance-c4", "1.0"));
    Client& c5 = s.connect("c5");
    s.call(c5, request::hello("conformance-c5", "3.7.1"));
    s.driver().drain(300ms);
    s.observe("c2 open after -71", c2.is_open() ? "yes" : "no");
}

// 3.3 lrmd_rsc_register / lrmd_rsc_info: reply attributes, re-registration, unknown ids.
void scenario_rsc_info(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r-ocf");
    s.call(c, request::rsc_register(c, "r-lsb", "lsb", "", "outpostconf-rc0"));
    s.call(c, request::rsc_register(c, "r-svc", "service", "", "outpostconf-rc0"));
    s.call(c, request::rsc_info(c, "r-ocf"));
    s.call(c, request::rsc_info(c, "r-lsb"));
    s.call(c, request::rsc_info(c, "r-svc"));
    s.call(c, request::rsc_info(c, "no-such-rsc"));
    s.call(c, request::rsc_command(c, "lrmd_rsc_info", "lrmd_api_get_rsc_info", {}));  // no id
    register_conf(s, c, "r-ocf");                                                      // identical again
    s.call(c, request::rsc_register(c, "r-ocf", "ocf", "heartbeat", "Dummy"));         // replaced
    s.call(c, request::rsc_info(c, "r-ocf"));
    s.call(c, request::rsc_register(c, "r-case", "OCF", kOcfProvider, kOcfAgent));  // class case
    s.call(c, request::rsc_info(c, "r-case"));
    s.driver().drain(200ms);
}

// 3.3 / 3.9: every error rc of the request table.
void scenario_error_codes(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.call(c, request::exec(c, ExecSpec{.rsc = "no-such-rsc", .action = "monitor", .userdata = "x"}));
    s.call(c, request::exec(c, ExecSpec{.rsc = "", .action = "monitor", .userdata = "no id"}));
    s.call(c, request::command(c, "lrmd_no_such_op"));
    s.call(c, request::rsc_command(c, "lrmd_rsc_metadata", "lrmd_api_get_metadata", {{"lrmd_rsc_id", "r1"}}));
    s.call(c, request::cancel(c, "r1", "monitor", 12345));          // nothing to cancel
    s.call(c, request::cancel(c, "no-such-rsc", "monitor", 1000));  // unknown resource
    s.call(c, request::rsc_command(c, "lrmd_rsc_cancel", "lrmd_api_cancel",
                                   {{"lrmd_rsc_id", "r1"}, {"lrmd_rsc_interval", "1000"}}));  // no action
    s.call(c, request::rsc_unregister(c, "no-such-rsc"));
    s.call(c, request::rsc_command(c, "lrmd_rsc_unregister", "lrmd_api_unregister_rsc", {}));  // no id
    s.call(c, request::get_recurring(c, std::string("no-such-rsc")));
    s.call(c, request::alert(c, "a1", "", 5000, {}));         // no path
    s.call(c, request::alert(c, "", "/bin/true", 5000, {}));  // no id
    s.call(c, request::rsc_command(c, "lrmd_rsc_register", "lrmd_api_register_rsc",
                                   {{"lrmd_rsc_id", "r-incomplete"}, {"lrmd_class", "ocf"}}));  // no type
    s.driver().drain(300ms);
}

// 3.3 unregister while an op runs (-115, deleted flag on the running op's notify) and with
// queued ops (cancelled, deleted).
void scenario_unregister_running(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                        .action = "start",
                                        .timeout_ms = 5000,
                                        .userdata = "slow start",
                                        .params = {{"sleep", "1"}}}));
    s.call(c, request::exec(c, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "queued probe"}));
    s.driver().pump(300ms);
    s.call(c, request::rsc_unregister(c, "r1"));
    s.wait_count(c, notify_op("lrmd_rsc_exec"), 2, 3000ms, "start and monitor results");
    s.driver().drain(300ms);
    s.call(c, request::rsc_info(c, "r1"));
    s.call(c, request::rsc_unregister(c, "r1"));  // already gone
    s.driver().drain(200ms);
}

// 5.8 / 5.10: one-shot OCF results, exit reasons (last one, 128 chars), output choice,
// exit status mapping.
void scenario_exec_oneshot(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "start",
                                .userdata = "ok",
                                .params = {{"stdout", "hello from stdout\\n"}}});
    s.exec_and_wait(
        c, ExecSpec{
               .rsc = "r1", .action = "monitor", .userdata = "not running", .params = {{"rc_monitor", "7"}}});
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "stop",
                                .userdata = "failed",
                                .params = {{"rc_stop", "1"},
                                           {"stdout", "out\\n"},
                                           {"stderr",
                                            "line one\\nocf-exit-reason:first reason\\nwarning: x\\n"
                                            "ocf-exit-reason:the second reason\\ntrailer\\n"}}});
    s.exec_and_wait(
        c, ExecSpec{.rsc = "r1",
                    .action = "start",
                    .userdata = "long reason",
                    .params = {{"rc", "6"}, {"stderr", "ocf-exit-reason:" + std::string(200, 'x') + "\\n"}}});
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "start",
                                .userdata = "reason on stdout",
                                .params = {{"rc", "2"}, {"stdout", "ocf-exit-reason:not from stdout\\n"}}});
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "start",
                                .userdata = "empty reason",
                                .params = {{"rc", "1"}, {"stderr", "ocf-exit-reason:\\n"}}});
    for (const char* rc : {"3", "8", "9", "42", "190", "191", "255"}) {
        s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                    .action = "monitor",
                                    .userdata = std::string("rc ") + rc,
                                    .params = {{"rc", rc}}});
    }
    s.exec_and_wait(c, ExecSpec{.rsc = "r1", .action = "promote", .userdata = "other action"});
    s.driver().drain(200ms);
}

// 3.7 / 3.5.1: parameters echoed verbatim (both encodings), and what the agent sees (5.6).
void scenario_params_echo(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    Params params{
        {"plain", "1"},
        {"1st", "digit-leading name"},
        {"2", ""},
        {"empty", ""},
        {"space", "two words  and more"},
        {"quote", "it's \"quoted\""},
        {"markup", "<a href='x'>&amp; b</a>"},
        {"unicode",
         "gr\xc3\xbc\xc3\x9f"
         "e \xe2\x9c\x93"},
        {"tab", "a\tb"},
        {"newline", "line1\nline2"},
        {"backslash", "c:\\path\\n"},
        {"long", std::string(300, 'L')},
        {"dup", "attribute wins?"},
        {"9dup", "first"},
        {"9dup", "second"},
        {"CRM_meta_timeout", "20000"},
        {"CRM_meta_on_node", "guest1"},
        {"crm_feature_set", "3.16.2"},
        {"OCF_CHECK_LEVEL", "10"},
        {"envdump", s.path("env.txt")},
    };
    Element req = request::exec(
        c, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "params <&> \"echo\"", .params = params});
    // A duplicate name in both encodings: the attribute comes first.
    req.child("lrmd_calldata")
        ->child("lrmd_rsc")
        ->child("attributes")
        ->children.push_back(Element{"param", {{"name", "dup"}, {"value", "param"}}, {}});
    int rc = rc_of(s.call(c, std::move(req)));
    s.wait_count(c, exec_notify(rc), 1, 5000ms, "params monitor result");
    s.observe(Element{
        "file", {{"name", "agent environment"}, {"content", file_or_missing(s.dir() / "env.txt")}}, {}});
    s.driver().drain(200ms);
}

// 5.3 / 3.3 get_recurring / cancel: a recurring monitor notifies every run; cancel's
// notify precedes its reply; nothing after.
void scenario_recurring(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    register_conf(s, c, "r-idle");
    int id = rc_of(s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                                       .action = "monitor",
                                                       .interval_ms = 1000,
                                                       .timeout_ms = 10000,
                                                       .userdata = "recurring",
                                                       .params = {{"log", s.path("runs")}}})));
    s.wait_count(c, exec_notify(id), 3, 5000ms, "three monitor runs");
    // Right after a run: the next one is 1 s away, so these replies cannot interleave (with
    // 300 ms, three round trips to an ASan build on a loaded machine let a fourth run in).
    s.call(c, request::get_recurring(c, std::string("r1")));
    s.call(c, request::get_recurring(c, std::nullopt));
    s.call(c, request::cancel(c, "r1", "monitor", 1000));
    std::size_t runs = line_count(s.dir() / "runs");
    s.driver().drain(1200ms);
    s.observe("runs after cancel", line_count(s.dir() / "runs") == runs ? "none" : "some");
    s.call(c, request::get_recurring(c, std::string("r1")));
    s.call(c, request::cancel(c, "r1", "MONITOR", 1000));  // already gone
}

// 3.5.1 notify-changes-only: repeats of an unchanged result are suppressed; changes and
// the cancellation are notified.
void scenario_changes_only(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    if (!write_file(s.dir() / "state", "0\n").ok()) throw ScenarioAbort("cannot write state file");
    int id = rc_of(
        s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                            .action = "monitor",
                                            .interval_ms = 250,
                                            .timeout_ms = 10000,
                                            .userdata = "changes only",
                                            .params = {{"state", s.path("state")}, {"log", s.path("runs")}},
                                            .callopt = kNotifyChangesOnly})));
    s.wait_count(c, exec_notify(id), 1, 3000ms, "first result");
    s.driver().pump(1000ms);
    s.observe("runs while unchanged", line_count(s.dir() / "runs") >= 3 ? "3 or more" : "fewer than 3");
    (void)write_file(s.dir() / "state", "7\n");
    s.wait_count(c, exec_notify(id), 2, 3000ms, "changed result");
    s.driver().pump(600ms);
    (void)write_file(s.dir() / "state", "0\n");
    s.wait_count(c, exec_notify(id), 3, 3000ms, "result changed back");
    s.driver().pump(100ms);
    s.call(c, request::cancel(c, "r1", "monitor", 250));
    s.driver().drain(400ms);
}

// 5.2 duplicate recurring request: merged into the existing op (new call id and
// userdata, runs at once), one entry in get_recurring, one cancellation.
void scenario_duplicate_recurring(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    ExecSpec spec{
        .rsc = "r1", .action = "monitor", .interval_ms = 1000, .timeout_ms = 10000, .userdata = "first"};
    int first = rc_of(s.call(c, request::exec(c, spec)));
    s.wait_count(c, exec_notify(first), 1, 3000ms, "first monitor run");
    spec.userdata = "second";
    int second = rc_of(s.call(c, request::exec(c, spec)));
    s.wait_count(c, exec_notify(second), 1, 3000ms, "merged monitor run");
    // The next run is 1 s away: get_recurring and cancel cannot race it.
    s.call(c, request::get_recurring(c, std::string("r1")));
    s.call(c, request::cancel(c, "r1", "monitor", 1000));
    s.driver().drain(1200ms);
}

// 5.2 a stop cancels the resource's recurring ops first (their notifies precede the
// stop's reply).
void scenario_stop_cancels_recurring(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(c, ExecSpec{.rsc = "r1", .action = "start", .userdata = "start"});
    // Notify-changes-only keeps repeat runs quiet, so no run result can race the stop.
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "monitor",
                                .interval_ms = 300,
                                .timeout_ms = 10000,
                                .userdata = "mon",
                                .callopt = kNotifyChangesOnly});
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "status",
                                .interval_ms = 350,
                                .timeout_ms = 10000,
                                .userdata = "mon2",
                                .callopt = kNotifyChangesOnly});
    s.driver().pump(400ms);
    s.exec_and_wait(c, ExecSpec{.rsc = "r1", .action = "stop", .userdata = "stop"});
    s.driver().drain(500ms);
    s.call(c, request::get_recurring(c, std::string("r1")));
}

// 5.5 timeout: rc 1, status 2, exact reason, whole process group killed; timeout 0 means
// no timeout.
void scenario_timeout(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(c,
                    ExecSpec{.rsc = "r1",
                             .action = "start",
                             .timeout_ms = 1500,
                             .userdata = "sleepy",
                             .params = {{"sleep", "10"}, {"childpid", s.path("child")}}},
                    6000ms);
    s.driver().pump(200ms);
    s.observe("background child of the timed-out agent", background_child_state(s.dir() / "child"));
    s.exec_and_wait(c,
                    ExecSpec{.rsc = "r1",
                             .action = "monitor",
                             .timeout_ms = 0,
                             .userdata = "no timeout",
                             .params = {{"sleep", "0.5"}}},
                    4000ms);
    s.driver().drain(200ms);
}

// 5.7 not-installed agents: exact reasons for OCF, OCF with an unknown provider, LSB,
// and an unknown class, for probe, start and stop.
void scenario_not_installed(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    s.call(c, request::rsc_register(c, "bad-ocf", "ocf", kOcfProvider, "NoSuchAgent"));
    s.call(c, request::rsc_register(c, "bad-provider", "ocf", "nosuchprovider", kOcfAgent));
    s.call(c, request::rsc_register(c, "bad-lsb", "lsb", "", "outpostconf-nosuchinit"));
    s.call(c, request::rsc_register(c, "bad-class", "bogus", "", "whatever"));
    s.call(c, request::rsc_register(c, "bad-svc", "service", "", "outpostconf-nosuchinit"));
    for (const char* id : {"bad-ocf", "bad-provider", "bad-lsb", "bad-class", "bad-svc"}) {
        s.exec_and_wait(c, ExecSpec{.rsc = id, .action = "monitor", .userdata = std::string("probe ") + id});
        s.exec_and_wait(c, ExecSpec{.rsc = id, .action = "start", .userdata = std::string("start ") + id});
        // The cluster stops what failed to start; the executor reports stop like any action.
        s.exec_and_wait(c, ExecSpec{.rsc = id, .action = "stop", .userdata = std::string("stop ") + id});
    }
    s.driver().drain(200ms);
}

// 5.10 LSB exit status mapping (status and other actions), monitor -> status, no exit
// reason for LSB.
void scenario_lsb_status(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    for (int code : kLsbExitCodes) {
        std::string id = "lsb" + std::to_string(code);
        s.call(c, request::rsc_register(c, id, "lsb", "",
                                        std::string(kLsbPrefix) + "rc" + std::to_string(code)));
        s.exec_and_wait(c, ExecSpec{.rsc = id,
                                    .action = "monitor",
                                    .userdata = "status " + std::to_string(code),
                                    .params = {{"ignored", "lsb gets no parameters"}}});
    }
    for (int code : {0, 3, 7, 42, 150}) {
        std::string id = "lsb" + std::to_string(code);
        s.exec_and_wait(c,
                        ExecSpec{.rsc = id, .action = "start", .userdata = "start " + std::to_string(code)});
    }
    s.call(c, request::rsc_register(c, "lsb-reason", "lsb", "", std::string(kLsbPrefix) + "reason"));
    s.exec_and_wait(c, ExecSpec{.rsc = "lsb-reason", .action = "stop", .userdata = "reason"});
    s.driver().drain(200ms);
}

// 5.2 start delay: the delayed op holds later ops of the resource behind it. 1.5 s, not
// 1 s: queue times are compared in whole seconds, and 1 s sits on the edge of {fast}.
void scenario_start_delay(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    int delayed = rc_of(s.call(
        c, request::exec(
               c, ExecSpec{
                      .rsc = "r1", .action = "start", .start_delay_ms = 1500, .userdata = "delayed start"})));
    int behind =
        rc_of(s.call(c, request::exec(c, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "behind"})));
    s.wait_count(c, exec_notify(delayed), 1, 4000ms, "delayed start");
    s.wait_count(c, exec_notify(behind), 1, 4000ms, "op behind it");
    s.driver().drain(200ms);
}

// 3.5.3 / 3.5.2 two clients: new_client goes to the others when one finishes TLS;
// generic and exec notifies go to every named client.
void scenario_two_clients(ScenarioContext& s)
{
    Client& a = s.registered("a");
    Client& b = s.connect("b");
    s.wait_count(a, notify_op("lrmd_rsc_new_client"), 1, 2000ms, "new_client notify");
    s.call(b, request::hello("conformance-b"));
    s.call(a, request::poke(a));
    s.wait_count(b, notify_op("lrmd_rsc_poke"), 1, 2000ms, "poke notify on b");
    s.call(b, request::rsc_register(b, "r1", "ocf", kOcfProvider, kOcfAgent));
    s.wait_count(a, notify_op("lrmd_rsc_register"), 1, 2000ms, "register notify on a");
    int id = s.exec_and_wait(b, ExecSpec{.rsc = "r1", .action = "start", .userdata = "from b"});
    s.wait_count(a, exec_notify(id), 1, 2000ms, "exec notify on a");
    Client& c = s.connect("c");  // a and b both hear of it
    s.wait_count(b, notify_op("lrmd_rsc_new_client"), 1, 2000ms, "new_client notify on b");
    s.driver().drain(300ms);
    s.observe("c open", c.is_open() ? "yes" : "no");
}

// 3.5.1 call option 2: the exec notify goes only to the requester.
void scenario_notify_orig_only(ScenarioContext& s)
{
    Client& a = s.registered("a");
    Client& b = s.registered("b");
    s.call(a, request::rsc_register(a, "r1", "ocf", kOcfProvider, kOcfAgent));
    s.exec_and_wait(
        a, ExecSpec{.rsc = "r1", .action = "start", .userdata = "a only", .callopt = kNotifyOrigOnly});
    s.exec_and_wait(
        b, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "b only", .callopt = kNotifyOrigOnly});
    int both = s.exec_and_wait(a, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "everybody"});
    s.wait_count(b, exec_notify(both), 1, 2000ms, "broadcast exec notify on b");
    s.driver().drain(300ms);
}

// 3.3: a client that never registers gets replies but no notifies.
void scenario_unregistered_client(ScenarioContext& s)
{
    Client& a = s.registered("a");
    Client& b = s.connect("b");
    s.wait_count(a, notify_op("lrmd_rsc_new_client"), 1, 2000ms, "new_client notify");
    s.call(b, request::poke(b));
    s.wait_count(a, notify_op("lrmd_rsc_poke"), 1, 2000ms, "poke notify on a");
    s.call(b, request::rsc_register(b, "r1", "ocf", kOcfProvider, kOcfAgent));
    int id =
        rc_of(s.call(b, request::exec(b, ExecSpec{.rsc = "r1", .action = "start", .userdata = "from b"})));
    s.wait_count(a, exec_notify(id), 1, 3000ms, "exec notify on a");
    s.call(b, request::get_recurring(b, std::nullopt));
    s.driver().drain(400ms);
}

// 3.3 poke (reply + notify) and lrmd_check (no reply at all, daemon keeps serving).
void scenario_poke_and_check(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    // The first poke goes through the typed encoder of common/wire, the rest as elements.
    wire::Request poke;
    poke.op = wire::Op::poke;
    poke.op_name = "lrmd_rsc_poke";
    poke.callopts = 0;
    poke.timeout_ms = 0;
    poke.rsc = wire::RscData{};
    poke.rsc->origin = "lrmd_api_poke_connection";
    if (auto reply = c.request(poke); !reply) throw ScenarioAbort(reply.error().message);
    s.wait_count(c, notify_op("lrmd_rsc_poke"), 1, 2000ms, "poke notify");
    c.send(request::check(c, std::nullopt));
    c.send(request::check(c, std::string("0")));
    s.driver().drain(500ms);
    s.call(c, request::poke(c));
    s.wait_count(c, notify_op("lrmd_rsc_poke"), 2, 2000ms, "second poke notify");
    s.driver().drain(200ms);
}

// 5.13 alerts: rc 0 at once, no notify; the agent runs as hacluster with the attributes as
// its environment plus CRM_alert_node_sequence.
void scenario_alert(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    std::string script = s.path("alert.sh");
    if (!write_file(
             script,
             "#!/bin/sh\n{ id -un; env | grep -E '^CRM_' | LC_ALL=C sort; } > \"$CRM_alert_recipient.tmp\"\n"
             "mv \"$CRM_alert_recipient.tmp\" \"$CRM_alert_recipient\"\n",
             0755)
             .ok())
        throw ScenarioAbort("cannot write the alert agent");
    auto out = [&](int n) { return (s.shared() / ("alert" + std::to_string(n) + ".out")).string(); };
    for (int n = 1; n <= 2; ++n) {
        s.call(c, request::alert(c, "alert" + std::to_string(n), script, 5000,
                                 {{"CRM_alert_kind", "node"},
                                  {"CRM_alert_version", "2.1.5"},
                                  {"CRM_alert_recipient", out(n)},
                                  {"CRM_alert_node", "guest1"},
                                  {"CRM_alert_desc", "member with spaces & <markup>"},
                                  {"CRM_alert_timestamp", "2026-11-25 09:00:00.000000"},
                                  {"CRM_notify_kind", "node"}}));
        s.driver().wait_for([&] { return std::filesystem::exists(out(n)); }, 3000ms);
        s.observe(Element{
            "file", {{"name", "alert " + std::to_string(n)}, {"content", file_or_missing(out(n))}}, {}});
    }
    s.driver().drain(300ms);
}

// 5.12 disconnect: with drop-recurring (callopt 3 on register) the recurring op stops when
// the last client leaves; without it the op keeps running.
void disconnect_case(ScenarioContext& s, unsigned callopt)
{
    {
        Client& c = s.registered("c1");
        register_conf(s, c, "r1", callopt);
        int id = rc_of(s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                                           .action = "monitor",
                                                           .interval_ms = 300,
                                                           .timeout_ms = 10000,
                                                           .userdata = "mon",
                                                           .params = {{"log", s.path("runs")}}})));
        s.wait_count(c, exec_notify(id), 2, 3000ms, "two monitor runs");
        c.close();
    }
    s.driver().pump(500ms);
    std::size_t before = line_count(s.dir() / "runs");
    s.driver().pump(1000ms);
    std::size_t after = line_count(s.dir() / "runs");
    s.observe("monitor runs while nobody is connected", after > before ? "continue" : "stopped");
    // An unregistered client: it gets replies only, so a still-running monitor's results
    // cannot interleave with them.
    Client& d = s.connect("c2");
    s.call(d, request::get_recurring(d, std::string("r1")));
    s.call(d, request::rsc_info(d, "r1"));
    s.call(d, request::cancel(d, "r1", "monitor", 300));
    s.driver().drain(300ms);
}
void scenario_disconnect_drop_recurring(ScenarioContext& s)
{
    disconnect_case(s, kDropRecurring);
}
void scenario_disconnect_keep_recurring(ScenarioContext& s)
{
    disconnect_case(s, 0);
}

// 3.6 / 5.12 call option 1 on register: drop-recurring in Pacemaker 3.0 (0x1), only half
// of 2.1.5's drop-recurring (0x3, both bits required).
void scenario_disconnect_callopt_1(ScenarioContext& s)
{
    disconnect_case(s, 1);
}

// 5.4 cancel of a recurring op while its process runs: killed (with its process group),
// reported cancelled before the cancel's reply; the resource is free at once.
void scenario_cancel_running_recurring(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                        .action = "monitor",
                                        .interval_ms = 400,
                                        .timeout_ms = 10000,
                                        .userdata = "long recurring",
                                        .params = {{"sleep", "3"},
                                                   {"sleep_action", "monitor"},
                                                   {"childpid", s.path("child")},
                                                   {"log", s.path("runs")}}}));
    // The first run is in its 3 s sleep when the cancel arrives, about 0.5 s after it
    // started: well inside {fast} (< 1 s) for the exec time the cancel reports, on both
    // sides, even with a slow round trip.
    s.driver().wait_for([&] { return std::filesystem::exists(s.dir() / "child"); }, 3000ms);
    s.driver().pump(400ms);
    s.call(c, request::cancel(c, "r1", "monitor", 400));
    s.driver().drain(300ms);
    s.observe("background child of the cancelled run", background_child_state(s.dir() / "child"));
    s.call(c, request::get_recurring(c, std::string("r1")));
    s.exec_and_wait(c, ExecSpec{.rsc = "r1", .action = "start", .userdata = "right after the cancel"});
    s.driver().drain(300ms);
    s.observe("runs", std::to_string(line_count(s.dir() / "runs")));
}

// 5.5 a timeout with CRM_meta_on_fail=block kills only the agent's PID: the rest of its
// process group (here a background child) is left alone.
void scenario_on_fail_block_timeout(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(
        c,
        ExecSpec{.rsc = "r1",
                 .action = "start",
                 .timeout_ms = 1000,
                 .userdata = "blocked",
                 .params = {{"sleep", "2"}, {"childpid", s.path("child")}, {"CRM_meta_on_fail", "block"}}},
        8000ms);
    s.driver().pump(200ms);
    s.observe("background child of the timed-out agent", background_child_state(s.dir() / "child"));
    s.driver().drain(300ms);
}

// 3.3 the remaining reply and notify paths: cancel of a running one-shot (-95) and of a
// queued one (0, cancelled first); replacing a definition cancels ops queued under the
// old one; actions of incomplete definitions; ipc_fwd for sessions the daemon does not
// have (no IPC tool runs in these namespaces).
void scenario_rc_paths(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    int running = rc_of(s.call(c, request::exec(c, ExecSpec{.rsc = "r1",
                                                            .action = "start",
                                                            .timeout_ms = 10000,
                                                            .userdata = "slow start",
                                                            .params = {{"sleep", "1.4"}}})));
    s.call(c, request::exec(c, ExecSpec{.rsc = "r1", .action = "monitor", .userdata = "queued probe"}));
    s.call(c, request::exec(c, ExecSpec{.rsc = "r1", .action = "reload", .userdata = "queued reload"}));
    s.driver().pump(200ms);
    s.call(c, request::cancel(c, "r1", "start", 0));                                // running one-shot
    s.call(c, request::cancel(c, "r1", "monitor", 0));                              // queued one-shot
    s.call(c, request::rsc_register(c, "r1", "ocf", kOcfProvider, "ConfRenamed"));  // replaced
    s.wait_count(c, exec_notify(running), 1, 3000ms, "the slow start");
    s.driver().drain(300ms);
    s.call(c, request::rsc_info(c, "r1"));

    // Definitions the daemon registers but cannot run (docs/conformance.md item 13). Only
    // the info replies: starting any of them (ocf without type, ocf without provider, no
    // class) crashes 2.1.5, observed while this scenario was written.
    s.call(c, request::rsc_command(
                  c, "lrmd_rsc_register", "lrmd_api_register_rsc",
                  {{"lrmd_rsc_id", "no-type"}, {"lrmd_class", "ocf"}, {"lrmd_provider", kOcfProvider}}));
    s.call(c, request::rsc_info(c, "no-type"));
    s.call(c, request::rsc_register(c, "no-provider", "ocf", "", kOcfAgent));
    s.call(c, request::rsc_info(c, "no-provider"));
    s.call(c, request::rsc_command(c, "lrmd_rsc_register", "lrmd_api_register_rsc",
                                   {{"lrmd_rsc_id", "no-class"}, {"lrmd_type", "outpostconf-rc0"}}));
    s.call(c, request::rsc_info(c, "no-class"));

    // ipc_fwd (docs/protocol.md 4.3): rc 0 always; destroy for a session the daemon does not know.
    auto fwd = [&](const std::string& op, const std::optional<std::string>& session) {
        Element e{"lrmd_ipc_proxy", {{"lrmd_ipc_op", op}}, {}};
        if (session) e.set("lrmd_ipc_session", *session);
        if (op == "response") e.set("lrmd_ipc_msg_id", "1");
        if (op == "response" || op == "event")
            e.add_child("lrmd_ipc_msg").children.push_back(Element{"cib_command", {{"t", "cib"}}, {}});
        e.set("lrmd_op", "ipc_fwd");
        return e;
    };
    for (const char* op : {"response", "event", "destroy", "bogus"})
        s.call(c, fwd(op, std::string("no-such-session")));
    s.call(c, fwd("response", std::nullopt));
    s.call(c, fwd("shutdown_ack", std::nullopt));  // unsolicited: changes nothing
    s.driver().drain(300ms);
    s.call(c, request::poke(c));
    s.driver().drain(200ms);
}

// 5.6 notify actions get their data as CRM_meta_notify_* parameters, exported like any
// other parameter (OCF_RESKEY_CRM_meta_notify_*); the executor adds nothing.
void scenario_notify_action(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "notify",
                                .userdata = "pre-start notify",
                                .params = {{"CRM_meta_notify_type", "pre"},
                                           {"CRM_meta_notify_operation", "start"},
                                           {"CRM_meta_notify_key_type", "pre"},
                                           {"CRM_meta_notify_key_operation", "start"},
                                           {"CRM_meta_notify_start_resource", "r1:0 r1:1 "},
                                           {"CRM_meta_notify_start_uname", "guest1 guest2 "},
                                           {"CRM_meta_notify_active_resource", " "},
                                           {"CRM_meta_notify_inactive_resource", "r1:0 r1:1 "},
                                           {"CRM_meta_notify_stop_resource", ""},
                                           {"CRM_meta_notify_promoted_uname", ""},
                                           {"CRM_meta_notify", "true"},
                                           {"CRM_meta_clone_max", "2"},
                                           {"envdump", s.path("env.txt")}}});
    s.observe(Element{
        "file", {{"name", "agent environment"}, {"content", file_or_missing(s.dir() / "env.txt")}}, {}});
    s.driver().drain(200ms);
}

// 5.8 output larger than outpost-agent's capture limit (1 MiB per stream): what each
// daemon passes on, and the exit reason after the cap. The agent sleeps 1.4 s after
// writing, so the exec time is that sleep (2.1.5 needs up to a second to read 2 MiB on a
// loaded machine, which would otherwise decide the time bucket).
void scenario_large_output(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    s.exec_and_wait(c,
                    ExecSpec{.rsc = "r1",
                             .action = "monitor",
                             .userdata = "2 MiB stdout",
                             .params = {{"stdout_bytes", "2097152"}, {"sleep", "1.4"}}},
                    15000ms);
    s.exec_and_wait(c,
                    ExecSpec{.rsc = "r1",
                             .action = "start",
                             .userdata = "1.5 MiB stderr, reason at the end",
                             .params = {{"sleep", "1.4"},
                                        {"stderr_bytes", "1572864"},
                                        {"stderr", "\\nocf-exit-reason:after the flood\\n"},
                                        {"rc", "1"}}},
                    15000ms);
    s.driver().drain(300ms);
}

// 2.2: malformed input drops that connection; the daemon keeps serving others.
void scenario_malformed(ScenarioContext& s)
{
    Client& watcher = s.registered("watcher");
    const GuestDaemon& daemon = s.driver().daemon();
    std::string xml =
        "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"raw\" "
        "lrmd_protocol_version=\"1.1\" lrmd_remote_msg_id=\"1\" lrmd_remote_msg_type=\"request\"/>";
    auto header = [](std::uint32_t magic, std::size_t payload) {
        wire::FrameHeader h;
        h.endian = magic;
        h.size_total = static_cast<std::uint32_t>(wire::kHeaderSize + payload);
        h.payload_uncompressed = static_cast<std::uint32_t>(payload);
        auto bytes = wire::encode_header(h);
        return std::string(bytes.begin(), bytes.end());
    };
    std::string garbage;
    for (int i = 0; i < 120; ++i)
        garbage.push_back(static_cast<char>((i * 37 + 11) & 0xff));
    std::string not_xml = "this is not XML <<<";
    not_xml.push_back('\0');
    std::string with_nul = xml;
    with_nul.push_back('\0');
    struct Case {
        const char* name;
        std::vector<std::string> records;
    };
    std::vector<Case> cases{
        {"garbage bytes", {garbage}},
        {"bad magic", {header(0x12345678, with_nul.size()), with_nul}},
        {"non-XML payload", {header(wire::kEndianMagic, not_xml.size()), not_xml}},
    };
    for (const auto& test : cases) {
        auto outcome = send_raw_tls(daemon, test.records, 1500ms);
        s.observe(test.name, !outcome ? "error: " + std::to_string(outcome.error().code)
                                      : (outcome->outcome == RawOutcome::dropped ? "dropped" : "still open"));
        if (outcome && !outcome->messages.empty())
            s.observe(test.name + std::string(" answers"), std::to_string(outcome->messages.size()));
        Client& probe = s.registered(std::string("after ") + test.name);
        s.call(probe, request::poke(probe));
        s.wait_count(probe, notify_op("lrmd_rsc_poke"), 1, 2000ms, "poke notify");
        probe.close();
    }
    // Well-formed frames with odd XML content, on a registered client.
    Client& odd = s.registered("odd");
    (void)odd.send_xml("<foo lrmd_remote_msg_id=\"7\" lrmd_remote_msg_type=\"request\"/>");
    s.driver().drain(300ms);
    odd.send(Element{"lrmd_command", {{"t", "lrmd"}}, {}});  // no lrmd_op
    s.driver().drain(300ms);
    s.observe("odd open", odd.is_open() ? "yes" : "no");
    s.driver().drain(200ms);
    s.observe("watcher open", watcher.is_open() ? "yes" : "no");
}

// 2.2: valid framings a 2.1.5 peer accepts although nobody sends them (a big-endian
// header, a bzip2 payload) and a message far larger than one TLS record.
void scenario_wire_variants(ScenarioContext& s)
{
    const GuestDaemon& daemon = s.driver().daemon();
    auto hello = [](const std::string& name) {
        std::string xml = "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"" + name +
                          "\" lrmd_protocol_version=\"1.1\" lrmd_remote_msg_id=\"1\" "
                          "lrmd_remote_msg_type=\"request\"/>";
        xml.push_back('\0');
        return xml;
    };
    auto header_bytes = [](const wire::FrameHeader& h, bool swap) {
        auto bytes = wire::encode_header(h);
        std::string out(bytes.begin(), bytes.end());
        if (swap) {  // every field in the other byte order (the magic included)
            auto reverse = [&](std::size_t at, std::size_t n) {
                std::reverse(out.begin() + at, out.begin() + at + n);
            };
            reverse(0, 4);
            reverse(4, 4);
            reverse(8, 8);
            reverse(16, 8);
            for (std::size_t at = 24; at < wire::kHeaderSize; at += 4)
                reverse(at, 4);
        }
        return out;
    };
    auto record_answers = [&](const std::string& name, const Result<RawResult>& result) {
        if (!result) {
            s.observe(name, "error: " + std::to_string(result.error().code));
            return;
        }
        s.observe(name, result->outcome == RawOutcome::dropped ? "dropped" : "still open");
        for (const auto& xml : result->messages) {
            auto parsed = wire::parse_xml(xml);
            Element answer{"answer", {{"case", name}}, {}};
            if (parsed) {
                answer.children.push_back(*parsed);
            } else {
                answer.set("unparseable", xml);
            }
            s.observe(answer);
        }
    };

    // Big-endian header.
    {
        std::string payload = hello("big-endian");
        wire::FrameHeader h;
        h.size_total = static_cast<std::uint32_t>(wire::kHeaderSize + payload.size());
        h.payload_uncompressed = static_cast<std::uint32_t>(payload.size());
        record_answers("big-endian header",
                       send_raw_tls(daemon, {header_bytes(h, true), payload}, 2000ms, 1));
    }
    // bzip2-compressed payload.
    {
        std::string payload = hello("bzip2");
        std::string compressed(payload.size() + payload.size() / 100 + 600, '\0');
        auto length = static_cast<unsigned>(compressed.size());
        if (BZ2_bzBuffToBuffCompress(compressed.data(), &length, payload.data(),
                                     static_cast<unsigned>(payload.size()), 9, 0, 0) != BZ_OK)
            throw ScenarioAbort("bzip2 compression failed");
        compressed.resize(length);
        wire::FrameHeader h;
        h.size_total = static_cast<std::uint32_t>(wire::kHeaderSize + compressed.size());
        h.payload_compressed = length;
        h.payload_uncompressed = static_cast<std::uint32_t>(payload.size());
        record_answers("bzip2 payload",
                       send_raw_tls(daemon, {header_bytes(h, false), compressed}, 2000ms, 1));
    }
    // A ~100 KB request and its echo (the payload spans several TLS records both ways).
    Client& c = s.registered("c1");
    register_conf(s, c, "r1");
    std::string big;
    for (int i = 0; big.size() < 100000; ++i)
        big += "chunk-" + std::to_string(i) + ";";
    s.exec_and_wait(c, ExecSpec{.rsc = "r1",
                                .action = "monitor",
                                .userdata = "large",
                                .params = {{"big", big}, {"stdout", big.substr(0, 70000)}}});
    s.driver().drain(200ms);
}

const std::vector<Scenario> kScenarios{
    {"register", "register reply; -71 for old or missing protocol versions", scenario_register},
    {"rsc_info", "resource registration and info", scenario_rsc_info},
    {"error_codes", "every error rc of docs/protocol.md 3.3", scenario_error_codes},
    {"unregister_running", "unregister while running (-115) and with queued ops",
     scenario_unregister_running},
    {"exec_oneshot", "one-shot OCF results, exit reasons, output, rc mapping", scenario_exec_oneshot},
    {"params_echo", "parameters echoed in notifies and exported to the agent", scenario_params_echo},
    {"recurring", "recurring monitor, get_recurring, cancel", scenario_recurring},
    {"changes_only", "notify-changes-only suppression", scenario_changes_only},
    {"duplicate_recurring", "duplicate recurring requests are merged", scenario_duplicate_recurring},
    {"stop_cancels_recurring", "stop cancels recurring ops first", scenario_stop_cancels_recurring},
    {"timeout", "timeouts: reason, process group killed, timeout 0", scenario_timeout},
    {"not_installed", "missing agents and classes", scenario_not_installed},
    {"lsb_status", "LSB exit status mapping", scenario_lsb_status},
    {"start_delay", "start delay ordering", scenario_start_delay},
    {"two_clients", "new_client and notifies with two clients", scenario_two_clients},
    {"notify_orig_only", "call option 2", scenario_notify_orig_only},
    {"unregistered_client", "a client that never registers", scenario_unregistered_client},
    {"poke_and_check", "poke reply and notify; lrmd_check has no reply", scenario_poke_and_check},
    {"alert", "alert execution and environment", scenario_alert},
    {"disconnect_drop_recurring", "recurring ops dropped with the last client (callopt 3)",
     scenario_disconnect_drop_recurring},
    {"disconnect_keep_recurring", "recurring ops kept without callopt 3", scenario_disconnect_keep_recurring},
    {"disconnect_callopt_1", "callopt 1 (3.0's drop-recurring) on register, last client leaves",
     scenario_disconnect_callopt_1},
    {"cancel_running_recurring", "cancel of a recurring op while it runs", scenario_cancel_running_recurring},
    {"on_fail_block_timeout", "timeout with CRM_meta_on_fail=block kills only the PID",
     scenario_on_fail_block_timeout},
    {"rc_paths", "cancel running/queued one-shots, replaced definition, incomplete definitions, ipc_fwd",
     scenario_rc_paths},
    {"notify_action", "notify actions: CRM_meta_notify_* reach the agent", scenario_notify_action},
    {"large_output", "agent output beyond 1 MiB per stream", scenario_large_output},
    {"malformed", "malformed input drops the connection only", scenario_malformed},
    {"wire_variants", "big-endian header, bzip2 payload, 100 KB messages", scenario_wire_variants},
};

}  // namespace

const std::vector<Scenario>& scenarios()
{
    static const std::vector<Scenario> all = [] {
        std::vector<Scenario> list = kScenarios;
        list.insert(list.end(), class_scenarios().begin(), class_scenarios().end());
        return list;
    }();
    return all;
}

const Scenario* find_scenario(const std::string& name)
{
    for (const auto& s : scenarios()) {
        if (name == s.name) return &s;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------- runner

Result<SideRun> run_scenario(const Scenario& scenario, const std::string& binary)
{
    auto start = Clock::now();
    auto dir = TempDir::create(std::string("outpost-conformance-") + scenario.name);
    if (!dir) return dir.error();
    // Alerts run as hacluster: the directory must be traversable, shared/ writable.
    ::chmod(dir->path().c_str(), 0755);
    std::filesystem::create_directory(dir->path() / "shared");
    ::chmod((dir->path() / "shared").c_str(), 0777);
    GuestDaemonOptions options;
    options.binary = binary;
    std::unique_ptr<Fixture> fixture;
    if (scenario.fixture != nullptr) {
        auto made = scenario.fixture(dir->path());
        if (!made) return made.error();
        fixture = std::move(*made);
        fixture->adjust(options);
    }
    auto daemon = GuestDaemon::start(std::move(options));
    if (!daemon) return daemon.error();

    NormalizeContext context;
    context.epoch_start = static_cast<std::int64_t>(std::time(nullptr));
    context.private_paths = {dir->path().string(), (*daemon)->dir().path().string()};

    SideRun run;
    {
        Driver driver(**daemon);
        ScenarioContext ctx(driver, dir->path());
        ctx.set_fixture(fixture.get());
        try {
            scenario.run(ctx);
            if (fixture) fixture->observe(ctx);
        } catch (const ScenarioAbort& abort) {
            ctx.observe("scenario aborted", abort.what());
        }
        ctx.observe("daemon running at the end", (*daemon)->process().is_running() ? "yes" : "no");
        run.transcript = normalize(driver, ctx.observations(), context);
    }
    run.log_tail = (*daemon)->log_tail(6000);
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return run;
}

}  // namespace outpost::test::conformance
