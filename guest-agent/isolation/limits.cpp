#include "isolation/limits.hpp"

#include <cerrno>
#include <charconv>
#include <limits>
#include <string_view>

namespace outpost::agent::isolation {

namespace {

constexpr std::string_view kMetaPrefix = "CRM_meta_outpost_";
constexpr std::string_view kInstancePrefix = "outpost-";
constexpr std::string_view kInfinity = "infinity";

Error invalid(const std::string& name, const std::string& value, std::string_view expected)
{
    return make_error("isolation", -EINVAL,
                      "invalid " + name + "=" + value + ": expected " + std::string(expected));
}

// A whole decimal number, nothing before or after it.
std::optional<std::uint64_t> parse_number(std::string_view text)
{
    if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

Result<std::optional<std::uint64_t>> parse_ranged(const std::string& name, const std::string& value,
                                                  std::uint64_t lo, std::uint64_t hi, bool infinity_ok)
{
    if (infinity_ok && value == kInfinity) return std::optional<std::uint64_t>();
    auto v = parse_number(value);
    if (!v || *v < lo || *v > hi) {
        std::string expected = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
        if (infinity_ok) expected += ", or infinity";
        return invalid(name, value, expected);
    }
    return std::optional<std::uint64_t>(*v);
}

}  // namespace

const std::vector<std::string>& attribute_names()
{
    static const std::vector<std::string> names = {
        "outpost-cpu-quota", "outpost-cpu-weight", "outpost-memory-max",   "outpost-memory-high",
        "outpost-tasks-max", "outpost-io-weight",  "outpost-allowed-cpus",
    };
    return names;
}

std::vector<Attribute> configured(const wire::ParamMap& params)
{
    std::vector<Attribute> found;
    // Instance attributes last, so that they win over meta attributes of the same name.
    for (const auto& [name, value] : params) {
        if (name.starts_with(kInstancePrefix)) found.push_back(Attribute{name, value});
    }
    std::size_t instance = found.size();
    for (const auto& [name, value] : params) {
        if (!name.starts_with(kMetaPrefix)) continue;
        std::string attr = "outpost-" + name.substr(kMetaPrefix.size());
        for (char& c : attr) {
            if (c == '_') c = '-';
        }
        found.insert(found.end() - static_cast<std::ptrdiff_t>(instance), Attribute{std::move(attr), value});
    }
    return found;
}

const wire::ParamMap* meta_for(const ClusterMeta& meta, std::string_view rsc_id)
{
    if (auto it = meta.find(rsc_id); it != meta.end()) return &it->second;
    // Clone instances are "<primitive>:<n>" (unique clones; anonymous ones keep the id).
    std::size_t colon = rsc_id.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == rsc_id.size() ||
        rsc_id.find_first_not_of("0123456789", colon + 1) != std::string_view::npos)
        return nullptr;
    auto it = meta.find(rsc_id.substr(0, colon));
    return it == meta.end() ? nullptr : &it->second;
}

wire::ParamMap limit_params(const wire::ParamMap& params)
{
    wire::ParamMap out;
    for (const auto& [name, value] : params) {
        if (name.starts_with(kInstancePrefix) || name.starts_with(kMetaPrefix)) out.set(name, value);
    }
    return out;
}

wire::ParamMap with_cluster_meta(const wire::ParamMap& op_params, const wire::ParamMap* meta)
{
    wire::ParamMap out = limit_params(op_params);
    if (meta == nullptr) return out;
    for (const auto& [name, value] : *meta) {
        if (!name.starts_with(kInstancePrefix)) continue;
        std::string key = "CRM_meta_" + name;
        for (std::size_t i = std::string_view("CRM_meta_").size(); i < key.size(); ++i) {
            if (key[i] == '-') key[i] = '_';
        }
        out.insert(std::move(key), value);  // the operation's own value stays
    }
    return out;
}

Result<std::optional<std::uint64_t>> parse_bytes(const std::string& value)
{
    if (value == kInfinity) return std::optional<std::uint64_t>();
    std::string_view digits = value;
    std::uint64_t unit = 1;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'K':
                unit = std::uint64_t{1} << 10;
                break;
            case 'M':
                unit = std::uint64_t{1} << 20;
                break;
            case 'G':
                unit = std::uint64_t{1} << 30;
                break;
            case 'T':
                unit = std::uint64_t{1} << 40;
                break;
            default:
                break;
        }
        if (unit != 1) digits.remove_suffix(1);
    }
    auto n = parse_number(digits);
    if (!n || *n == 0 || *n > std::numeric_limits<std::int64_t>::max() / unit)
        return make_error("isolation", -EINVAL, "not a size");
    return std::optional<std::uint64_t>(*n * unit);
}

