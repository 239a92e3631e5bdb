#include "connection/remote_client.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <utility>

#include "util/log.hpp"
#include "util/version.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::connection {

namespace {

const log::Category log_cat{"cluster.client"};

Error client_error(int code, std::string message)
{
    return make_error("client", code, std::move(message));
}

}  // namespace

RemoteClient::RemoteClient(GMainContext* context, tls::TlsContext tls, ClientOptions options)
    : context_(context), tls_(std::move(tls)), options_(std::move(options))
{
    if (options_.max_msg_id == 0) options_.max_msg_id = kDefaultMaxMsgId;
}

RemoteClient::~RemoteClient()
{
    lifetime_.end();
    if (connection_) connection_->close();
}

std::string RemoteClient::tls_description() const
{
    return connection_ ? connection_->tls_description() : std::string();
}

Subscription RemoteClient::subscribe(Handlers handlers)
{
    Subscription id = next_subscription_++;
    subscribers_.emplace(id, std::move(handlers));
    return id;
}

void RemoteClient::unsubscribe(Subscription id)
{
    subscribers_.erase(id);
}

// ---- connect and register ---------------------------------------------------------------

void RemoteClient::connect(DoneCallback done)
{
    if (connection_ || pending_connection_) {
        fail_soon([done = std::move(done)](const Result<wire::Reply>& r) { done(Status(r.error())); },
                  client_error(-EISCONN, "connection to " + options_.host + " already open or opening"));
        return;
    }
    connect_done_ = std::move(done);
    io::ConnectOptions connect_options;
    connect_options.connect_timeout = options_.connect_timeout;
    connect_options.handshake_timeout = options_.handshake_timeout;
    connect_options.limits = options_.limits;
    const Lifetime::Watch alive = lifetime_.watch();
    pending_connection_ =
        io::Connection::connect_async(options_.host, options_.port, tls_, context_, connect_options,
                                      [this, alive](Result<std::unique_ptr<io::Connection>> result) {
                                          if (!alive) return;
                                          on_ready(std::move(result));
                                      });
}

void RemoteClient::on_ready(Result<std::unique_ptr<io::Connection>> result)
{
    // Destroying the PendingConnection from its own callback is allowed; keep it until we
    // return all the same, so nothing is torn down under our feet.
    auto finished = std::move(pending_connection_);
    if (!result.ok()) {
        finish_connect(Status(result.error()));
        return;
    }
    connection_ = std::move(result).value();
    log_debug(log_cat, "connected to %s:%u (%s)", options_.host.c_str(), options_.port,
              connection_->tls_description().c_str());
    const Lifetime::Watch alive = lifetime_.watch();
    connection_->start(
        [this, alive](const std::string& xml) {
            if (!alive) return;
            on_message(xml);
        },
        [this, alive](const Error& reason) {
            if (!alive) return;
            drop(reason, true);
        });

    wire::Request hello;
    hello.op = wire::Op::register_client;
    hello.op_name = std::string(wire::op_info(wire::Op::register_client).name);
    hello.client_name = options_.client_name;
    hello.protocol_version = std::string(wire::kProtocolVersion);
    hello.ipc_provider = options_.ipc_provider;
    send_request(std::move(hello), [this, alive](Result<wire::Reply> reply) {
        if (!alive) return;
        on_register_reply(std::move(reply));
    });
}

