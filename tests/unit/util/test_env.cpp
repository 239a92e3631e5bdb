#include <catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "util/env.hpp"

using namespace outpost;

TEST_CASE("ports are validated with a message naming the variable", "[env]")
{
    CHECK(*env::parse_port("PCMK_remote_port", "3121") == 3121);
    auto bad = env::parse_port("PCMK_remote_port", "70000");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "PCMK_remote_port: \"70000\" is not a port number (1-65535)");
    CHECK_FALSE(env::parse_port("PCMK_remote_port", "12ab").ok());
    CHECK_FALSE(env::parse_port("PCMK_remote_port", "").ok());
    CHECK_FALSE(env::parse_port("PCMK_remote_port", "0").ok());
}

TEST_CASE("durations accept Pacemaker units", "[env]")
{
    CHECK(*env::parse_duration_ms("t", "10") == 10000);
    CHECK(*env::parse_duration_ms("t", "10", true) == 10);
    CHECK(*env::parse_duration_ms("t", "500ms") == 500);
    CHECK(*env::parse_duration_ms("t", "2min") == 120000);
    CHECK(*env::parse_duration_ms("t", "1h") == 3600000);
    CHECK_FALSE(env::parse_duration_ms("t", "5 parsecs").ok());
    CHECK_FALSE(env::parse_duration_ms("t", "-1").ok());
}

TEST_CASE("booleans", "[env]")
{
    CHECK(*env::parse_boolean("b", "yes"));
    CHECK_FALSE(*env::parse_boolean("b", "Off"));
    CHECK_FALSE(env::parse_boolean("b", "maybe").ok());
}

TEST_CASE("environment files are read like the shell would", "[env]")
{
    char path[] = "/tmp/outpost-envfile-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << "# comment\n"
                           "PCMK_logfile=/var/log/x.log\n"
                           "export PCMK_debug=\"yes\"\n"
                           "PCMK_remote_port='3199' # trailing\n"
                           "NOT AN ASSIGNMENT\n"
                           "1BAD=x\n"
                           "PLAIN=value # note\n";
    auto vars = env::read_env_file(path);
    REQUIRE(vars.ok());
    CHECK(vars->at("PCMK_logfile") == "/var/log/x.log");
    CHECK(vars->at("PCMK_debug") == "yes");
    CHECK(vars->at("PCMK_remote_port") == "3199");
    CHECK(vars->at("PLAIN") == "value");
    CHECK(vars->count("1BAD") == 0);

    setenv("PCMK_logfile", "/keep", 1);
    unsetenv("PLAIN");
    REQUIRE(env::load_env_file_defaults(path).ok());
    CHECK(std::string(std::getenv("PCMK_logfile")) == "/keep");
    CHECK(std::string(std::getenv("PLAIN")) == "value");
    std::remove(path);

    CHECK(env::load_env_file_defaults("/nonexistent/outpost.env").ok());
}
