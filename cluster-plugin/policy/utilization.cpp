#include "policy/utilization.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace outpost::cluster::policy {

namespace {

// Pacemaker's string hash for its tables (pcmk__str_hash: h * 31 + each signed char, from 0).
std::uint32_t str_hash(std::string_view s)
{
    std::uint32_t h = 0;
    for (char ch : s)
        h = (h << 5) - h +
            static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(ch)));
    return h;
}

// GLib's table sizes 2^shift and the prime each hash is reduced by first.
constexpr std::uint32_t kPrimeMod[] = {
    1,        2,        3,        7,         13,        31,        61,         127,
    251,      509,      1021,     2039,      4093,      8191,      16381,      32749,
    65521,    131071,   262139,   524287,    1048573,   2097143,   4194301,    8388593,
    16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647};
constexpr int kMinShift = 3;

// GLib's first slot for a hash: times 11 in 32-bit arithmetic, modulo the table's prime.
std::uint32_t slot_of(std::uint32_t hash, std::uint32_t mod)
{
    return static_cast<std::uint32_t>(hash * 11U) % mod;
}

int closest_shift(std::size_t n)
{
    int i = 0;
    for (; n; ++i)
        n >>= 1;
    return i;
}

}  // namespace

void Utilization::set_shift(int shift)
{
    const std::size_t size = std::size_t{1} << shift;
    mod_ = kPrimeMod[shift];
    mask_ = static_cast<std::uint32_t>(size - 1);
    hashes_.resize(size, 0);
    keys_.resize(size);
    values_.resize(size);
}

std::size_t Utilization::lookup(std::string_view key, std::uint32_t hash) const
{
    std::uint32_t index = slot_of(hash, mod_);
    std::uint32_t step = 0;
    while (hashes_[index] != 0) {
        if (hashes_[index] == hash && keys_[index] == key) return index;
        ++step;
        index = (index + step) & mask_;
    }
    return index;
}

const std::string* Utilization::find(std::string_view key) const
{
    if (hashes_.empty()) return nullptr;
    std::uint32_t hash = str_hash(key);
    if (hash < 2) hash = 2;
    const std::size_t i = lookup(key, hash);
    return hashes_[i] != 0 ? &values_[i] : nullptr;
}

void Utilization::set(std::string_view key, std::string value)
{
    if (hashes_.empty()) set_shift(kMinShift);  // GLib's new table: 8 slots
    std::uint32_t hash = str_hash(key);
    if (hash < 2) hash = 2;
    const std::size_t i = lookup(key, hash);
    if (hashes_[i] != 0) {
        keys_[i] = std::string(key);  // g_hash_table_replace keeps the new key
        values_[i] = std::move(value);
        return;
    }
    hashes_[i] = hash;
    keys_[i] = std::string(key);
    values_[i] = std::move(value);
    ++nnodes_;
    ++noccupied_;
    maybe_resize();
}

void Utilization::set_default(std::string_view key, std::string value)
{
    if (!find(key)) set(key, std::move(value));
}

void Utilization::maybe_resize()
{
    const std::size_t size = hashes_.size();
    if ((size > nnodes_ * 4 && size > (std::size_t{1} << kMinShift)) || size <= noccupied_ + noccupied_ / 16)
        resize();
}

