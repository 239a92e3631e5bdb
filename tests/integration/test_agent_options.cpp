// The outpost-agent binary's configuration surface and start-up/shutdown edges, run as a
// real process (in its own network namespace where it listens):
// - --help and --version print and exit 0; -k/--authkey and --foreground work;
// - values that cannot be used exit 64 with a line naming the variable (or option) and the
//   value; values pacemaker-remoted 2.1.5 tolerates are warnings (an invalid port means 3121
//   for both daemons);
// - PCMK_node_start_state reaches the register reply;
// - X.509 credentials (PCMK_cert_file, PCMK_key_file, PCMK_ca_file; certificates made at run
//   time with certtool) with our client;
// - nothing a client sends is served before its TLS handshake completes (both daemons);
// - SIGTERM waits for a running alert to finish (both daemons).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr int kExitUsage = 64;
constexpr auto kQuickCommand = 20s;

constexpr const char* kNoAgent = "outpost-agent is not built (OUTPOST_AGENT unset)";

// Runs the agent inside `netns` with `env`, expecting it to end by itself.
CommandResult run_agent(const std::string& agent, const Netns& netns, const std::vector<std::string>& args,
                        const EnvList& env = {})
{
    std::vector<std::string> argv{agent};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_command(argv, &netns, kQuickCommand, env);
    require_ok(result);
    return *result;
}

int exit_status(const CommandResult& result)
{
    REQUIRE(WIFEXITED(result.wait_status));
    return WEXITSTATUS(result.wait_status);
}

std::string log_of(const GuestDaemon& daemon)
{
    auto text = read_file(daemon.log_file());
    return text ? *text : std::string();
}

}  // namespace

TEST_CASE("--help and --version print and exit 0", "[agent][options]")
{
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    for (const char* flag : {"--help", "-?", "-h"}) {
        INFO(flag);
        auto result = run_command({agent, flag}, nullptr, kQuickCommand);
        require_ok(result);
        CHECK(exit_status(*result) == 0);
        CHECK(result->output.rfind("Usage: outpost-agent [options]\n", 0) == 0);
        for (const char* text : {"--authkey=FILE", "--foreground", "PCMK_debug", "/etc/default/pacemaker",
                                 "/etc/sysconfig/sbd", "Exit status:", "  64 ", "  100 "}) {
            INFO(text);
            CHECK(contains(result->output, text));
        }
    }
    for (const char* flag : {"--version", "-$"}) {
        INFO(flag);
        auto result = run_command({agent, flag}, nullptr, kQuickCommand);
        require_ok(result);
        CHECK(exit_status(*result) == 0);
        CHECK(result->output.rfind("outpost-agent ", 0) == 0);
        CHECK(contains(result->output, "(protocol 1.1, Pacemaker 2.1 compatible)"));
    }
}

TEST_CASE("unusable settings exit 64 with a line naming them", "[agent][options]")
{
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    auto netns = Netns::create();
    require_ok(netns);
    auto dir = TempDir::create("outpost-agent-options");
    require_ok(dir);
    auto key = Authkey::create(*dir / "authkey");
    require_ok(key);
    const EnvList base{{"PCMK_authkey_location", key->path().string()}};

    struct Case {
        std::vector<std::string> args;
        EnvList env;
        std::string message;
    };
    const std::string missing_cert = (*dir / "missing.pem").string();
    const std::vector<Case> cases{
        {{"--frobnicate"}, {}, "outpost-agent: unknown option \"--frobnicate\" (see --help)"},
        {{"--port"}, {}, "outpost-agent: option --port needs a value"},
        {{"--authkey="}, {}, "outpost-agent: option --authkey needs a file name"},
        {{},
         {{"SBD_WATCHDOG_TIMEOUT", "soon"}},
         "outpost-agent: SBD_WATCHDOG_TIMEOUT: \"soon\" is not a duration (e.g. 500ms, 10s, 2min)"},
        {{}, {{"PCMK_dh_min_bits", "lots"}}, "PCMK_dh_min_bits"},
        {{}, {{"PCMK_tls_priorities", "NO-SUCH-PRIORITY"}}, "Cannot set up TLS"},
        {{},
         {{"PCMK_cert_file", missing_cert}, {"PCMK_key_file", missing_cert}, {"PCMK_ca_file", missing_cert}},
         missing_cert},
        {{},
         {{"OUTPOST_metrics_address", "localhost:9673"}},
         "outpost-agent: OUTPOST_metrics_address: \"localhost:9673\" is not an IP address (expected HOST, "
         "HOST:PORT or [IPV6]:PORT with an IP address as HOST)"},
    };
    for (const auto& test : cases) {
        EnvList env = base;
        env.insert(env.end(), test.env.begin(), test.env.end());
        auto result = run_agent(agent, *netns, test.args, env);
        INFO(join_argv(test.args) << " -> " << result.output);
        CHECK(exit_status(result) == kExitUsage);
        CHECK(contains(result.output, test.message));
    }
}

