// decode_batch() on network input: documents written by others (member order, unknown members),
// a table of malformed batches that must each fail with a precise ProtocolError, and random
// corruption of valid batches that must never crash, hang or throw anything else.
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/batch_codec.hpp"
#include "twinlink/status.hpp"

#include "encoding_param.hpp"

namespace {

using twinlink::BatchEncoder;
using twinlink::Encoding;
using twinlink::Error;
using twinlink::Status;
using json = nlohmann::json;

constexpr const char* kBatchId = "01936f1e-8a4b-7c3d-9e2f-0123456789ab";
constexpr std::int64_t kT = 1732460000000;

json valid_doc() {
    return json{{"v", 1},
                {"device", "d"},
                {"batch", kBatchId},
                {"seq", 1},
                {"t0", kT},
                {"series", {{"a", {{"t", {0, 1}}, {"v", {1.5, 2}}}}}}};
}

std::string cbor(const json& doc) {
    const auto bytes = json::to_cbor(doc);
    return std::string(bytes.begin(), bytes.end());
}

// The message of the ProtocolError that decoding `bytes` throws; fails the test for anything else.
std::string decode_error(const std::string& bytes) {
    try {
        twinlink::decode_batch(bytes);
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::ProtocolError) << e.what();
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a twinlink::Error: " << e.what();
        return "";
    }
    ADD_FAILURE() << "decoded without error";
    return "";
}

TEST(Decode, AcceptsAnyMemberOrderWhitespaceAndUnknownMembers) {
    const std::string text = std::string(" \n\t") +
                             R"({"future":{"x":[1,{"y":null}]},"series":{"a":{"extra":[[1]],"v":[1,"s"],"t":[5,0]}},)"
                             R"("t0":10,"seq":2,"batch":"01936F1E-8A4B-7C3D-9E2F-0123456789AB","device":"d","v":1} )";
    const auto batch = twinlink::decode_batch(text);
    EXPECT_EQ(batch.batch_id, "01936F1E-8A4B-7C3D-9E2F-0123456789AB");
    EXPECT_EQ(batch.seq, 2u);
    ASSERT_EQ(batch.points.size(), 2u);
    EXPECT_EQ(batch.points[0].timestamp_ms, 15);
    EXPECT_EQ(std::get<std::int64_t>(batch.points[0].value), 1);
    EXPECT_EQ(batch.points[1].timestamp_ms, 10);
    EXPECT_EQ(std::get<std::string>(batch.points[1].value), "s");

    json doc = valid_doc();
    doc["later"] = {{"k", json::array({1, 2})}};
    doc["series"]["a"]["unit"] = "°C";
    EXPECT_EQ(twinlink::decode_batch(cbor(doc)).points.size(), 2u);
    EXPECT_EQ(twinlink::decode_batch(doc.dump()).points.size(), 2u);
}

TEST(Decode, OffsetsMayReachTheLargestTimestamp) {
    json doc = valid_doc();
    doc["t0"] = std::numeric_limits<std::int64_t>::min();
    doc["series"]["a"]["t"] = {0, 18446744073709551615ull};
    const auto batch = twinlink::decode_batch(doc.dump());
    EXPECT_EQ(batch.points[1].timestamp_ms, std::numeric_limits<std::int64_t>::max());
}

struct Malformed {
    const char* why;
    std::function<void(json&)> edit;
    const char* message;  // a part of the error message
};

json nested_object(int depth) {
    json root = json::object();
    json* leaf = &root;
    for (int i = 1; i < depth; ++i) {
        (*leaf)["a"] = json::object();
        leaf = &(*leaf)["a"];
    }
    return root;
}

