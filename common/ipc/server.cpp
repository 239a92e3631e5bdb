#include "ipc/server.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/guard.hpp"
#include "util/log.hpp"
#include "util/users.hpp"

namespace outpost::ipc {
namespace {

const log::Category log_cat{"ipc.server"};

}  // namespace

Server::Service* Server::service_of(qb_ipcs_connection_t* c)
{
    return static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
}

Result<std::unique_ptr<Server>> Server::create(GMainContext* context, std::vector<ServiceSpec> services,
                                               ServerOptions options, Handler& handler)
{
    auto loop = QbGlibLoop::create(context);
    if (!loop) return loop.error();
    std::unique_ptr<Server> server(new Server(context, std::move(options), handler, std::move(loop).value()));
    if (auto started = server->start(std::move(services)); !started) return started.error();
    return server;
}

Server::Server(GMainContext* context, ServerOptions options, Handler& handler,
               std::unique_ptr<QbGlibLoop> loop)
    : context_(context),
      options_(std::move(options)),
      handler_(handler),
      loop_(std::move(loop)),
      cluster_gid_(users::find_group(options_.cluster_group)),
      deferred_(context)
{
    if (!cluster_gid_) {
        log_warning(log_cat, "Group %s not found: only root may use the local IPC",
                    log::quote(options_.cluster_group).c_str());
    }
}

Server::~Server()
{
    while (!connections_.empty())
        close(connections_.begin()->first);
    deferred_.flush();  // the disconnects, before the services and the loop go
    services_.clear();
    loop_.reset();
}

Status Server::start(std::vector<ServiceSpec> specs)
{
    static qb_ipcs_service_handlers handlers = {&Server::on_accept, &Server::on_created, &Server::on_message,
                                                &Server::on_closed, &Server::on_destroyed};
    for (auto& spec : specs) {
        auto service = std::make_unique<Service>();
        service->owner = this;
        service->index = services_.size();
        service->name = std::move(spec.name);
        service->refuse = spec.refuse;
        service->refusal = std::move(spec.refusal);
        qb_ipcs_service_t* handle = qb_ipcs_create(service->name.c_str(), 0, spec.type, &handlers);
        if (handle == nullptr) {
            return make_error("ipc", -ENOMEM, "cannot create local IPC server " + log::quote(service->name));
        }
        qb_ipcs_service_context_set(handle, service.get());
        qb_ipcs_poll_handlers_set(handle, loop_->handlers());
        qb_ipcs_enforce_buffer_size(handle, static_cast<std::uint32_t>(options_.buffer_size));
        if (int32_t rc = qb_ipcs_run(handle); rc != 0) {
            // A failed qb_ipcs_run() has already released the service (libqb drops its own
            // reference on that path); destroying it again trips libqb's ref-count assert.
            return make_error(
                "ipc", rc < 0 ? rc : -EIO,
                "cannot start local IPC server " + log::quote(service->name) + ": " +
                    std::strerror(rc < 0 ? -rc : EIO) +
                    (rc == -EADDRINUSE ? " (does a cluster stack run in this namespace?)" : ""));
        }
        // libqb maps FAST to its high poll priority, which the adapter maps to GLib's.
        if (spec.high_priority) qb_ipcs_request_rate_limit(handle, QB_IPCS_RATE_FAST);
        service->handle.reset(handle);
        log_debug(log_cat, "Serving local IPC %s", service->name.c_str());
        services_.push_back(std::move(service));
    }
    return {};
}

bool Server::permitted(uid_t uid, gid_t gid) const
{
    if (uid == 0 || uid == ::geteuid()) return true;
    if (!cluster_gid_) return false;
    return gid == *cluster_gid_ || users::in_group(uid, *cluster_gid_);
}

const Peer* Server::peer(ConnectionId id) const
{
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : &it->second->peer;
}

Server::Connection* Server::find(ConnectionId id)
{
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
}

const Server::Connection* Server::find(ConnectionId id) const
{
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
}

Server::Connection* Server::find(qb_ipcs_connection_t* handle)
{
    auto it = by_handle_.find(handle);
    return it == by_handle_.end() ? nullptr : find(it->second);
}

// ---- libqb's callbacks --------------------------------------------------------------------

int32_t Server::on_accept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid)
{
    return guarded(
        log_cat, "a local IPC accept",
        [&]() -> int32_t {
            Service* service = service_of(c);
            if (service == nullptr) return -EINVAL;
            return service->owner->accept(*service, c, uid, gid);
        },
        -EIO);
}

