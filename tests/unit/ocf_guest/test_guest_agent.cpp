// ocf:outpost:guest: parameters, metadata, and every action run in-process against
// libvirt's test driver (test:///default), with the cluster tools replaced by a recorder.
#include <libvirt/libvirt.h>
#include <libxml/relaxng.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guest/agent.hpp"
#include "guest/params.hpp"
#include "lifecycle/domain_config.hpp"
#include "lifecycle/libvirt.hpp"
#include "support/files.hpp"

using namespace outpost::ocf::guest;
namespace lv = outpost::cluster::lifecycle;
namespace wire = outpost::wire;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTestUri = "test:///default";
constexpr const char* kPcsOcfSchema = "/usr/share/pcs/data/ocf-1.1.rng";

class Recorder : public Services {
public:
    explicit Recorder(fs::path dir) : dir_(std::move(dir)) {}
    outpost::Status set_utilization(const std::string& resource, const std::string& name,
                                    const std::string& value) override
    {
        calls.push_back("set " + resource + " " + name + "=" + value);
        return {};
    }
    outpost::Status delete_utilization(const std::string& resource, const std::string& name) override
    {
        calls.push_back("delete " + resource + " " + name);
        return {};
    }
    int run(const std::vector<std::string>& argv) override
    {
        runs.push_back(argv.front());
        auto it = exit_status.find(argv.front());
        return it == exit_status.end() ? 0 : it->second;
    }
    [[nodiscard]] fs::path state_dir() const override { return dir_; }

    std::vector<std::string> calls;
    std::vector<std::string> runs;
    std::map<std::string, int> exit_status;

private:
    fs::path dir_;
};

// A scratch directory, a config file for a test-driver domain, and the OCF environment.
struct Fixture {
    outpost::test::TempDir tmp;
    fs::path dir;
    fs::path config;
    std::map<std::string, std::string> params;
    std::string resource = "vm-1";
    Recorder services;
    // The test driver's state lives while a connection is open.
    lv::Hypervisor keep;

    explicit Fixture(const std::string& name = "og-1")
        : tmp("outpost-ocf-guest-" + name),
          dir(tmp.path()),
          config(dir / (name + ".xml")),
          services(dir / "state"),
          keep(lv::Hypervisor::open(kTestUri).value())
    {
        write_config(name);
        params = {{"config", config.string()}, {"hypervisor", kTestUri}};
    }
    ~Fixture() = default;
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    void write_config(const std::string& name) const
    {
        std::ofstream(config)
            << "<domain type='test'><name>" << name
            << "</name><memory unit='MiB'>64</memory><vcpu>2</vcpu><os><type>hvm</type></os>"
               "</domain>\n";
    }

    Outcome run(const std::string& action, const std::map<std::string, std::string>& meta = {})
    {
        auto all = params;
        for (const auto& [k, v] : meta)
            all["CRM_meta_" + k] = v;
        if (all.count("CRM_meta_timeout") == 0) all["CRM_meta_timeout"] = "5000";
        Lookup lookup = [all](const std::string& name) -> std::optional<std::string> {
            auto it = all.find(name);
            if (it == all.end()) return std::nullopt;
            return it->second;
        };
        return run_action(context_from(action, lookup, resource), lookup, services);
    }
    Outcome probe() { return run("monitor", {{"interval", "0"}}); }
    Outcome monitor() { return run("monitor", {{"interval", "10000"}}); }

    std::optional<lv::Domain> domain(const std::string& name = "og-1") const
    {
        return keep.find(name).value();
    }
};

