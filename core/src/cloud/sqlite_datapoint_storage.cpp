// Batches and points in SQLite.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <type_traits>
#include <variant>

#include "cloud/database.hpp"
#include "cloud/storage_backends.hpp"

namespace twinlink::detail {

namespace {

// The schema of the "datapoints" module. Released migrations are never edited; add new ones at
// the end (see twinlink/database.hpp), and the same step to postgres_datapoint_storage.cpp.
//
// Uniqueness is on (device, seq, batch_id), not on (device, seq) alone: a device that reuses a
// seq sends new data under it, which is stored, and the redeliveries of both batches must still
// be recognised afterwards. The unique index also serves the lookup by (device, seq).
const std::vector<SchemaMigration>& datapoint_migrations() {
    static const std::vector<SchemaMigration> migrations = {
        {1,
         "CREATE TABLE datapoints_batches("
         " id INTEGER PRIMARY KEY,"
         " device TEXT NOT NULL,"
         " seq INTEGER NOT NULL,"  // the uint64 seq as the int64 with the same bits
         " batch_id TEXT NOT NULL,"
         " received_at INTEGER NOT NULL,"  // ms since the epoch
         " points INTEGER NOT NULL,"
         " UNIQUE(device, seq, batch_id));"
         "CREATE TABLE datapoints_points("
         " id INTEGER PRIMARY KEY,"
         " batch INTEGER NOT NULL,"  // datapoints_batches.id
         " device TEXT NOT NULL,"
         " series TEXT NOT NULL,"
         " ts INTEGER NOT NULL,"  // ms since the epoch
         " kind TEXT NOT NULL,"   // double, int, bool, string, object
         " value NOT NULL);"      // no type affinity: REAL, INTEGER or TEXT as written
         "CREATE INDEX datapoints_points_by_series ON datapoints_points(device, series, ts);"
         "CREATE INDEX datapoints_points_by_time ON datapoints_points(device, ts);"},
    };
    return migrations;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t as_limit(std::size_t limit) {
    return limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
               ? -1  // SQLite: no limit
               : static_cast<std::int64_t>(limit);
}

// Binds the value and the kind of `value` to parameters `kind` and `kind + 1`.
void bind_value(Statement& st, int kind, const DatapointValue& value) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, double>) {
                st.bind(kind, kKindDouble).bind(kind + 1, v);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                st.bind(kind, kKindInt).bind(kind + 1, v);
            } else if constexpr (std::is_same_v<T, bool>) {
                st.bind(kind, kKindBool).bind(kind + 1, v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                st.bind(kind, kKindString).bind(kind + 1, v);
            } else {
                st.bind(kind, kKindObject).bind(kind + 1, v.dump());
            }
        },
        value);
}

// Reads rows of (id, series, ts, kind, value).
std::vector<StoredPoint> read_points(Statement& st, const std::string& db_path) {
    std::vector<StoredPoint> out;
    while (st.step()) {
        StoredPoint p;
        p.id = st.column_int64(0);
        p.point.name = st.column_text(1);
        p.point.timestamp_ms = st.column_int64(2);
        const std::string kind = st.column_text(3);
        if (kind == kKindDouble) {
            p.point.value = st.column_double(4);
        } else if (kind == kKindInt) {
            p.point.value = st.column_int64(4);
        } else if (kind == kKindBool) {
            p.point.value = st.column_int64(4) != 0;
        } else if (kind == kKindString) {
            p.point.value = st.column_text(4);
        } else if (kind == kKindObject) {
            auto object = nlohmann::json::parse(st.column_text(4), nullptr, false);
            if (!object.is_object())
                throw Error(Status::Io, "database '" + db_path + "': datapoint " + std::to_string(p.id) +
                                            " holds an object that is not valid JSON");
            p.point.value = std::move(object);
        } else {
            throw Error(Status::Io, "database '" + db_path + "': datapoint " + std::to_string(p.id) +
                                        " has an unknown kind '" + kind + "'");
        }
        out.push_back(std::move(p));
    }
    st.reset();
    return out;
}

class SqliteDatapointStorage final : public DatapointStorage {
public:
    explicit SqliteDatapointStorage(Database& db) : db_(db) {
        db_.migrate("datapoints", datapoint_migrations());
        statements_ = std::make_unique<PreparedStatements>(db_);
    }

