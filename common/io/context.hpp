// The one owner of a GMainContext, and turning one until something has happened. Every
// private loop (the CLI's, each test's) is a ContextPtr; the daemons run the default
// context with a GMainLoop instead.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>

namespace outpost::io {

struct ContextUnref {
    void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using ContextPtr = std::unique_ptr<GMainContext, ContextUnref>;

// A new context (g_main_context_new), owned.
inline ContextPtr new_context()
{
    return ContextPtr(g_main_context_new());
}

// How often iterate_until() wakes up while it waits: each blocking iteration ends at least this
// often, so the deadline is seen even when nothing else happens.
inline constexpr std::chrono::milliseconds kRunTick{5};

// Iterates `context` until `done()` holds or `limit` has passed; true if done() held.
// The caller must be able to iterate `context` (own it, or nobody does).
bool iterate_until(GMainContext* context, const std::function<bool()>& done, std::chrono::milliseconds limit,
                   std::chrono::milliseconds tick = kRunTick);

}  // namespace outpost::io
