// Cost of encoding datapoint batches: ns and bytes per point for JSON, CBOR and compact, for one
// series of 1000 points and for ten series of 100 points, plus decoding. The baseline, measured in
// the same run, builds the same document as an nlohmann DOM and serialises it with dump() /
// to_cbor() (compact has none: its row compares with CBOR's).
//
//   codec_bench [results.json]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "twinlink/batch_codec.hpp"

namespace {

using twinlink::BatchEncoder;
using twinlink::Encoding;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kT0 = 1732460000000;
constexpr const char* kBatchId = "01936f1e-8a4b-7c3d-9e2f-0123456789ab";

struct Point {
    std::string series;
    std::int64_t ts;
    double value;
};

// `series` series of `per_series` points, interleaved as a device records them: every 100 ms one
// point per series. Readings have two decimals (a sensor), or full precision (computed values).
std::vector<Point> make_points(int series, int per_series, bool full_precision) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> noise(-0.5, 0.5);
    std::vector<Point> points;
    for (int i = 0; i < per_series; ++i)
        for (int s = 0; s < series; ++s) {
            double v = 20 + 5 * std::sin(i / 50.0 + s) + noise(rng);
            if (!full_precision) v = std::round(v * 100) / 100;
            points.push_back({series == 1 ? "temp" : "sensor-" + std::to_string(s), kT0 + i * 100 + s, v});
        }
    return points;
}

// Runs `f` until at least `min_time` has passed; returns ns per call.
template <class F>
double time_per_call(F&& f, std::chrono::milliseconds min_time = std::chrono::milliseconds(400)) {
    for (int i = 0; i < 20; ++i) f();  // warm up caches and the encoder's buffers
    long calls = 0;
    const auto start = Clock::now();
    Clock::time_point now;
    do {
        for (int i = 0; i < 50; ++i) f();
        calls += 50;
        now = Clock::now();
    } while (now - start < min_time);
    return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(calls);
}

std::string dom_baseline(Encoding encoding, const std::vector<Point>& points) {
    // What the encoder would cost as "build a DOM, then serialise it": the same document.
    nlohmann::ordered_json doc = {{"v", 1}, {"device", "sensor-42"}, {"batch", kBatchId}, {"seq", 17},
                                  {"t0", kT0}, {"series", nlohmann::ordered_json::object()}};
    auto& series = doc["series"];
    for (const auto& p : points) {
        auto& entry = series[p.series];
        if (entry.is_null()) entry = {{"t", nlohmann::ordered_json::array()}, {"v", nlohmann::ordered_json::array()}};
        entry["t"].push_back(p.ts - kT0);
        entry["v"].push_back(p.value);
    }
    if (encoding == Encoding::Json) return doc.dump();
    std::string out;
    nlohmann::ordered_json::to_cbor(doc, out);
    return out;
}

struct Result {
    std::string encoding, shape, values;
    double encode_ns, bytes, decode_ns, baseline_ns, baseline_bytes;
};

}  // namespace

int main(int argc, char** argv) {
    std::vector<Result> results;
    std::printf("%-7s %-10s %-15s %13s %10s %13s %15s %14s\n", "enc", "shape", "values", "encode ns/pt",
                "bytes/pt", "decode ns/pt", "DOM+dump ns/pt", "DOM bytes/pt");
    for (const bool full_precision : {false, true}) {
        for (const auto& [series, per_series] : {std::pair{1, 1000}, std::pair{10, 100}}) {
            const auto points = make_points(series, per_series, full_precision);
            const double n = static_cast<double>(points.size());
            for (const Encoding encoding : {Encoding::Json, Encoding::Cbor, Encoding::Compact}) {
                BatchEncoder enc(encoding, "sensor-42");
                std::string out;
                const double encode = time_per_call([&] {
                    for (const auto& p : points) enc.add(p.series, p.ts, p.value);
                    out = enc.finish(kBatchId, 17);
                });
                std::size_t decoded = 0;
                const double decode = time_per_call([&] { decoded += twinlink::decode_batch(out).points.size(); });
                std::string baseline_out;
                const double baseline = time_per_call([&] { baseline_out = dom_baseline(encoding, points); });
                Result r{twinlink::encoding_name(encoding),
                         std::to_string(series) + " x " + std::to_string(per_series),
                         full_precision ? "full precision" : "2 decimals",
                         encode / n,
                         static_cast<double>(out.size()) / n,
                         decode / n,
                         baseline / n,
                         static_cast<double>(baseline_out.size()) / n};
                std::printf("%-7s %-10s %-15s %13.1f %10.2f %13.1f %15.1f %14.2f\n", r.encoding.c_str(),
                            r.shape.c_str(), r.values.c_str(), r.encode_ns, r.bytes, r.decode_ns, r.baseline_ns,
                            r.baseline_bytes);
                results.push_back(r);
            }
        }
    }
    if (argc > 1) {
        nlohmann::json report = nlohmann::json::array();
        for (const auto& r : results)
            report.push_back({{"encoding", r.encoding}, {"shape", r.shape}, {"values", r.values},
                              {"encode_ns_per_point", r.encode_ns}, {"bytes_per_point", r.bytes},
                              {"decode_ns_per_point", r.decode_ns}, {"baseline_dom_ns_per_point", r.baseline_ns}});
        std::ofstream(argv[1]) << report.dump(2) << "\n";
    }
    return 0;
}
