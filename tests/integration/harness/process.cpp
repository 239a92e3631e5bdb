#include "harness/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "harness/netns.hpp"
#include "harness/spawn.hpp"
#include "util/fd.hpp"

namespace outpost::test {
namespace {

// Polling interval of wait(): short enough that a stop is noticed at once, long enough to
// cost nothing next to a daemon's start-up.
constexpr std::chrono::milliseconds kWaitPollInterval{5};

}  // namespace

Result<Process> Process::spawn(SpawnOptions options)
{
    if (options.argv.empty()) return make_error("harness", -EINVAL, "Process::spawn: empty argv");
    auto program = find_program(options.argv[0]);
    if (!program) return program.error();

    detail::ChildSpec spec;
    spec.argv = options.argv;
    spec.argv[0] = *program;
    spec.env = std::move(options.env);
    spec.working_dir = options.working_dir.string();

    UniqueFd ns_fd;
    if (options.netns != nullptr) {
        ns_fd = UniqueFd(::open(options.netns->path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns_fd.valid()) {
            return make_error("harness", -errno, "open " + options.netns->path() + ": " + strerror(errno));
        }
        spec.netns_fd = ns_fd.get();
    }
    UniqueFd log_fd;
    if (!options.log_file.empty()) {
        log_fd = UniqueFd(::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        if (!log_fd.valid()) {
            return make_error("harness", -errno,
                              "open log file " + options.log_file.string() + ": " + strerror(errno));
        }
        spec.output_fd = log_fd.get();
    }

    auto pid = detail::spawn_child(spec);
    if (!pid) return pid.error();
    return Process(*pid, std::filesystem::path(*program).filename().string(), options.log_file);
}

Result<Process> Process::spawn(std::vector<std::string> argv, const Netns* netns)
{
    SpawnOptions options;
    options.argv = std::move(argv);
    options.netns = netns;
    return spawn(std::move(options));
}

Process::Process(pid_t pid, std::string name, std::filesystem::path log_file)
    : pid_(pid), name_(std::move(name)), log_file_(std::move(log_file))
{
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      name_(std::move(other.name_)),
      log_file_(std::move(other.log_file_)),
      status_(std::exchange(other.status_, std::nullopt))
{
}

Process& Process::operator=(Process&& other) noexcept
{
    if (this != &other) {
        if (pid_ > 0 && !status_) (void)stop();
        pid_ = std::exchange(other.pid_, -1);
        name_ = std::move(other.name_);
        log_file_ = std::move(other.log_file_);
        status_ = std::exchange(other.status_, std::nullopt);
    }
    return *this;
}

Process::~Process()
{
    if (pid_ > 0 && !status_) (void)stop();
}

std::string Process::describe() const
{
    return name_ + "[" + std::to_string(pid_) + "]";
}

bool Process::is_running()
{
    if (pid_ <= 0 || status_) return false;
    int status = 0;
    pid_t rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
        status_ = status;
        return false;
    }
    return rc == 0;
}

Result<int> Process::wait(std::chrono::milliseconds timeout)
{
    if (pid_ <= 0) return make_error("harness", -ECHILD, "wait: no process");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (status_) return *status_;
        int status = 0;
        pid_t rc = ::waitpid(pid_, &status, WNOHANG);
        if (rc == pid_) {
            status_ = status;
            return status;
        }
        if (rc < 0 && errno != EINTR) {
            return make_error("harness", -errno, "waitpid " + describe() + ": " + strerror(errno));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return make_error("harness", -ETIMEDOUT,
                              describe() + " still running after " + std::to_string(timeout.count()) + " ms");
        }
        std::this_thread::sleep_for(kWaitPollInterval);
    }
}

Status Process::signal(int sig)
{
    if (pid_ <= 0) return make_error("harness", -ESRCH, "signal: no process");
    // Never signal a reaped PID: the number may already belong to someone else.
    if (!is_running()) {
        std::string why =
            status_ ? "has already " + describe_wait_status(*status_) : "is not a running child";
        return make_error("harness", -ESRCH, describe() + " " + why);
    }
    if (::kill(pid_, sig) != 0) {
        return make_error("harness", -errno, "kill " + describe() + ": " + strerror(errno));
    }
    return {};
}

Result<int> Process::stop(std::chrono::milliseconds grace)
{
    if (pid_ <= 0) return make_error("harness", -ECHILD, "stop: no process");
    if (status_) return *status_;
    if (is_running()) {
        ::kill(pid_, SIGTERM);
        auto status = wait(grace);
        if (status) return status;
        ::kill(pid_, SIGKILL);
    }
    if (status_) return *status_;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR)
            return make_error("harness", -errno, "waitpid " + describe() + ": " + strerror(errno));
    }
    status_ = status;
    return status;
}

}  // namespace outpost::test
