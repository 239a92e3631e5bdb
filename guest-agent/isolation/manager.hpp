// Manager: one cgroup per resource, beneath a cgroup of the agent's own (<own>/outpost-agent
// by default). Every process an action starts is put into its resource's cgroup before it
// execs (the spawner writes it into the membership files prepare() names), the limits of
// each action's parameters are written before it runs, and after a successful stop whatever
// is left in the cgroup is killed and the cgroup removed. Cgroups it did not create are only
// read, except the agent's own on v2 (see docs/isolation.md: delegation). Where no cgroup can
// be used the manager is unconfined: resources run as before, and an action whose resource
// has limits says in its exit reason that they were not applied.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.hpp"
#include "isolation/hierarchy.hpp"
#include "isolation/limits.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "wire/params.hpp"

namespace outpost::agent::isolation {

struct Options {
    bool enabled = true;
    // Beneath the agent's own cgroup (one path component, or a relative path whose
    // directories the agent creates).
    std::string parent = "outpost-agent";
};

// What the spawner does for one action.
struct Placement {
    // The child writes itself ("0") into each before exec: v1 `tasks`, v2 `cgroup.procs`.
    std::vector<std::string> procs_files;
    std::string note;  // for the exit reason: limits that were not applied
};

// A pass of killing what remains in a cgroup gives up after this long (the cgroup is then
// left, and removed by the next stop or when the resource is started again).
inline constexpr unsigned kReleaseTimeoutMs = 5000;
inline constexpr unsigned kReleaseRetryMs = 20;

class Manager {
public:
    // Discovers the hierarchy (/proc/self) and prepares the parent cgroup.
    static std::unique_ptr<Manager> create(GMainContext* context, Options options);
    // With a given hierarchy (tests: a temp directory shaped like cgroupfs). An error makes
    // the manager unconfined with that reason.
    Manager(GMainContext* context, Options options, Result<Hierarchy> hierarchy);
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    // remove_empty(): cgroups with processes stay, the resources keep running.
    ~Manager();

    [[nodiscard]] bool confined() const { return reason_.empty(); }
    [[nodiscard]] const std::string& unconfined_reason() const { return reason_; }
    [[nodiscard]] Kind kind() const { return hierarchy_.kind; }

    // Validates the limits in an action's parameters with the resource's meta attributes
    // from the CIB beneath them (set_cluster_meta; error code -EINVAL: the configuration is
    // wrong, nothing may run), creates the resource's cgroup on its first action and writes
    // the limits whenever they differ from the last ones written.
    [[nodiscard]] Result<Placement> prepare(const std::string& rsc_id, const wire::ParamMap& params);

    // The resources' meta attributes as the CIB now holds them (cibfollow/): applied at
    // once to every resource that has a cgroup, with its last action's parameters (a limit
    // gone from the CIB is lifted), and to every later action. A value that cannot be
    // applied is logged and leaves that resource's limits as they were (its next action
    // fails with the reason). Ends any wait for the first snapshot.
    void set_cluster_meta(ClusterMeta meta);
    [[nodiscard]] const ClusterMeta& cluster_meta() const { return cluster_meta_; }

    // The name the cluster knows this node by, from the actions' CRM_meta_on_node (empty
    // until an action brought one): cibfollow/ evaluates node-attribute rules against it.
    // `changed` (may be empty) runs inside prepare() when it first arrives or changes.
    [[nodiscard]] const std::string& node_name() const { return node_name_; }
    void on_node_name(std::function<void()> changed) { node_name_changed_ = std::move(changed); }

    // The first snapshot of the CIB is being fetched (a CIB session is opening): a start
    // should wait for it (await_cluster_meta). pending = false ends the wait without one
    // (the session failed or took too long); what is known stays in force.
    void set_cluster_meta_pending(bool pending);
    [[nodiscard]] bool cluster_meta_pending() const { return meta_pending_; }
    // Runs `ready` once the wait ends: with true when a snapshot came, false when it ended
    // without one. At once (true) when nothing is pending. Callbacks outlive nothing: the
    // caller guards its own lifetime.
    void await_cluster_meta(std::function<void(bool snapshot)> ready);

