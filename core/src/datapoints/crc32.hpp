// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), the checksum of iSCSI,
// ext4 and SCTP. Guards the records of the durable spool: it catches every burst error up to 32
// bits and is cheap enough (table-driven, eight bytes per step) to run over every payload.
#pragma once

#include <cstddef>
#include <cstdint>

namespace twinlink::detail {

/// CRC-32C of `size` bytes at `data`. `seed` is the CRC of the bytes that came before, so
/// crc32c(b, nb, crc32c(a, na)) equals the CRC of a followed by b; 0 starts a new checksum.
/// `data` may be null when `size` is 0.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t seed = 0) noexcept;

}  // namespace twinlink::detail
