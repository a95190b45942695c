// Shadow topics in both profiles, the service's request filters, and parsing of request topics.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/shadow_topics.hpp"
#include "twinlink/status.hpp"
#include "twinlink/topic.hpp"

namespace {

using twinlink::ShadowOperation;
using twinlink::ShadowTopics;
using twinlink::TopicProfile;

constexpr ShadowOperation kUpdate = ShadowOperation::Update;
constexpr ShadowOperation kGet = ShadowOperation::Get;
constexpr ShadowOperation kDelete = ShadowOperation::Delete;

// Every topic of a shadow, in a fixed order.
std::vector<std::string> all_topics(const ShadowTopics& t) {
    return {t.request(kUpdate), t.accepted(kUpdate), t.rejected(kUpdate), t.delta(),
            t.documents(),      t.request(kGet),     t.accepted(kGet),    t.rejected(kGet),
            t.request(kDelete), t.accepted(kDelete), t.rejected(kDelete)};
}

struct ProfileCase {
    const char* why;
    TopicProfile profile;
    const char* device;
    const char* name;
    const char* prefix;
    std::vector<std::string> expected;
};

const std::vector<ProfileCase> kProfiles = {
    {"twinlink classic", TopicProfile::Twinlink, "dev-1", "", "tl",
     {"tl/dev-1/shadow/update", "tl/dev-1/shadow/update/accepted",
      "tl/dev-1/shadow/update/rejected", "tl/dev-1/shadow/update/delta",
      "tl/dev-1/shadow/update/documents", "tl/dev-1/shadow/get", "tl/dev-1/shadow/get/accepted",
      "tl/dev-1/shadow/get/rejected", "tl/dev-1/shadow/delete", "tl/dev-1/shadow/delete/accepted",
      "tl/dev-1/shadow/delete/rejected"}},
    {"twinlink named, custom prefix", TopicProfile::Twinlink, "gw:7", "config", "acme/prod",
     {"acme/prod/gw:7/shadow/config/update", "acme/prod/gw:7/shadow/config/update/accepted",
      "acme/prod/gw:7/shadow/config/update/rejected", "acme/prod/gw:7/shadow/config/update/delta",
      "acme/prod/gw:7/shadow/config/update/documents", "acme/prod/gw:7/shadow/config/get",
      "acme/prod/gw:7/shadow/config/get/accepted", "acme/prod/gw:7/shadow/config/get/rejected",
      "acme/prod/gw:7/shadow/config/delete", "acme/prod/gw:7/shadow/config/delete/accepted",
      "acme/prod/gw:7/shadow/config/delete/rejected"}},
    {"aws classic", TopicProfile::Aws, "thing_1", "", "ignored",
     {"$aws/things/thing_1/shadow/update", "$aws/things/thing_1/shadow/update/accepted",
      "$aws/things/thing_1/shadow/update/rejected", "$aws/things/thing_1/shadow/update/delta",
      "$aws/things/thing_1/shadow/update/documents", "$aws/things/thing_1/shadow/get",
      "$aws/things/thing_1/shadow/get/accepted", "$aws/things/thing_1/shadow/get/rejected",
      "$aws/things/thing_1/shadow/delete", "$aws/things/thing_1/shadow/delete/accepted",
      "$aws/things/thing_1/shadow/delete/rejected"}},
    {"aws named", TopicProfile::Aws, "thing_1", "ota", "tl",
     {"$aws/things/thing_1/shadow/name/ota/update",
      "$aws/things/thing_1/shadow/name/ota/update/accepted",
      "$aws/things/thing_1/shadow/name/ota/update/rejected",
      "$aws/things/thing_1/shadow/name/ota/update/delta",
      "$aws/things/thing_1/shadow/name/ota/update/documents",
      "$aws/things/thing_1/shadow/name/ota/get",
      "$aws/things/thing_1/shadow/name/ota/get/accepted",
      "$aws/things/thing_1/shadow/name/ota/get/rejected",
      "$aws/things/thing_1/shadow/name/ota/delete",
      "$aws/things/thing_1/shadow/name/ota/delete/accepted",
      "$aws/things/thing_1/shadow/name/ota/delete/rejected"}},
};

TEST(ShadowTopics, EveryTopicOfEveryProfile) {
    for (const auto& c : kProfiles) {
        const ShadowTopics topics(c.profile, c.device, c.name, c.prefix);
        EXPECT_EQ(all_topics(topics), c.expected) << c.why;
        EXPECT_EQ(topics.device_id(), c.device);
        EXPECT_EQ(topics.shadow_name(), c.name);
        for (const auto& topic : all_topics(topics))
            EXPECT_NO_THROW(twinlink::validate_topic_name(topic)) << topic;
    }
}

TEST(ShadowTopics, DefaultsToTheClassicShadowUnderTl) {
    const ShadowTopics topics(TopicProfile::Twinlink, "d");
    EXPECT_EQ(topics.root(), "tl/d/shadow");
    EXPECT_EQ(topics.request(kGet), "tl/d/shadow/get");
}

TEST(ShadowTopics, OperationNames) {
    EXPECT_STREQ(twinlink::shadow_operation_name(kUpdate), "update");
    EXPECT_STREQ(twinlink::shadow_operation_name(kGet), "get");
    EXPECT_STREQ(twinlink::shadow_operation_name(kDelete), "delete");
}

template <class Fn>
void expect_invalid(Fn fn, const std::string& what) {
    try {
        fn();
        ADD_FAILURE() << what << ": accepted";
    } catch (const twinlink::Error& e) {
        EXPECT_EQ(e.status(), twinlink::Status::InvalidArgument) << what;
        EXPECT_STRNE(e.what(), "") << what;
    }
}

TEST(ShadowTopics, RejectsInvalidDeviceIdsAndShadowNames) {
    const std::vector<std::string> bad = {
        "",       "a/b",    "+",       "#",         "a+b",      "$sys",  "dev ice",
        "dév",    "a\tb",   std::string("a\0b", 3), std::string(129, 'x'), "dev*", "a#",
    };
    for (const auto& id : bad) {
        expect_invalid([&] { twinlink::validate_device_id(id); }, "device id " + id);
        expect_invalid([&] { ShadowTopics(TopicProfile::Twinlink, id); }, "device " + id);
        expect_invalid([&] { ShadowTopics(TopicProfile::Aws, id); }, "aws device " + id);
        if (id.empty()) continue;  // the empty shadow name is the classic shadow
        expect_invalid([&] { twinlink::validate_shadow_name(id); }, "shadow name " + id);
        expect_invalid([&] { ShadowTopics(TopicProfile::Twinlink, "d", id); }, "name " + id);
    }
    for (const std::string& good :
         std::vector<std::string>{"a", "A-Z_a.z:0-9", std::string(128, 'x')}) {
        EXPECT_NO_THROW(twinlink::validate_device_id(good)) << good;
        EXPECT_NO_THROW(twinlink::validate_shadow_name(good)) << good;
    }
    EXPECT_NO_THROW(twinlink::validate_shadow_name(""));
}

TEST(ShadowTopics, MessagesNameTheProblem) {
    try {
        twinlink::validate_device_id("a/b");
        FAIL();
    } catch (const twinlink::Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "device id 'a/b' contains a character other than A-Z a-z 0-9 _ : . -; a device "
                  "id is 1 to 128 characters from A-Z a-z 0-9 _ : . -");
    }
}

