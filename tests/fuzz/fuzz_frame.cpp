// fuzz-frame: arbitrary bytes as a TLS-channel byte stream. The stream is decoded three
// ways (all at once, in pseudo-random pieces, one byte at a time) and the three results
// must agree: decoding must not depend on how the bytes were split. Every payload then
// goes through decode_message().
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "wire/frame.hpp"
#include "wire/messages.hpp"

using namespace outpost::wire;

namespace {

// Small enough that a header announcing a large message is refused quickly, large enough
// for every seed.
constexpr std::size_t kFuzzMaxMessage = std::size_t{1024} * 1024;
// Byte-at-a-time decoding is quadratic in the worst case; keep it to modest inputs.
constexpr std::size_t kMaxBytewiseInput = std::size_t{4} * 1024;

struct Outcome {
    std::vector<std::string> payloads;
    std::optional<std::string> error;
    bool operator==(const Outcome&) const = default;
};

void drain(FrameDecoder& decoder, Outcome& outcome)
{
    while (!outcome.error) {
        auto next = decoder.next();
        if (!next.ok()) {
            outcome.error = next.error().message;
            // A dead stream stays dead with the same error.
            auto again = decoder.next();
            if (again.ok() || again.error().message != *outcome.error || !decoder.failed()) std::abort();
            return;
        }
        if (!next->has_value()) return;
        outcome.payloads.push_back(std::move(**next));
    }
}

template <typename NextChunk>
Outcome decode(const std::uint8_t* data, std::size_t size, NextChunk next_chunk)
{
    FrameDecoder decoder(kFuzzMaxMessage);
    Outcome outcome;
    std::size_t pos = 0;
    while (pos < size && !outcome.error) {
        const std::size_t n = std::min(size - pos, next_chunk());
        decoder.feed(data + pos, n);
        pos += n;
        drain(decoder, outcome);
    }
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Outcome whole = decode(data, size, [size] { return size; });

    // Split lengths from a generator seeded by the input, so they change as it mutates.
    std::uint32_t state = 2166136261U;
    for (std::size_t i = 0; i < size && i < 64; ++i)
        state = (state ^ data[i]) * 16777619U;
    const Outcome pieces = decode(data, size, [&state] {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return std::size_t{1} + (state % 97);
    });
    if (!(pieces == whole)) std::abort();
    if (size <= kMaxBytewiseInput) {
        const Outcome bytes = decode(data, size, [] { return std::size_t{1}; });
        if (!(bytes == whole)) std::abort();
    }

    for (const std::string& payload : whole.payloads) {
        auto message = decode_message(payload);
        (void)message;
    }
    return 0;
}
