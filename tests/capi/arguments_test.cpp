// Bad input to every C function: the right status, a message on tl_last_error() that names the
// function and the problem, no crash, and the destructor of any user_data called exactly once.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raw_enums.h"
#include "support.hpp"

namespace {

using namespace tltest;

// Checks the status of `call` and that tl_last_error() names the function and every needle.
#define EXPECT_FAILS(expected, function, call, ...)                                \
    do {                                                                           \
        const tl_status status_ = (call);                                          \
        EXPECT_EQ(status_, (expected)) << #call;                                   \
        const std::string message_ = tl_last_error();                              \
        EXPECT_TRUE(contains(message_, #function ": ")) << #call;                 \
        for (const char* needle_ : std::vector<const char*>{__VA_ARGS__}) {        \
            EXPECT_TRUE(contains(message_, needle_)) << #call;                   \
        }                                                                          \
    } while (0)

#define EXPECT_INVALID(function, call, ...) EXPECT_FAILS(TL_EINVAL, function, call, __VA_ARGS__)

void on_message(const tl_message*, void*) {}
void on_published(uint64_t, tl_status, void*) {}
void on_log(tl_log_level, const char*, void*) {}
void on_connection(const tl_connection_event*, void*) {}

class Arguments : public ::testing::Test {
protected:
    void SetUp() override {
        options_ = make_options("mqtt://127.0.0.1:1");
        ASSERT_TRUE(options_);
        client_ = make_client(options_.get());
        ASSERT_TRUE(client_);
    }
    tl_client_options* options() { return options_.get(); }
    tl_client* client() { return client_.get(); }

    Options options_;
    Client client_;
};

TEST_F(Arguments, OptionsNewAndFree) {
    EXPECT_INVALID(tl_client_options_new, tl_client_options_new(nullptr), "out is NULL");
    tl_client_options_free(nullptr);
}

TEST_F(Arguments, AddBroker) {
    EXPECT_INVALID(tl_client_options_add_broker, tl_client_options_add_broker(nullptr, "mqtt://h"),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_add_broker, tl_client_options_add_broker(options(), nullptr),
                   "uri is NULL");
    EXPECT_INVALID(tl_client_options_add_broker, tl_client_options_add_broker(options(), ""), "''");
    const char* bad[] = {"http://x", "mqtt://", "mqtt://host:0", "mqtt://host:99999", "mqtt://host:port",
                         "garbage", "mqtt//host", "://host", " mqtt://host"};
    for (const char* uri : bad) {
        const std::string quoted = std::string("'") + uri + "'";
        EXPECT_INVALID(tl_client_options_add_broker, tl_client_options_add_broker(options(), uri), quoted.c_str());
    }
    EXPECT_TRUE(contains(tl_last_error(), "invalid broker URI"));
    tl_client_options_add_broker(options(), "http://x");
    EXPECT_TRUE(contains(tl_last_error(), "http"));

    const char* good[] = {"mqtt://host", "mqtt://127.0.0.1:1883", "mqtts://host:8883", "ws://host/mqtt",
                          "wss://host:443/mqtt", "tcp://host:1883", "ssl://host"};
    for (const char* uri : good) {
        EXPECT_EQ(tl_client_options_add_broker(options(), uri), TL_OK) << uri << ": " << tl_last_error();
    }
}

TEST_F(Arguments, ClientIdAndCredentials) {
    EXPECT_INVALID(tl_client_options_set_client_id, tl_client_options_set_client_id(nullptr, "id"),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_client_id, tl_client_options_set_client_id(options(), nullptr),
                   "client_id is NULL");
    EXPECT_INVALID(tl_client_options_set_client_id, tl_client_options_set_client_id(options(), ""),
                   "client_id is empty");
    const std::string long_id(65536, 'x');
    EXPECT_INVALID(tl_client_options_set_client_id,
                   tl_client_options_set_client_id(options(), long_id.c_str()), "client_id length");

    EXPECT_INVALID(tl_client_options_set_credentials, tl_client_options_set_credentials(nullptr, "u", "p"),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_credentials,
                   tl_client_options_set_credentials(options(), nullptr, "p"), "username is NULL");
    EXPECT_INVALID(tl_client_options_set_credentials, tl_client_options_set_credentials(options(), "", "p"),
                   "username is empty");
    EXPECT_EQ(tl_client_options_set_credentials(options(), "user", nullptr), TL_OK);
}

TEST_F(Arguments, ProtocolSettings) {
    EXPECT_INVALID(tl_client_options_set_mqtt_version,
                   tl_client_options_set_mqtt_version(nullptr, TL_MQTT_V5), "options is NULL");
    for (int version : {0, 3, 6, -1}) {
        EXPECT_INVALID(tl_client_options_set_mqtt_version, raw_set_mqtt_version(options(), version), "version");
    }
    EXPECT_EQ(tl_client_options_set_mqtt_version(options(), TL_MQTT_V5), TL_OK);

    EXPECT_INVALID(tl_client_options_set_clean_session, tl_client_options_set_clean_session(nullptr, 1),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_keepalive, tl_client_options_set_keepalive(nullptr, 30),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_keepalive, tl_client_options_set_keepalive(options(), 65536),
                   "keepalive", "65536");
    EXPECT_EQ(tl_client_options_set_keepalive(options(), 0), TL_OK);
}

TEST_F(Arguments, Timeouts) {
    EXPECT_INVALID(tl_client_options_set_connect_timeout, tl_client_options_set_connect_timeout(nullptr, 1000),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_connect_timeout, tl_client_options_set_connect_timeout(options(), 99),
                   "99 ms", "minimum");
    EXPECT_INVALID(tl_client_options_set_ack_timeout, tl_client_options_set_ack_timeout(nullptr, 1000),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_ack_timeout, tl_client_options_set_ack_timeout(options(), 0), "0 ms");
    EXPECT_INVALID(tl_client_options_set_operation_timeout,
                   tl_client_options_set_operation_timeout(nullptr, 1000), "options is NULL");
    EXPECT_INVALID(tl_client_options_set_operation_timeout,
                   tl_client_options_set_operation_timeout(options(), 50), "50 ms");
    EXPECT_INVALID(tl_client_options_set_reconnect_backoff,
                   tl_client_options_set_reconnect_backoff(nullptr, 100, 200), "options is NULL");
    EXPECT_INVALID(tl_client_options_set_reconnect_backoff,
                   tl_client_options_set_reconnect_backoff(options(), 0, 200), "min_ms is 0");
    EXPECT_INVALID(tl_client_options_set_reconnect_backoff,
                   tl_client_options_set_reconnect_backoff(options(), 300, 200), "min_ms 300", "max_ms 200");
    EXPECT_EQ(tl_client_options_set_reconnect_backoff(options(), 200, 200), TL_OK);
}

TEST_F(Arguments, Tls) {
    EXPECT_INVALID(tl_client_options_set_tls_ca, tl_client_options_set_tls_ca(nullptr, "ca.pem", nullptr),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_tls_ca, tl_client_options_set_tls_ca(options(), "", nullptr),
                   "ca_file is empty");
    EXPECT_INVALID(tl_client_options_set_tls_ca, tl_client_options_set_tls_ca(options(), nullptr, ""),
                   "ca_dir is empty");
    EXPECT_EQ(tl_client_options_set_tls_ca(options(), nullptr, nullptr), TL_OK);

    EXPECT_INVALID(tl_client_options_set_tls_client_cert,
                   tl_client_options_set_tls_client_cert(nullptr, "c.pem", "k.pem", nullptr), "options is NULL");
    EXPECT_INVALID(tl_client_options_set_tls_client_cert,
                   tl_client_options_set_tls_client_cert(options(), nullptr, "k.pem", nullptr), "cert_file is NULL");
    EXPECT_INVALID(tl_client_options_set_tls_client_cert,
                   tl_client_options_set_tls_client_cert(options(), "c.pem", nullptr, nullptr), "key_file is NULL");
    EXPECT_INVALID(tl_client_options_set_tls_client_cert,
                   tl_client_options_set_tls_client_cert(options(), "c.pem", "", nullptr), "key_file is empty");

    EXPECT_INVALID(tl_client_options_set_tls_verify_hostname,
                   tl_client_options_set_tls_verify_hostname(nullptr, 1), "options is NULL");
    EXPECT_INVALID(tl_client_options_set_tls_insecure, tl_client_options_set_tls_insecure(nullptr, 1),
                   "options is NULL");
}

TEST_F(Arguments, PresenceQueueInflight) {
    EXPECT_INVALID(tl_client_options_set_presence, tl_client_options_set_presence(nullptr, "p", nullptr, nullptr),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_presence,
                   tl_client_options_set_presence(options(), "dev/+/status", nullptr, nullptr), "wildcard");
    EXPECT_EQ(tl_client_options_set_presence(options(), nullptr, nullptr, nullptr), TL_OK);
    EXPECT_EQ(tl_client_options_set_presence(options(), "dev/1/status", "up", nullptr), TL_OK);

    EXPECT_INVALID(tl_client_options_set_offline_queue,
                   tl_client_options_set_offline_queue(nullptr, 10, 10, TL_OVERFLOW_REJECT_NEW), "options is NULL");
    EXPECT_INVALID(tl_client_options_set_offline_queue,
                   tl_client_options_set_offline_queue(options(), 0, 10, TL_OVERFLOW_REJECT_NEW), "max_messages is 0");
    EXPECT_INVALID(tl_client_options_set_offline_queue,
                   tl_client_options_set_offline_queue(options(), 10, 0, TL_OVERFLOW_REJECT_NEW), "max_bytes is 0");
    EXPECT_INVALID(tl_client_options_set_offline_queue, raw_set_offline_queue(options(), 10, 10, 2), "policy 2");
    EXPECT_INVALID(tl_client_options_set_offline_queue, raw_set_offline_queue(options(), 10, 10, -1), "policy -1");

    EXPECT_INVALID(tl_client_options_set_max_inflight, tl_client_options_set_max_inflight(nullptr, 10),
                   "options is NULL");
    EXPECT_INVALID(tl_client_options_set_max_inflight, tl_client_options_set_max_inflight(options(), 0),
                   "max_inflight is 0");
    EXPECT_INVALID(tl_client_options_set_max_inflight, tl_client_options_set_max_inflight(options(), 65536),
                   "max_inflight 65536");
}

TEST_F(Arguments, CallbackRegistrationsDestroyUserDataOnError) {
    DestroyCounter destroyed;
    EXPECT_INVALID(tl_client_options_set_log_callback,
                   tl_client_options_set_log_callback(nullptr, on_log, TL_LOG_INFO, &destroyed,
                                                      DestroyCounter::destroy),
                   "options is NULL");
    EXPECT_EQ(destroyed.count, 1);
    for (int level : {-1, 4}) {
        EXPECT_INVALID(tl_client_options_set_log_callback,
                       raw_set_log_callback(options(), on_log, level, &destroyed, DestroyCounter::destroy), "level");
    }
    EXPECT_EQ(destroyed.count, 3);
    EXPECT_INVALID(tl_client_options_set_connection_callback,
                   tl_client_options_set_connection_callback(nullptr, on_connection, &destroyed,
                                                             DestroyCounter::destroy),
                   "options is NULL");
    EXPECT_EQ(destroyed.count, 4);
}

TEST_F(Arguments, CallbackUserDataLivesAsLongAsTheOptionsOrAClient) {
    DestroyCounter log_data, connection_data;
    ASSERT_EQ(tl_client_options_set_log_callback(options(), on_log, TL_LOG_DEBUG, &log_data,
                                                 DestroyCounter::destroy), TL_OK);
    ASSERT_EQ(tl_client_options_set_connection_callback(options(), on_connection, &connection_data,
                                                        DestroyCounter::destroy), TL_OK);
    Client second = make_client(options());
    options_.reset();
    EXPECT_EQ(log_data.count, 0);
    EXPECT_EQ(connection_data.count, 0);
    second.reset();
    EXPECT_EQ(log_data.count, 1);
    EXPECT_EQ(connection_data.count, 1);

    // Replacing or clearing a registration releases the old user_data (nothing else holds it).
    Options fresh = make_options("mqtt://127.0.0.1:1");
    DestroyCounter first;
    ASSERT_EQ(tl_client_options_set_connection_callback(fresh.get(), on_connection, &first,
                                                        DestroyCounter::destroy), TL_OK);
    ASSERT_EQ(tl_client_options_set_connection_callback(fresh.get(), nullptr, nullptr, nullptr), TL_OK);
    EXPECT_EQ(first.count, 1);
}

TEST_F(Arguments, ClientNew) {
    tl_client* out = reinterpret_cast<tl_client*>(&out);  // not NULL: must be overwritten
    EXPECT_INVALID(tl_client_new, tl_client_new(&out, nullptr), "options is NULL");
    EXPECT_EQ(out, nullptr);
    EXPECT_INVALID(tl_client_new, tl_client_new(nullptr, options()), "out is NULL");

    tl_client_options* empty = nullptr;
    ASSERT_EQ(tl_client_options_new(&empty), TL_OK);
    Options owned(empty);
    EXPECT_INVALID(tl_client_new, tl_client_new(&out, empty), "broker");
    EXPECT_EQ(out, nullptr);

    ASSERT_EQ(tl_client_options_add_broker(empty, "mqtt://127.0.0.1:1"), TL_OK);
    ASSERT_EQ(tl_client_options_set_clean_session(empty, 0), TL_OK);
    EXPECT_FAILS(TL_EINVAL, tl_client_new, tl_client_new(&out, empty), "client id");
    EXPECT_EQ(out, nullptr);
    tl_client_free(nullptr);
}

TEST_F(Arguments, Lifecycle) {
    EXPECT_INVALID(tl_client_start, tl_client_start(nullptr), "client is NULL");
    EXPECT_INVALID(tl_client_connect, tl_client_connect(nullptr, 100), "client is NULL");
    EXPECT_INVALID(tl_client_disconnect, tl_client_disconnect(nullptr, 100), "client is NULL");
    EXPECT_EQ(tl_client_state(nullptr), TL_STATE_DISCONNECTED);
    EXPECT_EQ(tl_client_state(client()), TL_STATE_DISCONNECTED);
    EXPECT_EQ(tl_client_id(nullptr), nullptr);
    ASSERT_NE(tl_client_id(client()), nullptr);
    EXPECT_EQ(std::string(tl_client_id(client())).rfind("tl-", 0), 0u) << tl_client_id(client());
}

TEST_F(Arguments, Publish) {
    DestroyCounter destroyed;
    int expected_destroys = 0;
    const auto publish = [&](tl_client* c, const char* topic, const void* payload, size_t len, int qos) {
        ++expected_destroys;
        uint64_t id = 99;
        const tl_status status =
            tl_client_publish(c, topic, payload, len, qos, 0, on_published, &destroyed, DestroyCounter::destroy, &id);
        EXPECT_EQ(id, 0u);
        return status;
    };
    EXPECT_INVALID(tl_client_publish, publish(nullptr, "t", "x", 1, 1), "client is NULL");
    EXPECT_INVALID(tl_client_publish, publish(client(), nullptr, "x", 1, 1), "topic is NULL");
    EXPECT_INVALID(tl_client_publish, publish(client(), "", "x", 1, 1), "topic is empty");
    EXPECT_INVALID(tl_client_publish, publish(client(), "a/+", "x", 1, 1), "'a/+'", "wildcard");
    EXPECT_INVALID(tl_client_publish, publish(client(), "a/#", "x", 1, 1), "'a/#'", "wildcard");
    EXPECT_INVALID(tl_client_publish, publish(client(), "#", "x", 1, 1), "wildcard");
    EXPECT_INVALID(tl_client_publish, publish(client(), "a/\xc3\x28", "x", 1, 1), "UTF-8");
    const std::string long_topic(65536, 't');
    EXPECT_INVALID(tl_client_publish, publish(client(), long_topic.c_str(), "x", 1, 1), "65535");
    EXPECT_INVALID(tl_client_publish, publish(client(), "t", "x", 1, 3), "qos");
    EXPECT_INVALID(tl_client_publish, publish(client(), "t", "x", 1, -1), "qos");
    EXPECT_INVALID(tl_client_publish, publish(client(), "t", nullptr, 5, 1), "payload is NULL");
    EXPECT_INVALID(tl_client_publish, publish(client(), "t", "x", size_t{268435456}, 1), "268435456 bytes");
    EXPECT_EQ(destroyed.count, expected_destroys);

    EXPECT_INVALID(tl_client_publish_wait, tl_client_publish_wait(nullptr, "t", "x", 1, 1, 0, 100),
                   "client is NULL");
    EXPECT_INVALID(tl_client_publish_wait, tl_client_publish_wait(client(), nullptr, "x", 1, 1, 0, 100),
                   "topic is NULL");
    EXPECT_INVALID(tl_client_publish_wait, tl_client_publish_wait(client(), "a/+", "x", 1, 1, 0, 100),
                   "wildcard");
    EXPECT_INVALID(tl_client_publish_wait, tl_client_publish_wait(client(), "t", "x", 1, 7, 0, 100), "qos");
    EXPECT_INVALID(tl_client_publish_wait, tl_client_publish_wait(client(), "t", nullptr, 1, 1, 0, 100),
                   "payload is NULL");
}

TEST_F(Arguments, SubscribeAndUnsubscribe) {
    DestroyCounter destroyed;
    int expected_destroys = 0;
    const auto subscribe = [&](tl_client* c, const char* filter, int qos, tl_message_cb cb) {
        ++expected_destroys;
        uint64_t id = 99;
        const tl_status status = tl_client_subscribe(c, filter, qos, cb, &destroyed, DestroyCounter::destroy, &id);
        EXPECT_EQ(id, 0u);
        return status;
    };
    EXPECT_INVALID(tl_client_subscribe, subscribe(nullptr, "a/#", 1, on_message), "client is NULL");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), nullptr, 1, on_message), "filter is NULL");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "", 1, on_message), "empty");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a/#/b", 1, on_message), "'a/#/b'", "last level");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a+", 1, on_message), "'a+'", "whole level");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a/b#", 1, on_message), "'a/b#'");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a/#", 3, on_message), "qos");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a/#", -1, on_message), "qos");
    EXPECT_INVALID(tl_client_subscribe, subscribe(client(), "a/#", 1, nullptr), "callback is NULL");
    EXPECT_EQ(destroyed.count, expected_destroys);

    EXPECT_INVALID(tl_client_unsubscribe, tl_client_unsubscribe(nullptr, 1), "client is NULL");
    EXPECT_INVALID(tl_client_unsubscribe, tl_client_unsubscribe(client(), 12345), "12345");

    // Registered while offline: kept until unsubscribed, then destroyed exactly once.
    uint64_t id = 0;
    ASSERT_EQ(tl_client_subscribe(client(), "a/#", 1, on_message, &destroyed, DestroyCounter::destroy, &id), TL_OK)
        << tl_last_error();
    EXPECT_NE(id, 0u);
    EXPECT_EQ(destroyed.count, expected_destroys);
    EXPECT_EQ(tl_client_unsubscribe(client(), id), TL_OK) << tl_last_error();
    EXPECT_EQ(destroyed.count, expected_destroys + 1);
    const std::string id_text = std::to_string(id);
    EXPECT_INVALID(tl_client_unsubscribe, tl_client_unsubscribe(client(), id), id_text.c_str());
    EXPECT_EQ(destroyed.count, expected_destroys + 1);
}

TEST_F(Arguments, Stats) {
    tl_client_stats stats{};
    stats.struct_size = sizeof stats;
    EXPECT_INVALID(tl_client_get_stats, tl_client_get_stats(nullptr, &stats), "client is NULL");
    EXPECT_INVALID(tl_client_get_stats, tl_client_get_stats(client(), nullptr), "out is NULL");
    for (size_t size : {size_t{0}, sizeof stats - 1}) {
        stats.struct_size = size;
        EXPECT_INVALID(tl_client_get_stats, tl_client_get_stats(client(), &stats), "struct_size");
    }
    stats.struct_size = sizeof stats;
    stats.connects = 77;
    EXPECT_EQ(tl_client_get_stats(client(), &stats), TL_OK) << tl_last_error();
    EXPECT_EQ(stats.connects, 0u);
    EXPECT_EQ(stats.struct_size, sizeof stats);
}

}  // namespace
