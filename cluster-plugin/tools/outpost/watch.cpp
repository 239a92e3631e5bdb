// outpost watch: the service that reports a guest domain that dies behind the cluster's
// back as a failed resource at once (cluster-plugin/watch). Runs until SIGTERM or SIGINT.
#include "tools/outpost/cli.hpp"
#ifdef OUTPOST_WITH_WATCH
#include "watch/command.hpp"
#endif

namespace outpost::cluster::tools {

const char* const kWatchUsage =
    "Usage: outpost watch [--node NAME] [--refresh DURATION] [--state-socket PATH|none]\n"
    "                     [--dry-run] [--verbose]\n"
    "\n"
    "Watches the libvirt domains of the cluster's VirtualDomain and ocf:outpost:guest\n"
    "resources active on this node and reports a resource as failed (crm_resource --fail)\n"
    "the moment its domain stops or crashes without the cluster having asked, so recovery\n"
    "starts at once instead of at the next monitor. Runs until SIGTERM or SIGINT; meant to\n"
    "run as a service (outpost-watch.service) on every cluster node that runs guests.\n"
    "\n"
    "  --node NAME           this node's name in the cluster (default: crm_node --name)\n"
    "  --refresh DURATION    re-read the CIB and check every active guest's domain this\n"
    "                        often (default 30s)\n"
    "  --state-socket PATH   answer ocf:outpost:guest's monitors on this local socket, so\n"
    "                        they need not load libvirt (default /run/outpost/watch.sock;\n"
    "                        none: do not listen)\n"
    "  --dry-run             log what would be reported, report nothing\n"
    "  --verbose             debug logging (also PCMK_debug=outpost-watch)\n"
    "\n"
    "Logs go to PCMK_logfile when set, else stderr. Exit status: 0 after SIGTERM/SIGINT,\n"
    "64 usage error, 69 built without libvirt, 70 libvirt's event loop cannot be used.\n";

int watch(const Options& options, Output& out)
{
    if (!options.args.empty()) return usage_error(out, "watch takes no arguments", kWatchUsage);
#ifdef OUTPOST_WITH_WATCH
    watch::WatchCommandOptions watch_options;
    watch_options.node = options.node.value_or("");
    if (options.refresh) watch_options.refresh = *options.refresh;
    watch_options.dry_run = options.dry_run;
    if (options.state_socket) watch_options.state_socket = *options.state_socket;
    watch_options.verbose = options.verbose;
    return watch::run_watch_command(watch_options);
#else
    out.error("outpost was built without libvirt: watch is not available");
    return kExitUnavailable;
#endif
}

}  // namespace outpost::cluster::tools
