// detail::SubscriptionTable: handlers, the broker subscriptions they need, and routing.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/subscription_table.hpp"

namespace {

using twinlink::MessageView;
using twinlink::detail::SubscriptionTable;

void noop(const MessageView&) {}

std::set<std::uint64_t> ids(const std::vector<std::shared_ptr<twinlink::detail::Subscription>>& v) {
    std::set<std::uint64_t> out;
    for (const auto& s : v) out.insert(s->id);
    return out;
}

// The filters with their QoS, sorted (identifiers are checked separately).
std::vector<std::pair<std::string, int>> sorted(const std::vector<SubscriptionTable::Filter>& filters) {
    std::vector<std::pair<std::string, int>> v;
    for (const auto& f : filters) v.emplace_back(f.filter, f.qos);
    std::sort(v.begin(), v.end());
    return v;
}

TEST(InternalSubscriptionTable, AddTellsWhenTheBrokerMustBeAsked) {
    SubscriptionTable t;
    auto a = t.add("a/+", 1, noop);
    EXPECT_TRUE(a.broker_subscribe) << "new filter";
    EXPECT_GT(a.subscription->id, 0u);
    EXPECT_TRUE(a.subscription->active.load());
    EXPECT_EQ(a.subscription->filter, "a/+");
    EXPECT_EQ(a.subscription->qos, 1);
    EXPECT_FALSE(t.add("a/+", 1, noop).broker_subscribe) << "same filter, same qos";
    EXPECT_FALSE(t.add("a/+", 0, noop).broker_subscribe) << "same filter, lower qos";
    EXPECT_TRUE(t.add("a/+", 2, noop).broker_subscribe) << "same filter, higher qos";
    EXPECT_TRUE(t.add("a/#", 0, noop).broker_subscribe) << "another filter";
}

TEST(InternalSubscriptionTable, IdsAreUniqueAndGenerationChangesOnAdd) {
    SubscriptionTable t;
    std::set<std::uint64_t> seen;
    auto g = t.generation();
    for (int i = 0; i < 50; ++i) {
        seen.insert(t.add("x", 0, noop).subscription->id);
        EXPECT_NE(t.generation(), g);
        g = t.generation();
    }
    EXPECT_EQ(seen.size(), 50u);
}

TEST(InternalSubscriptionTable, MatchingFollowsTopicRules) {
    SubscriptionTable t;
    const auto plus = t.add("a/+", 1, noop).subscription->id;
    const auto hash = t.add("a/#", 1, noop).subscription->id;
    const auto exact = t.add("a/b", 1, noop).subscription->id;
    const auto all = t.add("#", 0, noop).subscription->id;
    t.add("b/+", 0, noop);
    EXPECT_EQ(ids(t.matching("a/b")), (std::set<std::uint64_t>{plus, hash, exact, all}));
    EXPECT_EQ(ids(t.matching("a/c/d")), (std::set<std::uint64_t>{hash, all}));
    EXPECT_EQ(ids(t.matching("a")), (std::set<std::uint64_t>{hash, all}));
    EXPECT_EQ(ids(t.matching("$SYS/x")), std::set<std::uint64_t>{});
    EXPECT_EQ(ids(t.matching("c")), std::set<std::uint64_t>{all});
}

TEST(InternalSubscriptionTable, RemoveReportsWhenTheFilterIsUnused) {
    SubscriptionTable t;
    auto a = t.add("s/+", 1, noop).subscription;
    auto b = t.add("s/+", 2, noop).subscription;
    bool unused = true;
    auto removed = t.remove(a->id, unused);
    ASSERT_EQ(removed, a);
    EXPECT_FALSE(unused) << "b still uses the filter";
    EXPECT_FALSE(a->active.load());
    EXPECT_TRUE(b->active.load());
    EXPECT_EQ(ids(t.matching("s/1")), std::set<std::uint64_t>{b->id});

    removed = t.remove(b->id, unused);
    ASSERT_EQ(removed, b);
    EXPECT_TRUE(unused);
    EXPECT_TRUE(t.matching("s/1").empty());
    EXPECT_TRUE(t.filters().empty());

    EXPECT_EQ(t.remove(b->id, unused), nullptr) << "removed twice";
    EXPECT_EQ(t.remove(9999, unused), nullptr) << "unknown id";
}

TEST(InternalSubscriptionTable, FiltersListEachFilterOnceWithItsHighestQos) {
    SubscriptionTable t;
    t.add("a", 0, noop);
    auto high = t.add("a", 2, noop).subscription;
    t.add("a", 1, noop);
    t.add("b/#", 1, noop);
    EXPECT_EQ(sorted(t.filters()), (std::vector<std::pair<std::string, int>>{{"a", 2}, {"b/#", 1}}));
    bool unused = false;
    t.remove(high->id, unused);
    EXPECT_FALSE(unused);
    EXPECT_EQ(sorted(t.filters()), (std::vector<std::pair<std::string, int>>{{"a", 1}, {"b/#", 1}}));
}

TEST(InternalSubscriptionTable, ClearDeactivatesEverything) {
    SubscriptionTable t;
    auto a = t.add("a", 0, noop).subscription;
    auto b = t.add("b", 1, noop).subscription;
    const auto removed = t.clear();
    EXPECT_EQ(ids(removed), (std::set<std::uint64_t>{a->id, b->id}));
    EXPECT_FALSE(a->active.load());
    EXPECT_FALSE(b->active.load());
    EXPECT_TRUE(t.filters().empty());
    EXPECT_TRUE(t.matching("a").empty());
}

}  // namespace

TEST(SubscriptionTable, EachFilterHasOneIdentifierSharedByItsSubscriptions) {
    SubscriptionTable t;
    const auto a1 = t.add("a/+", 0, [](const MessageView&) {}).subscription;
    const auto a2 = t.add("a/+", 1, [](const MessageView&) {}).subscription;
    const auto b = t.add("b/#", 0, [](const MessageView&) {}).subscription;
    EXPECT_EQ(a1->identifier, a2->identifier);
    EXPECT_NE(a1->identifier, b->identifier);
    EXPECT_GT(a1->identifier, 0);
    const auto only_a = t.with_identifiers({a1->identifier});
    ASSERT_EQ(only_a.size(), 2u);
    EXPECT_EQ(only_a[0]->filter, "a/+");
    EXPECT_EQ(only_a[1]->filter, "a/+");
    EXPECT_TRUE(t.with_identifiers({9999}).empty());
}
