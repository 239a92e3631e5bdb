// lifecycle::HypervisorWatch (what outpost watch subscribes through) against a real
// libvirtd: the lifecycle events of a real LXC container arrive on the GLib loop (started,
// then stopped/destroyed and stopped/shutdown from inside), and when libvirtd is stopped and
// started again the watch notices the loss, reconnects by itself and events flow again.
#include <libvirt/libvirt.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"
#include "lifecycle/event_loop.hpp"
#include "lifecycle/hypervisor_watch.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace lc = outpost::cluster::lifecycle;
namespace fs = std::filesystem;

namespace {

constexpr unsigned kGuestHost = 42;  // 192.168.170.42

struct Seen {
    std::vector<lc::LifecycleEvent> events;
    unsigned connected = 0;
    std::vector<std::string> lost;

    [[nodiscard]] bool has(const std::string& name, int type, int detail = -1) const
    {
        for (const auto& e : events)
            if (e.name == name && e.type == type && (detail < 0 || e.detail == detail)) return true;
        return false;
    }
};

}  // namespace

TEST_CASE("HypervisorWatch on a real libvirtd: events, and reconnection after a libvirtd restart", "[lxc]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    auto started = LibvirtHarness::start();
    require_ok(started);
    std::unique_ptr<LibvirtHarness> lv = std::move(*started);
    if (!contains(lv->describe_setup(), "started libvirtd"))
        OUTPOST_SKIP("libvirtd was already running: the test restarts only a libvirtd it started");
    TempDir dir("outpost-hv-watch");
    const std::string domain = std::string(kDomainPrefix) + "hvw1";

    LxcGuestSpec spec;
    spec.name = domain;
    spec.command = {"/bin/sleep", "infinity"};
    spec.address = bridge_address(kGuestHost);
    spec.state_dir = dir / "state";
    spec.log_file = dir / "init.out";
    fs::create_directories(spec.state_dir);
    const fs::path xml = dir / "hvw1.xml";
    require_ok(write_file(xml, lxc_domain_xml(spec, lv->bridge())));

    ContextPtr context = new_context();
    require_ok(lc::install_event_loop(context.get()));
    Seen seen;
    lc::HypervisorWatch::Callbacks callbacks;
    callbacks.event = [&](const lc::LifecycleEvent& e) { seen.events.push_back(e); };
    callbacks.connected = [&](lc::Hypervisor&) { ++seen.connected; };
    callbacks.disconnected = [&](const std::string& why) { seen.lost.push_back(why); };
    lc::HypervisorWatch::Options options;
    options.keepalive_interval = 1s;
    options.keepalive_count = 3;
    auto watch = lc::HypervisorWatch::start(context.get(), kLxcUri, callbacks, options);
    require_ok(watch);
    REQUIRE(seen.connected == 1);

    // Destroyed behind our back.
    require_ok(lv->create_domain(kLxcUri, xml, domain));
    REQUIRE(run_until(context.get(), [&] { return seen.has(domain, VIR_DOMAIN_EVENT_STARTED); }));
    require_ok(lv->virsh_checked(kLxcUri, {"destroy", domain}));
    REQUIRE(run_until(context.get(), [&] {
        return seen.has(domain, VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    }));

    // libvirtd restarted: the watch loses the connection and comes back by itself.
    require_ok(lv->stop());
    lv.reset();
    REQUIRE(run_until(
        context.get(), [&] { return !seen.lost.empty(); }, 20s));
    INFO("lost: " << seen.lost.front());
    auto again = LibvirtHarness::start();
    require_ok(again);
    lv = std::move(*again);
    auto restarted = std::chrono::steady_clock::now();
    REQUIRE(run_until(
        context.get(), [&] { return seen.connected >= 2; }, 20s));
    WARN("reconnected " << std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count()
                        << " s after libvirtd was back (lost: " << seen.lost.front() << ")");
    CHECK((*watch)->hypervisor() != nullptr);

    // Events flow on the new connection: a container whose init exits (stopped from inside).
    seen.events.clear();
    require_ok(lv->create_domain(kLxcUri, xml, domain));
    REQUIRE(run_until(context.get(), [&] { return seen.has(domain, VIR_DOMAIN_EVENT_STARTED); }));
    auto init = lv->lxc_init_pid(domain);
    REQUIRE(init.has_value());
    // The init (sh) sets its TERM trap right after starting its child; before that, as PID
    // 1 of its namespace, it ignores SIGTERM.
    const std::string children =
        "/proc/" + std::to_string(*init) + "/task/" + std::to_string(*init) + "/children";
    REQUIRE(run_until(context.get(), [&] {
        auto text = read_file(children, 4096);
        return text.ok() && !text->empty();
    }));
    loop_for(context.get(), 300ms);
    REQUIRE(::kill(*init, SIGTERM) == 0);
    REQUIRE(run_until(context.get(), [&] { return seen.has(domain, VIR_DOMAIN_EVENT_STOPPED); }));
    watch->reset();
    require_ok(lv->stop());
}
