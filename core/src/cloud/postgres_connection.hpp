// One libpq connection with a cache of prepared statements, the parts of libpq the PostgreSQL
// storages need, and nothing of libpq in its interface.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace twinlink::detail {

/// A query's result (RAII). Rows and columns are numbered from 0; values are read as text.
class PgResult {
public:
    explicit PgResult(pg_result* result) noexcept : result_(result) {}
    PgResult(PgResult&& other) noexcept;
    PgResult& operator=(PgResult&&) = delete;
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    ~PgResult();

    int rows() const;
    bool is_null(int row, int column) const;
    std::string text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    double real(int row, int column) const;
    /// Rows an INSERT, UPDATE or DELETE changed.
    std::int64_t affected() const;

private:
    pg_result* result_;
};

class PostgresConnection {
public:
    /// Connects (see PostgresDatabase's constructor for the errors).
    explicit PostgresConnection(const std::string& uri);
    ~PostgresConnection();
    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;

    /// The URI without its password.
    const std::string& uri() const noexcept { return uri_; }

    /// Held around a sequence of calls that must not interleave with another thread's (a
    /// transaction). Every call below takes it too; it is recursive.
    std::recursive_mutex& mutex() noexcept { return mu_; }

    /// Runs one or more statements without parameters. Throws Error(Io) naming the URI.
    PgResult execute(std::string_view sql);
    /// Runs one statement with text parameters ($1, $2, ...), prepared on its first use on this
    /// connection. Throws Error(Io).
    PgResult run(std::string_view sql, const std::vector<std::string>& params);

private:
    friend class PgTransaction;
    [[noreturn]] void fail(std::string_view sql, const std::string& message);
    void check(pg_result* result, std::string_view sql);
    // After a lost connection (the server restarted): reconnect once, outside of a transaction.
    void recover();

    std::string uri_;
    pg_conn* conn_ = nullptr;
    std::recursive_mutex mu_;
    bool in_transaction_ = false;  // a lost connection is made again only outside of one
    std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name
};

/// Begins a transaction on construction, rolls it back on destruction unless committed. Holds the
/// connection's mutex throughout.
class PgTransaction {
public:
    explicit PgTransaction(PostgresConnection& connection);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;
    void commit();

private:
    PostgresConnection& connection_;
    std::lock_guard<std::recursive_mutex> lock_;
    bool open_ = true;
};

}  // namespace twinlink::detail
