#include "proxy/proxy.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "util/log.hpp"
#include "util/users.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::proxy {

namespace {

const log::Category log_cat{"agent.proxy"};

std::string new_session_id()
{
    gchar* uuid = g_uuid_string_random();
    std::string id(uuid);
    g_free(uuid);
    return id;
}

}  // namespace

Result<std::unique_ptr<IpcProxy>> IpcProxy::create(GMainContext* context, ProxyOptions options)
{
    auto loop = QbGlibLoop::create(context);
    if (!loop) return loop.error();
    std::unique_ptr<IpcProxy> proxy(new IpcProxy(context, std::move(options), std::move(loop).value()));
    if (auto started = proxy->start_services(); !started) return started.error();
    return proxy;
}

IpcProxy::IpcProxy(GMainContext* context, ProxyOptions options, std::unique_ptr<QbGlibLoop> loop)
    : context_(context), options_(std::move(options)), loop_(std::move(loop))
{
    cluster_gid_ = users::find_group(options_.cluster_group);
    if (!cluster_gid_) {
        log_warning(log_cat, "Group %s not found: only root may use the cluster tools",
                    log::quote(options_.cluster_group).c_str());
    }
}

IpcProxy::~IpcProxy()
{
    host_ = nullptr;
    quiet_close_ = true;
    while (!sessions_.empty())
        close_session(*sessions_.begin()->second, false, "the agent is exiting");
    reaper_.reset();
    reap();
    for (auto& service : services_) {
        if (service->handle != nullptr) qb_ipcs_destroy(service->handle);
        service->handle = nullptr;
    }
    services_.clear();
    loop_.reset();
}

Status IpcProxy::start_services()
{
    static qb_ipcs_service_handlers handlers = {&IpcProxy::on_accept, &IpcProxy::on_created,
                                                &IpcProxy::on_message, &IpcProxy::on_closed,
                                                &IpcProxy::on_destroyed};
    for (const ChannelSpec& spec : channels()) {
        auto service = std::make_unique<Service>();
        service->spec = &spec;
        service->name = options_.name_prefix + std::string(spec.name);
        service->owner = this;
        qb_ipcs_service_t* handle = qb_ipcs_create(service->name.c_str(), 0, spec.type, &handlers);
        if (handle == nullptr) {
            return make_error("proxy", -ENOMEM,
                              "cannot create local IPC server " + log::quote(service->name));
        }
        qb_ipcs_service_context_set(handle, service.get());
        qb_ipcs_poll_handlers_set(handle, loop_->handlers());
        qb_ipcs_enforce_buffer_size(handle, static_cast<std::uint32_t>(options_.ipc_buffer_size));
        int32_t rc = qb_ipcs_run(handle);
        if (rc != 0) {
            // A failed qb_ipcs_run() has already released the service (libqb drops its own
            // reference on that path); destroying it again trips libqb's ref-count assert.
            return make_error(
                "proxy", rc < 0 ? rc : -EIO,
                "cannot start local IPC server " + log::quote(service->name) + ": " +
                    std::strerror(rc < 0 ? -rc : EIO) +
                    (rc == -EADDRINUSE ? " (does a cluster stack run in this namespace?)" : ""));
        }
        // libqb maps FAST to its high poll priority, which the adapter maps to GLib's.
        if (spec.high_priority) qb_ipcs_request_rate_limit(handle, QB_IPCS_RATE_FAST);
        service->handle = handle;
        log_debug(log_cat, "Serving local IPC %s", service->name.c_str());
        services_.push_back(std::move(service));
    }
    log_info(log_cat, "Local IPC servers started (%zu names)", services_.size());
    return {};
}

bool IpcProxy::authorized(uid_t uid, gid_t gid) const
{
    if (uid == 0 || uid == ::geteuid()) return true;
    if (!cluster_gid_) return false;
    return gid == *cluster_gid_ || users::in_group(uid, *cluster_gid_);
}

