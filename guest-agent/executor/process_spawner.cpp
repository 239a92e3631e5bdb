#include "executor/process_spawner.hpp"

#include <fcntl.h>
#include <glib-unix.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <string>

#include "io/source.hpp"
#include "util/fd.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace outpost::agent::executor {

namespace {

const outpost::log::Category log_cat{"agent.exec.spawn"};

// Bytes read per read(2) call from a child's pipe.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
// Upper bound for the close loop when close_range(2) is unavailable.
constexpr int kMaxFallbackFd = 65536;

// Keeps the first `cap` bytes and the last kCapturedTail bytes of a stream.
class Capture {
public:
    explicit Capture(std::size_t cap) : cap_(cap) {}

    void append(const char* data, std::size_t n)
    {
        if (head_.size() < cap_) {
            std::size_t take = std::min(n, cap_ - head_.size());
            head_.append(data, take);
            data += take;
            n -= take;
        }
        if (n == 0) return;
        tail_.append(data, n);
        dropped_ += n;
        if (tail_.size() > 2 * kCapturedTail) tail_.erase(0, tail_.size() - kCapturedTail);
    }

    std::string finish()
    {
        if (dropped_ == 0) return std::move(head_);
        if (tail_.size() > kCapturedTail) tail_.erase(0, tail_.size() - kCapturedTail);
        std::size_t lost = dropped_ - tail_.size();
        if (lost == 0) return head_ + tail_;
        std::string note = "\n[outpost: output truncated, " + std::to_string(lost) +
                           " bytes not captured (limit " + std::to_string(cap_) + " bytes)]\n";
        return head_ + note + tail_;
    }

private:
    std::size_t cap_;
    std::string head_;
    std::string tail_;
    std::size_t dropped_ = 0;
};

// Moves a descriptor above 2 so the child's dup2() onto 0..2 never clobbers it.
int ensure_high(int fd)
{
    if (fd > 2) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return high;
}

bool make_pipe(UniqueFd& read_end, UniqueFd& write_end)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.reset(ensure_high(fds[0]));
    write_end.reset(ensure_high(fds[1]));
    return read_end.valid() && write_end.valid();
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void child_main(const char* path, char* const* argv, char* const* envp, int null_fd, int out_fd,
                             int err_fd, int report_fd, const char* working_dir, const RunAs* run_as,
                             const int* cgroup_fds, std::size_t cgroup_count)
{
    setpgid(0, 0);

    // Into the resource's cgroups first: whatever the agent starts is born inside them.
    for (std::size_t i = 0; i < cgroup_count; ++i) {
        if (write(cgroup_fds[i], "0", 1) != 1) {
            int e = errno;
            (void)!write(report_fd, &e, sizeof(e));
            _exit(127);
        }
    }

    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, nullptr);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);

    struct sched_param param;
    std::memset(&param, 0, sizeof(param));
    sched_setscheduler(0, SCHED_OTHER, &param);
    setpriority(PRIO_PROCESS, 0, 0);

    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0) {
        int e = errno;
        (void)!write(report_fd, &e, sizeof(e));
        _exit(127);
    }
    for (int fd = 0; fd <= 2; ++fd)
        fcntl(fd, F_SETFD, 0);

    if (run_as != nullptr) {
        if (setgroups(run_as->groups.size(), run_as->groups.data()) != 0 || setgid(run_as->gid) != 0 ||
            setuid(run_as->uid) != 0) {
            int e = errno;
            (void)!write(report_fd, &e, sizeof(e));
            _exit(127);
        }
    }
    if (working_dir != nullptr) (void)!chdir(working_dir);

    // Every fd above 2 goes at exec; the report pipe must survive until then.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < kMaxFallbackFd; ++fd) {
            if (fd != report_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }

    execve(path, argv, envp);
    int e = errno;
    (void)!write(report_fd, &e, sizeof(e));
    _exit(127);
}

// What child_main needs, for the clone() entry point.
struct ChildArgs {
    const char* path;
    char* const* argv;
    char* const* envp;
    int null_fd;
    int out_fd;
    int err_fd;
    int report_fd;
    const char* working_dir;
    const int* cgroup_fds;
    std::size_t cgroup_count;
};

