#include <catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/files.hpp"
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
    CHECK(env::get("PCMK_logfile") == std::optional<std::string>("/keep"));
    CHECK(env::get("PLAIN") == std::optional<std::string>("value"));
    (void)std::remove(path);  // a leftover temp file is harmless

    CHECK(env::load_env_file_defaults("/nonexistent/outpost.env").ok());
}

// systemd's EnvironmentFile= rules (systemd.exec(5)), one by one.
using outpost::test::TempDir;

namespace {

std::map<std::string, std::string> parsed(std::string_view text)
{
    auto file = env::parse_environment_file(text, "test.env");
    INFO((file ? std::string() : file.error().describe()));
    REQUIRE(file.ok());
    return file->vars;
}

std::string value_of(std::string_view text, const std::string& name = "A")
{
    auto vars = parsed(text);
    INFO("text: " << text);
    REQUIRE(vars.count(name) == 1);
    return vars.at(name);
}

}  // namespace

TEST_CASE("EnvironmentFile: comments, blank lines and lines without '='", "[env][envfile]")
{
    auto vars = parsed(
        "# a comment\n"
        "; also a comment\n"
        "   # indented comment\n"
        "\n"
        "   \n"
        "NOT AN ASSIGNMENT\n"
        "A=1\n");
    CHECK(vars == std::map<std::string, std::string>{{"A", "1"}});
    // A '#' after a value is part of it: EnvironmentFile= has no trailing comments.
    CHECK(value_of("A=value # not a comment\n") == "value # not a comment");
    CHECK(value_of("A=x;y\n") == "x;y");
}

TEST_CASE("EnvironmentFile: blanks around names and values", "[env][envfile]")
{
    CHECK(value_of("  A = padded  \n") == "padded");
    CHECK(value_of("A=two  inner   blanks\t\r\n") == "two  inner   blanks");
    CHECK(value_of("A=\n").empty());
    CHECK(value_of("A=last line without newline") == "last line without newline");
    CHECK(value_of("A=dos line\r\nB=2\r\n") == "dos line");
    CHECK(value_of("A=dos line\r\nB=2\r\n", "B") == "2");
}

TEST_CASE("EnvironmentFile: invalid names are ignored and reported, 'export' included", "[env][envfile]")
{
    auto file = env::parse_environment_file("export A=1\n1B=2\nC-D=3\nOK_1=4\n", "f.env");
    REQUIRE(file.ok());
    CHECK(file->vars == std::map<std::string, std::string>{{"OK_1", "4"}});
    REQUIRE(file->ignored.size() == 3);
    CHECK(file->ignored[0] == "f.env:1: \"export A\" is not a valid variable name; assignment ignored");
    CHECK(file->ignored[1].rfind("f.env:2: \"1B\"", 0) == 0);
}

TEST_CASE("EnvironmentFile: the last duplicate wins", "[env][envfile]")
{
    CHECK(value_of("A=first\nA=second\nA=third\n") == "third");
}

TEST_CASE("EnvironmentFile: backslashes in unquoted values", "[env][envfile]")
{
    CHECK(value_of("A=one\\\ntwo\n") == "onetwo");  // continuation, the newline dropped
    CHECK(value_of("A=a\\\\b\n") == "a\\b");        // "\\" is one backslash
    CHECK(value_of("A=a\\qb\n") == "aqb");          // any other character is kept as itself
    CHECK(value_of("A=keep\\ \n") == "keep ");      // an escaped trailing blank stays
    CHECK(value_of("A=x\\#y\n") == "x#y");
}

