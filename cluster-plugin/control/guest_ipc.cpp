#include "control/guest_ipc.hpp"

#include <algorithm>
#include <ctime>
#include <optional>
#include <utility>

#include "controller/pacemakerd.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/frame.hpp"
#include "wire/xml.hpp"

namespace outpost::cluster::control {

namespace {

const log::Category log_cat{"control.guest_ipc"};

// What a reply or notification may weigh once parsed back for the wire: as much as any
// message the connection carries.
constexpr std::size_t kMaxAnswerSize = wire::kDefaultMaxMessageSize;

std::optional<std::pair<bool, bool>> channel_kind(const std::string& server)
{
    // {is CIB, read-only}
    if (server == "cib_ro") return std::pair{true, true};
    // A 2.1.5 remote daemon forwards cib_shm as cib_rw; another may name it.
    if (server == "cib_rw" || server == "cib_shm") return std::pair{true, false};
    if (server == "pacemakerd") return std::pair{false, false};
    return std::nullopt;
}

bool acceptable_user(const std::string& user)
{
    return user.size() <= kMaxProxyUserLength && std::none_of(user.begin(), user.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20;
           });
}

}  // namespace

GuestIpc::GuestIpc(controller::CibService& service, std::string node, ShutdownHandler on_shutdown)
    : service_(service), node_(std::move(node)), on_shutdown_(std::move(on_shutdown))
{
    service_.add_listener(*this);
}

GuestIpc::~GuestIpc()
{
    service_.remove_listener(*this);
    for (const auto& [id, session] : sessions_)
        if (session.face_client != 0) faces_->close_proxied(session.face_client);
}

bool GuestIpc::open_proxied(const connection::ProxySession& session, connection::IpcChannel& channel)
{
    controller::ProxiedFaces::Carrier carrier;
    carrier.node = node_;
    const std::string id = session.id;
    carrier.send = [id, &channel](bool response, std::int32_t msg_id, const std::string& xml) -> Status {
        auto msg = wire::parse_xml(xml, kMaxAnswerSize);
        if (!msg) return msg.error();
        return response ? channel.respond(id, static_cast<std::uint32_t>(msg_id), std::move(*msg))
                        : channel.event(id, std::move(*msg));
    };
    carrier.close = [this, id, &channel](const std::string& why) {
        // The face has forgotten its client already.
        if (auto found = sessions_.find(id); found != sessions_.end()) found->second.face_client = 0;
        close(id, channel, why.c_str());
    };
    auto opened = faces_->open_proxied(session.server, std::move(carrier));
    if (!opened) {
        log_info(log_cat, "Refusing %s's proxied %s session: %s", node_.c_str(),
                 log::quote(session.server).c_str(), opened.error().message.c_str());
        return false;
    }
    Session proxied;
    proxied.channel = Channel::proxied;
    proxied.carrier = &channel;
    proxied.face_client = *opened;
    sessions_[session.id] = std::move(proxied);
    log_debug(log_cat, "%s opened proxied session %s on %s", node_.c_str(), log::quote(session.id).c_str(),
              session.server.c_str());
    return true;
}

void GuestIpc::forget(const std::string& session)
{
    auto found = sessions_.find(session);
    if (found == sessions_.end()) return;
    const auto face_client = found->second.face_client;
    sessions_.erase(found);
    if (face_client != 0) faces_->close_proxied(face_client);
}

bool GuestIpc::session_opened(const connection::ProxySession& session, connection::IpcChannel& channel)
{
    if ((session.server == "crmd" || session.server == "stonith-ng") && faces_ != nullptr)
        return open_proxied(session, channel);
    auto kind = channel_kind(session.server);
    const bool attrd = session.server == "attrd" && attributes_ != nullptr;
    if (!kind && !attrd) {
        if (refused_logged_.size() < kMaxRefusedChannelsLogged &&
            refused_logged_.insert(session.server).second) {
            log_info(log_cat,
                     "Refusing %s's proxied %s sessions: outpost-controld does not serve that channel",
                     node_.c_str(), log::quote(session.server).c_str());
        } else {
            log_debug(log_cat, "Refused %s's proxied session %s on %s", node_.c_str(),
                      log::quote(session.id).c_str(), log::quote(session.server).c_str());
        }
        return false;
    }
    Session opened;
    if (attrd) {
        opened.channel = Channel::attrd;
    } else {
        opened.channel =
            kind->first ? (kind->second ? Channel::cib_ro : Channel::cib_rw) : Channel::pacemakerd;
    }
    opened.cib.id = random_uuid();
    opened.cib.read_only = opened.channel == Channel::cib_ro;
    opened.carrier = &channel;
    sessions_[session.id] = std::move(opened);
    log_debug(log_cat, "%s opened proxied session %s on %s", node_.c_str(), log::quote(session.id).c_str(),
              session.server.c_str());
    return true;
}

void GuestIpc::session_closed(const connection::ProxySession& session)
{
    if (sessions_.count(session.id) == 0) return;
    forget(session.id);
    log_debug(log_cat, "%s closed proxied session %s", node_.c_str(), log::quote(session.id).c_str());
}

