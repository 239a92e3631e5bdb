// AgentOptions: everything outpost-agent reads from its command line, its environment and
// its unit's environment files. As a drop-in for pacemaker-remoted it honours the same PCMK_*
// variables and short options (-p, -l, -V, -?, -$); command-line options win over the
// environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/endpoint.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

namespace outpost::agent {

inline constexpr std::uint16_t kDefaultPort = 3121;
// OUTPOST_metrics_address without a port. Not ha_cluster_exporter's 9664, which cluster
// nodes often run beside us (docs/admin-guide.md, "Metrics").
inline constexpr std::uint16_t kDefaultMetricsPort = 9673;
// The EnvironmentFile= lines of packaging/systemd/outpost-agent.service.in, in its order:
// Pacemaker's own unit reads pacemaker then sbd (Debian: /etc/default, RPM: /etc/sysconfig);
// our own file comes last so that what is set there wins. They are parsed as systemd parses
// them and fill only variables the process environment lacks: under the unit systemd has
// already put their contents there (plus any Environment= override, which must win), and a
// daemon started any other way (by hand, another supervisor, a container) gets the same
// defaults the unit would have given it.
inline constexpr const char* kDefaultEnvFiles[] = {
    "/etc/default/pacemaker", "/etc/sysconfig/pacemaker",   "/etc/default/sbd",
    "/etc/sysconfig/sbd",     "/etc/default/outpost-agent", "/etc/sysconfig/outpost-agent",
};
// The names PCMK_debug may use for this daemon (see log::debug_requested).
inline constexpr std::string_view kDebugNames[] = {"pacemaker-remoted", "outpost-agent"};
// Exit statuses (documented in --help). Pacemaker's CRM_EX_USAGE: the command line, the
// environment or an environment file says something we cannot use; respawning does not help.
inline constexpr int kExitUsage = 64;
// PCMK_remote_pid1 values (lifecycle/pid1.hpp).
inline constexpr std::string_view kPid1Modes[] = {"full", "vars"};

enum class StartState { unset, default_state, online, standby };

struct AgentOptions {
    std::uint16_t port = kDefaultPort;
    std::string address;                          // empty = wildcard (IPv6 accepting IPv4)
    std::string authkey_path;                     // empty = standard lookup order
    std::string log_file;                         // empty = stderr
    int verbosity = 0;                            // each -V raises the log level by one
    bool foreground = true;                       // we never daemonize by ourselves (systemd Type=simple)
    std::string node_start_state;                 // PCMK_node_start_state, sent in the register reply
    std::int64_t sbd_timeout_ms = 0;              // SBD_WATCHDOG_TIMEOUT, 0 = none
    std::size_t ipc_buffer_size = 0;              // PCMK_ipc_buffer in bytes; 0 = the proxy's default
    bool isolation = true;                        // OUTPOST_isolation: per-resource cgroups
    bool cib_limits = true;                       // OUTPOST_cib_limits: limits from the CIB's meta attributes
    std::string cgroup_parent = "outpost-agent";  // OUTPOST_cgroup_parent, beneath the agent's cgroup
    std::optional<metrics::Address> metrics_address;  // OUTPOST_metrics_address; none = no endpoint
    std::vector<std::string> env_files_read;          // environment files found, in the order read
    std::vector<std::string> env_vars_set;            // variables those files provided
    // Non-fatal findings (a value 2.1.5 also tolerates, an ignored file line), one line
    // each naming the variable and the value; main logs them once logging is set up.
    std::vector<std::string> warnings;

    bool show_help = false;
    bool show_version = false;
};

// Parses argv and the environment, after loading `env_files` (kDefaultEnvFiles in the
// daemon; tests pass their own). `argv[0]` is the program name. Values 2.1.5 tolerates are
// tolerated (docs/conformance.md, item 20): an invalid PCMK_remote_port or -p is a warning
// and port 3121; an unusable PCMK_ipc_buffer, an unknown PCMK_remote_pid1 or
// PCMK_node_start_state value is a warning and ignored; those come back in
// AgentOptions::warnings (logging is not set up yet). Anything else that is wrong (an
// unknown option, a missing option value, an unreadable SBD_WATCHDOG_TIMEOUT, an environment
// file that cannot be read or has invalid UTF-8) is an Error naming the variable, option or
// file and quoting the value; main exits kExitUsage for it.
Result<AgentOptions> parse_options(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env_files);
Result<AgentOptions> parse_options(const std::vector<std::string>& argv);

std::string usage_text(const std::string& program);
std::string version_text();

}  // namespace outpost::agent
