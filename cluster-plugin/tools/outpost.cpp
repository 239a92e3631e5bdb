// outpost: the admin command line for Pacemaker Remote nodes (ours or the real daemon).
//
//   outpost check HOST[:PORT]          connect, handshake, register, poke; timings and version
//   outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param k=v ...] [--interval ms] [--timeout ms]
//   outpost keygen FILE [--force]      write a new 4096-byte authkey
//
// Common options: --port N, --authkey PATH (else PCMK_authkey_location and the default
// lookup), --output-as=xml|text, --help. Exit codes: exec returns the operation's OCF rc;
// check returns 0 or 1; 69 (EX_UNAVAILABLE) when the node cannot be reached, 77
// (EX_NOPERM) for key and permission problems, 64 (EX_USAGE) for usage errors.
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection/remote_client.hpp"
#include "io/source.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "util/log.hpp"

namespace {

using namespace outpost;
using namespace outpost::cluster::connection;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 64;
constexpr int kExitCantCreate = 73;
constexpr int kExitUnavailable = 69;
constexpr int kExitNoPerm = 77;
constexpr std::size_t kKeySize = 4096;
// Time given to a completion notify beyond the operation's own timeout.
constexpr std::chrono::milliseconds kNotifyGrace{10000};
constexpr std::chrono::milliseconds kCheckTimeout{30000};

const char* const kUsage =
    "Usage: outpost [OPTIONS] COMMAND ARGS\n"
    "\n"
    "Commands:\n"
    "  check HOST[:PORT]            connect, TLS handshake, register and poke; print timings,\n"
    "                               the remote protocol version and uptime\n"
    "  exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param NAME=VALUE ...] [--interval MS]\n"
    "       [--timeout MS]          register RSC and run one operation; print rc, status,\n"
    "                               exit reason and output (a recurring one is cancelled\n"
    "                               after its first result); exits with the OCF rc\n"
    "  keygen FILE [--force]        write 4096 random bytes as a new authkey (mode 0640,\n"
    "                               owner root, group haclient if it exists)\n"
    "\n"
    "Options:\n"
    "  --port N                     remote port (default PCMK_remote_port or 3121)\n"
    "  --authkey PATH               key file (default PCMK_authkey_location, then\n"
    "                               /etc/pacemaker/authkey, then /etc/corosync/authkey)\n"
    "  --output-as=xml|text         output format (default text)\n"
    "  --help                       this text (also after a command)\n"
    "\n"
    "Exit codes: exec: the OCF rc; check: 0 ok, 1 failed; 69 node unreachable,\n"
    "77 key or permission problem, 64 usage error.\n";

const char* const kCheckUsage =
    "Usage: outpost check HOST[:PORT] [--port N] [--authkey PATH] [--output-as=xml|text]\n"
    "Connects to the Pacemaker Remote daemon on HOST, completes the TLS handshake, registers\n"
    "and pokes it. Exit 0 if the poke was answered, 1 if not, 69 if unreachable, 77 for a\n"
    "key problem.\n";
const char* const kExecUsage =
    "Usage: outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param NAME=VALUE ...]\n"
    "                    [--interval MS] [--timeout MS] [--port N] [--authkey PATH]\n"
    "                    [--output-as=xml|text]\n"
    "Registers resource RSC (e.g. ocf:heartbeat:Dummy, lsb:foo, systemd:foo) on HOST and runs\n"
    "ACTION once (interval > 0: prints the first result, then cancels). Exits with the OCF rc.\n";
const char* const kKeygenUsage =
    "Usage: outpost keygen FILE [--force] [--output-as=xml|text]\n"
    "Writes 4096 random bytes (getrandom) to FILE with mode 0640, owner root and group\n"
    "haclient if that group exists. Refuses to replace an existing file without --force.\n";

struct Options {
    std::string command;
    std::vector<std::string> args;
    std::optional<std::uint16_t> port;
    std::optional<std::string> authkey;
    bool xml = false;
    bool help = false;
    bool force = false;
    std::vector<std::pair<std::string, std::string>> params;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 20000;
};

bool parse_number(const std::string& text, unsigned long max, unsigned long& out)
{
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
    errno = 0;
    out = std::strtoul(text.c_str(), nullptr, 10);
    return errno == 0 && out <= max;
}

// Returns an error text for usage errors.
std::optional<std::string> parse_args(int argc, char** argv, Options& options)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const std::string& name) -> std::optional<std::string> {
            std::string prefix = name + "=";
            if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
            if (arg == name && i + 1 < argc) return std::string(argv[++i]);
            return std::nullopt;
        };
        auto is = [&](const std::string& name) { return arg == name || arg.rfind(name + "=", 0) == 0; };
        unsigned long number = 0;
        if (arg == "--help" || arg == "-h") {
            options.help = true;
        } else if (arg == "--force") {
            options.force = true;
        } else if (is("--port")) {
            auto v = value("--port");
            if (!v || !parse_number(*v, 65535, number) || number == 0) return "--port needs a number 1-65535";
            options.port = static_cast<std::uint16_t>(number);
        } else if (is("--authkey")) {
            auto v = value("--authkey");
            if (!v || v->empty()) return "--authkey needs a path";
            options.authkey = *v;
        } else if (is("--output-as")) {
            auto v = value("--output-as");
            if (!v || (*v != "xml" && *v != "text")) return "--output-as must be xml or text";
            options.xml = *v == "xml";
        } else if (is("--param")) {
            auto v = value("--param");
            auto eq = v ? v->find('=') : std::string::npos;
            if (!v || eq == std::string::npos || eq == 0) return "--param needs NAME=VALUE";
            options.params.emplace_back(v->substr(0, eq), v->substr(eq + 1));
        } else if (is("--interval")) {
            auto v = value("--interval");
            if (!v || !parse_number(*v, UINT32_MAX, number)) return "--interval needs milliseconds";
            options.interval_ms = static_cast<std::uint32_t>(number);
        } else if (is("--timeout")) {
            auto v = value("--timeout");
            if (!v || !parse_number(*v, UINT32_MAX, number)) return "--timeout needs milliseconds";
            options.timeout_ms = static_cast<std::uint32_t>(number);
        } else if (arg.size() > 1 && arg[0] == '-') {
            return "unknown option " + arg;
        } else if (options.command.empty()) {
            options.command = arg;
        } else {
            options.args.push_back(arg);
        }
    }
    return std::nullopt;
}

