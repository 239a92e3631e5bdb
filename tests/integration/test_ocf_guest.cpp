// ocf:outpost:guest run directly, as pacemaker-execd runs it (OCF_RESKEY_* environment,
// the action as argument), on a real LXC application container under a real libvirtd
// (LibvirtHarness): every action, its exit code and exit reason, and the failure paths
// (missing domain, init SIGKILLed, domain stopped from inside, missing and broken config,
// a hypervisor that cannot run the domain's type); then resource-agents' own ocf-tester on
// the same domain. Timings are printed as WARN lines.
#include <sys/wait.h>

#include <csignal>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kResource = "og-lxc";
constexpr unsigned kGuestHost = 40;  // 192.168.170.40

struct Run {
    int rc = -1;
    std::string output;
    double seconds = 0;
};

std::string agent()
{
    const char* path = std::getenv("OUTPOST_OCF_GUEST");
    if (path == nullptr || *path == '\0')
        FAIL("OUTPOST_OCF_GUEST is not set (ocf:outpost:guest is not built)");
    return path;
}

// The agent with `params` as OCF_RESKEY_*; `interval_ms` > 0 makes a monitor recurring.
Run run_agent(const std::string& action, const std::map<std::string, std::string>& params,
              unsigned interval_ms = 0, unsigned timeout_ms = 20000)
{
    EnvList env{{"OCF_ROOT", "/usr/lib/ocf"},
                {"OCF_RESOURCE_INSTANCE", kResource},
                {"OCF_RESKEY_crm_feature_set", "3.16.1"},
                {"OCF_RESKEY_CRM_meta_timeout", std::to_string(timeout_ms)},
                {"OCF_RESKEY_CRM_meta_interval", std::to_string(interval_ms)}};
    for (const auto& [name, value] : params)
        env.emplace_back("OCF_RESKEY_" + name, value);
    auto begin = std::chrono::steady_clock::now();
    auto r = run_command({agent(), action}, nullptr, 60s, env);
    require_ok(r);
    Run out;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    out.rc = WIFEXITED(r->wait_status) ? WEXITSTATUS(r->wait_status) : -1;
    out.output = r->output;
    return out;
}

Run monitor(const std::map<std::string, std::string>& params)
{
    return run_agent("monitor", params, 10000);
}

Run probe(const std::map<std::string, std::string>& params)
{
    return run_agent("monitor", params, 0);
}

// Waits until libvirt says the domain is no longer running (after a kill inside).
void wait_not_running(const LibvirtHarness& lv, const std::string& name)
{
    auto until = std::chrono::steady_clock::now() + 15s;
    while (lv.domain_running(kLxcUri, name) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(50ms);
    REQUIRE_FALSE(lv.domain_running(kLxcUri, name));
}

}  // namespace

