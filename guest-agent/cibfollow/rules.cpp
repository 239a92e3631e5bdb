#include "cibfollow/rules.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>

#include "util/version.hpp"

namespace outpost::agent::cibfollow {

namespace {

// Rules nest; a document this deep is broken or hostile, not a configuration.
constexpr int kMaxRuleDepth = 32;

RuleResult holds(bool yes)
{
    return {yes ? Outcome::holds : Outcome::fails, {}};
}

RuleResult unknown(std::string why)
{
    return {Outcome::unknown, std::move(why)};
}

std::string id_of(const wire::Element& e)
{
    const std::string* id = e.attr("id");
    return id != nullptr ? *id : std::string("?");
}

// name='value', for a reason.
std::string assignment(const std::string& name, const std::string& value)
{
    std::string out = name;
    out.append("='").append(value).append("'");
    return out;
}

std::optional<long long> as_integer(const std::string& s)
{
    long long v = 0;
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
    return v;
}

std::optional<double> as_number(const std::string& s)
{
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
    return v;
}

int three_way(auto a, auto b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

// Pacemaker 2.1.5's comparison of two present values: the declared type, else integer for
// an ordering (number when either side has a '.'), else string; a value that does not parse
// as its type makes it a (case-insensitive) string comparison.
int compare_values(const std::string& l, const std::string& r, std::string_view type, std::string_view op)
{
    if (type.empty()) {
        if (op == "lt" || op == "lte" || op == "gt" || op == "gte")
            type =
                l.find('.') != std::string::npos || r.find('.') != std::string::npos ? "number" : "integer";
        else
            type = "string";
    }
    if (type == "integer") {
        auto a = as_integer(l);
        auto b = as_integer(r);
        if (a && b) return three_way(*a, *b);
    } else if (type == "number") {
        auto a = as_number(l);
        auto b = as_number(r);
        if (a && b) return three_way(*a, *b);
    } else if (type == "version") {
        return version::compare(l, r);
    }
    return ::strcasecmp(l.c_str(), r.c_str());
}

// "5", "1-5", "9-", "-3" as in a date_spec; nullopt when malformed.
std::optional<bool> in_range(std::string_view spec, long value)
{
    auto number = [](std::string_view s) -> std::optional<long> {
        long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
        return v;
    };
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) {
        auto v = number(spec);
        if (!v) return std::nullopt;
        return *v == value;
    }
    std::string_view lo = spec.substr(0, dash);
    std::string_view hi = spec.substr(dash + 1);
    if (lo.empty() && hi.empty()) return std::nullopt;
    std::optional<long> a = lo.empty() ? std::optional<long>(LONG_MIN) : number(lo);
    std::optional<long> b = hi.empty() ? std::optional<long>(LONG_MAX) : number(hi);
    if (!a || !b) return std::nullopt;
    return *a <= value && value <= *b;
}

}  // namespace

// ---- IdIndex ----------------------------------------------------------------------------

void IdIndex::add(const wire::Element& element, int depth)
{
    if (depth > wire::kMaxXmlDepth) return;
    for (const wire::Element& child : element.children) {
        if (const std::string* id = child.attr("id"); id != nullptr && child.attr("id-ref") == nullptr)
            by_id_.emplace(*id, &child);
        add(child, depth + 1);
    }
}

const wire::Element* IdIndex::find(std::string_view id) const
{
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

// ---- RuleEvaluator ----------------------------------------------------------------------

const wire::Element* RuleEvaluator::resolve(const wire::Element& e) const
{
    const std::string* ref = e.attr("id-ref");
    if (ref == nullptr) return &e;
    const wire::Element* target = ids_.find(*ref);
    return target != nullptr && target->name == e.name ? target : nullptr;
}

void RuleEvaluator::change_at(util::EpochSeconds when)
{
    if (when > target_.now && (!next_change_ || when < *next_change_)) next_change_ = when;
}

RuleResult RuleEvaluator::set_applies(const wire::Element& set)
{
    bool any_rule = false;
    RuleResult first_unknown;
    for (const wire::Element& child : set.children) {
        if (child.name != "rule") continue;
        any_rule = true;
        RuleResult r = rule(child);
        if (r.outcome == Outcome::holds) return r;
        if (r.outcome == Outcome::unknown && first_unknown.why.empty()) first_unknown = std::move(r);
    }
    if (!first_unknown.why.empty()) return first_unknown;
    return holds(!any_rule);
}

RuleResult RuleEvaluator::rule(const wire::Element& rule_in, int depth)
{
    if (depth > kMaxRuleDepth) return unknown("rules nested deeper than " + std::to_string(kMaxRuleDepth));
    const wire::Element* r = resolve(rule_in);
    if (r == nullptr) return unknown("rule id-ref " + *rule_in.attr("id-ref") + " (no such rule)");
    const std::string* op = r->attr("boolean-op");
    bool is_or = false;
    if (op != nullptr && ::strcasecmp(op->c_str(), "or") == 0) {
        is_or = true;
    } else if (op != nullptr && ::strcasecmp(op->c_str(), "and") != 0) {
        return unknown("rule " + id_of(*r) + ": boolean-op '" + *op + "'");
    }
    // Every child is evaluated (not short-circuited) so that an expression not understood
    // is reported wherever it stands, and every date's next change is seen.
    bool any = false;
    bool all = true;
    for (const wire::Element& child : r->children) {
        RuleResult sub = expression(child, depth + 1);
        if (sub.outcome == Outcome::unknown) return sub;
        any = any || sub.outcome == Outcome::holds;
        all = all && sub.outcome == Outcome::holds;
    }
    // An empty "and" rule holds and an empty "or" does not, as in Pacemaker.
    return holds(is_or ? any : all);
}

RuleResult RuleEvaluator::expression(const wire::Element& e, int depth)
{
    if (e.name == "rule") return rule(e, depth);
    const wire::Element* x = resolve(e);
    if (x == nullptr) return unknown("<" + e.name + "> id-ref " + *e.attr("id-ref") + " (no such element)");
    if (x->name == "expression") return attribute(*x);
    if (x->name == "date_expression") return date(*x);
    if (x->name == "rsc_expression") return resource(*x);
    // Meta attributes are evaluated for a resource, never for an operation.
    if (x->name == "op_expression") return holds(false);
    return unknown("<" + x->name + "> " + id_of(*x) + " (not a rule expression)");
}

RuleResult RuleEvaluator::attribute(const wire::Element& e) const
{
    const std::string* attribute = e.attr("attribute");
    const std::string* op_text = e.attr("operation");
    if (attribute == nullptr || op_text == nullptr)
        return unknown("expression " + id_of(e) + " without attribute or operation");
    std::string op = *op_text;
    for (char& c : op)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static constexpr std::string_view kOps[] = {"defined", "not_defined", "eq", "ne",
                                                "lt",      "lte",         "gt", "gte"};
    if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps))
        return unknown("expression " + id_of(e) + ": operation '" + *op_text + "'");
    std::string type;
    if (const std::string* t = e.attr("type")) {
        type = *t;
        for (char& c : type)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (type != "string" && type != "integer" && type != "number" && type != "version")
            return unknown("expression " + id_of(e) + ": type '" + *t + "'");
    }
    // Without a node there is nothing to compare with: Pacemaker counts the expression as
    // false whatever its operation (not_defined and ne included).
    if (target_.node == nullptr) return holds(false);
    const std::string* lhs = nullptr;
    if (auto it = target_.node->find(*attribute); it != target_.node->end()) lhs = &it->second;
    if (op == "defined") return holds(lhs != nullptr);
    if (op == "not_defined") return holds(lhs == nullptr);
    // value-source only means something for location rules: a meta attribute's rule
    // compares with the literal value.
    const std::string* rhs = e.attr("value");
    if (lhs == nullptr || rhs == nullptr) {
        // A missing side: equal only when both are; no order.
        if (op == "eq") return holds(lhs == rhs);
        if (op == "ne") return holds(lhs != rhs);
        return holds(false);
    }
    const int cmp = compare_values(*lhs, *rhs, type, op);
    if (op == "eq") return holds(cmp == 0);
    if (op == "ne") return holds(cmp != 0);
    if (op == "lt") return holds(cmp < 0);
    if (op == "lte") return holds(cmp <= 0);
    if (op == "gt") return holds(cmp > 0);
    return holds(cmp >= 0);
}

