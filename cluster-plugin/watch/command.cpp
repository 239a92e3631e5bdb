#include "watch/command.hpp"

#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <string>

#include "lifecycle/event_loop.hpp"
#include "util/log.hpp"
#include "watch/cluster_tools.hpp"
#include "watch/watcher.hpp"

namespace outpost::cluster::watch {

namespace {

const outpost::log::Category log_cat{"cluster.watch.main"};

gboolean quit_loop(gpointer loop)
{
    log_notice(log_cat, "signal received: stopping");
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

}  // namespace

int run_watch_command(WatchCommandOptions o)
{
    static constexpr std::string_view kDebugNames[] = {"outpost-watch"};
    auto log_config = log::config_from_environment("outpost-watch", kDebugNames);
    if (o.verbose) log_config.default_level = log::Level::debug;
    log::configure(log_config);

    if (o.node.empty()) o.node = local_node_name();
    if (o.node.empty()) {
        log_error(log_cat, "cannot tell this node's name: give --node");
        return kWatchExitUsage;
    }

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
