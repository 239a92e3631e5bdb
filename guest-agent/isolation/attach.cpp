#include "isolation/attach.hpp"

namespace outpost::agent::isolation {

namespace {

// In the order members_hierarchy() prefers them: pids lists every task and nothing else.
constexpr const char* kAlways[] = {"pids", "memory", "cpuacct"};

}  // namespace

KeySet v1_controllers_for(const Limits& limits)
{
    KeySet needed(std::begin(kAlways), std::end(kAlways));
    if (limits.cpu_quota_us || limits.cpu_weight) needed.emplace("cpu");
    if (limits.allowed_cpus) needed.emplace("cpuset");
    if (limits.io_weight) needed.emplace("blkio");
    return needed;
}

KeySet hierarchies_for(const Hierarchy& h, const Limits& limits)
{
    KeySet keys;
    if (h.kind == Kind::v2) {
        for (const auto& [key, dir] : h.own)
            keys.insert(key);
        return keys;
    }
    bool listed = false;
    for (const char* controller : kAlways)
        listed = listed || !h.key_of(controller).empty();
    if (!listed) {
        for (const auto& [key, dir] : h.own)
            keys.insert(key);
        return keys;
    }
    for (const std::string& controller : v1_controllers_for(limits)) {
        if (std::string key = h.key_of(controller); !key.empty()) keys.insert(std::move(key));
    }
    return keys;
}

std::string members_hierarchy(const Hierarchy& h)
{
    for (const char* controller : kAlways) {
        if (std::string key = h.key_of(controller); !key.empty()) return key;
    }
    return h.own.empty() ? std::string() : h.own.begin()->first;
}

}  // namespace outpost::agent::isolation
