// The shadow end to end: a private mosquitto, the ShadowService on its own Client, a device-side
// Shadow and an application-side Shadow on two more Clients; each test on SQLite and on PostgreSQL.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cloud/backend.hpp"
#include "core/test_util.hpp"
#include "fixtures/broker.hpp"
#include "fixtures/process.hpp"
#include "twinlink/database.hpp"
#include "twinlink/shadow.hpp"
#include "twinlink/shadow_document.hpp"
#include "twinlink/shadow_service.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using twinlink::Client;
using twinlink::Error;
using twinlink::Shadow;
using twinlink::ShadowOptions;
using twinlink::ShadowRequestError;
using twinlink::ShadowService;
using twinlink::ShadowServiceOptions;
using twinlink::ShadowState;
using twinlink::ShadowStore;
using twinlink::ShadowUpdate;
using twinlink::Status;
using twinlink::TopicProfile;
using tltest::Inbox;
using tltest::kLong;
using tltest::Recorder;
using tltest::wait_until;

struct Delta {
    json value;
    std::uint64_t version = 0;
};

/// For Recorder<Delta>::wait_for: whether a delta holding the key "marker" has arrived. The tests
/// cause one after something that must not raise a delta; since deltas arrive in order, anything
/// that something raised has arrived before it.
bool has_marker(const std::vector<Delta>& deltas) {
    return std::any_of(deltas.begin(), deltas.end(), [](const Delta& d) { return d.value.contains("marker"); });
}

class ShadowEndToEnd : public ::testing::TestWithParam<tlcloud::Backend> {
protected:
    void SetUp() override {
        dir_ = twinlink::testing::detail::make_temp_dir("tl-cloud-e2e-");  // for device-side files
        db_ = std::make_unique<tlcloud::CloudDatabase>(GetParam());
        start_service();
    }

    void TearDown() override {
        stop_service();
        db_.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    void start_service(ShadowServiceOptions options = {}) {
        service_client_ = connected_client();
        db_->reconnect();
        store_ = db_->shadow_store();
        service_ = std::make_unique<ShadowService>(*service_client_, *store_, std::move(options));
    }

    void stop_service() {
        service_.reset();
        store_.reset();
        if (service_client_) service_client_->disconnect(1s);
        service_client_.reset();
    }

    std::unique_ptr<Client> connected_client() {
        auto client = std::make_unique<Client>(tltest::options_for(broker_.uri()));
        client->connect(kLong);
        return client;
    }

    static ShadowOptions shadow_options(const std::string& device, TopicProfile profile = TopicProfile::Twinlink,
                                        const std::string& name = {}) {
        ShadowOptions o;
        o.device = device;
        o.name = name;
        o.profile = profile;
        o.request_timeout = 3s;
        return o;
    }

    /// Waits until the callbacks `client` has queued so far have run (connection events included),
    /// so a Shadow on it has seen a disconnect() that returned.
    static void drain_callbacks(Client& client) {
        tltest::Latch ran;
        client.dispatch([&ran] { ran.open(); });
        ASSERT_TRUE(ran.wait());
    }

    /// Calls `fn` until it returns true or `timeout` passes; every Error thrown counts as false.
    template <class Fn>
    static bool eventually(Fn fn, std::chrono::milliseconds timeout = kLong) {
        return wait_until(
            [&] {
                try {
                    return fn();
                } catch (const Error&) {
                    return false;
                }
            },
            timeout);
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    std::string dir_;
    std::unique_ptr<Client> service_client_;
    std::unique_ptr<tlcloud::CloudDatabase> db_;
    std::unique_ptr<ShadowStore> store_;
    std::unique_ptr<ShadowService> service_;
};

TEST_P(ShadowEndToEnd, DeviceFollowsDesiredStateAndTheDeltaDisappears) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("lamp-1"));
    Shadow app(*app_client, shadow_options("lamp-1"));

    Recorder<Delta> whole, led;
    device.on_delta([whole](const json& delta, std::uint64_t v) { whole.push({delta, v}); });
    device.on_delta("/led", [&device, led](const json& value, std::uint64_t v) {
        led.push({value, v});
        device.report({{"led", value}}, 5s);  // apply, then report
    });

    device.report({{"led", "off"}, {"firmware", "1.2"}}, kLong);
    app.desire({{"led", "on"}}, kLong);

    ASSERT_TRUE(led.wait_count(1));
    EXPECT_EQ(led.items()[0].value, "on");
    ASSERT_TRUE(whole.wait_count(1));
    EXPECT_EQ(whole.items()[0].value, json({{"led", "on"}}));
    EXPECT_EQ(whole.items()[0].version, led.items()[0].version);

