// The receiving side of the datapoint tests: a DatapointSink on its own Client, storing into an
// SQLite file in a temporary directory or a PostgreSQL database, with its log lines kept for
// assertions.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/test_util.hpp"
#include "fixtures/process.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoint_sink.hpp"
#include "twinlink/postgres_database.hpp"

namespace dptest {

using namespace std::chrono_literals;

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "tl-dp-e2e-")
        : path_(twinlink::testing::detail::make_temp_dir(prefix)) {}
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

/// Client options of a sink or a device in these tests: quick reconnects, so a restarted broker
/// is found again within a fraction of a second.
inline twinlink::ClientOptions client_options(const std::string& uri, tltest::Recorder<std::string> log = {}) {
    twinlink::ClientOptions o = tltest::options_for(uri);
    o.reconnect_min = 50ms;
    o.reconnect_max = 300ms;
    o.log_level = twinlink::LogLevel::Warning;
    o.log = [log](twinlink::LogLevel level, const std::string& message) {
        log.push(std::string(twinlink::log_level_name(level)) + ": " + message);
    };
    return o;
}

/// A DatapointSink with its own connected Client and its own database: a SQLite file, or a
/// PostgreSQL database when `db_path` is a postgresql:// URI.
class CloudSide {
public:
    CloudSide(const std::string& broker_uri, const std::string& db_path,
              twinlink::DatapointSinkOptions options = {})
        : client_(std::make_unique<twinlink::Client>(client_options(broker_uri, log_))) {
        if (twinlink::PostgresDatabase::is_uri(db_path)) {
            pg_ = std::make_unique<twinlink::PostgresDatabase>(db_path);
            store_ = std::make_unique<twinlink::DatapointStore>(*pg_);
        } else {
            db_ = std::make_unique<twinlink::Database>(db_path);
            store_ = std::make_unique<twinlink::DatapointStore>(*db_);
        }
        client_->connect(tltest::kLong);
        sink_ = std::make_unique<twinlink::DatapointSink>(*client_, *store_, std::move(options));
    }

    ~CloudSide() {
        sink_.reset();
        client_->disconnect(1s);
    }

    twinlink::Client& client() { return *client_; }
    /// The SQLite database (not for a CloudSide on PostgreSQL).
    twinlink::Database& db() { return *db_; }
    twinlink::DatapointStore& store() { return *store_; }
    twinlink::DatapointSink& sink() { return *sink_; }
    /// Warning and error lines the sink's client logged.
    std::vector<std::string> log() const { return log_.items(); }

    /// Waits until the sink has handled `n` messages (stored, dropped as duplicates, rejected or
    /// failed); false when `timeout` passes first.
    bool wait_handled(std::uint64_t n, std::chrono::milliseconds timeout = tltest::kLong) const {
        return tltest::wait_until([&] { return handled() >= n; }, timeout);
    }
    std::uint64_t handled() const {
        const auto s = sink_->stats();
        return s.batches + s.duplicates + s.rejected + s.failed;
    }

private:
    tltest::Recorder<std::string> log_;
    std::unique_ptr<twinlink::Client> client_;
    std::unique_ptr<twinlink::Database> db_;
    std::unique_ptr<twinlink::PostgresDatabase> pg_;
    std::unique_ptr<twinlink::DatapointStore> store_;
    std::unique_ptr<twinlink::DatapointSink> sink_;
};

}  // namespace dptest
