// client.cpp — tl_client_options_* and tl_client_*: the C face of twinlink::ClientOptions and
// twinlink::Client. Each function checks what only C can get wrong (NULL, ranges of plain
// integers), translates, and lets the core do the rest.
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "boundary.hpp"
#include "completion.hpp"
#include "handles.hpp"
#include "twinlink/client.hpp"
#include "twinlink/topic.hpp"


namespace twinlink::capi {
namespace {

static_assert(TL_MQTT_V311 == static_cast<int>(MqttVersion::V311));
static_assert(TL_MQTT_V5 == static_cast<int>(MqttVersion::V5));
static_assert(TL_OVERFLOW_REJECT_NEW == static_cast<int>(OverflowPolicy::RejectNew));
static_assert(TL_OVERFLOW_DROP_OLDEST == static_cast<int>(OverflowPolicy::DropOldest));
static_assert(TL_STATE_DISCONNECTED == static_cast<int>(ConnectionState::Disconnected));
static_assert(TL_STATE_CONNECTING == static_cast<int>(ConnectionState::Connecting));
static_assert(TL_STATE_CONNECTED == static_cast<int>(ConnectionState::Connected));
static_assert(TL_STATE_RECONNECTING == static_cast<int>(ConnectionState::Reconnecting));
static_assert(TL_LOG_ERROR == static_cast<int>(LogLevel::Error));
static_assert(TL_LOG_WARNING == static_cast<int>(LogLevel::Warning));
static_assert(TL_LOG_INFO == static_cast<int>(LogLevel::Info));
static_assert(TL_LOG_DEBUG == static_cast<int>(LogLevel::Debug));

constexpr std::size_t kMaxPayload = 268435455;  // MQTT's largest remaining length
constexpr std::size_t kMaxString = 65535;       // MQTT's largest UTF-8 string
constexpr std::uint32_t kMinTimeoutMs = 100;

std::chrono::milliseconds timeout_at_least_min(std::uint32_t ms, const char* name) {
    if (ms < kMinTimeoutMs) {
        invalid(std::string(name) + " " + std::to_string(ms) + " ms is below the minimum of " +
                std::to_string(kMinTimeoutMs) + " ms");
    }
    return std::chrono::milliseconds(ms);
}

void require_at_most(std::uint64_t value, std::uint64_t max, const char* name) {
    if (value > max) {
        invalid(std::string(name) + " " + std::to_string(value) + " is over the maximum of " +
                std::to_string(max));
    }
}

std::string payload_copy(const void* payload, std::size_t payload_len) {
    if (payload_len > kMaxPayload) {
        invalid("payload of " + std::to_string(payload_len) + " bytes is over the MQTT limit of " +
                std::to_string(kMaxPayload) + " bytes");
    }
    if (payload_len == 0) return {};
    if (payload == nullptr) invalid("payload is NULL but payload_len is " + std::to_string(payload_len));
    return std::string(static_cast<const char*>(payload), payload_len);
}

std::uint32_t clamp_ms(std::chrono::milliseconds ms) {
    constexpr auto max = std::numeric_limits<std::uint32_t>::max();
    return ms.count() < 0 ? 0 : ms.count() > max ? max : static_cast<std::uint32_t>(ms.count());
}

// The core handler that calls a tl_message_cb.
twinlink::MessageHandler message_handler(tl_message_cb callback, std::shared_ptr<UserData> data) {
    return [callback, data = std::move(data)](const twinlink::MessageView& m) {
        const std::string topic(m.topic);  // the C side needs it NUL-terminated
        tl_message message{};
        message.struct_size = sizeof message;
        message.topic = topic.c_str();
        message.payload = m.payload.data();
        message.payload_len = m.payload.size();
        message.qos = m.qos;
        message.retained = m.retained ? 1 : 0;
        callback(&message, data->get());
    };
}

}  // namespace

}  // namespace twinlink::capi

using namespace twinlink::capi;
using twinlink::ClientOptions;
using std::chrono::milliseconds;

extern "C" {

/* ---- Options ---------------------------------------------------------------------------- */

tl_status tl_client_options_new(tl_client_options** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_client_options();
    });
}

void tl_client_options_free(tl_client_options* options) { delete options; }

tl_status tl_client_options_add_broker(tl_client_options* options, const char* uri) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        deref(uri, "uri");
        twinlink::validate_broker_uri(uri);
        o.core.brokers.emplace_back(uri);
    });
}

tl_status tl_client_options_set_client_id(tl_client_options* options, const char* client_id) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const std::string id = require_text(client_id, "client_id");
        require_at_most(id.size(), kMaxString, "client_id length");
        o.core.client_id = id;
    });
}