int clone_entry(void* arg)
{
    const auto* a = static_cast<const ChildArgs*>(arg);
    child_main(a->path, a->argv, a->envp, a->null_fd, a->out_fd, a->err_fd, a->report_fd, a->working_dir,
               nullptr, a->cgroup_fds, a->cgroup_count);
}

// AddressSanitizer keeps shadow memory for our stack: a child running instrumented code on
// memory it shares with us leaves that shadow poisoned (false stack-buffer-overflow
// reports, failed internal checks), so sanitized builds spawn with fork().
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSpawnSharingMemory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSpawnSharingMemory = false;
#else
constexpr bool kSpawnSharingMemory = true;
#endif
#else
constexpr bool kSpawnSharingMemory = true;
#endif

// Stack of a vfork-style child: it only runs child_main up to execve().
constexpr std::size_t kCloneStackSize = std::size_t{64} * 1024;

// Starts child_main without copying our address space, as posix_spawn() does:
// clone(CLONE_VM | CLONE_VFORK) runs the child on our memory, with a stack of its own,
// while this thread waits until it has exec'd (or exited). fork() copies the page tables
// of the whole daemon and then takes copy-on-write faults in both processes, only for the
// child to throw it all away at execve(): that kernel work was the daemon's main cost per
// operation (docs/benchmarks.md, "Design decisions and their measurements").
// Only for children that keep our credentials: setuid() and friends in a child sharing
// our memory would go through glibc's all-threads set*id broadcast (run_as uses fork()).
// Signals are blocked around clone() so no handler of ours can run in the child before
// child_main() has reset them all to their defaults.
pid_t spawn_shared_vm(ChildArgs& args)
{
    static_assert(kCloneStackSize % 16 == 0);
    // The child's stack lives in this frame: CLONE_VFORK keeps us suspended (so the
    // frame stays put) until the child no longer needs it.
    alignas(64) std::array<std::byte, kCloneStackSize> stack;
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(clone_entry, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return pid;
}

}  // namespace

struct ProcessSpawner::Child {
    ChildId id = 0;
    pid_t pid = 0;
    std::string label;
    bool kill_group = true;
    Callback done;
    Capture out;
    Capture err;
    UniqueFd out_fd;
    UniqueFd err_fd;
    io::FdWatch out_watch;
    io::FdWatch err_watch;
    io::Source watch_source;
    io::Source timeout_source;
    io::Source rekill_source;
    io::Source failure_source;
    bool timed_out = false;
    bool reaped = false;

    explicit Child(std::size_t cap) : out(cap), err(cap) {}

    void send_kill() const
    {
        pid_t target = kill_group ? -pid : pid;
        if (::kill(target, SIGKILL) != 0 && errno == ESRCH && kill_group) ::kill(pid, SIGKILL);
    }

    // Reads what is available; returns false at EOF or on a hard error.
    static bool drain(int fd, Capture& capture)
    {
        char buf[kReadChunk];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof(buf));
            if (n > 0) {
                capture.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            return false;
        }
    }
};

ProcessSpawner::ProcessSpawner(GMainContext* context)
    : context_(context != nullptr ? context : g_main_context_get_thread_default())
{
}

