#include <catch.hpp>

#include <cstdlib>
#include <string>
#include <string_view>

#include "util/log.hpp"

using namespace outpost;

TEST_CASE("quote escapes control characters and bounds length", "[log]")
{
    CHECK(log::quote("abc") == "\"abc\"");
    CHECK(log::quote("a\"b\n") == "\"a\\\"b\\x0a\"");
    CHECK(log::quote(std::string(300, 'x'), 4) == "\"xxxx...\"");
}

TEST_CASE("category levels follow the longest matching prefix", "[log]")
{
    log::Config config;
    config.default_level = log::Level::notice;
    config.spec = "wire:debug,wire.frame:error,agent:trace";
    log::configure(config);
    log::Category frame("wire.frame"), message("wire.message"), wireless("wireless"), exec("agent.exec");
    CHECK_FALSE(frame.enabled(log::Level::warning));
    CHECK(message.enabled(log::Level::debug));
    CHECK_FALSE(wireless.enabled(log::Level::info));
    CHECK(exec.enabled(log::Level::trace));
    log::configure(log::Config{});
    CHECK_FALSE(message.enabled(log::Level::debug));
}

TEST_CASE("PCMK_debug: a true boolean or a value naming the daemon, as 2.1.5 reads it", "[log]")
{
    const std::string_view names[] = {"pacemaker-remoted", "outpost-agent"};
    for (const char* on : {"yes", "Y", "on", "1", "TRUE", "True", "pacemaker-remoted", "outpost-agent",
                           "pacemakerd,pacemaker-remoted", "pacemakerd pacemaker-remoted", "a:outpost-agent",
                           "pacemaker-remoted,"}) {
        INFO(on);
        CHECK(log::debug_requested(on, names));
    }
    for (const char* off : {"no", "0", "off", "", "PACEMAKER-REMOTED", "pacemaker_remoted", "lrmd",
                            "pacemaker-based", "pacemaker"}) {
        INFO(off);
        CHECK_FALSE(log::debug_requested(off, names));
    }
}

TEST_CASE("config_from_environment uses the same PCMK_debug rule", "[log]")
{
    const std::string_view names[] = {"pacemaker-remoted", "outpost-agent"};
    setenv("PCMK_debug", "pacemakerd,pacemaker-remoted", 1);
    CHECK(log::config_from_environment("outpost-agent", names).default_level == log::Level::debug);
    setenv("PCMK_debug", "pacemaker-based", 1);
    CHECK(log::config_from_environment("outpost-agent", names).default_level == log::Level::notice);
    setenv("PCMK_debug", "outpost", 1);  // without names: the program's own name
    CHECK(log::config_from_environment("outpost").default_level == log::Level::debug);
    unsetenv("PCMK_debug");
}