    ASSERT_TRUE(eventually([&] {
        const ShadowState s = device.state();
        return s.delta.empty() && s.reported.value("led", "") == "on";
    }));
    ShadowState seen;
    ASSERT_TRUE(eventually([&] {
        seen = app.get(5s);
        return seen.reported.value("led", "") == "on";
    }));
    EXPECT_TRUE(seen.delta.empty()) << seen.delta;
    EXPECT_EQ(seen.desired, json({{"led", "on"}}));
    EXPECT_EQ(seen.reported, json({{"led", "on"}, {"firmware", "1.2"}}));
    EXPECT_EQ(seen.version, 3u);  // report, desire, report
    EXPECT_TRUE(seen.exists);
    // The delta was raised once; the report that cleared it raised none. A marker delta, caused
    // after that report, arrives after anything the report caused.
    app.desire({{"marker", 1}}, kLong);
    ASSERT_TRUE(whole.wait_for(has_marker));
    ASSERT_EQ(whole.size(), 2u);
    EXPECT_EQ(whole.items()[1].value, json({{"marker", 1}}));
    EXPECT_EQ(led.size(), 1u);
}

TEST_P(ShadowEndToEnd, ReportFromInsideADeltaHandlerDoesNotDeadlock) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("dev"));
    Shadow app(*app_client, shadow_options("dev"));
    Recorder<std::string> outcome;
    device.on_delta([&device, outcome](const json& delta, std::uint64_t) {
        try {
            const json accepted = device.report(delta, 5s);
            outcome.push("accepted version " + std::to_string(accepted.value("version", 0)));
        } catch (const Error& e) {
            outcome.push(std::string("failed: ") + e.what());
        }
    });
    app.desire({{"rate", 10}}, kLong);
    ASSERT_TRUE(outcome.wait_count(1));
    EXPECT_EQ(outcome.items()[0], "accepted version 2");
    EXPECT_TRUE(eventually([&] { return app.get(5s).delta.empty(); }));
}

TEST_P(ShadowEndToEnd, StaleVersionIsAConflictAndUpdateWithRetries) {
    auto client_a = connected_client();
    auto client_b = connected_client();
    Shadow a(*client_a, shadow_options("shared"));
    Shadow b(*client_b, shadow_options("shared"));
    a.desire({{"counter", 0}}, kLong);

    const std::uint64_t v = a.get(kLong).version;
    ASSERT_EQ(b.get(kLong).version, v);

    ShadowUpdate first;
    first.desired = json{{"counter", 1}};
    first.version = v;
    a.update(first, kLong);

    ShadowUpdate second;
    second.desired = json{{"counter", 100}};
    second.version = v;  // stale now
    try {
        b.update(second, kLong);
        FAIL() << "a stale version was accepted";
    } catch (const ShadowRequestError& e) {
        EXPECT_EQ(e.status(), Status::Conflict);
        EXPECT_EQ(e.code(), 409);
    }

    const auto increment = [](const ShadowState& current) {
        ShadowUpdate u;
        u.desired = json{{"counter", current.desired.value("counter", 0) + 1}};
        return u;
    };
    b.update_with(increment, 3, kLong);
    EXPECT_EQ(a.get(kLong).desired.value("counter", -1), 2);

    // Two writers racing: every increment lands exactly once.
    constexpr int kEach = 10;
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (Shadow* s : {&a, &b}) {
        writers.emplace_back([s, &increment, &failures] {
            for (int i = 0; i < kEach; ++i) {
                try {
                    s->update_with(increment, 50, kLong);
                } catch (const Error&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& w : writers) w.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(a.get(kLong).desired.value("counter", -1), 2 + 2 * kEach);
    EXPECT_GT(service_->stats().rejected_by_code[409], 1u);
}

TEST_P(ShadowEndToEnd, OfflineDeviceCatchesUpWithOneDelta) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("roamer"));
    Shadow app(*app_client, shadow_options("roamer"));
    Recorder<Delta> deltas;
    device.on_delta([deltas](const json& d, std::uint64_t v) { deltas.push({d, v}); });
    device.report({{"a", 0}, {"b", 0}}, kLong);

    device_client->disconnect(2s);
    app.desire({{"a", 1}}, kLong);
    app.desire({{"b", 2}}, kLong);
    app.desire({{"a", 3}}, kLong);
    EXPECT_EQ(deltas.size(), 0u);

    device_client->connect(kLong);
    ASSERT_TRUE(deltas.wait_count(1));
    const ShadowState s = device.state();
    EXPECT_EQ(s.version, 4u);
    EXPECT_EQ(s.desired, json({{"a", 3}, {"b", 2}}));
    EXPECT_EQ(s.delta, json({{"a", 3}, {"b", 2}}));
    // Nothing else came of the catch-up: the marker's delta is the next one.
    app.desire({{"marker", 1}}, kLong);
    ASSERT_TRUE(deltas.wait_for(has_marker));
    ASSERT_EQ(deltas.size(), 2u);
    EXPECT_EQ(deltas.items()[0].value, json({{"a", 3}, {"b", 2}}));
    EXPECT_EQ(deltas.items()[0].version, 4u);
    EXPECT_EQ(deltas.items()[1].version, 5u);
}

TEST_P(ShadowEndToEnd, DeviceCatchesUpAfterABrokerRestart) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("survivor"));
    Shadow app(*app_client, shadow_options("survivor"));
    Recorder<Delta> deltas;
    device.on_delta([deltas](const json& d, std::uint64_t v) { deltas.push({d, v}); });
    device.report({{"mode", "eco"}}, kLong);

    broker_.kill();
    device.report_async({{"mode", "boost"}});  // made while the broker is down
    EXPECT_EQ(device.state().reported.value("mode", ""), "boost");
    broker_.start();

    ASSERT_TRUE(wait_until([&] {
        return device_client->connected() && app_client->connected() && service_client_->connected();
    }));
    // The report sent after the reconnect reaches the service (resent if it went out before the
    // service had subscribed again).
    ASSERT_TRUE(eventually([&] { return app.get(5s).reported.value("mode", "") == "boost"; }));
    app.desire({{"mode", "eco"}}, kLong);
    ASSERT_TRUE(deltas.wait_count(1));
    EXPECT_EQ(deltas.items().back().value, json({{"mode", "eco"}}));
}