TEST_CASE("values 2.1.5 tolerates: a bad port means 3121, the others are one warning each",
          "[agent][options]")
{
    // pacemaker-remoted 2.1.5, observed: "-p abc" or PCMK_remote_port=abc -> "invalid value
    // 'abc', using 3121 instead" and it listens on 3121. GuestDaemon waits for port 3121.
    {
        auto remoted = remoted_path();
        require_ok(remoted);
        GuestDaemonOptions options;
        options.binary = *remoted;
        options.args = {"-p", "abc"};
        auto daemon = GuestDaemon::start(options);
        INFO((daemon ? std::string() : daemon.error().describe()));
        CHECK(daemon);
    }
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    GuestDaemonOptions options;
    options.binary = agent;
    options.args = {"-p", "abc"};
    options.env = {{"PCMK_ipc_buffer", "lots"},
                   {"PCMK_remote_pid1", "bogus"},
                   {"PCMK_node_start_state", "sideways"},
                   {"PCMK_debug", "pacemakerd,outpost-agent"}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    const std::string log = log_of(**daemon);
    INFO(log);
    for (const char* warning :
         {"warning: -p: \"abc\" is not a port number (1-65535); using 3121 as pacemaker-remoted does",
          "warning: PCMK_ipc_buffer: \"lots\" is not a byte count from 16384 to 33488896; using 131072",
          "warning: PCMK_remote_pid1: \"bogus\" is not one of full, vars; ignored",
          "warning: PCMK_node_start_state: \"sideways\" is not one of default, online, standby; not "
          "announced"}) {
        CHECK(contains(log, warning));
    }
    CHECK(contains(log, " debug: "));  // PCMK_debug named this daemon

    // Not announced: the register reply has no node_start_state.
    ContextPtr context(g_main_context_new());
    auto client = raw_client(context.get(), **daemon);
    auto reply = client->reply(client->send(make_register(0, "options-test")));
    CHECK(reply.rc == 0);
    CHECK_FALSE(reply.node_start_state.has_value());
}

TEST_CASE("-k/--authkey and --foreground", "[agent][options]")
{
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    auto dir = TempDir::create("outpost-agent-key");
    require_ok(dir);
    auto key = Authkey::create(*dir / "given-on-the-command-line");
    require_ok(key);
    for (const char* flag : {"-k", "--authkey"}) {
        INFO(flag);
        GuestDaemonOptions options;
        options.binary = agent;
        options.args = {flag, key->path().string(), "--foreground"};
        // The environment names a key that does not exist: the command line must win.
        options.env = {{"PCMK_authkey_location", (*dir / "no-such-key").string()}};
        auto daemon = GuestDaemon::start(options);
        require_ok(daemon);
        ContextPtr context(g_main_context_new());
        auto client =
            RawClient::open(context.get(), (*daemon)->address(), (*daemon)->port(), psk_client(key->bytes()));
        CHECK(client->reply(client->send(make_register(0, "key-test"))).rc == 0);
        // --foreground: still our child, not a daemonized grandchild.
        CHECK((*daemon)->process().is_running());
        client->close();
        require_ok((*daemon)->stop());
    }
}

TEST_CASE("PCMK_node_start_state is announced in the register reply", "[agent][options]")
{
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    for (const char* state : {"standby", "online", "default"}) {
        INFO(state);
        GuestDaemonOptions options;
        options.binary = agent;
        options.env = {{"PCMK_node_start_state", state}};
        auto daemon = GuestDaemon::start(options);
        require_ok(daemon);
        ContextPtr context(g_main_context_new());
        auto client = raw_client(context.get(), **daemon);
        auto reply = client->reply(client->send(make_register(0, "start-state")));
        CHECK(reply.rc == 0);
        CHECK(reply.node_start_state == std::optional<std::string>(state));
    }
}

namespace {

// A CA and two leaf certificates signed by it, made with certtool (gnutls-bin).
struct Certificates {
    std::string ca, server_cert, server_key, client_cert, client_key, other_ca;
};

void certtool(const std::vector<std::string>& args)
{
    auto tool = find_program("certtool");
    require_ok(tool);
    std::vector<std::string> argv{*tool};
    argv.insert(argv.end(), args.begin(), args.end());
    require_ok(run_checked(argv));
}

std::string self_signed_ca(const TempDir& dir, const std::string& name)
{
    const std::string key = (dir / (name + "-key.pem")).string();
    const std::string tmpl = (dir / (name + ".tmpl")).string();
    require_ok(write_file(tmpl, "cn = \"" + name + "\"\nca\ncert_signing_key\nexpiration_days = 30\n", 0600));
    certtool({"--generate-privkey", "--key-type=ecdsa", "--outfile", key});
    certtool({"--generate-self-signed", "--load-privkey", key, "--template", tmpl, "--outfile",
              (dir / (name + ".pem")).string()});
    return name;
}

void leaf(const TempDir& dir, const std::string& ca, const std::string& name, bool server)
{
    const std::string key = (dir / (name + "-key.pem")).string();
    const std::string tmpl = (dir / (name + ".tmpl")).string();
    require_ok(write_file(tmpl,
                          "cn = \"" + name + "\"\n" + (server ? "tls_www_server\n" : "tls_www_client\n") +
                              "signing_key\nencryption_key\nexpiration_days = 30\n",
                          0600));
    certtool({"--generate-privkey", "--key-type=ecdsa", "--outfile", key});
    certtool({"--generate-certificate", "--load-privkey", key, "--load-ca-certificate",
              (dir / (ca + ".pem")).string(), "--load-ca-privkey", (dir / (ca + "-key.pem")).string(),
              "--template", tmpl, "--outfile", (dir / (name + ".pem")).string()});
}

Certificates make_certificates(const TempDir& dir)
{
    const std::string ca = self_signed_ca(dir, "ca");
    leaf(dir, ca, "guest", true);
    leaf(dir, ca, "cluster", false);
    const std::string other = self_signed_ca(dir, "other-ca");
    leaf(dir, other, "stranger", false);
    auto path = [&](const std::string& name) { return (dir / name).string(); };
    return Certificates{path("ca.pem"),      path("guest.pem"),       path("guest-key.pem"),
                        path("cluster.pem"), path("cluster-key.pem"), path("other-ca.pem")};
}

tls::TlsContext x509_client(const std::string& ca, const std::string& cert, const std::string& key)
{
    tls::TlsSettings settings;
    settings.kind = tls::CredentialKind::x509;
    settings.x509.ca_file = ca;
    settings.x509.cert_file = cert;
    settings.x509.key_file = key;
    auto context = tls::TlsContext::x509_client(settings);
    require_ok(context);
    return *context;
}

// The daemon does not serve a client with these credentials: the handshake fails, or (TLS
// 1.3, where the client's certificate is checked after the client considers the handshake
// done) the connection is closed without an answer to register.
bool refused(GMainContext* context, const GuestDaemon& daemon, const tls::TlsContext& tls)
{
    auto connected = RawClient::connect(context, daemon.address(), daemon.port(), tls);
    if (!connected) return true;
    RawClient& client = **connected;
    (void)client.send_xml(wire::encode(make_register(1, "should-not-be-served")));
    (void)client.wait([&] { return !client.inbox().empty(); }, 5s);
    return client.closed() && client.inbox().empty();
}

}  // namespace

TEST_CASE("X.509 through the outpost-agent binary", "[agent][options][x509]")
{
    const auto agent_found = agent_path();
    if (!agent_found) OUTPOST_SKIP(kNoAgent);
    const std::string& agent = *agent_found;
    if (!find_program("certtool")) OUTPOST_SKIP("certtool (gnutls-bin) is not installed");
    auto dir = TempDir::create("outpost-agent-x509");
    require_ok(dir);
    ::chmod(dir->path().c_str(), 0700);
    const Certificates certs = make_certificates(*dir);

    GuestDaemonOptions options;
    options.binary = agent;
    options.env = {{"PCMK_cert_file", certs.server_cert},
                   {"PCMK_key_file", certs.server_key},
                   {"PCMK_ca_file", certs.ca}};
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    ContextPtr context(g_main_context_new());

    {
        // A client with a certificate from the same CA is served.
        auto client = RawClient::open(context.get(), (*daemon)->address(), (*daemon)->port(),
                                      x509_client(certs.ca, certs.client_cert, certs.client_key));
        auto reply = client->reply(client->send(make_register(0, "x509-client")));
        CHECK(reply.rc == 0);
        auto poke = client->reply(client->send(make_request("lrmd_rsc_poke")));
        CHECK(poke.rc == 0);
        client->close();
    }
    // One whose certificate another CA signed is refused, and so is a PSK client.
    CHECK(refused(
        context.get(), **daemon,
        x509_client(certs.ca, (*dir / "stranger.pem").string(), (*dir / "stranger-key.pem").string())));
    CHECK(refused(context.get(), **daemon, psk_client((*daemon)->authkey().bytes())));
    CHECK((*daemon)->process().is_running());
    const std::string log = log_of(**daemon);
    INFO(log);
    CHECK(contains(log, "x509-client"));
}

namespace {

// One frame (40-byte header + payload with its NUL), as a plaintext peer would write it.
std::string plain_frame(std::string xml)
{
    xml.push_back('\0');
    wire::FrameHeader header;
    header.size_total = static_cast<std::uint32_t>(wire::kHeaderSize + xml.size());
    header.payload_uncompressed = static_cast<std::uint32_t>(xml.size());
    auto bytes = wire::encode_header(header);
    return std::string(bytes.begin(), bytes.end()) + xml;
}

}  // namespace

TEST_CASE("nothing is served before the TLS handshake completes", "[agent][tls]")
{
    // A plaintext peer sends framed requests that would run agents writing files: an alert
    // (any path) and an LSB script given by absolute path. Both daemons must treat the
    // bytes as a failed handshake: no agent runs, the connection ends.
    std::vector<std::string> binaries;
    auto remoted = remoted_path();
    require_ok(remoted);
    binaries.push_back(*remoted);
    if (auto agent = agent_path()) {
        binaries.push_back(*agent);
    } else {
        WARN("outpost-agent is not built: only pacemaker-remoted checked");
    }
    for (const auto& binary : binaries) {
        INFO(binary);
        auto dir = TempDir::create("outpost-plaintext");
        require_ok(dir);
        ::chmod(dir->path().c_str(), 0777);  // alerts run as hacluster
        const std::string marker = (*dir / "ran").string();
        const std::string script = (*dir / "touch.sh").string();
        require_ok(write_file(script, "#!/bin/sh\ntouch '" + marker + "'\nexit 0\n", 0755));

        auto daemon = GuestDaemon::start(binary);
        require_ok(daemon);
        auto socket = tcp_connect(nullptr, (*daemon)->address(), (*daemon)->port(), 5s);
        require_ok(socket);
        std::string bytes = plain_frame(
            R"(<lrmd_command t="lrmd" lrmd_op="register" lrmd_clientname="plain" )"
            R"(lrmd_protocol_version="1.1" lrmd_remote_msg_id="1" lrmd_remote_msg_type="request"/>)");
        bytes += plain_frame(
            R"(<lrmd_command t="lrmd" lrmd_op="lrmd_alert_exec" lrmd_timeout="5000" lrmd_callopt="2" )"
            R"(lrmd_remote_msg_id="2" lrmd_remote_msg_type="request"><lrmd_calldata><lrmd_alert )"
            R"(lrmd_alert_id="a1" lrmd_alert_path=")" +
            script + R"(" lrmd_timeout="5000"/></lrmd_calldata></lrmd_command>)");
        bytes +=
            plain_frame(R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_register" lrmd_callopt="0" )"
                        R"(lrmd_remote_msg_id="3" lrmd_remote_msg_type="request"><lrmd_calldata><lrmd_rsc )"
                        R"(lrmd_rsc_id="r1" lrmd_class="lsb" lrmd_type=")" +
                        script + R"("/></lrmd_calldata></lrmd_command>)");
        bytes += plain_frame(
            R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_exec" lrmd_timeout="5000" lrmd_callopt="0" )"
            R"(lrmd_remote_msg_id="4" lrmd_remote_msg_type="request"><lrmd_calldata><lrmd_rsc )"
            R"(lrmd_rsc_id="r1" lrmd_rsc_action="start" lrmd_rsc_interval="0" lrmd_timeout="5000" )"
            R"(lrmd_rsc_start_delay="0"/></lrmd_calldata></lrmd_command>)");
        REQUIRE(::send(socket->get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(bytes.size()));
        CHECK(closed_by_peer(socket->get(), 12s));  // at the latest the 10 s handshake timeout
        std::this_thread::sleep_for(1500ms);
        CHECK_FALSE(std::filesystem::exists(marker));
        CHECK((*daemon)->process().is_running());
        // And the daemon still serves a proper client.
        ContextPtr context(g_main_context_new());
        auto client = raw_client(context.get(), **daemon);
        CHECK(client->reply(client->send(make_register(0, "after-plaintext"))).rc == 0);
    }
}

