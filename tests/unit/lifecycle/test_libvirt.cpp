// lifecycle/libvirt, event_loop and hypervisor_watch against libvirt's in-process test
// driver (test:///default: a fake hypervisor with one running domain "test"; its state
// lives as long as one connection to it is open, so each test keeps one).
#include <libvirt/libvirt.h>
#include <catch2/catch.hpp>

#include <vector>

#include "lifecycle/domain_config.hpp"
#include "lifecycle/event_loop.hpp"
#include "lifecycle/hypervisor_watch.hpp"
#include "lifecycle/libvirt.hpp"
#include "support/main_loop.hpp"

using namespace outpost::cluster::lifecycle;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTestUri = "test:///default";

std::string test_domain_xml(const std::string& name)
{
    return "<domain type='test'><name>" + name +
           "</name><memory unit='MiB'>64</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>";
}

// One context for the whole executable: libvirt's event loop registration is per process.
GMainContext* test_context()
{
    static GMainContext* context = [] {
        GMainContext* c = g_main_context_new();
        REQUIRE(install_event_loop(c).ok());
        return c;
    }();
    return context;
}

}  // namespace

TEST_CASE("a connection to the test driver and its default domain")
{
    auto h = Hypervisor::open(kTestUri);
    REQUIRE(h.ok());
    CHECK(h->uri() == kTestUri);
    CHECK(h->alive());
    auto found = h->find("test");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    const Domain& d = **found;
    CHECK(d.name() == "test");
    CHECK(d.uuid().size() == 36);
    auto st = d.status();
    REQUIRE(st.ok());
    CHECK(classify(*st) == Health::running);
    auto absent = h->find("no-such-domain");
    REQUIRE(absent.ok());
    CHECK_FALSE(absent->has_value());
    auto by_uuid = h->find_by_uuid(d.uuid());
    REQUIRE(by_uuid.ok());
    REQUIRE(by_uuid->has_value());
    CHECK((*by_uuid)->name() == "test");
    auto all = h->domains();
    REQUIRE(all.ok());
    CHECK_FALSE(all->empty());
}

TEST_CASE("define, start, inspect, shut down and undefine a domain")
{
    auto h = Hypervisor::open(kTestUri);
    REQUIRE(h.ok());
    auto marked = with_owner_mark(test_domain_xml("lc-1"), "rsc-1");
    REQUIRE(marked.ok());
    auto d = h->define(*marked);
    REQUIRE(d.ok());
    CHECK(d->name() == "lc-1");
    CHECK(*d->persistent());
    CHECK(d->owner() == "rsc-1");
    CHECK(d->status()->state == State::shut_off);
    REQUIRE(d->start().ok());
    CHECK(classify(*d->status()) == Health::running);
    auto info = d->info();
    REQUIRE(info.ok());
    CHECK(info->vcpus == 2);
    CHECK(info->max_memory_kib == 64UL * 1024);
    auto xml = d->xml();
    REQUIRE(xml.ok());
    CHECK(xml->find("<name>lc-1</name>") != std::string::npos);

    // Errors name what was done and keep libvirt's words and number.
    auto again = d->start();
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().domain == "libvirt");
    CHECK(again.error().message.rfind("starting domain lc-1: ", 0) == 0);
    CHECK_FALSE(is_connection_failure(again.error()));  // the test driver says "internal error"

    REQUIRE(d->shutdown(0).ok());
    CHECK(d->status()->state == State::shut_off);
    REQUIRE(d->undefine().ok());
    CHECK_FALSE(h->find("lc-1")->has_value());
}

TEST_CASE("transient domains, destroy, and an unmarked definition")
{
    auto h = Hypervisor::open(kTestUri);
    REQUIRE(h.ok());
    auto t = h->create_transient(test_domain_xml("lc-2"));
    REQUIRE(t.ok());
    CHECK_FALSE(*t->persistent());
    CHECK(t->owner().empty());
    REQUIRE(t->destroy().ok());
    CHECK_FALSE(h->find("lc-2")->has_value());  // gone with its last run

    auto broken = h->define("<domain type='test'><name>x</name></domain>");
    REQUIRE_FALSE(broken.ok());
    CHECK(is_config_error(broken.error()));
}

