// `outpost watch`: the service face of the Watcher (systemd unit outpost-watch.service).
// The outpost CLI parses the command line (tools/outpost/watch.cpp) and calls
// run_watch_command(), which runs the watcher on the default main context until SIGTERM or
// SIGINT.
#pragma once

#include <chrono>
#include <string>

#include "watch/watcher.hpp"

namespace outpost::cluster::watch {

inline constexpr int kWatchExitUsage = 64;
inline constexpr int kWatchExitSoftware = 70;

struct WatchCommandOptions {
    std::string node;  // "" = crm_node --name
    std::chrono::milliseconds refresh = kDefaultRefresh;
    std::string state_socket = kDefaultStateSocket;  // "none": no state service
    bool dry_run = false;
    bool verbose = false;
};

// 0 after SIGTERM/SIGINT; kWatchExitUsage when this node's name cannot be told;
// kWatchExitSoftware when libvirt's event loop cannot be installed.
int run_watch_command(WatchCommandOptions options);

}  // namespace outpost::cluster::watch
