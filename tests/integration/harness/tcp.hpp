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

inline constexpr std::chrono::milliseconds kDefaultReadyTimeout{15000};
// Pause between two connection attempts of wait_for_tcp().
inline constexpr std::chrono::milliseconds kTcpRetryInterval{50};

// A connected, blocking, close-on-exec socket. `from` = nullptr: the test's own namespace.
Result<UniqueFd> tcp_connect(const Netns* from, const std::string& address, std::uint16_t port,
                             std::chrono::milliseconds timeout);

// Succeeds once a connection to address:port is accepted (the probe connection is closed
// at once). Fails on timeout, or as soon as `watch` (if given) is no longer running.
Status wait_for_tcp(const Netns* from, const std::string& address, std::uint16_t port,
                    std::chrono::milliseconds timeout = kDefaultReadyTimeout, Process* watch = nullptr);

}  // namespace outpost::test
