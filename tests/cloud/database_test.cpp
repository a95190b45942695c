// Database: opening, statements, transactions, schema migrations, sharing between threads.
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/test_util.hpp"
#include "fixtures/process.hpp"
#include "twinlink/database.hpp"

namespace {

using twinlink::Database;
using twinlink::DatabaseOptions;
using twinlink::Error;
using twinlink::SchemaMigration;
using twinlink::Statement;
using twinlink::Status;
using tltest::capture_error;
using tltest::contains_ci;

class TempDir {
public:
    TempDir() : path_(twinlink::testing::detail::make_temp_dir("tl-db-")) {}
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::int64_t count_rows(Database& db, const std::string& table) {
    Statement st = db.prepare("SELECT count(*) FROM " + table);
    EXPECT_TRUE(st.step());
    return st.column_int64(0);
}

TEST(Database, InMemoryRunsStatementsWithEveryType) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n)");
    const std::string blob("a\0b", 3);
    db.prepare("INSERT INTO t VALUES(?1, ?2, ?3, ?4, ?5)")
        .bind(1, std::uint64_t{42})
        .bind(2, 2.5)
        .bind(3, "text")
        .bind_blob(4, blob)
        .bind_null(5)
        .run();
    EXPECT_EQ(db.changes(), 1);
    EXPECT_EQ(db.last_insert_rowid(), 1);

    Statement st = db.prepare("SELECT i, r, s, b, n FROM t");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_count(), 5);
    EXPECT_EQ(st.column_int64(0), 42);
    EXPECT_DOUBLE_EQ(st.column_double(1), 2.5);
    EXPECT_EQ(st.column_text(2), "text");
    EXPECT_EQ(st.column_blob(3), blob);
    EXPECT_TRUE(st.column_is_null(4));
    EXPECT_FALSE(st.step());
}

TEST(Database, EmptyTextAndBlobAreNotNull) {
    Database db(":memory:");
    Statement st = db.prepare("SELECT ?1 IS NULL, ?2 IS NULL, length(?1), typeof(?2)");
    st.bind(1, std::string_view()).bind_blob(2, std::string_view());
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int64(0), 0);
    EXPECT_EQ(st.column_int64(1), 0);
    EXPECT_EQ(st.column_int64(2), 0);
    EXPECT_EQ(st.column_text(3), "blob");
}

TEST(Database, StatementCanBeResetAndRunAgain) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(v INTEGER)");
    Statement insert = db.prepare("INSERT INTO t VALUES(?)");
    for (int i = 0; i < 5; ++i) {
        insert.reset();
        EXPECT_EQ(insert.bind(1, i).run(), 1);
    }
    EXPECT_EQ(count_rows(db, "t"), 5);
    Statement moved = std::move(insert);
    moved.reset();
    moved.bind(1, 99).run();
    EXPECT_EQ(count_rows(db, "t"), 6);
}

TEST(Database, ErrorsNameThePathAndCarrySqliteMessage) {
    Database db(":memory:");
    const Error bad_sql = capture_error([&] { db.prepare("SELEC nonsense"); });
    EXPECT_EQ(bad_sql.status(), Status::Io);
    EXPECT_TRUE(contains_ci(bad_sql.what(), ":memory:")) << bad_sql.what();
    EXPECT_TRUE(contains_ci(bad_sql.what(), "syntax error")) << bad_sql.what();

    db.execute("CREATE TABLE t(v INTEGER UNIQUE)");
    db.execute("INSERT INTO t VALUES(1)");
    const Error constraint = capture_error([&] { db.prepare("INSERT INTO t VALUES(1)").run(); });
    EXPECT_EQ(constraint.status(), Status::Io);
    EXPECT_TRUE(contains_ci(constraint.what(), "UNIQUE constraint failed")) << constraint.what();

    const Error exec = capture_error([&] { db.execute("DROP TABLE missing"); });
    EXPECT_EQ(exec.status(), Status::Io);
    EXPECT_TRUE(contains_ci(exec.what(), "no such table")) << exec.what();
}

