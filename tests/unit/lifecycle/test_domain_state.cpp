// lifecycle/domain_state: libvirt's states, reasons and events named and classified the
// way the guest agent's monitor and the watcher rely on.
#include <libvirt/libvirt.h>
#include <catch2/catch.hpp>

#include "lifecycle/domain_state.hpp"

using namespace outpost::cluster::lifecycle;

TEST_CASE("the enums carry libvirt's numbers")
{
    STATIC_REQUIRE(static_cast<int>(State::running) == VIR_DOMAIN_RUNNING);
    STATIC_REQUIRE(static_cast<int>(State::shut_off) == VIR_DOMAIN_SHUTOFF);
    STATIC_REQUIRE(static_cast<int>(State::crashed) == VIR_DOMAIN_CRASHED);
    STATIC_REQUIRE(static_cast<int>(State::pm_suspended) == VIR_DOMAIN_PMSUSPENDED);
    STATIC_REQUIRE(static_cast<int>(EventType::stopped) == VIR_DOMAIN_EVENT_STOPPED);
    STATIC_REQUIRE(static_cast<int>(EventType::crashed) == VIR_DOMAIN_EVENT_CRASHED);
    STATIC_REQUIRE(static_cast<int>(StoppedDetail::migrated) == VIR_DOMAIN_EVENT_STOPPED_MIGRATED);
    STATIC_REQUIRE(static_cast<int>(StoppedDetail::failed) == VIR_DOMAIN_EVENT_STOPPED_FAILED);
}

TEST_CASE("states are described in virsh's words")
{
    CHECK(describe(DomainStatus{State::shut_off, VIR_DOMAIN_SHUTOFF_CRASHED}) == "shut off (crashed)");
    CHECK(describe(DomainStatus{State::paused, VIR_DOMAIN_PAUSED_IOERROR}) == "paused (I/O error)");
    CHECK(describe(DomainStatus{State::running, VIR_DOMAIN_RUNNING_BOOTED}) == "running (booted)");
    CHECK(describe(DomainStatus{State::crashed, VIR_DOMAIN_CRASHED_PANICKED}) == "crashed (panicked)");
    CHECK(reason_name(State::running, 99) == "unknown");
    CHECK(reason_name(State::shut_off, -1) == "unknown");
}

TEST_CASE("classification: running, stopped, failed")
{
    CHECK(classify({State::running, VIR_DOMAIN_RUNNING_BOOTED}) == Health::running);
    CHECK(classify({State::blocked, 0}) == Health::running);
    CHECK(classify({State::shutting_down, 0}) == Health::running);
    CHECK(classify({State::pm_suspended, 0}) == Health::running);
    CHECK(classify({State::paused, VIR_DOMAIN_PAUSED_USER}) == Health::running);
    CHECK(classify({State::paused, VIR_DOMAIN_PAUSED_MIGRATION}) == Health::running);
    CHECK(classify({State::shut_off, VIR_DOMAIN_SHUTOFF_DESTROYED}) == Health::stopped);
    CHECK(classify({State::shut_off, VIR_DOMAIN_SHUTOFF_CRASHED}) == Health::stopped);
    CHECK(classify({State::no_state, 0}) == Health::stopped);
    CHECK(classify({State::crashed, VIR_DOMAIN_CRASHED_PANICKED}) == Health::failed);
    for (int reason : {VIR_DOMAIN_PAUSED_IOERROR, VIR_DOMAIN_PAUSED_WATCHDOG, VIR_DOMAIN_PAUSED_CRASHED,
                       VIR_DOMAIN_PAUSED_POSTCOPY_FAILED})
        CHECK(classify({State::paused, reason}) == Health::failed);
    CHECK(ended_abnormally({State::shut_off, VIR_DOMAIN_SHUTOFF_CRASHED}));
    CHECK(ended_abnormally({State::shut_off, VIR_DOMAIN_SHUTOFF_FAILED}));
    CHECK_FALSE(ended_abnormally({State::shut_off, VIR_DOMAIN_SHUTOFF_SHUTDOWN}));
    CHECK_FALSE(ended_abnormally({State::shut_off, VIR_DOMAIN_SHUTOFF_DESTROYED}));
}

TEST_CASE("what lifecycle events mean for a domain's service")
{
    auto event = [](int type, int detail) {
        LifecycleEvent e;
        e.type = type;
        e.detail = detail;
        return e;
    };
    for (int d :
         {VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
          VIR_DOMAIN_EVENT_STOPPED_CRASHED, VIR_DOMAIN_EVENT_STOPPED_SAVED, VIR_DOMAIN_EVENT_STOPPED_FAILED})
        CHECK(meaning(event(VIR_DOMAIN_EVENT_STOPPED, d)) == EventMeaning::ended);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED)) == EventMeaning::left);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_PANICKED)) == EventMeaning::ended);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR)) ==
          EventMeaning::failed);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG)) ==
          EventMeaning::failed);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)) ==
          EventMeaning::irrelevant);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED)) ==
          EventMeaning::irrelevant);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED)) ==
          EventMeaning::irrelevant);
    // QEMU's SHUTDOWN, whoever asked: the emulator is going down ("stopped" comes later).
    for (int d : {VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
                  VIR_DOMAIN_EVENT_SHUTDOWN_HOST})
        CHECK(meaning(event(VIR_DOMAIN_EVENT_SHUTDOWN, d)) == EventMeaning::ending);
    CHECK(describe(event(VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_HOST)) == "shutdown (host)");
    CHECK(static_cast<int>(ShutdownDetail::host) == VIR_DOMAIN_EVENT_SHUTDOWN_HOST);
    CHECK(static_cast<int>(ShutdownDetail::guest) == VIR_DOMAIN_EVENT_SHUTDOWN_GUEST);
    CHECK(meaning(event(VIR_DOMAIN_EVENT_UNDEFINED, 0)) == EventMeaning::irrelevant);
    CHECK(describe(event(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED)) ==
          "stopped (destroyed)");
    CHECK(describe(event(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED)) ==
          "started (migrated)");
    CHECK(describe(event(42, 7)) == "unknown (unknown)");
}
