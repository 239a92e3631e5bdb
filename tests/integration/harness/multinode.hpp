// MultiNodeCluster: a throw-away Pacemaker cluster of two (or three) full cluster nodes on
// this one machine, plus remote nodes, for what only a real multi-node cluster shows:
// migrating a remote node's connection between cluster nodes, fencing, losing a node.
//
// Network: a bridge kMultiNodeBridge in the test's namespace (10.219.15.1/24, a subnet no
// other test uses); every cluster node and every remote node is a network namespace
// plugged into it (Netns::create_on): cluster nodes at .11, .12, .13, remote nodes from
// .21. corosync speaks knet between the cluster nodes over it; libqb's IPC sockets are
// abstract, hence per network namespace.
//
// Each cluster node also has a mount and UTS namespace of its own, held open by a
// "holder" process (`sleep infinity` after the mounts, see MountPlan): private
// /etc/corosync (its corosync.conf lists all nodes, two_node for two), /etc/pacemaker (the
// cluster's authkey), /var/lib/corosync, /var/lib/pacemaker (cib/ seeded as testenv.md
// says, dc-deadtime=2s), /var/log/pacemaker, /var/log/corosync, tmpfs on /run (corosync's
// pid file, /run/crm) and /dev/shm (libqb's ring buffers), /usr/sbin overlaid with the
// node's sbin/ directory (a test fence agent is installed there, seen only by the nodes),
// and its own hostname. Everything else (binaries, /tmp, /sys with the cgroups) is
// the machine's. corosync, pacemakerd and every tool of a node run through
// `nsenter -t HOLDER -m -n -u`, which execs: the PIDs held are the daemons'.
//
// start() takes the machine-wide cluster lock (one real-cluster test at a time, with
// ClusterHarness and outpost-controld's tests) and refuses, like ClusterHarness, when
// corosync, pacemakerd or pacemaker-* daemons it did not start are running. Nothing on
// the machine's own /etc or /var is written. It returns once every node's crm_mon shows
// all nodes online and one DC (about 8 s measured for two nodes).
//
// stop() (also from the destructor, so a failed REQUIRE still cleans up) sends SIGTERM to
// every pacemakerd at once (one at a time would move everything to the last node first),
// waits, kills outliving pacemaker daemons by PID, stops corosync, the remote nodes'
// daemons, the holders, then deletes the namespaces, the bridge and the directories.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/cluster.hpp"
#include "harness/cluster_stack.hpp"
#include "harness/netns.hpp"
#include "harness/node_libvirt.hpp"
#include "harness/process.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr const char* kMultiNodeBridge = "opmn-br0";
inline constexpr const char* kMultiNodeSubnet = "10.219.15.";  // + host part
inline constexpr int kMultiNodePrefix = 24;
inline constexpr const char* kMultiNodeClusterName = "testmulti";
inline constexpr unsigned kMaxClusterNodes = 3;
inline constexpr unsigned kMaxRemoteNodes = 8;

struct MultiNodeOptions {
    unsigned nodes = 2;  // 2 or 3
    // As ClusterOptions::properties, merged over stonith-enabled=false, dc-deadtime=2s.
    Properties properties{{"cluster-recheck-interval", "5s"}, {"cluster-delay", "5s"}};
    // Files put into every node's /usr/sbin (overlay): {source, name}.
    std::vector<std::pair<std::filesystem::path, std::string>> sbin_files;
    // stonith-enabled=true and the test fence agent fence_outpost_test
    // (tests/integration/) in every node's /usr/sbin, with its target list kept by the
    // harness (fence_config()): every cluster node and remote node, as NAME NETNS LINK.
    bool fencing = false;
    // A libvirtd per node (NodeLibvirt, harness/node_libvirt.hpp): private /etc/libvirt,
    // /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/hosts naming every
    // node, the VM bridge kNodeVmBridge (192.168.171.1/24, alike on every node), and
    // virtlogd + `libvirtd --listen` (TCP, no auth) inside the node's namespaces, so a
    // QEMU/TCG guest live-migrates between nodes (qemu+tcp://NODE/system). start() then
    // takes the machine-wide libvirt lock (kLibvirtLockPath) before the cluster lock.
    bool libvirt = false;
    std::chrono::milliseconds up_timeout = kDcTimeout;
};