    // After a successful stop: SIGKILLs what is left in the resource's cgroup (logged) and
    // removes the cgroup once it is empty; `done` (optional) runs when that is over, with the
    // number of processes killed.
    void release(const std::string& rsc_id, std::function<void(std::size_t killed)> done = {});

    // At exit: removes the resources' cgroups that are empty, then the parent if it is
    // empty too; cgroups of resources still running stay (and are used again next time).
    // On v2, an agent that moved itself into its leaf then disables the controllers it
    // enabled (handback.hpp), so that its successor can be started where it was.
    void remove_empty();

    // Hierarchy (a key of Hierarchy::own: v1 the controller, the first of co-mounted ones;
    // v2 "") -> directory.
    using Dirs = std::map<std::string, std::string, std::less<>>;
    // Every resource cgroup the manager holds (not those being removed after a stop), in
    // the hierarchies the resource has joined (attach.hpp: on v1 not cpu, cpuset or blkio
    // unless a limit needs them).
    void for_each_cgroup(const std::function<void(const std::string& rsc_id, const Dirs& dirs)>& visit) const
    {
        for (const auto& [id, group] : groups_) {
            if (!group.releasing) visit(id, group.dirs);
        }
    }

    // The resource's cgroup directory in the hierarchy of `controller` ("" on v2); empty if
    // it has none there.
    [[nodiscard]] std::string directory(const std::string& rsc_id, std::string_view controller = {}) const;

private:
    struct Group {
        std::string name;                                      // rsc-<id>
        std::map<std::string, std::string, std::less<>> dirs;  // hierarchy -> directory
        // v1: hierarchies joined for a limit whose directory is new, the resource's
        // processes not moved into it yet (apply() does, after writing the limit).
        std::set<std::string, std::less<>> unmoved;
        std::optional<Limits> applied;
        wire::ParamMap op_params;  // the limit parameters of the last action
        std::string note;
        bool releasing = false;
        io::Source release_timer;
        unsigned release_rounds = 0;
        std::size_t killed = 0;
        std::function<void(std::size_t)> release_done;
    };

    void set_up();
    bool lock_parent();
    void unconfine(std::string reason);
    Result<Group*> group_for(const std::string& rsc_id);
    Status make_dirs(Group& group);
    Status make_dir(const std::string& key, const std::string& dir);
    // v1: the hierarchy `key` carries cpuset (whose new cgroups need cpus and mems).
    [[nodiscard]] bool is_cpuset(const std::string& key) const
    {
        return hierarchy_.kind == Kind::v1 && hierarchy_.key_of("cpuset") == key;
    }
    Result<std::string> apply(const std::string& rsc_id, Group& group, const Limits& limits);
    // v1: the resource joins the hierarchies `limits` need that it is not in yet.
    Status join(Group& group, const Limits& limits);
    // v1: moves the resource's processes into the hierarchies joined since they started.
    Status move_unmoved(const std::string& rsc_id, Group& group);
    // Writes `limits` if they differ from what the group has; the note of what the host
    // could not apply, or the kernel's refusal.
    Status update(const std::string& rsc_id, Group& group, const Limits& limits, const char* cause);
    void hand_back_delegation();
    void end_meta_wait(bool snapshot);
    void release_round(const std::string& rsc_id);

    GMainContext* context_;
    Options options_;
    Hierarchy hierarchy_;
    std::string reason_;                                       // non-empty: unconfined
    UniqueFd parent_lock_;                                     // one agent per parent cgroup
    std::map<std::string, std::string, std::less<>> parents_;  // controller -> parent directory
    std::map<std::string, Group, std::less<>> groups_;
    ClusterMeta cluster_meta_;
    std::string node_name_;
    std::function<void()> node_name_changed_;
    bool meta_pending_ = false;
    std::vector<std::function<void(bool)>> meta_waiters_;
    // v2: the delegated cgroup the agent moved out of into its leaf (hand_back_delegation).
    std::string moved_from_;
};

}  // namespace outpost::agent::isolation
