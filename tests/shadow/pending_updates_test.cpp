// PendingUpdates: reports and desires queued while an update is in flight or the device is
// offline. What the Shadow sends (the queued updates, in turn) must have the effect of every
// patch applied in turn, with merge_state as the reference, on any document the cloud holds.
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shadow/pending_updates.hpp"
#include "twinlink/shadow_document.hpp"

namespace {

using nlohmann::json;
using twinlink::merge_state;
using twinlink::detail::compose_section;
using twinlink::detail::PendingUpdates;

struct Sections {
    json desired = json::object();
    json reported = json::object();
    bool operator==(const Sections& o) const { return desired == o.desired && reported == o.reported; }
};

void apply(Sections& doc, const std::optional<json>& desired, const std::optional<json>& reported) {
    if (desired) merge_state(doc.desired, *desired);
    if (reported) merge_state(doc.reported, *reported);
}

Sections sent(Sections doc, const PendingUpdates& queue) {
    for (const auto& u : queue.updates()) apply(doc, u.desired, u.reported);
    return doc;
}

TEST(PendingUpdates, ADeleteThenAnObjectReplacesTheKey) {
    PendingUpdates queue;
    queue.add(std::nullopt, json{{"a", nullptr}});
    queue.add(std::nullopt, json{{"a", {{"c", 1}}}});
    Sections cloud;
    cloud.reported = {{"a", {{"x", 1}, {"y", 2}}}};
    EXPECT_EQ(sent(cloud, queue).reported, json({{"a", {{"c", 1}}}}));
    EXPECT_EQ(queue.updates().size(), 2u);
}

TEST(PendingUpdates, ReportsThatSetValuesFoldIntoOneUpdate) {
    PendingUpdates queue;
    const auto g1 = queue.add(std::nullopt, json{{"a", 1}});
    const auto g2 = queue.add(std::nullopt, json{{"b", {{"x", 1}}}});
    const auto g3 = queue.add(json{{"led", "on"}}, json{{"a", 2}, {"boot", nullptr}});
    const auto g4 = queue.add(std::nullopt, json{{"b", {{"y", 2}}}});
    ASSERT_EQ(queue.updates().size(), 1u);
    EXPECT_EQ(g1, g2);
    EXPECT_EQ(g1, g3);
    EXPECT_EQ(g1, g4);
    EXPECT_EQ(*queue.updates()[0].reported, json({{"a", 2}, {"b", {{"x", 1}, {"y", 2}}}, {"boot", nullptr}}));
    EXPECT_EQ(*queue.updates()[0].desired, json({{"led", "on"}}));
}

TEST(PendingUpdates, ANewUpdateGetsALaterGeneration) {
    PendingUpdates queue;
    const auto g1 = queue.add(std::nullopt, json{{"a", 5}});
    const auto g2 = queue.add(std::nullopt, json{{"a", {{"c", 1}}}});  // a number, then an object
    EXPECT_LT(g1, g2);
    ASSERT_EQ(queue.updates().size(), 2u);
    auto first = queue.take();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->generation, g1);
    // With the first in flight, a report folds into the update queued after it.
    EXPECT_EQ(queue.add(std::nullopt, json{{"b", 1}}), g2);
    // The in-flight one goes back in front, unanswered: it cannot fold, so it is sent first again.
    queue.put_back(std::move(*first));
    ASSERT_EQ(queue.updates().size(), 2u);
    EXPECT_EQ(queue.updates()[0].generation, g1);
    Sections cloud;
    cloud.reported = {{"a", {{"x", 1}}}};
    EXPECT_EQ(sent(cloud, queue).reported, json({{"a", {{"c", 1}}}, {"b", 1}}));
}

TEST(PendingUpdates, AnUpdatePutBackFoldsIntoTheNextWhenExact) {
    PendingUpdates queue;
    queue.add(std::nullopt, json{{"a", 1}});
    auto first = queue.take();
    const auto g2 = queue.add(std::nullopt, json{{"b", 2}});
    queue.put_back(std::move(*first));
    ASSERT_EQ(queue.updates().size(), 1u);
    EXPECT_EQ(queue.updates()[0].generation, g2);  // answers the callers of both
    EXPECT_EQ(*queue.updates()[0].reported, json({{"a", 1}, {"b", 2}}));
}

TEST(PendingUpdates, SavesAndLoadsTheQueueAndReadsTheOldSingleObject) {
    PendingUpdates queue;
    queue.add(std::nullopt, json{{"a", nullptr}});
    queue.add(json{{"d", 1}}, json{{"a", {{"c", 1}}}});
    PendingUpdates loaded;
    loaded.load(queue.to_json());
    ASSERT_EQ(loaded.updates().size(), 2u);
    EXPECT_EQ(loaded.to_json(), queue.to_json());

    PendingUpdates old;
    old.load(json{{"reported", {{"x", 5}}}});
    ASSERT_EQ(old.updates().size(), 1u);
    EXPECT_EQ(*old.updates()[0].reported, json({{"x", 5}}));
    EXPECT_FALSE(old.updates()[0].desired);

    PendingUpdates none;
    none.load(json::object());
    EXPECT_TRUE(none.empty());
}

