#include "server/options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <span>

#include "outpost-config.h"
// PCMK_ipc_buffer's limits belong to the proxy that uses it; options only validates.
#include "ipc/header.hpp"
#include "util/env.hpp"

namespace outpost::agent {
namespace {

Error option_error(const std::string& message)
{
    return make_error("options", -EINVAL, message);
}

// Splits "--name=value" and "-pVALUE"; consumes the next argument when needed.
struct Cursor {
    const std::vector<std::string>& args;
    std::size_t index = 1;

    Result<std::string> value_for(const std::string& option, const std::string& inline_value, bool has_inline)
    {
        if (has_inline) return inline_value;
        if (index + 1 >= args.size()) return option_error("option " + option + " needs a value");
        return args[++index];
    }
};

// PCMK_remote_port and -p as pacemaker-remoted 2.1.5 reads them (docs/conformance.md, item
// 20): the leading decimal number after optional blanks and sign ("3125abc" -> 3125, "3.5"
// -> 3); no number, or one outside 1-65535, is a warning and port 3121.
std::uint16_t remote_port(const std::string& name, const std::string& value,
                          std::vector<std::string>& warnings)
{
    char* end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(value.c_str(), &end, 10);
    if (end == value.c_str() || errno != 0 || parsed < 1 || parsed > 65535) {
        warnings.push_back(name + ": " + log::quote(value) + " is not a port number (1-65535); using " +
                           std::to_string(kDefaultPort) + " as pacemaker-remoted does");
        return kDefaultPort;
    }
    if (*end != '\0') {
        warnings.push_back(name + ": " + log::quote(value) + " has trailing characters; using port " +
                           std::to_string(parsed) + " as pacemaker-remoted does");
    }
    return static_cast<std::uint16_t>(parsed);
}

bool one_of(std::string_view value, std::span<const std::string_view> allowed)
{
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

Result<AgentOptions> parse_options(const std::vector<std::string>& argv)
{
    return parse_options(argv,
                         std::vector<std::string>(std::begin(kDefaultEnvFiles), std::end(kDefaultEnvFiles)));
}

Result<AgentOptions> parse_options(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env_files)
{
    AgentOptions options;

    // The unit's environment files first: they only fill variables that are still unset.
    auto files = env::read_environment_files(env_files);
    if (!files) return files.error();
    options.env_files_read = files->read;
    options.env_vars_set = env::apply_environment_defaults(files->vars);
    options.warnings = files->ignored;

    if (auto port = env::get("PCMK_remote_port"))
        options.port = remote_port("PCMK_remote_port", *port, options.warnings);
    if (auto address = env::get("PCMK_remote_address")) options.address = *address;
    if (auto key = env::get("PCMK_authkey_location")) options.authkey_path = *key;
    if (auto file = env::get("PCMK_logfile"); file && *file != "none" && *file != "/dev/null")
        options.log_file = *file;
    if (auto state = env::get("PCMK_node_start_state"); state && !state->empty()) {
        // A 2.1.7 addition that 2.1.5 ignores altogether: a bad value must not stop the node.
        if (*state == "default" || *state == "online" || *state == "standby") {
            options.node_start_state = *state;
        } else {
            options.warnings.push_back("PCMK_node_start_state: " + log::quote(*state) +
                                       " is not one of default, online, standby; not announced");
        }
    }
    if (auto sbd = env::get("SBD_WATCHDOG_TIMEOUT"); sbd && !sbd->empty()) {
        // Fatal, unlike in 2.1.5: lrmd_check's watchdog decision depends on it.
        auto ms = env::parse_duration_ms("SBD_WATCHDOG_TIMEOUT", *sbd);
        if (!ms) return ms.error();
        options.sbd_timeout_ms = *ms;
    }
    if (auto buffer = env::get("PCMK_ipc_buffer"); buffer && !buffer->empty()) {
        auto size = ipc::parse_buffer_size(*buffer);
        if (size) {
            options.ipc_buffer_size = *size;
        } else {
            options.warnings.push_back(size.error().message);
        }
    }
    if (auto mode = env::get("PCMK_remote_pid1"); mode && !mode->empty() && !one_of(*mode, kPid1Modes)) {
        options.warnings.push_back("PCMK_remote_pid1: " + log::quote(*mode) +
                                   " is not one of full, vars; ignored");
    }

    for (auto [name, target] : {std::pair{"OUTPOST_isolation", &options.isolation},
                                std::pair{"OUTPOST_cib_limits", &options.cib_limits}}) {
        auto value = env::get(name);
        if (!value || value->empty()) continue;
        if (*value == "yes" || *value == "true" || *value == "1") {
            *target = true;
        } else if (*value == "no" || *value == "false" || *value == "0") {
            *target = false;
        } else {
            return make_error("options", -EINVAL,
                              std::string(name) + ": " + log::quote(*value) + " is not yes or no");
        }
    }
    if (auto parent = env::get("OUTPOST_cgroup_parent"); parent && !parent->empty()) {
        if (parent->front() == '/' || parent->find("..") != std::string::npos) {
            return make_error("options", -EINVAL,
                              "OUTPOST_cgroup_parent: " + log::quote(*parent) +
                                  " is not a relative path beneath the agent's own cgroup");
        }
        options.cgroup_parent = *parent;
    }

    if (auto address = env::get("OUTPOST_metrics_address"); address && !address->empty()) {
        auto parsed = metrics::parse_address("OUTPOST_metrics_address", *address, kDefaultMetricsPort);
        if (!parsed) return make_error("options", -EINVAL, parsed.error().message);
        options.metrics_address = *parsed;
    }

    Cursor cursor{argv};
    for (; cursor.index < argv.size(); ++cursor.index) {
        const std::string& arg = argv[cursor.index];
        std::string name = arg;
        std::string inline_value;
        bool has_inline = false;
        if (arg.rfind("--", 0) == 0) {
            if (auto eq = arg.find('='); eq != std::string::npos) {
                name = arg.substr(0, eq);
                inline_value = arg.substr(eq + 1);
                has_inline = true;
            }
        } else if (arg.size() > 2 && arg[0] == '-' && (arg[1] == 'p' || arg[1] == 'l')) {
            name = arg.substr(0, 2);
            inline_value = arg.substr(2);
            has_inline = true;
        }

        if (name == "-?" || name == "-h" || name == "--help") {
            options.show_help = true;
        } else if (name == "-$" || name == "--version") {
            options.show_version = true;
        } else if (name == "-V" || name == "--verbose") {
            ++options.verbosity;
        } else if (name.size() > 2 && name[0] == '-' && name[1] == 'V' &&
                   name.find_first_not_of('V', 1) == std::string::npos) {
            options.verbosity += static_cast<int>(name.size() - 1);
        } else if (name == "-f" || name == "--foreground") {
            options.foreground = true;
        } else if (name == "-p" || name == "--port") {
            auto value = cursor.value_for(name, inline_value, has_inline);
            if (!value) return value.error();
            options.port = remote_port(name, *value, options.warnings);
        } else if (name == "-a" || name == "--address") {
            auto value = cursor.value_for(name, inline_value, has_inline);
            if (!value) return value.error();
            options.address = *value;
        } else if (name == "-k" || name == "--authkey") {
            auto value = cursor.value_for(name, inline_value, has_inline);
            if (!value) return value.error();
            if (value->empty()) return option_error("option " + name + " needs a file name");
            options.authkey_path = *value;
        } else if (name == "-l" || name == "--logfile" || name == "--log-file") {
            auto value = cursor.value_for(name, inline_value, has_inline);
            if (!value) return value.error();
            options.log_file = *value;
        } else {
            return option_error("unknown option \"" + arg + "\" (see --help)");
        }
    }
    return options;
}

std::string usage_text(const std::string& program)
{
    return "Usage: " + program +
           " [options]\n"
           "Outpost guest agent: runs resource agents for a Pacemaker cluster on this node\n"
           "(a drop-in replacement for pacemaker-remoted).\n\n"
           "Options:\n"
           "  -?, -h, --help           Show this help and exit\n"
           "  -$, --version            Show the version and exit\n"
           "  -V, --verbose            Increase log detail (repeat for more)\n"
           "  -l, --logfile=FILE       Log to FILE (also --log-file; default PCMK_logfile or stderr)\n"
           "  -p, --port=PORT          TCP port to listen on (default PCMK_remote_port or 3121)\n"
           "  -a, --address=ADDR       Address to listen on (default PCMK_remote_address or all)\n"
           "  -k, --authkey=FILE       Pre-shared key file (default PCMK_authkey_location,\n"
           "                           then /etc/pacemaker/authkey, then /etc/corosync/authkey)\n"
           "  -f, --foreground         Stay in the foreground (always the case; for compatibility)\n\n"
           "Environment: PCMK_remote_port, PCMK_remote_address, PCMK_authkey_location,\n"
           "  PCMK_logfile, PCMK_debug (yes, or a list naming pacemaker-remoted or outpost-agent),\n"
           "  PCMK_node_start_state, PCMK_tls_priorities, PCMK_dh_min_bits, PCMK_dh_max_bits,\n"
           "  PCMK_cert_file, PCMK_key_file, PCMK_ca_file, PCMK_crl_file, PCMK_ipc_buffer,\n"
           "  SBD_WATCHDOG_TIMEOUT, PCMK_remote_pid1, OUTPOST_LOG (category:level,...),\n"
           "  OUTPOST_isolation (yes/no: each resource in a cgroup of its own, default yes),\n"
           "  OUTPOST_cgroup_parent (where those go, beneath the agent's cgroup; default\n"
           "  outpost-agent), OUTPOST_cib_limits (yes/no: follow the resources' limits written\n"
           "  as meta attributes in the cluster's CIB, default yes), OUTPOST_metrics_address (HOST or "
           "HOST:PORT, an IP address: serve\n"
           "  Prometheus metrics at http://HOST:PORT/metrics; default port 9673; unset: off).\n"
           "Variables not set in the environment are taken from these files, read in this\n"
           "order as systemd reads EnvironmentFile= (a later file wins; missing ones skipped):\n"
           "  /etc/default/pacemaker, /etc/sysconfig/pacemaker, /etc/default/sbd,\n"
           "  /etc/sysconfig/sbd, /etc/default/outpost-agent, /etc/sysconfig/outpost-agent\n"
           "An invalid PCMK_remote_port or -p means 3121, as with pacemaker-remoted; unusable\n"
           "PCMK_ipc_buffer, PCMK_remote_pid1 or PCMK_node_start_state values are ignored with a\n"
           "warning.\n\n"
           "Exit status:\n"
           "  0    clean shutdown; --help, --version\n"
           "  64   unusable command line, environment value, environment file or TLS setting\n"
           "       (unknown option, missing value, SBD_WATCHDOG_TIMEOUT, PCMK_tls_priorities,\n"
           "       OUTPOST_isolation, OUTPOST_cib_limits, OUTPOST_cgroup_parent,\n"
           "       OUTPOST_metrics_address,\n"
           "       PCMK_dh_*_bits, certificate files): fix the configuration, do not respawn\n"
           "  100  cannot serve (the address or the metrics address cannot be listened on,\n"
           "       another cluster stack owns\n"
           "       the local IPC names, an unsafe watchdog configuration): do not respawn\n";
}

std::string version_text()
{
    return std::string("outpost-agent ") + OUTPOST_VERSION + " (protocol 1.1, Pacemaker 2.1 compatible)\n";
}

}  // namespace outpost::agent
