#include "io/source.hpp"

#include <exception>
#include <utility>

#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.source"};

using Thunk = std::function<void()>;

gboolean run_once(gpointer data)
{
    // GLib holds a reference on the callback data during dispatch, so *data survives even
    // if the owner destroys the source from inside the callback.
    guarded(log_cat, "a timer or idle callback", [data] { (*static_cast<Thunk*>(data))(); });
    return G_SOURCE_REMOVE;
}

void delete_thunk(gpointer data)
{
    delete static_cast<Thunk*>(data);
}

Source attach_once(GSource* source, GMainContext* context, Thunk callback)
{
    g_source_set_callback(source, run_once, new Thunk(std::move(callback)), delete_thunk);
    g_source_attach(source, context);
    return Source(source);
}

// A custom source type for fd watches, so the conditions can be changed in place.
struct WatchSource {
    GSource base;
    gpointer tag;
    std::shared_ptr<FdWatch::Callback>* callback;
};

gboolean watch_dispatch(GSource* source, GSourceFunc, gpointer) noexcept
{
    auto* watch = reinterpret_cast<WatchSource*>(source);
    const GIOCondition happened = g_source_query_unix_fd(source, watch->tag);
    // A local reference keeps the callback alive if it destroys its own watch.
    std::shared_ptr<FdWatch::Callback> callback = *watch->callback;
    if (callback && *callback) guarded(log_cat, "an fd watch callback", [&] { (*callback)(happened); });
    return G_SOURCE_CONTINUE;
}

void watch_finalize(GSource* source) noexcept
{
    auto* watch = reinterpret_cast<WatchSource*>(source);
    delete watch->callback;
    watch->callback = nullptr;
}

GSourceFuncs watch_funcs = {nullptr, nullptr, watch_dispatch, watch_finalize, nullptr, nullptr};

}  // namespace

Source& Source::operator=(Source&& other) noexcept
{
    if (this != &other) {
        reset();
        source_ = std::exchange(other.source_, nullptr);
    }
    return *this;
}

void Source::reset() noexcept
{
    if (source_ == nullptr) return;
    g_source_destroy(source_);  // no-op if already destroyed (a one-shot that fired)
    g_source_unref(source_);
    source_ = nullptr;
}

bool Source::active() const
{
    return source_ != nullptr && !g_source_is_destroyed(source_);
}

Source add_timeout(GMainContext* context, std::chrono::milliseconds delay, std::function<void()> callback)
{
    const auto ms = delay.count() < 0 ? 0 : delay.count();
    return attach_once(g_timeout_source_new(static_cast<guint>(ms)), context, std::move(callback));
}

Source add_idle(GMainContext* context, std::function<void()> callback)
{
    return attach_once(g_idle_source_new(), context, std::move(callback));
}

FdWatch::FdWatch(GMainContext* context, int fd, GIOCondition events, Callback callback) : events_(events)
{
    GSource* source = g_source_new(&watch_funcs, sizeof(WatchSource));
    auto* watch = reinterpret_cast<WatchSource*>(source);
    watch->callback = new std::shared_ptr<Callback>(std::make_shared<Callback>(std::move(callback)));
    watch->tag = g_source_add_unix_fd(source, fd, events);
    tag_ = watch->tag;
    g_source_attach(source, context);
    source_ = Source(source);
}

void FdWatch::set_events(GIOCondition events)
{
    if (!source_.active() || events == events_) return;
    events_ = events;
    g_source_modify_unix_fd(source_.get(), tag_, events);
}

}  // namespace outpost::io
