// Bounded XML: a linear pre-scan that refuses a document whose shape would make libxml2
// slow or large before libxml2 sees a byte of it, and the one tree parse (xmlDoc) built on
// it for the CIB code. libxml2 2.9.14 (Debian 12) reads a whole start tag before any SAX
// handler runs and checks each attribute against every earlier one of its element, so an
// element with 100,000 attributes costs seconds (a tree build: minutes) however early a
// handler would refuse it; it also goes on parsing after most well-formedness errors, so
// a bad prefix does not stop a flood behind it. scan_xml() counts, in one pass that
// respects quotes, comments, CDATA sections and processing instructions: elements, depth,
// attributes per element and in all, the duplicate-check work of wide elements,
// attribute value sizes and namespace declarations, and stops at the first limit passed.
// It refuses what libxml2 would refuse in a way the scan cannot follow (a '<' inside a
// tag or an attribute value, an unterminated construct, a DOCTYPE), so a document it
// passes is parsed by libxml2 as the scan counted it. docs/limits.md has the figures.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "util/result.hpp"
#include "wire/frame.hpp"

namespace outpost::wire {

// An element with more attributes than this is "wide": libxml2's duplicate check on it,
// n * (n - 1) / 2 comparisons, is counted against XmlLimits::max_wide_pairs. Narrower
// elements cost at most this many comparisons per attribute, i.e. linear time.
inline constexpr std::size_t kWideElement = 32;

struct XmlLimits {
    std::size_t max_bytes = kDefaultMaxMessageSize;
    std::size_t max_depth = 64;
    std::size_t max_elements = 0;
    std::size_t max_attributes = 0;          // in the whole document
    std::size_t max_element_attributes = 0;  // on one element
    std::size_t max_wide_pairs = 0;          // sum of n * (n - 1) / 2 over wide elements
    std::size_t max_value_bytes = 0;         // one attribute value, as written
    std::size_t max_namespaces = 0;          // xmlns declarations in the whole document
};

// The limits for messages (the agent's TLS and IPC messages, the cluster side's messages
// from agents and its IPC requests) of at most `max_bytes`: counts scale with the size, so
// a caller that raised its message limit gets proportionally larger documents through.
// At 32 MiB: 349,525 elements, 2,097,152 attributes, 4,096 on one element, depth 64,
// values up to 10,000,000 bytes (libxml2's own limit without XML_PARSE_HUGE), 16
// namespace declarations.
XmlLimits message_limits(std::size_t max_bytes = kDefaultMaxMessageSize);

// What scan_xml() found (all of it when it passed).
struct XmlShape {
    std::size_t elements = 0;
    std::size_t max_depth = 0;
    std::size_t attributes = 0;
    std::size_t max_element_attributes = 0;
    std::size_t wide_pairs = 0;
    std::size_t max_value_bytes = 0;
    std::size_t namespaces = 0;
};

// One pass over `text`. Errors (domain "wire"): -EMSGSIZE for the size, -E2BIG for a count
// or size limit (the message names it, the element and the limit), -EBADMSG for what the
// scan cannot follow; messages carry no prefix, the caller names the document.
Result<XmlShape> scan_xml(std::string_view text, const XmlLimits& limits);

struct XmlDocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

// scan_xml(), then libxml2's tree parse without network access, entity substitution or DTD
// loading; `options` adds libxml2 parser options (XML_PARSE_NOBLANKS for the CIB). Errors
// as scan_xml(), and -EBADMSG "not well-formed XML (line N: libxml2's reason)"; a
// document with no root element is an error too.
Result<XmlDocPtr> parse_xml_document(std::string_view text, const XmlLimits& limits, int options = 0);

}  // namespace outpost::wire