TEST_P(ShadowEndToEnd, ReportsMadeOfflineAreSentAsOneUpdate) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("batcher"));
    Shadow app(*app_client, shadow_options("batcher"));
    device.report({{"boot", 1}}, kLong);

    device_client->disconnect(2s);
    drain_callbacks(*device_client);
    const std::uint64_t updates_before = service_->stats().updates;
    device.report_async({{"a", 1}});
    device.report_async({{"b", {{"x", 1}}}});
    device.report_async({{"a", 2}, {"boot", nullptr}});
    device.report_async({{"b", {{"y", 2}}}});
    const ShadowState local = device.state();
    EXPECT_EQ(local.reported, json({{"a", 2}, {"b", {{"x", 1}, {"y", 2}}}}));

    device_client->connect(kLong);
    ASSERT_TRUE(eventually([&] { return app.get(5s).reported.value("a", 0) == 2; }));
    const ShadowState s = app.get(kLong);
    EXPECT_EQ(s.reported, json({{"a", 2}, {"b", {{"x", 1}, {"y", 2}}}}));
    EXPECT_EQ(s.version, 2u);
    // A marker report goes out after every update queued before it has been answered.
    device.report({{"marker", 1}}, kLong);
    EXPECT_EQ(service_->stats().updates, updates_before + 2);
}

// report() callers on several threads while the device is offline: their updates are folded into
// one, and every caller gets the accepted response of that update once it is back online (the
// result is kept for as long as some caller waits for it, and a caller that timed out earlier
// does not hold it up).
TEST_P(ShadowEndToEnd, ReportCallersFoldedIntoOneUpdateAllGetItsResponse) {
    auto device_client = connected_client();
    Shadow device(*device_client, shadow_options("folded"));
    device.report({{"boot", 1}}, kLong);

    device_client->disconnect(2s);
    drain_callbacks(*device_client);
    EXPECT_THROW(device.report({{"early", 1}}, 200ms), Error);  // times out; stays queued
    constexpr int kCallers = 6;
    std::vector<std::thread> callers;
    std::vector<json> responses(kCallers);
    std::atomic<int> failures{0};
    for (int i = 0; i < kCallers; ++i) {
        callers.emplace_back([&, i] {
            try {
                responses[i] = device.report({{"k" + std::to_string(i), i}}, kLong);
            } catch (const Error&) {
                ++failures;
            }
        });
    }
    // Every caller's update is queued (offline, it is merged locally) before the reconnect.
    ASSERT_TRUE(wait_until([&] { return device.state().reported.size() == kCallers + 2; }, kLong));
    device_client->connect(kLong);
    for (auto& t : callers) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (int i = 0; i < kCallers; ++i) {
        ASSERT_TRUE(responses[i].is_object()) << i;
        // The folded update carried every caller's key.
        EXPECT_EQ(responses[i]["state"]["reported"].value("k" + std::to_string(i), -1), i) << responses[i].dump();
    }
    // A later report() is answered with its own update.
    const json later = device.report({{"later", 1}}, kLong);
    EXPECT_EQ(later["state"]["reported"].value("later", 0), 1) << later.dump();
    EXPECT_FALSE(later["state"]["reported"].contains("k0")) << later.dump();
}