std::vector<std::string> IpcProxy::session_ids() const
{
    std::vector<std::string> ids;
    ids.reserve(sessions_.size());
    for (const auto& [id, session] : sessions_)
        ids.push_back(id);
    return ids;
}

// ---- libqb trampolines -------------------------------------------------------------

namespace {

template <typename F>
auto guarded(const char* what, F&& body, decltype(body()) on_error) -> decltype(body())
{
    try {
        return body();
    } catch (const std::exception& e) {
        log_error(log_cat, "Unexpected error in local IPC %s: %s", what, e.what());
    } catch (...) {
        log_error(log_cat, "Unexpected error in local IPC %s", what);
    }
    return on_error;
}

}  // namespace

int32_t IpcProxy::on_accept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid)
{
    return guarded(
        "accept",
        [&]() -> int32_t {
            auto* service = static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
            if (service == nullptr || service->owner == nullptr) return -EINVAL;
            return service->owner->accept(*service, c, uid, gid);
        },
        -EIO);
}

void IpcProxy::on_created(qb_ipcs_connection_t* c)
{
    guarded(
        "connection setup",
        [&]() -> int {
            auto* service = static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
            if (service != nullptr && service->owner != nullptr) service->owner->created(c);
            return 0;
        },
        0);
}

int32_t IpcProxy::on_message(qb_ipcs_connection_t* c, void* data, size_t size)
{
    return guarded(
        "request",
        [&]() -> int32_t {
            auto* service = static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
            if (service != nullptr && service->owner != nullptr) service->owner->message(c, data, size);
            return 0;
        },
        0);
}

int32_t IpcProxy::on_closed(qb_ipcs_connection_t* c)
{
    return guarded(
        "disconnect",
        [&]() -> int32_t {
            auto* service = static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
            if (service != nullptr && service->owner != nullptr) service->owner->closed(c);
            return 0;
        },
        0);
}

void IpcProxy::on_destroyed(qb_ipcs_connection_t* c)
{
    // A connection accepted but never created or closed still has its session.
    on_closed(c);
}

// ---- connection life ---------------------------------------------------------------

int32_t IpcProxy::accept(Service& service, qb_ipcs_connection_t* c, uid_t uid, gid_t gid)
{
    const ChannelSpec& spec = *service.spec;
    if (spec.policy == ChannelPolicy::refuse) {
        log_info(log_cat, "Refusing local %s connection (uid %u): pacemakerd does not run on a remote node",
                 service.name.c_str(), static_cast<unsigned>(uid));
        return -EREMOTEIO;
    }
    if (!authorized(uid, gid)) {
        log_warning(log_cat, "Refusing local %s connection from uid %u gid %u: not root and not in group %s",
                    service.name.c_str(), static_cast<unsigned>(uid), static_cast<unsigned>(gid),
                    options_.cluster_group.c_str());
        if (spec.policy != ChannelPolicy::local_executor) announce_refused(spec);
        return -EACCES;
    }
    if (spec.policy == ChannelPolicy::local_executor) return accept_local_executor(service, c, uid);
    std::optional<std::string> provider = host_ != nullptr ? host_->newest_provider() : std::nullopt;
    if (!provider) {
        log_info(log_cat,
                 "Refusing local %s connection (uid %u): no cluster node is connected as IPC provider",
                 service.name.c_str(), static_cast<unsigned>(uid));
        return -EREMOTEIO;
    }

    auto session = std::make_unique<Session>();
    session->id = new_session_id();
    session->spec = &spec;
    session->connection = c;
    session->provider = std::move(*provider);
    session->uid = uid;
    session->user = users::user_name(uid);
    if (cluster_gid_) qb_ipcs_connection_auth_set(c, static_cast<uid_t>(-1), *cluster_gid_, kIpcMode);
    session_by_connection_[c] = session->id;
    log_debug(log_cat, "Accepted local %s connection of %s as session %s", service.name.c_str(),
              log::quote(session->user).c_str(), session->id.c_str());
    sessions_.emplace(session->id, std::move(session));
    return 0;
}