void RemoteClient::on_register_reply(Result<wire::Reply> result)
{
    if (!result.ok()) {
        Error error = result.error();
        drop(error, false);
        finish_connect(Status(std::move(error)));
        return;
    }
    const wire::Reply& reply = *result;
    std::optional<Error> refusal;
    const std::optional<long> major =
        reply.protocol_version ? version::major(*reply.protocol_version) : std::nullopt;
    if (reply.rc != 0) {
        refusal = client_error(reply.rc, "server " + options_.host + " refused registration (rc " +
                                             std::to_string(reply.rc) + ")");
    } else if (!major) {
        refusal =
            client_error(-EPROTO, "register reply from " + options_.host + " has no usable protocol version");
    } else if (*major != wire::kProtocolMajor) {
        // 1.x is the only family there is; the server must speak it.
        refusal = client_error(-EPROTO, "server " + options_.host + " speaks protocol version " +
                                            *reply.protocol_version + ", not 1.x");
    } else if (!reply.client_id || reply.client_id->empty()) {
        refusal = client_error(-EPROTO, "register reply from " + options_.host + " has no client id");
    }
    if (refusal) {
        drop(*refusal, false);
        finish_connect(Status(std::move(*refusal)));
        return;
    }
    server_.client_id = *reply.client_id;
    server_.protocol_version = *reply.protocol_version;
    server_.uptime_s = reply.uptime;
    server_.node_start_state = reply.node_start_state;
    registered_ = true;
    log_debug(log_cat, "registered with %s as %s (protocol %s)", options_.host.c_str(),
              log::quote(options_.client_name).c_str(), server_.protocol_version.c_str());
    finish_connect(Status());
}

void RemoteClient::finish_connect(Status status)
{
    DoneCallback done = std::move(connect_done_);
    connect_done_ = nullptr;
    if (done) done(std::move(status));
}

// ---- sending ----------------------------------------------------------------------------

std::uint64_t RemoteClient::next_msg_id()
{
    // Skip an id still awaiting its reply after a wrap (it would be ambiguous).
    for (std::size_t tries = 0; tries <= pending_.size(); ++tries) {
        last_msg_id_ = last_msg_id_ >= options_.max_msg_id ? 1 : last_msg_id_ + 1;
        if (pending_.count(last_msg_id_) == 0) break;
    }
    return last_msg_id_;
}

wire::Request RemoteClient::make_request(wire::Op op) const
{
    wire::Request request;
    request.op = op;
    request.callopts = 0;
    return addressed(std::move(request));
}

wire::Request RemoteClient::addressed(wire::Request request) const
{
    request.op_name = std::string(wire::op_info(request.op).name);
    request.async_id = server_.client_id;
    return request;
}

void RemoteClient::fail_soon(ReplyCallback done, Error error)
{
    deferred_.later([done = std::move(done), error = std::move(error)] { done(Result<wire::Reply>(error)); });
}

void RemoteClient::send_request(wire::Request request, ReplyCallback done, std::optional<ExecRequest> exec)
{
    assert(request.op == wire::Op::unknown || wire::op_info(request.op).has_reply);
    if (!connection_ || !connection_->is_open()) {
        fail_soon(std::move(done), client_error(-ENOTCONN, "not connected to " + options_.host));
        return;
    }
    request.msg_id = next_msg_id();
    if (pending_.count(request.msg_id) != 0) {
        // Only possible with a tiny max_msg_id: every id is awaiting its reply.
        fail_soon(std::move(done), client_error(-EBUSY, "no free message id for " + options_.host));
        return;
    }
    wire::Op op = request.op;
    std::uint64_t id = request.msg_id;
    std::string xml = wire::encode(request);
    log_trace(log_cat, "to %s: %s", options_.host.c_str(), log::quote(xml, 2000).c_str());
    Status sent = connection_->send(xml);
    if (!sent.ok()) {
        fail_soon(std::move(done), sent.error());
        return;
    }
    Pending pending;
    pending.done = std::move(done);
    pending.op = op;
    pending.exec = std::move(exec);
    const Lifetime::Watch alive = lifetime_.watch();
    pending.timer = io::add_timeout(context_, options_.reply_timeout, [this, alive, id] {
        if (!alive) return;
        on_reply_timeout(id);
    });
    pending_.insert_or_assign(id, std::move(pending));
}

Status RemoteClient::send_untracked(wire::Request request)
{
    if (!connected()) return client_error(-ENOTCONN, "not connected to " + options_.host);
    request.msg_id = next_msg_id();
    return send_unawaited(wire::encode(request), request.msg_id, request.op);
}

