// RecordingSpawner: the test double of the executor's Spawner. It never starts a process:
// it records every SpawnRequest and lets the caller finish each child with the outcome it
// chooses, so the executor's queueing tests and the dispatcher fuzz targets get
// deterministic timing without forking. kill() marks the child killed and, unless
// disabled, delivers a SIGKILL outcome from the main loop as a real child would.
#pragma once

#include <glib.h>

#include <cstddef>
#include <map>
#include <optional>
#include <vector>

#include "executor/spawner.hpp"
#include "io/source.hpp"

namespace outpost::test {

class RecordingSpawner final : public agent::executor::Spawner {
public:
    struct Record {
        ChildId id = 0;
        agent::executor::SpawnRequest request;
        gint64 started_us = 0;  // monotonic time of spawn()
        bool killed = false;
        bool finished = false;
    };

    // Sources attach to `context` (nullptr = the thread-default context at construction).
    explicit RecordingSpawner(GMainContext* context = nullptr);

    ChildId spawn(agent::executor::SpawnRequest request, Callback done) override;
    bool kill(ChildId id) override;
    [[nodiscard]] std::size_t running() const override { return pending_.size(); }

    // Every request ever spawned, in order.
    [[nodiscard]] const std::vector<Record>& records() const { return records_; }
    // Ids of children started and not yet finished, oldest first.
    [[nodiscard]] std::vector<ChildId> pending() const;
    [[nodiscard]] const Record* find(ChildId id) const;

    // Finishes a child now (synchronously, from the caller's stack): its callback runs
    // before complete() returns. Returns false if the id is unknown or already finished.
    bool complete(ChildId id, agent::executor::ChildOutcome outcome);
    // Shorthand: the child exited with `code`, writing `out` and `err`.
    bool exit(ChildId id, int code, std::string out = {}, std::string err = {});

    // Whether kill() delivers a signaled outcome by itself (default true).
    void set_auto_complete_kills(bool on) { auto_complete_kills_ = on; }

private:
    GMainContext* context_;
    ChildId next_id_ = 1;
    bool auto_complete_kills_ = true;
    std::vector<Record> records_;
    std::map<ChildId, Callback> pending_;
    std::map<ChildId, io::Source> kill_sources_;
};

}  // namespace outpost::test
