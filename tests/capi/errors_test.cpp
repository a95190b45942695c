// tl_status_str, tl_last_error and the version functions.
#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "raw_enums.h"
#include "twinlink.h"

namespace {

TEST(StatusStr, NamesEveryStatus) {
    const struct {
        tl_status status;
        const char* name;
    } cases[] = {
        {TL_OK, "ok"},
        {TL_EINVAL, "invalid argument"},
        {TL_ENOMEM, "out of memory"},
        {TL_ETIMEOUT, "timeout"},
        {TL_ECONNECT, "connect failed"},
        {TL_ETLS, "tls error"},
        {TL_EAUTH, "not authorized"},
        {TL_ENOTCONN, "not connected"},
        {TL_EQUEUE_FULL, "queue full"},
        {TL_EDROPPED, "dropped"},
        {TL_ECANCELED, "canceled"},
        {TL_ESUBSCRIBE, "subscribe rejected"},
        {TL_ESTATE, "wrong state"},
        {TL_EPROTOCOL, "protocol error"},
        {TL_EINTERNAL, "internal error"},
        {TL_EIO, "i/o error"},
        {TL_EREJECTED, "rejected"},
        {TL_ECONFLICT, "version conflict"},
        {TL_ENOTFOUND, "not found"},
    };
    for (const auto& c : cases) EXPECT_STREQ(tl_status_str(c.status), c.name) << c.status;
}

TEST(StatusStr, UnknownValues) {
    for (int value : {1, 42, -1000, 12345}) {
        EXPECT_STREQ(raw_status_str(value), "unknown status") << value;
    }
}

TEST(Version, MatchesTheHeaders) {
    EXPECT_STREQ(tl_version(), TL_VERSION_STRING);
    EXPECT_EQ(tl_version_number(), TL_VERSION_NUMBER);
    EXPECT_EQ(TL_VERSION_NUMBER, TL_VERSION_MAJOR * 10000 + TL_VERSION_MINOR * 100 + TL_VERSION_PATCH);
}

TEST(LastError, EmptyOnAFreshThreadAndThreadLocal) {
    std::string fresh = "unset";
    std::thread([&] { fresh = tl_last_error(); }).join();
    EXPECT_EQ(fresh, "");

    ASSERT_EQ(tl_client_options_new(nullptr), TL_EINVAL);
    const std::string here = tl_last_error();
    EXPECT_NE(here.find("tl_client_options_new"), std::string::npos) << here;

    std::string other = "unset";
    std::thread([&] {
        tl_client_start(nullptr);
        other = tl_last_error();
    }).join();
    EXPECT_NE(other.find("tl_client_start"), std::string::npos) << other;
    EXPECT_EQ(std::string(tl_last_error()), here) << "another thread's failure leaked into this one";
}

TEST(LastError, KeptAcrossSuccessfulCalls) {
    ASSERT_EQ(tl_client_start(nullptr), TL_EINVAL);
    const std::string message = tl_last_error();
    tl_client_options* options = nullptr;
    ASSERT_EQ(tl_client_options_new(&options), TL_OK);
    tl_client_options_free(options);
    EXPECT_EQ(std::string(tl_last_error()), message);
}

}  // namespace
