#include "controller/xml.hpp"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <cerrno>
#include <climits>

#include "util/log.hpp"
#include "wire/xml_bounds.hpp"

namespace outpost::cluster::controller {

namespace {

struct BufferFree {
    void operator()(xmlBuffer* buffer) const { xmlBufferFree(buffer); }
};

const xmlChar* to_xml(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);
}

}  // namespace

Result<XmlDoc> parse_document(std::string_view text, std::size_t max_size, std::string_view what)
{
    if (text.size() > max_size || text.size() > static_cast<std::size_t>(INT_MAX)) {
        return make_error("cib", -EMSGSIZE,
                          std::string(what) + " has " + std::to_string(text.size()) + " bytes, more than " +
                              std::to_string(max_size));
    }
    // A DTD is never part of a CIB or a request; refusing its keyword rules out entity
    // expansion before libxml2 reads any declaration.
    if (text.find("<!DOCTYPE") != std::string_view::npos) {
        return make_error("cib", -EBADMSG,
                          std::string(what) + ": document type declarations are not accepted");
    }
    // The shape is bounded before libxml2 builds anything (wire/xml_bounds.hpp). Building a
    // tree costs about eight times SAX's per pair of attributes of one element, so wide
    // elements get an eighth of the messages' budget (one of 1,448 attributes).
    wire::XmlLimits limits = wire::message_limits(max_size);
    limits.max_wide_pairs /= 8;
    auto doc = wire::parse_xml_document(text, limits, XML_PARSE_NOBLANKS);
    if (!doc) {
        const Error& error = doc.error();
        if (error.code == -EBADMSG)
            return make_error("cib", -EBADMSG, std::string(what) + " is not valid XML: " + error.message);
        return make_error("cib", error.code, std::string(what) + ": " + error.message);
    }
    return XmlDoc(std::move(doc).value().release());
}

xmlNode* root_of(const xmlDoc* doc)
{
    return doc == nullptr ? nullptr : xmlDocGetRootElement(doc);
}

XmlDoc copy_to_document(const xmlNode* node)
{
    XmlDoc doc(xmlNewDoc(to_xml("1.0")));
    if (!doc) throw std::bad_alloc();
    xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(node), doc.get(), 1);
    if (copy == nullptr) throw std::bad_alloc();
    xmlDocSetRootElement(doc.get(), copy);
    return doc;
}

XmlDoc copy_document(const xmlDoc* doc)
{
    XmlDoc copy(xmlCopyDoc(const_cast<xmlDoc*>(doc), 1));
    if (!copy) throw std::bad_alloc();
    return copy;
}

XmlDoc new_document(const char* name)
{
    XmlDoc doc(xmlNewDoc(to_xml("1.0")));
    if (!doc) throw std::bad_alloc();
    xmlNode* root = xmlNewDocNode(doc.get(), nullptr, to_xml(name), nullptr);
    if (root == nullptr) throw std::bad_alloc();
    xmlDocSetRootElement(doc.get(), root);
    return doc;
}

std::string serialize(const xmlNode* node, bool formatted)
{
    std::unique_ptr<xmlBuffer, BufferFree> buffer(xmlBufferCreate());
    if (!buffer) throw std::bad_alloc();
    if (xmlNodeDump(buffer.get(), node->doc, const_cast<xmlNode*>(node), 0, formatted ? 1 : 0) < 0) {
        throw std::bad_alloc();
    }
    return {reinterpret_cast<const char*>(xmlBufferContent(buffer.get())),
            static_cast<std::size_t>(xmlBufferLength(buffer.get()))};
}

namespace {

bool same_text(const xmlChar* a, const xmlChar* b)
{
    return xmlStrEqual(a != nullptr ? a : to_xml(""), b != nullptr ? b : to_xml("")) != 0;
}

bool same_attributes(const xmlNode* a, const xmlNode* b)
{
    const xmlAttr* x = a->properties;
    const xmlAttr* y = b->properties;
    for (; x != nullptr && y != nullptr; x = x->next, y = y->next) {
        if (!same_text(x->name, y->name)) return false;
        const xmlNode* xv = x->children;
        const xmlNode* yv = y->children;
        // Attribute values are text (and entity reference) nodes; compare them one by one.
        for (; xv != nullptr && yv != nullptr; xv = xv->next, yv = yv->next)
            if (xv->type != yv->type || !same_text(xv->content, yv->content) ||
                !same_text(xv->name, yv->name))
                return false;
        if (xv != nullptr || yv != nullptr) return false;
    }
    return x == nullptr && y == nullptr;
}

}  // namespace

bool same_tree(const xmlNode* a, const xmlNode* b)
{
    if (a == b) return true;
    if (a == nullptr || b == nullptr || a->type != b->type || !same_text(a->name, b->name)) return false;
    if (a->type != XML_ELEMENT_NODE) return same_text(a->content, b->content);
    if (!same_text(a->ns != nullptr ? a->ns->prefix : nullptr, b->ns != nullptr ? b->ns->prefix : nullptr) ||
        !same_attributes(a, b))
        return false;
    const xmlNode* x = a->children;
    const xmlNode* y = b->children;
    for (; x != nullptr && y != nullptr; x = x->next, y = y->next)
        if (!same_tree(x, y)) return false;
    return x == nullptr && y == nullptr;
}

std::optional<std::string> attr(const xmlNode* node, const char* name)
{
    xmlChar* value = xmlGetNoNsProp(node, to_xml(name));
    if (value == nullptr) return std::nullopt;
    std::string result(reinterpret_cast<const char*>(value));
    xmlFree(value);
    return result;
}

void set_attr(xmlNode* node, const char* name, const std::string& value)
{
    if (xmlSetProp(node, to_xml(name), to_xml(value.c_str())) == nullptr) throw std::bad_alloc();
}

bool is_named(const xmlNode* node, const char* name)
{
    return node != nullptr && node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, to_xml(name)) != 0;
}

std::string name_of(const xmlNode* node)
{
    return node == nullptr || node->name == nullptr ? std::string()
                                                    : reinterpret_cast<const char*>(node->name);
}

xmlNode* first_element(const xmlNode* parent)
{
    if (parent == nullptr) return nullptr;
    for (xmlNode* child = parent->children; child != nullptr; child = child->next)
        if (child->type == XML_ELEMENT_NODE) return child;
    return nullptr;
}

xmlNode* next_element(const xmlNode* node)
{
    for (xmlNode* next = node->next; next != nullptr; next = next->next)
        if (next->type == XML_ELEMENT_NODE) return next;
    return nullptr;
}

std::vector<xmlNode*> element_children(const xmlNode* parent)
{
    std::vector<xmlNode*> children;
    for (xmlNode* child = first_element(parent); child != nullptr; child = next_element(child))
        children.push_back(child);
    return children;
}

xmlNode* child_named(const xmlNode* parent, const char* name)
{
    for (xmlNode* child = first_element(parent); child != nullptr; child = next_element(child))
        if (is_named(child, name)) return child;
    return nullptr;
}

}  // namespace outpost::cluster::controller
