#include "harness/multinode.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "harness/environment.hpp"
#include "harness/files.hpp"
#include "harness/mounts.hpp"
#include "harness/peers.hpp"

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

constexpr unsigned kFirstNodeHost = 11;
constexpr unsigned kFirstRemoteHost = 21;
constexpr std::chrono::seconds kHolderReadyTimeout{10};

Error multinode_error(int code, std::string message)
{
    return make_error("harness.multinode", code, std::move(message));
}

std::string node_name(unsigned index)
{
    return "node" + std::to_string(index + 1);
}

// The directories a node's daemons own, as the pacemaker package makes them.
Status make_owned_dir(const fs::path& dir, mode_t mode)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return multinode_error(-ec.value(), "mkdir " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), mode) != 0) return multinode_error(-errno, "chmod " + dir.string());
    return chown_to(dir, "hacluster", "haclient");
}

}  // namespace

// --- ClusterNode -------------------------------------------------------------------------

ClusterNode::ClusterNode(std::string name, unsigned nodeid, Netns netns, TempDir dir)
    : name_(std::move(name)),
      nodeid_(nodeid),
      netns_(std::move(netns)),
      dir_(std::move(dir)),
      stack_({}, dir_.path())
{
}

ClusterNode::~ClusterNode()
{
    std::vector<std::string> problems;
    stack_.stop(problems);
    if (holder_) (void)holder_->stop(std::chrono::milliseconds(2000));
    for (const auto& p : problems)
        (void)std::fprintf(stderr, "%s teardown: %s\n", name_.c_str(), p.c_str());
}

Status ClusterNode::prepare(const std::string& corosync_conf, const std::string& cib,
                            const fs::path& etc_pacemaker, const MultiNodeOptions& options,
                            const std::string& hosts)
{
    const fs::path& d = dir_.path();
    std::error_code ec;
    for (const char* sub : {"etc-corosync", "lib-corosync", "log-corosync", "sbin"})
        fs::create_directories(d / sub, ec);
    if (ec) return multinode_error(-ec.value(), "node directories: " + ec.message());
    ::chmod((d / "sbin").c_str(), 0755);
    if (auto s = make_owned_dir(d / "lib-pacemaker", 0750); !s) return s;
    for (const char* sub : {"cib", "pengine", "blackbox", "cores"}) {
        if (auto s = make_owned_dir(d / "lib-pacemaker" / sub, 0750); !s) return s;
    }
    if (auto s = make_owned_dir(d / "log-pacemaker", 0770); !s) return s;
    if (auto s = write_file(d / "etc-corosync/corosync.conf", corosync_conf, 0644); !s) return s;
    fs::path cib_file = d / "lib-pacemaker/cib/cib.xml";
    if (auto s = write_file(cib_file, cib, 0600); !s) return s;
    if (auto s = chown_to(cib_file, "hacluster", "haclient"); !s) return s;
    for (const auto& [source, name] : options.sbin_files) {
        fs::copy_file(source, d / "sbin" / name, fs::copy_options::overwrite_existing, ec);
        if (ec) return multinode_error(-ec.value(), "copy " + source.string() + ": " + ec.message());
        ::chmod((d / "sbin" / name).c_str(), 0755);
    }
    if (auto s = ensure_mount_point("/var/log/corosync"); !s) return s;

    MountPlan plan;
    plan.binds = {{d / "etc-corosync", "/etc/corosync"},       {etc_pacemaker, "/etc/pacemaker"},
                  {d / "lib-corosync", "/var/lib/corosync"},   {d / "lib-pacemaker", "/var/lib/pacemaker"},
                  {d / "log-pacemaker", "/var/log/pacemaker"}, {d / "log-corosync", "/var/log/corosync"}};
    if (options.libvirt) {
        auto lv = NodeLibvirt::prepare(d, nodeid_, address(), hosts);
        if (!lv) return lv.error();
        libvirt_.emplace(std::move(*lv));
        plan.binds.insert(plan.binds.end(), libvirt_->binds().begin(), libvirt_->binds().end());
    }
    plan.tmpfs = {{"/run", "755"}, {"/dev/shm", "1777"}};
    plan.overlays = {{d / "sbin", "/usr/sbin"}};
    plan.directories = {{"/run/crm", "hacluster:haclient", "750"}};
    plan.hostname = name_;
    SpawnOptions holder;
    holder.argv = with_private_mounts(plan, {"sleep", "infinity"});
    holder.netns = &netns_;
    holder.log_file = d / "holder.out";
    auto started = Process::spawn(std::move(holder));
    if (!started) return started.error();
    holder_.emplace(std::move(*started));
    // The holder is ready once it is `sleep` (the mounts are done before the exec).
    auto ready = wait_until([&] { return !holder_->is_running() || comm_of(holder_->pid()) == "sleep"; },
                            kHolderReadyTimeout, name_ + "'s namespaces");
    if (!holder_->is_running()) {
        return multinode_error(-ECHILD, name_ + ": setting up its mounts failed: " +
                                            describe_wait_status(holder_->wait_status().value_or(0)) + "\n" +
                                            file_tail(d / "holder.out"));
    }
    if (!ready) return ready;
    stack_ = PacemakerStack(wrap({}), d);
    tool_prefix_ = wrap({});
    where_ = name_ + ": ";
    return {};
}

