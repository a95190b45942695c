// device.cpp — tl_device_options_* and tl_device_*: the C face of twinlink::Device. The handles it
// hands out borrow the device's core objects.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "boundary.hpp"
#include "handles.hpp"
#include "twinlink/device.hpp"

struct tl_device_options {
    twinlink::DeviceOptions core;
};

struct tl_device {
    tl_device(std::string id, twinlink::DeviceOptions options)
        : core(std::move(id), std::move(options)), client(core.client()) {}
    ~tl_device() {
        // The borrowed handles go first; the core objects go with `core`.
        std::lock_guard<std::mutex> lock(mu);
        datapoints.reset();
        shadows.clear();
    }
    twinlink::Device core;
    tl_client client;
    std::mutex mu;  // guards the handle caches below
    std::map<std::string, std::unique_ptr<tl_shadow>> shadows;
    std::unique_ptr<tl_datapoints> datapoints;
};

using namespace twinlink::capi;
using std::chrono::milliseconds;

extern "C" {

tl_status tl_device_options_new(tl_device_options** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_device_options();
    });
}

void tl_device_options_free(tl_device_options* options) { delete options; }

tl_status tl_device_options_set_client(tl_device_options* options, const tl_client_options* client) {
    return guard(__func__, [&] { deref(options, "options").core.client = deref(client, "client").core; });
}

tl_status tl_device_options_set_profile(tl_device_options* options, tl_topic_profile profile, const char* prefix) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(profile);
        if (value != TL_PROFILE_TWINLINK && value != TL_PROFILE_AWS)
            invalid("profile " + std::to_string(value) + " is not a tl_topic_profile");
        if (prefix != nullptr) twinlink::validate_topic_prefix(prefix);
        o.core.profile = static_cast<twinlink::TopicProfile>(value);
        if (prefix != nullptr) o.core.prefix = prefix;
    });
}

tl_status tl_device_options_set_shadow(tl_device_options* options, const tl_shadow_options* shadow) {
    return guard(__func__, [&] { deref(options, "options").core.shadow = deref(shadow, "shadow").core; });
}

tl_status tl_device_options_set_datapoints(tl_device_options* options, const tl_datapoint_options* datapoints) {
    return guard(__func__, [&] {
        deref(options, "options").core.datapoints = deref(datapoints, "datapoints").core;
    });
}

tl_status tl_device_new(tl_device** out, const char* device_id, const tl_device_options* options) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_device(require_text(device_id, "device_id"), deref(options, "options").core);
    });
}

void tl_device_free(tl_device* device) { delete device; }

tl_status tl_device_connect(tl_device* device, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(device, "device").core.connect(milliseconds(timeout_ms)); });
}

tl_status tl_device_disconnect(tl_device* device, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(device, "device").core.disconnect(milliseconds(timeout_ms)); });
}

const char* tl_device_id(const tl_device* device) { return device ? device->core.id().c_str() : nullptr; }

tl_client* tl_device_client(tl_device* device) { return device ? &device->client : nullptr; }

tl_status tl_device_shadow(tl_device* device, const char* name, tl_shadow** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        auto& d = deref(device, "device");
        const std::string key = name ? name : "";
        std::lock_guard<std::mutex> lock(d.mu);
        auto& handle = d.shadows[key];
        if (!handle) {
            try {
                handle = std::make_unique<tl_shadow>(d.core.shadow(key));
            } catch (...) {
                d.shadows.erase(key);
                throw;
            }
        }
        *out = handle.get();
    });
}

tl_status tl_device_datapoints(tl_device* device, tl_datapoints** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        auto& d = deref(device, "device");
        std::lock_guard<std::mutex> lock(d.mu);
        if (!d.datapoints) d.datapoints = std::make_unique<tl_datapoints>(d.core.datapoints());
        *out = d.datapoints.get();
    });
}

}  // extern "C"
