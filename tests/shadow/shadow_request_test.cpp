// Parsing and validation of request payloads: every rejection with its code, and the limits.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twinlink/shadow_request.hpp"

namespace {

using nlohmann::json;
using twinlink::ShadowLimits;

std::string nested(std::size_t levels) {
    std::string s;
    for (std::size_t i = 0; i < levels; ++i) s += R"({"k":)";
    s += "1";
    for (std::size_t i = 0; i < levels; ++i) s += "}";
    return s;
}

// An update whose desired section has `levels` levels of nesting (the section is level 1).
std::string desired_with_depth(std::size_t levels) {
    return R"({"state":{"desired":)" + nested(levels) + "}}";
}

TEST(ParseUpdate, AcceptsAFullRequest) {
    const auto r = twinlink::parse_update_request(
        R"({"state":{"desired":{"a":1,"b":null},"reported":{"c":[1,2]}},"version":3,
            "clientToken":"tok"})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& u = r.request();
    EXPECT_EQ(*u.desired, json::parse(R"({"a":1,"b":null})"));
    EXPECT_EQ(*u.reported, json::parse(R"({"c":[1,2]})"));
    EXPECT_EQ(u.version, 3u);
    EXPECT_EQ(u.client_token, "tok");
    EXPECT_EQ(r.client_token(), "tok");
}

TEST(ParseUpdate, SectionsAreOptionalOneByOne) {
    const auto only_reported = twinlink::parse_update_request(R"({"state":{"reported":{}}})");
    ASSERT_TRUE(only_reported.ok());
    EXPECT_FALSE(only_reported.request().desired);
    EXPECT_FALSE(only_reported.request().version);
    EXPECT_FALSE(only_reported.client_token());

    const auto desired_null = twinlink::parse_update_request(R"({"state":{"desired":null}})");
    ASSERT_TRUE(desired_null.ok());
    ASSERT_TRUE(desired_null.request().desired);
    EXPECT_TRUE(desired_null.request().desired->is_null());
    EXPECT_FALSE(desired_null.request().reported);
}

TEST(ParseUpdate, StateNullMeansBothSectionsNull) {
    const auto r = twinlink::parse_update_request(R"({"state":null})");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.request().desired && r.request().desired->is_null());
    EXPECT_TRUE(r.request().reported && r.request().reported->is_null());
}

TEST(ParseUpdate, AcceptsUnicodeKeysAndValues) {
    const auto r = twinlink::parse_update_request(
        R"({"state":{"desired":{"température":"20 °C","温度":{"值":"🚀"},"esc\u00e9":"\ud83d\ude80"}}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r.request().desired)["温度"]["值"], "🚀");
    EXPECT_EQ((*r.request().desired)["escé"], "🚀");
}

struct Rejection {
    const char* why;
    std::string payload;
    int code;
    const char* message_part;
};

const std::vector<Rejection> kUpdateRejections = {
    {"empty payload", "", 400, "empty"},
    {"not JSON", "{state", 400, "Invalid JSON"},
    {"truncated", R"({"state":{"desired":{"a":1})", 400, "Invalid JSON"},
    {"trailing garbage", R"({"state":{"desired":{}}} x)", 400, "Invalid JSON"},
    {"not an object", "[1,2]", 400, "must be a JSON object"},
    {"a bare string", R"("state")", 400, "must be a JSON object"},
    {"invalid UTF-8", "{\"state\":{\"desired\":{\"a\":\"\xff\"}}}", 400, "UTF-8"},
    {"UTF-8 surrogate", "{\"state\":{\"desired\":{\"a\":\"\xed\xa0\x80\"}}}", 400, "UTF-8"},
    {"lone escaped surrogate", R"({"state":{"desired":{"a":"\ud800"}}})", 400, "Invalid JSON"},
    {"number out of range", R"({"state":{"desired":{"a":1e400}}})", 400, "out of range"},
    {"state missing", R"({"version":1})", 400, "Missing required node: state"},
    {"state a string", R"({"state":"x"})", 400, "State node must be an object"},
    {"state without sections", R"({"state":{}})", 400, "desired or reported"},
    {"delta in state", R"({"state":{"desired":{},"delta":{}}})", 400, "invalid node: 'delta'"},
    {"unknown top-level key", R"({"state":{"desired":{}},"metadata":{}})", 400,
     "invalid node: 'metadata'"},
    {"timestamp is not a request key", R"({"state":{"desired":{}},"timestamp":1})", 400,
     "invalid node: 'timestamp'"},
    {"desired an array", R"({"state":{"desired":[1]}})", 400, "desired must be an object"},
    {"reported a number", R"({"state":{"reported":5}})", 400, "reported must be an object"},
    {"null in an array", R"({"state":{"desired":{"a":[1,null]}}})", 400, "null"},
    {"null in an object in an array", R"({"state":{"reported":{"a":[{"b":null}]}}})", 400,
     "null"},
    {"negative version", R"({"state":{"desired":{}},"version":-1})", 400, "Invalid version"},
    {"fractional version", R"({"state":{"desired":{}},"version":1.5})", 400, "Invalid version"},
    {"string version", R"({"state":{"desired":{}},"version":"1"})", 400, "Invalid version"},
    {"version beyond 64 bits", R"({"state":{"desired":{}},"version":18446744073709551616})", 400,
     "Invalid version"},
    {"numeric clientToken", R"({"state":{"desired":{}},"clientToken":5})", 400,
     "Invalid clientToken"},
    {"clientToken of 65 bytes",
     R"({"state":{"desired":{}},"clientToken":")" + std::string(65, 'x') + R"("})", 400,
     "Invalid clientToken"},
    {"nesting of 9", desired_with_depth(9), 400, "too many levels of nesting; maximum is 8"},
    {"deep nesting outside state", R"({"x":)" + nested(100) + "}", 400, "too many levels"},
    {"deep arrays", std::string(60000, '['), 400, "too many levels"},
    {"key of 129 bytes", R"({"state":{"desired":{")" + std::string(129, 'k') + R"(":1}}})", 400,
     "129 bytes"},
    {"long key deep inside", R"({"state":{"reported":{"a":[{")" + std::string(200, 'k') +
                                 R"(":1}]}}})",
     400, "200 bytes"},
    {"payload over 64 KiB",
     R"({"state":{"desired":{"a":")" + std::string(64 * 1024, 'x') + R"("}}})", 413,
     "Payload too large"},
};