// Merging queued reports must equal applying them in turn, even where one merge patch cannot
// say it: a key deleted (or set to a non-object) and then set to an object is replaced, not
// merged into what the cloud held.
TEST_P(ShadowEndToEnd, OfflineReportsAreAppliedInTheOrderTheyWereMade) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("orderly"));
    Shadow app(*app_client, shadow_options("orderly"));
    json expected = {{"a", {{"x", 1}, {"y", 2}}}, {"b", 1}, {"d", {{"e", 1}}}, {"keep", {{"k", 1}}}};
    device.report(expected, kLong);

    device_client->disconnect(2s);
    drain_callbacks(*device_client);
    const std::vector<json> patches = {
        {{"a", nullptr}},
        {{"a", {{"c", 1}}}},
        {{"b", {{"z", 1}}}},                     // a scalar becomes an object
        {{"d", nullptr}, {"keep", {{"m", 2}}}},  // a plain merge stays a merge
        {{"d", {{"f", 2}}}},
        {{"n", 5}},
    };
    for (const json& p : patches) {
        device.report_async(p);
        twinlink::merge_state(expected, p);
    }
    ASSERT_EQ(expected, json({{"a", {{"c", 1}}},
                              {"b", {{"z", 1}}},
                              {"d", {{"f", 2}}},
                              {"keep", {{"k", 1}, {"m", 2}}},
                              {"n", 5}}));
    EXPECT_EQ(device.state().reported, expected);  // the local copy, before the cloud has it

    device_client->connect(kLong);
    ASSERT_TRUE(eventually([&] { return app.get(5s).reported.value("n", 0) == 5; }));
    EXPECT_EQ(app.get(kLong).reported, expected);
    device.report({{"marker", 1}}, kLong);  // answered after everything queued before it
    expected["marker"] = 1;
    EXPECT_EQ(app.get(kLong).reported, expected);
    EXPECT_EQ(device.state().reported, expected);
    EXPECT_EQ(device.state().version, app.get(kLong).version);
}

TEST_P(ShadowEndToEnd, ServiceRestartKeepsEveryDocumentAndVersion) {
    {
        auto app_client = connected_client();
        for (int i = 0; i < 5; ++i) {
            Shadow app(*app_client, shadow_options("dev-" + std::to_string(i)));
            for (int k = 0; k <= i; ++k) app.desire({{"k", k}}, kLong);
        }
        Shadow named(*app_client, shadow_options("dev-0", TopicProfile::Twinlink, "config"));
        named.report({{"rate", 5}}, kLong);
        named.remove(kLong);
    }
    stop_service();
    start_service();

    auto app_client = connected_client();
    for (int i = 0; i < 5; ++i) {
        Shadow app(*app_client, shadow_options("dev-" + std::to_string(i)));
        const ShadowState s = app.get(kLong);
        EXPECT_EQ(s.version, static_cast<std::uint64_t>(i + 1));
        EXPECT_EQ(s.desired, json({{"k", i}}));
        const json accepted = app.desire({{"k", 100}}, kLong);
        EXPECT_EQ(accepted.value("version", 0u), static_cast<unsigned>(i + 2));
    }
    Shadow named(*app_client, shadow_options("dev-0", TopicProfile::Twinlink, "config"));
    try {
        named.get(kLong);
        FAIL() << "a deleted shadow came back";
    } catch (const ShadowRequestError& e) {
        EXPECT_EQ(e.status(), Status::NotFound);
    }
    EXPECT_EQ(named.desire({{"rate", 1}}, kLong).value("version", 0u), 2u);  // the counter was kept
    EXPECT_EQ(store_->devices().size(), 5u);
}

