#include "harness/libvirt.hpp"

#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/environment.hpp"
#include "harness/files.hpp"
#include "harness/netns.hpp"
#include "harness/peers.hpp"

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUnifiedControllers = "/sys/fs/cgroup/unified/cgroup.controllers";
constexpr const char* kHugetlbMount = "/sys/fs/cgroup/hugetlb";
constexpr const char* kKvmDevice = "/dev/kvm";
constexpr const char* kKvmGroup = "kvm";
constexpr mode_t kKvmMode = 0660;
constexpr const char* kLibvirtdPidFile = "/run/libvirtd.pid";
constexpr const char* kVirtlogdPidFile = "/run/virtlogd.pid";
constexpr const char* kLxcStateDir = "/run/libvirt/lxc";
constexpr const char* kBusybox = "/bin/busybox";
// fetch-kernel.sh downloads about 70 MB once.
constexpr std::chrono::milliseconds kFetchTimeout{600000};
// cpio + gzip -1 of ~60 MB: about 2.5 s measured.
constexpr std::chrono::milliseconds kArchiveTimeout{300000};
constexpr std::chrono::milliseconds kVirshTimeout{120000};
constexpr std::chrono::milliseconds kPoll{100};

Error lv_error(int code, std::string message)
{
    return make_error("harness.libvirt", code, std::move(message));
}

std::string errno_text(int err)
{
    return std::strerror(err);
}

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string trim(std::string s)
{
    while (!s.empty() && is_blank(s.back()))
        s.pop_back();
    std::size_t start = 0;
    while (start < s.size() && is_blank(s[start]))
        ++start;
    return s.substr(start);
}

// /proc/PID/stat field 22 (start time in clock ticks), 0 if the process is gone.
unsigned long long process_start_time(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    auto close = line.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    // Fields after "(comm) " start at field 3; the start time is field 22.
    for (int i = 3; i <= 22; ++i) {
        if (!(fields >> field)) return 0;
    }
    return std::stoull(field);
}

char process_state(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return 0;
    return line[close + 2];
}

std::string process_comm(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

bool is_mount_point(const fs::path& path)
{
    struct stat self {};
    struct stat parent {};
    if (::stat(path.c_str(), &self) != 0) return false;
    if (::stat(path.parent_path().c_str(), &parent) != 0) return false;
    return self.st_dev != parent.st_dev;
}

Status run_ok(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = kDefaultCommandTimeout)
{
    auto out = run_checked(argv, nullptr, timeout);
    if (!out) return out.error();
    return {};
}

std::uintmax_t tree_bytes(const fs::path& root)
{
    std::uintmax_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_regular_file(type_ec) && !it->is_symlink(type_ec)) total += it->file_size(type_ec);
    }
    return total;
}

// Copies `from` (following symlinks) to `stage` + `as`, creating directories.
Status stage_file(const fs::path& stage, const fs::path& from, const fs::path& as)
{
    fs::path target = stage / as.relative_path();
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return lv_error(-ec.value(), "create " + target.parent_path().string() + ": " + ec.message());
    fs::copy_file(from, target, fs::copy_options::overwrite_existing, ec);
    if (ec)
        return lv_error(-ec.value(),
                        "copy " + from.string() + " to " + target.string() + ": " + ec.message());
    return {};
}

// The absolute paths `ldd` names for `binary` (libraries and the dynamic loader).
Result<std::vector<std::string>> ldd_closure(const std::string& binary)
{
    auto out = run_command({"ldd", binary});
    if (!out) return out.error();
    std::vector<std::string> paths;
    std::istringstream lines(out->output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find("not a dynamic executable") != std::string::npos) return paths;
        if (line.find("not found") != std::string::npos)
            return lv_error(-ENOENT, "ldd " + binary + ": a library is missing: " + trim(line));
        // "\tlibfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" or
        // "\t/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no path.
        auto arrow = line.find("=> ");
        std::string rest = arrow == std::string::npos ? trim(line) : line.substr(arrow + 3);
        if (rest.empty() || rest[0] != '/') continue;
        paths.push_back(rest.substr(0, rest.find(' ')));
    }
    if (!out->succeeded()) return lv_error(-EINVAL, "ldd " + binary + " " + out->describe());
    return paths;
}

