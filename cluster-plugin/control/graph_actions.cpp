#include "control/graph_actions.hpp"

#include <cerrno>
#include <charconv>

#include "controller/xml.hpp"

namespace outpost::cluster::control {

namespace {

namespace cx = controller;

// Graphs of many thousand actions stay far below this.
constexpr std::size_t kMaxGraphSize = std::size_t{256} << 20;
constexpr std::string_view kMetaPrefix = "CRM_meta_";

template <typename T>
T number_or(const std::string* text, T fallback)
{
    if (text == nullptr) return fallback;
    T value{};
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, value);
    return ec == std::errc() && ptr == end ? value : fallback;
}

ActionKind kind_of(const xmlNode* node)
{
    const std::string name = cx::name_of(node);
    if (name == "rsc_op") return ActionKind::rsc_op;
    if (name == "crm_event") {
        auto op = cx::attr(node, "operation");
        return op && *op == "stonith" ? ActionKind::stonith : ActionKind::crm_event;
    }
    return ActionKind::pseudo;
}

Result<GraphAction> read_action(const xmlNode* node)
{
    GraphAction a;
    a.kind = kind_of(node);
    auto id = cx::attr(node, "id");
    if (!id) return make_error("control.graph", -EBADMSG, "a graph action without an id");
    a.id = number_or<int>(&*id, -1);
    if (a.id < 0)
        return make_error("control.graph", -EBADMSG, "graph action id '" + *id + "' is not a number");
    a.operation = cx::attr(node, "operation").value_or("");
    a.key = cx::attr(node, "operation_key").value_or("");
    a.node = cx::attr(node, "on_node").value_or("");
    a.node_uuid = cx::attr(node, "on_node_uuid").value_or("");
    a.router = cx::attr(node, "router_node").value_or("");
    if (const xmlNode* p = cx::child_named(node, "primitive")) {
        a.rsc_id = cx::attr(p, "id").value_or("");
        a.rsc_class = cx::attr(p, "class").value_or("");
        a.rsc_provider = cx::attr(p, "provider").value_or("");
        a.rsc_type = cx::attr(p, "type").value_or("");
    }
    if (const xmlNode* attrs = cx::child_named(node, "attributes")) {
        for (const xmlAttr* at = attrs->properties; at != nullptr; at = at->next) {
            const std::string name = reinterpret_cast<const char*>(at->name);
            a.attributes[name] = cx::attr(attrs, name.c_str()).value_or("");
        }
    }
    if (const xmlNode* downed = cx::child_named(node, "downed")) {
        for (const xmlNode* n : cx::element_children(downed)) {
            if (auto downed_id = cx::attr(n, "id"); cx::is_named(n, "node") && downed_id)
                a.downed.push_back(*downed_id);
        }
    }
    if (const xmlNode* maintenance = cx::child_named(node, "maintenance")) {
        for (const xmlNode* n : cx::element_children(maintenance)) {
            auto id = cx::attr(n, "id");
            if (!cx::is_named(n, "node") || !id) continue;
            a.maintenance.emplace_back(*id, cx::attr(n, "node_in_maintenance").value_or("0") == "1");
        }
    }
    a.target_rc = number_or<int>(a.meta("op_target_rc"), 0);
    a.interval_ms = number_or<std::uint32_t>(a.meta("interval"), 0);
    a.timeout_ms = number_or<std::uint32_t>(a.meta("timeout"), 20000);
    return a;
}

}  // namespace

std::map<std::string, std::string> GraphAction::parameters() const
{
    std::map<std::string, std::string> params;
    for (const auto& [name, value] : attributes) {
        if (!name.starts_with(kMetaPrefix)) params.emplace(name, value);
    }
    return params;
}

std::map<std::string, std::string> GraphAction::digest_parameters() const
{
    auto params = parameters();
    params.erase("crm_feature_set");
    if (interval_ms > 0) {
        if (const std::string* timeout = meta("timeout")) params["CRM_meta_timeout"] = *timeout;
    }
    return params;
}

const std::string* GraphAction::meta(std::string_view name) const
{
    std::string full(kMetaPrefix);
    full += name;
    auto it = attributes.find(full);
    return it == attributes.end() ? nullptr : &it->second;
}

Result<TransitionGraph> parse_graph(std::string_view xml)
{
    auto doc = cx::parse_document(xml, kMaxGraphSize, "transition graph");
    if (!doc) return doc.error();
    const xmlNode* root = cx::root_of(doc->get());
    if (!cx::is_named(root, "transition_graph"))
        return make_error("control.graph", -EBADMSG, "not a <transition_graph>");
    TransitionGraph graph;
    for (const xmlNode* synapse : cx::element_children(root)) {
        if (!cx::is_named(synapse, "synapse")) continue;
        const xmlNode* set = cx::child_named(synapse, "action_set");
        const xmlNode* node = set != nullptr ? cx::first_element(set) : nullptr;
        if (node == nullptr) return make_error("control.graph", -EBADMSG, "a synapse without an action");
        auto action = read_action(node);
        if (!action) return action.error();
        if (const xmlNode* inputs = cx::child_named(synapse, "inputs")) {
            for (const xmlNode* trigger : cx::element_children(inputs)) {
                const xmlNode* input = cx::first_element(trigger);
                auto id = input != nullptr ? cx::attr(input, "id") : std::nullopt;
                if (!id) return make_error("control.graph", -EBADMSG, "an input without an action id");
                action->inputs.push_back(number_or<int>(&*id, -1));
            }
        }
        graph.actions.push_back(std::move(*action));
    }
    return graph;
}

}  // namespace outpost::cluster::control
