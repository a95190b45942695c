// BatchEncoder and decode_batch(): the wire format, round trips of every value type in both
// encodings, reuse of the encoder, and the size estimate the batcher relies on.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/batch_codec.hpp"
#include "twinlink/status.hpp"
#include "twinlink/uuid7.hpp"

#include "encoding_param.hpp"

namespace {

using twinlink::BatchEncoder;
using twinlink::Datapoint;
using twinlink::DatapointValue;
using twinlink::Encoding;
using twinlink::Error;
using twinlink::Status;
using json = nlohmann::json;

constexpr const char* kBatchId = "01936f1e-8a4b-7c3d-9e2f-0123456789ab";
constexpr std::int64_t kT = 1732460000000;

// Same type and same value; doubles compared bit for bit so that -0.0 is not 0.0.
bool same_value(const DatapointValue& a, const DatapointValue& b) {
    if (a.index() != b.index()) return false;
    if (const auto* x = std::get_if<double>(&a)) {
        const double y = std::get<double>(b);
        return std::memcmp(x, &y, sizeof y) == 0;
    }
    return a == b;
}

std::string describe(const DatapointValue& v) {
    static const char* kinds[] = {"double", "int64", "bool", "string", "json"};
    std::string text = std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) return x;
            else if constexpr (std::is_same_v<T, json>) return x.dump();
            else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            else return std::to_string(x);
        },
        v);
    return std::string(kinds[v.index()]) + " " + text;
}

// What decode_batch() must return for points added in this order: grouped by series, series in
// order of first use, points of a series in the order added.
std::vector<Datapoint> grouped(const std::vector<Datapoint>& added) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<Datapoint>> by_series;
    for (const auto& p : added) {
        if (!by_series.count(p.name)) order.push_back(p.name);
        by_series[p.name].push_back(p);
    }
    std::vector<Datapoint> out;
    for (const auto& name : order)
        for (auto& p : by_series[name]) out.push_back(p);
    return out;
}

void expect_points(const std::vector<Datapoint>& got, const std::vector<Datapoint>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].name, want[i].name) << "point " << i;
        EXPECT_EQ(got[i].timestamp_ms, want[i].timestamp_ms) << "point " << i;
        EXPECT_TRUE(same_value(got[i].value, want[i].value))
            << "point " << i << ": got " << describe(got[i].value) << ", want " << describe(want[i].value);
    }
}

std::string encode(Encoding encoding, const std::vector<Datapoint>& points, std::uint64_t seq = 1) {
    BatchEncoder enc(encoding, "dev");
    for (const auto& p : points) enc.add(p.name, p.timestamp_ms, p.value);
    return enc.finish(kBatchId, seq);
}

TEST(BatchFormat, JsonIsTheDocumentedExample) {
    BatchEncoder enc(Encoding::Json, "sensor-42");
    enc.add("temp", kT, 21.5);
    enc.add("door", kT + 5, true);
    enc.add("label", kT + 9, "ok");
    enc.add("cfg", kT + 9, json{{"a", 1}});
    enc.add("temp", kT + 12, 21.6);
    enc.add("temp", kT + 24, 21.75);
    EXPECT_EQ(enc.finish(kBatchId, 17),
              R"({"v":1,"device":"sensor-42","batch":"01936f1e-8a4b-7c3d-9e2f-0123456789ab","seq":17,)"
              R"("t0":1732460000000,"series":{"temp":{"t":[0,12,24],"v":[21.5,21.6,21.75]},)"
              R"("door":{"t":[5],"v":[true]},"label":{"t":[9],"v":["ok"]},"cfg":{"t":[9],"v":[{"a":1}]}}})");
}