TEST_P(ShadowEndToEnd, AwsProfileEndToEnd) {
    stop_service();
    ShadowServiceOptions aws;
    aws.profile = TopicProfile::Aws;
    start_service(aws);

    auto device_client = connected_client();
    auto app_client = connected_client();
    Inbox wire;
    app_client->subscribe("$aws/things/thing-7/shadow/#", 1, wire.handler());

    Shadow device(*device_client, shadow_options("thing-7", TopicProfile::Aws));
    Shadow app(*app_client, shadow_options("thing-7", TopicProfile::Aws));
    Shadow device_named(*device_client, shadow_options("thing-7", TopicProfile::Aws, "settings"));
    Shadow app_named(*app_client, shadow_options("thing-7", TopicProfile::Aws, "settings"));
    Recorder<Delta> deltas, named_deltas;
    device.on_delta([deltas](const json& d, std::uint64_t v) { deltas.push({d, v}); });
    device_named.on_delta([named_deltas](const json& d, std::uint64_t v) { named_deltas.push({d, v}); });

    app.desire({{"color", "red"}}, kLong);
    app_named.desire({{"volume", 7}}, kLong);
    ASSERT_TRUE(deltas.wait_count(1));
    ASSERT_TRUE(named_deltas.wait_count(1));
    EXPECT_EQ(deltas.items()[0].value, json({{"color", "red"}}));
    EXPECT_EQ(named_deltas.items()[0].value, json({{"volume", 7}}));

    const auto saw = [&](const std::string& topic) {
        return wire.wait_for([&](const std::vector<tltest::Received>& v) {
            return std::any_of(v.begin(), v.end(), [&](const tltest::Received& m) { return m.topic == topic; });
        });
    };
    EXPECT_TRUE(saw("$aws/things/thing-7/shadow/update/accepted"));
    EXPECT_TRUE(saw("$aws/things/thing-7/shadow/update/delta"));
    EXPECT_TRUE(saw("$aws/things/thing-7/shadow/update/documents"));
    EXPECT_TRUE(saw("$aws/things/thing-7/shadow/name/settings/update/accepted"));
    EXPECT_TRUE(saw("$aws/things/thing-7/shadow/name/settings/update/delta"));

    // The twinlink topics get no answer from an aws service.
    ShadowOptions wrong = shadow_options("thing-7");
    wrong.request_timeout = 500ms;
    Shadow other(*app_client, wrong);
    EXPECT_EQ(tltest::capture_error([&] { other.get(1s); }).status(), Status::Timeout);
}

struct Rejection {
    std::string topic;
    json payload;
};

TEST_P(ShadowEndToEnd, MalformedRequestsAreRejectedAndTheServiceKeepsWorking) {
    auto raw = connected_client();
    Inbox responses;
    raw->subscribe("tl/bad/shadow/#", 1, responses.handler());
    std::size_t seen = 0;
    // Publishes `payload` to `topic` and returns the accepted or rejected answer that follows
    // (skipping our own request, which comes back too, and update/documents and update/delta).
    const auto ask = [&](const std::string& topic, const std::string& payload) -> Rejection {
        raw->publish(topic, payload, 1, false);
        const auto is_answer = [&](const tltest::Received& m) {
            return m.topic == topic + "/accepted" || m.topic == topic + "/rejected";
        };
        std::optional<Rejection> answer;
        responses.wait_for([&](const std::vector<tltest::Received>& v) {
            for (std::size_t i = seen; i < v.size(); ++i) {
                if (!is_answer(v[i])) continue;
                seen = i + 1;
                answer = Rejection{v[i].topic, json::parse(v[i].payload, nullptr, false)};
                return true;
            }
            return false;
        });
        return answer.value_or(Rejection{});
    };
    const std::string update = "tl/bad/shadow/update";
    const std::string rejected = "tl/bad/shadow/update/rejected";

    auto r = ask(update, "this is not json");
    EXPECT_EQ(r.topic, rejected);
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;

    r = ask(update, "[1,2,3]");
    EXPECT_EQ(r.topic, rejected);
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;

    r = ask(update, R"({"state":{"desired":{"a":")" + std::string(100 * 1024, 'x') + R"("}}})");
    EXPECT_EQ(r.topic, rejected);
    EXPECT_EQ(r.payload.value("code", 0), 413) << r.payload;

    std::string deep = R"({"state":{"desired":)";
    for (int i = 0; i < 200; ++i) deep += R"({"k":)";
    deep += "1";
    for (int i = 0; i < 200; ++i) deep += "}";
    deep += "}}";
    r = ask(update, deep);
    EXPECT_EQ(r.topic, rejected);
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;

    r = ask(update, R"({"state":{"desired":{"a":1}},"version":"3","clientToken":"tok-1"})");
    EXPECT_EQ(r.topic, rejected);
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;
    EXPECT_EQ(r.payload.value("clientToken", ""), "tok-1");

    r = ask("tl/bad/shadow/frobnicate", R"({"clientToken":"tok-2"})");
    EXPECT_EQ(r.topic, "tl/bad/shadow/frobnicate/rejected");
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;
    EXPECT_EQ(r.payload.value("clientToken", ""), "tok-2");

    r = ask("tl/bad/shadow/get", R"({"clientToken":5})");
    EXPECT_EQ(r.topic, "tl/bad/shadow/get/rejected");
    EXPECT_EQ(r.payload.value("code", 0), 400) << r.payload;

    r = ask("tl/bad/shadow/get", "");
    EXPECT_EQ(r.topic, "tl/bad/shadow/get/rejected");
    EXPECT_EQ(r.payload.value("code", 0), 404) << r.payload;

    // Still working: a valid update, then a conditional delete with a stale version.
    r = ask(update, R"({"state":{"desired":{"a":1}},"clientToken":"ok"})");
    EXPECT_EQ(r.topic, "tl/bad/shadow/update/accepted");
    EXPECT_EQ(r.payload.value("version", 0), 1);
    EXPECT_EQ(r.payload.value("clientToken", ""), "ok");
    r = ask("tl/bad/shadow/delete", R"({"version":7})");
    EXPECT_EQ(r.topic, "tl/bad/shadow/delete/rejected");
    EXPECT_EQ(r.payload.value("code", 0), 409) << r.payload;

    const auto stats = service_->stats();
    EXPECT_EQ(stats.rejected_by_code.at(400), 6u);
    EXPECT_EQ(stats.rejected_by_code.at(413), 1u);
    EXPECT_EQ(stats.rejected_by_code.at(404), 1u);
    EXPECT_EQ(stats.rejected_by_code.at(409), 1u);
    EXPECT_EQ(stats.accepted, 1u);
    EXPECT_EQ(stats.requests, 10u);
    EXPECT_EQ(stats.updates, 6u);
    EXPECT_EQ(stats.gets, 2u);
    EXPECT_EQ(stats.deletes, 1u);
}

