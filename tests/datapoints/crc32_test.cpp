// CRC-32C: the test vectors of RFC 3720 (B.4), the "123456789" check value, chaining, and agreement
// with a bit-at-a-time reference at every alignment and length.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "datapoints/crc32.hpp"

namespace {

using twinlink::detail::crc32c;

std::uint32_t reference(const unsigned char* p, std::size_t n) {
    std::uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
    return ~crc;
}

TEST(Crc32c, Rfc3720Vectors) {
    std::vector<unsigned char> data(32, 0x00);
    EXPECT_EQ(crc32c(data.data(), data.size()), 0x8A9136AAu);
    data.assign(32, 0xFF);
    EXPECT_EQ(crc32c(data.data(), data.size()), 0x62A8AB43u);
    for (int i = 0; i < 32; ++i) data[i] = static_cast<unsigned char>(i);
    EXPECT_EQ(crc32c(data.data(), data.size()), 0x46DD794Eu);
    for (int i = 0; i < 32; ++i) data[i] = static_cast<unsigned char>(31 - i);
    EXPECT_EQ(crc32c(data.data(), data.size()), 0x113FDB5Cu);

    // An iSCSI SCSI Read (10) command PDU.
    const unsigned char pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(crc32c(pdu, sizeof pdu), 0xD9963A56u);
}

TEST(Crc32c, CheckValueAndEmptyInput) {
    EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
    EXPECT_EQ(crc32c(nullptr, 0), 0u);
    EXPECT_EQ(crc32c(nullptr, 0, 0x12345678u), 0x12345678u);
}

TEST(Crc32c, ChainsAcrossPieces) {
    const std::string text = "The quick brown fox jumps over the lazy dog, twice over: the quick brown fox.";
    const std::uint32_t whole = crc32c(text.data(), text.size());
    for (std::size_t cut = 0; cut <= text.size(); ++cut)
        EXPECT_EQ(crc32c(text.data() + cut, text.size() - cut, crc32c(text.data(), cut)), whole) << cut;
}

TEST(Crc32c, MatchesTheBitwiseReferenceAtEveryAlignment) {
    std::mt19937 rng(7);
    std::vector<unsigned char> buf(1100);
    for (auto& b : buf) b = static_cast<unsigned char>(rng());
    for (std::size_t offset = 0; offset < 8; ++offset)
        for (std::size_t len = 0; len < 80; ++len)
            ASSERT_EQ(crc32c(buf.data() + offset, len), reference(buf.data() + offset, len)) << offset << "+" << len;
    EXPECT_EQ(crc32c(buf.data() + 3, 1097), reference(buf.data() + 3, 1097));
}

}  // namespace
