// ShadowStore: documents by (device, shadow name), on SQLite and on PostgreSQL.
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
#include "cloud/backend.hpp"
#include "fixtures/process.hpp"
#include "twinlink/shadow_service.hpp"

namespace {

using nlohmann::json;
using twinlink::Database;
using twinlink::ShadowDocument;
using twinlink::ShadowStore;
using twinlink::ShadowUpdate;
using twinlink::Status;
using tltest::capture_error;
using tltest::contains_ci;
using tlcloud::CloudDatabase;

ShadowDocument document_with(const json& desired, const json& reported, int updates = 1) {
    ShadowDocument doc;
    for (int i = 0; i < updates; ++i) {
        ShadowUpdate u;
        u.desired = desired;
        u.reported = reported;
        EXPECT_TRUE(doc.apply_update(u, 1700000000 + i).accepted());
    }
    return doc;
}

class ShadowStoreTest : public ::testing::TestWithParam<tlcloud::Backend> {};

TEST_P(ShadowStoreTest, SavesAndLoadsDocuments) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    EXPECT_FALSE(store.load("dev", "").has_value());

    const ShadowDocument doc = document_with({{"led", "on"}}, {{"led", "off"}, {"temp", 21.5}}, 3);
    store.save("dev", "", doc);
    const auto loaded = store.load("dev", "");
    ASSERT_TRUE(loaded.has_value());
    EXPECT_TRUE(loaded->exists());
    EXPECT_EQ(loaded->version(), 3u);
    EXPECT_EQ(loaded->timestamp(), doc.timestamp());
    EXPECT_EQ(loaded->desired(), doc.desired());
    EXPECT_EQ(loaded->reported(), doc.reported());
    EXPECT_EQ(loaded->metadata(), doc.metadata());
    EXPECT_EQ(loaded->delta(), json({{"led", "on"}}));
    EXPECT_EQ(loaded->to_json(), doc.to_json());

    // Saving again replaces.
    const ShadowDocument newer = document_with({{"led", "off"}}, {{"led", "off"}}, 4);
    store.save("dev", "", newer);
    EXPECT_EQ(store.load("dev", "")->version(), 4u);
    EXPECT_TRUE(store.load("dev", "")->delta().empty());
}

TEST_P(ShadowStoreTest, ClassicAndNamedShadowsAreSeparate) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    store.save("dev", "", document_with({{"a", 1}}, json::object()));
    store.save("dev", "cfg", document_with({{"b", 2}}, json::object(), 2));
    store.save("other", "cfg", document_with({{"c", 3}}, json::object()));
    EXPECT_EQ(store.load("dev", "")->desired(), json({{"a", 1}}));
    EXPECT_EQ(store.load("dev", "cfg")->desired(), json({{"b", 2}}));
    EXPECT_EQ(store.load("dev", "cfg")->version(), 2u);
    EXPECT_EQ(store.load("other", "cfg")->desired(), json({{"c", 3}}));
    EXPECT_FALSE(store.load("other", "").has_value());
}

TEST_P(ShadowStoreTest, DeletedShadowKeepsItsVersion) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    ShadowDocument doc = document_with({{"a", 1}}, json::object(), 5);
    ASSERT_TRUE(doc.remove({}, 1700000100).accepted());
    store.save("dev", "", doc);
    const auto loaded = store.load("dev", "");
    ASSERT_TRUE(loaded.has_value());
    EXPECT_FALSE(loaded->exists());
    EXPECT_EQ(loaded->version(), 5u);
    EXPECT_TRUE(store.devices().empty());
    const auto all = store.list();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_FALSE(all[0].exists);
    EXPECT_EQ(all[0].version, 5u);
}

TEST_P(ShadowStoreTest, ListsDevicesAndShadows) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    store.save("b-dev", "", document_with({{"x", 1}}, json::object()));
    store.save("a-dev", "cfg", document_with({{"x", 1}}, json::object(), 2));
    store.save("a-dev", "", document_with({{"x", 1}}, json::object()));
    EXPECT_EQ(store.devices(), (std::vector<std::string>{"a-dev", "b-dev"}));
    const auto all = store.list();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].device, "a-dev");
    EXPECT_EQ(all[0].name, "");
    EXPECT_EQ(all[1].name, "cfg");
    EXPECT_EQ(all[1].version, 2u);
    EXPECT_EQ(all[1].timestamp, 1700000001);
    EXPECT_TRUE(all[1].exists);
    EXPECT_EQ(all[2].device, "b-dev");
    EXPECT_EQ(store.list("a-dev").size(), 2u);
    EXPECT_TRUE(store.list("nobody").empty());
}

TEST(ShadowStore, SurvivesReopeningTheFile) {
    const std::string dir = twinlink::testing::detail::make_temp_dir("tl-store-");
    const std::string path = dir + "/cloud.db";
    {
        Database db(path);
        ShadowStore store(db);
        store.save("dev", "", document_with({{"a", 1}}, {{"a", 0}}, 7));
    }
    {
        Database db(path);
        ShadowStore store(db);
        EXPECT_EQ(db.schema_version("shadow"), 1);
        const auto loaded = store.load("dev", "");
        ASSERT_TRUE(loaded.has_value());
        EXPECT_EQ(loaded->version(), 7u);
        EXPECT_EQ(loaded->delta(), json({{"a", 1}}));
    }
    std::filesystem::remove_all(dir);
}

