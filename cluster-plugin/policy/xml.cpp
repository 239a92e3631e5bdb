#include "policy/xml.hpp"

#include <cstring>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "wire/xml_bounds.hpp"

namespace outpost::cluster::policy::xml {

namespace {

Error xml_error(int code, std::string message)
{
    return make_error("cib", code, std::move(message));
}

// Depth, attribute count and attribute length, checked iteratively (no recursion on input).
Status check_limits(xmlNode* root)
{
    std::vector<std::pair<xmlNode*, int>> stack;
    stack.emplace_back(root, 1);
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        if (depth > kMaxDepth)
            return xml_error(-E2BIG, "element <" + std::string(name(node)) + "> nested deeper than " +
                                         std::to_string(kMaxDepth) + " levels");
        std::size_t count = 0;
        for (xmlAttr* a = node->properties; a; a = a->next) {
            if (++count > kMaxAttributes)
                return xml_error(-E2BIG, "element <" + std::string(name(node)) + "> has more than " +
                                             std::to_string(kMaxAttributes) + " attributes");
            if (a->children && (a->children->next || a->children->type != XML_TEXT_NODE))
                return xml_error(-EINVAL, "attribute " + std::string(reinterpret_cast<const char*>(a->name)) +
                                              " uses an entity reference");
            if (a->children && a->children->content &&
                xmlStrlen(a->children->content) > static_cast<int>(kMaxAttributeLength))
                return xml_error(-E2BIG, "attribute " + std::string(reinterpret_cast<const char*>(a->name)) +
                                             " of <" + std::string(name(node)) + "> is longer than " +
                                             std::to_string(kMaxAttributeLength) + " bytes");
        }
        for (xmlNode* c = node->children; c; c = c->next) {
            if (c->type == XML_ELEMENT_NODE) stack.emplace_back(c, depth + 1);
        }
    }
    return {};
}

}  // namespace

Result<Document> parse(std::string_view text, std::size_t max_size)
{
    if (text.size() > max_size)
        return xml_error(-EMSGSIZE, "document of " + std::to_string(text.size()) +
                                        " bytes exceeds the limit of " + std::to_string(max_size));
    // The shape is bounded before libxml2 builds anything (wire/xml_bounds.hpp): counts
    // scaled from the size as for messages, this module's depth, attribute and value limits.
    wire::XmlLimits limits = wire::message_limits(max_size);
    limits.max_depth = static_cast<std::size_t>(kMaxDepth);
    limits.max_element_attributes = kMaxAttributes;
    limits.max_value_bytes = kMaxAttributeLength;
    auto parsed = wire::parse_xml_document(text, limits, XML_PARSE_NOBLANKS);
    if (!parsed) return xml_error(parsed.error().code, parsed.error().message);
    DocPtr doc(std::move(parsed).value().release());
    if (doc->intSubset || doc->extSubset) return xml_error(-EINVAL, "a DOCTYPE is not allowed in a CIB");
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root) return xml_error(-EBADMSG, "document has no root element");
    if (auto st = check_limits(root); !st) return st.error();
    return Document(std::move(doc));
}

Document create(const char* root_name)
{
    DocPtr doc(xmlNewDoc(BAD_CAST "1.0"));
    xmlNode* root = xmlNewDocNode(doc.get(), nullptr, BAD_CAST root_name, nullptr);
    xmlDocSetRootElement(doc.get(), root);
    return Document(std::move(doc));
}

Document Document::copy() const
{
    if (!doc_) return {};
    return Document(DocPtr(xmlCopyDoc(doc_.get(), 1)));
}

std::string Document::serialize() const
{
    if (!doc_) return {};
    xmlChar* buffer = nullptr;
    int size = 0;
    xmlDocDumpFormatMemory(doc_.get(), &buffer, &size, 1);
    std::string out(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(size));
    xmlFree(buffer);
    return out;
}

const char* attr_c(const xmlNode* node, std::string_view key)
{
    if (!node) return nullptr;
    for (xmlAttr* a = node->properties; a; a = a->next) {
        const char* name = reinterpret_cast<const char*>(a->name);
        if (std::strncmp(name, key.data(), key.size()) == 0 && name[key.size()] == '\0') {
            if (!a->children || !a->children->content) return "";
            return reinterpret_cast<const char*>(a->children->content);
        }
    }
    return nullptr;
}

void set_attr(xmlNode* node, const char* key, std::string_view value)
{
    std::string copy(value);
    xmlSetProp(node, BAD_CAST key, BAD_CAST copy.c_str());
}

void remove_attr(xmlNode* node, const char* key)
{
    if (xmlAttr* a = xmlHasProp(node, BAD_CAST key)) xmlRemoveProp(a);
}

xmlNode* first_element(const xmlNode* parent)
{
    if (!parent) return nullptr;
    for (xmlNode* c = parent->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) return c;
    }
    return nullptr;
}

xmlNode* next_element(const xmlNode* node)
{
    for (xmlNode* c = node ? node->next : nullptr; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) return c;
    }
    return nullptr;
}

xmlNode* first_child(const xmlNode* parent, std::string_view element)
{
    for (xmlNode* c : elements(parent, element))
        return c;
    return nullptr;
}

xmlNode* add_child(xmlNode* parent, const char* element)
{
    return xmlNewChild(parent, nullptr, BAD_CAST element, nullptr);
}

void remove_node(xmlNode* node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

}  // namespace outpost::cluster::policy::xml
