#include "harness/tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "harness/command.hpp"
#include "harness/netns.hpp"
#include "harness/process.hpp"

namespace outpost::test {
namespace {

std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline)
{
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

Result<UniqueFd> tcp_connect(const Netns* from, const std::string& address, std::uint16_t port,
                             std::chrono::milliseconds timeout)
{
    std::string where = address + " port " + std::to_string(port);
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (rc != 0) return make_error("harness", -EINVAL, "address " + where + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);

    auto deadline = std::chrono::steady_clock::now() + timeout;
    Result<UniqueFd> sock =
        from != nullptr
            ? socket_in(*from, list->ai_family, SOCK_STREAM, 0)
            : Result<UniqueFd>(UniqueFd(::socket(list->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)));
    if (!sock) return sock.error();
    if (!sock->valid()) return make_error("harness", -errno, std::string("socket: ") + strerror(errno));
    int fd = sock->get();
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (::connect(fd, list->ai_addr, list->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            return make_error("harness", -errno, "connect " + where + ": " + strerror(errno));
        for (;;) {
            pollfd pfd{fd, POLLOUT, 0};
            int prc = ::poll(&pfd, 1, static_cast<int>(remaining(deadline).count()));
            if (prc < 0 && errno == EINTR) continue;
            if (prc == 0) return make_error("harness", -ETIMEDOUT, "connect " + where + ": timed out");
            break;
        }
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return make_error("harness", -error, "connect " + where + ": " + strerror(error));
    }
    ::fcntl(fd, F_SETFL, flags);
    return std::move(sock.value());
}

Status wait_for_tcp(const Netns* from, const std::string& address, std::uint16_t port,
                    std::chrono::milliseconds timeout, Process* watch)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last_error = "no attempt made";
    for (;;) {
        if (watch != nullptr && !watch->is_running()) {
            std::string how = watch->wait_status() ? describe_wait_status(*watch->wait_status()) : "is gone";
            std::string message = watch->describe();
            message += " " + how;
            message += " before " + address;
            message += " port " + std::to_string(port) + " accepted connections";
            return make_error("harness", -ECHILD, std::move(message));
        }
        auto attempt = tcp_connect(from, address, port, std::min(remaining(deadline), kDefaultReadyTimeout));
        if (attempt) return {};
        if (attempt.error().code == -EINVAL) return attempt.error();  // bad address: no point retrying
        last_error = attempt.error().message;
        if (remaining(deadline).count() == 0) break;
        std::this_thread::sleep_for(std::min(remaining(deadline), kTcpRetryInterval));
    }
    return make_error("harness", -ETIMEDOUT,
                      address + " port " + std::to_string(port) + " did not accept connections within " +
                          std::to_string(timeout.count()) + " ms (last attempt: " + last_error + ")" +
                          (from != nullptr ? " from namespace " + from->name() : std::string()));
}

Result<std::uint16_t> free_loopback_port()
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0)
        return make_error("test", -errno, std::string("cannot find a free port: ") + std::strerror(errno));
    return ntohs(sin.sin_port);
}

Result<std::string> http_get(const Netns* from, const std::string& address, std::uint16_t port,
                             const std::string& target, std::chrono::milliseconds timeout)
{
    auto fd = tcp_connect(from, address, port, timeout);
    if (!fd) return fd.error();
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    (void)::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) < 0)
        return make_error("test", -errno, "GET " + target + ": " + std::strerror(errno));
    std::string response;
    char buffer[8192];
    ssize_t n = 0;
    while (response.size() < kMaxCapturedOutput && (n = ::recv(fd->get(), buffer, sizeof buffer, 0)) > 0)
        response.append(buffer, static_cast<std::size_t>(n));
    const std::string status = response.substr(0, response.find("\r\n"));
    if (status.find(" 200") == std::string::npos)
        return make_error("test", -EPROTO, "GET " + target + " from " + address + ": " + status);
    auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? std::string() : response.substr(body + 4);
}

bool closed_by_peer(int fd, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        char buffer[512];
        ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

}  // namespace outpost::test
