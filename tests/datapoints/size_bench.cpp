// Bytes per point on the wire, per series and encoding, for realistic sensor series:
//   temp       1 Hz temperature, a random walk with 2 decimals (steps of N(0, 0.02) °C, rounded)
//   vibration  1 kHz vibration, float32 noise N(0, 0.3) read as doubles (an accelerometer's samples)
//   vib-f64    the same noise at full double precision (a computed value), for comparison
//   counter    1 Hz event counter, int64, growing by 0..20 per second
//   door       1 Hz boolean that changes about once every 500 samples
// Timestamps are regular with jitter: the 1 Hz series N(0, 3 ms) around each second, the 1 kHz one
// N(0, 0.3 ms) rounded to the millisecond. Each series alone goes into batches of 1000 points (the
// envelope of each batch is counted): 20 minutes of the 1 Hz series, 60 s of the 1 kHz ones. Then
// temp, vibration, counter and door together as a device batches them (5000 points or 64 KiB per
// batch, whichever comes first; 60 s of data). Deterministic: no timing.
//
//   size_bench [sizes.json]      (scripts/bench writes build/bench/sizes.json, scripts/plot-bench draws it)
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "twinlink/batch_codec.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using twinlink::BatchEncoder;
using twinlink::DatapointValue;
using twinlink::Encoding;

constexpr std::int64_t kT0 = 1732460000000;

struct Point {
    std::int64_t ts;
    DatapointValue value;
};

struct Series {
    std::string name;
    std::vector<Point> points;
};

std::int64_t jittered(std::mt19937_64& rng, double at_ms, double sigma_ms) {
    return kT0 + std::llround(at_ms + std::normal_distribution<double>(0, sigma_ms)(rng));
}

// `seconds` of the 1 Hz series, the first `fast_seconds` of the 1 kHz ones.
std::vector<Series> make_series(std::size_t seconds, std::size_t fast_seconds) {
    std::mt19937_64 rng(20261130);
    std::vector<Series> out;
    Series temp{"temp", {}}, counter{"counter", {}}, door{"door", {}}, vib{"vibration", {}}, vib64{"vib-f64", {}};
    double t = 21.5;
    std::int64_t count = 0;
    bool open = false;
    for (std::size_t s = 0; s < seconds; ++s) {
        const double at = static_cast<double>(s) * 1000;
        t = std::round((t + std::normal_distribution<double>(0, 0.02)(rng)) * 100) / 100;
        temp.points.push_back({jittered(rng, at, 3), t});
        count += static_cast<std::int64_t>(rng() % 21);
        counter.points.push_back({jittered(rng, at, 3), count});
        if (rng() % 500 == 0) open = !open;
        door.points.push_back({jittered(rng, at, 3), open});
        for (int k = 0; k < 1000 && s < fast_seconds; ++k) {
            const double noise = std::normal_distribution<double>(0, 0.3)(rng);
            const std::int64_t ts = jittered(rng, at + k, 0.3);
            vib.points.push_back({ts, static_cast<double>(static_cast<float>(noise))});
            vib64.points.push_back({ts, noise});
        }
    }
    out.push_back(std::move(temp));
    out.push_back(std::move(vib));
    out.push_back(std::move(vib64));
    out.push_back(std::move(counter));
    out.push_back(std::move(door));
    return out;
}

// Bytes of `points` of one series in batches of `per_batch` points.
std::size_t alone(Encoding encoding, const Series& s, std::size_t per_batch) {
    BatchEncoder enc(encoding, "sensor-42");
    std::size_t bytes = 0;
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < s.points.size(); ++i) {
        enc.add(s.name, s.points[i].ts, s.points[i].value);
        if (enc.points() == per_batch) bytes += enc.finish(twinlink::uuid7(), ++seq).size();
    }
    if (enc.points()) bytes += enc.finish(twinlink::uuid7(), ++seq).size();
    return bytes;
}

struct Together {
    std::size_t bytes = 0, batches = 0, points = 0;
};

// All series, second by second in recording order, closed at 5000 points or when the next point
// could pass 64 KiB (the size estimate plus the point's worst case, as the batcher does).
Together together(Encoding encoding, const std::vector<Series>& all, std::size_t seconds) {
    BatchEncoder enc(encoding, "sensor-42");
    Together r;
    std::uint64_t seq = 0;
    auto close = [&] {
        r.bytes += enc.finish(twinlink::uuid7(), ++seq).size();
        ++r.batches;
    };
    std::vector<std::size_t> next(all.size(), 0);
    for (std::size_t s = 0; s < seconds; ++s) {
        for (std::size_t k = 0; k < all.size(); ++k) {
            if (all[k].name == "vib-f64") continue;  // the device records one vibration series
            const std::size_t per_second = all[k].name == "vibration" ? 1000 : 1;
            for (std::size_t i = 0; i < per_second; ++i) {
                if (enc.points() >= 5000 || enc.size_estimate() + 512 + 50 > 64 * 1024) close();
                const Point& p = all[k].points[next[k]++];
                enc.add(all[k].name, p.ts, p.value);
                ++r.points;
            }
        }
    }
    if (enc.points()) close();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    constexpr std::size_t kTogether = 60;
    const auto all = make_series(1200, kTogether);  // 1200 points of each 1 Hz series, 60000 of vibration
    const Encoding encodings[] = {Encoding::Json, Encoding::Cbor, Encoding::Compact};
    // "series": one row per series and encoding (what scripts/plot-bench draws); "together": the mix.
    nlohmann::json report = {{"series", nlohmann::json::array()}, {"together", nlohmann::json::array()}};

    std::printf("bytes per point, each series alone in batches of 1000 points (envelope included)\n");
    std::printf("%-12s %8s %8s %8s %8s\n", "series", "points", "json", "cbor", "compact");
    for (const auto& s : all) {
        std::printf("%-12s %8zu", s.name.c_str(), s.points.size());
        for (const Encoding e : encodings) {
            const double per_point = static_cast<double>(alone(e, s, 1000)) / static_cast<double>(s.points.size());
            std::printf(" %8.2f", per_point);
            report["series"].push_back({{"series", s.name}, {"encoding", twinlink::encoding_name(e)},
                                        {"points", s.points.size()}, {"bytes_per_point", per_point}});
        }
        std::printf("\n");
    }

    std::printf("\nall series together (temp, vibration, counter, door), %zu s, batches of <= 5000 points / 64 KiB\n",
                kTogether);
    std::printf("%-8s %8s %8s %10s %10s\n", "enc", "points", "batches", "bytes", "bytes/pt");
    for (const Encoding e : encodings) {
        const Together r = together(e, all, kTogether);
        const double per_point = static_cast<double>(r.bytes) / static_cast<double>(r.points);
        std::printf("%-8s %8zu %8zu %10zu %10.2f\n", twinlink::encoding_name(e), r.points, r.batches, r.bytes, per_point);
        report["together"].push_back({{"encoding", twinlink::encoding_name(e)}, {"points", r.points},
                                      {"batches", r.batches}, {"bytes", r.bytes}, {"bytes_per_point", per_point}});
    }
    if (argc > 1) std::ofstream(argv[1]) << report.dump(2) << "\n";
    return 0;
}
