// fuzz-proxy-sessions: the IPC proxy's session table (guest-agent/proxy/proxy.*) under
// arbitrary sequences of what its two sides can do to it, with live sessions.
//
// One real IpcProxy per process (libqb allows one loop adapter per process; its services get
// a name prefix of their own so they cannot clash with a cluster stack), real libqb clients
// (the library the Pacemaker tools use) connected and driven from a worker thread while this
// thread turns the proxy's GLib context, and a recording ProxyHost in place of the server.
// Each input is a program of one-byte operations with argument bytes:
//   connect a tool to a channel, a tool sends a request (valid, compressed, or with a bad
//   header), a tool reads what is waiting, a tool disconnects; the provider delivers a
//   response or an event (small, or large enough to be compressed) to a live, a closed or a
//   made-up session, destroys a session, goes away; the newest provider changes, the host
//   stops accepting sends, refuses lrmd clients; the server answers a local executor client.
// Invariants checked on every step: what goes to a provider encodes and decodes again;
// `new` once per session, `request` and `destroy` only for a session announced to that
// same provider and not yet destroyed; nothing reaches an lrmd session from a provider; a
// local executor client is opened once and reported closed exactly once. Every input ends
// with all tools disconnected, and the table must then be empty, so no input leaves state
// for the next.
#include <glib.h>
#include <qb/qbipcc.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "io/source.hpp"
#include "ipc/header.hpp"
#include "proxy/channels.hpp"
#include "proxy/endpoint.hpp"
#include "proxy/proxy.hpp"
#include "support/main_loop.hpp"
#include "util/log.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::agent;
using namespace std::chrono_literals;
using outpost::test::ContextPtr;
using outpost::test::run_until;

namespace {

constexpr std::size_t kMaxTools = 4;
constexpr std::size_t kMaxSteps = 48;
constexpr std::size_t kToolBuffer = std::size_t{64} * 1024;
// Bigger than the proxy's compression threshold below, so these events travel compressed.
constexpr std::size_t kLargeMessage = std::size_t{24} * 1024;
// Small, so the compression path is taken by the large messages above.
constexpr std::size_t kIpcBuffer = std::size_t{16} * 1024;
constexpr auto kSettleLimit = 3s;
constexpr auto kTick = 2ms;

const char* const kProviders[] = {"p1", "p2", "p3"};

[[noreturn]] void violated(const char* what)
{
    (void)std::fprintf(stderr, "fuzz-proxy-sessions: invariant violated: %s\n", what);
    std::abort();
}

// The server side of the seam, recording what the proxy does and checking it.
class Host final : public proxy::ProxyHost {
public:
    std::optional<std::string> provider;
    bool accept_sends = true;
    bool refuse_local = false;
    proxy::IpcProxy* proxy = nullptr;

    std::map<std::string, std::string> announced;  // session -> provider it was announced to
    std::set<std::string> destroyed;               // sessions a destroy went out for
    std::set<std::string> local_open;
    std::set<std::string> local_closed;
    std::vector<std::string> sessions_seen;  // every session id, for the provider's operations

    void reset()
    {
        provider = kProviders[0];
        accept_sends = true;
        refuse_local = false;
        announced.clear();
        destroyed.clear();
        local_open.clear();
        local_closed.clear();
        sessions_seen.clear();
    }

    [[nodiscard]] std::optional<std::string> newest_provider() const override { return provider; }

    bool send_to_provider(std::string_view provider_id, const wire::ProxyMessage& message) override
    {
        if (!accept_sends) return false;
        auto again = wire::decode_message(wire::encode(message));
        if (!again || !std::holds_alternative<wire::ProxyMessage>(*again))
            violated("proxy message does not decode");
        if (!message.session) violated("proxy message without a session");
        const std::string& session = *message.session;
        const std::string to(provider_id);
        if (message.op == "new") {
            if (announced.count(session) != 0) violated("`new` twice for one session");
            announced.emplace(session, to);
            sessions_seen.push_back(session);
        } else if (message.op == "request" || message.op == "destroy") {
            auto it = announced.find(session);
            if (it == announced.end()) violated("request or destroy for a session never announced");
            if (it->second != to) violated("request or destroy sent to another provider");
            if (destroyed.count(session) != 0) violated("request or destroy after destroy");
            if (message.op == "destroy") destroyed.insert(session);
            if (message.op == "request" && !message.msg) violated("request without lrmd_ipc_msg");
        } else {
            violated("unexpected proxy operation");
        }
        return true;
    }

