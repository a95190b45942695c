#include "mqtt/paho_options.hpp"

#include <fstream>

#include <mqtt/ssl_options.h>
#include <mqtt/will_options.h>

#include "mqtt/tcp_socket.hpp"
#include "mqtt/tls_probe.hpp"
#include "twinlink/topic.hpp"

namespace twinlink::detail {
namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(Status::InvalidArgument, why); }

void require_readable(const std::string& path, const char* what) {
    if (path.empty()) return;
    std::ifstream f(path);
    if (!f) bad(std::string(what) + " '" + path + "' cannot be read");
}

bool uses_tls(const std::vector<BrokerUri>& brokers) {
    for (const auto& b : brokers)
        if (b.tls()) return true;
    return false;
}

}  // namespace

void validate_client_options(const ClientOptions& o, const std::vector<BrokerUri>& brokers) {
    using std::chrono::milliseconds;
    if (brokers.empty()) bad("no broker URI given");
    if (o.client_id.size() > 65535) bad("client id is longer than 65535 bytes");
    if (o.client_id.empty() && !o.clean_session)
        bad("a persistent session (clean_session = false) needs a client id");
    if (o.mqtt_version != MqttVersion::V311 && o.mqtt_version != MqttVersion::V5)
        bad("mqtt_version must be 3.1.1 (4) or 5");
    if (o.keepalive.count() < 0 || o.keepalive.count() > 65535) bad("keepalive must be 0 to 65535 seconds");
    if (o.connect_timeout < milliseconds(100)) bad("connect_timeout must be at least 100 ms");
    if (o.ack_timeout < milliseconds(100)) bad("ack_timeout must be at least 100 ms");
    if (o.operation_timeout < milliseconds(100)) bad("operation_timeout must be at least 100 ms");
    if (o.reconnect_min.count() <= 0) bad("reconnect_min must be positive");
    if (o.reconnect_min > o.reconnect_max) bad("reconnect_min must not exceed reconnect_max");
    if (o.queue_max_messages == 0 || o.queue_max_bytes == 0) bad("offline queue bounds must be positive");
    if (o.max_inflight == 0 || o.max_inflight > 65535) bad("max_inflight must be 1 to 65535");
    if (!o.presence.topic.empty()) validate_topic_name(o.presence.topic);
    if (o.tls.cert_file.empty() != o.tls.key_file.empty())
        bad("a client certificate needs both tls.cert_file and tls.key_file");
    if (uses_tls(brokers)) {
        require_readable(o.tls.ca_file, "tls.ca_file");
        require_readable(o.tls.cert_file, "tls.cert_file");
        require_readable(o.tls.key_file, "tls.key_file");
    }
}

void fill_connect_options(mqtt::connect_options& c, const ClientOptions& o, const std::vector<BrokerUri>& brokers) {
    if (o.mqtt_version == MqttVersion::V5) {
        c.set_mqtt_version(MQTTVERSION_5);
        c.set_clean_start(o.clean_session);
        if (!o.clean_session) {
            mqtt::properties props;
            props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, 86400));
            c.set_properties(props);
        }
    } else {
        c.set_mqtt_version(MQTTVERSION_3_1_1);
        c.set_clean_session(o.clean_session);
    }
    c.set_keep_alive_interval(static_cast<int>(o.keepalive.count()));
    c.set_connect_timeout(static_cast<int>((o.connect_timeout.count() + 999) / 1000));
    c.set_automatic_reconnect(false);  // the connection thread reconnects, with jitter and events
    // Room for the presence message beside the client's own window.
    c.set_max_inflight(static_cast<int>(o.max_inflight) + 8);
    auto uris = std::make_shared<mqtt::string_collection>();
    for (const auto& b : brokers) uris->push_back(b.paho_uri());
    c.set_servers(uris);
    if (!o.username.empty()) c.set_user_name(o.username);
    if (!o.password.empty()) c.set_password(o.password);
    if (!o.presence.topic.empty())
        c.set_will(mqtt::will_options(o.presence.topic, o.presence.offline, 1, true));
    if (uses_tls(brokers)) {
        mqtt::ssl_options ssl;
        if (!o.tls.ca_file.empty()) ssl.set_trust_store(o.tls.ca_file);
        if (!o.tls.ca_dir.empty()) ssl.ca_path(o.tls.ca_dir);
        if (!o.tls.cert_file.empty()) {
            ssl.set_key_store(o.tls.cert_file);
            ssl.set_private_key(o.tls.key_file);
            if (!o.tls.key_password.empty()) ssl.set_private_key_password(o.tls.key_password);
        }
        ssl.set_enable_server_cert_auth(!o.tls.insecure);
        ssl.set_verify(o.tls.verify_hostname && !o.tls.insecure);
        c.set_ssl(std::move(ssl));
    }
}