TEST(ComposeSection, CasesThatOneMergePatchCannotSay) {
    // A constant object at a key (deleted or replaced, then set): not one patch.
    EXPECT_FALSE(compose_section(json{{"a", nullptr}}, json{{"a", {{"c", 1}}}}));
    EXPECT_FALSE(compose_section(json{{"a", 1}}, json{{"a", json::object()}}));
    EXPECT_FALSE(compose_section(json{{"a", {1, 2}}}, json{{"a", {{"b", {{"c", 1}}}}}}));
    // The whole section emptied, then written.
    EXPECT_FALSE(compose_section(json(nullptr), json{{"a", 1}}));
    // {} after deletions that may empty the object: the object stays, as {}.
    EXPECT_FALSE(compose_section(json{{"a", {{"x", nullptr}}}}, json{{"a", json::object()}}));
}

TEST(ComposeSection, CasesThatOneMergePatchCanSay) {
    EXPECT_EQ(compose_section(json{{"a", {{"x", 1}}}}, json{{"a", {{"y", 2}}}}), json({{"a", {{"x", 1}, {"y", 2}}}}));
    EXPECT_EQ(compose_section(json{{"a", {{"x", 1}}}}, json{{"a", nullptr}}), json({{"a", nullptr}}));
    EXPECT_EQ(compose_section(json{{"a", 1}}, json{{"a", {{"x", nullptr}}}}), json({{"a", nullptr}}));
    EXPECT_EQ(compose_section(json{{"a", json::object()}}, json{{"a", {{"x", 1}}}}), json({{"a", {{"x", 1}}}}));
    EXPECT_EQ(compose_section(json{{"a", {{"x", 1}}}}, json{{"a", json::object()}}), json({{"a", {{"x", 1}}}}));
    EXPECT_EQ(compose_section(json{{"a", 1}}, json(nullptr)), json(nullptr));
    EXPECT_EQ(compose_section(json(nullptr), json{{"a", nullptr}}), json(nullptr));
}

// ---- the property: random patches on random documents ----------------------------------------

class Generator {
public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}

    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
    bool chance(int percent) { return below(100) < percent; }

    // A value as a patch may hold it: nulls delete, objects merge. Few keys, so that patches
    // collide on them; shallow, so that every depth is reached.
    json patch_value(int depth) {
        switch (below(depth > 0 ? 8 : 5)) {
            case 0: return json(nullptr);
            case 1: return json(below(3));
            case 2: return json(std::string(1, static_cast<char>('p' + below(2))));
            case 3: return chance(50) ? json(true) : json::array({below(2), "s"});
            case 4: return json::object();
            default: return patch_object(depth - 1);
        }
    }

    json patch_object(int depth) {
        json out = json::object();
        const int keys = below(3) + 1;
        for (int i = 0; i < keys; ++i) out[key()] = patch_value(depth);
        return out;
    }

    // A section patch: mostly an object, now and then null (delete the whole section).
    json section_patch() { return chance(6) ? json(nullptr) : patch_object(2); }

    // A document as the cloud may hold it: what patches leave on an empty one.
    Sections document() {
        Sections doc;
        for (int i = below(3); i > 0; --i) apply(doc, patch_object(2), patch_object(2));
        return doc;
    }

    std::string key() { return std::string(1, static_cast<char>('a' + below(3))); }

private:
    std::mt19937 rng_;
};

TEST(PendingUpdatesProperty, WhatIsSentEqualsEveryPatchAppliedInTurn) {
    constexpr int kCases = 2000;
    Generator gen(20240517);
    int folded_cases = 0, split_cases = 0;
    for (int c = 0; c < kCases; ++c) {
        const Sections start = gen.document();
        Sections expected = start;  // every patch applied in turn
        Sections cloud = start;     // what the cloud gets from the queue
        PendingUpdates queue;
        std::optional<PendingUpdates::Update> inflight;
        std::vector<json> trace;
        const int steps = gen.below(6) + 1;
        for (int s = 0; s < steps; ++s) {
            std::optional<json> desired, reported;
            if (gen.chance(60)) reported = gen.section_patch();
            if (!reported || gen.chance(30)) desired = gen.section_patch();
            trace.push_back({{"desired", desired ? *desired : json("-")}, {"reported", reported ? *reported : json("-")}});
            apply(expected, desired, reported);
            queue.add(desired, reported);
            // Now and then the front update goes out: answered, or unanswered and put back (the
            // cloud may still have applied it: a lost answer), as the Shadow does on a resend.
            if (!inflight && gen.chance(30)) inflight = queue.take();
            if (inflight && gen.chance(40)) {
                const int outcome = gen.below(3);
                if (outcome != 1) apply(cloud, inflight->desired, inflight->reported);
                if (outcome == 0) {
                    inflight.reset();
                } else {
                    queue.put_back(std::move(*inflight));
                    inflight.reset();
                }
            }
        }
        if (inflight) apply(cloud, inflight->desired, inflight->reported);
        (queue.updates().size() > 1 ? split_cases : folded_cases)++;
        const Sections got = sent(cloud, queue);
        ASSERT_TRUE(got == expected) << "case " << c << "\nstart: " << json{{"desired", start.desired}, {"reported", start.reported}}
                                     << "\npatches: " << json(trace) << "\nexpected: "
                                     << json{{"desired", expected.desired}, {"reported", expected.reported}}
                                     << "\nsent:     " << json{{"desired", got.desired}, {"reported", got.reported}}
                                     << "\nqueue: " << queue.to_json();
    }
    // Both paths were exercised.
    EXPECT_GT(folded_cases, kCases / 10);
    EXPECT_GT(split_cases, kCases / 10);
}

}  // namespace
