#include "server/client_session.hpp"

#include "util/log.hpp"

namespace outpost::agent::server {

ClientSession::ClientSession(std::string id, std::string peer_address, Sink sink)
    : id_(std::move(id)), peer_address_(std::move(peer_address)), sink_(std::move(sink))
{
}

ClientSession::ClientSession(std::string id, std::string peer_address, Sink event_sink, Sink reply_sink)
    : id_(std::move(id)),
      peer_address_(std::move(peer_address)),
      sink_(std::move(event_sink)),
      reply_sink_(std::move(reply_sink)),
      local_(true)
{
}

bool ClientSession::note_name(std::string_view name)
{
    if (name_) return false;
    name_ = std::string(name);
    return true;
}

Status ClientSession::send(std::string_view xml)
{
    if (!sink_) return {};
    return sink_(xml);
}

Status ClientSession::send_reply(std::string_view xml)
{
    if (reply_sink_) return reply_sink_(xml);
    return send(xml);
}

std::string ClientSession::describe() const
{
    std::string text = name_ ? log::quote(*name_) : id_;
    if (!peer_address_.empty()) text += " at " + peer_address_;
    return text;
}

}  // namespace outpost::agent::server
