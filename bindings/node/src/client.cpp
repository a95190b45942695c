// tl_client: connect, publish, subscribe, state and counters.
#include <twinlink.h>

#include "args.hpp"
#include "bindings.hpp"
#include "callbacks.hpp"
#include "channel.hpp"
#include "completion.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

// The publish's user_data: the Promise to settle in its completion callback.
struct PublishWait {
    Pending* pending;
};

void OnPublished(uint64_t message_id, tl_status status, void* user_data) {
    Outcome outcome = Outcome::Of(status);
    if (status != TL_OK && outcome.message.empty()) outcome.message = tl_status_str(status);
    outcome.value = [message_id](Napi::Env env) -> Napi::Value {
        return Napi::Number::New(env, static_cast<double>(message_id));
    };
    Pending::Settle(static_cast<PublishWait*>(user_data)->pending, std::move(outcome));
}

void DeletePublishWait(void* user_data) { delete static_cast<PublishWait*>(user_data); }

// Payload bytes: a Buffer/Uint8Array (read in place) or a string (UTF-8).
struct Payload {
    std::string text;
    const void* data = nullptr;
    size_t size = 0;
};

Payload PayloadArg(Info info, size_t index) {
    Payload p;
    Napi::Value v = info[index];
    if (v.IsString()) {
        p.text = v.As<Napi::String>().Utf8Value();
        p.data = p.text.data();
        p.size = p.text.size();
    } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
        auto bytes = v.As<Napi::Uint8Array>();
        p.data = bytes.Data();
        p.size = bytes.ByteLength();
    } else if (v.IsUndefined() || v.IsNull()) {
    } else {
        ThrowTypeError(info.Env(), "The \"payload\" argument must be of type string or an instance of Buffer or Uint8Array. Received " +
                                       Describe(v));
    }
    return p;
}

Napi::Object ClientStats(Napi::Env env, const tl_client_stats& s) {
    Napi::Object o = Napi::Object::New(env);
    const auto n = [&](const char* name, uint64_t value) { o.Set(name, Napi::Number::New(env, static_cast<double>(value))); };
    n("messagesOut", s.messages_out);
    n("bytesOut", s.bytes_out);
    n("messagesIn", s.messages_in);
    n("bytesIn", s.bytes_in);
    n("connects", s.connects);
    n("reconnects", s.reconnects);
    n("connectFailures", s.connect_failures);
    n("queuedMessages", s.queued_messages);
    n("queuedBytes", s.queued_bytes);
    n("inflight", s.inflight);
    n("dropped", s.dropped);
    n("rejected", s.rejected);
    n("ackTimeouts", s.ack_timeouts);
    n("resent", s.resent);
    n("callbackQueue", s.callback_queue);
    return o;
}

tl_client* ClientOf(const Resource::Lease& lease) { return lease.get()->handle<tl_client>(); }

}  // namespace

void InitClient(Napi::Env env, Napi::Object exports) {
    exports.Set("clientNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto* options = UnwrapOptions<tl_client_options>(info, 0, Kind::ClientOptions, "options");
        tl_client* client = nullptr;
        Check(info.Env(), tl_client_new(&client, options));
        return NewResource(info.Env(), Kind::Client, client, [client] { tl_client_free(client); }, nullptr);
    }));
    exports.Set("clientStart", Napi::Function::New(env, [](Info info) {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        Check(info.Env(), tl_client_start(ClientOf(lease)));
    }));
    exports.Set("clientConnect", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        const uint32_t timeout = Uint32(info, 1, "timeout");
        tl_client* client = ClientOf(lease);
        return Completed(info.Env(), std::move(lease), false, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
            return tl_client_connect_start(client, timeout, done, op, destroy, nullptr);
        });
    }));
    exports.Set("clientDisconnect", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        const uint32_t timeout = Uint32(info, 1, "timeout");
        tl_client* client = ClientOf(lease);
        return Completed(info.Env(), std::move(lease), false, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
            return tl_client_disconnect_start(client, timeout, done, op, destroy, nullptr);
        });
    }));
    // clientPublish(client, topic, payload, qos, retain) -> Promise<messageId>, settled by the
    // publish's completion callback (the PUBACK for QoS 1 and 2).
    exports.Set("clientPublish", Napi::Function::New(env, [](Info info) -> Napi::Value {
        Napi::Env env = info.Env();
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(env);
        const std::string topic = Text(info, 1, "topic");
        const Payload payload = PayloadArg(info, 2);
        const int qos = Int(info, 3, "qos", 0, 2);
        const bool retain = Bool(info, 4, "retain");
        Napi::Promise promise;
        Pending* pending = Pending::Begin(env, &promise);
        auto* wait = new PublishWait{pending};
        const tl_status status = tl_client_publish(ClientOf(lease), topic.c_str(), payload.data, payload.size, qos,
                                                   retain ? 1 : 0, OnPublished, wait, DeletePublishWait, nullptr);
        // On failure the destroy callback has run and the completion callback never will.
        if (status != TL_OK) Pending::Settle(pending, Outcome::Of(status));
        return promise;
    }));
    // clientSubscribe(client, filter, qos, channel, token) -> Promise<subscriptionId>
    exports.Set("clientSubscribe", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        const std::string filter = Text(info, 1, "filter");
        const int qos = Int(info, 2, "qos", 0, 2);
        auto channel = UnwrapChannel(info, 3, "channel");
        const uint32_t token = Uint32(info, 4, "token");
        return Blocking(info.Env(), [lease, filter, qos, channel, token] {
            uint64_t id = 0;
            auto* route = new Route{channel, token};
            Outcome outcome = Outcome::Of(
                tl_client_subscribe(ClientOf(lease), filter.c_str(), qos, OnMessage, route, DestroyRoute, &id));
            outcome.value = [id](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(id)); };
            return outcome;
        });
    }));
    exports.Set("clientUnsubscribe", Napi::Function::New(env, [](Info info) {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        const auto id = static_cast<uint64_t>(Integer(info, 1, "subscriptionId", 0, int64_t{1} << 53));
        Check(info.Env(), tl_client_unsubscribe(ClientOf(lease), id));
    }));
    exports.Set("clientState", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto resource = UnwrapResource(info, 0, Kind::Client, "client");
        if (!resource->Enter()) return Napi::Number::New(info.Env(), TL_STATE_DISCONNECTED);
        const tl_connection_state state = tl_client_state(resource->handle<tl_client>());
        resource->Leave();
        return Napi::Number::New(info.Env(), state);
    }));
    exports.Set("clientGetStats", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        tl_client_stats stats{};
        stats.struct_size = sizeof stats;
        Check(info.Env(), tl_client_get_stats(ClientOf(lease), &stats));
        return ClientStats(info.Env(), stats);
    }));
    exports.Set("clientId", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Client, "client")->Use(info.Env());
        const char* id = tl_client_id(ClientOf(lease));
        return Napi::String::New(info.Env(), id != nullptr ? id : "");
    }));
}

}  // namespace twinlink_node
