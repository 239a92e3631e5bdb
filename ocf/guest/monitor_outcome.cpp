#include "guest/monitor_outcome.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

namespace outpost::ocf::guest {

namespace lc = outpost::cluster::lifecycle;

Outcome monitor_outcome(const std::string& domain, const std::optional<lc::DomainStatus>& status, bool probe)
{
    if (!status) return Outcome{wire::ocf::not_running, {}, false};
    switch (lc::classify(*status)) {
        case lc::Health::running:
            return Outcome{};
        case lc::Health::stopped:
            // A recurring monitor runs only where the cluster expects the domain to run:
            // say how it ended (libvirt's reason), for a probe only when it was abnormal.
            if (!probe || lc::ended_abnormally(*status))
                return Outcome{wire::ocf::not_running, "domain " + domain + " is " + lc::describe(*status),
                               false};
            return Outcome{wire::ocf::not_running, {}, false};
        case lc::Health::failed:
            break;
    }
    return Outcome{wire::ocf::unknown_error, "domain " + domain + " is " + lc::describe(*status), true};
}

std::filesystem::path utilization_cache_path(const std::filesystem::path& state_dir,
                                             const std::string& resource)
{
    return state_dir / ("outpost-guest-" + resource + ".utilization");
}

std::map<std::string, std::string> read_utilization_cache(const std::filesystem::path& path)
{
    std::map<std::string, std::string> values;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return values;
}

std::vector<UtilizationItem> utilization_items(const UtilizationSettings& s, unsigned vcpus,
                                               std::uint64_t max_memory_kib)
{
    std::string memory_mib = std::to_string(max_memory_kib / 1024);
    return {
        {"cpu", s.unset_cpu, s.autoset_cpu, std::to_string(vcpus)},
        {"host_memory", s.unset_host_memory, s.autoset_host_memory, memory_mib},
        {"hv_memory", s.unset_hv_memory, s.autoset_hv_memory, memory_mib},
    };
}

bool utilization_would_change(const std::vector<UtilizationItem>& items,
                              const std::map<std::string, std::string>& cache)
{
    auto cached = [&](const char* name) {
        auto it = cache.find(name);
        return it == cache.end() ? std::string() : it->second;
    };
    return std::any_of(items.begin(), items.end(), [&](const UtilizationItem& item) {
        if (item.unset) return cached(item.name) != "-";
        return item.autoset && cached(item.name) != item.value;
    });
}

std::string params_fingerprint(char** environment)
{
    static constexpr std::string_view kPrefix = "OCF_RESKEY_";
    static constexpr std::string_view kMeta = "OCF_RESKEY_CRM_meta_";
    std::vector<std::string> lines;
    for (char** e = environment; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        if (entry.substr(0, kPrefix.size()) != kPrefix || entry.substr(0, kMeta.size()) == kMeta) continue;
        std::string line;  // escaped, so that one line is one parameter
        for (char ch : entry) {
            if (ch == '\\')
                line += "\\\\";
            else if (ch == '\n')
                line += "\\n";
            else
                line += ch;
        }
        lines.push_back(std::move(line));
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const auto& l : lines)
        text += l + '\n';
    return text;
}

std::filesystem::path params_checked_path(const std::filesystem::path& state_dir, const std::string& resource)
{
    return state_dir / ("outpost-guest-" + resource + ".params");
}

}  // namespace outpost::ocf::guest
