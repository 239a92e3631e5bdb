// outpost: the admin command line for Pacemaker Remote nodes (ours or the real daemon).
//
//   outpost check HOST[:PORT]          connect, handshake, register, poke; timings and version
//   outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param k=v ...] [--interval ms] [--timeout ms]
//   outpost keygen FILE [--force]      write a new 4096-byte authkey
//
// Common options: --port N, --authkey PATH (else PCMK_authkey_location and the default
// lookup), --output-as=xml|text, --help. Exit codes: exec returns the operation's OCF rc;
// check returns 0 or 1; 69 (EX_UNAVAILABLE) when the node cannot be reached, 77 (EX_NOPERM)
// for key and certificate problems, 78 (EX_CONFIG) for invalid TLS settings in the
// environment, 73 (EX_CANTCREAT) when keygen cannot write, 64 (EX_USAGE) for usage errors.
//
// --output-as=xml prints what Pacemaker's own tools print (crm_resource, crm_mon of 2.1.5,
// observed on Debian 12): a <pacemaker-result api-version="2.25" request="COMMAND LINE">
// root, the command's data as child elements, and a closing <status code="EXIT CODE"
// message="..."/> that holds <errors><error>...</error></errors> when there were any. Every
// outcome, usage errors included, is one such document on stdout; nothing goes to stderr
// but warnings.
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connection/remote_client.hpp"
#include "io/source.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "util/log.hpp"
#ifdef OUTPOST_WITH_WATCH
#include "watch/command.hpp"
#endif

