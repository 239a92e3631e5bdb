#include "policy/rules.hpp"

#include <libxml/tree.h>

#include <strings.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>

#include "policy/scores.hpp"

namespace outpost::cluster::policy {

namespace {

using xml::attr;
using xml::attr_c;

// id -> element lookups for id-ref, per document, built lazily.
const xmlNode* find_by_id(const xmlNode* from, std::string_view id)
{
    if (!from || !from->doc) return nullptr;
    // Documents here are small enough for a walk; id-ref is rare.
    std::vector<const xmlNode*> stack{xmlDocGetRootElement(from->doc)};
    while (!stack.empty()) {
        const xmlNode* n = stack.back();
        stack.pop_back();
        if (n->type == XML_ELEMENT_NODE) {
            const char* nid = attr_c(n, "id");
            if (nid && id == nid && !xml::has_attr(n, "id-ref")) return n;
            for (const xmlNode* c = n->children; c; c = c->next) {
                if (c->type == XML_ELEMENT_NODE) stack.push_back(c);
            }
        }
    }
    return nullptr;
}

std::optional<double> as_number(std::string_view s)
{
    if (s.empty()) return std::nullopt;
    std::string copy(s);
    char* end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() || *end != '\0') return std::nullopt;
    return v;
}

bool eval_attr_expression(const xmlNode* e, const RuleContext& ctx)
{
    std::string_view attribute = attr(e, "attribute");
    std::string_view op = attr(e, "operation");
    std::string_view type = attr(e, "type");
    const char* value_c = attr_c(e, "value");
    std::string_view source = attr(e, "value-source");

    std::optional<std::string> lhs;
    if (ctx.node_attrs) {
        auto it = ctx.node_attrs->find(attribute);
        if (it != ctx.node_attrs->end()) lhs = it->second;
    }
    std::optional<std::string> rhs;
    if (value_c) rhs = std::string(value_c);
    if (rhs && (source == "param" || source == "meta")) {
        std::optional<std::string> resolved;
        if (source == "param" && ctx.rsc_params) {
            for (const auto& [k, v] : *ctx.rsc_params) {
                if (k == *rhs) resolved = v;
            }
        } else if (source == "meta" && ctx.rsc_meta) {
            auto it = ctx.rsc_meta->find(*rhs);
            if (it != ctx.rsc_meta->end()) resolved = it->second;
        }
        rhs = resolved;
    }

    if (op == "defined") return lhs.has_value();
    if (op == "not_defined") return !lhs.has_value();

    if (!lhs || !rhs) {
        // A missing side makes every comparison false except "not equal".
        return op == "ne" && (lhs.has_value() != rhs.has_value());
    }

    int cmp = 0;
    bool numeric = false;
    std::string_view t = type;
    if (t.empty()) {
        // Comparisons of two numbers are numeric, everything else is a string comparison.
        if (op == "lt" || op == "gt" || op == "lte" || op == "gte") {
            numeric = as_number(*lhs).has_value() && as_number(*rhs).has_value();
        }
    } else if (t == "number" || t == "integer") {
        numeric = true;
    }
    if (t == "version") {
        cmp = compare_versions(*lhs, *rhs);
    } else if (numeric) {
        auto l = as_number(*lhs);
        auto r = as_number(*rhs);
        if (!l || !r) {
            cmp = strcasecmp(lhs->c_str(), rhs->c_str());
        } else {
            cmp = *l < *r ? -1 : (*l > *r ? 1 : 0);
        }
    } else {
        cmp = strcasecmp(lhs->c_str(), rhs->c_str());
    }
    if (op == "eq") return cmp == 0;
    if (op == "ne") return cmp != 0;
    if (op == "lt") return cmp < 0;
    if (op == "lte") return cmp <= 0;
    if (op == "gt") return cmp > 0;
    if (op == "gte") return cmp >= 0;
    return false;
}

// "5", "1-5", "9-" ... as a range check.
bool in_spec_range(std::string_view spec, long value)
{
    if (spec.empty()) return true;
    auto dash = spec.find('-');
    auto num = [](std::string_view s, long& out) {
        if (s.empty()) return false;
        std::string copy(s);
        char* end = nullptr;
        out = std::strtol(copy.c_str(), &end, 10);
        return end && *end == '\0';
    };
    if (dash == std::string_view::npos) {
        long v = 0;
        return num(spec, v) && v == value;
    }
    long lo = 0, hi = 0;
    bool has_lo = num(spec.substr(0, dash), lo);
    bool has_hi = num(spec.substr(dash + 1), hi);
    if (has_lo && value < lo) return false;
    if (has_hi && value > hi) return false;
    return has_lo || has_hi;
}

bool eval_date_spec(const xmlNode* spec, EpochSeconds now)
{
    if (!spec) return false;
    CivilTime c = civil_from_epoch(now);
    struct Field {
        const char* name;
        long value;
    };
    const Field fields[] = {
        {"years", c.year},         {"months", c.month}, {"monthdays", c.day},  {"weekdays", c.weekday},
        {"yeardays", c.yearday},   {"hours", c.hour},   {"minutes", c.minute}, {"seconds", c.second},
        {"weekyears", c.weekyear}, {"weeks", c.week},
    };
    for (const auto& f : fields) {
        const char* v = attr_c(spec, f.name);
        if (v && !in_spec_range(v, f.value)) return false;
    }
    return true;
}

void note_change(const RuleContext& ctx, EpochSeconds when)
{
    if (when > ctx.now && (!ctx.next_change || when < *ctx.next_change)) ctx.next_change = when;
}

bool eval_date_expression(const xmlNode* e, const RuleContext& ctx)
{
    std::string_view op = attr(e, "operation");
    if (op.empty()) op = "in_range";
    std::optional<EpochSeconds> start, end;
    if (const char* s = attr_c(e, "start")) start = parse_datetime(s);
    if (const char* s = attr_c(e, "end")) end = parse_datetime(s);
    if (op == "date_spec") return eval_date_spec(xml::first_child(e, "date_spec"), ctx.now);
    if (op == "gt") {
        if (!start) return false;
        note_change(ctx, *start + 1);
        return ctx.now > *start;
    }
    if (op == "lt") {
        if (!end) return false;
        note_change(ctx, *end);
        return ctx.now < *end;
    }
    if (op == "in_range") {
        if (!end && start) {
            if (const xmlNode* d = xml::first_child(e, "duration")) {
                Duration dur;
                dur.years = std::atoi(std::string(attr(d, "years")).c_str());
                dur.months = std::atoi(std::string(attr(d, "months")).c_str());
                dur.days = std::atoll(std::string(attr(d, "weeks")).c_str()) * 7 +
                           std::atoll(std::string(attr(d, "days")).c_str());
                dur.seconds = std::atoll(std::string(attr(d, "hours")).c_str()) * 3600 +
                              std::atoll(std::string(attr(d, "minutes")).c_str()) * 60 +
                              std::atoll(std::string(attr(d, "seconds")).c_str());
                end = add_duration(*start, dur);
            }
        }
        if (!start && !end) return false;
        if (start) note_change(ctx, *start);
        if (end) note_change(ctx, *end + 1);
        if (start && ctx.now < *start) return false;
        if (end && ctx.now > *end) return false;
        return true;
    }
    return false;
}

bool eval_rsc_expression(const xmlNode* e, const RuleContext& ctx)
{
    if (!ctx.has_rsc) return true;
    if (const char* v = attr_c(e, "class"); v && ctx.rsc_class != v) return false;
    if (const char* v = attr_c(e, "provider"); v && ctx.rsc_provider != v) return false;
    if (const char* v = attr_c(e, "type"); v && ctx.rsc_type != v) return false;
    return true;
}

bool eval_op_expression(const xmlNode* e, const RuleContext& ctx)
{
    if (!ctx.has_op) return false;
    if (const char* v = attr_c(e, "name"); v && ctx.op_name != v) return false;
    if (const char* v = attr_c(e, "interval")) {
        auto ms = parse_interval_ms(v);
        if (!ms || *ms != ctx.op_interval_ms) return false;
    }
    return true;
}

bool eval_expression(const xmlNode* e, const RuleContext& ctx, int depth);

bool eval_rule(const xmlNode* rule, const RuleContext& ctx, int depth)
{
    rule = resolve_ref(rule);
    if (!rule || depth > xml::kMaxDepth) return false;
    const bool is_or = attr(rule, "boolean-op") == "or";
    bool any = false;
    for (const xmlNode* child : xml::elements(rule)) {
        any = true;
        const bool r = eval_expression(child, ctx, depth + 1);
        if (is_or && r) return true;
        if (!is_or && !r) return false;
    }
    // An empty rule holds; an "or" with children none of which held does not.
    return !is_or || !any;
}

bool eval_expression(const xmlNode* e, const RuleContext& ctx, int depth)
{
    std::string_view n = xml::name(e);
    if (n == "expression") return eval_attr_expression(resolve_ref(e), ctx);
    if (n == "date_expression") return eval_date_expression(resolve_ref(e), ctx);
    if (n == "rule") return eval_rule(e, ctx, depth);
    if (n == "rsc_expression") return eval_rsc_expression(e, ctx);
    if (n == "op_expression") return eval_op_expression(e, ctx);
    return false;
}

}  // namespace

