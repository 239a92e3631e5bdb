// The agent-class scenarios: systemd (through a fake systemd on a private bus), service
// resolution, and nagios plugins (in a private plugin directory). Each side of a run gets
// its own fixture (fixtures.hpp), so the two daemons never see each other's units, jobs,
// drop-ins or plugin runs; what each daemon asked systemd to do and how it ran each plugin
// are part of the transcript.
#include <chrono>

#include "conformance/agents.hpp"
#include "conformance/fixtures.hpp"
#include "conformance/scenarios.hpp"

namespace outpost::test::conformance {

namespace {

using namespace std::chrono_literals;

// Unit names the fake systemd knows (fake_systemd.cpp: ok, fail, stuck, masked); every other
// name is a unit systemd cannot find.
constexpr const char* kUnitOk = "outpostconf-ok";
constexpr const char* kUnitFail = "outpostconf-fail";
constexpr const char* kUnitStuck = "outpostconf-stuck";
constexpr const char* kUnitMasked = "outpostconf-masked";
constexpr const char* kUnitMissing = "outpostconf-missing";
// Also an LSB script (agents.hpp), for the "service" class: which one wins?
const std::string kUnitAndScript = std::string(kLsbPrefix) + "rc0";

// Start and stop are followed by status polls every timeout/10 (at most 2 s): 12 s puts
// the first poll at 1.2 s, after the fake's 500 ms job, so a start or stop takes 1.2-1.9 s
// ("{1s+}") on both daemons.
constexpr unsigned kUnitTimeout = 12000;
// Short enough to time out quickly, long enough that the polls (every 150 ms) are many.
constexpr unsigned kShortTimeout = 1500;
constexpr Millis kResultWait{6000};

SystemdFixture::Units fake_units()
{
    SystemdFixture::Units units{{kUnitOk, "ok"},
                                {kUnitFail, "fail"},
                                {kUnitStuck, "stuck"},
                                {kUnitMasked, "masked"},
                                {kUnitAndScript, "ok"}};
    for (auto& unit : units)
        unit.first += ".service";  // the agent type names the unit without it
    return units;
}

Result<std::unique_ptr<Fixture>> with_systemd(const std::filesystem::path& dir)
{
    return SystemdFixture::create(dir, SystemdFixture::Bus::with_systemd, fake_units());
}
Result<std::unique_ptr<Fixture>> without_bus(const std::filesystem::path& dir)
{
    return SystemdFixture::create(dir, SystemdFixture::Bus::none, fake_units());
}
Result<std::unique_ptr<Fixture>> bus_without_systemd(const std::filesystem::path& dir)
{
    return SystemdFixture::create(dir, SystemdFixture::Bus::without_systemd, fake_units());
}
Result<std::unique_ptr<Fixture>> nagios_plugins(const std::filesystem::path& dir)
{
    return NagiosFixture::create(dir, true);
}
Result<std::unique_ptr<Fixture>> nagios_no_plugins(const std::filesystem::path& dir)
{
    return NagiosFixture::create(dir, false);
}

// What a 2.1.5 controller sends with every action (docs/protocol.md 3.7).
Params controller_params(unsigned timeout_ms)
{
    return {{"CRM_meta_timeout", std::to_string(timeout_ms)}, {"crm_feature_set", "3.16.2"}};
}

// One-shot action; waits for its result.
void act(ScenarioContext& s, Client& c, const std::string& rsc, const std::string& action,
         unsigned timeout_ms = kUnitTimeout, Params params = {})
{
    if (params.empty()) params = controller_params(timeout_ms);
    s.exec_and_wait(c,
                    ExecSpec{.rsc = rsc,
                             .action = action,
                             .timeout_ms = timeout_ms,
                             .userdata = rsc + " " + action,
                             .params = std::move(params)},
                    kResultWait);
}

// A recurring monitor's first result, then its cancellation.
void monitor_once(ScenarioContext& s, Client& c, const std::string& rsc, unsigned interval_ms = 60000,
                  Params params = {})
{
    if (params.empty()) params = controller_params(kUnitTimeout);
    s.exec_and_wait(c,
                    ExecSpec{.rsc = rsc,
                             .action = "monitor",
                             .interval_ms = interval_ms,
                             .timeout_ms = kUnitTimeout,
                             .userdata = rsc + " recurring monitor",
                             .params = std::move(params)},
                    kResultWait);
    s.call(c, request::cancel(c, rsc, "monitor", interval_ms));
    s.driver().drain(200ms);
}

void register_as(ScenarioContext& s, Client& c, const std::string& id, const std::string& rsc_class,
                 const std::string& type)
{
    s.call(c, request::rsc_register(c, id, rsc_class, "", type, 3));
}

// ---------------------------------------------------------------------------- systemd

// docs/protocol.md 5.7 systemd: a unit that starts and stops (jobs, drop-in, reload, status
// polls), restart, actions systemd resources do not have, meta-data, a recurring
// monitor, and a unit whose start fails.
void scenario_systemd(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "unit", "systemd", kUnitOk);
    register_as(s, c, "failing", "systemd", kUnitFail);
    act(s, c, "unit", "monitor");  // probe
    act(s, c, "unit", "start");
    act(s, c, "unit", "monitor");
    act(s, c, "unit", "status");
    monitor_once(s, c, "unit", 1000);
    act(s, c, "unit", "restart");
    s.driver().pump(1000ms);  // the restart job ends (500 ms) before anything looks again
    act(s, c, "unit", "reload");
    act(s, c, "unit", "promote");
    act(s, c, "unit", "meta-data");
    act(s, c, "unit", "stop");
    act(s, c, "unit", "monitor");
    act(s, c, "failing", "monitor");
    act(s, c, "failing", "start");
    act(s, c, "failing", "monitor");
    act(s, c, "failing", "stop");
    s.driver().drain(300ms);
}

// Units that are not found, masked, or never finish starting.
void scenario_systemd_missing(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "missing", "systemd", kUnitMissing);
    register_as(s, c, "masked", "systemd", kUnitMasked);
    register_as(s, c, "stuck", "systemd", kUnitStuck);
    for (const char* id : {"missing", "masked"}) {
        act(s, c, id, "monitor");
        act(s, c, id, "start");
        act(s, c, id, "restart");
        act(s, c, id, "stop");
    }
    act(s, c, "missing", "meta-data");
    act(s, c, "stuck", "start", kShortTimeout);  // times out while "activating"
    act(s, c, "stuck", "monitor");               // pending
    act(s, c, "stuck", "stop");
    s.driver().drain(300ms);
}

