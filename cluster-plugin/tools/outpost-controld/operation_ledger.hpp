// OperationLedger: the host's agent operations in flight, kept in a small file beside the
// CIB ("<cib file>.operations"), so that a daemon started after a crash (kill -9) knows
// which of them still run. The executor lives in the daemon but its children run in their
// own process groups and outlive it: a start or stop under way finishes after the daemon
// died. The restarted daemon waits for them (until each one's timeout, then kills its group
// as the executor would have) before it probes, so no probe races an operation still
// running and nothing is started twice. Each entry is a PID with the process's start time
// (a reused PID is not mistaken for the operation) and the operation's deadline.
//
// The file is rewritten on every change and never flushed to disk: a killed process
// leaves its writes in the page cache, and a machine crash ends the operations too. It is
// rewritten in place and never shortened (a shorter text is padded with blanks, which the
// reader skips): truncating it frees and re-allocates its block each time, and on a file
// system mounted with discard every truncation waited for the disk (0.7 s of the main
// loop at N=50 of bench-controld-scale, docs/benchmarks.md).
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace outpost::controld {

// The ledger is "<cib file><kLedgerSuffix>" (not a name the CIB's temporary files take).
inline constexpr const char* kLedgerSuffix = ".operations";
// At most this many entries are read back (a damaged or foreign file is not trusted further).
inline constexpr std::size_t kMaxLedgerEntries = 4096;

struct LedgerEntry {
    pid_t pid = 0;
    std::uint64_t start_time = 0;  // /proc/PID/stat field 22, clock ticks since boot
    std::int64_t deadline = 0;     // seconds since the epoch; 0 = none
};

class OperationLedger {
public:
    explicit OperationLedger(std::string path) : path_(std::move(path)) {}

    [[nodiscard]] const std::string& path() const { return path_; }
    // An operation's process started (`timeout` 0: no deadline) / ended.
    void add(std::uint64_t id, pid_t pid, std::chrono::milliseconds timeout);
    void remove(std::uint64_t id);

private:
    void save();

    std::string path_;
    std::map<std::uint64_t, LedgerEntry> entries_;
    std::size_t file_size_ = 0;  // what the file holds (padding included), once written
};

// The process's start time (/proc/PID/stat), 0 if it does not exist.
std::uint64_t process_start_time(pid_t pid);

// The entries of the ledger at `path` whose process still runs (same PID, same start time).
std::vector<LedgerEntry> still_running(const std::string& path);

// Waits (iterating `context`, so the CIB stays served) until no operation of the ledger at
// `path` runs any more; one past its deadline has its process group killed.
void await_still_running(GMainContext* context, const std::string& path);

}  // namespace outpost::controld
