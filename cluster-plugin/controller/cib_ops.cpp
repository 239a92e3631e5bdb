#include "controller/cib_ops.hpp"

#include <libxml/xpath.h>

#include "controller/cib_patch.hpp"

#include <array>
#include <vector>

namespace outpost::cluster::controller {

namespace {

struct XpathContextFree {
    void operator()(xmlXPathContext* ctxt) const { xmlXPathFreeContext(ctxt); }
};
struct XpathObjectFree {
    void operator()(xmlXPathObject* object) const { xmlXPathFreeObject(object); }
};

// Attributes of <cib> that the CIB manager itself maintains: changing them is not a
// configuration change.
constexpr std::array<const char*, 9> kVolatileRootAttributes = {
    "epoch",         "num_updates", "admin_epoch", "cib-last-written", "update-origin",
    "update-client", "update-user", "have-quorum", "dc-uuid"};

// XPath errors become the request's rc; libxml2 must not print them on stderr.
void ignore_xpath_error(void* /*data*/, xmlError* /*error*/) noexcept {}

const xmlChar* to_xml(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);
}

CibOutcome failure(int rc, std::string message)
{
    CibOutcome outcome;
    outcome.rc = rc;
    outcome.message = std::move(message);
    return outcome;
}

// Elements matching `expression` in `doc`, an attribute or text match standing for its
// element, each element once, in document order.
Result<std::vector<xmlNode*>> xpath_matches(xmlDoc* doc, const std::string& expression)
{
    if (expression.empty() || expression.size() > kMaxXpathLength) {
        return make_error("cib", cib_rc::invalid,
                          "XPath of " + std::to_string(expression.size()) + " bytes (1 to " +
                              std::to_string(kMaxXpathLength) + " accepted)");
    }
    std::unique_ptr<xmlXPathContext, XpathContextFree> ctxt(xmlXPathNewContext(doc));
    if (!ctxt) throw std::bad_alloc();
    ctxt->error = ignore_xpath_error;
    std::unique_ptr<xmlXPathObject, XpathObjectFree> result(
        xmlXPathEvalExpression(to_xml(expression.c_str()), ctxt.get()));
    if (!result) return make_error("cib", cib_rc::invalid, "invalid XPath " + expression);
    std::vector<xmlNode*> matches;
    if (result->type != XPATH_NODESET || result->nodesetval == nullptr) return matches;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
        xmlNode* node = result->nodesetval->nodeTab[i];
        if (node == nullptr) continue;
        if (node->type != XML_ELEMENT_NODE) node = node->parent;
        if (node == nullptr || node->type != XML_ELEMENT_NODE) continue;
        bool seen = false;
        for (xmlNode* match : matches)
            seen = seen || match == node;
        if (!seen) matches.push_back(node);
    }
    return matches;
}

// First element in `scope` (itself included, depth first) named like `data` and, if
// `data` has an id, with that id.
xmlNode* find_like(xmlNode* scope, const xmlNode* data)
{
    if (scope == nullptr) return nullptr;
    auto id = attr(data, "id");
    if (xmlStrEqual(scope->name, data->name) != 0 && (!id || attr(scope, "id") == id)) return scope;
    for (xmlNode* child = first_element(scope); child != nullptr; child = next_element(child))
        if (xmlNode* found = find_like(child, data)) return found;
    return nullptr;
}

// The direct child of `parent` that `data` describes: same name, and the same id (or
// neither has one).
xmlNode* matching_child(xmlNode* parent, const xmlNode* data)
{
    auto id = attr(data, "id");
    for (xmlNode* child = first_element(parent); child != nullptr; child = next_element(child)) {
        if (xmlStrEqual(child->name, data->name) != 0 && attr(child, "id") == id) return child;
    }
    return nullptr;
}

xmlNode* append_copy(xmlNode* parent, const xmlNode* data)
{
    xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(data), parent->doc, 1);
    if (copy == nullptr) throw std::bad_alloc();
    xmlAddChild(parent, copy);
    return copy;
}

