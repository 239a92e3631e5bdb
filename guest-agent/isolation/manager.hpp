// Manager: one cgroup per resource, beneath a cgroup of the agent's own (<own>/outpost-agent
// by default). Every process an action starts is put into its resource's cgroup before it
// execs (the spawner writes it into the cgroup.procs files prepare() names), the limits of
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
    std::vector<std::string> procs_files;  // the child writes itself ("0") into each before exec
    std::string note;                      // for the exit reason: limits that were not applied
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

    // Validates the limits in an action's parameters (error code -EINVAL: the configuration
    // is wrong, nothing may run), creates the resource's cgroup on its first action and
    // writes the limits whenever they differ from the last ones written.
    [[nodiscard]] Result<Placement> prepare(const std::string& rsc_id, const wire::ParamMap& params);

    // After a successful stop: SIGKILLs what is left in the resource's cgroup (logged) and
    // removes the cgroup once it is empty; `done` (optional) runs when that is over, with the
    // number of processes killed.
    void release(const std::string& rsc_id, std::function<void(std::size_t killed)> done = {});

    // At exit: removes the resources' cgroups that are empty, then the parent if it is
    // empty too; cgroups of resources still running stay (and are used again next time).
    void remove_empty();

    // The resource's cgroup directory for `controller` ("" on v2); empty if it has none.
    [[nodiscard]] std::string directory(const std::string& rsc_id, std::string_view controller = {}) const;

private:
    struct Group {
        std::map<std::string, std::string, std::less<>> dirs;  // controller -> directory
        std::optional<Limits> applied;
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
    Result<std::string> apply(Group& group, const Limits& limits);
    void release_round(const std::string& rsc_id);

    GMainContext* context_;
    Options options_;
    Hierarchy hierarchy_;
    std::string reason_;                                       // non-empty: unconfined
    UniqueFd parent_lock_;                                     // one agent per parent cgroup
    std::map<std::string, std::string, std::less<>> parents_;  // controller -> parent directory
    std::map<std::string, Group, std::less<>> groups_;
};

}  // namespace outpost::agent::isolation
