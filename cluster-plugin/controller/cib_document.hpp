// The CIB document's vocabulary: its version triple and how Pacemaker orders it, the
// result codes Pacemaker's CIB manager answers with (negative, as in cib_rc), the empty
// CIB that `cibadmin --empty` prints for 2.1.5, and where each named section lives.
#pragma once

#include <libxml/tree.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

// cib_rc values (negative errno, or Pacemaker's own codes 201+, negated) that tools turn
// into their messages and exit statuses: observed with 2.1.5's cibadmin, whose exit status
// is the mapped CRM_EX_ code (105 no such object, 108 exists, 78 schema, 103 old data).
namespace cib_rc {
inline constexpr int ok = 0;
inline constexpr int not_found = -ENXIO;           // "No such device or address"
inline constexpr int exists = -EEXIST;             // "File exists"
inline constexpr int invalid = -EINVAL;            // a malformed request
inline constexpr int access = -EACCES;             // a write on the read-only channel
inline constexpr int not_supported = -EOPNOTSUPP;  // an operation this CIB manager lacks
inline constexpr int too_big = -EMSGSIZE;
inline constexpr int schema_validation = -203;  // pcmk_err_schema_validation
inline constexpr int old_data = -205;           // pcmk_err_old_data
inline constexpr int schema_unchanged = -211;   // pcmk_err_schema_unchanged
inline constexpr int save_failed = -210;        // pcmk_err_cib_save
}  // namespace cib_rc

// admin_epoch, epoch, num_updates: compared in that order (a higher admin_epoch wins
// whatever the epoch).
struct CibVersion {
    std::int64_t admin_epoch = 0;
    std::int64_t epoch = 0;
    std::int64_t num_updates = 0;
    bool operator==(const CibVersion&) const = default;
    bool operator<(const CibVersion& other) const
    {
        if (admin_epoch != other.admin_epoch) return admin_epoch < other.admin_epoch;
        if (epoch != other.epoch) return epoch < other.epoch;
        return num_updates < other.num_updates;
    }
    [[nodiscard]] std::string describe() const;  // "0.12.3" as Pacemaker logs it
};

// Reads the triple from the <cib> element; a missing field counts as 0, a value that is
// not a non-negative integer is an Error.
Result<CibVersion> read_version(const xmlNode* cib);
void write_version(xmlNode* cib, const CibVersion& version);

// The CIB of `cibadmin --empty` (2.1.5): schema pacemaker-3.9, feature set 3.16.1, epoch 1.
XmlDoc empty_cib();

// The element a section name stands for: "" / "all" / "cib" the root, "configuration" and
// "status" its children, any other name a child of <configuration>. nullptr if absent.
xmlNode* find_section(const xmlDoc* cib, std::string_view section);
// Whether `section` is a name find_section() knows (the configuration's sections).
bool is_known_section(std::string_view section);
// The section, created empty under <configuration> if it is a configuration section that
// is missing (Pacemaker adds rsc_defaults, op_defaults, ... on first use).
xmlNode* ensure_section(xmlDoc* cib, std::string_view section);

// Checks the shape every CIB has: root <cib> with a valid version, <configuration> holding
// crm_config, nodes, resources and constraints (<status> may be missing: it is added
// empty). Schema validation is
// separate (cib_schema.hpp).
Status check_cib_shape(const xmlDoc* cib);

}  // namespace outpost::cluster::controller