TEST_P(ShadowEndToEnd, RetainedRequestsAreIgnored) {
    stop_service();
    auto raw = connected_client();
    raw->publish_wait("tl/stale/shadow/update", R"({"state":{"desired":{"a":1}}})", 1, true, kLong);
    start_service();
    ASSERT_TRUE(wait_until([&] { return service_->stats().ignored_retained == 1; }));
    EXPECT_EQ(service_->stats().requests, 0u);
    EXPECT_FALSE(store_->load("stale", "").has_value());
    raw->publish_wait("tl/stale/shadow/update", "", 1, true, kLong);  // clear the retained message
}

// An update/accepted whose section is neither an object nor null (written while fuzzing the
// device's message handling): merge_state threw from the message handler after merging the other
// section, leaving the local copy half-updated at the old version. It is now ignored whole.
TEST_P(ShadowEndToEnd, MalformedAcceptedSectionLeavesTheLocalCopyAlone) {
    stop_service();
    auto device_client = connected_client();
    auto raw = connected_client();
    Shadow device(*device_client, shadow_options("forged"));
    const std::string accepted = "tl/forged/shadow/update/accepted";
    // Until the shadow's subscription is in place, resend the first version.
    ASSERT_TRUE(wait_until([&] {
        raw->publish_wait(accepted, R"({"state":{"desired":{"ready":1}},"version":1})", 1, false, kLong);
        return wait_until([&] { return device.state().version == 1; }, 200ms);
    }));
    raw->publish_wait(accepted, R"({"state":{"desired":{"a":1},"reported":5},"version":2})", 1, false, kLong);
    raw->publish_wait(accepted, R"({"state":{"desired":{"b":2}},"version":2})", 1, false, kLong);
    ASSERT_TRUE(wait_until([&] { return device.state().version == 2; }));
    EXPECT_EQ(device.state().desired, json({{"ready", 1}, {"b", 2}}));

    // 300,000 levels (found by replaying a large input through fuzz_shadow_document): the copies
    // and merges overflowed the stack. Dropped before parsing now.
    const std::size_t levels = 300000;
    std::string deep = R"({"state":{"desired":)";
    for (std::size_t i = 0; i < levels; ++i) deep += R"({"x":)";
    deep += "1" + std::string(levels, '}') + R"(},"version":3})";
    raw->publish_wait(accepted, deep, 1, false, kLong);
    raw->publish_wait(accepted, R"({"state":{"desired":{"c":3}},"version":3})", 1, false, kLong);
    ASSERT_TRUE(wait_until([&] { return device.state().version == 3; }));
    EXPECT_EQ(device.state().desired, json({{"ready", 1}, {"b", 2}, {"c", 3}}));
}