    ~SqliteDatapointStorage() override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        statements_.reset();
    }

    InsertOutcome insert(const DecodedBatch& batch) override {
        const auto seq = static_cast<std::int64_t>(batch.seq);
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Transaction tx = db_.transaction();

        bool known_seq = false;
        {
            Statement& find = statements_->get("SELECT batch_id FROM datapoints_batches WHERE device = ?1 AND seq = ?2");
            find.bind(1, batch.device).bind(2, seq);
            while (find.step()) {
                if (find.column_text(0) == batch.batch_id) {
                    find.reset();
                    return InsertOutcome::Duplicate;  // nothing written: the rollback is a no-op
                }
                known_seq = true;
            }
            find.reset();
        }

        statements_
            ->get("INSERT INTO datapoints_batches(device, seq, batch_id, received_at, points)"
                  " VALUES(?1, ?2, ?3, ?4, ?5)")
            .bind(1, batch.device)
            .bind(2, seq)
            .bind(3, batch.batch_id)
            .bind(4, now_ms())
            .bind(5, batch.points.size())
            .run();
        const std::int64_t batch_row = db_.last_insert_rowid();

        // Bindings survive run(): the batch and the device are bound once, the series when it changes
        // (points come grouped by series).
        Statement& add = statements_->get(
            "INSERT INTO datapoints_points(batch, device, series, ts, kind, value) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
        add.bind(1, batch_row).bind(2, batch.device);
        const std::string* series = nullptr;
        for (const Datapoint& p : batch.points) {
            if (!series || *series != p.name) {
                series = &p.name;
                add.bind(3, p.name);
            }
            add.bind(4, p.timestamp_ms);
            bind_value(add, 5, p.value);
            add.run();
        }
        add.reset();
        tx.commit();

        return known_seq ? InsertOutcome::SeqReused : InsertOutcome::Stored;
    }

    std::vector<StoredPoint> tail(std::string_view device, std::size_t n) override {
        if (n == 0) return {};
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get(
            "SELECT id, series, ts, kind, value FROM datapoints_points WHERE device = ?1"
            " ORDER BY ts DESC, id DESC LIMIT ?2");
        st.bind(1, device).bind(2, as_limit(n));
        auto out = read_points(st, db_.path());
        std::reverse(out.begin(), out.end());
        return out;
    }

    std::vector<StoredPoint> query(std::string_view device, std::string_view series, std::int64_t since_ms,
                                                   std::int64_t until_ms, std::size_t limit) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get(
            "SELECT id, series, ts, kind, value FROM datapoints_points"
            " WHERE device = ?1 AND series = ?2 AND ts BETWEEN ?3 AND ?4 ORDER BY ts, id LIMIT ?5");
        st.bind(1, device).bind(2, series).bind(3, since_ms).bind(4, until_ms).bind(5, as_limit(limit));
        return read_points(st, db_.path());
    }

    std::vector<StoredPoint> stored_after(std::string_view device, std::int64_t after_id,
                                                          std::size_t limit) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        // "+device" keeps SQLite from scanning the device's whole index: the id range is the short way.
        Statement& st = statements_->get(
            "SELECT id, series, ts, kind, value FROM datapoints_points"
            " WHERE id > ?2 AND +device = ?1 ORDER BY id LIMIT ?3");
        st.bind(1, device).bind(2, after_id).bind(3, as_limit(limit));
        return read_points(st, db_.path());
    }

    std::int64_t last_id(std::string_view device) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get("SELECT max(id) FROM datapoints_points WHERE device = ?1");
        st.bind(1, device);
        st.step();
        const std::int64_t id = st.column_is_null(0) ? 0 : st.column_int64(0);
        st.reset();
        return id;
    }

    std::uint64_t count(std::string_view device) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get("SELECT count(*) FROM datapoints_points WHERE device = ?1");
        st.bind(1, device);
        st.step();
        const auto n = static_cast<std::uint64_t>(st.column_int64(0));
        st.reset();
        return n;
    }

    std::vector<std::string> series(std::string_view device) override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        // One index seek per series instead of a scan of every point of the device.
        Statement& st = statements_->get(
            "WITH RECURSIVE s(name) AS ("
            " SELECT min(series) FROM datapoints_points WHERE device = ?1"
            " UNION ALL"
            " SELECT (SELECT min(series) FROM datapoints_points WHERE device = ?1 AND series > s.name)"
            " FROM s WHERE s.name IS NOT NULL)"
            " SELECT name FROM s WHERE name IS NOT NULL");
        st.bind(1, device);
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.column_text(0));
        st.reset();
        return out;
    }

    std::vector<std::string> devices() override {
        std::lock_guard<std::recursive_mutex> lock(db_.mutex());
        Statement& st = statements_->get(
            "WITH RECURSIVE d(name) AS ("
            " SELECT min(device) FROM datapoints_batches"
            " UNION ALL"
            " SELECT (SELECT min(device) FROM datapoints_batches WHERE device > d.name)"
            " FROM d WHERE d.name IS NOT NULL)"
            " SELECT name FROM d WHERE name IS NOT NULL");
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.column_text(0));
        st.reset();
        return out;
    }

private:
    Database& db_;
    std::unique_ptr<PreparedStatements> statements_;  // under db_.mutex()
};

}  // namespace

std::unique_ptr<DatapointStorage> make_sqlite_datapoint_storage(Database& db) {
    return std::make_unique<SqliteDatapointStorage>(db);
}

}  // namespace twinlink::detail
