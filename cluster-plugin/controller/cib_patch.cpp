#include "controller/cib_patch.hpp"

#include <libxml/xpath.h>

#include <charconv>
#include <memory>

#include "controller/cib_document.hpp"
#include "controller/cib_ops.hpp"

namespace outpost::cluster::controller {

namespace {

constexpr int kDiffFailed = -206;  // pcmk_err_diff_failed
constexpr int kDiffResync = -207;  // pcmk_err_diff_resync

struct XpathContextFree {
    void operator()(xmlXPathContext* ctxt) const { xmlXPathFreeContext(ctxt); }
};
struct XpathObjectFree {
    void operator()(xmlXPathObject* object) const { xmlXPathFreeObject(object); }
};

void ignore_xpath_error(void* /*data*/, xmlError* /*error*/) noexcept {}

PatchResult failed(int rc, std::string message)
{
    return PatchResult{rc, std::move(message)};
}

// The first element `path` selects, or nullptr (also for an invalid path).
xmlNode* select(xmlDoc* doc, const std::string& path)
{
    if (path.empty() || path.size() > kMaxXpathLength) return nullptr;
    std::unique_ptr<xmlXPathContext, XpathContextFree> ctxt(xmlXPathNewContext(doc));
    if (!ctxt) throw std::bad_alloc();
    ctxt->error = ignore_xpath_error;
    std::unique_ptr<xmlXPathObject, XpathObjectFree> result(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(path.c_str()), ctxt.get()));
    if (!result || result->type != XPATH_NODESET || result->nodesetval == nullptr) return nullptr;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
        xmlNode* node = result->nodesetval->nodeTab[i];
        if (node != nullptr && node->type == XML_ELEMENT_NODE) return node;
    }
    return nullptr;
}

std::size_t position_of(const xmlNode* change)
{
    auto text = attr(change, "position");
    std::size_t position = SIZE_MAX;  // no position: at the end
    if (text) {
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), position);
        if (ec != std::errc() || ptr != text->data() + text->size()) position = SIZE_MAX;
    }
    return position;
}

// Puts `node` (unlinked) among the element children of `parent` at `position`.
void insert_at(xmlNode* parent, xmlNode* node, std::size_t position)
{
    std::size_t index = 0;
    for (xmlNode* child = first_element(parent); child != nullptr; child = next_element(child), ++index) {
        if (index == position) {
            xmlAddPrevSibling(child, node);
            return;
        }
    }
    xmlAddChild(parent, node);
}

PatchResult check_version(const xmlDoc* work, const xmlNode* diff)
{
    const xmlNode* version = child_named(diff, "version");
    if (version == nullptr) return {};
    const xmlNode* source = child_named(version, "source");
    if (source == nullptr) return {};
    auto from = read_version(source);
    if (!from) return failed(kDiffFailed, "patchset: " + from.error().message);
    const CibVersion current = read_version(root_of(work)).value();
    // num_updates is not compared: only admin_epoch and epoch order configurations here.
    CibVersion wanted = *from;
    wanted.num_updates = current.num_updates;
    if (wanted < current) {
        return failed(cib_rc::old_data,
                      "patchset for " + from->describe() + " is older than the CIB's " + current.describe());
    }
    if (current < wanted) {
        return failed(kDiffResync,
                      "patchset for " + from->describe() + " is newer than the CIB's " + current.describe());
    }
    return {};
}

PatchResult apply_change(xmlDoc* work, const xmlNode* change)
{
    const std::string operation = attr(change, "operation").value_or("");
    const std::string path = attr(change, "path").value_or("");
    xmlNode* target = select(work, path);
    if (operation == "delete") {
        if (target == nullptr) return {};
        if (target == root_of(work)) return failed(kDiffFailed, "patchset: the <cib> cannot be deleted");
        xmlUnlinkNode(target);
        xmlFreeNode(target);
        return {};
    }
    if (target == nullptr) return failed(kDiffFailed, "patchset: nothing at " + path + " to " + operation);
    if (operation == "create") {
        const xmlNode* element = first_element(change);
        if (element == nullptr)
            return failed(kDiffFailed, "patchset: create at " + path + " without an element");
        xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(element), work, 1);
        if (copy == nullptr) throw std::bad_alloc();
        insert_at(target, copy, position_of(change));
        return {};
    }
    if (operation == "modify") {
        const xmlNode* result = first_element(child_named(change, "change-result"));
        if (result == nullptr)
            return failed(-ENOMSG, "patchset: modify of " + path + " without <change-result>");
        while (target->properties != nullptr)
            xmlRemoveProp(target->properties);
        for (xmlAttr* a = result->properties; a != nullptr; a = a->next) {
            const char* name = reinterpret_cast<const char*>(a->name);
            set_attr(target, name, attr(result, name).value_or(""));
        }
        return {};
    }
    if (operation == "move") {
        xmlNode* parent = target->parent;
        if (parent == nullptr || parent->type != XML_ELEMENT_NODE)
            return failed(kDiffFailed, "patchset: cannot move " + path);
        xmlUnlinkNode(target);
        insert_at(parent, target, position_of(change));
        return {};
    }
    return failed(kDiffFailed, "patchset: unknown change operation \"" + operation + "\"");
}

}  // namespace

PatchResult apply_patchset(xmlDoc* work, const xmlNode* diff)
{
    if (!is_named(diff, "diff"))
        return failed(cib_rc::invalid, "patchset: <" + name_of(diff) + ">, not <diff>");
    if (attr(diff, "format") != "2") {
        return failed(cib_rc::not_supported, "patchset format \"" + attr(diff, "format").value_or("1") +
                                                 "\" (only format 2 is accepted)");
    }
    if (auto version = check_version(work, diff); version.rc != 0) return version;
    for (const xmlNode* change = first_element(diff); change != nullptr; change = next_element(change)) {
        if (!is_named(change, "change")) continue;
        if (auto applied = apply_change(work, change); applied.rc != 0) return applied;
    }
    return {};
}

}  // namespace outpost::cluster::controller