TEST(ParseUpdate, RejectsWithTheRightCode) {
    for (const auto& c : kUpdateRejections) {
        const auto r = twinlink::parse_update_request(c.payload);
        ASSERT_FALSE(r.ok()) << c.why;
        EXPECT_EQ(r.error().code, c.code) << c.why << ": " << r.error().message;
        EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
            << c.why << ": " << r.error().message;
        EXPECT_LT(r.error().message.size(), 300u) << c.why << ": messages stay short";
    }
}

TEST(ParseUpdate, DepthAndKeyLimitsAreInclusive) {
    EXPECT_TRUE(twinlink::parse_update_request(desired_with_depth(8)).ok());
    EXPECT_TRUE(twinlink::parse_update_request(
                    R"({"state":{"desired":{")" + std::string(128, 'k') + R"(":1}}})")
                    .ok());
    EXPECT_TRUE(twinlink::parse_update_request(
                    R"({"state":{"desired":{}},"clientToken":")" + std::string(64, 't') + R"("})")
                    .ok());
    // Arrays count as levels too.
    EXPECT_TRUE(twinlink::parse_update_request(
                    R"({"state":{"desired":{"a":[[[[[[[1]]]]]]]}}})").ok());
    EXPECT_FALSE(twinlink::parse_update_request(
                     R"({"state":{"desired":{"a":[[[[[[[[1]]]]]]]]}}})").ok());
    // Brackets inside strings are not nesting.
    EXPECT_TRUE(twinlink::parse_update_request(
                    R"({"state":{"desired":{"s":"[[[[[[[[[[{{{{{{{{{{\"[[[["}}})").ok());
}

TEST(ParseUpdate, LimitsAreConfigurable) {
    ShadowLimits limits;
    limits.max_payload_bytes = 40;
    limits.max_depth = 2;
    limits.max_key_bytes = 3;
    EXPECT_EQ(twinlink::parse_update_request(R"({"state":{"desired":{"abcd":1}}})", limits)
                  .error()
                  .code,
              400);
    EXPECT_TRUE(twinlink::parse_update_request(R"({"state":{"desired":{"abc":1}}})", limits).ok());
    EXPECT_TRUE(twinlink::parse_update_request(R"({"state":{"desired":{"a":{"b":1}}}})", limits)
                    .ok());
    EXPECT_EQ(twinlink::parse_update_request(R"({"state":{"desired":{"a":{"b":{}}}}})", limits)
                  .error()
                  .message,
              "JSON contains too many levels of nesting; maximum is 2");
    EXPECT_EQ(twinlink::parse_update_request(
                  R"({"state":{"desired":{"a":1}},"clientToken":"0123456789"})", limits)
                  .error()
                  .code,
              413);
}

TEST(ParseUpdate, RejectionsEchoAValidClientToken) {
    const auto conflict = twinlink::parse_update_request(
        R"({"state":{"desired":[1]},"clientToken":"abc"})");
    ASSERT_FALSE(conflict.ok());
    EXPECT_EQ(conflict.client_token(), "abc");
    const auto unknown = twinlink::parse_update_request(R"({"clientToken":"abc","x":1})");
    EXPECT_EQ(unknown.client_token(), "abc");
    const auto invalid = twinlink::parse_update_request(
        R"({"state":{"desired":{}},"clientToken":")" + std::string(70, 'x') + R"("})");
    EXPECT_FALSE(invalid.client_token()) << "an invalid token is not echoed";
    const auto garbage = twinlink::parse_update_request("{\"clientToken\":\"abc\",");
    EXPECT_FALSE(garbage.client_token());
}

TEST(ParseUpdate, ParsedRequestsRoundTrip) {
    for (const char* text : {R"({"state":{"desired":{"a":1}}})",
                             R"({"state":{"desired":null,"reported":{"b":[1,"x"]}},"version":9,
                                 "clientToken":"t"})",
                             R"({"state":{"reported":{}},"clientToken":""})"}) {
        const auto r = twinlink::parse_update_request(text);
        ASSERT_TRUE(r.ok()) << text;
        EXPECT_EQ(r.request().to_json(), json::parse(text));
        const auto again = twinlink::parse_update_request(r.request().to_json().dump());
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again.request().to_json(), r.request().to_json());
    }
}

TEST(ErrorResponse, HasTheAwsShape) {
    EXPECT_EQ(twinlink::error_response({400, "Bad"}, std::string("t"), 42),
              json::parse(R"({"code":400,"message":"Bad","timestamp":42,"clientToken":"t"})"));
    EXPECT_EQ(twinlink::error_response({413, "Big"}, std::nullopt, 42),
              json::parse(R"({"code":413,"message":"Big","timestamp":42})"));
}

TEST(ParseGet, AcceptsEmptyAndTokenPayloads) {
    EXPECT_TRUE(twinlink::parse_get_request("").ok());
    EXPECT_FALSE(twinlink::parse_get_request("").client_token());
    EXPECT_TRUE(twinlink::parse_get_request("{}").ok());
    const auto r = twinlink::parse_get_request(R"({"clientToken":"g-1"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.request().client_token, "g-1");
    EXPECT_EQ(r.request().to_json(), json::parse(R"({"clientToken":"g-1"})"));
}

TEST(ParseGet, RejectsAnythingElse) {
    const std::vector<std::pair<std::string, int>> cases = {
        {"x", 400},
        {"[]", 400},
        {R"({"clientToken":1})", 400},
        {R"({"clientToken":"t","version":1})", 400},
        {R"({"state":{}})", 400},
        {"\xc3\x28", 400},
        {std::string(70000, ' '), 413},
    };
    for (const auto& [payload, code] : cases) {
        const auto r = twinlink::parse_get_request(payload);
        ASSERT_FALSE(r.ok()) << payload.substr(0, 40);
        EXPECT_EQ(r.error().code, code) << payload.substr(0, 40);
    }
    EXPECT_EQ(twinlink::parse_get_request(R"({"clientToken":"t","x":1})").client_token(), "t");
}

TEST(ParseDelete, AcceptsEmptyTokenAndVersion) {
    EXPECT_TRUE(twinlink::parse_delete_request("").ok());
    const auto r = twinlink::parse_delete_request(R"({"version":4,"clientToken":"d"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.request().version, 4u);
    EXPECT_EQ(r.request().client_token, "d");
    EXPECT_EQ(r.request().to_json(), json::parse(R"({"version":4,"clientToken":"d"})"));
}

TEST(ParseDelete, RejectsAnythingElse) {
    for (const char* payload : {"null", R"({"version":-2})", R"({"version":"4"})",
                                R"({"state":null})", R"({"clientToken":[]})"}) {
        const auto r = twinlink::parse_delete_request(payload);
        ASSERT_FALSE(r.ok()) << payload;
        EXPECT_EQ(r.error().code, 400) << payload;
    }
    EXPECT_EQ(twinlink::parse_delete_request(R"({"clientToken":"d","version":-2})").client_token(),
              "d");
}

TEST(ValidateUpdate, ChecksUpdatesBuiltInCode) {
    twinlink::ShadowUpdate ok;
    ok.desired = json::parse(R"({"a":1})");
    EXPECT_FALSE(twinlink::validate_update(ok));

    twinlink::ShadowUpdate deep;
    deep.reported = json::parse(nested(9));
    ASSERT_TRUE(twinlink::validate_update(deep));
    EXPECT_EQ(twinlink::validate_update(deep)->code, 400);

    twinlink::ShadowUpdate bad_key;
    bad_key.desired = json{{std::string("\xff"), 1}};
    ASSERT_TRUE(twinlink::validate_update(bad_key));
    EXPECT_NE(twinlink::validate_update(bad_key)->message.find("UTF-8"), std::string::npos);

    EXPECT_TRUE(twinlink::is_valid_client_token(""));
    EXPECT_TRUE(twinlink::is_valid_client_token(std::string(64, 'x')));
    EXPECT_FALSE(twinlink::is_valid_client_token(std::string(65, 'x')));
    EXPECT_FALSE(twinlink::is_valid_client_token("\xff"));
}

}  // namespace