std::string init_script(const InitramfsSpec& spec, const std::string& daemon_in_guest)
{
    std::string modules;
    for (const char* m : kVmModules)
        modules += std::string(modules.empty() ? "" : " ") + m;
    std::string command = "env";
    for (const auto& [name, value] : spec.env)
        command.append(" ").append(shell_quote(std::string(name).append("=").append(value)));
    command += " " + shell_quote(daemon_in_guest);
    for (const auto& arg : spec.daemon_args)
        command += " " + shell_quote(arg);
    if (!spec.daemon_cgroups.empty()) {
        std::string enter;
        for (const auto& dir : spec.daemon_cgroups)
            enter += (enter.empty() ? "" : " || ") + std::string("{ echo $$ >") +
                     shell_quote(dir + "/cgroup.procs") + " && echo " +
                     shell_quote("outpost-vm: cgroup.procs of " + dir + " took the daemon") + "; }";
        command = "sh -c " + shell_quote("{ " + enter + "; } && exec \"$@\"") + " sh " + command;
    }

    std::ostringstream s;
    s << "#!/bin/sh\n"
         "# Generated by tests/integration/harness/libvirt.cpp: a guest node's whole userland.\n"
         "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
         "mount -t proc proc /proc\n"
         "mount -t sysfs sysfs /sys\n"
         "mount -t devtmpfs devtmpfs /dev\n"
         "mkdir -p /dev/shm /dev/pts\n"
         "mount -t tmpfs tmpfs /dev/shm\n"  // libqb's IPC ring buffers live there
         "mount -t tmpfs tmpfs /run\n"
         "mount -t tmpfs tmpfs /tmp\n"
         "for m in "
      << modules
      << "; do insmod /lib/modules/$m.ko || echo \"outpost-vm: insmod $m failed\"; done\n"
         "ip link set lo up\n"
         "ip addr add "
      << spec.address << "/" << kBridgePrefixLength
      << " dev eth0\n"
         "ip link set eth0 up\n"
         "hostname outpost-vm\n"
         // ACPI power button (virsh shutdown) -> SIGTERM to this init, handled below.
         "mkdir -p /etc/acpi/PWRF\n"
         "printf '#!/bin/sh\\nkill -TERM 1\\n' >/etc/acpi/PWRF/00000080\n"
         "chmod +x /etc/acpi/PWRF/00000080\n"
         "acpid -d >/dev/console 2>&1 &\n"
      << spec.setup_script << (spec.setup_script.empty() || spec.setup_script.ends_with('\n') ? "" : "\n")
      << "echo \"outpost-vm: network up, starting the daemon at $(cut -d' ' -f1 /proc/uptime) s\"\n"
      << command
      << " &\n"
         "p=$!\n"
         "trap 'echo \"outpost-vm: power button: SIGTERM to the daemon\"; kill -TERM $p' TERM\n"
         "while kill -0 $p 2>/dev/null; do wait $p; done\n";
    if (!spec.restart_flag.empty()) {
        s << "while [ -e " << shell_quote(spec.restart_flag) << " ]; do\n"
          << "  rm -f " << shell_quote(spec.restart_flag) << "\n"
          << "  echo \"outpost-vm: daemon exited, starting it again\"\n"
          << "  " << command << " &\n"
          << "  p=$!\n"
          << "  while kill -0 $p 2>/dev/null; do wait $p; done\n"
          << "done\n";
    }
    s << "echo \"outpost-vm: daemon exited, powering off\"\n"
         "poweroff -f\n";
    return s.str();
}

}  // namespace

std::string bridge_address(unsigned host)
{
    return std::string(kBridgeSubnetPrefix) + std::to_string(host);
}

