// Status codes, names of enumerations, the Error type and the library version.
#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "twinlink/client.hpp"
#include "twinlink/log.hpp"
#include "twinlink/status.hpp"
#include "twinlink/version.hpp"

namespace {

using twinlink::Status;

TEST(Status, NumericValuesAreTheAbiValues) {
    EXPECT_EQ(static_cast<int>(Status::Ok), 0);
    EXPECT_EQ(static_cast<int>(Status::InvalidArgument), -1);
    EXPECT_EQ(static_cast<int>(Status::Timeout), -3);
    EXPECT_EQ(static_cast<int>(Status::TlsError), -5);
    EXPECT_EQ(static_cast<int>(Status::QueueFull), -8);
    EXPECT_EQ(static_cast<int>(Status::Canceled), -10);
    EXPECT_EQ(static_cast<int>(Status::Io), -15);
    EXPECT_EQ(static_cast<int>(Status::Rejected), -16);
    EXPECT_EQ(static_cast<int>(Status::Conflict), -17);
    EXPECT_EQ(static_cast<int>(Status::NotFound), -18);
}

TEST(Status, EveryStatusHasADistinctName) {
    std::set<std::string> names;
    const int last = static_cast<int>(Status::NotFound);  // the last value the header declares
    for (int v = 0; v >= last; --v) {
        const char* name = twinlink::status_name(static_cast<Status>(v));
        ASSERT_NE(name, nullptr) << v;
        EXPECT_GT(std::strlen(name), 0u) << v;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(1 - last));
    EXPECT_STREQ(twinlink::status_name(Status::Ok), "ok");
    EXPECT_STREQ(twinlink::status_name(Status::Timeout), "timeout");
}

TEST(Status, UnknownValueStillHasAName) {
    const char* name = twinlink::status_name(static_cast<Status>(-999));
    ASSERT_NE(name, nullptr);
    EXPECT_GT(std::strlen(name), 0u);
}

TEST(Status, ErrorCarriesStatusAndMessage) {
    try {
        throw twinlink::Error(Status::QueueFull, "the offline queue is full.");
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "the offline queue is full.");
        const auto* te = dynamic_cast<const twinlink::Error*>(&e);
        ASSERT_NE(te, nullptr);
        EXPECT_EQ(te->status(), Status::QueueFull);
    }
}

TEST(Names, LogLevelsAndConnectionStates) {
    std::set<std::string> levels;
    for (int v = 0; v <= 3; ++v) {
        const char* name = twinlink::log_level_name(static_cast<twinlink::LogLevel>(v));
        ASSERT_NE(name, nullptr);
        levels.insert(name);
    }
    EXPECT_EQ(levels.size(), 4u);
    std::set<std::string> states;
    for (int v = 0; v <= 3; ++v) {
        const char* name =
            twinlink::connection_state_name(static_cast<twinlink::ConnectionState>(v));
        ASSERT_NE(name, nullptr);
        states.insert(name);
    }
    EXPECT_EQ(states.size(), 4u);
}

TEST(Version, MatchesTheProjectVersion) {
    EXPECT_STREQ(twinlink::version(), TL_TEST_PROJECT_VERSION);
    EXPECT_EQ(twinlink::version_number(), TL_TEST_PROJECT_VERSION_NUMBER);
}

}  // namespace