TEST(BatchFormat, JsonKeepsIntegersAndDoublesApart) {
    BatchEncoder enc(Encoding::Json, "d");
    enc.add("x", kT, 21.0);
    enc.add("x", kT, std::int64_t{21});
    enc.add("x", kT, -0.0);
    enc.add("x", kT, 1e21);
    enc.add("x", kT, 100.0);
    const std::string out = enc.finish(kBatchId, 1);
    EXPECT_NE(out.find(R"("v":[21.0,21,-0.0,1e+21,100.0])"), std::string::npos) << out;
    const auto points = twinlink::decode_batch(out).points;
    ASSERT_EQ(points.size(), 5u);
    EXPECT_TRUE(std::holds_alternative<double>(points[0].value));
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(points[1].value));
    EXPECT_TRUE(std::signbit(std::get<double>(points[2].value)));
}

TEST(BatchFormat, JsonTextIsWhatNlohmannReads) {
    // Valid JSON for any parser, with the structure the header documents.
    BatchEncoder enc(Encoding::Json, "dev \"quoted\"");
    enc.add("s", kT + 3, std::string("line\nbreak\t\"q\" \\ \x01 é"));
    enc.add("n", kT, std::int64_t{-7});
    const json doc = json::parse(enc.finish(kBatchId, 99));
    EXPECT_EQ(doc["v"], 1);
    EXPECT_EQ(doc["device"], "dev \"quoted\"");
    EXPECT_EQ(doc["batch"], kBatchId);
    EXPECT_EQ(doc["seq"], 99);
    EXPECT_EQ(doc["t0"], kT);
    EXPECT_EQ(doc["series"]["s"]["t"], json::array({3}));
    EXPECT_EQ(doc["series"]["s"]["v"][0], "line\nbreak\t\"q\" \\ \x01 é");
    EXPECT_EQ(doc["series"]["n"]["t"], json::array({0}));
}

TEST(BatchFormat, CborIsTheSameDocument) {
    std::vector<Datapoint> points = {
        {"temp", kT, 21.5}, {"temp", kT + 10, 21.63}, {"count", kT + 4, std::int64_t{-300}},
        {"door", kT + 7, false}, {"label", kT + 1, std::string("ok")},
        {"cfg", kT + 2, json{{"a", {1, 2.5, "x"}}, {"b", json::object()}}}};
    const json from_json = json::parse(encode(Encoding::Json, points, 5));
    const json from_cbor = json::from_cbor(encode(Encoding::Cbor, points, 5));
    EXPECT_EQ(from_json, from_cbor);
}

// The CBOR writer is hand-written; its bytes must be what nlohmann's to_cbor() writes for the same
// document (key order kept), so that every CBOR reader sees the mapping docs/protocol.md names.
TEST(BatchFormat, CborBytesAreNlohmannsMapping) {
    using ojson = nlohmann::ordered_json;
    const std::int64_t imin = std::numeric_limits<std::int64_t>::min();
    std::mt19937_64 rng(7);
    std::vector<Datapoint> points = {
        {"temp", kT, 21.5}, {"temp", kT + 70000, 0.1}, {"count", kT - 3, std::int64_t{-300}},
        {"count", kT + 9, imin}, {"big", kT + 1, std::int64_t{4294967296}}, {"door", kT + 7, false},
        {"door", kT + 8, true}, {"label", kT + 1, std::string(300, 'x')}, {"e😀", kT, std::string("é")},
        {"cfg", kT + 2, json{{"z", {1, 2.5, "x"}}, {"a", json::object()}}}, {"f", kT, 3.0e38}, {"f", kT, 1e300}};
    for (int i = 0; i < 2000; ++i) {
        const auto r = rng();
        const std::int64_t ts = kT + static_cast<std::int64_t>(r % 100000) - 50000;
        if (r & 1) points.push_back({"d" + std::to_string(r % 5), ts, std::ldexp(double(r >> 11), int(r % 80) - 40)});
        else points.push_back({"i" + std::to_string(r % 3), ts, static_cast<std::int64_t>(r) >> (r % 64)});
    }
    for (std::uint64_t seq : {0ull, 23ull, 24ull, 70000ull, 18446744073709551615ull}) {
        const std::string bytes = encode(Encoding::Cbor, points, seq);
        // A document built by nlohmann from the decoded one, in the same member order.
        const ojson doc = ojson::from_cbor(bytes);
        std::string again;
        ojson::to_cbor(doc, again);
        ASSERT_EQ(again.size(), bytes.size()) << "seq " << seq;
        EXPECT_TRUE(again == bytes) << "seq " << seq;
    }
}

