#include "cibfollow/transient.hpp"

#include "cibfollow/resource_meta.hpp"

#include <algorithm>

namespace outpost::agent::cibfollow {

namespace {

constexpr std::string_view kNodeStatePath = "/cib/status/node_state[@id='";

bool is_ours(const wire::Element& node_state, const std::vector<std::string>& node_ids)
{
    for (const char* key : {"id", "uname"}) {
        const std::string* v = node_state.attr(key);
        if (v != nullptr && std::find(node_ids.begin(), node_ids.end(), *v) != node_ids.end()) return true;
    }
    return false;
}

// One change of a format 2 patchset.
bool change_may_touch(const wire::Element& change, const std::vector<std::string>& node_ids)
{
    const std::string* path_attr = change.attr("path");
    const std::string* op = change.attr("operation");
    if (path_attr == nullptr || op == nullptr) return true;
    const std::string_view path = *path_attr;
    if (path == "/cib") {
        // Only the creation of a whole <status> may bring our entry.
        if (*op != "create") return false;
        return std::any_of(change.children.begin(), change.children.end(),
                           [](const wire::Element& created) { return created.name == "status"; });
    }
    if (!path.starts_with("/cib/status")) return false;  // the configuration: asked elsewhere
    if (path == "/cib/status") {
        if (*op != "create") return true;  // the status section deleted or moved: read again
        return std::any_of(change.children.begin(), change.children.end(), [&](const wire::Element& created) {
            return created.name != "node_state" || is_ours(created, node_ids);
        });
    }
    if (!path.starts_with(kNodeStatePath)) return true;  // a form not known: read again
    const std::string_view rest = path.substr(kNodeStatePath.size());
    const std::size_t close = rest.find("']");
    if (close == std::string_view::npos) return true;
    const std::string_view id = rest.substr(0, close);
    if (std::find(node_ids.begin(), node_ids.end(), id) == node_ids.end()) return false;  // another node
    const std::string_view below = rest.substr(close + 2);
    if (below.empty()) {
        if (*op == "modify" || *op == "move") return false;  // the node_state's own attributes
        if (*op != "create") return true;                    // deleted: its attributes went with it
        return std::any_of(change.children.begin(), change.children.end(), [](const wire::Element& created) {
            return created.name == "transient_attributes";
        });
    }
    return below.starts_with("/transient_attributes");  // not the operation history (lrm)
}

}  // namespace

std::string transient_xpath(std::string_view node)
{
    const char quote = node.find('\'') == std::string_view::npos ? '\'' : '"';
    if (node.empty() || node.find(quote) != std::string_view::npos) return {};
    std::string path = "/cib/status/node_state[@uname=";
    path += quote;
    path += node;
    path += quote;
    path += "]/transient_attributes";
    return path;
}

NodeAttrs transient_attributes(const wire::Element& data)
{
    std::vector<const wire::Element*> holders;
    if (data.name == "transient_attributes") {
        holders.push_back(&data);
    } else {
        for (const wire::Element& child : data.children) {
            if (child.name == "transient_attributes") holders.push_back(&child);
        }
    }
    NodeAttrs attrs;
    for (const wire::Element* holder : holders)
        add_node_attribute_sets(*holder, attrs);
    return attrs;
}

bool may_touch_transient(const wire::Element& notify, const std::vector<std::string>& node_ids)
{
    const wire::Element* diff = notify.find_descendant("diff");
    if (diff == nullptr) return true;
    const std::string* format = diff->attr("format");
    if (format == nullptr || *format != "2") return true;
    return std::any_of(diff->children.begin(), diff->children.end(), [&](const wire::Element& change) {
        return change.name == "change" && change_may_touch(change, node_ids);
    });
}

}  // namespace outpost::agent::cibfollow
