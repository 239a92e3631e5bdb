// fuzz-message: arbitrary bytes as a frame payload. decode_message() must return a value
// or an error, never crash; whatever it accepts must encode to XML that decodes again,
// and that second encoding must be stable (encode(decode(encode(m))) == encode(m)).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/messages.hpp"

using namespace outpost::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view xml(reinterpret_cast<const char*>(data), size);
    auto message = decode_message(xml);
    if (!message.ok()) return 0;

    const std::string first = encode(*message);
    auto again = decode_message(first);
    if (!again.ok()) std::abort();
    if (again->index() != message->index()) std::abort();
    if (encode(*again) != first) std::abort();
    return 0;
}
