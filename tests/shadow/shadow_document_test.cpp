// ShadowDocument: versions, metadata, and the exact payloads of every response.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twinlink/shadow_document.hpp"
#include "twinlink/shadow_request.hpp"
#include "twinlink/status.hpp"

namespace {

using nlohmann::json;
using twinlink::ShadowDelete;
using twinlink::ShadowDocument;
using twinlink::ShadowGet;
using twinlink::ShadowLimits;
using twinlink::ShadowUpdate;

constexpr std::int64_t T0 = 1700000000;
constexpr std::int64_t T1 = T0 + 60;
constexpr std::int64_t T2 = T0 + 120;

ShadowUpdate desired(const char* patch, std::optional<std::string> token = std::nullopt) {
    ShadowUpdate u;
    u.desired = json::parse(patch);
    u.client_token = std::move(token);
    return u;
}

ShadowUpdate reported(const char* patch, std::optional<std::string> token = std::nullopt) {
    ShadowUpdate u;
    u.reported = json::parse(patch);
    u.client_token = std::move(token);
    return u;
}

// Applies an update that must be accepted.
twinlink::ShadowUpdateOutcome accept(ShadowDocument& doc, const ShadowUpdate& update,
                                     std::int64_t now) {
    auto outcome = doc.apply_update(update, now);
    EXPECT_TRUE(outcome.accepted()) << outcome.payload.dump();
    return outcome;
}

TEST(ShadowDocument, StartsMissingAtVersionZero) {
    ShadowDocument doc("thermostat");
    EXPECT_FALSE(doc.exists());
    EXPECT_EQ(doc.version(), 0u);
    EXPECT_EQ(doc.timestamp(), 0);
    EXPECT_EQ(doc.desired(), json::object());
    EXPECT_EQ(doc.reported(), json::object());
    EXPECT_EQ(doc.delta(), json::object());
    EXPECT_EQ(doc.to_json(), json::parse(R"({"version":0,"timestamp":0})"));
}

TEST(ShadowDocument, FirstUpdateCreatesVersionOne) {
    ShadowDocument doc;
    const auto out = accept(doc, desired(R"({"color":"green","power":"on"})", "tok-1"), T0);
    EXPECT_TRUE(doc.exists());
    EXPECT_EQ(doc.version(), 1u);
    EXPECT_EQ(doc.timestamp(), T0);

    EXPECT_EQ(out.payload, json::parse(R"({
        "state": {"desired": {"color": "green", "power": "on"}},
        "metadata": {"desired": {"color": {"timestamp": 1700000000},
                                 "power": {"timestamp": 1700000000}}},
        "version": 1, "timestamp": 1700000000, "clientToken": "tok-1"})"));
    ASSERT_TRUE(out.delta);
    EXPECT_EQ(*out.delta, json::parse(R"({
        "state": {"color": "green", "power": "on"},
        "metadata": {"color": {"timestamp": 1700000000}, "power": {"timestamp": 1700000000}},
        "version": 1, "timestamp": 1700000000, "clientToken": "tok-1"})"));
    ASSERT_TRUE(out.documents);
    EXPECT_EQ(*out.documents, json::parse(R"({
        "current": {
            "state": {"desired": {"color": "green", "power": "on"}, "reported": {}},
            "metadata": {"desired": {"color": {"timestamp": 1700000000},
                                     "power": {"timestamp": 1700000000}},
                         "reported": {}},
            "version": 1},
        "timestamp": 1700000000, "clientToken": "tok-1"})"))
        << "no 'previous' for a shadow that did not exist";
}

TEST(ShadowDocument, EachAcceptedUpdateAddsOneToTheVersion) {
    ShadowDocument doc;
    for (std::uint64_t i = 1; i <= 5; ++i) {
        const auto out = accept(doc, reported(R"({"n":1})"), T0);
        EXPECT_EQ(doc.version(), i);
        EXPECT_EQ(out.payload["version"], i);
    }
    // Even an update that changes nothing is a new version, as in AWS.
    accept(doc, desired("{}"), T1);
    EXPECT_EQ(doc.version(), 6u);
}

TEST(ShadowDocument, UpdateMessagesEchoTheRequestAndCarryTheFullDelta) {
    ShadowDocument doc;
    accept(doc, desired(R"({"color":"red","lights":{"on":true,"level":3}})"), T0);
    accept(doc, reported(R"({"color":"red","lights":{"on":false,"level":3},"temp":21})"), T0);

    const auto out = accept(doc, desired(R"({"lights":{"level":5},"mode":null})", "t2"), T1);
    EXPECT_EQ(out.payload, json::parse(R"({
        "state": {"desired": {"lights": {"level": 5}, "mode": null}},
        "metadata": {"desired": {"lights": {"level": {"timestamp": 1700000060}},
                                 "mode": {"timestamp": 1700000060}}},
        "version": 3, "timestamp": 1700000060, "clientToken": "t2"})"))
        << "the accepted state is the request's, nulls included";
    ASSERT_TRUE(out.delta);
    EXPECT_EQ(*out.delta, json::parse(R"({
        "state": {"lights": {"on": true, "level": 5}},
        "metadata": {"lights": {"on": {"timestamp": 1700000000},
                                "level": {"timestamp": 1700000060}}},
        "version": 3, "timestamp": 1700000060, "clientToken": "t2"})"))
        << "the delta holds every differing key, with desired's metadata";
    ASSERT_TRUE(out.documents);
    EXPECT_EQ(*out.documents, json::parse(R"({
        "previous": {
            "state": {"desired": {"color": "red", "lights": {"on": true, "level": 3}},
                      "reported": {"color": "red", "lights": {"on": false, "level": 3}, "temp": 21}},
            "metadata": {"desired": {"color": {"timestamp": 1700000000},
                                     "lights": {"on": {"timestamp": 1700000000},
                                                "level": {"timestamp": 1700000000}}},
                         "reported": {"color": {"timestamp": 1700000000},
                                      "lights": {"on": {"timestamp": 1700000000},
                                                 "level": {"timestamp": 1700000000}},
                                      "temp": {"timestamp": 1700000000}}},
            "version": 2},
        "current": {
            "state": {"desired": {"color": "red", "lights": {"on": true, "level": 5}},
                      "reported": {"color": "red", "lights": {"on": false, "level": 3}, "temp": 21}},
            "metadata": {"desired": {"color": {"timestamp": 1700000000},
                                     "lights": {"on": {"timestamp": 1700000000},
                                                "level": {"timestamp": 1700000060}}},
                         "reported": {"color": {"timestamp": 1700000000},
                                      "lights": {"on": {"timestamp": 1700000000},
                                                 "level": {"timestamp": 1700000000}},
                                      "temp": {"timestamp": 1700000000}}},
            "version": 3},
        "timestamp": 1700000060, "clientToken": "t2"})"));
}

TEST(ShadowDocument, NoDeltaMessageWhenInSync) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":1})"), T0);
    const auto out = accept(doc, reported(R"({"a":1,"b":2})"), T1);
    EXPECT_FALSE(out.delta);
    EXPECT_EQ(doc.delta(), json::object());
}

