// fuzz-proxy: the IPC proxy's handling of peer input, both sides (docs/protocol.md 4).
//
// The first byte chooses the side; the rest is the input:
//   even: a local tool's message as libqb hands it over (40-byte 2.1.5 header + payload,
//         maybe bzip2). decode_tool_request() must give a value or an error; an accepted
//         request must translate into a proxy `request` that encodes and decodes again.
//   odd:  a payload from the IPC provider. Whatever decode_message() accepts as a proxy
//         message with an lrmd_ipc_msg is turned into the local IPC message the tool
//         would get, with a small compression threshold so the bzip2 path runs too, and
//         must decode back to the same XML.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "ipc/header.hpp"
#include "proxy/channels.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::agent::proxy;

namespace {

constexpr std::size_t kSmallBuffer = 512;  // forces compression of most provider messages
constexpr std::size_t kFuzzMaxSize = std::size_t{4} * 1024 * 1024;

void tool_side(const std::uint8_t* data, std::size_t size)
{
    auto request = decode_tool_request(data, size);
    if (!request) return;
    auto proxied = make_request("00000000-1111-2222-3333-444444444444", "proxy-cib_rw-1-00000000", "root",
                                request->id, request->flags, request->xml);
    if ((*proxied.ipc_msg_flags & wire::ipc_flag::compressed) != 0) std::abort();
    if ((*proxied.ipc_msg_flags & wire::ipc_flag::proxied) == 0) std::abort();
    auto again = wire::decode_message(wire::encode(proxied));
    if (!again) std::abort();
    auto* message = std::get_if<wire::ProxyMessage>(&*again);
    if (message == nullptr || message->op != "request" || !message->msg) std::abort();
}

void provider_side(const std::uint8_t* data, std::size_t size)
{
    auto decoded = wire::decode_message(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!decoded) return;
    auto* message = std::get_if<wire::ProxyMessage>(&*decoded);
    if (message == nullptr || !message->msg) return;
    const std::string xml = wire::serialize(*message->msg);
    const bool response = message->op == "response";
    auto bytes =
        ipc::encode_message(static_cast<std::int32_t>(message->ipc_msg_id.value_or(0)), xml,
                            response ? 0U : wire::ipc_flag::server_event, kSmallBuffer, kFuzzMaxSize);
    if (!bytes) return;  // too large for a tool: the proxy closes the session
    auto back = ipc::decode_message(bytes->data(), bytes->size());
    if (!back || back->xml != xml) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    if ((data[0] & 1U) == 0) {
        tool_side(data + 1, size - 1);
    } else {
        provider_side(data + 1, size - 1);
    }
    return 0;
}
