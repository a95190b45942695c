// options.hpp — the options objects of the C ABI, owned by Python objects.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

#include "twinlink.h"

namespace twinlink_py {

namespace py = pybind11;

class ClientOptions {
public:
    ClientOptions();
    ~ClientOptions();
    ClientOptions(const ClientOptions&) = delete;
    ClientOptions& operator=(const ClientOptions&) = delete;
    tl_client_options* get() const { return options_; }

private:
    tl_client_options* options_ = nullptr;
};

// twinlink.Runtime's native half: a reference to a tl_runtime (reference counted in the C ABI,
// so clients made with it keep it alive after this object goes).
class Runtime {
public:
    explicit Runtime(uint32_t dispatch_threads);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    tl_runtime* get() const { return runtime_; }

private:
    tl_runtime* runtime_ = nullptr;
};

class ShadowOptions {
public:
    ShadowOptions();
    ~ShadowOptions();
    ShadowOptions(const ShadowOptions&) = delete;
    ShadowOptions& operator=(const ShadowOptions&) = delete;
    tl_shadow_options* get() const { return options_; }

private:
    tl_shadow_options* options_ = nullptr;
};

class DatapointOptions {
public:
    DatapointOptions();
    ~DatapointOptions();
    DatapointOptions(const DatapointOptions&) = delete;
    DatapointOptions& operator=(const DatapointOptions&) = delete;
    tl_datapoint_options* get() const { return options_; }
    // Recording may wait (TL_BACKPRESSURE_BLOCK): record calls then release the GIL.
    bool record_may_block = false;

private:
    tl_datapoint_options* options_ = nullptr;
};

class DeviceOptions {
public:
    DeviceOptions();
    ~DeviceOptions();
    DeviceOptions(const DeviceOptions&) = delete;
    DeviceOptions& operator=(const DeviceOptions&) = delete;
    tl_device_options* get() const { return options_; }
    bool record_may_block = false;

private:
    tl_device_options* options_ = nullptr;
};

void bind_options(py::module_& m);

}  // namespace twinlink_py
