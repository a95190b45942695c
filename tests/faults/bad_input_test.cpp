// Bad input from the network, table by table: each message is published over MQTT to a running
// shadow service, datapoint sink or device shadow, and the test checks that it is rejected (the
// rejection's code, or the counter that counts it), that nothing crashed, and that a second device's
// data is exactly what it was. The table in docs/reliability.md ("Bad input from the network")
// lists the same rows. tests/cloud/shadow_e2e_test.cpp and tests/datapoints_e2e/sink_test.cpp
// cover the commonest of these one by one; here every field gets its wrong types.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "datapoints_e2e/cloud_side.hpp"
#include "fixtures/broker.hpp"
#include "test_util.hpp"
#include "twinlink/batch_codec.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"
#include "twinlink/shadow_service.hpp"
#include "twinlink/uuid7.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using twinlink::Client;
using twinlink::Shadow;
using twinlink::ShadowOptions;
using twinlink::Status;
using tltest::kLong;
using tltest::wait_until;

const std::string kVictim = "dev-a";     // the device whose data must stay as it is
const std::string kAttacker = "dev-b";   // the device id the bad messages use

std::string deep_object(int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += R"({"k":)";
    s += "1";
    s += std::string(static_cast<std::size_t>(levels), '}');
    return s;
}

/// A batch of `points` int points for `device`, as a device would send it.
json good_batch(const std::string& device, std::uint64_t seq, int points = 3) {
    twinlink::BatchEncoder enc(twinlink::Encoding::Json, device);
    for (int i = 0; i < points; ++i) enc.add("s", 1'700'000'000'000 + i, std::int64_t{i});
    return json::parse(enc.finish(twinlink::uuid7(), seq));
}

class BadInput : public ::testing::Test {
protected:
    void SetUp() override {
        cloud_ = std::make_unique<dptest::CloudSide>(broker_.uri(), dir_.file("cloud.db"), sink_options());
        service_client_ = connect();
        shadow_db_ = std::make_unique<twinlink::Database>(dir_.file("shadow.db"));
        shadow_store_ = std::make_unique<twinlink::ShadowStore>(*shadow_db_);
        service_ = std::make_unique<twinlink::ShadowService>(*service_client_, *shadow_store_);
        attacker_ = connect();

        // The victim: a shadow with desired and reported state, and stored datapoints.
        victim_client_ = connect();
        ShadowOptions so;
        so.device = kVictim;
        so.request_timeout = 3s;
        victim_ = std::make_unique<Shadow>(*victim_client_, so);
        victim_->desire({{"mode", "eco"}}, kLong);
        victim_->report({{"mode", "eco"}, {"temp", 21}}, kLong);
        twinlink::DatapointOptions dp;
        dp.device = kVictim;
        dp.linger = 20ms;
        twinlink::Datapoints points(*victim_client_, dp);
        for (int i = 0; i < 100; ++i) points.record("s", std::int64_t{i});
        points.flush(kLong);
        victim_before_ = victim_snapshot();
    }

    void TearDown() override {
        // Nothing leaked into the other device's data, and everything still works.
        EXPECT_EQ(victim_snapshot(), victim_before_);
        EXPECT_NO_THROW(victim_->report({{"still", "working"}}, kLong));
        victim_.reset();
        victim_client_->disconnect(1s);
        service_.reset();
        service_client_->disconnect(1s);
        attacker_->disconnect(1s);
    }

    static twinlink::DatapointSinkOptions sink_options() {
        twinlink::DatapointSinkOptions o;
        o.max_batch_bytes = 64 * 1024;
        return o;
    }

    std::unique_ptr<Client> connect() {
        auto c = std::make_unique<Client>(tltest::options_for(broker_.uri()));
        c->connect(kLong);
        return c;
    }

    /// The victim's shadow in the store, its local copy on the device, and its stored points.
    std::string victim_snapshot() {
        const auto doc = shadow_store_->load(kVictim, "");
        const auto local = victim_->state();
        return (doc ? doc->to_json().dump() : "none") + " | local v" + std::to_string(local.version) + " " +
               local.desired.dump() + local.reported.dump() + " | points " +
               std::to_string(cloud_->store().count(kVictim));
    }

