// The device-side pipeline, through a private mosquitto to a decoder: when batches close (points,
// bytes, linger), their sequence numbers, the order of points, every value type, and the topics.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline_support.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using namespace std::chrono_literals;
using dptest::Receiver;
using nlohmann::json;
using twinlink::Client;
using twinlink::Datapoint;
using twinlink::DatapointOptions;
using twinlink::Datapoints;
using twinlink::DatapointValue;
using twinlink::Encoding;
using twinlink::Error;
using twinlink::Status;
using tltest::Clock;
using tltest::kLong;

class PipelineBatching : public ::testing::TestWithParam<Encoding> {
protected:
    void SetUp() override {
        receiver_ = std::make_unique<Receiver>(broker_.uri());
        device_ = std::make_unique<Client>(dptest::device_client_options(broker_.uri()));
        device_->connect(kLong);
    }
    void TearDown() override {
        device_->disconnect(1s);
        receiver_.reset();
    }
    DatapointOptions options() const { return dptest::pipeline_options("dev-1", GetParam()); }

    // Every received batch decoded, none malformed.
    void expect_all_decoded() const {
        for (const auto& r : receiver_->batches()) EXPECT_EQ(r.error, "") << r.topic;
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    std::unique_ptr<Receiver> receiver_;
    std::unique_ptr<Client> device_;
};

TEST_P(PipelineBatching, ClosesABatchAtMaxPoints) {
    DatapointOptions o = options();
    o.batch_max_points = 100;
    o.linger = 60s;  // only the point limit closes batches here
    Datapoints dp(*device_, o);
    for (std::int64_t i = 0; i < 1050; ++i) dp.record("s", i, 1'700'000'000'000 + i);

    ASSERT_TRUE(receiver_->wait_batches(10));
    std::this_thread::sleep_for(200ms);
    auto batches = receiver_->batches();
    ASSERT_EQ(batches.size(), 10u);  // the last 50 points wait for the linger time
    for (const auto& r : batches) EXPECT_EQ(r.batch.points.size(), 100u) << r.batch.seq;
    EXPECT_EQ(dp.stats().pending_points, 50u);

    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_batches(11));
    batches = receiver_->batches();
    EXPECT_EQ(batches.back().batch.points.size(), 50u);
    const auto points = receiver_->points();
    ASSERT_EQ(points.size(), 1050u);
    for (std::size_t i = 0; i < points.size(); ++i)
        EXPECT_EQ(points[i].value, DatapointValue(static_cast<std::int64_t>(i)));
    expect_all_decoded();
}

TEST_P(PipelineBatching, NoBatchIsLargerThanMaxBytes) {
    for (const std::size_t max_bytes : {std::size_t{1024}, std::size_t{4096}, std::size_t{16384}}) {
        SCOPED_TRACE("batch_max_bytes " + std::to_string(max_bytes));
        DatapointOptions o = options();
        o.batch_max_bytes = max_bytes;
        o.linger = 60s;
        Datapoints dp(*device_, o);
        std::vector<Datapoint> recorded;
        const std::int64_t t0 = 1'700'000'000'000;
        const auto record = [&](const std::string& name, DatapointValue v, std::int64_t ts) {
            dp.record(name, v, ts);
            recorded.push_back({name, ts, std::move(v)});
        };
        // Values that cost much more on the wire than they look: full-precision doubles, strings
        // that JSON escapes six bytes for one.
        for (int i = 0; i < 400; ++i) {
            const std::int64_t ts = t0 + i * 997;
            record("pi", std::acos(-1.0) * (i + 1), ts);
            record("n", std::numeric_limits<std::int64_t>::min() + i, ts);
            record("flag", i % 2 == 0, ts);
            record("text", std::string(static_cast<std::size_t>(i % 60), i % 3 == 0 ? '\x01' : '"'), ts);
            json object = json::object();
            for (int k = 0; k < i % 25; ++k) object["k" + std::to_string(k)] = 0.1 * k + 0.01;
            record("obj", object, ts);
        }
        // A point earlier than the rest of its batch widens the time offset of every point in it.
        for (int k = 0; k < 20; ++k) {
            for (int i = 0; i < k * 37; ++i) record("late", std::int64_t{i}, t0 + i);
            record("late", std::int64_t{-1}, t0 - 1'000'000'000'000);
        }
        // Objects of short doubles, which CBOR writes in 9 bytes each where JSON takes 4.
        const std::size_t wide = (max_bytes - 700) / 9;
        for (int k = 0; k < 30; ++k) {
            for (int i = 0; i < k % 7 + 1; ++i) record("pi", std::acos(-1.0) * i, t0 + k);
            record("arr", json{{"v", std::vector<double>(wide, 0.1)}}, t0 + k);
        }
        dp.flush(kLong);
        EXPECT_EQ(dp.stats().acked_points, recorded.size());

        ASSERT_TRUE(receiver_->wait_points(recorded.size()));
        std::size_t largest = 0;
        for (const auto& r : receiver_->batches()) {
            EXPECT_LE(r.bytes, max_bytes) << "batch " << r.batch.seq << " has " << r.batch.points.size() << " points";
            largest = std::max(largest, r.bytes);
        }
        // Closing early for safety is fine, closing far too early is not.
        EXPECT_GT(largest, max_bytes / 3);
        // Grouped by series within each batch, so compare per series.
        const auto received = receiver_->points();
        ASSERT_EQ(received.size(), recorded.size());
        for (const std::string series : {"pi", "n", "flag", "text", "obj", "late", "arr"}) {
            std::vector<Datapoint> want, got;
            for (const auto& p : recorded)
                if (p.name == series) want.push_back(p);
            for (const auto& p : received)
                if (p.name == series) got.push_back(p);
            EXPECT_EQ(got, want) << series;
        }
        expect_all_decoded();
        receiver_ = std::make_unique<Receiver>(broker_.uri());
    }
}