void Server::on_created(qb_ipcs_connection_t* c)
{
    guarded(log_cat, "a local IPC connection setup", [&] {
        Service* service = service_of(c);
        if (service == nullptr) return;
        Server& self = *service->owner;
        Connection* connection = self.find(c);
        if (connection == nullptr) return;
        connection->ready = true;
        qb_ipcs_connection_stats stats{};
        if (qb_ipcs_connection_stats_get(c, &stats, 0) == 0) connection->peer.pid = stats.client_pid;
        const ConnectionId id = connection->id;
        // What was sent before libqb finished the setup goes out now.
        if (!self.flush(*connection)) {
            self.close(id);
            self.handler_.closed(id);
            return;
        }
        self.handler_.created(id);
    });
}

int32_t Server::on_message(qb_ipcs_connection_t* c, void* data, size_t size)
{
    return guarded(
        log_cat, "a local IPC request",
        [&]() -> int32_t {
            Service* service = service_of(c);
            if (service == nullptr) return 0;
            Connection* connection = service->owner->find(c);
            if (connection == nullptr) {
                log_warning(log_cat, "Dropping a local IPC request on a connection that is closing");
                return 0;
            }
            service->owner->handler_.message(connection->id, data, size);
            return 0;
        },
        0);
}

int32_t Server::on_closed(qb_ipcs_connection_t* c)
{
    return guarded(
        log_cat, "a local IPC disconnect",
        [&]() -> int32_t {
            if (Service* service = service_of(c)) service->owner->client_left(c);
            return 0;
        },
        0);
}

void Server::on_destroyed(qb_ipcs_connection_t* c)
{
    // A connection accepted but never created or closed still counts.
    (void)on_closed(c);
}

int32_t Server::accept(Service& service, qb_ipcs_connection_t* c, uid_t uid, gid_t gid)
{
    if (service.refuse != 0) {
        log_info(log_cat, "Refusing local %s connection (uid %u): %s", service.name.c_str(),
                 static_cast<unsigned>(uid), service.refusal.c_str());
        return service.refuse;
    }
    Peer peer;
    peer.uid = uid;
    peer.gid = gid;
    peer.user = users::user_name(uid);
    if (!permitted(uid, gid)) {
        log_warning(log_cat, "Refusing local %s connection from uid %u gid %u: not root and not in group %s",
                    service.name.c_str(), static_cast<unsigned>(uid), static_cast<unsigned>(gid),
                    options_.cluster_group.c_str());
        handler_.refused(service.index, peer);
        return -EACCES;
    }
    const ConnectionId id = next_id_++;
    auto connection = std::make_unique<Connection>();
    connection->id = id;
    connection->handle = c;
    connection->peer = peer;
    // Registered before the handler decides, so it can already send (queued until created).
    connections_.emplace(id, std::move(connection));
    by_handle_[c] = id;
    const int verdict = handler_.accept(service.index, id, peer);
    if (verdict != 0) {
        by_handle_.erase(c);
        connections_.erase(id);
        return verdict;
    }
    if (cluster_gid_) qb_ipcs_connection_auth_set(c, static_cast<uid_t>(-1), *cluster_gid_, kIpcMode);
    return 0;
}

void Server::client_left(qb_ipcs_connection_t* c)
{
    if (auto closing = closing_.find(c); closing != closing_.end()) {
        // We closed it and the client left before our disconnect came due: libqb has ended
        // it, and disconnecting it again would make libqb drop a reference it does not own.
        closing->second->ended = true;
        return;
    }
    Connection* connection = find(c);
    if (connection == nullptr) return;  // closed from our side: nothing more to say
    const ConnectionId id = connection->id;
    by_handle_.erase(c);
    connections_.erase(id);
    handler_.closed(id);
}

// ---- sending and closing ------------------------------------------------------------------