std::string xml_escape(const std::string& text)
{
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\n':
                out += "&#10;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

long long ms_since(Clock::time_point begin)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
}

// Exit code for a connection error.
int connect_exit_code(const Error& error)
{
    switch (-error.code) {
        case ENOKEY:
        case EKEYREJECTED:
        case EACCES:
        case EPERM:
            return kExitNoPerm;
        default:
            return kExitUnavailable;
    }
}

struct ContextDeleter {
    void operator()(GMainContext* context) const { g_main_context_unref(context); }
};

class Loop {
public:
    Loop() : context_(g_main_context_new()) {}
    GMainContext* get() { return context_.get(); }
    // Runs until done() or the deadline; false on timeout.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit)
    {
        bool expired = false;
        io::Source deadline = io::add_timeout(get(), limit, [&] { expired = true; });
        while (!done() && !expired)
            g_main_context_iteration(get(), TRUE);
        return done();
    }

private:
    std::unique_ptr<GMainContext, ContextDeleter> context_;
};

// HOST, HOST:PORT, [V6]:PORT, bare V6.
bool split_host(const std::string& spec, std::string& host, std::optional<std::uint16_t>& port)
{
    std::string port_text;
    if (!spec.empty() && spec[0] == '[') {
        auto close = spec.find(']');
        if (close == std::string::npos) return false;
        host = spec.substr(1, close - 1);
        if (close + 1 < spec.size()) {
            if (spec[close + 1] != ':') return false;
            port_text = spec.substr(close + 2);
        }
    } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
        auto colon = spec.find(':');
        host = spec.substr(0, colon);
        port_text = spec.substr(colon + 1);
    } else {
        host = spec;
    }
    if (host.empty()) return false;
    if (!port_text.empty()) {
        unsigned long number = 0;
        if (!parse_number(port_text, 65535, number) || number == 0) return false;
        port = static_cast<std::uint16_t>(number);
    }
    return true;
}

