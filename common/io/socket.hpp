// Small socket helpers shared by the listener, the lookups, the connector and the
// connection: getaddrinfo() results owned, numeric address text, "host:port" text, errno
// text, and the two TCP options that keep a message's back-to-back TLS records from
// waiting for delayed ACKs.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

namespace outpost::io {

// What getaddrinfo() returns, owned.
struct AddrinfoFree {
    void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrinfoList = std::unique_ptr<addrinfo, AddrinfoFree>;

// Numeric "address" of a socket address (IPv6 without brackets), for logs and callbacks.
std::string numeric_address(const sockaddr* address, socklen_t length);

// "host:port", with brackets around an IPv6 literal so the port stays readable.
std::string endpoint(const std::string& host, std::uint16_t port);

// strerror() of an errno value of either sign.
std::string errno_text(int err);

// TCP_NODELAY: each TLS record is complete when written, nothing is gained by holding the
// next one back; without it a message's second record waits about 40 ms for the peer's
// delayed ACK (docs/benchmarks.md, "Exec round trips through RemoteClient"). On a socket
// that is not TCP (a socketpair in tests) the failure is only logged.
void set_no_delay(int fd);

// TCP_QUICKACK, for a 2.1.5 peer that keeps Nagle on: sends a pending ACK at once and
// leaves delayed-ACK mode, which the kernel re-enters on its own, hence called again after
// every read.
void ack_now(int fd);

}  // namespace outpost::io
