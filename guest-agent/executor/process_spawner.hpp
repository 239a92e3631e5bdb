// ProcessSpawner: the real Spawner. It starts agents with the hygiene Pacemaker's executor
// applies (docs/protocol.md 5.5, 5.6), reads their output on the GLib main loop and reports
// each child once it is reaped and its pipes are drained.
#pragma once

#include <glib.h>

#include <map>
#include <memory>

#include "executor/spawner.hpp"

namespace outpost::agent::executor {

// A timeout SIGKILLs the process group (or only the pid) and kills again this often until the
// child dies.
inline constexpr unsigned kRekillIntervalMs = 5000;

// The child gets SIGPIPE and every other signal back to default, an empty signal mask,
// SCHED_OTHER at nice 0, its own process group, stdin on /dev/null, stdout and stderr on pipes
// (read non-blockingly, capped per stream), every other fd closed, and optional credentials
// and working directory.
class ProcessSpawner final : public Spawner {
public:
    // Sources attach to `context` (nullptr = the thread-default context at construction).
    explicit ProcessSpawner(GMainContext* context = nullptr);
    ProcessSpawner(const ProcessSpawner&) = delete;
    ProcessSpawner& operator=(const ProcessSpawner&) = delete;
    // Kills and reaps any child still running; their callbacks are not called.
    ~ProcessSpawner() override;

    ChildId spawn(SpawnRequest request, Callback done) override;
    bool kill(ChildId id) override;
    [[nodiscard]] std::size_t running() const override { return children_.size(); }
    // The process of a child not yet reported (0 if unknown or not started).
    [[nodiscard]] pid_t pid_of(ChildId id) const;

    struct Child;  // one started process; defined in the .cpp

private:
    void finish(ChildId id, ChildOutcome outcome);
    void on_reaped(ChildId id, int status);
    void schedule_rekill(Child* child);

    GMainContext* context_;
    ChildId next_id_ = 1;
    std::map<ChildId, std::unique_ptr<Child>> children_;
};

}  // namespace outpost::agent::executor
