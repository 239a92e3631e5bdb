#include "io/deferred.hpp"

#include <utility>

namespace outpost::io {

void Deferred::later(std::function<void()> action)
{
    queue_.push_back(std::move(action));
    if (!idle_.active()) idle_ = add_idle(context_, [this] { flush(); });
}

void Deferred::flush()
{
    // What the actions queue in turn waits for an idle of its own. An action may destroy
    // this object (and its owner): the rest are then dropped, not run.
    idle_.reset();
    auto actions = std::exchange(queue_, {});
    const Lifetime::Watch alive = lifetime_.watch();
    for (auto& action : actions) {
        if (!alive) return;
        action();
    }
}

}  // namespace outpost::io
