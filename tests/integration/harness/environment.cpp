#include "harness/environment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/command.hpp"
#include "harness/files.hpp"
#include "harness/netns.hpp"
#include "harness/process.hpp"

namespace outpost::test {

std::optional<std::string> root_and_netns_unavailable()
{
    static std::once_flag once;
    static std::optional<std::string> reason;
    std::call_once(once, [] {
        if (::geteuid() != 0) {
            reason = "needs root to create network namespaces (running as uid " +
                     std::to_string(::geteuid()) + "); CI runs as root";
            return;
        }
        if (auto ip = find_program("ip"); !ip) {
            reason = "iproute2's `ip` is not installed (" + ip.error().message + ")";
            return;
        }
        // `ip netns list` can work where creating one does not (e.g. without CAP_SYS_ADMIN
        // in a container): try the real thing once.
        auto probe = Netns::create();
        if (!probe) {
            reason = "cannot create a network namespace with a veth pair: " + probe.error().message;
            return;
        }
        if (auto s = probe->destroy(); !s) reason = "cannot delete a network namespace: " + s.error().message;
    });
    return reason;
}

void report_skip(const std::string& what, const std::string& why)
{
    (void)std::fprintf(stderr, "SKIP: %s: %s\n", what.c_str(), why.c_str());
    (void)std::fflush(stderr);
}

void skip_executable(const std::string& what, const std::string& why)
{
    report_skip(what, why);
    (void)std::fflush(stdout);
    std::exit(kSkipExitCode);
}

Status check_corosync_conf(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    auto content = read_file(path, 1 << 20);
    if (!content) {
        return make_error("harness", content.error().code,
                          "refusing to run: cannot read " + path.string() +
                              " to check that it is ours: " + content.error().message);
    }
    auto newline = content->find('\n');
    std::string_view first_line(content->data(), newline == std::string::npos ? content->size() : newline);
    if (first_line != kCorosyncConfMarker && !is_unmodified_conffile(path, "corosync")) {
        return make_error("harness", -EEXIST,
                          "refusing to run: " + path.string() +
                              " exists, is not the corosync package's unmodified default and was not written "
                              "by the Outpost test harness: this machine may belong to a real cluster (move "
                              "the file away if it is a leftover)");
    }
    return {};
}

bool is_unmodified_conffile(const std::filesystem::path& path, const std::string& package)
{
    // dpkg records "<path> <md5>" for every configuration file a package ships.
    auto listed = run_command({"dpkg-query", "-W", "-f=${Conffiles}\\n", package});
    if (!listed || !listed->succeeded()) return false;
    std::string expected;
    std::istringstream lines(listed->output);
    std::string file, md5;
    while (lines >> file >> md5) {
        if (file == path.string()) expected = md5;
        std::string rest;
        std::getline(lines, rest);  // "obsolete" / "remove-on-upgrade" markers
    }
    if (expected.empty()) return false;
    auto summed = run_command({"md5sum", path.string()});
    if (!summed || !summed->succeeded()) return false;
    return summed->output.compare(0, expected.size(), expected) == 0 &&
           summed->output.size() > expected.size() && summed->output[expected.size()] == ' ';
}

Status check_cluster_processes()
{
    std::string foreign;
    for (const char* comm : {"corosync", "pacemakerd"}) {
        for (pid_t pid : find_processes_named(comm)) {
            if (started_by_harness(pid)) continue;
            foreign += std::string(foreign.empty() ? "" : ", ") + comm + "[" + std::to_string(pid) + "]";
        }
    }
    if (!foreign.empty()) {
        return make_error("harness", -EBUSY,
                          "refusing to run: cluster processes not started by this test are running: " +
                              foreign + "; the tests never touch a real cluster");
    }
    return {};
}

Status refuse_if_real_cluster()
{
    if (auto s = check_corosync_conf(kCorosyncConfPath); !s) return s;
    return check_cluster_processes();
}

std::vector<pid_t> find_processes_named(std::string_view comm)
{
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return found;
    while (dirent* entry = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || pid <= 0) continue;
        auto name = read_file(std::string("/proc/") + entry->d_name + "/comm", 256);
        if (!name) continue;  // gone meanwhile
        std::string text = *name;
        while (!text.empty() && text.back() == '\n')
            text.pop_back();
        if (text != comm) continue;
        // A zombie is not running: its parent just has not reaped it yet.
        auto stat = read_file(std::string("/proc/") + entry->d_name + "/stat", 4096);
        if (stat) {
            auto paren = stat->rfind(')');
            if (paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z') continue;
        }
        found.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
    return found;
}

Result<UniqueFd> take_cluster_lock()
{
    return take_machine_lock(kClusterLockPath, "another test process's cluster");
}

Result<UniqueFd> take_machine_lock(const char* path, const std::string& holder)
{
    auto failed = [](const std::string& what) {
        int err = errno;
        return make_error("harness", -err, what + ": " + std::strerror(err));
    };
    if (::mkdir(kLockDir, 0755) != 0 && errno != EEXIST) return failed(std::string("mkdir ") + kLockDir);
    UniqueFd fd(::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return failed(std::string("open ") + path);
    auto deadline = std::chrono::steady_clock::now() + kClusterLockWait;
    bool told = false;
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) return failed(std::string("flock ") + path);
        if (std::chrono::steady_clock::now() >= deadline) {
            return make_error("harness", -EBUSY, holder + " held " + path + " for too long");
        }
        if (!told) {
            (void)std::fprintf(stderr, "waiting for %s to finish (%s)\n", holder.c_str(), path);
            told = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return fd;
}

}  // namespace outpost::test
