#include "errors.hpp"

namespace twinlink_py {
namespace {

// twinlink._errors.from_status(status, message) -> exception instance. Leaked on purpose, so no
// Python object is released after the interpreter is gone.
py::object* from_status = nullptr;

}  // namespace

void raise_status(int status, const std::string& message) {
    py::object error = (*from_status)(status, message);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
}

void init_errors() {
    from_status = new py::object(py::module_::import("twinlink._errors").attr("from_status"));
}

}  // namespace twinlink_py
