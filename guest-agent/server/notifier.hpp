// Notifier: the server's Outbox over the live client sessions (docs/protocol.md 3.5): it keeps
// the connected sessions in connection order and fans each message out to the sessions it is
// for, encoded once per transport.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "wire/messages.hpp"

namespace outpost::agent::server {

// Replies go to their requester; exec notifies to every NAMED client, or only to the requester
// with call option notify_orig_only; generic notifies to every named client;
// lrmd_rsc_new_client to every named client except the newcomer; proxy traffic to one
// provider. Clients that never sent a name get replies but no notifications. Local executor
// sessions (ClientSession::local()) get every message without the TLS envelope, replies as
// IPC responses, and notifications whether or not they sent a name, as 2.1.5 does for its
// local IPC clients. Sessions are borrowed (the server removes one before destroying it). A
// message for a client that is gone is dropped, never queued; a send failure is logged and
// left to the on_send_failure hook (the connection's queue overflowed: drop the client).
class Notifier final : public Outbox {
public:
    // Called when sending to a session failed (other than "already closed").
    using SendFailure = std::function<void(ClientSession& session, const Error& error)>;

    Notifier() = default;
    explicit Notifier(SendFailure on_send_failure) : on_send_failure_(std::move(on_send_failure)) {}

    void add(ClientSession& session);
    void remove(std::string_view id);
    [[nodiscard]] ClientSession* find(std::string_view id) const;
    [[nodiscard]] std::size_t size() const { return sessions_.size(); }
    [[nodiscard]] const std::vector<ClientSession*>& sessions() const { return sessions_; }

    // The provider that registered most recently, or nullptr.
    [[nodiscard]] ClientSession* newest_provider() const;
    [[nodiscard]] std::size_t provider_count() const;

    // `newcomer` finished its TLS handshake: every other named client hears of it.
    void new_client(const ClientSession& newcomer);

    // Outbox
    void reply(ClientSession& client, const wire::Reply& reply) override;
    void exec_notify(const wire::ExecNotify& notify, std::string_view requester_id,
                     bool requester_only) override;
    void generic_notify(const wire::GenericNotify& notify) override;
    void proxy_notify(std::string_view provider_id, const wire::ProxyMessage& message) override;

    // Sends an encoded message to one session (reports failures like the rest).
    bool send(ClientSession& session, std::string_view xml, const char* what);

private:
    // Sessions that get notifications, at the time of the call (a failure hook must not
    // disturb the loop).
    [[nodiscard]] std::vector<ClientSession*> named_sessions() const;
    bool deliver(ClientSession& session, std::string_view xml, const char* what, bool reply);

    std::vector<ClientSession*> sessions_;
    SendFailure on_send_failure_;
};

}  // namespace outpost::agent::server
