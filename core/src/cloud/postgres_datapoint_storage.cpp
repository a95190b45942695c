// Batches and points in PostgreSQL, written by several instances at once.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <mutex>
#include <type_traits>
#include <variant>

#include "cloud/postgres_connection.hpp"
#include "cloud/storage_backends.hpp"
#include "twinlink/postgres_database.hpp"

namespace twinlink::detail {

namespace {

// The schema of the "datapoints" module, step for step the one of sqlite_datapoint_storage.cpp.
// `value` is TEXT: PostgreSQL has no column without a type.
const std::vector<SchemaMigration>& datapoint_migrations() {
    static const std::vector<SchemaMigration> migrations = {
        {1,
         "CREATE TABLE datapoints_batches("
         " id BIGSERIAL PRIMARY KEY,"
         " device TEXT COLLATE \"C\" NOT NULL,"
         " seq BIGINT NOT NULL,"  // the uint64 seq as the int64 with the same bits
         " batch_id TEXT NOT NULL,"
         " received_at BIGINT NOT NULL,"  // ms since the epoch
         " points INTEGER NOT NULL,"
         " UNIQUE(device, seq, batch_id));"
         "CREATE TABLE datapoints_points("
         " id BIGSERIAL PRIMARY KEY,"
         " batch BIGINT NOT NULL,"  // datapoints_batches.id
         " device TEXT COLLATE \"C\" NOT NULL,"
         " series TEXT COLLATE \"C\" NOT NULL,"
         " ts BIGINT NOT NULL,"    // ms since the epoch
         " kind TEXT NOT NULL,"    // double, int, bool, string, object
         " value TEXT NOT NULL);"  // see value_text()
         "CREATE INDEX datapoints_points_by_series ON datapoints_points(device, series, ts);"
         "CREATE INDEX datapoints_points_by_time ON datapoints_points(device, ts);"},
    };
    return migrations;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string limit_text(std::size_t limit) {
    return limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
               ? std::to_string(std::numeric_limits<std::int64_t>::max())
               : std::to_string(limit);
}

// A double in its shortest form that reads back exactly ("nan", "inf" and "-inf" included).
std::string double_text(double v) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, result.ptr);
}

// The kind and the text of a value: digits for an int, "1" or "0" for a bool.
std::pair<const char*, std::string> kind_and_text(const DatapointValue& value) {
    return std::visit(
        [](const auto& v) -> std::pair<const char*, std::string> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, double>) return {kKindDouble, double_text(v)};
            else if constexpr (std::is_same_v<T, std::int64_t>) return {kKindInt, std::to_string(v)};
            else if constexpr (std::is_same_v<T, bool>) return {kKindBool, v ? "1" : "0"};
            else if constexpr (std::is_same_v<T, std::string>) return {kKindString, v};
            else return {kKindObject, v.dump()};
        },
        value);
}

// Appends `text` to an array literal as a quoted element ({"a","b\"c"}).
void append_element(std::string& array, std::string_view text) {
    array += array.size() > 1 ? ",\"" : "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
    }
    array += '"';
}

class PostgresDatapointStorage final : public DatapointStorage {
public:
    explicit PostgresDatapointStorage(PostgresDatabase& db) : db_(db), c_(db.connection()) {
        db_.migrate("datapoints", datapoint_migrations());
    }

    InsertOutcome insert(const DecodedBatch& batch) override {
        const std::string device = batch.device;
        const std::string seq = std::to_string(static_cast<std::int64_t>(batch.seq));
        PgTransaction tx(c_);
        // The unique constraint decides: a concurrent writer of the same batch waits here for the
        // other's commit, then finds the conflict.
        auto inserted = c_.run(
            "INSERT INTO datapoints_batches(device, seq, batch_id, received_at, points)"
            " VALUES($1, $2, $3, $4, $5) ON CONFLICT (device, seq, batch_id) DO NOTHING RETURNING id",
            {device, seq, batch.batch_id, std::to_string(now_ms()), std::to_string(batch.points.size())});
        if (inserted.rows() == 0) return InsertOutcome::Duplicate;  // rolled back: nothing was written
        const std::string batch_row = inserted.text(0, 0);
        const bool known_seq =
            c_.run("SELECT EXISTS(SELECT 1 FROM datapoints_batches WHERE device = $1 AND seq = $2 AND batch_id <> $3)",
                   {device, seq, batch.batch_id})
                .text(0, 0) == "t";
        if (!batch.points.empty()) {
            // One statement for the whole batch: the points travel as four arrays.
            std::string series = "{", ts = "{", kinds = "{", values = "{";
            for (const Datapoint& p : batch.points) {
                append_element(series, p.name);
                ts += (ts.size() > 1 ? "," : "") + std::to_string(p.timestamp_ms);
                const auto [kind, text] = kind_and_text(p.value);
                append_element(kinds, kind);
                append_element(values, text);
            }
            series += '}', ts += '}', kinds += '}', values += '}';
            c_.run("INSERT INTO datapoints_points(batch, device, series, ts, kind, value)"
                   " SELECT $1, $2, u.series, u.ts, u.kind, u.value"
                   " FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[]) WITH ORDINALITY"
                   " AS u(series, ts, kind, value, n) ORDER BY u.n",
                   {batch_row, device, series, ts, kinds, values});
        }
        tx.commit();
        return known_seq ? InsertOutcome::SeqReused : InsertOutcome::Stored;
    }

