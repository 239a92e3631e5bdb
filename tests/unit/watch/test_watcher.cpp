// watch/watcher: deciding, on a domain's lifecycle event, whether to report its resource
// failed. libvirt's test driver (test:///default) plays the hypervisor, a scripted
// ClusterTools plays Pacemaker (its CIB made by cib_fixture.hpp).
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cib_fixture.hpp"
#include "io/source.hpp"
#include "lifecycle/event_loop.hpp"
#include "lifecycle/libvirt.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "watch/watcher.hpp"

using namespace outpost::cluster::watch;
using namespace outpost::test;
namespace lv = outpost::cluster::lifecycle;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTestUri = "test:///default";

GMainContext* test_context()
{
    static GMainContext* context = [] {
        GMainContext* c = g_main_context_new();
        REQUIRE(lv::install_event_loop(c).ok());
        return c;
    }();
    return context;
}

// Pacemaker as the watcher sees it: a CIB made from `resources`, answered from the loop.
class FakeTools : public ClusterTools {
public:
    explicit FakeTools(GMainContext* context) : context_(context) {}
    void query_cib(std::function<void(outpost::Result<std::string>)> done) override
    {
        ++queries;
        std::string cib = make_cib(resources, properties);
        pending_.push_back(outpost::io::add_idle(context_, [done, cib] { done(cib); }));
    }
    void report_failure(const std::string& resource, const std::string& node,
                        std::function<void(outpost::Status)> done) override
    {
        reports.push_back(resource + "@" + node);
        pending_.push_back(outpost::io::add_idle(context_, [done] { done({}); }));
    }
    std::optional<std::string> agent_action_in_flight(const std::string& resource) override
    {
        auto it = in_flight.find(resource);
        if (it == in_flight.end()) return std::nullopt;
        return it->second;
    }

    std::vector<CibResource> resources;
    std::string properties;
    std::map<std::string, std::string> in_flight;
    std::vector<std::string> reports;
    int queries = 0;

private:
    GMainContext* context_;
    std::vector<outpost::io::Source> pending_;
};

struct Fixture {
    GMainContext* context = test_context();
    outpost::test::TempDir tmp{"outpost-watch-test"};
    fs::path dir = tmp.path();
    lv::Hypervisor keep = lv::Hypervisor::open(kTestUri).value();
    FakeTools tools{context};
    std::vector<Report> reports;
    int refreshes = 0;
    std::unique_ptr<Watcher> watcher;

    Fixture() = default;
    ~Fixture()
    {
        watcher.reset();
        try {  // cleanup only: nothing may escape a destructor
            auto all = keep.domains();
            if (!all) return;
            for (auto& d : *all) {
                if (d.name() == "test") continue;
                (void)d.destroy();
                (void)d.undefine();
            }
        } catch (...) {
        }
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // A running test-driver domain and its resource, active on node1 as far as the CIB goes.
    lv::Domain add_guest(const std::string& rsc, const std::string& domain, const std::string& type = "guest")
    {
        fs::path config = dir / (domain + ".xml");
        std::string xml = "<domain type='test'><name>" + domain +
                          "</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>";
        std::ofstream(config) << xml;
        tools.resources.push_back({rsc, type == "guest" ? "outpost" : "heartbeat", type, config.string(),
                                   kTestUri, "", started_ops(rsc)});
        auto d = keep.define(xml);
        REQUIRE(d.ok());
        REQUIRE(d->start().ok());
        return std::move(*d);
    }
    CibResource& resource(const std::string& id)
    {
        for (auto& r : tools.resources)
            if (r.id == id) return r;
        FAIL("no resource " << id);
        throw std::logic_error("unreachable");
    }

    void start(bool dry_run = false, std::chrono::milliseconds refresh = 60s)
    {
        WatcherOptions o;
        o.node = "node1";
        o.refresh = refresh;
        o.dry_run = dry_run;
        watcher = std::make_unique<Watcher>(context, o, tools);
        watcher->on_report = [this](const Report& r) { reports.push_back(r); };
        watcher->on_refresh = [this] { ++refreshes; };
        watcher->start();
        REQUIRE(run_until(
            context, [this] { return refreshes >= 1; }, 5s));
    }
    bool wait_reports(std::size_t n, std::chrono::milliseconds limit = 5s)
    {
        return run_until(
            context, [&] { return reports.size() >= n; }, limit);
    }
    void settle() { loop_for(context, 300ms); }
};

}  // namespace

