// Operation digests as Pacemaker records them in lrm_rsc_op (op-digest, op-restart-digest):
// the MD5 of the sorted parameters the operation ran with, so a changed resource definition
// shows as a digest that no longer matches.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace outpost::cluster::policy {

// MD5 (hex) of Pacemaker's serialisation of <parameters name="value" .../>.
std::string parameters_digest(const std::map<std::string, std::string>& params);

}  // namespace outpost::cluster::policy
