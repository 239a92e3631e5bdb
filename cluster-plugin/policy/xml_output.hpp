// crm_simulate --output-as=xml: the cluster status (crm_mon's <nodes> and <resources>), the
// requested modifications (<modifications>), the scores and utilization (<allocations>,
// <utilizations>, <allocations_utilizations>), the transition summary (<actions>) and the
// executed actions (<transition>), each an element of crm_simulate's <pacemaker-result>.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/cluster.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"

namespace outpost::cluster::policy {

// <element><nodes>...</nodes><resources>...</resources></element> (element is
// "cluster_status" or "revised_cluster_status"), indented by `indent` spaces.
std::string status_xml(const Cluster& c, std::string_view element, int indent);
// crm_simulate's requested modifications, in the order it performs them.
struct Modifications {
    std::optional<std::string> quorum;                       // -q as given
    std::vector<std::pair<std::string, std::string>> nodes;  // (Online/Offline/Failing, node)
    struct Injection {
        std::string spec;                   // -i as given
        std::vector<ExecutedAction> attrs;  // the failure's attributes (kind attribute)
    };
    std::vector<Injection> injections;
};
// <modifications quorum=...>...</modifications>, or nothing when no element would be in it
// (observed: -q alone writes none).
std::string modifications_xml(const Modifications& m, int indent);
// The -s/-U lines: <allocations> (-s), <utilizations> (-U) or <allocations_utilizations>.
std::string scores_xml(const std::vector<ScoreLine>& lines, bool scores, bool utilization, int indent);
std::string summary_xml(const Cluster& c, const std::vector<SummaryEntry>& entries, int indent);
std::string executed_xml(const std::vector<ExecutedAction>& executed, int indent);

}  // namespace outpost::cluster::policy