// No system bus at all (nothing listens at DBUS_SYSTEM_BUS_ADDRESS); "service" then
// falls back to LSB.
void scenario_systemd_no_bus(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "unit", "systemd", kUnitOk);
    register_as(s, c, "svc", "service", kUnitOk);
    for (const char* action : {"monitor", "start", "stop", "restart", "reload", "meta-data"})
        act(s, c, "unit", action);
    act(s, c, "svc", "monitor");
    act(s, c, "svc", "start");
    s.driver().drain(300ms);
}

// A bus on which nobody owns org.freedesktop.systemd1 (yet): then systemd appears.
void scenario_systemd_no_manager(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "unit", "systemd", kUnitOk);
    register_as(s, c, "svc", "service", kUnitOk);
    for (const char* action : {"monitor", "start", "stop", "meta-data"})
        act(s, c, "unit", action);
    act(s, c, "svc", "monitor");
    if (auto started = s.fixture<SystemdFixture>().start_systemd(); !started)
        throw ScenarioAbort("cannot start the fake systemd: " + started.error().message);
    act(s, c, "unit", "monitor");
    act(s, c, "unit", "start");
    act(s, c, "svc", "monitor");
    act(s, c, "unit", "stop");
    s.driver().drain(300ms);
}

// docs/protocol.md 5.7 service: an init script wins, then a systemd unit (loaded or masked),
// else LSB (not installed).
void scenario_service(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "script-only", "service", std::string(kLsbPrefix) + "rc3");
    register_as(s, c, "unit-only", "service", kUnitOk);
    register_as(s, c, "masked-unit", "service", kUnitMasked);
    register_as(s, c, "neither", "service", kUnitMissing);
    register_as(s, c, "both", "service", kUnitAndScript);
    for (const char* id : {"script-only", "unit-only", "masked-unit", "neither", "both"})
        act(s, c, id, "monitor");
    act(s, c, "unit-only", "start");
    act(s, c, "unit-only", "stop");
    act(s, c, "neither", "start");
    act(s, c, "neither", "stop");
    act(s, c, "both", "start");
    s.driver().drain(300ms);
}

