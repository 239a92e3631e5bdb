// outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION: register RSC and run one operation
// (a recurring one is cancelled after its first result); exits with the OCF rc.
#include "tools/outpost/cli.hpp"
#include "wire/codes.hpp"
#include "wire/messages.hpp"

namespace outpost::cluster::tools {
namespace {

// Time given to a completion notify beyond the operation's own timeout.
constexpr std::chrono::milliseconds kNotifyGrace{10000};
// A timeout of 0 means "no limit" to the executor; we still stop waiting after a day.
constexpr std::chrono::milliseconds kUnlimitedWait{24LL * 3600 * 1000};

struct AgentSpec {
    std::string rsc_class;
    std::string provider;
    std::string type;
};

// ocf:PROVIDER:TYPE or CLASS:TYPE.
std::optional<AgentSpec> parse_agent(const std::string& agent)
{
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        auto colon = agent.find(':', start);
        parts.push_back(agent.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    AgentSpec spec;
    if (parts.size() == 3 && parts[0] == "ocf") {
        spec = AgentSpec{parts[0], parts[1], parts[2]};
    } else if (parts.size() == 2 && parts[0] != "ocf") {
        spec = AgentSpec{parts[0], {}, parts[1]};
    }
    if (spec.rsc_class.empty() || spec.type.empty() || (spec.rsc_class == "ocf" && spec.provider.empty())) {
        return std::nullopt;
    }
    return spec;
}

std::string rc_text(int rc)
{
    return std::string(wire::ocf_rc_name(rc));
}

std::string status_text(wire::ExecStatus status)
{
    return std::string(wire::exec_status_name(status));
}

}  // namespace

const char* const kExecUsage =
    "Usage: outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param NAME=VALUE ...]\n"
    "                    [--interval MS] [--timeout MS] [--port N] [--authkey PATH]\n"
    "                    [--output-as=xml|text]\n"
    "Registers resource RSC (e.g. ocf:heartbeat:Dummy, lsb:foo, systemd:foo) on HOST and runs\n"
    "ACTION once (interval > 0: prints the first result, then cancels). --timeout is the\n"
    "operation's timeout (default 20000 ms; 0 = none): the remote daemon kills the agent when\n"
    "it passes and reports rc 1, status Timed Out. Exits with the OCF rc (1 when the\n"
    "operation could not run), 69 if the node is unreachable, 77/78 as for check.\n";

int exec(const Options& options, Output& out)
{
    if (options.args.size() != 4)
        return usage_error(out, "exec needs HOST RSC CLASS:PROVIDER:TYPE ACTION", kExecUsage);
    auto client_opts = client_options(options, out);
    if (!client_opts) return kExitUsage;
    const std::string& rsc = options.args[1];
    auto agent = parse_agent(options.args[2]);
    if (!agent) {
        out.error("invalid agent " + options.args[2] + " (want ocf:PROVIDER:TYPE or CLASS:TYPE)");
        return kExitUsage;
    }
    int exit_code = kExitOk;
    auto tls = make_tls(options, out, exit_code);
    if (!tls) return exit_code;

    io::ContextPtr context = io::new_context();
    connection::RemoteClient client(context.get(), *tls, *client_opts);
    std::vector<connection::ExecEvent> events;
    connection::Handlers handlers;
    handlers.exec = [&](const connection::ExecEvent& event) { events.push_back(event); };
    client.subscribe(handlers);
    if (auto failed = connect_client(client, context.get(), out)) return *failed;

    const auto request_limit = connection::kDefaultReplyTimeout + std::chrono::seconds(1);
    std::optional<Status> registered;
    client.register_rsc(rsc, agent->rsc_class, agent->provider, agent->type,
                        [&](Status status) { registered = std::move(status); });
    (void)wait(
        context.get(), [&] { return registered.has_value(); }, request_limit);
    if (!registered || !registered->ok()) {
        out.error("registering " + rsc + ": " + (registered ? registered->error().message : "no answer"));
        return kExitUnavailable;
    }
    wire::ExecRequest request;
    request.rsc_id = rsc;
    request.action = options.args[3];
    request.interval_ms = options.interval_ms;
    request.timeout_ms = options.timeout_ms;
    request.userdata = "outpost-cli";
    for (const auto& [name, value] : options.params)
        request.params.insert(name, value);
    request.params.insert("CRM_meta_timeout", std::to_string(options.timeout_ms));
    if (options.interval_ms > 0)
        request.params.insert("CRM_meta_interval", std::to_string(options.interval_ms));
    std::optional<Result<int>> call;
    client.exec(request, [&](Result<int> result) { call.emplace(std::move(result)); });
    (void)wait(
        context.get(), [&] { return call.has_value(); }, request_limit);
    if (!call || !call->ok()) {
        out.error("exec " + rsc + " " + request.action + ": " + (call ? call->error().message : "no answer"));
        return kExitUnavailable;
    }
    int call_id = call->value();
    auto limit = (options.timeout_ms == 0 ? kUnlimitedWait : std::chrono::milliseconds(options.timeout_ms)) +
                 kNotifyGrace;
    std::optional<connection::ExecEvent> result;
    auto arrived = [&] {
        for (const auto& event : events) {
            if (event.notify.call_id == call_id) {
                result = event;
                return true;
            }
        }
        return false;
    };
    if (!wait(context.get(), arrived, limit)) {
        out.error("no result for " + rsc + " " + request.action + " within " + std::to_string(limit.count()) +
                  " ms");
        return kExitUnavailable;
    }
    if (options.interval_ms > 0) {
        std::optional<Status> cancelled;
        client.cancel(rsc, request.action, options.interval_ms,
                      [&](Status status) { cancelled = std::move(status); });
        (void)wait(
            context.get(), [&] { return cancelled.has_value(); }, request_limit);
        if (!cancelled || !cancelled->ok()) {
            Output::warning("cancelling " + rsc + " " + request.action + ": " +
                            (cancelled ? cancelled->error().message : "no answer"));
        }
    }
    client.disconnect();

    const wire::ExecNotify& n = result->notify;
    const std::string agent_name = options.args[2];
    const std::string reason = n.exit_reason.value_or("");
    XmlNode action = out.data("resource-agent-action");
    action.attr("action", n.action).attr("rsc", rsc).attr("class", agent->rsc_class);
    if (!agent->provider.empty()) action.attr("provider", agent->provider);
    action.attr("type", agent->type)
        .attr("node", client_opts->host)
        .attr("interval", n.interval_ms)
        .attr("call-id", n.call_id);
    XmlNode status = action.child("agent-status");
    status.attr("code", n.exec_rc)
        .attr("message", rc_text(n.exec_rc))
        .attr("execution_code", static_cast<int>(n.op_status))
        .attr("execution_message", status_text(n.op_status));
    if (!reason.empty()) status.attr("reason", reason);
    status.attr("exec-time", n.exec_time_ms).attr("queue-time", n.queue_time_ms);
    if (n.output && !n.output->empty()) {
        XmlNode command = action.child("command");
        command.attr("code", n.exec_rc);
        command.child("output").text(*n.output);
    }

    const std::string what = rsc + " " + n.action + " (" + agent_name + ") on " + client_opts->host;
    out.line(what + ": rc=" + std::to_string(n.exec_rc) + " (" + rc_text(n.exec_rc) +
             ") status=" + std::to_string(static_cast<int>(n.op_status)) + " (" + status_text(n.op_status) +
             ") call-id=" + std::to_string(n.call_id) + " exec=" + std::to_string(n.exec_time_ms) +
             " ms queue=" + std::to_string(n.queue_time_ms) + " ms");
    if (!reason.empty()) out.line("exit reason: " + reason);
    if (n.output && !n.output->empty()) {
        std::string text = *n.output;
        if (text.back() == '\n') text.pop_back();
        out.line("output:\n" + text);
    }
    const int code = n.exec_rc >= 0 && n.exec_rc < 256 ? n.exec_rc : kExitFailed;
    if (n.op_status != wire::ExecStatus::done) {
        out.error(what + " could not be executed (" + status_text(n.op_status) +
                  (reason.empty() ? "" : ": " + reason) + ")");
    } else if (code != kExitOk) {
        out.error(what + " returned " + std::to_string(n.exec_rc) + " (" + rc_text(n.exec_rc) + ")");
    }
    return code;
}

}  // namespace outpost::cluster::tools
