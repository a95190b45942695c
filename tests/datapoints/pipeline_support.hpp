// Helpers of the datapoint pipeline tests: a receiver that decodes every batch a device publishes,
// option presets, and a log recorder.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
#include "encoding_param.hpp"
#include "fixtures/broker.hpp"
#include "fixtures/process.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/datapoints.hpp"

namespace dptest {

using namespace std::chrono_literals;
using tltest::Clock;
using tltest::kLong;

/// A batch as the receiver got it.
struct Received {
    std::string topic;
    std::size_t bytes = 0;
    twinlink::DecodedBatch batch;
    Clock::time_point at;
    std::string error;  ///< why it did not decode; empty when it did
};

/// Subscribes its own client to the datapoint topics and decodes every message that arrives.
class Receiver {
public:
    explicit Receiver(const std::string& uri, const std::string& filter = "tl/+/dp/#")
        : client_(std::make_unique<twinlink::Client>(tltest::options_for(uri))) {
        client_->connect(kLong);
        tltest::Recorder<Received> batches = batches_;
        client_->subscribe(filter, 1, [batches](const twinlink::MessageView& m) {
            Received r;
            r.topic = std::string(m.topic);
            r.bytes = m.payload.size();
            r.at = Clock::now();
            try {
                r.batch = twinlink::decode_batch(m.payload);
            } catch (const twinlink::Error& e) {
                r.error = e.what();
            }
            batches.push(std::move(r));
        });
    }
    ~Receiver() { client_->disconnect(1s); }

    std::vector<Received> batches() const { return batches_.items(); }
    std::size_t size() const { return batches_.size(); }
    bool wait_batches(std::size_t n, std::chrono::milliseconds timeout = kLong) const {
        return batches_.wait_count(n, timeout);
    }
    /// Waits until the batches received hold `n` points in all.
    bool wait_points(std::size_t n, std::chrono::milliseconds timeout = kLong) const {
        return batches_.wait_for(
            [n](const std::vector<Received>& v) {
                std::size_t points = 0;
                for (const auto& r : v) points += r.batch.points.size();
                return points >= n;
            },
            timeout);
    }

    /// Every point received, batches taken in seq order (a resent batch counted once).
    std::vector<twinlink::Datapoint> points() const {
        std::map<std::uint64_t, twinlink::DecodedBatch> by_seq;
        for (const auto& r : batches()) by_seq.emplace(r.batch.seq, r.batch);
        std::vector<twinlink::Datapoint> out;
        for (const auto& [seq, b] : by_seq) out.insert(out.end(), b.points.begin(), b.points.end());
        return out;
    }

    twinlink::Client& client() { return *client_; }

private:
    std::unique_ptr<twinlink::Client> client_;
    tltest::Recorder<Received> batches_;
};

/// Client options of a device: quick reconnects; warnings and errors go to `log` when given.
inline twinlink::ClientOptions device_client_options(const std::string& uri,
                                                     const tltest::Recorder<std::string>* log = nullptr) {
    twinlink::ClientOptions o = tltest::options_for(uri);
    o.reconnect_min = 50ms;
    o.reconnect_max = 300ms;
    if (log) {
        tltest::Recorder<std::string> sink = *log;
        o.log_level = twinlink::LogLevel::Warning;
        o.log = [sink](twinlink::LogLevel, const std::string& line) { sink.push(line); };
    }
    return o;
}

/// Pipeline options for device `device` that send quickly.
inline twinlink::DatapointOptions pipeline_options(const std::string& device = "dev-1",
                                                   twinlink::Encoding encoding = twinlink::Encoding::Json) {
    twinlink::DatapointOptions o;
    o.device = device;
    o.encoding = encoding;
    o.linger = 20ms;
    // The Receiver is a plain subscriber that sends no receipts: these tests judge delivery at the
    // broker. pipeline_receipt_test.cpp covers receipts.
    o.delivery = twinlink::DeliveryMode::Broker;
    return o;
}

/// A broker URI where nothing listens: a broker started and stopped again on a free port.
class DeadBroker {
public:
    DeadBroker() { broker_.kill(); }
    std::string uri() const { return broker_.uri(); }
    twinlink::testing::Broker& broker() { return broker_; }

private:
    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
};

/// A temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir() : path_(twinlink::testing::detail::make_temp_dir("tl-pipeline-")) {}
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace dptest
