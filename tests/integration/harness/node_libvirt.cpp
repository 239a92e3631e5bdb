#include "harness/node_libvirt.hpp"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>

#include "harness/cluster_stack.hpp"
#include "harness/files.hpp"
#include "harness/process.hpp"

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kQemuSystemUri = "qemu:///system";
// Measured: libvirtd answers about 0.3 s after `libvirtd -d` returns.
constexpr std::chrono::seconds kDaemonTimeout{30};
constexpr std::chrono::seconds kStopTimeout{15};
constexpr std::chrono::milliseconds kPoll{100};
constexpr std::chrono::milliseconds kVirshTimeout{120000};

Error node_lv_error(int code, std::string message)
{
    return make_error("harness.node-libvirt", code, std::move(message));
}

std::string trimmed(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
        s.pop_back();
    return s;
}

// A fixed UUID per node: only "differs between the nodes" matters to libvirt.
std::string host_uuid(unsigned nodeid)
{
    char text[40];
    (void)std::snprintf(text, sizeof text, "6f75746f-7374-4000-8000-%012u", nodeid);
    return text;
}

bool same_process(pid_t pid, unsigned long long start_time)
{
    auto stat = read_process_stat(pid);
    return stat && stat->state != 'Z' && stat->start_time == start_time;
}

}  // namespace

Result<NodeLibvirt> NodeLibvirt::prepare(const fs::path& dir, unsigned nodeid, const std::string& address,
                                         const std::string& hosts)
{
    NodeLibvirt lv;
    lv.dir_ = dir;
    std::error_code ec;
    for (const char* sub : {"etc-libvirt", "lib-libvirt", "cache-libvirt", "log-libvirt"}) {
        fs::create_directories(dir / sub, ec);
        if (ec) return node_lv_error(-ec.value(), "mkdir " + (dir / sub).string() + ": " + ec.message());
    }
    std::string libvirtd_conf =
        "listen_tls = 0\nlisten_tcp = 1\nauth_tcp = \"none\"\nauth_unix_rw = \"none\"\n"
        "host_uuid = \"" +
        host_uuid(nodeid) + "\"\n";
    std::string qemu_conf =
        "cgroup_controllers = [ ]\nsecurity_driver = \"none\"\nuser = \"root\"\n"
        "group = \"root\"\ndynamic_ownership = 0\nnamespaces = [ ]\n"
        "migration_address = \"" +
        address + "\"\nmigration_host = \"" + address + "\"\n";
    if (auto s = write_file(dir / "etc-libvirt/libvirtd.conf", libvirtd_conf, 0644); !s) return s.error();
    if (auto s = write_file(dir / "etc-libvirt/qemu.conf", qemu_conf, 0600); !s) return s.error();
    if (auto s = write_file(dir / "hosts", hosts, 0644); !s) return s.error();
    for (const char* target :
         {"/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt"}) {
        if (auto s = ensure_mount_point(target); !s) return s.error();
    }
    lv.binds_ = {{dir / "etc-libvirt", "/etc/libvirt"},
                 {dir / "lib-libvirt", "/var/lib/libvirt"},
                 {dir / "cache-libvirt", "/var/cache/libvirt"},
                 {dir / "log-libvirt", "/var/log/libvirt"},
                 {dir / "hosts", "/etc/hosts"}};
    return lv;
}

Result<NodeLibvirt::Daemon> NodeLibvirt::start_daemon(const std::string& program,
                                                      const std::vector<std::string>& args,
                                                      const std::string& pid_file)
{
    std::vector<std::string> argv = prefix_;
    argv.push_back(program);
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = run_command(argv, nullptr, kVirshTimeout);
    if (!out) return out.error();
    if (!out->succeeded()) return node_lv_error(-EIO, join_argv(argv) + " " + out->describe());
    // -d returns once the PID file is written; read it in the node's /run.
    fs::path file = "/proc/" + std::to_string(holder_) + "/root" + pid_file;
    auto deadline = std::chrono::steady_clock::now() + kDaemonTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = read_file(file, 64);
        if (text) {
            try {
                pid_t pid = std::stoi(trimmed(*text));
                auto stat = read_process_stat(pid);
                if (pid > 0 && stat && comm_of(pid) == program) return Daemon{pid, stat->start_time, program};
            } catch (const std::exception&) {
                // Half-written: read again.
            }
        }
        std::this_thread::sleep_for(kPoll);
    }
    return node_lv_error(-ETIMEDOUT, program + " -d left no PID file at " + pid_file);
}