// Pacemaker's update merge: attributes of `data` set on `target`, children merged by
// name and id, unknown children appended.
void merge(xmlNode* target, const xmlNode* data)
{
    for (xmlAttr* a = data->properties; a != nullptr; a = a->next) {
        xmlChar* value = xmlNodeGetContent(reinterpret_cast<xmlNode*>(a));
        std::string text = value == nullptr ? std::string() : reinterpret_cast<const char*>(value);
        xmlFree(value);
        set_attr(target, reinterpret_cast<const char*>(a->name), text);
    }
    for (xmlNode* child = first_element(data); child != nullptr; child = next_element(child)) {
        if (xmlNode* existing = matching_child(target, child)) {
            merge(existing, child);
        } else {
            append_copy(target, child);
        }
    }
}

void replace_node(xmlNode* old_node, const xmlNode* data)
{
    xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(data), old_node->doc, 1);
    if (copy == nullptr) throw std::bad_alloc();
    xmlReplaceNode(old_node, copy);
    xmlFreeNode(old_node);
}

bool attributes_match(const xmlNode* candidate, const xmlNode* data)
{
    for (xmlAttr* a = data->properties; a != nullptr; a = a->next) {
        const char* name = reinterpret_cast<const char*>(a->name);
        xmlChar* value = xmlNodeGetContent(reinterpret_cast<xmlNode*>(a));
        std::string wanted = value == nullptr ? std::string() : reinterpret_cast<const char*>(value);
        xmlFree(value);
        if (attr(candidate, name) != wanted) return false;
    }
    return true;
}

xmlNode* find_for_delete(xmlNode* scope, const xmlNode* data)
{
    if (scope == nullptr) return nullptr;
    if (xmlStrEqual(scope->name, data->name) != 0 && attributes_match(scope, data)) return scope;
    for (xmlNode* child = first_element(scope); child != nullptr; child = next_element(child))
        if (xmlNode* found = find_for_delete(child, data)) return found;
    return nullptr;
}

XmlDoc failed_report(const xmlNode* data, const char* operation, const char* reason)
{
    XmlDoc report = new_document("failed");
    xmlNode* entry = xmlNewChild(root_of(report.get()), nullptr, to_xml("failed_update"), nullptr);
    if (entry == nullptr) throw std::bad_alloc();
    if (auto id = attr(data, "id")) set_attr(entry, "id", *id);
    set_attr(entry, "object_type", name_of(data));
    set_attr(entry, "operation", operation);
    set_attr(entry, "reason", reason);
    append_copy(entry, data);
    return report;
}

// --- reads -----------------------------------------------------------------------------

XmlDoc copy_for_reply(const xmlNode* node, bool with_children)
{
    if (with_children) return copy_to_document(node);
    XmlDoc doc(xmlNewDoc(to_xml("1.0")));
    if (!doc) throw std::bad_alloc();
    xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(node), doc.get(), 2);  // attributes, no children
    if (copy == nullptr) throw std::bad_alloc();
    xmlDocSetRootElement(doc.get(), copy);
    return doc;
}

CibOutcome query(const xmlDoc* current, const CibOperation& operation)
{
    const bool with_children = (operation.options & call_option::no_children) == 0;
    CibOutcome outcome;
    if ((operation.options & call_option::xpath) == 0) {
        xmlNode* section = find_section(current, operation.section);
        if (section == nullptr) return failure(cib_rc::not_found, "no section " + operation.section);
        outcome.output = copy_for_reply(section, with_children);
        return outcome;
    }
    auto matches = xpath_matches(const_cast<xmlDoc*>(current), operation.section);
    if (!matches) return failure(matches.error().code, matches.error().message);
    if (matches->empty()) return failure(cib_rc::not_found, "nothing matches " + operation.section);
    if (matches->size() == 1) {
        outcome.output = copy_for_reply(matches->front(), with_children);
        return outcome;
    }
    outcome.output = new_document("xpath-query");
    xmlNode* wrapper = root_of(outcome.output.get());
    for (xmlNode* match : *matches) {
        xmlNode* copy = xmlDocCopyNode(match, outcome.output.get(), with_children ? 1 : 2);
        if (copy == nullptr) throw std::bad_alloc();
        xmlAddChild(wrapper, copy);
    }
    return outcome;
}

// --- writes, on the working copy ---------------------------------------------------------

// Result of changing the working copy: rc, reason, and a reply document if any.
struct Applied {
    int rc = cib_rc::ok;
    std::string message;
    XmlDoc output;
};

