// The C ABI of twinlink/runtime.h over twinlink::Runtime.
#include <memory>
#include <string>

#include "boundary.hpp"
#include "handles.hpp"
#include "twinlink/runtime.hpp"

using namespace twinlink::capi;

struct tl_runtime {
    std::shared_ptr<twinlink::Runtime> core;
};

tl_status tl_runtime_new(tl_runtime** out, uint32_t dispatch_threads) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        twinlink::RuntimeOptions options;
        if (dispatch_threads != 0) options.dispatch_threads = dispatch_threads;
        *out = new tl_runtime{std::make_shared<twinlink::Runtime>(options)};
    });
}

void tl_runtime_free(tl_runtime* runtime) { delete runtime; }

tl_status tl_runtime_clients(const tl_runtime* runtime, size_t* out) {
    return guard(__func__, [&] {
        const auto& r = deref(runtime, "runtime");
        deref(out, "out") = r.core->stats().clients;
    });
}

tl_status tl_client_options_set_runtime(tl_client_options* options, tl_runtime* runtime) {
    return guard(__func__, [&] {
        deref(options, "options").core.runtime = runtime != nullptr ? runtime->core : nullptr;
    });
}