Result<std::optional<std::uint64_t>> parse_cpu_quota(const std::string& value)
{
    if (value == kInfinity) return std::optional<std::uint64_t>();
    std::string_view text = value;
    std::uint64_t quota = 0;
    if (text.ends_with('%')) {
        text.remove_suffix(1);
        auto pct = parse_number(text);
        if (!pct || *pct > kMaxCpuQuotaUs / 1000) return make_error("isolation", -EINVAL, "not a percentage");
        quota = *pct * (kCpuPeriodUs / 100);
    } else {
        // Cores, with up to three decimals: 1.5 is 150%.
        std::size_t dot = text.find('.');
        auto whole = parse_number(text.substr(0, dot));
        std::uint64_t thousandths = 0;
        if (dot != std::string_view::npos) {
            std::string_view frac = text.substr(dot + 1);
            auto f = parse_number(frac);
            if (!f || frac.size() > 3) return make_error("isolation", -EINVAL, "not a number of cores");
            thousandths = *f;
            for (std::size_t i = frac.size(); i < 3; ++i)
                thousandths *= 10;
        }
        if (!whole || *whole > kMaxCpuQuotaUs / kCpuPeriodUs)
            return make_error("isolation", -EINVAL, "not a number of cores");
        quota = *whole * kCpuPeriodUs + thousandths * (kCpuPeriodUs / 1000);
    }
    if (quota < kMinCpuQuotaUs || quota > kMaxCpuQuotaUs)
        return make_error("isolation", -EINVAL, "out of range");
    return std::optional<std::uint64_t>(quota);
}

Result<std::string> parse_cpu_list(const std::string& value)
{
    std::string_view rest = value;
    if (rest.empty()) return make_error("isolation", -EINVAL, "empty");
    unsigned last = 0;
    bool first = true;
    while (!rest.empty()) {
        std::size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (comma != std::string_view::npos && rest.empty())
            return make_error("isolation", -EINVAL, "trailing comma");
        std::size_t dash = item.find('-');
        auto lo = parse_number(item.substr(0, dash));
        auto hi = dash == std::string_view::npos ? lo : parse_number(item.substr(dash + 1));
        if (!lo || !hi || *lo > *hi || *hi > kMaxCpuIndex || (!first && *lo <= last))
            return make_error("isolation", -EINVAL, "not an ascending cpu list");
        last = static_cast<unsigned>(*hi);
        first = false;
    }
    return value;
}

Result<Limits> parse(const wire::ParamMap& params)
{
    Limits limits;
    for (const Attribute& attr : configured(params)) {
        const std::string& n = attr.name;
        const std::string& v = attr.value;
        if (n == "outpost-cpu-quota") {
            auto q = parse_cpu_quota(v);
            if (!q)
                return invalid(
                    n, v, "a percentage of one CPU (1% to 102400%, e.g. 50%), cores (e.g. 1.5) or infinity");
            limits.cpu_quota_us = *q;
        } else if (n == "outpost-cpu-weight" || n == "outpost-io-weight") {
            auto w = parse_ranged(n, v, kMinWeight, kMaxWeight, false);
            if (!w) return w.error();
            (n == "outpost-cpu-weight" ? limits.cpu_weight : limits.io_weight) = *w;
        } else if (n == "outpost-memory-max" || n == "outpost-memory-high") {
            auto b = parse_bytes(v);
            if (!b)
                return invalid(n, v, "bytes with an optional K, M, G or T suffix (base 1024), or infinity");
            (n == "outpost-memory-max" ? limits.memory_max : limits.memory_high) = *b;
        } else if (n == "outpost-tasks-max") {
            auto t = parse_ranged(n, v, 1, std::numeric_limits<std::int32_t>::max(), true);
            if (!t) return t.error();
            limits.tasks_max = *t;
        } else if (n == "outpost-allowed-cpus") {
            auto c = parse_cpu_list(v);
            if (!c) return invalid(n, v, "an ascending cpu list such as 0-1,3");
            limits.allowed_cpus = *c;
        } else {
            std::string message = "unknown attribute " + n + " (known:";
            for (const auto& name : attribute_names()) {
                message += message.back() == ':' ? " " : ", ";
                message += name;
            }
            message += ")";
            return make_error("isolation", -EINVAL, message);
        }
    }
    return limits;
}

}  // namespace outpost::agent::isolation