TEST(ShadowDocument, ReportedUpdateLeavingADifferencePublishesTheDelta) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":1,"b":2})"), T0);
    const auto out = accept(doc, reported(R"({"a":1})"), T1);
    ASSERT_TRUE(out.delta);
    EXPECT_EQ((*out.delta)["state"], json::parse(R"({"b":2})"));
}

TEST(ShadowDocument, DeletingAReportedKeyBringsItBackIntoTheDelta) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":1})"), T0);
    EXPECT_FALSE(accept(doc, reported(R"({"a":1})"), T0).delta);
    const auto out = accept(doc, reported(R"({"a":null})"), T1);
    ASSERT_TRUE(out.delta);
    EXPECT_EQ((*out.delta)["state"], json::parse(R"({"a":1})"));
}

TEST(ShadowDocument, DesiredNullDeletesAllDesired) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":1,"b":{"c":2}})"), T0);
    ShadowUpdate u;
    u.desired = nullptr;
    u.reported = json::parse(R"({"a":1})");
    const auto out = accept(doc, u, T1);
    EXPECT_EQ(doc.desired(), json::object());
    EXPECT_EQ(doc.metadata()["desired"], json::object());
    EXPECT_FALSE(out.delta);
    EXPECT_EQ(out.payload, json::parse(R"({
        "state": {"desired": null, "reported": {"a": 1}},
        "metadata": {"desired": {"timestamp": 1700000060},
                     "reported": {"a": {"timestamp": 1700000060}}},
        "version": 2, "timestamp": 1700000060})"));
}