void IpcProxy::announce_refused(const ChannelSpec& spec)
{
    // 2.1.5 tells the provider about a proxied connection it refuses for its permissions:
    // a `new` for a session that is at once destroyed, nothing forwarded. A controller
    // answers a `new` on a remote node with a CIB query, so do the same for a drop-in.
    std::optional<std::string> provider = host_ != nullptr ? host_->newest_provider() : std::nullopt;
    if (!provider) return;
    std::string id = new_session_id();
    if (host_->send_to_provider(*provider, make_new(id, spec.proxied_as)))
        host_->send_to_provider(*provider, make_destroy(id));
}

int32_t IpcProxy::accept_local_executor(Service& service, qb_ipcs_connection_t* c, uid_t uid)
{
    auto session = std::make_unique<Session>();
    session->id = new_session_id();
    session->spec = service.spec;
    session->connection = c;
    session->uid = uid;
    session->user = users::user_name(uid);
    session->client_name = "local IPC (" + service.name + ", user " + log::quote(session->user) + ")";
    Status opened =
        host_ != nullptr
            ? host_->local_executor_open(session->id, session->client_name)
            : Status(make_error("proxy", -EPROTONOSUPPORT, "the agent has no executor attached yet"));
    if (!opened) {
        log_warning(log_cat, "Refusing local %s connection (uid %u): %s", service.name.c_str(),
                    static_cast<unsigned>(uid), opened.error().message.c_str());
        return opened.error().code < 0 ? opened.error().code : -EPROTONOSUPPORT;
    }
    if (cluster_gid_) qb_ipcs_connection_auth_set(c, static_cast<uid_t>(-1), *cluster_gid_, kIpcMode);
    session_by_connection_[c] = session->id;
    log_debug(log_cat, "Accepted local %s connection of %s as executor client %s", service.name.c_str(),
              log::quote(session->user).c_str(), session->id.c_str());
    sessions_.emplace(session->id, std::move(session));
    return 0;
}

void IpcProxy::created(qb_ipcs_connection_t* c)
{
    Session* session = session_of(c);
    if (session == nullptr) return;
    session->ready = true;
    qb_ipcs_connection_stats stats{};
    if (qb_ipcs_connection_stats_get(c, &stats, 0) == 0) session->pid = stats.client_pid;
    if (session->spec->policy == ChannelPolicy::local_executor) {
        log_info(log_cat, "New local executor client %s (pid %d, %s)", session->id.c_str(),
                 static_cast<int>(session->pid), log::quote(session->user).c_str());
        flush(*session);  // notifications that came before libqb finished the setup
        return;
    }
    session->client_name = proxy_client_name(session->spec->proxied_as, session->pid, session->id);
    if (host_ == nullptr ||
        !host_->send_to_provider(session->provider, make_new(session->id, session->spec->proxied_as))) {
        close_session(*session, false, "its IPC provider is gone");
        return;
    }
    session->announced = true;
    log_info(log_cat, "New proxied %s session %s for %s (pid %d, %s) via provider %s",
             session->spec->name.data(), session->id.c_str(), session->client_name.c_str(),
             static_cast<int>(session->pid), log::quote(session->user).c_str(), session->provider.c_str());
}

