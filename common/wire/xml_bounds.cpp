#include "wire/xml_bounds.hpp"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "util/log.hpp"

namespace outpost::wire {

namespace {

// libxml2's limit on one text or attribute value without XML_PARSE_HUGE.
constexpr std::size_t kLibxmlMaxValue = 10'000'000;

Error too_big(std::string message)
{
    return make_error("wire", -E2BIG, std::move(message));
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

class Scanner {
public:
    Scanner(std::string_view text, const XmlLimits& limits)
        : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), limits_(limits)
    {
    }

    Result<XmlShape> run()
    {
        // A short loop first, memchr() only for long text: text between tags is short in
        // real documents, and under ASan a memchr() call per element doubles the cost of
        // scanning an element flood.
        for (;;) {
            const char* short_end = end_ - p_ > 32 ? p_ + 32 : end_;
            while (p_ < short_end && *p_ != '<')
                ++p_;
            if (p_ == short_end && p_ < end_) {
                const auto* lt =
                    static_cast<const char*>(std::memchr(p_, '<', static_cast<std::size_t>(end_ - p_)));
                p_ = lt != nullptr ? lt : end_;
            }
            if (p_ >= end_) break;
            ++p_;
            if (auto st = markup(); !st) return st.error();
        }
        return shape_;
    }

private:
    Error malformed(const std::string& what) const
    {
        return make_error("wire", -EBADMSG,
                          "not well-formed XML: " + what + " at byte " + std::to_string(p_ - begin_));
    }

    // Moves past the next `terminator`; false if there is none.
    bool skip_past(std::string_view terminator)
    {
        const std::string_view rest(p_, static_cast<std::size_t>(end_ - p_));
        const std::size_t at = rest.find(terminator);
        if (at == std::string_view::npos) return false;
        p_ += at + terminator.size();
        return true;
    }

    [[nodiscard]] bool starts_with(std::string_view prefix) const
    {
        return static_cast<std::size_t>(end_ - p_) >= prefix.size() &&
               std::memcmp(p_, prefix.data(), prefix.size()) == 0;
    }

    void skip_spaces()
    {
        while (p_ < end_ && is_space(*p_))
            ++p_;
    }

    // A name ends at a space, '=', '/', '>' or a quote; '<' never belongs to one.
    std::string_view name()
    {
        const char* from = p_;
        while (p_ < end_ && !is_space(*p_) && *p_ != '=' && *p_ != '/' && *p_ != '>' && *p_ != '<' &&
               *p_ != '"' && *p_ != '\'')
            ++p_;
        return {from, static_cast<std::size_t>(p_ - from)};
    }

    // After a '<'.
    Status markup()
    {
        if (p_ >= end_) return malformed("the document ends inside a tag");
        if (*p_ == '?') {
            if (!skip_past("?>")) return malformed("unterminated processing instruction");
            return {};
        }
        if (*p_ == '!') {
            if (starts_with("!--")) {
                p_ += 3;
                if (!skip_past("-->")) return malformed("unterminated comment");
                return {};
            }
            if (starts_with("![CDATA[")) {
                p_ += 8;
                if (!skip_past("]]>")) return malformed("unterminated CDATA section");
                return {};
            }
            return make_error("wire", -EBADMSG, "document type declarations are not accepted");
        }
        if (*p_ == '/') {
            ++p_;
            if (name().empty()) return malformed("an end tag without a name");
            skip_spaces();
            if (p_ >= end_ || *p_ != '>') return malformed("an unterminated end tag");
            ++p_;
            if (depth_ > 0) --depth_;
            return {};
        }
        return start_tag();
    }

    Status start_tag()
    {
        const std::string_view element = name();
        if (element.empty()) return malformed("a tag without a name");
        if (++shape_.elements > limits_.max_elements)
            return too_big("more than " + std::to_string(limits_.max_elements) + " elements");
        if (++depth_ > limits_.max_depth)
            return too_big("element " + log::quote(element, 60) + " nested deeper than " +
                           std::to_string(limits_.max_depth));
        shape_.max_depth = std::max(shape_.max_depth, depth_);
        std::size_t count = 0;
        for (;;) {
            const char* before_space = p_;
            skip_spaces();
            if (p_ >= end_) return malformed("the document ends inside a tag");
            if (*p_ == '>') {
                ++p_;
                break;
            }
            if (*p_ == '/') {
                if (p_ + 1 >= end_ || p_[1] != '>') return malformed("'/' inside a tag");
                p_ += 2;
                --depth_;
                break;
            }
            if (p_ == before_space) return malformed("no space before an attribute");
            const std::string_view key = name();
            if (key.empty()) return malformed("unexpected '" + std::string(1, *p_) + "' inside a tag");
            if (++count > limits_.max_element_attributes)
                return too_big("element " + log::quote(element, 60) + " has more than " +
                               std::to_string(limits_.max_element_attributes) + " attributes");
            if (++shape_.attributes > limits_.max_attributes)
                return too_big("more than " + std::to_string(limits_.max_attributes) + " attributes in all");
            if (key == "xmlns" || key.starts_with("xmlns:")) {
                if (++shape_.namespaces > limits_.max_namespaces)
                    return too_big("more than " + std::to_string(limits_.max_namespaces) +
                                   " namespace declarations");
            }
            skip_spaces();
            if (p_ >= end_ || *p_ != '=') return malformed("an attribute without a value");
            ++p_;
            skip_spaces();
            if (p_ >= end_ || (*p_ != '"' && *p_ != '\'')) return malformed("an unquoted attribute value");
            const char quote = *p_++;
            const auto* close =
                static_cast<const char*>(std::memchr(p_, quote, static_cast<std::size_t>(end_ - p_)));
            if (close == nullptr) return malformed("an unterminated attribute value");
            const auto size = static_cast<std::size_t>(close - p_);
            // Never well-formed, and libxml2 might take what follows for markup.
            if (std::memchr(p_, '<', size) != nullptr) return malformed("'<' in an attribute value");
            if (size > limits_.max_value_bytes)
                return too_big("attribute " + log::quote(key, 60) + " of element " + log::quote(element, 60) +
                               " has " + std::to_string(size) + " bytes, more than " +
                               std::to_string(limits_.max_value_bytes));
            shape_.max_value_bytes = std::max(shape_.max_value_bytes, size);
            p_ = close + 1;
        }
        shape_.max_element_attributes = std::max(shape_.max_element_attributes, count);
        if (count > kWideElement) {
            shape_.wide_pairs += count * (count - 1) / 2;
            if (shape_.wide_pairs > limits_.max_wide_pairs)
                return too_big("elements with many attributes (" + log::quote(element, 60) + " has " +
                               std::to_string(count) + ") cost more than the document's budget");
        }
        return {};
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    const XmlLimits& limits_;
    std::size_t depth_ = 0;
    XmlShape shape_;
};

}  // namespace

XmlLimits message_limits(std::size_t max_bytes)
{
    XmlLimits limits;
    limits.max_bytes = max_bytes;
    limits.max_depth = 64;
    // Scaled from the size, so that the worst document within the limits costs about what
    // the largest real one does (docs/limits.md). Real large messages are CIBs (a status
    // section has an element per 170 bytes, an attribute per 27): an element per 96 bytes
    // gives them 1.8 times margin (a document of pure nvpairs, an element per 70 bytes,
    // passes up to 70% of the size limit), an attribute per 16 bytes 1.7 times.
    limits.max_elements = max_bytes / 96;
    limits.max_attributes = max_bytes / 16;
    limits.max_element_attributes = 4096;
    // One element with 4,096 attributes (about 30 ms of libxml2's duplicate check) fits.
    limits.max_wide_pairs = std::size_t{1} << 23;
    // Above the default size the caller parses in libxml2's huge mode, which lifts its own
    // 10,000,000-byte limit on one value.
    limits.max_value_bytes = max_bytes > kDefaultMaxMessageSize ? max_bytes : kLibxmlMaxValue;
    limits.max_namespaces = 16;
    return limits;
}

Result<XmlShape> scan_xml(std::string_view text, const XmlLimits& limits)
{
    if (text.size() > limits.max_bytes) {
        return make_error("wire", -EMSGSIZE,
                          "document of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                              std::to_string(limits.max_bytes));
    }
    return Scanner(text, limits).run();
}

Result<XmlDocPtr> parse_xml_document(std::string_view text, const XmlLimits& limits, int options)
{
    if (text.size() > static_cast<std::size_t>(INT_MAX)) {
        return make_error(
            "wire", -EMSGSIZE,
            "document of " + std::to_string(text.size()) + " bytes is more than libxml2 can parse at once");
    }
    if (auto shape = scan_xml(text, limits); !shape) return shape.error();
    // No network, no entity substitution or DTD loading; failures returned, not printed.
    // HUGE: the scan has bounded the document, and without it libxml2 2.9.14 refuses some
    // well-formed documents over 10,000,000 bytes ("Huge input lookup").
    const int all = options | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE;
    struct CtxtFree {
        void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
    };
    const std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
    if (!ctxt) return make_error("wire", -ENOMEM, "cannot allocate a libxml2 parser context");
    XmlDocPtr doc(
        xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr, nullptr, all));
    if (!doc || ctxt->wellFormed == 0) {
        const xmlError* err = xmlCtxtGetLastError(ctxt.get());
        std::string reason = err != nullptr && err->message != nullptr ? err->message : "not well-formed";
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
            reason.pop_back();
        const int line = err != nullptr ? err->line : 0;
        return make_error("wire", -EBADMSG,
                          "not well-formed XML (line " + std::to_string(line) + ": " + reason + ")");
    }
    if (xmlDocGetRootElement(doc.get()) == nullptr)
        return make_error("wire", -EBADMSG, "document has no root element");
    return doc;
}

}  // namespace outpost::wire
