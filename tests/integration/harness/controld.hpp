// ControldHarness: outpost-controld on this machine as the cluster's one full node, with
// Pacemaker's own tools (pcs, crm_mon, cibadmin through ClusterTools) against it, for
// programs that are not Catch2 tests (the demo driver). test_controld_loop.cpp drives the
// daemon the same way under Catch2.
//
// start() takes the machine-wide cluster lock (the daemon serves Pacemaker's IPC names,
// which are machine-wide: it waits for another test's cluster) and holds it until stop(),
// refuses a machine that belongs to a real cluster (refuse_if_real_cluster(),
// check_pacemaker_daemons()), makes a private directory with a fresh authkey, the CIB file
// and the host's HA_VARRUN/HA_RSCTMP (so a Dummy on the host keeps its state there, not in
// /run), starts the daemon and returns once `cibadmin -Q` answers. stop() (also run by the
// destructor) stops it with SIGTERM; it does not stop the resources first: a caller that
// wants them stopped disables them before.
//
// GuestTools: the same tools run inside a guest, through an argv prefix (nsenter into an
// LXC container's init, `ip netns exec` into a namespace), so their IPC goes to the
// guest's daemon and its proxy.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/cluster.hpp"
#include "harness/command.hpp"
#include "harness/files.hpp"
#include "harness/process.hpp"
#include "support/files.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr std::chrono::seconds kControldReadyTimeout{15};

struct ControldOptions {
    std::string binary;                                                   // outpost-controld
    std::string node_name = "host1";                                      // --node-name
    EnvList env;                                                          // added to the daemon's environment
    std::string log_spec = "controld:info,controller:info,control:info";  // OUTPOST_LOG
};

class ControldHarness : public ClusterTools {
public:
    static Result<std::unique_ptr<ControldHarness>> start(const ControldOptions& options);

    ControldHarness(const ControldHarness&) = delete;
    ControldHarness& operator=(const ControldHarness&) = delete;
    ~ControldHarness();

    // SIGTERM; an Error if the daemon did not exit with status 0. Releases the lock.
    Status stop();

    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // Keeps the directory (logs, CIB) after stop(), for a post-mortem; prints where it is.
    void keep_dir() { dir_.keep(); }
    [[nodiscard]] const std::filesystem::path& authkey() const { return key_.path(); }
    [[nodiscard]] const std::string& node_name() const { return node_name_; }
    [[nodiscard]] std::filesystem::path host_run() const { return dir_ / "host-run"; }
    [[nodiscard]] std::filesystem::path log_file() const { return dir_ / "controld.log"; }
    // The daemon's PID (-1 once stopped).
    [[nodiscard]] pid_t pid() const { return process_ ? process_->pid() : -1; }

private:
    ControldHarness(UniqueFd lock, TempDir dir, Authkey key, std::string node_name)
        : lock_(std::move(lock)), dir_(std::move(dir)), key_(std::move(key)), node_name_(std::move(node_name))
    {
    }

    UniqueFd lock_;  // kClusterLockPath, held from start() to stop()
    TempDir dir_;
    Authkey key_;
    std::string node_name_;
    std::optional<Process> process_;
};

class GuestTools : public ClusterTools {
public:
    // Inside an LXC container whose init is `init`: its mount, network, UTS, IPC and PID
    // namespaces and its root (libqb's abstract socket names and /dev/shm are the
    // container's).
    static GuestTools in_container(pid_t init, const std::string& name);
    // Inside the network namespace `netns` (ip netns exec).
    static GuestTools in_netns(const std::string& netns, const std::string& name);
    // What runs before each command (to show the command as it runs).
    [[nodiscard]] const std::vector<std::string>& prefix() const { return tool_prefix_; }

private:
    GuestTools(std::vector<std::string> prefix, const std::string& name);
};

}  // namespace outpost::test