Status RemoteClient::send_unawaited(const std::string& xml, std::uint64_t msg_id, wire::Op op)
{
    Status sent = connection_->send(xml);
    if (!sent.ok()) return sent;
    // The table says whether a reply will come; one that does is recognised and ignored.
    if (wire::op_info(op).has_reply) {
        late_ids_.push_back(msg_id);
        if (late_ids_.size() > kMaxLateReplyIds) late_ids_.erase(late_ids_.begin());
    }
    return {};
}

void RemoteClient::request(wire::Request request, ReplyCallback done)
{
    if (request.op != wire::Op::unknown && !wire::op_info(request.op).has_reply) {
        fail_soon(std::move(done), client_error(-EINVAL, std::string(wire::op_info(request.op).name) +
                                                             " is never answered: send it with check()"));
        return;
    }
    if (request.async_id.empty()) request.async_id = server_.client_id;
    if (request.op_name.empty() && request.op != wire::Op::unknown) {
        request.op_name = std::string(wire::op_info(request.op).name);
    }
    send_request(std::move(request), std::move(done));
}

// ---- operations -------------------------------------------------------------------------

namespace {
// A negative rc as an Error naming the operation.
Error rc_error(const std::string& what, int rc)
{
    return client_error(rc, what + " failed: rc " + std::to_string(rc));
}
}  // namespace

void RemoteClient::register_rsc(const std::string& rsc_id, const std::string& rsc_class,
                                const std::string& provider, const std::string& type, DoneCallback done,
                                unsigned callopts)
{
    wire::Request request = make_request(wire::Op::rsc_register);
    request.callopts = callopts;
    wire::RscData data;
    data.origin = "lrmd_api_register_rsc";
    data.id = rsc_id;
    data.rsc_class = rsc_class;
    if (!provider.empty()) data.provider = provider;
    data.type = type;
    request.rsc = std::move(data);
    send_request(std::move(request), [done = std::move(done), rsc_id](Result<wire::Reply> reply) {
        if (!reply.ok()) return done(Status(reply.error()));
        if (reply->rc != 0)
            return done(Status(rc_error("registering resource " + log::quote(rsc_id), reply->rc)));
        done(Status());
    });
}

void RemoteClient::unregister_rsc(const std::string& rsc_id, DoneCallback done)
{
    wire::Request request = make_request(wire::Op::rsc_unregister);
    wire::RscData data;
    data.origin = "lrmd_api_unregister_rsc";
    data.id = rsc_id;
    request.rsc = std::move(data);
    const Lifetime::Watch alive = lifetime_.watch();
    send_request(
        std::move(request), [this, alive, done = std::move(done), rsc_id](Result<wire::Reply> reply) {
            if (!reply.ok()) return done(Status(reply.error()));
            // -EINPROGRESS: removed all the same; the running op's result comes later.
            if (reply->rc != wire::rc::ok && reply->rc != wire::rc::in_progress) {
                return done(Status(rc_error("unregistering resource " + log::quote(rsc_id), reply->rc)));
            }
            // Nothing recurring runs for a resource that is gone.
            if (alive.alive()) forget_recurring(rsc_id);
            done(Status());
        });
}

void RemoteClient::rsc_info(const std::string& rsc_id,
                            std::function<void(Result<std::optional<wire::RscInfo>>)> done)
{
    wire::Request request = make_request(wire::Op::rsc_info);
    wire::RscData data;
    data.origin = "lrmd_api_get_rsc_info";
    data.id = rsc_id;
    request.rsc = std::move(data);
    send_request(std::move(request), [done = std::move(done), rsc_id](Result<wire::Reply> reply) {
        using R = Result<std::optional<wire::RscInfo>>;
        if (!reply.ok()) return done(R(reply.error()));
        if (reply->rc == wire::rc::no_device) return done(R(std::optional<wire::RscInfo>()));
        if (reply->rc != 0) return done(R(rc_error("resource info of " + log::quote(rsc_id), reply->rc)));
        if (!reply->rsc_info) {
            return done(
                R(client_error(-EPROTO, "resource info reply for " + log::quote(rsc_id) + " has no data")));
        }
        done(R(std::optional<wire::RscInfo>(*reply->rsc_info)));
    });
}

