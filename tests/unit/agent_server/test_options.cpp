#include <unistd.h>
#include <catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "server/options.hpp"
#include "support/files.hpp"

using namespace outpost::agent;

using outpost::test::TempDir;

namespace {

constexpr const char* kReadVariables[] = {
    "PCMK_remote_port",  "PCMK_remote_address",   "PCMK_authkey_location", "PCMK_logfile",
    "PCMK_debug",        "PCMK_node_start_state", "SBD_WATCHDOG_TIMEOUT",  "PCMK_ipc_buffer",
    "PCMK_remote_pid1",  "OUTPOST_isolation",     "OUTPOST_cgroup_parent", "OUTPOST_metrics_address",
    "OUTPOST_cib_limits"};

void clear_environment()
{
    for (const char* name : kReadVariables)
        unsetenv(name);
}

// Runs parse_options with a clean set of the variables it reads and no environment files
// (the machine's own /etc/default/pacemaker must not leak into the tests).
outpost::Result<AgentOptions> parse(std::vector<std::string> args, const std::vector<std::string>& files = {})
{
    clear_environment();
    args.insert(args.begin(), "outpost-agent");
    return parse_options(args, files);
}

// parse() with one variable set.
outpost::Result<AgentOptions> parse_with(const char* name, const char* value)
{
    clear_environment();
    setenv(name, value, 1);
    auto options = parse_options({"outpost-agent"}, {});
    unsetenv(name);
    return options;
}

}  // namespace

TEST_CASE("defaults match pacemaker-remoted", "[options]")
{
    auto options = parse({});
    REQUIRE(options.ok());
    CHECK(options->port == 3121);
    CHECK(options->address.empty());
    CHECK(options->authkey_path.empty());
    CHECK(options->verbosity == 0);
}

TEST_CASE("the real daemon's short options are accepted", "[options]")
{
    auto options = parse({"-p", "3199", "-l", "/tmp/a.log", "-VV"});
    REQUIRE(options.ok());
    CHECK(options->port == 3199);
    CHECK(options->log_file == "/tmp/a.log");
    CHECK(options->verbosity == 2);
    CHECK(parse({"-p4000"})->port == 4000);
    CHECK(parse({"--port=4001"})->port == 4001);
    CHECK(parse({"--logfile=/x"})->log_file == "/x");
    CHECK(parse({"--log-file", "/y"})->log_file == "/y");
    CHECK(parse({"-?"})->show_help);
    CHECK(parse({"-$"})->show_version);
}

TEST_CASE("environment is read and the command line wins", "[options]")
{
    clear_environment();
    setenv("PCMK_remote_address", "::1", 1);
    setenv("PCMK_authkey_location", "/tmp/key", 1);
    auto options = parse_options({"outpost-agent", "--address", "127.0.0.1"}, {});
    REQUIRE(options.ok());
    CHECK(options->address == "127.0.0.1");
    CHECK(options->authkey_path == "/tmp/key");
    unsetenv("PCMK_remote_address");
    unsetenv("PCMK_authkey_location");

    setenv("PCMK_remote_port", "3222", 1);
    setenv("PCMK_node_start_state", "standby", 1);
    options = parse_options({"outpost-agent"}, {});
    REQUIRE(options.ok());
    CHECK(options->port == 3222);
    CHECK(options->node_start_state == "standby");
    unsetenv("PCMK_remote_port");
    unsetenv("PCMK_node_start_state");
}

TEST_CASE("bad values name the variable or option and the value", "[options]")
{
    auto missing = parse({"--port"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == "option --port needs a value");

    auto unknown = parse({"--frobnicate"});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message == "unknown option \"--frobnicate\" (see --help)");

    auto no_key = parse({"--authkey="});
    REQUIRE_FALSE(no_key.ok());
    CHECK(no_key.error().message == "option --authkey needs a file name");

    auto sbd = parse_with("SBD_WATCHDOG_TIMEOUT", "soon");
    REQUIRE_FALSE(sbd.ok());
    CHECK(sbd.error().message == "SBD_WATCHDOG_TIMEOUT: \"soon\" is not a duration (e.g. 500ms, 10s, 2min)");
}

