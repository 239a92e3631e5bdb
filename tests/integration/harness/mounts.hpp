// Private mounts for daemons under test: the daemon runs in its own mount namespace with
// directories of the test bound over system paths (/run/systemd, /usr/lib/nagios), so two
// daemons tested side by side each see their own copy and nothing machine-wide changes.
//
//     auto ready = ensure_mount_point("/usr/lib/nagios");   // the target must exist
//     options.args = ...; options.binary = ...;
//     auto argv = with_private_mounts({{dir / "nagios", "/usr/lib/nagios"}}, {binary});
//
// with_private_mounts() returns `unshare --mount` + `sh -c 'mount --bind ...; exec "$@"'`
// around the command: both exec, so the PID a Process or GuestDaemon holds is the daemon's.
// The namespace's propagation is private (unshare's default): nothing leaks back to the host.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace outpost::test {

struct BindMount {
    std::filesystem::path source;  // a directory of the test
    std::filesystem::path target;  // where the daemon sees it; must exist on the host
};

std::vector<std::string> with_private_mounts(const std::vector<BindMount>& binds,
                                             const std::vector<std::string>& command);

// More than binds, for a whole test machine in a namespace (a cluster node of the
// multi-node harness): applied in this order, then `command` is exec'd.
struct MountPlan {
    std::vector<BindMount> binds;
    std::vector<std::pair<std::filesystem::path, std::string>> tmpfs;  // target, mode ("755")
    // `source` laid read-only over `target` (overlayfs, two lower layers): files added
    // there, e.g. a fence agent in /usr/sbin, are seen only inside.
    std::vector<BindMount> overlays;
    struct Directory {
        std::filesystem::path path;
        std::string owner;  // "user:group"
        std::string mode;   // "750"
    };
    std::vector<Directory> directories;  // made after the tmpfs mounts, e.g. /run/crm
    std::string hostname;                // non-empty: a UTS namespace of its own too
};
std::vector<std::string> with_private_mounts(const MountPlan& plan, const std::vector<std::string>& command);

// Makes sure `dir` exists so it can be a bind-mount target. If the harness has to create
// it, it is removed again (if still empty) when the last test process using it exits:
// every user holds a shared lock on /run/outpost-harness/mountpoint-<name>.lock until it
// exits, and a marker file there records that the harness created the directory.
Status ensure_mount_point(const std::filesystem::path& dir);

}  // namespace outpost::test
