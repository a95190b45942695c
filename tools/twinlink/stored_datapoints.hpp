// The datapoints that `twinlink serve` stored, read by the commands that report on them
// (`twinlink dp`, `twinlink simulate --db`): its database by the form of --db, a SQLite file opened
// read-only or a PostgreSQL URI, and the datapoint store on it.
#pragma once

#include <memory>
#include <string>

#include "twinlink/database.hpp"
#include "twinlink/datapoint_sink.hpp"
#include "twinlink/postgres_database.hpp"

namespace twinlink::cli {

class StoredDatapoints {
public:
    /// Opens `db`: a postgresql:// or postgres:// URI, or else the path of a SQLite file, which
    /// must exist (it is opened read-only, so the commands can run beside serve). Throws
    /// twinlink::Error as Database and PostgresDatabase do: Io for a missing file, ConnectFailed
    /// for an unreachable server, InvalidArgument for a malformed URI or a build without
    /// PostgreSQL. A database without datapoint tables opens; has_datapoints() is then false.
    explicit StoredDatapoints(const std::string& db);
    ~StoredDatapoints();
    StoredDatapoints(const StoredDatapoints&) = delete;
    StoredDatapoints& operator=(const StoredDatapoints&) = delete;

    /// The SQLite path, or the URI without its password, for messages.
    const std::string& name() const noexcept { return name_; }
    /// True when serve's datapoint sink has created its tables there.
    bool has_datapoints() const noexcept { return store_ != nullptr; }
    /// The store; only when has_datapoints().
    DatapointStore& store() { return *store_; }

private:
    std::unique_ptr<Database> sqlite_;
    std::unique_ptr<PostgresDatabase> pg_;
    std::unique_ptr<DatapointStore> store_;
    std::string name_;
};

}  // namespace twinlink::cli