TEST(ShadowDocument, StateNullDeletesAllStateButKeepsTheShadow) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":1})"), T0);
    accept(doc, reported(R"({"b":1})"), T0);
    const auto parsed = twinlink::parse_update_request(R"({"state":null})");
    ASSERT_TRUE(parsed.ok());
    const auto out = accept(doc, parsed.request(), T1);
    EXPECT_TRUE(doc.exists());
    EXPECT_EQ(doc.version(), 3u);
    EXPECT_EQ(doc.to_json(), json::parse(R"({
        "state": {"desired": {}, "reported": {}},
        "metadata": {"desired": {}, "reported": {}},
        "version": 3, "timestamp": 1700000060})"));
    EXPECT_EQ(out.payload["state"], json::parse(R"({"desired":null,"reported":null})"));
}

TEST(ShadowDocument, MetadataFollowsWritesDeletionsAndTypeChanges) {
    ShadowDocument doc;
    accept(doc, desired(R"({"a":{"x":1,"y":2},"s":"text","list":[1,{"k":true}],"gone":1})"), T0);
    EXPECT_EQ(doc.metadata()["desired"], json::parse(R"({
        "a": {"x": {"timestamp": 1700000000}, "y": {"timestamp": 1700000000}},
        "s": {"timestamp": 1700000000},
        "list": [{"timestamp": 1700000000}, {"k": {"timestamp": 1700000000}}],
        "gone": {"timestamp": 1700000000}})"))
        << "arrays get one metadata entry per element, as in AWS";

    // x rewritten, y untouched, s becomes an object, list becomes a scalar, gone deleted.
    accept(doc, desired(R"({"a":{"x":5},"s":{"t":1},"list":0,"gone":null})"), T1);
    EXPECT_EQ(doc.metadata()["desired"], json::parse(R"({
        "a": {"x": {"timestamp": 1700000060}, "y": {"timestamp": 1700000000}},
        "s": {"t": {"timestamp": 1700000060}},
        "list": {"timestamp": 1700000060}})"));

    // An object becomes a scalar and back: no stale metadata survives.
    accept(doc, desired(R"({"a":7})"), T2);
    accept(doc, desired(R"({"a":{"z":1}})"), T2);
    EXPECT_EQ(doc.metadata()["desired"]["a"], json::parse(R"({"z":{"timestamp":1700000120}})"));
    // The reported section was never written: still empty.
    EXPECT_EQ(doc.metadata()["reported"], json::object());
}

TEST(ShadowDocument, RewritingAnArrayRenewsAllItsMetadata) {
    ShadowDocument doc;
    accept(doc, reported(R"({"colors":["RED","GREEN","BLUE"]})"), T0);
    accept(doc, reported(R"({"colors":["RED"]})"), T1);
    EXPECT_EQ(doc.metadata()["reported"],
              json::parse(R"({"colors":[{"timestamp":1700000060}]})"));
}

