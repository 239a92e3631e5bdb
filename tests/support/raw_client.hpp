// RawClient: a test's own end of a Pacemaker Remote TLS connection, with nothing of a
// product client (no register unless the test sends one, no reconnects, no reply
// bookkeeping). It connects with io::Connection on the test's GMainContext, sends what the
// test says (typed messages with the next message id, or any text as one framed message)
// and keeps what arrives in order, with arrival times, for the test to wait on; or hands
// each message to a handler instead. Request builders for tests are here too.
#pragma once

#include <catch.hpp>

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "io/connection.hpp"
#include "support/main_loop.hpp"
#include "tls/context.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

inline constexpr std::chrono::milliseconds kConnectWait{15000};

class RawClient {
public:
    struct Received {
        std::chrono::steady_clock::time_point at;
        std::string xml;
    };
    using MessageHandler = std::function<void(const std::string& xml)>;
    using CloseHandler = std::function<void(const Error& reason)>;

    // Connects and completes the TLS handshake within `limit`, or says why not.
    static Result<std::unique_ptr<RawClient>> connect(GMainContext* context, const std::string& address,
                                                      std::uint16_t port, const tls::TlsContext& tls,
                                                      io::ConnectOptions options = {},
                                                      std::chrono::milliseconds limit = kConnectWait);
    // The same, failing the test case if it cannot. (The Catch-checked calls are inline, so
    // programs without Catch, the benchmarks, can use the rest.)
    static std::unique_ptr<RawClient> open(GMainContext* context, const std::string& address,
                                           std::uint16_t port, const tls::TlsContext& tls,
                                           io::ConnectOptions options = {})
    {
        auto client = connect(context, address, port, tls, options);
        INFO((client ? std::string() : client.error().describe()));
        REQUIRE(client.ok());
        return std::move(client).value();
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    ~RawClient();

    // Each message goes to `handler` instead of the inbox; each close to `on_close` too.
    void on_message(MessageHandler handler) { on_message_ = std::move(handler); }
    void on_close(CloseHandler handler) { on_close_ = std::move(handler); }

    // Any text as one framed message.
    Status send_xml(std::string_view xml);
    // Typed messages with the next message id (1, 2, ...) unless they carry one; the id used.
    // A proxy message goes as a request (ipc_fwd).
    Result<std::uint64_t> try_send(wire::Request request);
    Result<std::uint64_t> try_send(wire::ProxyMessage message);
    // The same, failing the test if it cannot be sent.
    template <typename M>
    std::uint64_t send(M message)
    {
        auto sent = try_send(std::move(message));
        INFO((sent ? std::string() : sent.error().describe()));
        REQUIRE(sent.ok());
        return *sent;
    }

    // What arrived and was not taken yet, oldest first.
    [[nodiscard]] std::deque<Received>& inbox() { return inbox_; }
    // Turns the loop until `done()`, the connection closed, or `limit`; true if done() held.
    bool wait(const std::function<bool()>& done, std::chrono::milliseconds limit = kDefaultWait);
    // The next message, decoded: an Error if none comes within `limit` (or the connection
    // closed first) or it is not a message.
    Result<wire::Message> try_next(std::chrono::milliseconds limit = kDefaultWait);
    // The same, failing the test instead.
    wire::Message next(std::chrono::milliseconds limit = kDefaultWait)
    {
        auto message = try_next(limit);
        INFO((message ? std::string() : message.error().describe()));
        REQUIRE(message.ok());
        return std::move(message).value();
    }
    // The next message, which must be a T.
    template <typename T>
    T expect(std::chrono::milliseconds limit = kDefaultWait)
    {
        wire::Message message = next(limit);
        REQUIRE(std::holds_alternative<T>(message));
        return std::get<T>(message);
    }
    // The next message, which must be the reply to `msg_id`.
    wire::Reply reply(std::uint64_t msg_id)
    {
        auto reply = expect<wire::Reply>();
        CHECK(reply.msg_id == msg_id);
        return reply;
    }
    // True if nothing arrives for `period`.
    [[nodiscard]] bool quiet_for(std::chrono::milliseconds period);

    [[nodiscard]] bool closed() const { return close_reason_.has_value(); }
    [[nodiscard]] const std::optional<Error>& close_reason() const { return close_reason_; }
    // Orderly close from our side (no close is recorded).
    void close() { connection_->close(); }
    [[nodiscard]] io::Connection& connection() { return *connection_; }
    [[nodiscard]] GMainContext* context() const { return context_; }

private:
    RawClient(GMainContext* context, std::unique_ptr<io::Connection> connection);

    GMainContext* context_;
    std::unique_ptr<io::Connection> connection_;
    std::deque<Received> inbox_;
    MessageHandler on_message_;
    CloseHandler on_close_;
    std::optional<Error> close_reason_;
    std::uint64_t last_msg_id_ = 0;
};

// A request with its op (from the operation table; Op::unknown for a name it does not
// know), message id, callopts 0 and outer timeout 0.
wire::Request make_request(const std::string& op, std::uint64_t msg_id = 0);
// register as a 2.1.5 controller sends it.
wire::Request make_register(std::uint64_t msg_id, const std::string& name,
                            std::optional<std::string> version = "1.1", bool provider = false);

}  // namespace outpost::test