tl_status tl_client_options_set_credentials(tl_client_options* options, const char* username,
                                            const char* password) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        std::string user = require_text(username, "username");
        std::string pass = password != nullptr ? password : "";
        require_at_most(user.size(), kMaxString, "username length");
        require_at_most(pass.size(), kMaxString, "password length");
        o.core.username = std::move(user);
        o.core.password = std::move(pass);
    });
}

tl_status tl_client_options_set_mqtt_version(tl_client_options* options, tl_mqtt_version version) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(version);
        if (value != TL_MQTT_V311 && value != TL_MQTT_V5) {
            invalid("version " + std::to_string(value) + " is neither TL_MQTT_V311 (4) nor TL_MQTT_V5 (5)");
        }
        o.core.mqtt_version = static_cast<twinlink::MqttVersion>(value);
    });
}

tl_status tl_client_options_set_clean_session(tl_client_options* options, int clean) {
    return guard(__func__, [&] { deref(options, "options").core.clean_session = clean != 0; });
}

tl_status tl_client_options_set_keepalive(tl_client_options* options, uint32_t seconds) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        require_at_most(seconds, 65535, "keepalive seconds");
        o.core.keepalive = std::chrono::seconds(seconds);
    });
}

tl_status tl_client_options_set_connect_timeout(tl_client_options* options, uint32_t timeout_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        o.core.connect_timeout = timeout_at_least_min(timeout_ms, "timeout_ms");
    });
}

tl_status tl_client_options_set_reconnect_backoff(tl_client_options* options, uint32_t min_ms,
                                                  uint32_t max_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (min_ms == 0) invalid("min_ms is 0");
        if (min_ms > max_ms) {
            invalid("min_ms " + std::to_string(min_ms) + " is over max_ms " + std::to_string(max_ms));
        }
        o.core.reconnect_min = milliseconds(min_ms);
        o.core.reconnect_max = milliseconds(max_ms);
    });
}

tl_status tl_client_options_set_ack_timeout(tl_client_options* options, uint32_t timeout_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        o.core.ack_timeout = timeout_at_least_min(timeout_ms, "timeout_ms");
    });
}

tl_status tl_client_options_set_operation_timeout(tl_client_options* options, uint32_t timeout_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        o.core.operation_timeout = timeout_at_least_min(timeout_ms, "timeout_ms");
    });
}

tl_status tl_client_options_set_tls_ca(tl_client_options* options, const char* ca_file, const char* ca_dir) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        std::string file = ca_file != nullptr ? require_text(ca_file, "ca_file") : "";
        std::string dir = ca_dir != nullptr ? require_text(ca_dir, "ca_dir") : "";
        o.core.tls.ca_file = std::move(file);
        o.core.tls.ca_dir = std::move(dir);
    });
}

tl_status tl_client_options_set_tls_client_cert(tl_client_options* options, const char* cert_file,
                                                const char* key_file, const char* key_password) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        std::string cert = require_text(cert_file, "cert_file");
        std::string key = require_text(key_file, "key_file");
        std::string password = key_password != nullptr ? key_password : "";
        o.core.tls.cert_file = std::move(cert);
        o.core.tls.key_file = std::move(key);
        o.core.tls.key_password = std::move(password);
    });
}

tl_status tl_client_options_set_tls_verify_hostname(tl_client_options* options, int verify) {
    return guard(__func__, [&] { deref(options, "options").core.tls.verify_hostname = verify != 0; });
}

tl_status tl_client_options_set_tcp_nodelay(tl_client_options* options, int nodelay) {
    return guard(__func__, [&] { deref(options, "options").core.tcp_nodelay = nodelay != 0; });
}

tl_status tl_client_options_set_tls_insecure(tl_client_options* options, int insecure) {
    return guard(__func__, [&] { deref(options, "options").core.tls.insecure = insecure != 0; });
}

tl_status tl_client_options_set_presence(tl_client_options* options, const char* topic, const char* online,
                                         const char* offline) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        twinlink::PresenceOptions presence;
        if (topic != nullptr && *topic != '\0') {
            twinlink::validate_topic_name(topic);
            presence.topic = topic;
            if (online != nullptr) presence.online = online;
            if (offline != nullptr) presence.offline = offline;
        }
        o.core.presence = std::move(presence);
    });
}

tl_status tl_client_options_set_offline_queue(tl_client_options* options, size_t max_messages,
                                              size_t max_bytes, tl_overflow_policy policy) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (max_messages == 0) invalid("max_messages is 0");
        if (max_bytes == 0) invalid("max_bytes is 0");
        const int value = raw_enum(policy);
        if (value != TL_OVERFLOW_REJECT_NEW && value != TL_OVERFLOW_DROP_OLDEST) {
            invalid("policy " + std::to_string(value) + " is neither TL_OVERFLOW_REJECT_NEW nor TL_OVERFLOW_DROP_OLDEST");
        }
        o.core.queue_max_messages = max_messages;
        o.core.queue_max_bytes = max_bytes;
        o.core.overflow = static_cast<twinlink::OverflowPolicy>(value);
    });
}

