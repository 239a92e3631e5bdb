// Local IPC message codec: the header Pacemaker 2.1.5 tools put in front of every libqb
// message (protocol.md 4.2), and the bzip2 compression of payloads that exceed the IPC
// buffer.
//
// Layout (native byte order, 40 bytes, observed from the installed 2.1.5 cibadmin): libqb's
// response header (int32 id @0, int32 size @8 = header + payload, int32 error @16, each
// 8-byte aligned), then uint32 size_uncompressed @24 (payload bytes including the NUL),
// uint32 size_compressed @28 (0 unless compressed), uint32 flags @32, uint8 version @36 = 1.
// The payload is NUL-terminated XML; with flag 0x1 it is the bzip2 stream of those bytes
// (NUL included: a 2.1.5 tool aborts on a stream without it). Tools use the same header for
// requests, so decoding and encoding here serve both directions. Pure functions: no libqb,
// no I/O, so the fuzz target and unit tests exercise exactly what the proxy runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "wire/codes.hpp"

namespace outpost::agent::proxy {

inline constexpr std::size_t kIpcHeaderSize = 40;
inline constexpr std::uint8_t kIpcHeaderVersion = 1;

// PCMK_ipc_buffer's default: messages whose header + payload exceed it are compressed.
inline constexpr std::size_t kDefaultIpcBufferSize = std::size_t{128} * 1024;
// A PCMK_ipc_buffer below this is ignored: smaller buffers cannot carry even a short CIB.
inline constexpr std::size_t kMinIpcBufferSize = std::size_t{16} * 1024;
// Largest uncompressed payload accepted from a tool or sent to one. The TLS channel carries
// at most 16 MiB per message (wire::kDefaultMaxMessageSize); the request is wrapped in a
// proxy envelope, so a payload this size can still travel.
inline constexpr std::size_t kMaxIpcPayloadSize = std::size_t{15} * 1024 * 1024;

struct IpcHeader {
    std::int32_t id = 0;
    std::int32_t size = 0;  // header + payload bytes as sent
    std::int32_t error = 0;
    std::uint32_t size_uncompressed = 0;
    std::uint32_t size_compressed = 0;
    std::uint32_t flags = 0;
    std::uint8_t version = kIpcHeaderVersion;
    bool operator==(const IpcHeader&) const = default;
};

std::array<std::uint8_t, kIpcHeaderSize> encode_ipc_header(const IpcHeader& header);
// Parses the first kIpcHeaderSize bytes; checks the version and that the sizes fit `size`.
Result<IpcHeader> decode_ipc_header(const void* data, std::size_t size);

struct IpcMessage {
    IpcHeader header;
    std::string xml;  // the payload text up to (not including) its NUL
};

// Decodes one whole message as libqb hands it over (header + payload), decompressing a
// compressed payload. The uncompressed size is bounded by `max_payload` before any
// allocation. Errors (domain "proxy", -EBADMSG / -EMSGSIZE / -EPROTO) say what was wrong.
Result<IpcMessage> decode_ipc_message(const void* data, std::size_t size,
                                      std::size_t max_payload = kMaxIpcPayloadSize);

// Builds one message (header + payload) carrying `xml` (which must not contain NUL) with
// request id `id` and `flags`. If header + payload would exceed `compress_above`, the
// payload is bzip2-compressed and wire::ipc_flag::compressed set; if the result still exceeds
// `max_size` the error is -EMSGSIZE (a tool could not receive it).
Result<std::string> encode_ipc_message(std::int32_t id, std::string_view xml, std::uint32_t flags,
                                       std::size_t compress_above = kDefaultIpcBufferSize,
                                       std::size_t max_size = kMaxIpcPayloadSize);

// PCMK_ipc_buffer: a byte count from kMinIpcBufferSize to kMaxIpcPayloadSize. An Error
// names the variable and quotes the value; the daemon logs it as a warning and uses
// kDefaultIpcBufferSize (pacemaker-remoted 2.1.5 also warns and carries on).
Result<std::size_t> parse_ipc_buffer_size(std::string_view value);

}  // namespace outpost::agent::proxy
