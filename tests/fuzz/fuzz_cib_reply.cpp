// fuzz-cib-reply: arbitrary bytes as the payload of a CIB manager's reply, as
// outpost-simulate -L reads it (controller/cib_client). Reading must give the client id or
// the CIB, or an error, never crash; a CIB it returns is a whole document again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "controller/cib_client.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::controller;

namespace {

// Inputs beyond this gain nothing but time.
constexpr std::size_t kMaxInput = std::size_t{64} * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kMaxInput) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto id = read_register_reply(text);
    if (id.ok() && id->empty()) std::abort();  // an empty client id is refused
    auto cib = read_query_reply(text);
    if (!cib.ok()) return 0;
    auto again = parse_document(*cib, kMaxInput * 2, "fuzzed CIB");
    if (!again.ok() || !is_named(root_of(again->get()), "cib")) std::abort();
    return 0;
}
