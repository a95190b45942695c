// The storage interface under DatapointStore: batches and their points in SQLite
// (sqlite_datapoint_storage.cpp) or PostgreSQL (postgres_datapoint_storage.cpp). DatapointStore
// keeps the counters; a storage keeps the rows.
//
// Both keep a unique constraint on (device, seq, batch_id) and insert a batch with
// "INSERT ... ON CONFLICT DO NOTHING": of two writers of the same batch (two `twinlink serve`
// instances that both received a redelivery), exactly one stores its points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/datapoint_sink.hpp"

namespace twinlink::detail {

// How a kind of value is named in the `kind` column.
inline constexpr const char* kKindDouble = "double";
inline constexpr const char* kKindInt = "int";
inline constexpr const char* kKindBool = "bool";
inline constexpr const char* kKindString = "string";
inline constexpr const char* kKindObject = "object";

class DatapointStorage {
public:
    virtual ~DatapointStorage() = default;

    /// Stores the batch and its points in one transaction unless (device, seq, batch_id) is
    /// stored already; tells which (see InsertOutcome).
    virtual InsertOutcome insert(const DecodedBatch& batch) = 0;

    // The queries of DatapointStore, with the same meaning; `limit` 0 is no limit.
    virtual std::vector<StoredPoint> tail(std::string_view device, std::size_t n) = 0;
    virtual std::vector<StoredPoint> query(std::string_view device, std::string_view series, std::int64_t since_ms,
                                           std::int64_t until_ms, std::size_t limit) = 0;
    virtual std::vector<StoredPoint> stored_after(std::string_view device, std::int64_t after_id,
                                                  std::size_t limit) = 0;
    virtual std::int64_t last_id(std::string_view device) = 0;
    virtual std::uint64_t count(std::string_view device) = 0;
    virtual std::vector<std::string> series(std::string_view device) = 0;
    virtual std::vector<std::string> devices() = 0;
};

}  // namespace twinlink::detail
