#include "control/transition.hpp"

namespace outpost::cluster::control {

TransitionRun::TransitionRun(std::vector<Step> steps, RunLimits limits)
    : steps_(std::move(steps)), states_(steps_.size()), limits_(limits)
{
    for (std::size_t i = 0; i < steps_.size(); ++i)
        index_.emplace(steps_[i].id, i);
}

bool TransitionRun::may_start(const Step& step) const
{
    for (int input : step.inputs) {
        auto it = index_.find(input);
        if (it != index_.end() && states_[it->second] != State::done) return false;
    }
    return true;
}

bool TransitionRun::within_limits(const Step& step) const
{
    if (limits_.total > 0 && running_ >= limits_.total) return false;
    if (limits_.per_node == 0 || step.node.empty()) return true;
    auto it = running_on_.find(step.node);
    return it == running_on_.end() || it->second < limits_.per_node;
}

std::vector<int> TransitionRun::take_ready()
{
    std::vector<int> ready;
    if (aborted_) return ready;
    // Completing a pseudo step can unblock steps before it in the list: repeat until
    // nothing changes (graphs are small; each pass is linear).
    for (bool progress = true; progress;) {
        progress = false;
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            if (states_[i] != State::waiting || !may_start(steps_[i])) continue;
            if (steps_[i].pseudo) {
                states_[i] = State::done;
                ++done_;
                progress = true;
            } else if (within_limits(steps_[i])) {
                states_[i] = State::running;
                ++running_;
                if (!steps_[i].node.empty()) ++running_on_[steps_[i].node];
                ready.push_back(steps_[i].id);
            }
        }
    }
    return ready;
}

void TransitionRun::complete(int id, bool ok)
{
    auto it = index_.find(id);
    if (it == index_.end() || states_[it->second] != State::running) return;
    states_[it->second] = ok ? State::done : State::failed;
    --running_;
    if (const std::string& node = steps_[it->second].node; !node.empty()) --running_on_[node];
    if (ok) {
        ++done_;
    } else {
        aborted_ = true;
    }
}

bool TransitionRun::finished() const
{
    if (running_ > 0) return false;
    if (aborted_) return true;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        if (states_[i] == State::waiting && may_start(steps_[i])) return false;
    }
    return true;
}

TransitionRun::State TransitionRun::state(int id) const
{
    auto it = index_.find(id);
    return it == index_.end() ? State::waiting : states_[it->second];
}

}  // namespace outpost::cluster::control