std::optional<Server::EncodeLimits> Server::encode_limits(ConnectionId id) const
{
    const Connection* connection = find(id);
    if (connection == nullptr || connection->gone) return std::nullopt;
    int32_t buffer = connection->ready ? qb_ipcs_connection_get_buffer_size(connection->handle) : 0;
    std::size_t max_size = buffer > 0 ? static_cast<std::size_t>(buffer) : options_.buffer_size;
    return EncodeLimits{options_.buffer_size, max_size};
}

Status Server::send(ConnectionId id, Kind kind, std::int32_t msg_id, std::uint32_t flags,
                    std::string_view xml)
{
    const std::optional<EncodeLimits> limits = encode_limits(id);
    if (!limits) return make_error("ipc", -ENOTCONN, "the local client has gone");
    auto bytes = encode_message(msg_id, xml, flags, limits->compress_above, limits->max_size);
    if (!bytes) {
        close(id);
        return bytes.error();
    }
    return send_encoded(id, kind, std::move(bytes).value());
}

Status Server::send_encoded(ConnectionId id, Kind kind, std::string bytes)
{
    Connection* connection = find(id);
    if (connection == nullptr || connection->gone)
        return make_error("ipc", -ENOTCONN, "the local client has gone");
    if (connection->queue.size() >= kMaxQueuedPerConnection) {
        close(id);
        return make_error("ipc", -ENOBUFS,
                          "the local client is not reading (" + std::to_string(kMaxQueuedPerConnection) +
                              " messages queued)");
    }
    connection->queue.push_back(Outgoing{std::move(bytes), kind});
    if (!flush(*connection)) {
        close(id);
        return make_error("ipc", -EIO, "sending to the local client failed");
    }
    return {};
}

bool Server::flush(Connection& connection)
{
    if (!connection.ready) return true;  // on_created() flushes
    while (!connection.queue.empty()) {
        Outgoing& next = connection.queue.front();
        ssize_t rc = next.kind == Kind::response
                         ? qb_ipcs_response_send(connection.handle, next.bytes.data(), next.bytes.size())
                         : qb_ipcs_event_send(connection.handle, next.bytes.data(), next.bytes.size());
        if (rc == static_cast<ssize_t>(next.bytes.size())) {
            connection.queue.pop_front();
            continue;
        }
        if (rc == -EAGAIN || rc == -ENOBUFS) {
            if (!connection.resend.active()) {
                const ConnectionId id = connection.id;
                connection.resend = io::add_timeout(context_, kResendDelay, [this, id] {
                    Connection* again = find(id);
                    if (again == nullptr || flush(*again)) return;
                    close(id);
                    handler_.closed(id);
                });
            }
            return true;
        }
        if (rc == -EPIPE || rc == -ENOTCONN || rc == -ECONNRESET || rc == -ESHUTDOWN) {
            // The client has gone and libqb reports its disconnect next (on_closed()),
            // which cleans up; disconnecting it ourselves as well made libqb release the
            // connection twice (an assertion in qb_ipcs_connection_unref).
            log_debug(log_cat, "Local client of connection %llu has gone: %s",
                      static_cast<unsigned long long>(connection.id), std::strerror(static_cast<int>(-rc)));
            connection.queue.clear();
            connection.gone = true;
            return true;
        }
        log_warning(log_cat, "Cannot send to the local client of connection %llu: %s",
                    static_cast<unsigned long long>(connection.id),
                    std::strerror(rc < 0 ? static_cast<int>(-rc) : EIO));
        return false;
    }
    return true;
}

void Server::close(ConnectionId id)
{
    Connection* connection = find(id);
    if (connection == nullptr) return;
    qb_ipcs_connection_t* c = connection->handle;
    by_handle_.erase(c);
    connections_.erase(id);
    // Disconnecting from inside a libqb callback (a request, a connection being set up)
    // makes libqb use the freed connection afterwards, so the disconnect waits for the
    // loop; a reference keeps the connection valid until then. The closed callback it
    // triggers finds no connection any more, so it reports nothing.
    auto closing = std::make_shared<Closing>(Closing{ConnectionRef(c)});
    closing_[c] = closing;
    deferred_.later([this, closing] {
        closing_.erase(closing->held.get());
        if (!closing->ended) qb_ipcs_disconnect(closing->held.get());
    });
}

}  // namespace outpost::ipc
