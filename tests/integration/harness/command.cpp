#include "harness/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "harness/netns.hpp"
#include "harness/spawn.hpp"
#include "util/fd.hpp"

namespace outpost::test {
namespace {

// How often run_command() checks whether the command exited while its output stays open.
constexpr long kReapCheckMs = 100;

bool is_executable_file(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

bool CommandResult::succeeded() const
{
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string CommandResult::describe() const
{
    std::string text = describe_wait_status(wait_status);
    if (!output.empty()) text += ": " + output;
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    return text;
}

Result<std::string> find_program(const std::string& name)
{
    if (name.empty()) return make_error("harness", -ENOENT, "empty program name");
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) return name;
        return make_error("harness", -ENOENT, "'" + name + "' is not an executable file");
    }
    std::string search;
    if (const char* path = std::getenv("PATH")) search = path;
    search += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";
    std::stringstream dirs(search);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        std::string candidate = dir;
        candidate += '/';
        candidate += name;
        if (is_executable_file(candidate)) return candidate;
    }
    return make_error("harness", -ENOENT, "program '" + name + "' not found in PATH or sbin directories");
}

Result<CommandResult> run_command(const std::vector<std::string>& argv, const Netns* netns,
                                  std::chrono::milliseconds timeout, const EnvList& env)
{
    if (argv.empty()) return make_error("harness", -EINVAL, "run_command: empty argv");
    auto program = find_program(argv[0]);
    if (!program) return program.error();

    detail::ChildSpec spec;
    spec.argv = argv;
    spec.argv[0] = *program;
    spec.env = env;
    UniqueFd ns_fd;
    if (netns != nullptr) {
        ns_fd = UniqueFd(::open(netns->path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns_fd.valid()) {
            return make_error("harness", -errno, "open " + netns->path() + ": " + strerror(errno));
        }
        spec.netns_fd = ns_fd.get();
    }
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return make_error("harness", -errno, std::string("pipe2: ") + strerror(errno));
    }
    UniqueFd out_read(pipe_fds[0]);
    UniqueFd out_write(pipe_fds[1]);
    spec.output_fd = out_write.get();

    auto pid = detail::spawn_child(spec);
    if (!pid) return pid.error();
    out_write.reset();

    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    bool reaped = false;
    int status = 0;
    char buffer[4096];
    auto append = [&](ssize_t n) {
        std::size_t room = kMaxCapturedOutput - result.output.size();
        result.output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
    };
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd pfd{out_read.get(), POLLIN, 0};
        int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), kReapCheckMs)));
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) {
            // A command that left a background child holding the pipe open is done when it
            // has exited itself: take what is buffered and stop reading.
            if (::waitpid(*pid, &status, WNOHANG) == *pid) {
                reaped = true;
                ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
                ssize_t n;
                while ((n = ::read(out_read.get(), buffer, sizeof buffer)) > 0)
                    append(n);
                break;
            }
            continue;
        }
        ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: the command closed its output
        append(n);
    }
    if (!reaped) {
        if (timed_out) ::kill(*pid, SIGKILL);
        while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (timed_out) {
        return make_error("harness", -ETIMEDOUT,
                          join_argv(argv) + ": still running after " + std::to_string(timeout.count()) +
                              " ms, killed; output so far: " + result.output);
    }
    result.wait_status = status;
    return result;
}

Result<std::string> run_checked(const std::vector<std::string>& argv, const Netns* netns,
                                std::chrono::milliseconds timeout)
{
    auto result = run_command(argv, netns, timeout);
    if (!result) return result.error();
    if (!result->succeeded()) {
        return make_error("harness", -EIO, join_argv(argv) + ": " + result->describe());
    }
    return std::move(result->output);
}

std::string join_argv(const std::vector<std::string>& argv)
{
    std::string text;
    for (const auto& arg : argv) {
        if (!text.empty()) text += ' ';
        bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`;&|<>*?()") == std::string::npos;
        if (plain) {
            text += arg;
        } else {
            text += '\'';
            for (char c : arg) {
                if (c == '\'') {
                    text += "'\\''";
                } else {
                    text += c;
                }
            }
            text += '\'';
        }
    }
    return text;
}

std::string describe_wait_status(int wait_status)
{
    if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        const char* name = strsignal(sig);
        return "killed by signal " + std::to_string(sig) + " (" + (name != nullptr ? name : "?") + ")" +
               (WCOREDUMP(wait_status) ? ", core dumped" : "");
    }
    return "wait status " + std::to_string(wait_status);
}

}  // namespace outpost::test
