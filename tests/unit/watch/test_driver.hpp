// libvirt's in-process test driver (test:///default) as the hypervisor of the watch tests
// (tests/unit/watch, and outpost-controld's domain watch in tests/unit/control): one GLib
// context carrying libvirt's event loop for the whole process (the registration is
// permanent), and the cleanup of the domains a test defined.
#pragma once

#include <glib.h>
#include <catch2/catch.hpp>

#include "lifecycle/event_loop.hpp"
#include "lifecycle/libvirt.hpp"

namespace outpost::test {

inline constexpr const char* kTestUri = "test:///default";

inline GMainContext* test_context()
{
    static GMainContext* context = [] {
        GMainContext* c = g_main_context_new();
        REQUIRE(cluster::lifecycle::install_event_loop(c).ok());
        return c;
    }();
    return context;
}

// Destroys and undefines every domain but the driver's own "test"; for destructors.
inline void remove_test_domains(cluster::lifecycle::Hypervisor& hypervisor) noexcept
{
    try {
        auto all = hypervisor.domains();
        if (!all) return;
        for (auto& d : *all) {
            if (d.name() == "test") continue;
            (void)d.destroy();
            (void)d.undefine();
        }
    } catch (...) {  // cleanup only: nothing may escape a destructor
    }
}

}  // namespace outpost::test
