// The pieces both real-cluster harnesses share: ClusterHarness (one node on this machine)
// and MultiNodeCluster (several nodes, each in its own network and mount namespace).
//
// corosync_conf() and seed_cib() write the files a node starts from (knet, no crypto;
// two_node for two members; a CIB seeded so that the first election waits dc-deadtime=2s,
// without crm_feature_set, which makes an older controller exit). PacemakerStack runs
// `corosync -f` and `pacemakerd -f` of one node, optionally through an argv prefix that
// enters the node's namespaces (nsenter), and stops them in a node's shutdown order:
// pacemakerd (the cluster stops or moves its resources), any of its daemons that outlive
// it (by PID, after checking the PID still names the same process), then corosync.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/process.hpp"
#include "util/result.hpp"

namespace outpost::test {

// The daemons pacemakerd runs, as /proc/PID/comm shows them (cut at 15 bytes).
inline constexpr const char* kPacemakerDaemons[] = {"pacemaker-based", "pacemaker-fence", "pacemaker-execd",
                                                    "pacemaker-attrd", "pacemaker-sched", "pacemaker-contr"};
// pacemakerd stops resources (on guests too) before it exits: about 2 s measured.
inline constexpr std::chrono::seconds kPacemakerStopTimeout{90};
inline constexpr std::chrono::seconds kCorosyncStopTimeout{30};

using Properties = std::vector<std::pair<std::string, std::string>>;

struct CorosyncMember {
    std::string name;
    std::string address;
    unsigned nodeid = 0;
};

std::string corosync_conf(const std::string& cluster_name, const std::vector<CorosyncMember>& members);
// stonith-enabled=false and dc-deadtime=2s, then `properties` (a name given there wins).
std::string seed_cib(const Properties& properties);

// Removes the contents of `dir`, keeping the directory (its owner and mode are the
// package's); what cannot be removed is added to `problems`.
void clear_directory(const std::filesystem::path& dir, std::vector<std::string>& problems);
Status chown_to(const std::filesystem::path& path, const char* user, const char* group_name);
// /proc/PID/comm without the newline ("" once gone).
std::string comm_of(pid_t pid);

// Kills the daemons that earlier test processes started and recorded in their ledgers
// (see PacemakerStack) when those processes are gone: a cluster test that meson killed at
// its timeout never ran its teardown. Each entry is checked by PID, start time and name, so
// only processes a test started are touched. Call with the cluster lock held; returns one
// line per process killed.
std::vector<std::string> reap_recorded_leftovers();

class PacemakerStack {
public:
    // `prefix` goes before every command (empty: run on the machine itself); the daemons'
    // stdout/stderr go to `dir`/corosync.out and pacemakerd.out.
    PacemakerStack(std::vector<std::string> prefix, std::filesystem::path dir);

    // Starts corosync and waits until `corosync-cfgtool -s` answers.
    Status start_corosync();
    // Starts pacemakerd (returns at once; the caller waits for what it needs).
    Status start_pacemakerd();
    // Records pacemakerd's daemons, so that stop() can kill any that outlive it.
    void remember_children();
    // Another daemon of this node (e.g. its libvirtd) for the ledger only: a later test
    // kills it if this process dies without stopping it; stopping it stays the caller's.
    void add_to_ledger(pid_t pid, const std::string& comm);
    // Every daemon started is also written to a ledger file until stop() removes it, for
    // reap_recorded_leftovers() of a later test should this process die without stopping.
    // The shutdown order above; what went wrong is added to `problems`.
    void stop(std::vector<std::string>& problems);

    [[nodiscard]] std::vector<std::string> wrap(const std::vector<std::string>& argv) const;
    [[nodiscard]] Process* corosync() { return corosync_ ? &*corosync_ : nullptr; }
    [[nodiscard]] Process* pacemakerd() { return pacemakerd_ ? &*pacemakerd_ : nullptr; }
    // PIDs of the daemons started (-1 once stopped).
    [[nodiscard]] pid_t corosync_pid() const { return corosync_ ? corosync_->pid() : -1; }
    [[nodiscard]] pid_t pacemakerd_pid() const { return pacemakerd_ ? pacemakerd_->pid() : -1; }
    // "exited ...: <output tail>" for a daemon that died at start.
    [[nodiscard]] std::string exit_report(Process& process, const std::string& output) const;

private:
    struct Daemon {
        pid_t pid;
        unsigned long long start_time;  // /proc/PID/stat field 22: guards against PID reuse
        std::string comm;
    };

    std::vector<std::string> prefix_;
    std::filesystem::path dir_;
    std::optional<Process> corosync_;
    std::optional<Process> pacemakerd_;
    std::vector<Daemon> children_;
    std::vector<Daemon> others_;  // add_to_ledger()
    std::filesystem::path ledger_;

    void write_ledger();
};

}  // namespace outpost::test
