#include "cloud/database.hpp"

#include <sqlite3.h>

#include <utility>

namespace twinlink {

namespace {

constexpr std::string_view kMemory = ":memory:";

std::string shorten(std::string_view sql) {
    std::string out(sql.substr(0, 120));
    for (auto& c : out)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (sql.size() > 120) out += "...";
    return out;
}

}  // namespace

// ---- Database ------------------------------------------------------------------------------

Database::Database(const std::string& path, DatabaseOptions options)
    : path_(path), read_only_(options.read_only) {
    if (path.empty()) throw Error(Status::InvalidArgument, "database path is empty (use \":memory:\" for a private in-memory database)");
    // Our own mutex serialises every use, so SQLite's per-connection mutex is not needed.
    int flags = SQLITE_OPEN_NOMUTEX;
    flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error(Status::Io, "cannot open database '" + path + "': " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    try {
        sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
        // Reading the schema makes a file that is not a database fail here, not at first use.
        execute("PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_master;");
        if (path != kMemory && !options.read_only)
            execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

Database::~Database() {
    // Statements are finalized by their owners; close_v2 copes with any left over.
    sqlite3_close_v2(db_);
}

void Database::fail(const std::string& what, int code) const {
    const char* message = db_ ? sqlite3_errmsg(db_) : nullptr;
    std::string text = "database '" + path_ + "': " + what + ": ";
    text += message && *message ? message : sqlite3_errstr(code);
    throw Error(Status::Io, text);
}

void Database::execute(std::string_view sql) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    const std::string text(sql);
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        const std::string detail = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw Error(Status::Io, "database '" + path_ + "': '" + shorten(sql) + "' failed: " + detail);
    }
}

Statement Database::prepare(std::string_view sql) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) fail("cannot prepare '" + shorten(sql) + "'", rc);
    if (!stmt) throw Error(Status::InvalidArgument, "database: no SQL statement in '" + shorten(sql) + "'");
    const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
        sqlite3_finalize(stmt);
        throw Error(Status::InvalidArgument,
                    "database: prepare() takes one statement; '" + shorten(sql) + "' has more");
    }
    return Statement(*this, stmt);
}

Transaction Database::transaction() { return Transaction(*this); }

void Database::migrate(std::string_view module, const std::vector<SchemaMigration>& migrations) {
    if (module.empty()) throw Error(Status::InvalidArgument, "database: migrate() needs a module name");
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version != static_cast<int>(i + 1))
            throw Error(Status::InvalidArgument,
                        "database: the migrations of module '" + std::string(module) +
                            "' must be numbered 1, 2, 3, ...; entry " + std::to_string(i + 1) +
                            " has version " + std::to_string(migrations[i].version));
    }
    const int target = static_cast<int>(migrations.size());
    if (read_only_) {
        const int current = schema_version(module);
        if (current != target)
            throw Error(Status::Io, "database '" + path_ + "' is open read-only and module '" + std::string(module) +
                                        "' has schema version " + std::to_string(current) + ", not " +
                                        std::to_string(target) + "; open it writable once to bring it up to date");
        return;
    }
    Transaction tx = transaction();
    execute(
        "CREATE TABLE IF NOT EXISTS schema_version("
        " module TEXT PRIMARY KEY NOT NULL,"
        " version INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)))");
    const int current = schema_version(module);
    if (current > target)
        throw Error(Status::Io, "database '" + path_ + "': module '" + std::string(module) +
                                    "' has schema version " + std::to_string(current) +
                                    ", newer than this twinlink knows (" + std::to_string(target) +
                                    "); it was written by a newer release");
    if (current == target) {
        tx.commit();
        return;
    }
    for (const auto& m : migrations) {
        if (m.version <= current) continue;
        try {
            execute(m.sql);
        } catch (const Error& e) {
            throw Error(Status::Io, "migration " + std::to_string(m.version) + " of module '" +
                                        std::string(module) + "' failed: " + e.what());
        }
    }
    prepare("INSERT INTO schema_version(module, version) VALUES(?1, ?2) "
            "ON CONFLICT(module) DO UPDATE SET version = excluded.version, "
            "updated_at = CAST(strftime('%s', 'now') AS INTEGER)")
        .bind(1, module)
        .bind(2, target)
        .run();
    tx.commit();
}

int Database::schema_version(std::string_view module) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement exists = prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!exists.step()) return 0;
    Statement st = prepare("SELECT version FROM schema_version WHERE module = ?1");
    st.bind(1, module);
    return st.step() ? static_cast<int>(st.column_int64(0)) : 0;
}

std::int64_t Database::changes() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return sqlite3_changes64(db_);
}

