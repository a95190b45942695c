// merge_state and compute_delta: the two pure rules every other part of the shadow builds on.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twinlink/shadow_document.hpp"
#include "twinlink/status.hpp"

namespace {

using nlohmann::json;

struct MergeCase {
    const char* why;
    const char* target;
    const char* patch;
    const char* expected;
};

const std::vector<MergeCase> kMergeCases = {
    {"a new key is added", R"({"a":1})", R"({"b":2})", R"({"a":1,"b":2})"},
    {"a scalar is replaced", R"({"a":1})", R"({"a":"x"})", R"({"a":"x"})"},
    {"null deletes a key", R"({"a":1,"b":2})", R"({"a":null})", R"({"b":2})"},
    {"null for a missing key does nothing", R"({"a":1})", R"({"z":null})", R"({"a":1})"},
    {"nested objects merge key by key", R"({"l":{"on":true,"level":3}})", R"({"l":{"level":4}})",
     R"({"l":{"on":true,"level":4}})"},
    {"a nested null deletes only that key", R"({"l":{"on":true,"level":3}})",
     R"({"l":{"level":null}})", R"({"l":{"on":true}})"},
    {"an object emptied by deletions is removed", R"({"a":1,"l":{"on":true}})",
     R"({"l":{"on":null}})", R"({"a":1})"},
    {"emptiness propagates upwards", R"({"a":{"b":{"c":1}},"k":0})", R"({"a":{"b":{"c":null}}})",
     R"({"k":0})"},
    {"an object keeps keys the patch does not delete", R"({"a":{"b":{"c":1},"d":2}})",
     R"({"a":{"b":{"c":null}}})", R"({"a":{"d":2}})"},
    {"an explicitly empty object is stored", R"({})", R"({"e":{}})", R"({"e":{}})"},
    {"an explicitly empty object replaces a scalar", R"({"e":5})", R"({"e":{}})", R"({"e":{}})"},
    {"an explicitly empty object leaves an object as it is", R"({"e":{"x":1}})", R"({"e":{}})",
     R"({"e":{"x":1}})"},
    {"a patch of only deletions creates nothing", R"({})", R"({"a":{"b":null}})", R"({})"},
    {"arrays are replaced whole", R"({"a":[1,2,3]})", R"({"a":[9]})", R"({"a":[9]})"},
    {"an array of objects is replaced, not merged", R"({"a":[{"x":1},{"y":2}]})",
     R"({"a":[{"z":3}]})", R"({"a":[{"z":3}]})"},
    {"an object replaces an array", R"({"a":[1]})", R"({"a":{"b":1}})", R"({"a":{"b":1}})"},
    {"an array replaces an object", R"({"a":{"b":1}})", R"({"a":[1]})", R"({"a":[1]})"},
    {"a scalar replaces an object", R"({"a":{"b":1}})", R"({"a":false})", R"({"a":false})"},
    {"an object replaces a scalar", R"({"a":"x"})", R"({"a":{"b":1,"c":null}})",
     R"({"a":{"b":1}})"},
    {"deleting under a scalar removes the scalar (the patch's object wins)", R"({"a":5})",
     R"({"a":{"b":null}})", R"({})"},
    {"an empty patch changes nothing", R"({"a":1})", R"({})", R"({"a":1})"},
    {"unicode keys are ordinary keys", R"({"température":1})",
     R"({"température":null,"温度":{"值":2}})", R"({"温度":{"值":2}})"},
    {"numbers keep their type", R"({})", R"({"i":-1,"u":18446744073709551615,"f":0.5})",
     R"({"i":-1,"u":18446744073709551615,"f":0.5})"},
};

TEST(MergeState, FollowsTheUpdateRules) {
    for (const auto& c : kMergeCases) {
        json target = json::parse(c.target);
        twinlink::merge_state(target, json::parse(c.patch));
        EXPECT_EQ(target, json::parse(c.expected)) << c.why;
    }
}

TEST(MergeState, IsIdempotent) {
    for (const auto& c : kMergeCases) {
        json once = json::parse(c.target);
        twinlink::merge_state(once, json::parse(c.patch));
        json twice = once;
        twinlink::merge_state(twice, json::parse(c.patch));
        EXPECT_EQ(twice, once) << c.why;
    }
}

TEST(MergeState, NullPatchEmptiesTheTarget) {
    json target = {{"a", 1}};
    twinlink::merge_state(target, nullptr);
    EXPECT_EQ(target, json::object());
}

TEST(MergeState, NonObjectTargetBecomesAnObject) {
    json target = 42;
    twinlink::merge_state(target, {{"a", 1}});
    EXPECT_EQ(target, json({{"a", 1}}));
}

TEST(MergeState, RejectsAPatchThatIsNotAnObject) {
    for (const json& patch : {json(1), json("x"), json::array({1}), json(true)}) {
        json target = json::object();
        try {
            twinlink::merge_state(target, patch);
            ADD_FAILURE() << "accepted " << patch.dump();
        } catch (const twinlink::Error& e) {
            EXPECT_EQ(e.status(), twinlink::Status::InvalidArgument);
        }
    }
}

struct DeltaCase {
    const char* why;
    const char* desired;
    const char* reported;
    const char* expected;
};

const std::vector<DeltaCase> kDeltaCases = {
    {"in sync", R"({"a":1})", R"({"a":1})", R"({})"},
    {"both empty", R"({})", R"({})", R"({})"},
    {"a differing value", R"({"a":1,"b":2})", R"({"a":1,"b":3})", R"({"b":2})"},
    {"a key missing in reported", R"({"a":1})", R"({})", R"({"a":1})"},
    {"a key only in reported is ignored", R"({})", R"({"temp":21})", R"({})"},
    {"nested objects recurse, with the path to the root", R"({"l":{"c":{"r":255,"g":255}}})",
     R"({"l":{"c":{"r":255,"g":0}}})", R"({"l":{"c":{"g":255}}})"},
    {"a nested object missing in reported appears whole", R"({"l":{"on":true}})", R"({"x":1})",
     R"({"l":{"on":true}})"},
    {"arrays compare whole", R"({"a":[1,2,3]})", R"({"a":[1,2]})", R"({"a":[1,2,3]})"},
    {"equal arrays are in sync", R"({"a":[1,{"x":[2]}]})", R"({"a":[1,{"x":[2]}]})", R"({})"},
    {"array order matters", R"({"a":[1,2]})", R"({"a":[2,1]})", R"({"a":[1,2]})"},
    {"a type change counts: object vs scalar", R"({"a":{"b":1}})", R"({"a":5})",
     R"({"a":{"b":1}})"},
    {"a type change counts: string vs number", R"({"a":"1"})", R"({"a":1})", R"({"a":"1"})"},
    {"a type change counts: array vs object", R"({"a":[]})", R"({"a":{}})", R"({"a":[]})"},
    {"an explicit empty object matches an empty object", R"({"e":{}})", R"({"e":{}})", R"({})"},
    {"an explicit empty object missing in reported", R"({"e":{}})", R"({})", R"({"e":{}})"},
    {"an empty desired object matches any reported object", R"({"e":{}})", R"({"e":{"x":1}})",
     R"({})"},
    {"numbers compare by value", R"({"a":1,"b":2})", R"({"a":1.0,"b":2.5})", R"({"b":2})"},
    {"booleans are not numbers", R"({"a":true})", R"({"a":1})", R"({"a":true})"},
    {"unicode keys", R"({"温度":20,"é":1})", R"({"温度":21,"é":1})", R"({"温度":20})"},
};

TEST(ComputeDelta, FollowsTheDeltaRules) {
    for (const auto& c : kDeltaCases) {
        EXPECT_EQ(twinlink::compute_delta(json::parse(c.desired), json::parse(c.reported)),
                  json::parse(c.expected))
            << c.why;
    }
}

TEST(ComputeDelta, ReportingTheDesiredStateClearsIt) {
    for (const auto& c : kDeltaCases) {
        const json desired = json::parse(c.desired);
        json reported = json::parse(c.reported);
        twinlink::merge_state(reported, desired);
        EXPECT_EQ(twinlink::compute_delta(desired, reported), json::object()) << c.why;
    }
}

TEST(ComputeDelta, NonObjectsAreHandled) {
    EXPECT_EQ(twinlink::compute_delta(json(1), json::object()), json::object());
    EXPECT_EQ(twinlink::compute_delta(json({{"a", 1}}), json(nullptr)), json({{"a", 1}}));
}

}  // namespace
