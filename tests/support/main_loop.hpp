// Driving a GMainContext from a test: the context owner (io::ContextPtr, the product's own)
// and turning it until a condition holds or for a while. Header-only; every test that runs
// a loop (unit, integration, fuzz, bench) uses these and no copy of its own.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>

#include "io/context.hpp"

namespace outpost::test {

using io::ContextPtr;
using io::new_context;

// What a test waits for something that should happen at once, when it does not say.
inline constexpr std::chrono::milliseconds kDefaultWait{15000};

// Iterates `context` until `done()` or `limit` passes; true if done() became true.
inline bool run_until(GMainContext* context, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = kDefaultWait,
                      std::chrono::milliseconds tick = io::kRunTick)
{
    return io::iterate_until(context, done, limit, tick);
}

// Turns `context` for `duration`, whatever happens.
inline void loop_for(GMainContext* context, std::chrono::milliseconds duration)
{
    (void)run_until(
        context, [] { return false; }, duration);
}

}  // namespace outpost::test
