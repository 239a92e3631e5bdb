#include "controller/node_info.hpp"

#include "controller/cib_document.hpp"
#include "controller/xml.hpp"

namespace outpost::cluster::controller {

namespace {

// The meta attribute `name` of a primitive ("" if none).
std::string meta_value(const xmlNode* primitive, const char* name)
{
    for (const xmlNode* set : element_children(primitive)) {
        if (!is_named(set, "meta_attributes")) continue;
        for (const xmlNode* nv : element_children(set))
            if (attr(nv, "name").value_or("") == name) return attr(nv, "value").value_or("");
    }
    return {};
}

bool is_remote_connection(const xmlNode* primitive)
{
    return attr(primitive, "class").value_or("") == "ocf" &&
           attr(primitive, "provider").value_or("") == "pacemaker" &&
           attr(primitive, "type").value_or("") == "remote";
}

// Whether a remote or guest node `name` is configured: a connection primitive of that id
// or a primitive naming it remote-node, anywhere in <resources> (groups, clones).
bool configured_remote(const xmlNode* parent, const std::string& name)
{
    for (const xmlNode* child : element_children(parent)) {
        if (is_named(child, "primitive")) {
            if (is_remote_connection(child) && attr(child, "id").value_or("") == name) return true;
            if (meta_value(child, "remote-node") == name) return true;
        } else if (configured_remote(child, name)) {
            return true;
        }
    }
    return false;
}

const xmlNode* node_state(const xmlDoc* cib, const std::string& id)
{
    const xmlNode* status = find_section(cib, "status");
    if (status == nullptr) return nullptr;
    for (const xmlNode* ns : element_children(status))
        if (is_named(ns, "node_state") && attr(ns, "id").value_or("") == id) return ns;
    return nullptr;
}

std::optional<NodeInfo> remote_node(const xmlDoc* cib, const std::string& name)
{
    const xmlNode* resources = find_section(cib, "resources");
    if (name.empty() || resources == nullptr || !configured_remote(resources, name)) return std::nullopt;
    const xmlNode* ns = node_state(cib, name);
    NodeInfo info{name, name, true, ns != nullptr && attr(ns, "in_ccm").value_or("") == "true"};
    return info;
}

// A cluster node of <nodes> (not the controller's own): known, not up.
std::optional<NodeInfo> cluster_node(const xmlDoc* cib, const NodeQuery& query)
{
    const xmlNode* nodes = find_section(cib, "nodes");
    if (nodes == nullptr) return std::nullopt;
    for (const xmlNode* node : element_children(nodes)) {
        if (!is_named(node, "node") || attr(node, "type").value_or("") == "remote") continue;
        NodeInfo info{attr(node, "id").value_or(""), attr(node, "uname").value_or(""), false, false};
        if ((!query.id.empty() && info.id == query.id) || (!query.uname.empty() && info.uname == query.uname))
            return info;
    }
    return std::nullopt;
}

}  // namespace

std::optional<NodeInfo> find_node_info(const xmlDoc* cib, const NodeInfo& host, const NodeQuery& query)
{
    NodeQuery q = query;
    if (q.id == "0") q.id.clear();
    if (q.id.empty() && q.uname.empty()) return host;
    if ((!q.id.empty() && q.id == host.id) || (!q.uname.empty() && q.uname == host.uname)) return host;
    // A remote node's id is its name; a numeric id names a cluster node only.
    if (auto remote = remote_node(cib, q.uname)) return remote;
    return cluster_node(cib, q);
}

}  // namespace outpost::cluster::controller
