// objects.hpp — the native objects over the C handles: Client, Shadow, Datapoints, Device. Each is
// a Handle (see handle.hpp); the Python package (twinlink/*.py) wraps them in the public classes.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "handle.hpp"
#include "options.hpp"
#include "twinlink.h"

namespace twinlink_py {

namespace py = pybind11;

class Client : public Handle {
public:
    explicit Client(const ClientOptions& options);                 // its own tl_client
    Client(tl_client* borrowed, std::shared_ptr<Handle> device);   // a device's
    tl_client* get() const { return client_; }

private:
    tl_client* client_ = nullptr;
};

// Registrations removed from inside a callback are deactivated at once and removed by twinlink on
// the release thread; these map their ids to their Callback's flag.
class ActiveFlags {
public:
    void add(uint64_t id, std::shared_ptr<std::atomic<bool>> flag);
    // Clears and forgets the flag of `id` (nothing when unknown).
    void deactivate(uint64_t id);

private:
    std::mutex mutex_;
    std::map<uint64_t, std::shared_ptr<std::atomic<bool>>> flags_;
};

class Shadow : public Handle {
public:
    // Wraps a shadow made with tl_shadow_new (owned) or by a device (borrowed).
    Shadow(tl_shadow* shadow, bool owned, std::shared_ptr<Handle> parent);
    tl_shadow* get() const { return shadow_; }
    ActiveFlags handlers;

private:
    tl_shadow* shadow_ = nullptr;
};

class Datapoints : public Handle {
public:
    Datapoints(tl_datapoints* datapoints, bool owned, bool record_may_block, std::shared_ptr<Handle> parent);
    tl_datapoints* get() const { return datapoints_; }
    const bool record_may_block;

private:
    tl_datapoints* datapoints_ = nullptr;
};

class Device : public Handle {
public:
    Device(tl_device* device, bool record_may_block);
    tl_device* get() const { return device_; }
    const bool record_may_block;

    // The borrowed handles while Python holds them (guarded by mutex). Weak: each holds its
    // device, and the device must not hold them back.
    std::mutex mutex;
    std::weak_ptr<Client> client;
    std::map<std::string, std::weak_ptr<Shadow>> shadows;
    std::weak_ptr<Datapoints> datapoints;

private:
    tl_device* device_ = nullptr;
};

void bind_client(py::module_& m);
void bind_shadow(py::module_& m);
void bind_datapoints(py::module_& m);
void bind_device(py::module_& m);

// The counters of a stats struct as a dict (defined with each binding).
py::dict client_stats(const tl_client* client);
py::dict datapoint_stats(const tl_datapoints* datapoints);

}  // namespace twinlink_py