tl_status tl_client_options_set_max_inflight(tl_client_options* options, uint32_t max_inflight) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (max_inflight == 0) invalid("max_inflight is 0");
        require_at_most(max_inflight, 65535, "max_inflight");
        o.core.max_inflight = max_inflight;
    });
}

tl_status tl_client_options_set_log_callback(tl_client_options* options, tl_log_cb callback,
                                             tl_log_level level, void* user_data, tl_destroy_cb destroy) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        auto& o = deref(options, "options");
        const int value = raw_enum(level);
        if (value < TL_LOG_ERROR || value > TL_LOG_DEBUG) {
            invalid("level " + std::to_string(value) + " is not a tl_log_level");
        }
        o.core.log_level = static_cast<twinlink::LogLevel>(value);
        if (callback == nullptr) {
            o.core.log = {};
            return;
        }
        o.core.log = [callback, data = std::move(data)](twinlink::LogLevel l, const std::string& message) {
            callback(static_cast<tl_log_level>(l), message.c_str(), data->get());
        };
    });
}

tl_status tl_client_options_set_connection_callback(tl_client_options* options, tl_connection_cb callback,
                                                    void* user_data, tl_destroy_cb destroy) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        auto& o = deref(options, "options");
        if (callback == nullptr) {
            o.core.on_connection = {};
            return;
        }
        o.core.on_connection = [callback, data = std::move(data)](const twinlink::ConnectionEvent& e) {
            tl_connection_event event{};
            event.struct_size = sizeof event;
            event.state = static_cast<tl_connection_state>(e.state);
            event.reason = to_c(e.reason);
            event.message = e.message.c_str();
            event.broker = e.broker.c_str();
            event.retry_in_ms = clamp_ms(e.retry_in);
            event.attempt = e.attempt;
            callback(&event, data->get());
        };
    });
}

/* ---- Client ----------------------------------------------------------------------------- */

tl_status tl_client_new(tl_client** out, const tl_client_options* options) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_client(deref(options, "options").core);
    });
}

void tl_client_free(tl_client* client) { delete client; }

tl_status tl_client_start(tl_client* client) {
    return guard(__func__, [&] { deref(client, "client").core.start(); });
}

tl_status tl_client_connect(tl_client* client, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(client, "client").core.connect(milliseconds(timeout_ms)); });
}

tl_status tl_client_disconnect(tl_client* client, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(client, "client").core.disconnect(milliseconds(timeout_ms)); });
}

tl_status tl_client_publish(tl_client* client, const char* topic, const void* payload, size_t payload_len,
                            int qos, int retain, tl_publish_cb callback, void* user_data, tl_destroy_cb destroy,
                            uint64_t* out_id) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        if (out_id != nullptr) *out_id = 0;
        auto& c = deref(client, "client");
        deref(topic, "topic");
        twinlink::PublishCallback on_complete;
        if (callback != nullptr || destroy != nullptr) {
            // The destructor runs right after the callback, not whenever the core lets go of it.
            on_complete = [callback, data = std::move(data)](std::uint64_t id, twinlink::Status status) {
                if (callback != nullptr) callback(id, to_c(status), data->get());
                data->release();
            };
        }
        const auto id = c.core.publish(topic, payload_copy(payload, payload_len), qos, retain != 0,
                                       std::move(on_complete));
        if (out_id != nullptr) *out_id = id;
    });
}

tl_status tl_client_publish_wait(tl_client* client, const char* topic, const void* payload,
                                 size_t payload_len, int qos, int retain, uint32_t timeout_ms) {
    return guard(__func__, [&] {
        auto& c = deref(client, "client");
        deref(topic, "topic");
        c.core.publish_wait(topic, payload_copy(payload, payload_len), qos, retain != 0,
                            milliseconds(timeout_ms));
    });
}

tl_status tl_client_subscribe(tl_client* client, const char* filter, int qos, tl_message_cb callback,
                              void* user_data, tl_destroy_cb destroy, uint64_t* out_id) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        if (out_id != nullptr) *out_id = 0;
        auto& c = deref(client, "client");
        deref(filter, "filter");
        if (callback == nullptr) invalid("callback is NULL");
        const auto id = c.core.subscribe(filter, qos, message_handler(callback, std::move(data)));
        if (out_id != nullptr) *out_id = id;
    });
}

tl_status tl_client_unsubscribe(tl_client* client, uint64_t subscription_id) {
    return guard(__func__, [&] { deref(client, "client").core.unsubscribe(subscription_id); });
}

