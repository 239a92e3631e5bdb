// Small RAII owners for the C handles the executor uses: file descriptors and GLib
// sources. A source owner destroys the source (detaching it from its context) and drops
// the reference, so no callback can run after its owner is gone.
#pragma once

#include <glib.h>
#include <unistd.h>

#include <utility>

namespace outpost::agent::executor {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1)
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

class SourcePtr {
public:
    SourcePtr() = default;
    explicit SourcePtr(GSource* source) : source_(source) {}
    SourcePtr(SourcePtr&& other) noexcept : source_(std::exchange(other.source_, nullptr)) {}
    SourcePtr& operator=(SourcePtr&& other) noexcept
    {
        if (this != &other) reset(std::exchange(other.source_, nullptr));
        return *this;
    }
    SourcePtr(const SourcePtr&) = delete;
    SourcePtr& operator=(const SourcePtr&) = delete;
    ~SourcePtr() { reset(); }

    [[nodiscard]] GSource* get() const { return source_; }
    explicit operator bool() const { return source_ != nullptr; }
    void reset(GSource* source = nullptr)
    {
        if (source_ != nullptr) {
            g_source_destroy(source_);
            g_source_unref(source_);
        }
        source_ = source;
    }

private:
    GSource* source_ = nullptr;
};

// Attaches a one-shot or repeating callable as a GLib source. `fn` returns
// G_SOURCE_CONTINUE or G_SOURCE_REMOVE; exceptions must not escape it (the callers wrap
// their bodies). The returned owner keeps the callable alive as long as the source.
template <typename Fn>
SourcePtr attach_source(GSource* source, GMainContext* context, Fn fn, int priority = G_PRIORITY_DEFAULT)
{
    auto* heap = new Fn(std::move(fn));
    g_source_set_priority(source, priority);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean { return (*static_cast<Fn*>(data))(); },
        heap, [](gpointer data) { delete static_cast<Fn*>(data); });
    g_source_attach(source, context);
    return SourcePtr(source);
}

template <typename Fn>
SourcePtr add_timeout(GMainContext* context, guint ms, Fn fn)
{
    return attach_source(g_timeout_source_new(ms), context, std::move(fn));
}

template <typename Fn>
SourcePtr add_idle(GMainContext* context, Fn fn, int priority = G_PRIORITY_DEFAULT)
{
    return attach_source(g_idle_source_new(), context, std::move(fn), priority);
}

}  // namespace outpost::agent::executor
