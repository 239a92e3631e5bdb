#include <catch.hpp>

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