TEST(ShadowDocument, VersionMustMatchWhenGiven) {
    ShadowDocument doc;
    ShadowUpdate first = desired(R"({"a":1})");
    first.version = 0;  // a shadow that never existed is at version 0
    accept(doc, first, T0);

    ShadowUpdate stale = desired(R"({"a":2})", "stale");
    stale.version = 0;
    const auto out = doc.apply_update(stale, T1);
    ASSERT_FALSE(out.accepted());
    EXPECT_EQ(out.error->code, 409);
    EXPECT_EQ(out.payload, json::parse(R"({"code":409,"message":"Version conflict",
                                           "timestamp":1700000060,"clientToken":"stale"})"));
    EXPECT_FALSE(out.delta);
    EXPECT_FALSE(out.documents);
    EXPECT_EQ(doc.version(), 1u);
    EXPECT_EQ(doc.desired(), json::parse(R"({"a":1})"));

    ShadowUpdate ahead = desired(R"({"a":2})");
    ahead.version = 5;
    EXPECT_EQ(doc.apply_update(ahead, T1).error->code, 409) << "a future version conflicts too";

    ShadowUpdate current = desired(R"({"a":2})");
    current.version = 1;
    accept(doc, current, T1);
    EXPECT_EQ(doc.version(), 2u);
}

TEST(ShadowDocument, RejectsAnUpdateThatMakesTheDocumentTooLarge) {
    ShadowLimits limits;
    limits.max_document_bytes = 100;
    ShadowDocument doc;
    ASSERT_TRUE(doc.apply_update(reported(R"({"a":"0123456789"})"), T0, limits).accepted());
    const json before = doc.to_json();
    const std::string big = R"({"b":")" + std::string(80, 'x') + R"("})";
    const auto out = doc.apply_update(reported(big.c_str(), "big"), T1, limits);
    ASSERT_FALSE(out.accepted());
    EXPECT_EQ(out.error->code, 413);
    EXPECT_EQ(out.payload["clientToken"], "big");
    EXPECT_EQ(doc.to_json(), before) << "a rejected update changes nothing";

    // Deleting to make room is always possible.
    EXPECT_TRUE(doc.apply_update(reported(R"({"a":null})"), T1, limits).accepted());
}

TEST(ShadowDocument, AnOversizedDocumentCanStillShrink) {
    // Stored under larger limits than today's.
    const json stored = {{"state", {{"reported", {{"a", std::string(200, 'x')}, {"b", 1}}}}},
                         {"version", 3}};
    ShadowDocument doc = ShadowDocument::from_json(stored);
    ShadowLimits limits;
    limits.max_document_bytes = 100;
    EXPECT_TRUE(doc.apply_update(reported(R"({"b":null})"), T0, limits).accepted());
    EXPECT_TRUE(doc.apply_update(desired("{}"), T0, limits).accepted()) << "same size";
    const auto grow = doc.apply_update(desired(R"({"c":1})"), T0, limits);
    ASSERT_FALSE(grow.accepted());
    EXPECT_EQ(grow.error->code, 413);
    EXPECT_EQ(doc.version(), 5u);
}

TEST(ShadowDocument, RejectsInvalidUpdatesBuiltInCode) {
    ShadowDocument doc;
    struct Case {
        const char* why;
        ShadowUpdate update;
    };
    ShadowUpdate none;
    ShadowUpdate not_object;
    not_object.desired = json::array({1});
    ShadowUpdate null_in_array = desired(R"({"a":[1,null]})");
    ShadowUpdate bad_utf8;
    bad_utf8.reported = json{{"a", std::string("\xff")}};
    const std::vector<Case> cases = {{"neither section", none},
                                     {"desired is an array", not_object},
                                     {"null inside an array", null_in_array},
                                     {"a string that is not UTF-8", bad_utf8}};
    for (const auto& c : cases) {
        const auto out = doc.apply_update(c.update, T0);
        ASSERT_FALSE(out.accepted()) << c.why;
        EXPECT_EQ(out.error->code, 400) << c.why;
        EXPECT_FALSE(doc.exists()) << c.why;
        EXPECT_NO_THROW((void)out.payload.dump()) << c.why;
    }
    ShadowUpdate long_token = desired(R"({"a":1})", std::string(65, 't'));
    const auto out = doc.apply_update(long_token, T0);
    ASSERT_FALSE(out.accepted());
    EXPECT_EQ(out.payload, json::parse(R"({"code":400,"message":"Invalid clientToken",
                                           "timestamp":1700000000})"))
        << "an invalid token is not echoed";
}

