#include "datapoints/crc32.hpp"

namespace twinlink::detail {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // 0x1EDC6F41, bit-reversed

// Slicing-by-8: table k gives the CRC contribution of a byte followed by k zero bytes, so eight
// lookups consume eight input bytes at once instead of one. The tables (8 KiB) are computed when
// first used rather than stored in the library: zero-initialised memory takes no room in the file,
// and building them takes a few microseconds, once per process.
struct Tables {
    std::uint32_t t[8][256];

    Tables() noexcept {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t crc = i;
            for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
            t[0][i] = crc;
        }
        for (std::size_t k = 1; k < 8; ++k)
            for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
    }
};

const Tables& tables() noexcept {
    static const Tables instance;
    return instance;
}

// Little-endian loads from bytes, so the result does not depend on the host's byte order; compilers
// turn them into single loads on little-endian machines.
inline std::uint32_t load_le32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t seed) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    const auto& k = tables().t;
    std::uint32_t crc = ~seed;
    while (size >= 8) {
        const std::uint32_t lo = crc ^ load_le32(p);
        const std::uint32_t hi = load_le32(p + 4);
        crc = k[7][lo & 0xFF] ^ k[6][(lo >> 8) & 0xFF] ^ k[5][(lo >> 16) & 0xFF] ^ k[4][lo >> 24] ^
              k[3][hi & 0xFF] ^ k[2][(hi >> 8) & 0xFF] ^ k[1][(hi >> 16) & 0xFF] ^ k[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size--) crc = (crc >> 8) ^ k[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

}  // namespace twinlink::detail
