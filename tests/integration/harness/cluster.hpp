// ClusterHarness: a throw-away single-node Pacemaker cluster on this machine, with guests
// in network namespaces that run a Pacemaker Remote server (the real pacemaker-remoted or
// our outpost-agent), for tests that need the real cluster stack around the agent.
//
// start() refuses to run when the machine looks like part of a real cluster (a
// corosync.conf that is neither ours nor the package default, or corosync, pacemakerd or
// any pacemaker-* daemon running that this test did not start). It then writes its own
// /etc/corosync/corosync.conf (single node "node1" on 127.0.0.1, knet, cluster "testclu";
// the previous file is kept as corosync.conf.outpost-backup), a fresh shared
// /etc/pacemaker/authkey (4096 random bytes, hacluster:haclient 0640; the previous key is
// kept as authkey.outpost-backup), seeds the CIB (validate-with pacemaker-3.9, no
// crm_feature_set, stonith-enabled=false, dc-deadtime=2s plus ClusterOptions::properties),
// starts `corosync -f` and `pacemakerd -f` and returns once crm_mon shows node1 as DC.
//
// stop() (also run by the destructor, so a failing REQUIRE still cleans up) stops
// pacemakerd (the cluster stops its resources while the guests still run), kills any of
// its daemons that outlive it, stops corosync and then the guests, all by PID; removes
// /var/lib/pacemaker/cib/*, pengine/* and /var/lib/corosync/*, and restores corosync.conf
// and the authkey (or removes ours). Backups left by a crashed run are restored by the
// next start()/stop(), never overwritten.
//
// Guests (add_guest) get the shared authkey (the daemon's default key path), a private
// directory for HA_VARRUN/HA_RSCTMP (the namespaces share the host's filesystem, so without
// it a Dummy's state file on a guest would also be "running" on node1 when probed) and
// their own log. A ClusterGuest can be killed, signalled and restarted by PID.
//
// Queries: crm_mon() parses `crm_mon -1 --output-as=xml` for XPath questions; pcs(),
// cibadmin() and tool() run the command-line tools; wait_until() polls a predicate.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/cluster_stack.hpp"
#include "harness/command.hpp"
#include "harness/files.hpp"
#include "harness/netns.hpp"
#include "harness/process.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr const char* kClusterName = "testclu";
inline constexpr const char* kClusterNode = "node1";
inline constexpr const char* kSharedAuthkeyPath = "/etc/pacemaker/authkey";
inline constexpr const char* kBackupSuffix = ".outpost-backup";
inline constexpr const char* kPacemakerLog = "/var/log/pacemaker/pacemaker.log";
// Measured: about 4-7 s from pacemakerd's start to an elected DC with dc-deadtime=2s.
inline constexpr std::chrono::seconds kDcTimeout{60};
inline constexpr std::chrono::milliseconds kPollInterval{200};
inline constexpr std::chrono::seconds kToolTimeout{60};

// Polls `predicate` every `interval` until it is true (Ok) or `timeout` passes (an Error
// naming `what` and the time waited).
Status wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                  const std::string& what, std::chrono::milliseconds interval = kPollInterval);

// A parsed XML document (crm_mon, cibadmin output) answering XPath 1.0 expressions.
class XmlQuery {
public:
    static Result<XmlQuery> parse(const std::string& text);
    XmlQuery(XmlQuery&&) noexcept;
    XmlQuery& operator=(XmlQuery&&) noexcept;
    XmlQuery(const XmlQuery&) = delete;
    XmlQuery& operator=(const XmlQuery&) = delete;
    ~XmlQuery();

    // string(expr), number(expr), boolean(expr) in XPath terms; "" / NaN / false when the
    // expression is invalid.
    [[nodiscard]] std::string string(const std::string& expr) const;
    [[nodiscard]] double number(const std::string& expr) const;
    [[nodiscard]] bool boolean(const std::string& expr) const;
    // The string value of every node in a node-set expression.
    [[nodiscard]] std::vector<std::string> strings(const std::string& expr) const;
    [[nodiscard]] const std::string& text() const { return text_; }

private:
    XmlQuery() = default;
    void* doc_ = nullptr;  // xmlDoc*, kept opaque so tests need not include libxml2
    std::string text_;
};

// `crm_mon -1 --output-as=xml --include=...` with questions the scenarios ask.
class CrmMon {
public:
    explicit CrmMon(XmlQuery xml) : xml_(std::move(xml)) {}
    [[nodiscard]] const XmlQuery& xml() const { return xml_; }

