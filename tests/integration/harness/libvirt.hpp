// LibvirtHarness: real libvirt guests for guest-node tests. LXC application containers
// (lxc:///) and QEMU/TCG virtual machines (qemu:///system) on a private bridge, with the
// domain XML and the VM's initramfs built by the test, so that a real Pacemaker cluster
// (ClusterHarness) can run them through ocf:heartbeat:VirtualDomain as guest nodes.
//
// start() makes this machine able to run them, changing only what it must and undoing
// exactly that in stop() (also run by the destructor):
//   - creates /var/log/libvirt and /var/lib/libvirt if missing;
//   - LXC on a hybrid cgroup layout whose cgroup2 mount still holds the hugetlb controller
//     (libvirt then fails with "Unable to create directory /sys/fs/cgroup/unified"):
//     mounts a v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb while the harness runs (also
//     when a just-unmounted one still lingers and is about to fall back to cgroup2);
//   - QEMU with a /dev/kvm its qemu user cannot open (no udev here to set root:kvm 0660):
//     libvirt's capability cache then disagrees with its probe (the probe sees KVM, the
//     check as the qemu user does not) and re-probes QEMU on every lookup, about 50 s per
//     `virsh create`. The device gets group kvm and mode 0660 (what Debian's udev rule
//     gives it) while the harness runs. Domains are type 'qemu' (TCG) either way;
//   - starts `virtlogd -d` (QEMU needs it) and `libvirtd -d` if they are not running (no
//     systemd here), records their PIDs from the PID files and stops only those;
//   - creates the bridge kBridgeName with kBridgeAddress; libvirt's own `default`
//     network (192.168.122.0/24) is never started.
// Domains started through the harness or registered with track_domain() are destroyed
// in stop() if they still run (the cluster normally stops them first).
// From start() to stop() the harness holds the machine-wide libvirt lock
// (kLibvirtLockPath): libvirt tests never overlap, whichever stream or checkout runs them.
//
// Declare the LibvirtHarness before the ClusterHarness: the cluster's shutdown stops its
// VirtualDomain resources, which needs libvirtd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/command.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr const char* kLxcUri = "lxc:///";
inline constexpr const char* kQemuUri = "qemu:///system";
// The project's private test network for libvirt guests (docs/testing.md); host side .1.
inline constexpr const char* kBridgeName = "obr-outpost";
inline constexpr const char* kBridgeSubnetPrefix = "192.168.170.";
inline constexpr int kBridgePrefixLength = 24;
inline constexpr const char* kBridgeAddress = "192.168.170.1";
// Every domain the tests create has this name prefix, so leftovers are recognisable.
inline constexpr const char* kDomainPrefix = "outpost-lv-";
inline constexpr unsigned kGuestMemoryMiB = 256;
// Measured: libvirtd answers about 0.3 s after `libvirtd -d` returns.
inline constexpr std::chrono::seconds kLibvirtdStartTimeout{30};
inline constexpr std::chrono::seconds kDaemonStopTimeout{15};
// The kernel's virtio and ACPI button modules, in dependency order (Debian builds them
// as modules); insmod'ed by the VM's /init.
inline constexpr const char* kVmModules[] = {
    "virtio_ring", "virtio",   "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
    "virtio_pci",  "failover", "net_failover",          "virtio_net",
    "evdev",       "button"};

// "192.168.170.N" on the bridge (N in 2..254).
std::string bridge_address(unsigned host);

// Quotes `s` for a POSIX shell command line ('...' with embedded ' escaped).
std::string shell_quote(const std::string& s);

// --- LXC ---------------------------------------------------------------------------------

struct LxcGuestSpec {
    std::string name;                  // libvirt domain name (kDomainPrefix...)
    std::vector<std::string> command;  // the daemon: absolute binary path + arguments
    std::string address;               // on the bridge: bridge_address(N)
    // A fixed MAC address; empty: libvirt picks a new one at each start, and a container
    // created again is then unreachable until the host's ARP entry for `address` expires.
    std::string mac;
    std::filesystem::path state_dir;  // host directory bound to /var/lib/pacemaker
    std::filesystem::path log_file;   // the daemon's stdout and stderr (never the pty)
    EnvList env;                      // <initenv> for the init (and so the daemon)
    unsigned memory_mib = kGuestMemoryMiB;
    unsigned run_tmpfs_mib = 16;  // private tmpfs on /run (fresh at every start)
    // Private tmpfs on /dev/shm: libvirt's LXC /dev has none, and libqb's IPC (the cluster
    // tools inside the guest, served by the daemon's proxy) keeps its ring buffers there.
    unsigned shm_tmpfs_mib = 16;
};