TEST_CASE("SIGTERM waits for a running alert to finish", "[agent][alert]")
{
    // docs/protocol.md 5.13: in-flight alerts are waited for (longest timeout + 5 s). The alert
    // sleeps, then writes its marker; the daemon's exit must come after the marker.
    std::vector<std::string> binaries;
    auto remoted = remoted_path();
    require_ok(remoted);
    binaries.push_back(*remoted);
    if (auto agent = agent_path()) binaries.push_back(*agent);
    for (const auto& binary : binaries) {
        INFO(binary);
        auto dir = TempDir::create("outpost-alert-drain");
        require_ok(dir);
        ::chmod(dir->path().c_str(), 0777);  // alerts run as hacluster
        const std::string started = (*dir / "started").string();
        const std::string marker = (*dir / "finished").string();
        const std::string script = (*dir / "slow-alert.sh").string();
        std::string text = "#!/bin/sh\ntouch '";
        text += started;
        text += "'\nsleep 2\ntouch '";
        text += marker;
        text += "'\n";
        require_ok(write_file(script, text, 0755));

        auto daemon = GuestDaemon::start(binary);
        require_ok(daemon);
        ContextPtr context(g_main_context_new());
        auto client = raw_client(context.get(), **daemon);
        CHECK(client->reply(client->send(make_register(0, "alert-drain"))).rc == 0);
        wire::Request alert = make_request("lrmd_alert_exec");
        alert.callopts = 2;
        alert.timeout_ms = 10000;
        alert.alert.emplace();
        alert.alert->id = "slow";
        alert.alert->path = script;
        alert.alert->timeout_ms = 10000;
        alert.alert->params.insert("CRM_alert_kind", "node");
        CHECK(client->reply(client->send(alert)).rc == 0);
        REQUIRE(run_until(
            context.get(), [&] { return std::filesystem::exists(started); }, 5s));

        const auto signalled = std::chrono::steady_clock::now();
        require_ok((*daemon)->process().signal(SIGTERM));
        auto status = (*daemon)->process().wait(20s);
        require_ok(status);
        const auto took = std::chrono::steady_clock::now() - signalled;
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 0);
        CHECK(std::filesystem::exists(marker));  // the alert finished first
        CHECK(took >= 1s);
    }
}