    [[nodiscard]] std::string dc() const;
    // A node listed as online (cluster member or connected remote node).
    [[nodiscard]] bool node_online(const std::string& node) const;
    [[nodiscard]] bool node_listed(const std::string& node) const;
    // Nodes where the primitive `id` (also inside groups and clones) is active.
    [[nodiscard]] std::vector<std::string> resource_nodes(const std::string& id) const;
    // "Started", "Stopped", "Promoted", ... of the first instance listed ("" if absent).
    [[nodiscard]] std::string resource_role(const std::string& id) const;
    [[nodiscard]] bool resource_failed(const std::string& id) const;
    // Nodes on which an instance of `id` runs in `role` (for promotable clones).
    [[nodiscard]] std::vector<std::string> nodes_in_role(const std::string& id,
                                                         const std::string& role) const;
    // fail-count from node_history (0 when none is recorded).
    [[nodiscard]] int fail_count(const std::string& id, const std::string& node) const;
    // Number of entries in the "failures" (failed resource actions) section, optionally
    // only those of one resource.
    [[nodiscard]] int failed_actions(const std::string& id = "") const;
    // True if an operation of `task` with `interval_ms` ran on `node` for `id` with rc 0
    // (a probe: task "probe", interval 0).
    [[nodiscard]] bool has_operation(const std::string& id, const std::string& node, const std::string& task,
                                     unsigned interval_ms) const;

private:
    XmlQuery xml_;
};

struct GuestOptions {
    std::string name;               // the remote node's name: "g1"
    std::string binary;             // pacemaker-remoted or outpost-agent
    std::vector<std::string> args;  // after the binary
    EnvList env;                    // extra environment for the daemon
};

class ClusterGuest {
public:
    // A guest in `netns` (made by the caller: on a veth of its own or on a Bridge) with a
    // fresh private directory; the daemon is not started yet.
    static Result<std::unique_ptr<ClusterGuest>> create(GuestOptions options, Netns netns);

    ClusterGuest(const ClusterGuest&) = delete;
    ClusterGuest& operator=(const ClusterGuest&) = delete;
    ~ClusterGuest();

