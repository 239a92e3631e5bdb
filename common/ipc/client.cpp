#include "ipc/client.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include "ipc/server.hpp"
#include "util/log.hpp"
#include "util/users.hpp"
#include "wire/codes.hpp"

namespace outpost::ipc {

namespace {

const log::Category log_cat{"ipc.client"};
constexpr const char* kDomain = "ipc";

Error connect_error(const std::string& service, int err)
{
    switch (err) {
        case ECONNREFUSED:
        case ENOENT:
        case ENOTCONN:
            return make_error(kDomain, -ENOTCONN, "nothing serves " + service + " on this machine");
        case EACCES:
        case EPERM:
            return make_error(kDomain, -EACCES,
                              service +
                                  " refused the connection: permission denied (run as root or as a "
                                  "member of group " +
                                  std::string(kClusterGroup) + ")");
        default:
            return make_error(kDomain, -err, "cannot connect to " + service + ": " + std::strerror(err));
    }
}

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(const std::string& service, std::size_t buffer_size,
                                                const std::string& daemon_user)
{
    errno = 0;
    QbClientHandle handle(qb_ipcc_connect(service.c_str(), buffer_size));
    if (!handle) {
        const int err = errno != 0 ? errno : ENOTCONN;
        log_debug(log_cat, "Cannot connect to %s: %s", service.c_str(), std::strerror(err));
        return connect_error(service, err);
    }
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (int32_t rc = qb_ipcc_auth_get(handle.get(), &pid, &uid, &gid); rc != 0)
        return make_error(kDomain, rc, "cannot tell who serves " + service + ": " + std::strerror(-rc));
    if (uid != 0) {
        auto daemon = users::find_user(daemon_user);
        if (!daemon || daemon->uid != uid) {
            return make_error(kDomain, -EPERM,
                              service + " is served by process " + std::to_string(pid) + " of user " +
                                  log::quote(users::user_name(uid)) + ", neither root nor " +
                                  log::quote(daemon_user) + ": not trusting it");
        }
    }
    const int32_t granted = qb_ipcc_get_buffer_size(handle.get());
    const std::size_t size = granted > 0 ? static_cast<std::size_t>(granted) : buffer_size;
    log_debug(log_cat, "Connected to %s (server pid %d, buffer %zu bytes)", service.c_str(),
              static_cast<int>(pid), size);
    return std::unique_ptr<Client>(new Client(std::move(handle), service, size, pid));
}

Result<Message> Client::request(std::string_view xml, std::chrono::milliseconds timeout)
{
    const std::int32_t id = next_id_++;
    auto bytes = encode_message(id, xml, wire::ipc_flag::client_response, buffer_size_, buffer_size_);
    if (!bytes) return bytes.error();
    const ssize_t sent = qb_ipcc_send(handle_.get(), bytes->data(), bytes->size());
    if (sent < 0) {
        return make_error(kDomain, static_cast<int>(sent),
                          "cannot send to " + service_ + ": " + std::strerror(static_cast<int>(-sent)));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buffer(buffer_size_, '\0');
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return make_error(kDomain, -ETIMEDOUT,
                              service_ + " did not answer within " + std::to_string(timeout.count()) + " ms");
        const ssize_t got =
            qb_ipcc_recv(handle_.get(), buffer.data(), buffer.size(), static_cast<int32_t>(left.count()));
        if (got == -EAGAIN || got == -ETIMEDOUT) continue;
        if (got < 0) {
            const int err = static_cast<int>(-got);
            if (err == ENOTCONN || err == ESHUTDOWN || err == ECONNRESET ||
                !qb_ipcc_is_connected(handle_.get()))
                return make_error(kDomain, -ENOTCONN, service_ + " closed the connection");
            return make_error(kDomain, -err, "cannot receive from " + service_ + ": " + std::strerror(err));
        }
        auto message = decode_message(buffer.data(), static_cast<std::size_t>(got));
        if (!message) return message.error();
        // A response to an earlier request that timed out: not ours.
        if (message->header.id < id) {
            log_debug(log_cat, "Discarding %s's late response %d", service_.c_str(), message->header.id);
            continue;
        }
        return message;
    }
}

}  // namespace outpost::ipc
