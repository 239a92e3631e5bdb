// Changes the daemon makes to its own live CIB (the control loop's status records, the
// attribute manager's attributes): a copy of the current CIB is edited and stored whole
// through the CibStore (CibStore::edit, checked as a cib_replace would be), recorded as made
// by `client` on `node` as `user`. The control loop gathers its edits into one call per
// main-loop turn (control_loop.hpp).
#pragma once

#include <functional>
#include <string>

#include "controller/cib_store.hpp"
#include "controller/xml.hpp"
#include "util/result.hpp"

namespace outpost::cluster::control {

// The CIB as it was before, when the edit changed it (for the change's announcement); a
// null document when nothing changed; an Error (the store's rc and why) when it was refused.
Result<controller::XmlDoc> edit_cib(controller::CibStore& store, const std::function<void(xmlDoc*)>& edit,
                                    const std::string& client, const std::string& node,
                                    const std::string& user,
                                    controller::CibStore::Save save = controller::CibStore::Save::now);

}  // namespace outpost::cluster::control
