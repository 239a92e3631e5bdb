// CIB secrets (docs/protocol.md 5.6): a parameter whose value is exactly "lrm://" stands for a
// secret kept on the node in <dir>/<resource>/<parameter>, whose first line (trailing
// whitespace stripped, at most 255 characters) is the value, checked against the MD5 hex
// digest stored in <parameter>.sign. Only the agent's environment gets the secret; the
// parameters echoed to the cluster keep "lrm://".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"
#include "wire/params.hpp"

namespace outpost::agent::executor::secrets {

inline constexpr std::string_view kMarker = "lrm://";
inline constexpr std::size_t kMaxSecretLength = 255;
// Secret and signature files are small; anything bigger is refused unread.
inline constexpr std::size_t kMaxSecretFileSize = std::size_t{64} * 1024;

[[nodiscard]] bool has_secrets(const wire::ParamMap& params);

// Replaces each "lrm://" value in `params` with its verified secret.
[[nodiscard]] Status load(const std::string& dir, std::string_view rsc_id,
                          std::vector<std::pair<std::string, std::string>>& params);

}  // namespace outpost::agent::executor::secrets
