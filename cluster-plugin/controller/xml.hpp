// libxml2 documents for the CIB: one owner per xmlDoc (XmlDoc), bounded parsing of text
// from outside (files, IPC requests), serialization, and the few tree helpers the CIB code
// needs. The CIB is kept as an xmlDoc rather than wire::Element because XPath queries and
// RelaxNG validation work on libxml2 trees.
//
// Parsing refuses, before building anything: input over the caller's size limit, a
// document type declaration (no entity tricks), network access, and a shape beyond the
// message limits of wire/xml_bounds.hpp (elements, depth, attributes, value sizes; one
// linear scan before libxml2 runs). Whitespace-only text is dropped: the CIB carries no
// meaningful text content.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::controller {

struct XmlDocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses one document of at most `max_size` bytes; `what` names it in errors
// ("CIB file /var/lib/outpost/cib.xml", "request"). Errors: -EMSGSIZE, -EBADMSG, -E2BIG (a
// count or size limit of wire::message_limits(max_size)).
Result<XmlDoc> parse_document(std::string_view text, std::size_t max_size, std::string_view what);

// The document's root element (nullptr for an empty document).
xmlNode* root_of(const xmlDoc* doc);
// A new document whose root is a deep copy of `node`.
XmlDoc copy_to_document(const xmlNode* node);
XmlDoc copy_document(const xmlDoc* doc);
// A new document with an empty root element `name`.
XmlDoc new_document(const char* name);

// One element as text: compact (one line, no declaration) or indented as cibadmin shows it.
std::string serialize(const xmlNode* node, bool formatted = false);
// True when serialize(a) == serialize(b) would be (same names, attributes in the same order,
// text, children), found without building either text: the CIB's writes and change
// notifications compare documents that grow with every node and resource.
[[nodiscard]] bool same_tree(const xmlNode* a, const xmlNode* b);

std::optional<std::string> attr(const xmlNode* node, const char* name);
void set_attr(xmlNode* node, const char* name, const std::string& value);
[[nodiscard]] bool is_named(const xmlNode* node, const char* name);
[[nodiscard]] std::string name_of(const xmlNode* node);

// Element children only (text and comments skipped).
xmlNode* first_element(const xmlNode* parent);
xmlNode* next_element(const xmlNode* node);
std::vector<xmlNode*> element_children(const xmlNode* parent);
// First direct element child named `name`, or nullptr.
xmlNode* child_named(const xmlNode* parent, const char* name);

}  // namespace outpost::cluster::controller