void RemoteClient::exec(const ExecRequest& exec_request, std::function<void(Result<int>)> done)
{
    if (execs_.size() >= kMaxPendingExecs) {
        fail_soon([done = std::move(done)](const Result<wire::Reply>& r) { done(Result<int>(r.error())); },
                  client_error(-ENOBUFS, "too many operations awaiting completion"));
        return;
    }
    wire::Request request = addressed(wire::to_request(exec_request));
    std::string what =
        exec_request.rsc_id + "_" + exec_request.action + "_" + std::to_string(exec_request.interval_ms);
    send_request(
        std::move(request),
        [done = std::move(done), what](Result<wire::Reply> reply) {
            if (!reply.ok()) return done(Result<int>(reply.error()));
            if (reply->rc <= 0)
                return done(Result<int>(rc_error("executing " + log::quote(what), reply->rc)));
            done(Result<int>(reply->rc));
        },
        exec_request);
}

void RemoteClient::cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms,
                          DoneCallback done)
{
    wire::Request request = make_request(wire::Op::rsc_cancel);
    wire::RscData data;
    data.origin = "lrmd_api_cancel";
    data.id = rsc_id;
    data.action = action;
    data.interval_ms = interval_ms;
    request.rsc = std::move(data);
    std::string what = rsc_id + "_" + action + "_" + std::to_string(interval_ms);
    const Lifetime::Watch alive = lifetime_.watch();
    send_request(std::move(request), [this, alive, done = std::move(done), what, rsc_id, action,
                                      interval_ms](Result<wire::Reply> reply) {
        if (!reply.ok()) return done(Status(reply.error()));
        if (reply->rc != 0) return done(Status(rc_error("cancelling " + log::quote(what), reply->rc)));
        // Its cancel notify normally came first; if it did not, a later drop must not
        // report the cancelled operation as failed.
        if (interval_ms > 0 && alive.alive()) forget_recurring(rsc_id, action, interval_ms);
        done(Status());
    });
}

void RemoteClient::get_recurring(const std::string& rsc_id,
                                 std::function<void(Result<std::vector<wire::RecurringList>>)> done)
{
    wire::Request request = make_request(wire::Op::get_recurring);
    if (!rsc_id.empty()) {
        wire::RscData data;
        data.origin = "lrmd_api_get_recurring_ops";
        data.id = rsc_id;
        request.rsc = std::move(data);
    }
    send_request(std::move(request), [done = std::move(done)](Result<wire::Reply> reply) {
        using R = Result<std::vector<wire::RecurringList>>;
        if (!reply.ok()) return done(R(reply.error()));
        if (reply->rc != 0) return done(R(rc_error("listing recurring operations", reply->rc)));
        done(R(std::move(reply->recurring)));
    });
}

void RemoteClient::alert_exec(const AlertRequest& alert, DoneCallback done)
{
    wire::Request request = addressed(wire::to_request(alert));
    std::string id = alert.id;
    send_request(std::move(request), [done = std::move(done), id](Result<wire::Reply> reply) {
        if (!reply.ok()) return done(Status(reply.error()));
        if (reply->rc != 0) return done(Status(rc_error("alert " + log::quote(id), reply->rc)));
        done(Status());
    });
}

Status RemoteClient::poke()
{
    wire::Request request = make_request(wire::Op::poke);
    wire::RscData data;
    data.origin = "lrmd_api_poke_connection";
    request.rsc = std::move(data);
    return send_untracked(std::move(request));
}

Status RemoteClient::check(const std::optional<std::string>& watchdog)
{
    wire::Request request = make_request(wire::Op::check);
    request.watchdog = watchdog;
    return send_untracked(std::move(request));
}

