#include "stored_datapoints.hpp"

namespace twinlink::cli {

StoredDatapoints::StoredDatapoints(const std::string& db) {
    if (PostgresDatabase::is_uri(db)) {
        pg_ = std::make_unique<PostgresDatabase>(db);
        name_ = pg_->uri();
        // A store on a database whose schema is there and current migrates nothing: the check
        // keeps a read command from creating serve's tables.
        if (pg_->schema_version("datapoints") != 0) store_ = std::make_unique<DatapointStore>(*pg_);
    } else {
        DatabaseOptions o;
        o.create = false;
        o.read_only = true;
        sqlite_ = std::make_unique<Database>(db, o);
        name_ = sqlite_->path();
        if (sqlite_->schema_version("datapoints") != 0) store_ = std::make_unique<DatapointStore>(*sqlite_);
    }
}

StoredDatapoints::~StoredDatapoints() = default;

}  // namespace twinlink::cli
