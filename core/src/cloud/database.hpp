// Internals shared by the stores of the cloud side (shadow store, datapoint store) on top of the
// public Database: a cache of prepared statements for their hot paths.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "twinlink/database.hpp"

namespace twinlink::detail {

/// Statements prepared once and reused, by SQL text. Not synchronised: a store uses it while it
/// holds the database's mutex, which also makes the returned statement safe to use until the
/// lock is released.
///
///     std::lock_guard<std::recursive_mutex> lock(db_.mutex());
///     Statement& st = statements_.get("INSERT INTO t(a) VALUES(?1)");
///     st.bind(1, a).run();
class PreparedStatements {
public:
    explicit PreparedStatements(Database& db) : db_(db) {}

    /// The statement for `sql`, reset and with no bindings, prepared on first use. The reference
    /// stays valid for the lifetime of this object.
    Statement& get(std::string_view sql) {
        auto it = statements_.find(sql);
        if (it == statements_.end())
            it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_.prepare(sql))).first;
        it->second->reset();
        return *it->second;
    }

private:
    Database& db_;
    std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements_;
};

}  // namespace twinlink::detail