Status RemoteClient::ipc_fwd(wire::ProxyMessage message)
{
    if (!connected()) return client_error(-ENOTCONN, "not connected to " + options_.host);
    message.type = wire::MsgType::request;
    message.msg_id = next_msg_id();
    return send_unawaited(wire::encode(message), message.msg_id, wire::Op::ipc_fwd);
}

// ---- receiving --------------------------------------------------------------------------

template <typename Call>
bool RemoteClient::each_subscriber(const Call& call)
{
    const Lifetime::Watch alive = lifetime_.watch();
    std::vector<Subscription> ids;
    ids.reserve(subscribers_.size());
    for (const auto& entry : subscribers_)
        ids.push_back(entry.first);
    for (Subscription id : ids) {
        if (!alive) return false;
        auto found = subscribers_.find(id);
        if (found == subscribers_.end()) continue;
        Handlers handlers = found->second;  // a copy: the handler may unsubscribe
        call(handlers);
    }
    return alive.alive();
}

void RemoteClient::on_message(const std::string& xml)
{
    log_trace(log_cat, "from %s: %s", options_.host.c_str(), log::quote(xml, 2000).c_str());
    auto decoded = wire::decode_message(xml, options_.limits.max_message_size);
    if (!decoded.ok()) {
        // A peer that sends garbage cannot be trusted with the rest of the session either.
        log_warning(log_cat, "malformed message from %s: %s", options_.host.c_str(),
                    decoded.error().message.c_str());
        drop(
            client_error(-EPROTO, "malformed message from " + options_.host + ": " + decoded.error().message),
            true);
        return;
    }
    std::visit(
        [&](auto&& message) {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, wire::Reply>) {
                on_reply(std::forward<decltype(message)>(message));
            } else if constexpr (std::is_same_v<T, wire::ExecNotify>) {
                on_exec_notify(std::forward<decltype(message)>(message));
            } else if constexpr (std::is_same_v<T, wire::GenericNotify>) {
                each_subscriber([&](const Handlers& h) {
                    if (h.generic) h.generic(message);
                });
            } else if constexpr (std::is_same_v<T, wire::NewClientNotify>) {
                each_subscriber([&](const Handlers& h) {
                    if (h.new_client) h.new_client();
                });
            } else if constexpr (std::is_same_v<T, wire::ProxyMessage>) {
                each_subscriber([&](const Handlers& h) {
                    if (h.proxy) h.proxy(message);
                });
            } else {
                log_warning(log_cat, "ignoring a request sent to us by server %s", options_.host.c_str());
            }
        },
        decoded.value());
}

void RemoteClient::on_reply(wire::Reply reply)
{
    auto found = pending_.find(reply.msg_id);
    if (found == pending_.end()) {
        auto late = std::find(late_ids_.begin(), late_ids_.end(), reply.msg_id);
        if (late != late_ids_.end()) {
            late_ids_.erase(late);
        } else {
            log_debug(log_cat, "reply from %s to unknown request id %llu ignored", options_.host.c_str(),
                      static_cast<unsigned long long>(reply.msg_id));
        }
        return;
    }
    Pending pending = std::move(found->second);
    pending_.erase(found);
    pending.timer.reset();
    if (pending.exec && reply.rc > 0) execs_.insert_or_assign(reply.rc, std::move(*pending.exec));
    pending.done(Result<wire::Reply>(std::move(reply)));
}

void RemoteClient::on_exec_notify(wire::ExecNotify notify)
{
    auto tracked = execs_.find(notify.call_id);
    if (tracked != execs_.end()) {
        // A recurring exec notifies after every run (or every change); only the notify that
        // ends it ends the tracking, so a drop until then still fails it.
        const bool recurring = tracked->second.interval_ms > 0;
        if (!recurring || notify.op_status == wire::ExecStatus::cancelled || notify.rsc_deleted)
            execs_.erase(tracked);
    }
    ExecEvent event{std::move(notify), false};
    each_subscriber([&](const Handlers& h) {
        if (h.exec) h.exec(event);
    });
}

