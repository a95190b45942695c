// RecentNames: a small direct-mapped cache in front of a series-name lookup, so that a recording
// loop that cycles through a handful of series finds each one with a cheap hash of the name's
// first and last bytes and one comparison, instead of hashing the whole name into a map and
// comparing it there.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace twinlink::detail {

/// Entries are `T*` or small integer ids, as the owner chooses; the cache never owns what it
/// points to. `name_of(entry)` must give the name an entry was put under, so a slot is trusted
/// only after comparing it with the name looked up.
template <class T, std::size_t kSlots = 64>
class RecentNames {
    static_assert((kSlots & (kSlots - 1)) == 0, "kSlots must be a power of two");

public:
    /// The slot that `name` maps to.
    static std::size_t slot_of(std::string_view name) noexcept {
        const std::size_t n = name.size();
        const char* p = name.data();
        std::uint64_t a = 0, b = 0;
        if (n >= 8) {
            std::memcpy(&a, p, 8);
            std::memcpy(&b, p + n - 8, 8);
        } else if (n >= 4) {
            std::uint32_t lo, hi;
            std::memcpy(&lo, p, 4);
            std::memcpy(&hi, p + n - 4, 4);
            a = lo | (std::uint64_t(hi) << 32);
        } else if (n > 0) {
            a = std::uint64_t(std::uint8_t(p[0])) | std::uint64_t(std::uint8_t(p[n / 2])) << 8 |
                std::uint64_t(std::uint8_t(p[n - 1])) << 16;
        }
        std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xFF51AFD7ED558CCDull;
        return static_cast<std::size_t>(h >> 40) & (kSlots - 1);
    }

    /// The entry cached for `name`, or `empty` when the slot holds another name or nothing.
    template <class NameOf>
    T find(std::string_view name, std::size_t slot, T empty, NameOf name_of) const noexcept {
        const Slot& s = slots_[slot];
        if (!s.used) return empty;
        const std::string_view cached = name_of(s.entry);
        if (cached.size() != name.size() || std::memcmp(cached.data(), name.data(), name.size()) != 0) return empty;
        return s.entry;
    }

    void put(std::size_t slot, T entry) noexcept { slots_[slot] = Slot{entry, true}; }
    void clear() noexcept { slots_.fill(Slot{}); }

private:
    struct Slot {
        T entry{};
        bool used = false;
    };
    std::array<Slot, kSlots> slots_{};
};

}  // namespace twinlink::detail