TEST_P(ShadowStoreTest, DamagedDocumentIsAnIoErrorNamingTheShadow) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    db.execute("INSERT INTO shadow VALUES('dev', 'cfg', 'not json', 1, 0, '1')");
    db.execute("INSERT INTO shadow VALUES('dev', '', '{\"state\":{\"desired\":[1]},\"version\":1}', 1, 0, '1')");
    const auto e1 = capture_error([&] { store.load("dev", "cfg"); });
    EXPECT_EQ(e1.status(), Status::Io);
    EXPECT_TRUE(contains_ci(e1.what(), "shadow 'cfg' of device 'dev'")) << e1.what();
    EXPECT_TRUE(contains_ci(e1.what(), db.location())) << e1.what();
    const auto e2 = capture_error([&] { store.load("dev", ""); });
    EXPECT_EQ(e2.status(), Status::Io);
    EXPECT_TRUE(contains_ci(e2.what(), "damaged")) << e2.what();
}

TEST_P(ShadowStoreTest, SaveIfWritesOnlyOverTheRevisionTheChangeCameFrom) {
    CloudDatabase db(GetParam());
    auto opened = db.shadow_store();
    ShadowStore& store = *opened;
    const twinlink::ShadowRevision none;
    const ShadowDocument v1 = document_with({{"a", 1}}, json::object(), 1);
    EXPECT_TRUE(store.save_if("dev", "", v1, none));
    EXPECT_FALSE(store.save_if("dev", "", v1, none)) << "a second first version";
    const auto at_v1 = twinlink::ShadowRevision::of(*store.load("dev", ""), true);
    EXPECT_EQ(at_v1.version, 1u);
    EXPECT_TRUE(at_v1.exists);
    const ShadowDocument v2 = document_with({{"a", 2}}, json::object(), 2);
    EXPECT_TRUE(store.save_if("dev", "", v2, at_v1));
    EXPECT_FALSE(store.save_if("dev", "", v2, at_v1)) << "version 2 from version 1 again";
    EXPECT_EQ(store.load("dev", "")->desired(), json({{"a", 2}}));
    // A delete keeps the version: the revision's existence tells the two apart.
    ShadowDocument deleted = *store.load("dev", "");
    ASSERT_TRUE(deleted.remove({}, 1700000100).accepted());
    const auto at_v2 = twinlink::ShadowRevision::of(*store.load("dev", ""), true);
    EXPECT_TRUE(store.save_if("dev", "", deleted, at_v2));
    EXPECT_FALSE(store.save_if("dev", "", v2, at_v2)) << "written over a delete it did not see";
    EXPECT_FALSE(store.load("dev", "")->exists());
}

// Two stores on two connections (two `twinlink serve` instances) compute version N + 1 of the same
// shadow from version N at the same time, round after round: exactly one of them writes it.
TEST_P(ShadowStoreTest, TwoConnectionsRacingForTheSameVersionOneWins) {
    CloudDatabase first(GetParam());
    std::unique_ptr<Database> second_sqlite;
    std::unique_ptr<twinlink::PostgresDatabase> second_pg;
    if (first.sqlite())
        second_sqlite = std::make_unique<Database>(first.location());
    else
        second_pg = std::make_unique<twinlink::PostgresDatabase>(first.location());
    auto a = first.shadow_store();
    auto b = second_pg ? std::make_unique<ShadowStore>(*second_pg) : std::make_unique<ShadowStore>(*second_sqlite);

    constexpr int kRounds = 200;
    std::atomic<int> ready{0};
    std::atomic<int> wins[2] = {0, 0};
    const auto racer = [&](ShadowStore& store, int who, int round) {
        // Both read the same revision, then both try to write the next version.
        const auto loaded = store.load("dev", "");
        ShadowDocument doc = loaded ? *loaded : ShadowDocument("dev");
        const auto from = twinlink::ShadowRevision::of(doc, loaded.has_value());
        ShadowUpdate u;
        u.reported = json{{"round", round}, {"by", who}};
        EXPECT_TRUE(doc.apply_update(u, 1700000000 + round).accepted());
        ready.fetch_add(1);
        while (ready.load() % 2 != 0) std::this_thread::yield();
        if (store.save_if("dev", "", doc, from)) wins[who].fetch_add(1);
    };
    for (int round = 0; round < kRounds; ++round) {
        const int before = wins[0] + wins[1];
        std::thread ta(racer, std::ref(*a), 0, round);
        std::thread tb(racer, std::ref(*b), 1, round);
        ta.join();
        tb.join();
        ASSERT_EQ(wins[0] + wins[1], before + 1) << "round " << round << ": both or neither wrote";
        const auto stored = a->load("dev", "");
        ASSERT_TRUE(stored.has_value());
        ASSERT_EQ(stored->version(), static_cast<std::uint64_t>(round + 1));
    }
    // Both won sometimes: the race was real.
    std::cout << "wins: " << wins[0] << " and " << wins[1] << "\n";
}

INSTANTIATE_TEST_SUITE_P(Backends, ShadowStoreTest, tlcloud::backends(), tlcloud::backend_name);

}  // namespace
