// Pacemaker's access control lists over the CIB, as pure functions: which rules the
// <acls> section gives a user, what of a CIB that user may read, and whether a change
// from one CIB to the next was theirs to make. cib_service.cpp decides when they apply
// (enable-acl, who the client is) and looks up the user's groups.
//
// Behaviour follows "Pacemaker Explained" (Access Control Lists) and what 2.1.5 did when
// observed (cibadmin, crm_mon, crm_resource, crm_attribute run as users with read, write
// and deny roles; tests/integration/test_controld_acl.cpp keeps the observed outputs):
// - A user's rules come from the acl_target whose name (or id) is the user and from each
//   acl_group naming one of the user's groups, through the acl_roles their <role>s name.
//   No matching target or group: no rules, so no access at all (deny by default).
// - A permission selects elements by xpath, by reference (any element with that id, in
//   the configuration and in the status alike), or by object-type (every element of
//   that name; with attribute, only those that carry the attribute). It covers the
//   selected element's whole subtree; the deepest selected ancestor-or-self decides, and
//   on one element deny beats write beats read. Write includes read.
// - An xpath that does not compile selects nothing (2.1.5 ignores such a permission);
//   the problem is reported for the log.
// - Reading: a denied element goes with its subtree; an element the user may not read is
//   kept, stripped to its id, only as the path to something readable below it; nothing
//   readable at all is -EACCES. The root keeps no attributes then, as 2.1.5 shows it.
// - Writing: every element the change creates or whose attributes it changes must be
//   writable in the CIB after the change (2.1.5 judges the result: adding the attribute
//   an object-type+attribute permission names makes the element writable), every
//   element it removes writable in the CIB before it. A created element with no
//   attribute but its id is scaffolding and needs no permission of its own (its
//   children do). Child order is not a change.
#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

enum class AclKind { read, write, deny };

struct AclRule {
    AclKind kind = AclKind::read;
    std::string id;     // the acl_permission's id, for the log
    std::string xpath;  // what it selects, reference and object-type turned into XPath
};

struct AclUser {
    std::string name;
    std::vector<std::string> groups;  // names of the user's system groups
};

// Whether `enable-acl` is true in the CIB's cluster options.
[[nodiscard]] bool acls_enabled(const xmlDoc* cib);
// root and hacluster: never restricted by ACLs.
[[nodiscard]] bool acl_exempt(std::string_view user);

// The user's rules from the CIB's <acls>, in document order.
std::vector<AclRule> acl_rules_for(const xmlDoc* cib, const AclUser& user);

// What `rules` let the user read of `cib`; nullptr when nothing at all. `problems`
// receives one line per rule that could not be evaluated (an invalid XPath).
XmlDoc acl_filtered_copy(const xmlDoc* cib, const std::vector<AclRule>& rules,
                         std::vector<std::string>* problems = nullptr);

// Whether the change from `before` to `after` is allowed by `rules`; an Error (code
// -EACCES) names the first element that is not.
Status acl_check_write(const xmlDoc* before, const xmlDoc* after, const std::vector<AclRule>& rules,
                       std::vector<std::string>* problems = nullptr);

}  // namespace outpost::cluster::controller