std::uint16_t default_port()
{
    const char* env = std::getenv("PCMK_remote_port");
    unsigned long number = 0;
    if (env && parse_number(env, 65535, number) && number > 0) return static_cast<std::uint16_t>(number);
    return kDefaultPort;
}

// The client TLS context, with the key checked up front so a key problem is reported as one.
std::optional<tls::TlsContext> make_tls(const Options& options, int& exit_code)
{
    auto settings = tls::TlsSettings::from_environment();
    if (!settings.ok()) {
        (void)std::fprintf(stderr, "outpost: %s\n", settings.error().describe().c_str());
        exit_code = kExitUsage;
        return std::nullopt;
    }
    for (const auto& note : settings->notes)
        (void)std::fprintf(stderr, "outpost: warning: %s\n", note.c_str());
    tls::AuthkeySearch search = tls::AuthkeySearch::from_environment();
    if (options.authkey) search.configured = *options.authkey;
    auto store = std::make_shared<tls::AuthkeyStore>(search);
    if (settings->kind == tls::CredentialKind::psk) {
        if (options.authkey) {
            // An explicit key file must be that file, not a fallback.
            auto key = tls::read_authkey_file(*options.authkey);
            if (!key.ok()) {
                (void)std::fprintf(stderr, "outpost: %s\n", key.error().describe().c_str());
                exit_code = kExitNoPerm;
                return std::nullopt;
            }
        }
        auto key = store->get();
        if (!key.ok()) {
            (void)std::fprintf(stderr, "outpost: %s\n", key.error().describe().c_str());
            exit_code = kExitNoPerm;
            return std::nullopt;
        }
    }
    auto tls = tls::TlsContext::client(*settings, store);
    if (!tls.ok()) {
        (void)std::fprintf(stderr, "outpost: %s\n", tls.error().describe().c_str());
        exit_code = kExitNoPerm;
        return std::nullopt;
    }
    return std::move(tls).value();
}

std::optional<ClientOptions> client_options(const Options& options, const std::string& spec)
{
    ClientOptions client;
    std::optional<std::uint16_t> port;
    if (!split_host(spec, client.host, port)) return std::nullopt;
    client.port = port ? *port : options.port ? *options.port : default_port();
    client.client_name = "outpost-cli";
    return client;
}

int cmd_check(const Options& options)
{
    if (options.args.size() != 1) {
        (void)std::fputs(kCheckUsage, stderr);
        return kExitUsage;
    }
    auto client_opts = client_options(options, options.args[0]);
    if (!client_opts) {
        (void)std::fprintf(stderr, "outpost: invalid HOST[:PORT] %s\n", options.args[0].c_str());
        return kExitUsage;
    }
    int exit_code = kExitOk;
    auto tls = make_tls(options, exit_code);
    if (!tls) return exit_code;

    Loop loop;
    RemoteClient client(loop.get(), *tls, *client_opts);
    bool poked = false;
    Handlers handlers;
    handlers.generic = [&](const wire::GenericNotify& notify) {
        if (notify.op == wire::op_info(wire::Op::poke).name) poked = true;
    };
    client.subscribe(handlers);

    auto begin = Clock::now();
    std::optional<Status> connected;
    client.connect([&](Status status) { connected = std::move(status); });
    if (!loop.run_until([&] { return connected.has_value(); }, kCheckTimeout)) {
        connected = Status(make_error("client", -ETIMEDOUT, "no answer within 30 s"));
    }
    long long connect_ms = ms_since(begin);
    if (!connected->ok()) {
        const Error& error = connected->error();
        if (options.xml) {
            (void)std::printf(
                "<outpost-check host=\"%s\" port=\"%u\" result=\"unreachable\" rc=\"%d\" error=\"%s\"/>\n",
                xml_escape(client_opts->host).c_str(), client_opts->port, error.code,
                xml_escape(error.message).c_str());
        } else {
            (void)std::printf("%s:%u: cannot connect: %s\n", client_opts->host.c_str(), client_opts->port,
                              error.message.c_str());
        }
        return connect_exit_code(error);
    }
    auto poke_begin = Clock::now();
    Status sent = client.poke();
    bool answered = sent.ok() && loop.run_until([&] { return poked; }, kDefaultReplyTimeout);
    long long poke_ms = ms_since(poke_begin);
    const ServerInfo& server = client.server();
    std::string uptime = server.uptime_s ? std::to_string(*server.uptime_s) : std::string();
    if (options.xml) {
        (void)std::printf(
            "<outpost-check host=\"%s\" port=\"%u\" result=\"%s\" connect-ms=\"%lld\" poke-ms=\"%lld\" "
            "protocol-version=\"%s\" client-id=\"%s\" tls=\"%s\"%s%s%s/>\n",
            xml_escape(client_opts->host).c_str(), client_opts->port, answered ? "ok" : "no-poke-answer",
            connect_ms, poke_ms, xml_escape(server.protocol_version).c_str(),
            xml_escape(server.client_id).c_str(), xml_escape(client.tls_description()).c_str(),
            uptime.empty() ? "" : " uptime-s=\"", uptime.c_str(), uptime.empty() ? "" : "\"");
    } else {
        (void)std::printf("%s:%u: connected, TLS handshake and register in %lld ms (%s)\n",
                          client_opts->host.c_str(), client_opts->port, connect_ms,
                          client.tls_description().c_str());
        (void)std::printf("remote protocol version: %s\n", server.protocol_version.c_str());
        (void)std::printf("remote uptime: %s\n",
                          uptime.empty() ? "not reported (Pacemaker before 2.1.6)" : (uptime + " s").c_str());
        if (server.node_start_state) std::printf("node start state: %s\n", server.node_start_state->c_str());
        if (answered) {
            (void)std::printf("poke answered in %lld ms\n", poke_ms);
        } else {
            (void)std::printf("poke not answered: %s\n",
                              sent.ok() ? "timeout" : sent.error().message.c_str());
        }
    }
    client.disconnect();
    return answered ? kExitOk : kExitFailed;
}

