// Deferred: the one way to put off ending something until the loop is back, for a caller
// inside a callback of the very thing it ends (a connection closing from its own message
// handler, a session dropped while the dispatcher still holds it, a libqb connection libqb is
// still using).
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <vector>

#include "io/source.hpp"
#include "util/lifetime.hpp"

namespace outpost::io {

// later() queues an action, release() an object; everything queued runs, in order, at the
// next idle of the context. Destroying a Deferred (also from one of its own actions) drops
// what is still queued without running it: what the actions captured is destroyed, and an
// action never runs after its owner is gone.
class Deferred {
public:
    explicit Deferred(GMainContext* context) : context_(context) {}
    Deferred(const Deferred&) = delete;
    Deferred& operator=(const Deferred&) = delete;
    ~Deferred() = default;

    // Runs `action` at the next idle of the context (after anything queued before it).
    void later(std::function<void()> action);
    // Keeps `object` until the next idle, then destroys it.
    template <typename T>
    void release(std::unique_ptr<T> object)
    {
        if (object) later([kept = std::shared_ptr<T>(std::move(object))] {});
    }
    template <typename T>
    void release(std::shared_ptr<T> object)
    {
        if (object) later([kept = std::move(object)] {});
    }
    // Runs what is queued now.
    void flush();
    [[nodiscard]] bool empty() const { return queue_.empty(); }

private:
    GMainContext* context_;
    std::vector<std::function<void()>> queue_;
    Source idle_;
    Lifetime lifetime_;
};

}  // namespace outpost::io
