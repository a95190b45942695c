// Writes the compact round-trip cases (compact_cases.hpp) for a second decoder: for each case
// NAME.bin, the batch as BatchEncoder writes it in the compact encoding, and NAME.json, what was
// encoded: {"device", "batch", "seq", "points": [[series, timestamp, kind, value], ...]} with kind
// "double" (value: the 16 hex digits of its bits), "int", "bool", "string" or "object", points in
// the order decode_batch() returns them. compact_decoder_test.py reads them.
//
//   compact_cases DIR
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "twinlink/batch_codec.hpp"

#include "compact_cases.hpp"

namespace {

constexpr const char* kBatchId = "01936f1e-8a4b-7c3d-9e2f-0123456789ab";

nlohmann::json describe(const twinlink::Datapoint& p) {
    nlohmann::json kind, value;
    if (const auto* d = std::get_if<double>(&p.value)) {
        std::uint64_t bits;
        std::memcpy(&bits, d, sizeof bits);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016" PRIx64, bits);
        kind = "double";
        value = hex;
    } else if (const auto* i = std::get_if<std::int64_t>(&p.value)) {
        kind = "int";
        value = *i;
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
        kind = "bool";
        value = *b;
    } else if (const auto* s = std::get_if<std::string>(&p.value)) {
        kind = "string";
        value = *s;
    } else {
        kind = "object";
        value = std::get<nlohmann::json>(p.value);
    }
    return nlohmann::json::array({p.name, p.timestamp_ms, kind, value});
}

bool write(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: compact_cases DIR\n";
        return 2;
    }
    const std::string dir = argv[1];
    auto cases = compact_cases::adversarial();
    for (auto& c : compact_cases::random_cases(20261130, 200)) cases.push_back(std::move(c));
    std::uint64_t seq = 0;
    for (const auto& c : cases) {
        twinlink::BatchEncoder encoder(twinlink::Encoding::Compact, "device-\xc3\xa9");
        for (const auto& p : c.points) encoder.add(p.name, p.timestamp_ms, p.value);
        const std::uint64_t s = seq == 3 ? UINT64_MAX : seq * 1000003;
        ++seq;
        const std::string bytes = encoder.finish(kBatchId, s);
        // What was encoded, grouped as a decoder returns it: series in the order of their first
        // point, the points of a series in the order added.
        std::vector<std::string> order;
        std::map<std::string, nlohmann::json> by_series;
        for (const auto& p : c.points) {
            auto [it, fresh] = by_series.try_emplace(p.name, nlohmann::json::array());
            if (fresh) order.push_back(p.name);
            it->second.push_back(describe(p));
        }
        nlohmann::json points = nlohmann::json::array();
        for (const auto& name : order)
            for (auto& p : by_series[name]) points.push_back(std::move(p));
        const nlohmann::json expected{{"device", "device-\xc3\xa9"}, {"batch", kBatchId}, {"seq", s}, {"points", points}};
        if (!write(dir + "/" + c.name + ".bin", bytes) || !write(dir + "/" + c.name + ".json", expected.dump())) {
            std::cerr << "cannot write to " << dir << "\n";
            return 1;
        }
    }
    std::cout << cases.size() << " cases\n";
    return 0;
}