const char* status_name(int status)
{
    static const char* const names[] = {"done",          "cancelled",  "timeout",         "not supported",
                                        "error",         "hard error", "fatal error",     "not installed",
                                        "not connected", "invalid",    "no fence device", "no secrets"};
    if (status >= 0 && status < static_cast<int>(sizeof names / sizeof names[0])) return names[status];
    return "unknown";
}

int cmd_exec(const Options& options)
{
    if (options.args.size() != 4) {
        (void)std::fputs(kExecUsage, stderr);
        return kExitUsage;
    }
    auto client_opts = client_options(options, options.args[0]);
    if (!client_opts) {
        (void)std::fprintf(stderr, "outpost: invalid HOST[:PORT] %s\n", options.args[0].c_str());
        return kExitUsage;
    }
    const std::string& rsc = options.args[1];
    std::string agent = options.args[2];
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        auto colon = agent.find(':', start);
        parts.push_back(agent.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    std::string rsc_class;
    std::string provider;
    std::string type;
    if (parts.size() == 3 && parts[0] == "ocf") {
        rsc_class = parts[0];
        provider = parts[1];
        type = parts[2];
    } else if (parts.size() == 2 && parts[0] != "ocf") {
        rsc_class = parts[0];
        type = parts[1];
    }
    if (rsc_class.empty() || type.empty() || (rsc_class == "ocf" && provider.empty())) {
        (void)std::fprintf(stderr, "outpost: invalid agent %s (want ocf:PROVIDER:TYPE or CLASS:TYPE)\n",
                           agent.c_str());
        return kExitUsage;
    }
    int exit_code = kExitOk;
    auto tls = make_tls(options, exit_code);
    if (!tls) return exit_code;

    Loop loop;
    RemoteClient client(loop.get(), *tls, *client_opts);
    std::vector<ExecEvent> events;
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& event) { events.push_back(event); };
    client.subscribe(handlers);
    std::optional<Status> connected;
    client.connect([&](Status status) { connected = std::move(status); });
    if (!loop.run_until([&] { return connected.has_value(); }, kCheckTimeout)) {
        connected = Status(make_error("client", -ETIMEDOUT, "no answer within 30 s"));
    }
    if (!connected->ok()) {
        (void)std::fprintf(stderr, "outpost: %s:%u: cannot connect: %s\n", client_opts->host.c_str(),
                           client_opts->port, connected->error().message.c_str());
        return connect_exit_code(connected->error());
    }
    std::optional<Status> registered;
    client.register_rsc(rsc, rsc_class, provider, type,
                        [&](Status status) { registered = std::move(status); });
    (void)loop.run_until([&] { return registered.has_value(); },
                         kDefaultReplyTimeout + std::chrono::seconds(1));
    if (!registered || !registered->ok()) {
        (void)std::fprintf(stderr, "outpost: registering %s: %s\n", rsc.c_str(),
                           registered ? registered->error().message.c_str() : "no answer");
        return kExitUnavailable;
    }
    ExecRequest request;
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
    (void)loop.run_until([&] { return call.has_value(); }, kDefaultReplyTimeout + std::chrono::seconds(1));
    if (!call || !call->ok()) {
        (void)std::fprintf(stderr, "outpost: exec %s %s: %s\n", rsc.c_str(), request.action.c_str(),
                           call ? call->error().message.c_str() : "no answer");
        return kExitUnavailable;
    }
    int call_id = call->value();
    auto limit = std::chrono::milliseconds(options.timeout_ms == 0 ? 24 * 3600 * 1000 : options.timeout_ms) +
                 kNotifyGrace;
    const ExecEvent* result = nullptr;
    auto arrived = [&] {
        for (const auto& event : events) {
            if (event.notify.call_id == call_id) {
                result = &event;
                return true;
            }
        }
        return false;
    };
    if (!loop.run_until(arrived, limit)) {
        (void)std::fprintf(stderr, "outpost: no result for %s %s within %lld ms\n", rsc.c_str(),
                           request.action.c_str(), static_cast<long long>(limit.count()));
        return kExitUnavailable;
    }
    ExecEvent first = *result;
    if (options.interval_ms > 0) {
        std::optional<Status> cancelled;
        client.cancel(rsc, request.action, options.interval_ms,
                      [&](Status status) { cancelled = std::move(status); });
        (void)loop.run_until([&] { return cancelled.has_value(); },
                             kDefaultReplyTimeout + std::chrono::seconds(1));
        if (!cancelled || !cancelled->ok()) {
            (void)std::fprintf(stderr, "outpost: warning: cancelling %s %s: %s\n", rsc.c_str(),
                               request.action.c_str(),
                               cancelled ? cancelled->error().message.c_str() : "no answer");
        }
    }
    const wire::ExecNotify& n = first.notify;
    if (options.xml) {
        (void)std::printf(
            "<outpost-exec host=\"%s\" rsc=\"%s\" action=\"%s\" interval-ms=\"%u\" call-id=\"%d\" rc=\"%d\" "
            "status=\"%d\" status-text=\"%s\" exec-ms=\"%u\" queue-ms=\"%u\"%s%s%s>",
            xml_escape(client_opts->host).c_str(), xml_escape(rsc).c_str(), xml_escape(n.action).c_str(),
            n.interval_ms, n.call_id, n.exec_rc, n.op_status, status_name(n.op_status), n.exec_time_ms,
            n.queue_time_ms, n.exit_reason ? " exit-reason=\"" : "",
            n.exit_reason ? xml_escape(*n.exit_reason).c_str() : "", n.exit_reason ? "\"" : "");
        (void)std::printf("<output>%s</output></outpost-exec>\n", xml_escape(n.output.value_or("")).c_str());
    } else {
        (void)std::printf("%s %s on %s: rc=%d status=%d (%s) call-id=%d exec=%u ms queue=%u ms\n",
                          rsc.c_str(), n.action.c_str(), client_opts->host.c_str(), n.exec_rc, n.op_status,
                          status_name(n.op_status), n.call_id, n.exec_time_ms, n.queue_time_ms);
        if (n.exit_reason && !n.exit_reason->empty())
            (void)std::printf("exit reason: %s\n", n.exit_reason->c_str());
        if (n.output && !n.output->empty()) {
            (void)std::printf("output:\n%s", n.output->c_str());
            if (n.output->back() != '\n') std::printf("\n");
        }
    }
    client.disconnect();
    return n.exec_rc >= 0 && n.exec_rc < 256 ? n.exec_rc : kExitFailed;
}