ProcessSpawner::~ProcessSpawner()
{
    for (auto& [id, child] : children_) {
        if (child->reaped || child->pid <= 0) continue;
        child->watch_source.reset();
        child->send_kill();
        int status = 0;
        while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void ProcessSpawner::schedule_rekill(Child* child)
{
    child->rekill_source =
        io::add_timeout(context_, std::chrono::milliseconds(kRekillIntervalMs), [this, child]() {
            log_warning(log_cat, "%s: pid %d will not die, sending SIGKILL again", child->label.c_str(),
                        static_cast<int>(child->pid));
            child->send_kill();
            schedule_rekill(child);
        });
}

void ProcessSpawner::on_reaped(ChildId id, int status)
{
    auto it = children_.find(id);
    if (it == children_.end()) return;
    Child& c = *it->second;
    c.reaped = true;
    // Whatever the child wrote before it exited is in the pipes now. Descendants may keep
    // the pipes open for much longer (a daemon started by a start action), so the result
    // does not wait for end-of-file.
    if (c.out_fd.valid()) Child::drain(c.out_fd.get(), c.out);
    if (c.err_fd.valid()) Child::drain(c.err_fd.get(), c.err);
    ChildOutcome outcome;
    outcome.pid = c.pid;
    if (c.timed_out) {
        outcome.end = ChildEnd::timed_out;
        outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    } else if (WIFSIGNALED(status)) {
        outcome.end = ChildEnd::signaled;
        outcome.signal = WTERMSIG(status);
    } else {
        outcome.end = ChildEnd::exited;
        outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    finish(id, std::move(outcome));
}

Spawner::ChildId ProcessSpawner::spawn(SpawnRequest request, Callback done)
{
    ChildId id = next_id_++;
    auto child = std::make_unique<Child>(request.output_cap);
    child->id = id;
    child->label = request.label;
    child->kill_group = request.kill_group;
    child->done = std::move(done);
    Child* raw = child.get();
    children_.emplace(id, std::move(child));

    // Failures are reported from the loop like any other end: never from inside spawn().
    auto fail_later = [this, raw, id](int error) {
        log_debug(log_cat, "%s: could not start: %s", raw->label.c_str(), g_strerror(error));
        raw->failure_source = io::add_idle(context_, [this, id, error]() {
            ChildOutcome outcome;
            outcome.end = ChildEnd::spawn_failed;
            outcome.error = error;
            finish(id, std::move(outcome));
        });
        return id;
    };

    // Everything the child needs is prepared here: it may not allocate after fork().
    std::vector<char*> argv;
    argv.reserve(request.argv.size() + 2);
    for (auto& arg : request.argv)
        argv.push_back(arg.data());
    if (argv.empty()) argv.push_back(request.path.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(request.env.size() + 1);
    for (auto& var : request.env)
        envp.push_back(var.data());
    envp.push_back(nullptr);

    const char* working_dir = nullptr;
    struct stat st {};
    if (!request.working_dir.empty() && stat(request.working_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        working_dir = request.working_dir.c_str();
    }

    errno = 0;
    UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_fd.valid()) null_fd.reset(ensure_high(null_fd.release()));
    if (!request.input.empty()) {
        // The whole input fits the pipe's buffer: written now, nothing waits on the child.
        if (request.input.size() > kMaxSpawnInput) return fail_later(E2BIG);
        UniqueFd in_w;
        if (!make_pipe(null_fd, in_w)) return fail_later(errno != 0 ? errno : EMFILE);
        if (::write(in_w.get(), request.input.data(), request.input.size()) !=
            static_cast<ssize_t>(request.input.size()))
            return fail_later(errno != 0 ? errno : EIO);
    }
    UniqueFd out_r, out_w, err_r, err_w, report_r, report_w;
    if (!null_fd.valid() || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) ||
        !make_pipe(report_r, report_w)) {
        return fail_later(errno != 0 ? errno : EMFILE);
    }
    // Opened here: the child may not look up paths it was not given ready.
    std::vector<UniqueFd> cgroup_files;
    std::vector<int> cgroup_fds;
    for (const auto& procs : request.cgroup_procs) {
        UniqueFd fd(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd.valid()) {
            int error = errno;
            log_warning(log_cat, "%s: cannot open %s: %s", raw->label.c_str(), procs.c_str(),
                        g_strerror(error));
            return fail_later(error);
        }
        cgroup_fds.push_back(fd.get());
        cgroup_files.push_back(std::move(fd));
    }

    pid_t pid;
    if (request.run_as || !kSpawnSharingMemory) {
        pid = fork();
        if (pid == 0) {
            child_main(request.path.c_str(), argv.data(), envp.data(), null_fd.get(), out_w.get(),
                       err_w.get(), report_w.get(), working_dir, request.run_as ? &*request.run_as : nullptr,
                       cgroup_fds.data(), cgroup_fds.size());
        }
    } else {
        ChildArgs args{request.path.c_str(), argv.data(),      envp.data(),    null_fd.get(),
                       out_w.get(),          err_w.get(),      report_w.get(), working_dir,
                       cgroup_fds.data(),    cgroup_fds.size()};
        pid = spawn_shared_vm(args);
    }
    if (pid < 0) return fail_later(errno);

    // Also set the group from this side, so a kill of -pid can never race the child's own
    // setpgid(). EACCES after the child's exec is harmless.
    setpgid(pid, pid);
    raw->pid = pid;
    out_w.reset();
    err_w.reset();
    report_w.reset();

    // The report pipe is close-on-exec: EOF means exec succeeded, an int is exec's errno.
    int exec_error = 0;
    for (;;) {
        ssize_t n = ::read(report_r.get(), &exec_error, sizeof(exec_error));
        if (n < 0 && errno == EINTR) continue;
        if (n != static_cast<ssize_t>(sizeof(exec_error))) exec_error = 0;
        break;
    }
    if (exec_error != 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        raw->reaped = true;
        return fail_later(exec_error);
    }

    log_debug(log_cat, "%s: started pid %d", raw->label.c_str(), static_cast<int>(pid));
    g_unix_set_fd_nonblocking(out_r.get(), TRUE, nullptr);
    g_unix_set_fd_nonblocking(err_r.get(), TRUE, nullptr);
    raw->out_fd = std::move(out_r);
    raw->err_fd = std::move(err_r);

    auto watch_fd = [this](Child* c, bool is_err) {
        UniqueFd& fd = is_err ? c->err_fd : c->out_fd;
        return io::FdWatch(context_, fd.get(), G_IO_IN, [c, is_err](GIOCondition) {
            UniqueFd& own_fd = is_err ? c->err_fd : c->out_fd;
            if (!own_fd.valid()) return;
            if (Child::drain(own_fd.get(), is_err ? c->err : c->out)) return;
            // End of file: stop watching before the descriptor closes.
            (is_err ? c->err_watch : c->out_watch).reset();
            own_fd.reset();
        });
    };
    raw->out_watch = watch_fd(raw, false);
    raw->err_watch = watch_fd(raw, true);

    struct WatchData {
        ProcessSpawner* self;
        ChildId id;
    };
    GSource* watch = g_child_watch_source_new(pid);
    g_source_set_callback(
        watch,
        reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(+[](GPid, gint status, gpointer user) {
            auto* w = static_cast<WatchData*>(user);
            guarded(log_cat, "reaping a child", [&] { w->self->on_reaped(w->id, status); });
        })),
        new WatchData{this, id}, [](gpointer user) { delete static_cast<WatchData*>(user); });
    // Reaping runs ahead of pipe reads so a result goes out as soon as the child is gone.
    g_source_set_priority(watch, G_PRIORITY_HIGH);
    g_source_attach(watch, context_);
    raw->watch_source = io::Source(watch);

    if (request.timeout_ms > 0) {
        raw->timeout_source =
            io::add_timeout(context_, std::chrono::milliseconds(request.timeout_ms), [this, raw]() {
                raw->timed_out = true;
                log_debug(log_cat, "%s: pid %d timed out, sending SIGKILL to %s", raw->label.c_str(),
                          static_cast<int>(raw->pid),
                          raw->kill_group ? "its process group" : "the process only");
                raw->send_kill();
                schedule_rekill(raw);
            });
    }
    return id;
}

pid_t ProcessSpawner::pid_of(ChildId id) const
{
    auto it = children_.find(id);
    return it == children_.end() ? 0 : it->second->pid;
}

bool ProcessSpawner::kill(ChildId id)
{
    auto it = children_.find(id);
    if (it == children_.end() || it->second->reaped || it->second->pid <= 0) return false;
    it->second->send_kill();
    if (!it->second->rekill_source.active()) schedule_rekill(it->second.get());
    return true;
}

void ProcessSpawner::finish(ChildId id, ChildOutcome outcome)
{
    auto it = children_.find(id);
    if (it == children_.end()) return;
    std::unique_ptr<Child> child = std::move(it->second);
    children_.erase(it);
    outcome.out = child->out.finish();
    outcome.err = child->err.finish();
    Callback done = std::move(child->done);
    // The child record owns the sources that may be dispatching right now: destroying a
    // dispatching GSource is safe in GLib (its callback data is ref-held during dispatch).
    child.reset();
    if (done) guarded(log_cat, "the child completion handler", [&] { done(std::move(outcome)); });
}

}  // namespace outpost::agent::executor
