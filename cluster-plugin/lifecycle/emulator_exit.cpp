#include "lifecycle/emulator_exit.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace outpost::cluster::lifecycle {

namespace {

std::string read_small_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::string text;
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return text;
}

// libvirt writes a comma in a -name value as two.
std::string qemu_escaped(const std::string& s)
{
    std::string out;
    for (char c : s) {
        out += c;
        if (c == ',') out += ',';
    }
    return out;
}

}  // namespace

std::optional<std::filesystem::path> emulator_pid_file(const std::string& uri, const std::string& domain)
{
    // Local system instance only: "qemu:///system" or "qemu+unix:///system", maybe "?...".
    const std::string base = uri.substr(0, uri.find('?'));
    if (base != "qemu:///system" && base != "qemu+unix:///system") return std::nullopt;
    if (domain.empty() || domain.find('/') != std::string::npos) return std::nullopt;
    return std::filesystem::path(kQemuPidDir) / (domain + ".pid");
}

bool is_qemu_of(std::string_view cmdline, const std::string& domain)
{
    const std::string want = "guest=" + qemu_escaped(domain);
    std::size_t at = 0;
    while (at < cmdline.size()) {
        std::size_t end = cmdline.find('\0', at);
        if (end == std::string_view::npos) end = cmdline.size();
        std::string_view arg = cmdline.substr(at, end - at);
        // The value ends at a single comma ("guest=NAME,debug-threads=on").
        if (arg.substr(0, want.size()) == want &&
            (arg.size() == want.size() ||
             (arg[want.size()] == ',' && (arg.size() == want.size() + 1 || arg[want.size() + 1] != ','))))
            return true;
        at = end + 1;
    }
    return false;
}

std::optional<pid_t> emulator_pid(const std::string& uri, const std::string& domain)
{
    auto file = emulator_pid_file(uri, domain);
    if (!file) return std::nullopt;
    const std::string text = read_small_file(*file);
    char* end = nullptr;
    errno = 0;
    const long pid = std::strtol(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str() || pid <= 1) return std::nullopt;
    const std::string cmdline = read_small_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (!is_qemu_of(cmdline, domain)) return std::nullopt;
    return static_cast<pid_t>(pid);
}

Result<std::unique_ptr<ProcessExit>> ProcessExit::watch(GMainContext* context, pid_t pid,
                                                        std::function<void()> exited)
{
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        const int e = errno;
        return make_error("lifecycle", -e, "pidfd_open(" + std::to_string(pid) + "): " + std::strerror(e));
    }
    std::unique_ptr<ProcessExit> w(new ProcessExit());
    w->pid_ = pid;
    w->fd_ = UniqueFd(static_cast<int>(fd));
    // Readable once the process has exited (a zombie counts: it need not be reaped).
    auto* self = w.get();
    w->watch_ = io::FdWatch(context, w->fd_.get(), G_IO_IN, [self, exited = std::move(exited)](GIOCondition) {
        self->watch_.reset();  // once
        exited();
    });
    return w;
}

}  // namespace outpost::cluster::lifecycle