    /// Publishes a request and returns the service's answer on `topic`/accepted or /rejected: the
    /// code (0 when accepted), or nothing when no answer came.
    std::optional<int> ask(const std::string& topic, const std::string& payload) {
        tltest::Inbox answers;
        const auto sub = attacker_->subscribe(topic + "/+", 1, answers.handler());
        attacker_->publish_wait(topic, payload, 1, false, kLong);
        std::optional<int> code;
        answers.wait_for(
            [&](const std::vector<tltest::Received>& v) {
                for (const auto& m : v) {
                    if (m.topic == topic + "/accepted") code = 0;
                    if (m.topic == topic + "/rejected") code = json::parse(m.payload).value("code", -1);
                    if (code) return true;
                }
                return false;
            },
            5s);
        attacker_->unsubscribe(sub);
        return code;
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    dptest::TempDir dir_{"tl-faults-bad-"};
    std::unique_ptr<dptest::CloudSide> cloud_;
    std::unique_ptr<Client> service_client_, attacker_, victim_client_;
    std::unique_ptr<twinlink::Database> shadow_db_;
    std::unique_ptr<twinlink::ShadowStore> shadow_store_;
    std::unique_ptr<twinlink::ShadowService> service_;
    std::unique_ptr<Shadow> victim_;
    std::string victim_before_;
};

struct ServiceCase {
    std::string what;
    std::string topic;    // relative: "update" means tl/dev-b/shadow/update
    std::string payload;
    int code;             // expected answer: 0 accepted, else the rejection's code
};

TEST_F(BadInput, ShadowServiceRejectsEachWithItsCodeAndCountsIt) {
    const std::string desired = R"({"state":{"desired":)";
    const std::vector<ServiceCase> cases = {
        {"malformed JSON", "update", R"({"state":{"desired":{"a":1})", 400},
        {"not an object", "update", "[1,2,3]", 400},
        {"empty payload on update", "update", "", 400},
        {"deep nesting (200 levels)", "update", desired + deep_object(200) + "}}", 400},
        {"number out of double range", "update", desired + R"({"x":1e400}}})", 400},
        {"integer beyond 64 bits (a valid JSON number)", "update", desired + R"({"x":123456789012345678901234567890}}})", 0},
        {"version beyond 64 bits", "update", desired + R"({"a":1}},"version":18446744073709551616})", 400},
        {"negative version", "update", desired + R"({"a":1}},"version":-1})", 400},
        {"fractional version", "update", desired + R"({"a":1}},"version":1.5})", 400},
        {"version as a string", "update", desired + R"({"a":1}},"version":"1"})", 400},
        {"invalid UTF-8 in a value", "update", desired + "{\"a\":\"\xff\xfe\"}}}", 400},
        {"invalid UTF-8 in a key", "update", desired + "{\"\xc3\x28\":1}}}", 400},
        {"oversized (100 KiB document)", "update", desired + R"({"a":")" + std::string(100 * 1024, 'x') + R"("}}})", 413},
        {"state is a number", "update", R"({"state":5})", 400},
        {"state is an array", "update", R"({"state":[1]})", 400},
        {"desired is a string", "update", R"({"state":{"desired":"x"}})", 400},
        {"reported is an array", "update", R"({"state":{"reported":[1]}})", 400},
        {"clientToken is a number", "update", desired + R"({"a":1}},"clientToken":5})", 400},
        {"clientToken is an object", "get", R"({"clientToken":{}})", 400},
        {"get: version as a string", "get", R"({"version":"x"})", 400},
        {"delete: version negative", "delete", R"({"version":-3})", 400},
        {"unknown operation", "frobnicate", "{}", 400},
    };
    const std::uint64_t rejected_before = service_->stats().rejected;
    std::uint64_t expected_rejected = 0;
    for (const auto& c : cases) {
        const auto before = service_->stats();
        const auto code = ask("tl/" + kAttacker + "/shadow/" + c.topic, c.payload);
        const auto after = service_->stats();
        ASSERT_TRUE(code.has_value()) << c.what << ": no answer";
        EXPECT_EQ(*code, c.code) << c.what;
        EXPECT_EQ(after.requests, before.requests + 1) << c.what;
        if (c.code != 0) {
            ++expected_rejected;
            EXPECT_EQ(after.rejected, before.rejected + 1) << c.what;
            EXPECT_EQ(after.rejected_by_code.at(c.code), before.rejected_by_code.count(c.code)
                                                             ? before.rejected_by_code.at(c.code) + 1
                                                             : 1u)
                << c.what;
        }
        std::printf("BAD-INPUT service | %s | %s\n", c.what.c_str(),
                    c.code == 0 ? "accepted" : ("rejected " + std::to_string(c.code)).c_str());
    }
    EXPECT_EQ(service_->stats().rejected, rejected_before + expected_rejected);
}

TEST_F(BadInput, ShadowServiceRejectsTopicsThatAreNoDeviceOfTheirLevel) {
    // Unicode, an empty level, a dot-dot level: the device id must be 1..128 of [A-Za-z0-9_:.-].
    const std::vector<std::pair<std::string, std::string>> topics = {
        {"unicode device id", "tl/d\xc3\xa9v/shadow/update"},
        {"empty device id", "tl//shadow/update"},
        {"device id with a space", "tl/dev a/shadow/update"},
        {"shadow name with unicode", "tl/" + kAttacker + "/shadow/\xc3\xa9/update"},
        {"device id of 129 characters", "tl/" + std::string(129, 'd') + "/shadow/update"},
    };
    for (const auto& [what, topic] : topics) {
        const auto before = service_->stats();
        const auto code = ask(topic, R"({"state":{"desired":{"x":1}}})");
        ASSERT_TRUE(code.has_value()) << what << ": no answer";
        EXPECT_EQ(*code, 400) << what;
        EXPECT_EQ(service_->stats().rejected_by_code.at(400),
                  (before.rejected_by_code.count(400) ? before.rejected_by_code.at(400) : 0u) + 1)
            << what;
        std::printf("BAD-INPUT topic | %s | rejected 400\n", what.c_str());
    }
    // ".." is made of allowed characters: a shadow of dev-b named "..", with no path meaning (the
    // store keys documents by (device, name), never by a path).
    EXPECT_EQ(ask("tl/" + kAttacker + "/shadow/../update", R"({"state":{"desired":{"x":1}}})"), 0);
    EXPECT_TRUE(shadow_store_->load(kAttacker, "..").has_value());
    std::printf("BAD-INPUT topic | shadow name '..' | accepted: a shadow of dev-b named '..'\n");
    // Levels that try to reach the victim's topics ("..", a second device level) match no request
    // filter: the broker never delivers them, and the service counts nothing.
    const auto before = service_->stats().requests;
    for (const std::string& topic : {"tl/" + kAttacker + "/../" + kVictim + "/shadow/update",
                                    "tl/" + kAttacker + "/" + kVictim + "/shadow/update"})
        attacker_->publish_wait(topic, R"({"state":{"desired":{"mode":"hacked"}}})", 1, false, kLong);
    EXPECT_TRUE(ask("tl/" + kAttacker + "/shadow/get", "{}").has_value());  // a marker: everything before it was handled
    EXPECT_EQ(service_->stats().requests, before + 1);
    std::printf("BAD-INPUT topic | device level escape (.., two levels) | not delivered (no filter matches)\n");

    // Wildcards and invalid UTF-8 cannot be published at all: the client refuses them.
    for (const std::string& topic : {std::string("tl/+/shadow/update"), std::string("tl/#"),
                                    std::string("tl/\xff/shadow/update")}) {
        const auto e = tltest::capture_error([&] { attacker_->publish(topic, "{}", 1, false); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << topic << ": " << e.what();
    }
    std::printf("BAD-INPUT topic | wildcard or invalid UTF-8 in a publish topic | refused by Client::publish (InvalidArgument)\n");
}

TEST_F(BadInput, DatapointSinkRejectsEachAndCountsIt) {
    const std::string topic = "tl/" + kAttacker + "/dp";
    std::vector<std::pair<std::string, std::string>> cases = {
        {"malformed JSON", R"({"v":1,"device":)"},
        {"CBOR garbage", std::string("\xa1\xff\x00\x13", 4)},
        {"deep nesting (200 levels)", deep_object(200)},
        {"oversized (> max_batch_bytes 64 KiB)", std::string(70 * 1024, ' ') + good_batch(kAttacker, 1).dump()},
        {"another device's batch (claims dev-a)", good_batch(kVictim, 2).dump()},
        {"invalid UTF-8 in a series name", [&] {
             std::string s = good_batch(kAttacker, 3).dump();
             s.replace(s.find("\"s\":"), 4, "\"\xff\":");
             return s;
         }()},
        {"number out of double range", [&] {
             std::string s = good_batch(kAttacker, 4).dump();
             s.replace(s.find("\"v\":[0"), 6, "\"v\":[1e400");
             return s;
         }()},
    };
    // Every member with the wrong type.
    const auto wrong = [&](const std::string& what, const std::function<void(json&)>& mutate) {
        json b = good_batch(kAttacker, 10 + cases.size());
        mutate(b);
        cases.emplace_back(what, b.dump());
    };
    wrong("v is a string", [](json& b) { b["v"] = "1"; });
    wrong("device is a number", [](json& b) { b["device"] = 5; });
    wrong("batch is a number", [](json& b) { b["batch"] = 5; });
    wrong("seq is negative", [](json& b) { b["seq"] = -1; });
    wrong("seq is a string", [](json& b) { b["seq"] = "7"; });
    wrong("seq beyond 64 bits", [](json& b) { b["seq"] = 1e30; });
    wrong("t0 is a string", [](json& b) { b["t0"] = "x"; });
    wrong("series is an array", [](json& b) { b["series"] = json::array({1}); });
    wrong("a series is a number", [](json& b) { b["series"]["s"] = 5; });
    wrong("t is an object", [](json& b) { b["series"]["s"]["t"] = json::object(); });
    wrong("t holds a string", [](json& b) { b["series"]["s"]["t"][0] = "a"; });
    wrong("t negative", [](json& b) { b["series"]["s"]["t"][0] = -5; });
    wrong("v is a string", [](json& b) { b["series"]["s"]["v"] = "abc"; });
    wrong("v holds null", [](json& b) { b["series"]["s"]["v"][0] = nullptr; });
    wrong("v holds an array", [](json& b) { b["series"]["s"]["v"][0] = json::array({1}); });

    const auto before = cloud_->sink().stats();
    const auto handled = cloud_->handled();
    for (const auto& [what, payload] : cases) attacker_->publish_wait(topic, payload, 1, false, kLong);
    ASSERT_TRUE(cloud_->wait_handled(handled + cases.size()));
    const auto after = cloud_->sink().stats();
    EXPECT_EQ(after.rejected, before.rejected + cases.size());
    EXPECT_EQ(after.batches, before.batches);
    EXPECT_EQ(cloud_->store().count(kAttacker), 0u);
    for (const auto& [what, payload] : cases) std::printf("BAD-INPUT sink | %s | rejected\n", what.c_str());
}

TEST_F(BadInput, DeviceShadowDropsMalformedResponsesAndCountsThem) {
    // Messages on the victim's own response topics, as a rogue publisher could send them (the
    // broker's ACL is what normally stops that; the device must survive it anyway).
    const std::string root = "tl/" + kVictim + "/shadow/";
    const json doc_before = victim_->state().desired;
    struct Case {
        std::string what, topic, payload;
        bool malformed;  // counted in ShadowStats::malformed
    };
    const std::vector<Case> cases = {
        {"malformed JSON", "update/delta", "{\"state\":", true},
        {"not an object", "update/accepted", "[1]", true},
        {"deep nesting (100 levels)", "update/delta", R"({"state":)" + deep_object(100) + R"(,"version":99})", true},
        {"invalid UTF-8", "update/accepted", "{\"state\":{\"desired\":{\"a\":\"\xff\"}},\"version\":99}", true},
        {"number out of double range", "update/documents", R"({"current":{"version":1e400}})", true},
        {"desired section is a number", "update/accepted",
         R"({"state":{"desired":5},"version":)" + std::to_string(victim_->state().version + 1) + "}", true},
        {"version as a string (stale, ignored)", "update/accepted", R"({"state":{"desired":{"a":1}},"version":"9"})", false},
        {"delta state is a string (empty delta, ignored)", "update/delta", R"({"state":"x","version":1000})", false},
        {"documents current is an array (ignored)", "update/documents", R"({"current":[1]})", false},
        {"rejected without a code (no request of ours)", "get/rejected", R"({"code":"x","message":5})", false},
    };
    for (const auto& c : cases) {
        const auto before = victim_->stats();
        attacker_->publish_wait(root + c.topic, c.payload, 1, false, kLong);
        // `messages` counts a message as it arrives, `malformed` once it has been read.
        const std::uint64_t expected = before.malformed + (c.malformed ? 1 : 0);
        ASSERT_TRUE(wait_until(
            [&] {
                const auto now = victim_->stats();
                return now.messages > before.messages && now.malformed >= expected;
            },
            5s))
            << c.what;
        EXPECT_EQ(victim_->stats().malformed, expected) << c.what;
        std::printf("BAD-INPUT device | %s | %s\n", c.what.c_str(),
                    c.malformed ? "dropped, counted in ShadowStats::malformed" : "ignored (not newer / no request)");
    }
    EXPECT_EQ(victim_->state().desired, doc_before);
    // The delta above named version 1000: a later real delta must still get through. It does,
    // because the device reads the document again on the next change it hears about.
}

// A get/rejected whose "code" is not a number failed nothing: the exception thrown while reading
// it was caught and logged, and the request waited for its timeout. Now it fails at once, as a
// rejection with code 500.
TEST(BadInputShadowResponse, ARejectionWithANonNumericCodeFailsTheRequestAtOnce) {
    twinlink::testing::Broker broker{twinlink::testing::Broker::Options{false}};
    Client fake_service(tltest::options_for(broker.uri()));
    fake_service.connect(kLong);
    const std::string root = "tl/dev-gap/shadow/";
    for (const std::string op : {"get", "update"}) {
        fake_service.subscribe(root + op, 1, [&fake_service, root, op](const twinlink::MessageView& m) {
            const json request = json::parse(m.payload, nullptr, false);
            json answer = {{"code", "four hundred"}, {"message", json::array({"not", "a", "string"})}};
            if (request.is_object() && request.contains("clientToken")) answer["clientToken"] = request["clientToken"];
            fake_service.publish(root + op + "/rejected", answer.dump(), 1, false);
        });
    }
    Client device_client(tltest::options_for(broker.uri()));
    device_client.connect(kLong);
    ShadowOptions so;
    so.device = "dev-gap";
    so.request_timeout = 10s;
    Shadow shadow(device_client, so);

    const auto start = std::chrono::steady_clock::now();
    const auto e = tltest::capture_error([&] { shadow.get(10s); });
    const auto took = tltest::elapsed_since(start);
    EXPECT_EQ(e.status(), Status::Rejected) << e.what();
    EXPECT_TRUE(tltest::contains_ci(e.what(), "rejected (500)")) << e.what();
    EXPECT_LT(took, 5s) << "the get waited for its timeout: " << e.what();

    twinlink::ShadowUpdate update;
    update.desired = json{{"a", 1}};
    const auto u = tltest::capture_error([&] { shadow.update(update, 10s); });
    EXPECT_EQ(u.status(), Status::Rejected) << u.what();
    EXPECT_EQ(shadow.stats().malformed, 0u) << "a rejection with a bad code is still a rejection";
}

}  // namespace
