// The agent's own node's transient node attributes (attrd_updater, crm_attribute -l reboot):
// they live in the CIB's status section, node_state/transient_attributes, which changes with
// every operation result of every node. The follower asks for its node's entry alone (an
// XPath query), and re-reads it only after a change notification that may have touched it
// (docs/isolation.md, "Rules"). Pure: XML in, values out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cibfollow/rules.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::cibfollow {

// The XPath of `node`'s transient_attributes ("" when the name cannot be quoted in XPath 1.0,
// holding both quote characters).
[[nodiscard]] std::string transient_xpath(std::string_view node);

// The attributes in a query's answer: a <transient_attributes>, or several in an
// <xpath-query>, read as permanent node attributes are (add_node_attribute_sets).
[[nodiscard]] NodeAttrs transient_attributes(const wire::Element& data);

// Whether a cib_diff_notify event may have changed the transient attributes of the node
// whose node_state id or name is one of `node_ids`: false for a patchset (format 2) whose
// changes are all outside <status>, in another node's node_state, in this node's operation
// history (lrm) or on its node_state's own attributes. Configuration changes are the
// caller's other question (may_touch_configuration), asked first.
[[nodiscard]] bool may_touch_transient(const wire::Element& notify, const std::vector<std::string>& node_ids);

}  // namespace outpost::agent::cibfollow
