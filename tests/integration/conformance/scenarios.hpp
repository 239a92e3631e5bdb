// The conformance scenarios: each one drives one daemon through a piece of docs/protocol.md
// (sections 3 and 5) with Driver clients and records what it observed beyond the wire
// (agent output files, dropped connections) as observation elements. run_scenario() gives
// it a fresh daemon in its own namespace and returns the normalized transcript; the test
// runs that against pacemaker-remoted and outpost-agent and compares the two.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "conformance/driver.hpp"
#include "conformance/transcript.hpp"
#include "harness/guest_daemon.hpp"
#include "util/result.hpp"
#include "wire/xml.hpp"

namespace outpost::test::conformance {

// Parameters in the order they are sent; names starting with a digit go as <param>.
using Params = std::vector<std::pair<std::string, std::string>>;

struct ExecSpec {
    std::string rsc{};
    std::string action{};
    unsigned interval_ms = 0;
    unsigned timeout_ms = 20000;
    unsigned start_delay_ms = 0;
    std::string userdata{};
    Params params{};
    unsigned callopt = 0;
};

// A scenario step that could not go on (a reply that never came): ends the scenario and
// is recorded in the transcript, so the comparison shows where it stopped.
struct ScenarioAbort : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ScenarioContext;

// What a scenario needs around its daemon beyond the shared agents (a private system bus
// with a fake systemd, a nagios plugin directory): made for one side of one run before the
// daemon starts, in the run's private directory, and gone after it (fixtures.hpp).
class Fixture {
public:
    Fixture() = default;
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;
    virtual ~Fixture() = default;
    // How the daemon is started (environment, private mounts).
    virtual void adjust(GuestDaemonOptions& options) const = 0;
    // What the fixture saw (calls, files), added to the transcript once the scenario ran.
    virtual void observe(ScenarioContext& s) = 0;
};
using FixtureFactory = Result<std::unique_ptr<Fixture>> (*)(const std::filesystem::path& dir);

class ScenarioContext {
public:
    ScenarioContext(Driver& driver, std::filesystem::path dir) : driver_(driver), dir_(std::move(dir)) {}

    Driver& driver() { return driver_; }
    // A directory private to this run (mode 0755); shared() is writable by anyone (alerts
    // run as hacluster).
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] std::filesystem::path shared() const { return dir_ / "shared"; }
    [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }

    Client& connect(const std::string& label);
    // connect() plus register (protocol version 1.1); aborts unless rc is 0.
    Client& registered(const std::string& label);
    wire::Element call(Client& client, wire::Element request);
    // Exec, wait for its reply and for its completion notify on `client`.
    int exec_and_wait(Client& client, const ExecSpec& spec, Millis timeout = Millis{5000});
    // Waits until `client` has at least `n` messages matching; records a timeout otherwise.
    bool wait_count(Client& client, const std::function<bool(const Received&)>& match, std::size_t n,
                    Millis timeout, const std::string& what);

    void observe(wire::Element element) { observations_.push_back(std::move(element)); }
    void observe(const std::string& what, const std::string& value)
    {
        observe(wire::Element{"observe", {{"what", what}, {"value", value}}, {}});
    }
    [[nodiscard]] const std::vector<wire::Element>& observations() const { return observations_; }

    // The scenario's fixture (nullptr if it has none); F is the fixture's own type.
    template <typename F>
    F& fixture()
    {
        auto* f = dynamic_cast<F*>(fixture_);
        if (f == nullptr) throw ScenarioAbort("scenario runs without its fixture");
        return *f;
    }
    void set_fixture(Fixture* fixture) { fixture_ = fixture; }

private:
    Driver& driver_;
    std::filesystem::path dir_;
    Fixture* fixture_ = nullptr;
    std::vector<wire::Element> observations_;
};

struct Scenario {
    const char* name;
    const char* summary;
    void (*run)(ScenarioContext&);
    FixtureFactory fixture = nullptr;
};

const std::vector<Scenario>& scenarios();
// The agent-class scenarios (systemd, service, nagios; scenarios_classes.cpp), part of
// scenarios().
const std::vector<Scenario>& class_scenarios();
const Scenario* find_scenario(const std::string& name);

struct SideRun {
    Transcript transcript;
    std::string log_tail;  // the daemon's log, for failure reports
    double seconds = 0;
};
// Starts `binary` in a fresh GuestDaemon, runs the scenario, normalizes the transcript.
Result<SideRun> run_scenario(const Scenario& scenario, const std::string& binary);

// Request builders mirroring what liblrmd 2.1.5 writes (docs/transcripts/).
namespace request {
wire::Element hello(const std::string& client_name, const std::optional<std::string>& version = "1.1",
                    bool ipc_provider = false);
wire::Element command(const Client& client, const std::string& op, unsigned callopt = 0,
                      unsigned timeout = 0);
// command() with lrmd_calldata/lrmd_rsc carrying `fields` (lrmd_origin first).
wire::Element rsc_command(const Client& client, const std::string& op, const std::string& origin,
                          const Params& fields, unsigned callopt = 0);
wire::Element rsc_register(const Client& client, const std::string& id, const std::string& rsc_class,
                           const std::string& provider, const std::string& type, unsigned callopt = 0);
wire::Element rsc_unregister(const Client& client, const std::string& id);
wire::Element rsc_info(const Client& client, const std::string& id);
wire::Element exec(const Client& client, const ExecSpec& spec);
wire::Element cancel(const Client& client, const std::string& id, const std::string& action,
                     unsigned interval_ms);
wire::Element get_recurring(const Client& client, const std::optional<std::string>& id);
wire::Element poke(const Client& client);
wire::Element check(const Client& client, const std::optional<std::string>& watchdog);
wire::Element alert(const Client& client, const std::string& id, const std::string& path, unsigned timeout_ms,
                    const Params& env);
void add_params(wire::Element& parent, const Params& params);
}  // namespace request

}  // namespace outpost::test::conformance
