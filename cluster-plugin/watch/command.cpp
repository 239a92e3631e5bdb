#include "watch/command.hpp"

#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "lifecycle/event_loop.hpp"
#include "util/env.hpp"
#include "util/log.hpp"
#include "watch/cluster_tools.hpp"
#include "watch/watcher.hpp"

namespace outpost::cluster::watch {

namespace {

const outpost::log::Category log_cat{"cluster.watch.main"};

constexpr const char* kUsage =
    "Usage: outpost watch [--node NAME] [--refresh SECONDS] [--dry-run] [--verbose]\n"
    "\n"
    "Watches the libvirt domains of the cluster's VirtualDomain and ocf:outpost:guest resources on this\n"
    "node and reports a resource as failed (crm_resource --fail) the moment its domain stops or crashes\n"
    "without the cluster having asked, so recovery starts at once instead of at the next monitor.\n"
    "Runs until SIGTERM or SIGINT; meant to run as a service (outpost-watch.service) on every node that\n"
    "runs guests.\n"
    "\n"
    "  --node NAME        this node's name in the cluster (default: crm_node --name)\n"
    "  --refresh SECONDS  re-read the CIB and check every active guest's domain this often (default 30)\n"
    "  --dry-run          log what would be reported, report nothing\n"
    "  --verbose          debug logging (also PCMK_debug=outpost-watch, OUTPOST_LOG=cluster.watch:debug)\n"
    "\n"
    "Logs go to PCMK_logfile when set, else stderr. Exit status: 0 after SIGTERM/SIGINT, 64 usage error,\n"
    "70 libvirt cannot be used.\n";

struct Options {
    std::string node;
    std::chrono::milliseconds refresh = kDefaultRefresh;
    bool dry_run = false;
    bool verbose = false;
};

int usage_error(const std::string& message)
{
    (void)std::fprintf(stderr, "outpost watch: %s\n%s", message.c_str(), kUsage);
    return kWatchExitUsage;
}

gboolean quit_loop(gpointer loop)
{
    log_notice(log_cat, "signal received: stopping");
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

}  // namespace

int run_watch_command(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::optional<std::string> {
            std::string prefix = std::string(name) + "=";
            if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
            if (a == name && i + 1 < argc) return std::string(argv[++i]);
            return std::nullopt;
        };
        if (a == "--help" || a == "-h") {
            (void)std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--dry-run") {
            o.dry_run = true;
        } else if (a == "--verbose" || a == "-V") {
            o.verbose = true;
        } else if (auto v = value("--node")) {
            o.node = *v;
        } else if (auto r = value("--refresh")) {
            auto ms = env::parse_duration_ms("--refresh", *r);
            if (!ms || *ms <= 0) return usage_error("--refresh: " + log::quote(*r) + " is not a positive duration");
            o.refresh = std::chrono::milliseconds(*ms);
        } else {
            return usage_error("unknown argument " + log::quote(a));
        }
    }
    static constexpr std::string_view kDebugNames[] = {"outpost-watch"};
    auto log_config = log::config_from_environment("outpost-watch", kDebugNames);
    if (o.verbose) log_config.default_level = log::Level::debug;
    log::configure(log_config);

    if (o.node.empty()) o.node = local_node_name();
    if (o.node.empty()) return usage_error("cannot tell this node's name: give --node");

    GMainContext* context = g_main_context_default();
    if (auto s = lifecycle::install_event_loop(context); !s) {
        log_error(log_cat, "%s", s.error().message.c_str());
        return kWatchExitSoftware;
    }
    GMainLoop* loop = g_main_loop_new(context, FALSE);
    guint term = g_unix_signal_add(SIGTERM, quit_loop, loop);
    guint intr = g_unix_signal_add(SIGINT, quit_loop, loop);
    {
        PacemakerTools tools(context);
        WatcherOptions wo;
        wo.node = o.node;
        wo.refresh = o.refresh;
        wo.dry_run = o.dry_run;
        Watcher watcher(context, wo, tools);
        watcher.start();
        g_main_loop_run(loop);
    }
    g_source_remove(term);
    g_source_remove(intr);
    g_main_loop_unref(loop);
    return 0;
}

}  // namespace outpost::cluster::watch