class RoundTrip : public ::testing::TestWithParam<Encoding> {};

TEST_P(RoundTrip, EveryValueType) {
    const std::int64_t imin = std::numeric_limits<std::int64_t>::min();
    const std::int64_t imax = std::numeric_limits<std::int64_t>::max();
    const std::vector<DatapointValue> values = {
        0.0, -0.0, 1.0, 21.0, 21.5, 21.6, 0.1, -1e-300, 1e300, 5e-324, 1e15, 1e16, 1e21, 123456789.125,
        std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
        std::numeric_limits<double>::min(), static_cast<double>(std::numeric_limits<float>::max()),
        std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{23}, std::int64_t{24}, std::int64_t{-24},
        std::int64_t{-25}, std::int64_t{255}, std::int64_t{256}, std::int64_t{65535}, std::int64_t{65536},
        std::int64_t{4294967295}, std::int64_t{4294967296}, imin, imax, imin + 1, imax - 1,
        true, false,
        std::string(), std::string("ok"), std::string("température"), std::string("日本語 😀"),
        std::string("quote\" backslash\\ slash/"), std::string("ctrl\n\r\t\b\f\x01\x1f\x7f"),
        std::string("nul\0inside", 10), std::string(300, 'x'), std::string(70000, 'y'),
        json::object(), json{{"a", 1}}, json{{"nested", {{"deep", {{"deeper", {1, 2, 3}}}}}}},
        json{{"mixed", {nullptr, true, 1.5, -2, "s", json::array(), json::object()}}},
        json{{"ünïcødé", "välue"}, {"", 0}}, json{{"big", 18446744073709551615ull}, {"neg", imin}},
    };
    std::vector<Datapoint> added;
    const std::vector<std::string> names = {"temp", "température", "温度", "e😀", std::string(128, 'n')};
    for (std::size_t i = 0; i < values.size(); ++i)
        added.push_back({names[i % names.size()], kT + static_cast<std::int64_t>(i * 7 % 50), values[i]});

    BatchEncoder enc(GetParam(), "device-ü");
    for (const auto& p : added) enc.add(p.name, p.timestamp_ms, p.value);
    EXPECT_EQ(enc.points(), added.size());
    EXPECT_EQ(enc.series(), names.size());
    const std::string bytes = enc.finish(kBatchId, 18446744073709551615ull);

    const auto batch = twinlink::decode_batch(bytes);
    EXPECT_EQ(batch.version, 1);
    EXPECT_EQ(batch.encoding, GetParam());
    EXPECT_EQ(batch.device, "device-ü");
    EXPECT_EQ(batch.batch_id, kBatchId);
    EXPECT_EQ(batch.seq, 18446744073709551615ull);
    expect_points(batch.points, grouped(added));
}

TEST_P(RoundTrip, ExtremeAndUnorderedTimestamps) {
    const std::int64_t imin = std::numeric_limits<std::int64_t>::min();
    const std::int64_t imax = std::numeric_limits<std::int64_t>::max();
    const std::vector<Datapoint> added = {
        {"a", 1000, 1.0}, {"a", 999, 2.0}, {"b", imax, 3.0}, {"a", imin, 4.0}, {"b", -5, 5.0},
        {"a", 0, 6.0},    {"b", imax, 7.0}, {"a", imin, 8.0}};
    expect_points(twinlink::decode_batch(encode(GetParam(), added)).points, grouped(added));

    const std::vector<Datapoint> negative = {{"x", -1732460000000, 1.0}, {"x", -1732460000001, 2.0}};
    expect_points(twinlink::decode_batch(encode(GetParam(), negative)).points, negative);
}

