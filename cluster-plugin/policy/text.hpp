// crm_simulate's text (Pacemaker 2.1.5): the cluster status as crm_mon prints it, the
// transition summary lines, and the executed-actions list, so the two tools' outputs can
// be compared line by line.
#pragma once

#include <string>
#include <vector>

#include "policy/cluster.hpp"

namespace outpost::cluster::policy {

// "  * Node List:" ... "  * Full List of Resources:" ... (no heading line).
std::string render_status(const Cluster& c);
// "Transition Summary:" lines (without the heading).
std::string render_summary(const Cluster& c);
// "N of M resource instances DISABLED and K BLOCKED from further action due to failure",
// or empty when nothing is disabled or blocked.
std::string render_disabled_line(const Cluster& c);

}  // namespace outpost::cluster::policy