TEST_P(PipelineBatching, RefusesAValueThatCannotFitInABatch) {
    DatapointOptions o = options();
    o.batch_max_bytes = 1024;
    Datapoints dp(*device_, o);
    const Error e = tltest::capture_error([&] { dp.record("big", std::string_view(std::string(2000, 'x'))); });
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    json object;
    for (int k = 0; k < 200; ++k) object["key" + std::to_string(k)] = k;
    EXPECT_EQ(tltest::capture_error([&] { dp.record("big", object); }).status(), Status::InvalidArgument);
    // A value that fits, just: sent on its own.
    dp.record("fits", std::string_view(std::string(300, 'y')));
    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_batches(1));
    for (const auto& r : receiver_->batches()) EXPECT_LE(r.bytes, 1024u);
    EXPECT_EQ(dp.stats().recorded, 1u);
}

TEST_P(PipelineBatching, SendsALonePointWithinTheLingerTime) {
    DatapointOptions o = options();
    o.linger = 300ms;
    Datapoints dp(*device_, o);
    const auto start = Clock::now();
    dp.record("lonely", 1.5);
    ASSERT_TRUE(receiver_->wait_batches(1));
    const auto after = receiver_->batches().front().at - start;
    EXPECT_GE(after, 295ms);
    EXPECT_LT(after, 300ms + 3s);  // generous: a loaded machine
    EXPECT_EQ(receiver_->batches().front().batch.points.size(), 1u);
}

TEST_P(PipelineBatching, NumbersBatchesConsecutivelyFromTheClockWithoutASpool) {
    const std::int64_t before = dptest::now_ms();
    Datapoints dp(*device_, options());
    for (int i = 0; i < 5; ++i) {
        dp.record("s", i);
        dp.flush(kLong);
    }
    const std::int64_t after = dptest::now_ms();
    ASSERT_TRUE(receiver_->wait_batches(5));
    auto batches = receiver_->batches();
    std::sort(batches.begin(), batches.end(), [](auto& a, auto& b) { return a.batch.seq < b.batch.seq; });
    const std::uint64_t first = batches.front().batch.seq;
    // Seeded from the wall clock in microseconds, so a restarted device does not reuse one.
    EXPECT_GE(first, static_cast<std::uint64_t>(before) * 1000);
    EXPECT_LT(first, static_cast<std::uint64_t>(after + 1) * 1000);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        EXPECT_EQ(batches[i].batch.seq, first + i);
        EXPECT_TRUE(twinlink::is_uuid(batches[i].batch.batch_id)) << batches[i].batch.batch_id;
        EXPECT_EQ(batches[i].batch.batch_id[14], '7') << "a UUIDv7: " << batches[i].batch.batch_id;
        ids.insert(batches[i].batch.batch_id);
        EXPECT_EQ(batches[i].batch.device, "dev-1");
        EXPECT_EQ(batches[i].batch.encoding, GetParam());
    }
    EXPECT_EQ(ids.size(), batches.size());

    // Another pipeline for the same device right after (a restart without a spool, within the
    // same millisecond on a fast machine) goes on above.
    {
        Datapoints again(*device_, options());
        again.record("s", 99);
        again.flush(kLong);
    }
    ASSERT_TRUE(receiver_->wait_batches(6));
    std::uint64_t top = 0;
    for (const auto& r : receiver_->batches())
        if (std::get<std::int64_t>(r.batch.points.front().value) == 99) top = r.batch.seq;
    EXPECT_GT(top, first + 4);
}

