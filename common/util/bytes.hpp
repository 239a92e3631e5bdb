// Fixed-size fields at byte offsets of a packed header, in host byte order (the wire frame
// header and the IPC header are both written that way): memcpy, so the offset need not
// be aligned for T.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace outpost {

template <typename T>
requires std::is_trivially_copyable_v<T> T load_field(const std::uint8_t* bytes, std::size_t offset)
{
    T value;
    std::memcpy(&value, bytes + offset, sizeof value);
    return value;
}

template <typename T>
requires std::is_trivially_copyable_v<T>
void store_field(std::uint8_t* bytes, std::size_t offset, T value)
{
    std::memcpy(bytes + offset, &value, sizeof value);
}

}  // namespace outpost
