#include "io/offload.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.offload"};

struct Job {
    Offload::Work work;
    GMainContext* target = nullptr;  // a reference, dropped once the result is posted
    std::function<void(const Offload::Step&)> done;
};

// Once per worker thread: a nice value of its own (Linux: per thread) above the process's.
void lower_priority()
{
    thread_local bool done = false;
    if (done) return;
    done = true;
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, tid);
    if (errno != 0) return;
    if (::setpriority(PRIO_PROCESS, tid, current + kOffloadNiceIncrement) != 0)
        log_debug(log_cat, "cannot lower the worker thread's priority: %s", std::strerror(errno));
}

void run_job(gpointer data, gpointer /*pool_data*/)
{
    lower_priority();
    std::unique_ptr<Job> job(static_cast<Job*>(data));
    Offload::Step step = guarded(
        log_cat, "work off the loop", [&] { return job->work(); }, Offload::Step());
    job->work = nullptr;  // the inputs go here, on the worker
    // The step, and the result it holds, is destroyed on the loop with the posted callback.
    post_to_context(job->target, [done = std::move(job->done), step = std::move(step)] { done(step); });
    g_main_context_unref(job->target);
}

// The process-wide pool, made on first use (a function-local static: thread-safe).
GThreadPool* offload_pool(GError** error)
{
    static GThreadPool* pool = g_thread_pool_new(run_job, nullptr, kMaxOffloadThreads, FALSE, error);
    return pool;
}

}  // namespace

// g_main_context_invoke() is not used on purpose: when nobody owns the context at that
// moment it would run the callback on the calling (worker) thread.
void post_to_context(GMainContext* context, std::function<void()> callback)
{
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            guarded(log_cat, "a completion from another thread",
                    [data] { (*static_cast<std::function<void()>*>(data))(); });
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(callback)),
        [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, context);
    g_source_unref(source);
}

void Offload::run(Work work)
{
    queue_.push_back(Entry{std::move(work), nullptr});
    pump();
}

void Offload::then(Step step)
{
    queue_.push_back(Entry{nullptr, std::move(step)});
    pump();
}

void Offload::pump()
{
    const Lifetime::Watch alive = lifetime_.watch();
    while (!running_ && !queue_.empty()) {
        Entry entry = std::move(queue_.front());
        queue_.pop_front();
        if (!entry.work) {
            if (entry.step) entry.step();  // may destroy this lane
            if (!alive) return;
            continue;
        }
        auto job = std::make_unique<Job>();
        job->work = std::move(entry.work);
        job->target = g_main_context_ref(context_ != nullptr ? context_ : g_main_context_default());
        // Runs on the loop; the lane may be gone by then, and its result is dropped.
        job->done = [this, alive](const Step& step) {
            if (alive) finished(step);
        };
        GError* error = nullptr;
        GThreadPool* pool = offload_pool(&error);
        if (pool != nullptr && g_thread_pool_push(pool, job.get(), &error) != FALSE) {
            (void)job.release();  // run_job owns it now
            running_ = true;
            return;
        }
        // No pool: the work still has to be done, on the loop then.
        log_warning(log_cat, "Cannot start a worker thread (%s): working on the loop",
                    error != nullptr ? error->message : "no pool");
        if (error != nullptr) g_error_free(error);
        g_main_context_unref(job->target);
        Step step = guarded(
            log_cat, "work off the loop", [&] { return job->work(); }, Step());
        if (step) step();
        if (!alive) return;
    }
}

void Offload::finished(const Step& step)
{
    running_ = false;
    const Lifetime::Watch alive = lifetime_.watch();
    if (step) step();  // may destroy this lane
    if (alive) pump();
}

}  // namespace outpost::io
