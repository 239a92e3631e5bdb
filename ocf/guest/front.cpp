// ocf:outpost:guest's front: what Pacemaker runs as /usr/lib/ocf/resource.d/outpost/guest.
// It links neither libvirt nor GLib, so a monitor that the resident `outpost watch` service
// can answer costs a fork, an exec and one local socket round trip instead of loading
// libvirt's 57 libraries (about 10 ms of CPU; docs/benchmarks.md, "ocf:outpost:guest").
// Everything else, and every monitor the service cannot answer exactly as the agent would,
// goes to the agent proper (guest-libvirt, main.cpp) by exec with the same arguments and
// environment. A monitor is answered here only when
//   - the hypervisor parameter is set and no monitor_scripts are configured;
//   - the agent proper has passed these same parameters before (params_checked_path);
//   - the service knows the resource from the CIB with the same parameters, is connected
//     to its hypervisor, and names the domain's state;
//   - the utilization the agent keeps up to date would not change.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "guest/monitor_outcome.hpp"
#include "outpost-config.h"
#include "util/fd.hpp"
#include "watch/state_protocol.hpp"

namespace {

using namespace outpost;
using namespace outpost::ocf::guest;
namespace watch = outpost::cluster::watch;
namespace fs = std::filesystem;

constexpr const char* kAgentName = "guest-libvirt";

std::string env_or(const char* name, const char* fallback = "")
{
    const char* v = std::getenv(name);
    return v != nullptr ? v : fallback;
}

// The agent proper: next to this program in a build tree, else where it is installed.
std::string agent_path()
{
    std::string over = env_or("OUTPOST_GUEST_AGENT");
    if (!over.empty()) return over;
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto sibling = self.parent_path() / kAgentName;
        if (::access(sibling.c_str(), X_OK) == 0) return sibling.string();
    }
    return std::string(OUTPOST_LIBEXECDIR) + "/outpost/" + kAgentName;
}

[[noreturn]] void run_agent(char** argv)
{
    std::string path = agent_path();
    ::execv(path.c_str(), argv);
    (void)std::fprintf(stderr, "ocf-exit-reason:cannot run %s: %s\n", path.c_str(), std::strerror(errno));
    std::_Exit(1);  // OCF_ERR_GENERIC
}

// OCF's boolean words as the agent accepts them; nullopt for anything else (then the
// agent proper decides).
std::optional<bool> boolean(const char* name, bool fallback)
{
    const char* raw = std::getenv(name);
    if (raw == nullptr || *raw == '\0') return fallback;
    std::string v(raw);
    for (auto& ch : v)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0") return false;
    return std::nullopt;
}

std::optional<UtilizationSettings> utilization_settings()
{
    UtilizationSettings s;
    struct Field {
        const char* name;
        bool UtilizationSettings::*field;
    };
    static constexpr Field kFields[] = {
        {"OCF_RESKEY_autoset_utilization_cpu", &UtilizationSettings::autoset_cpu},
        {"OCF_RESKEY_autoset_utilization_host_memory", &UtilizationSettings::autoset_host_memory},
        {"OCF_RESKEY_autoset_utilization_hv_memory", &UtilizationSettings::autoset_hv_memory},
        {"OCF_RESKEY_unset_utilization_cpu", &UtilizationSettings::unset_cpu},
        {"OCF_RESKEY_unset_utilization_host_memory", &UtilizationSettings::unset_host_memory},
        {"OCF_RESKEY_unset_utilization_hv_memory", &UtilizationSettings::unset_hv_memory},
    };
    for (const auto& f : kFields) {
        auto v = boolean(f.name, s.*(f.field));
        if (!v) return std::nullopt;
        s.*(f.field) = *v;
    }
    return s;
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One query, one answer, within a second; nullopt on any trouble.
std::optional<watch::StateAnswer> ask_watch(const watch::StateQuery& query)
{
    auto encoded = watch::encode_query(query);
    if (!encoded) return std::nullopt;
    const std::string request = std::move(*encoded);
    const std::string path = env_or("OUTPOST_WATCH_SOCKET", watch::kDefaultStateSocket);
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) return std::nullopt;
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::nullopt;
    timeval limit{1, 0};
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) return std::nullopt;
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
        return std::nullopt;
    std::string answer;
    char buf[512];
    while (answer.find('\n') == std::string::npos && answer.size() <= watch::kMaxStateLine) {
        ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
        if (n <= 0) return std::nullopt;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    return watch::decode_answer(answer);
}

// The monitor's outcome from the watch service, or nullopt: ask the agent proper.
std::optional<Outcome> fast_monitor(const std::string& action)
{
    std::string resource = env_or("OCF_RESOURCE_INSTANCE");
    std::string config = env_or("OCF_RESKEY_config");
    std::string hypervisor = env_or("OCF_RESKEY_hypervisor");
    if (resource.empty() || config.empty() || hypervisor.empty()) return std::nullopt;
    if (!env_or("OCF_RESKEY_monitor_scripts").empty()) return std::nullopt;
    auto utilization = utilization_settings();
    if (!utilization) return std::nullopt;
    fs::path state_dir = env_or("HA_RSCTMP");
    if (state_dir.empty()) state_dir = "/run/resource-agents";
    std::string checked = read_file(params_checked_path(state_dir, resource));
    if (checked.empty() || checked != params_fingerprint(environ)) return std::nullopt;

    auto answer = ask_watch(watch::StateQuery{resource, hypervisor, config});
    if (!answer || answer->kind == watch::StateAnswer::Kind::unknown) return std::nullopt;
    std::string interval = env_or("OCF_RESKEY_CRM_meta_interval", "0");
    bool probe = action == "monitor" && (interval.empty() || interval == "0");
    if (answer->kind == watch::StateAnswer::Kind::absent)
        return monitor_outcome(answer->domain, std::nullopt, probe);
    Outcome verdict = monitor_outcome(answer->domain, answer->status, probe);
    if (verdict.rc == wire::ocf::ok) {
        auto items = utilization_items(*utilization, answer->vcpus, answer->max_memory_kib);
        if (utilization_would_change(items,
                                     read_utilization_cache(utilization_cache_path(state_dir, resource))))
            return std::nullopt;
    }
    return verdict;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string action = argc > 1 ? argv[1] : "";
    if (action == "monitor" || action == "status") {
        if (auto outcome = fast_monitor(action)) {
            if (outcome->logged_as_error)
                (void)std::fprintf(stderr, "guest(%s): error: %s\n", env_or("OCF_RESOURCE_INSTANCE").c_str(),
                                   outcome->reason.c_str());
            if (!outcome->reason.empty())
                (void)std::fprintf(stderr, "ocf-exit-reason:%s\n", outcome->reason.c_str());
            return outcome->rc;
        }
    }
    run_agent(argv);
}
