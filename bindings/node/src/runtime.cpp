// tl_runtime: dispatch and timer threads shared by many clients and devices of this process.
//
// The JS Runtime holds one reference, dropped by runtimeClose() or by the External's finalizer;
// every options object given the runtime, and every client made from them, holds its own in the
// C library, so closing the Runtime never stops a device that uses it.
#include <twinlink.h>

#include "args.hpp"
#include "bindings.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

using Info = const Napi::CallbackInfo&;

// Used on the JS thread of one environment only (a Runtime cannot be passed to a worker).
struct RuntimeBox {
    tl_runtime* runtime = nullptr;  // null once closed
};

RuntimeBox* RuntimeArg(Info info, size_t index) {
    return static_cast<RuntimeBox*>(UnwrapTagged(info, index, Kind::Runtime, "runtime"));
}

tl_runtime* OpenRuntime(Info info, size_t index) {
    RuntimeBox* box = RuntimeArg(info, index);
    if (box->runtime == nullptr) throw StatusError(info.Env(), TL_ESTATE, "the runtime is closed");
    return box->runtime;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
    // runtimeNew(threads) -> runtime: 1 to 256 dispatch threads (0 chooses 2) and a timer thread.
    exports.Set("runtimeNew", Napi::Function::New(env, [](Info info) -> Napi::Value {
        const uint32_t threads = Uint32(info, 0, "threads");
        auto* box = new RuntimeBox();
        const tl_status status = tl_runtime_new(&box->runtime, threads);
        if (status != TL_OK) {
            delete box;
            Check(info.Env(), status);
        }
        auto external = Napi::External<RuntimeBox>::New(info.Env(), box, [](Napi::Env, RuntimeBox* b) {
            tl_runtime_free(b->runtime);
            delete b;
        });
        TagAs(info.Env(), external, Kind::Runtime);
        return external;
    }));
    exports.Set("runtimeClients", Napi::Function::New(env, [](Info info) -> Napi::Value {
        size_t count = 0;
        Check(info.Env(), tl_runtime_clients(OpenRuntime(info, 0), &count));
        return Napi::Number::New(info.Env(), static_cast<double>(count));
    }));
    // runtimeClose(runtime): drops the JS side's reference. Idempotent; never blocks on a callback.
    exports.Set("runtimeClose", Napi::Function::New(env, [](Info info) {
        RuntimeBox* box = RuntimeArg(info, 0);
        tl_runtime_free(box->runtime);
        box->runtime = nullptr;
    }));
    exports.Set("clientOptionsSetRuntime", Napi::Function::New(env, [](Info info) {
        auto* options = UnwrapOptions<tl_client_options>(info, 0, Kind::ClientOptions, "options");
        Check(info.Env(), tl_client_options_set_runtime(options, OpenRuntime(info, 1)));
    }));
}

}  // namespace twinlink_node
