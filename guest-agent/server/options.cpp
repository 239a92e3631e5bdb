#include "server/options.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "outpost-config.h"
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

}  // namespace

Result<AgentOptions> parse_options(const std::vector<std::string>& argv)
{
    AgentOptions options;

    // Defaults file first: only fills variables that are still unset.
    for (const char* file : kDefaultEnvFiles) {
        if (access(file, R_OK) != 0) continue;
        if (auto loaded = env::load_env_file_defaults(file); !loaded) return loaded.error();
        options.env_file_loaded = file;
        break;
    }

    if (auto port = env::get("PCMK_remote_port"); port && !port->empty()) {
        auto parsed = env::parse_port("PCMK_remote_port", *port);
        if (!parsed) return parsed.error();
        options.port = *parsed;
    }
    if (auto address = env::get("PCMK_remote_address")) options.address = *address;
    if (auto key = env::get("PCMK_authkey_location")) options.authkey_path = *key;
    if (auto file = env::get("PCMK_logfile"); file && *file != "none" && *file != "/dev/null")
        options.log_file = *file;
    if (auto debug = env::get("PCMK_debug"); debug && !debug->empty()) {
        // PCMK_debug may also be a list of daemon names; any non-boolean value enables debug.
        auto flag = env::parse_boolean("PCMK_debug", *debug);
        if (!flag || *flag) options.verbosity = 1;
    }
    if (auto state = env::get("PCMK_node_start_state"); state && !state->empty()) {
        if (*state != "default" && *state != "online" && *state != "standby") {
            return option_error("PCMK_node_start_state: \"" + *state +
                                "\" is not one of default, online, standby");
        }
        options.node_start_state = *state;
    }
    if (auto sbd = env::get("SBD_WATCHDOG_TIMEOUT"); sbd && !sbd->empty()) {
        auto ms = env::parse_duration_ms("SBD_WATCHDOG_TIMEOUT", *sbd);
        if (!ms) return ms.error();
        options.sbd_timeout_ms = *ms;
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
            auto port = env::parse_port(name, *value);
            if (!port) return port.error();
            options.port = *port;
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
           "Environment (also read from /etc/default/pacemaker or /etc/sysconfig/pacemaker):\n"
           "  PCMK_remote_port, PCMK_remote_address, PCMK_authkey_location, PCMK_logfile,\n"
           "  PCMK_debug, PCMK_node_start_state, PCMK_tls_priorities, PCMK_dh_min_bits,\n"
           "  PCMK_dh_max_bits, PCMK_cert_file, PCMK_key_file, PCMK_ca_file, PCMK_crl_file,\n"
           "  PCMK_ipc_buffer, SBD_WATCHDOG_TIMEOUT, PCMK_remote_pid1, OUTPOST_LOG (category:level,...)\n";
}

std::string version_text()
{
    return std::string("outpost-agent ") + OUTPOST_VERSION + " (protocol 1.1, Pacemaker 2.1 compatible)\n";
}

}  // namespace outpost::agent
