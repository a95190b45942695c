#include "cloud/postgres_connection.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <utility>

#include "twinlink/postgres_database.hpp"
#include "twinlink/status.hpp"

namespace twinlink::detail {

namespace {

std::string shorten(std::string_view sql) {
    std::string out(sql.substr(0, 120));
    for (auto& c : out)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (sql.size() > 120) out += "...";
    return out;
}

std::string trimmed(const char* message) {
    std::string out = message ? message : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    for (auto& c : out)
        if (c == '\n') c = ' ';
    return out;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// libpq reports every connection failure as text; the server's refusals carry "FATAL:" and the
// SQLSTATE's wording.
[[noreturn]] void throw_connect_error(const std::string& uri, const std::string& message) {
    if (contains(message, "authentication failed") || contains(message, "no pg_hba.conf entry") ||
        contains(message, "no password supplied") || (contains(message, "role \"") && contains(message, "does not exist")))
        throw Error(Status::NotAuthorized, "PostgreSQL at '" + uri + "' refused the credentials: " + message);
    if (contains(message, "FATAL"))
        throw Error(Status::Io, "PostgreSQL at '" + uri + "' refused the connection: " + message);
    throw Error(Status::ConnectFailed, "cannot reach PostgreSQL at '" + uri + "': " + message);
}

}  // namespace

// ---- PgResult -------------------------------------------------------------------------------

PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult::~PgResult() { PQclear(result_); }

int PgResult::rows() const { return PQntuples(result_); }
bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string PgResult::text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t PgResult::int64(int row, int column) const {
    return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

double PgResult::real(int row, int column) const { return std::strtod(PQgetvalue(result_, row, column), nullptr); }

std::int64_t PgResult::affected() const {
    const char* n = PQcmdTuples(result_);
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

// ---- PostgresConnection ---------------------------------------------------------------------

PostgresConnection::PostgresConnection(const std::string& uri) : uri_(PostgresDatabase::redact(uri)) {
    if (!PostgresDatabase::is_uri(uri))
        throw Error(Status::InvalidArgument,
                    "'" + uri_ + "' is not a PostgreSQL URI (postgresql://user@host:port/database)");
    char* parse_error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(uri.c_str(), &parse_error);
    if (!parsed) {
        const std::string reason = parse_error ? trimmed(parse_error) : "out of memory";
        PQfreemem(parse_error);
        throw Error(Status::InvalidArgument, "the PostgreSQL URI '" + uri_ + "' is not valid: " + reason);
    }
    PQconninfoFree(parsed);
    // Defaults first: with expand_dbname, what the URI says overrides them.
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "twinlink", uri.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (!conn_) throw Error(Status::NoMemory, "cannot connect to PostgreSQL at '" + uri_ + "': out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string message = trimmed(PQerrorMessage(conn_));
        PQfinish(conn_);
        conn_ = nullptr;
        throw_connect_error(uri_, message);
    }
    // Notices (a table that already exists, ...) are not errors; keep them off stderr.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

PostgresConnection::~PostgresConnection() { PQfinish(conn_); }

void PostgresConnection::fail(std::string_view sql, const std::string& message) {
    throw Error(Status::Io, "database '" + uri_ + "': '" + shorten(sql) + "' failed: " + message);
}

void PostgresConnection::check(pg_result* result, std::string_view sql) {
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const std::string message = trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
    PQclear(result);
    fail(sql, message.empty() ? trimmed(PQerrorMessage(conn_)) : message);
}

void PostgresConnection::recover() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    PQreset(conn_);
    prepared_.clear();  // they went with the old session
    if (PQstatus(conn_) != CONNECTION_OK)
        throw Error(Status::ConnectFailed,
                    "database '" + uri_ + "': the connection was lost and cannot be made again: " +
                        trimmed(PQerrorMessage(conn_)));
}

PgResult PostgresConnection::execute(std::string_view sql) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!in_transaction_) recover();
    const std::string text(sql);
    pg_result* result = PQexec(conn_, text.c_str());
    check(result, sql);
    return PgResult(result);
}

PgResult PostgresConnection::run(std::string_view sql, const std::vector<std::string>& params) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!in_transaction_) recover();
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
        const std::string name = "tl_" + std::to_string(prepared_.size() + 1);
        const std::string text(sql);
        pg_result* prepared = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
        check(prepared, sql);
        PQclear(prepared);
        it = prepared_.emplace(text, name).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    pg_result* result = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                                       nullptr, nullptr, 0);
    check(result, sql);
    return PgResult(result);
}

// ---- PgTransaction --------------------------------------------------------------------------

PgTransaction::PgTransaction(PostgresConnection& connection) : connection_(connection), lock_(connection.mutex()) {
    connection_.execute("BEGIN");
    connection_.in_transaction_ = true;
}

PgTransaction::~PgTransaction() {
    if (!open_) return;
    connection_.in_transaction_ = false;
    try {
        connection_.execute("ROLLBACK");
    } catch (const Error&) {
        // The connection is gone: the server has rolled back already.
    }
}

void PgTransaction::commit() {
    open_ = false;
    connection_.in_transaction_ = false;
    connection_.execute("COMMIT");
}

}  // namespace twinlink::detail
