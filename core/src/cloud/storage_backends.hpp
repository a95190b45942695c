// The storages of the cloud side, by backend. ShadowStore and DatapointStore pick theirs by the
// database they are given; nothing else knows which backend is in use.
#pragma once

#include <memory>

#include "cloud/datapoint_storage.hpp"
#include "cloud/shadow_storage.hpp"

namespace twinlink {
class Database;
class PostgresDatabase;
}  // namespace twinlink

namespace twinlink::detail {

std::unique_ptr<ShadowStorage> make_sqlite_shadow_storage(Database& db);
std::unique_ptr<DatapointStorage> make_sqlite_datapoint_storage(Database& db);

// In a build without PostgreSQL support a PostgresDatabase cannot be constructed, so these are
// never reached there.
std::unique_ptr<ShadowStorage> make_postgres_shadow_storage(PostgresDatabase& db);
std::unique_ptr<DatapointStorage> make_postgres_datapoint_storage(PostgresDatabase& db);

}  // namespace twinlink::detail
