#include <catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "metrics/endpoint.hpp"
#include "metrics/registry.hpp"

using namespace outpost;
using namespace outpost::metrics;

namespace {

int connect_loopback(std::uint16_t port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{5, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Sends `request` and reads until the server closes (requests say Connection: close).
std::string http_exchange(std::uint16_t port, const std::string& request)
{
    int fd = connect_loopback(port);
    if (fd < 0) return "connect failed";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string response;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        response.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return response;
}

// Runs `client` on a thread while the loop serves.
template <typename F>
auto serve_while(GMainContext* context, F client)
{
    auto result = std::async(std::launch::async, client);
    while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
        g_main_context_iteration(context, FALSE), std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return result.get();
}

std::string get(const std::string& path, const std::string& method = "GET")
{
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("addresses are host literals with an optional port", "[metrics]")
{
    auto a = parse_address("OUTPOST_metrics_address", "127.0.0.1", 9673);
    REQUIRE(a.ok());
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 9673);
    a = parse_address("X", "127.0.0.1:9100", 9673);
    REQUIRE(a.ok());
    CHECK(a->port == 9100);
    a = parse_address("X", "[::1]:9200", 9673);
    REQUIRE(a.ok());
    CHECK(a->host == "::1");
    CHECK(a->port == 9200);
    a = parse_address("X", "::1", 9673);
    REQUIRE(a.ok());
    CHECK(describe(*a) == "[::1]:9673");
    CHECK(describe(*parse_address("X", "0.0.0.0", 1)) == "0.0.0.0:1");

    for (const char* bad : {"", "localhost", "localhost:9673", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:9o", "[::1", "[::1]x", "[::1]:", "1.2.3:80", ":9673"}) {
        INFO(bad);
        auto r = parse_address("OUTPOST_metrics_address", bad, 9673);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.starts_with("OUTPOST_metrics_address: \""));
    }
}

TEST_CASE("the endpoint serves GET /metrics and nothing else", "[metrics]")
{
    GMainContext* context = g_main_context_new();
    Registry registry;
    registry.counter("outpost_test_requests_total", "Requests.").with({}).inc(5);
    auto endpoint = Endpoint::create(context, {"127.0.0.1", 0}, [&]() { return registry.render(); });
    REQUIRE(endpoint.ok());
    std::uint16_t port = (*endpoint)->port();
    REQUIRE(port != 0);

    std::string ok = serve_while(context, [&]() { return http_exchange(port, get("/metrics")); });
    CHECK(ok.starts_with("HTTP/1.1 200"));
    CHECK(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
    CHECK(
        ok.ends_with("\r\n\r\n# HELP outpost_test_requests_total Requests.\n"
                     "# TYPE outpost_test_requests_total counter\n"
                     "outpost_test_requests_total 5\n"));
    CHECK((*endpoint)->scrapes() == 1);

    std::string other = serve_while(context, [&]() { return http_exchange(port, get("/")); });
    CHECK(other.starts_with("HTTP/1.1 404"));
    std::string post = serve_while(context, [&]() { return http_exchange(port, get("/metrics", "POST")); });
    CHECK(post.starts_with("HTTP/1.1 405"));
    CHECK(post.find("Allow: GET\r\n") != std::string::npos);
    CHECK((*endpoint)->scrapes() == 1);

    // A request head beyond the bound is refused without being stored.
    std::string huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(kMaxRequestBytes, 'a') +
                       "\r\nConnection: close\r\n\r\n";
    std::string refused = serve_while(context, [&]() { return http_exchange(port, huge); });
    CHECK_FALSE(refused.starts_with("HTTP/1.1 200"));
    CHECK((*endpoint)->scrapes() == 1);

    endpoint->reset();
    g_main_context_unref(context);
}

TEST_CASE("connections beyond the limit wait until one closes", "[metrics]")
{
    GMainContext* context = g_main_context_new();
    Registry registry;
    registry.gauge("outpost_test_up", "Up.").with({}).set(1);
    auto endpoint = Endpoint::create(context, {"127.0.0.1", 0}, [&]() { return registry.render(); });
    REQUIRE(endpoint.ok());
    std::uint16_t port = (*endpoint)->port();

    struct Outcome {
        std::string while_full;
        std::string after;
    };
    Outcome outcome = serve_while(context, [&]() {
        std::vector<int> idle;
        for (unsigned i = 0; i < kMaxConnections; ++i)
            idle.push_back(connect_loopback(port));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all accepted
        int over = connect_loopback(port);
        timeval tv{1, 0};
        (void)::setsockopt(over, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string request = get("/metrics");
        (void)::send(over, request.data(), request.size(), MSG_NOSIGNAL);
        Outcome o;
        char buffer[4096];
        ssize_t n = ::recv(over, buffer, sizeof buffer, 0);
        if (n > 0) o.while_full.assign(buffer, static_cast<std::size_t>(n));
        for (int fd : idle)
            ::close(fd);
        tv = {5, 0};
        (void)::setsockopt(over, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while ((n = ::recv(over, buffer, sizeof buffer, 0)) > 0)
            o.after.append(buffer, static_cast<std::size_t>(n));
        ::close(over);
        return o;
    });
    CHECK(outcome.while_full.empty());
    CHECK(outcome.after.starts_with("HTTP/1.1 200"));
    CHECK((*endpoint)->scrapes() == 1);

    endpoint->reset();
    g_main_context_unref(context);
}
