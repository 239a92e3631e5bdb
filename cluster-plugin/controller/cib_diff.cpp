#include "controller/cib_diff.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/cib_document.hpp"

namespace outpost::cluster::controller {

namespace {

const xmlChar* to_xml(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);
}

xmlNode* add(xmlNode* parent, const char* name)
{
    xmlNode* node = xmlNewChild(parent, nullptr, to_xml(name), nullptr);
    if (node == nullptr) throw std::bad_alloc();
    return node;
}

void add_version(xmlNode* version, const char* which, const xmlNode* cib)
{
    xmlNode* node = add(version, which);
    for (const char* name : {"admin_epoch", "epoch", "num_updates"})
        set_attr(node, name, attr(cib, name).value_or("0"));
}

std::map<std::string, std::string> attributes_of(const xmlNode* node)
{
    std::map<std::string, std::string> result;
    for (xmlAttr* a = node->properties; a != nullptr; a = a->next) {
        const char* name = reinterpret_cast<const char*>(a->name);
        result[name] = attr(node, name).value_or("");
    }
    return result;
}

void add_copy(xmlNode* parent, const xmlNode* node)
{
    xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(node), parent->doc, 1);
    if (copy == nullptr) throw std::bad_alloc();
    xmlAddChild(parent, copy);
}

// "PATH/STEP".
std::string joined(const std::string& path, const std::string& step)
{
    std::string result = path;
    result += '/';
    result += step;
    return result;
}

int position_of(const xmlNode* node)
{
    int position = 0;
    for (xmlNode* sibling = first_element(node->parent); sibling != nullptr && sibling != node;
         sibling = next_element(sibling))
        ++position;
    return position;
}

// Delete-and-create changes for each child of `old_parent`/`new_parent` (both at `path`)
// that differs.
void diff_children(xmlNode* diff, const std::string& path, const xmlNode* old_parent,
                   const xmlNode* new_parent)
{
    std::map<std::string, const xmlNode*> old_children;
    for (xmlNode* child = first_element(old_parent); child != nullptr; child = next_element(child))
        old_children.emplace(name_of(child), child);
    std::map<std::string, const xmlNode*> new_children;
    for (xmlNode* child = first_element(new_parent); child != nullptr; child = next_element(child))
        new_children.emplace(name_of(child), child);
    for (const auto& [name, old_child] : old_children) {
        auto found = new_children.find(name);
        if (found != new_children.end() && same_tree(found->second, old_child)) continue;
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "delete");
        set_attr(change, "path", joined(path, name));
    }
    for (const auto& [name, new_child] : new_children) {
        auto found = old_children.find(name);
        if (found != old_children.end() && same_tree(found->second, new_child)) continue;
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "create");
        set_attr(change, "path", path);
        set_attr(change, "position", std::to_string(position_of(new_child)));
        add_copy(change, new_child);
    }
}

// The path step that names `node` among its siblings: its name, with its id when it has
// one (as Pacemaker's patchsets name node_state, lrm_resource, lrm_rsc_op); "" when the id
// cannot be quoted in a path.
std::string step_of(const xmlNode* node)
{
    std::string step = name_of(node);
    if (auto id = attr(node, "id")) {
        if (id->find('\'') != std::string::npos) return {};
        step += "[@id='" + *id + "']";
    }
    return step;
}

// The element children of `parent` by path step, in document order; nullopt when a step is
// shared or cannot be made (no path would name one child alone) or `parent` holds text.
std::optional<std::vector<std::pair<std::string, const xmlNode*>>> stepped_children(const xmlNode* parent)
{
    std::vector<std::pair<std::string, const xmlNode*>> children;
    std::set<std::string> seen;
    for (const xmlNode* child = parent->children; child != nullptr; child = child->next) {
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
            if (xmlIsBlankNode(child) == 0) return std::nullopt;
            continue;
        }
        if (child->type != XML_ELEMENT_NODE) continue;
        std::string step = step_of(child);
        if (step.empty() || !seen.insert(step).second) return std::nullopt;
        children.emplace_back(std::move(step), child);
    }
    return children;
}