TEST_CASE("OUTPOST_isolation, OUTPOST_cib_limits and OUTPOST_cgroup_parent", "[options]")
{
    auto defaults = parse({});
    REQUIRE(defaults.ok());
    CHECK(defaults->isolation);
    CHECK(defaults->cib_limits);
    auto cib_off = parse_with("OUTPOST_cib_limits", "no");
    REQUIRE(cib_off.ok());
    CHECK_FALSE(cib_off->cib_limits);
    CHECK(cib_off->isolation);
    auto cib_bad = parse_with("OUTPOST_cib_limits", "sometimes");
    REQUIRE_FALSE(cib_bad.ok());
    CHECK(cib_bad.error().message == "OUTPOST_cib_limits: \"sometimes\" is not yes or no");
    CHECK(defaults->cgroup_parent == "outpost-agent");
    auto off = parse_with("OUTPOST_isolation", "no");
    REQUIRE(off.ok());
    CHECK_FALSE(off->isolation);
    auto bad = parse_with("OUTPOST_isolation", "maybe");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "OUTPOST_isolation: \"maybe\" is not yes or no");
    auto parent = parse_with("OUTPOST_cgroup_parent", "outpost/resources");
    REQUIRE(parent.ok());
    CHECK(parent->cgroup_parent == "outpost/resources");
    for (const char* outside : {"/sys/fs/cgroup/x", "../escape", "a/../../b"}) {
        INFO(outside);
        auto refused = parse_with("OUTPOST_cgroup_parent", outside);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message.starts_with("OUTPOST_cgroup_parent: "));
    }
}

TEST_CASE("OUTPOST_metrics_address: off by default, an IP address with port 9673 unless given", "[options]")
{
    auto defaults = parse({});
    REQUIRE(defaults.ok());
    CHECK_FALSE(defaults->metrics_address.has_value());
    auto host = parse_with("OUTPOST_metrics_address", "127.0.0.1");
    REQUIRE(host.ok());
    REQUIRE(host->metrics_address.has_value());
    CHECK(host->metrics_address->host == "127.0.0.1");
    CHECK(host->metrics_address->port == 9673);
    auto v6 = parse_with("OUTPOST_metrics_address", "[::1]:9100");
    REQUIRE(v6.ok());
    CHECK(v6->metrics_address->port == 9100);
    for (const char* bad : {"metrics.example:9673", "127.0.0.1:0", "127.0.0.1:http", "[::1"}) {
        INFO(bad);
        auto refused = parse_with("OUTPOST_metrics_address", bad);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message.starts_with(std::string("OUTPOST_metrics_address: \"") + bad + "\""));
    }
}

TEST_CASE("an invalid port means 3121 with a warning, as pacemaker-remoted 2.1.5 does", "[options]")
{
    // Observed with 2.1.5: "abc", "0", "70000", "" and "-5" -> a warning and 3121; the
    // leading number of "3125abc" or "3.5" is used.
    for (const char* bad : {"abc", "0", "70000", "", "-5", "99999999999", "0x10"}) {
        INFO(bad);
        auto options = parse_with("PCMK_remote_port", bad);
        REQUIRE(options.ok());
        CHECK(options->port == 3121);
        REQUIRE(options->warnings.size() == 1);
        CHECK(options->warnings[0] ==
              std::string("PCMK_remote_port: \"") + bad +
                  "\" is not a port number (1-65535); using 3121 as pacemaker-remoted does");
    }
    auto trailing = parse_with("PCMK_remote_port", "3125abc");
    REQUIRE(trailing.ok());
    CHECK(trailing->port == 3125);
    REQUIRE(trailing->warnings.size() == 1);
    CHECK(trailing->warnings[0] ==
          "PCMK_remote_port: \"3125abc\" has trailing characters; using port 3125 as pacemaker-remoted does");
    CHECK(parse_with("PCMK_remote_port", " +3126")->port == 3126);
    CHECK(parse_with("PCMK_remote_port", " +3126")->warnings.empty());

    // -p sets the same variable in 2.1.5, so it is read the same way.
    auto cli = parse({"--port", "http"});
    REQUIRE(cli.ok());
    CHECK(cli->port == 3121);
    REQUIRE(cli->warnings.size() == 1);
    CHECK(cli->warnings[0] ==
          "--port: \"http\" is not a port number (1-65535); using 3121 as pacemaker-remoted does");
}

