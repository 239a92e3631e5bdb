// outpost-agent handling legitimate messages of many MB without holding its loop (issue 16,
// docs/limits.md "Large messages off the loop"). A real outpost-agent in its own namespace;
// this test is the cluster side (an IPC provider on a raw TLS connection) and a local tool
// (ipc::Client, libqb with Pacemaker 2.1.x's header, on a thread inside the agent's network
// namespace), while a Prober measures a second TLS client's poke round trips:
//   - proxy responses of 16 MB and of just under 32 MiB from the provider reach the tool
//     through the real proxy path (parsed, serialized again, bzip2-compressed for the tool)
//   - a 16 MB request of the tool reaches the provider (decompressed, parsed, encoded)
//   - a 32 MB ordinary request on TLS is answered, and the small request sent right after it
//     on the same connection is answered after it (order kept)
//   - the same request of 16 MB bzip2-compressed in its frame (2.1.5 never compresses on
//     TLS, a peer may): inflated off the loop, answered, and the poke behind it after it
//   - a request of 16 MB from a local executor client (`lrmd` over libqb IPC, as liblrmd
//     sends it): read off the loop and answered
//   - a client that sends 1 MB and hangs up at once is forgotten once its message is read
//     (ASan checks that nothing touches it after; a lane dropped while its work runs is
//     the unit test io's)
// The worst round trip must stay under kWorstRoundTrip in each case.
#include <arpa/inet.h>
#include <bzlib.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "harness/prober.hpp"
#include "ipc/client.hpp"
#include "ipc/header.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"
#include "util/fd.hpp"
#include "wire/codes.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The bound for the prober's worst round trip: outpost-agent built with ASan and UBSan at
// -O0 on a loaded 2-core machine (measured 44 to 115 ms at loads of 13 to 15; an optimized
// agent that did this work on its loop was held 1.6 to 8.1 s). docs/limits.md has the
// figures.
constexpr auto kWorstRoundTrip = 500ms;
// How often a case over the bound is measured again before it fails.
constexpr int kAttempts = 3;
// PCMK_ipc_buffer of the agent and the tool: a compressed CIB of 32 MB fits.
constexpr std::size_t kIpcBuffer = std::size_t{8} * 1024 * 1024;
constexpr auto kToolTimeout = 120s;

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

// A CIB of at least `bytes` made of disabled primitives with 7,500-byte descriptions, the
// shape the real-cluster test proxy-large-cib gives its 16.7 MB CIB: few elements per MB, so
// that the test's own cost under ASan stays small (a status section of that size costs the
// agent's worker several times as much; the loop's share depends on the bytes only).
std::string cib_of(std::size_t bytes)
{
    std::string cib = R"(<cib epoch="7" num_updates="3" admin_epoch="0" validate-with="pacemaker-3.8">)"
                      R"(<configuration><crm_config/><nodes/><resources>)";
    const std::string tail = "</resources><constraints/></configuration><status/></cib>";
    for (unsigned i = 0; cib.size() + tail.size() < bytes; ++i) {
        const std::string n = std::to_string(i);
        cib += R"(<primitive id="rsc-)";
        cib += n;
        cib += R"(" class="ocf" provider="heartbeat" type="Dummy" description=")";
        cib.append(7500, static_cast<char>('a' + i % 26));
        cib += R"("><meta_attributes id="rsc-)";
        cib += n;
        cib += R"(-meta"><nvpair id="rsc-)";
        cib += n;
        cib += R"(-meta-target-role" name="target-role" value="Stopped"/></meta_attributes></primitive>)";
    }
    return cib + tail;
}

// The attribute `name` in the first `window` bytes of `xml` (the envelope comes first).
std::optional<std::string> attribute_near_start(const std::string& xml, const std::string& name,
                                                std::size_t window = 4096)
{
    const std::string head = xml.substr(0, window);
    const std::string key = " " + name + "=\"";
    const auto at = head.find(key);
    if (at == std::string::npos) return std::nullopt;
    const auto from = at + key.size();
    const auto to = head.find('"', from);
    if (to == std::string::npos) return std::nullopt;
    return head.substr(from, to - from);
}