    [[nodiscard]] const std::string& name() const { return options_.name; }
    [[nodiscard]] const std::string& address() const { return netns_.guest_address(); }
    [[nodiscard]] Netns& netns() { return netns_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // HA_VARRUN of the agents run by this guest: where Dummy and Stateful keep state.
    [[nodiscard]] std::filesystem::path varrun() const { return dir_ / "run"; }
    // The state file of ocf:pacemaker:<agent> resource `id` on this guest.
    [[nodiscard]] std::filesystem::path state_file(const std::string& agent, const std::string& id) const;
    [[nodiscard]] std::filesystem::path log_file() const { return dir_ / "daemon.log"; }
    [[nodiscard]] std::string log_tail(std::size_t max_bytes = 4000) const;

    // The running daemon (nullptr once stopped and not restarted).
    [[nodiscard]] Process* process() { return process_ ? &*process_ : nullptr; }
    [[nodiscard]] bool running();
    // Starts the daemon (again) and waits until port 3121 accepts connections.
    Status start();
    // Another daemon for the next start(): a node switched from pacemaker-remoted to
    // outpost-agent (or back) keeps its name, address, key and state directories.
    void replace_daemon(std::string binary, std::vector<std::string> args = {});
    [[nodiscard]] const std::string& binary() const { return options_.binary; }
    Status signal(int sig);
    // Waits for the daemon to exit and returns its wait status.
    Result<int> wait_exit(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL after `grace`; returns the wait status (Ok if not running).
    Result<int> stop(std::chrono::milliseconds grace = kDefaultStopGrace);

private:
    friend class ClusterHarness;
    ClusterGuest(GuestOptions options, TempDir dir, Netns netns);

    GuestOptions options_;
    TempDir dir_;
    Netns netns_;
    std::optional<Process> process_;
};

struct ClusterOptions {
    // Extra cluster properties seeded into cib-bootstrap-options. A small recheck interval
    // keeps time-based decisions (failure timeouts, reconnect_interval) quick in tests. A
    // small cluster-delay (default 60 s; one node on loopback needs none) bounds how long a
    // transition waits for an operation that was in flight on a remote node whose
    // connection was lost: without fencing, recovery of that node waits for it.
    std::vector<std::pair<std::string, std::string>> properties{{"cluster-recheck-interval", "5s"},
                                                                {"cluster-delay", "5s"}};
    std::chrono::milliseconds dc_timeout = kDcTimeout;
};

// The cluster's command-line tools, run where a cluster node is: on the machine itself
// (ClusterHarness) or inside a node's namespaces (ClusterNode, multinode.hpp) through an
// argv prefix (nsenter).
class ClusterTools {
public:
    // Runs a cluster tool (crm_mon, crm_resource, crm_failcount, ...) to completion.
    Result<CommandResult> tool(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout = kToolTimeout) const;
    // tool() that turns a non-zero exit into an Error with the output.
    Result<std::string> tool_checked(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout = kToolTimeout) const;
    // `pcs ARGS` against the live CIB (pcs edits it through cibadmin; no pcsd needed).
    Result<std::string> pcs(const std::vector<std::string>& args) const;
    Result<std::string> cibadmin(const std::vector<std::string>& args) const;
    // `crm_mon -1 --output-as=xml --include=all`, parsed (parse_crm_mon()).
    Result<CrmMon> crm_mon() const;
    // `crm_mon -1` as a human reads it (for failure messages and the demo).
    [[nodiscard]] std::string crm_mon_text() const;

    // wait_until() on a fresh crm_mon() each poll (false while crm_mon fails); on timeout
    // the Error carries the last `crm_mon -1` text.
    Status wait_for(const std::function<bool(const CrmMon&)>& predicate, std::chrono::milliseconds timeout,
                    const std::string& what) const;

    // ocf:pacemaker:remote for `guest` created with pcs (`extra`: arguments before the op,
    // such as `reconnect_interval=15s meta allow-migrate=true`; `monitor`: the monitor
    // op's attributes), then waits until crm_mon shows the node online.
    Status create_remote_connection(const ClusterGuest& guest, const std::vector<std::string>& extra,
                                    const std::vector<std::string>& monitor,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

protected:
    ClusterTools() = default;
    ClusterTools(const ClusterTools&) = default;
    ClusterTools& operator=(const ClusterTools&) = default;
    ~ClusterTools() = default;

    std::vector<std::string> tool_prefix_;  // before every command; empty on the machine
    std::string where_;                     // "node2: " in messages; empty for the machine
};

class ClusterHarness : public ClusterTools {
public:
    static Result<std::unique_ptr<ClusterHarness>> start(const ClusterOptions& options = {});
    // The same for a caller that already holds the machine-wide cluster lock (`held`, from
    // take_cluster_lock(); pass a dup() to keep holding it after this cluster stops): a
    // benchmark that runs a cluster and outpost-controld in turn under one hold.
    static Result<std::unique_ptr<ClusterHarness>> start(UniqueFd held, const ClusterOptions& options);

    ClusterHarness(const ClusterHarness&) = delete;
    ClusterHarness& operator=(const ClusterHarness&) = delete;
    ~ClusterHarness();

    // Tears everything down (see the header comment); an Error lists what went wrong,
    // after doing all the steps it could.
    Status stop();

    // Starts a guest daemon in a fresh namespace; the harness owns it and stops it after
    // the cluster.
    Result<ClusterGuest*> add_guest(GuestOptions options);

    // Creates an ocf:pacemaker:remote connection for `guest` with pcs (monitor every
    // `monitor_interval`, extra `name=value` instance attributes) and waits until crm_mon
    // shows the node online.
    Status add_remote_node(const ClusterGuest& guest, const std::vector<std::string>& extra = {},
                           const std::string& monitor_interval = "3s",
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    // What pacemaker.log gained since start() (last `max_bytes`), for failure messages.
    [[nodiscard]] std::string pacemaker_log_tail(std::size_t max_bytes = 6000) const;
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // PIDs of the daemons start() launched (-1 once stopped).
    [[nodiscard]] pid_t pacemakerd_pid() const;
    [[nodiscard]] pid_t corosync_pid() const;

private:
    ClusterHarness(UniqueFd machine_lock, TempDir dir)
        : machine_lock_(std::move(machine_lock)), dir_(std::move(dir)), stack_({}, dir_.path())
    {
    }
    Status bring_up(const ClusterOptions& options);
    Status install_files(const ClusterOptions& options);

    UniqueFd machine_lock_;  // kClusterLockPath, held from start() until this object is gone
    TempDir dir_;
    PacemakerStack stack_;  // corosync and pacemakerd, run on the machine itself
    std::vector<std::unique_ptr<ClusterGuest>> guests_;
    std::uintmax_t log_offset_ = 0;
    bool conf_installed_ = false;
    bool key_installed_ = false;
    bool stopped_ = false;
};

// The document of a `crm_mon --output-as=xml` run (stderr may be interleaved), parsed.
Result<CrmMon> parse_crm_mon(const Result<CommandResult>& run);

// Leftover pacemaker-* daemons not started by this process (a crashed run, or a real
// cluster): an Error naming them. refuse_if_real_cluster() checks corosync and pacemakerd.
Status check_pacemaker_daemons();

// For the main() of a cluster test executable (harness_cluster_main_dep) and the demo:
// waits for the machine-wide cluster lock, so that another test process's cluster is
// waited for instead of being taken for a real one, then, holding the lock, runs
// refuse_if_real_cluster() and check_pacemaker_daemons(). The lock is released on return;
// ClusterHarness::start() takes it again and repeats the checks.
Status check_machine_for_test_cluster();

}  // namespace outpost::test
