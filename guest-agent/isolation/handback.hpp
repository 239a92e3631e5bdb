// Handing the delegated cgroup back at exit (cgroup v2). An agent that its supervisor started
// in the delegated cgroup itself moved into a leaf and enabled controllers there; a supervisor
// that starts the next agent in the same cgroup (systemd before 254, without
// DelegateSubgroup=) is refused by the kernel while those controllers stay enabled (the
// no-internal-process rule: EBUSY), and the service cannot start. See docs/isolation.md.
#pragma once

#include <string>

#include "util/result.hpp"

namespace outpost::agent::isolation {

// Disables every controller enabled in cgroup.subtree_control of `deepest` and of each cgroup
// above it up to `own` included, deepest first (the kernel refuses to disable one that a
// child still enables for its own children). `deepest` is `own` or beneath it; cgroups that
// are gone are skipped. The resources' cgroups beneath keep their processes and lose their
// limits (the files go with the controllers). `disabled` gets what was disabled where.
[[nodiscard]] Status hand_back(const std::string& own, const std::string& deepest, std::string& disabled);

}  // namespace outpost::agent::isolation
