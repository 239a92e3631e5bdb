// Frame codec: 40-byte header + NUL-terminated payload (docs/protocol.md 2.1, 2.2).
#include "wire/frame.hpp"

#include <bzlib.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>

#include "util/bytes.hpp"
#include "util/log.hpp"

namespace outpost::wire {

namespace {

const log::Category log_cat{"wire.frame"};

// Field offsets inside the packed 40-byte header (docs/protocol.md 2.1).
constexpr std::size_t kOffEndian = 0;
constexpr std::size_t kOffVersion = 4;
constexpr std::size_t kOffId = 8;
constexpr std::size_t kOffFlags = 16;
constexpr std::size_t kOffSizeTotal = 24;
constexpr std::size_t kOffPayloadOffset = 28;
constexpr std::size_t kOffCompressed = 32;
constexpr std::size_t kOffUncompressed = 36;

// Consumed bytes are dropped from the front of the buffer only once they are at least
// this many and at least half the buffer, so compaction stays amortized O(1) per byte.
constexpr std::size_t kCompactThreshold = std::size_t{64} * 1024;

Error bad_message(std::string message)
{
    return make_error("wire", -EBADMSG, std::move(message));
}

Error too_big(std::string message)
{
    return make_error("wire", -EMSGSIZE, std::move(message));
}

std::string format(const char* fmt, auto... args)
{
    char text[256];
    (void)std::snprintf(text, sizeof text, fmt, args...);  // truncation is acceptable in a message
    return text;
}

std::atomic<std::uint64_t> next_message_id{1};

// Inflates a bzip2 payload that must come to exactly `expected` bytes. The output grows
// with what the stream really produces, so a small message announcing a large size
// cannot make us allocate that size up front.
Result<std::string> inflate_bzip2(const char* data, std::uint32_t size, std::uint32_t expected)
{
    bz_stream stream{};
    if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK) {
        return make_error("wire", -ENOMEM, "frame payload: cannot initialize bzip2 decompression");
    }
    struct End {
        bz_stream* s;
        ~End() { BZ2_bzDecompressEnd(s); }
    } end{&stream};

    std::string out;
    // One spare byte past `expected` so that a stream longer than announced is detected.
    const std::size_t cap = std::size_t{expected} + 1;
    out.resize(std::min<std::size_t>(cap, std::max<std::size_t>(std::size_t{size} * 4, 4096)));
    stream.next_in = const_cast<char*>(data);  // libbz2 does not write its input
    stream.avail_in = size;
    std::size_t produced = 0;
    for (;;) {
        stream.next_out = out.data() + produced;
        stream.avail_out = static_cast<unsigned int>(out.size() - produced);
        const int rc = BZ2_bzDecompress(&stream);
        produced = out.size() - stream.avail_out;
        if (rc == BZ_STREAM_END) break;
        if (rc != BZ_OK) {
            return bad_message(format("frame payload: bzip2 data (payload_compressed %" PRIu32
                                      ") is corrupt (libbz2 error %d)",
                                      size, rc));
        }
        if (produced == cap) break;  // more than announced; reported below
        if (stream.avail_out == 0) {
            out.resize(std::min(cap, out.size() * 2));
        } else if (stream.avail_in == 0) {
            return bad_message(
                format("frame payload: bzip2 data (payload_compressed %" PRIu32 ") ends early", size));
        }
    }
    if (produced != expected) {
        return bad_message(
            format("frame payload: bzip2 data inflates to %s%zu bytes, not payload_uncompressed %" PRIu32,
                   produced == cap ? "more than " : "", produced == cap ? produced - 1 : produced, expected));
    }
    out.resize(produced);
    return out;
}

}  // namespace

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header)
{
    std::array<std::uint8_t, kHeaderSize> bytes{};
    store_field(bytes.data(), kOffEndian, header.endian);
    store_field(bytes.data(), kOffVersion, header.version);
    store_field(bytes.data(), kOffId, header.id);
    store_field(bytes.data(), kOffFlags, header.flags);
    store_field(bytes.data(), kOffSizeTotal, header.size_total);
    store_field(bytes.data(), kOffPayloadOffset, header.payload_offset);
    store_field(bytes.data(), kOffCompressed, header.payload_compressed);
    store_field(bytes.data(), kOffUncompressed, header.payload_uncompressed);
    return bytes;
}

