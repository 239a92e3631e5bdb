#include "controller/cib_acl.hpp"

#include <libxml/xpath.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <unordered_map>

#include "controller/cib_document.hpp"
#include "controller/cib_ops.hpp"
#include "util/env.hpp"

namespace outpost::cluster::controller {

namespace {

// What one element is to the user, weakest first: the order also decides between
// permissions selecting the same element (deny beats write beats read).
enum class Mode { none = 0, read = 1, write = 2, deny = 3 };

using Modes = std::unordered_map<const xmlNode*, Mode>;

// Attributes of <cib> the CIB manager maintains itself: a whole-CIB replace carries
// them, they are no one's change (our choice: 2.1.5 was not observed on this).
constexpr std::array<const char*, 9> kManagedRootAttributes = {
    "epoch",       "num_updates", "cib-last-written", "update-origin",  "update-client",
    "update-user", "have-quorum", "dc-uuid",          "crm_feature_set"};

struct XpathContextFree {
    void operator()(xmlXPathContext* ctxt) const { xmlXPathFreeContext(ctxt); }
};
struct XpathObjectFree {
    void operator()(xmlXPathObject* object) const { xmlXPathFreeObject(object); }
};

void ignore_xpath_error(void* /*data*/, xmlError* /*error*/) noexcept {}

Mode mode_of(AclKind kind)
{
    switch (kind) {
        case AclKind::read:
            return Mode::read;
        case AclKind::write:
            return Mode::write;
        case AclKind::deny:
            break;
    }
    return Mode::deny;
}

// An XML name as object-type, attribute and reference hold (so it can go into an XPath
// literal or step as it is).
bool is_xml_name(std::string_view text)
{
    if (text.empty()) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.' || c == ':' || (static_cast<unsigned char>(c) & 0x80) != 0;
    });
}

// The XPath a permission stands for; empty when it names nothing usable.
std::string selector_of(const xmlNode* permission)
{
    if (auto xpath = attr(permission, "xpath")) return *xpath;
    if (auto reference = attr(permission, "reference"))
        return is_xml_name(*reference) ? "//*[@id='" + *reference + "']" : std::string();
    if (auto type = attr(permission, "object-type")) {
        if (!is_xml_name(*type)) return {};
        auto attribute = attr(permission, "attribute");
        if (!attribute) return "//" + *type;
        return is_xml_name(*attribute) ? "//" + *type + "[@" + *attribute + "]" : std::string();
    }
    return {};
}

void add_role_rules(const xmlNode* acls, const std::string& role_id, std::vector<AclRule>& rules)
{
    for (const xmlNode* role = first_element(acls); role != nullptr; role = next_element(role)) {
        if (!is_named(role, "acl_role") || attr(role, "id") != role_id) continue;
        for (const xmlNode* p = first_element(role); p != nullptr; p = next_element(p)) {
            if (!is_named(p, "acl_permission")) continue;
            const std::string kind = attr(p, "kind").value_or("");
            AclRule rule;
            if (kind == "read") {
                rule.kind = AclKind::read;
            } else if (kind == "write") {
                rule.kind = AclKind::write;
            } else if (kind == "deny") {
                rule.kind = AclKind::deny;
            } else {
                continue;  // the schema allows no other kind
            }
            rule.id = attr(p, "id").value_or("");
            rule.xpath = selector_of(p);
            rules.push_back(std::move(rule));
        }
        return;
    }
}

// The element an XPath result node stands for (an attribute or text: its element).
const xmlNode* element_of(const xmlNode* node)
{
    if (node != nullptr && node->type != XML_ELEMENT_NODE) node = node->parent;
    return node != nullptr && node->type == XML_ELEMENT_NODE ? node : nullptr;
}

// The strongest permission each selected element gets directly.
Modes selected_modes(const xmlDoc* doc, const std::vector<AclRule>& rules, std::vector<std::string>* problems)
{
    Modes selected;
    std::unique_ptr<xmlXPathContext, XpathContextFree> ctxt(xmlXPathNewContext(const_cast<xmlDoc*>(doc)));
    if (!ctxt) throw std::bad_alloc();
    ctxt->error = ignore_xpath_error;
    for (const AclRule& rule : rules) {
        std::unique_ptr<xmlXPathObject, XpathObjectFree> result;
        if (!rule.xpath.empty() && rule.xpath.size() <= kMaxXpathLength) {
            result.reset(
                xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(rule.xpath.c_str()), ctxt.get()));
        }
        if (!result) {
            if (problems != nullptr)
                problems->push_back("ACL permission " + rule.id + " ignored: invalid selector '" +
                                    rule.xpath + "'");
            continue;
        }
        if (result->type != XPATH_NODESET || result->nodesetval == nullptr) continue;
        const Mode mode = mode_of(rule.kind);
        for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
            const xmlNode* element = element_of(result->nodesetval->nodeTab[i]);
            if (element == nullptr) continue;
            Mode& current = selected[element];
            current = std::max(current, mode);
        }
    }
    return selected;
}

