// util/users: local users and groups.
#include <catch.hpp>

#include <unistd.h>

#include <algorithm>

#include "util/users.hpp"

using namespace outpost;

TEST_CASE("users: names of uids and gids, the decimal number when there is none")
{
    CHECK(users::user_name(0) == "root");
    CHECK(users::user_name(static_cast<uid_t>(4000000)) == "4000000");
    CHECK(users::group_name(0) == "root");
    CHECK(users::group_name(static_cast<gid_t>(4000000)) == "4000000");
}

TEST_CASE("users: accounts and their groups")
{
    auto root = users::find_user("root");
    REQUIRE(root);
    CHECK(root->uid == 0);
    CHECK(root->gid == 0);
    auto same = users::find_user(static_cast<uid_t>(0));
    REQUIRE(same);
    CHECK(same->name == "root");
    CHECK_FALSE(users::find_user("outpost-no-such-user"));
    CHECK_FALSE(users::find_user(static_cast<uid_t>(4000000)));

    auto groups = users::groups_of(*root);
    REQUIRE_FALSE(groups.empty());
    CHECK(std::find(groups.begin(), groups.end(), root->gid) != groups.end());
    CHECK(users::in_group(0, 0));
    CHECK_FALSE(users::in_group(static_cast<uid_t>(4000000), 0));
    CHECK(users::find_group("root") == std::optional<gid_t>(0));
    CHECK_FALSE(users::find_group("outpost-no-such-group"));
}
