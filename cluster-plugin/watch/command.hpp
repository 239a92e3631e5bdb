// `outpost watch`: the command-line face of the Watcher (a service; systemd unit
// outpost-watch.service). Dispatched from the outpost CLI: argv[0] is "watch".
#pragma once

namespace outpost::cluster::watch {

inline constexpr int kWatchExitUsage = 64;
inline constexpr int kWatchExitSoftware = 70;

int run_watch_command(int argc, char** argv);

}  // namespace outpost::cluster::watch