    std::vector<StoredPoint> tail(std::string_view device, std::size_t n) override {
        auto out = read(c_.run("SELECT id, series, ts, kind, value FROM datapoints_points WHERE device = $1"
                               " ORDER BY ts DESC, id DESC LIMIT $2",
                               {std::string(device), limit_text(n)}));
        std::reverse(out.begin(), out.end());
        return out;
    }

    std::vector<StoredPoint> query(std::string_view device, std::string_view series, std::int64_t since_ms,
                                   std::int64_t until_ms, std::size_t limit) override {
        return read(c_.run("SELECT id, series, ts, kind, value FROM datapoints_points"
                           " WHERE device = $1 AND series = $2 AND ts BETWEEN $3 AND $4 ORDER BY ts, id LIMIT $5",
                           {std::string(device), std::string(series), std::to_string(since_ms),
                            std::to_string(until_ms), limit_text(limit)}));
    }

    std::vector<StoredPoint> stored_after(std::string_view device, std::int64_t after_id, std::size_t limit) override {
        return read(c_.run("SELECT id, series, ts, kind, value FROM datapoints_points"
                           " WHERE device = $1 AND id > $2 ORDER BY id LIMIT $3",
                           {std::string(device), std::to_string(after_id), limit_text(limit)}));
    }

    std::int64_t last_id(std::string_view device) override {
        auto r = c_.run("SELECT max(id) FROM datapoints_points WHERE device = $1", {std::string(device)});
        return r.is_null(0, 0) ? 0 : r.int64(0, 0);
    }

    std::uint64_t count(std::string_view device) override {
        return static_cast<std::uint64_t>(
            c_.run("SELECT count(*) FROM datapoints_points WHERE device = $1", {std::string(device)}).int64(0, 0));
    }

    std::vector<std::string> series(std::string_view device) override {
        return column(c_.run("SELECT DISTINCT series FROM datapoints_points WHERE device = $1 ORDER BY series",
                             {std::string(device)}));
    }

    std::vector<std::string> devices() override {
        return column(c_.run("SELECT DISTINCT device FROM datapoints_batches ORDER BY device", {}));
    }

private:
    static std::vector<std::string> column(const PgResult& r) {
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
        return out;
    }

    // Reads rows of (id, series, ts, kind, value).
    std::vector<StoredPoint> read(const PgResult& r) const {
        std::vector<StoredPoint> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i) {
            StoredPoint p;
            p.id = r.int64(i, 0);
            p.point.name = r.text(i, 1);
            p.point.timestamp_ms = r.int64(i, 2);
            const std::string kind = r.text(i, 3);
            if (kind == kKindDouble) {
                p.point.value = r.real(i, 4);
            } else if (kind == kKindInt) {
                p.point.value = r.int64(i, 4);
            } else if (kind == kKindBool) {
                p.point.value = r.text(i, 4) == "1";
            } else if (kind == kKindString) {
                p.point.value = r.text(i, 4);
            } else if (kind == kKindObject) {
                auto object = nlohmann::json::parse(r.text(i, 4), nullptr, false);
                if (!object.is_object())
                    throw Error(Status::Io, "database '" + db_.uri() + "': datapoint " + std::to_string(p.id) +
                                                " holds an object that is not valid JSON");
                p.point.value = std::move(object);
            } else {
                throw Error(Status::Io, "database '" + db_.uri() + "': datapoint " + std::to_string(p.id) +
                                            " has an unknown kind '" + kind + "'");
            }
            out.push_back(std::move(p));
        }
        return out;
    }

    PostgresDatabase& db_;
    PostgresConnection& c_;
};

}  // namespace

std::unique_ptr<DatapointStorage> make_postgres_datapoint_storage(PostgresDatabase& db) {
    return std::make_unique<PostgresDatapointStorage>(db);
}

}  // namespace twinlink::detail
