// What the agent reads from the cluster's CIB for resource isolation (docs/isolation.md):
// the resources' outpost-* meta attributes, with Pacemaker's inheritance (a primitive's own
// value, else its template's, else its group's, clone's or bundle's, innermost first), and
// whether a change notification may have touched them. <rsc_defaults> apply beneath all of
// that, and <rule>s in the sets are evaluated (cibfollow/rules.hpp) for the resource, the
// agent's own node (when it knows its name) and the time given. Pure: XML in, values out.
#pragma once

#include <optional>
#include <string>

#include "cibfollow/rules.hpp"
#include "isolation/limits.hpp"
#include "util/cib_time.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::cibfollow {

// Attributes of this prefix are collected; everything else in a meta_attributes set is the
// cluster's business.
inline constexpr const char* kLimitPrefix = "outpost-";

struct ResourceMeta {
    isolation::ClusterMeta meta;  // only primitives with at least one outpost-* attribute
    // Sets that were skipped, for a log line: sets whose rule is not understood, and
    // references to sets that do not exist.
    std::string skipped;
    // When a date in a rule may change the outcome: read again then.
    std::optional<util::EpochSeconds> next_change;
};

struct MetaContext {
    util::EpochSeconds now = 0;
    // The agent's node in the cluster (its node attributes, #uname, #kind); empty: not
    // known, so rules on node attributes do not hold, as for a resource placed nowhere.
    std::string node_name;
    // That node's transient attributes (cibfollow/transient.hpp); nullptr: none known.
    const NodeAttrs* transient = nullptr;
};

// `section` is the CIB's <configuration> (or a <cib> holding one, or just <resources>: then
// without defaults and node attributes). Sets of one element apply in Pacemaker's order: by
// score, highest first, then as written; the first value of a name wins; a set whose rules
// do not hold is left out, and so is one whose rule is not understood (named in skipped).
[[nodiscard]] ResourceMeta resource_meta(const wire::Element& section, const MetaContext& context = {});

// Adds the nvpairs of `holder`'s (a <node>'s, a <transient_attributes>') instance_attributes
// sets to `attrs`: sets by score, highest first, then as written; a name already there keeps
// its value; a set with a rule of its own is left out.
void add_node_attribute_sets(const wire::Element& holder, NodeAttrs& attrs);

// Whether a cib_diff_notify event (<notify> with its <diff>) may have changed the
// configuration: false only for a patchset (format 2) whose every change is in <status> or
// on the <cib> element's own attributes.
[[nodiscard]] bool may_touch_configuration(const wire::Element& notify);

}  // namespace outpost::agent::cibfollow