Applied applied_error(int rc, std::string message)
{
    Applied result;
    result.rc = rc;
    result.message = std::move(message);
    return result;
}

Result<std::vector<xmlNode*>> xpath_targets(xmlDoc* work, const CibOperation& operation)
{
    auto matches = xpath_matches(work, operation.section);
    if (!matches) return matches.error();
    if (matches->size() > 1 && (operation.options & call_option::multiple) == 0) matches->resize(1);
    return matches;
}

Applied create(xmlDoc* work, const CibOperation& operation)
{
    if ((operation.options & call_option::xpath) != 0) {
        auto targets = xpath_targets(work, operation);
        if (!targets) return applied_error(targets.error().code, targets.error().message);
        if (targets->empty()) return applied_error(cib_rc::not_found, "nothing matches " + operation.section);
        for (xmlNode* target : *targets)
            append_copy(target, operation.data);
        return {};
    }
    if (operation.section.empty() || !is_known_section(operation.section) || operation.section == "all") {
        return applied_error(cib_rc::not_found,
                             "no section named for the new <" + name_of(operation.data) + ">");
    }
    xmlNode* section = ensure_section(work, operation.section);
    if (section == nullptr) return applied_error(cib_rc::not_found, "no section " + operation.section);
    std::vector<const xmlNode*> items;
    if (xmlStrEqual(section->name, operation.data->name) != 0) {
        for (xmlNode* child = first_element(operation.data); child != nullptr; child = next_element(child))
            items.push_back(child);
    } else {
        items.push_back(operation.data);
    }
    for (const xmlNode* item : items) {
        if (attr(item, "id") && find_like(section, item) != nullptr) {
            Applied result = applied_error(
                cib_rc::exists, "<" + name_of(item) + " id=" + *attr(item, "id") + "> exists already");
            result.output = failed_report(item, "cib_create", "File exists");
            return result;
        }
        append_copy(section, item);
    }
    return {};
}

Applied modify(xmlDoc* work, const CibOperation& operation)
{
    if ((operation.options & call_option::xpath) != 0) {
        auto targets = xpath_targets(work, operation);
        if (!targets) return applied_error(targets.error().code, targets.error().message);
        bool merged = false;
        for (xmlNode* target : *targets) {
            if (xmlNode* found = find_like(target, operation.data)) {
                merge(found, operation.data);
                merged = true;
            }
        }
        if (!merged)
            return applied_error(cib_rc::not_found, "nothing to update matches " + operation.section);
        return {};
    }
    if (!is_known_section(operation.section))
        return applied_error(cib_rc::not_found, "no section " + operation.section);
    xmlNode* section = ensure_section(work, operation.section);
    if (section == nullptr) return applied_error(cib_rc::not_found, "no section " + operation.section);
    if (xmlNode* target = find_like(section, operation.data)) {
        merge(target, operation.data);
        return {};
    }
    if ((operation.options & call_option::can_create) != 0 && section != root_of(work)) {
        append_copy(section, operation.data);
        return {};
    }
    return applied_error(cib_rc::not_found, "no <" + name_of(operation.data) + "> to update");
}

Applied replace(xmlDoc* work, const CibOperation& operation)
{
    if ((operation.options & call_option::xpath) != 0) {
        auto targets = xpath_targets(work, operation);
        if (!targets) return applied_error(targets.error().code, targets.error().message);
        if (targets->empty()) return applied_error(cib_rc::not_found, "nothing matches " + operation.section);
        if (targets->front() == root_of(work) && !is_named(operation.data, "cib"))
            return applied_error(cib_rc::invalid, "the CIB can only be replaced by a <cib>");
        for (xmlNode* target : *targets)
            replace_node(target, operation.data);
        return {};
    }
    if (!is_known_section(operation.section))
        return applied_error(cib_rc::not_found, "no section " + operation.section);
    xmlNode* section = find_section(work, operation.section);
    if (section == nullptr) section = ensure_section(work, operation.section);
    if (section == nullptr) return applied_error(cib_rc::not_found, "no section " + operation.section);
    if (section != root_of(work) && is_named(operation.data, "cib")) {
        // A whole CIB for one section (pcs does this): its copy of that section counts.
        XmlDoc given = copy_to_document(operation.data);
        const xmlNode* inner = find_section(given.get(), operation.section);
        if (inner == nullptr)
            return applied_error(cib_rc::not_found, "the given CIB has no " + operation.section);
        replace_node(section, inner);
        return {};
    }
    if (section == root_of(work) && !is_named(operation.data, "cib")) {
        xmlNode* target = find_like(section, operation.data);
        if (target == nullptr || target == section)
            return applied_error(cib_rc::not_found, "no <" + name_of(operation.data) + "> to replace");
        replace_node(target, operation.data);
        return {};
    }
    if (xmlStrEqual(section->name, operation.data->name) != 0) {
        replace_node(section, operation.data);
        return {};
    }
    xmlNode* target = find_like(section, operation.data);
    if (target == nullptr)
        return applied_error(cib_rc::not_found, "no <" + name_of(operation.data) + "> to replace");
    replace_node(target, operation.data);
    return {};
}