TEST_CASE("ocf:outpost:guest on a real LXC container: every action and failure path", "[lxc]")
{
    OUTPOST_REQUIRE_ROOT_AND_NETNS();
    const std::string path = agent();
    auto started = LibvirtHarness::start();
    require_ok(started);
    auto& lv = **started;
    WARN("libvirt set-up: " << lv.describe_setup());
    TempDir dir("outpost-ocf-guest");
    const std::string domain = std::string(kDomainPrefix) + "og1";
    lv.track_domain(kLxcUri, domain);

    LxcGuestSpec spec;
    spec.name = domain;
    spec.command = {"/bin/sleep", "infinity"};
    spec.address = bridge_address(kGuestHost);
    spec.state_dir = dir / "state";
    spec.log_file = dir / "init.out";
    fs::create_directories(spec.state_dir);
    const fs::path config = dir / "og1.xml";
    require_ok(write_file(config, lxc_domain_xml(spec, lv.bridge())));
    std::map<std::string, std::string> params{{"config", config.string()},
                                              {"hypervisor", kLxcUri},
                                              {"autoset_utilization_cpu", "false"},
                                              {"autoset_utilization_hv_memory", "false"},
                                              {"autoset_utilization_host_memory", "false"}};

    SECTION("meta-data, validate-all, usage")
    {
        auto meta = run_agent("meta-data", {});
        CHECK(meta.rc == 0);
        CHECK(contains(meta.output, "<resource-agent name=\"guest\""));
        for (const char* p : {"config", "hypervisor", "force_stop", "migration_transport", "shutdown_mode",
                              "autoset_utilization_cpu", "migrateuri"})
            CHECK(contains(meta.output, std::string("<parameter name=\"") + p + "\""));
        CHECK(run_agent("validate-all", params).rc == 0);
        auto unknown = run_agent("frobnicate", params);
        CHECK(unknown.rc == 3);
        CHECK(contains(unknown.output, "ocf-exit-reason:"));
    }

    SECTION("probe, start, monitor, reload, stop; a second start and stop are no-ops")
    {
        auto p = probe(params);
        CHECK(p.rc == 7);
        auto start = run_agent("start", params);
        INFO(start.output);
        REQUIRE(start.rc == 0);
        CHECK(lv.domain_running(kLxcUri, domain));
        auto init = lv.lxc_init_pid(domain);
        CHECK(init.has_value());
        auto m = monitor(params);
        INFO(m.output);
        CHECK(m.rc == 0);
        CHECK(m.output.empty());  // a healthy monitor says nothing
        CHECK(probe(params).rc == 0);
        CHECK(run_agent("reload", params).rc == 0);
        CHECK(run_agent("start", params).rc == 0);  // already running: fine
        auto stop = run_agent("stop", params);
        INFO(stop.output);
        CHECK(stop.rc == 0);
        CHECK(lv.domain_state(kLxcUri, domain).empty());  // our definition is gone
        CHECK(monitor(params).rc == 7);
        CHECK(run_agent("stop", params).rc == 0);
        WARN("timing: start " << start.seconds << " s, monitor " << m.seconds * 1000 << " ms, stop "
                              << stop.seconds << " s (graceful: SIGTERM to the container's init)");
        CHECK(stop.seconds < 10);  // graceful, not the timeout then destroy
    }

    SECTION("the container's init killed (SIGKILL): monitor fails, stop cleans up")
    {
        REQUIRE(run_agent("start", params).rc == 0);
        auto init = lv.lxc_init_pid(domain);
        REQUIRE(init.has_value());
        REQUIRE(::kill(*init, SIGKILL) == 0);
        wait_not_running(lv, domain);
        auto m = monitor(params);
        INFO(m.output);
        CHECK(m.rc == 7);
        CHECK(contains(m.output, "ocf-exit-reason:domain " + domain + " is shut off ("));
        WARN("monitor after SIGKILL of the init: rc " << m.rc << ", " << m.output);
        CHECK(run_agent("stop", params).rc == 0);
        CHECK(lv.domain_state(kLxcUri, domain).empty());
        // Started again after the crash, as the cluster's recovery would.
        REQUIRE(run_agent("start", params).rc == 0);
        CHECK(monitor(params).rc == 0);
        CHECK(run_agent("stop", params).rc == 0);
    }

    SECTION("the domain stopped from inside (its init exits): not running")
    {
        REQUIRE(run_agent("start", params).rc == 0);
        auto init = lv.lxc_init_pid(domain);
        REQUIRE(init.has_value());
        REQUIRE(::kill(*init, SIGTERM) == 0);  // the init's trap ends the container cleanly
        wait_not_running(lv, domain);
        auto m = monitor(params);
        INFO(m.output);
        CHECK(m.rc == 7);
        CHECK(run_agent("stop", params).rc == 0);
        CHECK(lv.domain_state(kLxcUri, domain).empty());
    }

    SECTION("force_stop destroys at once")
    {
        REQUIRE(run_agent("start", params).rc == 0);
        auto forced = params;
        forced["force_stop"] = "true";
        auto stop = run_agent("stop", forced);
        CHECK(stop.rc == 0);
        CHECK(lv.domain_state(kLxcUri, domain).empty());
        WARN("timing: force_stop " << stop.seconds << " s");
    }

    SECTION("configuration problems: missing file, broken file, wrong hypervisor, missing domain")
    {
        auto missing = params;
        missing["config"] = (dir / "missing.xml").string();
        auto start = run_agent("start", missing);
        CHECK(start.rc == 5);
        CHECK(contains(start.output,
                       "ocf-exit-reason:configuration file " + missing["config"] + " does not exist"));
        CHECK(run_agent("validate-all", missing).rc == 5);
        CHECK(probe(missing).rc == 7);
        CHECK(run_agent("stop", missing).rc == 0);

        auto broken = params;
        broken["config"] = (dir / "broken.xml").string();
        require_ok(write_file(broken["config"], "<domain type='lxc'><name>x</name>"));
        auto b = run_agent("start", broken);
        CHECK(b.rc == 6);
        CHECK(contains(b.output, "ocf-exit-reason:"));
        CHECK(run_agent("validate-all", broken).rc == 6);

        auto wrong = params;
        wrong["hypervisor"] = kQemuUri;
        auto w = run_agent("validate-all", wrong);
        CHECK(w.rc == 6);
        CHECK(contains(w.output, "cannot run"));

        auto no_config = params;
        no_config.erase("config");
        CHECK(run_agent("validate-all", no_config).rc == 6);

        // A config whose domain libvirt refuses (no such init program).
        auto bad_init = spec;
        bad_init.name = std::string(kDomainPrefix) + "og-bad";
        bad_init.command = {"/nonexistent/outpost-init"};
        fs::path bad = dir / "bad-init.xml";
        std::string xml = lxc_domain_xml(bad_init, lv.bridge());
        // Without the sh wrapper: libvirt execs a missing init and the start must fail.
        auto at = xml.find("<init>");
        auto end = xml.find("</os>");
        REQUIRE(at != std::string::npos);
        xml = xml.substr(0, at) + "<init>/nonexistent/outpost-init</init>" + xml.substr(end);
        require_ok(write_file(bad, xml));
        lv.track_domain(kLxcUri, bad_init.name);
        auto bad_params = params;
        bad_params["config"] = bad.string();
        auto s = run_agent("start", bad_params);
        INFO(s.output);
        CHECK(s.rc == 1);
        CHECK(contains(s.output, "ocf-exit-reason:"));
        CHECK(lv.domain_state(kLxcUri, bad_init.name).empty());  // the failed start left nothing
        CHECK(run_agent("stop", bad_params).rc == 0);
    }

    SECTION("resource-agents' ocf-tester")
    {
        auto tester = find_program("ocf-tester");
        if (!tester) {
            WARN("ocf-tester not installed: skipped");
            return;
        }
        std::vector<std::string> argv{*tester, "-n", kResource};
        for (const auto& [name, value] : params)
            argv.insert(argv.end(), {"-o", std::string(name).append("=").append(value)});
        argv.push_back(path);
        auto r = run_command(argv, nullptr, 300s);
        require_ok(r);
        INFO(r->output);
        CHECK(r->succeeded());
        CHECK(contains(r->output, "passed all tests"));
        CHECK(lv.domain_state(kLxcUri, domain).empty());
    }
    require_ok(lv.stop());
}
