// outpost-demo: the driver behind scripts/demo (see demo.hpp for its variants). Reads the
// options, checks the binaries and the machine (root, network namespaces), runs one
// variant.
//
// Exit status: 0 demo ran, 1 something failed (with the reason), 2 usage, 3 refused
// because this machine looks like part of a real cluster.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "demo.hpp"
#include "harness/environment.hpp"

namespace outpost::test::demo {

void step(const std::string& text)
{
    std::cout << "\n==> " << text << std::endl;
}

void detail(const std::string& text)
{
    std::cout << "    " << text << std::endl;
}

void show_command(const std::vector<std::string>& argv)
{
    std::cout << "    $ " << join_argv(argv) << std::endl;
}

int fail(const std::string& what, const Error& error)
{
    std::cerr << "\noutpost-demo: " << what << " failed: " << error.message << std::endl;
    return kExitFailed;
}

int refuse(const Error& error)
{
    std::cerr << "\noutpost-demo: " << error.message << std::endl
              << "The demo only runs on a machine without a cluster of its own; nothing was changed."
              << std::endl;
    return kExitRefused;
}

Status show_tool(const ClusterTools& tools, const std::vector<std::string>& argv,
                 const std::vector<std::string>& shown_prefix)
{
    std::vector<std::string> shown = shown_prefix;
    shown.insert(shown.end(), argv.begin(), argv.end());
    show_command(shown);
    auto result = tools.tool(argv);
    if (!result) return result.error();
    std::cout << result->output;
    if (!result->succeeded())
        return make_error("demo", -EIO, join_argv(argv) + " " + describe_wait_status(result->wait_status));
    return {};
}

Status show_pcs(const ClusterTools& tools, const std::vector<std::string>& args)
{
    std::vector<std::string> shown{"pcs"};
    shown.insert(shown.end(), args.begin(), args.end());
    show_command(shown);
    auto result = tools.pcs(args);
    if (!result) return result.error();
    return {};
}

bool alive_as(pid_t pid, const std::string& comm)
{
    auto found = find_processes_named(comm);
    return std::find(found.begin(), found.end(), pid) != found.end();
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string seconds_text(double seconds)
{
    char text[32];
    (void)std::snprintf(text, sizeof text, "%.2f", seconds);
    return text;
}

void hold_if_asked(bool hold, const std::string& hint)
{
    if (!hold || ::isatty(STDIN_FILENO) == 0) return;
    step("holding: " + hint + ". Press Enter to tear down");
    std::string line;
    std::getline(std::cin, line);
}

}  // namespace outpost::test::demo

namespace {

using namespace outpost::test;
using namespace outpost::test::demo;

void usage(std::FILE* out)
{
    (void)std::fprintf(
        out,
        "Usage: outpost-demo --controld PATH (--agent PATH | --remoted PATH) [--netns] [--hold]\n"
        "       outpost-demo --pacemaker (--agent PATH | --remoted PATH) [--hold]\n"
        "  --controld PATH  run outpost-controld from PATH on the host (the default variant): two\n"
        "                   libvirt LXC containers as guest nodes (ocf:heartbeat:VirtualDomain),\n"
        "                   or network-namespace guests where libvirt LXC cannot run\n"
        "  --pacemaker      a throw-away single-node Pacemaker + Corosync cluster instead, with\n"
        "                   two network-namespace guests as remote nodes\n"
        "  --agent PATH     run PATH (outpost-agent) in the guests\n"
        "  --remoted PATH   run the real pacemaker-remoted at PATH in the guests instead\n"
        "  --netns          (with --controld) network-namespace guests even where LXC runs\n"
        "  --hold           before tearing down, wait for Enter (explore with crm_mon, pcs)\n"
        "Environment: OUTPOST_DEMO_PRETEND_NO_LXC=1 takes libvirt LXC as unavailable (the\n"
        "fallback to network-namespace guests, as on a machine without it).\n"
        "Exit status: 0 demo ran, 1 failed, 2 usage, 3 refused (a real cluster).\n");
}

bool executable(const std::string& path)
{
    if (::access(path.c_str(), X_OK) == 0) return true;
    std::cerr << "outpost-demo: " << path << " is not an executable: " << std::strerror(errno) << std::endl;
    return false;
}

}  // namespace

int main(int argc, char* argv[])
{
    DemoOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if ((arg == "--agent" || arg == "--remoted") && has_value) {
            options.daemon = argv[++i];
            options.daemon_label = arg == "--agent" ? "outpost-agent" : "pacemaker-remoted";
        } else if (arg == "--controld" && has_value) {
            options.controld = argv[++i];
        } else if (arg == "--pacemaker") {
            options.pacemaker = true;
        } else if (arg == "--netns") {
            options.netns = true;
        } else if (arg == "--hold") {
            options.hold = true;
        } else if (arg == "-h" || arg == "--help") {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return kExitUsage;
        }
    }
    // One variant: outpost-controld, or Pacemaker (which has no --netns: its guests are
    // namespaces anyway).
    if (options.daemon.empty() || options.pacemaker == !options.controld.empty() ||
        (options.pacemaker && options.netns)) {
        usage(stderr);
        return kExitUsage;
    }
    if (!executable(options.daemon) || (!options.pacemaker && !executable(options.controld)))
        return kExitFailed;
    if (auto reason = root_and_netns_unavailable()) {
        std::cerr << "outpost-demo: cannot run here: " << *reason << std::endl;
        return kExitFailed;
    }
    return options.pacemaker ? run_pacemaker_demo(options) : run_controld_demo(options);
}