// g_hash_table_resize: the new size from the entry count, then every entry moved to its new
// slot in place (evicting the one there, which moves on in turn), in slot order.
void Utilization::resize()
{
    const std::size_t old_size = hashes_.size();
    int shift = closest_shift(static_cast<std::size_t>(static_cast<double>(nnodes_) * 1.333));
    if (shift < kMinShift) shift = kMinShift;
    std::vector<std::uint32_t> hashes = std::move(hashes_);
    std::vector<std::string> keys = std::move(keys_);
    std::vector<std::string> values = std::move(values_);
    hashes_.clear();
    keys_.clear();
    values_.clear();
    set_shift(shift);
    const std::size_t size = hashes_.size();
    // The old arrays extended (or kept) to the new size, as GLib reallocates them.
    hashes.resize(std::max(size, old_size), 0);
    keys.resize(hashes.size());
    values.resize(hashes.size());
    std::vector<char> moved(hashes.size(), 0);
    for (std::size_t i = 0; i < old_size; ++i) {
        std::uint32_t node_hash = hashes[i];
        if (node_hash < 2) {
            hashes[i] = 0;
            continue;
        }
        if (moved[i]) continue;
        hashes[i] = 0;
        std::string key = std::move(keys[i]);
        std::string value = std::move(values[i]);
        for (;;) {
            std::uint32_t index = slot_of(node_hash, mod_);
            std::uint32_t step = 0;
            while (moved[index]) {
                ++step;
                index = (index + step) & mask_;
            }
            moved[index] = 1;
            const std::uint32_t replaced = hashes[index];
            hashes[index] = node_hash;
            if (replaced < 2) {
                keys[index] = std::move(key);
                values[index] = std::move(value);
                break;
            }
            node_hash = replaced;
            std::swap(key, keys[index]);
            std::swap(value, values[index]);
        }
    }
    hashes.resize(size);
    keys.resize(size);
    values.resize(size);
    hashes_ = std::move(hashes);
    keys_ = std::move(keys);
    values_ = std::move(values);
    noccupied_ = nnodes_;
}

std::vector<std::pair<std::string, std::string>> Utilization::entries() const
{
    std::vector<std::pair<std::string, std::string>> out;
    for_each([&](const std::string& k, const std::string& v) { out.emplace_back(k, v); });
    return out;
}

int utilization_value(const std::string* text)
{
    if (!text) return 0;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text->c_str(), &end, 10);
    if (end == text->c_str()) return 0;
    if (v > INT_MAX) return INT_MAX;
    if (v < INT_MIN) return INT_MIN;
    return static_cast<int>(v);
}

void consume_capacity(Utilization& capacity, const Utilization& used)
{
    used.for_each([&](const std::string& key, const std::string& value) {
        const std::string* current = capacity.find(key);
        int result = 0;
        if (current) result = utilization_value(current) - utilization_value(&value);
        capacity.set(key, std::to_string(result));
    });
}

void release_capacity(Utilization& capacity, const Utilization& used)
{
    used.for_each([&](const std::string& key, const std::string& value) {
        const int result = utilization_value(capacity.find(key)) + utilization_value(&value);
        capacity.set(key, std::to_string(result));
    });
}

bool enough_capacity(const Utilization& capacity, const Utilization& needed)
{
    bool enough = true;
    needed.for_each([&](const std::string& key, const std::string& value) {
        if (utilization_value(&value) > utilization_value(capacity.find(key))) enough = false;
    });
    return enough;
}

int compare_capacities(const Utilization& a, const Utilization& b)
{
    int result = 0;
    a.for_each([&](const std::string& key, const std::string& value) {
        const int av = utilization_value(&value);
        const int bv = utilization_value(b.find(key));
        if (av > bv) --result;
        if (av < bv) ++result;
    });
    b.for_each([&](const std::string& key, const std::string& value) {
        if (a.find(key)) return;
        const int bv = utilization_value(&value);
        if (0 > bv) --result;
        if (0 < bv) ++result;
    });
    return result;
}

PlacementStrategy parse_placement_strategy(std::string_view text)
{
    auto is = [&](std::string_view want) {
        if (text.size() != want.size()) return false;
        for (std::size_t i = 0; i < text.size(); ++i) {
            char ch = text[i];
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            if (ch != want[i]) return false;
        }
        return true;
    };
    if (is("utilization")) return PlacementStrategy::utilization;
    if (is("minimal")) return PlacementStrategy::minimal;
    if (is("balanced")) return PlacementStrategy::balanced;
    return PlacementStrategy::default_;
}

}  // namespace outpost::cluster::policy
