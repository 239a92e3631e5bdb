#include "io/connector.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "io/connection.hpp"
#include "io/socket.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.connection"};
constexpr const char* kDomain = "io";

}  // namespace

const char* phase_domain(ConnectPhase phase)
{
    switch (phase) {
        case ConnectPhase::resolve:
            return kResolveDomain;
        case ConnectPhase::connect:
            return kConnectDomain;
        case ConnectPhase::handshake:
            return kHandshakeDomain;
    }
    return kDomain;
}

std::optional<ConnectPhase> failed_phase(const Error& error)
{
    for (ConnectPhase phase : {ConnectPhase::resolve, ConnectPhase::connect, ConnectPhase::handshake}) {
        if (error.domain == phase_domain(phase)) return phase;
    }
    return std::nullopt;
}

std::unique_ptr<PendingConnection> Connection::accept_async(UniqueFd fd, std::string peer_address,
                                                            const tls::TlsContext& tls, GMainContext* context,
                                                            AcceptOptions options, ReadyCallback on_ready)
{
    std::unique_ptr<PendingConnection> pending(new PendingConnection(tls));
    pending->context_ = context;
    pending->fd_ = std::move(fd);
    pending->peer_address_ = std::move(peer_address);
    pending->host_ = pending->peer_address_;
    pending->limits_ = options.limits;
    pending->low_latency_tcp_ = options.low_latency_tcp;
    pending->handshake_timeout_ = options.handshake_timeout;
    pending->on_ready_ = std::move(on_ready);
    pending->start_handshake();
    return pending;
}

std::unique_ptr<PendingConnection> Connection::connect_async(std::string host, std::uint16_t port,
                                                             const tls::TlsContext& tls,
                                                             GMainContext* context, ConnectOptions options,
                                                             ReadyCallback on_ready)
{
    std::unique_ptr<PendingConnection> pending(new PendingConnection(tls));
    PendingConnection* self = pending.get();
    self->context_ = context;
    self->host_ = std::move(host);
    self->port_ = port;
    self->limits_ = options.limits;
    self->low_latency_tcp_ = options.low_latency_tcp;
    self->connect_timeout_ = options.connect_timeout;
    self->handshake_timeout_ = options.handshake_timeout;
    self->on_ready_ = std::move(on_ready);

    if (self->host_.empty() || is_numeric_host(self->host_)) {
        // No name service involved: resolve now, start connecting from the loop (the
        // callback must never run inside this call).
        auto addresses = self->host_.empty()
                             ? Result<AddressList>(make_error(kDomain, -EADDRNOTAVAIL,
                                                              "no host name or address to connect to"))
                             : resolve_numeric(self->host_, port);
        self->kick_ = add_idle(context, [self, addresses = std::move(addresses)]() mutable {
            self->on_resolved(std::move(addresses));
        });
        return pending;
    }

    // A name: looked up on the shared lookup pool. The result comes back through the
    // context and is dropped there if the PendingConnection was destroyed meanwhile.
    const Lifetime::Watch alive = self->lifetime_.watch();
    log_debug(log_cat, "resolving %s on the lookup pool", log::quote(self->host_).c_str());
    Status queued = lookup_async(context, self->host_, port, [alive, self](auto addresses) {
        if (alive) self->on_resolved(std::move(addresses));
    });
    if (!queued) {
        self->kick_ = add_idle(context, [self, error = queued.error()] { self->finish(error); });
    }
    return pending;
}

PendingConnection::~PendingConnection()
{
    lifetime_.end();
    watch_.reset();
    timer_.reset();
    kick_.reset();
    session_.reset();
}

std::string PendingConnection::describe() const
{
    if (phase_ == ConnectPhase::handshake) return "TLS handshake with " + peer_address_;
    return "connecting to " + endpoint(host_, port_);
}

void PendingConnection::on_resolved(Result<AddressList> addresses)
{
    if (finished_) return;
    if (!addresses) {
        finish(addresses.error());
        return;
    }
    addresses_ = std::move(addresses).value();
    next_address_ = 0;
    phase_ = ConnectPhase::connect;
    try_next_address();
}

