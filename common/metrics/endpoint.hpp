// Endpoint: serves a Registry's exposition at GET /metrics over plain HTTP, with
// libmicrohttpd driven by the owner's GLib main loop (its epoll fd is one more source: no
// thread, and nothing blocks, since every socket is non-blocking and rendering only reads
// memory and cgroupfs). Bounded: kMaxConnections at once (more wait in the kernel's listen
// backlog until one closes),
// kMaxRequestBytes of request head per connection, kIdleTimeoutSeconds of silence before a
// connection is closed. Anything but GET is 405, any other path 404.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "io/source.hpp"
#include "util/result.hpp"

struct MHD_Daemon;
struct MHD_Connection;

namespace outpost::metrics {

inline constexpr unsigned kMaxConnections = 8;
inline constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024;
inline constexpr unsigned kIdleTimeoutSeconds = 10;

// Where to listen: an IP address literal and a port.
struct Address {
    std::string host;
    std::uint16_t port = 0;
};

// Parses a setting's value: "HOST", "HOST:PORT", "[IPV6]", "[IPV6]:PORT" (HOST an IPv4 or
// IPv6 literal: no name is resolved at start), PORT 1-65535 in decimal, `default_port`
// when none is given. `setting` names the variable in the error.
[[nodiscard]] Result<Address> parse_address(std::string_view setting, std::string_view value,
                                            std::uint16_t default_port);
// "127.0.0.1:9673", "[::1]:9673".
[[nodiscard]] std::string describe(const Address& address);

class Endpoint {
public:
    using Render = std::function<std::string()>;

    // Binds and starts serving on `context`; an error names the address and the cause.
    static Result<std::unique_ptr<Endpoint>> create(GMainContext* context, const Address& address,
                                                    Render render);
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;
    ~Endpoint();

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::uint64_t scrapes() const { return scrapes_; }

private:
    struct DaemonDeleter {
        void operator()(MHD_Daemon* daemon) const;
    };

    Endpoint(GMainContext* context, Render render);
    void run();
    void schedule();
    int answer(MHD_Connection* connection, std::string_view url, std::string_view method);

    static int on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                          const char* version, const char* upload_data, std::size_t* upload_data_size,
                          void** request_state);

    GMainContext* context_;
    Render render_;
    std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;
    io::FdWatch watch_;
    io::Source timer_;
    std::uint16_t port_ = 0;
    std::uint64_t scrapes_ = 0;
};

}  // namespace outpost::metrics
