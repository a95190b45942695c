// The shadow table in SQLite.
#include <mutex>

#include "cloud/database.hpp"
#include "cloud/storage_backends.hpp"

namespace twinlink::detail {

namespace {

// The schema of the "shadow" module. Released migrations are never edited; add new ones at the
// end (see twinlink/database.hpp), and the same step to postgres_shadow_storage.cpp.
const std::vector<SchemaMigration>& shadow_migrations() {
    static const std::vector<SchemaMigration> migrations = {
        {1,
         "CREATE TABLE shadow("
         " device TEXT NOT NULL,"
         " name TEXT NOT NULL,"  // '' for the classic shadow
         " document TEXT NOT NULL,"  // ShadowDocument::to_json()
         " version INTEGER NOT NULL,"
         " timestamp INTEGER NOT NULL,"
         " present INTEGER NOT NULL,"  // 0 once deleted: the row keeps the version counter
         " PRIMARY KEY(device, name)) WITHOUT ROWID;"},
    };
    return migrations;
}

class SqliteShadowStorage final : public ShadowStorage {
public:
    explicit SqliteShadowStorage(Database& db) : db_(db) {
        db_.migrate("shadow", shadow_migrations());
        statements_ = std::make_unique<PreparedStatements>(db_);
    }

    ~SqliteShadowStorage() override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        statements_.reset();
    }

    std::optional<std::string> load(std::string_view device, std::string_view name) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get("SELECT document FROM shadow WHERE device = ?1 AND name = ?2");
        st.bind(1, device).bind(2, name);
        if (!st.step()) return std::nullopt;
        std::string text = st.column_text(0);
        st.reset();
        return text;
    }

    void replace(std::string_view device, std::string_view name, const ShadowRow& row) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        bind(statements_->get(
                 "INSERT INTO shadow(device, name, document, version, timestamp, present)"
                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                 " ON CONFLICT(device, name) DO UPDATE SET document = excluded.document,"
                 " version = excluded.version, timestamp = excluded.timestamp, present = excluded.present"),
             device, name, row)
            .run();
    }

    bool replace_if(std::string_view device, std::string_view name, const ShadowRow& row,
                    const ShadowRevision& expected) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        if (!expected.stored)
            return bind(statements_->get("INSERT INTO shadow(device, name, document, version, timestamp, present)"
                                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(device, name) DO NOTHING"),
                        device, name, row)
                       .run() == 1;
        return bind(statements_->get("UPDATE shadow SET document = ?3, version = ?4, timestamp = ?5, present = ?6"
                                     " WHERE device = ?1 AND name = ?2 AND version = ?7 AND present = ?8"),
                    device, name, row)
                   .bind(7, expected.version)
                   .bind(8, expected.exists)
                   .run() == 1;
    }

    std::vector<std::string> devices() override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement st = db_.prepare("SELECT DISTINCT device FROM shadow WHERE present ORDER BY device");
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.column_text(0));
        return out;
    }

    std::vector<ShadowSummary> list(std::string_view device) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement st = db_.prepare(
            "SELECT device, name, version, timestamp, present FROM shadow"
            " WHERE ?1 = '' OR device = ?1 ORDER BY device, name");
        st.bind(1, device);
        std::vector<ShadowSummary> out;
        while (st.step()) {
            ShadowSummary s;
            s.device = st.column_text(0);
            s.name = st.column_text(1);
            s.version = static_cast<std::uint64_t>(st.column_int64(2));
            s.timestamp = st.column_int64(3);
            s.exists = st.column_int64(4) != 0;
            out.push_back(std::move(s));
        }
        return out;
    }

    std::string where() const override { return db_.path(); }
    bool shared() const override { return false; }

private:
    static Statement& bind(Statement& st, std::string_view device, std::string_view name, const ShadowRow& row) {
        return st.bind(1, device)
            .bind(2, name)
            .bind(3, row.document)
            .bind(4, row.version)
            .bind(5, row.timestamp)
            .bind(6, row.present);
    }

    Database& db_;
    std::unique_ptr<PreparedStatements> statements_;  // under db_.mutex()
};

}  // namespace

std::unique_ptr<ShadowStorage> make_sqlite_shadow_storage(Database& db) {
    return std::make_unique<SqliteShadowStorage>(db);
}

}  // namespace twinlink::detail
