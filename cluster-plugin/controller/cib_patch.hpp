// Applying a "format 2" patchset (<diff format="2">, what `cibadmin --patch` and pcs send
// as cib_apply_diff) to a working copy of the CIB. Behaviour observed with 2.1.5's
// cibadmin on CIB files:
// - a <version> is optional; with one, its source must be the CIB's version: an older
//   source is -205 (pcmk_err_old_data), a newer one -207 (pcmk_err_diff_resync). The
//   target is not taken: the CIB's own bump rules apply afterwards.
// - changes apply in order; each path is an XPath into the CIB:
//   create: the element goes under the path's element at `position` (among its element
//   children; past the end appends); delete: the element goes (no match is fine);
//   modify: the element's attributes become exactly those of the <change-result> child
//   (no <change-result>: -ENOMSG); move: the element moves to `position`.
// - a create, modify or move whose path matches nothing fails the whole patch with -206
//   (pcmk_err_diff_failed). Only format 2 is accepted.
// Pure: libxml2 trees in, rc out.
#pragma once

#include <string>

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

struct PatchResult {
    int rc = 0;
    std::string message;
};

PatchResult apply_patchset(xmlDoc* work, const xmlNode* diff);

}  // namespace outpost::cluster::controller
