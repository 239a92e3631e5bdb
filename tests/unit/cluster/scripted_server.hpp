// A local in-process Pacemaker Remote server for RemoteClient tests: a real io::Listener,
// real TLS (PSK) through Connection::accept_async(), and a script that decides what to send
// back for each request (or nothing, to test timeouts).
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch.hpp>

#include "io/connection.hpp"
#include "io/listener.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "tls/context.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

class ScriptedServer {
public:
    // Gets each decoded request and returns the XML messages to send back (in order).
    using Script = std::function<std::vector<std::string>(const wire::Request&, ScriptedServer&)>;

    ScriptedServer(GMainContext* context, Script script) : context_(context), script_(std::move(script))
    {
        server_tls_.emplace(key_.server_tls());
        auto listener = io::Listener::create("127.0.0.1", 0, context, [this](UniqueFd fd, std::string peer) {
            accepting_.push_back(io::Connection::accept_async(
                std::move(fd), std::move(peer), *server_tls_, context_, {},
                [this](Result<std::unique_ptr<io::Connection>> ready) {
                    if (!ready.ok()) return;
                    auto connection = std::move(ready).value();
                    io::Connection* raw = connection.get();
                    connection->start([this, raw](std::string xml) { on_message(raw, xml); },
                                      [this](const Error&) { ++closed_by_peer; });
                    connections.push_back(std::move(connection));
                    // Every other client learns of the newcomer, as remoted does.
                    for (auto& other : connections) {
                        if (other.get() != raw && other->is_open()) {
                            (void)other->send(wire::encode(wire::NewClientNotify{}));
                        }
                    }
                }));
        });
        REQUIRE(listener.ok());
        listener_ = std::move(listener).value();
    }

    [[nodiscard]] std::uint16_t port() const { return listener_->port(); }
    [[nodiscard]] tls::TlsContext client_tls() const { return key_.client_tls(); }

    // Sends to the most recent connection.
    void send(const std::string& xml)
    {
        REQUIRE(!connections.empty());
        REQUIRE(connections.back()->send(xml).ok());
    }
    void close_all()
    {
        for (auto& connection : connections)
            connection->close();
    }

    static std::string register_reply(const wire::Request& request, const std::string& version = "1.1",
                                      int rc = 0)
    {
        wire::Reply reply;
        reply.msg_id = request.msg_id;
        reply.origin = std::string(wire::origin::signon);
        reply.rc = rc;
        reply.call_id = 1;
        reply.op = "register";
        reply.client_id = "11111111-2222-3333-4444-555555555555";
        reply.protocol_version = version;
        return wire::encode(reply);
    }
    static std::string reply(const wire::Request& request, int rc)
    {
        wire::Reply reply;
        reply.msg_id = request.msg_id;
        reply.rc = rc;
        reply.call_id = rc > 0 ? rc : 1;
        return wire::encode(reply);
    }

    std::vector<wire::Request> requests;
    std::vector<std::unique_ptr<io::Connection>> connections;
    int closed_by_peer = 0;

private:
    void on_message(io::Connection* from, const std::string& xml)
    {
        auto decoded = wire::decode_message(xml);
        if (!decoded.ok()) return;
        std::vector<std::string> answers;
        if (auto* request = std::get_if<wire::Request>(&decoded.value())) {
            requests.push_back(*request);
            answers = script_(*request, *this);
        } else if (auto* proxy = std::get_if<wire::ProxyMessage>(&decoded.value())) {
            proxies.push_back(*proxy);
            wire::Reply ack;
            ack.msg_id = proxy->msg_id;
            answers.push_back(wire::encode(ack));
        }
        for (const auto& answer : answers) {
            if (from->is_open()) (void)from->send(answer);
        }
    }

public:
    std::vector<wire::ProxyMessage> proxies;

private:
    GMainContext* context_;
    Script script_;
    PskKey key_;
    std::optional<tls::TlsContext> server_tls_;
    std::unique_ptr<io::Listener> listener_;
    std::vector<std::unique_ptr<io::PendingConnection>> accepting_;
};

}  // namespace outpost::test