Result<FrameHeader> decode_header(const std::uint8_t* bytes, std::size_t max_message_size)
{
    FrameHeader h;
    h.endian = load_field<std::uint32_t>(bytes, kOffEndian);
    h.version = load_field<std::uint32_t>(bytes, kOffVersion);
    h.id = load_field<std::uint64_t>(bytes, kOffId);
    h.flags = load_field<std::uint64_t>(bytes, kOffFlags);
    h.size_total = load_field<std::uint32_t>(bytes, kOffSizeTotal);
    h.payload_offset = load_field<std::uint32_t>(bytes, kOffPayloadOffset);
    h.payload_compressed = load_field<std::uint32_t>(bytes, kOffCompressed);
    h.payload_uncompressed = load_field<std::uint32_t>(bytes, kOffUncompressed);

    if (h.endian == __builtin_bswap32(kEndianMagic)) {
        // The sender's byte order differs from ours: every field is swapped (2.2).
        h.endian = kEndianMagic;
        h.version = __builtin_bswap32(h.version);
        h.id = __builtin_bswap64(h.id);
        h.flags = __builtin_bswap64(h.flags);
        h.size_total = __builtin_bswap32(h.size_total);
        h.payload_offset = __builtin_bswap32(h.payload_offset);
        h.payload_compressed = __builtin_bswap32(h.payload_compressed);
        h.payload_uncompressed = __builtin_bswap32(h.payload_uncompressed);
    } else if (h.endian != kEndianMagic) {
        return bad_message(format("frame header: bad magic 0x%08" PRIX32 " (expected 0x%08" PRIX32 ")",
                                  h.endian, kEndianMagic));
    }

    // Sizes first: a peer announcing a huge message is refused before we buffer any of it.
    if (h.size_total > max_message_size) {
        return too_big(format("frame header: size_total %" PRIu32 " exceeds the limit of %zu bytes",
                              h.size_total, max_message_size));
    }
    if (h.payload_uncompressed > max_message_size) {
        return too_big(format("frame header: payload_uncompressed %" PRIu32 " exceeds the limit of %zu bytes",
                              h.payload_uncompressed, max_message_size));
    }
    if (h.size_total < kHeaderSize) {
        return bad_message(format("frame header: size_total %" PRIu32 " is smaller than the %zu-byte header",
                                  h.size_total, kHeaderSize));
    }
    if (h.payload_offset < kHeaderSize || h.payload_offset > h.size_total) {
        return bad_message(format("frame header: payload_offset %" PRIu32
                                  " is outside [%zu, size_total %" PRIu32 "]",
                                  h.payload_offset, kHeaderSize, h.size_total));
    }
    if (h.payload_uncompressed == 0) {
        return bad_message("frame header: payload_uncompressed 0 (the payload must hold at least its NUL)");
    }
    // 64-bit sums: the 32-bit fields cannot overflow them.
    const std::uint64_t stored =
        h.payload_compressed != 0 ? h.payload_compressed : std::uint64_t{h.payload_uncompressed};
    if (std::uint64_t{h.payload_offset} + stored > h.size_total) {
        return bad_message(format("frame header: payload of %" PRIu64 " bytes at payload_offset %" PRIu32
                                  " runs past size_total %" PRIu32 " (%s %" PRIu32 ")",
                                  stored, h.payload_offset, h.size_total,
                                  h.payload_compressed != 0 ? "payload_compressed" : "payload_uncompressed",
                                  h.payload_compressed != 0 ? h.payload_compressed : h.payload_uncompressed));
    }
    return h;
}

EncodedFrame encode_frame(std::string_view xml)
{
    // The payload is a C string on the peer's side; a NUL inside would truncate it there.
    assert(xml.find('\0') == std::string_view::npos);
    assert(xml.size() + 1 + kHeaderSize <= std::numeric_limits<std::uint32_t>::max());

    EncodedFrame frame;
    frame.payload.reserve(xml.size() + 1);
    frame.payload.append(xml);
    frame.payload.push_back('\0');

    FrameHeader header;
    header.id = next_message_id.fetch_add(1, std::memory_order_relaxed);
    header.payload_uncompressed = static_cast<std::uint32_t>(frame.payload.size());
    header.size_total = static_cast<std::uint32_t>(kHeaderSize + frame.payload.size());
    frame.header = encode_header(header);
    return frame;
}

