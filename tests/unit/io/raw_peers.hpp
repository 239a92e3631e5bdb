// Plain TCP peers on loopback that misbehave on purpose, shared by the io and cluster unit
// tests: one that completes TCP but never speaks TLS, one whose backlog is full so a
// connect neither succeeds nor fails before the client's own timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include <catch.hpp>

#include "util/fd.hpp"

namespace outpost::test {

inline UniqueFd loopback_listener(int backlog, std::uint16_t& port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd.get(), backlog) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
    return fd;
}

// A blocking TCP connect to 127.0.0.1:port.
inline UniqueFd raw_tcp_connect(std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    return fd;
}

// A listening TCP socket that never accepts nor speaks (the kernel completes the TCP
// handshake through the backlog): a TLS handshake with it times out.
struct SilentPeer {
    std::uint16_t port = 0;
    UniqueFd fd = loopback_listener(4, port);
};

// Backlog 0 with its one queue slot taken by a connection nobody accepts: the kernel drops
// further SYNs, so a TCP connect to it times out.
struct FullBacklog {
    std::uint16_t port = 0;
    UniqueFd fd = loopback_listener(0, port);
    UniqueFd occupant = raw_tcp_connect(port);
};

}  // namespace outpost::test
