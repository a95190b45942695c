// One row of the fault matrix (docs/reliability.md, "The fault matrix"): what a fault did, counted
// at the far end. Each test prints its row as one line, `FAULT-ROW {json}`, which
// tests/faults/fault_table collects into the table.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twinlink/database.hpp"

namespace faults {

struct FaultRow {
    std::string fault;             ///< the row's name in the table
    std::int64_t sent = 0;         ///< points (or updates) the device was asked to send
    std::int64_t stored = 0;       ///< distinct ones the far end holds
    std::int64_t lost = 0;         ///< sent and not stored
    std::int64_t duplicated = 0;   ///< stored more than once
    std::int64_t recover_ms = -1;  ///< from the fault's end to the link working again; -1: not applicable
    std::string error;             ///< what the SDK reported: status and message, or the event
    std::string note;              ///< anything else the row needs said (what is simulated, the policy)

    std::string json() const {
        nlohmann::json j = {{"fault", fault},     {"sent", sent},           {"stored", stored},
                            {"lost", lost},       {"duplicated", duplicated}, {"recover_ms", recover_ms},
                            {"error", error},     {"note", note}};
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    /// Prints the row and records it in the test's XML report.
    void print() const {
        const std::string line = json();
        std::printf("FAULT-ROW %s\n", line.c_str());
        std::fflush(stdout);
        ::testing::Test::RecordProperty("fault_row", line);
    }
};

/// The int points of `device` in a sink's database: rows, and distinct values.
struct StoredPoints {
    std::int64_t rows = 0, distinct = 0;
};

inline StoredPoints stored_points(const std::string& db_path, const std::string& device) {
    twinlink::Database db(db_path);
    auto st = db.prepare("SELECT COUNT(*), COUNT(DISTINCT value) FROM datapoints_points WHERE device = ?1");
    st.bind(1, device);
    StoredPoints s;
    if (st.step()) {
        s.rows = st.column_int64(0);
        s.distinct = st.column_int64(1);
    }
    return s;
}

inline std::int64_t ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace faults
