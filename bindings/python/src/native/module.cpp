// twinlink._native: the extension module. It calls libtwinlink's C ABI (twinlink.h) and nothing
// else; the public API is the pure-Python package around it.
#include <pybind11/pybind11.h>

#include "blocking.hpp"
#include "callbacks.hpp"
#include "errors.hpp"
#include "gil.hpp"
#include "handle.hpp"
#include "objects.hpp"
#include "options.hpp"

namespace py = pybind11;
using namespace twinlink_py;

PYBIND11_MODULE(_native, m) {
    m.doc() = "twinlink's C ABI for the twinlink package (internal: use the twinlink module)";
    init_errors();
    init_callbacks();
    init_blocking();

    m.def("version", [] { return std::string(tl_version()); });
    m.def("status_name", [](int status) { return std::string(tl_status_str(static_cast<tl_status>(status))); });
    m.def(
        "shutdown",
        [] {
            GilRelease nogil;
            stop_callbacks();
            shutdown_handles();
        },
        "Closes every handle still open; registered with atexit by the package.");

    py::class_<Handle, std::shared_ptr<Handle>>(m, "Handle")
        .def("close",
             [](Handle& handle) {
                 GilRelease nogil;
                 handle.close();
             })
        .def_property_readonly("closed", &Handle::closed);

    bind_options(m);
    bind_client(m);
    bind_shadow(m);
    bind_datapoints(m);
    bind_device(m);
}
