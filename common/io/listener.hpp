// The listening TCP socket of a Pacemaker Remote server (docs/protocol.md 1.1): it binds one
// socket as pacemaker-remoted does and hands each accepted socket, with the peer's numeric
// address, to a callback. It runs on a GMainContext and never blocks it.
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/source.hpp"
#include "util/fd.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"

namespace outpost::io {

inline constexpr int kListenBacklog = 10;
// Accepts per wake-up, so a connection storm cannot starve the rest of the loop.
inline constexpr int kMaxAcceptsPerWakeup = 32;
// Pause before accepting again after running out of fds or memory (EMFILE, ENFILE, ...);
// without it a level-triggered watch would spin on the pending connection.
inline constexpr std::chrono::milliseconds kAcceptPauseOnExhaustion{500};

struct ListenerOptions {
    int backlog = kListenBacklog;
    // TCP_USER_TIMEOUT for accepted sockets; unset = leave the kernel default.
    std::optional<std::chrono::milliseconds> tcp_user_timeout;
};

class Listener {
public:
    // Gets an accepted socket (non-blocking, CLOEXEC) and the peer's numeric address.
    using AcceptCallback = std::function<void(UniqueFd fd, std::string peer_address)>;

    // Resolves `address` with getaddrinfo(AI_PASSIVE, AF_UNSPEC) and binds exactly one socket,
    // as pacemaker-remoted does: the first IPv6 result that binds (IPV6_V6ONLY off, so IPv4
    // clients arrive as ::ffff:a.b.c.d), otherwise the first IPv4 one; SO_REUSEADDR. Accepted
    // sockets are non-blocking and close-on-exec from birth, with options.tcp_user_timeout
    // if set (the agent derives it from SBD_WATCHDOG_TIMEOUT).
    // `address` empty = wildcard; `port` 0 = any free port (see port()). Errors name the
    // address and the cause (domain "io", negative errno, e.g. -EADDRINUSE).
    static Result<std::unique_ptr<Listener>> create(const std::string& address, std::uint16_t port,
                                                    GMainContext* context, AcceptCallback on_accept,
                                                    ListenerOptions options = {});

    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener();

    // Stops listening and closes the socket. Idempotent.
    void close();
    [[nodiscard]] bool listening() const { return fd_.valid(); }
    // The bound port and numeric address (e.g. "::" or "0.0.0.0" for the wildcard).
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const std::string& bound_address() const { return bound_address_; }
    [[nodiscard]] int family() const { return family_; }

private:
    Listener() = default;
    void on_readable();
    void resume();

    GMainContext* context_ = nullptr;
    UniqueFd fd_;
    FdWatch watch_;
    Source pause_;
    AcceptCallback on_accept_;
    ListenerOptions options_;
    std::uint16_t port_ = 0;
    std::string bound_address_;
    int family_ = 0;
    Lifetime lifetime_;
};

}  // namespace outpost::io
