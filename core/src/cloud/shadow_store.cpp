#include <mutex>

#include "cloud/database.hpp"
#include "twinlink/shadow_service.hpp"

namespace twinlink {

namespace {

// The schema of the "shadow" module. Released migrations are never edited; add new ones at the
// end (see twinlink/database.hpp).
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

std::string describe(std::string_view device, std::string_view name) {
    std::string out = "shadow of device '" + std::string(device) + "'";
    if (!name.empty()) out = "shadow '" + std::string(name) + "' of device '" + std::string(device) + "'";
    return out;
}

}  // namespace

ShadowStore::ShadowStore(Database& db) : db_(db) {
    db_.migrate("shadow", shadow_migrations());
    statements_ = std::make_unique<detail::PreparedStatements>(db_);
}

ShadowStore::~ShadowStore() {
    std::lock_guard<std::recursive_mutex> lock(db_.mutex());
    statements_.reset();
}

std::optional<ShadowDocument> ShadowStore::load(std::string_view device, std::string_view name,
                                                const ShadowLimits& limits) {
    std::string text;
    {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get("SELECT document FROM shadow WHERE device = ?1 AND name = ?2");
        st.bind(1, device).bind(2, name);
        if (!st.step()) return std::nullopt;
        text = st.column_text(0);
        st.reset();
    }
    // AWS names the thing in the 404 message of a classic shadow.
    const std::string label(name.empty() ? device : name);
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded())
        throw Error(Status::Io, "database '" + db_.path() + "': the stored " + describe(device, name) +
                                    " is not JSON");
    try {
        return ShadowDocument::from_json(json, label, limits);
    } catch (const Error& e) {
        throw Error(Status::Io, "database '" + db_.path() + "': the stored " + describe(device, name) +
                                    " is damaged: " + e.what());
    }
}

void ShadowStore::save(std::string_view device, std::string_view name, const ShadowDocument& document) {
    const std::string text = document.to_json().dump();
    std::lock_guard<std::recursive_mutex> lock(db_.mutex());
    statements_->get(
           "INSERT INTO shadow(device, name, document, version, timestamp, present)"
           " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
           " ON CONFLICT(device, name) DO UPDATE SET document = excluded.document,"
           " version = excluded.version, timestamp = excluded.timestamp, present = excluded.present")
        .bind(1, device)
        .bind(2, name)
        .bind(3, text)
        .bind(4, document.version())
        .bind(5, document.timestamp())
        .bind(6, document.exists())
        .run();
}

std::vector<std::string> ShadowStore::devices() {
    std::lock_guard<std::recursive_mutex> lock(db_.mutex());
    Statement st = db_.prepare("SELECT DISTINCT device FROM shadow WHERE present ORDER BY device");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.column_text(0));
    return out;
}

std::vector<ShadowSummary> ShadowStore::list(std::string_view device) {
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

}  // namespace twinlink
