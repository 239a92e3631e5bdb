#include "tools/outpost-controld/options.hpp"

#include <sys/utsname.h>

#include <cerrno>

#include "controller/cib_file.hpp"
#include "controller/cib_schema.hpp"
#include "ipc/header.hpp"
#include "outpost-config.h"
#include "util/env.hpp"

namespace outpost::controld {

namespace {

// Node names are host names: short, printable, no blanks.
constexpr std::size_t kMaxNodeNameLength = 255;

Error usage(std::string message)
{
    return make_error("controld", -EINVAL, std::move(message));
}

Status check_node_name(const std::string& name, const std::string& origin)
{
    if (name.empty() || name.size() > kMaxNodeNameLength) {
        return usage(origin + ": a node name has 1 to " + std::to_string(kMaxNodeNameLength) + " characters");
    }
    for (char c : name) {
        if (static_cast<unsigned char>(c) > ' ' && c != 0x7f) continue;
        std::string message = origin;
        message += ": \"" + name + "\" holds a blank or control character";
        return usage(std::move(message));
    }
    return {};
}

Status check_path(const std::string& path, const std::string& origin)
{
    if (path.empty() || path.front() != '/')
        return usage(origin + ": \"" + path + "\" is not an absolute path");
    if (path.back() == '/') return usage(origin + ": \"" + path + "\" names a directory, not a file");
    return {};
}

std::string host_name()
{
    struct utsname names {};
    if (::uname(&names) != 0) return "localhost";
    std::string name = names.nodename;
    // Pacemaker uses the short name unless told otherwise.
    if (auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
    return name.empty() ? "localhost" : name;
}

}  // namespace

Result<Options> parse_options(const std::vector<std::string>& args)
{
    Options options;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value_of = [&](const std::string& flag) -> Result<std::string> {
            if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
            if (i + 1 >= args.size()) return usage(flag + " needs a value");
            return args[++i];
        };
        auto is = [&](const char* long_flag, const char* short_flag = nullptr) {
            return arg == long_flag || (short_flag != nullptr && arg == short_flag) ||
                   arg.rfind(std::string(long_flag) + "=", 0) == 0;
        };
        if (arg == "-h" || arg == "--help") {
            options.show_help = true;
        } else if (arg == "--version" || arg == "-$") {
            options.show_version = true;
        } else if (arg == "-V" || arg == "--verbose") {
            ++options.verbosity;
        } else if (arg.size() > 2 && arg[0] == '-' && arg[1] == 'V' &&
                   arg.find_first_not_of('V', 1) == std::string::npos) {
            options.verbosity += static_cast<int>(arg.size() - 1);
        } else if (arg == "--cib-only") {
            options.cib_only = true;
        } else if (arg == "--no-domain-watch") {
            options.watch_domains = false;
        } else if (is("--cib-file", "-f")) {
            auto value = value_of(arg.rfind("--cib-file", 0) == 0 ? "--cib-file" : "-f");
            if (!value) return value.error();
            options.cib_file = *value;
        } else if (is("--schema-dir")) {
            auto value = value_of("--schema-dir");
            if (!value) return value.error();
            options.schema_directory = *value;
        } else if (is("--node-name", "-n")) {
            auto value = value_of(arg.rfind("--node-name", 0) == 0 ? "--node-name" : "-n");
            if (!value) return value.error();
            options.node_name = *value;
        } else if (is("--logfile", "-l")) {
            auto value = value_of(arg.rfind("--logfile", 0) == 0 ? "--logfile" : "-l");
            if (!value) return value.error();
            options.log_file = *value;
        } else {
            return usage("unknown argument \"" + arg + "\" (see --help)");
        }
    }
    if (options.show_help || options.show_version) return options;