Status ClusterNode::start_libvirt()
{
    if (!libvirt_) return {};
    auto started = libvirt_->start(wrap({}), holder_pid());
    for (const auto& [pid, comm] : libvirt_->daemons())
        stack_.add_to_ledger(pid, comm);
    if (!started) return multinode_error(started.error().code, name_ + ": " + started.error().message);
    return {};
}

bool ClusterNode::running()
{
    return stack_.corosync() != nullptr && stack_.corosync()->is_running() &&
           stack_.pacemakerd() != nullptr && stack_.pacemakerd()->is_running();
}

std::vector<std::string> ClusterNode::wrap(const std::vector<std::string>& argv) const
{
    std::vector<std::string> full{"nsenter", "-t", std::to_string(holder_pid()), "-m", "-n", "-u", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

fs::path ClusterNode::pacemaker_log() const
{
    return dir_ / "log-pacemaker/pacemaker.log";
}

std::string ClusterNode::pacemaker_log_tail(std::size_t max_bytes) const
{
    return file_tail(pacemaker_log(), max_bytes);
}

// --- MultiNodeCluster --------------------------------------------------------------------

Result<std::unique_ptr<MultiNodeCluster>> MultiNodeCluster::start(const MultiNodeOptions& options)
{
    if (::geteuid() != 0) return multinode_error(-EPERM, "a test cluster needs root");
    if (options.nodes < 2 || options.nodes > kMaxClusterNodes)
        return multinode_error(-EINVAL, "a multi-node cluster has 2 or 3 nodes");
    // The libvirt lock before the cluster lock, as every test holding both takes them.
    UniqueFd libvirt_lock;
    if (options.libvirt) {
        for (const char* tool : {"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64"}) {
            if (auto found = find_program(tool); !found)
                return multinode_error(-ENOENT, std::string(tool) +
                                                    " not found: install the libvirt and QEMU packages of "
                                                    "scripts/packages.txt");
        }
        auto taken = take_machine_lock(kLibvirtLockPath, "another test process's libvirt guests");
        if (!taken) return taken.error();
        libvirt_lock = std::move(*taken);
    }
    auto lock = take_cluster_lock();
    if (!lock) return lock.error();
    // The same guard as ClusterHarness: never beside a real cluster or a crashed run's
    // daemons (this harness leaves the machine's corosync.conf alone, but pacemaker-*
    // daemons it did not start would still be someone's cluster).
    if (auto s = check_cluster_processes(); !s) return s.error();
    if (auto s = check_pacemaker_daemons(); !s) return s.error();
    for (const char* tool : {"corosync", "pacemakerd", "crm_mon", "cibadmin", "nsenter", "unshare"}) {
        if (auto found = find_program(tool); !found)
            return multinode_error(-ENOENT,
                                   std::string(tool) + " not found: install corosync, pacemaker, util-linux");
    }
    auto dir = TempDir::create("outpost-multinode");
    if (!dir) return dir.error();
    std::unique_ptr<MultiNodeCluster> cluster(
        new MultiNodeCluster(std::move(libvirt_lock), std::move(*lock), std::move(*dir)));
    if (auto s = cluster->bring_up(options); !s) {
        std::string logs = cluster->logs(2500);
        auto stopped = cluster->stop();
        std::string message = s.error().message + "\n" + logs;
        if (!stopped) message += "\nteardown also failed: " + stopped.error().message;
        return multinode_error(s.error().code, message);
    }
    return cluster;
}

Status MultiNodeCluster::bring_up(const MultiNodeOptions& options)
{
    auto bridge = Bridge::create(kMultiNodeBridge, std::string(kMultiNodeSubnet) + "1", kMultiNodePrefix);
    if (!bridge) return bridge.error();
    bridge_.emplace(std::move(*bridge));

    // One key for the cluster nodes (their /etc/pacemaker) and the remote nodes.
    fs::path etc_pacemaker = dir_ / "etc-pacemaker";
    std::error_code ec;
    fs::create_directories(etc_pacemaker, ec);
    if (ec) return multinode_error(-ec.value(), "mkdir " + etc_pacemaker.string() + ": " + ec.message());
    auto key = Authkey::create(etc_pacemaker / "authkey");
    if (!key) return key.error();
    if (auto s = chown_to(key->path(), "hacluster", "haclient"); !s) return s;
    ::chmod(key->path().c_str(), 0640);
    ::chmod(etc_pacemaker.c_str(), 0755);

    MultiNodeOptions effective = options;
    if (options.fencing) {
        effective.properties.emplace_back("stonith-enabled", "true");
        effective.sbin_files.emplace_back(source_root() / "tests/integration/fence_outpost_test",
                                          "fence_outpost_test");
        fs::create_directories(fence_config().parent_path(), ec);
        if (ec) return multinode_error(-ec.value(), "fence directory: " + ec.message());
        if (auto s = write_file(fence_config(), "host_pid " + std::to_string(::getpid()) + "\n", 0644); !s)
            return s;
    }

    std::vector<CorosyncMember> members;
    for (unsigned i = 0; i < options.nodes; ++i)
        members.push_back({node_name(i), kMultiNodeSubnet + std::to_string(kFirstNodeHost + i), i + 1});
    std::string conf = corosync_conf(kMultiNodeClusterName, members);
    std::string cib = seed_cib(effective.properties);
    std::string hosts = "127.0.0.1 localhost\n";
    for (const auto& member : members)
        hosts += member.address + " " + member.name + "\n";

    for (const auto& member : members) {
        auto netns = Netns::create_on(*bridge_, member.address);
        if (!netns) return netns.error();
        auto dir = TempDir::create("outpost-" + member.name);
        if (!dir) return dir.error();
        nodes_.push_back(std::unique_ptr<ClusterNode>(
            new ClusterNode(member.name, member.nodeid, std::move(*netns), std::move(*dir))));
        if (auto s = nodes_.back()->prepare(conf, cib, etc_pacemaker, effective, hosts); !s) return s;
        if (auto s = nodes_.back()->start_libvirt(); !s) return s;
        if (options.fencing) {
            if (auto s = add_fence_target(member.name, nodes_.back()->netns()); !s) return s;
        }
    }
    for (auto& node : nodes_) {
        if (auto s = node->stack().start_corosync(); !s)
            return multinode_error(s.error().code, node->name() + ": " + s.error().message + "\n" +
                                                       file_tail(node->dir() / "log-corosync/corosync.log"));
    }
    for (auto& node : nodes_) {
        if (auto s = node->stack().start_pacemakerd(); !s) return s;
    }
    for (auto& node : nodes_) {
        auto up = node->wait_for(
            [&](const CrmMon& mon) {
                if (mon.dc().empty()) return false;
                for (const auto& member : members)
                    if (!mon.node_online(member.name)) return false;
                return true;
            },
            options.up_timeout, "all nodes online with a DC, seen from " + node->name());
        for (auto& each : nodes_) {
            Process* pacemakerd = each->stack().pacemakerd();
            if (!pacemakerd->is_running()) {
                return multinode_error(
                    -ECHILD,
                    each->name() + ": pacemakerd exited at start: " +
                        each->stack().exit_report(*pacemakerd, file_tail(each->dir() / "pacemakerd.out")));
            }
        }
        if (!up) return up;
    }
    for (auto& node : nodes_)
        node->stack().remember_children();
    return {};
}

MultiNodeCluster::~MultiNodeCluster()
{
    try {
        auto s = stop();
        if (!s) (void)std::fprintf(stderr, "multi-node cluster teardown: %s\n", s.error().message.c_str());
    } catch (...) {
        (void)std::fprintf(stderr, "multi-node cluster teardown: unexpected exception\n");
    }
}

Status MultiNodeCluster::stop()
{
    if (stopped_) return {};
    stopped_ = true;
    std::vector<std::string> problems;
    // All pacemakerds at once: one at a time would first move everything to the last.
    for (auto& node : nodes_) {
        if (Process* pacemakerd = node->stack().pacemakerd();
            pacemakerd != nullptr && pacemakerd->is_running())
            (void)pacemakerd->signal(SIGTERM);
    }
    for (auto& node : nodes_) {
        std::vector<std::string> node_problems;
        node->stack().stop(node_problems);
        for (const auto& p : node_problems)
            problems.push_back(node->name() + ": " + p);
    }
    // libvirtd after the cluster, which stopped its domains through it.
    for (auto& node : nodes_) {
        if (node->libvirt() == nullptr) continue;
        std::vector<std::string> node_problems;
        node->libvirt()->stop(node_problems);
        for (const auto& p : node_problems)
            problems.push_back(node->name() + ": " + p);
    }
    // Remote nodes after the cluster stopped their resources; then the nodes' holders,
    // namespaces and directories, the bridge last.
    remotes_.clear();
    nodes_.clear();
    if (bridge_) {
        if (auto s = bridge_->destroy(); !s) problems.push_back(s.error().message);
        bridge_.reset();
    }
    libvirt_lock_.reset();
    if (problems.empty()) return {};
    std::string message = "multi-node cluster teardown:";
    for (const auto& p : problems)
        message += "\n  " + p;
    return multinode_error(-EIO, message);
}

ClusterNode* MultiNodeCluster::node_named(const std::string& name)
{
    for (auto& node : nodes_)
        if (node->name() == name) return node.get();
    return nullptr;
}

fs::path MultiNodeCluster::authkey_path() const
{
    return dir_ / "etc-pacemaker/authkey";
}

Result<ClusterGuest*> MultiNodeCluster::add_remote(GuestOptions options)
{
    if (remotes_.size() >= kMaxRemoteNodes) return multinode_error(-ENOSPC, "too many remote nodes");
    std::string address = kMultiNodeSubnet + std::to_string(kFirstRemoteHost + remotes_.size());
    auto netns = Netns::create_on(*bridge_, address);
    if (!netns) return netns.error();
    options.env.emplace_back("PCMK_authkey_location", authkey_path().string());
    if (fs::exists(fence_config())) {
        if (auto s = add_fence_target(options.name, *netns); !s) return s.error();
    }
    auto guest = ClusterGuest::create(std::move(options), std::move(*netns));
    if (!guest) return guest.error();
    if (auto s = (*guest)->start(); !s) return s.error();
    remotes_.push_back(std::move(*guest));
    return remotes_.back().get();
}

Status MultiNodeCluster::add_fence_target(const std::string& name, const Netns& netns)
{
    auto current = read_file(fence_config());
    if (!current) return current.error();
    return write_file(fence_config(),
                      *current + name + " " + netns.name() + " " + netns.host_interface() + "\n", 0644);
}

Status MultiNodeCluster::create_fence_device(const ClusterNode& via, const std::string& id) const
{
    auto created = via.pcs({"stonith", "create", id, "fence_outpost_test",
                            "config=" + fence_config().string(), "op", "monitor", "interval=60s"});
    if (!created) return created.error();
    return via.wait_for([&](const CrmMon& mon) { return mon.resource_nodes(id).size() == 1; },
                        std::chrono::seconds(60), "fence device " + id + " started");
}

std::string MultiNodeCluster::logs(std::size_t max_bytes) const
{
    std::string text;
    for (const auto& node : nodes_)
        text += "--- " + node->name() + " pacemaker.log ---\n" + node->pacemaker_log_tail(max_bytes) + "\n";
    return text;
}

}  // namespace outpost::test
