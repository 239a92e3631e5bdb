// The local IPC header codec (docs/protocol.md 4.2), checked against the byte layout the
// installed 2.1.5 cibadmin was observed to send.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "ipc/header.hpp"

using namespace outpost;

namespace {

std::string big_xml(std::size_t approx)
{
    std::string xml = "<cib><status>";
    int i = 0;
    while (xml.size() < approx)
        xml += "<node_state id=\"" + std::to_string(i++) + "\" uname=\"n\"/>";
    xml += "</status></cib>";
    return xml;
}

template <typename T>
T field(const std::string& bytes, std::size_t offset)
{
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

}  // namespace

TEST_CASE("IPC header bytes match what the 2.1.5 cibadmin sends", "[proxy][ipc]")
{
    // Observed: register from cibadmin, 126 bytes, id 1, flags 0x200, version byte 1.
    const std::string xml =
        R"(<cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/>)";
    auto encoded = ipc::encode_message(1, xml, wire::ipc_flag::client_response);
    REQUIRE(encoded);
    const std::string& bytes = *encoded;
    REQUIRE(bytes.size() == 126);
    CHECK(field<std::int32_t>(bytes, 0) == 1);
    CHECK(field<std::int32_t>(bytes, 8) == 126);
    CHECK(field<std::int32_t>(bytes, 16) == 0);
    CHECK(field<std::uint32_t>(bytes, 24) == 0x56);  // text + NUL
    CHECK(field<std::uint32_t>(bytes, 28) == 0);
    CHECK(field<std::uint32_t>(bytes, 32) == 0x200);
    CHECK(static_cast<unsigned char>(bytes[36]) == 1);
    CHECK(bytes[37] == 0);
    CHECK(bytes.substr(40, xml.size()) == xml);
    CHECK(bytes.back() == '\0');

    auto decoded = ipc::decode_message(bytes.data(), bytes.size());
    REQUIRE(decoded);
    CHECK(decoded->xml == xml);
    CHECK(decoded->header.id == 1);
    CHECK(decoded->header.flags == 0x200);
    CHECK(decoded->header.size == 126);
}

TEST_CASE("IPC header encode/decode round trip", "[proxy][ipc]")
{
    ipc::Header header;
    header.id = -7;
    header.size = 1234;
    header.error = -3;
    header.size_uncompressed = 99;
    header.size_compressed = 5;
    header.flags = 0x10101;
    auto bytes = ipc::encode_header(header);
    std::string buffer(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    buffer.append(200, 'x');
    auto back = ipc::decode_header(buffer.data(), buffer.size());
    REQUIRE(back);
    CHECK(*back == header);
}

TEST_CASE("Payloads above the IPC buffer are bzip2-compressed with the NUL included", "[proxy][ipc]")
{
    const std::string xml = big_xml(std::size_t{200} * 1024);
    auto encoded = ipc::encode_message(3, xml, wire::ipc_flag::server_event);
    REQUIRE(encoded);
    CHECK(encoded->size() < xml.size() / 4);
    CHECK(field<std::uint32_t>(*encoded, 32) == (wire::ipc_flag::server_event | wire::ipc_flag::compressed));
    CHECK(field<std::uint32_t>(*encoded, 24) == xml.size() + 1);
    CHECK(field<std::uint32_t>(*encoded, 28) == encoded->size() - ipc::kHeaderSize);
    CHECK(field<std::int32_t>(*encoded, 8) == static_cast<std::int32_t>(encoded->size()));

    auto decoded = ipc::decode_message(encoded->data(), encoded->size());
    REQUIRE(decoded);
    CHECK(decoded->xml == xml);

    SECTION("the threshold is header + payload against the buffer size")
    {
        const std::string small = big_xml(1000);
        auto at_limit = ipc::encode_message(1, small, 0, ipc::kHeaderSize + small.size() + 1);
        REQUIRE(at_limit);
        CHECK((field<std::uint32_t>(*at_limit, 32) & wire::ipc_flag::compressed) == 0);
        auto above = ipc::encode_message(1, small, 0, ipc::kHeaderSize + small.size());
        REQUIRE(above);
        CHECK((field<std::uint32_t>(*above, 32) & wire::ipc_flag::compressed) != 0);
    }
    SECTION("a message that does not fit even compressed is refused")
    {
        auto too_big = ipc::encode_message(1, xml, 0, ipc::kDefaultBufferSize, 100);
        REQUIRE_FALSE(too_big);
        CHECK(too_big.error().code == -EMSGSIZE);
    }
    SECTION("a caller's compressed flag is not trusted")
    {
        auto plain = ipc::encode_message(1, "<x/>", wire::ipc_flag::compressed);
        REQUIRE(plain);
        CHECK(field<std::uint32_t>(*plain, 32) == 0);
    }
}

TEST_CASE("Malformed IPC messages give errors, not crashes", "[proxy][ipc]")
{
    auto good = ipc::encode_message(5, "<ping/>", 0);
    REQUIRE(good);

    SECTION("shorter than the header")
    {
        auto r = ipc::decode_message(good->data(), 39);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == -EBADMSG);
        CHECK_FALSE(ipc::decode_message(nullptr, 0));
    }
    SECTION("another header version (a 3.0.1 tool)")
    {
        std::string bad = *good;
        bad[36] = 2;
        auto r = ipc::decode_message(bad.data(), bad.size());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == -EPROTO);
    }
    SECTION("announced payload larger than what follows")
    {
        std::string bad = *good;
        std::uint32_t huge = 1000;
        std::memcpy(bad.data() + 24, &huge, 4);
        CHECK_FALSE(ipc::decode_message(bad.data(), bad.size()));
    }
    SECTION("empty payload")
    {
        std::string bad = *good;
        std::uint32_t zero = 0;
        std::memcpy(bad.data() + 24, &zero, 4);
        CHECK_FALSE(ipc::decode_message(bad.data(), bad.size()));
        std::string only_nul = bad;
        std::uint32_t one = 1;
        std::memcpy(only_nul.data() + 24, &one, 4);
        only_nul[40] = '\0';
        CHECK_FALSE(ipc::decode_message(only_nul.data(), only_nul.size()));
    }
    SECTION("compressed flag on bytes that are not bzip2")
    {
        std::string bad = *good;
        std::uint32_t flags = wire::ipc_flag::compressed;
        std::uint32_t csize = static_cast<std::uint32_t>(bad.size() - ipc::kHeaderSize);
        std::memcpy(bad.data() + 32, &flags, 4);
        std::memcpy(bad.data() + 28, &csize, 4);
        auto r = ipc::decode_message(bad.data(), bad.size());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == -EBADMSG);
    }
    SECTION("compressed payload inflating beyond its announced size")
    {
        auto big = ipc::encode_message(1, big_xml(std::size_t{300} * 1024), 0);
        REQUIRE(big);
        std::string bad = *big;
        std::uint32_t smaller = 1000;
        std::memcpy(bad.data() + 24, &smaller, 4);
        CHECK_FALSE(ipc::decode_message(bad.data(), bad.size()));
    }
    SECTION("announced size above the limit is refused before allocating")
    {
        auto big = ipc::encode_message(1, big_xml(std::size_t{300} * 1024), 0);
        REQUIRE(big);
        auto r = ipc::decode_message(big->data(), big->size(), 1024);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == -EMSGSIZE);
    }
    SECTION("a payload without NUL is taken as it is")
    {
        std::string bad = *good;
        bad.back() = '>';
        auto r = ipc::decode_message(bad.data(), bad.size());
        REQUIRE(r);
        CHECK(r->xml == "<ping/>>");
    }
    SECTION("NUL inside XML to encode")
    {
        CHECK_FALSE(ipc::encode_message(1, std::string("<a/>\0<b/>", 9), 0));
    }
}

TEST_CASE("PCMK_ipc_buffer parsing", "[proxy][ipc]")
{
    CHECK(*ipc::parse_buffer_size("262144") == 262144);
    CHECK_FALSE(ipc::parse_buffer_size(""));
    CHECK_FALSE(ipc::parse_buffer_size("abc"));
    CHECK_FALSE(ipc::parse_buffer_size("1000"));
    CHECK_FALSE(ipc::parse_buffer_size("-5"));

    auto bad = ipc::parse_buffer_size("131072k");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message ==
          "PCMK_ipc_buffer: \"131072k\" is not a byte count from 16384 to 33488896; using 131072");
    CHECK(*ipc::parse_buffer_size("16384") == 16384);
    CHECK_FALSE(ipc::parse_buffer_size("+20000"));
    CHECK(*ipc::parse_buffer_size("33488896") == ipc::kMaxPayloadSize);
    CHECK_FALSE(ipc::parse_buffer_size("33488897"));
}