std::int64_t Database::last_insert_rowid() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return sqlite3_last_insert_rowid(db_);
}

// ---- Statement -----------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        finalize();
        db_ = std::exchange(other.db_, nullptr);
        stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
}

Statement::~Statement() { finalize(); }

void Statement::finalize() noexcept {
    if (!stmt_) return;
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
}

namespace {

void check_bind(Database& db, sqlite3_stmt* stmt, int index, int rc) {
    if (rc == SQLITE_OK) return;
    if (rc == SQLITE_RANGE)
        throw Error(Status::InvalidArgument,
                    "database '" + db.path() + "': parameter " + std::to_string(index) + " does not exist in '" +
                        shorten(sqlite3_sql(stmt)) + "' (it has " +
                        std::to_string(sqlite3_bind_parameter_count(stmt)) + ")");
    throw Error(Status::Io, "database '" + db.path() + "': cannot bind parameter " + std::to_string(index) +
                                ": " + sqlite3_errstr(rc));
}

}  // namespace

Statement& Statement::bind_int64(int index, std::int64_t value) {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_bind(*db_, stmt_, index, sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, double value) {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_bind(*db_, stmt_, index, sqlite3_bind_double(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    // A null pointer would bind SQL NULL; an empty string_view may have one.
    const char* data = text.data() ? text.data() : "";
    check_bind(*db_, stmt_, index, sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    const char* data = bytes.data() ? bytes.data() : "";
    check_bind(*db_, stmt_, index, sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT));
    return *this;
}

Statement& Statement::bind_null(int index) {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_bind(*db_, stmt_, index, sqlite3_bind_null(stmt_, index));
    return *this;
}

bool Statement::step() {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // sqlite3_reset returns the same error and leaves the statement usable for a retry.
    sqlite3_reset(stmt_);
    db_->fail("'" + shorten(sqlite3_sql(stmt_)) + "' failed", rc);
}

std::int64_t Statement::run() {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    while (step()) {
    }
    const std::int64_t changed = sqlite3_changes64(db_->db_);
    sqlite3_reset(stmt_);
    return changed;
}

void Statement::reset() {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    return sqlite3_column_count(stmt_);
}

void Statement::check_column(int column) const {
    if (column < 0 || column >= sqlite3_column_count(stmt_))
        throw Error(Status::InvalidArgument, "database '" + db_->path() + "': column " + std::to_string(column) +
                                                 " does not exist in '" + shorten(sqlite3_sql(stmt_)) + "'");
}

bool Statement::column_is_null(int column) const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_column(column);
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_column(column);
    return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_column(column);
    return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_text(int column) const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_column(column);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::string Statement::column_blob(int column) const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    check_column(column);
    const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return bytes ? std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::string Statement::sql() const {
    std::lock_guard<std::recursive_mutex> lock(db_->mu_);
    return sqlite3_sql(stmt_);
}

// ---- Transaction ---------------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(&db), lock_(db.mu_) {
    depth_ = db.transaction_depth_ + 1;
    db.execute(depth_ == 1 ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT tl_nested_" + std::to_string(depth_));
    db.transaction_depth_ = depth_;
    open_ = true;
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(other.db_), lock_(std::move(other.lock_)), depth_(other.depth_), open_(std::exchange(other.open_, false)) {}

Transaction::~Transaction() {
    if (!open_) return;
    try {
        finish(false);
    } catch (const Error&) {
        // Nothing more can be done; SQLite rolls back an unfinished transaction when the
        // connection closes.
    }
}

void Transaction::commit() { finish(true); }
void Transaction::rollback() { finish(false); }

void Transaction::finish(bool commit) {
    if (!open_) throw Error(Status::WrongState, "database '" + db_->path() + "': the transaction is already finished");
    open_ = false;
    db_->transaction_depth_ = depth_ - 1;
    const std::string savepoint = "tl_nested_" + std::to_string(depth_);
    try {
        if (depth_ == 1)
            db_->execute(commit ? "COMMIT" : "ROLLBACK");
        else
            db_->execute(commit ? "RELEASE " + savepoint : "ROLLBACK TO " + savepoint + "; RELEASE " + savepoint);
    } catch (const Error&) {
        // A failed COMMIT (disk full, I/O error) may leave the transaction open: end it so the
        // connection stays usable.
        if (commit) {
            try {
                db_->execute(depth_ == 1 ? "ROLLBACK" : "ROLLBACK TO " + savepoint + "; RELEASE " + savepoint);
            } catch (const Error&) {
            }
        }
        lock_.unlock();
        throw;
    }
    lock_.unlock();
}

}  // namespace twinlink
