#include "ipc/header.hpp"

#include <bzlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "util/bytes.hpp"
#include "util/log.hpp"

namespace outpost::ipc {

namespace {

constexpr const char* kDomain = "ipc";

// Field offsets of the 2.1.5 header (see the header file).
constexpr std::size_t kOffId = 0;
constexpr std::size_t kOffSize = 8;
constexpr std::size_t kOffError = 16;
constexpr std::size_t kOffUncompressed = 24;
constexpr std::size_t kOffCompressed = 28;
constexpr std::size_t kOffFlags = 32;
constexpr std::size_t kOffVersion = 36;

// bzip2 settings: small blocks keep the memory a tool needs to inflate low (Pacemaker uses
// the same trade-off); the output bound is the one bzip2's manual gives for any input.
constexpr int kBzBlockSize100k = 4;
constexpr int kBzWorkFactor = 20;
std::size_t bz_bound(std::size_t n)
{
    return n + n / 100 + 600;
}

}  // namespace

std::array<std::uint8_t, kHeaderSize> encode_header(const Header& header)
{
    std::array<std::uint8_t, kHeaderSize> out{};
    store_field(out.data(), kOffId, header.id);
    store_field(out.data(), kOffSize, header.size);
    store_field(out.data(), kOffError, header.error);
    store_field(out.data(), kOffUncompressed, header.size_uncompressed);
    store_field(out.data(), kOffCompressed, header.size_compressed);
    store_field(out.data(), kOffFlags, header.flags);
    out[kOffVersion] = header.version;
    return out;
}

Result<Header> decode_header(const void* data, std::size_t size)
{
    if (data == nullptr || size < kHeaderSize) {
        return make_error(kDomain, -EBADMSG,
                          "IPC message of " + std::to_string(size) + " bytes is shorter than its " +
                              std::to_string(kHeaderSize) + "-byte header");
    }
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    Header header;
    header.id = load_field<std::int32_t>(bytes, kOffId);
    header.size = load_field<std::int32_t>(bytes, kOffSize);
    header.error = load_field<std::int32_t>(bytes, kOffError);
    header.size_uncompressed = load_field<std::uint32_t>(bytes, kOffUncompressed);
    header.size_compressed = load_field<std::uint32_t>(bytes, kOffCompressed);
    header.flags = load_field<std::uint32_t>(bytes, kOffFlags);
    header.version = bytes[kOffVersion];
    if (header.version != kHeaderVersion) {
        // 2.1.5 filters these too: a tool of another Pacemaker version speaks another layout.
        return make_error(kDomain, -EPROTO,
                          "IPC message has header version " + std::to_string(header.version) + " (expected " +
                              std::to_string(kHeaderVersion) + "; tool from another Pacemaker version?)");
    }
    const std::size_t payload_room = size - kHeaderSize;
    const std::size_t carried =
        (header.flags & wire::ipc_flag::compressed) != 0 ? header.size_compressed : header.size_uncompressed;
    if (carried > payload_room) {
        return make_error(kDomain, -EBADMSG,
                          "IPC header announces " + std::to_string(carried) + " payload bytes but only " +
                              std::to_string(payload_room) + " follow");
    }
    return header;
}

Result<Message> decode_message(const void* data, std::size_t size, std::size_t max_payload)
{
    auto header = decode_header(data, size);
    if (!header) return header.error();
    const char* payload = static_cast<const char*>(data) + kHeaderSize;
    Message message;
    message.header = *header;

    if (header->size_uncompressed == 0)
        return make_error(kDomain, -EBADMSG, "IPC message has an empty payload");
    if (header->size_uncompressed > max_payload) {
        return make_error(kDomain, -EMSGSIZE,
                          "IPC payload of " + std::to_string(header->size_uncompressed) +
                              " bytes exceeds the limit of " + std::to_string(max_payload));
    }

    if ((header->flags & wire::ipc_flag::compressed) != 0) {
        if (header->size_compressed == 0)
            return make_error(kDomain, -EBADMSG, "compressed IPC payload is empty");
        std::string inflated(header->size_uncompressed, '\0');
        auto out_len = static_cast<unsigned int>(inflated.size());
        int rc = BZ2_bzBuffToBuffDecompress(inflated.data(), &out_len, const_cast<char*>(payload),
                                            header->size_compressed, 0, 0);
        if (rc != BZ_OK) {
            return make_error(kDomain, -EBADMSG,
                              "cannot inflate bzip2 IPC payload (bzip2 error " + std::to_string(rc) +
                                  (rc == BZ_OUTBUFF_FULL ? ", larger than the announced size)" : ")"));
        }
        inflated.resize(out_len);
        message.xml = std::move(inflated);
    } else {
        message.xml.assign(payload, header->size_uncompressed);
    }
    // The text ends at the first NUL (normally the last byte).
    if (auto nul = message.xml.find('\0'); nul != std::string::npos) message.xml.resize(nul);
    if (message.xml.empty()) return make_error(kDomain, -EBADMSG, "IPC payload holds no text");
    return message;
}

Result<std::string> encode_message(std::int32_t id, std::string_view xml, std::uint32_t flags,
                                   std::size_t compress_above, std::size_t max_size)
{
    if (xml.find('\0') != std::string_view::npos)
        return make_error(kDomain, -EINVAL, "IPC payload contains a NUL byte");
    const std::size_t text_size = xml.size() + 1;  // the NUL travels and is counted
    static_assert(kMaxPayloadSize <= std::numeric_limits<std::uint32_t>::max(), "sizes travel as uint32");
    if (text_size > kMaxPayloadSize) {
        return make_error(kDomain, -EMSGSIZE,
                          "IPC payload of " + std::to_string(text_size) + " bytes exceeds the limit of " +
                              std::to_string(kMaxPayloadSize));
    }

    Header header;
    header.id = id;
    header.flags = flags & ~wire::ipc_flag::compressed;
    header.size_uncompressed = static_cast<std::uint32_t>(text_size);

    std::string out;
    if (kHeaderSize + text_size <= compress_above) {
        out.resize(kHeaderSize + text_size);
        std::memcpy(out.data() + kHeaderSize, xml.data(), xml.size());
        out.back() = '\0';
    } else {
        std::string text(xml);  // bzip2 wants a mutable source that includes the NUL
        text.push_back('\0');
        out.resize(kHeaderSize + bz_bound(text_size));
        auto compressed_len = static_cast<unsigned int>(out.size() - kHeaderSize);
        int rc = BZ2_bzBuffToBuffCompress(out.data() + kHeaderSize, &compressed_len, text.data(),
                                          static_cast<unsigned int>(text.size()), kBzBlockSize100k, 0,
                                          kBzWorkFactor);
        if (rc != BZ_OK)
            return make_error(kDomain, -ENOMEM,
                              "cannot compress IPC payload (bzip2 error " + std::to_string(rc) + ")");
        out.resize(kHeaderSize + compressed_len);
        header.flags |= wire::ipc_flag::compressed;
        header.size_compressed = compressed_len;
    }
    if (out.size() > max_size) {
        return make_error(kDomain, -EMSGSIZE,
                          "IPC message of " + std::to_string(out.size()) + " bytes (payload " +
                              std::to_string(text_size) + " bytes) does not fit the client's buffer of " +
                              std::to_string(max_size) + " bytes");
    }
    header.size = static_cast<std::int32_t>(out.size());
    auto encoded = encode_header(header);
    std::memcpy(out.data(), encoded.data(), encoded.size());
    return out;
}

Result<std::size_t> parse_buffer_size(std::string_view value)
{
    const std::string text(value);
    char* end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
    const bool number = !text.empty() && text.front() >= '0' && text.front() <= '9' && errno == 0 &&
                        end != nullptr && *end == '\0';
    if (!number || parsed < kMinBufferSize || parsed > kMaxPayloadSize) {
        return make_error(kDomain, -EINVAL,
                          "PCMK_ipc_buffer: " + log::quote(text) + " is not a byte count from " +
                              std::to_string(kMinBufferSize) + " to " + std::to_string(kMaxPayloadSize) +
                              "; using " + std::to_string(kDefaultBufferSize));
    }
    return static_cast<std::size_t>(parsed);
}

}  // namespace outpost::ipc