// ---------------------------------------------------------------------------- nagios

std::string plugin(const std::string& suffix)
{
    return "check_outpostconf-" + suffix;
}

// docs/protocol.md 5.7 nagios: probes, starts (with parameters as options), exit code mapping,
// stop, other actions, a missing plugin, output and exit reasons, the environment.
void scenario_nagios(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    for (const char* code : {"0", "1", "2", "3", "4", "7"})
        register_as(s, c, std::string("rc") + code, "nagios", plugin(std::string("rc") + code));
    register_as(s, c, "err", "nagios", plugin("err"));
    register_as(s, c, "env", "nagios", plugin("env"));
    register_as(s, c, "none", "nagios", plugin("nosuch"));
    for (const char* id : {"rc0", "rc1", "rc2", "err", "none"})
        act(s, c, id, "monitor");  // probes
    act(s, c, "rc0", "start", kUnitTimeout,
        {{"zeta", "z"},
         {"alpha", "y"},
         {"b", "2"},
         {"a", "1"},
         {"CRM_meta_timeout", "12000"},
         {"crm_feature_set", "3.16.2"},
         {"OCF_CHECK_LEVEL", "10"},
         {"empty", ""},
         {"1st", "digit-leading"},
         {"spaced", "two words"},
         {"CRM_other", "c"},
         {"crm_meta_lower", "l"},
         {"CRM_metaless", "m"}});
    // Options go in 2.1.5's hash-table order: a second set whose order tells apart the
    // ways that order could arise (agents.cpp, nagios_options()).
    act(s, c, "rc0", "start", kUnitTimeout,
        {{"user", "u"},
         {"CRM_meta_on_node_uuid", "1"},
         {"CRM_meta_interval", "0"},
         {"beta", "b"},
         {"crm_feature_set", "3.16.2"},
         {"alpha", "a"},
         {"warning", "5"},
         {"delta", "d"},
         {"timeout", "10"},
         {"critical", "9"},
         {"CRM_meta_on_node", "guest1"},
         {"host", "h"},
         {"z", "26"},
         {"gamma", "g"},
         {"w", "23"}});
    act(s, c, "rc2", "start", kShortTimeout, {{"warning", "5"}});  // never succeeds
    act(s, c, "none", "start", kShortTimeout);
    for (const char* id : {"rc0", "rc1", "rc2", "rc3", "rc4", "rc7", "err", "none"})
        monitor_once(s, c, id, 60000, {{"critical", "10"}, {"CRM_meta_interval", "60000"}});
    monitor_once(s, c, "env", 60000, {{"p", "v"}});
    act(s, c, "rc0", "reload", kUnitTimeout, {{"reloaded", "yes"}});
    act(s, c, "rc1", "meta-data");
    act(s, c, "rc0", "stop");
    act(s, c, "none", "stop");
    s.driver().drain(300ms);
}

// /usr/lib/nagios/plugins does not exist.
void scenario_nagios_no_dir(ScenarioContext& s)
{
    Client& c = s.registered("c1");
    register_as(s, c, "rc0", "nagios", plugin("rc0"));
    act(s, c, "rc0", "monitor");
    act(s, c, "rc0", "start", kShortTimeout);
    monitor_once(s, c, "rc0");
    act(s, c, "rc0", "stop");
    s.driver().drain(300ms);
}

const std::vector<Scenario> kClassScenarios{
    {"systemd", "systemd units: start/stop jobs and polls, restart, other actions, a failing unit",
     scenario_systemd, with_systemd},
    {"systemd_missing", "systemd units not found, masked, never started", scenario_systemd_missing,
     with_systemd},
    {"systemd_no_bus", "systemd without a system bus", scenario_systemd_no_bus, without_bus},
    {"systemd_no_manager", "systemd absent from the bus, then present", scenario_systemd_no_manager,
     bus_without_systemd},
    {"service", "service class resolution: init script, unit, neither, both", scenario_service, with_systemd},
    {"nagios", "nagios plugins: probe, start, exit codes, parameters, missing plugin", scenario_nagios,
     nagios_plugins},
    {"nagios_no_dir", "nagios without a plugin directory", scenario_nagios_no_dir, nagios_no_plugins},
};

}  // namespace

const std::vector<Scenario>& class_scenarios()
{
    return kClassScenarios;
}

}  // namespace outpost::test::conformance
