// fuzz-attrd: arbitrary bytes as the payload of an attrd IPC request (local attrd name or a
// guest's proxied attrd session, controller/attrd.hpp). Parsing must give an operation or an
// error, never crash; for an operation, what the attribute manager then does with its
// fields must hold too: the value expansion (against a number and against the value
// itself), the dampening, and the query reply built from them, which must parse back with
// the name and value it was given.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "controller/attrd.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::controller;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kMaxAttrdRequest) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto op = parse_attrd_op(text);
    if (!op.ok()) return 0;
    std::optional<std::string> value = op->value;
    if (value) {
        (void)expand_attribute_value(*value, std::string("5"));
        value = expand_attribute_value(*value, value);
    }
    if (op->dampening) {
        auto delay = parse_dampening(*op->dampening);
        if (delay && (delay->count() < 0 || *delay > kMaxDampening)) std::abort();
    }
    const std::string reply = attrd_query_reply(op->name, {{op->host, value}});
    auto parsed = parse_document(reply, kMaxAttrdRequest * 4, "query reply");
    if (!parsed.ok()) std::abort();
    const xmlNode* node = child_named(root_of(parsed->get()), "node");
    if (node == nullptr || attr(node, "attr_host") != op->host || attr(node, "attr_value") != value)
        std::abort();
    return 0;
}