// Every element's mode: its own selection, else its nearest selected ancestor's.
void spread(const xmlNode* node, Mode inherited, const Modes& selected, Modes& out)
{
    auto found = selected.find(node);
    const Mode mode = found != selected.end() ? found->second : inherited;
    out[node] = mode;
    for (const xmlNode* child = first_element(node); child != nullptr; child = next_element(child))
        spread(child, mode, selected, out);
}

Modes effective_modes(const xmlDoc* doc, const std::vector<AclRule>& rules,
                      std::vector<std::string>* problems)
{
    Modes out;
    const xmlNode* root = root_of(doc);
    if (root == nullptr) return out;
    spread(root, Mode::none, selected_modes(doc, rules, problems), out);
    return out;
}

Mode lookup(const Modes& modes, const xmlNode* node)
{
    auto found = modes.find(node);
    return found != modes.end() ? found->second : Mode::none;
}

void strip_to_id(xmlNode* node)
{
    xmlAttr* a = node->properties;
    while (a != nullptr) {
        xmlAttr* next = a->next;
        if (xmlStrEqual(a->name, reinterpret_cast<const xmlChar*>("id")) == 0) xmlRemoveProp(a);
        a = next;
    }
}

void unlink_and_free(xmlNode* node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

// Filters `node`'s subtree in place; false when nothing of it may be shown.
bool filter(xmlNode* node, const Modes& modes)
{
    const Mode mode = lookup(modes, node);
    if (mode == Mode::deny) return false;
    const bool readable = mode != Mode::none;
    if (!readable) strip_to_id(node);
    bool keep = readable;
    xmlNode* child = node->children;
    while (child != nullptr) {
        xmlNode* next = child->next;
        if (child->type != XML_ELEMENT_NODE) {
            if (!readable) unlink_and_free(child);
        } else if (filter(child, modes)) {
            keep = true;
        } else {
            unlink_and_free(child);
        }
        child = next;
    }
    return keep;
}

std::string describe(const xmlNode* node)
{
    std::string text = "<" + name_of(node);
    if (auto id = attr(node, "id")) text += " id=" + *id;
    return text + ">";
}

bool is_managed_root_attribute(const xmlNode* node, const xmlChar* name)
{
    if (node->parent == nullptr || node->parent->type != XML_DOCUMENT_NODE) return false;
    return std::any_of(kManagedRootAttributes.begin(), kManagedRootAttributes.end(),
                       [&](const char* managed) {
                           return xmlStrEqual(name, reinterpret_cast<const xmlChar*>(managed)) != 0;
                       });
}

// Whether `a` has every attribute of `b` with the same value (managed root attributes aside).
bool attributes_within(const xmlNode* a, const xmlNode* b)
{
    for (const xmlAttr* p = b->properties; p != nullptr; p = p->next) {
        if (is_managed_root_attribute(b, p->name)) continue;
        const char* name = reinterpret_cast<const char*>(p->name);
        xmlChar* value = xmlNodeGetContent(reinterpret_cast<const xmlNode*>(p));
        const std::string wanted = value == nullptr ? std::string() : reinterpret_cast<const char*>(value);
        xmlFree(value);
        if (attr(a, name) != wanted) return false;
    }
    return true;
}

bool is_scaffolding(const xmlNode* node)
{
    for (const xmlAttr* p = node->properties; p != nullptr; p = p->next) {
        if (xmlStrEqual(p->name, reinterpret_cast<const xmlChar*>("id")) == 0) return false;
    }
    return true;
}

class WriteCheck {
public:
    WriteCheck(const xmlDoc* before, const xmlDoc* after, const std::vector<AclRule>& rules,
               std::vector<std::string>* problems)
        : before_(effective_modes(before, rules, problems)), after_(effective_modes(after, rules, nullptr))
    {
    }

    Status compare(const xmlNode* old_node, const xmlNode* new_node)
    {
        if (!attributes_within(old_node, new_node) || !attributes_within(new_node, old_node)) {
            if (lookup(after_, new_node) != Mode::write) return refuse("change", new_node);
        }
        std::vector<const xmlNode*> old_children;
        for (const xmlNode* c = first_element(old_node); c != nullptr; c = next_element(c))
            old_children.push_back(c);
        for (const xmlNode* c = first_element(new_node); c != nullptr; c = next_element(c)) {
            auto match =
                std::find_if(old_children.begin(), old_children.end(), [&](const xmlNode* old_child) {
                    return old_child != nullptr && xmlStrEqual(old_child->name, c->name) != 0 &&
                           attr(old_child, "id") == attr(c, "id");
                });
            if (match == old_children.end()) {
                if (auto s = created(c); !s) return s;
                continue;
            }
            if (auto s = compare(*match, c); !s) return s;
            *match = nullptr;  // each old child pairs once
        }
        for (const xmlNode* gone : old_children) {
            if (gone == nullptr) continue;
            if (auto s = removed(gone); !s) return s;
        }
        return {};
    }

private:
    Status created(const xmlNode* node)
    {
        if (!is_scaffolding(node) && lookup(after_, node) != Mode::write) return refuse("create", node);
        for (const xmlNode* c = first_element(node); c != nullptr; c = next_element(c)) {
            if (auto s = created(c); !s) return s;
        }
        return {};
    }

    Status removed(const xmlNode* node)
    {
        if (lookup(before_, node) != Mode::write) return refuse("remove", node);
        for (const xmlNode* c = first_element(node); c != nullptr; c = next_element(c)) {
            if (auto s = removed(c); !s) return s;
        }
        return {};
    }

    static Status refuse(const char* what, const xmlNode* node)
    {
        return make_error("acl", -EACCES,
                          std::string("no write permission to ") + what + " " + describe(node));
    }

    Modes before_;
    Modes after_;
};

}  // namespace

