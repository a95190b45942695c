// Topic names, topic filters and matching (MQTT 3.1.1 section 4.7).
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/status.hpp"
#include "twinlink/topic.hpp"

namespace {

using twinlink::Error;
using twinlink::Status;

struct Case {
    std::string text;
    const char* why;
};

std::string printable(const std::string& s) {
    std::string out;
    if (s.size() > 40) return "<" + std::to_string(s.size()) + " bytes>";
    for (unsigned char c : s) {
        if (c < 0x20 || c >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// Runs `fn` and reports whether it threw Error(InvalidArgument); fails the test on any other
// exception type or status.
template <class Fn>
bool rejects(Fn fn, const std::string& what) {
    try {
        fn();
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument) << what << ": " << e.what();
        EXPECT_STRNE(e.what(), "") << what;
        return true;
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": threw a non-twinlink exception: " << e.what();
        return true;
    }
    return false;
}

const std::string kNul("a\0b", 3);
const std::string kMax(65535, 'x');
const std::string kTooLong(65536, 'x');

const std::vector<Case> kBadUtf8 = {
    {"a/\xff", "0xff is never valid UTF-8"},
    {"\xc3", "truncated two-byte sequence"},
    {"a\xc3/b", "lead byte followed by '/' instead of a continuation byte"},
    {"\x80", "lone continuation byte"},
    {"\xc0\xaf", "overlong encoding of '/'"},
    {"\xe0\x80\xaf", "three-byte overlong encoding"},
    {"\xed\xa0\x80", "UTF-16 surrogate U+D800"},
    {"\xf4\x90\x80\x80", "code point above U+10FFFF"},
    {"\xf0\x9f\x98", "truncated four-byte sequence"},
};

TEST(TopicName, AcceptsValidNames) {
    const std::vector<Case> cases = {
        {"a", "one level"},
        {"a/b/c", "several levels"},
        {"/a", "leading empty level"},
        {"a/", "trailing empty level"},
        {"a//b", "empty level in the middle"},
        {"/", "two empty levels"},
        {"$SYS/broker/load", "$SYS topics may be published to by the API (broker decides)"},
        {"a b/c d", "spaces are ordinary characters"},
        {"caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80", "multi-byte UTF-8"},
        {kMax, "65535 bytes, the maximum"},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(rejects([&] { twinlink::validate_topic_name(c.text); }, c.why))
            << "rejected valid name \"" << printable(c.text) << "\" (" << c.why << ")";
    }
}

TEST(TopicName, RejectsInvalidNames) {
    std::vector<Case> cases = {
        {"", "empty"},
        {"+", "single-level wildcard"},
        {"#", "multi-level wildcard"},
        {"a/+/b", "'+' as a level"},
        {"a/#", "'#' as last level"},
        {"a+b", "'+' inside a level"},
        {"a#", "'#' inside a level"},
        {kNul, "NUL byte"},
        {kTooLong, "65536 bytes"},
    };
    cases.insert(cases.end(), kBadUtf8.begin(), kBadUtf8.end());
    for (const auto& c : cases) {
        EXPECT_TRUE(rejects([&] { twinlink::validate_topic_name(c.text); }, c.why))
            << "accepted invalid name \"" << printable(c.text) << "\" (" << c.why << ")";
    }
}

TEST(TopicName, ErrorMessageNamesTheTopic) {
    try {
        twinlink::validate_topic_name("sensors/+/temp");
        FAIL() << "did not throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("sensors/+/temp"), std::string::npos) << e.what();
    }
}

TEST(TopicFilter, AcceptsValidFilters) {
    const std::vector<Case> cases = {
        {"a", "plain topic"},
        {"#", "'#' alone"},
        {"+", "'+' alone"},
        {"+/+", "two single-level wildcards"},
        {"a/+", "'+' last"},
        {"+/a", "'+' first"},
        {"a/+/b", "'+' in the middle"},
        {"a/#", "'#' last"},
        {"+/a/#", "both wildcards"},
        {"/#", "empty first level then '#'"},
        {"/+", "empty first level then '+'"},
        {"+/", "'+' then an empty level"},
        {"a//b", "empty level"},
        {"/a", "leading empty level"},
        {"$SYS/#", "$SYS filter"},
        {"caf\xc3\xa9/+", "multi-byte UTF-8"},
        {kMax, "65535 bytes, the maximum"},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(rejects([&] { twinlink::validate_topic_filter(c.text); }, c.why))
            << "rejected valid filter \"" << printable(c.text) << "\" (" << c.why << ")";
    }
}

TEST(TopicFilter, RejectsInvalidFilters) {
    std::vector<Case> cases = {
        {"", "empty"},
        {"a/#/b", "'#' not last"},
        {"#/a", "'#' first of several levels"},
        {"a#", "'#' inside a level"},
        {"a/#b", "'#' followed by characters"},
        {"##", "two '#' in one level"},
        {"a+/b", "'+' inside a level"},
        {"a/+b", "'+' followed by characters"},
        {"a/b+", "'+' at the end of a level"},
        {"++", "two '+' in one level"},
        {kNul, "NUL byte"},
        {kTooLong, "65536 bytes"},
    };
    cases.insert(cases.end(), kBadUtf8.begin(), kBadUtf8.end());
    for (const auto& c : cases) {
        EXPECT_TRUE(rejects([&] { twinlink::validate_topic_filter(c.text); }, c.why))
            << "accepted invalid filter \"" << printable(c.text) << "\" (" << c.why << ")";
    }
}

TEST(TopicFilter, ErrorMessageNamesTheFilter) {
    try {
        twinlink::validate_topic_filter("a/#/b");
        FAIL() << "did not throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("a/#/b"), std::string::npos) << e.what();
    }
}

struct MatchCase {
    const char* filter;
    const char* topic;
    bool matches;
};

TEST(TopicMatches, FollowsMqttRules) {
    const MatchCase cases[] = {
        // exact
        {"a/b", "a/b", true},
        {"a/b", "a/c", false},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"A", "a", false},
        {"a/b", "a/b/", false},
        {"a//b", "a//b", true},
        {"a//b", "a/b", false},
        {"/a", "/a", true},
        {"/a", "a", false},
        // '+'
        {"a/+", "a/b", true},
        {"a/+", "a/b/c", false},
        {"a/+", "a", false},
        {"a/+", "a/", true},
        {"a/+/c", "a/b/c", true},
        {"a/+/c", "a//c", true},
        {"a/+/c", "a/b/d", false},
        {"+", "a", true},
        {"+", "/a", false},
        {"+/+", "a/b", true},
        {"+/+", "/a", true},
        {"+/+", "a/", true},
        {"+/+", "a", false},
        {"+/+", "a/b/c", false},
        {"/+", "/a", true},
        {"/+", "a", false},
        {"+/a", "x/a", true},
        // '#'
        {"#", "a", true},
        {"#", "a/b/c", true},
        {"#", "/a", true},
        {"#", "/", true},
        {"a/#", "a", true},
        {"a/#", "a/", true},
        {"a/#", "a/b", true},
        {"a/#", "a/b/c", true},
        {"a/#", "b", false},
        {"a/#", "ab", false},
        {"a/#", "b/a", false},
        {"+/+/#", "a/b", true},
        {"+/#", "a/b/c", true},
        {"a/+/#", "a", false},
        // '$' topics
        {"#", "$SYS", false},
        {"#", "$SYS/broker", false},
        {"+/broker", "$SYS/broker", false},
        {"+", "$", false},
        {"+/#", "$SYS/x", false},
        {"$SYS/#", "$SYS/broker", true},
        {"$SYS/+", "$SYS/broker", true},
        {"$SYS/broker", "$SYS/broker", true},
        {"a/+", "a/$b", true},
        {"a/#", "a/$b/c", true},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(twinlink::topic_matches(c.filter, c.topic), c.matches)
            << "filter \"" << c.filter << "\" topic \"" << c.topic << "\"";
    }
}

TEST(TopicMatches, HonoursStringViewBounds) {
    // A view into a longer buffer: the bytes after its end must not take part.
    EXPECT_TRUE(twinlink::topic_matches(std::string_view("a/b/c").substr(0, 3), "a/b"));
    EXPECT_FALSE(twinlink::topic_matches("a/b", std::string_view("a/b/c").substr(0, 2)));
}

}  // namespace
