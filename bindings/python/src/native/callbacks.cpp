#include "callbacks.hpp"

#include <cstring>
#include <exception>

#include "gil.hpp"
#include "handle.hpp"

namespace twinlink_py {
namespace {

// twinlink._log.callback_failed(where, type, value, traceback). Leaked on purpose (see errors.cpp).
py::object* callback_failed = nullptr;

std::atomic<bool> callbacks_stopped{false};


void report(const char* where, py::error_already_set& error) {
    // A callback still running at interpreter exit may find its objects closed under it: that is
    // the exit, not a bug of the callback.
    if (callbacks_stopped.load()) return;
    try {
        (*callback_failed)(where, error.type(), error.value(), error.trace());
    } catch (py::error_already_set& logging_error) {
        logging_error.discard_as_unraisable(where);
    }
}

// Calls `call(fn)` under the GIL unless the registration was removed or Python is going away.
template <class Call>
void invoke(void* user_data, const char* where, Call&& call) noexcept {
    if (callbacks_stopped.load() || !python_usable()) return;
    CallbackScope scope;
    py::gil_scoped_acquire gil;
    auto* callback = static_cast<Callback*>(user_data);
    if (!callback->active->load()) return;
    try {
        call(callback->fn);
    } catch (py::error_already_set& error) {
        report(where, error);
    } catch (const std::exception& error) {
        // A conversion failed inside pybind11 (for example text that is not UTF-8).
        PyErr_SetString(PyExc_RuntimeError, error.what());
        py::error_already_set wrapped;
        report(where, wrapped);
    }
}

py::str text(const char* s) { return py::str(s != nullptr ? s : ""); }

}  // namespace

bool python_usable() { return Py_IsInitialized() != 0 && !interpreter_finalizing(); }

void stop_callbacks() { callbacks_stopped.store(true); }

Callback* new_callback(py::object fn) { return new Callback(std::move(fn)); }

void destroy_callback(void* user_data) {
    if (!python_usable()) return;  // the interpreter is going away; so is the process
    py::gil_scoped_acquire gil;
    delete static_cast<Callback*>(user_data);
}

void connection_trampoline(const tl_connection_event* e, void* user_data) {
    invoke(user_data, "connection", [&](py::object& fn) {
        fn(static_cast<int>(e->state), static_cast<int>(e->reason), text(e->message), text(e->broker),
           e->retry_in_ms, e->attempt);
    });
}

void message_trampoline(const tl_message* m, void* user_data) {
    invoke(user_data, "message", [&](py::object& fn) {
        fn(text(m->topic), py::bytes(static_cast<const char*>(m->payload), m->payload_len), m->qos,
           m->retained != 0);
    });
}

void publish_trampoline(uint64_t message_id, tl_status status, void* user_data) {
    invoke(user_data, "publish", [&](py::object& fn) { fn(message_id, static_cast<int>(status)); });
}

void log_trampoline(tl_log_level level, const char* message, void* user_data) {
    invoke(user_data, "log", [&](py::object& fn) {
        // Log lines may quote bytes from the network: never fail on invalid UTF-8.
        py::object line = py::reinterpret_steal<py::object>(
            PyUnicode_DecodeUTF8(message, static_cast<Py_ssize_t>(std::strlen(message)), "replace"));
        if (!line) throw py::error_already_set();
        fn(static_cast<int>(level), line);
    });
}

void delta_trampoline(const char* delta_json, uint64_t version, void* user_data) {
    invoke(user_data, "shadow delta", [&](py::object& fn) { fn(text(delta_json), version); });
}

void change_trampoline(const char* document_json, void* user_data) {
    invoke(user_data, "shadow change", [&](py::object& fn) { fn(text(document_json)); });
}

void drop_trampoline(tl_backpressure policy, uint64_t points, uint64_t batches, const char* reason,
                     void* user_data) {
    invoke(user_data, "datapoint drop",
           [&](py::object& fn) { fn(static_cast<int>(policy), points, batches, text(reason)); });
}

void init_callbacks() {
    callback_failed = new py::object(py::module_::import("twinlink._log").attr("callback_failed"));
}

void completion_trampoline(const tl_completion* c, void* user_data) {
    invoke(user_data, "an operation's completion", [&](const py::object& fn) {
        fn(c->operation, static_cast<int>(c->status), text(c->message),
           c->document != nullptr ? py::object(py::str(c->document)) : py::object(py::none()));
    });
}

}  // namespace twinlink_py
