#include "io/listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "io/socket.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.listener"};
constexpr const char* kDomain = "io";

std::string describe_endpoint(const std::string& address, std::uint16_t port)
{
    return (address.empty() ? std::string("*") : address) + ":" + std::to_string(port);
}

// Creates, configures and binds one socket; -errno on failure.
int bind_one(const addrinfo& ai, UniqueFd& out)
{
    UniqueFd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
    if (!fd) return -errno;
    int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) return -errno;
    if (ai.ai_family == AF_INET6) {
        int off = 0;  // dual stack: IPv4 clients too
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0) return -errno;
    }
    if (::bind(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) return -errno;
    out = std::move(fd);
    return 0;
}

}  // namespace

Result<std::unique_ptr<Listener>> Listener::create(const std::string& address, std::uint16_t port,
                                                   GMainContext* context, AcceptCallback on_accept,
                                                   ListenerOptions options)
{
    const std::string where = describe_endpoint(address, port);
    addrinfo hints{};
    hints.ai_flags = AI_PASSIVE;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    const std::string service = std::to_string(port);
    int rc = getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints, &raw);
    if (rc != 0) {
        return make_error(kDomain, -EADDRNOTAVAIL,
                          "cannot resolve listen address " + where + ": " + gai_strerror(rc));
    }
    AddrinfoList list(raw);

    // The first IPv6 result that binds, else the first IPv4 one (pacemaker-remoted's choice).
    UniqueFd fd;
    int last_error = -EADDRNOTAVAIL;
    const addrinfo* chosen = nullptr;
    for (int family : {AF_INET6, AF_INET}) {
        for (const addrinfo* ai = list.get(); ai != nullptr && !chosen; ai = ai->ai_next) {
            if (ai->ai_family != family) continue;
            int err = bind_one(*ai, fd);
            if (err == 0) {
                chosen = ai;
            } else {
                log_debug(log_cat, "cannot bind %s (%s): %s", where.c_str(),
                          numeric_address(ai->ai_addr, ai->ai_addrlen).c_str(), std::strerror(-err));
                last_error = err;
            }
        }
        if (chosen) break;
    }
    if (!chosen) {
        return make_error(kDomain, last_error,
                          "cannot bind listening socket " + where + ": " + std::strerror(-last_error));
    }
    if (::listen(fd.get(), options.backlog) != 0) {
        int err = errno;
        return make_error(kDomain, -err, "cannot listen on " + where + ": " + std::strerror(err));
    }

    std::unique_ptr<Listener> listener(new Listener());
    listener->context_ = context;
    listener->on_accept_ = std::move(on_accept);
    listener->options_ = options;
    listener->family_ = chosen->ai_family;
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof(bound);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_length) == 0) {
        listener->bound_address_ = numeric_address(reinterpret_cast<sockaddr*>(&bound), bound_length);
        listener->port_ =
            ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    listener->fd_ = std::move(fd);
    Listener* self = listener.get();
    listener->watch_ =
        FdWatch(context, listener->fd_.get(), G_IO_IN, [self](GIOCondition) { self->on_readable(); });
    log_debug(log_cat, "listening on %s port %u", listener->bound_address_.c_str(), listener->port_);
    return listener;
}

Listener::~Listener()
{
    lifetime_.end();
}

void Listener::close()
{
    watch_.reset();
    pause_.reset();
    fd_.reset();
}

void Listener::resume()
{
    if (fd_) watch_.set_events(G_IO_IN);
}

void Listener::on_readable()
{
    const Lifetime::Watch alive = lifetime_.watch();
    for (int i = 0; i < kMaxAcceptsPerWakeup && fd_; ++i) {
        sockaddr_storage peer{};
        socklen_t length = sizeof(peer);
        int client =
            ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) return;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
            log_debug(log_cat, "accept failed: %s", std::strerror(err));
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Stop watching for a moment rather than spin on the pending connection.
                watch_.set_events(GIOCondition(0));
                pause_ = add_timeout(context_, kAcceptPauseOnExhaustion, [this] { resume(); });
            }
            return;
        }
        UniqueFd accepted(client);
        if (options_.tcp_user_timeout) {
            unsigned int ms = static_cast<unsigned int>(options_.tcp_user_timeout->count());
            if (::setsockopt(client, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)) != 0) {
                log_debug(log_cat, "cannot set TCP_USER_TIMEOUT: %s", std::strerror(errno));
            }
        }
        std::string address = numeric_address(reinterpret_cast<sockaddr*>(&peer), length);
        log_debug(log_cat, "accepted connection from %s", address.c_str());
        // A copy: the callback may destroy this listener (and with it on_accept_).
        AcceptCallback callback = on_accept_;
        if (callback) callback(std::move(accepted), std::move(address));
        if (!alive) return;  // the callback destroyed us
    }
}

}  // namespace outpost::io
