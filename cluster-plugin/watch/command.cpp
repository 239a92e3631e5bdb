#include "watch/command.hpp"

#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <memory>
#include <string>

#include "lifecycle/event_loop.hpp"
#include "util/log.hpp"
#include "watch/cluster_tools.hpp"
#include "watch/state_service.hpp"
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
        std::unique_ptr<StateService> state_service;
        if (o.state_socket != "none") {
            auto s = StateService::start(context, o.state_socket,
                                         [&watcher](const StateQuery& q) { return watcher.answer(q); });
            // Monitors then load libvirt themselves: slower, not wrong.
            if (!s)
                log_warning(log_cat, "no state service on %s: %s", o.state_socket.c_str(),
                            s.error().message.c_str());
            else
                state_service = std::move(*s);
        }
        g_main_loop_run(loop);
    }
    g_source_remove(term);
    g_source_remove(intr);
    g_main_loop_unref(loop);
    return 0;
}

}  // namespace outpost::cluster::watch
