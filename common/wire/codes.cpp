#include "wire/codes.hpp"

#include <array>

namespace outpost::wire {

std::string_view ocf_rc_name(int rc)
{
    static constexpr std::array<std::string_view, 10> kNames = {"ok",
                                                                "error",
                                                                "invalid parameter",
                                                                "unimplemented feature",
                                                                "insufficient privileges",
                                                                "not installed",
                                                                "not configured",
                                                                "not running",
                                                                "promoted",
                                                                "promoted (failed)"};
    if (rc >= 0 && rc < static_cast<int>(kNames.size())) return kNames[static_cast<std::size_t>(rc)];
    return "error";
}

std::string_view exec_status_name(ExecStatus status)
{
    static constexpr std::array<std::string_view, 12> kNames = {
        "complete",    "Cancelled",     "Timed Out",     "Not supported", "Error",           "Hard error",
        "Fatal error", "Not installed", "Not connected", "Invalid",       "No fence device", "No secrets"};
    const int value = static_cast<int>(status);
    if (value >= 0 && value < static_cast<int>(kNames.size())) return kNames[static_cast<std::size_t>(value)];
    return "Unknown";
}

}  // namespace outpost::wire
