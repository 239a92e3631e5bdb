// The <rule> elements of a resource's meta_attributes sets and of <rsc_defaults>, evaluated
// as Pacemaker 2.1.5 evaluates them for a resource's meta attributes (docs/isolation.md,
// "Rules"): boolean-op and/or; <expression> on node attributes (defined, not_defined, eq, ne,
// lt, lte, gt, gte; type string, integer, number, version); <date_expression> (in_range with
// end or duration, gt, lt, date_spec); <rsc_expression> (class, provider, type of the resource);
// <op_expression> (never true for meta attributes: there is no operation); nested rules and
// id-refs. Pure: the document, the resource, the node and the time come in.
//
// Anything not understood (an unknown element or operation, a malformed date) makes the
// outcome Unknown with a reason: the caller leaves that set unapplied and says why, where
// Pacemaker would count the expression as false.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/cib_time.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::cibfollow {

using NodeAttrs = std::map<std::string, std::string, std::less<>>;

struct RuleTarget {
    util::EpochSeconds now = 0;
    // The node the resource is evaluated on (its attributes, #uname, #kind ...); nullptr: no
    // node, so every node-attribute expression is false, as Pacemaker has it for a resource
    // that is not placed.
    const NodeAttrs* node = nullptr;
    std::string_view rsc_class, rsc_provider, rsc_type;  // empty when the element has none
};

// Looks an element up by id for id-ref (nullptr: none).
class IdIndex {
public:
    explicit IdIndex(const wire::Element& root) { add(root, 0); }
    [[nodiscard]] const wire::Element* find(std::string_view id) const;

private:
    void add(const wire::Element& element, int depth);
    std::map<std::string, const wire::Element*, std::less<>> by_id_;
};

enum class Outcome { holds, fails, unknown };

struct RuleResult {
    Outcome outcome = Outcome::holds;
    std::string why;  // for unknown: what was not understood
};

class RuleEvaluator {
public:
    RuleEvaluator(const IdIndex& ids, const RuleTarget& target) : ids_(ids), target_(target) {}

    // Whether a nvpair set applies: a set without <rule> does; with several, Pacemaker takes
    // any one that holds.
    [[nodiscard]] RuleResult set_applies(const wire::Element& set);
    [[nodiscard]] RuleResult rule(const wire::Element& rule, int depth = 0);

    // The earliest time after target.now at which a date expression seen so far may change
    // its outcome (the caller evaluates again then).
    [[nodiscard]] std::optional<util::EpochSeconds> next_change() const { return next_change_; }

private:
    RuleResult expression(const wire::Element& e, int depth);
    RuleResult attribute(const wire::Element& e) const;
    RuleResult date(const wire::Element& e);
    RuleResult resource(const wire::Element& e) const;
    const wire::Element* resolve(const wire::Element& e) const;
    void change_at(util::EpochSeconds when);

    const IdIndex& ids_;
    const RuleTarget& target_;
    std::optional<util::EpochSeconds> next_change_;
};

}  // namespace outpost::agent::cibfollow
