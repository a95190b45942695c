// Fuzz target: any bytes as a delivery receipt, as the device receives it from the sink. Either
// decode_receipt() throws Error(ProtocolError), or the receipt keeps its documented shape (ranges
// sorted, each first <= last, not overlapping, not adjacent) and survives encode_receipts() and a
// second decode unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "twinlink/delivery_receipt.hpp"
#include "twinlink/status.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    twinlink::DeliveryReceipt receipt;
    try {
        receipt = twinlink::decode_receipt(payload);
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::ProtocolError);
        return 0;
    }
    FUZZ_CHECK(receipt.stored.size() <= twinlink::kMaxReceiptRanges);
    for (std::size_t i = 0; i < receipt.stored.size(); ++i) {
        const auto [first, last] = receipt.stored[i];
        FUZZ_CHECK(first <= last);
        // Sorted, and neither overlapping nor adjacent: a gap of at least one seq between ranges.
        if (i > 0) FUZZ_CHECK(receipt.stored[i - 1].second < first && first - receipt.stored[i - 1].second > 1);
    }
    // Re-encoded from its ranges' ends (small receipts only: the encoder takes every seq), it
    // decodes to the same receipt. The device name is any string nlohmann accepted (valid UTF-8).
    std::uint64_t seqs_total = 0;
    for (const auto& [first, last] : receipt.stored) {
        if (last - first > 64) return 0;
        seqs_total += last - first + 1;
    }
    if (seqs_total > 4096) return 0;
    std::vector<std::uint64_t> seqs;
    for (const auto& [first, last] : receipt.stored)
        for (std::uint64_t s = first;; ++s) {
            seqs.push_back(s);
            if (s == last) break;
        }
    const auto encoded = twinlink::encode_receipts(receipt.device, seqs);
    FUZZ_CHECK(encoded.size() <= 1);
    if (encoded.empty()) {
        FUZZ_CHECK(receipt.stored.empty());
        return 0;
    }
    const auto again = twinlink::decode_receipt(encoded.front());
    FUZZ_CHECK(again.device == receipt.device);
    FUZZ_CHECK(again.stored == receipt.stored);
    return 0;
}
