// io::Connection against the real pacemaker-remoted 2.1.5 (docs/protocol.md 2.3).
//
// The 2.1.5 reader needs each message as a header record followed by payload record(s):
// with a coalesced record it stalls (up to 60 s) until more bytes arrive, and with two
// messages in one record it corrupts the stream. So a reply within 2 s, and a burst of
// requests all answered, prove that our writer keeps the rule against the real peer.
#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/connection.hpp"
#include "io/source.hpp"
#include "support/main_loop.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"

using namespace outpost;
using namespace std::chrono_literals;
using outpost::test::contains;
using outpost::test::ContextPtr;
using outpost::test::require_ok;
using outpost::test::run_until;

namespace {

std::string poke(int id)
{
    return "<lrmd_command t=\"lrmd\" lrmd_op=\"lrmd_rsc_poke\" lrmd_timeout=\"0\" lrmd_callopt=\"0\" "
           "lrmd_remote_msg_id=\"" +
           std::to_string(id) +
           "\" lrmd_remote_msg_type=\"request\"><lrmd_calldata><lrmd_rsc "
           "lrmd_origin=\"outpost-io-test\"/></lrmd_calldata></lrmd_command>";
}

}  // namespace

TEST_CASE("io::Connection talks to the real pacemaker-remoted 2.1.5 without stalls", "[io][interop]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto remoted = test::remoted_path();
    require_ok(remoted);
    auto guest = test::GuestDaemon::start(*remoted);
    require_ok(guest);
    auto& daemon = **guest;
    INFO("daemon log tail:\n" << daemon.log_tail());

    ContextPtr context(g_main_context_new());
    // Our io::Connection, as the shared raw client drives it.
    auto client = test::raw_client(context.get(), daemon);
    std::vector<std::string> received;
    std::vector<Error> closes;
    client->on_message([&](const std::string& xml) { received.push_back(xml); });
    client->on_close([&](const Error& reason) { closes.push_back(reason); });
    io::Connection& connection = client->connection();

    // register: the reply must come at once, not when some later bytes unstick the reader.
    require_ok(connection.send(
        "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"outpost-io-test\" "
        "lrmd_protocol_version=\"1.1\" lrmd_remote_msg_id=\"1\" lrmd_remote_msg_type=\"request\"/>"));
    REQUIRE(run_until(
        context.get(), [&] { return !received.empty() || !closes.empty(); }, 2s));
    REQUIRE(closes.empty());
    REQUIRE(received.size() == 1);
    INFO("reply: " << received[0]);
    CHECK(contains(received[0], "lrmd_clientid="));
    CHECK(contains(received[0], "lrmd_remote_msg_type=\"reply\""));
    CHECK(contains(received[0], "lrmd_remote_msg_id=\"1\""));
    CHECK(contains(received[0], "lrmd_op=\"register\""));
    received.clear();

    // poke: a reply and a notify, again without waiting for anything else.
    require_ok(connection.send(poke(2)));
    REQUIRE(run_until(
        context.get(), [&] { return received.size() >= 2 || !closes.empty(); }, 2s));
    REQUIRE(closes.empty());
    REQUIRE(received.size() == 2);
    int replies = 0, notifies = 0;
    for (const std::string& xml : received) {
        INFO(xml);
        if (contains(xml, "lrmd_remote_msg_type=\"reply\"")) {
            ++replies;
            CHECK(contains(xml, "lrmd_remote_msg_id=\"2\""));
        }
        if (contains(xml, "lrmd_remote_msg_type=\"notify\"")) {
            ++notifies;
            CHECK(contains(xml, "lrmd_op=\"lrmd_rsc_poke\""));
        }
    }
    CHECK(replies == 1);
    CHECK(notifies == 1);
    received.clear();

    // A burst: many messages queued back to back must still travel one at a time (two
    // requests sharing a record would corrupt the 2.1.5 reader's stream).
    constexpr std::size_t kBurst = 50;
    for (std::size_t i = 0; i < kBurst; ++i)
        require_ok(connection.send(poke(3 + static_cast<int>(i))));
    REQUIRE(run_until(
        context.get(), [&] { return received.size() >= 2 * kBurst || !closes.empty(); }, 10s));
    REQUIRE(closes.empty());
    CHECK(received.size() == 2 * kBurst);
    std::size_t burst_replies = 0;
    for (const std::string& xml : received) {
        if (contains(xml, "lrmd_remote_msg_type=\"reply\"")) ++burst_replies;
    }
    CHECK(burst_replies == kBurst);
    CHECK(daemon.process().is_running());

    connection.close();
}
