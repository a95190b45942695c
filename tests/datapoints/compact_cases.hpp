// Batches for the compact encoding's round-trip tests: adversarial ones (edges of doubles, int64 and
// timestamps, empty strings, many series, one point, 5000 points, mixed types in one series) and
// random ones (random types, random bit patterns, random timestamps). Used by the C++ round trips
// (compact_codec_test.cpp) and by compact_cases.cpp, which writes them for the pure-Python decoder.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "twinlink/datapoint.hpp"

namespace compact_cases {

using twinlink::Datapoint;
using twinlink::DatapointValue;

struct Case {
    std::string name;
    std::vector<Datapoint> points;  // in the order they are added
};

inline constexpr std::int64_t kT = 1732460000000;

inline double from_bits(std::uint64_t b) {
    double v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

// A realistic sensor series (the same four as the size benchmark): regular timestamps with jitter.
inline std::vector<Datapoint> temperature(std::mt19937_64& rng, std::size_t n) {
    std::normal_distribution<double> step(0.0, 0.05);
    std::uniform_int_distribution<int> jitter(-3, 3);
    std::vector<Datapoint> out;
    double t = 21.5;
    for (std::size_t i = 0; i < n; ++i) {
        t += step(rng);
        out.push_back({"temp", kT + static_cast<std::int64_t>(i) * 1000 + jitter(rng), std::round(t * 100) / 100});
    }
    return out;
}

inline std::vector<Datapoint> vibration(std::mt19937_64& rng, std::size_t n) {
    std::normal_distribution<double> noise(0.0, 0.3);
    std::vector<Datapoint> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({"vib", kT + static_cast<std::int64_t>(i), noise(rng)});
    return out;
}

inline std::vector<Case> adversarial() {
    std::vector<Case> cases;
    const double dmax = std::numeric_limits<double>::max();
    const double dmin = std::numeric_limits<double>::min();
    const double denorm = std::numeric_limits<double>::denorm_min();
    const std::int64_t imin = std::numeric_limits<std::int64_t>::min();
    const std::int64_t imax = std::numeric_limits<std::int64_t>::max();
    cases.push_back({"one_point", {{"x", kT, 1.5}}});
    cases.push_back({"doubles_edges",
                     {{"d", kT, -0.0}, {"d", kT + 1, 0.0}, {"d", kT + 2, denorm}, {"d", kT + 3, -denorm},
                      {"d", kT + 4, dmin}, {"d", kT + 5, dmax}, {"d", kT + 6, -dmax}, {"d", kT + 7, 0.1 + 0.2},
                      {"d", kT + 8, 1e300}, {"d", kT + 9, 123456789.123456789}, {"d", kT + 10, -0.0}}});
    cases.push_back({"minus_zero_only", {{"z", kT, -0.0}, {"z", kT, -0.0}}});
    cases.push_back({"decimals_15", {{"d", kT, 0.123456789012345}, {"d", kT + 1, 0.000000000000001}}});
    cases.push_back({"big_integral_doubles", {{"d", kT, 9007199254740992.0}, {"d", kT, -9007199254740992.0},
                                              {"d", kT, 9007199254740994.0}, {"d", kT, 1e22}}});
    cases.push_back({"int64_edges", {{"i", kT, imin}, {"i", kT, imax}, {"i", kT, std::int64_t{0}},
                                     {"i", kT, imin}, {"i", kT, std::int64_t{-1}}, {"i", kT, imax}}});
    cases.push_back({"timestamp_edges", {{"t", imax, std::int64_t{1}}, {"t", imin, std::int64_t{2}},
                                         {"t", 0, std::int64_t{3}}, {"t", -1, std::int64_t{4}},
                                         {"t", imax, std::int64_t{5}}, {"u", imin, true}}});
    cases.push_back({"unsorted_timestamps", {{"a", kT + 50, 1.0}, {"a", kT - 7000, 2.0}, {"a", kT + 3, 3.0},
                                             {"b", kT - 1, false}, {"a", kT + 3, 4.0}}});
    cases.push_back({"strings", {{"s", kT, std::string()}, {"s", kT + 1, std::string("h\xc3\xa9llo \xe2\x82\xac")},
                                 {"s", kT + 2, std::string("a\nb\"c\\")}, {"s", kT + 3, std::string()}}});
    cases.push_back({"objects", {{"o", kT, nlohmann::json::object()},
                                 {"o", kT + 1, nlohmann::json::parse(R"({"a":[1,2.5,"x",null,true],"b":{"c":-0.0}})")},
                                 {"o", kT + 2, nlohmann::json{{"k", "v"}}}}});
    cases.push_back({"mixed_series", {{"m", kT, 1.25}, {"m", kT + 1, std::int64_t{7}}, {"m", kT + 2, true},
                                      {"m", kT + 3, std::string("s")}, {"m", kT + 4, nlohmann::json{{"a", 1}}},
                                      {"m", kT + 5, 2.5}, {"m", kT + 6, false}, {"m", kT + 7, std::int64_t{-7}}}});
    {
        Case c{"constant_and_regular", {}};
        for (int i = 0; i < 1000; ++i) {
            c.points.push_back({"c", kT + i * 1000, 20.0});
            c.points.push_back({"n", kT + i * 1000, std::int64_t{1000} + i});
            c.points.push_back({"b", kT + i * 1000, i >= 500});
        }
        cases.push_back(std::move(c));
    }
    {
        Case c{"alternating_bools", {}};
        for (int i = 0; i < 300; ++i) c.points.push_back({"b", kT + i, i % 2 == 0});
        cases.push_back(std::move(c));
    }
    {
        Case c{"many_series", {}};
        for (int i = 0; i < 400; ++i)
            c.points.push_back({"series-" + std::to_string(i), kT + i, static_cast<double>(i) / 8});
        cases.push_back(std::move(c));
    }
    {
        std::mt19937_64 rng(7);
        Case c{"realistic_5000", {}};
        for (auto& p : temperature(rng, 5000)) c.points.push_back(std::move(p));
        cases.push_back(std::move(c));
        Case v{"vibration_5000", vibration(rng, 5000)};
        cases.push_back(std::move(v));
    }
    {
        Case c{"long_name", {{std::string(128, 'n'), kT, std::int64_t{1}}, {"\xe6\xb8\xa9\xe5\xba\xa6", kT, 2.0}}};
        cases.push_back(std::move(c));
    }
    return cases;
}

// A random finite double: random bits (retried while not finite), a value with a few decimals, or
// a small integer.
inline double random_double(std::mt19937_64& rng) {
    switch (rng() % 4) {
        case 0:
            for (;;) {
                const double v = from_bits(rng());
                if (std::isfinite(v)) return v;
            }
        case 1: return static_cast<double>(static_cast<std::int64_t>(rng() % 2000001) - 1000000) / 100;
        case 2: return static_cast<double>(static_cast<std::int64_t>(rng() % 200) - 100);
        default: return static_cast<double>(rng() % 1000000) / 1000000 * 40 - 20;
    }
}

inline std::int64_t random_int(std::mt19937_64& rng) {
    switch (rng() % 3) {
        case 0: return static_cast<std::int64_t>(rng());
        case 1: return static_cast<std::int64_t>(rng() % 1000) - 500;
        default: return static_cast<std::int64_t>(rng() % 100000);
    }
}

inline std::int64_t random_time(std::mt19937_64& rng, std::int64_t base, std::size_t i) {
    switch (rng() % 8) {
        case 0: return static_cast<std::int64_t>(rng());
        case 1: return base - static_cast<std::int64_t>(rng() % 100000);
        default: return base + static_cast<std::int64_t>(i) * 100 + static_cast<std::int64_t>(rng() % 5);
    }
}

inline std::string random_string(std::mt19937_64& rng) {
    static const char* pieces[] = {"", "a", "\xc3\xa9", "\xe2\x82\xac", " ", "\"", "\\", "\n", "xyz", "\xf0\x9f\x98\x80"};
    std::string s;
    const std::size_t n = rng() % 6;
    for (std::size_t i = 0; i < n; ++i) s += pieces[rng() % 10];
    return s;
}

inline std::vector<Case> random_cases(std::uint64_t seed, std::size_t count) {
    std::mt19937_64 rng(seed);
    std::vector<Case> cases;
    for (std::size_t c = 0; c < count; ++c) {
        Case k{"random_" + std::to_string(c), {}};
        const std::size_t series = 1 + rng() % 6;
        const std::size_t points = 1 + rng() % 300;
        const std::int64_t base = static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 45));
        // Each series has a type, and now and then a point of another type.
        std::vector<int> types(series);
        for (auto& t : types) t = static_cast<int>(rng() % 5);
        for (std::size_t i = 0; i < points; ++i) {
            const std::size_t s = rng() % series;
            int type = types[s];
            if (rng() % 50 == 0) type = static_cast<int>(rng() % 5);
            DatapointValue v;
            switch (type) {
                case 0: v = random_double(rng); break;
                case 1: v = random_int(rng); break;
                case 2: v = rng() % 10 == 0; break;
                case 3: v = random_string(rng); break;
                default: v = nlohmann::json{{"v", random_int(rng)}, {"s", random_string(rng)}}; break;
            }
            k.points.push_back({"s" + std::to_string(s), random_time(rng, base, i), std::move(v)});
        }
        cases.push_back(std::move(k));
    }
    return cases;
}

}  // namespace compact_cases