const xmlNode* resolve_ref(const xmlNode* node)
{
    if (!node) return nullptr;
    const char* ref = attr_c(node, "id-ref");
    if (!ref) return node;
    return find_by_id(node, ref);
}

bool evaluate_rule(const xmlNode* rule, const RuleContext& ctx)
{
    return eval_rule(rule, ctx, 0);
}

bool block_applies(const xmlNode* block, const RuleContext& ctx)
{
    for (const xmlNode* rule : xml::elements(block, "rule")) {
        if (!evaluate_rule(rule, ctx)) return false;
    }
    return true;
}

namespace {

// The nvpairs of the blocks whose rules apply, highest block score first (equal scores in
// document order), references resolved: the one walk every nvpair reader shares.
void for_each_applicable_nvpair(const std::vector<const xmlNode*>& blocks_in, const RuleContext& ctx,
                                const std::function<void(const char* name, const char* value)>& f)
{
    struct Block {
        const xmlNode* node;
        Score score;
    };
    std::vector<Block> blocks;
    blocks.reserve(blocks_in.size());
    for (const xmlNode* b0 : blocks_in) {
        const xmlNode* b = resolve_ref(b0);
        if (b) blocks.push_back({b, parse_score(attr(b, "score"))});
    }
    std::stable_sort(blocks.begin(), blocks.end(),
                     [](const Block& a, const Block& b) { return a.score > b.score; });
    for (const Block& b : blocks) {
        if (!block_applies(b.node, ctx)) continue;
        for (const xmlNode* nv : xml::elements(b.node, "nvpair")) {
            const xmlNode* pair = resolve_ref(nv);
            if (!pair) continue;
            const char* name = attr_c(pair, "name");
            if (name) f(name, attr_c(pair, "value"));
        }
    }
}

std::vector<const xmlNode*> blocks_of(const xmlNode* parent, std::string_view element)
{
    std::vector<const xmlNode*> blocks;
    for (const xmlNode* b : xml::elements(parent, element))
        blocks.push_back(b);
    return blocks;
}

}  // namespace

