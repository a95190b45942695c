// operations.hpp — asynchronous operations (tl_*_start): the Python callable given as the
// completion runs once on the client's dispatcher thread, under the GIL for the call only, with
// (operation, status, message, document). Starting never waits for the network, but it may hand a
// message to Paho, whose lock a thread of Paho's may hold while waiting for a twinlink lock: so it
// is called without the GIL.
#pragma once

#include <cstdint>

#include "callbacks.hpp"
#include "errors.hpp"
#include "gil.hpp"
#include "handle.hpp"

namespace twinlink_py {

// Calls `start(callback, user_data, destroy, &operation)` and returns the operation id.
template <class Start>
uint64_t start_operation(Handle& handle, const py::object& on_done, Start start) {
    Handle::Use use(handle);
    Callback* callback = new_callback(on_done);
    uint64_t operation = 0;
    tl_status status;
    {
        GilRelease nogil;
        status = start(completion_trampoline, callback, destroy_callback, &operation);
    }
    check(status);
    return operation;
}

// tl_*_cancel without the GIL; False when the operation had already ended.
template <class Cancel>
bool cancel_operation(Handle& handle, Cancel cancel) {
    Handle::Attempt attempt(handle);
    if (!attempt) return false;
    tl_status status;
    {
        GilRelease nogil;
        status = cancel();
    }
    if (status == TL_ESTATE) return false;
    check(status);
    return true;
}

}  // namespace twinlink_py
