#include "support/recording_spawner.hpp"

#include <signal.h>

#include <exception>
#include <utility>

#include "util/log.hpp"

namespace outpost::test {

using agent::executor::ChildEnd;
using agent::executor::ChildOutcome;
using agent::executor::Spawner;
using agent::executor::SpawnRequest;

namespace {
const outpost::log::Category log_cat{"test.spawner"};
}

RecordingSpawner::RecordingSpawner(GMainContext* context)
    : context_(context != nullptr ? context : g_main_context_get_thread_default())
{
}

Spawner::ChildId RecordingSpawner::spawn(SpawnRequest request, Callback done)
{
    ChildId id = next_id_++;
    Record record;
    record.id = id;
    record.request = std::move(request);
    record.started_us = g_get_monotonic_time();
    records_.push_back(std::move(record));
    pending_.emplace(id, std::move(done));
    return id;
}

bool RecordingSpawner::kill(ChildId id)
{
    if (!pending_.contains(id)) return false;
    for (auto& record : records_) {
        if (record.id == id) record.killed = true;
    }
    if (auto_complete_kills_ && !kill_sources_.contains(id)) {
        kill_sources_.emplace(id, io::add_idle(context_, [this, id]() {
                                  ChildOutcome outcome;
                                  outcome.end = ChildEnd::signaled;
                                  outcome.signal = SIGKILL;
                                  complete(id, std::move(outcome));
                              }));
    }
    return true;
}

std::vector<Spawner::ChildId> RecordingSpawner::pending() const
{
    std::vector<ChildId> ids;
    ids.reserve(pending_.size());
    for (const auto& [id, cb] : pending_)
        ids.push_back(id);
    return ids;
}

const RecordingSpawner::Record* RecordingSpawner::find(ChildId id) const
{
    for (const auto& record : records_) {
        if (record.id == id) return &record;
    }
    return nullptr;
}

bool RecordingSpawner::complete(ChildId id, ChildOutcome outcome)
{
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    Callback done = std::move(it->second);
    pending_.erase(it);
    // This may run inside that very source's callback, which io::Source allows.
    if (auto ks = kill_sources_.find(id); ks != kill_sources_.end()) {
        io::Source finished = std::move(ks->second);
        kill_sources_.erase(ks);
        finished.reset();
    }
    for (auto& record : records_) {
        if (record.id == id) record.finished = true;
    }
    try {
        if (done) done(std::move(outcome));
    } catch (const std::exception& e) {
        log_error(log_cat, "child completion handler failed: %s", e.what());
    }
    return true;
}

bool RecordingSpawner::exit(ChildId id, int code, std::string out, std::string err)
{
    ChildOutcome outcome;
    outcome.end = ChildEnd::exited;
    outcome.exit_code = code;
    outcome.out = std::move(out);
    outcome.err = std::move(err);
    return complete(id, std::move(outcome));
}

}  // namespace outpost::test