const std::vector<Malformed>& malformed_docs() {
    static const std::vector<Malformed> cases = {
        {"no v", [](json& d) { d.erase("v"); }, "member 'v' is missing"},
        {"no device", [](json& d) { d.erase("device"); }, "member 'device' is missing"},
        {"no batch", [](json& d) { d.erase("batch"); }, "member 'batch' is missing"},
        {"no seq", [](json& d) { d.erase("seq"); }, "member 'seq' is missing"},
        {"no t0", [](json& d) { d.erase("t0"); }, "member 't0' is missing"},
        {"no series", [](json& d) { d.erase("series"); }, "member 'series' is missing"},
        {"v 2", [](json& d) { d["v"] = 2; }, "unsupported batch format version 2"},
        {"v 0", [](json& d) { d["v"] = 0; }, "unsupported batch format version 0"},
        {"v huge", [](json& d) { d["v"] = 18446744073709551615ull; }, "unsupported batch format version"},
        {"v string", [](json& d) { d["v"] = "1"; }, "member 'v' must be the integer 1"},
        {"v double", [](json& d) { d["v"] = 1.0; }, "member 'v' must be the integer 1"},
        {"device number", [](json& d) { d["device"] = 5; }, "member 'device' must be a non-empty string"},
        {"device empty", [](json& d) { d["device"] = ""; }, "member 'device' must be a non-empty string"},
        {"device object", [](json& d) { d["device"] = json::object(); }, "member 'device' must be"},
        {"batch not uuid", [](json& d) { d["batch"] = "01936f1e-8a4b-7c3d-9e2f"; }, "is not a UUID"},
        {"batch number", [](json& d) { d["batch"] = 7; }, "member 'batch' must be a UUID string"},
        {"seq negative", [](json& d) { d["seq"] = -1; }, "member 'seq' must be an unsigned integer"},
        {"seq double", [](json& d) { d["seq"] = 1.5; }, "member 'seq' must be an unsigned integer"},
        {"seq string", [](json& d) { d["seq"] = "1"; }, "member 'seq' must be an unsigned integer"},
        {"seq array", [](json& d) { d["seq"] = {1}; }, "member 'seq' must be an unsigned integer"},
        {"t0 double", [](json& d) { d["t0"] = 1.5; }, "member 't0' must be an int64"},
        {"t0 string", [](json& d) { d["t0"] = "x"; }, "member 't0' must be an int64"},
        {"t0 above int64", [](json& d) { d["t0"] = 9223372036854775808ull; }, "member 't0' must be an int64"},
        {"series array", [](json& d) { d["series"] = json::array(); }, "member 'series' must be an object"},
        {"series string", [](json& d) { d["series"] = "x"; }, "member 'series' must be an object"},
        {"series entry array", [](json& d) { d["series"]["a"] = json::array(); }, "must be an object with members t and v"},
        {"series entry number", [](json& d) { d["series"]["a"] = 3; }, "must be an object with members t and v"},
        {"no t", [](json& d) { d["series"]["a"].erase("t"); }, "member 't' is missing"},
        {"no v in series", [](json& d) { d["series"]["a"].erase("v"); }, "member 'v' is missing"},
        {"t number", [](json& d) { d["series"]["a"]["t"] = 0; }, "member 't' must be an array"},
        {"t object", [](json& d) { d["series"]["a"]["t"] = json::object(); }, "member 't' must be an array"},
        {"v string", [](json& d) { d["series"]["a"]["v"] = "x"; }, "member 'v' must be an array"},
        {"lengths differ", [](json& d) { d["series"]["a"]["t"] = {0}; }, "has 1 timestamps but 2 values"},
        {"negative offset", [](json& d) { d["series"]["a"]["t"] = {0, -1}; }, "time offset -1 is negative"},
        {"double offset", [](json& d) { d["series"]["a"]["t"] = {0, 0.5}; }, "must be unsigned integers"},
        {"string offset", [](json& d) { d["series"]["a"]["t"] = {0, "1"}; }, "must be unsigned integers"},
        {"null offset", [](json& d) { d["series"]["a"]["t"] = {0, nullptr}; }, "must be unsigned integers"},
        {"array offset", [](json& d) { d["series"]["a"]["t"] = {0, {1}}; }, "an array is not allowed here"},
        {"offset past int64", [](json& d) { d["t0"] = std::numeric_limits<std::int64_t>::max(); },
         "is past the largest int64 timestamp"},
        {"null value", [](json& d) { d["series"]["a"]["v"] = {1, nullptr}; }, "null is not a datapoint value"},
        {"array value", [](json& d) { d["series"]["a"]["v"] = {1, {1, 2}}; }, "an array is not a datapoint value"},
        {"integer above int64", [](json& d) { d["series"]["a"]["v"] = {1, 9223372036854775808ull}; },
         "does not fit in an int64"},
        {"value too deep", [](json& d) { d["series"]["a"]["v"] = {1, nested_object(twinlink::kMaxValueDepth + 1)}; },
         "nested deeper than 32 levels"},
        {"unknown member too deep", [](json& d) { d["zz"] = nested_object(200); }, "nested deeper than 32 levels"},
        {"series name slash", [](json& d) { d["series"]["a/b"] = d["series"]["a"]; }, "series name 'a/b'"},
        {"series name empty", [](json& d) { d["series"][""] = d["series"]["a"]; }, "series name '' is empty"},
        {"series name long", [](json& d) { d["series"][std::string(129, 'n')] = d["series"]["a"]; }, "longer than 128"},
        {"series name control", [](json& d) { d["series"]["a\tb"] = d["series"]["a"]; }, "control character"},
    };
    return cases;
}

