// The options objects of the C ABI, one JS function per C setter (clientOptionsSetKeepalive is
// tl_client_options_set_keepalive). lib/options.js turns the JS layer's option objects into calls
// of these.
#include <twinlink.h>

#include "args.hpp"
#include "bindings.hpp"
#include "callbacks.hpp"
#include "channel.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

tl_client_options* ClientOpts(Info info) { return UnwrapOptions<tl_client_options>(info, 0, Kind::ClientOptions, "options"); }
tl_shadow_options* ShadowOpts(Info info) { return UnwrapOptions<tl_shadow_options>(info, 0, Kind::ShadowOptions, "options"); }
tl_datapoint_options* DatapointOpts(Info info) {
    return UnwrapOptions<tl_datapoint_options>(info, 0, Kind::DatapointOptions, "options");
}
tl_device_options* DeviceOpts(Info info) { return UnwrapOptions<tl_device_options>(info, 0, Kind::DeviceOptions, "options"); }

// A Route for a channel argument, or null (no callback) for null/undefined.
Route* RouteArg(Info info, size_t index) {
    if (info[index].IsUndefined() || info[index].IsNull()) return nullptr;
    return new Route{UnwrapChannel(info, index, "channel"), 0};
}

void Set(Napi::Env env, Napi::Object exports, const char* name, void (*fn)(Info)) {
    exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace

void InitOptions(Napi::Env env, Napi::Object exports) {
    // ---- client ----
    exports.Set("clientOptionsNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        tl_client_options* o = nullptr;
        Check(info.Env(), tl_client_options_new(&o));
        return WrapOptions(info.Env(), o, tl_client_options_free, Kind::ClientOptions);
    }));
    Set(env, exports, "clientOptionsAddBroker", [](Info info) {
        Check(info.Env(), tl_client_options_add_broker(ClientOpts(info), Text(info, 1, "broker").c_str()));
    });
    Set(env, exports, "clientOptionsSetClientId", [](Info info) {
        Check(info.Env(), tl_client_options_set_client_id(ClientOpts(info), Text(info, 1, "clientId").c_str()));
    });
    Set(env, exports, "clientOptionsSetCredentials", [](Info info) {
        auto password = OptionalText(info, 2, "password");
        Check(info.Env(), tl_client_options_set_credentials(ClientOpts(info), Text(info, 1, "username").c_str(), CStr(password)));
    });
    Set(env, exports, "clientOptionsSetMqttVersion", [](Info info) {
        Check(info.Env(), tl_client_options_set_mqtt_version(
                              ClientOpts(info), static_cast<tl_mqtt_version>(Int(info, 1, "mqttVersion", 0, 255))));
    });
    Set(env, exports, "clientOptionsSetCleanSession", [](Info info) {
        Check(info.Env(), tl_client_options_set_clean_session(ClientOpts(info), Bool(info, 1, "cleanSession") ? 1 : 0));
    });
    Set(env, exports, "clientOptionsSetKeepalive", [](Info info) {
        Check(info.Env(), tl_client_options_set_keepalive(ClientOpts(info), Uint32(info, 1, "keepalive")));
    });
    Set(env, exports, "clientOptionsSetConnectTimeout", [](Info info) {
        Check(info.Env(), tl_client_options_set_connect_timeout(ClientOpts(info), Uint32(info, 1, "connectTimeout")));
    });
    Set(env, exports, "clientOptionsSetReconnectBackoff", [](Info info) {
        Check(info.Env(), tl_client_options_set_reconnect_backoff(ClientOpts(info), Uint32(info, 1, "reconnectBackoff.min"),
                                                                  Uint32(info, 2, "reconnectBackoff.max")));
    });
    Set(env, exports, "clientOptionsSetAckTimeout", [](Info info) {
        Check(info.Env(), tl_client_options_set_ack_timeout(ClientOpts(info), Uint32(info, 1, "ackTimeout")));
    });
    Set(env, exports, "clientOptionsSetOperationTimeout", [](Info info) {
        Check(info.Env(), tl_client_options_set_operation_timeout(ClientOpts(info), Uint32(info, 1, "operationTimeout")));
    });
    Set(env, exports, "clientOptionsSetTlsCa", [](Info info) {
        auto file = OptionalText(info, 1, "tls.ca");
        auto dir = OptionalText(info, 2, "tls.caDir");
        Check(info.Env(), tl_client_options_set_tls_ca(ClientOpts(info), CStr(file), CStr(dir)));
    });
    Set(env, exports, "clientOptionsSetTlsClientCert", [](Info info) {
        auto password = OptionalText(info, 3, "tls.keyPassword");
        Check(info.Env(), tl_client_options_set_tls_client_cert(ClientOpts(info), Text(info, 1, "tls.cert").c_str(),
                                                                Text(info, 2, "tls.key").c_str(), CStr(password)));
    });
    Set(env, exports, "clientOptionsSetTlsVerifyHostname", [](Info info) {
        Check(info.Env(), tl_client_options_set_tls_verify_hostname(ClientOpts(info), Bool(info, 1, "tls.verifyHostname") ? 1 : 0));
    });
    Set(env, exports, "clientOptionsSetTlsInsecure", [](Info info) {
        Check(info.Env(), tl_client_options_set_tls_insecure(ClientOpts(info), Bool(info, 1, "tls.insecure") ? 1 : 0));
    });
    Set(env, exports, "clientOptionsSetPresence", [](Info info) {
        auto topic = OptionalText(info, 1, "presence.topic");
        auto online = OptionalText(info, 2, "presence.online");
        auto offline = OptionalText(info, 3, "presence.offline");
        Check(info.Env(), tl_client_options_set_presence(ClientOpts(info), CStr(topic), CStr(online), CStr(offline)));
    });
    Set(env, exports, "clientOptionsSetOfflineQueue", [](Info info) {
        Check(info.Env(), tl_client_options_set_offline_queue(
                              ClientOpts(info), Size(info, 1, "offlineQueue.maxMessages"), Size(info, 2, "offlineQueue.maxBytes"),
                              static_cast<tl_overflow_policy>(Int(info, 3, "offlineQueue.policy", 0, 1))));
    });
    Set(env, exports, "clientOptionsSetMaxInflight", [](Info info) {
        Check(info.Env(), tl_client_options_set_max_inflight(ClientOpts(info), Uint32(info, 1, "maxInflight")));
    });
    Set(env, exports, "clientOptionsSetTcpNodelay", [](Info info) {
        Check(info.Env(), tl_client_options_set_tcp_nodelay(ClientOpts(info), Bool(info, 1, "tcpNoDelay") ? 1 : 0));
    });
    Set(env, exports, "clientOptionsSetLogCallback", [](Info info) {
        tl_client_options* o = ClientOpts(info);
        const auto level = static_cast<tl_log_level>(Int(info, 2, "logLevel", 0, 3));
        Route* route = RouteArg(info, 1);
        Check(info.Env(), tl_client_options_set_log_callback(o, route != nullptr ? OnLog : nullptr, level, route,
                                                             route != nullptr ? DestroyRoute : nullptr));
    });
    Set(env, exports, "clientOptionsSetConnectionCallback", [](Info info) {
        tl_client_options* o = ClientOpts(info);
        Route* route = RouteArg(info, 1);
        Check(info.Env(), tl_client_options_set_connection_callback(o, route != nullptr ? OnConnection : nullptr, route,
                                                                    route != nullptr ? DestroyRoute : nullptr));
    });

    // ---- shadow ----
    exports.Set("shadowOptionsNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        tl_shadow_options* o = nullptr;
        Check(info.Env(), tl_shadow_options_new(&o));
        return WrapOptions(info.Env(), o, tl_shadow_options_free, Kind::ShadowOptions);
    }));
    Set(env, exports, "shadowOptionsSetName", [](Info info) {
        auto name = OptionalText(info, 1, "name");
        Check(info.Env(), tl_shadow_options_set_name(ShadowOpts(info), CStr(name)));
    });
    Set(env, exports, "shadowOptionsSetProfile", [](Info info) {
        auto prefix = OptionalText(info, 2, "prefix");
        Check(info.Env(), tl_shadow_options_set_profile(ShadowOpts(info),
                                                        static_cast<tl_topic_profile>(Int(info, 1, "profile", 0, 1)), CStr(prefix)));
    });
    Set(env, exports, "shadowOptionsSetRequestTimeout", [](Info info) {
        Check(info.Env(), tl_shadow_options_set_request_timeout(ShadowOpts(info), Uint32(info, 1, "shadowRequestTimeout")));
    });
    Set(env, exports, "shadowOptionsSetPersistPath", [](Info info) {
        auto path = OptionalText(info, 1, "shadowPersistDir");
        Check(info.Env(), tl_shadow_options_set_persist_path(ShadowOpts(info), CStr(path)));
    });

    // ---- datapoints ----
    exports.Set("datapointOptionsNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        tl_datapoint_options* o = nullptr;
        Check(info.Env(), tl_datapoint_options_new(&o));
        return WrapOptions(info.Env(), o, tl_datapoint_options_free, Kind::DatapointOptions);
    }));
    Set(env, exports, "datapointOptionsSetTopic", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_topic(DatapointOpts(info), Text(info, 1, "datapoints.topic").c_str()));
    });
    Set(env, exports, "datapointOptionsSetEncoding", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_encoding(DatapointOpts(info),
                                                            static_cast<tl_encoding>(Int(info, 1, "encoding", 0, TL_ENCODING_COMPACT))));
    });
    Set(env, exports, "datapointOptionsSetBatchLimits", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_batch_limits(DatapointOpts(info), Size(info, 1, "batch.maxPoints"),
                                                                Size(info, 2, "batch.maxBytes"), Uint32(info, 3, "batch.linger")));
    });
    Set(env, exports, "datapointOptionsSetSpool", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_spool(DatapointOpts(info), Text(info, 1, "spool.dir").c_str(),
                                                         Size(info, 2, "spool.maxBytes"),
                                                         static_cast<tl_fsync_policy>(Int(info, 3, "spool.fsync", 0, 2)),
                                                         Uint32(info, 4, "spool.fsyncInterval")));
    });
    Set(env, exports, "datapointOptionsSetBacklog", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_backlog(DatapointOpts(info), Size(info, 1, "backlog.maxBytes"),
                                                           Size(info, 2, "backlog.maxPendingPoints")));
    });
    Set(env, exports, "datapointOptionsSetBackpressure", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_backpressure(
                              DatapointOpts(info), static_cast<tl_backpressure>(Int(info, 1, "backpressure", 0, 2)),
                              Uint32(info, 2, "backpressureTimeout")));
    });
    Set(env, exports, "datapointOptionsSetSending", [](Info info) {
        Check(info.Env(), tl_datapoint_options_set_sending(DatapointOpts(info), Uint32(info, 1, "maxInflightBatches"),
                                                           Number(info, 2, "maxBatchesPerSecond")));
    });
    Set(env, exports, "datapointOptionsSetDelivery", [](Info info) {
        auto topic = OptionalText(info, 4, "receiptTopic");
        Check(info.Env(), tl_datapoint_options_set_delivery(
                              DatapointOpts(info), static_cast<tl_delivery_mode>(Int(info, 1, "delivery", 0, 1)),
                              Uint32(info, 2, "receiptTimeout"), Uint32(info, 3, "maxUnconfirmedBatches"), CStr(topic)));
    });
    Set(env, exports, "datapointOptionsSetDropCallback", [](Info info) {
        tl_datapoint_options* o = DatapointOpts(info);
        Route* route = RouteArg(info, 1);
        Check(info.Env(), tl_datapoint_options_set_drop_callback(o, route != nullptr ? OnDrop : nullptr, route,
                                                                 route != nullptr ? DestroyRoute : nullptr));
    });

    // ---- device ----
    exports.Set("deviceOptionsNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        tl_device_options* o = nullptr;
        Check(info.Env(), tl_device_options_new(&o));
        return WrapOptions(info.Env(), o, tl_device_options_free, Kind::DeviceOptions);
    }));
    Set(env, exports, "deviceOptionsSetClient", [](Info info) {
        Check(info.Env(), tl_device_options_set_client(
                              DeviceOpts(info), UnwrapOptions<tl_client_options>(info, 1, Kind::ClientOptions, "client")));
    });
    Set(env, exports, "deviceOptionsSetProfile", [](Info info) {
        auto prefix = OptionalText(info, 2, "prefix");
        Check(info.Env(), tl_device_options_set_profile(DeviceOpts(info),
                                                        static_cast<tl_topic_profile>(Int(info, 1, "profile", 0, 1)), CStr(prefix)));
    });
    Set(env, exports, "deviceOptionsSetShadow", [](Info info) {
        Check(info.Env(), tl_device_options_set_shadow(
                              DeviceOpts(info), UnwrapOptions<tl_shadow_options>(info, 1, Kind::ShadowOptions, "shadow")));
    });
    Set(env, exports, "deviceOptionsSetDatapoints", [](Info info) {
        Check(info.Env(), tl_device_options_set_datapoints(
                              DeviceOpts(info), UnwrapOptions<tl_datapoint_options>(info, 1, Kind::DatapointOptions, "datapoints")));
    });
}

}  // namespace twinlink_node
