// ParamMap: ordered string map (docs/protocol.md 3.7). Maps are small (a dozen entries is
// typical), so a linear search over a vector beats any hashing here.
#include "wire/params.hpp"

namespace outpost::wire {

bool ParamMap::insert(std::string name, std::string value)
{
    if (contains(name)) return false;
    entries_.emplace_back(std::move(name), std::move(value));
    return true;
}

void ParamMap::set(std::string_view name, std::string value)
{
    for (auto& [key, existing] : entries_) {
        if (key == name) {
            existing = std::move(value);
            return;
        }
    }
    entries_.emplace_back(std::string(name), std::move(value));
}

const std::string* ParamMap::find(std::string_view name) const
{
    for (const auto& [key, value] : entries_) {
        if (key == name) return &value;
    }
    return nullptr;
}

}  // namespace outpost::wire
