// util/version: dotted versions compared numerically, the major component of a version.
#include <catch.hpp>

#include "util/version.hpp"

using namespace outpost;

TEST_CASE("version::compare compares dotted components numerically")
{
    CHECK(version::compare("1.1", "1.0") > 0);
    CHECK(version::compare("1.0", "1.0") == 0);
    CHECK(version::compare("1", "1.0") == 0);
    CHECK(version::compare("0.9", "1.0") < 0);
    CHECK(version::compare("1.10", "1.9") > 0);
    CHECK(version::compare("2", "1.9.9") > 0);
    CHECK(version::compare("", "1.0") < 0);
    CHECK(version::compare("abc", "1.0") < 0);
    CHECK(version::compare("99999999999999999999999.0", "1.0") > 0);
    CHECK(version::compare("3.16.2", "3.16.10") < 0);
}

TEST_CASE("version::major reads the first component of a dotted decimal")
{
    CHECK(version::major("1") == 1);
    CHECK(version::major("1.1") == 1);
    CHECK(version::major("1.1.5") == 1);
    CHECK(version::major("2.0") == 2);
    CHECK_FALSE(version::major(""));
    CHECK_FALSE(version::major("abc"));
    CHECK_FALSE(version::major("1."));
    CHECK_FALSE(version::major("1.x"));
    CHECK_FALSE(version::major("x.1"));
    CHECK_FALSE(version::major(".1"));
}
