#include "cibfollow/resource_meta.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <map>
#include <string_view>
#include <vector>

#include "cibfollow/rules.hpp"

namespace outpost::agent::cibfollow {

namespace {

// Elements that hold resources (and pass their meta attributes down).
bool is_container(std::string_view name)
{
    return name == "group" || name == "clone" || name == "master" || name == "bundle";
}

// Pacemaker scores: a number, or +/-INFINITY.
long long score_of(const wire::Element& set)
{
    const std::string* text = set.attr("score");
    if (text == nullptr || text->empty()) return 0;
    std::string_view s = *text;
    if (s == "INFINITY" || s == "+INFINITY") return LLONG_MAX;
    if (s == "-INFINITY") return LLONG_MIN;
    if (s.front() == '+') s.remove_prefix(1);
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() ? v : 0;
}

class Reader {
public:
    Reader(const wire::Element& resources, const wire::Element* defaults, const IdIndex& ids,
           const RuleTarget& base)
        : defaults_(defaults), ids_(ids), base_(base)
    {
        index(resources);
        if (defaults != nullptr) index(*defaults);
    }

    // The outpost-* attributes of `parent`'s meta_attributes sets whose rules hold for
    // `target`, in precedence order (`what` names the sets in log lines).
    wire::ParamMap own(const wire::Element& parent, const RuleTarget& target, std::string_view what)
    {
        std::vector<const wire::Element*> sets;
        for (const wire::Element& child : parent.children) {
            if (child.name != "meta_attributes") continue;
            const wire::Element* set = &child;
            if (const std::string* ref = child.attr("id-ref")) {
                auto it = sets_by_id_.find(*ref);
                if (it == sets_by_id_.end()) {
                    note("meta_attributes id-ref " + *ref + " (no such set)");
                    continue;
                }
                set = it->second;
            }
            sets.push_back(set);
        }
        std::stable_sort(sets.begin(), sets.end(), [](const wire::Element* a, const wire::Element* b) {
            return score_of(*a) > score_of(*b);
        });
        wire::ParamMap out;
        RuleEvaluator rules(ids_, target);
        for (const wire::Element* set : sets) {
            RuleResult applies = rules.set_applies(*set);
            if (applies.outcome == Outcome::unknown) {
                note(std::string(what) + " meta_attributes " +
                     (set->attr("id") != nullptr ? *set->attr("id") : std::string("?")) +
                     " (rule not understood: " + applies.why + ")");
                continue;
            }
            if (applies.outcome == Outcome::fails) continue;
            for (const wire::Element& pair : set->children) {
                if (pair.name != "nvpair") continue;
                const std::string* name = pair.attr("name");
                const std::string* value = pair.attr("value");
                if (name == nullptr || value == nullptr || !name->starts_with(kLimitPrefix)) continue;
                out.insert(*name, *value);  // the first set that has it wins
            }
        }
        if (auto when = rules.next_change(); when && (!next_change || *when < *next_change))
            next_change = when;
        return out;
    }

    // Walks resources beneath `element` with what their parents pass down: their own sets
    // only, as Pacemaker 2.1.5 has it (rsc_defaults are evaluated for each primitive itself,
    // below everything else; a group's or clone's match of a default does not pass down).
    void walk(const wire::Element& element, const wire::ParamMap& inherited, isolation::ClusterMeta& out)
    {
        for (const wire::Element& child : element.children) {
            if (child.name == "primitive") {
                const std::string* id = child.attr("id");
                if (id == nullptr) continue;
                const wire::Element* agent = &child;
                const wire::Element* tmpl = nullptr;
                if (const std::string* t = child.attr("template")) {
                    if (auto it = templates_.find(*t); it != templates_.end()) tmpl = agent = it->second;
                }
                RuleTarget target = base_;
                target.rsc_class = text(*agent, "class");
                target.rsc_provider = text(*agent, "provider");
                target.rsc_type = text(*agent, "type");
                wire::ParamMap attrs = own(child, target, "resource " + *id);
                if (tmpl != nullptr)
                    add_beneath(attrs, own(*tmpl, target, "template " + *child.attr("template")));
                add_beneath(attrs, inherited);
                if (defaults_ != nullptr) add_beneath(attrs, own(*defaults_, target, "rsc_defaults"));
                if (!attrs.empty()) out[*id] = std::move(attrs);
            } else if (is_container(child.name)) {
                // A container has no class, provider or type: rsc_expressions see none.
                const std::string* id = child.attr("id");
                wire::ParamMap attrs = own(child, base_, child.name + " " + (id != nullptr ? *id : "?"));
                add_beneath(attrs, inherited);
                walk(child, attrs, out);
            }
        }
    }

    std::string skipped;
    std::optional<util::EpochSeconds> next_change;

private:
    static std::string_view text(const wire::Element& e, const char* name)
    {
        const std::string* v = e.attr(name);
        return v != nullptr ? std::string_view(*v) : std::string_view();
    }

    static void add_beneath(wire::ParamMap& attrs, const wire::ParamMap& lower)
    {
        for (const auto& [name, value] : lower)
            attrs.insert(name, value);
    }