Applied remove(xmlDoc* work, const CibOperation& operation)
{
    if ((operation.options & call_option::xpath) != 0) {
        auto targets = xpath_targets(work, operation);
        if (!targets) return applied_error(targets.error().code, targets.error().message);
        for (xmlNode* target : *targets) {
            if (target == root_of(work))
                return applied_error(cib_rc::invalid, "the <cib> element cannot be deleted");
        }
        for (xmlNode* target : *targets) {
            xmlUnlinkNode(target);
            xmlFreeNode(target);
        }
        return {};
    }
    if (!is_known_section(operation.section))
        return applied_error(cib_rc::not_found, "no section " + operation.section);
    xmlNode* section = find_section(work, operation.section);
    if (section == nullptr) return {};
    // The section element itself stands for its children, each deleted on its own.
    std::vector<const xmlNode*> items;
    if (xmlStrEqual(section->name, operation.data->name) != 0 && section != root_of(work)) {
        for (xmlNode* child = first_element(operation.data); child != nullptr; child = next_element(child))
            items.push_back(child);
    } else {
        items.push_back(operation.data);
    }
    for (const xmlNode* item : items) {
        xmlNode* target = find_for_delete(section, item);
        if (target == nullptr) continue;
        if (target == root_of(work) || target->parent == root_of(work) ||
            (target->parent != nullptr && is_named(target->parent, "configuration") &&
             is_known_section(name_of(target)))) {
            // Sections themselves stay: Pacemaker empties nothing it cannot recreate.
            return applied_error(cib_rc::invalid, "the section <" + name_of(target) + "> cannot be deleted");
        }
        xmlUnlinkNode(target);
        xmlFreeNode(target);
    }
    return {};
}

// The part of a CIB that is configuration: <cib>'s own attributes but the volatile ones,
// and everything but <status>.
// The same attributes, values and order on both elements.
bool same_attributes_of(const xmlNode* a, const xmlNode* b)
{
    const xmlAttr* x = a->properties;
    const xmlAttr* y = b->properties;
    for (; x != nullptr && y != nullptr; x = x->next, y = y->next) {
        const char* name = reinterpret_cast<const char*>(x->name);
        if (std::string_view(name) != reinterpret_cast<const char*>(y->name) ||
            attr(a, name) != attr(b, name))
            return false;
    }
    return x == nullptr && y == nullptr;
}

std::string configuration_text(const xmlDoc* doc)
{
    const xmlNode* root = root_of(doc);
    std::string text;
    for (xmlAttr* a = root->properties; a != nullptr; a = a->next) {
        const char* name = reinterpret_cast<const char*>(a->name);
        bool is_volatile = false;
        for (const char* skip : kVolatileRootAttributes)
            is_volatile = is_volatile || std::string_view(name) == skip;
        if (is_volatile) continue;
        text += name;
        text += '=';
        text += attr(root, name).value_or("");
        text += '\n';
    }
    for (xmlNode* child = first_element(root); child != nullptr; child = next_element(child)) {
        if (!is_named(child, "status")) text += serialize(child);
    }
    return text;
}