namespace {

using namespace outpost;
using namespace outpost::cluster::connection;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 64;
constexpr int kExitUnavailable = 69;
constexpr int kExitCantCreate = 73;
constexpr int kExitNoPerm = 77;
constexpr int kExitConfig = 78;
constexpr std::size_t kKeySize = 4096;
constexpr mode_t kKeyMode = 0640;
constexpr const char* kKeyGroup = "haclient";
// Time given to a completion notify beyond the operation's own timeout.
constexpr std::chrono::milliseconds kNotifyGrace{10000};
constexpr std::chrono::milliseconds kCheckTimeout{30000};
// A timeout of 0 means "no limit" to the executor; we still stop waiting after a day.
constexpr std::chrono::milliseconds kUnlimitedWait{24LL * 3600 * 1000};
constexpr std::uint32_t kDefaultExecTimeoutMs = 20000;
// The version of Pacemaker's API result schema that 2.1.5's tools print (crm_resource
// --output-as=xml); our documents use the same envelope.
constexpr const char* kApiVersion = "2.25";

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
    "  watch [--help]               report guest domains that die behind the cluster's\n"
    "                               back as failed resources at once (a service)\n"
    "\n"
    "Options:\n"
    "  --port N                     remote port (default PCMK_remote_port or 3121)\n"
    "  --authkey PATH               key file (default PCMK_authkey_location, then\n"
    "                               /etc/pacemaker/authkey, then /etc/corosync/authkey);\n"
    "                               with PCMK_cert_file, PCMK_key_file and PCMK_ca_file all\n"
    "                               set, X.509 certificates are used instead of a key\n"
    "  --output-as=xml|text         output format (default text); xml is Pacemaker's tool\n"
    "                               format: <pacemaker-result> with the data, then\n"
    "                               <status code=\"EXIT CODE\" message=\"...\"/> (errors inside)\n"
    "  --help                       this text (also after a command)\n"
    "\n"
    "Exit codes: exec: the OCF rc; check: 0 ok, 1 poke not answered; 69 node unreachable,\n"
    "77 key or certificate problem (missing, unreadable, rejected), 78 invalid TLS setting\n"
    "in the environment (PCMK_dh_min_bits, ...), 73 keygen cannot write, 64 usage error.\n";

const char* const kCheckUsage =
    "Usage: outpost check HOST[:PORT] [--port N] [--authkey PATH] [--output-as=xml|text]\n"
    "Connects to the Pacemaker Remote daemon on HOST (each address of a name in turn),\n"
    "completes the TLS handshake, registers and pokes it; prints the connect and poke times,\n"
    "the TLS session, the remote protocol version and the daemon's uptime (reported by\n"
    "Pacemaker 2.1.6 and later and by outpost-agent). Exit 0 if the poke was answered, 1 if\n"
    "not, 69 if unreachable, 77 for a key or certificate problem, 78 for an invalid TLS\n"
    "setting.\n";
const char* const kExecUsage =
    "Usage: outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param NAME=VALUE ...]\n"
    "                    [--interval MS] [--timeout MS] [--port N] [--authkey PATH]\n"
    "                    [--output-as=xml|text]\n"
    "Registers resource RSC (e.g. ocf:heartbeat:Dummy, lsb:foo, systemd:foo) on HOST and runs\n"
    "ACTION once (interval > 0: prints the first result, then cancels). --timeout is the\n"
    "operation's timeout (default 20000 ms; 0 = none): the remote daemon kills the agent when\n"
    "it passes and reports rc 1, status Timed Out. Exits with the OCF rc (1 when the\n"
    "operation could not run), 69 if the node is unreachable, 77/78 as for check.\n";
const char* const kKeygenUsage =
    "Usage: outpost keygen FILE [--force] [--output-as=xml|text]\n"
    "Writes 4096 random bytes (getrandom) to FILE with mode 0640, owner root and group\n"
    "haclient if that group exists (else the caller's group). Refuses to replace an existing\n"
    "file without --force (exit 73); with --force the file is replaced atomically.\n";

// What `crm_error -X CODE` says for each exit code we use (Pacemaker 2.1.5), so the XML
// status reads like Pacemaker's.
const char* exit_message(int code)
{
    switch (code) {
        case 0:
            return "OK";
        case 1:
            return "Error occurred";
        case 2:
            return "Invalid parameter";
        case 3:
            return "Unimplemented";
        case 4:
            return "Insufficient privileges";
        case 5:
            return "Not installed";
        case 6:
            return "Not configured";
        case 7:
            return "Not running";
        case 8:
            return "Promoted";
        case 9:
            return "Failed in promoted role";
        case kExitUsage:
            return "Incorrect usage";
        case kExitUnavailable:
            return "Necessary service unavailable";
        case kExitCantCreate:
            return "Cannot create output file";
        case kExitNoPerm:
            return "Insufficient privileges";
        case kExitConfig:
            return "Invalid configuration";
        default:
            return "Error occurred";
    }
}

// OCF rc as crm_resource names it in <agent-status message="...">.
const char* ocf_rc_name(int rc)
{
    static const char* const names[] = {"ok",
                                        "error",
                                        "invalid parameter",
                                        "unimplemented feature",
                                        "insufficient privileges",
                                        "not installed",
                                        "not configured",
                                        "not running",
                                        "promoted",
                                        "promoted (failed)"};
    if (rc >= 0 && rc < static_cast<int>(std::size(names))) return names[rc];
    return "error";
}

// Execution status (lrmd_exec_op_status); "complete" and "Timed Out" as crm_resource
// prints them.
const char* exec_status_name(int status)
{
    static const char* const names[] = {"complete",      "Cancelled",  "Timed Out",       "Not supported",
                                        "Error",         "Hard error", "Fatal error",     "Not installed",
                                        "Not connected", "Invalid",    "No fence device", "No secrets"};
    if (status >= 0 && status < static_cast<int>(std::size(names))) return names[status];
    return "Unknown";
}

// ---- output -----------------------------------------------------------------------------

std::string xml_escape(const std::string& text, bool attribute)
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
                out += attribute ? "&quot;" : "\"";
                break;
            case '\n':
                out += attribute ? "&#10;" : "\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A small element tree for the XML output (pretty-printed as Pacemaker's tools do).
struct Node {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attrs;
    std::vector<Node> children;
    std::optional<std::string> text;

    Node& attr(const std::string& key, const std::string& value)
    {
        attrs.emplace_back(key, value);
        return *this;
    }
    Node& attr(const std::string& key, long long value) { return attr(key, std::to_string(value)); }
    Node& child(Node node)
    {
        children.push_back(std::move(node));
        return children.back();
    }

