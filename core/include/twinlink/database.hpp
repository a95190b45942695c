// twinlink/database.hpp — the SQLite database of the local cloud (shadow service, datapoint sink).
//
// A Database is one SQLite connection, shared by every module of the cloud side and by the
// queries of the command-line tool. Each module keeps its own tables and its own schema version,
// so modules can be added and evolve independently.
//
// Threads. Every member of Database, Statement and Transaction may be called from any thread:
// each call takes the database's (recursive) mutex for its duration, and a Transaction holds it
// from begin to commit/rollback, so another thread's statements never land inside someone
// else's transaction. A Statement must not be used by two threads at the same time.
//
// Errors. Every failure throws Error(Io) whose message names the database path and carries
// SQLite's own message; misuse (a bad index, a value out of range) throws
// Error(InvalidArgument).
//
// Adding a module's schema. A module (a store of the cloud side) owns a few tables. Its
// constructor calls Database::migrate() with its module name and its ordered list of migrations:
//
//     DatapointStore::DatapointStore(Database& db) : db_(db) {
//         db_.migrate("datapoints", {
//             {1, "CREATE TABLE datapoint(device TEXT NOT NULL, ...);"
//                 "CREATE INDEX datapoint_by_time ON datapoint(device, ts);"},
//             {2, "ALTER TABLE datapoint ADD COLUMN unit TEXT;"},  // added in a later release
//         });
//     }
//
// migrate() runs, in one transaction, the migrations whose version is above the one recorded for
// that module in the `schema_version` table, then records the last one. Migrations are never
// edited once released: a change of schema is a new migration at the end of the list. Table
// names start with the module's name (or are otherwise unique to it) so that modules never
// collide.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "twinlink/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace twinlink {

struct DatabaseOptions {
    /// How long a statement waits for a lock held by another connection (another process on
    /// the same file) before it fails with Error(Io) "database is locked".
    std::chrono::milliseconds busy_timeout{5000};
    /// Create the file when it does not exist. When false, a missing file is Error(Io).
    bool create = true;
    /// Open read-only (for inspection tools); writes then fail with Error(Io).
    bool read_only = false;
};

/// One step of a module's schema: the SQL (one or more statements) that takes the module from
/// version `version - 1` to `version`. Versions of a module are 1, 2, 3, ... without gaps.
struct SchemaMigration {
    int version = 0;
    std::string sql;
};

class Database;

/// A prepared statement (RAII: finalized on destruction). Parameters are numbered from 1 as in
/// SQLite (`?1`, `?2` or plain `?`), result columns from 0. The Database must outlive it.
///
///     auto st = db.prepare("SELECT document FROM shadow WHERE device = ?1 AND name = ?2");
///     st.bind(1, device).bind(2, name);
///     while (st.step()) use(st.column_text(0));
class Statement {
public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    /// Binds an integer. Unsigned values above INT64_MAX throw Error(InvalidArgument).
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Statement& bind(int index, T value) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (value > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
                throw Error(Status::InvalidArgument,
                            "SQLite integer parameter " + std::to_string(index) +
                                " is out of range: " + std::to_string(value));
        }
        return bind_int64(index, static_cast<std::int64_t>(value));
    }
    /// Binds a bool as 0 or 1.
    Statement& bind(int index, bool value) { return bind_int64(index, value ? 1 : 0); }
    Statement& bind(int index, double value);
    /// Binds text (UTF-8). The bytes are copied.
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    /// Binds a blob. The bytes are copied.
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);

    /// Runs the statement to the next row. Returns true when a row is ready (read it with the
    /// column functions), false when the statement is done. Throws Error(Io).
    bool step();
    /// Steps until done (for statements that return no rows); then the statement can be
    /// reset() and run again. Returns the number of rows it changed.
    std::int64_t run();
    /// Makes the statement ready to run again, and clears its bindings.
    void reset();

    int column_count() const;
    bool column_is_null(int column) const;
    std::int64_t column_int64(int column) const;
    double column_double(int column) const;
    std::string column_text(int column) const;
    std::string column_blob(int column) const;

    /// The SQL text the statement was prepared from.
    std::string sql() const;

