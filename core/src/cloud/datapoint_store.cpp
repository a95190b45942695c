// DatapointStore: the counters, over the storage of its database's backend.
#include <mutex>

#include "cloud/storage_backends.hpp"
#include "twinlink/datapoint_sink.hpp"

namespace twinlink {

DatapointStore::DatapointStore(Database& db) : storage_(detail::make_sqlite_datapoint_storage(db)) {}
DatapointStore::DatapointStore(PostgresDatabase& db) : storage_(detail::make_postgres_datapoint_storage(db)) {}
DatapointStore::~DatapointStore() = default;

InsertOutcome DatapointStore::insert(const DecodedBatch& batch) {
    const InsertOutcome outcome = storage_->insert(batch);
    std::lock_guard<std::mutex> lock(mu_);
    switch (outcome) {
        case InsertOutcome::Duplicate: ++stats_.duplicates; return outcome;
        case InsertOutcome::SeqReused: ++stats_.seq_reused; break;
        case InsertOutcome::Stored: break;
    }
    ++stats_.batches;
    stats_.points += batch.points.size();
    return outcome;
}

std::vector<StoredPoint> DatapointStore::tail(std::string_view device, std::size_t n) {
    if (n == 0) return {};
    return storage_->tail(device, n);
}

std::vector<StoredPoint> DatapointStore::query(std::string_view device, std::string_view series, std::int64_t since_ms,
                                               std::int64_t until_ms, std::size_t limit) {
    return storage_->query(device, series, since_ms, until_ms, limit);
}

std::vector<StoredPoint> DatapointStore::stored_after(std::string_view device, std::int64_t after_id,
                                                      std::size_t limit) {
    return storage_->stored_after(device, after_id, limit);
}

std::int64_t DatapointStore::last_id(std::string_view device) { return storage_->last_id(device); }
std::uint64_t DatapointStore::count(std::string_view device) { return storage_->count(device); }
std::vector<std::string> DatapointStore::series(std::string_view device) { return storage_->series(device); }
std::vector<std::string> DatapointStore::devices() { return storage_->devices(); }

DatapointStoreStats DatapointStore::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

}  // namespace twinlink
