// Local IPC message codec: the header Pacemaker 2.1.5 tools put in front of every libqb
// message (docs/protocol.md 4.2), and the bzip2 compression of payloads that exceed the IPC
// buffer. Pure functions (no libqb, no I/O), so the fuzz target and unit tests exercise
// exactly what the proxy runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "wire/codes.hpp"
#include "wire/frame.hpp"

namespace outpost::ipc {

// Layout (docs/protocol.md 4.2; native byte order): libqb's response header (int32 id @0,
// int32 size @8 = header + payload, int32 error @16, each 8-byte aligned), then uint32
// size_uncompressed @24 (payload bytes including the NUL), uint32 size_compressed @28 (0
// unless compressed), uint32 flags @32, uint8 version @36 = 1. The payload is NUL-terminated
// XML; with flag 0x1 it is the bzip2 stream of those bytes, NUL included
// (docs/conformance.md, "Local IPC"). Tools use the same header for requests, so decoding and
// encoding here serve both directions.
inline constexpr std::size_t kHeaderSize = 40;
inline constexpr std::uint8_t kHeaderVersion = 1;

// PCMK_ipc_buffer's default: messages whose header + payload exceed it are compressed.
inline constexpr std::size_t kDefaultBufferSize = std::size_t{128} * 1024;
// A PCMK_ipc_buffer below this is ignored: smaller buffers cannot carry even a short CIB.
inline constexpr std::size_t kMinBufferSize = std::size_t{16} * 1024;
// Largest uncompressed payload accepted from a tool or sent to one: what one TLS message
// carries (wire::kDefaultMaxMessageSize) less room for the proxy envelope around it, so a
// payload this size can still travel. (Its compressed form must fit PCMK_ipc_buffer.)
inline constexpr std::size_t kProxyEnvelopeRoom = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxPayloadSize = wire::kDefaultMaxMessageSize - kProxyEnvelopeRoom;

struct Header {
    std::int32_t id = 0;
    std::int32_t size = 0;  // header + payload bytes as sent
    std::int32_t error = 0;
    std::uint32_t size_uncompressed = 0;
    std::uint32_t size_compressed = 0;
    std::uint32_t flags = 0;
    std::uint8_t version = kHeaderVersion;
    bool operator==(const Header&) const = default;
};

std::array<std::uint8_t, kHeaderSize> encode_header(const Header& header);
// Parses the first kHeaderSize bytes; checks the version and that the sizes fit `size`.
Result<Header> decode_header(const void* data, std::size_t size);

struct Message {
    Header header;
    std::string xml;  // the payload text up to (not including) its NUL
};

// Decodes one whole message as libqb hands it over (header + payload), decompressing a
// compressed payload. The uncompressed size is bounded by `max_payload` before any
// allocation. Errors (domain "proxy", -EBADMSG / -EMSGSIZE / -EPROTO) say what was wrong.
Result<Message> decode_message(const void* data, std::size_t size, std::size_t max_payload = kMaxPayloadSize);

// Builds one message (header + payload) carrying `xml` (which must not contain NUL) with
// request id `id` and `flags`. If header + payload would exceed `compress_above`, the
// payload is bzip2-compressed and wire::ipc_flag::compressed set; if the result still exceeds
// `max_size` the error is -EMSGSIZE (a tool could not receive it).
Result<std::string> encode_message(std::int32_t id, std::string_view xml, std::uint32_t flags,
                                   std::size_t compress_above = kDefaultBufferSize,
                                   std::size_t max_size = kMaxPayloadSize);

// PCMK_ipc_buffer: a byte count from kMinBufferSize to kMaxPayloadSize. An Error
// names the variable and quotes the value; the daemon logs it as a warning and uses
// kDefaultBufferSize (pacemaker-remoted 2.1.5 also warns and carries on).
Result<std::size_t> parse_buffer_size(std::string_view value);

}  // namespace outpost::ipc
