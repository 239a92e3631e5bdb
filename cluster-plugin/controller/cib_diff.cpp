#include "controller/cib_diff.hpp"

#include <map>
#include <string>

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
        if (found != new_children.end() && serialize(found->second) == serialize(old_child)) continue;
        xmlNode* change = add(diff, "change");
        set_attr(change, "operation", "delete");
        std::string child_path = path;
        child_path += '/';
        child_path += name;
        set_attr(change, "path", child_path);
    }
    for (const auto& [name, new_child] : new_children) {
        auto found = old_children.find(name);
        if (found != old_children.end() && serialize(found->second) == serialize(new_child)) continue;
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
    if (old_status != nullptr && new_status != nullptr && serialize(old_status) != serialize(new_status)) {
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
