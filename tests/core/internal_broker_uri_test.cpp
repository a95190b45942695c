// detail::parse_broker_uri: the parsed parts and the spelling handed to Paho.
#include <string>

#include <gtest/gtest.h>

#include "mqtt/broker_uri.hpp"
#include "twinlink/status.hpp"

namespace {

using twinlink::detail::BrokerUri;
using twinlink::detail::parse_broker_uri;

struct Expected {
    const char* uri;
    const char* scheme;
    const char* host;
    int port;
    const char* path;
    bool tls;
    const char* paho;
};

TEST(InternalBrokerUri, ParsesPartsAndDefaults) {
    const Expected cases[] = {
        {"mqtt://127.0.0.1:1883", "mqtt", "127.0.0.1", 1883, "", false, "tcp://127.0.0.1:1883"},
        {"mqtt://host", "mqtt", "host", 1883, "", false, "tcp://host:1883"},
        {"tcp://host:1884", "mqtt", "host", 1884, "", false, "tcp://host:1884"},
        {"mqtts://host", "mqtts", "host", 8883, "", true, "ssl://host:8883"},
        {"mqtts://host:8884", "mqtts", "host", 8884, "", true, "ssl://host:8884"},
        {"ssl://host", "mqtts", "host", 8883, "", true, "ssl://host:8883"},
        {"ws://host:9001/mqtt", "ws", "host", 9001, "/mqtt", false, "ws://host:9001/mqtt"},
        {"ws://host/mqtt", "ws", "host", 80, "/mqtt", false, "ws://host:80/mqtt"},
        {"wss://host/mqtt", "wss", "host", 443, "/mqtt", true, "wss://host:443/mqtt"},
        {"wss://host:8443/a/b", "wss", "host", 8443, "/a/b", true, "wss://host:8443/a/b"},
        {"mqtt://[::1]:1883", "mqtt", "::1", 1883, "", false, "tcp://[::1]:1883"},
        {"mqtts://[::1]", "mqtts", "::1", 8883, "", true, "ssl://[::1]:8883"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.uri);
        BrokerUri u;
        ASSERT_NO_THROW(u = parse_broker_uri(c.uri));
        EXPECT_EQ(u.text, c.uri);
        EXPECT_EQ(u.scheme, c.scheme);
        EXPECT_EQ(u.host, c.host);
        EXPECT_EQ(u.port, c.port);
        EXPECT_EQ(u.path, c.path);
        EXPECT_EQ(u.tls(), c.tls);
        EXPECT_EQ(u.paho_uri(), c.paho);
    }
}

TEST(InternalBrokerUri, RejectsWithInvalidArgumentNamingTheUri) {
    for (const char* uri : {"http://x", "mqtt://", "mqtt://:1", "mqtt://h:0", "mqtt://h:65536",
                            "mqtt://h:abc", "localhost:1883", "mqtt://[::1", "mqtt://user:pw@h"}) {
        try {
            parse_broker_uri(uri);
            ADD_FAILURE() << "accepted " << uri;
        } catch (const twinlink::Error& e) {
            EXPECT_EQ(e.status(), twinlink::Status::InvalidArgument) << uri;
            EXPECT_NE(std::string(e.what()).find(uri), std::string::npos) << e.what();
        }
    }
}

}  // namespace
