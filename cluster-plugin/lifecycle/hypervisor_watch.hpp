// HypervisorWatch: one libvirt connection kept open, with every domain lifecycle event of
// that hypervisor delivered to a callback on a GLib main context. The seam through which
// the cluster side learns at once that a guest's domain died (outpost watch today,
// outpost-controld's container resources later): the watcher decides what an event
// means for the cluster, this class only keeps the events flowing.
//
// - start() needs install_event_loop() on the same context first (libvirt only delivers
//   events through a registered loop).
// - The connection is kept alive: libvirt keepalive probes (kKeepaliveInterval x
//   kKeepaliveCount), and a close notice from libvirt (libvirtd stopped or restarted, the
//   socket lost, keepalive timed out) makes the watch drop the connection and reconnect,
//   retrying with a backoff from kReconnectMin up to kReconnectMax. Every (re)connection
//   calls `connected` with the fresh Hypervisor after the event subscription is in place,
//   so the caller can compare the domains' states with what it expects: events lost while
//   libvirtd was away are caught up there, never silently dropped.
// - Callbacks run on the context's thread; an exception escaping one is caught and
//   logged at the libvirt boundary.
// - Destroying the watch deregisters the events and closes the connection; no callback
//   runs afterwards.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "io/source.hpp"
#include "lifecycle/domain_state.hpp"
#include "lifecycle/libvirt.hpp"
#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

struct WatchCallbacks;  // the libvirt callbacks (hypervisor_watch.cpp)

inline constexpr std::chrono::seconds kKeepaliveInterval{5};
inline constexpr unsigned kKeepaliveCount = 3;
inline constexpr std::chrono::milliseconds kReconnectMin{250};
inline constexpr std::chrono::milliseconds kReconnectMax{2000};

class HypervisorWatch {
public:
    struct Callbacks {
        std::function<void(const LifecycleEvent&)> event;
        // After each successful (re)connection, subscription in place.
        std::function<void(Hypervisor&)> connected;
        // The connection was lost or a connection attempt failed (`why`); a reconnection
        // is scheduled.
        std::function<void(const std::string& why)> disconnected;
    };
    struct Options {
        std::chrono::milliseconds reconnect_min = kReconnectMin;
        std::chrono::milliseconds reconnect_max = kReconnectMax;
        std::chrono::seconds keepalive_interval = kKeepaliveInterval;
        unsigned keepalive_count = kKeepaliveCount;
    };

    // Connects at once; a failed first attempt is not an Error (it is reported through
    // `disconnected` and retried). An Error only for misuse (no event loop installed).
    static Result<std::unique_ptr<HypervisorWatch>> start(GMainContext* context, std::string uri,
                                                          Callbacks callbacks, Options options);
    static Result<std::unique_ptr<HypervisorWatch>> start(GMainContext* context, std::string uri,
                                                          Callbacks callbacks)
    {
        return start(context, std::move(uri), std::move(callbacks), Options{});
    }

    HypervisorWatch(const HypervisorWatch&) = delete;
    HypervisorWatch& operator=(const HypervisorWatch&) = delete;
    ~HypervisorWatch();

    // The URI as configured (the canonical one is hypervisor()->uri()).
    [[nodiscard]] const std::string& uri() const { return uri_; }
    // The live connection, or nullptr while disconnected.
    [[nodiscard]] Hypervisor* hypervisor();
    [[nodiscard]] unsigned connections() const { return connections_; }

private:
    friend struct WatchCallbacks;
    struct Shared;
    HypervisorWatch(GMainContext* context, std::string uri, Callbacks callbacks, Options options);
    void connect();
    void drop(const std::string& why);
    void schedule_reconnect();

    GMainContext* context_;
    std::string uri_;
    Callbacks callbacks_;
    Options options_;
    std::chrono::milliseconds backoff_;
    // What the libvirt callbacks reach: outlives this object until libvirt frees it.
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<Hypervisor> hypervisor_;
    int callback_id_ = -1;
    bool close_registered_ = false;
    io::Source retry_;
    io::Source lost_;
    unsigned connections_ = 0;
};

}  // namespace outpost::cluster::lifecycle
