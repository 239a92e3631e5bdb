// RAII owners for GLib event sources, the building blocks of every I/O object in io/: an
// object that owns its Sources can never be called back after it is gone.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>

namespace outpost::io {

// Owns one attached GSource: destroying it (or reset()) removes it from its main context.
// Callbacks are std::functions; an exception escaping one is caught and logged at the GLib
// boundary (never propagated into the loop). It is safe to destroy the owner of a Source from
// inside that Source's own callback: GLib keeps the source and its callback alive until the
// dispatch returns, and nothing here touches the owner afterwards.
class Source {
public:
    Source() = default;
    // Takes over a reference to an already attached source.
    explicit Source(GSource* attached) noexcept : source_(attached) {}
    Source(Source&& other) noexcept : source_(other.source_) { other.source_ = nullptr; }
    Source& operator=(Source&& other) noexcept;
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    ~Source() { reset(); }

    // Removes the source from its context (if still there) and drops our reference.
    void reset() noexcept;
    // True while attached and not yet destroyed (a one-shot source that fired is inactive).
    [[nodiscard]] bool active() const;
    [[nodiscard]] GSource* get() const { return source_; }

private:
    GSource* source_ = nullptr;
};

// Runs `callback` once after `delay` in `context` (nullptr = the default context).
Source add_timeout(GMainContext* context, std::chrono::milliseconds delay, std::function<void()> callback);
// Runs `callback` once, as soon as the loop is idle (used to defer work out of a call stack).
Source add_idle(GMainContext* context, std::function<void()> callback);

// Watches one fd for a set of conditions (G_IO_IN, G_IO_OUT; G_IO_HUP and G_IO_ERR are
// always reported). The callback receives the conditions that occurred.
class FdWatch {
public:
    using Callback = std::function<void(GIOCondition)>;

    FdWatch() = default;
    FdWatch(GMainContext* context, int fd, GIOCondition events, Callback callback);
    FdWatch(FdWatch&&) noexcept = default;
    FdWatch& operator=(FdWatch&&) noexcept = default;
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;
    ~FdWatch() = default;

    // Changes the watched conditions (cheap: no new source).
    void set_events(GIOCondition events);
    [[nodiscard]] GIOCondition events() const { return events_; }
    void reset() { source_.reset(); }
    [[nodiscard]] bool active() const { return source_.active(); }

private:
    Source source_;
    gpointer tag_ = nullptr;
    GIOCondition events_ = GIOCondition(0);
};

}  // namespace outpost::io
