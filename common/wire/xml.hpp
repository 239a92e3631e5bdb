// Element: a small owned XML tree (name, ordered attributes, children), the form in which
// every wire message is built and inspected. parse_xml() bounds the document's shape first
// (wire/xml_bounds.hpp: size, elements, depth, attributes, value sizes), then goes through
// libxml2; serialize() writes one line without an XML declaration.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"
#include "wire/frame.hpp"

namespace outpost::wire {

inline constexpr int kMaxXmlDepth = 64;
inline constexpr std::size_t kMaxXmlAttributes = 4096;  // per element

struct Element {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<Element> children;

    [[nodiscard]] const std::string* attr(std::string_view key) const;
    // Adds or replaces, keeping the original position of an existing attribute.
    void set(std::string_view key, std::string value);
    void remove(std::string_view key);
    // First direct child with this name, or nullptr.
    [[nodiscard]] const Element* child(std::string_view child_name) const;
    Element* child(std::string_view child_name);
    // First element with this name anywhere below (depth-first), or nullptr.
    [[nodiscard]] const Element* find_descendant(std::string_view descendant_name) const;
    Element& add_child(std::string child_name);

    bool operator==(const Element&) const = default;
};

// Parses one document of at most `max_size` bytes (-EMSGSIZE otherwise) within
// message_limits(max_size) (-E2BIG otherwise, refused before libxml2 runs): a payload never
// exceeds its frame, so a receiver passes the message limit it enforces on frames
// (io::ConnectionLimits::max_message_size), and a raised limit is honoured here too.
Result<Element> parse_xml(std::string_view text, std::size_t max_size = kDefaultMaxMessageSize);
// One line, no XML declaration. Attribute values are escaped as the 2.1.5 serializer does
// (docs/protocol.md 2.4: LF and CR as backslash+n/r, TAB as four spaces, other control bytes
// in octal), so those characters do not round-trip: a peer receives what a 2.1.5 peer would
// have sent.
std::string serialize(const Element& element);

// Sets libxml2 up (idempotent). libxml2 2.9 wants this done on the main thread before any
// other thread parses: a daemon that parses off its loop calls it at start-up.
void init_xml();

}  // namespace outpost::wire