void IpcProxy::message(qb_ipcs_connection_t* c, const void* data, std::size_t size)
{
    Session* session = session_of(c);
    if (session == nullptr) {
        log_warning(log_cat, "Dropping a local IPC request on a connection without a session");
        return;
    }
    if (session->spec->policy == ChannelPolicy::local_executor) {
        local_request(*session, data, size);
        return;
    }
    auto request = decode_tool_request(data, size);
    if (!request) {
        log_warning(log_cat, "Closing session %s of %s: %s", session->id.c_str(),
                    session->client_name.c_str(), request.error().message.c_str());
        close_session(*session, true, "it sent an invalid request");
        return;
    }
    if (session->awaiting && *session->awaiting != request->id) {
        // 2.1.5 only logs this too: tools keep one synchronous request in flight.
        log_info(log_cat, "Session %s sent request %u while request %u still awaits its response",
                 session->id.c_str(), request->id, *session->awaiting);
    }
    if ((request->flags & wire::ipc_flag::client_response) != 0) session->awaiting = request->id;
    session->last_request_id = request->id;
    log_trace(log_cat, "Request %u (flags 0x%x) of session %s to provider %s", request->id, request->flags,
              session->id.c_str(), session->provider.c_str());
    auto proxied = make_request(session->id, session->client_name, session->user, request->id, request->flags,
                                std::move(request->xml));
    if (host_ == nullptr || !host_->send_to_provider(session->provider, proxied)) {
        close_session(*session, false, "its IPC provider is gone");
    }
}

void IpcProxy::closed(qb_ipcs_connection_t* c)
{
    Session* session = session_of(c);
    if (session == nullptr) return;
    std::string id = session->id;
    std::string provider = session->provider;
    bool announced = session->announced;
    log_info(log_cat, "Local %s client %s disconnected (session %s)", session->spec->name.data(),
             session->client_name.c_str(), id.c_str());
    const bool local_executor = session->spec->policy == ChannelPolicy::local_executor;
    session_by_connection_.erase(c);
    sessions_.erase(id);
    if (local_executor && host_ != nullptr) host_->local_executor_closed(id);
    if (announced && host_ != nullptr) host_->send_to_provider(provider, make_destroy(id));
    if (host_ != nullptr) host_->local_client_gone();
}

void IpcProxy::local_request(Session& session, const void* data, std::size_t size)
{
    auto message = decode_ipc_message(data, size);
    if (!message) {
        log_warning(log_cat, "Closing local executor client %s: %s", session.id.c_str(),
                    message.error().message.c_str());
        close_session(session, false, "it sent an invalid message");
        return;
    }
    const auto request_id = static_cast<std::uint32_t>(message->header.id);
    if ((message->header.flags & wire::ipc_flag::client_response) == 0) {
        // 2.1.5 serves only requests that wait for a response; the rest are logged and dropped.
        log_warning(log_cat,
                    "Ignoring request %u of local executor client %s: it does not ask for a response",
                    request_id, session.id.c_str());
        return;
    }
    if (host_ == nullptr) return;
    session.awaiting = request_id;
    session.last_request_id = request_id;
    std::string id = session.id;
    host_->local_executor_request(id, request_id, message->xml);
    // The reply (if the request has one: lrmd_check has none) went out during the call.
    if (Session* again = find_session(id)) again->awaiting.reset();
}

IpcProxy::Session* IpcProxy::find_local_executor(std::string_view id)
{
    Session* session = find_session(id);
    if (session == nullptr || session->spec->policy != ChannelPolicy::local_executor) return nullptr;
    return session;
}

Status IpcProxy::send_local_reply(std::string_view client_id, std::string_view xml)
{
    Session* session = find_local_executor(client_id);
    if (session == nullptr) return make_error("proxy", -ENOTCONN, "local executor client is gone");
    if (!session->awaiting) {
        log_warning(log_cat, "Dropping a reply for local executor client %s: no request awaits one",
                    session->id.c_str());
        return {};
    }
    Framing framing{static_cast<std::int32_t>(*session->awaiting), wire::ipc_flag::server_free, true};
    session->awaiting.reset();
    if (!deliver_text(*session, xml, framing))
        return make_error("proxy", -ENOTCONN, "local executor client was disconnected");
    return {};
}