    void local_client_gone() override {}

    Status local_executor_open(std::string_view client_id, std::string_view) override
    {
        if (refuse_local) return make_error("fuzz", -EPROTONOSUPPORT, "refused by the fuzzer");
        if (!local_open.emplace(client_id).second) violated("local executor client id reused");
        sessions_seen.emplace_back(client_id);
        return {};
    }

    void local_executor_request(std::string_view client_id, std::uint32_t ipc_msg_id,
                                std::string_view xml) override
    {
        const std::string id(client_id);
        if (local_open.count(id) == 0 || local_closed.count(id) != 0)
            violated("request of a closed local client");
        // Answered as the server answers: the reply during the call, then a notification.
        // Odd request ids get a large event too, which goes compressed.
        (void)xml;
        (void)proxy->send_local_reply(id, R"(<lrmd_reply lrmd_origin="process_lrmd_message" lrmd_rc="0"/>)");
        std::string event = R"(<lrmd_notify lrmd_origin="send_generic_notify" lrmd_op="lrmd_rsc_poke"/>)";
        if ((ipc_msg_id & 1U) != 0) event = "<lrmd_notify data=\"" + std::string(kLargeMessage, 'e') + "\"/>";
        (void)proxy->send_local_event(id, event);
    }

    void local_executor_closed(std::string_view client_id) override
    {
        const std::string id(client_id);
        if (local_open.count(id) == 0) violated("close of a local client never opened");
        if (!local_closed.insert(id).second) violated("local client reported closed twice");
    }
};

struct State {
    test::ContextPtr owned_context = test::new_context();
    GMainContext* context = owned_context.get();
    std::string prefix = "outpost-fz-" + std::to_string(::getpid()) + "-";
    Host host;
    std::unique_ptr<proxy::IpcProxy> proxy;
    std::vector<qb_ipcc_connection_t*> tools;

    State()
    {
        log::Config config;
        config.default_level = log::Level::error;
        log::configure(config);
        proxy::ProxyOptions options;
        options.name_prefix = prefix;
        options.ipc_buffer_size = kIpcBuffer;
        auto created = proxy::IpcProxy::create(context, options);
        if (!created) {
            (void)std::fprintf(stderr, "fuzz-proxy-sessions: %s\n", created.error().describe().c_str());
            std::abort();
        }
        proxy = std::move(created).value();
        proxy->attach_host(&host);
        host.proxy = proxy.get();
    }
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State()
    {
        for (auto* tool : tools)
            qb_ipcc_disconnect(tool);
        proxy.reset();
    }

    // Runs `work` on a worker thread (a libqb client blocks on the server, which runs here).
    template <typename T>
    T on_tool_thread(std::function<T()> work)
    {
        std::optional<T> result;
        std::atomic<bool> finished{false};
        std::thread worker([&] {
            result = work();
            finished = true;
        });
        (void)run_until(
            context, [&] { return finished.load(); }, kSettleLimit * 3, kTick);
        worker.join();
        return std::move(*result);
    }

