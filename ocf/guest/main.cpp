// ocf:outpost:guest: an OCF 1.1 resource agent for libvirt domains, written on libvirt's C
// API (no virsh). This is the agent proper (installed as <libexecdir>/outpost/guest-libvirt);
// Pacemaker runs the front (front.cpp, /usr/lib/ocf/resource.d/outpost/guest), which hands
// every action here but the monitors `outpost watch` can answer. The action is the first
// argument, parameters come as OCF_RESKEY_* (see agent.hpp for what each action does).
//
// Logging: warnings and errors to stderr, where pacemaker-execd collects them into the
// cluster log, plus "ocf-exit-reason:TEXT" for a failed action; OUTPOST_LOG (e.g.
// "ocf.guest:debug") or PCMK_debug raise the level.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "guest/agent.hpp"
#include "guest/monitor_outcome.hpp"
#include "guest/params.hpp"
#include "util/env.hpp"
#include "util/log.hpp"

namespace {

using namespace outpost;
using namespace outpost::ocf::guest;

constexpr const char* kUsage =
    "usage: guest {start|stop|monitor|status|migrate_to|migrate_from|reload|reload-agent|meta-data|"
    "validate-all}\n"
    "An OCF resource agent for libvirt domains: run it through Pacemaker (ocf:outpost:guest), or by hand "
    "with\n"
    "OCF_RESKEY_config=/path/domain.xml [OCF_RESKEY_hypervisor=URI] guest ACTION.\n";

// After a monitor or start that passed, the parameters are known good: the front may then
// answer a monitor with the same parameters without the full agent (front.cpp).
void remember_checked_params(const std::filesystem::path& state_dir, const std::string& resource)
{
    auto path = params_checked_path(state_dir, resource);
    std::string text = params_fingerprint(environ);
    {
        std::ifstream in(path);
        std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in && old == text) return;
    }
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) return;
    }
    std::filesystem::rename(tmp, path, ec);
}

int run(int argc, char** argv)
{
    std::string action = argc > 1 ? argv[1] : "";
    if (action.empty() || action == "--help" || action == "-h" || action == "usage") {
        (void)std::fputs(kUsage, action.empty() ? stderr : stdout);
        return action.empty() ? wire::ocf::invalid_param : wire::ocf::ok;
    }
    if (action == "meta-data") {
        (void)std::fputs(metadata_xml().c_str(), stdout);
        return wire::ocf::ok;
    }
    std::string resource = env::get("OCF_RESOURCE_INSTANCE").value_or("");
    static constexpr std::string_view kDebugNames[] = {"guest", "ocf:outpost:guest"};
    auto log_config =
        log::config_from_environment(resource.empty() ? "guest" : "guest(" + resource + ")", kDebugNames);
    log_config.file.clear();  // stderr: pacemaker-execd logs what agents print there
    // Notices are for daemons; an agent says only what went wrong unless asked for more.
    if (log_config.default_level == log::Level::notice) log_config.default_level = log::Level::warning;
    log::configure(log_config);

    Lookup lookup = [](const std::string& name) { return env::get(("OCF_RESKEY_" + name).c_str()); };
    OcfContext context = context_from(action, lookup, resource);
    SystemServices services;
    Outcome outcome = run_action(context, lookup, services);
    if (outcome.rc == wire::ocf::ok && (action == "monitor" || action == "start") && !resource.empty())
        remember_checked_params(services.state_dir(), resource);
    if (!outcome.reason.empty()) (void)std::fprintf(stderr, "ocf-exit-reason:%s\n", outcome.reason.c_str());
    return outcome.rc;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "ocf-exit-reason:internal error: %s\n", e.what());
    } catch (...) {
        (void)std::fputs("ocf-exit-reason:internal error\n", stderr);
    }
    return wire::ocf::unknown_error;
}
