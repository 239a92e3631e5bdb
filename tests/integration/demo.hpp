// outpost-demo, the driver behind scripts/demo: what its variants share. demo_main.cpp
// reads the options and picks a variant; demo_controld.cpp runs the default one
// (outpost-controld on the host, libvirt LXC containers or network namespaces as guest
// nodes), demo_pacemaker.cpp the Pacemaker + Corosync one (a throw-away single-node
// cluster, namespace guests as remote nodes). Both print what they do as "==> step" lines
// and the commands as "    $ command" lines; tests/integration/test_demo.cpp reads them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness/cluster.hpp"
#include "util/result.hpp"

namespace outpost::test::demo {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 3;

struct DemoOptions {
    bool pacemaker = false;    // --pacemaker: corosync + pacemakerd instead of outpost-controld
    std::string controld;      // --controld PATH
    std::string daemon;        // the guests' daemon (--agent or --remoted PATH)
    std::string daemon_label;  // "outpost-agent" or "pacemaker-remoted"
    bool netns = false;        // --netns: namespace guests even where libvirt LXC runs
    bool hold = false;         // --hold
};

int run_controld_demo(const DemoOptions& options);
int run_pacemaker_demo(const DemoOptions& options);

void step(const std::string& text);
void detail(const std::string& text);
void show_command(const std::vector<std::string>& argv);
// "the demo failed" with the reason on stderr; returns kExitFailed.
int fail(const std::string& what, const Error& error);
// Prints the refusal (this machine belongs to a real cluster); returns kExitRefused.
int refuse(const Error& error);
// Runs a read-only cluster tool through `tools`, shows the command and what it printed;
// an Error when it could not be run or exited non-zero (its output is shown either way).
Status show_tool(const ClusterTools& tools, const std::vector<std::string>& argv,
                 const std::vector<std::string>& shown_prefix = {});
// `pcs ARGS`, shown, then run; an Error if it fails.
Status show_pcs(const ClusterTools& tools, const std::vector<std::string>& args);
bool alive_as(pid_t pid, const std::string& comm);
double seconds_since(std::chrono::steady_clock::time_point t);
// "1.23" (two decimals).
std::string seconds_text(double seconds);
// Waits for Enter when --hold was given and stdin is a terminal.
void hold_if_asked(bool hold, const std::string& hint);

}  // namespace outpost::test::demo
