#include "server/notifier.hpp"

#include <algorithm>
#include <cerrno>

#include "util/log.hpp"

namespace outpost::agent::server {
namespace {

const log::Category log_cat{"agent.notify"};

// One message, encoded at most once per transport: with the TLS envelope for remote
// clients, without it for local executor clients.
template <typename M>
class Encoded {
public:
    explicit Encoded(const M& message) : message_(message) {}
    const std::string& for_session(const ClientSession& session)
    {
        std::string& slot = session.local() ? local_ : remote_;
        if (slot.empty()) slot = session.local() ? wire::encode_local(message_) : wire::encode(message_);
        return slot;
    }
    [[nodiscard]] bool used() const { return !remote_.empty() || !local_.empty(); }

private:
    const M& message_;
    std::string remote_;
    std::string local_;
};

}  // namespace

void Notifier::add(ClientSession& session)
{
    if (find(session.id()) == nullptr) sessions_.push_back(&session);
}

void Notifier::remove(std::string_view id)
{
    std::erase_if(sessions_, [&](const ClientSession* s) { return s->id() == id; });
}

ClientSession* Notifier::find(std::string_view id) const
{
    auto it = std::find_if(sessions_.begin(), sessions_.end(),
                           [&](const ClientSession* s) { return s->id() == id; });
    return it == sessions_.end() ? nullptr : *it;
}

ClientSession* Notifier::newest_provider() const
{
    ClientSession* newest = nullptr;
    for (ClientSession* s : sessions_) {
        if (s->is_provider() && (newest == nullptr || s->provider_order() > newest->provider_order()))
            newest = s;
    }
    return newest;
}

std::size_t Notifier::provider_count() const
{
    return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                                  [](const ClientSession* s) { return s->is_provider(); }));
}

std::vector<ClientSession*> Notifier::named_sessions() const
{
    std::vector<ClientSession*> named;
    for (ClientSession* s : sessions_) {
        if (s->notifiable()) named.push_back(s);
    }
    return named;
}

bool Notifier::send(ClientSession& session, std::string_view xml, const char* what)
{
    return deliver(session, xml, what, false);
}

bool Notifier::deliver(ClientSession& session, std::string_view xml, const char* what, bool reply)
{
    Status sent = reply ? session.send_reply(xml) : session.send(xml);
    if (sent) return true;
    if (sent.error().code == -ENOTCONN) {
        // The client is going away; what it did not get is dropped, never queued.
        log_debug(log_cat, "Dropped %s for closed client %s", what, session.describe().c_str());
        return false;
    }
    log_warning(log_cat, "Could not send %s to client %s: %s", what, session.describe().c_str(),
                sent.error().message.c_str());
    if (on_send_failure_) on_send_failure_(session, sent.error());
    return false;
}

void Notifier::new_client(const ClientSession& newcomer)
{
    const wire::NewClientNotify notify;
    Encoded encoded(notify);
    for (ClientSession* s : named_sessions()) {
        if (s->id() == newcomer.id()) continue;
        send(*s, encoded.for_session(*s), "new-client notification");
    }
}

void Notifier::reply(ClientSession& client, const wire::Reply& reply)
{
    deliver(client, client.local() ? wire::encode_local(reply) : wire::encode(reply), "reply", true);
}

void Notifier::exec_notify(const wire::ExecNotify& notify, std::string_view requester_id, bool requester_only)
{
    Encoded encoded(notify);
    for (ClientSession* s : named_sessions()) {
        if (requester_only && s->id() != requester_id) continue;
        send(*s, encoded.for_session(*s), "exec notification");
    }
    if (!encoded.used()) {
        log_trace(log_cat, "Result of call %d (%s %s) had nobody to notify", notify.call_id,
                  log::quote(notify.rsc_id).c_str(), log::quote(notify.action).c_str());
    }
}

void Notifier::generic_notify(const wire::GenericNotify& notify)
{
    Encoded encoded(notify);
    for (ClientSession* s : named_sessions())
        send(*s, encoded.for_session(*s), "notification");
}

void Notifier::proxy_notify(std::string_view provider_id, const wire::ProxyMessage& message)
{
    ClientSession* provider = find(provider_id);
    if (provider == nullptr) {
        log_debug(log_cat, "Dropped proxy %s for provider %.*s that is gone", message.op.c_str(),
                  static_cast<int>(provider_id.size()), provider_id.data());
        return;
    }
    send(*provider, provider->local() ? wire::encode_local(message) : wire::encode(message), "proxy message");
}

}  // namespace outpost::agent::server