TEST(Database, MisuseIsInvalidArgument) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(v INTEGER)");
    Statement st = db.prepare("INSERT INTO t VALUES(?1)");
    EXPECT_EQ(capture_error([&] { st.bind(2, 1); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { st.bind(1, std::uint64_t{1} << 63); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { db.prepare("SELECT 1; SELECT 2"); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { db.prepare("   "); }).status(), Status::InvalidArgument);
    Statement select = db.prepare("SELECT v FROM t");
    EXPECT_EQ(capture_error([&] { select.column_int64(3); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([] { Database empty(""); }).status(), Status::InvalidArgument);
}

TEST(Database, FileIsInWalModeAndKeepsData) {
    TempDir dir;
    const std::string path = dir.file("a.db");
    {
        Database db(path);
        Statement mode = db.prepare("PRAGMA journal_mode");
        ASSERT_TRUE(mode.step());
        EXPECT_EQ(mode.column_text(0), "wal");
        db.execute("CREATE TABLE t(v TEXT); INSERT INTO t VALUES('kept')");
    }
    Database again(path);
    Statement st = again.prepare("SELECT v FROM t");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_text(0), "kept");
}

TEST(Database, OpenFailuresAreIoErrorsNamingThePath) {
    TempDir dir;
    const std::string missing_dir = dir.file("no/such/dir/x.db");
    const Error missing = capture_error([&] { Database db(missing_dir); });
    EXPECT_EQ(missing.status(), Status::Io);
    EXPECT_TRUE(contains_ci(missing.what(), missing_dir)) << missing.what();

    const std::string junk = dir.file("junk.db");
    std::ofstream(junk) << std::string(8192, 'x');
    const Error not_db = capture_error([&] { Database db(junk); });
    EXPECT_EQ(not_db.status(), Status::Io);
    EXPECT_TRUE(contains_ci(not_db.what(), junk)) << not_db.what();
    EXPECT_TRUE(contains_ci(not_db.what(), "not a database")) << not_db.what();

    DatabaseOptions no_create;
    no_create.create = false;
    EXPECT_EQ(capture_error([&] { Database db(dir.file("absent.db"), no_create); }).status(), Status::Io);
}

TEST(Database, ReadOnlyRefusesWrites) {
    TempDir dir;
    const std::string path = dir.file("ro.db");
    {
        Database db(path);
        db.migrate("m", {{1, "CREATE TABLE m_t(v INTEGER)"}});
    }
    DatabaseOptions ro;
    ro.read_only = true;
    Database db(path, ro);
    EXPECT_EQ(count_rows(db, "m_t"), 0);
    EXPECT_EQ(capture_error([&] { db.execute("INSERT INTO m_t VALUES(1)"); }).status(), Status::Io);
    db.migrate("m", {{1, "CREATE TABLE m_t(v INTEGER)"}});  // up to date: fine
    EXPECT_EQ(capture_error([&] {
                  db.migrate("m", {{1, "CREATE TABLE m_t(v INTEGER)"}, {2, "ALTER TABLE m_t ADD COLUMN w"}});
              }).status(),
              Status::Io);
}

TEST(Database, TransactionCommitsOrRollsBack) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(v INTEGER)");
    {
        auto tx = db.transaction();
        db.execute("INSERT INTO t VALUES(1)");
        tx.commit();
    }
    {
        auto tx = db.transaction();
        db.execute("INSERT INTO t VALUES(2)");
        tx.rollback();
    }
    {
        auto tx = db.transaction();
        db.execute("INSERT INTO t VALUES(3)");
    }  // destroyed unfinished: rolled back
    EXPECT_EQ(count_rows(db, "t"), 1);

    auto tx = db.transaction();
    tx.commit();
    EXPECT_EQ(capture_error([&] { tx.commit(); }).status(), Status::WrongState);
}

TEST(Database, NestedTransactionIsASavepoint) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(v INTEGER)");
    {
        auto outer = db.transaction();
        db.execute("INSERT INTO t VALUES(1)");
        {
            auto inner = db.transaction();
            db.execute("INSERT INTO t VALUES(2)");
            inner.rollback();
        }
        {
            auto inner = db.transaction();
            db.execute("INSERT INTO t VALUES(3)");
            inner.commit();
        }
        outer.commit();
    }
    Statement st = db.prepare("SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_text(0), "1,3");

    {
        auto outer = db.transaction();
        auto inner = db.transaction();
        db.execute("INSERT INTO t VALUES(4)");
        inner.commit();
    }  // the outer rollback undoes the committed savepoint too
    EXPECT_EQ(count_rows(db, "t"), 2);
}

TEST(Database, ThreadsShareTheConnectionWithoutMixingTransactions) {
    Database db(":memory:");
    db.execute("CREATE TABLE t(thread INTEGER, v INTEGER)");
    constexpr int kThreads = 4, kRows = 200;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&db, t] {
            for (int i = 0; i < kRows; i += 10) {
                auto tx = db.transaction();
                Statement st = db.prepare("INSERT INTO t VALUES(?1, ?2)");
                for (int k = i; k < i + 10; ++k) {
                    st.reset();
                    st.bind(1, t).bind(2, k).run();
                }
                // Odd batches of thread 0 are rolled back: no other thread's rows may go with them.
                if (t == 0 && (i / 10) % 2 == 1)
                    tx.rollback();
                else
                    tx.commit();
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(count_rows(db, "t"), kRows * (kThreads - 1) + kRows / 2);
    Statement st = db.prepare("SELECT count(*) FROM t WHERE thread = 1");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int64(0), kRows);
}

TEST(Database, TwoConnectionsOnOneFileWaitForEachOther) {
    TempDir dir;
    const std::string path = dir.file("shared.db");
    Database a(path);
    Database b(path);
    a.execute("CREATE TABLE t(v INTEGER)");
    auto tx = a.transaction();  // holds the write lock
    a.execute("INSERT INTO t VALUES(1)");
    std::thread writer([&] { b.execute("INSERT INTO t VALUES(2)"); });  // waits (busy timeout)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    tx.commit();
    writer.join();
    EXPECT_EQ(count_rows(b, "t"), 2);

    DatabaseOptions impatient;
    impatient.busy_timeout = std::chrono::milliseconds(50);
    Database c(path, impatient);
    auto held = a.transaction();
    const Error busy = capture_error([&] { c.execute("INSERT INTO t VALUES(3)"); });
    EXPECT_EQ(busy.status(), Status::Io);
    EXPECT_TRUE(contains_ci(busy.what(), "locked")) << busy.what();
}

TEST(Database, MigrateAppliesNewStepsOnce) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    const std::vector<SchemaMigration> v1 = {{1, "CREATE TABLE things(id INTEGER PRIMARY KEY, name TEXT)"}};
    auto v2 = v1;
    v2.push_back({2, "ALTER TABLE things ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"
                     "CREATE INDEX things_by_name ON things(name);"});
    {
        Database db(path);
        EXPECT_EQ(db.schema_version("things"), 0);
        db.migrate("things", v1);
        EXPECT_EQ(db.schema_version("things"), 1);
        db.execute("INSERT INTO things(name) VALUES('a')");
        db.migrate("things", v1);  // again: nothing to do
        EXPECT_EQ(count_rows(db, "things"), 1);
    }
    Database db(path);
    db.migrate("things", v2);
    EXPECT_EQ(db.schema_version("things"), 2);
    db.execute("INSERT INTO things(name, size) VALUES('b', 3)");
    EXPECT_EQ(count_rows(db, "things"), 2);
    // Modules are independent.
    db.migrate("other", {{1, "CREATE TABLE other_t(v)"}});
    EXPECT_EQ(db.schema_version("other"), 1);
    EXPECT_EQ(db.schema_version("things"), 2);
}

TEST(Database, FailedMigrationLeavesNothingBehind) {
    Database db(":memory:");
    db.migrate("m", {{1, "CREATE TABLE m_a(v)"}});
    const Error e = capture_error([&] {
        db.migrate("m", {{1, "CREATE TABLE m_a(v)"},
                         {2, "CREATE TABLE m_b(v)"},
                         {3, "INSERT INTO no_such_table VALUES(1)"}});
    });
    EXPECT_EQ(e.status(), Status::Io);
    EXPECT_TRUE(contains_ci(e.what(), "migration 3 of module 'm'")) << e.what();
    EXPECT_TRUE(contains_ci(e.what(), "no such table")) << e.what();
    EXPECT_EQ(db.schema_version("m"), 1);
    EXPECT_EQ(capture_error([&] { count_rows(db, "m_b"); }).status(), Status::Io);  // rolled back
}

TEST(Database, MigrationListsAreChecked) {
    Database db(":memory:");
    EXPECT_EQ(capture_error([&] { db.migrate("m", {{2, "CREATE TABLE m_a(v)"}}); }).status(), Status::InvalidArgument);
    EXPECT_EQ(capture_error([&] { db.migrate("", {{1, "CREATE TABLE m_a(v)"}}); }).status(), Status::InvalidArgument);
    db.migrate("m", {{1, "CREATE TABLE m_a(v)"}, {2, "CREATE TABLE m_b(v)"}});
    // A database written by a newer release is not touched.
    const Error newer = capture_error([&] { db.migrate("m", {{1, "CREATE TABLE m_a(v)"}}); });
    EXPECT_EQ(newer.status(), Status::Io);
    EXPECT_TRUE(contains_ci(newer.what(), "newer")) << newer.what();
}

}  // namespace
