// Unpacking constraints: rsc_location (scores, rules, resource-discovery, roles),
// rsc_colocation and rsc_order, with resource sets; rsc_ticket is refused.
#include <regex.h>

#include <algorithm>
#include <cerrno>

#include "policy/actions.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

namespace {

using xml::attr;
using xml::attr_c;

Error cib_error(std::string message)
{
    return make_error("cib", -EINVAL, std::move(message));
}
Error unsupported(std::string what)
{
    return make_error("cib", -ENOTSUP, "unsupported: " + std::move(what));
}

// A resource id in a constraint: a configured resource (a group member too), or the
// primitive inside a clone, which means the clone. Unknown ids make the constraint be
// ignored, as Pacemaker does; tags are not supported yet.
Result<RscIdx> constraint_rsc(Cluster& c, std::string_view id, std::string_view cons)
{
    RscIdx r = c.find_rsc(id);
    if (r != kNone) {
        RscIdx cl = c.clone_of(r);
        return cl != kNone && cl != r ? cl : r;
    }
    for (RscIdx t : c.top) {
        const Resource& top = c.resources[t];
        if (!top.is_clone() || top.children.empty()) continue;
        const Resource& inst = c.resources[top.children.front()];
        if (inst.base_id == id) return t;
        for (RscIdx m : inst.children) {
            if (c.resources[m].base_id == id) return t;
        }
    }
    const xmlNode* tags = xml::first_child(xml::first_child(c.root, "configuration"), "tags");
    for (const xmlNode* t : xml::elements(tags, "tag")) {
        if (attr(t, "id") == id)
            return unsupported("tag " + std::string(id) + " referenced by constraint " + std::string(cons));
    }
    c.config_warnings.push_back("constraint " + std::string(cons) + " refers to unknown resource " +
                                std::string(id));
    return kNone;
}

std::optional<Role> role_attr(const xmlNode* x, const char* name)
{
    const char* v = attr_c(x, name);
    if (!v || !*v) return std::nullopt;
    auto r = parse_role(v);
    if (r && *r == Role::started) return std::nullopt;  // "Started" means any role
    return r;
}

Status unpack_location_one(Cluster& c, const xmlNode* x, RscIdx rsc, std::string_view id)
{
    Location loc;
    loc.id = std::string(id);
    loc.rsc = rsc;
    loc.role = role_attr(x, "role");
    loc.discovery = std::string(attr(x, "resource-discovery"));
    if (!loc.discovery.empty() && loc.discovery != "always" && loc.discovery != "never" &&
        loc.discovery != "exclusive")
        return cib_error("location " + loc.id + " has an invalid resource-discovery");
    if (const char* node = attr_c(x, "node")) {
        loc.has_node = true;
        loc.node = node;
        const char* score = attr_c(x, "score");
        if (!score) return cib_error("location " + loc.id + " has a node but no score");
        loc.score = parse_score(score);
    } else {
        for (const xmlNode* rule : xml::elements(x, "rule"))
            loc.rules.push_back(const_cast<xmlNode*>(rule));
        if (loc.rules.empty()) return cib_error("location " + loc.id + " has neither a node nor a rule");
    }
    c.locations.push_back(std::move(loc));
    return {};
}

Status unpack_location(Cluster& c, const xmlNode* x)
{
    std::string_view id = attr(x, "id");
    if (const char* rsc = attr_c(x, "rsc")) {
        auto r = constraint_rsc(c, rsc, id);
        if (!r) return r.error();
        if (*r == kNone) return {};
        return unpack_location_one(c, x, *r, id);
    }
    if (const char* pattern = attr_c(x, "rsc-pattern")) {
        regex_t re;
        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
            return cib_error("location " + std::string(id) + " has an invalid rsc-pattern");
        for (RscIdx t : c.top) {
            if (regexec(&re, c.resources[t].id.c_str(), 0, nullptr, 0) == 0) {
                if (auto st = unpack_location_one(c, x, t, id); !st) {
                    regfree(&re);
                    return st;
                }
            }
        }
        regfree(&re);
        return {};
    }
    bool any = false;
    for (const xmlNode* set : xml::elements(x, "resource_set")) {
        const xmlNode* s = resolve_ref(set);
        for (const xmlNode* ref : xml::elements(s, "resource_ref")) {
            auto r = constraint_rsc(c, attr(ref, "id"), id);
            if (!r) return r.error();
            if (*r == kNone) continue;
            if (auto st = unpack_location_one(c, x, *r, id); !st) return st;
            if (auto role = role_attr(s, "role")) c.locations.back().role = role;
            any = true;
        }
    }
    if (!any) return cib_error("location " + std::string(id) + " names no resource");
    return {};
}

Status add_colocation(Cluster& c, std::string_view id, RscIdx dep, RscIdx primary, Score score,
                      std::optional<Role> dep_role, std::optional<Role> primary_role,
                      std::string_view node_attr, bool influence)
{
    if (dep == primary) return {};
    Colocation col;
    col.id = std::string(id);
    col.dependent = dep;
    col.primary = primary;
    col.score = score;
    col.dependent_role = dep_role;
    col.primary_role = primary_role;
    if (!node_attr.empty()) col.node_attribute = std::string(node_attr);
    col.influence = influence;
    const auto idx = static_cast<std::uint32_t>(c.colocations.size());
    c.colocations.push_back(std::move(col));
    c.resources[dep].this_with.push_back(idx);
    c.resources[primary].with_this.push_back(idx);
    return {};
}

Status unpack_colocation(Cluster& c, const xmlNode* x)
{
    std::string_view id = attr(x, "id");
    const Score score = parse_score(attr(x, "score"));
    std::string_view node_attr = attr(x, "node-attribute");
    const bool influence_default = true;
    if (const char* rsc = attr_c(x, "rsc")) {
        const char* with = attr_c(x, "with-rsc");
        if (!with) return cib_error("colocation " + std::string(id) + " has no with-rsc");
        auto d = constraint_rsc(c, rsc, id);
        if (!d) return d.error();
        auto p = constraint_rsc(c, with, id);
        if (!p) return p.error();
        if (*d == kNone || *p == kNone) return {};
        if (attr_c(x, "rsc-instance") || attr_c(x, "with-rsc-instance"))
            return unsupported("colocation " + std::string(id) + " with rsc-instance");
        bool influence = influence_default;
        if (const char* inf = attr_c(x, "influence")) influence = is_true(inf);
        return add_colocation(c, id, *d, *p, score, role_attr(x, "rsc-role"), role_attr(x, "with-rsc-role"),
                              node_attr, influence);
    }
    // Resource sets: within a sequential set each member is colocated with the previous;
    // between sets, every member of a set with the members of the previous set.
    std::vector<std::pair<std::vector<RscIdx>, const xmlNode*>> sets;
    for (const xmlNode* set0 : xml::elements(x, "resource_set")) {
        const xmlNode* set = resolve_ref(set0);
        std::vector<RscIdx> members;
        for (const xmlNode* ref : xml::elements(set, "resource_ref")) {
            auto r = constraint_rsc(c, attr(ref, "id"), id);
            if (!r) return r.error();
            if (*r != kNone) members.push_back(*r);
        }
        sets.emplace_back(std::move(members), set);
    }
    if (sets.empty()) return cib_error("colocation " + std::string(id) + " names no resource");
    for (auto& [members, set] : sets) {
        const bool sequential = !xml::has_attr(set, "sequential") || is_true(attr(set, "sequential"));
        Score set_score = xml::has_attr(set, "score") ? parse_score(attr(set, "score")) : score;
        auto role = role_attr(set, "role");
        if (sequential) {
            for (std::size_t i = 1; i < members.size(); ++i) {
                if (auto st = add_colocation(c, id, members[i], members[i - 1], set_score, role, role,
                                             node_attr, influence_default);
                    !st)
                    return st;
            }
        }
    }
    for (std::size_t s = 1; s < sets.size(); ++s) {
        auto& prev = sets[s - 1];
        auto& cur = sets[s];
        if (prev.first.empty() || cur.first.empty()) continue;
        const bool seq_cur =
            !xml::has_attr(cur.second, "sequential") || is_true(attr(cur.second, "sequential"));
        const bool seq_prev =
            !xml::has_attr(prev.second, "sequential") || is_true(attr(prev.second, "sequential"));
        auto role_cur = role_attr(cur.second, "role");
        auto role_prev = role_attr(prev.second, "role");
        // The first member of this set with the last member of the previous one (or every
        // pair when a set is not sequential).
        std::vector<RscIdx> deps = seq_cur ? std::vector<RscIdx>{cur.first.front()} : cur.first;
        std::vector<RscIdx> prims = seq_prev ? std::vector<RscIdx>{prev.first.back()} : prev.first;
        for (RscIdx d : deps) {
            for (RscIdx p : prims) {
                if (auto st =
                        add_colocation(c, id, d, p, score, role_cur, role_prev, node_attr, influence_default);
                    !st)
                    return st;
            }
        }
    }
    return {};
}

std::string_view invert_task(std::string_view task)
{
    if (task == "start") return "stop";
    if (task == "stop") return "start";
    if (task == "promote") return "demote";
    if (task == "demote") return "promote";
    if (task == "promoted") return "demoted";
    if (task == "demoted") return "promoted";
    if (task == "running") return "stopped";
    if (task == "stopped") return "running";
    return {};
}

enum class Symmetry { asymmetric, symmetric, inverse };

std::uint32_t order_flags(OrderKind kind, std::string_view first_task, Symmetry sym)
{
    std::uint32_t flags = kOrderOptional;
    switch (kind) {
        case OrderKind::optional:
            break;
        case OrderKind::serialize:
            flags |= kOrderSerialize;
            break;
        case OrderKind::mandatory:
            switch (sym) {
                case Symmetry::asymmetric:
                    flags |= kOrderAsymmetrical;
                    break;
                case Symmetry::symmetric:
                    flags |= kOrderImpliesThen;
                    if (first_task == "start" || first_task == "promote") flags |= kOrderRunnableLeft;
                    break;
                case Symmetry::inverse:
                    flags |= kOrderImpliesFirst;
                    break;
            }
            break;
    }
    return flags;
}

void add_order(Cluster& c, RscIdx first, std::string_view first_task, RscIdx then, std::string_view then_task,
               std::uint32_t flags)
{
    Ordering o;
    o.id = static_cast<std::uint32_t>(c.orderings.size());
    o.first_rsc = first;
    o.first_task = std::string(first_task);
    o.then_rsc = then;
    o.then_task = std::string(then_task);
    o.flags = flags | kOrderUser;
    c.orderings.push_back(std::move(o));
}

OrderKind kind_of(const xmlNode* x)
{
    std::string_view kind = attr(x, "kind");
    if (kind.empty()) {
        const char* score = attr_c(x, "score");
        if (score && parse_score(score) == 0) return OrderKind::optional;
        return OrderKind::mandatory;
    }
    if (kind == "Optional" || kind == "optional") return OrderKind::optional;
    if (kind == "Serialize" || kind == "serialize") return OrderKind::serialize;
    return OrderKind::mandatory;
}

Status unpack_order(Cluster& c, const xmlNode* x)
{
    std::string_view id = attr(x, "id");
    const OrderKind kind = kind_of(x);
    const char* sym_attr = attr_c(x, "symmetrical");
    const bool symmetrical = sym_attr ? is_true(sym_attr) : kind != OrderKind::serialize;
    if (const char* first = attr_c(x, "first")) {
        const char* then = attr_c(x, "then");
        if (!then) return cib_error("order " + std::string(id) + " has no then");
        auto f = constraint_rsc(c, first, id);
        if (!f) return f.error();
        auto t = constraint_rsc(c, then, id);
        if (!t) return t.error();
        if (*f == kNone || *t == kNone) return {};
        if (attr_c(x, "first-instance") || attr_c(x, "then-instance"))
            return unsupported("order " + std::string(id) + " with first-instance/then-instance");
        std::string first_task(attr(x, "first-action"));
        if (first_task.empty()) first_task = "start";
        std::string then_task(attr(x, "then-action"));
        if (then_task.empty()) then_task = first_task;
        if (*f == *t) return {};
        const std::uint32_t flags =
            order_flags(kind, first_task, symmetrical ? Symmetry::symmetric : Symmetry::asymmetric);
        const char* require_all = attr_c(x, "require-all");
        if (require_all && !is_true(require_all) && c.resources[*f].is_clone()) {
            // Any one instance of the clone is enough: the instances' actions feed a
            // "clone-one-or-more:<id>" pseudo action that is runnable if any of them is.
            const std::string key = "clone-one-or-more:" + std::string(id);
            ActIdx any = c.make_action(kNone, key, key, kNone, false);
            c.actions[any].flags |= kActPseudo | kActRunnable | kActRequiresAny;
            for (RscIdx ch : c.resources[*f].children)
                order_spec(c, ch, first_task, 0, kNone, kNone, {}, 0, any,
                           kOrderOneOrMore | kOrderImpliesThenPrinted);
            order_spec(c, kNone, {}, 0, any, *t, then_task, 0, kNone, flags);
        } else {
            add_order(c, *f, first_task, *t, then_task, flags);
        }
        if (symmetrical) {
            std::string_view inv_first = invert_task(then_task);
            std::string_view inv_then = invert_task(first_task);
            if (!inv_first.empty() && !inv_then.empty())
                add_order(c, *t, inv_first, *f, inv_then, order_flags(kind, inv_first, Symmetry::inverse));
        }
        return {};
    }
    // Resource sets: sequential members in order, sets after each other.
    struct Set {
        std::string id;
        std::vector<RscIdx> members;
        std::string action;
        bool sequential;
        bool said_sequential;  // sequential="true" written out (between sets, absent means no)
        bool require_all;
        OrderKind kind;
    };
    std::vector<Set> sets;
    for (const xmlNode* set0 : xml::elements(x, "resource_set")) {
        const xmlNode* set = resolve_ref(set0);
        Set s;
        s.id = std::string(attr(set, "id"));
        for (const xmlNode* ref : xml::elements(set, "resource_ref")) {
            auto r = constraint_rsc(c, attr(ref, "id"), id);
            if (!r) return r.error();
            if (*r != kNone) s.members.push_back(*r);
        }
        s.action = std::string(attr(set, "action"));
        if (s.action.empty()) s.action = "start";
        s.sequential = !xml::has_attr(set, "sequential") || is_true(attr(set, "sequential"));
        s.said_sequential = xml::has_attr(set, "sequential") && is_true(attr(set, "sequential"));
        s.require_all = !xml::has_attr(set, "require-all") || is_true(attr(set, "require-all"));
        s.kind = xml::has_attr(set, "kind") || xml::has_attr(set, "score") ? kind_of(set) : kind;
        sets.push_back(std::move(s));
    }
    if (sets.empty()) return cib_error("order " + std::string(id) + " names no resource");
    for (const Set& s : sets) {
        if (!s.sequential) continue;
        for (std::size_t i = 1; i < s.members.size(); ++i) {
            add_order(
                c, s.members[i - 1], s.action, s.members[i], s.action,
                order_flags(s.kind, s.action, symmetrical ? Symmetry::symmetric : Symmetry::asymmetric));
            if (symmetrical) {
                std::string_view inv = invert_task(s.action);
                if (!inv.empty())
                    add_order(c, s.members[i], inv, s.members[i - 1], inv,
                              order_flags(s.kind, inv, Symmetry::inverse));
            }
        }
    }
    for (std::size_t k = 1; k < sets.size(); ++k) {
        const Set& a = sets[k - 1];
        const Set& b = sets[k];
        if (a.members.empty() || b.members.empty()) continue;
        if (!a.require_all && a.action != "stop" && a.action != "demote") {
            // Any one member of the first set is enough (whether it is sequential or not):
            // its members' actions feed a "one-or-more:<set>" pseudo action that is runnable
            // if any of them is, and that comes before every member of the next set. Stops
            // and demotions (the inverse direction too) still need them all.
            const std::string key = "one-or-more:" + a.id;
            ActIdx any = c.make_action(kNone, key, key, kNone, false);
            c.actions[any].flags |= kActPseudo | kActRunnable | kActRequiresAny;
            for (RscIdx f : a.members)
                order_spec(c, f, a.action, 0, kNone, kNone, {}, 0, any,
                           kOrderOneOrMore | kOrderImpliesThenPrinted);
            const std::uint32_t then_flags =
                order_flags(kind, a.action, symmetrical ? Symmetry::symmetric : Symmetry::asymmetric) |
                kOrderRunnableLeft;
            for (RscIdx t : b.members)
                order_spec(c, kNone, {}, 0, any, t, b.action, 0, kNone, then_flags);
            if (symmetrical) {
                std::vector<RscIdx> firsts =
                    b.said_sequential ? std::vector<RscIdx>{b.members.front()} : b.members;
                std::vector<RscIdx> thens =
                    a.said_sequential ? std::vector<RscIdx>{a.members.back()} : a.members;
                std::string_view inv_first = invert_task(b.action);
                std::string_view inv_then = invert_task(a.action);
                if (!inv_first.empty() && !inv_then.empty()) {
                    for (RscIdx f : firsts) {
                        for (RscIdx t : thens)
                            add_order(c, f, inv_first, t, inv_then,
                                      order_flags(kind, inv_first, Symmetry::inverse));
                    }
                }
            }
            continue;
        }
        // (Within a set members are in sequence unless it says otherwise; between sets only a
        // set that says sequential="true" is represented by its last or first member.)
        std::vector<RscIdx> firsts = a.said_sequential ? std::vector<RscIdx>{a.members.back()} : a.members;
        std::vector<RscIdx> thens = b.said_sequential ? std::vector<RscIdx>{b.members.front()} : b.members;
        for (RscIdx f : firsts) {
            for (RscIdx t : thens) {
                add_order(
                    c, f, a.action, t, b.action,
                    order_flags(kind, a.action, symmetrical ? Symmetry::symmetric : Symmetry::asymmetric));
                if (symmetrical) {
                    std::string_view inv_first = invert_task(b.action);
                    std::string_view inv_then = invert_task(a.action);
                    if (!inv_first.empty() && !inv_then.empty())
                        add_order(c, t, inv_first, f, inv_then,
                                  order_flags(kind, inv_first, Symmetry::inverse));
                }
            }
        }
    }
    return {};
}

}  // namespace

Status unpack_constraints(Cluster& c)
{
    const xmlNode* cons = xml::first_child(xml::first_child(c.root, "configuration"), "constraints");
    for (const xmlNode* x0 : xml::elements(cons)) {
        const xmlNode* x = resolve_ref(x0);
        if (!x) continue;
        std::string_view n = xml::name(x);
        if (const char* id = attr_c(x, "id"); !id || std::string_view(id).size() > kMaxIdLength)
            return cib_error("<" + std::string(n) + "> without a valid id");
        Status st;
        if (n == "rsc_location") {
            st = unpack_location(c, x);
        } else if (n == "rsc_colocation") {
            st = unpack_colocation(c, x);
        } else if (n == "rsc_order") {
            st = unpack_order(c, x);
        } else if (n == "rsc_ticket") {
            st = unsupported("rsc_ticket " + std::string(attr(x, "id")));
        } else {
            st = unsupported("<" + std::string(n) + "> " + std::string(attr(x, "id")) + " in constraints");
        }
        if (!st) return st;
    }
    return {};
}

}  // namespace outpost::cluster::policy
