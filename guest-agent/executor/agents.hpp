// Agent classes: how one resource action becomes a process (or a systemd D-Bus call) and how
// the agent's raw outcome becomes an OCF exit status, an execution status and an exit reason,
// as Pacemaker 2.1.5's services layer does (docs/protocol.md 5.5 - 5.10). Pure (file-system
// lookups aside): the executor owns the sequencing and the timing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "executor/spawner.hpp"
#include "executor/types.hpp"
#include "wire/params.hpp"

namespace outpost::agent::executor::agents {

inline constexpr const char* kExitReasonPrefix = "ocf-exit-reason:";
inline constexpr std::size_t kMaxExitReason = 128;  // characters kept of an OCF exit reason

// Where agents live. Defaults are Debian's Pacemaker 2.1.5 paths.
struct Paths {
    std::string ocf_root = "/usr/lib/ocf";
    std::vector<std::string> ocf_ra_path = {"/usr/lib/ocf/resource.d"};
    std::string lsb_dir = "/etc/init.d";
    std::string nagios_dir = "/usr/lib/nagios/plugins";
    std::string secrets_dir = "/var/lib/pacemaker/lrm/secrets";
    std::string working_dir = "/var/lib/pacemaker/cores";
    std::string systemd_run_dir = "/run/systemd/system";  // where the 50-pacemaker.conf drop-ins go
    std::size_t max_output = kMaxCapturedOutput;
};

// The class an action actually runs under ("service" is resolved per action).
enum class Standard { ocf, lsb, systemd, nagios, stonith, unknown };

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
[[nodiscard]] bool is_service_class(std::string_view rsc_class);
[[nodiscard]] Standard parse_standard(std::string_view rsc_class);  // "service" -> unknown
[[nodiscard]] const char* standard_name(Standard standard);

// The action name given to the agent: monitor -> status for lsb and systemd.
[[nodiscard]] std::string agent_action(Standard standard, std::string_view action);

// A raw result before OCF mapping: `raw_rc` is what the agent (or the services layer on
// its behalf) returned, `prepared` marks failures found before anything was attempted,
// which 2.1.5 reports without going through its completion path (see executor.cpp,
// rcchange_time). `follow_up` marks an action that was only set going (a systemd job
// queued): its outcome comes from follow-up status runs (executor.cpp).
struct RawResult {
    int raw_rc = ocf::ok;
    ExecStatus status = ExecStatus::done;
    std::string reason;
    std::string out;
    std::string err;
    bool prepared = false;
    bool follow_up = false;
};

// Follow-ups: a systemd start or stop returns once the job is queued, a nagios start whose
// plugin fails is simply run again; 2.1.5 then re-checks (a status run, or the start again)
// until the action settles or its timeout is used up (docs/conformance.md, items 22, 24).
// The next check comes after min(2 s, timeout/10, half the time left); below 10 ms it gives
// up with rc 1, status timeout and this reason.
inline constexpr std::uint32_t kMaxFollowUpDelayMs = 2000;
inline constexpr std::uint32_t kMinFollowUpDelayMs = 10;
inline constexpr const char* kFollowUpTimeoutReason =
    "Investigate reason for timeout, and adjust configured operation timeout if necessary";
// The delay before the next check of an action that started `elapsed_ms` ago; 0: give up
// (also when there is no timeout: 2.1.5 then never re-checks).
[[nodiscard]] std::uint32_t follow_up_delay_ms(std::uint32_t timeout_ms, std::uint32_t elapsed_ms);

// OCF exit status for a raw code (docs/protocol.md 5.10). Nagios: 0 -> 0, 1 -> 190 (degraded),
// anything else -> 1; a probe (is_probe()) that succeeds is "not running" (7).
[[nodiscard]] int uniform_rc(Standard standard, std::string_view action, int raw_rc, bool probe = false);
// A monitor with interval 0.
[[nodiscard]] bool is_probe(std::string_view action, std::uint32_t interval_ms);
// A nagios plugin's options for `params` (after secrets): "--name", "value" pairs in the
// order 2.1.5 passes them (its hash-table order), without CRM_meta_* and crm_feature_set.
[[nodiscard]] std::vector<std::string> nagios_options(
    const std::vector<std::pair<std::string, std::string>>& params);
// Raw codes the services layer uses for its own failures (LSB status has its own set).
[[nodiscard]] int generic_error(Standard standard, std::string_view action);
[[nodiscard]] int not_installed_error(Standard standard, std::string_view action);
[[nodiscard]] int authorization_error(Standard standard, std::string_view action);

// Result for an errno met while preparing or starting the agent; `name` is the path (or
// the agent name when no path was found) shown in the reason.
[[nodiscard]] RawResult exec_error_result(Standard standard, std::string_view action, std::string_view name,
                                          int error);

// Interprets a child's end. `what` is "Resource agent" or "Alert agent"; `path` names the
// executable in the reason of a failed start.
[[nodiscard]] RawResult result_from_child(Standard standard, std::string_view action, const char* what,
                                          std::string_view path, std::uint32_t timeout_ms,
                                          ChildOutcome outcome);

// Text after the last "ocf-exit-reason:" up to the end of its line, at most 128 chars.
[[nodiscard]] std::string parse_exit_reason(std::string_view stderr_text);

// A duration as pacemaker-remoted 2.1.5 writes it in "did not complete within ..."
// (docs/conformance.md, item 17): a unit is used only when the rest is strictly larger than
// one of it, so 1000 is "1000ms", 2000 "2s", 61000 "1m1000ms", 1500 "1.500s", 0 "0s"; hours
// and days by the same rule (3600000 is "60m").
[[nodiscard]] std::string readable_interval(std::uint32_t ms);

// systemd unit name for an agent type: ".service" appended unless it already ends in
// .service, .socket, .mount, .timer or .path.
[[nodiscard]] std::string systemd_unit_name(std::string_view type);

// First existing "<dir>/<provider>/<type>" over the OCF RA path; empty if none.
[[nodiscard]] std::string find_ocf_agent(const std::vector<std::string>& ra_path, std::string_view provider,
                                         std::string_view type);

// The daemon's environment with `name` set (replacing an inherited value).
class Environment {
public:
    static Environment from_process();
    void set(std::string_view name, std::string_view value);
    [[nodiscard]] std::vector<std::string> take() && { return std::move(vars_); }
    [[nodiscard]] const std::vector<std::string>& vars() const { return vars_; }

private:
    std::vector<std::string> vars_;
};

// A valid environment variable name for a parameter (no '=', no NUL, not empty).
[[nodiscard]] bool usable_env_name(std::string_view name);

// What to do for one action.
struct Plan {
    enum class Kind { spawn, systemd, result } kind = Kind::result;
    Standard standard = Standard::unknown;
    std::string agent_action;  // the action as the agent sees it
    SpawnRequest spawn;        // Kind::spawn
    std::string unit;          // Kind::systemd
    RawResult result;          // Kind::result: known without running anything
};

struct ActionInput {
    const ResourceDefinition* rsc = nullptr;
    Standard standard = Standard::unknown;  // already resolved for "service"
    std::string_view action;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = 0;
    const wire::ParamMap* params = nullptr;
};

[[nodiscard]] Plan plan_action(const Paths& paths, const ActionInput& input);

}  // namespace outpost::agent::executor::agents
