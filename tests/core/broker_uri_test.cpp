// twinlink::validate_broker_uri: the broker URIs ClientOptions::brokers accepts.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twinlink/client.hpp"
#include "twinlink/status.hpp"

namespace {

using twinlink::Error;
using twinlink::Status;

TEST(BrokerUri, AcceptsSupportedSchemes) {
    const std::vector<std::string> good = {
        "mqtt://127.0.0.1:1883",
        "mqtt://host",
        "mqtt://broker.example.com:1883",
        "mqtts://host:8883",
        "mqtts://host",
        "ws://host:9001/mqtt",
        "ws://host/mqtt",
        "wss://host:443/mqtt",
        "wss://host/mqtt",
        "tcp://host:1883",
        "ssl://host:8883",
        "mqtt://h:1",
        "mqtt://h:65535",
    };
    for (const auto& uri : good) {
        EXPECT_NO_THROW(twinlink::validate_broker_uri(uri)) << uri;
    }
}

TEST(BrokerUri, RejectsMalformedUris) {
    struct Bad {
        std::string uri;
        const char* why;
    };
    const std::vector<Bad> bad = {
        {"http://x", "unsupported scheme"},
        {"mqtt://", "no host"},
        {"mqtt://:1883", "empty host"},
        {"mqtt://h:0", "port 0"},
        {"mqtt://h:65536", "port above 65535"},
        {"mqtt://h:99999999999999999999", "port overflowing any integer"},
        {"mqtt://h:-1", "negative port"},
        {"mqtt://h:abc", "non-numeric port"},
        {"mqtt://h:", "empty port"},
        {"", "empty string"},
        {"localhost:1883", "no scheme"},
        {"mqtt:/host", "missing '//'"},
        // Found by fuzz_broker_uri: Paho was given "tcp://[a]:b]:1883".
        {"mqtt://a]:b:1883", "bracket in an unbracketed host"},
        {"mqtt://[a[b]:1883", "bracket inside an IPv6 address"},
    };
    for (const auto& b : bad) {
        try {
            twinlink::validate_broker_uri(b.uri);
            ADD_FAILURE() << "accepted \"" << b.uri << "\" (" << b.why << ")";
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument) << b.uri << ": " << e.what();
            const std::string msg = e.what();
            if (b.uri.empty()) {
                EXPECT_FALSE(msg.empty());
            } else {
                EXPECT_NE(msg.find(b.uri), std::string::npos)
                    << "message does not name the URI \"" << b.uri << "\": " << msg;
            }
        } catch (const std::exception& e) {
            ADD_FAILURE() << b.uri << ": threw a non-twinlink exception: " << e.what();
        }
    }
}

}  // namespace
