// The attrd messages (controller/attrd.hpp): requests as 2.1.5's attrd_updater, crm_attribute
// -l reboot and crm_resource --cleanup send them, the ack and query reply pacemaker-attrd
// answers with (docs/architecture.md, "The attrd face"), value expansion and dampening as
// 2.1.5 reads them.
#include <catch.hpp>

#include "controller/attrd.hpp"

using namespace outpost::cluster::controller;
using namespace std::chrono_literals;

TEST_CASE("attrd requests of attrd_updater, crm_attribute and crm_resource are decoded")
{
    auto update =
        parse_attrd_op(R"(<create_attrd_op t="attrd" src="attrd_updater" attr_name="a1" task="update" )"
                       R"(attr_value="v1" attr_is_remote="0" attr_is_private="0"/>)");
    REQUIRE(update.ok());
    CHECK(update->task == "update");
    CHECK(update->source == "attrd_updater");
    CHECK(update->name == "a1");
    CHECK(update->value == std::optional<std::string>("v1"));
    CHECK(update->host.empty());
    CHECK_FALSE(update->is_private);
    CHECK_FALSE(update->is_remote);
    CHECK_FALSE(update->dampening);

    // attrd_updater -D: no attr_value at all (unset), unlike -U '' (empty value).
    auto unset =
        parse_attrd_op(R"(<create_attrd_op t="attrd" src="attrd_updater" attr_name="a1" task="update" )"
                       R"(attr_is_remote="0" attr_is_private="0"/>)");
    REQUIRE(unset.ok());
    CHECK_FALSE(unset->value);
    auto empty = parse_attrd_op(R"(<create_attrd_op t="attrd" attr_name="a1" task="update" attr_value=""/>)");
    REQUIRE(empty.ok());
    CHECK(empty->value == std::optional<std::string>(""));

    auto both =
        parse_attrd_op(R"(<create_attrd_op t="attrd" src="crm_attribute" attr_name="d1" task="update-both" )"
                       R"(attr_value="9" attr_dampening="1s" attr_host="node1" attr_set="myset" )"
                       R"(attr_is_remote="1" attr_is_private="1"/>)");
    REQUIRE(both.ok());
    CHECK(both->dampening == std::optional<std::string>("1s"));
    CHECK(both->host == "node1");
    CHECK(both->set == "myset");
    CHECK(both->is_private);
    CHECK(both->is_remote);

    auto clear = parse_attrd_op(R"(<create_attrd_op t="attrd" src="crm_resource" task="clear-failure" )"
                                R"(attr_host="node1" attr_resource="d1" attr_clear_operation="monitor" )"
                                R"(attr_clear_interval="10000" attr_is_remote="0"/>)");
    REQUIRE(clear.ok());
    CHECK(clear->task == "clear-failure");
    CHECK(clear->resource == "d1");
    CHECK(clear->operation == "monitor");
    CHECK(clear->interval == "10000");
    auto refresh = parse_attrd_op(R"(<create_attrd_op t="attrd" src="attrd_updater" task="refresh"/>)");
    REQUIRE(refresh.ok());
    CHECK(refresh->name.empty());

    // Not an attrd operation, no name where one is needed, too large, not XML.
    CHECK_FALSE(parse_attrd_op("<create_request_adv/>").ok());
    CHECK_FALSE(parse_attrd_op(R"(<create_attrd_op t="attrd" task="update" attr_value="1"/>)").ok());
    CHECK_FALSE(parse_attrd_op(R"(<create_attrd_op t="attrd" task="query"/>)").ok());
    CHECK_FALSE(parse_attrd_op(std::string(kMaxAttrdRequest + 1, ' ')).ok());
    CHECK_FALSE(parse_attrd_op("<create_attrd_op").ok());
}

TEST_CASE("attrd answers: the ack and the query reply as 2.1.5 sends them")
{
    CHECK(attrd_ack("handle_update_request") ==
          R"(<ack function="handle_update_request" line="0" status="112" ipc-protocol-version="4"/>)");
    CHECK(attrd_query_reply("a1", {{"node1", "v1"}, {"othernode", std::nullopt}}) ==
          R"(<build_query_reply t="attrd" subt="query" attr_version="4" attr_name="a1">)"
          R"(<node attr_host="node1" attr_value="v1"/><node attr_host="othernode"/></build_query_reply>)");
    // Nobody knows it: no attr_name, no node (attrd_updater exits 78, "does not exist").
    CHECK(attrd_query_reply("nope", {}) == R"(<build_query_reply t="attrd" subt="query" attr_version="4"/>)");
}

TEST_CASE("attrd value expansion: value++ and value+=N as 2.1.5 expands them")
{
    const std::optional<std::string> ten = "10";
    CHECK(expand_attribute_value("value++", ten) == "11");
    CHECK(expand_attribute_value("value+=3", ten) == "13");
    CHECK(expand_attribute_value("value+=-2", ten) == "8");
    CHECK(expand_attribute_value("value+=abc", ten) == "10");
    CHECK(expand_attribute_value("value++x", ten) == "11");
    // The five characters before the operator are not checked (observed: other++).
    CHECK(expand_attribute_value("other++", ten) == "11");
    CHECK(expand_attribute_value("v++", ten) == "v++");
    CHECK(expand_attribute_value("valu++", ten) == "valu++");
    CHECK(expand_attribute_value("+=2", ten) == "+=2");
    CHECK(expand_attribute_value("plain", ten) == "plain");
    // Unset or not a number counts as 0; INFINITY caps.
    CHECK(expand_attribute_value("value++", std::nullopt) == "1");
    CHECK(expand_attribute_value("value+=2", std::optional<std::string>("abc")) == "2");
    CHECK(expand_attribute_value("value+=INFINITY", std::optional<std::string>("6")) == "1000000");
    CHECK(expand_attribute_value("value++", std::optional<std::string>("1000000")) == "1000000");
    CHECK(expand_attribute_value("value+=-INFINITY", ten) == "-1000000");
    CHECK(expand_attribute_value("value+=99999999999999999999999", ten) == "1000000");
}

TEST_CASE("attrd dampening: plain numbers are seconds, units allowed, nonsense refused")
{
    CHECK(parse_dampening("3s") == std::optional(std::chrono::milliseconds(3s)));
    CHECK(parse_dampening("2000") == std::optional(std::chrono::milliseconds(2000s)));
    CHECK(parse_dampening("2m") == std::optional(std::chrono::milliseconds(2min)));
    CHECK(parse_dampening("150ms") == std::optional(150ms));
    CHECK(parse_dampening("1h") == std::optional(std::chrono::milliseconds(1h)));
    CHECK(parse_dampening("0") == std::optional(0ms));
    CHECK_FALSE(parse_dampening("bogus"));
    CHECK_FALSE(parse_dampening(""));
    CHECK_FALSE(parse_dampening("-1"));
    CHECK_FALSE(parse_dampening("5 parsecs"));
    CHECK_FALSE(parse_dampening("999999999999h"));
}