// An application container whose init is `/bin/sh -c` with a TERM trap around the daemon:
// `virsh shutdown --mode signal` sends SIGTERM to PID 1, which a bare daemon as PID 1
// would ignore. It sees the host's root filesystem (binaries, /etc/pacemaker/authkey)
// except for /var/lib/pacemaker (state_dir), /run (a fresh tmpfs: resource agents'
// state must not survive a destroyed container, nor be visible to the cluster node) and
// /dev/shm (a fresh tmpfs, which libvirt does not give an LXC container by itself).
std::string lxc_domain_xml(const LxcGuestSpec& spec, const std::string& bridge = kBridgeName);

// --- QEMU --------------------------------------------------------------------------------

// Debian's kernel unpacked by tests/integration/fetch-kernel.sh.
struct KernelInfo {
    std::filesystem::path dir;
    std::string release;            // "6.1.0-56-amd64"
    std::filesystem::path bzimage;  // boot/vmlinuz-<release>
    std::filesystem::path vmlinux;  // uncompressed ELF, empty if it could not be extracted
    std::filesystem::path modules;  // lib/modules/<release>
    // vmlinux if present (PVH direct boot: about 6 s to a running daemon), else bzImage.
    [[nodiscard]] const std::filesystem::path& boot_image() const
    {
        return vmlinux.empty() ? bzimage : vmlinux;
    }
};

// $OUTPOST_KERNEL_DIR if set, else runs fetch-kernel.sh into <build>/peers/kernel
// (downloads the package once, about 70 MB). Cached per process.
Result<KernelInfo> kernel();

struct InitramfsSpec {
    KernelInfo kernel;
    std::string daemon;  // host path of the binary to run
    std::vector<std::string> daemon_args;
    EnvList env;                    // for the daemon
    std::string address;            // eth0's static address
    std::filesystem::path authkey;  // copied to /etc/pacemaker/authkey
    // Host trees copied with their paths (e.g. /usr/lib/ocf for the resource agents).
    std::vector<std::filesystem::path> trees;
    std::filesystem::path work_dir;  // staging area (created, removed after)
    std::filesystem::path output;    // the .cpio.gz written
    bool strip_daemon = true;        // strip a copy of the binary (debug info)
    // More host binaries (e.g. /usr/sbin/crm_attribute for ocf:pacemaker:Stateful), each at
    // its own path with its ldd closure.
    std::vector<std::filesystem::path> binaries;
    // Files written into the image: (path in the guest, content), mode 0755.
    std::vector<std::pair<std::filesystem::path, std::string>> files;
    // Shell lines /init runs once the network is up, before it starts the daemon (e.g. a
    // cgroup layout of the test's choosing); a failing line is reported on the console.
    std::string setup_script;
    // Non-empty: the daemon is started inside the first of these cgroup v2 directories that
    // takes it (its shell writes itself to DIR/cgroup.procs before it execs the daemon), as
    // systemd starts a unit; the console shows a refusal (the shell's error) and
    // "outpost-vm: cgroup.procs of DIR took the daemon".
    std::vector<std::string> daemon_cgroups;
    // Non-empty: when the daemon exits while this file exists in the guest, /init removes
    // the file and starts the daemon again (a supervisor's restart) instead of powering off.
    std::string restart_flag;
};

struct InitramfsInfo {
    std::filesystem::path path;
    std::uintmax_t compressed_bytes = 0;  // the initrd file
    std::uintmax_t content_bytes = 0;     // everything inside, uncompressed
    std::uintmax_t daemon_bytes = 0;      // the daemon binary plus its ldd closure
    std::vector<std::string> libraries;   // the closure, host paths
};

// A gzip'ed newc cpio: static busybox (/bin/busybox-static's busybox, applets as links),
// the kVmModules, the daemon with every library `ldd` names, the authkey, `trees`, `files`,
// and an /init that mounts proc/sys/dev (+ tmpfs /run, /tmp, /dev/shm), loads the modules,
// gives eth0 `address`/24, starts busybox acpid (power button -> SIGTERM to init), runs
// `setup_script`, starts the daemon (in `daemon_cgroups`, if any) with its output on the
// serial console, forwards SIGTERM to it and powers off when it exits (unless
// `restart_flag` asks for another start).
Result<InitramfsInfo> build_initramfs(const InitramfsSpec& spec);

