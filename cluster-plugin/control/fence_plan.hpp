// FencePlan: which fence devices fence a target, in what order, after what delay, with how
// many tries, as pacemaker-fenced 2.1.5 chooses them (Pacemaker Explained, "Fencing
// Topology" and the device parameters; behaviour observed, docs/architecture.md "The
// stonith-ng face"):
//   - with a fencing-topology for the target (a fencing-level naming it by `target`, a
//     `target-pattern` regular expression or a node attribute `target-attribute` =
//     `target-value`), its levels in index order; every device of a level must succeed,
//     the next level is tried when one fails;
//   - without one, every device on its own, highest `priority` (meta attribute) first,
//     then in the CIB's order, until one succeeds;
//   - a device whose host check says it cannot fence the target is left out when it runs
//     (control/fencing.hpp): a level holding one fails;
//   - before a device runs: pcmk_delay_base (a time, or per-node "node:time;...") plus a
//     random part so that the whole stays under pcmk_delay_max, for off and reboot only;
//     a requested delay (stonith_admin --delay) is added before the first device only;
//   - a failed device action runs up to pcmk_<action>_retries times in all (default 2),
//     a second apart, while its timeout (pcmk_<action>_timeout, else stonith-timeout) has
//     time left;
//   - a reboot by a level of several devices is an "off" by each of them, then an "on" by
//     each (an "on" that fails does not fail the fencing: the target is off).
// Pure: the CIB is read, nothing runs.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control/fencing.hpp"

namespace outpost::cluster::control {

// One fencing-level of the CIB.
struct FenceLevel {
    std::string id;
    int index = 0;                 // 1..9
    std::string target;            // target: a node name
    std::string target_pattern;    // target-pattern: an extended regular expression
    std::string target_attribute;  // target-attribute and target-value
    std::string target_value;
    std::vector<std::string> devices;  // in order
};

// The CIB's fencing-levels, in document order (levels without an id, an index or devices are
// left out).
std::vector<FenceLevel> cib_fence_levels(const xmlDoc* cib);
// The permanent attributes of a node (the CIB's <nodes> entry for `node`, by uname).
std::map<std::string, std::string> cib_node_attributes(const xmlDoc* cib, std::string_view node);

// A level registered or removed through the fencer's IPC (stonith_admin --register-level,
// --deregister-level), held in memory beside the CIB's as pacemaker-fenced 2.1.5 holds it.
struct LevelChange {
    bool remove = false;
    FenceLevel level;  // a removal: its target and index (0: every level of the target)
    // The CIB's levels when it was made: once the CIB's fencing-topology changed (any level
    // of it), the CIB's levels of its target and index win again, as pacemaker-fenced
    // registers every level of the CIB anew then (observed).
    std::vector<FenceLevel> cib_before;
};
// The levels of `cib` a change replaces: those of its target and index (every index for a
// removal of index 0).
std::vector<FenceLevel> levels_replaced(const std::vector<FenceLevel>& cib, const LevelChange& change);
// Drops the changes that the CIB's levels override again: the CIB's fencing-topology
// changed since the change was made and holds a level it replaces.
void drop_overridden_changes(std::vector<LevelChange>& changes, const std::vector<FenceLevel>& cib);
// Whether two levels name their target the same way (the same name, pattern or attribute
// and value).
bool same_level_target(const FenceLevel& a, const FenceLevel& b);
// `levels` (the CIB's) with `changes` applied in order: a registration replaces the level of
// the same target and index (one without devices only removes it), a removal drops it.
std::vector<FenceLevel> apply_level_changes(std::vector<FenceLevel> levels,
                                            const std::vector<LevelChange>& changes);
// Why a level cannot be registered (or, with `removal`, removed): its index is outside 1-9
// (0-9), it names its target in none or several ways, or its pattern is not a regular
// expression; empty when it can.
std::string level_problem(const FenceLevel& level, bool removal);

// Whether a level names the target (by name, pattern or attribute).
bool level_targets(const FenceLevel& level, std::string_view target,
                   const std::map<std::string, std::string>& node_attributes);

// The devices to try, level by level.
struct FencePlan {
    bool topology = false;  // from a fencing-topology (else one device a level)
    std::vector<std::vector<std::string>> levels;
};

// The plan for `target`: its topology levels when some level targets it (by name first,
// else the first pattern, else the first attribute that matches, as one set of levels by
// index), else every one of `devices` (ids in the CIB's order) as a level of its own,
// highest priority first.
FencePlan plan_fencing(const std::vector<FenceLevel>& levels, const std::vector<std::string>& devices,
                       const std::map<std::string, int>& priorities, std::string_view target,
                       const std::map<std::string, std::string>& node_attributes);

// pcmk_delay_base for `target` in milliseconds: a time, or "node:time" entries (separated by
// ';', ',' or blanks) of which the target's is taken (0 when it has none).
std::uint32_t delay_base_ms(const FenceDevice& device, std::string_view target);
// pcmk_delay_max in milliseconds (0 when unset).
std::uint32_t delay_max_ms(const FenceDevice& device);
// The delay before the device runs `action` on `target`: pcmk_delay_base plus
// `random_fraction` (0 <= f < 1) of what pcmk_delay_max leaves above it; 0 for "on" or any
// action other than off and reboot.
std::uint32_t device_delay_ms(const FenceDevice& device, std::string_view action, std::string_view target,
                              double random_fraction);
// How many times in all a device runs `action` while it fails: pcmk_<action>_retries
// (default 2, at least 1; observed: the default gives two runs, a second apart).
int action_tries(const FenceDevice& device, std::string_view action);
// The pause between two tries.
inline constexpr std::uint32_t kFenceRetryPauseMs = 1000;

}  // namespace outpost::cluster::control