Lookup lookup_of(const std::map<std::string, std::string>& values)
{
    return [values](const std::string& name) -> std::optional<std::string> {
        auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

// --- parameters --------------------------------------------------------------------------

TEST_CASE("parameters: defaults as VirtualDomain's")
{
    auto p = parse_params(lookup_of({{"config", "/etc/libvirt/qemu/vm.xml"}}));
    REQUIRE(p.ok());
    CHECK(p->config == "/etc/libvirt/qemu/vm.xml");
    CHECK(p->hypervisor.empty());
    CHECK_FALSE(p->force_stop);
    CHECK(p->autoset_utilization_cpu);
    CHECK(p->autoset_utilization_hv_memory);
    CHECK(p->autoset_utilization_host_memory);
    CHECK_FALSE(p->unset_utilization_cpu);
    CHECK(p->shutdown_flags == 0);
    CHECK(p->migration_downtime.count() == 0);
    CHECK_FALSE(p->migrateport.has_value());
}

TEST_CASE("parameters: values are checked and named")
{
    auto err = [](const std::map<std::string, std::string>& v) {
        auto p = parse_params(lookup_of(v));
        REQUIRE_FALSE(p.ok());
        return p.error().message;
    };
    CHECK(err({}) == "config is required (the domain's XML file)");
    CHECK(err({{"config", "vm.xml"}}) == "config must be an absolute path: \"vm.xml\"");
    CHECK(err({{"config", "/x.xml"}, {"force_stop", "maybe"}}).find("force_stop") != std::string::npos);
    CHECK(err({{"config", "/x.xml"}, {"snapshot", "/var/lib/snap"}}) ==
          "snapshot is not supported by ocf:outpost:guest (set to \"/var/lib/snap\"); use "
          "ocf:heartbeat:VirtualDomain for it");
    CHECK(err({{"config", "/x.xml"}, {"stateless", "true"}}).find("stateless is not supported") == 0);
    CHECK(err({{"config", "/x.xml"}, {"shutdown_mode", "poweroff"}}).find("shutdown_mode: unknown") == 0);
    CHECK(err({{"config", "/x.xml"}, {"migrateport", "0"}}).find("migrateport") != std::string::npos);
    CHECK(err({{"config", "/x.xml"}, {"migrateport", "70000"}}).find("migrateport") != std::string::npos);
    CHECK(err({{"config", "/x.xml"}, {"migrate_options", "--bogus"}}).find("--bogus") != std::string::npos);

    // stateless=false is VirtualDomain's default and harmless.
    CHECK(parse_params(lookup_of({{"config", "/x.xml"}, {"stateless", "false"}})).ok());
    auto p = parse_params(lookup_of({{"config", "/x.xml"},
                                     {"CRM_shutdown_mode", "signal"},
                                     {"sync_config_on_stop", "yes"},
                                     {"migration_downtime", "300"},
                                     {"migration_speed", "100"},
                                     {"migrateport", "49152"},
                                     {"monitor_scripts", "/a.sh  /b.sh"},
                                     {"migrate_options", "--compressed --migrateuri tcp://x"}}));
    REQUIRE(p.ok());
    CHECK(p->shutdown_flags == VIR_DOMAIN_SHUTDOWN_SIGNAL);
    CHECK(p->save_config_on_stop);
    CHECK(p->migration_downtime.count() == 300);
    CHECK(p->migration_speed_mib_s == 100);
    CHECK(*p->migrateport == 49152);
    CHECK(p->monitor_scripts == std::vector<std::string>{"/a.sh", "/b.sh"});
    CHECK(p->migrate_option_flags == VIR_MIGRATE_COMPRESSED);
    CHECK(p->migrate_options_uri == "tcp://x");
    // shutdown_mode wins over the 4.12.0 workaround's name.
    auto both = parse_params(
        lookup_of({{"config", "/x.xml"}, {"shutdown_mode", "acpi"}, {"CRM_shutdown_mode", "signal"}}));
    CHECK(both->shutdown_flags == VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN);
}

TEST_CASE("the OCF context: probe, interval, timeout, migration peers")
{
    auto c =
        context_from("monitor", lookup_of({{"CRM_meta_interval", "0"}, {"CRM_meta_timeout", "20000"}}), "r");
    CHECK(c.probe());
    CHECK(c.timeout.count() == 20000);
    CHECK(context_from("monitor", lookup_of({}), "r").probe());
    CHECK_FALSE(context_from("monitor", lookup_of({{"CRM_meta_interval", "10000"}}), "r").probe());
    CHECK_FALSE(context_from("start", lookup_of({}), "r").probe());
    CHECK(context_from("stop", lookup_of({}), "r").timeout.count() == 90000);
    auto m = context_from(
        "migrate_to", lookup_of({{"CRM_meta_migrate_target", "n2"}, {"CRM_meta_migrate_source", "n1"}}), "r");
    CHECK(m.migrate_target == "n2");
    CHECK(m.migrate_source == "n1");
    CHECK(m.timeout.count() == 120000);
}

// --- metadata ----------------------------------------------------------------------------

TEST_CASE("meta-data: OCF 1.1, every parameter, every action")
{
    std::string xml = metadata_xml();
    xmlDocPtr doc =
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET);
    REQUIRE(doc != nullptr);
    for (const auto& p : param_specs())
        CHECK(xml.find(std::string("<parameter name=\"") + p.name + "\"") != std::string::npos);
    for (const char* a : {"start", "stop", "monitor", "migrate_to", "migrate_from", "reload", "reload-agent",
                          "meta-data", "validate-all"})
        CHECK(xml.find(std::string("<action name=\"") + a + "\"") != std::string::npos);
    CHECK(xml.find("<version>1.1</version>") != std::string::npos);
    CHECK(xml.find("<parameter name=\"config\" unique-group=\"config\" required=\"1\">") !=
          std::string::npos);
    CHECK(xml.find("<parameter name=\"force_stop\" required=\"0\" reloadable=\"1\">") != std::string::npos);

    // The OCF 1.1 grammar pcs checks agents' metadata with (pcs ships it).
    if (fs::exists(kPcsOcfSchema)) {
        xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt(kPcsOcfSchema);
        xmlRelaxNGPtr schema = xmlRelaxNGParse(pctx);
        REQUIRE(schema != nullptr);
        xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt(schema);
        CHECK(xmlRelaxNGValidateDoc(vctx, doc) == 0);
        xmlRelaxNGFreeValidCtxt(vctx);
        xmlRelaxNGFree(schema);
        xmlRelaxNGFreeParserCtxt(pctx);
    } else {
        WARN(kPcsOcfSchema << " not installed (pcs): schema check skipped");
    }
    xmlFreeDoc(doc);
}

// --- actions -----------------------------------------------------------------------------

TEST_CASE("start, monitor, stop: the whole life of a domain")
{
    Fixture f;
    CHECK(f.run("validate-all").rc == wire::ocf::ok);
    CHECK(f.probe().rc == wire::ocf::not_running);

    auto started = f.run("start");
    INFO(started.reason);
    REQUIRE(started.rc == wire::ocf::ok);
    auto d = f.domain();
    REQUIRE(d);
    CHECK(lv::classify(*d->status()) == lv::Health::running);
    CHECK(*d->persistent());
    CHECK(d->owner() == "vm-1");
    CHECK(f.services.calls ==
          std::vector<std::string>{"set vm-1 cpu=2", "set vm-1 host_memory=64", "set vm-1 hv_memory=64"});

    CHECK(f.probe().rc == wire::ocf::ok);
    CHECK(f.monitor().rc == wire::ocf::ok);
    CHECK(f.services.calls.size() == 3);        // unchanged: no crm_resource at a monitor
    CHECK(f.run("start").rc == wire::ocf::ok);  // already running

    CHECK(f.run("stop").rc == wire::ocf::ok);
    CHECK_FALSE(f.domain());  // our definition is gone with it
    CHECK(f.run("stop").rc == wire::ocf::ok);
    CHECK(f.monitor().rc == wire::ocf::not_running);
    CHECK_FALSE(fs::exists(f.dir / "state" / "outpost-guest-vm-1.utilization"));
}

TEST_CASE("utilization: unset, disabled, and only what changed")
{
    Fixture f("og-util");
    f.params["autoset_utilization_host_memory"] = "false";
    f.params["unset_utilization_cpu"] = "true";
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    CHECK(f.services.calls == std::vector<std::string>{"delete vm-1 cpu", "set vm-1 hv_memory=64"});
    REQUIRE(f.monitor().rc == wire::ocf::ok);
    CHECK(f.services.calls.size() == 2);
    f.params["autoset_utilization_hv_memory"] = "false";
    f.params["unset_utilization_cpu"] = "false";
    f.params["autoset_utilization_cpu"] = "false";
    REQUIRE(f.run("reload-agent").rc == wire::ocf::ok);
    CHECK(f.services.calls.size() == 2);
    f.resource.clear();  // run by hand: nothing to set
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
}

TEST_CASE("a domain the administrator defined runs transiently and keeps its definition")
{
    Fixture f("og-admin");
    auto xml = lv::read_domain_config(f.config);
    REQUIRE(xml.ok());
    REQUIRE(f.keep.define(xml->xml).ok());
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    auto d = f.domain("og-admin");
    REQUIRE(d);
    CHECK(lv::classify(*d->status()) == lv::Health::running);
    CHECK(d->owner().empty());
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
    auto after = f.domain("og-admin");
    REQUIRE(after);  // still defined, shut off
    CHECK(after->status()->state == lv::State::shut_off);
    REQUIRE(after->undefine().ok());
}

TEST_CASE("force_stop destroys; save_config_on_stop writes the file back without the mark")
{
    Fixture f("og-stop");
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    f.params["force_stop"] = "true";
    f.params["save_config_on_stop"] = "true";
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
    CHECK_FALSE(f.domain("og-stop"));
    std::ifstream in(f.config);
    std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(saved.find("<name>og-stop</name>") != std::string::npos);
    CHECK(saved.find("outpost") == std::string::npos);
    CHECK(lv::parse_domain_config(saved, "saved").ok());
}

TEST_CASE("monitor scripts gate start and fail a monitor")
{
    Fixture f("og-scripts");
    f.params["monitor_scripts"] = "/bin/check-a /bin/check-b";
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    CHECK(f.services.runs == std::vector<std::string>{"/bin/check-a", "/bin/check-b"});
    f.services.exit_status["/bin/check-b"] = 3;
    auto m = f.monitor();
    CHECK(m.rc == wire::ocf::unknown_error);
    CHECK(m.reason == "monitor script /bin/check-b exited with 3");
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
    auto s = f.run("start", {{"timeout", "1500"}});
    CHECK(s.rc == wire::ocf::unknown_error);
    CHECK(s.reason == "monitor script /bin/check-b exited with 3");
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
}

TEST_CASE("configuration problems: exit codes and reasons")
{
    Fixture f("og-cfg");
    f.params["config"] = (f.dir / "missing.xml").string();
    auto start = f.run("start");
    CHECK(start.rc == wire::ocf::not_installed);
    CHECK(start.reason == "configuration file " + (f.dir / "missing.xml").string() + " does not exist");
    CHECK(f.run("validate-all").rc == wire::ocf::not_installed);
    CHECK(f.probe().rc == wire::ocf::not_running);
    CHECK(f.monitor().rc == wire::ocf::unknown_error);  // a recurring monitor cannot know: VirtualDomain's rc
    CHECK(f.run("stop").rc == wire::ocf::ok);           // nothing of ours defined

    std::ofstream(f.dir / "broken.xml") << "<domain type='test'><name>x</name>";
    f.params["config"] = (f.dir / "broken.xml").string();
    CHECK(f.run("start").rc == wire::ocf::not_configured);

    f.params["config"] = f.config.string();
    f.params["snapshot"] = "/srv/snap";
    auto refused = f.run("start");
    CHECK(refused.rc == wire::ocf::not_configured);
    CHECK(refused.reason.find("snapshot is not supported") == 0);
    f.params.erase("snapshot");

    std::ofstream(f.dir / "lxc.xml") << "<domain type='lxc'><name>c</name><os><type>exe</type></os></domain>";
    f.params["config"] = (f.dir / "lxc.xml").string();
    f.params["hypervisor"] = "qemu:///system";
    auto mismatch = f.run("validate-all");
    CHECK(mismatch.rc == wire::ocf::not_configured);
    CHECK(mismatch.reason == "domain c is of type lxc, which hypervisor qemu:///system cannot run");

    CHECK(f.run("frobnicate").rc == wire::ocf::unimplemented);
}

TEST_CASE("without its config file, our domain is still found by its mark")
{
    Fixture f("og-mark");
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    fs::path moved = f.dir / "elsewhere.xml";
    fs::rename(f.config, moved);
    CHECK(f.monitor().rc == wire::ocf::ok);
    CHECK(f.probe().rc == wire::ocf::ok);
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
    CHECK_FALSE(f.domain("og-mark"));
    CHECK(f.probe().rc == wire::ocf::not_running);
}

TEST_CASE("migration: unsupported drivers, missing target, arrival")
{
    Fixture f("og-mig");
    auto no_target = f.run("migrate_to");
    CHECK(no_target.rc == wire::ocf::not_configured);
    auto not_here = f.run("migrate_to", {{"migrate_target", "node2"}});
    CHECK(not_here.rc == wire::ocf::unknown_error);
    CHECK(not_here.reason == "domain og-mig is not defined here: nothing to migrate");

    REQUIRE(f.run("start").rc == wire::ocf::ok);
    // The test driver cannot migrate: the agent says so with OCF's "unimplemented".
    auto m = f.run("migrate_to", {{"migrate_target", "node2"}});
    CHECK(m.rc == wire::ocf::unimplemented);
    CHECK(m.reason.find("migrating domain og-mig to test://node2/default") == 0);
    // Running here is what migrate_from waits for.
    CHECK(f.run("migrate_from", {{"migrate_source", "node2"}}).rc == wire::ocf::ok);
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
    auto never = f.run("migrate_from", {{"migrate_source", "node2"}, {"timeout", "400"}});
    CHECK(never.rc == wire::ocf::unknown_error);
    CHECK(never.reason.find("domain og-mig did not arrive from node2: ") == 0);
}

TEST_CASE("reload and reload-agent validate and succeed")
{
    Fixture f("og-reload");
    CHECK(f.run("reload").rc == wire::ocf::ok);
    REQUIRE(f.run("start").rc == wire::ocf::ok);
    CHECK(f.run("reload-agent").rc == wire::ocf::ok);
    f.params["shutdown_mode"] = "bogus";
    CHECK(f.run("reload").rc == wire::ocf::not_configured);
    f.params.erase("shutdown_mode");
    REQUIRE(f.run("stop").rc == wire::ocf::ok);
}
