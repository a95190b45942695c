// tl_device: one client, its shadows and its datapoint pipeline.
#include <twinlink.h>

#include "args.hpp"
#include "bindings.hpp"
#include "completion.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

tl_device* DeviceOf(const Resource::Lease& lease) { return lease.get()->handle<tl_device>(); }

// A handle the device lends (its client, a shadow, its datapoints): closed with the device, never
// freed on its own.
Napi::Value Borrowed(Napi::Env env, Kind kind, void* handle, const std::shared_ptr<Resource>& device) {
    return NewResource(env, kind, handle, nullptr, device);
}

}  // namespace

void InitDevice(Napi::Env env, Napi::Object exports) {
    // deviceNew(deviceId, options) -> Promise<device>: with a spool, the pipeline starts and reads it.
    exports.Set("deviceNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        const std::string id = Text(info, 0, "deviceId");
        auto options = SharedOptions<tl_device_options>(info, 1, Kind::DeviceOptions, "options");
        return Blocking(info.Env(), [id, options] {
            tl_device* device = nullptr;
            Outcome outcome = Outcome::Of(tl_device_new(&device, id.c_str(), options.get()));
            if (outcome.status == TL_OK) {
                outcome.value = [device](Napi::Env env) -> Napi::Value {
                    return NewResource(env, Kind::Device, device, [device] { tl_device_free(device); }, nullptr);
                };
            }
            return outcome;
        });
    }));
    exports.Set("deviceConnect", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Device, "device")->Use(info.Env());
        const uint32_t timeout = Uint32(info, 1, "timeout");
        return Blocking(info.Env(), [lease, timeout] { return Outcome::Of(tl_device_connect(DeviceOf(lease), timeout)); });
    }));
    exports.Set("deviceDisconnect", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Device, "device")->Use(info.Env());
        const uint32_t timeout = Uint32(info, 1, "timeout");
        return Blocking(info.Env(), [lease, timeout] { return Outcome::Of(tl_device_disconnect(DeviceOf(lease), timeout)); });
    }));
    exports.Set("deviceId", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto lease = UnwrapResource(info, 0, Kind::Device, "device")->Use(info.Env());
        const char* id = tl_device_id(DeviceOf(lease));
        return Napi::String::New(info.Env(), id != nullptr ? id : "");
    }));
    exports.Set("deviceClient", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto device = UnwrapResource(info, 0, Kind::Device, "device");
        auto lease = device->Use(info.Env());
        return Borrowed(info.Env(), Kind::Client, tl_device_client(DeviceOf(lease)), device);
    }));
    // deviceShadow(device, name) -> Promise<shadow>: made on first use, which subscribes.
    exports.Set("deviceShadow", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto device = UnwrapResource(info, 0, Kind::Device, "device");
        auto lease = device->Use(info.Env());
        auto name = OptionalText(info, 1, "name");
        return Blocking(info.Env(), [lease, device, name] {
            tl_shadow* shadow = nullptr;
            Outcome outcome = Outcome::Of(tl_device_shadow(DeviceOf(lease), CStr(name), &shadow));
            if (outcome.status == TL_OK) {
                outcome.value = [shadow, device](Napi::Env env) { return Borrowed(env, Kind::Shadow, shadow, device); };
            }
            return outcome;
        });
    }));
    // deviceDatapoints(device) -> Promise<datapoints>
    exports.Set("deviceDatapoints", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto device = UnwrapResource(info, 0, Kind::Device, "device");
        auto lease = device->Use(info.Env());
        return Blocking(info.Env(), [lease, device] {
            tl_datapoints* dp = nullptr;
            Outcome outcome = Outcome::Of(tl_device_datapoints(DeviceOf(lease), &dp));
            if (outcome.status == TL_OK) {
                outcome.value = [dp, device](Napi::Env env) { return Borrowed(env, Kind::Datapoints, dp, device); };
            }
            return outcome;
        });
    }));
}

}  // namespace twinlink_node