private:
    friend class Database;
    Statement(Database& db, sqlite3_stmt* stmt) noexcept : db_(&db), stmt_(stmt) {}
    Statement& bind_int64(int index, std::int64_t value);
    void check_column(int column) const;
    void finalize() noexcept;

    Database* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

/// A transaction (RAII). The first one a thread opens is `BEGIN IMMEDIATE` (it takes SQLite's
/// write lock at once, so it cannot fail later on a lock upgrade); one opened inside another on
/// the same thread is a SAVEPOINT, so a function can open its own transaction without knowing
/// whether its caller has one. Rolled back on destruction unless committed. Holds the database's
/// mutex from construction to commit or rollback.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    /// Rolls back unless committed. Never throws.
    ~Transaction();

    /// Makes the changes permanent (for a nested transaction: part of the enclosing one).
    /// Throws Error(Io); the transaction is then rolled back. Error(WrongState) when already
    /// finished.
    void commit();
    /// Undoes the changes. Error(WrongState) when already finished.
    void rollback();

private:
    friend class Database;
    explicit Transaction(Database& db);
    void finish(bool commit);

    Database* db_;
    std::unique_lock<std::recursive_mutex> lock_;
    int depth_ = 0;  // 1 for BEGIN, more for a savepoint
    bool open_ = false;
};

/// One SQLite connection. Files are opened in WAL mode (readers never block the writer) with
/// `synchronous=NORMAL` (a commit survives a crash of the process; a power loss may undo the last
/// commits but never corrupts the file) and foreign keys on.
class Database {
public:
    /// Opens (or creates) the database at `path`, or a private in-memory database when `path` is
    /// ":memory:". Throws Error(Io) naming the path when it cannot be opened, or when the file is
    /// not a SQLite database.
    explicit Database(const std::string& path, DatabaseOptions options = {});
    /// Closes the connection. Every Statement and Transaction must be gone by then.
    ~Database();

    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// The path given at construction.
    const std::string& path() const noexcept { return path_; }

    /// Runs one or more statements that return no rows (DDL, PRAGMA, simple writes).
    void execute(std::string_view sql);

    /// Prepares one statement. Throws Error(Io) with SQLite's message for bad SQL.
    Statement prepare(std::string_view sql);

    /// Begins a transaction (see Transaction).
    Transaction transaction();

    /// Brings `module`'s tables to the last version of `migrations` (see the top of this file).
    /// Throws Error(InvalidArgument) when the list is not numbered 1, 2, 3, ..., and Error(Io)
    /// when a migration fails (nothing of it is kept) or when the database has a newer version
    /// of the module than the list knows (it was written by a newer twinlink). On a read-only
    /// database it only checks that the module is at the last version.
    void migrate(std::string_view module, const std::vector<SchemaMigration>& migrations);

    /// The schema version recorded for `module`; 0 when it has none.
    int schema_version(std::string_view module);

    /// Rows changed by the last INSERT, UPDATE or DELETE of this connection.
    std::int64_t changes();
    /// The rowid of the last INSERT of this connection.
    std::int64_t last_insert_rowid();

    /// The mutex every call takes. Hold it (std::lock_guard) to run several statements without
    /// another thread's in between and without a transaction; it is recursive.
    std::recursive_mutex& mutex() noexcept { return mu_; }

private:
    friend class Statement;
    friend class Transaction;
    [[noreturn]] void fail(const std::string& what, int code) const;

    std::string path_;
    bool read_only_ = false;
    sqlite3* db_ = nullptr;
    std::recursive_mutex mu_;
    int transaction_depth_ = 0;  // under mu_
};

}  // namespace twinlink