TEST_P(PipelineBatching, KeepsTheRecordingOrderWithinEverySeries) {
    DatapointOptions o = options();
    o.batch_max_points = 37;  // series split across batches at odd places
    Datapoints dp(*device_, o);
    constexpr int kPoints = 3000;
    const std::int64_t t0 = 1'700'000'000'000;
    for (int i = 0; i < kPoints; ++i) {
        const std::string series = "s" + std::to_string(i % 7 == 0 ? 0 : i % 3 + 1);
        // Timestamps that go backwards now and then: recording order is what counts.
        dp.record(series, static_cast<std::int64_t>(i), t0 + (i % 10 == 0 ? -i : i));
    }
    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_points(kPoints));
    std::map<std::string, std::int64_t> last;
    std::size_t n = 0;
    for (const auto& p : receiver_->points()) {
        const auto v = std::get<std::int64_t>(p.value);
        const auto it = last.find(p.name);
        if (it != last.end()) {
            EXPECT_GT(v, it->second) << p.name;
        }
        last[p.name] = v;
        EXPECT_EQ(p.timestamp_ms, t0 + (v % 10 == 0 ? -v : v));
        ++n;
    }
    EXPECT_EQ(n, static_cast<std::size_t>(kPoints));
    EXPECT_EQ(last.size(), 4u);
}

// record() of numbers appends to a run kept open per series; anything else recorded to the series
// (the other number type, a bool, a record_many()) comes after that run, so a series whose types
// change still arrives in recording order, however batches split it.
TEST_P(PipelineBatching, KeepsTheOrderOfASeriesWhoseValueTypesChange) {
    DatapointOptions o = options();
    o.batch_max_points = 23;
    Datapoints dp(*device_, o);
    const std::int64_t t0 = 1'700'000'000'000;
    std::vector<Datapoint> want;
    std::int64_t t = t0;
    constexpr int kRounds = 40;
    for (int round = 0; round < kRounds; ++round) {
        for (int k = 0; k < 3; ++k) {
            dp.record("m", double(round) + 0.5, t);
            want.push_back({"m", t++, double(round) + 0.5});
        }
        dp.record("m", std::int64_t{round}, t);
        want.push_back({"m", t++, std::int64_t{round}});
        if (round % 4 == 0) {
            dp.record("m", true, t);
            want.push_back({"m", t++, true});
        }
        if (round % 5 == 0) {
            const double many[] = {1.25, 2.5};
            const std::int64_t stamps[] = {t, t + 1};
            dp.record_many("m", many, stamps, 2);
            want.push_back({"m", t, 1.25});
            want.push_back({"m", t + 1, 2.5});
            t += 2;
        }
        dp.record("other", std::int64_t{round}, t0);
    }
    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_points(want.size() + kRounds));
    expect_all_decoded();
    std::vector<Datapoint> got;
    for (const auto& p : receiver_->points())
        if (p.name == "m") got.push_back(p);
    EXPECT_EQ(got, want);
}