// A cluster node: its tools (ClusterTools: pcs, cibadmin, crm_mon, wait_for, ...) run inside
// its namespaces.
class ClusterNode : public ClusterTools {
public:
    ClusterNode(const ClusterNode&) = delete;
    ClusterNode& operator=(const ClusterNode&) = delete;
    ~ClusterNode();

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& address() const { return netns_.guest_address(); }
    [[nodiscard]] const Netns& netns() const { return netns_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    [[nodiscard]] pid_t holder_pid() const { return holder_ ? holder_->pid() : -1; }
    [[nodiscard]] PacemakerStack& stack() { return stack_; }
    // The node's libvirtd (MultiNodeOptions::libvirt), else nullptr.
    [[nodiscard]] NodeLibvirt* libvirt() { return libvirt_ ? &*libvirt_ : nullptr; }
    [[nodiscard]] const NodeLibvirt* libvirt() const { return libvirt_ ? &*libvirt_ : nullptr; }
    // True while corosync and pacemakerd both run.
    [[nodiscard]] bool running();

    // {"nsenter", "-t", HOLDER, "-m", "-n", "-u", "--"} + argv: a command on this node.
    [[nodiscard]] std::vector<std::string> wrap(const std::vector<std::string>& argv) const;
    // This node's pacemaker.log (all its daemons) and its last bytes.
    [[nodiscard]] std::filesystem::path pacemaker_log() const;
    [[nodiscard]] std::string pacemaker_log_tail(std::size_t max_bytes = 6000) const;

private:
    friend class MultiNodeCluster;
    ClusterNode(std::string name, unsigned nodeid, Netns netns, TempDir dir);
    Status prepare(const std::string& corosync_conf, const std::string& cib,
                   const std::filesystem::path& etc_pacemaker, const MultiNodeOptions& options,
                   const std::string& hosts);
    Status start_libvirt();

    std::string name_;
    unsigned nodeid_;
    Netns netns_;
    TempDir dir_;
    std::optional<Process> holder_;
    PacemakerStack stack_;
    std::optional<NodeLibvirt> libvirt_;
};

class MultiNodeCluster {
public:
    static Result<std::unique_ptr<MultiNodeCluster>> start(const MultiNodeOptions& options = {});

    MultiNodeCluster(const MultiNodeCluster&) = delete;
    MultiNodeCluster& operator=(const MultiNodeCluster&) = delete;
    ~MultiNodeCluster();

    Status stop();

    [[nodiscard]] std::size_t size() const { return nodes_.size(); }
    [[nodiscard]] ClusterNode& node(std::size_t index) { return *nodes_.at(index); }
    [[nodiscard]] const ClusterNode& node(std::size_t index) const { return *nodes_.at(index); }
    [[nodiscard]] ClusterNode* node_named(const std::string& name);
    // The cluster's authkey (also every node's /etc/pacemaker/authkey).
    [[nodiscard]] std::filesystem::path authkey_path() const;
    [[nodiscard]] const Bridge& bridge() const { return *bridge_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // fence_outpost_test's target list, and the log of what it did ("TIME off r1").
    [[nodiscard]] std::filesystem::path fence_config() const { return dir_ / "fence/targets"; }
    [[nodiscard]] std::filesystem::path fence_log() const { return dir_ / "fence/fence.log"; }
    // `pcs stonith create ID fence_outpost_test config=...` through `via` (its targets
    // come from the agent's `list`, so remote nodes added later are included).
    Status create_fence_device(const ClusterNode& via, const std::string& id = "fence-test") const;

    // A remote node's daemon in a fresh namespace on the bridge, with the cluster's key
    // (PCMK_authkey_location); started and answering on 3121 when this returns.
    Result<ClusterGuest*> add_remote(GuestOptions options);
    // Every node's pacemaker.log tail, for failure messages.
    [[nodiscard]] std::string logs(std::size_t max_bytes = 4000) const;

private:
    MultiNodeCluster(UniqueFd libvirt_lock, UniqueFd lock, TempDir dir)
        : libvirt_lock_(std::move(libvirt_lock)), lock_(std::move(lock)), dir_(std::move(dir))
    {
    }
    Status bring_up(const MultiNodeOptions& options);
    Status add_fence_target(const std::string& name, const Netns& netns);

    UniqueFd libvirt_lock_;  // kLibvirtLockPath (MultiNodeOptions::libvirt), released last
    UniqueFd lock_;          // kClusterLockPath
    TempDir dir_;
    std::optional<Bridge> bridge_;
    std::vector<std::unique_ptr<ClusterNode>> nodes_;
    std::vector<std::unique_ptr<ClusterGuest>> remotes_;
    bool stopped_ = false;
};

}  // namespace outpost::test
