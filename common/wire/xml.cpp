// Element tree <-> XML text. Parsing first bounds the document's shape in one linear pass
// (wire/xml_bounds.hpp: counts and sizes, before libxml2 reads a byte), then goes through
// libxml2 (the reference parser the peers use; its SAX2 interface, building Elements
// directly) with network access, entity substitution and DTD loading off, and a document
// type declaration refused outright: wire messages never carry one, and refusing it
// before its declarations are read rules out entity expansion tricks. Serializing is
// done by hand straight into a std::string: it is on the hot path of every message sent.
#include "wire/xml.hpp"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
// After parser.h: dict.h does not include the xmlChar definition it uses.
#include <libxml/dict.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "util/guard.hpp"
#include "util/log.hpp"
#include "wire/frame.hpp"
#include "wire/xml_bounds.hpp"

namespace outpost::wire {

namespace {

const log::Category log_cat{"wire.xml"};

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

// Builds the Element tree straight from libxml2's SAX2 events: the same parser and the
// same checks as xmlReadMemory(), without an xmlDoc to allocate, walk and free (that
// more than halves the cost of parsing a typical message: docs/benchmarks.md, "Wire
// codec"). Limits are enforced as the elements arrive, so an oversized document is stopped
// early.
struct TreeBuilder {
    Element root;
    std::vector<Element*> open;  // the path from the root to the element being filled
    bool have_root = false;
    std::optional<Error> error;
    bool handler_failed = false;  // a handler threw (no memory): the parse was stopped
};

TreeBuilder& builder_of(void* ctx)
{
    return *static_cast<TreeBuilder*>(static_cast<xmlParserCtxt*>(ctx)->_private);
}

void stop(void* ctx, Error error)
{
    TreeBuilder& builder = builder_of(ctx);
    if (!builder.error) builder.error = std::move(error);
    xmlStopParser(static_cast<xmlParserCtxt*>(ctx));
}

std::string qualified_name(const xmlChar* prefix, const xmlChar* local)
{
    std::string result;
    if (prefix != nullptr) {
        result.append(reinterpret_cast<const char*>(prefix));
        result.push_back(':');
    }
    result.append(reinterpret_cast<const char*>(local));
    return result;
}

// Without entity substitution libxml2 hands '&' in attribute values to SAX handlers as
// the character reference "&#38;" (for the tree builder to resolve); nothing else can
// produce an '&' there, since a literal one is not well-formed.
std::string attribute_value(const xmlChar* begin, const xmlChar* end)
{
    std::string value(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin));
    std::size_t at = value.find('&');
    if (at == std::string::npos) return value;
    std::string out;
    out.reserve(value.size());
    std::size_t from = 0;
    for (; at != std::string::npos; at = value.find('&', from)) {
        out.append(value, from, at - from);
        out.push_back('&');
        from = value.compare(at, 5, "&#38;") == 0 ? at + 5 : at + 1;
    }
    out.append(value, from);
    return out;
}

// Runs a SAX handler's body: no exception may cross libxml2's frames, so one that escapes
// (only allocation failures can) stops the parse, which then fails with -ENOMEM.
template <typename F>
void sax_guarded(void* ctx, const char* what, F&& body) noexcept
{
    if (guarded(
            log_cat, what, [&] { return body(), true; }, false))
        return;
    builder_of(ctx).handler_failed = true;
    xmlStopParser(static_cast<xmlParserCtxt*>(ctx));
}

// SAX hook: a DOCTYPE stops the parse before any of its declarations is processed.
void refuse_doctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                    const xmlChar* /*system_id*/) noexcept
{
    sax_guarded(ctx, "the XML doctype handler", [&] {
        stop(ctx, xml_error(-EBADMSG, "XML: document type declarations are not accepted in messages"));
    });
}

void build_element(void* ctx, const xmlChar* local, const xmlChar* prefix, int nb_namespaces,
                   const xmlChar** namespaces, int nb_attributes, const xmlChar** attributes)
{
    TreeBuilder& builder = builder_of(ctx);
    if (builder.error) return;
    const std::string name = qualified_name(prefix, local);
    if (builder.open.size() >= static_cast<std::size_t>(kMaxXmlDepth)) {
        stop(ctx, xml_error(-EBADMSG, "XML: element " + log::quote(name, 60) + " nested deeper than " +
                                          std::to_string(kMaxXmlDepth)));
        return;
    }
    const auto count = static_cast<std::size_t>(nb_namespaces) + static_cast<std::size_t>(nb_attributes);
    if (count > kMaxXmlAttributes) {
        stop(ctx,
             xml_error(-EBADMSG, "XML: element " + log::quote(name, 60) + " has " + std::to_string(count) +
                                     " attributes, more than " + std::to_string(kMaxXmlAttributes)));
        return;
    }
    Element* element = nullptr;
    if (builder.open.empty()) {
        element = &builder.root;
        builder.have_root = true;
    } else {
        element = &builder.open.back()->children.emplace_back();
    }
    element->name = name;
    element->attributes.reserve(count);
    // Namespace declarations are kept as xmlns attributes so that a tree relayed as-is
    // (IPC proxy payloads) serializes back to a document with the same meaning.
    for (int i = 0; i < nb_namespaces; ++i) {
        const xmlChar* ns_prefix = namespaces[static_cast<std::ptrdiff_t>(2) * i];
        const xmlChar* ns_uri = namespaces[static_cast<std::ptrdiff_t>(2) * i + 1];
        element->attributes.emplace_back(
            ns_prefix != nullptr ? "xmlns:" + std::string(reinterpret_cast<const char*>(ns_prefix)) : "xmlns",
            ns_uri != nullptr ? reinterpret_cast<const char*>(ns_uri) : "");
    }
    // Five pointers per attribute: local name, prefix, URI, value begin, value end.
    for (int i = 0; i < nb_attributes; ++i) {
        const xmlChar** attr = attributes + static_cast<std::ptrdiff_t>(5) * i;
        element->attributes.emplace_back(qualified_name(attr[1], attr[0]), attribute_value(attr[3], attr[4]));
    }
    builder.open.push_back(element);
}

