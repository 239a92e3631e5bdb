// outpost-agent against hostile peers (issue 16): while one client sends messages shaped to
// stall an unbounded XML parse (attribute floods of 100,000 and 1,000,000, an element
// flood, a value over libxml2's limit, deep nesting, namespace and wide-element floods, a
// well-formedness error followed by a flood) and a stream of small messages packed many to
// a TLS record, a second client on its own thread and loop measures the round trip of a
// cheap request (poke) over and over. Each flood must be refused with a log line naming
// the limit and its peer dropped, the agent must keep serving, and the worst round trip
// must stay under kWorstRoundTrip. A real outpost-agent in its own namespace; no peer is
// simulated.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "harness/prober.hpp"
#include "support/files.hpp"
#include "support/hostile_xml.hpp"
#include "tls/session.hpp"
#include "wire/frame.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The bound for the measuring client's worst round trip: outpost-agent built with ASan and
// UBSan at -O0 on a loaded 2-core machine (docs/limits.md has what was measured).
constexpr auto kWorstRoundTrip = 250ms;
// How often a case over the bound is measured again before it fails.
constexpr int kAttempts = 3;

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

bool wait_fd(int fd, short events, Clock::time_point deadline)
{
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

std::string frame(const std::string& xml)
{
    const wire::EncodedFrame encoded = wire::encode_frame(xml);
    return std::string(encoded.header.begin(), encoded.header.end()) + encoded.payload;
}

// Sends `records`, each as exactly one TLS record, on a raw TLS connection of its own and
// reads nothing back. Returns how many records went out before the agent hung up.
std::size_t send_records(const GuestDaemon& daemon, const std::vector<std::string>& records)
{
    const tls::TlsContext tls = psk_client(daemon.authkey().bytes());
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(daemon.port());
    REQUIRE(::inet_pton(AF_INET, daemon.address().c_str(), &addr.sin_addr) == 1);
    const auto deadline = Clock::now() + 20s;
    REQUIRE(
        (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || errno == EINPROGRESS));
    REQUIRE(wait_fd(fd.get(), POLLOUT, deadline));
    auto session = tls::TlsSession::create(tls, fd.get());
    REQUIRE(session);
    for (;;) {
        auto step = (*session)->handshake_step();
        REQUIRE(step);
        if (*step == tls::TlsSession::Progress::done) break;
        REQUIRE(
            wait_fd(fd.get(), *step == tls::TlsSession::Progress::want_read ? POLLIN : POLLOUT, deadline));
    }
    std::size_t sent_records = 0;
    for (const std::string& record : records) {
        for (;;) {
            auto sent = (*session)->send_record(record.data(), record.size());
            if (!sent) return sent_records;
            if (*sent != 0) break;
            REQUIRE(wait_fd(fd.get(), POLLOUT, deadline));
        }
        ++sent_records;
    }
    return sent_records;
}

}  // namespace