// add_many() writes the same bytes and the same size estimate as one add() per point, and checks
// every value before adding any.
TEST_P(RoundTrip, AddManyIsTheSameAsAddingEachPoint) {
    std::vector<double> d;
    std::vector<std::int64_t> in, ts;
    for (int i = 0; i < 300; ++i) {
        d.push_back(i % 3 == 0 ? 21.5 + i : 0.1 * i);
        in.push_back(static_cast<std::int64_t>(i) * (i % 2 ? -70001 : 3));
        ts.push_back(kT + (i % 10 == 0 ? -i : i * 7));
    }
    BatchEncoder one(GetParam(), "dev"), many(GetParam(), "dev");
    one.add("x", kT, 1.0);
    many.add("x", kT, 1.0);
    for (std::size_t i = 0; i < d.size(); ++i) one.add("d", ts[i], d[i]);
    for (std::size_t i = 0; i < in.size(); ++i) one.add("i", ts[i], in[i]);
    many.add_many("d", ts.data(), d.data(), 100);
    many.add_many("d", ts.data() + 100, d.data() + 100, d.size() - 100);
    many.add_many("i", ts.data(), in.data(), in.size());
    many.add_many("i", ts.data(), in.data(), 0);
    EXPECT_EQ(many.points(), one.points());
    EXPECT_EQ(many.size_estimate(), one.size_estimate());

    std::vector<double> bad = {1.0, std::nan(""), 2.0};
    EXPECT_THROW(many.add_many("d", ts.data(), bad.data(), bad.size()), Error);
    EXPECT_EQ(many.points(), one.points());
    EXPECT_EQ(many.finish(kBatchId, 9), one.finish(kBatchId, 9));
}

TEST_P(RoundTrip, EmptyBatch) {
    BatchEncoder enc(GetParam(), "d");
    const auto batch = twinlink::decode_batch(enc.finish(kBatchId, 3));
    EXPECT_TRUE(batch.points.empty());
    EXPECT_EQ(batch.seq, 3u);
    EXPECT_EQ(batch.device, "d");
}

TEST_P(RoundTrip, ManySeriesKeepTheirOrder) {
    std::vector<Datapoint> added;
    for (int i = 0; i < 3000; ++i)
        added.push_back({"s" + std::to_string((i * 7919) % 1500), kT + i, static_cast<double>(i) / 4});
    expect_points(twinlink::decode_batch(encode(GetParam(), added)).points, grouped(added));
}

TEST_P(RoundTrip, EncoderIsReusedAcrossBatches) {
    BatchEncoder enc(GetParam(), "d");
    enc.add("a", kT, 1.0);
    enc.add("b", kT + 1, std::int64_t{2});
    const std::string first = enc.finish(kBatchId, 1);
    EXPECT_EQ(enc.points(), 0u);
    EXPECT_EQ(enc.series(), 0u);

    enc.add("b", kT + 100, std::int64_t{3});
    enc.add("c", kT + 50, "x");
    enc.add("a", kT + 60, 4.0);
    const auto second = twinlink::decode_batch(enc.finish(twinlink::uuid7(), 2));
    expect_points(second.points, {{"b", kT + 100, std::int64_t{3}}, {"c", kT + 50, std::string("x")},
                                  {"a", kT + 60, 4.0}});
    expect_points(twinlink::decode_batch(first).points, {{"a", kT, 1.0}, {"b", kT + 1, std::int64_t{2}}});

    enc.add("z", kT, 9.0);
    enc.clear();
    EXPECT_EQ(enc.points(), 0u);
    EXPECT_TRUE(twinlink::decode_batch(enc.finish(kBatchId, 3)).points.empty());
}

