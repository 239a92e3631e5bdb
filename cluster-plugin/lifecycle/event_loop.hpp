// libvirt's event loop on a GLib main context.
//
// libvirt delivers domain events, keepalives and connection-close notices only through an
// event loop implementation registered with virEventRegisterImpl() before the first
// connection is opened. install_event_loop() registers one built on GLib sources attached
// to `context`: file-descriptor watches become GSources polling the fd (their conditions
// changed in place), libvirt's timers become GLib timeout sources (interval 0 fires at
// every iteration, -1 is disabled). libvirt's callbacks run from `context`'s dispatch;
// the free functions libvirt hands over with a watch or timer are called from an idle
// source of their own, never from inside the remove call (libvirt may deadlock
// otherwise). The registration is process-wide and permanent (libvirt cannot unregister
// one): the first call picks the context, later calls with the same context are no-ops and
// with another one an Error.
//
// The implementation is thread-safe (libvirt may add or change watches from whichever
// thread makes an API call); callbacks are invoked without any lock held, so they may add
// or remove watches and timers, their own included.
#pragma once

#include <glib.h>

#include <cstddef>

#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

Status install_event_loop(GMainContext* context);

// For tests: how many fd watches and timers libvirt currently has registered.
struct EventLoopStats {
    std::size_t handles = 0;
    std::size_t timers = 0;
};
EventLoopStats event_loop_stats();

}  // namespace outpost::cluster::lifecycle
