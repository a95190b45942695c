// The storage interface under ShadowStore: the rows of the `shadow` table, one per (device,
// shadow name), in SQLite (sqlite_shadow_storage.cpp) or PostgreSQL (postgres_shadow_storage.cpp).
// ShadowStore turns documents into rows and back; a storage only keeps rows.
//
// Optimistic concurrency. Several `twinlink serve` instances may share one PostgreSQL database,
// each with its own ShadowStore. A changed document is written with replace_if(): the row is
// replaced only when it still holds the version (and presence) the change was computed from, or,
// for a shadow never stored, only when no row exists yet. The check and the write are one SQL
// statement, so of two instances that computed version N from N - 1, exactly one writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/shadow_service.hpp"

namespace twinlink::detail {

/// One row of the shadow table.
struct ShadowRow {
    std::string document;  ///< ShadowDocument::to_json() as text
    std::uint64_t version = 0;
    std::int64_t timestamp = 0;
    bool present = false;
};

class ShadowStorage {
public:
    virtual ~ShadowStorage() = default;

    /// The stored document's text, or nothing when there is no row.
    virtual std::optional<std::string> load(std::string_view device, std::string_view name) = 0;
    /// Writes the row whatever is stored.
    virtual void replace(std::string_view device, std::string_view name, const ShadowRow& row) = 0;
    /// Writes the row only when the stored state is still `expected`; false when it is not (another
    /// writer got there first) and nothing was written.
    virtual bool replace_if(std::string_view device, std::string_view name, const ShadowRow& row,
                            const ShadowRevision& expected) = 0;
    virtual std::vector<std::string> devices() = 0;
    virtual std::vector<ShadowSummary> list(std::string_view device) = 0;

    /// Names the database in messages: the SQLite path, or the PostgreSQL URI without password.
    virtual std::string where() const = 0;
    /// True when other processes may write the same rows (PostgreSQL): a cached document can then
    /// be stale.
    virtual bool shared() const = 0;
};

}  // namespace twinlink::detail
