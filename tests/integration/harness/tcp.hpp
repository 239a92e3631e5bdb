// TCP reachability for integration tests.
//
// tcp_connect() opens one connection to address:port, from the test's own namespace
// (through the veth into a guest) or from inside a Netns, with a deadline. wait_for_tcp()
// retries that until the port accepts, for daemons that need time to start listening;
// given the daemon's Process it gives up at once, with the exit status, when the daemon
// dies instead. Addresses are numeric (IPv4 or IPv6); no name lookups happen here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

class Netns;
class Process;

// Generous: pacemaker-remoted 2.1.5 generates 2048-bit Diffie-Hellman parameters before it
// listens, which took over 15 s on 2 loaded cores; a ready daemon ends the wait at once.
inline constexpr std::chrono::milliseconds kDefaultReadyTimeout{60000};
// Pause between two connection attempts of wait_for_tcp().
inline constexpr std::chrono::milliseconds kTcpRetryInterval{50};

// A connected, blocking, close-on-exec socket. `from` = nullptr: the test's own namespace.
Result<UniqueFd> tcp_connect(const Netns* from, const std::string& address, std::uint16_t port,
                             std::chrono::milliseconds timeout);

// Whether the peer ended the connection on `fd` (EOF or reset) within `limit`; bytes it
// sent meanwhile (a TLS alert) are read and dropped.
bool closed_by_peer(int fd, std::chrono::milliseconds limit);

// Succeeds once a connection to address:port is accepted (the probe connection is closed
// at once). Fails on timeout, or as soon as `watch` (if given) is no longer running.
Status wait_for_tcp(const Netns* from, const std::string& address, std::uint16_t port,
                    std::chrono::milliseconds timeout = kDefaultReadyTimeout, Process* watch = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
Result<std::uint16_t> free_loopback_port();

// One HTTP/1.0 GET of `target` ("/metrics"): the body when the status is 200, else an
// Error with the status line. Responses are read up to kMaxCapturedOutput bytes.
Result<std::string> http_get(const Netns* from, const std::string& address, std::uint16_t port,
                             const std::string& target,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace outpost::test