connection::ShutdownAnswer GuestIpc::shutdown_requested()
{
    if (on_shutdown_) return on_shutdown_();
    log_notice(log_cat, "%s asks to shut down: answered nack (no controller drains it)", node_.c_str());
    return connection::ShutdownAnswer::nack;
}

void GuestIpc::close(const std::string& session, connection::IpcChannel& channel, const char* why)
{
    log_warning(log_cat, "Closing %s's proxied session %s: %s", node_.c_str(), log::quote(session).c_str(),
                why);
    forget(session);
    Status sent = channel.destroy(session);
    if (!sent.ok()) log_debug(log_cat, "destroy not sent: %s", sent.error().message.c_str());
}

void GuestIpc::answer(const connection::ProxyRequest& request, connection::IpcChannel& channel,
                      const std::string& xml)
{
    auto msg = wire::parse_xml(xml, kMaxAnswerSize);
    if (!msg) {
        // Our own reply: a CIB larger than a message may carry.
        log_warning(log_cat, "Cannot answer %s's proxied session %s: %s", node_.c_str(),
                    log::quote(request.session.id).c_str(), msg.error().message.c_str());
        return;
    }
    Status sent = request.wants_response()
                      ? channel.respond(request.session.id, request.msg_id, std::move(*msg))
                      : channel.event(request.session.id, std::move(*msg));
    if (!sent.ok())
        log_debug(log_cat, "answer to %s not sent: %s", node_.c_str(), sent.error().message.c_str());
}

void GuestIpc::request(const connection::ProxyRequest& request, connection::IpcChannel& channel)
{
    auto found = sessions_.find(request.session.id);
    if (found == sessions_.end()) return;  // the bridge only forwards sessions we accepted
    Session& session = found->second;
    if (!acceptable_user(request.user)) {
        close(request.session.id, channel, "the request names an unacceptable user");
        return;
    }
    if (!request.user.empty()) session.cib.user = request.user;
    if (session.channel == Channel::proxied) {
        faces_->proxied_request(session.face_client, static_cast<std::int32_t>(request.msg_id), request.flags,
                                wire::serialize(request.msg));
        return;
    }
    const std::string xml = wire::serialize(request.msg);
    if (session.channel == Channel::pacemakerd) {
        handle_pacemakerd(request, channel);
        return;
    }
    if (session.channel == Channel::attrd) {
        handle_attrd(request, channel);
        return;
    }
    // `session` may be gone once the reply was sent (the service uses it no more then).
    service_.handle(session.cib, xml, kMaxAnswerSize, request.wants_response(),
                    [&](const std::string& reply) { answer(request, channel, reply); });
}

void GuestIpc::handle_pacemakerd(const connection::ProxyRequest& request, connection::IpcChannel& channel)
{
    auto reply = controller::pacemakerd_reply(wire::serialize(request.msg), std::time(nullptr));
    if (!reply) {
        close(request.session.id, channel, reply.error().message.c_str());
        return;
    }
    // As the local face: a tool waiting for a response gets the ack as that response and
    // the answer as an event; an asynchronous ping gets the answer alone.
    if (request.wants_response() || reply->event.empty()) answer(request, channel, reply->ack);
    if (reply->event.empty()) return;
    auto event = wire::parse_xml(reply->event, kMaxAnswerSize);
    if (!event) return;
    Status sent = channel.event(request.session.id, std::move(*event));
    if (!sent.ok()) log_debug(log_cat, "pacemakerd answer not sent: %s", sent.error().message.c_str());
}

void GuestIpc::handle_attrd(const connection::ProxyRequest& request, connection::IpcChannel& channel)
{
    auto op = controller::parse_attrd_op(wire::serialize(request.msg));
    if (!op) {
        close(request.session.id, channel, op.error().message.c_str());
        return;
    }
    log_debug(log_cat, "%s's proxied attrd %s of %s (host %s, remote %d)", node_.c_str(), op->task.c_str(),
              log::quote(op->name).c_str(), log::quote(op->host).c_str(), op->is_remote ? 1 : 0);
    answer(request, channel, attributes_->handle(*op, node_));
}

void GuestIpc::cib_changed(const controller::CibChange& change)
{
    for (auto& [id, session] : sessions_) {
        if (!session.cib.diff_notify || session.carrier == nullptr) continue;
        const std::string* text = change.notification_for(session.cib);  // ACLs may hide it
        if (text == nullptr) continue;
        if (text != &change.notification()) {  // a user's own view: parsed for them
            auto own = wire::parse_xml(*text);
            if (own) (void)session.carrier->event(id, *own);
            continue;
        }
        const auto& notification = change.notification_element();  // parsed once for every node
        if (!notification) {
            log_warning(log_cat, "Cannot notify %s's CIB sessions: %s", node_.c_str(),
                        notification.error().message.c_str());
            return;
        }
        Status sent = session.carrier->event(id, *notification);
        if (!sent.ok())
            log_debug(log_cat, "notification to %s not sent: %s", node_.c_str(),
                      sent.error().message.c_str());
    }
}

}  // namespace outpost::cluster::control
