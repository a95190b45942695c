// The addon's entry point: the 1:1 layer over twinlink.h that lib/ builds the JS API on.
//
// Nothing here knows about MQTT, shadows or batching: every function translates its arguments,
// calls one C function (on the addon's pool when it blocks) and translates the result.
#include <napi.h>
#include <twinlink.h>

#include <chrono>

#include "addon_data.hpp"
#include "bindings.hpp"
#include "channel.hpp"
#include "completion.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

constexpr Kind kClosable[] = {Kind::Client, Kind::Shadow, Kind::Datapoints, Kind::Device};

std::shared_ptr<Resource> AnyResource(Info info) {
    for (Kind kind : kClosable)
        if (HasTag(info.Env(), info[0], kind)) return UnwrapResource(info, 0, kind, "handle");
    ThrowTypeError(info.Env(), "The \"handle\" argument must be a twinlink client, shadow, datapoints or device handle");
}

// When the environment ends (a worker exits, or the process), what JS left open is closed, each
// on a pool thread, waiting a little for them: a connected device takes up to ~2 s to free.
void CloseOpenResources(void* data) {
    auto* addon = static_cast<AddonData*>(data);
    addon->registry->CloseAll(std::chrono::milliseconds(2500));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    auto* data = new AddonData();
    data->registry = std::make_shared<ResourceRegistry>();
    env.SetInstanceData(data);  // deleted by node-addon-api when the environment ends
    data->completions = Completions::New(env);
    napi_add_env_cleanup_hook(env, CloseOpenResources, data);

    exports.Set("version", Napi::String::New(env, tl_version()));
    exports.Set("headerVersion", Napi::String::New(env, TL_VERSION_STRING));
    InitErrors(env, exports);
    InitChannels(env, exports);
    InitOptions(env, exports);
    InitClient(env, exports);
    InitShadow(env, exports);
    InitDatapoints(env, exports);
    InitDevice(env, exports);
    InitRuntime(env, exports);

    // close(handle) -> Promise: closes a client, shadow, datapoints or device (and what it owns),
    // waiting for the calls in progress, on the pool. Idempotent.
    exports.Set("close", Napi::Function::New(env, [](Info info) -> Napi::Value {
        auto resource = AnyResource(info);
        return Blocking(info.Env(), [resource] {
            resource->CloseNow();
            return Outcome{};
        });
    }));
    exports.Set("isClosed", Napi::Function::New(env, [](Info info) -> Napi::Value {
        return Napi::Boolean::New(info.Env(), AnyResource(info)->closed());
    }));
    return exports;
}

}  // namespace
}  // namespace twinlink_node

Napi::Object InitTwinlink(Napi::Env env, Napi::Object exports) { return twinlink_node::Init(env, exports); }

NODE_API_MODULE(twinlink, InitTwinlink)
