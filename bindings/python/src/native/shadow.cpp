#include <optional>

#include <pybind11/stl.h>

#include "blocking.hpp"
#include "gil.hpp"
#include "callbacks.hpp"
#include "errors.hpp"
#include "objects.hpp"
#include "operations.hpp"

namespace twinlink_py {

Shadow::Shadow(tl_shadow* shadow, bool owned, std::shared_ptr<Handle> parent)
    : Handle("shadow", std::move(parent)), shadow_(shadow) {
    if (owned) set_release([shadow] { tl_shadow_free(shadow); });
}

void ActiveFlags::add(uint64_t id, std::shared_ptr<std::atomic<bool>> flag) {
    std::lock_guard<std::mutex> lock(mutex_);
    flags_[id] = std::move(flag);
}

void ActiveFlags::deactivate(uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = flags_.find(id);
    if (it == flags_.end()) return;
    it->second->store(false);
    flags_.erase(it);
}

namespace {

using OptText = std::optional<std::string>;

std::shared_ptr<Shadow> self_of(Shadow& shadow) {
    return std::static_pointer_cast<Shadow>(shadow.shared_from_this());
}

// A blocking request that may answer with a document: returns it ("" when the call gives none).
template <class Call>
std::string request(Shadow& shadow, Call call) {
    auto use = std::make_shared<Handle::Use>(shadow);
    auto answer = std::make_shared<std::string>();
    run_blocking([self = self_of(shadow), use, answer, call = std::move(call)] {
        char* text = nullptr;
        const tl_status status = call(self->get(), &text);
        if (text != nullptr) {
            *answer = text;
            tl_free(text);
        }
        return status;
    }).check();
    return std::move(*answer);
}

// A report or desire that does not wait for the cloud (the _async calls). It never blocks on the
// network, so there is nothing to interrupt (no run_blocking), but when connected it hands the
// update to Paho, whose lock a thread of Paho's may hold while it waits for a twinlink lock: never
// with the GIL.
template <class Call>
void enqueue(Shadow& shadow, Call call) {
    Handle::Use use(shadow);
    tl_status status;
    {
        GilRelease nogil;
        status = call(shadow.get());
    }
    check(status);
}

// A tl_shadow_new() that an interrupted caller no longer waits for is freed when the call ends,
// before the client it is bound to may go.
struct NewShadow {
    std::shared_ptr<Handle::Use> client_use;
    std::shared_ptr<Client> client;
    std::shared_ptr<ShadowOptions> options;
    tl_shadow* shadow = nullptr;
    ~NewShadow() {
        if (shadow != nullptr) tl_shadow_free(shadow);
    }
};

std::shared_ptr<Shadow> new_shadow(Client& client, const std::string& device, std::shared_ptr<ShadowOptions> options) {
    auto pending = std::make_shared<NewShadow>();
    pending->client_use = std::make_shared<Handle::Use>(client);
    pending->client = std::static_pointer_cast<Client>(client.shared_from_this());
    pending->options = std::move(options);
    run_blocking([pending, device] {
        return tl_shadow_new(&pending->shadow, pending->client->get(), device.c_str(),
                             pending->options ? pending->options->get() : nullptr);
    }).check();
    auto shadow = make_handle<Shadow>(std::exchange(pending->shadow, nullptr), true, pending->client);
    client.adopt(shadow);
    return shadow;
}

}  // namespace

void bind_shadow(py::module_& m) {
    py::class_<Shadow, Handle, std::shared_ptr<Shadow>>(m, "Shadow")
        .def(py::init(&new_shadow), py::arg("client"), py::arg("device"), py::arg("options") = nullptr)
        .def("report", [](Shadow& s, std::string json, uint32_t timeout_ms) {
            return request(s, [json = std::move(json), timeout_ms](tl_shadow* shadow, char** out) {
                return tl_shadow_report(shadow, json.c_str(), timeout_ms, out);
            });
        })
        .def("report_async", [](Shadow& s, const std::string& json) {
            enqueue(s, [&json](tl_shadow* shadow) { return tl_shadow_report_async(shadow, json.c_str()); });
        })
        .def("desire", [](Shadow& s, std::string json, uint32_t timeout_ms) {
            return request(s, [json = std::move(json), timeout_ms](tl_shadow* shadow, char** out) {
                return tl_shadow_desire(shadow, json.c_str(), timeout_ms, out);
            });
        })
        .def("report_start",
             [](Shadow& s, const std::string& json, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(s, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_shadow_report_start(s.get(), json.c_str(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("desire_start",
             [](Shadow& s, const std::string& json, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(s, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_shadow_desire_start(s.get(), json.c_str(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("get_start",
             [](Shadow& s, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(s, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_shadow_get_start(s.get(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("update_start",
             [](Shadow& s, const std::string& json, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(s, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_shadow_update_start(s.get(), json.c_str(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("delete_start",
             [](Shadow& s, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(s, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_shadow_delete_start(s.get(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("cancel",
             [](Shadow& s, uint64_t operation) {
                 return cancel_operation(s, [&] { return tl_shadow_cancel(s.get(), operation); });
             })
        .def("desire_async", [](Shadow& s, const std::string& json) {
            enqueue(s, [&json](tl_shadow* shadow) { return tl_shadow_desire_async(shadow, json.c_str()); });
        })
        .def("update", [](Shadow& s, std::string json, uint32_t timeout_ms) {
            return request(s, [json = std::move(json), timeout_ms](tl_shadow* shadow, char** out) {
                return tl_shadow_update(shadow, json.c_str(), timeout_ms, out);
            });
        })
        .def("get", [](Shadow& s, uint32_t timeout_ms) {
            return request(s, [timeout_ms](tl_shadow* shadow, char** out) {
                return tl_shadow_get(shadow, timeout_ms, out);
            });
        })
        .def("delete", [](Shadow& s, uint32_t timeout_ms) {
            request(s, [timeout_ms](tl_shadow* shadow, char**) { return tl_shadow_delete(shadow, timeout_ms); });
        })
        .def("state", [](Shadow& s) {
            Handle::Use use(s);
            char* text = nullptr;
            check(tl_shadow_state(s.get(), &text));
            std::string document = text;
            tl_free(text);
            return document;
        })
        .def(
            "on_delta",
            [](Shadow& s, const OptText& path, const py::object& fn, bool initial) {
                Handle::Use use(s);
                Callback* callback = new_callback(fn);
                auto active = callback->active;
                uint64_t id = 0;
                check(tl_shadow_on_delta_ex(s.get(), path ? path->c_str() : nullptr,
                                            initial ? 0u : TL_SHADOW_DELTA_NO_INITIAL, delta_trampoline, callback,
                                            destroy_callback, &id));
                s.handlers.add(id, std::move(active));
                return id;
            },
            py::arg("path"), py::arg("callback"), py::arg("initial") = true)
        .def("on_change", [](Shadow& s, const py::object& fn) {
            Handle::Use use(s);
            Callback* callback = new_callback(fn);
            auto active = callback->active;
            uint64_t id = 0;
            check(tl_shadow_on_change(s.get(), change_trampoline, callback, destroy_callback, &id));
            s.handlers.add(id, std::move(active));
            return id;
        })
        .def("remove_handler", [](Shadow& s, uint64_t id) {
            Handle::Use use(s);
            s.handlers.deactivate(id);
            auto self = self_of(s);
            if (in_twinlink_callback()) {
                // Removing waits for a call of the handler in progress, which may be this one.
                run_on_release_thread([self, id] {
                    if (Handle::Attempt attempt{*self}) tl_shadow_remove_handler(self->get(), id);
                });
                return;
            }
            tl_status status;
            {
                GilRelease nogil;
                status = tl_shadow_remove_handler(self->get(), id);
            }
            check(status);
        });
}

}  // namespace twinlink_py