    void render(std::string& out, int depth) const
    {
        const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
        out += indent + "<" + name;
        for (const auto& [key, value] : attrs)
            out += " " + key + "=\"" + xml_escape(value, true) + "\"";
        if (text) {
            out += ">" + xml_escape(*text, false) + "</" + name + ">\n";
        } else if (children.empty()) {
            out += "/>\n";
        } else {
            out += ">\n";
            for (const auto& c : children)
                c.render(out, depth + 1);
            out += indent + "</" + name + ">\n";
        }
    }
};

Node element(std::string name)
{
    return Node{std::move(name), {}, {}, std::nullopt};
}

// The command line as Pacemaker's tools echo it in request="...": arguments with characters
// a shell would treat specially are single-quoted.
std::string quote_argument(const std::string& arg)
{
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_@%+=:,./-[]") == std::string::npos;
    if (plain) return arg;
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string command_line(int argc, char** argv)
{
    std::string line;
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        if (i == 0) {
            auto slash = arg.rfind('/');
            if (slash != std::string::npos) arg = arg.substr(slash + 1);
        }
        if (!line.empty()) line += ' ';
        line += quote_argument(arg);
    }
    return line;
}

// Where every command's results and errors go. Text: data lines to stdout, errors to
// stderr as they come. XML: collected, printed as one document by finish().
class Output {
public:
    Output(bool xml, std::string request) : xml_(xml), request_(std::move(request)) {}

    [[nodiscard]] bool xml() const { return xml_; }
    void line(const std::string& text)
    {
        if (!xml_) (void)std::printf("%s\n", text.c_str());
    }
    void data(Node node)
    {
        if (xml_) data_.push_back(std::move(node));
    }
    void error(const std::string& message)
    {
        if (xml_) {
            errors_.push_back("outpost: " + message);
        } else {
            (void)std::fprintf(stderr, "outpost: %s\n", message.c_str());
        }
    }
    // Text as is (e.g. a usage text after an error): stderr in text mode, dropped in XML.
    void usage(const char* text)
    {
        if (!xml_) (void)std::fputs(text, stderr);
    }
    static void warning(const std::string& message)
    {
        (void)std::fprintf(stderr, "outpost: warning: %s\n", message.c_str());
    }

    int finish(int code)
    {
        if (!xml_) return code;
        Node root = element("pacemaker-result");
        root.attr("api-version", kApiVersion).attr("request", request_);
        for (auto& node : data_)
            root.child(std::move(node));
        Node& status = root.child(element("status"));
        status.attr("code", code).attr("message", exit_message(code));
        if (!errors_.empty()) {
            Node& errors = status.child(element("errors"));
            for (const auto& e : errors_) {
                Node& one = errors.child(element("error"));
                one.text = e;
            }
        }
        std::string out;
        root.render(out, 0);
        (void)std::fputs(out.c_str(), stdout);
        return code;
    }

private:
    bool xml_;
    std::string request_;
    std::vector<Node> data_;
    std::vector<std::string> errors_;
};

// ---- options ----------------------------------------------------------------------------

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
    std::uint32_t timeout_ms = kDefaultExecTimeoutMs;
};

bool parse_number(const std::string& text, unsigned long max, unsigned long& out)
{
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
    errno = 0;
    out = std::strtoul(text.c_str(), nullptr, 10);
    return errno == 0 && out <= max;
}

// Before anything else can fail: does the command line ask for XML? (Then even a usage
// error is reported as an XML document.)
bool wants_xml(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--output-as=xml") return true;
        if (arg == "--output-as" && i + 1 < argc && std::string(argv[i + 1]) == "xml") return true;
    }
    return false;
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