RuleResult RuleEvaluator::date(const wire::Element& e)
{
    const std::string* op_text = e.attr("operation");
    const std::string op = op_text != nullptr ? *op_text : "in_range";
    std::optional<util::EpochSeconds> start, end;
    if (const std::string* s = e.attr("start")) {
        start = util::parse_datetime(*s);
        if (!start) return unknown("date_expression " + id_of(e) + ": start '" + *s + "'");
    }
    if (const std::string* s = e.attr("end")) {
        end = util::parse_datetime(*s);
        if (!end) return unknown("date_expression " + id_of(e) + ": end '" + *s + "'");
    }
    const util::EpochSeconds now = target_.now;
    if (op == "gt") {
        if (!start) return unknown("date_expression " + id_of(e) + ": gt without start");
        change_at(*start + 1);
        return holds(now > *start);
    }
    if (op == "lt") {
        if (!end) return unknown("date_expression " + id_of(e) + ": lt without end");
        change_at(*end);
        return holds(now < *end);
    }
    if (op == "in_range") {
        if (!end && start) {
            if (const wire::Element* d = e.child("duration")) {
                util::Duration duration;
                for (const auto& [name, value] : d->attributes) {
                    if (name == "id") continue;
                    auto n = as_integer(value);
                    if (!n || *n < 0)
                        return unknown("duration of " + id_of(e) + ": " + assignment(name, value));
                    if (name == "years")
                        duration.years = static_cast<int>(*n);
                    else if (name == "months")
                        duration.months = static_cast<int>(*n);
                    else if (name == "weeks")
                        duration.days += *n * 7;
                    else if (name == "days")
                        duration.days += *n;
                    else if (name == "hours")
                        duration.seconds += *n * 3600;
                    else if (name == "minutes")
                        duration.seconds += *n * 60;
                    else if (name == "seconds")
                        duration.seconds += *n;
                    else
                        return unknown("duration of " + id_of(e) + ": " + name);
                }
                end = util::add_duration(*start, duration);
            }
        }
        if (!start && !end) return unknown("date_expression " + id_of(e) + ": in_range without start or end");
        if (start) change_at(*start);
        if (end) change_at(*end + 1);
        return holds((!start || now >= *start) && (!end || now <= *end));
    }
    if (op == "date_spec") {
        const wire::Element* spec = e.child("date_spec");
        if (spec == nullptr) return unknown("date_expression " + id_of(e) + ": date_spec missing");
        const util::CivilTime c = util::civil_from_epoch(now);
        struct Field {
            const char* name;
            long value;
            util::EpochSeconds step;  // how often the field's value changes, at most
        };
        const Field fields[] = {
            {"seconds", c.second, 1},         {"minutes", c.minute, 60},      {"hours", c.hour, 3600},
            {"monthdays", c.day, 86400},      {"weekdays", c.weekday, 86400}, {"yeardays", c.yearday, 86400},
            {"months", c.month, 86400},       {"years", c.year, 86400},       {"weeks", c.week, 86400},
            {"weekyears", c.weekyear, 86400},
        };
        bool all = true;
        util::EpochSeconds step = 0;
        for (const auto& [name, value] : spec->attributes) {
            if (name == "id") continue;
            const Field* field = nullptr;
            for (const Field& f : fields) {
                if (name == f.name) field = &f;
            }
            if (field == nullptr) return unknown("date_spec of " + id_of(e) + ": " + name);
            auto ok = in_range(value, field->value);
            if (!ok) return unknown("date_spec of " + id_of(e) + ": " + assignment(name, value));
            all = all && *ok;
            if (step == 0 || field->step < step) step = field->step;
        }
        if (step != 0) change_at((now / step + 1) * step);
        return holds(all);
    }
    return unknown("date_expression " + id_of(e) + ": operation '" + op + "'");
}

RuleResult RuleEvaluator::resource(const wire::Element& e) const
{
    auto matches = [&e](const char* name, std::string_view have) {
        const std::string* want = e.attr(name);
        return want == nullptr || *want == have;
    };
    // An expression without provider matches only resources without one (2.1.5, observed:
    // class="ocf" type="Dummy" does not match ocf:pacemaker:Dummy).
    const bool provider = e.attr("provider") != nullptr ? *e.attr("provider") == target_.rsc_provider
                                                        : target_.rsc_provider.empty();
    return holds(matches("class", target_.rsc_class) && provider && matches("type", target_.rsc_type));
}

}  // namespace outpost::agent::cibfollow
