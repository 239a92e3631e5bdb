#include <algorithm>
#include <cerrno>
#include <memory>

#include "tls/authkey.hpp"
#include "tools/outpost/cli.hpp"
#include "util/env.hpp"

namespace outpost::cluster::tools {
namespace {

// Connect, handshake and register must be done by then.
constexpr std::chrono::milliseconds kConnectWait{30000};

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
        auto parsed = env::parse_port("port", port_text);
        if (!parsed) return false;
        port = *parsed;
    }
    return true;
}

// PCMK_remote_port if it is a port, else Pacemaker's.
std::uint16_t default_port()
{
    if (auto text = env::get("PCMK_remote_port")) {
        if (auto port = env::parse_port("PCMK_remote_port", *text)) return *port;
    }
    return connection::kDefaultPort;
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

}  // namespace

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

std::optional<connection::ClientOptions> client_options(const Options& options, Output& out)
{
    const std::string& spec = options.args.front();
    connection::ClientOptions client;
    std::optional<std::uint16_t> port;
    if (!split_host(spec, client.host, port)) {
        out.error("invalid HOST[:PORT] " + spec);
        return std::nullopt;
    }
    client.port = port ? *port : options.port ? *options.port : default_port();
    client.client_name = "outpost-cli";
    return client;
}

bool wait(GMainContext* context, const std::function<bool()>& done, std::chrono::milliseconds limit)
{
    return io::iterate_until(context, done, limit);
}

std::optional<int> connect_client(connection::RemoteClient& client, GMainContext* context, Output& out)
{
    std::optional<Status> connected;
    client.connect([&](Status status) { connected = std::move(status); });
    if (!wait(
            context, [&] { return connected.has_value(); }, kConnectWait)) {
        connected = Status(make_error("client", -ETIMEDOUT,
                                      "no answer within " + std::to_string(kConnectWait.count()) + " ms"));
    }
    if (connected->ok()) return std::nullopt;
    const Error& error = connected->error();
    const connection::ClientOptions& o = client.options();
    out.error(o.host + ":" + std::to_string(o.port) + ": cannot connect: " + error.message);
    return connect_exit_code(error);
}

}  // namespace outpost::cluster::tools
