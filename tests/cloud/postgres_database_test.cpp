// PostgresDatabase: what a user sees when the URI, the server or the credentials are wrong, the
// password kept out of every message, and the schema migrations shared by several instances.
#include <thread>

#include <gtest/gtest.h>

#include "cloud/backend.hpp"
#include "core/test_util.hpp"

namespace {

using tltest::capture_error;
using tltest::contains_ci;
using twinlink::PostgresDatabase;
using twinlink::Status;

TEST(PostgresUri, IsRecognisedAndRedacted) {
    EXPECT_TRUE(PostgresDatabase::is_uri("postgresql://u@h/db"));
    EXPECT_TRUE(PostgresDatabase::is_uri("postgres://h"));
    EXPECT_FALSE(PostgresDatabase::is_uri("cloud.db"));
    EXPECT_FALSE(PostgresDatabase::is_uri(":memory:"));
    EXPECT_FALSE(PostgresDatabase::is_uri("postgresql:/x"));
    EXPECT_EQ(PostgresDatabase::redact("postgresql://ann:s3cret@h:5432/db"), "postgresql://ann@h:5432/db");
    EXPECT_EQ(PostgresDatabase::redact("postgres://ann@h/db?password=s3cret&sslmode=disable"),
              "postgres://ann@h/db?password=***&sslmode=disable");
    EXPECT_EQ(PostgresDatabase::redact("postgresql://h/db"), "postgresql://h/db");
}

class PostgresDatabaseTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!twinlink::testing::postgres_enabled()) GTEST_SKIP() << "built without PostgreSQL support";
    }
};

TEST_F(PostgresDatabaseTest, EachConnectFailureHasItsOwnMessageWithoutThePassword) {
    auto& server = twinlink::testing::shared_postgres();
    const std::string port = std::to_string(server.port());

    const auto bad = capture_error([] { PostgresDatabase db("postgresql://ann:s3cret@h:notaport/db?x"); });
    EXPECT_EQ(bad.status(), Status::InvalidArgument) << bad.what();
    EXPECT_TRUE(contains_ci(bad.what(), "not valid")) << bad.what();

    // A port where nothing listens: the fixture's port with a server gone is not known, so take
    // one of the dynamic range that was free a moment ago.
    const auto unreachable = capture_error([] {
        PostgresDatabase db("postgresql://ann:s3cret@127.0.0.1:1/db?connect_timeout=2");
    });
    EXPECT_EQ(unreachable.status(), Status::ConnectFailed) << unreachable.what();
    EXPECT_TRUE(contains_ci(unreachable.what(), "cannot reach")) << unreachable.what();
    EXPECT_TRUE(contains_ci(unreachable.what(), "postgresql://ann@127.0.0.1:1/db")) << unreachable.what();

    server.query("postgresql://twinlink@127.0.0.1:" + port + "/postgres",
                 "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ann') THEN "
                 "CREATE ROLE ann LOGIN PASSWORD 'right'; END IF; END $$");
    const auto denied = capture_error([&] { PostgresDatabase db("postgresql://ann:s3cret@127.0.0.1:" + port + "/postgres"); });
    EXPECT_EQ(denied.status(), Status::NotAuthorized) << denied.what();
    EXPECT_TRUE(contains_ci(denied.what(), "refused the credentials")) << denied.what();
    EXPECT_TRUE(contains_ci(denied.what(), "postgresql://ann@127.0.0.1:" + port + "/postgres")) << denied.what();
    PostgresDatabase ok("postgresql://ann:right@127.0.0.1:" + port + "/postgres");

    const auto missing = capture_error([&] { PostgresDatabase db("postgresql://twinlink@127.0.0.1:" + port + "/nope"); });
    EXPECT_EQ(missing.status(), Status::Io) << missing.what();
    EXPECT_TRUE(contains_ci(missing.what(), "does not exist")) << missing.what();

    for (const auto* e : {&bad, &unreachable, &denied})
        EXPECT_FALSE(contains_ci(e->what(), "s3cret")) << e->what();
}

TEST_F(PostgresDatabaseTest, RecordsTheSchemaVersionOfEachModule) {
    tlcloud::CloudDatabase db(tlcloud::Backend::Postgres);
    auto shadows = db.shadow_store();
    auto points = db.datapoint_store();
    EXPECT_EQ(db.postgres()->schema_version("shadow"), 1);
    EXPECT_EQ(db.postgres()->schema_version("datapoints"), 1);
    EXPECT_EQ(db.postgres()->schema_version("nothing"), 0);
    // A list with a step more brings the module up once.
    const std::vector<twinlink::SchemaMigration> steps = {{1, "CREATE TABLE extra_a(x INTEGER)"},
                                                          {2, "ALTER TABLE extra_a ADD COLUMN y TEXT"}};
    db.postgres()->migrate("extra", {steps[0]});
    db.postgres()->migrate("extra", steps);
    db.postgres()->migrate("extra", steps);
    EXPECT_EQ(db.postgres()->schema_version("extra"), 2);
    const auto newer = capture_error([&] { db.postgres()->migrate("extra", {steps[0]}); });
    EXPECT_EQ(newer.status(), Status::Io);
    EXPECT_TRUE(contains_ci(newer.what(), "newer")) << newer.what();
}

// Instances started together migrate one after the other; none fails on the other's tables.
TEST_F(PostgresDatabaseTest, ConcurrentFirstStartsMigrateOnce) {
    const std::string uri = twinlink::testing::shared_postgres().create_database();
    std::vector<std::thread> starts;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i)
        starts.emplace_back([&] {
            try {
                PostgresDatabase db(uri);
                twinlink::ShadowStore shadows(db);
                twinlink::DatapointStore points(db);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                failures.fetch_add(1);
            }
        });
    for (auto& t : starts) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(twinlink::testing::shared_postgres().query(uri, "SELECT version FROM schema_version ORDER BY module"),
              "1\n1");
}

}  // namespace