TEST(ShadowTopics, RejectsInvalidPrefixes) {
    for (const std::string& prefix :
         std::vector<std::string>{"", "/tl", "tl/", "a//b", "$aws", "t+", "#", "a/+/b",
                                  std::string("t\0l", 3), std::string("\xff")}) {
        expect_invalid([&] { ShadowTopics(TopicProfile::Twinlink, "d", "", prefix); },
                       "prefix " + prefix);
        expect_invalid([&] { ShadowTopics::request_filters(TopicProfile::Twinlink, prefix); },
                       "filters " + prefix);
        EXPECT_FALSE(ShadowTopics::parse_request(TopicProfile::Twinlink, prefix + "/d/shadow/get",
                                                 prefix));
    }
    // The Aws profile has no prefix to check.
    EXPECT_NO_THROW(ShadowTopics(TopicProfile::Aws, "d", "", ""));
}

TEST(ShadowTopics, RequestFilters) {
    EXPECT_EQ(ShadowTopics::request_filters(TopicProfile::Twinlink),
              (std::vector<std::string>{"tl/+/shadow/update", "tl/+/shadow/get",
                                        "tl/+/shadow/delete", "tl/+/shadow/+/update",
                                        "tl/+/shadow/+/get", "tl/+/shadow/+/delete"}));
    EXPECT_EQ(ShadowTopics::request_filters(TopicProfile::Aws),
              (std::vector<std::string>{
                  "$aws/things/+/shadow/update", "$aws/things/+/shadow/get",
                  "$aws/things/+/shadow/delete", "$aws/things/+/shadow/name/+/update",
                  "$aws/things/+/shadow/name/+/get", "$aws/things/+/shadow/name/+/delete"}));
}