    void index(const wire::Element& element)
    {
        for (const wire::Element& child : element.children) {
            if (child.name == "meta_attributes") {
                if (const std::string* id = child.attr("id");
                    id != nullptr && child.attr("id-ref") == nullptr)
                    sets_by_id_.emplace(*id, &child);
            } else if (child.name == "template") {
                if (const std::string* id = child.attr("id")) templates_.emplace(*id, &child);
            }
            if (child.name == "template" || child.name == "primitive" || is_container(child.name))
                index(child);
        }
    }

    void note(const std::string& what) { skipped += (skipped.empty() ? "" : ", ") + what; }

    std::map<std::string, const wire::Element*, std::less<>> sets_by_id_;
    std::map<std::string, const wire::Element*, std::less<>> templates_;
    const wire::Element* defaults_;
    const IdIndex& ids_;
    const RuleTarget& base_;
};

const wire::Element* resources_of(const wire::Element& section)
{
    if (section.name == "resources") return &section;
    return section.find_descendant("resources");
}

NodeAttrs node_attributes(const wire::Element& section, const std::string& name, const NodeAttrs* transient)
{
    NodeAttrs attrs;
    attrs.emplace("#uname", name);
    attrs.emplace("#id", name);
    attrs.emplace("#is_dc", "false");  // a remote or guest node is never the DC
    // A guest node is named by its container's remote-node meta attribute.
    std::string kind = "remote";
    if (const wire::Element* resources = resources_of(section)) {
        std::vector<const wire::Element*> stack{resources};
        for (int steps = 0; !stack.empty() && steps < 100000; ++steps) {
            const wire::Element* e = stack.back();
            stack.pop_back();
            if (e->name == "nvpair") {
                const std::string* n = e->attr("name");
                const std::string* v = e->attr("value");
                if (n != nullptr && v != nullptr && *n == "remote-node" && *v == name) kind = "container";
            }
            for (const wire::Element& c : e->children)
                stack.push_back(&c);
        }
    }
    attrs.emplace("#kind", kind);
    const wire::Element* nodes = section.name == "nodes" ? &section : section.find_descendant("nodes");
    if (nodes != nullptr) {
        for (const wire::Element& node : nodes->children) {
            const std::string* uname = node.attr("uname");
            const std::string* id = node.attr("id");
            if (node.name != "node" || !(uname != nullptr ? *uname == name : id != nullptr && *id == name))
                continue;
            if (id != nullptr) attrs["#id"] = *id;
            add_node_attribute_sets(node, attrs);
            break;
        }
    }
    // Transient attributes win over permanent ones of the same name, and over #uname, #kind,
    // ... too (as crm_resource --meta has it for a resource active on the node).
    if (transient != nullptr) {
        for (const auto& [n, v] : *transient)
            attrs[n] = v;
    }
    return attrs;
}

}  // namespace

void add_node_attribute_sets(const wire::Element& holder, NodeAttrs& attrs)
{
    // Their own rules are not evaluated: a set with one is left out.
    std::vector<const wire::Element*> sets;
    for (const wire::Element& set : holder.children) {
        if (set.name == "instance_attributes" && set.child("rule") == nullptr) sets.push_back(&set);
    }
    std::stable_sort(sets.begin(), sets.end(), [](const wire::Element* a, const wire::Element* b) {
        return score_of(*a) > score_of(*b);
    });
    for (const wire::Element* set : sets) {
        for (const wire::Element& pair : set->children) {
            const std::string* n = pair.attr("name");
            const std::string* v = pair.attr("value");
            if (pair.name == "nvpair" && n != nullptr && v != nullptr) attrs.emplace(*n, *v);
        }
    }
}

ResourceMeta resource_meta(const wire::Element& section, const MetaContext& context)
{
    ResourceMeta result;
    const wire::Element* resources = resources_of(section);
    if (resources == nullptr) return result;
    const wire::Element* defaults =
        section.name == "rsc_defaults" ? &section : section.find_descendant("rsc_defaults");
    IdIndex ids(section);
    RuleTarget base;
    base.now = context.now;
    NodeAttrs node;
    if (!context.node_name.empty()) {
        node = node_attributes(section, context.node_name, context.transient);
        base.node = &node;
    }
    Reader reader(*resources, defaults, ids, base);
    reader.walk(*resources, {}, result.meta);
    result.skipped = std::move(reader.skipped);
    result.next_change = reader.next_change;
    return result;
}

bool may_touch_configuration(const wire::Element& notify)
{
    const wire::Element* diff = notify.find_descendant("diff");
    if (diff == nullptr) return true;
    const std::string* format = diff->attr("format");
    if (format == nullptr || *format != "2") return true;  // format 1 or unknown: assume so
    for (const wire::Element& change : diff->children) {
        if (change.name != "change") continue;
        const std::string* path = change.attr("path");
        const std::string* op = change.attr("operation");
        if (path == nullptr || op == nullptr) return true;
        if (path->starts_with("/cib/status")) continue;
        if (*path == "/cib") {
            if (*op == "modify") continue;  // epoch, num_updates, dc-uuid, ...
            if (*op == "create") {
                // The element created is the change's child: only <status> is harmless.
                bool status_only = !change.children.empty();
                for (const wire::Element& created : change.children)
                    status_only = status_only && created.name == "status";
                if (status_only) continue;
            }
        }
        return true;
    }
    return false;
}

}  // namespace outpost::agent::cibfollow
