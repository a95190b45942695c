// The cloud suites run on both storage backends: a test parameterised by Backend opens its
// database with CloudDatabase, which is a SQLite file in a temp dir or a new database on the test
// process's throwaway PostgreSQL (fixtures/postgres.hpp).
//
//   class MyTest : public ::testing::TestWithParam<tlcloud::Backend> {};
//   TEST_P(MyTest, Works) {
//       tlcloud::CloudDatabase db(GetParam());
//       auto store = db.shadow_store();
//   }
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, tlcloud::backends(), tlcloud::backend_name);
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fixtures/postgres.hpp"
#include "fixtures/process.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoint_sink.hpp"
#include "twinlink/postgres_database.hpp"
#include "twinlink/shadow_service.hpp"

namespace tlcloud {

enum class Backend { Sqlite, Postgres };

inline std::vector<Backend> backend_list() {
    std::vector<Backend> out{Backend::Sqlite};
    if (twinlink::testing::postgres_enabled()) out.push_back(Backend::Postgres);
    return out;
}

inline auto backends() { return ::testing::ValuesIn(backend_list()); }

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::Sqlite ? "SQLite" : "PostgreSQL";
}

/// A database of either backend; more connections to the same one with connect().
class CloudDatabase {
public:
    explicit CloudDatabase(Backend backend) : backend_(backend) {
        if (backend == Backend::Sqlite) {
            dir_ = twinlink::testing::detail::make_temp_dir("twinlink-cloud-");
            location_ = dir_ + "/cloud.db";
        } else {
            location_ = twinlink::testing::shared_postgres().create_database();
        }
        reconnect();
    }
    ~CloudDatabase() {
        sqlite_.reset();
        pg_.reset();
        if (!dir_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
        }
    }

    Backend backend() const { return backend_; }
    /// The SQLite path or the PostgreSQL URI: what `twinlink serve --db` takes.
    const std::string& location() const { return location_; }

    /// Closes and opens the connection again (a restart of the cloud side). Stores made before
    /// must be gone.
    void reconnect() {
        sqlite_.reset();
        pg_.reset();
        if (backend_ == Backend::Sqlite)
            sqlite_ = std::make_unique<twinlink::Database>(location_);
        else
            pg_ = std::make_unique<twinlink::PostgresDatabase>(location_);
    }

    std::unique_ptr<twinlink::ShadowStore> shadow_store() {
        return pg_ ? std::make_unique<twinlink::ShadowStore>(*pg_) : std::make_unique<twinlink::ShadowStore>(*sqlite_);
    }
    std::unique_ptr<twinlink::DatapointStore> datapoint_store() {
        return pg_ ? std::make_unique<twinlink::DatapointStore>(*pg_)
                   : std::make_unique<twinlink::DatapointStore>(*sqlite_);
    }

    /// Raw SQL for a test that damages or inspects rows, on this connection.
    void execute(const std::string& sql) {
        if (pg_)
            pg_->execute(sql);
        else
            sqlite_->execute(sql);
    }

    twinlink::Database* sqlite() { return sqlite_.get(); }
    twinlink::PostgresDatabase* postgres() { return pg_.get(); }

private:
    Backend backend_;
    std::string dir_;
    std::string location_;
    std::unique_ptr<twinlink::Database> sqlite_;
    std::unique_ptr<twinlink::PostgresDatabase> pg_;
};

}  // namespace tlcloud