TEST_CASE("outpost-agent refuses hostile XML at once, drops the peer and keeps serving others", "[agent]")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    GuestDaemonOptions options;
    options.binary = *agent;
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);

    Prober prober(**daemon);
    const auto ready_by = Clock::now() + 15s;
    while (!prober.ready() && prober.error().empty() && Clock::now() < ready_by)
        std::this_thread::sleep_for(10ms);
    INFO(prober.error());
    REQUIRE(prober.ready());

    struct Flood {
        const char* name;
        std::string text;
        const char* logged;  // in the agent's log line for the dropped peer
    };
    const std::vector<Flood> floods = {
        {"100,000 attributes", exec_with_attributes(100'000), "more than 4096 attributes"},
        {"1,000,000 attributes", exec_with_attributes(1'000'000), "more than 4096 attributes"},
        {"a mismatched end tag, then 1,000,000 attributes", malformed_then_attributes(1'000'000),
         "more than 4096 attributes"},
        {"4,000,000 elements", exec_with_elements(4'000'000), "elements"},
        {"a 15,000,000-byte value", exec_with_long_value(15'000'000), "more than 10000000"},
        {"nesting 100,000 deep", exec_with_depth(100'000), "nested deeper than 64"},
        {"400 elements of 4,096 attributes", exec_with_wide_elements(400, 4096), "budget"},
        {"4,096 namespace declarations", exec_with_namespaces(4096), "namespace declarations"},
    };
    ContextPtr context(g_main_context_new());
    std::vector<std::string> report;
    for (const Flood& flood : floods) {
        INFO(flood.name << " (" << flood.text.size() << " bytes)");
        REQUIRE(flood.text.size() + wire::kHeaderSize <= wire::kDefaultMaxMessageSize);
        // A flood whose worst round trip passes the bound is sent again, up to kAttempts in
        // all, and the best attempt is checked: a stall the agent causes repeats every time,
        // a loaded machine descheduling the prober once does not.
        double worst = 0;
        for (int attempt = 1; attempt <= kAttempts; ++attempt) {
            prober.reset_worst();
            auto hostile = raw_client(context.get(), **daemon);
            const auto sent_at = Clock::now();
            REQUIRE(hostile->send_xml(flood.text));
            CHECK(hostile->wait([&] { return hostile->closed(); }, 30s));
            const double dropped_after = ms(Clock::now() - sent_at);
            // The prober's last round trip may overlap the end of the flood: one more.
            std::this_thread::sleep_for(50ms);
            worst = prober.worst_ms();
            report.push_back(std::string(flood.name) + ": dropped after " + std::to_string(dropped_after) +
                             " ms (sending included), worst round trip " + std::to_string(worst) + " ms" +
                             (attempt > 1 ? " (attempt " + std::to_string(attempt) + ")" : ""));
            CHECK(prober.error().empty());
            if (worst < ms(kWorstRoundTrip)) break;
        }
        INFO(report.back());
        CHECK(worst < ms(kWorstRoundTrip));
    }

    // Small messages packed into TLS records (about 100 pokes in each of 64 records, 1 MiB
    // in all): valid requests, each served; the peer reads nothing back. The agent must
    // go on answering the prober meanwhile.
    {
        prober.reset_worst();
        const std::string poke = frame(
            "<lrmd_command t=\"lrmd\" lrmd_op=\"poke\" lrmd_remote_msg_id=\"2\" "
            "lrmd_remote_msg_type=\"request\"/>");
        std::vector<std::string> records;
        std::string first = frame(
            "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"packed\" "
            "lrmd_protocol_version=\"1.1\" lrmd_remote_msg_id=\"1\" "
            "lrmd_remote_msg_type=\"request\"/>");
        records.push_back(first);
        std::string record;
        while (records.size() < 65) {
            if (record.size() + poke.size() > tls::kMaxRecordSize) {
                records.push_back(record);
                record.clear();
            }
            record += poke;
        }
        const auto start = Clock::now();
        const std::size_t sent = send_records(**daemon, records);
        CHECK(sent == records.size());
        // Give the agent time to work through them while the prober measures.
        std::this_thread::sleep_for(1500ms);
        const double worst = prober.worst_ms();
        report.push_back("packed pokes (" + std::to_string(records.size() - 1) + " records of " +
                         std::to_string(tls::kMaxRecordSize / poke.size()) + "): sent in " +
                         std::to_string(ms(Clock::now() - start) - 1500) + " ms, worst round trip " +
                         std::to_string(worst) + " ms");
        INFO(report.back());
        CHECK(worst < ms(kWorstRoundTrip));
    }

    prober.stop();
    CHECK(prober.error().empty());
    CHECK(prober.rounds() > 20);
    for (const std::string& line : report)
        std::printf("%s\n", line.c_str());

    // Each flood was refused with a line that names the limit; the agent still runs.
    auto log = read_file((*daemon)->log_file());
    REQUIRE(log);
    for (const Flood& flood : floods) {
        INFO(flood.name);
        CHECK(log->find(flood.logged) != std::string::npos);
    }
    CHECK(log->find("Dropping remote client") != std::string::npos);
    auto after = raw_client(context.get(), **daemon);
    auto id = after->send(make_register(0, "after"));
    CHECK(after->reply(id).rc == 0);
}