// The cluster side: an IPC provider that answers each proxied request with a response
// whose content the test sets, without parsing what it receives (a 16 MB request would
// cost the test seconds under ASan).
class Provider {
public:
    std::string answer;                 // the lrmd_ipc_msg content of the next response
    std::vector<std::size_t> requests;  // sizes of the `request` messages received

    explicit Provider(GMainContext* context, const GuestDaemon& daemon)
        : connection_(raw_client(context, daemon))
    {
        connection_->on_message([this](const std::string& xml) { on_message(xml); });
        require_ok(connection_->send_xml(
            "<lrmd_command t=\"lrmd\" lrmd_op=\"register\" lrmd_clientname=\"large-provider\" "
            "lrmd_protocol_version=\"1.1\" lrmd_is_ipc_provider=\"true\" lrmd_remote_msg_id=\"1\" "
            "lrmd_remote_msg_type=\"request\"/>"));
        REQUIRE(run_until(
            context, [&] { return registered_; }, 10s));
    }

private:
    void on_message(const std::string& xml)
    {
        if (!registered_ && attribute_near_start(xml, "lrmd_remote_msg_type") == "reply") {
            registered_ = true;
            return;
        }
        if (attribute_near_start(xml, "lrmd_ipc_op") != "request") return;
        requests.push_back(xml.size());
        const auto session = attribute_near_start(xml, "lrmd_ipc_session");
        const auto id = attribute_near_start(xml, "lrmd_ipc_msg_id");
        if (!session || !id) return;
        // The envelope as 2.1.5 writes it, around a placeholder the answer replaces.
        wire::ProxyMessage out;
        out.type = wire::MsgType::request;
        out.msg_id = next_id_++;
        out.op = "response";
        out.session = *session;
        out.ipc_msg_id = static_cast<std::uint32_t>(std::stoul(*id));
        out.msg = wire::Element{"placeholder", {}, {}};
        std::string response = wire::encode(out);
        const std::string placeholder = "<placeholder/>";
        const auto at = response.find(placeholder);
        REQUIRE(at != std::string::npos);
        response.replace(at, placeholder.size(), answer);
        require_ok(connection_->send_xml(response));
    }

    std::unique_ptr<RawClient> connection_;
    bool registered_ = false;
    std::uint64_t next_id_ = 2;
};

// A local tool on a thread of its own inside the agent's network namespace (libqb's sockets
// are abstract, so per namespace): one synchronous request on cib_ro.
class Tool {
public:
    Tool(GuestDaemon& daemon, std::string request, std::string service = "cib_ro")
        : thread_([this, path = daemon.netns().path(), request = std::move(request),
                   service = std::move(service)] { run(path, service, request); })
    {
    }
    ~Tool() { join(); }
    Tool(const Tool&) = delete;
    Tool& operator=(const Tool&) = delete;

    [[nodiscard]] bool done() const { return done_; }
    void join()
    {
        if (thread_.joinable()) thread_.join();
    }
    // After done(): the response's XML, or why there is none.
    std::optional<std::string> response;
    std::string error;

private:
    void run(const std::string& netns, const std::string& service, const std::string& request)
    {
        UniqueFd fd(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) {
            error = "cannot enter " + netns;
        } else if (auto client = ipc::Client::connect(service, kIpcBuffer, "root"); !client) {
            error = client.error().describe();
        } else if (auto answer = (*client)->request(request, kToolTimeout); !answer) {
            error = answer.error().describe();
        } else {
            response = std::move(answer->xml);
        }
        done_ = true;
    }

    std::atomic<bool> done_{false};
    std::thread thread_;
};

// bzip2 of `data` (level 1: the test's own cost stays small; the agent inflates any level).
std::string bzip2(const std::string& data)
{
    std::string out(data.size() + data.size() / 100 + 600, '\0');
    auto length = static_cast<unsigned int>(out.size());
    const int rc = BZ2_bzBuffToBuffCompress(out.data(), &length, const_cast<char*>(data.data()),
                                            static_cast<unsigned int>(data.size()), 1, 0, 0);
    REQUIRE(rc == BZ_OK);
    out.resize(length);
    return out;
}