TEST(ShadowTopics, RequestFiltersMatchRequestsAndNoResponse) {
    // Shadow names that look like operations are the hard case.
    for (TopicProfile profile : {TopicProfile::Twinlink, TopicProfile::Aws}) {
        const auto filters = ShadowTopics::request_filters(profile);
        for (const char* name : {"", "cfg", "update", "get", "delete", "accepted", "name"}) {
            const ShadowTopics topics(profile, "dev", name);
            const auto topics_list = all_topics(topics);
            for (const auto& topic : topics_list) {
                bool matched = false;
                for (const auto& filter : filters) {
                    EXPECT_NO_THROW(twinlink::validate_topic_filter(filter));
                    matched = matched || twinlink::topic_matches(filter, topic);
                }
                const bool is_request = topic == topics.request(kUpdate) ||
                                        topic == topics.request(kGet) ||
                                        topic == topics.request(kDelete);
                EXPECT_EQ(matched, is_request) << topic;
            }
        }
    }
}

TEST(ShadowTopics, ParseReadsEveryRequestTopic) {
    for (TopicProfile profile : {TopicProfile::Twinlink, TopicProfile::Aws}) {
        for (const char* prefix : {"tl", "acme/prod"}) {
            for (const char* name : {"", "cfg", "update", "name"}) {
                const ShadowTopics topics(profile, "dev.1", name, prefix);
                for (ShadowOperation op : {kUpdate, kGet, kDelete}) {
                    const auto parsed =
                        ShadowTopics::parse_request(profile, topics.request(op), prefix);
                    ASSERT_TRUE(parsed) << topics.request(op);
                    EXPECT_EQ(parsed->device_id, "dev.1");
                    EXPECT_EQ(parsed->shadow_name, name);
                    EXPECT_EQ(parsed->operation, op);
                    // Responses are never requests.
                    EXPECT_FALSE(ShadowTopics::parse_request(profile, topics.accepted(op), prefix))
                        << topics.accepted(op);
                    EXPECT_FALSE(ShadowTopics::parse_request(profile, topics.rejected(op), prefix))
                        << topics.rejected(op);
                }
                EXPECT_FALSE(ShadowTopics::parse_request(profile, topics.delta(), prefix));
                EXPECT_FALSE(ShadowTopics::parse_request(profile, topics.documents(), prefix));
            }
        }
    }
}

TEST(ShadowTopics, ParseRejectsOtherTopics) {
    const std::vector<const char*> twinlink_bad = {
        "",
        "tl",
        "tl/",
        "tl/dev",
        "tl/dev/shadow",
        "tl/dev/shadow/",
        "tl/dev/shadow/patch",
        "tl/dev/shadows/update",
        "tl//shadow/update",
        "tl/+/shadow/update",
        "tl/dev/shadow/+/update",
        "tl/dev/shadow/a/b/update",
        "tl/dev/shadow/update/",
        "tlx/dev/shadow/update",
        "xx/dev/shadow/update",
        "/tl/dev/shadow/update",
        "tl/d$v/shadow/update",
        "tl/dev/shadow//update",
        "tl/dev/datapoints",
        "tl/dev/status",
        "$aws/things/dev/shadow/update",
    };
    for (const char* topic : twinlink_bad)
        EXPECT_FALSE(ShadowTopics::parse_request(TopicProfile::Twinlink, topic)) << topic;

    const std::vector<const char*> aws_bad = {
        "$aws/things/dev/shadow",
        "$aws/things/dev/shadow/cfg/update",
        "$aws/things/dev/shadow/name/update",
        "$aws/things/dev/shadow/name//update",
        "$aws/things/dev/shadow/named/cfg/update",
        "$aws/things/dev/shadow/name/c+g/update",
        "$aws/things//shadow/update",
        "$aws/things/dev/shadow/update/delta",
        "$aws/thing/dev/shadow/update",
        "$aws/things/dev/jobs/get",
        "tl/dev/shadow/update",
    };
    for (const char* topic : aws_bad)
        EXPECT_FALSE(ShadowTopics::parse_request(TopicProfile::Aws, topic)) << topic;

    const std::string long_device = "tl/" + std::string(129, 'x') + "/shadow/update";
    EXPECT_FALSE(ShadowTopics::parse_request(TopicProfile::Twinlink, long_device));
}

}  // namespace
