// Driving a GMainContext from a test: turn it until a condition holds or a time limit
// passes. Header-only; every test executable that runs a loop includes it.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>

#include "io/source.hpp"

namespace outpost::test {

// How often a wake-up timer fires while the loop turns: each blocking iteration ends at
// least this often, so the deadline is seen even when nothing else happens.
inline constexpr std::chrono::milliseconds kLoopTick{5};

// Iterates `context` until `done()` or `limit` passes; true if done() became true.
inline bool loop_until(GMainContext* context, const std::function<bool()>& done,
                       std::chrono::milliseconds limit, std::chrono::milliseconds tick = kLoopTick)
{
    io::Source wake_up;
    std::function<void()> rearm;
    rearm = [&] { wake_up = io::add_timeout(context, tick, rearm); };
    rearm();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        g_main_context_iteration(context, TRUE);
    }
    return true;
}

// Turns `context` for `duration`, whatever happens.
inline void loop_for(GMainContext* context, std::chrono::milliseconds duration)
{
    (void)loop_until(
        context, [] { return false; }, duration);
}

}  // namespace outpost::test