TEST_P(ShadowEndToEnd, PersistedShadowKnowsItsStateWhileTheBrokerIsDown) {
    const std::string file = dir_ + "/device-shadow.json";
    ShadowOptions opts = shadow_options("persistent");
    opts.persist_path = file;
    std::uint64_t version = 0;
    {
        auto device_client = connected_client();
        auto app_client = connected_client();
        Shadow device(*device_client, opts);
        Shadow app(*app_client, shadow_options("persistent"));
        Recorder<Delta> seen;
        device.on_delta([seen](const json& d, std::uint64_t v) { seen.push({d, v}); });
        device.report({{"x", 1}}, kLong);
        app.desire({{"y", 2}}, kLong);
        ASSERT_TRUE(seen.wait_count(1));  // the delta is seen before the restart
        ASSERT_TRUE(wait_until([&] { return device.state().desired.value("y", 0) == 2; }));
        version = device.state().version;
        ASSERT_EQ(seen.items()[0].version, version);
        device_client->disconnect(2s);
    }
    broker_.kill();

    // A restarted device, before it reaches the cloud.
    auto device_client = std::make_unique<Client>(tltest::options_for(broker_.uri()));
    device_client->start();
    Recorder<Delta> deltas;
    {
        Shadow device(*device_client, opts);
        const ShadowState s = device.state();
        EXPECT_EQ(s.version, version);
        EXPECT_EQ(s.reported, json({{"x", 1}}));
        EXPECT_EQ(s.desired, json({{"y", 2}}));
        EXPECT_EQ(s.delta, json({{"y", 2}}));
        EXPECT_TRUE(s.exists);
        device.report_async({{"x", 5}});  // offline, and kept in the file
    }
    Shadow device(*device_client, opts);
    device.on_delta([deltas](const json& d, std::uint64_t v) { deltas.push({d, v}); });
    EXPECT_EQ(device.state().reported, json({{"x", 5}}));

    broker_.start();
    auto app_client = connected_client();
    Shadow app(*app_client, shadow_options("persistent"));
    ASSERT_TRUE(eventually([&] { return app.get(5s).reported.value("x", 0) == 5; }));
    ASSERT_TRUE(eventually([&] { return device.state().version == version + 1; }));
    // The restarted device's handler got the delta {y:2} it registered with, from the file, once:
    // the catch-up get of the same version did not raise it again; only the update/delta that
    // follows the report (version + 1) did. The marker's delta comes after all of them.
    app.desire({{"marker", 1}}, kLong);
    ASSERT_TRUE(deltas.wait_for(has_marker));
    const auto seen = deltas.items();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].value, json({{"y", 2}}));
    EXPECT_EQ(seen[0].version, version);
    EXPECT_EQ(seen[1].version, version + 1);
    EXPECT_EQ(seen[2].version, version + 2);
}

// A handler registered after the shadow learnt of a delta gets that delta once, on the
// dispatcher thread, unless it opts out.
TEST_P(ShadowEndToEnd, AHandlerRegisteredAfterConnectGetsThePendingDeltaOnce) {
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("late"));
    Shadow app(*app_client, shadow_options("late"));
    Recorder<Delta> probe;  // to know when the delta event has come and gone
    device.on_delta([probe](const json& d, std::uint64_t version) { probe.push({d, version}); });
    device.report({{"led", "off"}}, kLong);
    const std::uint64_t v = app.desire({{"led", "on"}, {"fan", 2}}, kLong).value("version", std::uint64_t{0});
    ASSERT_TRUE(probe.wait_count(1));
    ASSERT_EQ(probe.items()[0].version, v);
    ASSERT_TRUE(eventually([&] { return device.state().version == v; }));
    ASSERT_EQ(device.state().delta, json({{"led", "on"}, {"fan", 2}}));

    Recorder<Delta> whole, led, absent, skipped;
    Recorder<std::thread::id> threads;
    device.on_delta([whole, threads](const json& d, std::uint64_t version) {
        threads.push(std::this_thread::get_id());
        whole.push({d, version});
    });
    device.on_delta("/led", [led](const json& value, std::uint64_t version) { led.push({value, version}); });
    device.on_delta("/absent", [absent](const json& value, std::uint64_t version) { absent.push({value, version}); });
    device.on_delta([skipped](const json& d, std::uint64_t version) { skipped.push({d, version}); },
                    twinlink::InitialDelta::Skip);

    ASSERT_TRUE(whole.wait_count(1));
    EXPECT_EQ(whole.items()[0].value, json({{"led", "on"}, {"fan", 2}}));
    EXPECT_EQ(whole.items()[0].version, v);
    EXPECT_NE(threads.items()[0], std::this_thread::get_id());
    ASSERT_TRUE(led.wait_count(1));
    EXPECT_EQ(led.items()[0].value, "on");
    EXPECT_EQ(led.items()[0].version, v);

    app.desire({{"marker", 1}}, kLong);
    ASSERT_TRUE(skipped.wait_for(has_marker));
    ASSERT_TRUE(whole.wait_for(has_marker));
    ASSERT_EQ(whole.size(), 2u);
    EXPECT_EQ(whole.items()[1].version, v + 1);
    ASSERT_EQ(skipped.size(), 1u);  // only the marker's
    EXPECT_EQ(skipped.items()[0].version, v + 1);
    ASSERT_EQ(led.size(), 2u);      // the marker's delta still holds /led
    EXPECT_EQ(led.items()[1].version, v + 1);
    EXPECT_EQ(absent.size(), 0u);
}