// A TLS client that writes frames as it likes (io::Connection never compresses), blocking
// with a deadline: `xml` bzip2-compressed in one frame, then `after` framed as usual, then
// `expect` messages read back.
class RawTls {
public:
    explicit RawTls(const GuestDaemon& daemon) : tls_(psk_client(daemon.authkey().bytes()))
    {
        fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        REQUIRE(fd_);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(daemon.port());
        REQUIRE(::inet_pton(AF_INET, daemon.address().c_str(), &addr.sin_addr) == 1);
        const auto deadline = Clock::now() + 10s;
        REQUIRE((::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ||
                 errno == EINPROGRESS));
        REQUIRE(wait(POLLOUT, deadline));
        auto session = tls::TlsSession::create(tls_, fd_.get());
        require_ok(session);
        session_ = std::move(session).value();
        for (;;) {
            auto step = session_->handshake_step();
            require_ok(step);
            if (*step == tls::TlsSession::Progress::done) break;
            REQUIRE(wait(*step == tls::TlsSession::Progress::want_read ? POLLIN : POLLOUT, deadline));
        }
    }

    void send_compressed(const std::string& xml, std::uint64_t id)
    {
        const std::string packed = bzip2(xml + '\0');
        wire::FrameHeader h;
        h.id = id;
        h.payload_compressed = static_cast<std::uint32_t>(packed.size());
        h.payload_uncompressed = static_cast<std::uint32_t>(xml.size() + 1);
        h.size_total = static_cast<std::uint32_t>(wire::kHeaderSize + packed.size());
        const auto header = wire::encode_header(h);
        write(std::string(header.begin(), header.end()));
        write(packed);
    }
    void send_plain(const std::string& xml)
    {
        const auto frame = wire::encode_frame(xml);
        write(std::string(frame.header.begin(), frame.header.end()));
        write(frame.payload);
    }
    // The replies (notifications of the prober's pokes skipped) up to the one to `msg_id`,
    // fewer if the agent closes or `limit` passes.
    std::vector<std::string> replies_until(const std::string& msg_id, std::chrono::milliseconds limit)
    {
        std::vector<std::string> replies;
        const auto deadline = Clock::now() + limit;
        char buffer[16384];
        for (;;) {
            auto read = session_->recv(buffer, sizeof buffer);
            if (!read || read->kind == tls::TlsSession::Received::Kind::closed) return replies;
            if (read->kind != tls::TlsSession::Received::Kind::data) {
                if (!wait(POLLIN, deadline)) return replies;
                continue;
            }
            decoder_.feed(buffer, read->size);
            for (auto next = decoder_.next(); next && next->has_value(); next = decoder_.next()) {
                if (attribute_near_start(**next, "lrmd_remote_msg_type") != "reply") continue;
                replies.push_back(std::move(**next));
                if (attribute_near_start(replies.back(), "lrmd_remote_msg_id") == msg_id) return replies;
            }
        }
    }

private:
    bool wait(short events, Clock::time_point deadline) const
    {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_.get(), events, 0};
        return ::poll(&p, 1, static_cast<int>(left)) > 0;
    }
    // One record at a time (the header alone in its own, as 2.1.5 writes it).
    void write(const std::string& bytes)
    {
        const auto deadline = Clock::now() + 60s;
        for (std::size_t offset = 0; offset < bytes.size();) {
            auto sent = session_->send_record(bytes.data() + offset,
                                              std::min(bytes.size() - offset, tls::kMaxRecordSize));
            require_ok(sent);
            if (*sent == 0) {
                REQUIRE(wait(POLLOUT, deadline));
                continue;
            }
            offset += *sent;
        }
    }

    tls::TlsContext tls_;
    UniqueFd fd_;
    std::unique_ptr<tls::TlsSession> session_;
    wire::FrameDecoder decoder_;
};

// "Remote client ... disconnected" lines in the agent's log.
std::size_t disconnects(const GuestDaemon& daemon)
{
    auto log = read_file(daemon.log_file());
    if (!log) return 0;
    std::size_t count = 0;
    std::istringstream lines(*log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("Remote client ") != std::string::npos &&
            line.find(" disconnected") != std::string::npos)
            ++count;
    }
    return count;
}