    if (options.cib_file.empty()) {
        auto from_env = env::get("OUTPOST_CIB_FILE");
        if (from_env && !from_env->empty()) {
            if (auto ok = check_path(*from_env, "OUTPOST_CIB_FILE"); !ok) return ok.error();
            options.cib_file = *from_env;
        } else {
            options.cib_file = cluster::controller::kDefaultCibFile;
        }
    } else if (auto ok = check_path(options.cib_file, "--cib-file"); !ok) {
        return ok.error();
    }
    if (options.schema_directory.empty()) {
        auto from_env = env::get("PCMK_schema_directory");
        options.schema_directory =
            from_env && !from_env->empty() ? *from_env : cluster::controller::kDefaultSchemaDirectory;
    }
    if (options.node_name.empty()) {
        auto from_env = env::get("PCMK_node_name");
        if (from_env && !from_env->empty()) {
            if (auto ok = check_node_name(*from_env, "PCMK_node_name"); !ok) return ok.error();
            options.node_name = *from_env;
        } else {
            options.node_name = host_name();
        }
    } else if (auto ok = check_node_name(options.node_name, "--node-name"); !ok) {
        return ok.error();
    }
    if (auto address = env::get("OUTPOST_metrics_address"); address && !address->empty()) {
        auto parsed = metrics::parse_address("OUTPOST_metrics_address", *address, kDefaultMetricsPort);
        if (!parsed) return usage(parsed.error().message);
        options.metrics_address = *parsed;
    }
    if (auto buffer = env::get("PCMK_ipc_buffer"); buffer && !buffer->empty()) {
        auto size = ipc::parse_buffer_size(*buffer);
        if (size) {
            options.ipc_buffer_size = *size;
        } else {
            options.warnings.push_back(size.error().message + "; using the default");
        }
    }
    return options;
}

std::string usage_text()
{
    return "Usage: outpost-controld [OPTION]...\n"
           "Serves a Pacemaker CIB kept in one file over Pacemaker's local IPC (cib_ro, cib_rw,\n"
           "cib_shm), so that cibadmin, crm_attribute, crm_resource, crm_mon, crm_simulate -L and\n"
           "pcs work on this machine without corosync or pacemakerd, and manages the resources it\n"
           "configures: on this node (the one named --node-name) with the agent's executor, on\n"
           "remote nodes (ocf:pacemaker:remote connections, key from $PCMK_authkey_location) and\n"
           "guest nodes (a container with meta remote-node) through outpost-agent or\n"
           "pacemaker-remoted, whose proxied tools (cibadmin, crm_mon, crm_attribute,\n"
           "attrd_updater inside the node) it serves as their IPC provider; results are\n"
           "recorded in the CIB's status. Host operations in flight are listed in\n"
           "<cib file>.operations, so that a restart after a crash waits for them before it\n"
           "probes. It also serves the controller's IPC (crmd: crm_resource\n"
           "--cleanup/--refresh/--fail, crm_node -n) and the attribute manager's (attrd:\n"
           "attrd_updater, crm_attribute -l reboot; with --cib-only too), which keeps this\n"
           "node's private attributes (attrd_updater -p) in <cib file>.private-attributes.\n"
           "The fencer's IPC (stonith-ng: stonith_admin, crm_mon -m, pcs stonith history,\n"
           "fence, confirm) fences through the fence devices the CIB configures, level by\n"
           "level of its fencing-topology, with their delays and retries; nodes are unfenced\n"
           "before use when a device provides unfencing.\n"
           "\n"
           "  -f, --cib-file=PATH   the CIB file (default " +
           std::string(cluster::controller::kDefaultCibFile) +
           ", or $OUTPOST_CIB_FILE);\n"
           "                        created with an empty CIB if missing\n"
           "      --schema-dir=DIR  Pacemaker's RelaxNG schemas (default " +
           std::string(cluster::controller::kDefaultSchemaDirectory) +
           ",\n"
           "                        or $PCMK_schema_directory)\n"
           "  -n, --node-name=NAME  this node's name, recorded as update-origin (default: the\n"
           "                        short host name, or $PCMK_node_name)\n"
           "      --cib-only        serve the CIB only: run no resource operations\n"
           "      --no-domain-watch do not subscribe to libvirt's domain lifecycle events: a\n"
           "                        guest's domain that stops behind the cluster's back is then\n"
           "                        noticed by its monitor or its connection only (default: the\n"
           "                        events of every VirtualDomain or ocf:outpost:guest resource's\n"
           "                        domain running here are watched, and one that stops or\n"
           "                        crashes unasked is recorded as failed at once)\n"
           "  -l, --logfile=FILE    log to FILE as well (default $PCMK_logfile, else stderr)\n"
           "  -V, --verbose         more logging (repeat for more); $PCMK_debug as Pacemaker's\n"
           "      --version         print the version and exit\n"
           "  -h, --help            print this text and exit\n"
           "\n"
           "Environment: PCMK_logfile, PCMK_debug, PCMK_ipc_buffer (IPC messages larger than this\n"
           "are compressed), PCMK_schema_directory, PCMK_node_name, OUTPOST_CIB_FILE, OUTPOST_LOG,\n"
           "PCMK_authkey_location and the PCMK_tls_* settings (remote connections),\n"
           "OUTPOST_metrics_address (HOST or HOST:PORT, an IP address: serve Prometheus metrics\n"
           "at http://HOST:PORT/metrics; default port 9674; unset: off).\n"
           "It must not run beside a Pacemaker cluster on the same machine: both serve the same\n"
           "IPC names.\n"
           "\n"
           "Exit status: 0 after SIGTERM or SIGINT; 64 bad command line or setting; 78 the CIB\n"
           "file cannot be read, parsed or validated; 100 the IPC names or the metrics address\n"
           "cannot be served (another cluster stack owns them; the port is taken).\n";
}

std::string version_text()
{
    return std::string("outpost-controld ") + OUTPOST_VERSION + " (CIB of Pacemaker 2.1.5, IPC 2.1.x)\n";
}

}  // namespace outpost::controld
