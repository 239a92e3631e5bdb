#include "io/socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.socket"};

}  // namespace

std::string numeric_address(const sockaddr* address, socklen_t length)
{
    char host[NI_MAXHOST];
    if (getnameinfo(address, length, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) return "unknown";
    return host;
}

std::string endpoint(const std::string& host, std::uint16_t port)
{
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::string errno_text(int err)
{
    return std::strerror(err < 0 ? -err : err);
}

void set_no_delay(int fd)
{
    int on = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
        log_debug(log_cat, "TCP_NODELAY: %s", std::strerror(errno));  // not TCP (tests use socketpairs)
    }
}

void ack_now(int fd)
{
    int on = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

}  // namespace outpost::io
