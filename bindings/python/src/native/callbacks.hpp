// callbacks.hpp — Python callables as the user_data of C callback registrations.
//
// A registration's user_data is a Callback holding a reference to the callable; twinlink's destroy
// callback releases it (under the GIL). The trampolines run on twinlink's threads: each takes the
// GIL only for the call, and an exception raised by the callable is logged through the `twinlink`
// logger, never propagated into twinlink. Once the interpreter is finalizing, trampolines do nothing
// and destroy callbacks leak their reference instead of touching a dying interpreter.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>

#include "twinlink.h"

namespace twinlink_py {

namespace py = pybind11;

struct Callback {
    explicit Callback(py::object f) : fn(std::move(f)), active(std::make_shared<std::atomic<bool>>(true)) {}
    py::object fn;
    // Cleared when the registration is removed from a callback, where twinlink's removal is
    // deferred: the callable must not run again after remove() returned.
    std::shared_ptr<std::atomic<bool>> active;
};

// A new Callback for `fn` (GIL held); owned by twinlink once registered.
Callback* new_callback(py::object fn);

// tl_destroy_cb of every Callback.
void destroy_callback(void* user_data);

// The interpreter is initialized and not finalizing: a native thread may take the GIL.
bool python_usable();

// From now on the trampolines skip the Python callables (at interpreter exit, while the handles
// still open are closed: user code should not run against a half-closed world). Destroy
// callbacks still release their references.
void stop_callbacks();

// Trampolines, one per C callback type; user_data is a Callback. Arguments passed to the callable:
void connection_trampoline(const tl_connection_event* event, void* user_data);
//   (state: int, reason: int, message: str, broker: str, retry_in_ms: int, attempt: int)
void message_trampoline(const tl_message* message, void* user_data);
//   (topic: str, payload: bytes, qos: int, retained: bool)
void publish_trampoline(uint64_t message_id, tl_status status, void* user_data);
//   (message_id: int, status: int)
void log_trampoline(tl_log_level level, const char* message, void* user_data);
//   (level: int, message: str)
void delta_trampoline(const char* delta_json, uint64_t version, void* user_data);
//   (delta_json: str, version: int)
void change_trampoline(const char* document_json, void* user_data);
//   (document_json: str)
void drop_trampoline(tl_backpressure policy, uint64_t points, uint64_t batches, const char* reason,
                     void* user_data);
//   (policy: int, points: int, batches: int, reason: str)

void completion_trampoline(const tl_completion* completion, void* user_data);
//   (operation: int, status: int, message: str, document: Optional[str])

// Imports the Python side of callback error reporting. Called once when the module loads.
void init_callbacks();

}  // namespace twinlink_py