TEST_CASE("PCMK_ipc_buffer, PCMK_remote_pid1 and PCMK_node_start_state: one warning each", "[options]")
{
    auto buffer = parse_with("PCMK_ipc_buffer", "lots");
    REQUIRE(buffer.ok());
    CHECK(buffer->ipc_buffer_size == 0);  // the proxy's default
    REQUIRE(buffer->warnings.size() == 1);
    CHECK(buffer->warnings[0] ==
          "PCMK_ipc_buffer: \"lots\" is not a byte count from 16384 to 33488896; using 131072");
    CHECK(parse_with("PCMK_ipc_buffer", "262144")->ipc_buffer_size == 262144);
    CHECK(parse_with("PCMK_ipc_buffer", "1000")->warnings.size() == 1);

    auto pid1 = parse_with("PCMK_remote_pid1", "bogus");
    REQUIRE(pid1.ok());
    REQUIRE(pid1->warnings.size() == 1);
    CHECK(pid1->warnings[0] == "PCMK_remote_pid1: \"bogus\" is not one of full, vars; ignored");
    CHECK(parse_with("PCMK_remote_pid1", "vars")->warnings.empty());
    CHECK(parse_with("PCMK_remote_pid1", "full")->warnings.empty());

    auto state = parse_with("PCMK_node_start_state", "sideways");
    REQUIRE(state.ok());
    CHECK(state->node_start_state.empty());
    REQUIRE(state->warnings.size() == 1);
    CHECK(state->warnings[0] ==
          "PCMK_node_start_state: \"sideways\" is not one of default, online, standby; not announced");
}

TEST_CASE("PCMK_debug: yes, or a list naming this daemon (log::debug_requested with kDebugNames)",
          "[options]")
{
    auto debug = [](std::string_view value) { return outpost::log::debug_requested(value, kDebugNames); };
    CHECK(debug("yes"));
    CHECK(debug("pacemakerd,pacemaker-remoted"));
    CHECK(debug("outpost-agent"));
    CHECK_FALSE(debug("pacemaker-based,pacemaker-controld"));
    CHECK_FALSE(debug("no"));
    CHECK_FALSE(debug(""));
    CHECK(parse({"-V"})->verbosity == 1);
}

TEST_CASE("parse_options loads the environment files: unit order, later wins, environment wins",
          "[options][envfile]")
{
    TempDir dir;
    const std::string pacemaker = dir.write("pacemaker",
                                            "# /etc/default/pacemaker\n"
                                            "PCMK_remote_port=3301\n"
                                            "PCMK_logfile=/var/log/from-pacemaker.log\n"
                                            "PCMK_node_start_state=standby\n"
                                            "export PCMK_debug=yes\n");
    const std::string sbd = dir.write("sbd", "SBD_WATCHDOG_TIMEOUT=5\nPCMK_remote_port=3302\n");
    clear_environment();
    setenv("PCMK_logfile", "/var/log/from-process.log", 1);
    auto options = parse_options({"outpost-agent"}, {pacemaker, dir.file("missing"), sbd});
    REQUIRE(options.ok());
    CHECK(options->env_files_read == std::vector<std::string>{pacemaker, sbd});
    CHECK(options->port == 3302);                             // the later file wins
    CHECK(options->log_file == "/var/log/from-process.log");  // the environment wins
    CHECK(options->node_start_state == "standby");
    CHECK(options->sbd_timeout_ms == 5000);
    CHECK(std::getenv("PCMK_debug") == nullptr);  // "export NAME=" is not an assignment for systemd
    REQUIRE(options->warnings.size() == 1);
    CHECK(options->warnings[0] == pacemaker +
                                      ":5: \"export PCMK_debug\" is not a valid variable name; "
                                      "assignment ignored");
    const char* exported = std::getenv("PCMK_remote_port");  // children see it too
    REQUIRE(exported != nullptr);
    CHECK(std::string(exported) == "3302");
    clear_environment();

    const std::string broken = dir.write("broken", "PCMK_remote_port=\xff\n");
    auto bad = parse_options({"outpost-agent"}, {broken});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == broken + ":1: invalid UTF-8 in the assignment of \"PCMK_remote_port\"");
}

TEST_CASE("the daemon reads the files its systemd unit lists, in the same order", "[options][envfile]")
{
    // packaging/systemd/outpost-agent.service.in is the reference (its EnvironmentFile=
    // lines, with @sysconfdir@ = /etc; the RPM build renames the last one to sysconfig).
    const char* source_root = std::getenv("OUTPOST_SOURCE_ROOT");
    if (source_root == nullptr) {
        WARN("OUTPOST_SOURCE_ROOT not set: unit file comparison skipped");
        return;
    }
    std::ifstream unit(std::string(source_root) + "/packaging/systemd/outpost-agent.service.in");
    REQUIRE(unit);
    std::vector<std::string> listed;
    for (std::string line; std::getline(unit, line);) {
        const std::string prefix = "EnvironmentFile=-@sysconfdir@";
        if (line.rfind(prefix, 0) == 0) listed.push_back("/etc" + line.substr(prefix.size()));
    }
    listed.emplace_back("/etc/sysconfig/outpost-agent");
    CHECK(listed == std::vector<std::string>(std::begin(kDefaultEnvFiles), std::end(kDefaultEnvFiles)));
}
