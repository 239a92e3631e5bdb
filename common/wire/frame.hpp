// Frame codec for the Pacemaker Remote TLS channel (docs/protocol.md 2): a message is a
// 40-byte header followed by a NUL-terminated XML payload. We write the header in native byte
// order and accept both orders; we accept bzip2-compressed payloads and never send them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/result.hpp"

namespace outpost::wire {

inline constexpr std::size_t kHeaderSize = 40;
inline constexpr std::uint32_t kEndianMagic = 0xBADADBBD;
inline constexpr std::uint32_t kFrameVersion = 1;
// Largest message (header + uncompressed payload) a decoder accepts unless told otherwise.
// Pacemaker sets none (docs/protocol.md 2.2). Ours carries the largest real traffic with
// twice its size to spare: 2.1.5 sends a guest's `cibadmin -Q` through the IPC proxy
// uncompressed, 16.6 MB for a cluster of 1,000 guests and 5,000 resources (docs/limits.md).
inline constexpr std::size_t kDefaultMaxMessageSize = std::size_t{32} * 1024 * 1024;

struct FrameHeader {
    std::uint32_t endian = kEndianMagic;
    std::uint32_t version = kFrameVersion;
    std::uint64_t id = 0;
    std::uint64_t flags = 0;
    std::uint32_t size_total = 0;
    std::uint32_t payload_offset = kHeaderSize;
    std::uint32_t payload_compressed = 0;
    std::uint32_t payload_uncompressed = 0;
};

// Serializes a header in native byte order.
std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header);
// Parses a header in either byte order; rejects a bad magic or inconsistent sizes.
Result<FrameHeader> decode_header(const std::uint8_t* bytes,
                                  std::size_t max_message_size = kDefaultMaxMessageSize);

// One outgoing message, ready to be written as two TLS records: header, then payload
// (docs/protocol.md 2.3: never coalesce the two, never coalesce messages).
struct EncodedFrame {
    std::array<std::uint8_t, kHeaderSize> header{};
    std::string payload;  // the XML text plus its terminating NUL byte
};

// Frames `xml` (which must not contain NUL) with the next process-wide message id.
EncodedFrame encode_frame(std::string_view xml);

// A bzip2-compressed payload the decoder left to inflate_payload() (FrameDecoder::next_frame):
// inflating one of many MB is work for a thread other than the loop's.
struct CompressedPayload {
    FrameHeader header;
    std::string data;  // payload_compressed bytes of bzip2
};
// Inflates it and checks the text exactly as FrameDecoder::next() does (same errors).
Result<std::string> inflate_payload(const CompressedPayload& payload);

// What next_frame() yields: the text, or a compressed payload still to inflate.
using DecodedFrame = std::variant<std::string, CompressedPayload>;

// Incremental decoder: feed it bytes split at any point (one byte at a time or many messages
// at once) and take whole payloads out. Every size in a header is checked against the limit
// before any allocation. After an error the stream is dead: every later next() returns the
// same error, and the connection must be dropped.
class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_message_size = kDefaultMaxMessageSize);

    void feed(const void* data, std::size_t size);
    // Next complete payload (XML text without the trailing NUL), nullopt if more bytes are
    // needed, or an Error (domain "wire") naming what was wrong with the stream.
    Result<std::optional<std::string>> next();
    // The same, but a compressed payload whose compressed or announced size exceeds
    // `inflate_up_to` comes out as it is, for inflate_payload(); an error in it is then
    // found there, and the stream goes on.
    Result<std::optional<DecodedFrame>> next_frame(std::size_t inflate_up_to);

    [[nodiscard]] std::size_t buffered() const;
    [[nodiscard]] bool failed() const;

private:
    std::size_t max_message_size_;
    std::string buffer_;
    std::size_t consumed_ = 0;
    std::optional<Error> error_;
};

}  // namespace outpost::wire
