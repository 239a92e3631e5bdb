// XML a test wrote itself, parsed with the wire module: a parse failure fails the test.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "wire/xml.hpp"

namespace outpost::test {

inline wire::Element xml(const std::string& text)
{
    auto parsed = wire::parse_xml(text);
    REQUIRE(parsed.ok());
    return std::move(parsed).value();
}

}  // namespace outpost::test
