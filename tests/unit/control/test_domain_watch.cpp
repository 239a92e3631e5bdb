// outpost-controld's domain watch (tools/outpost-controld/domain_watch): the watch engine's
// ClusterTools answered in-process. A real CibStore (a CIB file in a temporary directory)
// holds the configuration and history, a recording ControllerActions stands for the
// control loop (whose fail_resource the crmd face's tests cover), and libvirt's in-process
// test driver (test:///default) plays the hypervisor for the whole path: domain destroyed,
// event, CIB read from the store, failure reported into the controller. And the flag
// that turns it off.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../watch/cib_fixture.hpp"
#include "../watch/test_driver.hpp"
#include "controller/cib_file.hpp"
#include "controller/cib_store.hpp"
#include "controller/xml.hpp"
#include "lifecycle/libvirt.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "tools/outpost-controld/domain_watch.hpp"
#include "tools/outpost-controld/options.hpp"
#include "watch/cib_guests.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
namespace ctl = outpost::cluster::controller;
namespace lv = outpost::cluster::lifecycle;
namespace fs = std::filesystem;

namespace {

constexpr const char* kNode = "node1";

// The control loop as the adapter sees it: what was failed, and an answer to give.
class RecordingActions : public ctl::ControllerActions {
public:
    [[nodiscard]] std::string host_node_id() const override { return "1"; }
    Status delete_history(const std::string& /*node*/, const std::string& /*rsc_id*/) override { return {}; }
    Result<int> fail_resource(const ctl::FailedResource& resource) override
    {
        failed.push_back(resource);
        if (refuse) return make_error("controld", -ENXIO, "no node " + resource.node);
        return 42;
    }
    Status reprobe(const std::string& /*node*/) override { return {}; }
    std::vector<std::string> container_lost(const std::string& rsc_id) override
    {
        // After the failure is recorded, never before.
        lost.push_back(rsc_id + (failed.empty() ? " (before its failure)" : ""));
        return {};
    }

    std::vector<ctl::FailedResource> failed;
    std::vector<std::string> lost;  // container_lost's, in order
    bool refuse = false;
};

struct Fixture {
    GMainContext* context = test_context();
    TempDir tmp{"outpost-controld-watch"};
    fs::path dir = tmp.path();
    std::vector<CibResource> resources;
    std::string extra_resources;
    std::unique_ptr<ctl::CibStore> store;
    RecordingActions actions;
    std::map<std::string, std::string> in_flight;  // resource -> operation
    std::vector<std::string> in_flight_asked;      // "node/resource"
    lv::Hypervisor keep = lv::Hypervisor::open(kTestUri).value();

    Fixture() = default;
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;
    ~Fixture() { remove_test_domains(keep); }

    // A running test-driver domain and its resource (ocf:outpost:guest), started on node1.
    lv::Domain add_guest(const std::string& rsc, const std::string& domain)
    {
        fs::path config = dir / (domain + ".xml");
        std::ofstream(config) << "<domain type='test'><name>" << domain
                              << "</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>";
        resources.push_back({rsc, "outpost", "guest", config.string(), kTestUri, "", started_ops(rsc)});
        auto d = keep.define(read(config));
        REQUIRE(d.ok());
        REQUIRE(d->start().ok());
        return std::move(*d);
    }
    static std::string read(const fs::path& p)
    {
        std::ifstream in(p);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    // The CIB file written, then opened as outpost-controld opens it.
    void open_store()
    {
        std::string cib = make_cib(resources, "", extra_resources, kNode);
        cib.insert(cib.find(' '), " validate-with=\"pacemaker-3.7\"");
        std::ofstream(dir / "cib.xml") << cib;
        auto opened = ctl::CibStore::open((dir / "cib.xml").string(), ctl::kDefaultSchemaDirectory);
        INFO((opened ? std::string() : opened.error().describe()));
        REQUIRE(opened.ok());
        store = std::move(*opened);
    }
    controld::InFlight in_flight_function()
    {
        return [this](const std::string& node, const std::string& rsc) -> std::optional<std::string> {
            in_flight_asked.push_back(node + "/" + rsc);
            auto it = in_flight.find(rsc);
            if (it == in_flight.end()) return std::nullopt;
            return it->second;
        };
    }
};

}  // namespace

TEST_CASE("the primitive a failure names: in groups and clones, a template's agent")
{
    const std::string cib =
        "<cib validate-with=\"pacemaker-3.7\"><configuration><resources>"
        "<template id=\"vm-template\" class=\"ocf\" provider=\"heartbeat\" type=\"VirtualDomain\"/>"
        "<group id=\"grp\"><primitive id=\"in-group\" class=\"ocf\" provider=\"outpost\" "
        "type=\"guest\"/></group>"
        "<clone id=\"cl\"><primitive id=\"in-clone\" class=\"systemd\" type=\"sshd\"/></clone>"
        "<primitive id=\"from-template\" template=\"vm-template\"/>"
        "</resources></configuration><status/></cib>";
    auto doc = ctl::parse_document(cib, 1U << 20, "test CIB");
    REQUIRE(doc.ok());

    auto g = controld::configured_primitive(doc->get(), "in-group");
    REQUIRE(g.has_value());
    CHECK(g->rsc_id == "in-group");
    CHECK(g->rsc_class == "ocf");
    CHECK(g->provider == "outpost");
    CHECK(g->type == "guest");
    auto c = controld::configured_primitive(doc->get(), "in-clone");
    REQUIRE(c.has_value());
    CHECK(c->rsc_class == "systemd");
    CHECK(c->provider.empty());
    auto t = controld::configured_primitive(doc->get(), "from-template");
    REQUIRE(t.has_value());
    CHECK(t->rsc_class == "ocf");
    CHECK(t->provider == "heartbeat");
    CHECK(t->type == "VirtualDomain");
    CHECK_FALSE(controld::configured_primitive(doc->get(), "grp").has_value());  // not a primitive
    CHECK_FALSE(controld::configured_primitive(doc->get(), "missing").has_value());
}

TEST_CASE("the tools read the store's CIB and report into the controller")
{
    Fixture f;
    f.resources.push_back({"g1", "outpost", "guest", "/nonexistent.xml", kTestUri, "", started_ops("g1")});
    f.open_store();
    controld::ControldTools tools(f.context, *f.store, f.actions, kNode, f.in_flight_function());

    // The CIB, read as the watcher reads it.
    std::optional<Result<std::string>> cib;
    tools.query_cib([&](Result<std::string> r) { cib = std::move(r); });
    CHECK_FALSE(cib.has_value());  // answered from the loop, never inside the call
    REQUIRE(run_until(f.context, [&] { return cib.has_value(); }));
    REQUIRE(cib->ok());
    auto parsed = cluster::watch::parse_cib(**cib, kNode);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->guests.size() == 1);
    CHECK(parsed->guests[0].id == "g1");
    CHECK(parsed->guests[0].state == cluster::watch::NodeState::active);

