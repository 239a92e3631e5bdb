// Golden messages: every payload of the recorded 2.1.5 sessions (the fuzz-message seed
// corpus, generated from docs/transcripts/ by tests/fuzz/make-seed-corpus.py) decodes,
// and re-encoding the decoded struct gives back exactly the bytes 2.1.5 sent.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "wire/messages.hpp"

using namespace outpost::wire;

TEST_CASE("every recorded 2.1.5 message decodes and re-encodes byte for byte", "[messages][golden]")
{
    const std::filesystem::path corpus(WIRE_GOLDEN_DIR);
    REQUIRE(std::filesystem::is_directory(corpus));
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
        if (entry.path().extension() != ".xml") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(entry.path().filename().string() << ": " << xml);
        auto decoded = decode_message(xml);
        if (!decoded.ok()) FAIL(decoded.error().describe());
        CHECK(encode(*decoded) == xml);
        ++count;
    }
    CHECK(count >= 60);
}
