#include "twinlink/delivery_receipt.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "twinlink/status.hpp"

namespace twinlink {

namespace {

[[noreturn]] void malformed(const std::string& why) {
    throw Error(Status::ProtocolError, "malformed delivery receipt: " + why);
}

std::uint64_t seq_at(const nlohmann::json& range, std::size_t i) {
    const auto& v = range[i];
    if (!v.is_number_unsigned()) malformed("a sequence number is not an unsigned integer");
    return v.get<std::uint64_t>();
}

}  // namespace

std::vector<std::string> encode_receipts(std::string_view device, std::vector<std::uint64_t> seqs) {
    std::sort(seqs.begin(), seqs.end());
    std::vector<std::string> out;
    nlohmann::json ranges = nlohmann::json::array();
    const auto emit = [&] {
        out.push_back(nlohmann::json{{"device", device}, {"stored", std::move(ranges)}}.dump());
        ranges = nlohmann::json::array();
    };
    for (std::size_t i = 0; i < seqs.size();) {
        const std::uint64_t first = seqs[i];
        std::uint64_t last = first;
        while (++i < seqs.size() && (seqs[i] == last || seqs[i] == last + 1)) last = seqs[i];
        ranges.push_back({first, last});
        if (ranges.size() == kMaxReceiptRanges) emit();
    }
    if (!ranges.empty()) emit();
    return out;
}

DeliveryReceipt decode_receipt(std::string_view payload) {
    if (payload.size() > kMaxReceiptBytes)
        malformed(std::to_string(payload.size()) + " bytes, more than " + std::to_string(kMaxReceiptBytes));
    const auto doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded()) malformed("not JSON");
    if (!doc.is_object()) malformed("not a JSON object");
    const auto device = doc.find("device");
    if (device == doc.end() || !device->is_string()) malformed("no \"device\" string");
    const auto stored = doc.find("stored");
    if (stored == doc.end() || !stored->is_array()) malformed("no \"stored\" array");
    if (stored->size() > kMaxReceiptRanges)
        malformed(std::to_string(stored->size()) + " ranges, more than " + std::to_string(kMaxReceiptRanges));
    DeliveryReceipt r;
    r.device = device->get<std::string>();
    r.stored.reserve(stored->size());
    for (const auto& range : *stored) {
        if (!range.is_array() || range.size() != 2) malformed("a range is not a [first, last] pair");
        const std::uint64_t first = seq_at(range, 0), last = seq_at(range, 1);
        if (first > last) malformed("a range's first sequence number is above its last");
        r.stored.emplace_back(first, last);
    }
    // Sorted and merged, as DeliveryReceipt promises, whatever order and overlaps the sender wrote.
    std::sort(r.stored.begin(), r.stored.end());
    std::size_t kept = 0;
    for (std::size_t i = 0; i < r.stored.size(); ++i) {
        auto& back = r.stored[kept == 0 ? 0 : kept - 1];
        if (kept > 0 && (r.stored[i].first <= back.second || r.stored[i].first - back.second == 1)) {
            back.second = std::max(back.second, r.stored[i].second);
        } else {
            r.stored[kept++] = r.stored[i];
        }
    }
    r.stored.resize(kept);
    return r;
}

}  // namespace twinlink
