// guarded(): the one catch-all at the edges where C code calls us (GLib sources, libqb,
// libxml2 SAX handlers, sd-bus, GnuTLS callbacks). No exception may unwind through C frames,
// so every such callback runs its body through guarded(): an exception that escapes it is
// logged (with the callback named) and the callback returns the fallback value instead.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "util/log.hpp"

namespace outpost {

// Runs `body`; if it throws, logs "<what>: <exception>" in `category` and returns `fallback`.
template <typename F, typename R = std::invoke_result_t<F&>>
R guarded(const log::Category& category, const char* what, F&& body, R fallback) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        log_error(category, "unexpected error in %s: %s", what, e.what());
    } catch (...) {
        log_error(category, "unexpected error in %s", what);
    }
    return fallback;
}

// The same for a body that returns nothing.
template <typename F>
void guarded(const log::Category& category, const char* what, F&& body) noexcept
{
    try {
        body();
    } catch (const std::exception& e) {
        log_error(category, "unexpected error in %s: %s", what, e.what());
    } catch (...) {
        log_error(category, "unexpected error in %s", what);
    }
}

}  // namespace outpost