class MalformedDoc : public ::testing::TestWithParam<Encoding> {};

TEST_P(MalformedDoc, EachIsRejectedWithAPreciseMessage) {
    // The deepest value the limit allows still decodes.
    json deep = valid_doc();
    deep["series"]["a"]["v"] = {1, nested_object(twinlink::kMaxValueDepth)};
    EXPECT_NO_THROW(twinlink::decode_batch(GetParam() == Encoding::Json ? deep.dump() : cbor(deep)));

    for (const auto& c : malformed_docs()) {
        json doc = valid_doc();
        c.edit(doc);
        const std::string bytes = GetParam() == Encoding::Json ? doc.dump() : cbor(doc);
        const std::string message = decode_error(bytes);
        EXPECT_NE(message.find(c.message), std::string::npos) << c.why << ": " << message;
        EXPECT_EQ(message.rfind("malformed datapoint batch: ", 0), 0u) << c.why << ": " << message;
    }
}

INSTANTIATE_TEST_SUITE_P(Encodings, MalformedDoc, ::testing::Values(Encoding::Json, Encoding::Cbor),
                         encoding_param_name);

TEST(Decode, RejectsMalformedJsonText) {
    const std::string valid = valid_doc().dump();
    const struct {
        std::string text;
        const char* message;
    } cases[] = {
        {"", "it is empty"},
        {" \n ", "only whitespace"},
        {"[]", "neither '{' (JSON) nor a CBOR map"},
        {"null", "neither '{'"},
        {"\xef\xbb\xbf{}", "starts with byte 0xef"},
        {"{", "parse error"},
        {"{}", "member 'v' is missing"},
        {valid + "x", "parse error"},
        {valid + valid, "parse error"},
        {valid.substr(0, valid.size() - 1), "parse error"},
        {R"({"v":1,"v":1})", "member 'v' appears twice"},
        {R"({"series":{"a":{"t":[],"v":[]},"a":{"t":[],"v":[]}}})", "series 'a' appears twice"},
        {R"({"series":{"a":{"t":[],"t":[],"v":[]}}})", "member 't' appears twice"},
        {R"({"series":{"a":{"t":[0],"v":[1e400]}}})", "number overflow"},
        {"{\"device\":\"\xff\"}", "invalid string: ill-formed UTF-8"},
        {R"({"zz":)" + std::string(100000, '[') + std::string(100000, ']') + "}", "nested deeper than 32 levels"},
        {R"({"series":{"a":{"t":[0],"v":[)" + std::string(100000, '{') + "}]}}}", "parse error"},
        {R"({"series":{"a":{"t":[0],"v":[{"x":)" + std::string(100000, '[') + "]}]}}}",
         "nested deeper than 32 levels"},
    };
    for (const auto& c : cases) {
        const std::string message = decode_error(c.text);
        EXPECT_NE(message.find(c.message), std::string::npos)
            << (c.text.size() < 80 ? c.text : c.text.substr(0, 80) + "...") << " -> " << message;
    }
}

TEST(Decode, RejectsMalformedCbor) {
    const std::string valid = cbor(valid_doc());
    std::string invalid_utf8_name = cbor(json{{"v", 1}, {"series", {{"a\xc3", json::object()}}}});
    std::string invalid_utf8_value = valid;
    {
        // "device":"d" -> "device":<0xff>: a one-byte text string that is not UTF-8.
        const auto at = invalid_utf8_value.find(std::string("\x66" "device\x61" "d"));
        ASSERT_NE(at, std::string::npos);
        invalid_utf8_value[at + 8] = '\xff';
    }
    std::string deep_unknown = std::string("\xa1\x62zz") + std::string(100000, '\x81') + '\x00';
    std::string tagged = cbor(json{{"v", 1}});
    tagged.insert(tagged.size() - 1, "\xc1");  // tag 1 before the value 1
    const std::string byte_string =
        cbor(json{{"v", 1}, {"series", {{"a", {{"t", {0}}, {"v", {json::binary({1, 2, 3})}}}}}}});
    json nan_doc = valid_doc();
    nan_doc["series"]["a"]["v"] = {1, std::nan("")};

    const struct {
        std::string bytes;
        const char* message;
    } cases[] = {
        {valid + '\x00', "expected end of input"},
        {valid.substr(0, valid.size() - 3), "unexpected end of input"},
        {std::string("\x80", 1), "neither '{' (JSON) nor a CBOR map"},
        {std::string("\xa0", 1), "member 'v' is missing"},
        {std::string("\xba\xff\xff\xff\xff", 5), "claims 4294967295 elements"},
        {std::string("\xa1\x62zz\x9b\x00\x00\x00\x01\x00\x00\x00\x00", 13), "claims 4294967296 elements"},
        {std::string("\xa1\x62zz\x7b\x7f\xff\xff\xff\xff\xff\xff\xff", 13), "unexpected end of input"},
        {invalid_utf8_name, "not valid UTF-8"},
        {invalid_utf8_value, "not valid UTF-8"},
        {deep_unknown, "nested deeper than 32 levels"},
        {tagged, "parse error"},
        {byte_string, "byte strings are not allowed"},
        {cbor(nan_doc), "not finite"},
    };
    for (const auto& c : cases) {
        const std::string message = decode_error(c.bytes);
        EXPECT_NE(message.find(c.message), std::string::npos) << c.message << " -> " << message;
    }
}

