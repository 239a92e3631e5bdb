#include "harness/mounts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "harness/netns.hpp"
#include "util/fd.hpp"

namespace outpost::test {

std::vector<std::string> with_private_mounts(const std::vector<BindMount>& binds,
                                             const std::vector<std::string>& command)
{
    MountPlan plan;
    plan.binds = binds;
    return with_private_mounts(plan, command);
}

std::vector<std::string> with_private_mounts(const MountPlan& plan, const std::vector<std::string>& command)
{
    // The paths travel as positional parameters, never inside the script text.
    std::string script = "set -e";
    std::vector<std::string> params;
    for (const auto& bind : plan.binds) {
        script += "; mount --bind \"$1\" \"$2\"; shift 2";
        params.push_back(bind.source.string());
        params.push_back(bind.target.string());
    }
    for (const auto& [target, mode] : plan.tmpfs) {
        script += "; mount -t tmpfs -o mode=\"$2\" tmpfs \"$1\"; shift 2";
        params.push_back(target.string());
        params.push_back(mode);
    }
    for (const auto& overlay : plan.overlays) {
        script += "; mount -t overlay overlay -o lowerdir=\"$1:$2\" \"$2\"; shift 2";
        params.push_back(overlay.source.string());
        params.push_back(overlay.target.string());
    }
    for (const auto& dir : plan.directories) {
        script += "; mkdir -p \"$1\"; chown \"$2\" \"$1\"; chmod \"$3\" \"$1\"; shift 3";
        params.push_back(dir.path.string());
        params.push_back(dir.owner);
        params.push_back(dir.mode);
    }
    if (!plan.hostname.empty()) {
        script += "; hostname \"$1\"; shift";
        params.push_back(plan.hostname);
    }
    script += "; exec \"$@\"";
    std::vector<std::string> argv{"unshare", "--mount"};
    if (!plan.hostname.empty()) argv.emplace_back("--uts");
    argv.insert(argv.end(), {"--propagation", "private", "sh", "-c", script, "sh"});
    argv.insert(argv.end(), params.begin(), params.end());
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

namespace {

constexpr const char* kDomain = "harness";

// "/usr/lib/nagios" -> "usr-lib-nagios"
std::string lock_name(const std::filesystem::path& dir)
{
    std::string name;
    for (char c : dir.string()) {
        if (c == '/') {
            if (!name.empty()) name.push_back('-');
        } else {
            name.push_back(c);
        }
    }
    return name;
}

// The shared locks this process holds, one per mount point; released (and the directory
// removed by the last user, if the harness made it) at exit.
class MountPoints {
public:
    static MountPoints& instance()
    {
        static MountPoints points;
        return points;
    }

    Status ensure(const std::filesystem::path& dir)
    {
        std::lock_guard lock(mutex_);
        if (held_.count(dir) != 0) return {};
        if (::mkdir(kLockDir, 0755) != 0 && errno != EEXIST)
            return make_error(kDomain, -errno,
                              std::string("mkdir ") + kLockDir + ": " + std::strerror(errno));
        std::string base = std::string(kLockDir) + "/mountpoint-" + lock_name(dir);
        UniqueFd fd(::open((base + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd.valid())
            return make_error(kDomain, -errno, "open " + base + ".lock: " + std::strerror(errno));
        // Exclusive while deciding, so a process exiting cannot remove it meanwhile.
        if (::flock(fd.get(), LOCK_EX) != 0)
            return make_error(kDomain, -errno, "flock " + base + ".lock: " + std::strerror(errno));
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) {
            if (::mkdir(dir.c_str(), 0755) != 0)
                return make_error(kDomain, -errno, "mkdir " + dir.string() + ": " + std::strerror(errno));
            UniqueFd marker(::open((base + ".created").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        } else if (!S_ISDIR(st.st_mode)) {
            return make_error(kDomain, -ENOTDIR, dir.string() + " exists and is not a directory");
        }
        if (::flock(fd.get(), LOCK_SH) != 0)
            return make_error(kDomain, -errno, "flock " + base + ".lock: " + std::strerror(errno));
        held_.emplace(dir, Held{std::move(fd), base});
        return {};
    }

    MountPoints(const MountPoints&) = delete;
    MountPoints& operator=(const MountPoints&) = delete;

private:
    MountPoints() = default;
    ~MountPoints()
    {
        for (auto& [dir, held] : held_) {
            // Another test process still using it keeps its shared lock: it removes the
            // directory when it exits.
            if (::flock(held.fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
            std::string marker = held.base + ".created";
            if (::access(marker.c_str(), F_OK) == 0 && ::rmdir(dir.c_str()) == 0) ::unlink(marker.c_str());
        }
    }

    struct Held {
        UniqueFd fd;
        std::string base;
    };
    std::mutex mutex_;
    std::map<std::filesystem::path, Held> held_;
};

}  // namespace

Status ensure_mount_point(const std::filesystem::path& dir)
{
    return MountPoints::instance().ensure(dir);
}

}  // namespace outpost::test