std::string shell_quote(const std::string& s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

// --- LXC ---------------------------------------------------------------------------------

std::string lxc_domain_xml(const LxcGuestSpec& spec, const std::string& bridge)
{
    std::string command;
    for (const auto& arg : spec.command)
        command += (command.empty() ? "" : " ") + shell_quote(arg);
    // The daemon runs as a child so that PID 1 (sh) can turn SIGTERM into a clean stop.
    std::string init = command + " >>" + shell_quote(spec.log_file.string()) +
                       " 2>&1 & p=$!; trap 'kill -TERM $p; wait $p; exit 0' TERM; wait $p";
    std::ostringstream x;
    x << "<domain type='lxc'>\n"
      << "  <name>" << xml_escape(spec.name) << "</name>\n"
      << "  <memory unit='MiB'>" << spec.memory_mib << "</memory>\n"
      << "  <os>\n"
      << "    <type>exe</type>\n"
      << "    <init>/bin/sh</init>\n"
      << "    <initarg>-c</initarg>\n"
      << "    <initarg>" << xml_escape(init) << "</initarg>\n"
      << "    <initenv name='PATH'>/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin</initenv>\n";
    for (const auto& [name, value] : spec.env)
        x << "    <initenv name='" << xml_escape(name) << "'>" << xml_escape(value) << "</initenv>\n";
    x << "  </os>\n"
      << "  <on_poweroff>destroy</on_poweroff>\n"
      << "  <devices>\n"
      << "    <filesystem type='mount'><source dir='" << xml_escape(spec.state_dir.string())
      << "'/><target dir='/var/lib/pacemaker'/></filesystem>\n"
      << "    <filesystem type='ram'><source usage='" << spec.run_tmpfs_mib
      << "' units='MiB'/><target dir='/run'/></filesystem>\n"
      << "    <filesystem type='ram'><source usage='" << spec.shm_tmpfs_mib
      << "' units='MiB'/><target dir='/dev/shm'/></filesystem>\n"
      << "    <interface type='bridge'><source bridge='" << xml_escape(bridge) << "'/>"
      << (spec.mac.empty() ? std::string() : "<mac address='" + xml_escape(spec.mac) + "'/>")
      << "<ip address='" << xml_escape(spec.address) << "' prefix='" << kBridgePrefixLength
      << "'/></interface>\n"
      << "    <console type='pty'/>\n"
      << "  </devices>\n"
      << "</domain>\n";
    return x.str();
}

// --- QEMU --------------------------------------------------------------------------------

Result<KernelInfo> kernel()
{
    static std::mutex mutex;
    static std::optional<Result<KernelInfo>> cached;
    std::lock_guard lock(mutex);
    if (cached) return *cached;

    fs::path dir;
    if (const char* env = std::getenv("OUTPOST_KERNEL_DIR"); env != nullptr && *env != '\0') {
        dir = env;
    } else {
        auto script = source_root() / "tests/integration/fetch-kernel.sh";
        auto fetched = run_command({"bash", script.string(), (build_root() / "peers" / "kernel").string()},
                                   nullptr, kFetchTimeout);
        if (!fetched) {
            cached = fetched.error();
            return *cached;
        }
        if (!fetched->succeeded()) {
            cached = lv_error(-ENOENT, script.string() + " " + fetched->describe());
            return *cached;
        }
        std::string out = trim(fetched->output);
        auto newline = out.rfind('\n');
        dir = newline == std::string::npos ? out : out.substr(newline + 1);
    }
    KernelInfo info;
    info.dir = dir;
    auto release = read_file(dir / "release");
    if (!release) {
        cached = lv_error(-ENOENT, "no kernel at " + dir.string() + " (missing release file)");
        return *cached;
    }
    info.release = trim(*release);
    info.bzimage = dir / "boot" / ("vmlinuz-" + info.release);
    info.modules = dir / "lib" / "modules" / info.release;
    if (fs::exists(dir / "vmlinux")) info.vmlinux = dir / "vmlinux";
    if (!fs::exists(info.bzimage) || !fs::is_directory(info.modules)) {
        cached = lv_error(-ENOENT, "incomplete kernel tree at " + dir.string());
        return *cached;
    }
    cached = info;
    return *cached;
}

Result<InitramfsInfo> build_initramfs(const InitramfsSpec& spec)
{
    std::error_code ec;
    fs::path stage = spec.work_dir / "stage";
    fs::remove_all(stage, ec);
    for (const char* d : {"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "tmp",
                          "etc/pacemaker", "var/lib/pacemaker", "var/log", "lib/modules"}) {
        fs::create_directories(stage / d, ec);
        if (ec) return lv_error(-ec.value(), "create " + (stage / d).string() + ": " + ec.message());
    }
    fs::create_directory_symlink("../run", stage / "var/run", ec);

    // busybox: must be the static one (busybox-static), there is no libc for it otherwise.
    auto bb_libs = ldd_closure(kBusybox);
    if (!bb_libs || !bb_libs->empty())
        return lv_error(-ENOENT, std::string(kBusybox) + " is missing or not static: install busybox-static");
    if (auto s = stage_file(stage, kBusybox, "/bin/busybox"); !s) return s.error();
    auto applets = run_checked({kBusybox, "--list"});
    if (!applets) return applets.error();
    std::istringstream names(*applets);
    std::string applet;
    while (std::getline(names, applet)) {
        // "busybox" itself is listed too: a link to itself would be a loop.
        if (applet.empty() || applet == "busybox" || fs::exists(stage / "bin" / applet)) continue;
        fs::create_symlink("busybox", stage / "bin" / applet, ec);
    }

    for (const char* module : kVmModules) {
        fs::path found;
        for (auto it = fs::recursive_directory_iterator(spec.kernel.modules, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (it->path().filename() == std::string(module) + ".ko") {
                found = it->path();
                break;
            }
        }
        if (found.empty())
            return lv_error(-ENOENT, std::string("kernel module ") + module + ".ko not found under " +
                                         spec.kernel.modules.string());
        if (auto s = stage_file(stage, found, std::string("/lib/modules/") + module + ".ko"); !s)
            return s.error();
    }

    InitramfsInfo info;
    fs::path daemon_in_guest = fs::path("/usr/sbin") / fs::path(spec.daemon).filename();
    fs::path daemon_staged = stage / daemon_in_guest.relative_path();
    if (spec.strip_daemon) {
        if (auto s = run_ok({"strip", "-o", daemon_staged.string(), spec.daemon}); !s) return s.error();
    } else if (auto s = stage_file(stage, spec.daemon, daemon_in_guest); !s) {
        return s.error();
    }
    info.daemon_bytes = fs::file_size(daemon_staged, ec);
    auto libs = ldd_closure(spec.daemon);
    if (!libs) return libs.error();
    for (const auto& lib : *libs) {
        if (auto s = stage_file(stage, lib, lib); !s) return s.error();
        info.daemon_bytes += fs::file_size(stage / fs::path(lib).relative_path(), ec);
    }
    info.libraries = *libs;
    for (const auto& binary : spec.binaries) {
        auto closure = ldd_closure(binary.string());
        if (!closure) return closure.error();
        closure->push_back(binary.string());
        for (const auto& file : *closure) {
            if (fs::exists(stage / fs::path(file).relative_path())) continue;
            if (auto s = stage_file(stage, file, file); !s) return s.error();
        }
    }

    if (!spec.authkey.empty()) {
        if (auto s = stage_file(stage, spec.authkey, "/etc/pacemaker/authkey"); !s) return s.error();
        fs::permissions(stage / "etc/pacemaker/authkey", fs::perms::owner_read | fs::perms::owner_write, ec);
    }
    for (const auto& tree : spec.trees) {
        fs::path target = stage / tree.relative_path();
        fs::create_directories(target.parent_path(), ec);
        fs::copy(tree, target, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
        if (ec) return lv_error(-ec.value(), "copy " + tree.string() + ": " + ec.message());
    }
    for (const auto& [path, content] : spec.files) {
        fs::path target = stage / path.relative_path();
        fs::create_directories(target.parent_path(), ec);
        if (auto s = write_file(target, content, 0755); !s) return s.error();
    }
    if (auto s = write_file(stage / "init", init_script(spec, daemon_in_guest.string()), 0755); !s)
        return s.error();
    info.content_bytes = tree_bytes(stage);

    fs::path tmp = spec.output.string() + ".tmp";
    auto archived =
        run_command({"bash", "-c",
                     "set -o pipefail; cd " + shell_quote(stage.string()) + " && find . | " + kBusybox +
                         " cpio -o -H newc 2>/dev/null | gzip -1 >" + shell_quote(tmp.string())},
                    nullptr, kArchiveTimeout);
    if (!archived) return archived.error();
    if (!archived->succeeded()) return lv_error(-EIO, "building the initramfs " + archived->describe());
    fs::rename(tmp, spec.output, ec);
    if (ec) return lv_error(-ec.value(), "rename " + tmp.string() + ": " + ec.message());
    fs::remove_all(stage, ec);
    info.path = spec.output;
    info.compressed_bytes = fs::file_size(spec.output, ec);
    return info;
}

VmGuestSpec vm_for_initramfs(std::string name, std::filesystem::path kernel, const InitramfsInfo& initrd,
                             std::filesystem::path console_log)
{
    VmGuestSpec vm;
    vm.name = std::move(name);
    vm.kernel = std::move(kernel);
    vm.initrd = initrd.path;
    vm.console_log = std::move(console_log);
    const auto image_mib = static_cast<unsigned>((initrd.content_bytes * 2 + initrd.compressed_bytes) >> 20);
    vm.memory_mib = std::max(vm.memory_mib, image_mib + 128);
    return vm;
}

std::string qemu_domain_xml(const VmGuestSpec& spec, const std::string& bridge)
{
    const char* append = spec.console_append ? " append='on'" : "";
    std::ostringstream x;
    x << "<domain type='qemu'>\n"
      << "  <name>" << xml_escape(spec.name) << "</name>\n"
      << "  <memory unit='MiB'>" << spec.memory_mib << "</memory>\n"
      << "  <vcpu>1</vcpu>\n"
      << "  <os>\n"
      << "    <type arch='x86_64' machine='pc'>hvm</type>\n"
      << "    <kernel>" << xml_escape(spec.kernel.string()) << "</kernel>\n"
      << "    <initrd>" << xml_escape(spec.initrd.string()) << "</initrd>\n"
      << "    <cmdline>console=ttyS0 quiet panic=-1</cmdline>\n"
      << "  </os>\n"
      << "  <features><acpi/></features>\n"
      << "  <on_poweroff>destroy</on_poweroff>\n"
      << "  <on_reboot>destroy</on_reboot>\n"
      << "  <on_crash>destroy</on_crash>\n"
      << "  <devices>\n"
      << "    <controller type='usb' model='none'/>\n"
      << "    <interface type='bridge'><source bridge='" << xml_escape(bridge)
      << "'/><model type='virtio'/></interface>\n"
      << "    <serial type='file'><source path='" << xml_escape(spec.console_log.string()) << "'" << append
      << "/><target port='0'/></serial>\n"
      << "    <console type='file'><source path='" << xml_escape(spec.console_log.string()) << "'" << append
      << "/><target type='serial' port='0'/></console>\n"
      << "    <memballoon model='none'/>\n"
      << "  </devices>\n"
      << "</domain>\n";
    return x.str();
}

// --- LibvirtHarness ----------------------------------------------------------------------

Result<std::unique_ptr<LibvirtHarness>> LibvirtHarness::start(const LibvirtOptions& options)
{
    if (::geteuid() != 0) return lv_error(-EPERM, "libvirt guests need root");
    for (const char* tool : {"libvirtd", "virsh", "ip"}) {
        if (auto found = find_program(tool); !found)
            return lv_error(-ENOENT,
                            std::string(tool) +
                                " not found: install the libvirt packages listed in scripts/packages.txt");
    }
    if (options.qemu) {
        for (const char* tool : {"virtlogd", "qemu-system-x86_64"}) {
            if (auto found = find_program(tool); !found)
                return lv_error(-ENOENT, std::string(tool) +
                                             " not found: install qemu-system-x86 and "
                                             "libvirt-daemon-driver-qemu (scripts/packages.txt)");
        }
    }
    std::unique_ptr<LibvirtHarness> h(new LibvirtHarness());
    auto waited = std::chrono::steady_clock::now();
    auto lock = take_machine_lock(kLibvirtLockPath, "another test process's libvirt guests");
    if (!lock) return lock.error();
    h->lock_ = std::move(*lock);
    h->lock_wait_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - waited).count();
    if (h->lock_wait_s_ >= 1)
        h->notes_.push_back("waited " + std::to_string(static_cast<int>(h->lock_wait_s_)) +
                            " s for the libvirt lock");
    if (auto s = h->bring_up(options); !s) {
        auto stopped = h->stop();
        std::string message = s.error().message;
        if (!stopped) message += "\nteardown also failed: " + stopped.error().message;
        return lv_error(s.error().code, message);
    }
    return h;
}

Result<LibvirtHarness::Daemon> LibvirtHarness::start_daemon(const std::string& program,
                                                            const fs::path& pid_file)
{
    auto path = find_program(program);
    if (!path) return path.error();
    if (auto s = run_ok({*path, "-d"}); !s) return s.error();
    // -d returns once the daemon has written its PID file; poll in case it has not yet.
    auto deadline = std::chrono::steady_clock::now() + kLibvirtdStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = read_file(pid_file, 64);
        if (text) {
            try {
                pid_t pid = std::stoi(trim(*text));
                if (pid > 0 && process_comm(pid) == program) {
                    Daemon d{pid, process_start_time(pid), program};
                    notes_.push_back("started " + program + "[" + std::to_string(pid) + "]");
                    return d;
                }
            } catch (const std::exception&) {
                // Half-written file: poll again.
            }
        }
        std::this_thread::sleep_for(kPoll);
    }
    return lv_error(-ETIMEDOUT, program + " -d did not leave a PID file at " + pid_file.string());
}

Status LibvirtHarness::bring_up(const LibvirtOptions& options)
{
    std::error_code ec;
    for (const char* dir : {"/var/log/libvirt", "/var/lib/libvirt"})
        fs::create_directories(dir, ec);

    if (options.lxc) {
        // Also when cgroup2 looks empty: a v1 hugetlb hierarchy unmounted a moment ago
        // (by our own stop()) lingers until its last child cgroup goes, then the
        // controller falls back to cgroup2, possibly while libvirt starts a container.
        auto controllers = read_file(kUnifiedControllers, 4096);
        auto known = read_file("/proc/cgroups", 1 << 16);
        bool has_hugetlb = known && known->find("\nhugetlb\t") != std::string::npos;
        if (controllers && (!trim(*controllers).empty() || has_hugetlb) && !is_mount_point(kHugetlbMount)) {
            if (!fs::exists(kHugetlbMount)) {
                if (!fs::create_directory(kHugetlbMount, ec))
                    return lv_error(-ec.value(), std::string("mkdir ") + kHugetlbMount + ": " + ec.message());
                hugetlb_dir_created_ = true;
            }
            if (::mount("cgroup", kHugetlbMount, "cgroup", 0, "hugetlb") != 0) {
                int err = errno;
                return lv_error(-err, std::string("mount -t cgroup -o hugetlb cgroup ") + kHugetlbMount +
                                          ": " + errno_text(err));
            }
            hugetlb_mounted_ = true;
            notes_.push_back(std::string("mounted the v1 hugetlb cgroup at ") + kHugetlbMount +
                             " (cgroup2 holds '" + trim(*controllers) + "')");
        }
    }

    if (options.qemu) {
        struct stat st {};
        struct group* kvm = ::getgrnam(kKvmGroup);
        if (::stat(kKvmDevice, &st) == 0 && kvm != nullptr &&
            (st.st_gid != kvm->gr_gid || (st.st_mode & kKvmMode) != kKvmMode)) {
            kvm_original_ = std::make_pair(st.st_gid, st.st_mode & 07777);
            if (::chown(kKvmDevice, static_cast<uid_t>(-1), kvm->gr_gid) != 0 ||
                ::chmod(kKvmDevice, kKvmMode) != 0) {
                int err = errno;
                return lv_error(-err, std::string("chgrp/chmod ") + kKvmDevice + ": " + errno_text(err));
            }
            notes_.push_back(std::string(kKvmDevice) +
                             " set to group kvm, mode 0660 (libvirt re-probes QEMU "
                             "on every lookup otherwise)");
        }
        if (find_processes_named("virtlogd").empty()) {
            auto d = start_daemon("virtlogd", kVirtlogdPidFile);
            if (!d) return d.error();
            started_.push_back(*d);
        }
    }
    if (find_processes_named("libvirtd").empty()) {
        auto d = start_daemon("libvirtd", kLibvirtdPidFile);
        if (!d) return d.error();
        started_.push_back(*d);
    }
    // The daemon answers on its socket a moment after the PID file appears.
    std::string uri = options.qemu ? kQemuUri : kLxcUri;
    auto deadline = std::chrono::steady_clock::now() + kLibvirtdStartTimeout;
    for (;;) {
        auto answer = virsh(uri, {"uri"});
        if (answer && answer->succeeded()) break;
        if (std::chrono::steady_clock::now() > deadline) {
            return lv_error(-ETIMEDOUT, "libvirtd does not answer on " + uri + ": " +
                                            (answer ? answer->describe() : answer.error().message));
        }
        std::this_thread::sleep_for(kPoll);
    }

    bridge_ = kBridgeName;
    if (host_link_exists(bridge_)) {
        // Our name: a crashed run's leftover.
        (void)run_command({"ip", "link", "del", bridge_});
    }
    if (auto s = run_ok({"ip", "link", "add", bridge_, "type", "bridge"}); !s) return s;
    bridge_created_ = true;
    if (auto s =
            run_ok({"ip", "addr", "add",
                    std::string(kBridgeAddress) + "/" + std::to_string(kBridgePrefixLength), "dev", bridge_});
        !s)
        return s;
    if (auto s = run_ok({"ip", "link", "set", bridge_, "up"}); !s) return s;
    return {};
}

LibvirtHarness::~LibvirtHarness()
{
    try {
        auto s = stop();
        if (!s) (void)std::fprintf(stderr, "LibvirtHarness teardown: %s\n", s.error().message.c_str());
    } catch (...) {
        (void)std::fputs("LibvirtHarness teardown: exception\n", stderr);
    }
}

Status LibvirtHarness::stop()
{
    if (stopped_) return {};
    stopped_ = true;
    std::vector<std::string> problems;

    for (const auto& [uri, name] : domains_) {
        if (domain_state(uri, name).empty()) continue;
        auto out = virsh(uri, {"destroy", name});
        if (!out || (!out->succeeded() && !domain_state(uri, name).empty()))
            problems.push_back("virsh destroy " + name + ": " +
                               (out ? out->describe() : out.error().message));
    }
    if (bridge_created_) {
        auto out = run_command({"ip", "link", "del", bridge_});
        if (!out || !out->succeeded())
            problems.push_back("ip link del " + bridge_ + ": " +
                               (out ? out->describe() : out.error().message));
        bridge_created_ = false;
    }
    // libvirtd before virtlogd (reverse start order).
    for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
        const Daemon& d = *it;
        if (process_comm(d.pid) != d.comm || process_start_time(d.pid) != d.start_time) continue;  // gone
        ::kill(d.pid, SIGTERM);
        auto deadline = std::chrono::steady_clock::now() + kDaemonStopTimeout;
        auto gone = [&] {
            char state = process_state(d.pid);
            return state == 0 || state == 'Z' || process_start_time(d.pid) != d.start_time;
        };
        while (!gone() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(kPoll);
        if (!gone()) {
            ::kill(d.pid, SIGKILL);
            problems.push_back(d.comm + "[" + std::to_string(d.pid) + "] ignored SIGTERM; killed");
        }
    }
    started_.clear();
    if (kvm_original_) {
        if (::chown(kKvmDevice, static_cast<uid_t>(-1), kvm_original_->first) != 0 ||
            ::chmod(kKvmDevice, kvm_original_->second) != 0)
            problems.push_back(std::string("restoring ") + kKvmDevice + ": " + errno_text(errno));
        kvm_original_.reset();
    }
    if (hugetlb_mounted_) {
        // libvirt may leave empty child cgroups; a lazy unmount still detaches the hierarchy.
        if (::umount2(kHugetlbMount, 0) != 0 && ::umount2(kHugetlbMount, MNT_DETACH) != 0)
            problems.push_back(std::string("umount ") + kHugetlbMount + ": " + errno_text(errno));
        hugetlb_mounted_ = false;
    }
    if (hugetlb_dir_created_) {
        std::error_code ec;
        fs::remove(kHugetlbMount, ec);
        hugetlb_dir_created_ = false;
    }
    lock_.reset();  // the next libvirt test may begin
    if (problems.empty()) return {};
    std::string message = "libvirt teardown:";
    for (const auto& p : problems)
        message += "\n  " + p;
    return lv_error(-EIO, message);
}

Result<CommandResult> LibvirtHarness::virsh(const std::string& uri,
                                            const std::vector<std::string>& args) const
{
    std::vector<std::string> argv{"virsh", "-q", "-c", uri};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, nullptr, kVirshTimeout);
}

