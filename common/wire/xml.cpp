// Element tree <-> XML text. Parsing goes through libxml2 (the reference parser the peers
// use) with network access, entity substitution, DTD loading and "huge" mode off, and a
// document type declaration refused outright: wire messages never carry one, and refusing
// it before its declarations are read rules out entity expansion tricks. Serializing is
// done by hand straight into a std::string: it is on the hot path of every message sent.
#include "wire/xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
// After parser.h: dict.h does not include the xmlChar definition it uses.
#include <libxml/dict.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "util/log.hpp"
#include "wire/frame.hpp"

namespace outpost::wire {

namespace {

const log::Category log_cat{"wire.xml"};

// The largest XML text parse_xml() accepts: a payload never exceeds the frame limit.
constexpr std::size_t kMaxXmlText = kDefaultMaxMessageSize;
// The reused parser context interns every name it sees in its dictionary; a peer sending
// ever new names would grow it without bound, so the context is replaced past this size.
constexpr std::size_t kMaxDictEntries = 20000;

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

struct ParserCtxtFree {
    void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};
using ParserCtxtPtr = std::unique_ptr<xmlParserCtxt, ParserCtxtFree>;

Error xml_error(int code, std::string message)
{
    return make_error("wire", code, std::move(message));
}

// SAX hook: a DOCTYPE stops the parse before any of its declarations is processed.
void refuse_doctype(void* user_data, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                    const xmlChar* /*system_id*/)
{
    auto* ctxt = static_cast<xmlParserCtxt*>(user_data);
    ctxt->_private = reinterpret_cast<void*>(1);  // remembered for the error message
    xmlStopParser(ctxt);
}

std::string qualified_name(const xmlNs* ns, const xmlChar* name)
{
    std::string result;
    if (ns != nullptr && ns->prefix != nullptr) {
        result.append(reinterpret_cast<const char*>(ns->prefix));
        result.push_back(':');
    }
    result.append(reinterpret_cast<const char*>(name));
    return result;
}

std::string attribute_value(const xmlAttr* attr)
{
    const xmlNode* first = attr->children;
    if (first == nullptr) return {};
    // Common case: one text node, no copy through libxml2's allocator.
    if (first->next == nullptr && first->type == XML_TEXT_NODE && first->content != nullptr) {
        return reinterpret_cast<const char*>(first->content);
    }
    xmlChar* joined = xmlNodeListGetString(attr->doc, first, 1);
    std::string value = joined != nullptr ? reinterpret_cast<const char*>(joined) : "";
    xmlFree(joined);
    return value;
}

Result<Element> convert(const xmlNode* node, int depth)
{
    if (depth > kMaxXmlDepth) {
        return xml_error(-EBADMSG, "XML: elements nested deeper than " + std::to_string(kMaxXmlDepth));
    }
    Element element;
    element.name = qualified_name(node->ns, node->name);

    std::size_t count = 0;
    for (const xmlNs* ns = node->nsDef; ns != nullptr; ns = ns->next)
        ++count;
    for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next)
        ++count;
    if (count > kMaxXmlAttributes) {
        return xml_error(-EBADMSG, "XML: element " + log::quote(element.name) + " has " +
                                       std::to_string(count) + " attributes, more than " +
                                       std::to_string(kMaxXmlAttributes));
    }
    element.attributes.reserve(count);
    // Namespace declarations are kept as xmlns attributes so that a tree relayed as-is
    // (IPC proxy payloads) serializes back to a document with the same meaning.
    for (const xmlNs* ns = node->nsDef; ns != nullptr; ns = ns->next) {
        std::string name = "xmlns";
        if (ns->prefix != nullptr) {
            name.push_back(':');
            name.append(reinterpret_cast<const char*>(ns->prefix));
        }
        element.attributes.emplace_back(std::move(name),
                                        ns->href != nullptr ? reinterpret_cast<const char*>(ns->href) : "");
    }
    for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
        element.attributes.emplace_back(qualified_name(attr->ns, attr->name), attribute_value(attr));
    }

    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) continue;  // text, comments, PIs carry nothing here
        auto converted = convert(child, depth + 1);
        if (!converted) return converted.error();
        element.children.push_back(std::move(*converted));
    }
    return element;
}

// Escapes one attribute value. Tab, LF and CR become character references so that they
// survive attribute-value normalization on the other side. Bytes that cannot appear in
// an XML 1.0 document at all (other control characters, invalid UTF-8, U+FFFE/U+FFFF)
// are written as a backslash and three octal digits, as the 2.1.5 serializer does for
// such bytes: the document stays well-formed and the byte stays visible.
void append_escaped(std::string& out, std::string_view value)
{
    const auto* p = reinterpret_cast<const unsigned char*>(value.data());
    const auto* const end = p + value.size();
    const auto* run = p;
    auto flush = [&](const unsigned char* upto) {
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(upto - run));
    };
    auto octal = [&](unsigned char c) {
        const char digits[] = {'\\', static_cast<char>('0' + (c >> 6)),
                               static_cast<char>('0' + ((c >> 3) & 7)), static_cast<char>('0' + (c & 7))};
        out.append(digits, sizeof digits);
    };
    while (p < end) {
        const unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' && c != '"') {
            ++p;
            continue;
        }
        if (c >= 0x80) {
            // Validate one UTF-8 sequence (no overlongs, no surrogates, <= U+10FFFF).
            std::size_t len = 0;
            unsigned min = 0;
            unsigned cp = 0;
            if (c >= 0xC2 && c <= 0xDF) {
                len = 2, cp = c & 0x1F, min = 0x80;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3, cp = c & 0x0F, min = 0x800;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4, cp = c & 0x07, min = 0x10000;
            }
            bool valid = len != 0 && static_cast<std::size_t>(end - p) >= len;
            for (std::size_t i = 1; valid && i < len; ++i) {
                if ((p[i] & 0xC0) != 0x80) {
                    valid = false;
                } else {
                    cp = (cp << 6) | (p[i] & 0x3F);
                }
            }
            valid = valid && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE &&
                    cp != 0xFFFF;
            if (valid) {
                p += len;  // copied verbatim with the rest of the run
            } else {
                flush(p);
                octal(c);
                ++p;
                run = p;
            }
            continue;
        }
        flush(p);
        switch (c) {
            case '&':
                out.append("&amp;");
                break;
            case '<':
                out.append("&lt;");
                break;
            case '>':
                out.append("&gt;");
                break;
            case '"':
                out.append("&quot;");
                break;
            case '\t':
                out.append("&#9;");
                break;
            case '\n':
                out.append("&#10;");
                break;
            case '\r':
                out.append("&#13;");
                break;
            default:
                octal(c);
                break;
        }
        ++p;
        run = p;
    }
    flush(p);
}