TEST_CASE("shutdown modes by virsh's names")
{
    CHECK(*parse_shutdown_modes("") == 0);
    CHECK(*parse_shutdown_modes("acpi") == VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN);
    CHECK(*parse_shutdown_modes("initctl, signal") ==
          (VIR_DOMAIN_SHUTDOWN_INITCTL | VIR_DOMAIN_SHUTDOWN_SIGNAL));
    CHECK(*parse_shutdown_modes("agent,paravirt") ==
          (VIR_DOMAIN_SHUTDOWN_GUEST_AGENT | VIR_DOMAIN_SHUTDOWN_PARAVIRT));
    auto bad = parse_shutdown_modes("acpi,poweroff");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message ==
          "unknown shutdown mode \"poweroff\" (known: acpi, agent, initctl, signal, paravirt)");
}

TEST_CASE("connection failures are errors that say so")
{
    auto h = Hypervisor::open("test:///nonexistent-file.xml");
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().message.rfind("connecting to test:///nonexistent-file.xml: ", 0) == 0);
}

TEST_CASE("lifecycle events arrive on the GLib loop through a HypervisorWatch")
{
    GMainContext* context = test_context();
    auto keep = Hypervisor::open(kTestUri);  // keeps the test driver's state
    REQUIRE(keep.ok());

    std::vector<LifecycleEvent> events;
    unsigned connected = 0;
    HypervisorWatch::Callbacks callbacks;
    callbacks.event = [&](const LifecycleEvent& e) { events.push_back(e); };
    callbacks.connected = [&](Hypervisor& h) {
        ++connected;
        CHECK(h.uri() == kTestUri);
    };
    auto watch = HypervisorWatch::start(context, kTestUri, callbacks);
    REQUIRE(watch.ok());
    CHECK(connected == 1);
    CHECK((*watch)->hypervisor() != nullptr);
    CHECK((*watch)->connections() == 1);

    auto d = keep->define(test_domain_xml("lc-ev"));
    REQUIRE(d.ok());
    REQUIRE(d->start().ok());
    REQUIRE(d->destroy().ok());
    REQUIRE(d->undefine().ok());
    auto seen = [&](int type, int detail) {
        for (const auto& e : events)
            if (e.name == "lc-ev" && e.type == type && e.detail == detail) return true;
        return false;
    };
    REQUIRE(outpost::test::run_until(
        context, [&] { return seen(VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED); }, 5s));
    CHECK(seen(VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED));
    CHECK(seen(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED));
    CHECK(seen(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED));
    for (const auto& e : events) {
        CHECK(e.uri == kTestUri);
        CHECK(e.uuid.size() == 36);
    }

    // No callback once the watch is gone.
    watch->reset();
    std::size_t before = events.size();
    auto d2 = keep->define(test_domain_xml("lc-ev2"));
    REQUIRE(d2.ok());
    REQUIRE(d2->undefine().ok());
    outpost::test::loop_for(context, 200ms);
    CHECK(events.size() == before);
}

TEST_CASE("a watch whose hypervisor cannot be reached retries, and says so")
{
    GMainContext* context = test_context();
    std::vector<std::string> failures;
    HypervisorWatch::Callbacks callbacks;
    callbacks.disconnected = [&](const std::string& why) { failures.push_back(why); };
    HypervisorWatch::Options options;
    options.reconnect_min = 20ms;
    options.reconnect_max = 40ms;
    auto watch = HypervisorWatch::start(context, "test:///nonexistent-file.xml", callbacks, options);
    REQUIRE(watch.ok());
    CHECK((*watch)->hypervisor() == nullptr);
    REQUIRE(outpost::test::run_until(
        context, [&] { return failures.size() >= 3; }, 5s));
    CHECK(failures.front().find("connecting to test:///nonexistent-file.xml") != std::string::npos);
    CHECK((*watch)->connections() == 0);
}

TEST_CASE("the event loop refuses a second context")
{
    GMainContext* context = test_context();
    CHECK(install_event_loop(context).ok());  // same one: fine
    GMainContext* other = g_main_context_new();
    auto s = install_event_loop(other);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == -EBUSY);
    g_main_context_unref(other);
}