bool acls_enabled(const xmlDoc* cib)
{
    const xmlNode* crm_config = find_section(cib, "crm_config");
    if (crm_config == nullptr) return false;
    for (const xmlNode* set = first_element(crm_config); set != nullptr; set = next_element(set)) {
        if (!is_named(set, "cluster_property_set")) continue;
        for (const xmlNode* nv = first_element(set); nv != nullptr; nv = next_element(nv)) {
            if (is_named(nv, "nvpair") && attr(nv, "name") == "enable-acl")
                return env::is_true_word(attr(nv, "value").value_or(""));
        }
    }
    return false;
}

bool acl_exempt(std::string_view user)
{
    return user == "root" || user == "hacluster";
}

std::vector<AclRule> acl_rules_for(const xmlDoc* cib, const AclUser& user)
{
    std::vector<AclRule> rules;
    const xmlNode* acls = find_section(cib, "acls");
    if (acls == nullptr) return rules;
    std::vector<std::string> roles;
    for (const xmlNode* holder = first_element(acls); holder != nullptr; holder = next_element(holder)) {
        const bool target = is_named(holder, "acl_target");
        if (!target && !is_named(holder, "acl_group")) continue;
        // pacemaker-3.8 added `name`, for names that are not valid XML ids.
        const std::string name = attr(holder, "name").value_or(attr(holder, "id").value_or(""));
        const bool applies =
            target ? name == user.name
                   : std::find(user.groups.begin(), user.groups.end(), name) != user.groups.end();
        if (!applies || name.empty()) continue;
        for (const xmlNode* role = first_element(holder); role != nullptr; role = next_element(role)) {
            auto id = attr(role, "id");
            if (is_named(role, "role") && id && std::find(roles.begin(), roles.end(), *id) == roles.end())
                roles.push_back(*id);
        }
    }
    for (const std::string& role : roles)
        add_role_rules(acls, role, rules);
    return rules;
}

XmlDoc acl_filtered_copy(const xmlDoc* cib, const std::vector<AclRule>& rules,
                         std::vector<std::string>* problems)
{
    XmlDoc copy = copy_document(cib);
    xmlNode* root = root_of(copy.get());
    if (root == nullptr) return nullptr;
    const Modes modes = effective_modes(copy.get(), rules, problems);
    if (!filter(root, modes)) return nullptr;
    return copy;
}

Status acl_check_write(const xmlDoc* before, const xmlDoc* after, const std::vector<AclRule>& rules,
                       std::vector<std::string>* problems)
{
    const xmlNode* old_root = root_of(before);
    const xmlNode* new_root = root_of(after);
    if (old_root == nullptr || new_root == nullptr) return make_error("acl", -EACCES, "no CIB to compare");
    WriteCheck check(before, after, rules, problems);
    if (xmlStrEqual(old_root->name, new_root->name) == 0)
        return make_error("acl", -EACCES, "no write permission to replace the root element");
    return check.compare(old_root, new_root);
}

}  // namespace outpost::cluster::controller
