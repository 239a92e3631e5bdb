// LoopObserver: what the control loop tells an onlooker (outpost-controld's metrics) about
// its transitions; called on the loop, must not call back. count_cib(): the cluster a CIB
// describes, in counts (nodes by kind and state, primitive resources by state and role).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <libxml/tree.h>

#include "util/result.hpp"

namespace outpost::cluster::control {

struct ClusterCounts {
    // (kind: member/remote/guest, state: online/standby/maintenance/pending/offline/unclean)
    std::map<std::pair<std::string, std::string>, std::size_t> nodes;
    // (state: ok/failed/unmanaged/blocked, role: started/stopped/promoted/unpromoted/unknown)
    std::map<std::pair<std::string, std::string>, std::size_t> resources;
};

// Unpacks (does not schedule) a copy of `cib`. Each node once, by its worst state (unclean
// before offline before pending ...); each primitive (clone instances too) once.
[[nodiscard]] Result<ClusterCounts> count_cib(const xmlDoc* cib);

class LoopObserver {
public:
    LoopObserver() = default;
    LoopObserver(const LoopObserver&) = delete;
    LoopObserver& operator=(const LoopObserver&) = delete;
    virtual ~LoopObserver() = default;

    // A transition was computed in `seconds`; actions == 0: nothing to do (no run follows).
    virtual void transition_computed(std::size_t actions, double seconds) = 0;
    // A transition with actions ended ("complete", "aborted" or "stopped": actions blocked),
    // `seconds` after it was computed.
    virtual void transition_finished(std::string_view outcome, double seconds) = 0;
};

}  // namespace outpost::cluster::control
