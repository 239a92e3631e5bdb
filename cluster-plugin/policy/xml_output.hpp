// crm_simulate --output-as=xml: the cluster status (crm_mon's <nodes> and <resources>), the
// transition summary (<actions>) and the executed actions (<transition>), each an element
// of crm_simulate's <pacemaker-result>.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/cluster.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"

namespace outpost::cluster::policy {

// <element><nodes>...</nodes><resources>...</resources></element> (element is
// "cluster_status" or "revised_cluster_status"), indented by `indent` spaces.
std::string status_xml(const Cluster& c, std::string_view element, int indent);
std::string summary_xml(const Cluster& c, const std::vector<SummaryEntry>& entries, int indent);
std::string executed_xml(const std::vector<ExecutedAction>& executed, int indent);

}  // namespace outpost::cluster::policy
