// NodeLibvirt: a libvirtd of its own for one cluster node of MultiNodeCluster
// (MultiNodeOptions::libvirt), so that QEMU/TCG guests can live-migrate between the nodes.
//
// prepare() writes the node's private libvirt files and returns the bind mounts that its
// MountPlan adds:
//   /etc/libvirt      libvirtd.conf: listen_tcp=1, listen_tls=0, auth_tcp and auth_unix_rw
//                     "none", a host_uuid of its own (libvirt refuses to migrate to a host
//                     with the same UUID); qemu.conf: cgroup_controllers = [ ] (both
//                     libvirtds share the machine's cgroup tree and would name the migrating
//                     domain's cgroup alike), security_driver "none", user/group root without
//                     dynamic ownership, namespaces = [ ] (QEMU keeps the node's /dev), and
//                     migration_address/migration_host = the node's address, so the source
//                     QEMU connects to the target by IP (not by a hostname it cannot resolve)
//   /var/lib/libvirt, /var/cache/libvirt (QEMU's capabilities, probed once per node),
//   /var/log/libvirt  private directories
//   /etc/hosts        every cluster node by name with its bridge address, so
//                     qemu+tcp://NODE/system (VirtualDomain's migration URI) resolves
// start() (in the node's namespaces, through `prefix`, an nsenter into the holder) makes the
// VM network, a bridge kNodeVmBridge with the same name, MAC and address on every node (a
// migrated VM keeps its address and finds its gateway's MAC unchanged; whichever node hosts
// it reaches it through its own bridge), then `virtlogd -d` and `libvirtd -d --listen`, and
// returns once qemu:///system answers (its PIDs come from the node's /run, read through
// /proc/HOLDER/root). stop() destroys the domains still running there, then stops libvirtd
// and virtlogd by PID (checked against their start time).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness/command.hpp"
#include "harness/mounts.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr const char* kNodeVmBridge = "opmn-vm0";
inline constexpr const char* kNodeVmSubnet = "192.168.171.";  // + host part; no other test uses it
inline constexpr const char* kNodeVmBridgeAddress = "192.168.171.1";
inline constexpr int kNodeVmPrefix = 24;
inline constexpr const char* kNodeVmBridgeMac = "02:6f:70:76:6d:01";

class NodeLibvirt {
public:
    // Files under `dir` (etc-libvirt/, lib-libvirt/, ...); `hosts` is the /etc/hosts text.
    static Result<NodeLibvirt> prepare(const std::filesystem::path& dir, unsigned nodeid,
                                       const std::string& address, const std::string& hosts);

    [[nodiscard]] const std::vector<BindMount>& binds() const { return binds_; }
    Status start(const std::vector<std::string>& prefix, pid_t holder);
    // What went wrong is added to `problems`.
    void stop(std::vector<std::string>& problems);
    // `virsh -q -c qemu:///system ARGS...` on this node.
    [[nodiscard]] Result<CommandResult> virsh(const std::vector<std::string>& args) const;
    // PIDs of the daemons started (for a ledger of leftovers): (pid, comm).
    [[nodiscard]] std::vector<std::pair<pid_t, std::string>> daemons() const;

private:
    struct Daemon {
        pid_t pid = -1;
        unsigned long long start_time = 0;
        std::string comm;
    };
    Result<Daemon> start_daemon(const std::string& program, const std::vector<std::string>& args,
                                const std::string& pid_file);

    std::filesystem::path dir_;
    std::vector<BindMount> binds_;
    std::vector<std::string> prefix_;
    pid_t holder_ = -1;
    std::vector<Daemon> daemons_;
};

}  // namespace outpost::test
