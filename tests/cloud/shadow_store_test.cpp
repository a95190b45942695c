// ShadowStore: documents by (device, shadow name) in SQLite.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
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

TEST(ShadowStore, SavesAndLoadsDocuments) {
    Database db(":memory:");
    ShadowStore store(db);
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

TEST(ShadowStore, ClassicAndNamedShadowsAreSeparate) {
    Database db(":memory:");
    ShadowStore store(db);
    store.save("dev", "", document_with({{"a", 1}}, json::object()));
    store.save("dev", "cfg", document_with({{"b", 2}}, json::object(), 2));
    store.save("other", "cfg", document_with({{"c", 3}}, json::object()));
    EXPECT_EQ(store.load("dev", "")->desired(), json({{"a", 1}}));
    EXPECT_EQ(store.load("dev", "cfg")->desired(), json({{"b", 2}}));
    EXPECT_EQ(store.load("dev", "cfg")->version(), 2u);
    EXPECT_EQ(store.load("other", "cfg")->desired(), json({{"c", 3}}));
    EXPECT_FALSE(store.load("other", "").has_value());
}

TEST(ShadowStore, DeletedShadowKeepsItsVersion) {
    Database db(":memory:");
    ShadowStore store(db);
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

TEST(ShadowStore, ListsDevicesAndShadows) {
    Database db(":memory:");
    ShadowStore store(db);
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

TEST(ShadowStore, DamagedDocumentIsAnIoErrorNamingTheShadow) {
    Database db(":memory:");
    ShadowStore store(db);
    db.execute("INSERT INTO shadow VALUES('dev', 'cfg', 'not json', 1, 0, 1)");
    db.execute("INSERT INTO shadow VALUES('dev', '', '{\"state\":{\"desired\":[1]},\"version\":1}', 1, 0, 1)");
    const auto e1 = capture_error([&] { store.load("dev", "cfg"); });
    EXPECT_EQ(e1.status(), Status::Io);
    EXPECT_TRUE(contains_ci(e1.what(), "shadow 'cfg' of device 'dev'")) << e1.what();
    EXPECT_TRUE(contains_ci(e1.what(), ":memory:")) << e1.what();
    const auto e2 = capture_error([&] { store.load("dev", ""); });
    EXPECT_EQ(e2.status(), Status::Io);
    EXPECT_TRUE(contains_ci(e2.what(), "damaged")) << e2.what();
}

}  // namespace