int cmd_keygen(const Options& options)
{
    if (options.args.size() != 1) {
        (void)std::fputs(kKeygenUsage, stderr);
        return kExitUsage;
    }
    const std::string& file = options.args[0];
    std::string key(kKeySize, '\0');
    for (std::size_t done = 0; done < key.size();) {
        ssize_t n = ::getrandom(key.data() + done, key.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            (void)std::fprintf(stderr, "outpost: getrandom: %s\n", std::strerror(errno));
            return kExitFailed;
        }
        done += static_cast<std::size_t>(n);
    }
    // Without --force the file must not exist (O_EXCL); with it, write a sibling and rename
    // over, so a reader never sees half a key.
    std::string target = options.force ? file + ".outpost-new" : file;
    if (options.force) ::unlink(target.c_str());
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int err = errno;
        if (err == EEXIST) {
            (void)std::fprintf(stderr, "outpost: %s exists; use --force to replace it\n", file.c_str());
            return kExitCantCreate;
        }
        (void)std::fprintf(stderr, "outpost: cannot create %s: %s\n", target.c_str(), std::strerror(err));
        return err == EACCES || err == EPERM ? kExitNoPerm : kExitCantCreate;
    }
    auto fail = [&](const char* what) {
        int err = errno;
        (void)std::fprintf(stderr, "outpost: %s %s: %s\n", what, target.c_str(), std::strerror(err));
        ::close(fd);
        ::unlink(target.c_str());
        return err == EACCES || err == EPERM ? kExitNoPerm : kExitFailed;
    };
    for (std::size_t done = 0; done < key.size();) {
        ssize_t n = ::write(fd, key.data() + done, key.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("writing");
        }
        done += static_cast<std::size_t>(n);
    }
    std::string group_name;
    gid_t gid = ::getegid();
    if (struct group* group = ::getgrnam("haclient")) {
        gid = group->gr_gid;
        group_name = "haclient";
    }
    if (::fchown(fd, 0, gid) != 0 && ::geteuid() == 0) return fail("chown");
    if (::fchmod(fd, 0640) != 0) return fail("chmod");
    if (::fsync(fd) != 0) return fail("fsync");
    ::close(fd);
    if (options.force && ::rename(target.c_str(), file.c_str()) != 0) {
        int err = errno;
        (void)std::fprintf(stderr, "outpost: replacing %s: %s\n", file.c_str(), std::strerror(err));
        ::unlink(target.c_str());
        return err == EACCES || err == EPERM ? kExitNoPerm : kExitFailed;
    }
    if (options.xml) {
        (void)std::printf("<outpost-keygen file=\"%s\" bytes=\"%zu\" mode=\"0640\" group=\"%s\"/>\n",
                          xml_escape(file).c_str(), key.size(), xml_escape(group_name).c_str());
    } else {
        (void)std::printf("wrote %zu random bytes to %s (mode 0640%s)\n", key.size(), file.c_str(),
                          group_name.empty() ? "" : ", group haclient");
    }
    std::fill(key.begin(), key.end(), '\0');
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv)
{
    log::configure(log::config_from_environment("outpost"));
    Options options;
    if (auto error = parse_args(argc, argv, options)) {
        (void)std::fprintf(stderr, "outpost: %s\n%s", error->c_str(), kUsage);
        return kExitUsage;
    }
    try {
        if (options.command == "check") {
            if (options.help) return std::fputs(kCheckUsage, stdout), kExitOk;
            return cmd_check(options);
        }
        if (options.command == "exec") {
            if (options.help) return std::fputs(kExecUsage, stdout), kExitOk;
            return cmd_exec(options);
        }
        if (options.command == "keygen") {
            if (options.help) return std::fputs(kKeygenUsage, stdout), kExitOk;
            return cmd_keygen(options);
        }
        if (options.command.empty() && options.help) return std::fputs(kUsage, stdout), kExitOk;
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "outpost: internal error: %s\n", e.what());
        return kExitFailed;
    }
    (void)std::fprintf(
        stderr, "outpost: %s\n%s",
        options.command.empty() ? "no command given" : ("unknown command " + options.command).c_str(),
        kUsage);
    return kExitUsage;
}
