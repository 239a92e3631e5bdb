// liboutpost-cluster's policy face: the scheduler for Pacemaker CIBs with remote and guest
// nodes as first-class citizens.
//
// Pure: a CIB document and the time go in; the unpacked cluster, the decided actions and
// their orderings (the transition graph) come out as values. No I/O, no clock, no global
// state. Everything the engine does not support (bundles, templates, tags in constraints,
// rsc_ticket, ...) is an error naming the element and its id, never a silently different
// transition. The remote and guest node rules it implements are listed, with where each
// lives, in remote_rules.hpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "policy/cluster.hpp"
#include "policy/time.hpp"
#include "policy/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::policy {

struct ScheduleOptions {
    // The time to schedule at: `set_now` if given (crm_simulate -t), else the CIB's
    // execution-date, else `clock_now` (the caller's clock).
    std::optional<EpochSeconds> set_now;
    EpochSeconds clock_now = 0;
    // Collect allocation score lines (crm_simulate -s).
    bool show_scores = false;
    // Collect node capacity and assigned utilization lines (crm_simulate -U).
    bool show_utilization = false;
    // The CIB may hold sanitized secrets (crm_simulate's view): a fencing device whose
    // op-digest differs only by its secure parameters is unchanged.
    bool sanitized = false;
};

// Unpacks a CIB. The returned Cluster owns the document.
Result<std::unique_ptr<Cluster>> unpack(xml::Document cib, const ScheduleOptions& options);
// Decides the transition of an unpacked cluster (once): placement, actions, orderings.
Status schedule(Cluster& c);
// Unpacks and schedules.
Result<std::unique_ptr<Cluster>> unpack_and_schedule(xml::Document cib, const ScheduleOptions& options);

}  // namespace outpost::cluster::policy
