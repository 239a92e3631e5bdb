// outpost-controld's settings: command-line flags first, then the environment
// (PCMK_logfile, PCMK_debug, PCMK_ipc_buffer, PCMK_schema_directory and PCMK_node_name as
// Pacemaker reads them; OUTPOST_CIB_FILE for what Pacemaker has no variable for), then
// defaults. Every value is checked here; an Error names the flag or variable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/endpoint.hpp"
#include "util/result.hpp"

namespace outpost::controld {

inline constexpr int kExitUsage = 64;   // CRM_EX_USAGE: the command line or a setting is wrong
inline constexpr int kExitConfig = 78;  // CRM_EX_CONFIG: the CIB file cannot be used
inline constexpr int kExitFatal = 100;  // CRM_EX_FATAL: do not respawn (IPC names taken)
// OUTPOST_metrics_address without a port: one above outpost-agent's 9673, so both can run
// on one machine (and neither is ha_cluster_exporter's 9664).
inline constexpr std::uint16_t kDefaultMetricsPort = 9674;

struct Options {
    std::string cib_file;
    std::string schema_directory;
    std::string node_name;
    std::string log_file;
    int verbosity = 0;
    std::size_t ipc_buffer_size = 0;                  // 0: the default
    bool cib_only = false;                            // serve the CIB without the control loop
    bool watch_domains = true;                        // guests' libvirt domain events
    std::optional<metrics::Address> metrics_address;  // OUTPOST_metrics_address; none: no endpoint
    bool show_help = false;
    bool show_version = false;
    std::vector<std::string> warnings;  // settings ignored, to log once logging is set up
};

Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage_text();
std::string version_text();

}  // namespace outpost::controld