FrameDecoder::FrameDecoder(std::size_t max_message_size) : max_message_size_(max_message_size) {}

void FrameDecoder::feed(const void* data, std::size_t size)
{
    if (error_ || size == 0) return;
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
    } else if (consumed_ >= kCompactThreshold && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(static_cast<const char*>(data), size);
}

namespace {

// The text of a whole payload (`payload_uncompressed` bytes of it once inflated), checked.
Result<std::string> payload_text(const FrameHeader& h, const char* payload)
{
    std::string text;
    if (h.payload_compressed == 0) {
        text.assign(payload, h.payload_uncompressed);
    } else {
        auto inflated = inflate_bzip2(payload, h.payload_compressed, h.payload_uncompressed);
        if (!inflated) return inflated.error();
        text = std::move(*inflated);
    }
    if (text.back() != '\0') {
        return bad_message(format("frame payload: last of payload_uncompressed %" PRIu32
                                  " bytes is 0x%02X, not the terminating NUL",
                                  h.payload_uncompressed, static_cast<unsigned char>(text.back())));
    }
    text.pop_back();
    if (const auto nul = text.find('\0'); nul != std::string::npos) {
        return bad_message(format("frame payload: NUL byte at offset %zu before the end of %zu bytes", nul,
                                  text.size() + 1));
    }
    return text;
}

}  // namespace

Result<std::string> inflate_payload(const CompressedPayload& payload)
{
    if (payload.data.size() != payload.header.payload_compressed || payload.header.payload_compressed == 0) {
        return bad_message(format("frame payload: %zu compressed bytes, not payload_compressed %" PRIu32,
                                  payload.data.size(), payload.header.payload_compressed));
    }
    return payload_text(payload.header, payload.data.data());
}

Result<std::optional<std::string>> FrameDecoder::next()
{
    auto frame = next_frame(std::numeric_limits<std::size_t>::max());
    if (!frame) return frame.error();
    if (!frame->has_value()) return std::optional<std::string>{};
    return std::optional<std::string>{std::get<std::string>(std::move(**frame))};
}

Result<std::optional<DecodedFrame>> FrameDecoder::next_frame(std::size_t inflate_up_to)
{
    if (error_) return *error_;
    const std::size_t available = buffer_.size() - consumed_;
    if (available < kHeaderSize) return std::optional<DecodedFrame>{};

    const auto* start = reinterpret_cast<const std::uint8_t*>(buffer_.data()) + consumed_;
    auto header = decode_header(start, max_message_size_);
    if (!header) {
        error_ = header.error();
        return *error_;
    }
    const FrameHeader& h = *header;
    if (available < h.size_total) return std::optional<DecodedFrame>{};

    const char* payload = reinterpret_cast<const char*>(start) + h.payload_offset;
    if (h.payload_compressed != 0 &&
        (h.payload_compressed > inflate_up_to || h.payload_uncompressed > inflate_up_to)) {
        CompressedPayload compressed{h, std::string(payload, h.payload_compressed)};
        consumed_ += h.size_total;
        log_trace(log_cat, "decoded frame id %" PRIu64 " with %" PRIu32 " compressed payload bytes", h.id,
                  h.payload_compressed);
        return std::optional<DecodedFrame>{std::move(compressed)};
    }
    auto text = payload_text(h, payload);
    if (!text) {
        error_ = text.error();
        return *error_;
    }
    consumed_ += h.size_total;
    log_trace(log_cat, "decoded frame id %" PRIu64 " with %zu payload bytes", h.id, text->size());
    return std::optional<DecodedFrame>{std::move(*text)};
}

std::size_t FrameDecoder::buffered() const
{
    return buffer_.size() - consumed_;
}

bool FrameDecoder::failed() const
{
    return error_.has_value();
}

}  // namespace outpost::wire
