// PostgresDatabase in a build without libpq (TWINLINK_POSTGRES off): it exists, so that callers
// need no #if, and says why it cannot connect.
#include "cloud/storage_backends.hpp"
#include "twinlink/postgres_database.hpp"

namespace twinlink {

namespace detail {
class PostgresConnection {};
}  // namespace detail

bool PostgresDatabase::supported() noexcept { return false; }

PostgresDatabase::PostgresDatabase(const std::string& uri) {
    throw Error(Status::InvalidArgument, "cannot use '" + redact(uri) +
                                             "': this build of twinlink has no PostgreSQL support (it was "
                                             "built without libpq; install libpq-dev and build again)");
}

PostgresDatabase::~PostgresDatabase() = default;

const std::string& PostgresDatabase::uri() const noexcept {
    static const std::string none;
    return none;
}

void PostgresDatabase::migrate(std::string_view, const std::vector<SchemaMigration>&) {}
int PostgresDatabase::schema_version(std::string_view) { return 0; }
void PostgresDatabase::execute(std::string_view) {}

namespace detail {

std::unique_ptr<ShadowStorage> make_postgres_shadow_storage(PostgresDatabase&) {
    throw Error(Status::Internal, "this build has no PostgreSQL support");
}

std::unique_ptr<DatapointStorage> make_postgres_datapoint_storage(PostgresDatabase&) {
    throw Error(Status::Internal, "this build has no PostgreSQL support");
}

}  // namespace detail

}  // namespace twinlink