void start_element(void* ctx, const xmlChar* local, const xmlChar* prefix, const xmlChar* /*uri*/,
                   int nb_namespaces, const xmlChar** namespaces, int nb_attributes, int /*nb_defaulted*/,
                   const xmlChar** attributes) noexcept
{
    sax_guarded(ctx, "the XML start-element handler", [&] {
        build_element(ctx, local, prefix, nb_namespaces, namespaces, nb_attributes, attributes);
    });
}

// Cannot throw: it only shortens the open path.
void end_element(void* ctx, const xmlChar* /*local*/, const xmlChar* /*prefix*/,
                 const xmlChar* /*uri*/) noexcept
{
    TreeBuilder& builder = builder_of(ctx);
    if (!builder.open.empty()) builder.open.pop_back();
}

// Escapes one attribute value the way the 2.1.5 serializer does (docs/protocol.md 2.4), since
// a peer must see exactly what pacemaker-remoted or liblrmd would have sent: LF becomes
// the two characters backslash+n, CR backslash+r, TAB four spaces (so none of them
// survives a round trip: the receiver gets the text, not the control character), and
// every other control character as well as invalid UTF-8 and U+FFFE/U+FFFF (which XML
// cannot carry at all) a backslash and three octal digits. Valid multi-byte UTF-8 is
// copied as is.
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
                out.append("    ");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
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

Result<Element> parse_xml(std::string_view text, std::size_t max_size)
{
    // Counted before libxml2 starts: it reads a whole start tag before any handler below
    // could refuse it, at a cost that grows with the square of its attributes.
    if (auto shape = scan_xml(text, message_limits(max_size)); !shape) {
        const Error& error = shape.error();
        return xml_error(error.code, "XML: " + error.message);
    }
    // xmlCtxtReadMemory() takes an int.
    if (text.size() > static_cast<std::size_t>(INT_MAX)) {
        return xml_error(-EMSGSIZE, "XML: document of " + std::to_string(text.size()) +
                                        " bytes is more than libxml2 can parse at once");
    }
    // NONET: never fetch anything; no NOENT or DTDLOAD; NOERROR/NOWARNING: failures are
    // returned, not printed. HUGE always: scan_xml() has bounded sizes, counts and depth
    // already, and without it libxml2 2.9.14 refuses some well-formed documents over
    // 10,000,000 bytes ("Huge input lookup": a large cluster's status section through
    // the IPC proxy is one). A DTD (hence entity expansion) is refused outright. No
    // encoding is forced: payloads are UTF-8, which is what libxml2 assumes without a
    // declaration, and forcing it costs a converter switch per document.
    constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE;

    // One parser context per thread: creating one costs more than parsing a small message.
    thread_local ParserCtxtPtr ctxt;
    if (!ctxt ||
        (ctxt->dict != nullptr && static_cast<std::size_t>(xmlDictSize(ctxt->dict)) > kMaxDictEntries)) {
        ctxt.reset(xmlNewParserCtxt());
    }
    if (!ctxt) return xml_error(-ENOMEM, "XML: cannot allocate a libxml2 parser context");

    TreeBuilder builder;
    ctxt->_private = &builder;
    // Only element events matter; no document, text, comment or DTD handling.
    xmlSAXHandler* sax = ctxt->sax;
    sax->startElementNs = start_element;
    sax->endElementNs = end_element;
    sax->internalSubset = refuse_doctype;
    sax->externalSubset = refuse_doctype;
    sax->startDocument = nullptr;
    sax->endDocument = nullptr;
    sax->characters = nullptr;
    sax->ignorableWhitespace = nullptr;
    sax->cdataBlock = nullptr;
    sax->comment = nullptr;
    sax->processingInstruction = nullptr;
    sax->reference = nullptr;

    // With the tree handlers replaced no document is built; own whatever comes back anyway.
    const DocPtr doc{xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr,
                                       nullptr, kOptions)};
    ctxt->_private = nullptr;
    if (builder.handler_failed)
        return xml_error(-ENOMEM, "XML: out of memory while building the element tree");
    if (builder.error) return *builder.error;
    if (ctxt->wellFormed == 0) {
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
    if (!builder.have_root) return xml_error(-EBADMSG, "XML: document has no root element");
    return std::move(builder.root);
}

std::string serialize(const Element& element)
{
    std::string out;
    out.reserve(estimate_size(element));
    serialize_into(out, element);
    return out;
}

void init_xml()
{
    xmlInitParser();
}

}  // namespace outpost::wire