TEST(ShadowDocument, GetReturnsTheWholeDocument) {
    ShadowDocument doc("thermostat");
    accept(doc, desired(R"({"color":"red","temp":20})"), T0);
    accept(doc, reported(R"({"color":"green","temp":20})"), T1);
    const auto got = doc.get_response(ShadowGet{"g-1"}, T2);
    ASSERT_TRUE(got.accepted());
    EXPECT_EQ(got.payload, json::parse(R"({
        "state": {"desired": {"color": "red", "temp": 20},
                  "reported": {"color": "green", "temp": 20},
                  "delta": {"color": "red"}},
        "metadata": {"desired": {"color": {"timestamp": 1700000000},
                                 "temp": {"timestamp": 1700000000}},
                     "reported": {"color": {"timestamp": 1700000060},
                                  "temp": {"timestamp": 1700000060}}},
        "version": 2, "timestamp": 1700000120, "clientToken": "g-1"})"));

    accept(doc, reported(R"({"color":"red"})"), T2);
    EXPECT_FALSE(doc.get_response({}, T2).payload["state"].contains("delta"))
        << "delta only when non-empty";
    EXPECT_FALSE(doc.get_response({}, T2).payload.contains("clientToken"));
}

TEST(ShadowDocument, GetAndDeleteOfAMissingShadowAre404) {
    ShadowDocument doc("lamp");
    const auto got = doc.get_response(ShadowGet{"g"}, T0);
    ASSERT_FALSE(got.accepted());
    EXPECT_EQ(got.payload, json::parse(R"({"code":404,
        "message":"No shadow exists with name: 'lamp'","timestamp":1700000000,"clientToken":"g"})"));
    const auto removed = doc.remove(ShadowDelete{std::nullopt, "d"}, T0);
    ASSERT_FALSE(removed.accepted());
    EXPECT_EQ(removed.payload, json::parse(R"({"code":404,
        "message":"No shadow exists with name: 'lamp'","timestamp":1700000000,"clientToken":"d"})"));
}

TEST(ShadowDocument, DeleteKeepsTheVersionCounter) {
    ShadowDocument doc("lamp");
    accept(doc, desired(R"({"on":true})"), T0);
    accept(doc, reported(R"({"on":true})"), T0);
    const auto removed = doc.remove(ShadowDelete{std::nullopt, "del-1"}, T1);
    ASSERT_TRUE(removed.accepted());
    EXPECT_EQ(removed.payload,
              json::parse(R"({"version":2,"timestamp":1700000060,"clientToken":"del-1"})"));
    EXPECT_FALSE(doc.exists());
    EXPECT_EQ(doc.version(), 2u);
    EXPECT_EQ(doc.to_json(), json::parse(R"({"version":2,"timestamp":1700000060})"));
    EXPECT_EQ(doc.get_response({}, T1).error->code, 404);
    EXPECT_EQ(doc.remove({}, T1).error->code, 404);

    // Created again: it continues from the old version, and has no previous document.
    const auto out = accept(doc, desired(R"({"on":false})"), T2);
    EXPECT_EQ(doc.version(), 3u);
    EXPECT_EQ(out.payload["version"], 3);
    EXPECT_FALSE(out.documents->contains("previous"));
    EXPECT_EQ(doc.desired(), json::parse(R"({"on":false})"));
    EXPECT_EQ(doc.reported(), json::object()) << "nothing of the old state survives";
}

TEST(ShadowDocument, ConditionalDelete) {
    ShadowDocument doc;
    accept(doc, desired(R"({"on":true})"), T0);
    const auto stale = doc.remove(ShadowDelete{7, "x"}, T1);
    ASSERT_FALSE(stale.accepted());
    EXPECT_EQ(stale.payload, json::parse(R"({"code":409,"message":"Version conflict",
                                             "timestamp":1700000060,"clientToken":"x"})"));
    EXPECT_TRUE(doc.exists());
    EXPECT_TRUE(doc.remove(ShadowDelete{1, std::nullopt}, T1).accepted());
}

