#include "util/cib_time.hpp"

#include <cctype>
#include <cstdio>

namespace outpost::util {

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d)
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    y = static_cast<int>(yy + (m <= 2));
}

bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m)
{
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads up to `max` digits; false if none.
bool read_int(std::string_view s, std::size_t& i, std::int64_t& out, std::size_t max = 18)
{
    std::size_t start = i;
    out = 0;
    while (i < s.size() && i - start < max && std::isdigit(static_cast<unsigned char>(s[i]))) {
        out = out * 10 + (s[i] - '0');
        ++i;
    }
    return i > start;
}

}  // namespace

std::optional<std::int64_t> parse_interval_ms(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (text.empty()) return std::nullopt;
    if (text.front() == 'P') {
        auto d = parse_duration(text);
        if (!d) return std::nullopt;
        // Months and years as Pacemaker counts them for intervals: 30 and 365 days.
        const std::int64_t days = d->days + d->months * 30LL + d->years * 365LL;
        return (days * 86400 + d->seconds) * 1000;
    }
    std::size_t i = 0;
    std::int64_t value = 0;
    if (!read_int(text, i, value)) return std::nullopt;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    std::string_view unit = text.substr(i);
    if (unit.empty() || unit == "s" || unit == "sec") return value * 1000;
    if (unit == "ms" || unit == "msec") return value;
    if (unit == "us" || unit == "usec") return value / 1000;
    if (unit == "m" || unit == "min") return value * 60 * 1000;
    if (unit == "h" || unit == "hr") return value * 3600 * 1000;
    return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view s)
{
    if (s.empty() || s[0] != 'P') return std::nullopt;
    Duration d;
    bool in_time = false;
    bool any = false;
    std::size_t i = 1;
    while (i < s.size()) {
        if (s[i] == 'T') {
            in_time = true;
            ++i;
            continue;
        }
        std::int64_t v = 0;
        if (!read_int(s, i, v) || i >= s.size()) return std::nullopt;
        const char unit = s[i++];
        any = true;
        if (!in_time) {
            switch (unit) {
                case 'Y':
                    d.years += static_cast<int>(v);
                    break;
                case 'M':
                    d.months += static_cast<int>(v);
                    break;
                case 'W':
                    d.days += v * 7;
                    break;
                case 'D':
                    d.days += v;
                    break;
                case 'H':
                    d.seconds += v * 3600;
                    break;  // accepted without 'T', as Pacemaker does
                case 'S':
                    d.seconds += v;
                    break;
                default:
                    return std::nullopt;
            }
        } else {
            switch (unit) {
                case 'H':
                    d.seconds += v * 3600;
                    break;
                case 'M':
                    d.seconds += v * 60;
                    break;
                case 'S':
                    d.seconds += v;
                    break;
                default:
                    return std::nullopt;
            }
        }
    }
    if (!any) return std::nullopt;
    return d;
}

EpochSeconds add_duration(EpochSeconds when, const Duration& d)
{
    CivilTime c = civil_from_epoch(when);
    int y = c.year + d.years;
    int m = c.month + d.months;
    y += (m - 1) / 12;
    m = (m - 1) % 12 + 1;
    int day = c.day;
    if (day > days_in_month(y, m)) day = days_in_month(y, m);
    EpochSeconds base = epoch_from_civil(y, m, day, c.hour, c.minute, c.second);
    return base + d.days * 86400 + d.seconds;
}

EpochSeconds epoch_from_civil(int year, int month, int day, int hour, int minute, int second)
{
    return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
           hour * 3600LL + minute * 60LL + second;
}

CivilTime civil_from_epoch(EpochSeconds when)
{
    CivilTime c;
    std::int64_t days = when >= 0 ? when / 86400 : -((-when + 86399) / 86400);
    std::int64_t secs = when - days * 86400;
    civil_from_days(days, c.year, c.month, c.day);
    c.hour = static_cast<int>(secs / 3600);
    c.minute = static_cast<int>(secs % 3600 / 60);
    c.second = static_cast<int>(secs % 60);
    c.yearday = static_cast<int>(days - days_from_civil(c.year, 1, 1)) + 1;
    // 1970-01-01 was a Thursday (ISO 4).
    c.weekday = static_cast<int>(((days % 7) + 7 + 3) % 7) + 1;
    // ISO week: the week with the year's first Thursday is week 1.
    const std::int64_t thursday = days - (c.weekday - 1) + 3;
    int ty = 0, tm = 0, td = 0;
    civil_from_days(thursday, ty, tm, td);
    c.weekyear = ty;
    c.week = static_cast<int>((thursday - days_from_civil(ty, 1, 1)) / 7) + 1;
    return c;
}

std::optional<EpochSeconds> parse_datetime(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    std::size_t i = 0;
    std::int64_t year = 0, month = 1, day = 1;
    if (!read_int(s, i, year, 4)) return std::nullopt;
    if (i < s.size() && s[i] == '-') {
        ++i;
        std::size_t start = i;
        std::int64_t v = 0;
        if (!read_int(s, i, v)) return std::nullopt;
        if (i - start == 3) {  // ordinal date YYYY-DDD
            EpochSeconds base = epoch_from_civil(static_cast<int>(year), 1, 1, 0, 0, 0) + (v - 1) * 86400;
            CivilTime c = civil_from_epoch(base);
            month = c.month;
            day = c.day;
        } else {
            month = v;
            if (i < s.size() && s[i] == '-') {
                ++i;
                if (!read_int(s, i, day)) return std::nullopt;
            }
        }
    }
    if (month < 1 || month > 12 || day < 1 ||
        day > days_in_month(static_cast<int>(year), static_cast<int>(month)))
        return std::nullopt;
    std::int64_t hour = 0, minute = 0, second = 0, offset = 0;
    if (i < s.size() && (s[i] == ' ' || s[i] == 'T')) {
        ++i;
        if (!read_int(s, i, hour, 2)) return std::nullopt;
        if (i < s.size() && s[i] == ':') {
            ++i;
            if (!read_int(s, i, minute, 2)) return std::nullopt;
            if (i < s.size() && s[i] == ':') {
                ++i;
                if (!read_int(s, i, second, 2)) return std::nullopt;
            }
        }
        if (i < s.size() && s[i] == '.') {  // fractions are ignored
            ++i;
            std::int64_t frac = 0;
            read_int(s, i, frac);
        }
        while (i < s.size() && s[i] == ' ')
            ++i;
        if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
            ++i;
        } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            const bool neg = s[i] == '-';
            ++i;
            std::int64_t oh = 0, om = 0;
            if (!read_int(s, i, oh, 2)) return std::nullopt;
            if (i < s.size() && s[i] == ':') ++i;
            read_int(s, i, om, 2);
            offset = (oh * 3600 + om * 60) * (neg ? -1 : 1);
        }
    }
    if (i != s.size() || hour > 24 || minute > 59 || second > 60) return std::nullopt;
    return epoch_from_civil(static_cast<int>(year), static_cast<int>(month), static_cast<int>(day),
                            static_cast<int>(hour), static_cast<int>(minute), static_cast<int>(second)) -
           offset;
}

std::string format_datetime(EpochSeconds when)
{
    CivilTime c = civil_from_epoch(when);
    char buf[64];
    (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                        c.minute, c.second);
    return buf;
}

}  // namespace outpost::util
