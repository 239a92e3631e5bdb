// TransitionRun: the execution state of one transition graph, a pure state machine (no
// I/O, no clock) as pacemaker-controld runs a graph: an action may start once every one of
// its inputs completed; pseudo actions complete as soon as they may start; a failed action
// or abort() stops new actions from starting while the running ones are awaited. The
// control loop asks take_ready() for what to start and reports each completion.
// Limits, as pacemaker-controld paces a graph: at most `total` steps run at once (the
// batch-limit cluster option) and at most `per_node` on one node (its job limit); a step
// held back by them starts when a running one completes.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace outpost::cluster::control {

struct Step {
    int id = 0;
    bool pseudo = false;
    std::vector<int> inputs;  // ids; an id not among the steps counts as complete
    std::string node;         // counted against RunLimits::per_node; empty: not counted
};

struct RunLimits {
    std::size_t total = 0;     // 0: no limit
    std::size_t per_node = 0;  // 0: no limit
};

class TransitionRun {
public:
    enum class State { waiting, running, done, failed };

    explicit TransitionRun(std::vector<Step> steps, RunLimits limits = {});

    // The steps that may start now (within the limits), marked running; pseudo steps that
    // may start are completed here (and what they unblock follows in the same call).
    // Nothing after an abort.
    std::vector<int> take_ready();
    // A running step finished; a failure aborts the transition. Unknown ids or steps not
    // running are ignored (a late result of an older transition).
    void complete(int id, bool ok);
    // No new steps start; running ones are still awaited.
    void abort() { aborted_ = true; }

    [[nodiscard]] bool aborted() const { return aborted_; }
    [[nodiscard]] std::size_t running() const { return running_; }
    // Nothing runs and nothing more can start (all done, aborted, or blocked by a failure).
    [[nodiscard]] bool finished() const;
    // Every step completed successfully.
    [[nodiscard]] bool complete() const { return done_ == steps_.size(); }
    [[nodiscard]] State state(int id) const;

private:
    [[nodiscard]] bool may_start(const Step& step) const;
    [[nodiscard]] bool within_limits(const Step& step) const;

    std::vector<Step> steps_;
    std::vector<State> states_;
    std::unordered_map<int, std::size_t> index_;
    RunLimits limits_;
    std::unordered_map<std::string, std::size_t> running_on_;  // by Step::node
    std::size_t running_ = 0;
    std::size_t done_ = 0;
    bool aborted_ = false;
};

}  // namespace outpost::cluster::control