    // A report: the controller's fail_resource with the primitive's agent.
    std::optional<Status> reported;
    tools.report_failure("g1", kNode, [&](const Status& s) { reported = s; });
    REQUIRE(run_until(f.context, [&] { return reported.has_value(); }));
    CHECK(reported->ok());
    REQUIRE(f.actions.failed.size() == 1);
    CHECK(f.actions.failed[0].node == kNode);
    CHECK(f.actions.failed[0].rsc_id == "g1");
    CHECK(f.actions.failed[0].rsc_class == "ocf");
    CHECK(f.actions.failed[0].provider == "outpost");
    CHECK(f.actions.failed[0].type == "guest");
    // Then its guests are lost at once (a dead VM closes no connection).
    CHECK(f.actions.lost == std::vector<std::string>{"g1"});

    // The controller's refusal, and a resource no longer configured, come back as errors.
    f.actions.refuse = true;
    reported.reset();
    tools.report_failure("g1", "elsewhere", [&](const Status& s) { reported = s; });
    REQUIRE(run_until(f.context, [&] { return reported.has_value(); }));
    REQUIRE_FALSE(reported->ok());
    CHECK(reported->error().message == "no node elsewhere");
    reported.reset();
    tools.report_failure("gone", kNode, [&](const Status& s) { reported = s; });
    REQUIRE(run_until(f.context, [&] { return reported.has_value(); }));
    REQUIRE_FALSE(reported->ok());
    CHECK(f.actions.failed.size() == 2);  // "gone" never reached the controller
    CHECK(f.actions.lost.size() == 1);    // nor did a refused report lose its guests

    // In flight: asked of the loop for this node.
    f.in_flight["g1"] = "stop";
    CHECK(tools.agent_action_in_flight("g1") == std::optional<std::string>("stop"));
    CHECK_FALSE(tools.agent_action_in_flight("other").has_value());
    CHECK(f.in_flight_asked == std::vector<std::string>{"node1/g1", "node1/other"});
}

TEST_CASE("a destroyed domain is recorded through the controller, unless the loop is acting on it")
{
    Fixture f;
    auto d1 = f.add_guest("g1", "cw-1");
    auto d2 = f.add_guest("g2", "cw-2");
    f.open_store();
    f.in_flight["g2"] = "stop";
    auto started =
        controld::DomainWatch::start(f.context, *f.store, f.actions, kNode, f.in_flight_function(), 60s);
    REQUIRE(started.ok());
    auto& watch = *started;
    REQUIRE(run_until(
        f.context, [&] { return watch->watcher().guest_count() == 2; }, 5s));

    REQUIRE(d1.destroy().ok());
    REQUIRE(d2.destroy().ok());
    REQUIRE(run_until(
        f.context, [&] { return !f.actions.failed.empty(); }, 5s));
    loop_for(f.context, 300ms);
    REQUIRE(f.actions.failed.size() == 1);  // g2's stop is the loop's own
    CHECK(f.actions.failed[0].rsc_id == "g1");
    CHECK(f.actions.failed[0].node == kNode);
    CHECK(f.actions.failed[0].type == "guest");
    // Only the reported container's guests are lost: g2's stop is the cluster's.
    CHECK(f.actions.lost == std::vector<std::string>{"g1"});
    CHECK(std::find(f.in_flight_asked.begin(), f.in_flight_asked.end(), "node1/g2") !=
          f.in_flight_asked.end());
}

TEST_CASE("the domain watch is on by default; --no-domain-watch turns it off")
{
    auto on = controld::parse_options({"outpost-controld", "--cib-file", "/tmp/cib.xml"});
    REQUIRE(on.ok());
    CHECK(on->watch_domains);
    auto off =
        controld::parse_options({"outpost-controld", "--no-domain-watch", "--cib-file", "/tmp/cib.xml"});
    REQUIRE(off.ok());
    CHECK_FALSE(off->watch_domains);
    CHECK(controld::usage_text().find("--no-domain-watch") != std::string::npos);
}