// --- random corruption -----------------------------------------------------------------

std::string rich_batch(Encoding encoding) {
    BatchEncoder enc(encoding, "sensor-42");
    for (int i = 0; i < 12; ++i) {
        enc.add("temp", kT + i * 10, 20.0 + i * 0.25);
        enc.add("count", kT + i * 7, std::int64_t{i * 1000 - 3});
        if (i % 3 == 0) enc.add("door", kT + i, i % 2 == 0);
        if (i % 4 == 0) enc.add("label", kT + i, "state-" + std::to_string(i) + " é");
    }
    enc.add("cfg", kT, json{{"a", 1}, {"b", {1.5, "x", nullptr, {{"c", true}}}}});
    return enc.finish(kBatchId, 17);
}

// Returns false when decoding threw anything but a ProtocolError.
bool decodes_or_protocol_error(const std::string& bytes) {
    try {
        twinlink::decode_batch(bytes);
        return true;
    } catch (const Error& e) {
        return e.status() == Status::ProtocolError;
    } catch (...) {
        return false;
    }
}

class Corruption : public ::testing::TestWithParam<Encoding> {};

TEST_P(Corruption, NeverCrashesAndOnlyThrowsProtocolError) {
    const std::string valid = rich_batch(GetParam());
    ASSERT_TRUE(decodes_or_protocol_error(valid));
    std::mt19937_64 rng(GetParam() == Encoding::Json ? 1 : 2);
    const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % (n ? n : 1)); };
    int rejected = 0;
    constexpr int kMutations = 6000;
    for (int i = 0; i < kMutations; ++i) {
        std::string m = valid;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !m.empty(); ++e) {
            switch (rng() % 7) {
                case 0: m[pick(m.size())] ^= static_cast<char>(1u << (rng() % 8)); break;
                case 1: m[pick(m.size())] = static_cast<char>(rng()); break;
                case 2: m.resize(pick(m.size())); break;
                case 3: m.insert(pick(m.size() + 1), 1, static_cast<char>(rng())); break;
                case 4: m.erase(pick(m.size()), 1 + pick(8)); break;
                case 5: {  // repeat a stretch, which duplicates members and nests containers
                    const std::size_t at = pick(m.size()), len = 1 + pick(32);
                    m.insert(at, m.substr(at, len));
                    break;
                }
                default: {  // an interesting byte: CBOR heads with large arguments, JSON structure
                    static const char interesting[] = {'\x1b', '\x3b', '\x5b', '\x7b', '\x9b', '\xbb', '\x9f', '\xbf',
                                                       '\xf9', '\xfb', '\xc0', '[', ']', '{', '}', '"', ':', ',', '-'};
                    m[pick(m.size())] = interesting[pick(sizeof interesting)];
                }
            }
        }
        if (!decodes_or_protocol_error(m)) FAIL() << "mutation " << i << " threw something else";
        try {
            twinlink::decode_batch(m);
        } catch (const Error&) {
            ++rejected;
        }
    }
    EXPECT_GT(rejected, kMutations / 2);  // the mutations do reach the checks

    // Plain random bytes behind a plausible first byte.
    for (int i = 0; i < 3000; ++i) {
        std::string m(pick(200), '\0');
        for (char& c : m) c = static_cast<char>(rng());
        m.insert(m.begin(), GetParam() == Encoding::Json   ? '{'
                            : GetParam() == Encoding::Cbor ? static_cast<char>(0xa0 | (rng() % 32))
                                                           : static_cast<char>(0xd1));
        if (!decodes_or_protocol_error(m)) FAIL() << "random input " << i << " threw something else";
    }
}

INSTANTIATE_TEST_SUITE_P(Encodings, Corruption, ::testing::Values(Encoding::Json, Encoding::Cbor, Encoding::Compact),
                         encoding_param_name);

}  // namespace