void for_each_nvpair(const xmlNode* parent, std::string_view element, const RuleContext& ctx,
                     const std::function<void(const char* name, const char* value)>& f)
{
    for_each_applicable_nvpair(blocks_of(parent, element), ctx, f);
}

void unpack_nvpair_blocks(const std::vector<const xmlNode*>& blocks, const RuleContext& ctx,
                          std::map<std::string, std::string, std::less<>>& out, bool overwrite)
{
    for_each_applicable_nvpair(blocks, ctx, [&](const char* name, const char* value) {
        auto it = out.find(std::string_view(name));
        if (it != out.end() && !overwrite) return;
        if (value == nullptr) {
            // A name without a value removes it (only meaningful when overwriting).
            if (it != out.end()) out.erase(it);
            return;
        }
        out[name] = value;
    });
}

void unpack_nvpair_sets(const xmlNode* parent, std::string_view element, const RuleContext& ctx,
                        std::map<std::string, std::string, std::less<>>& out, bool overwrite)
{
    unpack_nvpair_blocks(blocks_of(parent, element), ctx, out, overwrite);
}

int compare_versions(std::string_view a, std::string_view b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        long x = 0, y = 0;
        while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i])))
            x = x * 10 + (a[i++] - '0');
        while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j])))
            y = y * 10 + (b[j++] - '0');
        if (x != y) return x < y ? -1 : 1;
        if (i < a.size()) ++i;
        if (j < b.size()) ++j;
    }
    return 0;
}

}  // namespace outpost::cluster::policy
