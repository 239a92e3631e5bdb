// The CIB manager's operations as a pure function: the current CIB and one request in,
// the outcome out (result code, reply data, the new CIB if it changed). No I/O, no
// clients: cib_service.cpp stores and announces what this decides, and unit tests and the
// fuzz target run exactly this code.
//
// Behaviour follows what 2.1.5's own CIB code does, observed with cibadmin against CIB
// files (CIB_file=, the same update logic as the daemon's):
// - query: a section (whole CIB for none/"all"), or the XPath matches (one element as is,
//   several wrapped in <xpath-query>; an attribute or text match gives its element);
//   nothing found is -ENXIO.
// - create: appends the element to the section (the children, if the element is the
//   section itself); an element of that name and id already there is -EEXIST with a
//   <failed> report as the reply's data; without a section, -ENXIO.
// - modify: merges the element into the one with the same name and id (attributes set,
//   children merged by name and id, new children appended); absent: created in the
//   section with cib_can_create, else -ENXIO. With an XPath the element is merged into the
//   match or the descendant of it with the same name and id.
// - replace: the whole CIB (a <cib> element), a section, the element with the same name
//   and id, or the XPath match; delete: the first element matching name and every given
//   attribute (for the section element itself: each of its children so, as crm_resource
//   --clear sends them), or the XPath matches (all of them with cib_multiple); nothing
//   found is not an error.
//   A <cib> given for a section replaces it with that CIB's copy of the section.
// - apply_diff: a format 2 patchset (cib_patch.hpp).
// - erase (empty configuration and status), bump (epoch + 1); upgrade within the 3.x
//   schemas (to the newest installed one the CIB validates against; already there is
//   pcmk_err_schema_unchanged; from 1.x/2.x refused: that needs Pacemaker's transforms).
// - ACLs: see CibOperation::acl_rules.
// Every change is all or nothing: the work is done on a copy, then checked: a version
// lower than the current one is -205 (pcmk_err_old_data), a CIB its schema rejects -203
// (pcmk_err_schema_validation). A change to anything but the version and status bumps
// epoch and zeroes num_updates; any other change bumps num_updates; no change, no bump.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/cib_acl.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_schema.hpp"
#include "controller/xml.hpp"

namespace outpost::cluster::controller {

// cib_callopt bits (Pacemaker's enum cib_call_options, crm/cib/cib_types.h).
namespace call_option {
inline constexpr std::uint32_t xpath = 0x2;
inline constexpr std::uint32_t multiple = 0x4;
inline constexpr std::uint32_t can_create = 0x8;
inline constexpr std::uint32_t no_children = 0x20;
inline constexpr std::uint32_t dry_run = 0x200;
inline constexpr std::uint32_t sync_call = 0x1000;
inline constexpr std::uint32_t inhibit_notify = 0x10000;
}  // namespace call_option

// Longest XPath expression accepted (tools send a few hundred bytes at most).
inline constexpr std::size_t kMaxXpathLength = 4096;

struct CibOperation {
    std::string op;       // cib_op: "cib_query", "cib_modify", ...
    std::string section;  // cib_section: a section name, or an XPath with call_option::xpath
    std::uint32_t options = 0;
    const xmlNode* data = nullptr;  // the request's data element (borrowed), if any
    // A user restricted by ACLs (cib_acl.hpp): reads see what the rules let them read
    // (nothing at all is -EACCES), a write the rules do not allow is -EACCES and changes
    // nothing. nullptr: full access. `acl_problems` (if set) receives rules that could not
    // be evaluated, for the log.
    const std::vector<AclRule>* acl_rules = nullptr;
    std::vector<std::string>* acl_problems = nullptr;
};

// Who changed the CIB, recorded on configuration changes as Pacemaker does
// (update-origin, update-client, update-user, cib-last-written).
struct UpdateOrigin {
    std::string client_name;
    std::string user;
    std::string node;
    std::string time_text;  // e.g. "Sun Dec  6 10:28:36 2026"
};

struct CibOutcome {
    int rc = cib_rc::ok;
    std::string message;  // why it failed (for the log), empty on success
    XmlDoc output;        // the reply's data: query results, a <failed> report; may be null
    XmlDoc updated;       // the new CIB, only when it changed and this is not a dry run
    bool config_changed = false;
};

enum class OpKind { read, write, unknown };
OpKind kind_of(std::string_view op);

CibOutcome perform(const xmlDoc* current, const CibOperation& operation, Schemas& schemas,
                   const UpdateOrigin& origin);

// A write made by editing a copy of `current` directly (the daemon's own changes: the
// control loop's status records, the attribute manager's attributes): checked, versioned
// and attributed as a cib_replace of the edited CIB would be, without building the
// replacement document first.
CibOutcome perform_edit(const xmlDoc* current, const std::function<void(xmlDoc*)>& edit, Schemas& schemas,
                        const UpdateOrigin& origin);

}  // namespace outpost::cluster::controller