Status IpcProxy::send_local_event(std::string_view client_id, std::string_view xml)
{
    Session* session = find_local_executor(client_id);
    if (session == nullptr) return make_error("proxy", -ENOTCONN, "local executor client is gone");
    last_event_id_ = last_event_id_ >= INT32_MAX || last_event_id_ < 0 ? 1 : last_event_id_ + 1;
    Framing framing{last_event_id_, wire::ipc_flag::server_event | wire::ipc_flag::server_free, false};
    if (!deliver_text(*session, xml, framing))
        return make_error("proxy", -ENOTCONN, "local executor client was disconnected");
    return {};
}

IpcProxy::Session* IpcProxy::session_of(qb_ipcs_connection_t* c)
{
    auto it = session_by_connection_.find(c);
    if (it == session_by_connection_.end()) return nullptr;
    return find_session(it->second);
}

IpcProxy::Session* IpcProxy::find_session(std::string_view id)
{
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void IpcProxy::close_session(Session& session, bool notify_provider, const char* why)
{
    std::string id = session.id;
    std::string provider = session.provider;
    bool announced = session.announced;
    const bool local_executor = session.spec->policy == ChannelPolicy::local_executor;
    qb_ipcs_connection_t* c = session.connection;
    log_info(log_cat, "Closing local %s session %s (%s): %s", session.spec->name.data(), id.c_str(),
             session.client_name.empty() ? "not set up" : session.client_name.c_str(), why);
    session_by_connection_.erase(c);
    sessions_.erase(id);  // `session` is gone from here on
    // A local executor client is mostly closed from inside a send to it, which the
    // executor may be making while it reports a result: telling the server now could make
    // it drop recurring ops under the executor's feet, so it hears of it from the loop.
    if (local_executor && !quiet_close_) closed_local_.push_back(id);
    if (notify_provider && announced && host_ != nullptr) host_->send_to_provider(provider, make_destroy(id));
    // Disconnecting from inside a libqb callback (a request, a connection being set up)
    // makes libqb use the freed connection afterwards, so the disconnect waits for the
    // loop; a reference keeps the connection valid until then. The closed callback it
    // triggers finds no session any more, so it reports nothing.
    qb_ipcs_connection_ref(c);
    doomed_.push_back(c);
    if (!reaper_.active()) reaper_ = io::add_idle(context_, [this] { reap(); });
    if (!quiet_close_ && !local_executor && host_ != nullptr) host_->local_client_gone();
}

void IpcProxy::reap()
{
    auto doomed = std::move(doomed_);
    doomed_.clear();
    for (qb_ipcs_connection_t* c : doomed) {
        qb_ipcs_disconnect(c);
        qb_ipcs_connection_unref(c);
    }
    auto closed = std::move(closed_local_);
    closed_local_.clear();
    if (host_ == nullptr) return;
    for (const auto& id : closed)
        host_->local_executor_closed(id);
    if (!closed.empty()) host_->local_client_gone();
}

// ---- provider side -----------------------------------------------------------------

bool IpcProxy::deliver_response(std::string_view session_id, std::uint32_t ipc_msg_id,
                                const wire::Element& msg)
{
    Session* session = find_session(session_id);
    if (session == nullptr || session->spec->policy != ChannelPolicy::proxy) return false;
    if (session->awaiting && *session->awaiting != ipc_msg_id) {
        log_info(log_cat, "Response %u for session %s while request %u awaits its response", ipc_msg_id,
                 session->id.c_str(), *session->awaiting);
    }
    session->awaiting.reset();
    deliver(*session, msg, ipc_msg_id);
    return true;
}

bool IpcProxy::deliver_event(std::string_view session_id, const wire::Element& msg)
{
    Session* session = find_session(session_id);
    if (session == nullptr || session->spec->policy != ChannelPolicy::proxy) return false;
    deliver(*session, msg, std::nullopt);
    return true;
}

void IpcProxy::destroy_session(std::string_view session_id)
{
    Session* session = find_session(session_id);
    if (session == nullptr || session->spec->policy != ChannelPolicy::proxy) {
        log_debug(log_cat, "Provider destroyed unknown session %s", std::string(session_id).c_str());
        return;
    }
    close_session(*session, false, "the cluster closed it");
}

bool IpcProxy::has_session(std::string_view session_id) const
{
    auto it = sessions_.find(session_id);
    return it != sessions_.end() && it->second->spec->policy == ChannelPolicy::proxy;
}

void IpcProxy::provider_gone(std::string_view provider_client_id)
{
    std::vector<std::string> doomed;
    for (const auto& [id, session] : sessions_) {
        if (session->provider == provider_client_id) doomed.push_back(id);
    }
    // The server counts the remaining clients itself once the provider is gone.
    quiet_close_ = true;
    for (const auto& id : doomed) {
        if (Session* session = find_session(id))
            close_session(*session, false, "its IPC provider disconnected");
    }
    quiet_close_ = false;
}

bool IpcProxy::deliver(Session& session, const wire::Element& msg, std::optional<std::uint32_t> response_id)
{
    Framing framing{static_cast<std::int32_t>(response_id.value_or(0)),
                    response_id ? 0U : wire::ipc_flag::server_event, response_id.has_value()};
    return deliver_text(session, wire::serialize(msg), framing);
}

bool IpcProxy::deliver_text(Session& session, std::string_view xml, Framing framing)
{
    if (session.gone) return false;
    int32_t buffer = session.ready ? qb_ipcs_connection_get_buffer_size(session.connection) : 0;
    std::size_t max_size = buffer > 0 ? static_cast<std::size_t>(buffer) : options_.ipc_buffer_size;
    auto bytes = encode_ipc_message(framing.id, xml, framing.flags, options_.ipc_buffer_size, max_size);
    if (!bytes) {
        log_error(log_cat, "Cannot pass a %s to local session %s: %s",
                  framing.response ? "response" : "event", session.id.c_str(), bytes.error().message.c_str());
        close_session(session, true, "a message for it could not be delivered");
        return false;
    }
    if (session.queue.size() >= kMaxQueuedPerSession) {
        log_error(log_cat, "Local client %s is not reading (%zu messages queued)",
                  session.client_name.c_str(), session.queue.size());
        close_session(session, true, "it stopped reading its messages");
        return false;
    }
    session.queue.push_back(Outgoing{std::move(bytes).value(), framing.response});
    flush(session);
    return true;
}

void IpcProxy::flush(Session& session)
{
    if (!session.ready) return;  // created() flushes
    while (!session.queue.empty()) {
        Outgoing& next = session.queue.front();
        ssize_t rc = next.response
                         ? qb_ipcs_response_send(session.connection, next.bytes.data(), next.bytes.size())
                         : qb_ipcs_event_send(session.connection, next.bytes.data(), next.bytes.size());
        if (rc == static_cast<ssize_t>(next.bytes.size())) {
            session.queue.pop_front();
            continue;
        }
        if (rc == -EAGAIN || rc == -ENOBUFS) {
            if (!session.resend.active()) {
                std::string id = session.id;
                session.resend = io::add_timeout(context_, kResendDelay, [this, id] {
                    if (Session* again = find_session(id)) flush(*again);
                });
            }
            return;
        }
        if (rc == -EPIPE || rc == -ENOTCONN || rc == -ECONNRESET || rc == -ESHUTDOWN) {
            // The tool has gone and libqb reports its disconnect next (closed()), which
            // cleans up; disconnecting it ourselves as well made libqb release the
            // connection twice (an assertion in qb_ipcs_connection_unref).
            log_debug(log_cat, "Local client %s has gone: %s", session.client_name.c_str(),
                      std::strerror(static_cast<int>(-rc)));
            session.queue.clear();
            session.gone = true;
            return;
        }
        log_warning(log_cat, "Cannot send to local client %s: %s", session.client_name.c_str(),
                    std::strerror(rc < 0 ? static_cast<int>(-rc) : EIO));
        close_session(session, true, "sending to it failed");
        return;
    }
}

}  // namespace outpost::agent::proxy