ConnectFailure classify_connect_failure(const mqtt::exception& e, const std::string& brokers,
                                        const std::string& tls_error) {
    if (!tls_error.empty())
        return {Status::TlsError, "TLS handshake with " + brokers + " failed: " + tls_error};
    const int rc = e.get_return_code();
    const int reason = e.get_reason_code();
    // MQTT 3.1.1 CONNACK: 4 bad user name or password, 5 not authorized.
    // MQTT 5 reason codes: 0x86 bad user name or password, 0x87 not authorized, 0x8C bad auth method.
    if (rc == 4 || rc == 5 || reason == 0x86 || reason == 0x87 || reason == 0x8C)
        return {Status::NotAuthorized, "the broker " + brokers + " refused the credentials (" + e.what() + ")"};
    if (rc == 1 || reason == 0x84)
        return {Status::ConnectFailed, "the broker " + brokers + " does not support the MQTT version asked for"};
    return {Status::ConnectFailed, "could not connect to " + brokers + ": " + e.get_error_str() +
                                       (e.get_message().empty() ? "" : " (" + e.get_message() + ")")};
}

ConnectFailure tls_failure(const std::vector<BrokerUri>& brokers, const std::string& brokers_text,
                           const TlsOptions& tls, std::string tls_error) {
    while (!tls_error.empty() && (tls_error.back() == '\n' || tls_error.back() == '\r' || tls_error.back() == ' '))
        tls_error.pop_back();
    for (const auto& b : brokers) {
        if (!b.tls()) continue;
        // The reason in OpenSSL's words is in the brackets of the diagnosis; Paho's line adds only
        // "certificate verify failed" and a source location.
        if (auto reason = diagnose_tls_failure(b, tls, std::chrono::milliseconds(2000)))
            return {Status::TlsError, "TLS handshake with " + b.text + " failed: " + *reason};
    }
    if (!tls_error.empty())
        return {Status::TlsError, "TLS handshake with " + brokers_text + " failed: " + tls_error};
    for (const auto& b : brokers) {
        if (b.tls() && tcp_reachable(b.host, b.port, std::chrono::milliseconds(1000)))
            return {Status::TlsError,
                    "the TLS handshake with " + b.text + " failed after the TCP connection was made: either the "
                    "server certificate was not accepted (check tls.ca_file, and that the certificate names '" +
                        b.host + "'), or the broker refused the client certificate (check tls.cert_file)"};
    }
    return {Status::TlsError, "TLS handshake with " + brokers_text + " failed"};
}

ConnectFailure classify_connect_failure(const mqtt::exception& e, const std::vector<BrokerUri>& brokers,
                                        const std::string& brokers_text, const TlsOptions& tls,
                                        const std::string& tls_error) {
    if (!tls_error.empty()) return tls_failure(brokers, brokers_text, tls, tls_error);
    ConnectFailure f = classify_connect_failure(e, brokers_text, tls_error);
    if (f.status != Status::ConnectFailed) return f;
    // Paho reports a refused server certificate or host name as a bare "TCP/TLS connect failure".
    // When a TLS broker does accept TCP connections, it was the TLS layer that said no.
    for (const auto& b : brokers) {
        if (b.tls() && tcp_reachable(b.host, b.port, std::chrono::milliseconds(1000)))
            return tls_failure(brokers, brokers_text, tls, tls_error);
    }
    return f;
}

}  // namespace twinlink::detail