tl_connection_state tl_client_state(const tl_client* client) {
    tl_connection_state state = TL_STATE_DISCONNECTED;
    if (client != nullptr) {
        guard(__func__, [&] { state = static_cast<tl_connection_state>(client->core.state()); });
    }
    return state;
}

tl_status tl_client_get_stats(const tl_client* client, tl_client_stats* out) {
    return guard(__func__, [&] {
        const auto& c = deref(client, "client");
        auto& o = deref(out, "out");
        if (o.struct_size < sizeof(tl_client_stats)) {
            invalid("out->struct_size " + std::to_string(o.struct_size) + " is below sizeof(tl_client_stats) " +
                    std::to_string(sizeof(tl_client_stats)) + " (set it before the call)");
        }
        const twinlink::ClientStats s = c.core.stats();
        o.messages_out = s.messages_out;
        o.bytes_out = s.bytes_out;
        o.messages_in = s.messages_in;
        o.bytes_in = s.bytes_in;
        o.connects = s.connects;
        o.reconnects = s.reconnects;
        o.connect_failures = s.connect_failures;
        o.queued_messages = s.queued_messages;
        o.queued_bytes = s.queued_bytes;
        o.inflight = s.inflight;
        o.dropped = s.dropped;
        o.rejected = s.rejected;
        o.ack_timeouts = s.ack_timeouts;
        o.resent = s.resent;
        o.callback_queue = s.callback_queue;
    });
}

const char* tl_client_id(const tl_client* client) {
    const char* id = nullptr;
    if (client != nullptr) guard(__func__, [&] { id = client->core.client_id().c_str(); });
    return id;
}


tl_status tl_client_connect_start(tl_client* client, uint32_t timeout_ms, tl_completion_cb callback, void* user_data,
                                  tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& c = deref(client, "client");
            return c.core.connect_async(std::chrono::milliseconds(timeout_ms), take_done());
        });
    });
}

tl_status tl_client_disconnect_start(tl_client* client, uint32_t timeout_ms, tl_completion_cb callback,
                                     void* user_data, tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& c = deref(client, "client");
            return c.core.disconnect_async(milliseconds(timeout_ms), take_done());
        });
    });
}

tl_status tl_client_publish_start(tl_client* client, const char* topic, const void* payload, size_t payload_len,
                                  int qos, int retain, uint32_t timeout_ms, tl_completion_cb callback,
                                  void* user_data, tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& c = deref(client, "client");
            deref(topic, "topic");
            std::string bytes = payload_copy(payload, payload_len);
            return c.core.publish_async(topic, std::move(bytes), qos, retain != 0, milliseconds(timeout_ms),
                                        take_done());
        });
    });
}

tl_status tl_client_subscribe_start(tl_client* client, const char* filter, int qos, tl_message_cb on_message,
                                    void* message_user_data, tl_destroy_cb message_destroy, uint64_t* out_id,
                                    uint32_t timeout_ms, tl_completion_cb callback, void* user_data,
                                    tl_destroy_cb destroy, uint64_t* out_operation) {
    // Owned first, so that both destroy callbacks run on every failure path.
    std::shared_ptr<UserData> message_data, data;
    const tl_status owned = guard(__func__, [&] {
        message_data = own_user_data(message_user_data, message_destroy);
        data = own_user_data(user_data, destroy);
    });
    if (owned != TL_OK) return owned;
    return guard(__func__, [&] {
        if (out_id) *out_id = 0;
        if (out_operation) *out_operation = 0;
        auto& c = deref(client, "client");
        deref(filter, "filter");
        if (on_message == nullptr) invalid("on_message is NULL");
        auto done = completion(callback, data);
        data.reset();
        auto handler = message_handler(on_message, std::move(message_data));
        const auto ids = c.core.subscribe_async(filter, qos, std::move(handler), milliseconds(timeout_ms),
                                                std::move(done));
        if (out_id) *out_id = ids.subscription;
        if (out_operation) *out_operation = ids.operation;
    });
}

tl_status tl_client_unsubscribe_start(tl_client* client, uint64_t subscription_id, uint32_t timeout_ms,
                                      tl_completion_cb callback, void* user_data, tl_destroy_cb destroy,
                                      uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& c = deref(client, "client");
            return c.core.unsubscribe_async(subscription_id, milliseconds(timeout_ms), take_done());
        });
    });
}

tl_status tl_client_cancel(tl_client* client, uint64_t operation) {
    return guard(__func__, [&] {
        if (!deref(client, "client").core.cancel_operation(operation))
            throw twinlink::Error(twinlink::Status::WrongState,
                                  "operation " + std::to_string(operation) + " has already ended or is unknown");
    });
}

}  // extern "C"
