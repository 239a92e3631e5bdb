#include "lifecycle/event_loop.hpp"

#include <libvirt/libvirt.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>

#include "lifecycle/libvirt.hpp"
#include "util/log.hpp"

namespace outpost::cluster::lifecycle {

namespace {

const outpost::log::Category log_cat{"cluster.lifecycle.loop"};

struct Handle {
    int id = 0;
    int fd = -1;
    virEventHandleCallback callback = nullptr;
    void* opaque = nullptr;
    virFreeCallback free_opaque = nullptr;
    GSource* source = nullptr;
    gpointer tag = nullptr;  // g_source_add_unix_fd's, null while libvirt wants no events
};

struct Timer {
    int id = 0;
    virEventTimeoutCallback callback = nullptr;
    void* opaque = nullptr;
    virFreeCallback free_opaque = nullptr;
    GSource* source = nullptr;  // null while disabled (interval -1)
};

// Process-wide, like libvirt's registration; never destroyed (libvirt may still remove
// watches while the process exits).
struct Loop {
    std::mutex mutex;
    GMainContext* context = nullptr;
    int next_id = 1;
    std::map<int, std::shared_ptr<Handle>> handles;
    std::map<int, std::shared_ptr<Timer>> timers;
};

Loop& loop()
{
    static auto* instance = new Loop();  // NOLINT: intentionally immortal
    return *instance;
}

struct FdSource {
    GSource base;
    int id;
};

GIOCondition to_glib(int events)
{
    unsigned c = 0;
    if ((events & VIR_EVENT_HANDLE_READABLE) != 0) c |= G_IO_IN;
    if ((events & VIR_EVENT_HANDLE_WRITABLE) != 0) c |= G_IO_OUT;
    // poll() reports errors and hang-ups whatever was asked; GLib only if asked.
    if (c != 0) c |= G_IO_ERR | G_IO_HUP;
    return static_cast<GIOCondition>(c);
}

int to_libvirt(GIOCondition condition)
{
    int events = 0;
    if ((condition & (G_IO_IN | G_IO_PRI)) != 0) events |= VIR_EVENT_HANDLE_READABLE;
    if ((condition & G_IO_OUT) != 0) events |= VIR_EVENT_HANDLE_WRITABLE;
    if ((condition & (G_IO_ERR | G_IO_NVAL)) != 0) events |= VIR_EVENT_HANDLE_ERROR;
    if ((condition & G_IO_HUP) != 0) events |= VIR_EVENT_HANDLE_HANGUP;
    return events;
}

// Caller holds the lock.
void set_condition(Handle& h, int events)
{
    GIOCondition condition = to_glib(events);
    if (condition == 0) {
        // Removed rather than set to 0: a hung-up fd would still be reported.
        if (h.tag != nullptr) g_source_remove_unix_fd(h.source, h.tag);
        h.tag = nullptr;
    } else if (h.tag == nullptr) {
        h.tag = g_source_add_unix_fd(h.source, h.fd, condition);
    } else {
        g_source_modify_unix_fd(h.source, h.tag, condition);
    }
}

gboolean fd_dispatch(GSource* source, GSourceFunc /*callback*/, gpointer /*data*/)
{
    int id = reinterpret_cast<FdSource*>(source)->id;  // NOLINT: GSource subclass
    virEventHandleCallback callback = nullptr;
    void* opaque = nullptr;
    int fd = -1;
    int events = 0;
    {
        std::lock_guard lock(loop().mutex);
        auto it = loop().handles.find(id);
        if (it == loop().handles.end() || it->second->tag == nullptr) return G_SOURCE_CONTINUE;
        events = to_libvirt(g_source_query_unix_fd(source, it->second->tag));
        callback = it->second->callback;
        opaque = it->second->opaque;
        fd = it->second->fd;
    }
    if (events != 0) callback(id, fd, events, opaque);
    return G_SOURCE_CONTINUE;
}

GSourceFuncs fd_source_funcs = {nullptr, nullptr, fd_dispatch, nullptr, nullptr, nullptr};

gboolean timer_fire(gpointer data)
{
    int id = GPOINTER_TO_INT(data);
    virEventTimeoutCallback callback = nullptr;
    void* opaque = nullptr;
    {
        std::lock_guard lock(loop().mutex);
        auto it = loop().timers.find(id);
        if (it == loop().timers.end() || it->second->source == nullptr) return G_SOURCE_CONTINUE;
        callback = it->second->callback;
        opaque = it->second->opaque;
    }
    callback(id, opaque);
    return G_SOURCE_CONTINUE;
}

// Caller holds the lock.
void arm_timer(Timer& t, int interval_ms)
{
    if (t.source != nullptr) {
        g_source_destroy(t.source);
        g_source_unref(t.source);
        t.source = nullptr;
    }
    if (interval_ms < 0) return;
    t.source = g_timeout_source_new(static_cast<guint>(interval_ms));
    // The id travels in the pointer (GLib's idiom), so a timer removed meanwhile is
    // looked up, never dereferenced.
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    g_source_set_callback(t.source, timer_fire, GINT_TO_POINTER(t.id), nullptr);
    g_source_attach(t.source, loop().context);
}

struct DeferredFree {
    virFreeCallback free_opaque;
    void* opaque;
};

// libvirt's free callbacks must run on a clean stack, not inside the remove call.
void defer_free(virFreeCallback free_opaque, void* opaque)
{
    if (free_opaque == nullptr) return;
    GSource* idle = g_idle_source_new();
    g_source_set_callback(
        idle,
        [](gpointer data) -> gboolean {
            auto* d = static_cast<DeferredFree*>(data);
            d->free_opaque(d->opaque);
            return G_SOURCE_REMOVE;
        },
        new DeferredFree{free_opaque, opaque},
        [](gpointer data) { delete static_cast<DeferredFree*>(data); });
    g_source_attach(idle, loop().context);
    g_source_unref(idle);
}

int add_handle(int fd, int events, virEventHandleCallback callback, void* opaque, virFreeCallback free_opaque)
{
    std::lock_guard lock(loop().mutex);
    auto h = std::make_shared<Handle>();
    h->id = loop().next_id++;
    h->fd = fd;
    h->callback = callback;
    h->opaque = opaque;
    h->free_opaque = free_opaque;
    h->source = g_source_new(&fd_source_funcs, sizeof(FdSource));
    reinterpret_cast<FdSource*>(h->source)->id = h->id;  // NOLINT: GSource subclass
    set_condition(*h, events);
    g_source_attach(h->source, loop().context);
    loop().handles.emplace(h->id, h);
    log_trace(log_cat, "watch %d: fd %d events %d", h->id, fd, events);
    g_main_context_wakeup(loop().context);
    return h->id;
}

void update_handle(int id, int events)
{
    std::lock_guard lock(loop().mutex);
    auto it = loop().handles.find(id);
    if (it == loop().handles.end()) return;
    set_condition(*it->second, events);
    g_main_context_wakeup(loop().context);
}

int remove_handle(int id)
{
    std::shared_ptr<Handle> h;
    {
        std::lock_guard lock(loop().mutex);
        auto it = loop().handles.find(id);
        if (it == loop().handles.end()) return -1;
        h = it->second;
        loop().handles.erase(it);
        g_source_destroy(h->source);
        g_source_unref(h->source);
        h->source = nullptr;
        h->tag = nullptr;
        defer_free(h->free_opaque, h->opaque);
    }
    log_trace(log_cat, "watch %d removed", id);
    return 0;
}

int add_timeout(int interval_ms, virEventTimeoutCallback callback, void* opaque, virFreeCallback free_opaque)
{
    std::lock_guard lock(loop().mutex);
    auto t = std::make_shared<Timer>();
    t->id = loop().next_id++;
    t->callback = callback;
    t->opaque = opaque;
    t->free_opaque = free_opaque;
    arm_timer(*t, interval_ms);
    loop().timers.emplace(t->id, t);
    g_main_context_wakeup(loop().context);
    return t->id;
}

void update_timeout(int id, int interval_ms)
{
    std::lock_guard lock(loop().mutex);
    auto it = loop().timers.find(id);
    if (it == loop().timers.end()) return;
    arm_timer(*it->second, interval_ms);
    g_main_context_wakeup(loop().context);
}

int remove_timeout(int id)
{
    std::lock_guard lock(loop().mutex);
    auto it = loop().timers.find(id);
    if (it == loop().timers.end()) return -1;
    auto t = it->second;
    loop().timers.erase(it);
    arm_timer(*t, -1);
    defer_free(t->free_opaque, t->opaque);
    return 0;
}

}  // namespace

Status install_event_loop(GMainContext* context)
{
    if (context == nullptr) context = g_main_context_default();
    {
        std::lock_guard lock(loop().mutex);
        if (loop().context == context) return {};
        if (loop().context != nullptr)
            return make_error(
                "lifecycle", -EBUSY,
                "libvirt's event loop already runs on another GLib main context (libvirt allows "
                "one per process)");
        loop().context = g_main_context_ref(context);
    }
    if (auto s = initialize(); !s) return s;
    virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout,
                         remove_timeout);
    log_debug(log_cat, "libvirt's event loop runs on GLib main context %p", static_cast<void*>(context));
    return {};
}

EventLoopStats event_loop_stats()
{
    std::lock_guard lock(loop().mutex);
    return {loop().handles.size(), loop().timers.size()};
}

}  // namespace outpost::cluster::lifecycle
