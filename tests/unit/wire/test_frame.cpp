// Frame codec: header layout in both byte orders, incremental decoding at every split
// point, bzip2 payloads, and every way a header or payload can be malformed.
#include <bzlib.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "wire/frame.hpp"

using namespace outpost::wire;

namespace {

// The client's first message of docs/transcripts/transcript1.txt, header bytes as captured (LE host).
const std::uint8_t kRegisterHeader[kHeaderSize] = {
    0xbd, 0xdb, 0xda, 0xba, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, 0x00, 0x00, 0x00,
    0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0x00, 0x00, 0x00};

std::string bytes_of(const EncodedFrame& frame)
{
    std::string out(reinterpret_cast<const char*>(frame.header.data()), frame.header.size());
    out += frame.payload;
    return out;
}

std::string header_bytes(const FrameHeader& header)
{
    auto bytes = encode_header(header);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Every field byte-swapped, as a host of the other byte order would write it.
std::string swapped_header_bytes(const FrameHeader& h)
{
    FrameHeader s;
    s.endian = __builtin_bswap32(h.endian);
    s.version = __builtin_bswap32(h.version);
    s.id = __builtin_bswap64(h.id);
    s.flags = __builtin_bswap64(h.flags);
    s.size_total = __builtin_bswap32(h.size_total);
    s.payload_offset = __builtin_bswap32(h.payload_offset);
    s.payload_compressed = __builtin_bswap32(h.payload_compressed);
    s.payload_uncompressed = __builtin_bswap32(h.payload_uncompressed);
    return header_bytes(s);
}

FrameHeader header_for(std::size_t payload_with_nul)
{
    FrameHeader h;
    h.id = 7;
    h.payload_uncompressed = static_cast<std::uint32_t>(payload_with_nul);
    h.size_total = static_cast<std::uint32_t>(kHeaderSize + payload_with_nul);
    return h;
}

std::string bzip2(const std::string& data)
{
    std::string out(data.size() + data.size() / 100 + 600, '\0');
    auto out_len = static_cast<unsigned int>(out.size());
    const int rc = BZ2_bzBuffToBuffCompress(out.data(), &out_len, const_cast<char*>(data.data()),
                                            static_cast<unsigned int>(data.size()), 9, 0, 0);
    REQUIRE(rc == BZ_OK);
    out.resize(out_len);
    return out;
}

// Decodes everything currently available; fails the test on a stream error.
std::vector<std::string> drain(FrameDecoder& decoder)
{
    std::vector<std::string> out;
    for (;;) {
        auto next = decoder.next();
        REQUIRE(next.ok());
        if (!next->has_value()) return out;
        out.push_back(std::move(**next));
    }
}

outpost::Error decode_error(const std::string& stream, std::size_t limit = kDefaultMaxMessageSize)
{
    FrameDecoder decoder(limit);
    decoder.feed(stream.data(), stream.size());
    auto next = decoder.next();
    REQUIRE_FALSE(next.ok());
    CHECK(decoder.failed());
    return next.error();
}

// A poke of 200 elements, bzip2-compressed as a peer with compression sends it, and the
// header of its frame.
struct CompressedPoke {
    std::string xml;
    std::string packed;
    FrameHeader header;
    CompressedPoke()
    {
        xml = "<lrmd_command t=\"lrmd\" lrmd_op=\"lrmd_rsc_poke\">";
        for (int i = 0; i < 200; ++i)
            xml += "<x a=\"" + std::to_string(i) + "\"/>";
        xml += "</lrmd_command>";
        packed = bzip2(xml + '\0');
        header.payload_compressed = static_cast<std::uint32_t>(packed.size());
        header.payload_uncompressed = static_cast<std::uint32_t>(xml.size() + 1);
        header.size_total = static_cast<std::uint32_t>(kHeaderSize + packed.size());
    }
};

}  // namespace

TEST_CASE("header layout matches the captured register header", "[frame]")
{
    auto decoded = decode_header(kRegisterHeader);
    REQUIRE(decoded.ok());
    CHECK(decoded->endian == kEndianMagic);
    CHECK(decoded->version == 1);
    CHECK(decoded->id == 1);
    CHECK(decoded->flags == 0);
    CHECK(decoded->size_total == 195);
    CHECK(decoded->payload_offset == 40);
    CHECK(decoded->payload_compressed == 0);
    CHECK(decoded->payload_uncompressed == 155);

    if constexpr (std::endian::native == std::endian::little) {
        auto again = encode_header(*decoded);
        CHECK(std::memcmp(again.data(), kRegisterHeader, kHeaderSize) == 0);
    }
}

TEST_CASE("header of the other byte order is swapped field by field", "[frame]")
{
    FrameHeader h = header_for(100);
    h.id = 0x0102030405060708ULL;
    h.flags = 0x1122334455667788ULL;
    h.version = 3;
    const std::string swapped = swapped_header_bytes(h);
    auto decoded = decode_header(reinterpret_cast<const std::uint8_t*>(swapped.data()));
    REQUIRE(decoded.ok());
    CHECK(decoded->endian == kEndianMagic);
    CHECK(decoded->version == 3);
    CHECK(decoded->id == h.id);
    CHECK(decoded->flags == h.flags);
    CHECK(decoded->size_total == 140);
    CHECK(decoded->payload_offset == 40);
    CHECK(decoded->payload_uncompressed == 100);

    // And a whole message with a swapped header decodes.
    const std::string xml = "<lrmd_command t=\"lrmd\"/>";
    std::string stream = swapped_header_bytes(header_for(xml.size() + 1)) + xml + '\0';
    FrameDecoder decoder;
    decoder.feed(stream.data(), stream.size());
    CHECK(drain(decoder) == std::vector<std::string>{xml});
}

TEST_CASE("encode_frame writes a NUL-terminated payload and increasing ids", "[frame]")
{
    const std::string xml = "<lrmd_reply lrmd_rc=\"0\"/>";
    EncodedFrame first = encode_frame(xml);
    EncodedFrame second = encode_frame(xml);
    CHECK(first.payload == xml + '\0');
    auto h1 = decode_header(first.header.data());
    auto h2 = decode_header(second.header.data());
    REQUIRE(h1.ok());
    REQUIRE(h2.ok());
    CHECK(h1->id >= 1);
    CHECK(h2->id > h1->id);
    CHECK(h1->size_total == kHeaderSize + xml.size() + 1);
    CHECK(h1->payload_uncompressed == xml.size() + 1);
    CHECK(h1->payload_offset == kHeaderSize);
    CHECK(h1->payload_compressed == 0);
    CHECK(h1->version == kFrameVersion);
}

TEST_CASE("decoder splits a multi-message stream at every split point", "[frame]")
{
    const std::vector<std::string> messages = {
        "<lrmd_command t=\"lrmd\" lrmd_op=\"register\"/>",
        "<a/>",
        std::string(300, 'x'),
        "<lrmd_notify lrmd_op=\"lrmd_rsc_exec\"><attributes a=\"1\"/></lrmd_notify>",
    };
    std::string stream;
    for (const auto& m : messages)
        stream += bytes_of(encode_frame(m));

    SECTION("two pieces, every split point")
    {
        for (std::size_t split = 0; split <= stream.size(); ++split) {
            FrameDecoder decoder;
            decoder.feed(stream.data(), split);
            auto got = drain(decoder);
            decoder.feed(stream.data() + split, stream.size() - split);
            auto rest = drain(decoder);
            got.insert(got.end(), rest.begin(), rest.end());
            INFO("split at " << split);
            CHECK(got == messages);
            CHECK(decoder.buffered() == 0);
        }
    }
    SECTION("three pieces")
    {
        for (std::size_t a = 0; a <= stream.size(); a += 7) {
            for (std::size_t b = a; b <= stream.size(); b += 13) {
                FrameDecoder decoder;
                std::vector<std::string> got;
                for (auto [from, to] : {std::pair{std::size_t{0}, a}, {a, b}, {b, stream.size()}}) {
                    decoder.feed(stream.data() + from, to - from);
                    auto part = drain(decoder);
                    got.insert(got.end(), part.begin(), part.end());
                }
                CHECK(got == messages);
            }
        }
    }
    SECTION("one byte at a time")
    {
        FrameDecoder decoder;
        std::vector<std::string> got;
        for (char c : stream) {
            decoder.feed(&c, 1);
            auto part = drain(decoder);
            got.insert(got.end(), part.begin(), part.end());
        }
        CHECK(got == messages);
    }
}

TEST_CASE("decoder keeps up with a long stream (compaction)", "[frame]")
{
    const std::string xml(1000, 'y');
    const std::string one = bytes_of(encode_frame(xml));
    FrameDecoder decoder;
    std::size_t count = 0;
    for (int i = 0; i < 2000; ++i) {
        // Feed in odd pieces so that a partial message is always left over.
        decoder.feed(one.data(), 500);
        count += drain(decoder).size();
        decoder.feed(one.data() + 500, one.size() - 500);
        count += drain(decoder).size();
    }
    CHECK(count == 2000);
    CHECK(decoder.buffered() == 0);
}

TEST_CASE("payload_offset beyond 40 is honoured", "[frame]")
{
    const std::string xml = "<x/>";
    FrameHeader h;
    h.payload_offset = 48;
    h.payload_uncompressed = static_cast<std::uint32_t>(xml.size() + 1);
    h.size_total = 48 + h.payload_uncompressed;
    std::string stream = header_bytes(h) + std::string(8, '\x55') + xml + '\0';
    FrameDecoder decoder;
    decoder.feed(stream.data(), stream.size());
    CHECK(drain(decoder) == std::vector<std::string>{xml});
}

TEST_CASE("bzip2-compressed payloads are inflated", "[frame]")
{
    const CompressedPoke poke;
    const std::string& xml = poke.xml;
    const std::string& packed = poke.packed;
    const FrameHeader& h = poke.header;
    const std::string stream = header_bytes(h) + packed + bytes_of(encode_frame("<after/>"));

    SECTION("whole")
    {
        FrameDecoder decoder;
        decoder.feed(stream.data(), stream.size());
        CHECK(drain(decoder) == std::vector<std::string>{xml, "<after/>"});
    }
    SECTION("other byte order, byte by byte")
    {
        std::string swapped = swapped_header_bytes(h) + packed;
        FrameDecoder decoder;
        std::vector<std::string> got;
        for (char c : swapped) {
            decoder.feed(&c, 1);
            auto part = drain(decoder);
            got.insert(got.end(), part.begin(), part.end());
        }
        CHECK(got == std::vector<std::string>{xml});
    }
    SECTION("announced size too small")
    {
        FrameHeader bad = h;
        bad.payload_uncompressed -= 10;
        auto err = decode_error(header_bytes(bad) + packed);
        CHECK(err.code == -EBADMSG);
        CHECK_THAT(err.message, Catch::Contains("bzip2"));
    }
    SECTION("announced size too large")
    {
        FrameHeader bad = h;
        bad.payload_uncompressed += 10;
        auto err = decode_error(header_bytes(bad) + packed);
        CHECK(err.code == -EBADMSG);
        CHECK_THAT(err.message, Catch::Contains("inflates to"));
    }
    SECTION("corrupt data")
    {
        std::string broken = packed;
        broken[broken.size() / 2] ^= 0x5A;
        auto err = decode_error(header_bytes(h) + broken);
        CHECK(err.code == -EBADMSG);
    }
    SECTION("inflated data without the trailing NUL")
    {
        const std::string no_nul = bzip2(xml + 'Z');
        FrameHeader nh = h;
        nh.payload_compressed = static_cast<std::uint32_t>(no_nul.size());
        nh.size_total = static_cast<std::uint32_t>(kHeaderSize + no_nul.size());
        auto err = decode_error(header_bytes(nh) + no_nul);
        CHECK_THAT(err.message, Catch::Contains("NUL"));
    }
}

TEST_CASE("next_frame leaves a large compressed payload to inflate_payload", "[frame]")
{
    const CompressedPoke poke;
    const std::string& xml = poke.xml;
    const std::string& packed = poke.packed;
    const FrameHeader& h = poke.header;
    const std::string after = bytes_of(encode_frame("<after/>"));

    auto frames = [&](const std::string& stream, std::size_t inflate_up_to) {
        FrameDecoder decoder;
        decoder.feed(stream.data(), stream.size());
        std::vector<DecodedFrame> out;
        for (;;) {
            auto next = decoder.next_frame(inflate_up_to);
            REQUIRE(next.ok());
            if (!next->has_value()) return out;
            out.push_back(std::move(**next));
        }
    };

    SECTION("under the threshold it is inflated as next() does")
    {
        auto got = frames(header_bytes(h) + packed + after, xml.size() + 1);
        REQUIRE(got.size() == 2);
        CHECK(std::get<std::string>(got[0]) == xml);
    }
    SECTION("its inflated size over the threshold: left as it is, the stream goes on")
    {
        auto got = frames(header_bytes(h) + packed + after, xml.size());
        REQUIRE(got.size() == 2);
        const auto& compressed = std::get<CompressedPayload>(got[0]);
        CHECK(compressed.data == packed);
        CHECK(std::get<std::string>(got[1]) == "<after/>");
        auto text = inflate_payload(compressed);
        REQUIRE(text.ok());
        CHECK(*text == xml);
    }
    SECTION("its compressed size over the threshold, uncompressed frames never")
    {
        auto got = frames(header_bytes(h) + packed + after, packed.size() - 1);
        REQUIRE(got.size() == 2);
        CHECK(std::holds_alternative<CompressedPayload>(got[0]));
        CHECK(std::holds_alternative<std::string>(got[1]));
    }
    SECTION("what is wrong with it: the errors next() gives")
    {
        std::string broken = packed;
        broken[broken.size() / 2] ^= 0x5A;
        FrameHeader large = h;
        large.payload_uncompressed += 10;
        for (const auto& [header, data] : {std::pair{h, broken}, std::pair{large, packed}}) {
            const std::string stream = header_bytes(header) + data;
            auto got = frames(stream, 0);
            REQUIRE(got.size() == 1);
            auto text = inflate_payload(std::get<CompressedPayload>(got[0]));
            REQUIRE_FALSE(text.ok());
            const outpost::Error expected = decode_error(stream);
            CHECK(text.error().code == expected.code);
            CHECK(text.error().message == expected.message);
        }
    }
}

TEST_CASE("malformed streams are refused and the stream stays dead", "[frame]")
{
    const std::string xml = "<x/>";
    const FrameHeader good = header_for(xml.size() + 1);

    SECTION("bad magic")
    {
        FrameHeader h = good;
        h.endian = 0x12345678;
        auto err = decode_error(header_bytes(h) + xml + '\0');
        CHECK(err.domain == "wire");
        CHECK(err.code == -EBADMSG);
        CHECK_THAT(err.message, Catch::Contains("magic") && Catch::Contains("0x12345678"));
    }
    SECTION("size_total over the limit is refused from the header alone")
    {
        FrameHeader h = good;
        h.size_total = 0xFFFFFFF0U;
        FrameDecoder decoder;
        const std::string header = header_bytes(h);  // no payload at all: nothing to buffer
        decoder.feed(header.data(), header.size());
        auto next = decoder.next();
        REQUIRE_FALSE(next.ok());
        CHECK(next.error().code == -EMSGSIZE);
        CHECK_THAT(next.error().message, Catch::Contains("size_total") && Catch::Contains("4294967280"));
        CHECK(decoder.buffered() == kHeaderSize);
    }
    SECTION("payload_uncompressed over the limit (compressed payload)")
    {
        FrameHeader h = good;
        h.payload_compressed = 4;
        h.payload_uncompressed = 2 * 1024 * 1024;
        auto err = decode_error(header_bytes(h) + "BZh9", std::size_t{1024} * 1024);
        CHECK(err.code == -EMSGSIZE);
        CHECK_THAT(err.message, Catch::Contains("payload_uncompressed") && Catch::Contains("2097152"));
    }
    SECTION("configurable limit")
    {
        const std::string big(5000, 'q');
        auto err = decode_error(bytes_of(encode_frame(big)), 4096);
        CHECK(err.code == -EMSGSIZE);
        FrameDecoder roomy(8192);
        const std::string stream = bytes_of(encode_frame(big));
        roomy.feed(stream.data(), stream.size());
        CHECK(drain(roomy) == std::vector<std::string>{big});
    }
    SECTION("size_total smaller than the header")
    {
        FrameHeader h = good;
        h.size_total = 20;
        CHECK_THAT(decode_error(header_bytes(h)).message, Catch::Contains("size_total 20"));
    }
    SECTION("payload_offset below 40")
    {
        FrameHeader h = good;
        h.payload_offset = 39;
        CHECK_THAT(decode_error(header_bytes(h) + xml + '\0').message, Catch::Contains("payload_offset 39"));
    }
    SECTION("payload_offset past size_total")
    {
        FrameHeader h = good;
        h.payload_offset = h.size_total + 1;
        CHECK_THAT(decode_error(header_bytes(h) + xml + '\0').message, Catch::Contains("payload_offset"));
    }
    SECTION("payload runs past size_total")
    {
        FrameHeader h = good;
        h.payload_offset = 42;
        CHECK_THAT(decode_error(header_bytes(h) + xml + '\0').message, Catch::Contains("runs past"));
    }
    SECTION("zero-length payload")
    {
        FrameHeader h = good;
        h.payload_uncompressed = 0;
        CHECK_THAT(decode_error(header_bytes(h) + xml + '\0').message,
                   Catch::Contains("payload_uncompressed 0"));
    }
    SECTION("missing NUL")
    {
        auto err = decode_error(header_bytes(good) + xml + 'X');
        CHECK(err.code == -EBADMSG);
        CHECK_THAT(err.message, Catch::Contains("NUL"));
    }
    SECTION("NUL inside the payload")
    {
        std::string payload = xml + '\0';
        payload[1] = '\0';
        CHECK_THAT(decode_error(header_bytes(good) + payload).message, Catch::Contains("offset 1"));
    }
    SECTION("dead after the first error, even if good bytes follow")
    {
        FrameHeader h = good;
        h.endian = 0;
        FrameDecoder decoder;
        std::string stream = header_bytes(h) + xml + '\0';
        decoder.feed(stream.data(), stream.size());
        auto first = decoder.next();
        REQUIRE_FALSE(first.ok());
        const std::string more = bytes_of(encode_frame("<ok/>"));
        decoder.feed(more.data(), more.size());
        for (int i = 0; i < 3; ++i) {
            auto again = decoder.next();
            REQUIRE_FALSE(again.ok());
            CHECK(again.error().message == first.error().message);
            CHECK(again.error().code == first.error().code);
        }
    }
}

TEST_CASE("truncated message waits for more bytes", "[frame]")
{
    const std::string stream = bytes_of(encode_frame("<lrmd_reply/>"));
    for (std::size_t cut = 0; cut < stream.size(); ++cut) {
        FrameDecoder decoder;
        decoder.feed(stream.data(), cut);
        auto next = decoder.next();
        REQUIRE(next.ok());
        CHECK_FALSE(next->has_value());
        CHECK(decoder.buffered() == cut);
    }
}
