// Utilization: what nodes offer (capacity) and resources use, for the placement strategies
// utilization, minimal and balanced (Pacemaker Explained, "Utilization and Placement
// Strategy"), observed from crm_simulate 2.1.5 (-U):
//
//   U1  Values are integers (text without digits counts as 0, junk after digits is ignored).
//       A node's capacity is what its <utilization> sets; assigning a resource there takes the
//       resource's values off (an attribute the node lacks is added to it as 0), unassigning
//       gives them back. This happens with every strategy, "default" included; -U shows it.
//   U2  A node has enough capacity for a set of values if, for each, its remaining capacity
//       is at least the value (an attribute it lacks counts as 0).
//   U3  With a strategy other than default, resources are assigned in another order: higher
//       priority first, then the higher score on the current node, then, node by node in
//       the order of U5, the higher score (scores merged with the resources each one is
//       colocated with, forward). Where no node is available before a merge, a merge
//       along a group's own chain (member with member) adds only the bans (negative
//       scores) of what is merged, on every node (not only those that can run resources)
//       but those to be fenced (a guest's too) and those in standby, and is kept unless it
//       leaves every node negative; a merge along any other colocation is undone. Either goes no further
//       along the chain.
//   U4  Before a primitive with strategy other than default picks a node, the nodes that
//       cannot hold it and the unassigned resources colocated with it at INFINITY (the
//       whole colocation chain) are banned; if no node can, only those that cannot hold it
//       alone are, and the allowed node with the most free capacity (U5) becomes the
//       preferred node.
//   U5  Node order when choosing: score (unavailable nodes last); for "balanced" the node
//       with more free capacity first (one vote per attribute); then, except for
//       "minimal", fewer assigned resources and the current node; then the name.
//   U6  With a strategy other than default, every managed primitive with utilization gets
//       orderings through the pseudo action load_stopped_<node> of each allowed node: its
//       stop on a node before that node's load_stopped, that load_stopped before its start
//       (and migrate_to) there; in the graph only where both are on the same node (a
//       required stop that cannot run is still listed: graph.cpp G5).
//   U7  U5's balanced vote is not transitive (A beats B on one attribute, B beats C on
//       another, C ties A), so the node chosen is the head of GLib's merge sort over the
//       allowed nodes in their hash table's order (placement.cpp glib_sort_head).
//
// Pacemaker keeps utilization in GLib hash tables and prints them in their iteration order,
// so Utilization keeps its entries in the slots GLib 2.74's GHashTable (open addressing with
// quadratic probing, in-place resize) gives them with Pacemaker's string hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost::cluster::policy {

class Utilization {
public:
    // g_hash_table_replace: a new key gets a slot, an existing one keeps it.
    void set(std::string_view key, std::string value);
    // Adds the key only if it is not there yet.
    void set_default(std::string_view key, std::string value);
    [[nodiscard]] const std::string* find(std::string_view key) const;
    [[nodiscard]] bool empty() const { return nnodes_ == 0; }
    // Calls f(key, value) in GLib's iteration order.
    template <typename F>
    void for_each(F&& f) const
    {
        for (std::size_t i = 0; i < hashes_.size(); ++i) {
            if (hashes_[i] >= 2) f(keys_[i], values_[i]);
        }
    }
    // (key, value) for each entry, in that order (as crm_simulate prints them).
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> entries() const;

private:
    std::size_t lookup(std::string_view key, std::uint32_t hash) const;
    void maybe_resize();
    void resize();
    void set_shift(int shift);

    // Empty until the first entry (most resources and nodes have none). Slots: 0 unused,
    // >= 2 the key's hash (no tombstones: nothing is ever removed).
    std::vector<std::uint32_t> hashes_;
    std::vector<std::string> keys_, values_;
    std::size_t nnodes_ = 0, noccupied_ = 0;
    std::uint32_t mod_ = 0, mask_ = 0;
};

// A utilization value as Pacemaker reads it (U1).
int utilization_value(const std::string* text);

// A node's capacity minus (consume) or plus (release) a resource's utilization (U1).
void consume_capacity(Utilization& capacity, const Utilization& used);
void release_capacity(Utilization& capacity, const Utilization& used);
// Sums `used` into `total` (as release_capacity does).
inline void add_utilization(Utilization& total, const Utilization& used)
{
    release_capacity(total, used);
}
// U2.
bool enough_capacity(const Utilization& capacity, const Utilization& needed);
// U5's balanced vote: negative if `a` has more free capacity than `b`, positive if less.
int compare_capacities(const Utilization& a, const Utilization& b);

enum class PlacementStrategy : std::uint8_t { default_, utilization, minimal, balanced };
PlacementStrategy parse_placement_strategy(std::string_view text);  // unknown values: default

}  // namespace outpost::cluster::policy