TEST_P(RoundTrip, OverloadsPickTheNaturalType) {
    BatchEncoder enc(GetParam(), "d");
    enc.add("v", kT, 7);                       // int
    enc.add("v", kT, 7u);                      // unsigned
    enc.add("v", kT, std::uint64_t{7});
    enc.add("v", kT, 7LL);
    enc.add("v", kT, static_cast<short>(7));
    enc.add("v", kT, 2.5f);                    // float
    enc.add("v", kT, 2.5);
    enc.add("v", kT, true);
    enc.add("v", kT, "text");                  // const char*, not bool
    enc.add("v", kT, std::string("text"));
    enc.add("v", kT, std::string_view("text"));
    enc.add("v", kT, json{{"k", 1}});
    enc.add("v", kT, DatapointValue(std::int64_t{7}));
    const auto points = twinlink::decode_batch(enc.finish(kBatchId, 1)).points;
    const std::size_t want[] = {1, 1, 1, 1, 1, 0, 0, 2, 3, 3, 3, 4, 1};
    ASSERT_EQ(points.size(), std::size(want));
    for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].value.index(), want[i]) << i;
}

TEST_P(RoundTrip, InvalidInputLeavesTheBatchUnchanged) {
    BatchEncoder enc(GetParam(), "d");
    enc.add("ok", kT, 1.0);
    const std::size_t estimate = enc.size_estimate();
    const auto rejected = [&](auto&& f) {
        try {
            f();
            return false;
        } catch (const Error& e) {
            return e.status() == Status::InvalidArgument;
        }
    };
    EXPECT_TRUE(rejected([&] { enc.add("ok", kT, std::nan("")); }));
    EXPECT_TRUE(rejected([&] { enc.add("new", kT, std::numeric_limits<double>::infinity()); }));
    EXPECT_TRUE(rejected([&] { enc.add("a/b", kT, 1.0); }));
    EXPECT_TRUE(rejected([&] { enc.add("", kT, std::int64_t{1}); }));
    EXPECT_TRUE(rejected([&] { enc.add("new", kT, json::array({1})); }));
    EXPECT_TRUE(rejected([&] { enc.add("new", kT, std::string("\xc3")); }));
    EXPECT_TRUE(rejected([&] { enc.add("new", kT, std::uint64_t{1} << 63); }));
    EXPECT_TRUE(rejected([&] { enc.finish("not-a-uuid", 1); }));
    EXPECT_EQ(enc.points(), 1u);
    EXPECT_EQ(enc.series(), 1u);
    EXPECT_EQ(enc.size_estimate(), estimate);
    expect_points(twinlink::decode_batch(enc.finish(kBatchId, 1)).points, {{"ok", kT, 1.0}});
}

TEST(BatchEncoderTest, RejectsBadDevice) {
    EXPECT_THROW(BatchEncoder(Encoding::Json, ""), Error);
    EXPECT_THROW(BatchEncoder(Encoding::Cbor, "\xff"), Error);
    EXPECT_THROW(BatchEncoder(static_cast<Encoding>(7), "d"), Error);
}

TEST(BatchEncoderTest, MovesKeepTheBatch) {
    BatchEncoder a(Encoding::Json, "d");
    a.add("x", kT, 1.0);
    BatchEncoder b(std::move(a));
    EXPECT_EQ(b.points(), 1u);
    BatchEncoder c(Encoding::Cbor, "e");
    c = std::move(b);
    EXPECT_EQ(c.encoding(), Encoding::Json);
    EXPECT_EQ(c.device(), "d");
    EXPECT_EQ(twinlink::decode_batch(c.finish(kBatchId, 1)).points.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Encodings, RoundTrip, ::testing::Values(Encoding::Json, Encoding::Cbor, Encoding::Compact),
                         encoding_param_name);

// --- size_estimate ------------------------------------------------------------------------

DatapointValue random_value(std::mt19937_64& rng, int kind) {
    std::uniform_int_distribution<int> small(0, 1000);
    switch (kind) {
        case 0: return std::round(std::uniform_real_distribution<double>(-40, 120)(rng) * 100) / 100;  // a reading
        case 1: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);  // full precision
        case 2: return static_cast<std::int64_t>(rng());                       // any int64
        case 3: return std::int64_t{small(rng)};
        case 4: return small(rng) % 2 == 0;
        case 5: return std::string(static_cast<std::size_t>(small(rng) % 40), 'a' + small(rng) % 26);
        case 6: return std::string("ünï\"\n") + std::to_string(small(rng));
        default: return json{{"k", small(rng)}, {"s", "v"}, {"a", {1.5, small(rng)}}};
    }
}