void RemoteClient::forget_recurring(const std::string& rsc_id, const std::string& action,
                                    std::uint32_t interval_ms)
{
    std::erase_if(execs_, [&](const auto& entry) {
        const ExecRequest& request = entry.second;
        if (request.interval_ms == 0 || request.rsc_id != rsc_id) return false;
        return action.empty() || (request.action == action && request.interval_ms == interval_ms);
    });
}

void RemoteClient::on_reply_timeout(std::uint64_t msg_id)
{
    auto found = pending_.find(msg_id);
    if (found == pending_.end()) return;
    Pending pending = std::move(found->second);
    pending_.erase(found);
    std::string op_name(pending.op == wire::Op::unknown ? "request" : wire::op_info(pending.op).name);
    Error error = client_error(-ETIMEDOUT, "no reply from " + options_.host + " to " + op_name +
                                               " (message id " + std::to_string(msg_id) + ") within " +
                                               std::to_string(options_.reply_timeout.count()) + " ms");
    log_warning(log_cat, "%s; disconnecting", error.message.c_str());
    const Lifetime::Watch alive = lifetime_.watch();
    pending.done(Result<wire::Reply>(error));
    if (!alive) return;
    // The 2.1.5 client gives up on a server that does not answer.
    drop(error, true);
}

// ---- disconnecting ----------------------------------------------------------------------

void RemoteClient::disconnect()
{
    pending_connection_.reset();
    if (connect_done_) {
        fail_soon(
            [done = std::move(connect_done_)](const Result<wire::Reply>& r) { done(Status(r.error())); },
            client_error(-ECANCELED, "connection to " + options_.host + " cancelled"));
        connect_done_ = nullptr;
    }
    drop(client_error(-ENOTCONN, "disconnected from " + options_.host), false);
}

void RemoteClient::lose(const std::string& reason)
{
    if (!connected()) return;
    drop(client_error(-EHOSTDOWN, reason), true);
}

void RemoteClient::drop(const Error& reason, bool notify_closed)
{
    bool was_registered = registered_;
    registered_ = false;
    if (connection_) {
        connection_->close();
        // Keep the object until the loop is back: we may be inside its own callback.
        deferred_.release(std::move(connection_));
    }
    late_ids_.clear();
    auto pending = std::move(pending_);
    pending_.clear();
    auto execs = std::move(execs_);
    execs_.clear();

    Error lost = client_error(-ENOTCONN, "connection to " + options_.host + " lost: " + reason.message);
    std::vector<ExecEvent> synthesized;
    for (auto& [call_id, request] : execs) {
        ExecEvent event;
        event.synthesized = true;
        event.notify = wire::notify_for(request, call_id);
        event.notify.exec_rc = kSynthesizedRc;
        event.notify.op_status = kSynthesizedStatus;
        event.notify.exit_reason = kDroppedExitReason;
        synthesized.push_back(std::move(event));
    }
    if (pending.empty() && synthesized.empty() && !was_registered) return;

    const Lifetime::Watch alive = lifetime_.watch();
    auto deliver = [this, alive, pending = std::make_shared<decltype(pending)>(std::move(pending)),
                    synthesized = std::move(synthesized), lost, reason, notify_closed,
                    was_registered]() mutable {
        for (auto& [id, entry] : *pending) {
            if (!alive) return;
            entry.timer.reset();
            entry.done(Result<wire::Reply>(lost));
        }
        if (!alive) return;
        for (const auto& event : synthesized) {
            bool still_here = each_subscriber([&](const Handlers& h) {
                if (h.exec) h.exec(event);
            });
            if (!still_here) return;
        }
        if (!was_registered) return;
        each_subscriber([&](const Handlers& h) {
            if (notify_closed) {
                if (h.closed) h.closed(reason);
            } else if (h.disconnected) {
                h.disconnected();
            }
        });
    };
    if (notify_closed) {
        deliver();  // we are already on the loop, called from it
    } else {
        deferred_.later(std::move(deliver));
    }
}

}  // namespace outpost::cluster::connection