Status NodeLibvirt::start(const std::vector<std::string>& prefix, pid_t holder)
{
    prefix_ = prefix;
    holder_ = holder;
    auto in_node = [&](std::vector<std::string> argv) {
        argv.insert(argv.begin(), prefix_.begin(), prefix_.end());
        return run_checked(argv);
    };
    const std::string cidr = std::string(kNodeVmBridgeAddress) + "/" + std::to_string(kNodeVmPrefix);
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"ip", "link", "add", kNodeVmBridge, "type", "bridge"},
             {"ip", "link", "set", kNodeVmBridge, "address", kNodeVmBridgeMac},
             {"ip", "addr", "add", cidr, "dev", kNodeVmBridge},
             {"ip", "link", "set", kNodeVmBridge, "up"}}) {
        if (auto s = in_node(argv); !s) return s.error();
    }
    auto logd = start_daemon("virtlogd", {"-d"}, "/run/virtlogd.pid");
    if (!logd) return logd.error();
    daemons_.push_back(*logd);
    auto libvirtd = start_daemon("libvirtd", {"-d", "--listen"}, "/run/libvirtd.pid");
    if (!libvirtd) return libvirtd.error();
    daemons_.push_back(*libvirtd);
    auto deadline = std::chrono::steady_clock::now() + kDaemonTimeout;
    for (;;) {
        auto answer = virsh({"uri"});
        if (answer && answer->succeeded()) return {};
        if (std::chrono::steady_clock::now() > deadline) {
            return node_lv_error(-ETIMEDOUT, std::string("libvirtd does not answer on ") + kQemuSystemUri +
                                                 ": " +
                                                 (answer ? answer->describe() : answer.error().message) +
                                                 "\n" + file_tail(dir_ / "log-libvirt/libvirtd.log"));
        }
        std::this_thread::sleep_for(kPoll);
    }
}

void NodeLibvirt::stop(std::vector<std::string>& problems)
{
    bool libvirtd_up = false;
    for (const auto& d : daemons_)
        libvirtd_up = libvirtd_up || (d.comm == "libvirtd" && same_process(d.pid, d.start_time));
    if (libvirtd_up) {
        // The cluster normally stopped them; whatever still runs goes now.
        auto names = virsh({"list", "--name"});
        std::istringstream lines(names && names->succeeded() ? names->output : std::string());
        std::string name;
        while (std::getline(lines, name)) {
            name = trimmed(name);
            if (name.empty()) continue;
            auto out = virsh({"destroy", name});
            if (!out || !out->succeeded())
                problems.push_back("virsh destroy " + name + ": " +
                                   (out ? out->describe() : out.error().message));
        }
    }
    // libvirtd before virtlogd (reverse start order).
    for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
        if (!same_process(it->pid, it->start_time)) continue;  // gone (fenced, or crashed)
        ::kill(it->pid, SIGTERM);
        auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
        while (same_process(it->pid, it->start_time) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(kPoll);
        if (same_process(it->pid, it->start_time)) {
            ::kill(it->pid, SIGKILL);
            problems.push_back(it->comm + "[" + std::to_string(it->pid) + "] ignored SIGTERM: killed");
        }
    }
    daemons_.clear();
}

Result<CommandResult> NodeLibvirt::virsh(const std::vector<std::string>& args) const
{
    std::vector<std::string> argv = prefix_;
    argv.insert(argv.end(), {"virsh", "-q", "-c", kQemuSystemUri});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, nullptr, kVirshTimeout);
}

std::vector<std::pair<pid_t, std::string>> NodeLibvirt::daemons() const
{
    std::vector<std::pair<pid_t, std::string>> out;
    for (const auto& d : daemons_)
        out.emplace_back(d.pid, d.comm);
    return out;
}

}  // namespace outpost::test
