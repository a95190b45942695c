#include "blocking.hpp"
#include "gil.hpp"
#include "errors.hpp"
#include "objects.hpp"

namespace twinlink_py {

Device::Device(tl_device* device, bool may_block) : Handle("device", nullptr), record_may_block(may_block), device_(device) {
    set_release([device] { tl_device_free(device); });
}

namespace {

std::shared_ptr<Device> self_of(Device& device) {
    return std::static_pointer_cast<Device>(device.shared_from_this());
}

std::shared_ptr<Device> new_device(const std::string& id, const DeviceOptions& options) {
    tl_device* device = nullptr;
    tl_status status;
    {
        GilRelease nogil;
        status = tl_device_new(&device, id.c_str(), options.get());
    }
    check(status);
    return make_handle<Device>(device, options.record_may_block);
}

template <class Call>
void blocking(Device& device, Call call) {
    auto use = std::make_shared<Handle::Use>(device);
    run_blocking([self = self_of(device), use, call = std::move(call)] { return call(self->get()); }).check();
}

std::shared_ptr<Client> client_of(Device& d) {
    Handle::Use use(d);
    std::lock_guard<std::mutex> lock(d.mutex);
    auto client = d.client.lock();
    if (!client) {
        client = make_handle<Client>(tl_device_client(d.get()), self_of(d));
        d.adopt(client);
        d.client = client;
    }
    return client;
}

std::shared_ptr<Shadow> shadow_of(Device& d, const std::string& name) {
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        auto it = d.shadows.find(name);
        if (it != d.shadows.end())
            if (auto shadow = it->second.lock()) return shadow;
    }
    // Made on first use; subscribes, so it may wait for the broker.
    auto made = std::make_shared<tl_shadow*>(nullptr);
    blocking(d, [name, made](tl_device* device) { return tl_device_shadow(device, name.c_str(), made.get()); });
    Handle::Use use(d);
    std::lock_guard<std::mutex> lock(d.mutex);
    auto& cached = d.shadows[name];
    auto shadow = cached.lock();
    if (!shadow) {  // another thread may have wrapped it meanwhile
        shadow = make_handle<Shadow>(*made, false, self_of(d));
        d.adopt(shadow);
        cached = shadow;
    }
    return shadow;
}

std::shared_ptr<Datapoints> datapoints_of(Device& d) {
    Handle::Use use(d);
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        if (auto datapoints = d.datapoints.lock()) return datapoints;
    }
    tl_datapoints* made = nullptr;
    tl_status status;
    {
        GilRelease nogil;
        status = tl_device_datapoints(d.get(), &made);
    }
    check(status);
    std::lock_guard<std::mutex> lock(d.mutex);
    auto datapoints = d.datapoints.lock();
    if (!datapoints) {
        datapoints = make_handle<Datapoints>(made, false, d.record_may_block, self_of(d));
        d.adopt(datapoints);
        d.datapoints = datapoints;
    }
    return datapoints;
}

}  // namespace

void bind_device(py::module_& m) {
    py::class_<Device, Handle, std::shared_ptr<Device>>(m, "Device")
        .def(py::init(&new_device), py::arg("id"), py::arg("options"))
        .def_property_readonly("id", [](Device& d) {
            Handle::Use use(d);
            return std::string(tl_device_id(d.get()));
        })
        .def("connect", [](Device& d, uint32_t timeout_ms) {
            blocking(d, [timeout_ms](tl_device* device) { return tl_device_connect(device, timeout_ms); });
        })
        .def("disconnect", [](Device& d, uint32_t timeout_ms) {
            blocking(d, [timeout_ms](tl_device* device) { return tl_device_disconnect(device, timeout_ms); });
        })
        .def("client", &client_of)
        .def("shadow", &shadow_of, py::arg("name") = "")
        .def("datapoints", &datapoints_of);
}

}  // namespace twinlink_py
