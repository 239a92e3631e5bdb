#include "tools/outpost-controld/operation_ledger.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "util/log.hpp"

namespace outpost::controld {

namespace {

const log::Category log_cat{"controld.ledger"};

// How often the wait for a previous instance's operations looks again.
constexpr std::chrono::milliseconds kOrphanPoll{100};

// /proc/PID/stat is one line of at most a few hundred bytes.
constexpr std::size_t kMaxStatLine = 4096;

}  // namespace

std::uint64_t process_start_time(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line) || line.size() > kMaxStatLine) return 0;
    // The command name (field 2) may hold spaces and parentheses: count from its last ')'.
    const std::size_t close = line.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    // Fields 3.. follow; the start time is field 22.
    for (int i = 3; i < 22 && fields >> field; ++i) {
    }
    std::uint64_t start = 0;
    return fields >> start ? start : 0;
}

void OperationLedger::add(std::uint64_t id, pid_t pid, std::chrono::milliseconds timeout)
{
    if (pid <= 0) return;
    LedgerEntry entry;
    entry.pid = pid;
    entry.start_time = process_start_time(pid);
    if (timeout.count() > 0)
        entry.deadline = static_cast<std::int64_t>(std::time(nullptr)) +
                         std::chrono::ceil<std::chrono::seconds>(timeout).count();
    entries_[id] = entry;
    save();
}

void OperationLedger::remove(std::uint64_t id)
{
    if (entries_.erase(id) > 0) save();
}

void OperationLedger::save()
{
    std::string text;
    for (const auto& [id, e] : entries_)
        text += std::to_string(e.pid) + " " + std::to_string(e.start_time) + " " +
                std::to_string(e.deadline) + "\n";
    // Never shorter than before (see the header): the rest is one line of blanks.
    if (text.size() < file_size_) text += std::string(file_size_ - text.size() - 1, ' ') + "\n";
    // Written in place: a torn line after a kill in the middle of a write is skipped when
    // read, and so are the older entries a kill could leave after it (their processes ended:
    // an entry only goes when its operation did). The first write truncates what an earlier
    // daemon left.
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (file_size_ == 0 ? O_TRUNC : 0);
    const int fd = ::open(path_.c_str(), flags, 0600);
    if (fd < 0) {
        log_warning(log_cat, "Cannot write %s: %s", path_.c_str(), std::strerror(errno));
        return;
    }
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    (void)::close(fd);
    file_size_ = std::max(file_size_, done);
}

std::vector<LedgerEntry> still_running(const std::string& path)
{
    std::vector<LedgerEntry> running;
    std::ifstream in(path);
    std::string line;
    while (in && running.size() < kMaxLedgerEntries && std::getline(in, line)) {
        std::istringstream fields(line);
        LedgerEntry e;
        long long pid = 0;
        if (!(fields >> pid >> e.start_time >> e.deadline) || pid <= 1 || pid > 0x3fffffff) continue;
        e.pid = static_cast<pid_t>(pid);
        if (e.start_time != 0 && process_start_time(e.pid) == e.start_time) running.push_back(e);
    }
    return running;
}

void await_still_running(GMainContext* context, const std::string& path)
{
    std::vector<LedgerEntry> left = still_running(path);
    if (left.empty()) return;
    log_notice(log_cat, "Waiting for %zu agent operation(s) a previous outpost-controld left running",
               left.size());
    while (!left.empty()) {
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        for (const LedgerEntry& e : left) {
            if (e.deadline == 0 || now <= e.deadline) continue;
            // Past its timeout: what the executor would have done.
            log_warning(log_cat, "Killing the process group of %d: past its operation's timeout",
                        static_cast<int>(e.pid));
            (void)::kill(-e.pid, SIGKILL);
            (void)::kill(e.pid, SIGKILL);
        }
        // The CIB stays served meanwhile.
        const auto until = std::chrono::steady_clock::now() + kOrphanPoll;
        while (std::chrono::steady_clock::now() < until) {
            if (!g_main_context_iteration(context, FALSE)) ::usleep(10000);
        }
        left = still_running(path);
    }
    log_notice(log_cat, "The previous outpost-controld's agent operations have ended");
}

}  // namespace outpost::controld
