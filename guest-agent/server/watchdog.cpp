#include "server/watchdog.hpp"

#include "util/env.hpp"
#include "util/log.hpp"

namespace outpost::agent::server {

WatchdogVerdict check_watchdog(std::optional<std::string_view> value, std::int64_t sbd_timeout_ms)
{
    if (!value || value->empty()) return {};

    std::string_view text = *value;
    bool negative = false;
    if (text.front() == '-') {
        negative = true;
        text.remove_prefix(1);
    }
    auto parsed = env::parse_duration_ms("lrmd_watchdog", text);
    if (!parsed) {
        // An unreadable value cannot prove the node unsafe; stopping the node over a typo in
        // a message would be worse than logging it.
        return {false, "Ignoring unparsable stonith-watchdog-timeout " + log::quote(*value)};
    }
    std::int64_t timeout_ms = *parsed;
    if (timeout_ms == 0) return {};
    if (negative) {
        if (sbd_timeout_ms <= 0) return {};
        return {false, "stonith-watchdog-timeout is automatic: " + std::to_string(2 * sbd_timeout_ms) +
                           "ms (twice the SBD timeout)"};
    }
    if (sbd_timeout_ms <= 0) {
        return {true, "Shutting down: the cluster uses watchdog fencing (stonith-watchdog-timeout " +
                          log::quote(*value) + ") but SBD is not active on this node"};
    }
    if (timeout_ms < sbd_timeout_ms) {
        return {true, "Shutting down: stonith-watchdog-timeout " + log::quote(*value) +
                          " is shorter than the SBD watchdog timeout (" + std::to_string(sbd_timeout_ms) +
                          "ms)"};
    }
    return {false, "Watchdog fencing: stonith-watchdog-timeout " + log::quote(*value) + ", SBD timeout " +
                       std::to_string(sbd_timeout_ms) + "ms"};
}

}  // namespace outpost::agent::server
