// ParamMap: a resource operation's parameters (docs/protocol.md 3.7), a flat string map that
// keeps the order in which names first appeared. They are echoed back in exec notifications,
// where the controller computes digests from them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost::wire {

// Decoding (params_from_element, wire/messages.hpp) lets the LAST of duplicate names win, as
// pacemaker-remoted 2.1.5 does in the echo and in the agent's environment, where protocol.md
// 3.7 says first wins (docs/conformance.md, item 1).
class ParamMap {
public:
    using Entry = std::pair<std::string, std::string>;

    // Adds name=value unless `name` is already present. Returns whether added. For callers
    // building a map whose earlier entries must not be overridden (defaults added last).
    bool insert(std::string name, std::string value);
    // Adds or replaces (keeping the position of an existing entry): last wins.
    void set(std::string_view name, std::string value);
    [[nodiscard]] const std::string* find(std::string_view name) const;
    [[nodiscard]] bool contains(std::string_view name) const { return find(name) != nullptr; }

    [[nodiscard]] std::size_t size() const { return entries_.size(); }
    [[nodiscard]] bool empty() const { return entries_.empty(); }
    [[nodiscard]] auto begin() const { return entries_.begin(); }
    [[nodiscard]] auto end() const { return entries_.end(); }
    bool operator==(const ParamMap& other) const = default;

private:
    std::vector<Entry> entries_;
};

}  // namespace outpost::wire