TEST_CASE("EnvironmentFile: quotes", "[env][envfile]")
{
    CHECK(value_of("A='single $HOME \\n \"x\"'\n") == "single $HOME \\n \"x\"");
    CHECK(value_of("A=\"double \\\" \\\\ \\` \\$ \\n\"\n") == "double \" \\ ` $ \\n");
    CHECK(value_of("A='spans\nlines'\n") == "spans\nlines");
    CHECK(value_of("A=\"spans\nlines\"\n") == "spans\nlines");
    CHECK(value_of("A=\"joined\\\nline\"\n") == "joinedline");
    CHECK(value_of("A=\"  kept  \"   \n") == "  kept  ");
    CHECK(value_of("A=\"a\" 'b'c\n") == "abc");  // pieces join, blanks between them dropped
    // Quotes after the first character of an unquoted value are ordinary characters.
    CHECK(value_of("A=x\"y\" 'z'\n") == "x\"y\" 'z'");
    // An unclosed quote runs to the end of the file.
    CHECK(value_of("A='open\nB=1\n") == "open\nB=1\n");
}

TEST_CASE("EnvironmentFile: NUL bytes and invalid UTF-8 make the file unusable", "[env][envfile]")
{
    auto nul = env::parse_environment_file(std::string("A=1\0\n", 5), "f.env");
    REQUIRE_FALSE(nul.ok());
    CHECK(nul.error().message == "f.env contains a NUL byte");
    auto latin1 = env::parse_environment_file("A=1\nB=caf\xe9\n", "f.env");
    REQUIRE_FALSE(latin1.ok());
    CHECK(latin1.error().message == "f.env:2: invalid UTF-8 in the assignment of \"B\"");
    CHECK(value_of("A=gr\xc3\xbc\xc3\x9f \xe2\x9c\x93\n") == "gr\xc3\xbc\xc3\x9f \xe2\x9c\x93");
    CHECK_FALSE(env::parse_environment_file("A=\xc0\xaf\n", "f").ok());      // overlong '/'
    CHECK_FALSE(env::parse_environment_file("A=\xed\xa0\x80\n", "f").ok());  // a surrogate
    CHECK_FALSE(env::parse_environment_file("A=\xe2\x9c\n", "f").ok());      // cut short
}

TEST_CASE("EnvironmentFile: files in the unit's order, later files win, missing ones skipped",
          "[env][envfile]")
{
    TempDir dir;
    std::string first = dir.write("pacemaker", "A=from-pacemaker\nB=from-pacemaker\n");
    std::string second = dir.write("sbd", "B=from-sbd\nC=from-sbd\n");
    auto files = env::read_environment_files({first, dir.file("missing"), second});
    REQUIRE(files.ok());
    CHECK(files->read == std::vector<std::string>{first, second});
    CHECK(files->vars ==
          std::map<std::string, std::string>{{"A", "from-pacemaker"}, {"B", "from-sbd"}, {"C", "from-sbd"}});

    // A file that exists but cannot be parsed is an error naming it.
    std::string bad = dir.write("bad", "A=\xff\n");
    auto broken = env::read_environment_files({first, bad});
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().message == bad + ":1: invalid UTF-8 in the assignment of \"A\"");
}

TEST_CASE("EnvironmentFile: the process environment wins over the files", "[env][envfile]")
{
    setenv("OUTPOST_TEST_SET", "from-process", 1);
    setenv("OUTPOST_TEST_EMPTY", "", 1);
    unsetenv("OUTPOST_TEST_UNSET");
    auto set = env::apply_environment_defaults(
        {{"OUTPOST_TEST_SET", "file"}, {"OUTPOST_TEST_EMPTY", "file"}, {"OUTPOST_TEST_UNSET", "file"}});
    CHECK(set == std::vector<std::string>{"OUTPOST_TEST_UNSET"});
    CHECK(env::get("OUTPOST_TEST_SET") == std::optional<std::string>("from-process"));
    CHECK(env::get("OUTPOST_TEST_EMPTY") == std::optional<std::string>(""));
    CHECK(env::get("OUTPOST_TEST_UNSET") == std::optional<std::string>("file"));
    for (const char* name : {"OUTPOST_TEST_SET", "OUTPOST_TEST_EMPTY", "OUTPOST_TEST_UNSET"})
        unsetenv(name);
}
