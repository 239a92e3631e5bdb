#include "io/context.hpp"

#include "io/source.hpp"

namespace outpost::io {

bool iterate_until(GMainContext* context, const std::function<bool()>& done, std::chrono::milliseconds limit,
                   std::chrono::milliseconds tick)
{
    Source wake_up;
    std::function<void()> rearm;
    rearm = [&] { wake_up = add_timeout(context, tick, rearm); };
    rearm();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        g_main_context_iteration(context, TRUE);
    }
    return true;
}

}  // namespace outpost::io
