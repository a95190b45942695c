// Series names and datapoint values: what may be recorded.
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "twinlink/datapoint.hpp"
#include "twinlink/status.hpp"

namespace {

using twinlink::DatapointValue;
using twinlink::Error;
using twinlink::Status;

Status status_of(void (*f)(std::string_view), std::string_view arg) {
    try {
        f(arg);
        return Status::Ok;
    } catch (const Error& e) {
        return e.status();
    }
}

TEST(SeriesName, AcceptsOrdinaryAndUnicodeNames) {
    for (const char* name : {"temp", "a", "room.1_temp-C", "température", "温度", "emoji😀", "with space"})
        EXPECT_NO_THROW(twinlink::validate_series_name(name)) << name;
    EXPECT_NO_THROW(twinlink::validate_series_name(std::string(128, 'x')));
    // 128 bytes exactly, ending in a 4-byte character.
    EXPECT_NO_THROW(twinlink::validate_series_name(std::string(124, 'x') + "😀"));
}

TEST(SeriesName, RejectsWhatATopicOrPathCouldMisread) {
    const struct {
        std::string name;
        const char* why;
    } cases[] = {
        {"", "empty"},
        {std::string(129, 'x'), "too long"},
        {std::string(126, 'x') + "😀", "130 bytes"},
        {"a/b", "slash"},
        {"a+b", "plus"},
        {"a#", "hash"},
        {std::string("a\0b", 3), "NUL"},
        {"tab\there", "tab"},
        {"line\n", "newline"},
        {"del\x7f", "DEL"},
        {"c1\xc2\x85", "U+0085 (C1 control)"},
        {"\xff", "invalid byte"},
        {"\xc0\xaf", "overlong"},
        {"\xed\xa0\x80", "surrogate"},
        {"\xf4\x90\x80\x80", "above U+10FFFF"},
        {"trunc\xe6\xb8", "truncated sequence"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(status_of(twinlink::validate_series_name, c.name), Status::InvalidArgument) << c.why;
}

TEST(SeriesName, MessageNamesTheProblem) {
    try {
        twinlink::validate_series_name("a/b");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'a/b'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("reserved"), std::string::npos) << e.what();
    }
}

Status value_status(const DatapointValue& v) {
    try {
        twinlink::validate_value(v);
        return Status::Ok;
    } catch (const Error& e) {
        return e.status();
    }
}

TEST(Value, AcceptsEveryKind) {
    EXPECT_EQ(value_status(21.5), Status::Ok);
    EXPECT_EQ(value_status(-0.0), Status::Ok);
    EXPECT_EQ(value_status(std::numeric_limits<double>::max()), Status::Ok);
    EXPECT_EQ(value_status(std::numeric_limits<double>::denorm_min()), Status::Ok);
    EXPECT_EQ(value_status(std::int64_t{-5}), Status::Ok);
    EXPECT_EQ(value_status(true), Status::Ok);
    EXPECT_EQ(value_status(std::string()), Status::Ok);
    EXPECT_EQ(value_status(std::string("naïve \"quoted\"\n")), Status::Ok);
    EXPECT_EQ(value_status(nlohmann::json::object()), Status::Ok);
    EXPECT_EQ(value_status(nlohmann::json{{"a", {1, 2, {{"b", nullptr}}}}}), Status::Ok);
}

TEST(Value, RejectsWhatCannotRoundTrip) {
    EXPECT_EQ(value_status(std::nan("")), Status::InvalidArgument);
    EXPECT_EQ(value_status(std::numeric_limits<double>::infinity()), Status::InvalidArgument);
    EXPECT_EQ(value_status(-std::numeric_limits<double>::infinity()), Status::InvalidArgument);
    EXPECT_EQ(value_status(std::string("\xff")), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json(5)), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json::array()), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json("text")), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json()), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json{{"x", std::nan("")}}), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json{{"x", "\xff"}}), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json{{"\xff", 1}}), Status::InvalidArgument);
    EXPECT_EQ(value_status(nlohmann::json{{"x", nlohmann::json::binary({1, 2})}}), Status::InvalidArgument);
}

TEST(Value, NestingLimit) {
    const auto nested = [](int depth) {  // `depth` levels of objects, built without deep copies
        nlohmann::json root = nlohmann::json::object();
        nlohmann::json* leaf = &root;
        for (int i = 1; i < depth; ++i) {
            (*leaf)["a"] = nlohmann::json::object();
            leaf = &(*leaf)["a"];
        }
        return DatapointValue(std::move(root));
    };
    EXPECT_EQ(value_status(nested(twinlink::kMaxValueDepth)), Status::Ok);
    EXPECT_EQ(value_status(nested(twinlink::kMaxValueDepth + 1)), Status::InvalidArgument);
    // Deep enough to overflow the stack of a naive recursive check.
    EXPECT_EQ(value_status(nested(100000)), Status::InvalidArgument);
}

TEST(Encoding, Names) {
    EXPECT_STREQ(twinlink::encoding_name(twinlink::Encoding::Json), "json");
    EXPECT_STREQ(twinlink::encoding_name(twinlink::Encoding::Cbor), "cbor");
}

}  // namespace