Applied apply_write(xmlDoc* work, const xmlDoc* current, const CibOperation& operation)
{
    const std::string& op = operation.op;
    if (op == "cib_erase") {
        XmlDoc empty = empty_cib();
        xmlNode* fresh = root_of(empty.get());
        xmlNode* root = root_of(work);
        // Keep the schema and the version: the erase is a change like any other.
        if (auto schema = attr(root, "validate-with")) set_attr(fresh, "validate-with", *schema);
        write_version(fresh, read_version(root_of(current)).value());
        replace_node(root, fresh);
        return {};
    }
    if (op == "cib_bump") return {};
    // Deleting XPath matches is the one write that needs no data element.
    const bool xpath_delete = op == "cib_delete" && (operation.options & call_option::xpath) != 0;
    if (operation.data == nullptr && !xpath_delete)
        return applied_error(cib_rc::invalid, op + " without data");
    if (op == "cib_create") return create(work, operation);
    if (op == "cib_modify") return modify(work, operation);
    if (op == "cib_replace") return replace(work, operation);
    if (op == "cib_delete") return remove(work, operation);
    if (op == "cib_apply_diff") {
        PatchResult patched = apply_patchset(work, operation.data);
        return patched.rc == 0 ? Applied{} : applied_error(patched.rc, std::move(patched.message));
    }
    return applied_error(cib_rc::not_supported, "operation " + op + " is not supported");
}

Status acl_allows(const xmlDoc* current, const xmlDoc* work, const CibOperation& operation)
{
    if (operation.acl_rules == nullptr) return {};
    return acl_check_write(current, work, *operation.acl_rules, operation.acl_problems);
}

// What every write does once its new document `work` is made: the checks, the version
// step, who made it. `forced` counts as a configuration change (cib_bump, cib_erase).
CibOutcome settle_write(const xmlDoc* current, XmlDoc work, bool forced, bool dry_run, Schemas& schemas,
                        const UpdateOrigin& origin)
{
    xmlNode* root = root_of(work.get());
    if (!is_named(root, "cib")) return failure(cib_rc::invalid, "the result would not be a CIB");
    if (child_named(root, "status") == nullptr &&
        xmlNewChild(root, nullptr, to_xml("status"), nullptr) == nullptr)
        throw std::bad_alloc();
    if (auto shape = check_cib_shape(work.get()); !shape)
        return failure(shape.error().code, shape.error().message);

    const CibVersion before = read_version(root_of(current)).value();
    CibVersion after = read_version(root).value();
    if (after < before) {
        return failure(cib_rc::old_data, "the update's version " + after.describe() +
                                             " is older than the CIB's " + before.describe());
    }
    const bool config_changed = forced || configuration_text(current) != configuration_text(work.get());
    if (!config_changed && same_tree(root_of(current), root)) return {};  // nothing to do
    // A write that changes the status section alone (the root's attributes as they were)
    // cannot make a valid CIB invalid: Pacemaker's status schema (status-1.0.rng) accepts
    // any content. The control loop records every operation result this way.
    const bool status_only = !config_changed && same_attributes_of(root_of(current), root);
    if (!status_only) {
        if (auto valid = schemas.validate(work.get()); !valid)
            return failure(valid.error().code, valid.error().message);
    }

    if (config_changed) {
        after.epoch += 1;
        after.num_updates = 0;
        set_attr(root, "cib-last-written", origin.time_text);
        if (!origin.node.empty()) set_attr(root, "update-origin", origin.node);
        if (!origin.client_name.empty()) set_attr(root, "update-client", origin.client_name);
        if (!origin.user.empty()) set_attr(root, "update-user", origin.user);
    } else {
        after.num_updates += 1;
    }
    write_version(root, after);
    CibOutcome outcome;
    outcome.config_changed = config_changed;
    if (!dry_run) outcome.updated = std::move(work);
    return outcome;
}

