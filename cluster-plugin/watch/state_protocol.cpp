#include "watch/state_protocol.hpp"

#include <charconv>
#include <vector>

namespace outpost::cluster::watch {

namespace {

bool carriable(std::string_view field)
{
    return field.find_first_of(std::string_view("\t\n\0", 3)) == std::string_view::npos;
}

// Splits a line (its one trailing newline required) into tab-separated fields.
std::optional<std::vector<std::string_view>> fields_of(std::string_view line)
{
    if (line.size() > kMaxStateLine || line.empty() || line.back() != '\n') return std::nullopt;
    line.remove_suffix(1);
    if (line.find_first_of(std::string_view("\n\0", 2)) != std::string_view::npos) return std::nullopt;
    std::vector<std::string_view> out;
    for (;;) {
        auto tab = line.find('\t');
        out.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos) break;
        line.remove_prefix(tab + 1);
    }
    return out;
}

template <typename T>
std::optional<T> number(std::string_view s)
{
    T v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<int> small_number(std::string_view s)
{
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > 1000) return std::nullopt;
    return v;
}

}  // namespace

std::optional<std::string> encode_query(const StateQuery& q)
{
    if (!carriable(q.resource) || !carriable(q.hypervisor) || !carriable(q.config)) return std::nullopt;
    std::string line = "domain-state\t" + q.resource + '\t' + q.hypervisor + '\t' + q.config + '\n';
    if (line.size() > kMaxStateLine) return std::nullopt;
    return line;
}

std::optional<StateQuery> decode_query(std::string_view line)
{
    auto f = fields_of(line);
    if (!f || f->size() != 4 || (*f)[0] != "domain-state" || (*f)[1].empty() || (*f)[3].empty())
        return std::nullopt;
    return StateQuery{std::string((*f)[1]), std::string((*f)[2]), std::string((*f)[3])};
}

std::string encode_answer(const StateAnswer& a)
{
    auto clean = [](std::string s) {
        for (auto& ch : s)
            if (ch == '\t' || ch == '\n' || ch == '\0') ch = ' ';
        if (s.size() > kMaxStateLine / 2) s.resize(kMaxStateLine / 2);
        return s;
    };
    switch (a.kind) {
        case StateAnswer::Kind::state:
            return "state\t" + clean(a.domain) + '\t' + std::to_string(static_cast<int>(a.status.state)) +
                   '\t' + std::to_string(a.status.reason) + '\t' + std::to_string(a.vcpus) + '\t' +
                   std::to_string(a.max_memory_kib) + '\n';
        case StateAnswer::Kind::absent:
            return "absent\t" + clean(a.domain) + '\n';
        case StateAnswer::Kind::unknown:
            break;
    }
    return "unknown\t" + clean(a.why) + '\n';
}

std::optional<StateAnswer> decode_answer(std::string_view line)
{
    auto f = fields_of(line);
    if (!f || f->empty()) return std::nullopt;
    StateAnswer a;
    const auto& kind = (*f)[0];
    if (kind == "state" && f->size() == 6 && !(*f)[1].empty()) {
        auto state = small_number((*f)[2]);
        auto reason = small_number((*f)[3]);
        auto vcpus = number<unsigned>((*f)[4]);
        auto memory = number<unsigned long long>((*f)[5]);
        if (!state || !reason || !vcpus || !memory ||
            *state > static_cast<int>(lifecycle::State::pm_suspended))
            return std::nullopt;
        a.vcpus = *vcpus;
        a.max_memory_kib = *memory;
        a.kind = StateAnswer::Kind::state;
        a.domain = std::string((*f)[1]);
        a.status = lifecycle::DomainStatus{static_cast<lifecycle::State>(*state), *reason};
        return a;
    }
    if (kind == "absent" && f->size() == 2 && !(*f)[1].empty()) {
        a.kind = StateAnswer::Kind::absent;
        a.domain = std::string((*f)[1]);
        return a;
    }
    if (kind == "unknown" && f->size() == 2) {
        a.kind = StateAnswer::Kind::unknown;
        a.why = std::string((*f)[1]);
        return a;
    }
    return std::nullopt;
}

}  // namespace outpost::cluster::watch