Result<std::string> LibvirtHarness::virsh_checked(const std::string& uri,
                                                  const std::vector<std::string>& args) const
{
    auto out = virsh(uri, args);
    if (!out) return out.error();
    std::vector<std::string> argv{"virsh", "-c", uri};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!out->succeeded()) return lv_error(-EIO, join_argv(argv) + " " + out->describe());
    return out->output;
}

std::string LibvirtHarness::domain_state(const std::string& uri, const std::string& name) const
{
    auto out = virsh(uri, {"domstate", name});
    if (!out || !out->succeeded()) return "";
    return trim(out->output);
}

Status LibvirtHarness::create_domain(const std::string& uri, const fs::path& xml_file,
                                     const std::string& name)
{
    track_domain(uri, name);
    auto out = virsh_checked(uri, {"create", xml_file.string()});
    if (!out) return out.error();
    return {};
}

void LibvirtHarness::track_domain(const std::string& uri, const std::string& name)
{
    for (const auto& d : domains_)
        if (d.first == uri && d.second == name) return;
    domains_.emplace_back(uri, name);
}

std::optional<pid_t> LibvirtHarness::lxc_init_pid(const std::string& name) const
{
    auto text = read_file(fs::path(kLxcStateDir) / (name + ".pid"), 64);
    if (!text) return std::nullopt;
    pid_t controller = 0;
    try {
        controller = std::stoi(trim(*text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    std::string task = std::to_string(controller);
    std::ifstream in("/proc/" + task + "/task/" + task + "/children");
    pid_t child = 0;
    if (!(in >> child) || child <= 0) return std::nullopt;
    return child;
}

std::string LibvirtHarness::describe_setup() const
{
    std::string out;
    for (const auto& n : notes_)
        out += (out.empty() ? "" : "; ") + n;
    return out.empty() ? "nothing to set up (libvirtd already running)" : out;
}

}  // namespace outpost::test
