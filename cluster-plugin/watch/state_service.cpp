#include "watch/state_service.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/log.hpp"

namespace outpost::cluster::watch {

namespace {

const outpost::log::Category log_cat{"cluster.watch.state"};

Error sys_error(const std::string& what)
{
    return make_error("watch", errno, what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<StateService>> StateService::start(GMainContext* context, const std::string& path,
                                                          Answerer answerer)
{
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return make_error("watch", EINVAL, "state socket path '" + path + "' is empty or too long");
    namespace fs = std::filesystem;
    std::error_code ec;
    auto dir = fs::path(path).parent_path();
    if (!dir.empty() && !fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) return make_error("watch", ec.value(), "cannot create " + dir.string() + ": " + ec.message());
        fs::permissions(dir, fs::perms(0755), ec);
    }
    // A socket left by a previous run is replaced; anything else at the path is not ours.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return make_error("watch", EEXIST, path + " exists and is not a socket");
        ::unlink(path.c_str());
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    mode_t old_mask = ::umask(0177);  // the socket file is born 0600
    int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    ::umask(old_mask);
    if (bound != 0) return sys_error("bind " + path);
    if (::listen(fd.get(), 64) != 0) return sys_error("listen " + path);
    return std::unique_ptr<StateService>(new StateService(context, path, std::move(fd), std::move(answerer)));
}

StateService::StateService(GMainContext* context, std::string path, UniqueFd listener, Answerer answerer)
    : context_(context),
      path_(std::move(path)),
      listener_(std::move(listener)),
      answerer_(std::move(answerer))
{
    accept_watch_ =
        io::FdWatch(context_, listener_.get(), G_IO_IN, [this](GIOCondition) { accept_clients(); });
}

StateService::~StateService()
{
    clients_.clear();
    accept_watch_.reset();
    listener_.reset();
    ::unlink(path_.c_str());
}

void StateService::accept_clients()
{
    for (;;) {
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warning(log_cat, "accept on %s: %s", path_.c_str(), std::strerror(errno));
            return;
        }
        if (clients_.size() >= kMaxClients) {
            log_warning(log_cat, "%zu state queries open already: one refused", clients_.size());
            continue;  // closed by fd's destructor
        }
        int id = next_id_++;
        auto& c = clients_[id];
        c.fd = std::move(fd);
        c.watch = io::FdWatch(context_, c.fd.get(), G_IO_IN,
                              [this, id](GIOCondition cond) { on_client(id, cond); });
        c.deadline = io::add_timeout(context_, kClientDeadline,
                                     [this, id] { drop(id, "no query within the deadline"); });
    }
}

void StateService::on_client(int id, GIOCondition cond)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    auto& c = it->second;
    if (c.out.empty()) {
        char buf[1024];
        ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) return drop(id, n == 0 ? "closed before a full query" : "read error");
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > kMaxStateLine) return drop(id, "query longer than allowed");
        auto nl = c.in.find('\n');
        if (nl == std::string::npos) return;
        if (nl + 1 != c.in.size()) return drop(id, "more than one line");
        auto q = decode_query(c.in);
        if (!q) return drop(id, "malformed query");
        c.out = encode_answer(answerer_(*q));
        log_debug(log_cat, "state query for %s answered: %.*s", q->resource.c_str(),
                  static_cast<int>(c.out.size() - 1), c.out.c_str());
        c.watch.set_events(G_IO_OUT);
        return;
    }
    if ((cond & G_IO_OUT) == 0 && (cond & (G_IO_HUP | G_IO_ERR)) != 0)
        return drop(id, "hung up before the answer");
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) return drop(id, "write error");
    c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) clients_.erase(id);  // answered
}

void StateService::drop(int id, const char* why)
{
    if (clients_.erase(id) != 0) log_info(log_cat, "state query client dropped: %s", why);
}

}  // namespace outpost::cluster::watch