void serialize_into(std::string& out, const Element& element)
{
    out.push_back('<');
    out.append(element.name);
    for (const auto& [key, value] : element.attributes) {
        out.push_back(' ');
        out.append(key);
        out.append("=\"");
        append_escaped(out, value);
        out.push_back('"');
    }
    if (element.children.empty()) {
        out.append("/>");
        return;
    }
    out.push_back('>');
    for (const auto& child : element.children)
        serialize_into(out, child);
    out.append("</");
    out.append(element.name);
    out.push_back('>');
}

std::size_t estimate_size(const Element& element)
{
    std::size_t size = 2 * element.name.size() + 5;
    for (const auto& [key, value] : element.attributes)
        size += key.size() + value.size() + 4;
    for (const auto& child : element.children)
        size += estimate_size(child);
    return size;
}

}  // namespace

const std::string* Element::attr(std::string_view key) const
{
    for (const auto& [name, value] : attributes) {
        if (name == key) return &value;
    }
    return nullptr;
}

void Element::set(std::string_view key, std::string value)
{
    for (auto& [name, existing] : attributes) {
        if (name == key) {
            existing = std::move(value);
            return;
        }
    }
    attributes.emplace_back(std::string(key), std::move(value));
}

void Element::remove(std::string_view key)
{
    std::erase_if(attributes, [key](const auto& entry) { return entry.first == key; });
}

const Element* Element::child(std::string_view child_name) const
{
    for (const auto& c : children) {
        if (c.name == child_name) return &c;
    }
    return nullptr;
}

Element* Element::child(std::string_view child_name)
{
    for (auto& c : children) {
        if (c.name == child_name) return &c;
    }
    return nullptr;
}

const Element* Element::find_descendant(std::string_view descendant_name) const
{
    for (const auto& c : children) {
        if (c.name == descendant_name) return &c;
        if (const Element* found = c.find_descendant(descendant_name)) return found;
    }
    return nullptr;
}

Element& Element::add_child(std::string child_name)
{
    Element& added = children.emplace_back();
    added.name = std::move(child_name);
    return added;
}

Result<Element> parse_xml(std::string_view text)
{
    if (text.size() > kMaxXmlText) {
        return xml_error(-EMSGSIZE, "XML: document of " + std::to_string(text.size()) +
                                        " bytes exceeds the limit of " + std::to_string(kMaxXmlText));
    }
    // One parser context per thread: creating one costs more than parsing a small message.
    thread_local ParserCtxtPtr ctxt;
    if (!ctxt ||
        (ctxt->dict != nullptr && static_cast<std::size_t>(xmlDictSize(ctxt->dict)) > kMaxDictEntries)) {
        ctxt.reset(xmlNewParserCtxt());
    }
    if (!ctxt) return xml_error(-ENOMEM, "XML: cannot allocate a libxml2 parser context");
    ctxt->_private = nullptr;
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->sax->externalSubset = refuse_doctype;

    // NONET: never fetch anything; no NOENT, DTDLOAD or HUGE (libxml2's own size and
    // depth limits stay on); NOERROR/NOWARNING: failures are returned, not printed.
    constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    DocPtr doc{xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr, "UTF-8",
                                 kOptions)};
    if (ctxt->_private != nullptr) {
        return xml_error(-EBADMSG, "XML: document type declarations are not accepted in messages");
    }
    if (!doc || ctxt->wellFormed == 0) {
        const xmlError* err = xmlCtxtGetLastError(ctxt.get());
        std::string reason = err != nullptr && err->message != nullptr ? err->message : "not well-formed";
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
            reason.pop_back();
        const int line = err != nullptr ? err->line : 0;
        const int column = err != nullptr ? err->int2 : 0;
        log_debug(log_cat, "XML parse failed at %d:%d: %s", line, column, reason.c_str());
        return xml_error(-EBADMSG, "XML: " + reason + " (line " + std::to_string(line) + ", column " +
                                       std::to_string(column) + ")");
    }
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr) return xml_error(-EBADMSG, "XML: document has no root element");
    return convert(root, 1);
}

std::string serialize(const Element& element)
{
    std::string out;
    out.reserve(estimate_size(element));
    serialize_into(out, element);
    return out;
}

}  // namespace outpost::wire
