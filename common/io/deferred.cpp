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
    // What the actions queue in turn waits for an idle of its own.
    idle_.reset();
    auto actions = std::exchange(queue_, {});
    for (auto& action : actions)
        action();
}

}  // namespace outpost::io