// Series ids: single points by id, and interleaved series in one record_points() call, arrive as
// the same points recorded by name would, in recording order within each series.
TEST_P(PipelineBatching, SeriesIdsRecordTheSamePointsAsNames) {
    DatapointOptions o = options();
    o.batch_max_points = 50;
    Datapoints dp(*device_, o);
    const auto a = dp.series("a");
    const auto b = dp.series("b");
    EXPECT_EQ(dp.series("a").value, a.value);
    EXPECT_NE(a.value, b.value);
    const std::int64_t t0 = 1'700'000'000'000;
    dp.record(a, 0.5, t0);
    dp.record(b, std::int64_t{-3}, t0 + 1);
    constexpr std::size_t kMany = 500;
    std::vector<Datapoints::SeriesId> ids;
    std::vector<double> values;
    std::vector<std::int64_t> stamps;
    for (std::size_t i = 0; i < kMany; ++i) {
        ids.push_back(i % 3 == 0 ? b : a);
        values.push_back(double(i) + 0.25);
        stamps.push_back(t0 + 2 + std::int64_t(i));
    }
    dp.record_points(ids.data(), values.data(), stamps.data(), kMany);

    // Bad input changes nothing: an id this pipeline did not give, a non-finite value, bad names.
    const Datapoints::SeriesId unknown{b.value + 100};
    EXPECT_THROW(dp.record(unknown, 1.0), Error);
    const Datapoints::SeriesId mixed[] = {a, unknown};
    const double two[] = {1.0, 2.0};
    EXPECT_THROW(dp.record_points(mixed, two, nullptr, 2), Error);
    const Datapoints::SeriesId good[] = {a, b};
    const double nan[] = {1.0, std::nan("")};
    EXPECT_THROW(dp.record_points(good, nan, nullptr, 2), Error);
    EXPECT_THROW(dp.record_points(nullptr, two, nullptr, 2), Error);
    EXPECT_THROW(dp.series("bad/name"), Error);
    EXPECT_THROW(dp.series(""), Error);
    EXPECT_EQ(dp.stats().recorded, kMany + 2);

    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_points(kMany + 2));
    expect_all_decoded();
    std::map<std::string, std::vector<twinlink::Datapoint>> by;
    for (const auto& p : receiver_->points()) by[p.name].push_back(p);
    ASSERT_EQ(by.size(), 2u);
    std::vector<twinlink::Datapoint> want_a{{"a", t0, 0.5}}, want_b{{"b", t0 + 1, std::int64_t{-3}}};
    for (std::size_t i = 0; i < kMany; ++i)
        (i % 3 == 0 ? want_b : want_a).push_back({i % 3 == 0 ? "b" : "a", stamps[i], values[i]});
    EXPECT_EQ(by["a"], want_a);
    EXPECT_EQ(by["b"], want_b);
}

