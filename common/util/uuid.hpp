// Random identifiers in the form Pacemaker uses for client and session ids: a version 4
// UUID as 36 lower-case characters ("8-4-4-4-12").
#pragma once

#include <string>

namespace outpost {

std::string random_uuid();

}  // namespace outpost
