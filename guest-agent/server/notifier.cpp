#include "server/notifier.hpp"

#include <algorithm>
#include <cerrno>

#include "util/log.hpp"

namespace outpost::agent::server {
namespace {

const log::Category log_cat{"agent.notify"};

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
        if (s->named()) named.push_back(s);
    }
    return named;
}

bool Notifier::send(ClientSession& session, std::string_view xml, const char* what)
{
    Status sent = session.send(xml);
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
    std::string xml;
    for (ClientSession* s : named_sessions()) {
        if (s->id() == newcomer.id()) continue;
        if (xml.empty()) xml = wire::encode(wire::NewClientNotify{});
        send(*s, xml, "new-client notification");
    }
}

void Notifier::reply(ClientSession& client, const wire::Reply& reply)
{
    send(client, wire::encode(reply), "reply");
}

void Notifier::exec_notify(const wire::ExecNotify& notify, std::string_view requester_id, bool requester_only)
{
    std::string xml;
    for (ClientSession* s : named_sessions()) {
        if (requester_only && s->id() != requester_id) continue;
        if (xml.empty()) xml = wire::encode(notify);
        send(*s, xml, "exec notification");
    }
    if (xml.empty()) {
        log_trace(log_cat, "Result of call %d (%s %s) had nobody to notify", notify.call_id,
                  log::quote(notify.rsc_id).c_str(), log::quote(notify.action).c_str());
    }
}

void Notifier::generic_notify(const wire::GenericNotify& notify)
{
    std::string xml;
    for (ClientSession* s : named_sessions()) {
        if (xml.empty()) xml = wire::encode(notify);
        send(*s, xml, "notification");
    }
}

void Notifier::proxy_notify(std::string_view provider_id, const wire::ProxyMessage& message)
{
    ClientSession* provider = find(provider_id);
    if (provider == nullptr) {
        log_debug(log_cat, "Dropped proxy %s for provider %.*s that is gone", message.op.c_str(),
                  static_cast<int>(provider_id.size()), provider_id.data());
        return;
    }
    send(*provider, wire::encode(message), "proxy message");
}

}  // namespace outpost::agent::server