CibOutcome write(const xmlDoc* current, const CibOperation& operation, Schemas& schemas,
                 const UpdateOrigin& origin)
{
    XmlDoc work = copy_document(current);
    Applied applied = apply_write(work.get(), current, operation);
    if (applied.rc != cib_rc::ok) {
        CibOutcome outcome = failure(applied.rc, std::move(applied.message));
        outcome.output = std::move(applied.output);
        return outcome;
    }
    if (auto allowed = acl_allows(current, work.get(), operation); !allowed) {
        CibOutcome outcome = failure(allowed.error().code, allowed.error().message);
        // Observed on 2.1.5: a create by a user with no ACL rules at all also gets the
        // <failed> report (cibadmin prints it); with some rules, only the rc.
        if (operation.op == "cib_create" && operation.acl_rules->empty() && operation.data != nullptr)
            outcome.output = failed_report(operation.data, "cib_create", "Permission denied");
        return outcome;
    }
    const bool forced = operation.op == "cib_bump" || operation.op == "cib_erase";
    return settle_write(current, std::move(work), forced, (operation.options & call_option::dry_run) != 0,
                        schemas, origin);
}

// cib_upgrade: a 3.x CIB moves to the newest installed 3.x schema it validates against
// (no transform is needed inside the series). Observed with 2.1.5's cibadmin --upgrade on
// a CIB file: already the newest is pcmk_err_schema_unchanged (cibadmin says nothing and
// exits 0); an upgrade keeps epoch and adds 2 to num_updates.
CibOutcome upgrade(const xmlDoc* current, const CibOperation& operation, Schemas& schemas)
{
    const std::string name = attr(root_of(current), "validate-with").value_or("");
    const int minor = minor_3x(name);
    if (minor < 0) {
        if (name == "pacemaker-next" || name == "none")
            return failure(cib_rc::schema_unchanged, "validate-with " + name + " has no newer schema");
        return failure(
            cib_rc::not_supported,
            "upgrading from " + (name.empty() ? std::string("no schema") : name) +
                " needs Pacemaker's transforms: upgrade a copy with CIB_file=COPY cibadmin --upgrade "
                "--force, then cibadmin --replace --xml-file COPY");
    }
    XmlDoc work = copy_document(current);
    xmlNode* root = root_of(work.get());
    for (const std::string& candidate : newer_3x_schemas(schemas.directory(), minor)) {
        set_attr(root, "validate-with", candidate);
        if (!schemas.validate(work.get())) continue;
        if (auto allowed = acl_allows(current, work.get(), operation); !allowed)
            return failure(allowed.error().code, allowed.error().message);
        CibVersion version = read_version(root).value();
        version.num_updates += 2;
        write_version(root, version);
        CibOutcome outcome;
        outcome.updated = std::move(work);
        return outcome;
    }
    return failure(cib_rc::schema_unchanged, name + " is the newest schema this CIB validates against");
}

}  // namespace

OpKind kind_of(std::string_view op)
{
    if (op == "cib_query" || op == "cib_ismaster" || op == "noop" || op == "cib_ping") return OpKind::read;
    if (op == "cib_create" || op == "cib_modify" || op == "cib_replace" || op == "cib_delete" ||
        op == "cib_erase" || op == "cib_bump" || op == "cib_upgrade" || op == "cib_apply_diff")
        return OpKind::write;
    return OpKind::unknown;
}

CibOutcome perform(const xmlDoc* current, const CibOperation& operation, Schemas& schemas,
                   const UpdateOrigin& origin)
{
    switch (kind_of(operation.op)) {
        case OpKind::read:
            if (operation.op != "cib_query") return {};
            if (operation.acl_rules != nullptr) {
                XmlDoc visible = acl_filtered_copy(current, *operation.acl_rules, operation.acl_problems);
                if (!visible) return failure(cib_rc::access, "the user's ACLs allow reading nothing");
                return query(visible.get(), operation);
            }
            return query(current, operation);
        case OpKind::write:
            if (operation.op == "cib_upgrade") {
                CibOutcome outcome = upgrade(current, operation, schemas);
                if ((operation.options & call_option::dry_run) != 0) outcome.updated.reset();
                return outcome;
            }
            return write(current, operation, schemas, origin);
        case OpKind::unknown:
            break;
    }
    return failure(cib_rc::not_supported, "unknown CIB operation " + operation.op);
}

CibOutcome perform_edit(const xmlDoc* current, const std::function<void(xmlDoc*)>& edit, Schemas& schemas,
                        const UpdateOrigin& origin)
{
    XmlDoc work = copy_document(current);
    edit(work.get());
    return settle_write(current, std::move(work), false, false, schemas, origin);
}

}  // namespace outpost::cluster::controller