TEST_CASE("a destroyed domain of an active resource is reported once")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-1");
    f.add_guest("vd2", "w-2", "VirtualDomain");
    f.start();
    CHECK(f.watcher->guest_count() == 2);
    CHECK(f.watcher->watched_uris() == std::vector<std::string>{kTestUri});

    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.tools.reports == std::vector<std::string>{"g1@node1"});
    CHECK(f.reports[0].resource == "g1");
    CHECK(f.reports[0].domain == "w-1");
    CHECK(f.reports[0].why == "stopped (destroyed)");
    CHECK(f.reports[0].ok);
    CHECK(f.reports[0].reported >= f.reports[0].noticed);

    // The same history in the CIB (the cluster has not restarted it yet): not again.
    REQUIRE(d.start().ok());
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.size() == 1);

    // A new start recorded: a new death is news again.
    f.resource("g1").ops = started_ops("g1", 20);
    REQUIRE(d.start().ok());
    REQUIRE(d.shutdown(0).ok());
    REQUIRE(f.wait_reports(2));
    CHECK(f.reports[1].why == "stopped (shutdown)");
}

TEST_CASE("what the cluster does itself is never reported")
{
    Fixture f;
    auto busy = f.add_guest("busy", "w-busy");
    auto acting = f.add_guest("acting", "w-acting");
    auto off = f.add_guest("off", "w-off");
    auto unmanaged = f.add_guest("unmanaged", "w-unmanaged");
    auto reported = f.add_guest("reported", "w-reported");
    f.resource("busy").ops = {{"busy_last_0", "stop", -1, 193, -1, 0}};
    f.tools.in_flight["acting"] = "stop";
    f.resource("off").ops = {{"off_last_0", "stop", 9, 0, 0, 0}};
    f.resource("unmanaged").meta = "<nvpair id=\"u-m\" name=\"is-managed\" value=\"false\"/>";
    f.resource("reported").ops.push_back({"reported_last_failure_0", "asyncmon", 12, 1, 0, 0});
    f.start();
    for (auto* d : {&busy, &acting, &unmanaged, &reported})
        REQUIRE(d->destroy().ok());
    REQUIRE(off.shutdown(0).ok());
    f.settle();
    CHECK(f.tools.reports.empty());
    CHECK(f.tools.queries >= 4);  // each was checked with a fresh CIB
}

TEST_CASE("maintenance mode holds every report")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-m");
    f.tools.properties = "<nvpair id=\"mm\" name=\"maintenance-mode\" value=\"true\"/>";
    f.start();
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.empty());
}

TEST_CASE("a domain found stopped at a refresh is reported without an event")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-quiet");
    REQUIRE(d.destroy().ok());  // before the watcher runs: no event for it
    f.start(false, 200ms);
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].why == "found not running (no event seen)");
}

TEST_CASE("a resource newer than the last CIB read is found on its domain's event")
{
    Fixture f;
    f.add_guest("g1", "w-old");
    f.start();
    auto d = f.add_guest("g2", "w-new");  // configured after the watcher read the CIB
    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].resource == "g2");
}

TEST_CASE("migrated away is not a death; a dry run reports nothing")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-dry");
    f.start(true);
    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].ok);
    CHECK(f.tools.reports.empty());
}

TEST_CASE("a domain running again is not reported")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-again");
    f.start();
    REQUIRE(d.destroy().ok());
    REQUIRE(d.start().ok());  // restarted before the watcher checked (e.g. on_crash=restart)
    f.settle();
    CHECK(f.tools.reports.empty());
}
