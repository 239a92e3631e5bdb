// Process: RAII owner of one child process started by an integration test.
//
// spawn() forks and execs argv with the test's environment plus `env`, optionally inside a
// network namespace (setns in the child, so pid() is the daemon itself, not a wrapper),
// stdout and stderr appended to a log file, stdin from /dev/null, all other descriptors
// closed, its own process group, and PR_SET_PDEATHSIG so a crashed test leaves no daemon
// behind. Exec failures are reported by spawn() itself, not as a mysterious exit 127.
// PR_SET_PDEATHSIG fires when the spawning *thread* exits: spawn from a thread that
// outlives the child (normally the test's main thread).
//
// The destructor stops a still-running child: SIGTERM, then SIGKILL after a grace period,
// always by PID, and reaps it. Signals go to the PID only, never to a name or a group.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/command.hpp"
#include "util/result.hpp"

namespace outpost::test {

class Netns;

inline constexpr std::chrono::milliseconds kDefaultStopGrace{5000};

struct SpawnOptions {
    std::vector<std::string> argv;      // argv[0] is resolved with find_program()
    const Netns* netns = nullptr;       // run inside this namespace; nullptr = the test's own
    EnvList env;                        // added to (or overriding) the inherited environment
    std::filesystem::path log_file;     // stdout+stderr appended here; empty = the test's own
    std::filesystem::path working_dir;  // empty = the test's own
};

class Process {
public:
    static Result<Process> spawn(SpawnOptions options);
    // The common case: argv, optionally inside `netns`, output to the test's own stdout.
    static Result<Process> spawn(std::vector<std::string> argv, const Netns* netns = nullptr);

    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const std::string& name() const { return name_; }  // basename of argv[0]
    [[nodiscard]] const std::filesystem::path& log_file() const { return log_file_; }
    [[nodiscard]] std::string describe() const;  // "pacemaker-remoted[1234]"

    // False once the child has exited (it is reaped then and its status kept).
    bool is_running();
    // Waits for the child to exit; returns its wait status, or an Error (code -ETIMEDOUT)
    // if it is still running after `timeout`.
    Result<int> wait(std::chrono::milliseconds timeout);
    // The wait status once the child has been reaped.
    [[nodiscard]] std::optional<int> wait_status() const { return status_; }
    // kill(pid, sig); an Error if the child has already been reaped.
    Status signal(int sig);
    // SIGTERM, up to `grace` to exit, then SIGKILL; returns the wait status.
    Result<int> stop(std::chrono::milliseconds grace = kDefaultStopGrace);

private:
    Process(pid_t pid, std::string name, std::filesystem::path log_file);

    pid_t pid_ = -1;
    std::string name_;
    std::filesystem::path log_file_;
    std::optional<int> status_;
};

// True if `pid` was spawned by this test process through Process or run_command(), and
// is still that process: a PID is recorded with the process's start time, because the
// kernel reuses PIDs (pid_max is 32768 on many machines, and a long test run beside a
// cluster goes through that many).
bool started_by_harness(pid_t pid);

// From /proc/PID/stat: the state, the parent's PID and the start time (clock ticks since boot), which
// with the PID names one process for good; nullopt once it is gone.
struct ProcessStat {
    pid_t parent = 0;
    unsigned long long start_time = 0;
    char state = '?';  // 'R', 'S', ..., 'Z' for a zombie nobody has reaped yet
};
std::optional<ProcessStat> read_process_stat(pid_t pid);

}  // namespace outpost::test