class SizeEstimate : public ::testing::TestWithParam<Encoding> {};

TEST_P(SizeEstimate, IsATightUpperBound) {
    std::mt19937_64 rng(20241124);
    double worst[2] = {0, 0};  // unordered, ordered timestamps
    for (int round = 0; round < 400; ++round) {
        BatchEncoder enc(GetParam(), "sensor-" + std::to_string(round));
        const int points = std::uniform_int_distribution<int>(0, 2500)(rng);
        const int series = std::uniform_int_distribution<int>(1, 30)(rng);
        const int kinds = std::uniform_int_distribution<int>(0, 7)(rng);  // restricts the value mix
        const int time_mode = round % 4;
        std::int64_t t = kT;
        for (int i = 0; i < points; ++i) {
            switch (time_mode) {
                case 0: t += std::uniform_int_distribution<int>(0, 20)(rng); break;              // in order
                case 1: t = kT + std::uniform_int_distribution<int>(-50000, 50000)(rng); break;  // shuffled
                case 2: t -= std::uniform_int_distribution<int>(0, 1000)(rng); break;           // backwards
                default: t = i == points / 2 ? kT - 86400000 : kT + i * 1000; break;            // one old point
            }
            const int kind = std::uniform_int_distribution<int>(0, kinds)(rng);
            enc.add("series-" + std::to_string(std::uniform_int_distribution<int>(0, series - 1)(rng)), t,
                    random_value(rng, kind));
        }
        const std::size_t estimate = enc.size_estimate();
        const std::uint64_t seq = rng() >> std::uniform_int_distribution<int>(0, 63)(rng);
        const std::string out = enc.finish(twinlink::uuid7(), seq);
        ASSERT_GE(estimate, out.size()) << "round " << round << ", " << points << " points";
        if (points >= 50) {
            // Timestamps that keep going back in time are bounded between recounts, less tightly.
            const bool ordered = time_mode == 0 || time_mode == 3;
            const double over = static_cast<double>(estimate) / static_cast<double>(out.size()) - 1;
            worst[ordered] = std::max(worst[ordered], over);
            EXPECT_LE(over, ordered ? 0.10 : 0.20)
                << "round " << round << ", time mode " << time_mode << ": estimate " << estimate << ", real "
                << out.size();
        }
    }
    std::printf("[ %s ] worst overestimate for >= 50 points: %.1f%% (ordered), %.1f%% (unordered)\n",
                twinlink::encoding_name(GetParam()), worst[1] * 100, worst[0] * 100);
}

TEST_P(SizeEstimate, HoldsAfterEveryPoint) {
    // Every prefix of a batch whose timestamps jump back and forth, with the largest seq.
    std::vector<Datapoint> points;
    for (int i = 0; i < 60; ++i) {
        points.push_back({"s" + std::to_string(i % 3), kT - i * 37 + (i % 2) * 5000, static_cast<double>(i) * 1.1});
        BatchEncoder fresh(GetParam(), "d");
        for (const auto& p : points) fresh.add(p.name, p.timestamp_ms, p.value);
        const std::size_t estimate = fresh.size_estimate();
        EXPECT_GE(estimate, fresh.finish(kBatchId, 18446744073709551615ull).size()) << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Encodings, SizeEstimate, ::testing::Values(Encoding::Json, Encoding::Cbor),
                         encoding_param_name);

}  // namespace