TEST_P(PipelineBatching, EveryValueTypeArrivesUnchanged) {
    Datapoints dp(*device_, options());
    const std::int64_t t0 = 1'700'000'000'000;
    const std::vector<Datapoint> points = {
        {"double", t0, 21.0},
        {"double", t0 + 1, -0.0},
        {"double", t0 + 2, 0.1},
        {"double", t0 + 3, 1e300},
        {"double", t0 + 4, std::numeric_limits<double>::denorm_min()},
        {"double", t0 + 5, -std::numeric_limits<double>::max()},
        {"int", t0, std::int64_t{0}},
        {"int", t0 + 1, std::numeric_limits<std::int64_t>::min()},
        {"int", t0 + 2, std::numeric_limits<std::int64_t>::max()},
        {"int", t0 + 3, std::int64_t{-24}},
        {"bool", t0, true},
        {"bool", t0 + 1, false},
        {"string", t0, std::string()},
        {"string", t0 + 1, std::string("caf\xc3\xa9 \xf0\x9f\x8c\xa1 \"quoted\" \\ \x01\x1f tab\t")},
        {"object", t0, json::object()},
        {"object", t0 + 1,
         json{{"a", 1}, {"b", -2.5}, {"c", "x"}, {"d", json::array({true, 1, 1.5, "s", json::object()})},
              {"nested", {{"deeper", {{"deepest", nullptr}}}}}}},
        {"temp \xc3\xa9 \xe2\x84\x83", t0, 21.5},  // a series name with spaces and UTF-8
        {"before-1970", -86'400'000, 1.0},
    };
    for (const auto& p : points) dp.record(p.name, p.value, p.timestamp_ms);
    // The batch forms of record, and the "now" timestamp.
    const double doubles[] = {1.25, 2.5, 3.75};
    const std::int64_t ints[] = {7, 8, 9};
    const std::int64_t stamps[] = {t0 + 10, t0 + 11, t0 + 12};
    dp.record_many("many-doubles", doubles, stamps, 3);
    dp.record_many("many-ints", ints, stamps, 3);
    const std::int64_t before = dptest::now_ms();
    dp.record("now", std::int64_t{1});
    dp.record("now-string", "text");
    const std::int64_t after = dptest::now_ms();
    dp.flush(kLong);

    ASSERT_TRUE(receiver_->wait_points(points.size() + 8));
    const auto received = receiver_->points();
    std::vector<Datapoint> got_fixed;
    for (const auto& p : received) {
        if (p.name == "now" || p.name == "now-string") {
            EXPECT_GE(p.timestamp_ms, before);
            EXPECT_LE(p.timestamp_ms, after);
        } else if (p.name.rfind("many-", 0) == 0) {
            const auto i = static_cast<std::size_t>(p.timestamp_ms - (t0 + 10));
            ASSERT_LT(i, 3u);
            if (p.name == "many-doubles")
                EXPECT_EQ(p.value, DatapointValue(doubles[i]));
            else
                EXPECT_EQ(p.value, DatapointValue(ints[i]));
        } else {
            got_fixed.push_back(p);
        }
    }
    // Compare as sets of (name, ts): the batch groups by series.
    const auto key = [](const Datapoint& a, const Datapoint& b) {
        return std::tie(a.name, a.timestamp_ms) < std::tie(b.name, b.timestamp_ms);
    };
    std::vector<Datapoint> want = points;
    std::sort(want.begin(), want.end(), key);
    std::sort(got_fixed.begin(), got_fixed.end(), key);
    ASSERT_EQ(got_fixed.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got_fixed[i], want[i]) << want[i].name << " @" << want[i].timestamp_ms;
        EXPECT_EQ(got_fixed[i].value.index(), want[i].value.index()) << want[i].name << ": type changed";
        if (const auto* d = std::get_if<double>(&want[i].value)) {
            EXPECT_EQ(std::signbit(std::get<double>(got_fixed[i].value)), std::signbit(*d)) << want[i].name;
        }
    }
    expect_all_decoded();
}

TEST_P(PipelineBatching, RoutesEverySeriesToItsOwnTopic) {
    DatapointOptions o = options();
    o.topic = "tl/{device}/dp/{series}";
    Datapoints dp(*device_, o);
    for (int i = 0; i < 30; ++i) dp.record(i % 3 == 0 ? "temp" : i % 3 == 1 ? "humidity" : "door", i);
    dp.flush(kLong);
    ASSERT_TRUE(receiver_->wait_points(30));
    std::map<std::string, std::size_t> per_topic;
    for (const auto& r : receiver_->batches()) {
        ASSERT_FALSE(r.batch.points.empty());
        const std::string series = r.topic.substr(std::string("tl/dev-1/dp/").size());
        for (const auto& p : r.batch.points) EXPECT_EQ(p.name, series) << r.topic;
        per_topic[r.topic] += r.batch.points.size();
    }
    EXPECT_EQ(per_topic, (std::map<std::string, std::size_t>{
                             {"tl/dev-1/dp/door", 10}, {"tl/dev-1/dp/humidity", 10}, {"tl/dev-1/dp/temp", 10}}));
}

TEST_P(PipelineBatching, PublishesOnTheDeviceTopicByDefaultAndOnACustomOne) {
    {
        Datapoints dp(*device_, options());
        dp.record("s", 1);
        dp.flush(kLong);
    }
    DatapointOptions o = options();
    o.topic = "tl/{device}/dp/custom-{device}";
    {
        Datapoints dp(*device_, o);
        dp.record("s", 2);
        dp.flush(kLong);
    }
    ASSERT_TRUE(receiver_->wait_batches(2));
    std::set<std::string> topics;
    for (const auto& r : receiver_->batches()) topics.insert(r.topic);
    EXPECT_EQ(topics, (std::set<std::string>{"tl/dev-1/dp", "tl/dev-1/dp/custom-dev-1"}));
}

INSTANTIATE_TEST_SUITE_P(Encodings, PipelineBatching, ::testing::Values(Encoding::Json, Encoding::Cbor, Encoding::Compact),
                         encoding_param_name);

}  // namespace