// Handlers registered while deltas keep coming: whether the pending delta handed over at
// registration or the delta event of the same version comes first, each version reaches a
// handler at most once, and in increasing order.
TEST_P(ShadowEndToEnd, ThePendingDeltaIsNotDeliveredTwiceWhenADeltaRacesWithRegistration) {
    constexpr int kRounds = 40;
    auto device_client = connected_client();
    auto app_client = connected_client();
    Shadow device(*device_client, shadow_options("racer"));
    Shadow app(*app_client, shadow_options("racer"));
    device.report({{"n", 0}}, kLong);

    std::atomic<bool> written{false};
    std::atomic<int> failures{0};
    std::thread writer([&] {
        for (int i = 1; i <= kRounds; ++i) {
            try {
                app.desire({{"n", i}}, kLong);  // one version each
            } catch (const Error&) {
                ++failures;
            }
        }
        written = true;
    });
    // Register a handler each time the device sees a new version, while the delta event of that
    // version is on its way, until the writer is done.
    std::vector<Recorder<Delta>> handlers;
    std::uint64_t last = device.state().version;
    while (!written && handlers.size() < 4 * kRounds) {
        wait_until([&] { return written || device.state().version > last; }, kLong);
        last = device.state().version;
        const Recorder<Delta> recorder;
        handlers.push_back(recorder);
        device.on_delta([recorder](const json& d, std::uint64_t version) { recorder.push({d, version}); });
    }
    writer.join();
    ASSERT_EQ(failures.load(), 0);
    ASSERT_FALSE(handlers.empty());
    app.desire({{"marker", 1}}, kLong);
    for (std::size_t h = 0; h < handlers.size(); ++h) {
        ASSERT_TRUE(handlers[h].wait_for(has_marker)) << "handler " << h;
        const auto seen = handlers[h].items();
        for (std::size_t i = 1; i < seen.size(); ++i)
            EXPECT_LT(seen[i - 1].version, seen[i].version) << "handler " << h << ", delta " << i;
    }
    EXPECT_TRUE(eventually([&] { return device.state().desired == json({{"n", kRounds}, {"marker", 1}}); }));
}

TEST_P(ShadowEndToEnd, ManyDevicesAtOnce) {
    constexpr int kDevices = 40;
    auto devices_client = connected_client();
    auto app_client = connected_client();
    std::vector<std::unique_ptr<Shadow>> devices, apps;
    Recorder<std::string> got;
    for (int i = 0; i < kDevices; ++i) {
        const std::string id = "fleet-" + std::to_string(i);
        devices.push_back(std::make_unique<Shadow>(*devices_client, shadow_options(id)));
        apps.push_back(std::make_unique<Shadow>(*app_client, shadow_options(id)));
        Shadow* device = devices.back().get();
        device->on_delta("/target", [device, got, id](const json& v, std::uint64_t) {
            device->report_async({{"target", v}});
            got.push(id);
        });
    }
    for (int i = 0; i < kDevices; ++i) devices[i]->report_async({{"target", 0}, {"id", i}});
    for (int i = 0; i < kDevices; ++i) apps[i]->desire_async({{"target", i + 1}});
    ASSERT_TRUE(got.wait_count(kDevices));
    for (int i = 0; i < kDevices; ++i) {
        ASSERT_TRUE(eventually([&] {
            const ShadowState s = apps[i]->get(5s);
            return s.reported.value("target", -1) == i + 1 && s.delta.empty();
        })) << "device " << i;
    }
    EXPECT_EQ(store_->devices().size(), static_cast<std::size_t>(kDevices));
    // Only the catch-up gets of shadows that did not exist yet were rejected (404).
    auto stats = service_->stats();
    EXPECT_EQ(stats.rejected, stats.rejected_by_code[404]);
    EXPECT_GE(stats.updates, static_cast<std::uint64_t>(3 * kDevices));
}

TEST_P(ShadowEndToEnd, SmallCacheStillServesEveryDocument) {
    stop_service();
    ShadowServiceOptions small;
    small.cache_documents = 2;
    start_service(small);
    auto app_client = connected_client();
    for (int round = 1; round <= 3; ++round) {
        for (int i = 0; i < 5; ++i) {
            Shadow app(*app_client, shadow_options("c-" + std::to_string(i)));
            EXPECT_EQ(app.desire({{"round", round}}, kLong).value("version", 0), round);
        }
    }
    EXPECT_LE(service_->stats().cached_documents, 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ShadowEndToEnd, tlcloud::backends(), tlcloud::backend_name);

}  // namespace
