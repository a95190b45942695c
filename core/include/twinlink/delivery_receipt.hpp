// twinlink/delivery_receipt.hpp — the receipt a datapoint sink sends a device once batches are
// stored (docs/protocol.md, "Delivery receipts").
//
// A PUBACK only says that the broker took a batch; a receipt says that the sink committed it to
// its database. The sink encodes the stored sequence numbers of one device as inclusive ranges,
// and a device with DeliveryMode::Receipt frees a batch only when a receipt names its seq:
//
//     {"device":"sensor-42","stored":[[1041,1057],[1060,1060]]}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twinlink {

struct DeliveryReceipt {
    std::string device;
    /// Inclusive ranges [first, last] of stored sequence numbers, sorted, not overlapping and not
    /// adjacent (the encoder merges them).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> stored;
};

/// Largest receipt decode_receipt() reads, and most ranges in one.
inline constexpr std::size_t kMaxReceiptBytes = 1024 * 1024;
inline constexpr std::size_t kMaxReceiptRanges = 65536;

/// The receipt of `seqs` (any order, duplicates allowed) for `device`, merged into ranges. Receipts
/// larger than kMaxReceiptRanges ranges are split: the result holds one payload per receipt.
std::vector<std::string> encode_receipts(std::string_view device, std::vector<std::uint64_t> seqs);

/// Reads a receipt. Throws Error(ProtocolError) naming what is wrong: not JSON, not an object, a
/// missing or mistyped member, a range whose first is above its last, too large. The ranges come
/// back sorted and merged (overlapping and adjacent ones joined) in whatever order the payload
/// lists them.
DeliveryReceipt decode_receipt(std::string_view payload);

}  // namespace twinlink
