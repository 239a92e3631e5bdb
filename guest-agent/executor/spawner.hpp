// Spawner: how the executor runs agent processes. The executor describes a child completely
// and gets exactly one ChildOutcome back on the main loop; ProcessSpawner is the real one,
// tests and the dispatcher fuzz target substitute a recorder that never starts a process.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace outpost::agent::executor {

// Each of stdout and stderr is captured up to this many bytes; the rest is read and
// dropped (so the child never blocks on a full pipe) except for a short tail, which
// keeps the agent's last lines (and its last exit reason) visible.
inline constexpr std::size_t kMaxCapturedOutput = std::size_t{1024} * 1024;
inline constexpr std::size_t kCapturedTail = 4096;

// Credentials to switch to in the child (alerts run as hacluster). Resolved before fork:
// name lookups are not async-signal-safe.
struct RunAs {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

struct SpawnRequest {
    std::string path;               // executable (absolute, or found in PATH by the caller)
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // complete environment, "NAME=value"
    std::uint32_t timeout_ms = 0;   // 0 = no timeout
    bool kill_group = true;         // false: kills hit only the pid (CRM_meta_on_fail=block)
    std::string working_dir;        // chdir there if it exists; empty = inherit
    std::optional<RunAs> run_as;
    std::size_t output_cap = kMaxCapturedOutput;
    std::string label;  // for log lines, e.g. "rsc1_monitor_10000"
    // cgroup membership files (v1 `tasks`, v2 `cgroup.procs`) the child writes itself into
    // before exec (isolation/manager.hpp):
    // it execs only once inside every one of them, or fails to start with that errno.
    std::vector<std::string> cgroup_procs;
    // The child's stdin (fence agents read their arguments there); empty: /dev/null. Written
    // whole into a pipe before the child starts, so at most kMaxSpawnInput bytes.
    std::string input;
};

inline constexpr std::size_t kMaxSpawnInput = std::size_t{16} * 1024;

enum class ChildEnd {
    exited,        // exit_code is valid
    signaled,      // killed by `signal` (including our own kill() for cancellation)
    timed_out,     // killed by us after timeout_ms
    spawn_failed,  // could not start; `error` is the errno
};

struct ChildOutcome {
    ChildEnd end = ChildEnd::exited;
    int exit_code = 0;
    int signal = 0;
    int error = 0;
    pid_t pid = 0;
    std::string out;  // captured stdout (with a truncation note if it was capped)
    std::string err;  // captured stderr (idem)
};

// A SpawnRequest says everything (path, argv, full environment, timeout, which processes a
// kill hits, user, working directory); the daemon's implementation applies the hygiene of
// docs/protocol.md 5.6.
class Spawner {
public:
    using ChildId = std::uint64_t;
    using Callback = std::function<void(ChildOutcome)>;

    virtual ~Spawner() = default;

    // Starts the child. `done` runs exactly once, always from the main loop and never from
    // inside spawn() itself (callers rely on that to send a reply before a result).
    virtual ChildId spawn(SpawnRequest request, Callback done) = 0;

    // SIGKILLs the child (its group unless kill_group was false). The outcome is still
    // delivered through the callback, as `signaled`. Returns false if the id is unknown.
    virtual bool kill(ChildId id) = 0;

    // Number of children started and not yet reported.
    [[nodiscard]] virtual std::size_t running() const = 0;
};

}  // namespace outpost::agent::executor
