#include "twinlink/postgres_database.hpp"

#include "cloud/postgres_connection.hpp"

namespace twinlink {

namespace {

// pg_advisory_xact_lock's key for migrations: "twinlink" in ASCII, so that it is recognisable in
// pg_locks and unlikely to collide with another application's.
constexpr const char* kMigrationLock = "8392585648233754987";

}  // namespace

bool PostgresDatabase::supported() noexcept { return true; }

PostgresDatabase::PostgresDatabase(const std::string& uri)
    : connection_(std::make_unique<detail::PostgresConnection>(uri)) {}

PostgresDatabase::~PostgresDatabase() = default;

const std::string& PostgresDatabase::uri() const noexcept { return connection_->uri(); }

void PostgresDatabase::execute(std::string_view sql) { connection_->execute(sql); }

int PostgresDatabase::schema_version(std::string_view module) {
    auto& c = *connection_;
    std::lock_guard<std::recursive_mutex> lock(c.mutex());
    if (c.execute("SELECT to_regclass('schema_version') IS NOT NULL").text(0, 0) != "t") return 0;
    auto r = c.run("SELECT version FROM schema_version WHERE module = $1", {std::string(module)});
    return r.rows() ? static_cast<int>(r.int64(0, 0)) : 0;
}

void PostgresDatabase::migrate(std::string_view module, const std::vector<SchemaMigration>& migrations) {
    if (module.empty()) throw Error(Status::InvalidArgument, "database: migrate() needs a module name");
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version != static_cast<int>(i + 1))
            throw Error(Status::InvalidArgument,
                        "database: the migrations of module '" + std::string(module) +
                            "' must be numbered 1, 2, 3, ...; entry " + std::to_string(i + 1) + " has version " +
                            std::to_string(migrations[i].version));
    }
    const int target = static_cast<int>(migrations.size());
    auto& c = *connection_;
    detail::PgTransaction tx(c);
    // Instances that start together take turns: the second finds the first one's tables.
    c.execute(std::string("SELECT pg_advisory_xact_lock(") + kMigrationLock + ")");
    c.execute(
        "CREATE TABLE IF NOT EXISTS schema_version("
        " module TEXT PRIMARY KEY NOT NULL,"
        " version INTEGER NOT NULL,"
        " updated_at BIGINT NOT NULL DEFAULT extract(epoch FROM now())::bigint)");
    const int current = schema_version(module);
    if (current > target)
        throw Error(Status::Io, "database '" + uri() + "': module '" + std::string(module) + "' has schema version " +
                                    std::to_string(current) + ", newer than this twinlink knows (" +
                                    std::to_string(target) + "); it was written by a newer release");
    if (current == target) {
        tx.commit();
        return;
    }
    for (const auto& m : migrations) {
        if (m.version <= current) continue;
        try {
            c.execute(m.sql);
        } catch (const Error& e) {
            throw Error(Status::Io, "migration " + std::to_string(m.version) + " of module '" + std::string(module) +
                                        "' failed: " + e.what());
        }
    }
    c.run("INSERT INTO schema_version(module, version) VALUES($1, $2) "
          "ON CONFLICT(module) DO UPDATE SET version = excluded.version, "
          "updated_at = extract(epoch FROM now())::bigint",
          {std::string(module), std::to_string(target)});
    tx.commit();
}

}  // namespace twinlink