// The client TLS context, with the key checked up front so a key problem is reported as
// one: 78 for an invalid TLS setting in the environment, 77 for a key or certificate that
// is missing, unreadable or unusable.
std::optional<tls::TlsContext> make_tls(const Options& options, Output& out, int& exit_code)
{
    auto settings = tls::TlsSettings::from_environment();
    if (!settings.ok()) {
        out.error(settings.error().describe());
        exit_code = kExitConfig;
        return std::nullopt;
    }
    for (const auto& note : settings->notes)
        Output::warning(note);
    tls::AuthkeySearch search = tls::AuthkeySearch::from_environment();
    if (options.authkey) search.configured = *options.authkey;
    auto store = std::make_shared<tls::AuthkeyStore>(search);
    if (settings->kind == tls::CredentialKind::psk) {
        if (options.authkey) {
            // An explicit key file must be that file, not a fallback.
            auto key = tls::read_authkey_file(*options.authkey);
            if (!key.ok()) {
                out.error(key.error().describe());
                exit_code = kExitNoPerm;
                return std::nullopt;
            }
        }
        auto key = store->get();
        if (!key.ok()) {
            out.error(key.error().describe());
            exit_code = kExitNoPerm;
            return std::nullopt;
        }
    }
    auto tls = tls::TlsContext::client(*settings, store);
    if (!tls.ok()) {
        // Certificate, key, CA or CRL file missing or unusable (or a bad priority string).
        out.error(tls.error().describe());
        exit_code = kExitNoPerm;
        return std::nullopt;
    }
    for (const auto& warning : tls->warnings())
        Output::warning(warning);
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

// Connects `client`; on failure reports it and returns the exit code.
std::optional<int> connect_client(RemoteClient& client, Loop& loop, Output& out)
{
    std::optional<Status> connected;
    client.connect([&](Status status) { connected = std::move(status); });
    if (!loop.run_until([&] { return connected.has_value(); }, kCheckTimeout)) {
        connected = Status(make_error("client", -ETIMEDOUT,
                                      "no answer within " + std::to_string(kCheckTimeout.count()) + " ms"));
    }
    if (connected->ok()) return std::nullopt;
    const Error& error = connected->error();
    const ClientOptions& o = client.options();
    out.error(o.host + ":" + std::to_string(o.port) + ": cannot connect: " + error.message);
    return connect_exit_code(error);
}

// ---- commands ---------------------------------------------------------------------------

int cmd_check(const Options& options, Output& out)
{
    if (options.args.size() != 1) {
        out.error(options.args.empty() ? "check needs HOST[:PORT]" : "check takes one HOST[:PORT]");
        out.usage(kCheckUsage);
        return kExitUsage;
    }
    auto client_opts = client_options(options, options.args[0]);
    if (!client_opts) {
        out.error("invalid HOST[:PORT] " + options.args[0]);
        return kExitUsage;
    }
    int exit_code = kExitOk;
    auto tls = make_tls(options, out, exit_code);
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
    if (auto failed = connect_client(client, loop, out)) return *failed;
    long long connect_ms = ms_since(begin);
    auto poke_begin = Clock::now();
    Status sent = client.poke();
    bool answered = sent.ok() && loop.run_until([&] { return poked; }, kDefaultReplyTimeout);
    long long poke_ms = ms_since(poke_begin);
    const ServerInfo& server = client.server();
    const std::string endpoint = client_opts->host + ":" + std::to_string(client_opts->port);

    Node node = element("remote-executor");
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
    out.data(std::move(node));

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
                  (sent.ok() ? "no notify within " + std::to_string(kDefaultReplyTimeout.count()) + " ms"
                             : sent.error().message));
        return kExitFailed;
    }
    return kExitOk;
}

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