struct VmGuestSpec {
    std::string name;
    std::filesystem::path kernel;  // KernelInfo::boot_image()
    std::filesystem::path initrd;
    std::filesystem::path console_log;  // file-backed serial console
    unsigned memory_mib = kGuestMemoryMiB;
    // Append to console_log instead of truncating it when QEMU opens it: a live migration's
    // target QEMU opens it again.
    bool console_append = false;
};

// The VM for an image build_initramfs() made, sized from it: the kernel unpacks the
// compressed image into a RAM filesystem, and the ASan build's image outgrows
// kGuestMemoryMiB ("Initramfs unpacking failed: write error", seen in CI). So twice what it
// unpacks to plus the image, plus 128 MiB to run; never below kGuestMemoryMiB.
VmGuestSpec vm_for_initramfs(std::string name, std::filesystem::path kernel, const InitramfsInfo& initrd,
                             std::filesystem::path console_log);

// <domain type='qemu'> (TCG): direct kernel boot, ACPI (for the power button), no USB,
// no balloon, a virtio NIC on `bridge`, serial console to a file; power-off, reboot and
// crash all end the domain (panic=-1 turns a dead /init into a reboot).
std::string qemu_domain_xml(const VmGuestSpec& spec, const std::string& bridge = kBridgeName);

// --- the harness -------------------------------------------------------------------------

struct LibvirtOptions {
    bool lxc = true;
    bool qemu = false;
};

class LibvirtHarness {
public:
    static Result<std::unique_ptr<LibvirtHarness>> start(const LibvirtOptions& options = {});

    LibvirtHarness(const LibvirtHarness&) = delete;
    LibvirtHarness& operator=(const LibvirtHarness&) = delete;
    ~LibvirtHarness();

    // Destroys tracked domains, removes the bridge, stops the daemons we started, undoes
    // the workarounds. An Error lists what failed after doing every step it could.
    Status stop();

    // `virsh -c URI ARGS...` to completion.
    Result<CommandResult> virsh(const std::string& uri, const std::vector<std::string>& args) const;
    // virsh() that turns a non-zero exit into an Error.
    Result<std::string> virsh_checked(const std::string& uri, const std::vector<std::string>& args) const;
    // "running", "shut off", ... or "" if libvirt does not know the domain (transient
    // domains vanish when they stop).
    [[nodiscard]] std::string domain_state(const std::string& uri, const std::string& name) const;
    [[nodiscard]] bool domain_running(const std::string& uri, const std::string& name) const
    {
        return domain_state(uri, name) == "running";
    }
    // `virsh create FILE` (transient domain), tracked for teardown.
    Status create_domain(const std::string& uri, const std::filesystem::path& xml_file,
                         const std::string& name);
    // Remembers a domain someone else creates (VirtualDomain) so stop() destroys it if left.
    void track_domain(const std::string& uri, const std::string& name);
    // The host PID of a running LXC domain's init (the libvirt_lxc controller's child):
    // /proc/PID/root is the container's filesystem view.
    [[nodiscard]] std::optional<pid_t> lxc_init_pid(const std::string& name) const;

    [[nodiscard]] const std::string& bridge() const { return bridge_; }
    // What start() did, for the test log: "started libvirtd[123]; mounted hugetlb ...".
    [[nodiscard]] std::string describe_setup() const;
    // How long start() waited for another test's libvirt guests (the lock), in seconds.
    [[nodiscard]] double lock_wait_seconds() const { return lock_wait_s_; }

private:
    LibvirtHarness() = default;
    Status bring_up(const LibvirtOptions& options);

    struct Daemon {
        pid_t pid = -1;
        unsigned long long start_time = 0;  // /proc/PID/stat field 22
        std::string comm;
    };
    Result<Daemon> start_daemon(const std::string& program, const std::filesystem::path& pid_file);

    std::vector<Daemon> started_;
    std::vector<std::pair<std::string, std::string>> domains_;  // (uri, name)
    std::string bridge_;
    bool bridge_created_ = false;
    bool hugetlb_mounted_ = false;
    bool hugetlb_dir_created_ = false;
    std::optional<std::pair<gid_t, mode_t>> kvm_original_;  // set while /dev/kvm is changed
    std::vector<std::string> notes_;
    bool stopped_ = false;
    UniqueFd lock_;  // kLibvirtLockPath, released at the end of stop()
    double lock_wait_s_ = 0;
};

}  // namespace outpost::test
