#include <catch.hpp>

#include <cstdlib>

#include "server/options.hpp"

using namespace outpost::agent;

namespace {

// Runs parse_options with a clean set of the variables it reads.
outpost::Result<AgentOptions> parse(std::vector<std::string> args)
{
    for (const char* name : {"PCMK_remote_port", "PCMK_remote_address", "PCMK_authkey_location",
                             "PCMK_logfile", "PCMK_debug", "PCMK_node_start_state", "SBD_WATCHDOG_TIMEOUT"}) {
        unsetenv(name);
    }
    args.insert(args.begin(), "outpost-agent");
    return parse_options(args);
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
    for (const char* name : {"PCMK_remote_port", "PCMK_node_start_state"})
        unsetenv(name);
    setenv("PCMK_remote_address", "::1", 1);
    setenv("PCMK_authkey_location", "/tmp/key", 1);
    auto options = parse_options({"outpost-agent", "--address", "127.0.0.1"});
    REQUIRE(options.ok());
    CHECK(options->address == "127.0.0.1");
    CHECK(options->authkey_path == "/tmp/key");
    unsetenv("PCMK_remote_address");
    unsetenv("PCMK_authkey_location");

    setenv("PCMK_remote_port", "3222", 1);
    setenv("PCMK_node_start_state", "standby", 1);
    options = parse_options({"outpost-agent"});
    REQUIRE(options.ok());
    CHECK(options->port == 3222);
    CHECK(options->node_start_state == "standby");
    unsetenv("PCMK_remote_port");
    unsetenv("PCMK_node_start_state");
}

TEST_CASE("bad values name the variable or option and the value", "[options]")
{
    setenv("PCMK_remote_port", "99999", 1);
    auto env_bad = parse_options({"outpost-agent"});
    REQUIRE_FALSE(env_bad.ok());
    CHECK(env_bad.error().message == "PCMK_remote_port: \"99999\" is not a port number (1-65535)");
    unsetenv("PCMK_remote_port");

    auto cli_bad = parse({"--port", "http"});
    REQUIRE_FALSE(cli_bad.ok());
    CHECK(cli_bad.error().message == "--port: \"http\" is not a port number (1-65535)");

    auto missing = parse({"--port"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == "option --port needs a value");

    auto unknown = parse({"--frobnicate"});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message == "unknown option \"--frobnicate\" (see --help)");

    setenv("PCMK_node_start_state", "sideways", 1);
    auto state = parse_options({"outpost-agent"});
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().message ==
          "PCMK_node_start_state: \"sideways\" is not one of default, online, standby");
    unsetenv("PCMK_node_start_state");
}
