// outpost check HOST[:PORT]: connect, TLS handshake, register and poke; print the timings,
// the TLS session, the remote protocol version and uptime.
#include "tools/outpost/cli.hpp"
#include "wire/messages.hpp"

namespace outpost::cluster::tools {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point begin)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
}

}  // namespace

const char* const kCheckUsage =
    "Usage: outpost check HOST[:PORT] [--port N] [--authkey PATH] [--output-as=xml|text]\n"
    "Connects to the Pacemaker Remote daemon on HOST (each address of a name in turn),\n"
    "completes the TLS handshake, registers and pokes it; prints the connect and poke times,\n"
    "the TLS session, the remote protocol version and the daemon's uptime (reported by\n"
    "Pacemaker 2.1.6 and later and by outpost-agent). Exit 0 if the poke was answered, 1 if\n"
    "not, 69 if unreachable, 77 for a key or certificate problem, 78 for an invalid TLS\n"
    "setting.\n";

int check(const Options& options, Output& out)
{
    if (options.args.size() != 1) {
        return usage_error(out,
                           options.args.empty() ? "check needs HOST[:PORT]" : "check takes one HOST[:PORT]",
                           kCheckUsage);
    }
    auto client_opts = client_options(options, out);
    if (!client_opts) return kExitUsage;
    int exit_code = kExitOk;
    auto tls = make_tls(options, out, exit_code);
    if (!tls) return exit_code;

    io::ContextPtr context = io::new_context();
    connection::RemoteClient client(context.get(), *tls, *client_opts);
    bool poked = false;
    connection::Handlers handlers;
    handlers.generic = [&](const wire::GenericNotify& notify) {
        if (notify.op == wire::op_info(wire::Op::poke).name) poked = true;
    };
    client.subscribe(handlers);

    auto begin = Clock::now();
    if (auto failed = connect_client(client, context.get(), out)) return *failed;
    long long connect_ms = ms_since(begin);
    auto poke_begin = Clock::now();
    Status sent = client.poke();
    bool answered = sent.ok() && wait(
                                     context.get(), [&] { return poked; }, connection::kDefaultReplyTimeout);
    long long poke_ms = ms_since(poke_begin);
    const connection::ServerInfo& server = client.server();
    const std::string endpoint = client_opts->host + ":" + std::to_string(client_opts->port);

    XmlNode node = out.data("remote-executor");
    node.attr("host", client_opts->host)
        .attr("port", client_opts->port)
        .attr("protocol-version", server.protocol_version)
        .attr("client-id", server.client_id)
        .attr("tls", client.tls_description())
        .attr("connect-ms", connect_ms);
    if (server.uptime_s) node.attr("uptime", *server.uptime_s);
    if (server.node_start_state) node.attr("node-start-state", *server.node_start_state);
    node.attr("poke", answered ? "answered" : "not answered");
    if (answered) node.attr("poke-ms", poke_ms);

    out.line(endpoint + ": connected, TLS handshake and register in " + std::to_string(connect_ms) + " ms (" +
             client.tls_description() + ")");
    out.line("remote protocol version: " + server.protocol_version);
    out.line("remote uptime: " + (server.uptime_s ? std::to_string(*server.uptime_s) + " s"
                                                  : std::string("not reported (Pacemaker before 2.1.6)")));
    if (server.node_start_state) out.line("node start state: " + *server.node_start_state);
    if (answered) out.line("poke answered in " + std::to_string(poke_ms) + " ms");
    client.disconnect();
    if (!answered) {
        out.error(endpoint + ": poke not answered: " +
                  (sent.ok() ? "no notify within " +
                                   std::to_string(connection::kDefaultReplyTimeout.count()) + " ms"
                             : sent.error().message));
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace outpost::cluster::tools