    void pump(int iterations)
    {
        for (int i = 0; i < iterations; ++i)
            g_main_context_iteration(context, FALSE);
    }
};

State& state()
{
    // One per process (libqb's loop adapter exists once per process); every input reuses
    // the services and leaves no session behind. Torn down at exit so libqb removes them.
    static State* instance = nullptr;
    if (instance == nullptr) {
        instance = new State();
        (void)std::atexit([] { delete instance; });
    }
    return *instance;
}

class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    [[nodiscard]] bool empty() const { return at_ >= size_; }
    std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
    std::string_view bytes(std::size_t n)
    {
        n = std::min(n, size_ - std::min(at_, size_));
        std::string_view out(reinterpret_cast<const char*>(data_ + at_), n);
        at_ += n;
        return out;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

std::string session_for(State& s, Input& in)
{
    std::uint8_t pick = in.byte();
    if (s.host.sessions_seen.empty() || pick == 0xff) return "no-such-session-" + std::to_string(pick);
    return s.host.sessions_seen[pick % s.host.sessions_seen.size()];
}

wire::Element message_for(Input& in)
{
    switch (in.byte() % 3) {
        case 0:
            return wire::Element{
                "cib_command", {{"t", "cib"}, {"cib_op", "register"}, {"cib_clientid", "x"}}, {}};
        case 1:
            return wire::Element{"cib-reply", {{"data", std::string(kLargeMessage, 'r')}}, {}};
        default:
            return wire::Element{"attrd_reply", {{"t", "attrd"}, {"rc", "0"}}, {}};
    }
}

void connect_tool(State& s, Input& in)
{
    if (s.tools.size() >= kMaxTools) return;
    const auto all = proxy::channels();
    const std::string name = s.prefix + std::string(all[in.byte() % all.size()].name);
    auto* tool = s.on_tool_thread<qb_ipcc_connection_t*>(
        [&]() -> qb_ipcc_connection_t* { return qb_ipcc_connect(name.c_str(), kToolBuffer); });
    if (tool != nullptr) s.tools.push_back(tool);
    s.pump(4);
}

void tool_sends(State& s, Input& in)
{
    if (s.tools.empty()) return;
    qb_ipcc_connection_t* tool = s.tools[in.byte() % s.tools.size()];
    const std::uint8_t kind = in.byte();
    const auto id = static_cast<std::int32_t>(in.byte());
    std::string xml;
    switch (kind % 4) {
        case 0:
            xml = R"(<cib_command t="cib" cib_op="cib_query" cib_callid="2"/>)";
            break;
        case 1:
            xml = R"(<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_poke"/>)";
            break;
        case 2:
            xml =
                "<attrd t=\"attrd\" task=\"update\" attr_value=\"" + std::string(kLargeMessage, 'v') + "\"/>";
            break;
        default:
            xml = "<raw>" + std::string(in.bytes(in.byte())) + "</raw>";
            break;
    }
    const std::uint32_t flags = (kind & 0x10U) != 0 ? wire::ipc_flag::client_response : 0U;
    auto bytes = ipc::encode_message(id, xml, flags, kIpcBuffer);
    if (!bytes) return;
    if ((kind & 0x20U) != 0 && bytes->size() > ipc::kHeaderSize) {
        (*bytes)[in.byte() % ipc::kHeaderSize] = static_cast<char>(in.byte());  // a bad header
    }
    (void)s.on_tool_thread<ssize_t>([&] { return qb_ipcc_send(tool, bytes->data(), bytes->size()); });
    s.pump(4);
}

void tool_reads(State& s, Input& in)
{
    if (s.tools.empty()) return;
    qb_ipcc_connection_t* tool = s.tools[in.byte() % s.tools.size()];
    std::string buffer(4 * kToolBuffer, '\0');
    for (int i = 0; i < 8; ++i) {
        ssize_t got = qb_ipcc_event_recv(tool, buffer.data(), buffer.size(), 0);
        if (got <= 0) break;
        auto decoded = ipc::decode_message(buffer.data(), static_cast<std::size_t>(got));
        if (!decoded) violated("an event for a tool does not decode");
    }
    ssize_t got = qb_ipcc_recv(tool, buffer.data(), buffer.size(), 0);
    if (got > 0 && !ipc::decode_message(buffer.data(), static_cast<std::size_t>(got)))
        violated("a response for a tool does not decode");
}

void tool_leaves(State& s, Input& in)
{
    if (s.tools.empty()) return;
    auto at = s.tools.begin() + static_cast<std::ptrdiff_t>(in.byte() % s.tools.size());
    qb_ipcc_connection_t* tool = *at;
    s.tools.erase(at);
    (void)s.on_tool_thread<int>([tool] {
        qb_ipcc_disconnect(tool);
        return 0;
    });
}

void provider_delivers(State& s, Input& in, bool response)
{
    const std::string session = session_for(s, in);
    const std::uint32_t msg_id = in.byte();
    const wire::Element msg = message_for(in);
    const bool local = s.host.local_open.count(session) != 0;
    const bool known = s.proxy->has_session(session);
    if (known && local) violated("an lrmd session counts as a proxied one");
    const bool delivered = response ? s.proxy->deliver_response(session, msg_id, wire::serialize(msg))
                                    : s.proxy->deliver_event(session, wire::serialize(msg));
    if (delivered && local) violated("a provider reached a local executor session");
    if (delivered != known) violated("has_session() and delivery disagree");
    if (delivered && s.host.destroyed.count(session) != 0) violated("delivered to a destroyed session");
    s.pump(2);
}

void run_step(State& s, Input& in)
{
    switch (in.byte() % 13) {
        case 0:
            connect_tool(s, in);
            return;
        case 1:
            tool_sends(s, in);
            return;
        case 2:
            tool_reads(s, in);
            return;
        case 3:
            tool_leaves(s, in);
            return;
        case 4:
            provider_delivers(s, in, true);
            return;
        case 5:
            provider_delivers(s, in, false);
            return;
        case 6:
            s.proxy->destroy_session(session_for(s, in));
            s.pump(2);
            return;
        case 7:
            s.proxy->provider_gone(kProviders[in.byte() % std::size(kProviders)]);
            s.pump(2);
            return;
        case 8: {
            std::uint8_t pick = in.byte() % (std::size(kProviders) + 1);
            s.host.provider =
                pick == std::size(kProviders) ? std::nullopt : std::optional<std::string>(kProviders[pick]);
            return;
        }
        case 9:
            s.host.accept_sends = !s.host.accept_sends;
            return;
        case 10:
            s.host.refuse_local = !s.host.refuse_local;
            return;
        case 11: {
            const std::string id = session_for(s, in);
            if ((in.byte() & 1U) != 0) {
                (void)s.proxy->send_local_reply(id, "<lrmd_reply lrmd_rc=\"0\"/>");
            } else {
                (void)s.proxy->send_local_event(id, "<lrmd_notify lrmd_op=\"lrmd_rsc_poke\"/>");
            }
            s.pump(2);
            return;
        }
        default:
            s.pump(in.byte() % 16);
            return;
    }
}

void finish_input(State& s)
{
    // libqb's client disconnect lingers (about 40 ms of sleeps) whatever the server does:
    // all tools leave at once, each on its own thread, while the loop turns here.
    std::atomic<std::size_t> left{0};
    std::vector<std::thread> leaving;
    leaving.reserve(s.tools.size());
    for (auto* tool : s.tools) {
        leaving.emplace_back([tool, &left] {
            qb_ipcc_disconnect(tool);
            ++left;
        });
    }
    const std::size_t count = s.tools.size();
    (void)run_until(
        s.context, [&] { return left.load() == count; }, kSettleLimit * 3, kTick);
    for (auto& thread : leaving)
        thread.join();
    s.tools.clear();
    if (!run_until(
            s.context, [&] { return s.proxy->local_client_count() == 0; }, kSettleLimit, kTick))
        violated("sessions left after every tool disconnected");
    // Reports of closed local executor clients come from the proxy's idle reaper.
    if (!run_until(
            s.context, [&] { return s.host.local_closed.size() == s.host.local_open.size(); }, kSettleLimit,
            kTick))
        violated("a local executor client was never reported closed");
    s.pump(8);
    s.host.reset();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    State& s = state();
    s.host.reset();
    Input in(data, size);
    for (std::size_t step = 0; step < kMaxSteps && !in.empty(); ++step)
        run_step(s, in);
    finish_input(s);
    return 0;
}
