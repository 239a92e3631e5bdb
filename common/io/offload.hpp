// Offload: work too expensive for the loop (parsing, serializing or compressing a message
// of many MB) run on a small pool of worker threads shared by the whole process, its result
// handed back to the loop of the owner's GMainContext (docs/limits.md, "Large messages off
// the loop").
#pragma once

#include <glib.h>

#include <cstddef>
#include <deque>
#include <functional>

#include "util/lifetime.hpp"

namespace outpost::io {

// Worker threads of the process-wide pool. One: the loop keeps the other core of a small
// machine, and a second large message waits for the first (each lane has at most one job
// on the pool, so the pool's queue is bounded by the number of lanes).
inline constexpr int kMaxOffloadThreads = 1;
// Added to the worker thread's nice value: on a busy machine the loop, when it has something
// to do, gets the CPU before the worker (a round trip waited for the worker's time slices
// otherwise: docs/limits.md).
inline constexpr int kOffloadNiceIncrement = 10;

// Messages larger than this (XML text, uncompressed) are parsed, serialized and compressed
// off the loop: under it a parse costs the loop about a millisecond (optimized build).
inline constexpr std::size_t kOffloadAbove = std::size_t{256} * 1024;

// Runs `callback` once on `context`'s loop (the global default context if null), called
// from any thread. Exceptions escaping it are logged.
void post_to_context(GMainContext* context, std::function<void()> callback);

// One lane of work whose order matters: the messages of one connection. Its steps complete
// in the order they were queued: run() puts `work` on the pool and, once it is done, the
// step it returned on the loop; then() queues a step that runs only on the loop. A step
// waits for every step queued before it, and a step (or its caller) may destroy the
// Offload.
//
// Destroying the Offload (a connection closed while its message is on the pool) drops what
// is still to come: a job already running finishes on its thread, and its result is
// destroyed on the loop without running. `work` must own everything it reads (it outlives
// its caller) and touch nothing of the loop's; it must not throw (an exception is logged
// and the lane goes on as if the work had returned an empty step).
class Offload {
public:
    using Step = std::function<void()>;  // runs on the loop
    using Work = std::function<Step()>;  // runs on a worker thread

    explicit Offload(GMainContext* context) : context_(context) {}
    Offload(const Offload&) = delete;
    Offload& operator=(const Offload&) = delete;
    ~Offload() = default;

    void run(Work work);
    // Runs `step` at once if the lane is idle, else after every step queued before it.
    void then(Step step);
    // Nothing queued or on the pool.
    [[nodiscard]] bool idle() const { return !running_ && queue_.empty(); }

private:
    struct Entry {
        Work work;  // empty for a step that only runs on the loop
        Step step;
    };
    void pump();
    void finished(const Step& step);

    GMainContext* context_;
    std::deque<Entry> queue_;
    bool running_ = false;  // a job of this lane is on the pool
    Lifetime lifetime_;
};

}  // namespace outpost::io
