// Pieces the per-resource isolation tests share: a throw-away OCF resource agent installed
// on this machine's filesystem, and where a process's v1 cgroups are. Inline and using
// Catch2: only test programs include it.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "harness/catch_support.hpp"
#include "support/files.hpp"

namespace outpost::test {

// `script` installed executable as <provider_dir>/<prefix>-<pid> (so test processes never
// share one); removed when the object goes, with its provider directory if that is then
// empty.
class InstalledOcfAgent {
public:
    InstalledOcfAgent(std::string provider_dir, const std::string& prefix, const std::string& script)
        : provider_dir_(std::move(provider_dir)), type_(prefix + "-" + std::to_string(::getpid()))
    {
        std::filesystem::create_directories(provider_dir_);
        path_ = provider_dir_ + "/" + type_;
        REQUIRE(write_file(path_, script, 0755).ok());
    }
    InstalledOcfAgent(const InstalledOcfAgent&) = delete;
    InstalledOcfAgent& operator=(const InstalledOcfAgent&) = delete;
    ~InstalledOcfAgent()
    {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
        std::filesystem::remove(provider_dir_, ignored);  // only if empty
    }
    [[nodiscard]] const std::string& type() const { return type_; }

private:
    std::string provider_dir_;
    std::string type_;
    std::string path_;
};

// Each v1 hierarchy of process `pid` as /proc/PID/cgroup names it ("cpu,cpuacct",
// "name=systemd") -> the process's cgroup path there.
inline std::map<std::string, std::string> v1_hierarchies_of(pid_t pid)
{
    std::map<std::string, std::string> paths;
    std::istringstream in(read_value("/proc/" + std::to_string(pid) + "/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
        const auto a = line.find(':');
        const auto b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos || b == a + 1) continue;
        paths[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
    }
    return paths;
}

// controller -> directory of process `pid`'s cgroup in the v1 memory, cpu and pids
// hierarchies, mounted at /sys/fs/cgroup/<mount> (this machine's layout; "cpu,cpuacct"
// counts as cpu).
inline std::map<std::string, std::string> v1_cgroups_of(pid_t pid)
{
    std::map<std::string, std::string> dirs;
    for (const auto& [mount, path] : v1_hierarchies_of(pid)) {
        const std::string controller = mount.substr(0, mount.find(','));
        if (controller == "memory" || controller == "cpu" || controller == "pids")
            dirs[controller] = "/sys/fs/cgroup/" + mount + path;
    }
    return dirs;
}

}  // namespace outpost::test
