// Host name lookups for outgoing connections. A numeric address is parsed on the spot
// (never touching DNS or files); a name, whose lookup can block for seconds, goes to one
// small pool of worker threads shared by the whole process (a controller reconnecting to
// dozens of guests at once queues its lookups there), and the result comes back on the
// caller's GMainContext.
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace outpost::io {

// Worker threads of the process-wide lookup pool.
inline constexpr int kMaxLookupThreads = 2;

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};
using AddressList = std::vector<SocketAddress>;

// The IPv4 and IPv6 TCP addresses of a numeric host ("192.0.2.1", "::1", "[::1]");
// -EADDRNOTAVAIL (domain "io") for anything else. Never blocks.
Result<AddressList> resolve_numeric(const std::string& host, std::uint16_t port);
[[nodiscard]] bool is_numeric_host(const std::string& host);

// Queues the lookup of a name on the pool; `done` runs later on `context`'s loop (the
// global default context if null) with the addresses or -EADDRNOTAVAIL. An error (-EAGAIN)
// if the pool cannot take it; `done` is then never called.
using LookupDone = std::function<void(Result<AddressList>)>;
Status lookup_async(GMainContext* context, const std::string& host, std::uint16_t port, LookupDone done);

}  // namespace outpost::io
