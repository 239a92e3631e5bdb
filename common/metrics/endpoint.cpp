#include "metrics/endpoint.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>

#include "io/lookup.hpp"
#include "metrics/registry.hpp"
#include "util/log.hpp"

namespace outpost::metrics {

namespace {

const log::Category log_cat{"metrics.http"};

// MHD is run at least this often. Needed: libmicrohttpd 0.9.75 in external epoll mode does
// not wake its epoll fd when a connection closes while it is at its connection limit, so
// the connections waiting in the listen backlog would wait for ever (measured).
constexpr MHD_UNSIGNED_LONG_LONG kMaxWaitMs = 500;

Error address_error(std::string_view setting, std::string_view value, const std::string& why)
{
    return make_error("metrics", -EINVAL,
                      std::string(setting) + ": " + log::quote(std::string(value)) + " " + why +
                          " (expected HOST, HOST:PORT or [IPV6]:PORT with an IP address as HOST)");
}

void log_mhd(void* /*cls*/, const char* format, va_list args)
{
    char line[512];
    (void)std::vsnprintf(line, sizeof line, format, args);
    std::string text(line);
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    log_debug(log_cat, "libmicrohttpd: %s", text.c_str());
}

}  // namespace

Result<Address> parse_address(std::string_view setting, std::string_view value, std::uint16_t default_port)
{
    std::string_view host = value;
    std::string_view port;
    bool has_port = false;
    if (value.starts_with('[')) {
        auto close = value.find(']');
        if (close == std::string_view::npos) return address_error(setting, value, "has no closing ']'");
        host = value.substr(1, close - 1);
        std::string_view rest = value.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return address_error(setting, value, "has text after ']'");
            port = rest.substr(1);
            has_port = true;
        }
    } else if (std::count(value.begin(), value.end(), ':') == 1) {
        auto colon = value.find(':');
        host = value.substr(0, colon);
        port = value.substr(colon + 1);
        has_port = true;
    }
    Address address{std::string(host), default_port};
    if (address.host.empty()) return address_error(setting, value, "names no address");
    in6_addr probe{};
    bool v4 = ::inet_pton(AF_INET, address.host.c_str(), &probe) == 1;
    if (!v4 && ::inet_pton(AF_INET6, address.host.c_str(), &probe) != 1)
        return address_error(setting, value, "is not an IP address");
    if (has_port) {
        unsigned parsed = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
        if (port.empty() || ec != std::errc() || end != port.data() + port.size() || parsed < 1 ||
            parsed > 65535)
            return address_error(setting, value, "has no port number 1-65535");
        address.port = static_cast<std::uint16_t>(parsed);
    }
    return address;
}

std::string describe(const Address& address)
{
    bool v6 = address.host.find(':') != std::string::npos;
    return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

void Endpoint::DaemonDeleter::operator()(MHD_Daemon* daemon) const
{
    MHD_stop_daemon(daemon);
}

Endpoint::Endpoint(GMainContext* context, Render render) : context_(context), render_(std::move(render)) {}

Endpoint::~Endpoint()
{
    // The sources first: they must not call run() on a stopped daemon.
    timer_.reset();
    watch_.reset();
}

Result<std::unique_ptr<Endpoint>> Endpoint::create(GMainContext* context, const Address& address,
                                                   Render render)
{
    auto sockets = io::resolve_numeric(address.host, address.port);
    if (!sockets || sockets->empty())
        return make_error("metrics", -EADDRNOTAVAIL, describe(address) + ": not an IP address");
    const io::SocketAddress& where = sockets->front();

    std::unique_ptr<Endpoint> self(new Endpoint(context, std::move(render)));
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;  // no MHD_USE_INTERNAL_POLLING_THREAD: our loop
    if (where.storage.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    MHD_AccessHandlerCallback handler =
        [](void* cls, MHD_Connection* connection, const char* url, const char* method, const char* version,
           const char* upload_data, std::size_t* upload_data_size, void** request_state) -> MHD_Result {
        return static_cast<MHD_Result>(
            on_request(cls, connection, url, method, version, upload_data, upload_data_size, request_state));
    };
    errno = 0;
    MHD_Daemon* daemon = MHD_start_daemon(
        flags, address.port, nullptr, nullptr, handler, self.get(), MHD_OPTION_EXTERNAL_LOGGER, &log_mhd,
        nullptr, MHD_OPTION_SOCK_ADDR, reinterpret_cast<const sockaddr*>(&where.storage),
        MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, kMaxConnections,
        MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        kMaxRequestBytes, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
    if (daemon == nullptr) {
        int saved = errno != 0 ? errno : EADDRINUSE;
        return make_error("metrics", -saved,
                          "cannot listen on " + describe(address) + ": " + std::strerror(saved));
    }
    self->daemon_.reset(daemon);
    const MHD_DaemonInfo* port = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port_ = port != nullptr ? port->port : address.port;
    const MHD_DaemonInfo* epoll = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (epoll == nullptr || epoll->epoll_fd < 0)
        return make_error("metrics", -EINVAL, "libmicrohttpd gave no epoll descriptor");
    Endpoint* raw = self.get();
    self->watch_ = io::FdWatch(context, epoll->epoll_fd, G_IO_IN, [raw](GIOCondition) { raw->run(); });
    self->schedule();
    return self;
}

void Endpoint::run()
{
    (void)MHD_run(daemon_.get());
    schedule();
}

void Endpoint::schedule()
{
    timer_.reset();
    MHD_UNSIGNED_LONG_LONG wait_ms = kMaxWaitMs;
    if (MHD_get_timeout(daemon_.get(), &wait_ms) != MHD_YES) wait_ms = kMaxWaitMs;
    timer_ = io::add_timeout(context_, std::chrono::milliseconds(std::min(wait_ms, kMaxWaitMs)),
                             [this]() { run(); });
}

int Endpoint::on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                         const char* /*version*/, const char* /*upload_data*/, std::size_t* upload_data_size,
                         void** /*request_state*/)
{
    // A GET carries no body; one that does anyway is answered at once (MHD then closes the
    // connection rather than read what the client still sends).
    *upload_data_size = 0;
    try {
        return static_cast<Endpoint*>(self)->answer(connection, url, method);
    } catch (const std::exception& e) {
        log_debug(log_cat, "request failed: %s", e.what());
    } catch (...) {
        log_debug(log_cat, "request failed");
    }
    return MHD_NO;  // MHD closes the connection
}

int Endpoint::answer(MHD_Connection* connection, std::string_view url, std::string_view method)
{
    unsigned status = MHD_HTTP_OK;
    std::string body;
    const char* type = kContentType;
    if (url != "/metrics") {
        status = MHD_HTTP_NOT_FOUND;
        body = "not found: the metrics are at /metrics\n";
        type = "text/plain; charset=utf-8";
    } else if (method != MHD_HTTP_METHOD_GET) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = "method not allowed: only GET\n";
        type = "text/plain; charset=utf-8";
    } else {
        body = render_();
        ++scrapes_;
    }
    MHD_Response* response = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    (void)MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void)MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET");
    MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

}  // namespace outpost::metrics
