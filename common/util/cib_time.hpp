// Time as the CIB writes it: epoch seconds (last-rc-change, execution-date), ISO 8601 date
// and time ("2013-02-22 13:49:31Z", "2013-02-22T13:49:31+01:00", "2013-054"), ISO 8601
// durations ("P1Y2M3DT4H5M6S", "PT10S"), and Pacemaker's interval specs ("10s", "1m",
// "500ms", "10" = seconds). Pure: nothing here reads a clock, "now" is an input. Shared by the
// policy engine (cluster-plugin/policy) and the agent's rule evaluation (guest-agent/cibfollow).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::util {

using EpochSeconds = std::int64_t;

// Milliseconds of an interval or timeout spec; nullopt when it is not one.
std::optional<std::int64_t> parse_interval_ms(std::string_view text);

// An ISO 8601 point in time as epoch seconds (UTC; an offset in the text is applied; a
// missing time is midnight; a missing zone is UTC).
std::optional<EpochSeconds> parse_datetime(std::string_view text);
// "YYYY-MM-DD HH:MM:SSZ"
std::string format_datetime(EpochSeconds when);

struct Duration {
    int years = 0;
    int months = 0;
    std::int64_t days = 0;
    std::int64_t seconds = 0;
};
// "P1Y2M3W4DT5H6M7S" (ISO 8601); nullopt if malformed.
std::optional<Duration> parse_duration(std::string_view text);
EpochSeconds add_duration(EpochSeconds when, const Duration& duration);

// Broken-down UTC time for date_spec evaluation.
struct CivilTime {
    int year = 1970, month = 1, day = 1;  // month 1..12, day 1..31
    int hour = 0, minute = 0, second = 0;
    int yearday = 1;  // 1..366
    int weekday = 4;  // ISO: 1 = Monday .. 7 = Sunday
    int weekyear = 1970;
    int week = 1;  // ISO week 1..53
};
CivilTime civil_from_epoch(EpochSeconds when);
EpochSeconds epoch_from_civil(int year, int month, int day, int hour, int minute, int second);

}  // namespace outpost::util
