// The change between two CIBs as a Pacemaker "format 2" patchset, the form cib_diff_notify
// events carry and crm_mon applies to its copy of the CIB. Coarse but exact: the root's
// attribute changes as one modify, and each top-level part (configuration section,
// <status>) that differs deleted and created whole. A client that cannot apply it
// (its copy is of another version) asks for the whole CIB again, as with Pacemaker's own.
#pragma once

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

XmlDoc make_patchset(const xmlDoc* before, const xmlDoc* after);

}  // namespace outpost::cluster::controller