TEST(ShadowDocument, ClientTokenIsEchoedEverywhereAndOnlyWhenGiven) {
    ShadowDocument doc;
    const auto with = accept(doc, desired(R"({"a":1})", ""), T0);
    EXPECT_EQ(with.payload["clientToken"], "") << "an empty token is still a token";
    EXPECT_EQ((*with.delta)["clientToken"], "");
    EXPECT_EQ((*with.documents)["clientToken"], "");
    const auto without = accept(doc, desired(R"({"a":2})"), T0);
    EXPECT_FALSE(without.payload.contains("clientToken"));
    EXPECT_FALSE(without.delta->contains("clientToken"));
    EXPECT_FALSE(without.documents->contains("clientToken"));
}

TEST(ShadowDocument, RoundTripsThroughJson) {
    ShadowDocument doc("cfg");
    accept(doc, desired(R"({"a":{"b":[1,{"c":"é"}]},"e":{}})"), T0);
    accept(doc, reported(R"({"a":{"b":[1]},"t":21.5})"), T1);
    const json stored = doc.to_json();
    EXPECT_EQ(stored["state"]["delta"], json::parse(R"({"a":{"b":[1,{"c":"é"}]},"e":{}})"));
    const ShadowDocument loaded = ShadowDocument::from_json(stored, "cfg");
    EXPECT_EQ(loaded.to_json(), stored);
    EXPECT_EQ(loaded.version(), 2u);
    EXPECT_EQ(loaded.timestamp(), T1);
    EXPECT_TRUE(loaded.exists());

    // A deleted shadow round-trips as one.
    doc.remove({}, T2);
    const ShadowDocument gone = ShadowDocument::from_json(doc.to_json());
    EXPECT_FALSE(gone.exists());
    EXPECT_EQ(gone.version(), 2u);
}

TEST(ShadowDocument, FromJsonRepairsMetadataAndIgnoresTheStoredDelta) {
    const json stored = json::parse(R"({
        "state": {"desired": {"a": 1, "b": {"c": 2}, "n": null},
                  "reported": {"a": 1}, "delta": {"bogus": true}},
        "metadata": {"desired": {"a": {"timestamp": 5}, "b": {"timestamp": 6}, "x": {}},
                     "reported": {"a": [1]}},
        "version": 4, "timestamp": 100})");
    const ShadowDocument doc = ShadowDocument::from_json(stored);
    EXPECT_EQ(doc.desired(), json::parse(R"({"a":1,"b":{"c":2}})")) << "stray nulls are dropped";
    EXPECT_EQ(doc.delta(), json::parse(R"({"b":{"c":2}})"));
    EXPECT_EQ(doc.metadata(), json::parse(R"({
        "desired": {"a": {"timestamp": 5}, "b": {"c": {"timestamp": 100}}},
        "reported": {"a": {"timestamp": 100}}})"))
        << "entries of the wrong shape get the document's timestamp";
}

TEST(ShadowDocument, FromJsonRejectsMalformedDocuments) {
    const std::vector<const char*> bad = {
        R"([])",
        R"({"version":-1})",
        R"({"version":"1"})",
        R"({"version":1.5})",
        R"({"timestamp":"now"})",
        R"({"state":[]})",
        R"({"state":null})",
        R"({"state":{"desired":[1]}})",
        R"({"state":{"reported":"x"}})",
        R"({"state":{"desired":{"a":[null]}}})",
        R"({"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}}})",
    };
    for (const char* text : bad) {
        try {
            (void)ShadowDocument::from_json(json::parse(text));
            ADD_FAILURE() << "loaded " << text;
        } catch (const twinlink::Error& e) {
            EXPECT_EQ(e.status(), twinlink::Status::InvalidArgument) << text;
            EXPECT_NE(std::string(e.what()).find("shadow document"), std::string::npos) << text;
        }
    }
}

}  // namespace
