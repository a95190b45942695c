// twinlink/postgres_database.hpp — a PostgreSQL database for the cloud side, for deployments that
// run several `twinlink serve` instances on one database (docs/deployment.md).
//
//     PostgresDatabase db("postgresql://twinlink@db.example:5432/cloud");
//     ShadowStore shadows(db);        // the same tables and migrations as on SQLite
//     DatapointStore points(db);
//
// A PostgresDatabase is one libpq connection. Every member may be called from any thread: each
// call takes the connection's mutex. Stores on one PostgresDatabase share that connection; two
// PostgresDatabase objects (or two processes) are two connections, and the stores stay correct
// between them: a shadow version is accepted by one writer only, and a batch is stored once.
//
// Builds without libpq (CMake option TWINLINK_POSTGRES off) have this class too: supported()
// is then false and the constructor throws Error(InvalidArgument) saying so.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/database.hpp"

namespace twinlink {

namespace detail {
class PostgresConnection;
}

class PostgresDatabase {
public:
    /// True when this build has PostgreSQL support (it was built with libpq).
    static bool supported() noexcept;
    /// True when `text` is a PostgreSQL connection URI (starts with "postgresql://" or
    /// "postgres://"); anything else is a SQLite path for the cloud side.
    static bool is_uri(std::string_view text) noexcept;
    /// `uri` without its password (in the authority or as a "password=" parameter), for messages
    /// and logs.
    static std::string redact(std::string_view uri);

    /// Connects. Each failure has its own message, which names the URI without its password:
    /// Error(InvalidArgument) for a malformed URI (or a build without PostgreSQL support),
    /// Error(ConnectFailed) when the server cannot be reached, Error(NotAuthorized) when it
    /// refuses the user or the password, Error(Io) for anything else (the database does not
    /// exist, ...). Unless the URI sets connect_timeout, a connect gives up after 10 s.
    explicit PostgresDatabase(const std::string& uri);
    ~PostgresDatabase();
    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;

    /// The URI given at construction, without its password.
    const std::string& uri() const noexcept;

    /// Brings `module`'s tables to the last version of `migrations`, as Database::migrate() does
    /// (the same `schema_version` table). Concurrent migrations of one database (several
    /// instances starting at once) are serialised by an advisory lock.
    void migrate(std::string_view module, const std::vector<SchemaMigration>& migrations);
    /// The schema version recorded for `module`; 0 when it has none.
    int schema_version(std::string_view module);
    /// Runs one or more SQL statements that return no rows (for tests and tools).
    void execute(std::string_view sql);

    /// The connection, for the stores of the cloud side.
    detail::PostgresConnection& connection() noexcept { return *connection_; }

private:
    std::unique_ptr<detail::PostgresConnection> connection_;
};

}  // namespace twinlink
