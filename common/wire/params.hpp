// ParamMap: a resource operation's parameters (protocol.md 3.7), a flat string map that
// keeps the order the peer sent and lets the first of duplicate names win. Parameters are
// echoed back in exec notifications, where the controller computes digests from them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost::wire {

class ParamMap {
public:
    using Entry = std::pair<std::string, std::string>;

    // Adds name=value unless `name` is already present (first wins). Returns whether added.
    bool insert(std::string name, std::string value);
    // Adds or replaces.
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