// The changes that turn the children of `old_node` into those of `new_node` (both at
// `path`, attributes alike): an unchanged child is left out, a changed one with the same
// attributes whose children can be named is descended into, any other is deleted and
// created again. A result of the loop then costs its subscribers the operation's entry,
// not the whole status section (which grows with every node and resource).
void diff_tree(xmlNode* diff, const std::string& path, const xmlNode* old_node, const xmlNode* new_node)
{
    auto old_children = stepped_children(old_node);
    auto new_children = stepped_children(new_node);
    if (!old_children || !new_children) return;  // callers check that both can be named
    std::map<std::string, const xmlNode*> new_by_step(new_children->begin(), new_children->end());
    std::set<std::string> old_steps;
    std::set<std::string> recreated;
    std::vector<std::pair<std::string, std::pair<const xmlNode*, const xmlNode*>>> descend;
    for (const auto& [step, old_child] : *old_children) {
        old_steps.insert(step);
        auto found = new_by_step.find(step);
        if (found != new_by_step.end() && same_tree(found->second, old_child)) continue;
        if (found != new_by_step.end() && attributes_of(old_child) == attributes_of(found->second) &&
            stepped_children(old_child) && stepped_children(found->second)) {
            descend.push_back({step, {old_child, found->second}});
            continue;
        }
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "delete");
        set_attr(change, "path", joined(path, step));
        if (found != new_by_step.end()) recreated.insert(step);
    }
    for (const auto& [step, pair] : descend) {
        diff_tree(diff, joined(path, step), pair.first, pair.second);
    }
    for (const auto& [step, new_child] : *new_children) {  // document order: positions grow
        if (old_steps.count(step) != 0 && recreated.count(step) == 0) continue;
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "create");
        set_attr(change, "path", path);
        set_attr(change, "position", std::to_string(position_of(new_child)));
        add_copy(change, new_child);
    }
}

}  // namespace

XmlDoc make_patchset(const xmlDoc* before, const xmlDoc* after)
{
    const xmlNode* old_cib = root_of(before);
    const xmlNode* new_cib = root_of(after);
    XmlDoc patch = new_document("diff");
    xmlNode* diff = root_of(patch.get());
    set_attr(diff, "format", "2");
    xmlNode* version = add(diff, "version");
    add_version(version, "source", old_cib);
    add_version(version, "target", new_cib);

    auto old_attrs = attributes_of(old_cib);
    auto new_attrs = attributes_of(new_cib);
    if (old_attrs != new_attrs) {
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "modify");
        set_attr(change, "path", "/cib");
        xmlNode* list = add(change, "change-list");
        for (const auto& [name, value] : new_attrs) {
            auto found = old_attrs.find(name);
            if (found != old_attrs.end() && found->second == value) continue;
            xmlNode* item = add(list, "change-attr");
            set_attr(item, "name", name);
            set_attr(item, "operation", "set");
            set_attr(item, "value", value);
        }
        for (const auto& [name, value] : old_attrs) {
            if (new_attrs.count(name) != 0) continue;
            xmlNode* item = add(list, "change-attr");
            set_attr(item, "name", name);
            set_attr(item, "operation", "unset");
        }
        xmlNode* result = add(change, "change-result");
        xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(new_cib), patch.get(), 2);
        if (copy == nullptr) throw std::bad_alloc();
        xmlAddChild(result, copy);
    }
    const xmlNode* old_configuration = child_named(old_cib, "configuration");
    const xmlNode* new_configuration = child_named(new_cib, "configuration");
    if (old_configuration != nullptr && new_configuration != nullptr)
        diff_children(diff, "/cib/configuration", old_configuration, new_configuration);
    const xmlNode* old_status = child_named(old_cib, "status");
    const xmlNode* new_status = child_named(new_cib, "status");
    if (old_status != nullptr && new_status != nullptr && !same_tree(old_status, new_status)) {
        if (attributes_of(old_status) == attributes_of(new_status) && stepped_children(old_status) &&
            stepped_children(new_status)) {
            diff_tree(diff, "/cib/status", old_status, new_status);
            return patch;
        }
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "delete");
        set_attr(change, "path", "/cib/status");
        change = add(diff, "change");
        set_attr(change, "operation", "create");
        set_attr(change, "path", "/cib");
        set_attr(change, "position", std::to_string(position_of(new_status)));
        add_copy(change, new_status);
    }
    return patch;
}

}  // namespace outpost::cluster::controller