int cmd_exec(const Options& options, Output& out)
{
    if (options.args.size() != 4) {
        out.error("exec needs HOST RSC CLASS:PROVIDER:TYPE ACTION");
        out.usage(kExecUsage);
        return kExitUsage;
    }
    auto client_opts = client_options(options, options.args[0]);
    if (!client_opts) {
        out.error("invalid HOST[:PORT] " + options.args[0]);
        return kExitUsage;
    }
    const std::string& rsc = options.args[1];
    auto agent = parse_agent(options.args[2]);
    if (!agent) {
        out.error("invalid agent " + options.args[2] + " (want ocf:PROVIDER:TYPE or CLASS:TYPE)");
        return kExitUsage;
    }
    int exit_code = kExitOk;
    auto tls = make_tls(options, out, exit_code);
    if (!tls) return exit_code;

    Loop loop;
    RemoteClient client(loop.get(), *tls, *client_opts);
    std::vector<ExecEvent> events;
    Handlers handlers;
    handlers.exec = [&](const ExecEvent& event) { events.push_back(event); };
    client.subscribe(handlers);
    if (auto failed = connect_client(client, loop, out)) return *failed;

    const auto request_limit = kDefaultReplyTimeout + std::chrono::seconds(1);
    std::optional<Status> registered;
    client.register_rsc(rsc, agent->rsc_class, agent->provider, agent->type,
                        [&](Status status) { registered = std::move(status); });
    (void)loop.run_until([&] { return registered.has_value(); }, request_limit);
    if (!registered || !registered->ok()) {
        out.error("registering " + rsc + ": " + (registered ? registered->error().message : "no answer"));
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
    (void)loop.run_until([&] { return call.has_value(); }, request_limit);
    if (!call || !call->ok()) {
        out.error("exec " + rsc + " " + request.action + ": " + (call ? call->error().message : "no answer"));
        return kExitUnavailable;
    }
    int call_id = call->value();
    auto limit = (options.timeout_ms == 0 ? kUnlimitedWait : std::chrono::milliseconds(options.timeout_ms)) +
                 kNotifyGrace;
    std::optional<ExecEvent> result;
    auto arrived = [&] {
        for (const auto& event : events) {
            if (event.notify.call_id == call_id) {
                result = event;
                return true;
            }
        }
        return false;
    };
    if (!loop.run_until(arrived, limit)) {
        out.error("no result for " + rsc + " " + request.action + " within " + std::to_string(limit.count()) +
                  " ms");
        return kExitUnavailable;
    }
    if (options.interval_ms > 0) {
        std::optional<Status> cancelled;
        client.cancel(rsc, request.action, options.interval_ms,
                      [&](Status status) { cancelled = std::move(status); });
        (void)loop.run_until([&] { return cancelled.has_value(); }, request_limit);
        if (!cancelled || !cancelled->ok()) {
            Output::warning("cancelling " + rsc + " " + request.action + ": " +
                            (cancelled ? cancelled->error().message : "no answer"));
        }
    }
    client.disconnect();

    const wire::ExecNotify& n = result->notify;
    const std::string agent_name = options.args[2];
    const std::string reason = n.exit_reason.value_or("");
    Node action = element("resource-agent-action");
    action.attr("action", n.action).attr("rsc", rsc).attr("class", agent->rsc_class);
    if (!agent->provider.empty()) action.attr("provider", agent->provider);
    action.attr("type", agent->type)
        .attr("node", client_opts->host)
        .attr("interval", n.interval_ms)
        .attr("call-id", n.call_id);
    Node& status = action.child(element("agent-status"));
    status.attr("code", n.exec_rc)
        .attr("message", ocf_rc_name(n.exec_rc))
        .attr("execution_code", n.op_status)
        .attr("execution_message", exec_status_name(n.op_status));
    if (!reason.empty()) status.attr("reason", reason);
    status.attr("exec-time", n.exec_time_ms).attr("queue-time", n.queue_time_ms);
    if (n.output && !n.output->empty()) {
        Node& command = action.child(element("command"));
        command.attr("code", n.exec_rc);
        Node& output = command.child(element("output"));
        output.text = *n.output;
    }
    out.data(std::move(action));

    const std::string what = rsc + " " + n.action + " (" + agent_name + ") on " + client_opts->host;
    out.line(what + ": rc=" + std::to_string(n.exec_rc) + " (" + ocf_rc_name(n.exec_rc) +
             ") status=" + std::to_string(n.op_status) + " (" + exec_status_name(n.op_status) +
             ") call-id=" + std::to_string(n.call_id) + " exec=" + std::to_string(n.exec_time_ms) +
             " ms queue=" + std::to_string(n.queue_time_ms) + " ms");
    if (!reason.empty()) out.line("exit reason: " + reason);
    if (n.output && !n.output->empty()) {
        std::string text = *n.output;
        if (text.back() == '\n') text.pop_back();
        out.line("output:\n" + text);
    }
    const int code = n.exec_rc >= 0 && n.exec_rc < 256 ? n.exec_rc : kExitFailed;
    if (n.op_status != kExecDone) {
        out.error(what + " could not be executed (" + exec_status_name(n.op_status) +
                  (reason.empty() ? "" : ": " + reason) + ")");
    } else if (code != kExitOk) {
        out.error(what + " returned " + std::to_string(n.exec_rc) + " (" + ocf_rc_name(n.exec_rc) + ")");
    }
    return code;
}

std::string group_name(gid_t gid)
{
    if (const struct group* group = ::getgrgid(gid)) return group->gr_name;
    return std::to_string(gid);
}

int cmd_keygen(const Options& options, Output& out)
{
    if (options.args.size() != 1) {
        out.error("keygen needs one FILE");
        out.usage(kKeygenUsage);
        return kExitUsage;
    }
    const std::string& file = options.args[0];
    std::string key(kKeySize, '\0');
    for (std::size_t done = 0; done < key.size();) {
        ssize_t n = ::getrandom(key.data() + done, key.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            out.error(std::string("getrandom: ") + std::strerror(errno));
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
            out.error(file + " exists; use --force to replace it");
            return kExitCantCreate;
        }
        out.error("cannot create " + target + ": " + std::strerror(err));
        return err == EACCES || err == EPERM ? kExitNoPerm : kExitCantCreate;
    }
    auto fail = [&](const char* what) {
        int err = errno;
        out.error(std::string(what) + " " + target + ": " + std::strerror(err));
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
    std::fill(key.begin(), key.end(), '\0');
    gid_t gid = ::getegid();
    if (const struct group* group = ::getgrnam(kKeyGroup)) gid = group->gr_gid;
    // Only root can give the file away; anyone else keeps it as their own.
    if (::fchown(fd, 0, gid) != 0 && ::geteuid() == 0) return fail("chown");
    if (::fchmod(fd, kKeyMode) != 0) return fail("chmod");
    if (::fsync(fd) != 0) return fail("fsync");
    struct stat written {};
    if (::fstat(fd, &written) != 0) return fail("stat");
    ::close(fd);
    if (options.force && ::rename(target.c_str(), file.c_str()) != 0) {
        int err = errno;
        out.error("replacing " + file + ": " + std::strerror(err));
        ::unlink(target.c_str());
        return err == EACCES || err == EPERM ? kExitNoPerm : kExitFailed;
    }
    const struct passwd* owner = ::getpwuid(written.st_uid);
    const std::string owner_name = owner ? owner->pw_name : std::to_string(written.st_uid);
    const std::string group = group_name(written.st_gid);
    Node node = element("authkey");
    node.attr("file", file)
        .attr("bytes", static_cast<long long>(kKeySize))
        .attr("mode", "0640")
        .attr("owner", owner_name)
        .attr("group", group);
    out.data(std::move(node));
    out.line("wrote " + std::to_string(kKeySize) + " random bytes to " + file + " (mode 0640, owner " +
             owner_name + ", group " + group + ")");
    return kExitOk;
}

int run(const Options& options, Output& out)
{
    if (options.command == "check") return cmd_check(options, out);
    if (options.command == "exec") return cmd_exec(options, out);
    if (options.command == "keygen") return cmd_keygen(options, out);
    out.error(options.command.empty() ? "no command given" : "unknown command " + options.command);
    out.usage(kUsage);
    return kExitUsage;
}

const char* help_for(const std::string& command)
{
    if (command == "check") return kCheckUsage;
    if (command == "exec") return kExecUsage;
    if (command == "keygen") return kKeygenUsage;
    return kUsage;
}

}  // namespace

int main(int argc, char** argv)
{
#ifdef OUTPOST_WITH_WATCH
    // `outpost watch` (cluster-plugin/watch/command.hpp): a service with its own options.
    if (argc > 1 && std::string(argv[1]) == "watch") return outpost::cluster::watch::run_watch_command(argc - 1, argv + 1);
#endif
    log::configure(log::config_from_environment("outpost"));
    Output out(wants_xml(argc, argv), command_line(argc, argv));
    Options options;
    if (auto error = parse_args(argc, argv, options)) {
        out.error(*error);
        out.usage(kUsage);
        return out.finish(kExitUsage);
    }
    // Help is text, as with Pacemaker's tools (also with --output-as=xml).
    if (options.help) return std::fputs(help_for(options.command), stdout), kExitOk;
    int code = kExitFailed;
    try {
        code = run(options, out);
    } catch (const std::exception& e) {
        out.error(std::string("internal error: ") + e.what());
        code = kExitFailed;
    }
    return out.finish(code);
}
