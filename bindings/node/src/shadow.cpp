// tl_shadow: reports, desired state, requests, the local document, delta and change handlers.
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

tl_shadow* ShadowOf(const Resource::Lease& lease) { return lease.get()->handle<tl_shadow>(); }

Resource::Lease ShadowArg(Info info) { return UnwrapResource(info, 0, Kind::Shadow, "shadow")->Use(info.Env()); }

using StartRequest = tl_status (*)(tl_shadow*, const char*, uint32_t, tl_completion_cb, void*, tl_destroy_cb, uint64_t*);

// (shadow, json, timeout) -> Promise<accepted JSON text>, completed by the C library's callback.
Napi::Value StartRequestFor(Info info, StartRequest start, const char* what) {
    auto lease = ShadowArg(info);
    const std::string json = Text(info, 1, what);
    const uint32_t timeout = Uint32(info, 2, "timeout");
    tl_shadow* shadow = ShadowOf(lease);
    return Completed(info.Env(), std::move(lease), true, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
        return start(shadow, json.c_str(), timeout, done, op, destroy, nullptr);
    });
}

}  // namespace

std::string TakeString(char* text) {
    std::string copy = text != nullptr ? std::string(text) : std::string();
    tl_free(text);
    return copy;
}

void InitShadow(Napi::Env env, Napi::Object exports) {
    // shadowNew(client, deviceId, options) -> Promise<shadow>: subscribing may wait for the broker.
    exports.Set("shadowNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto client = UnwrapResource(info, 0, Kind::Client, "client");
        auto lease = client->Use(info.Env());
        const std::string device = Text(info, 1, "deviceId");
        // Shared: the pool thread uses them after this returns, when the JS object may be gone.
        auto options = SharedOptions<tl_shadow_options>(info, 2, Kind::ShadowOptions, "options");
        return Blocking(info.Env(), [lease, client, device, options] {
            tl_shadow* shadow = nullptr;
            Outcome outcome = Outcome::Of(
                tl_shadow_new(&shadow, lease.get()->handle<tl_client>(), device.c_str(), options.get()));
            if (outcome.status == TL_OK) {
                outcome.value = [shadow, client](Napi::Env env) -> Napi::Value {
                    return NewResource(env, Kind::Shadow, shadow, [shadow] { tl_shadow_free(shadow); }, client);
                };
            }
            return outcome;
        });
    }));
    exports.Set("shadowReport", Napi::Function::New(env, [](Info info) { return StartRequestFor(info, tl_shadow_report_start, "reported"); }));
    exports.Set("shadowDesire", Napi::Function::New(env, [](Info info) { return StartRequestFor(info, tl_shadow_desire_start, "desired"); }));
    exports.Set("shadowUpdate", Napi::Function::New(env, [](Info info) { return StartRequestFor(info, tl_shadow_update_start, "request"); }));
    exports.Set("shadowReportAsync", Napi::Function::New(env, [](Info info) {
        auto lease = ShadowArg(info);
        Check(info.Env(), tl_shadow_report_async(ShadowOf(lease), Text(info, 1, "reported").c_str()));
    }));
    exports.Set("shadowDesireAsync", Napi::Function::New(env, [](Info info) {
        auto lease = ShadowArg(info);
        Check(info.Env(), tl_shadow_desire_async(ShadowOf(lease), Text(info, 1, "desired").c_str()));
    }));
    exports.Set("shadowGet", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = ShadowArg(info);
        const uint32_t timeout = Uint32(info, 1, "timeout");
        tl_shadow* shadow = ShadowOf(lease);
        return Completed(info.Env(), std::move(lease), true, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
            return tl_shadow_get_start(shadow, timeout, done, op, destroy, nullptr);
        });
    }));
    exports.Set("shadowDelete", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = ShadowArg(info);
        const uint32_t timeout = Uint32(info, 1, "timeout");
        tl_shadow* shadow = ShadowOf(lease);
        return Completed(info.Env(), std::move(lease), false, [&](tl_completion_cb done, void* op, tl_destroy_cb destroy) {
            return tl_shadow_delete_start(shadow, timeout, done, op, destroy, nullptr);
        });
    }));
    exports.Set("shadowState", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = ShadowArg(info);
        char* document = nullptr;
        Check(info.Env(), tl_shadow_state(ShadowOf(lease), &document));
        return Napi::String::New(info.Env(), TakeString(document));
    }));
    // shadowOnDelta(shadow, jsonPointer, flags, channel, token) -> handler id. Never blocks.
    exports.Set("shadowOnDelta", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = ShadowArg(info);
        auto pointer = OptionalText(info, 1, "path");
        const uint32_t flags = Uint32(info, 2, "flags");
        auto* route = new Route{UnwrapChannel(info, 3, "channel"), Uint32(info, 4, "token")};
        uint64_t id = 0;
        Check(info.Env(), tl_shadow_on_delta_ex(ShadowOf(lease), CStr(pointer), flags, OnDelta, route, DestroyRoute, &id));
        return Napi::Number::New(info.Env(), static_cast<double>(id));
    }));
    // shadowOnChange(shadow, channel, token) -> handler id
    exports.Set("shadowOnChange", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = ShadowArg(info);
        auto* route = new Route{UnwrapChannel(info, 1, "channel"), Uint32(info, 2, "token")};
        uint64_t id = 0;
        Check(info.Env(), tl_shadow_on_change(ShadowOf(lease), OnChange, route, DestroyRoute, &id));
        return Napi::Number::New(info.Env(), static_cast<double>(id));
    }));
    exports.Set("shadowRemoveHandler", Napi::Function::New(env, [](Info info) {
        auto lease = ShadowArg(info);
        const auto id = static_cast<uint64_t>(Integer(info, 1, "handlerId", 0, int64_t{1} << 53));
        Check(info.Env(), tl_shadow_remove_handler(ShadowOf(lease), id));
    }));
}

}  // namespace twinlink_node
