#include "lifecycle/pid1.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/env.hpp"

namespace outpost::agent::lifecycle {
namespace {

[[noreturn]] void run_init(pid_t daemon_pid)
{
    // Signals arrive synchronously through sigwait, so no handler runs in a half state.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);

    for (;;) {
        int signal_number = 0;
        if (sigwait(&all, &signal_number) != 0) continue;
        if (signal_number == SIGINT) _exit(0);
        if (signal_number != SIGCHLD) continue;  // an init ignores SIGTERM and friends
        for (;;) {
            int status = 0;
            pid_t reaped = waitpid(-1, &status, WNOHANG);
            if (reaped <= 0) break;
            if (reaped == daemon_pid) {
                if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
                _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
            }
        }
    }
}

}  // namespace

void run_init_if_pid1()
{
    std::string mode = env::get("PCMK_remote_pid1").value_or("");
    bool init_mode = getpid() == 1 || mode == "full";
    if (!init_mode && mode != "vars") return;

    if (auto loaded = env::load_env_file_defaults(kInitEnvFile); !loaded) {
        (void)std::fprintf(stderr, "outpost-agent: %s\n", loaded.error().describe().c_str());
    }
    if (!init_mode) return;
    setenv("PCMK_logfile", kInitLogFile, 0);
    // Tested as a non-PID-1 (PCMK_remote_pid1=full), orphans would go to the real init;
    // a child subreaper gets them like PID 1 does, so the reaping is the same code path.
    if (getpid() != 1) (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    // Block SIGCHLD before forking so a daemon that dies at once is still noticed.
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);

    pid_t pid = fork();
    if (pid < 0) {
        (void)std::fprintf(stderr, "outpost-agent: cannot fork the daemon from init: %s\n",
                           std::strerror(errno));
        std::exit(100);
    }
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &chld, nullptr);
        setsid();
        return;
    }
    run_init(pid);
}

}  // namespace outpost::agent::lifecycle
