// ClientSession: what the server knows about one connected executor client, from the end of
// its TLS handshake (or its lrmd IPC connection) until its connection closes: id, name,
// provider flag, and where its messages go.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::agent::server {

// The id is server-generated (a random UUID, returned as lrmd_clientid by register); the name
// is the lrmd_clientname of the FIRST message that carried one (only named clients receive
// notifications, docs/protocol.md 3.3); a provider has an ordering stamp so the server can
// find the newest. The session does not own the socket: it sends through a sink the server
// gives it (the TLS connection; a recorder in tests), and once detached it silently drops
// what is sent, which is how notifications for a client that is gone are dropped rather than
// queued.
//
// A local session is a client of the `lrmd` local IPC service (docs/protocol.md 4.2): its
// messages carry no TLS envelope, replies travel as IPC responses (a second sink) and
// everything else as IPC events; 2.1.5 sends notifications to every local client, named or
// not.
class ClientSession {
public:
    using Sink = std::function<Status(std::string_view xml)>;

    ClientSession(std::string id, std::string peer_address, Sink sink);
    // A local executor client: `event_sink` for notifications, `reply_sink` for replies.
    ClientSession(std::string id, std::string peer_address, Sink event_sink, Sink reply_sink);
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;
    ~ClientSession() = default;

    [[nodiscard]] const std::string& id() const { return id_; }
    [[nodiscard]] const std::string& peer_address() const { return peer_address_; }
    [[nodiscard]] const std::optional<std::string>& name() const { return name_; }
    [[nodiscard]] bool named() const { return name_.has_value(); }
    // A client of the lrmd local IPC service (no envelope; replies are IPC responses).
    [[nodiscard]] bool local() const { return local_; }
    // Whether notifications go to it: named TLS clients and every local client.
    [[nodiscard]] bool notifiable() const { return named() || local(); }
    // Keeps the first name only. Returns true if this call named the session.
    bool note_name(std::string_view name);

    [[nodiscard]] bool is_provider() const { return provider_order_ != 0; }
    // Order among providers: larger = registered as provider more recently.
    [[nodiscard]] std::uint64_t provider_order() const { return provider_order_; }
    void make_provider(std::uint64_t order) { provider_order_ = order; }

    // Sends one message (XML text). After detach() it is dropped and ok is returned.
    Status send(std::string_view xml);
    // Sends the reply to a request: as send() for TLS clients, the IPC response for local ones.
    Status send_reply(std::string_view xml);
    void detach()
    {
        sink_ = nullptr;
        reply_sink_ = nullptr;
    }
    [[nodiscard]] bool attached() const { return static_cast<bool>(sink_); }

    // For log lines: the quoted name if there is one, else the id, plus the peer address.
    [[nodiscard]] std::string describe() const;

private:
    std::string id_;
    std::string peer_address_;
    std::optional<std::string> name_;
    std::uint64_t provider_order_ = 0;
    Sink sink_;
    Sink reply_sink_;  // local sessions only
    bool local_ = false;
};

}  // namespace outpost::agent::server
