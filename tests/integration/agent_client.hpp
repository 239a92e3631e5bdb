// AgentTestClient: a minimal synchronous executor client over our io and wire modules, for
// the agent-smoke tests (test_agent_smoke.cpp, test_agent_options.cpp). It connects to a
// GuestDaemon (the real pacemaker-remoted or outpost-agent) with the daemon's PSK, or with
// any TlsContext (X.509), pumps its own GMainContext while it waits, and hands messages
// over decoded. Not a product client: no reconnects, no late-reply bookkeeping.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "io/connection.hpp"
#include "io/source.hpp"
#include "support/main_loop.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

using namespace std::chrono_literals;

class AgentTestClient {
public:
    // PSK with the daemon's own key.
    AgentTestClient(GMainContext* context, const GuestDaemon& daemon)
        : AgentTestClient(context, daemon.address(), daemon.port(), psk(daemon.authkey().bytes()))
    {
    }
    // Any credentials; fails the test case if the connection cannot be made.
    AgentTestClient(GMainContext* context, const std::string& address, std::uint16_t port,
                    const tls::TlsContext& tls)
        : context_(context)
    {
        auto connected = connect(context, address, port, tls);
        INFO((connected ? std::string() : connected.error().describe()));
        REQUIRE(connected);
        start(std::move(connected).value());
    }

    // Connects, or says why it could not (a refused handshake, a timeout).
    static Result<std::unique_ptr<io::Connection>> connect(GMainContext* context, const std::string& address,
                                                           std::uint16_t port, const tls::TlsContext& tls)
    {
        bool done = false;
        std::optional<Result<std::unique_ptr<io::Connection>>> outcome;
        auto pending = io::Connection::connect_async(address, port, tls, context, {},
                                                     [&](Result<std::unique_ptr<io::Connection>> r) {
                                                         done = true;
                                                         outcome.emplace(std::move(r));
                                                     });
        if (!run_until(
                context, [&] { return done; }, 15s))
            return make_error("test", -ETIMEDOUT, "no connection within 15 s");
        return std::move(*outcome);
    }

    static tls::TlsContext psk(const std::string& key) { return test::psk_client(key); }

    std::uint64_t send(wire::Request request)
    {
        request.msg_id = ++last_msg_id_;
        require_ok(connection_->send(wire::encode(request)));
        return request.msg_id;
    }

    wire::Message next(std::chrono::milliseconds limit = 10s)
    {
        INFO("waiting for a message from the daemon");
        REQUIRE(run_until(
            context_, [&] { return !inbox_.empty() || closed_; }, limit));
        REQUIRE_FALSE(inbox_.empty());
        std::string xml = std::move(inbox_.front());
        inbox_.pop_front();
        auto decoded = wire::decode_message(xml);
        INFO(xml);
        require_ok(decoded);
        return std::move(decoded).value();
    }

    wire::Reply reply(std::uint64_t msg_id)
    {
        wire::Message message = next();
        REQUIRE(std::holds_alternative<wire::Reply>(message));
        auto reply = std::get<wire::Reply>(message);
        CHECK(reply.msg_id == msg_id);
        return reply;
    }

    template <typename T>
    T expect(std::chrono::milliseconds limit = 10s)
    {
        wire::Message message = next(limit);
        REQUIRE(std::holds_alternative<T>(message));
        return std::get<T>(message);
    }

    [[nodiscard]] bool quiet_for(std::chrono::milliseconds period)
    {
        (void)run_until(
            context_, [&] { return !inbox_.empty(); }, period);
        return inbox_.empty();
    }

    void send_proxy(const std::string& op)
    {
        wire::ProxyMessage message;
        message.type = wire::MsgType::request;
        message.msg_id = ++last_msg_id_;
        message.op = op;
        require_ok(connection_->send(wire::encode(message)));
    }

    [[nodiscard]] bool closed() const { return closed_; }
    void close() { connection_->close(); }

private:
    void start(std::unique_ptr<io::Connection> connection)
    {
        connection_ = std::move(connection);
        connection_->start([this](std::string xml) { inbox_.push_back(std::move(xml)); },
                           [this](const Error&) { closed_ = true; });
    }

    GMainContext* context_;
    std::unique_ptr<io::Connection> connection_;
    std::deque<std::string> inbox_;
    bool closed_ = false;
    std::uint64_t last_msg_id_ = 0;
};

// A request with only the op set (callopts and timeout 0).
inline wire::Request make_request(const std::string& op)
{
    wire::Request r;
    const wire::OpInfo* info = wire::find_op(op);
    REQUIRE(info != nullptr);
    r.op = info->op;
    r.op_name = op;
    r.callopts = 0;
    r.timeout_ms = 0;
    return r;
}

// register as a 2.1.5 controller does (protocol 1.1).
inline wire::Request make_hello(const std::string& name, bool ipc_provider = false)
{
    wire::Request hello = make_request("register");
    hello.client_name = name;
    hello.protocol_version = "1.1";
    hello.ipc_provider = ipc_provider;
    return hello;
}

}  // namespace outpost::test
