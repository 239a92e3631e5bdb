// Fixtures for the agent-class scenarios (scenarios_classes.cpp), one per side of a run so
// the two daemons never share state:
//
// - SystemdFixture: a private dbus-daemon (a unix socket in the run's directory) standing
//   in for the system bus, optionally with outpost-fake-systemd owning
//   org.freedesktop.systemd1 on it; the daemon gets DBUS_SYSTEM_BUS_ADDRESS and a private
//   /run/systemd (bind mount), where both 2.1.5 and outpost-agent write their drop-ins.
//   observe() adds the fake's call log to the transcript, so what each daemon asked systemd
//   to do is compared like everything else.
// - NagiosFixture: a private /usr/lib/nagios (bind mount) with or without plugins/, holding
//   test plugins check_outpostconf-* that log their arguments; observe() adds that log.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conformance/scenarios.hpp"
#include "harness/process.hpp"

namespace outpost::test::conformance {

// Collapses immediate repeats of the same one to three lines into one copy marked
// " (repeated)": the number of status polls or plugin re-runs depends on timing, not on
// behaviour.
std::vector<std::string> collapse_repeats(const std::vector<std::string>& lines);

class SystemdFixture : public Fixture {
public:
    enum class Bus { none, without_systemd, with_systemd };
    // Units known to the fake: unit name ("x.service") -> ok | fail | stuck | masked (others are
    // not found).
    using Units = std::vector<std::pair<std::string, std::string>>;

    static Result<std::unique_ptr<Fixture>> create(const std::filesystem::path& dir, Bus bus, Units units);

    void adjust(GuestDaemonOptions& options) const override;
    void observe(ScenarioContext& s) override;

    // Starts the fake on a bus that had none (Bus::without_systemd).
    Status start_systemd();
    // The fake's log so far, repeats collapsed.
    [[nodiscard]] std::vector<std::string> calls() const;

private:
    SystemdFixture(std::filesystem::path dir, Units units) : dir_(std::move(dir)), units_(std::move(units)) {}
    Status start_bus();

    std::filesystem::path dir_;  // <run dir>/systemd
    Units units_;
    std::string address_;
    std::optional<Process> bus_;
    std::optional<Process> fake_;
};

// The test plugins (in plugins/ when present):
//   check_outpostconf-rcN   prints "check_outpostconf-rcN stdout" and exits N
//                           (N = 0, 1, 2, 3, 4, 7)
//   check_outpostconf-err   prints to stdout and to stderr (an ocf-exit-reason line too),
//                           exits 2
//   check_outpostconf-env   writes cwd, uid and its OCF_* / CRM_* environment to env.txt
// Every run appends "<name> [arg] [arg]..." to the run log.
class NagiosFixture : public Fixture {
public:
    static Result<std::unique_ptr<Fixture>> create(const std::filesystem::path& dir, bool plugins_present);

    void adjust(GuestDaemonOptions& options) const override;
    void observe(ScenarioContext& s) override;

private:
    explicit NagiosFixture(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;  // <run dir>/nagios, seen by the daemon as /usr/lib/nagios
};

inline constexpr const char* kNagiosMountPoint = "/usr/lib/nagios";
inline constexpr const char* kSystemdRunMountPoint = "/run/systemd";

}  // namespace outpost::test::conformance
