// errors.hpp — twinlink status codes as Python exceptions (the classes live in twinlink/_errors.py).
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "twinlink.h"

namespace twinlink_py {

namespace py = pybind11;

constexpr int kStatusInvalidState = TL_ESTATE;

// Sets the twinlink.Error subclass of `status` with `message` and throws py::error_already_set.
[[noreturn]] void raise_status(int status, const std::string& message);

// After a call on this thread: raises its error unless it returned TL_OK.
inline void check(tl_status status) {
    if (status != TL_OK) raise_status(status, tl_last_error());
}

// Imports twinlink._errors. Called once when the module loads.
void init_errors();

}  // namespace twinlink_py
