// Runs libqb IPC servers on a GLib main context: the qb_ipcs_poll_handlers (fd watches and
// one-shot jobs) implemented with GSources attached to the context the agent's loop runs.
#pragma once

#include <glib.h>
#include <qb/qbipcs.h>

#include <cstdint>
#include <map>
#include <memory>

#include "io/source.hpp"
#include "util/result.hpp"

namespace outpost::ipc {

// libqb's poll callbacks carry no user pointer of their own, so one QbGlibLoop is current per
// process (create() refuses a second); its handlers() table is what every service gets through
// qb_ipcs_poll_handlers_set(). Destroying the loop removes every source it added, so it must
// outlive the services that use it (destroy them first).
class QbGlibLoop {
public:
    static Result<std::unique_ptr<QbGlibLoop>> create(GMainContext* context);
    QbGlibLoop(const QbGlibLoop&) = delete;
    QbGlibLoop& operator=(const QbGlibLoop&) = delete;
    ~QbGlibLoop();

    // The table to hand to qb_ipcs_poll_handlers_set().
    [[nodiscard]] qb_ipcs_poll_handlers* handlers() { return &handlers_; }
    [[nodiscard]] std::size_t watch_count() const { return watches_.size(); }

private:
    struct Watch;
    struct FdSource;
    struct Job;

    explicit QbGlibLoop(GMainContext* context);

    static gboolean dispatch_fd(GSource* source, GSourceFunc callback, gpointer user_data);
    static gboolean run_job(gpointer data);

    static int32_t dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                                qb_ipcs_dispatch_fn_t fn);
    static int32_t dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                                qb_ipcs_dispatch_fn_t fn);
    static int32_t dispatch_del(int32_t fd);
    static int32_t job_add(enum qb_loop_priority p, void* data, qb_loop_job_dispatch_fn fn);

    void remove_watch(int32_t fd);

    static QbGlibLoop* current_;

    GMainContext* context_;
    qb_ipcs_poll_handlers handlers_{};
    std::map<int32_t, io::Source> watches_;
    std::uint64_t next_job_ = 1;
    std::map<std::uint64_t, io::Source> jobs_;
    static GSourceFuncs fd_funcs_;
};

}  // namespace outpost::ipc
