// AgentOptions: everything outpost-agent reads from its command line and environment.
//
// The daemon is a drop-in for pacemaker-remoted, so it honours the same PCMK_* variables
// and the real daemon's short options (-p, -l, -V, -?, -$). Command-line options win over
// the environment; the environment wins over /etc/default/pacemaker (or
// /etc/sysconfig/pacemaker), which is read only for variables not already set, the way a
// shell or systemd's EnvironmentFile= would have provided them. A bad value is an Error that
// names the variable (or option) and quotes the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/log.hpp"
#include "util/result.hpp"

namespace outpost::agent {

inline constexpr std::uint16_t kDefaultPort = 3121;
// Files Pacemaker's own unit reads (Debian path first, then the RPM one).
inline constexpr const char* kDefaultEnvFiles[] = {"/etc/default/pacemaker", "/etc/sysconfig/pacemaker"};

enum class StartState { unset, default_state, online, standby };

struct AgentOptions {
    std::uint16_t port = kDefaultPort;
    std::string address;              // empty = wildcard (IPv6 accepting IPv4)
    std::string authkey_path;         // empty = standard lookup order
    std::string log_file;             // empty = stderr
    int verbosity = 0;                // each -V raises the log level by one
    bool foreground = true;           // we never daemonize by ourselves (systemd Type=simple)
    std::string node_start_state;     // PCMK_node_start_state, sent in the register reply
    std::int64_t sbd_timeout_ms = 0;  // SBD_WATCHDOG_TIMEOUT, 0 = none
    std::string env_file_loaded;      // which defaults file was read, for the start-up log

    bool show_help = false;
    bool show_version = false;
};

// Parses argv and the environment. `argv[0]` is the program name.
Result<AgentOptions> parse_options(const std::vector<std::string>& argv);

std::string usage_text(const std::string& program);
std::string version_text();

}  // namespace outpost::agent
