#include "harness/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <vector>

#include "harness/process.hpp"
#include "support/files.hpp"
#include "util/fd.hpp"

extern char** environ;

namespace outpost::test::detail {
namespace {

std::mutex pids_mutex;
// PID -> start time of each process spawned here.
std::map<pid_t, unsigned long long>& pids()
{
    static std::map<pid_t, unsigned long long> started;
    return started;
}

// What the child reports through the error pipe when a step before exec fails.
struct ChildFailure {
    int stage;
    int error;
};
enum Stage { kStageSetns = 1, kStageStdio, kStageChdir, kStageExec, kStageParent };

const char* stage_name(int stage)
{
    switch (stage) {
        case kStageSetns:
            return "entering the network namespace";
        case kStageStdio:
            return "redirecting stdin/stdout/stderr";
        case kStageChdir:
            return "changing directory";
        case kStageExec:
            return "exec";
        case kStageParent:
            return "parent died before exec";
        default:
            return "an unknown step";
    }
}

// Only async-signal-safe calls from here on: the test may have threads (GLib, GnuTLS).
[[noreturn]] void child_fail(int pipe_fd, int stage)
{
    ChildFailure failure{stage, errno};
    ssize_t ignored = ::write(pipe_fd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

[[noreturn]] void run_child(const ChildSpec& spec, char* const* argv, char* const* envp, int devnull,
                            int pipe_fd, pid_t parent)
{
    // A test that crashes must not leave daemons running in namespaces nobody deletes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        errno = ESRCH;
        child_fail(pipe_fd, kStageParent);
    }
    ::setpgid(0, 0);

    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig)
        (void)::signal(sig, SIG_DFL);  // ignored ones survive exec

    if (spec.netns_fd >= 0 && ::setns(spec.netns_fd, CLONE_NEWNET) != 0) child_fail(pipe_fd, kStageSetns);
    if (::dup2(devnull, STDIN_FILENO) < 0) child_fail(pipe_fd, kStageStdio);
    if (spec.output_fd >= 0) {
        if (::dup2(spec.output_fd, STDOUT_FILENO) < 0 || ::dup2(spec.output_fd, STDERR_FILENO) < 0) {
            child_fail(pipe_fd, kStageStdio);
        }
    }
    if (!spec.working_dir.empty() && ::chdir(spec.working_dir.c_str()) != 0) child_fail(pipe_fd, kStageChdir);

    // Every inherited descriptor above stderr closes at exec (the error pipe included, which
    // is how the parent learns that exec succeeded).
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 65536; ++fd)
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execve(argv[0], argv, envp);
    child_fail(pipe_fd, kStageExec);
}

}  // namespace

Result<pid_t> spawn_child(const ChildSpec& spec)
{
    if (spec.argv.empty()) return make_error("harness", -EINVAL, "spawn: empty argv");

    // Everything the child needs is built before fork: it must not allocate.
    std::vector<std::string> env_strings;
    {
        std::map<std::string, std::string> merged;
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            std::string entry(*e);
            auto eq = entry.find('=');
            if (eq == std::string::npos) continue;
            merged[entry.substr(0, eq)] = entry.substr(eq + 1);
        }
        for (const auto& [name, value] : spec.env)
            merged[name] = value;
        env_strings.reserve(merged.size());
        for (const auto& [name, value] : merged) {
            std::string entry = name;
            entry += '=';
            entry += value;
            env_strings.push_back(std::move(entry));
        }
    }
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);

    std::vector<std::string> argv_strings = spec.argv;
    std::vector<char*> argv;
    argv.reserve(argv_strings.size() + 1);
    for (auto& s : argv_strings)
        argv.push_back(s.data());
    argv.push_back(nullptr);

    UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull.valid())
        return make_error("harness", -errno, std::string("open /dev/null: ") + strerror(errno));
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return make_error("harness", -errno, std::string("pipe2: ") + strerror(errno));
    }
    UniqueFd pipe_read(pipe_fds[0]);
    UniqueFd pipe_write(pipe_fds[1]);

    pid_t parent = ::getpid();
    std::shared_lock<std::shared_mutex> forking(fork_lock());  // until the child has exec'd
    pid_t pid = ::fork();
    if (pid < 0) return make_error("harness", -errno, std::string("fork: ") + strerror(errno));
    if (pid == 0) run_child(spec, argv.data(), envp.data(), devnull.get(), pipe_write.get(), parent);

    remember_pid(pid);
    pipe_write.reset();
    ChildFailure failure{};
    ssize_t n;
    do {
        n = ::read(pipe_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return pid;  // the pipe closed at exec: the program runs

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof failure)) {
        return make_error("harness", -EIO, "spawn " + join_argv(spec.argv) + ": child failed before exec");
    }
    return make_error("harness", -failure.error,
                      "spawn " + join_argv(spec.argv) + ": " + stage_name(failure.stage) +
                          " failed: " + strerror(failure.error));
}

void remember_pid(pid_t pid)
{
    // The child exists (it may not have exec'd yet): its start time is fixed at fork.
    auto stat = read_process_stat(pid);
    std::lock_guard lock(pids_mutex);
    pids()[pid] = stat ? stat->start_time : 0;
}

}  // namespace outpost::test::detail

namespace outpost::test {

bool started_by_harness(pid_t pid)
{
    auto stat = read_process_stat(pid);
    if (!stat) return false;
    std::lock_guard lock(detail::pids_mutex);
    auto it = detail::pids().find(pid);
    return it != detail::pids().end() && it->second == stat->start_time;
}

std::optional<ProcessStat> read_process_stat(pid_t pid)
{
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!stat) return std::nullopt;
    // After "(comm)", which may hold spaces: state is field 3, ppid 4, starttime 22
    // (1-based over the whole line).
    auto paren = stat->rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(stat->substr(paren + 2));
    std::vector<std::string> values;
    std::string field;
    while (fields >> field)
        values.push_back(field);
    if (values.size() < 20) return std::nullopt;
    try {
        return ProcessStat{static_cast<pid_t>(std::stol(values[1])), std::stoull(values[19]),
                           values[0].empty() ? '?' : values[0][0]};
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace outpost::test