struct Case {
    std::string name;
    double took_ms = 0;
    double worst_ms = 0;
};

}  // namespace

TEST_CASE("outpost-agent handles messages of many MB off its loop", "[agent]")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    GuestDaemonOptions options;
    options.binary = *agent;
    options.env.emplace_back("PCMK_ipc_buffer", std::to_string(kIpcBuffer));
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);

    Prober prober(**daemon);
    INFO(prober.error());
    REQUIRE(prober.wait_ready());

    ContextPtr context(g_main_context_new());
    auto provider = std::make_unique<Provider>(context.get(), **daemon);
    std::vector<Case> report;
    auto measured = [&](const std::string& name, const std::function<void()>& body) {
        // A case over the bound is run again, up to kAttempts in all, and the best attempt
        // is checked: a stall the agent causes repeats, a loaded machine descheduling the
        // prober once does not.
        for (int attempt = 1; attempt <= kAttempts; ++attempt) {
            prober.reset_worst();
            const auto start = Clock::now();
            body();
            const double took = ms(Clock::now() - start);
            // The round trip in flight at the end counts too.
            std::this_thread::sleep_for(50ms);
            report.push_back(Case{attempt > 1 ? name + " (attempt " + std::to_string(attempt) + ")" : name,
                                  took, prober.worst_ms()});
            CHECK(prober.error().empty());
            if (report.back().worst_ms < ms(kWorstRoundTrip)) break;
        }
        INFO(report.back().name << ": " << report.back().took_ms << " ms, worst round trip "
                                << report.back().worst_ms << " ms");
        CHECK(report.back().worst_ms < ms(kWorstRoundTrip));
    };

    // The same time with nothing large going on: what the machine's load alone costs a round
    // trip (reported, not checked).
    measured("nothing large (baseline, 1 s)", [] { std::this_thread::sleep_for(1s); });

    // (a) Proxy responses for a local tool: 16 MB, and the largest a tool may receive.
    const std::string query =
        R"(<cib_command t="cib" cib_op="cib_query" cib_callid="2" cib_callopt="4096"/>)";
    const std::string sixteen = cib_of(16'000'000);
    // The tool's payload limit less room for the reply around it.
    const std::string largest = cib_of(ipc::kMaxPayloadSize - 16384);
    for (const std::string* shape : {&sixteen, &largest}) {
        const std::string& cib = *shape;
        provider->answer = R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="0"><cib_calldata>)" + cib +
                           "</cib_calldata></cib-reply>";
        measured("proxy response of " + std::to_string(provider->answer.size()) + " bytes", [&] {
            Tool tool(**daemon, query);
            REQUIRE(run_until(
                context.get(), [&] { return tool.done(); }, kToolTimeout + 10s));
            tool.join();
            INFO(tool.error << "\n" << (*daemon)->log_tail());
            REQUIRE(tool.response);
            CHECK(tool.response->size() == provider->answer.size());
            CHECK(tool.response->find(cib.substr(cib.size() - 200)) != std::string::npos);
        });
    }

    // (b) A tool's request of 16 MB to the cluster (compressed by the tool above its buffer).
    provider->answer = R"(<cib-reply t="cib" cib_op="cib_replace" cib_rc="0"/>)";
    {
        const std::string request =
            R"(<cib_command t="cib" cib_op="cib_replace" cib_callid="3"><cib_calldata>)" + sixteen +
            "</cib_calldata></cib_command>";
        measured("tool request of " + std::to_string(request.size()) + " bytes", [&] {
            const std::size_t before = provider->requests.size();
            Tool tool(**daemon, request);
            REQUIRE(run_until(
                context.get(), [&] { return tool.done(); }, kToolTimeout + 10s));
            tool.join();
            INFO(tool.error << "\n" << (*daemon)->log_tail());
            REQUIRE(tool.response);
            CHECK(tool.response->find("cib_replace") != std::string::npos);
            REQUIRE(provider->requests.size() == before + 1);
            CHECK(provider->requests.back() > request.size());
        });
    }

    // (c) An ordinary request of 32 MB on TLS (a resource query with a large unknown child:
    // 2.1.5 reads the whole message and answers by lrmd_op), then a poke right behind it on
    // the same connection: the replies come in that order.
    {
        std::string big = R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_info" lrmd_remote_msg_id="7" )"
                          R"(lrmd_remote_msg_type="request"><lrmd_rsc rsc_id="none"/><extra>)";
        const std::string tail = "</extra></lrmd_command>";
        big += largest;
        big += tail;
        REQUIRE(big.size() + wire::kHeaderSize + 1 <= wire::kDefaultMaxMessageSize);
        auto client = raw_client(context.get(), **daemon);
        measured("TLS request of " + std::to_string(big.size()) + " bytes", [&] {
            require_ok(client->send_xml(big));
            const auto poke = client->send(make_request("lrmd_rsc_poke"));
            const auto first = client->expect<wire::Reply>(60s);
            CHECK(first.msg_id == 7);
            CHECK(first.rc == wire::rc::no_device);
            CHECK(client->reply(poke).rc == 0);
        });

        // (d) The same shape, 16 MB, in a bzip2-compressed frame, and a poke behind it.
        std::string packed_request =
            R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_info" lrmd_remote_msg_id="8" )"
            R"(lrmd_remote_msg_type="request"><lrmd_rsc rsc_id="none"/><extra>)" +
            sixteen + tail;
        RawTls compressing(**daemon);
        measured("TLS request of " + std::to_string(packed_request.size()) + " bytes, bzip2-compressed", [&] {
            compressing.send_compressed(packed_request, 8);
            compressing.send_plain(wire::encode(make_request("lrmd_rsc_poke", 9)));
            const auto replies = compressing.replies_until("9", 60s);
            REQUIRE(replies.size() == 2);
            CHECK(attribute_near_start(replies[0], "lrmd_remote_msg_id") == "8");
            CHECK(attribute_near_start(replies[0], "lrmd_rc") == std::to_string(wire::rc::no_device));
            CHECK(attribute_near_start(replies[1], "lrmd_rc") == "0");
        });

        // (e) The same 16 MB from a local executor client (compressed by it above its buffer).
        const std::string local_request =
            R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_info"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="none"/>)"
            R"(</lrmd_calldata><extra>)" +
            sixteen + tail;
        measured("local executor request of " + std::to_string(local_request.size()) + " bytes", [&] {
            Tool local(**daemon, local_request, "lrmd");
            REQUIRE(run_until(
                context.get(), [&] { return local.done(); }, kToolTimeout + 10s));
            local.join();
            INFO(local.error << "\n" << (*daemon)->log_tail());
            REQUIRE(local.response);
            CHECK(attribute_near_start(*local.response, "lrmd_rc") == std::to_string(wire::rc::no_device));
        });

        // One over the threshold sent by a client that hangs up at once: the agent reads it
        // to the end, answers into the void and forgets the client.
        std::string medium = R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_info" lrmd_remote_msg_id="9" )"
                             R"(lrmd_remote_msg_type="request"><lrmd_rsc rsc_id="none"/><extra>)" +
                             cib_of(std::size_t{1} << 20) + tail;
        measured("TLS request of " + std::to_string(medium.size()) + " bytes, sender gone", [&] {
            const std::size_t before = disconnects(**daemon);
            auto gone = raw_client(context.get(), **daemon);
            require_ok(gone->send_xml(medium));
            REQUIRE(gone->wait([&] { return gone->connection().queued_bytes() == 0; }, 60s));
            gone.reset();
            REQUIRE(run_until(
                context.get(), [&] { return disconnects(**daemon) > before; }, 60s));
        });
    }

    prober.stop();
    CHECK(prober.error().empty());
    provider.reset();  // else SIGTERM waits for the cluster's answer to the shutdown request
    for (const Case& c : report)
        std::printf("%s: %.0f ms, worst round trip %.1f ms\n", c.name.c_str(), c.took_ms, c.worst_ms);
    // The agent is still there and exits cleanly (ASan reports would fail it).
    require_ok((*daemon)->stop());
}
