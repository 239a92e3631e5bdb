// The watchdog check behind lrmd_check (docs/protocol.md 3.3): the cluster sends its
// stonith-watchdog-timeout so the remote node can verify that SBD would really fence it in
// time; a node that cannot honour it must stop for good.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::agent::server {

// Exit status when the watchdog configuration cannot be honoured (Pacemaker's CRM_EX_FATAL).
inline constexpr int kWatchdogFatalExit = 100;

struct WatchdogVerdict {
    bool fatal = false;
    std::string message;  // what to log (empty when there is nothing to say)
};

// `value` is lrmd_watchdog as sent (a Pacemaker duration; plain numbers are seconds);
// `sbd_timeout_ms` is SBD_WATCHDOG_TIMEOUT in ms, 0 when SBD is not configured. Absent or 0:
// nothing to check. Negative: "automatic", twice the SBD timeout, which by construction
// passes. Positive: SBD must be running here (SBD_WATCHDOG_TIMEOUT set) and its timeout must
// not exceed the cluster's value; otherwise the verdict is fatal (kWatchdogFatalExit).
WatchdogVerdict check_watchdog(std::optional<std::string_view> value, std::int64_t sbd_timeout_ms);

}  // namespace outpost::agent::server
