#include "io/lookup.hpp"

#include <netdb.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "io/offload.hpp"
#include "io/socket.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

constexpr const char* kDomain = "io";

// getaddrinfo for a TCP connection. With numeric_only it never touches DNS or files, so it
// may run on the loop; otherwise it may block and must run on the pool.
Result<AddressList> resolve(const std::string& host, std::uint16_t port, bool numeric_only)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
    // "[::1]" is how people write IPv6 literals next to ports; getaddrinfo wants it bare.
    std::string name = host;
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    const std::string service = std::to_string(port);
    addrinfo* raw = nullptr;
    const int rc = getaddrinfo(name.c_str(), service.c_str(), &hints, &raw);
    if (rc != 0) {
        std::string cause = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
        return make_error(kDomain, -EADDRNOTAVAIL, "cannot resolve " + log::quote(host) + ": " + cause);
    }
    AddrinfoList list(raw);
    AddressList addresses;
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        SocketAddress address;
        std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
        address.length = ai->ai_addrlen;
        addresses.push_back(address);
    }
    if (addresses.empty()) {
        return make_error(kDomain, -EADDRNOTAVAIL, "no IPv4 or IPv6 address for " + log::quote(host));
    }
    return addresses;
}

struct LookupJob {
    std::string host;
    std::uint16_t port = 0;
    GMainContext* target = nullptr;  // a reference, dropped once the result is posted
    LookupDone done;
};

void run_lookup(gpointer data, gpointer /*pool_data*/)
{
    std::unique_ptr<LookupJob> job(static_cast<LookupJob*>(data));
    auto addresses = resolve(job->host, job->port, false);
    post_to_context(job->target, [done = std::move(job->done), addresses = std::move(addresses)]() mutable {
        done(std::move(addresses));
    });
    g_main_context_unref(job->target);
}

// The process-wide lookup pool, made on first use (a function-local static: thread-safe).
GThreadPool* lookup_pool(GError** error)
{
    static GThreadPool* pool = g_thread_pool_new(run_lookup, nullptr, kMaxLookupThreads, FALSE, error);
    return pool;
}

}  // namespace

Result<AddressList> resolve_numeric(const std::string& host, std::uint16_t port)
{
    return resolve(host, port, true);
}

bool is_numeric_host(const std::string& host)
{
    if (host.empty()) return false;
    return resolve(host, 0, true).ok();
}

Status lookup_async(GMainContext* context, const std::string& host, std::uint16_t port, LookupDone done)
{
    GError* error = nullptr;
    GThreadPool* pool = lookup_pool(&error);
    auto job = std::make_unique<LookupJob>();
    job->host = host;
    job->port = port;
    job->target = g_main_context_ref(context != nullptr ? context : g_main_context_default());
    job->done = std::move(done);
    if (pool != nullptr && g_thread_pool_push(pool, job.get(), &error) != FALSE) {
        (void)job.release();  // run_lookup owns it now
        return {};
    }
    std::string why = error != nullptr ? error->message : "no lookup pool";
    if (error != nullptr) g_error_free(error);
    g_main_context_unref(job->target);
    return make_error(kDomain, -EAGAIN, "cannot queue the lookup of " + log::quote(host) + ": " + why);
}

}  // namespace outpost::io
