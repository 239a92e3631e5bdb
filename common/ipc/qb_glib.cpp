#include "ipc/qb_glib.hpp"

#include <poll.h>

#include <cerrno>

#include "util/log.hpp"

namespace outpost::ipc {

namespace {

const log::Category log_cat{"ipc.loop"};

gint glib_priority(enum qb_loop_priority p)
{
    switch (p) {
        case QB_LOOP_HIGH:
            return G_PRIORITY_HIGH;
        case QB_LOOP_LOW:
            return G_PRIORITY_LOW;
        case QB_LOOP_MED:
        default:
            return G_PRIORITY_DEFAULT;
    }
}

// libqb speaks poll(2) event bits; GLib's conditions have other names for the same things.
GIOCondition to_condition(int32_t events)
{
    unsigned condition = 0;
    if ((events & POLLIN) != 0) condition |= G_IO_IN;
    if ((events & POLLPRI) != 0) condition |= G_IO_PRI;
    if ((events & POLLOUT) != 0) condition |= G_IO_OUT;
    if ((events & POLLERR) != 0) condition |= G_IO_ERR;
    if ((events & POLLHUP) != 0) condition |= G_IO_HUP;
    if ((events & POLLNVAL) != 0) condition |= G_IO_NVAL;
    return static_cast<GIOCondition>(condition);
}

int32_t to_events(GIOCondition condition)
{
    int32_t events = 0;
    if ((condition & G_IO_IN) != 0) events |= POLLIN;
    if ((condition & G_IO_PRI) != 0) events |= POLLPRI;
    if ((condition & G_IO_OUT) != 0) events |= POLLOUT;
    if ((condition & G_IO_ERR) != 0) events |= POLLERR;
    if ((condition & G_IO_HUP) != 0) events |= POLLHUP;
    if ((condition & G_IO_NVAL) != 0) events |= POLLNVAL;
    return events;
}

}  // namespace

struct QbGlibLoop::FdSource {
    GSource base;
    gpointer tag;
    int32_t fd;
    void* data;
    qb_ipcs_dispatch_fn_t fn;
};

struct QbGlibLoop::Job {
    QbGlibLoop* owner;
    std::uint64_t key;
    void* data;
    qb_loop_job_dispatch_fn fn;
};

QbGlibLoop* QbGlibLoop::current_ = nullptr;
GSourceFuncs QbGlibLoop::fd_funcs_ = {nullptr, nullptr, &QbGlibLoop::dispatch_fd, nullptr, nullptr, nullptr};

Result<std::unique_ptr<QbGlibLoop>> QbGlibLoop::create(GMainContext* context)
{
    if (current_ != nullptr)
        return make_error("ipc", -EBUSY, "a libqb main-loop adapter already exists in this process");
    std::unique_ptr<QbGlibLoop> loop(new QbGlibLoop(context));
    current_ = loop.get();
    return loop;
}

QbGlibLoop::QbGlibLoop(GMainContext* context) : context_(context)
{
    handlers_.job_add = &QbGlibLoop::job_add;
    handlers_.dispatch_add = &QbGlibLoop::dispatch_add;
    handlers_.dispatch_mod = &QbGlibLoop::dispatch_mod;
    handlers_.dispatch_del = &QbGlibLoop::dispatch_del;
}

QbGlibLoop::~QbGlibLoop()
{
    watches_.clear();
    jobs_.clear();
    if (current_ == this) current_ = nullptr;
}

gboolean QbGlibLoop::dispatch_fd(GSource* source, GSourceFunc /*callback*/, gpointer /*user_data*/)
{
    auto* fd_source = reinterpret_cast<FdSource*>(source);
    GIOCondition revents = g_source_query_unix_fd(source, fd_source->tag);
    // The callback may delete this very watch (dispatch_del) or others; GLib keeps `source`
    // alive until we return, and we only look at the registry again afterwards.
    int32_t rc = fd_source->fn(fd_source->fd, to_events(revents), fd_source->data);
    if (rc < 0) {
        // libqb's own loop drops a poll entry whose callback fails; do the same.
        QbGlibLoop* loop = current_;
        if (loop != nullptr) {
            auto it = loop->watches_.find(fd_source->fd);
            if (it != loop->watches_.end() && it->second.get() == source) loop->remove_watch(fd_source->fd);
        }
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

int32_t QbGlibLoop::dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                                 qb_ipcs_dispatch_fn_t fn)
{
    QbGlibLoop* loop = current_;
    if (loop == nullptr || fn == nullptr || fd < 0) return -EINVAL;
    if (loop->watches_.count(fd) != 0) return -EEXIST;
    GSource* source = g_source_new(&fd_funcs_, sizeof(FdSource));
    auto* fd_source = reinterpret_cast<FdSource*>(source);
    fd_source->fd = fd;
    fd_source->data = data;
    fd_source->fn = fn;
    fd_source->tag = g_source_add_unix_fd(source, fd, to_condition(events));
    g_source_set_priority(source, glib_priority(p));
    g_source_set_name(source, "libqb IPC fd");
    g_source_attach(source, loop->context_);
    loop->watches_.emplace(fd, io::Source(source));
    log_trace(log_cat, "watching fd %d (events 0x%x)", fd, static_cast<unsigned>(events));
    return 0;
}

int32_t QbGlibLoop::dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                                 qb_ipcs_dispatch_fn_t fn)
{
    QbGlibLoop* loop = current_;
    if (loop == nullptr) return -EINVAL;
    auto it = loop->watches_.find(fd);
    if (it == loop->watches_.end()) return -ENOENT;
    GSource* source = it->second.get();
    auto* fd_source = reinterpret_cast<FdSource*>(source);
    fd_source->data = data;
    fd_source->fn = fn;
    g_source_modify_unix_fd(source, fd_source->tag, to_condition(events));
    g_source_set_priority(source, glib_priority(p));
    return 0;
}

int32_t QbGlibLoop::dispatch_del(int32_t fd)
{
    QbGlibLoop* loop = current_;
    if (loop == nullptr) return -EINVAL;
    if (loop->watches_.count(fd) == 0) return -ENOENT;
    loop->remove_watch(fd);
    return 0;
}

void QbGlibLoop::remove_watch(int32_t fd)
{
    if (watches_.erase(fd) != 0) log_trace(log_cat, "stopped watching fd %d", fd);
}

gboolean QbGlibLoop::run_job(gpointer data)
{
    auto* job = static_cast<Job*>(data);
    QbGlibLoop* owner = job->owner;
    // Forget the source first (it goes when this returns): the job may add further jobs or
    // destroy services.
    auto node = owner->jobs_.extract(job->key);
    job->fn(job->data);
    return G_SOURCE_REMOVE;
}

int32_t QbGlibLoop::job_add(enum qb_loop_priority p, void* data, qb_loop_job_dispatch_fn fn)
{
    QbGlibLoop* loop = current_;
    if (loop == nullptr || fn == nullptr) return -EINVAL;
    auto* job = new Job{loop, loop->next_job_++, data, fn};
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, glib_priority(p));
    g_source_set_callback(source, &QbGlibLoop::run_job, job, [](gpointer j) { delete static_cast<Job*>(j); });
    g_source_set_name(source, "libqb IPC job");
    g_source_attach(source, loop->context_);
    loop->jobs_.emplace(job->key, io::Source(source));
    return 0;
}

}  // namespace outpost::ipc
