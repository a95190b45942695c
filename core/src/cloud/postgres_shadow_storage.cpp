// The shadow table in PostgreSQL: the same columns as in SQLite, written by several instances.
#include <mutex>

#include "cloud/postgres_connection.hpp"
#include "cloud/storage_backends.hpp"
#include "twinlink/postgres_database.hpp"

namespace twinlink::detail {

namespace {

// The schema of the "shadow" module, step for step the one of sqlite_shadow_storage.cpp.
const std::vector<SchemaMigration>& shadow_migrations() {
    static const std::vector<SchemaMigration> migrations = {
        {1,
         "CREATE TABLE shadow("
         " device TEXT COLLATE \"C\" NOT NULL,"  // sorted by bytes, as SQLite does
         " name TEXT COLLATE \"C\" NOT NULL,"    // '' for the classic shadow
         " document TEXT NOT NULL,"  // ShadowDocument::to_json()
         " version BIGINT NOT NULL,"
         " timestamp BIGINT NOT NULL,"
         " present BOOLEAN NOT NULL,"  // false once deleted: the row keeps the version counter
         " PRIMARY KEY(device, name));"},
    };
    return migrations;
}

std::string text(bool b) { return b ? "true" : "false"; }

class PostgresShadowStorage final : public ShadowStorage {
public:
    explicit PostgresShadowStorage(PostgresDatabase& db) : db_(db), c_(db.connection()) {
        db_.migrate("shadow", shadow_migrations());
    }

    std::optional<std::string> load(std::string_view device, std::string_view name) override {
        auto r = c_.run("SELECT document FROM shadow WHERE device = $1 AND name = $2",
                        {std::string(device), std::string(name)});
        if (r.rows() == 0) return std::nullopt;
        return r.text(0, 0);
    }

    void replace(std::string_view device, std::string_view name, const ShadowRow& row) override {
        c_.run("INSERT INTO shadow(device, name, document, version, timestamp, present)"
               " VALUES($1, $2, $3, $4, $5, $6)"
               " ON CONFLICT(device, name) DO UPDATE SET document = excluded.document,"
               " version = excluded.version, timestamp = excluded.timestamp, present = excluded.present",
               params(device, name, row));
    }

    bool replace_if(std::string_view device, std::string_view name, const ShadowRow& row,
                    const ShadowRevision& expected) override {
        if (!expected.stored)
            return c_.run("INSERT INTO shadow(device, name, document, version, timestamp, present)"
                          " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(device, name) DO NOTHING",
                          params(device, name, row))
                       .affected() == 1;
        auto p = params(device, name, row);
        p.push_back(std::to_string(expected.version));
        p.push_back(text(expected.exists));
        // Read committed: an UPDATE that finds the row changed by a concurrent commit re-checks
        // the WHERE against the new row, so only one of two writers of version N matches.
        return c_.run("UPDATE shadow SET document = $3, version = $4, timestamp = $5, present = $6"
                      " WHERE device = $1 AND name = $2 AND version = $7 AND present = $8",
                      p)
                   .affected() == 1;
    }

    std::vector<std::string> devices() override {
        auto r = c_.run("SELECT DISTINCT device FROM shadow WHERE present ORDER BY device", {});
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
        return out;
    }

    std::vector<ShadowSummary> list(std::string_view device) override {
        auto r = c_.run(
            "SELECT device, name, version, timestamp, present FROM shadow"
            " WHERE $1 = '' OR device = $1 ORDER BY device, name",
            {std::string(device)});
        std::vector<ShadowSummary> out;
        for (int i = 0; i < r.rows(); ++i) {
            ShadowSummary s;
            s.device = r.text(i, 0);
            s.name = r.text(i, 1);
            s.version = static_cast<std::uint64_t>(r.int64(i, 2));
            s.timestamp = r.int64(i, 3);
            s.exists = r.text(i, 4) == "t";
            out.push_back(std::move(s));
        }
        return out;
    }

    std::string where() const override { return db_.uri(); }
    bool shared() const override { return true; }

private:
    static std::vector<std::string> params(std::string_view device, std::string_view name, const ShadowRow& row) {
        return {std::string(device),         std::string(name),         row.document,
                std::to_string(row.version), std::to_string(row.timestamp), text(row.present)};
    }

    PostgresDatabase& db_;
    PostgresConnection& c_;
};

}  // namespace

std::unique_ptr<ShadowStorage> make_postgres_shadow_storage(PostgresDatabase& db) {
    return std::make_unique<PostgresShadowStorage>(db);
}

}  // namespace twinlink::detail
