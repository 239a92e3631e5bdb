// The CIB as libxml2 holds it, with one owner per document and bounded parsing.
//
// The engine reads the CIB in place (attribute values are views into libxml2's nodes, no
// copy of the tree) and the simulator edits a copy of it. parse() refuses what a hostile or
// broken document could use against us before libxml2 builds anything (one linear scan,
// wire/xml_bounds.hpp): a size over the limit, a DOCTYPE (entity expansion, external
// references), nesting deeper than kMaxDepth, an element with more than kMaxAttributes
// attributes, an attribute value longer than kMaxAttributeLength, more elements and
// attributes than wire::message_limits() allows for the size.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::cluster::policy::xml {

inline constexpr std::size_t kMaxDocumentSize = std::size_t{1} << 30;  // 1 GiB
inline constexpr int kMaxDepth = 200;
inline constexpr std::size_t kMaxAttributes = 4096;
inline constexpr std::size_t kMaxAttributeLength = std::size_t{1} << 20;

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

class Document {
public:
    Document() = default;
    explicit Document(DocPtr doc) : doc_(std::move(doc)) {}

    [[nodiscard]] xmlNode* root() const { return doc_ ? xmlDocGetRootElement(doc_.get()) : nullptr; }
    [[nodiscard]] xmlDoc* get() const { return doc_.get(); }
    [[nodiscard]] explicit operator bool() const { return doc_ != nullptr; }
    [[nodiscard]] Document copy() const;
    // The whole document, indented, with an XML declaration.
    [[nodiscard]] std::string serialize() const;

private:
    DocPtr doc_;
};

Result<Document> parse(std::string_view text, std::size_t max_size = kMaxDocumentSize);
// A new document with a root element of this name.
Document create(const char* root_name);

// Element helpers. Attribute values are views into the tree: valid while the node lives
// and is not modified.
inline std::string_view name(const xmlNode* node)
{
    return node ? std::string_view(reinterpret_cast<const char*>(node->name)) : std::string_view();
}
inline bool is(const xmlNode* node, std::string_view element)
{
    return name(node) == element;
}
// nullptr when absent.
const char* attr_c(const xmlNode* node, std::string_view key);
inline std::string_view attr(const xmlNode* node, std::string_view key)
{
    const char* value = attr_c(node, key);
    return value ? std::string_view(value) : std::string_view();
}
inline bool has_attr(const xmlNode* node, std::string_view key)
{
    return attr_c(node, key) != nullptr;
}
void set_attr(xmlNode* node, const char* key, std::string_view value);
void remove_attr(xmlNode* node, const char* key);

xmlNode* first_element(const xmlNode* parent);
xmlNode* next_element(const xmlNode* node);
xmlNode* first_child(const xmlNode* parent, std::string_view element);
xmlNode* add_child(xmlNode* parent, const char* element);
void remove_node(xmlNode* node);  // unlinks and frees

// for (xmlNode* child : elements(node)) ...; elements(node, "op") only those named so.
class ElementRange {
public:
    class iterator {
    public:
        iterator(xmlNode* node, std::string_view filter) : node_(node), filter_(filter) { skip(); }
        xmlNode* operator*() const { return node_; }
        iterator& operator++()
        {
            node_ = node_->next;
            skip();
            return *this;
        }
        bool operator!=(const iterator& other) const { return node_ != other.node_; }

    private:
        void skip()
        {
            while (node_ && (node_->type != XML_ELEMENT_NODE || (!filter_.empty() && name(node_) != filter_)))
                node_ = node_->next;
        }
        xmlNode* node_;
        std::string_view filter_;
    };
    ElementRange(const xmlNode* parent, std::string_view filter)
        : first_(parent ? parent->children : nullptr), filter_(filter)
    {
    }
    [[nodiscard]] iterator begin() const { return {first_, filter_}; }
    [[nodiscard]] iterator end() const { return {nullptr, filter_}; }

private:
    xmlNode* first_;
    std::string_view filter_;
};
inline ElementRange elements(const xmlNode* parent, std::string_view filter = {})
{
    return {parent, filter};
}

}  // namespace outpost::cluster::policy::xml