void PendingConnection::try_next_address()
{
    while (next_address_ < addresses_.size()) {
        const SocketAddress& address = addresses_[next_address_++];
        const auto* sa = reinterpret_cast<const sockaddr*>(&address.storage);
        peer_address_ = numeric_address(sa, address.length);
        const std::string where = endpoint(peer_address_, port_);
        UniqueFd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) {
            const int err = errno;
            last_error_ =
                make_error(kDomain, -err, "cannot create a socket for " + where + ": " + errno_text(err));
            continue;
        }
        int rc;
        do {
            rc = ::connect(fd.get(), sa, address.length);
        } while (rc != 0 && errno == EINTR);
        if (rc == 0) {
            fd_ = std::move(fd);
            start_handshake();
            return;
        }
        const int err = errno;
        if (err != EINPROGRESS) {
            last_error_ = make_error(kDomain, -err, "connecting to " + where + ": " + errno_text(err));
            log_debug(log_cat, "%s", last_error_->message.c_str());
            continue;
        }
        fd_ = std::move(fd);
        log_debug(log_cat, "connecting to %s", where.c_str());
        watch_ = FdWatch(context_, fd_.get(), G_IO_OUT, [this](GIOCondition) { on_connect_ready(); });
        timer_ = add_timeout(context_, connect_timeout_, [this, where] {
            attempt_failed(make_error(kDomain, -ETIMEDOUT,
                                      "connecting to " + where + ": no answer within " +
                                          std::to_string(connect_timeout_.count()) + " ms"));
        });
        return;
    }
    if (last_error_) {
        Error error = *last_error_;
        if (addresses_.size() > 1) {
            error.message +=
                " (tried " + std::to_string(addresses_.size()) + " addresses of " + log::quote(host_) + ")";
        }
        finish(error);
    } else {
        finish(make_error(kDomain, -EADDRNOTAVAIL, "no address to connect to for " + log::quote(host_)));
    }
}

void PendingConnection::on_connect_ready()
{
    int err = 0;
    socklen_t length = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &length) != 0) err = errno;
    if (err == EINPROGRESS) return;  // spurious wake-up
    if (err != 0) {
        attempt_failed(make_error(
            kDomain, -err, "connecting to " + endpoint(peer_address_, port_) + ": " + errno_text(err)));
        return;
    }
    watch_.reset();
    timer_.reset();
    start_handshake();
}

void PendingConnection::attempt_failed(Error error)
{
    log_debug(log_cat, "%s", error.message.c_str());
    last_error_ = std::move(error);
    watch_.reset();
    timer_.reset();
    session_.reset();
    fd_.reset();
    try_next_address();
}

void PendingConnection::start_handshake()
{
    phase_ = ConnectPhase::handshake;
    if (low_latency_tcp_) set_no_delay(fd_.get());
    auto session = tls::TlsSession::create(tls_, fd_.get());
    if (!session) {
        const Error& error = session.error();
        kick_ = add_idle(context_, [this, error] { finish(error); });
        return;
    }
    session_ = std::move(session).value();
    timer_ = add_timeout(context_, handshake_timeout_, [this] {
        const bool server = tls_.role() == tls::Role::server;
        Error error = make_error(kDomain, -ETIMEDOUT,
                                 "TLS handshake with " + peer_address_ + " not finished within " +
                                     std::to_string(handshake_timeout_.count()) + " ms");
        if (server) log_debug(log_cat, "dropping client: %s", error.message.c_str());
        finish(error);
    });
    watch_ = FdWatch(context_, fd_.get(), G_IO_IN, [this](GIOCondition) { handshake_step(); });
    // The client speaks first; a server just waits for the ClientHello. Either way the
    // first step runs from the loop, never inside accept_async()/connect_async().
    kick_ = add_idle(context_, [this] { handshake_step(); });
}

void PendingConnection::handshake_step()
{
    if (finished_ || !session_) return;
    auto progress = session_->handshake_step();
    // A 2.1.5 client's first request otherwise waits for our delayed ACK of its Finished.
    if (low_latency_tcp_ && fd_) ack_now(fd_.get());
    if (!progress) {
        Error error = progress.error();
        error.message = "TLS handshake with " + peer_address_ + ": " + error.message;
        finish(error);
        return;
    }
    switch (*progress) {
        case tls::TlsSession::Progress::done: {
            log_debug(log_cat, "TLS session with %s established: %s", peer_address_.c_str(),
                      session_->description().c_str());
            std::unique_ptr<Connection> connection(new Connection(
                context_, std::move(fd_), std::move(session_), peer_address_, limits_, low_latency_tcp_));
            finish(std::move(connection));
            return;
        }
        case tls::TlsSession::Progress::want_read:
            watch_.set_events(G_IO_IN);
            return;
        case tls::TlsSession::Progress::want_write:
            watch_.set_events(G_IO_OUT);
            return;
    }
}

void PendingConnection::finish(Result<std::unique_ptr<Connection>> result)
{
    if (finished_) return;
    finished_ = true;
    watch_.reset();
    timer_.reset();
    kick_.reset();
    session_.reset();
    fd_.reset();
    // The domain says which step failed (the code alone cannot: both a TCP connect and a
    // TLS handshake time out with -ETIMEDOUT).
    if (!result.ok()) {
        Error error = result.error();
        error.domain = phase_domain(phase_);
        result = std::move(error);
    }
    // A local copy: the callback may destroy this PendingConnection.
    ReadyCallback callback = std::move(on_ready_);
    if (callback) callback(std::move(result));
}

}  // namespace outpost::io
