// record(name, value) as a normal pybind11 binding writes it: a function with typed arguments,
// converted by pybind11's casters and called through its dispatcher.
#include <pybind11/pybind11.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "target.h"

namespace py = pybind11;

namespace {

// The real binding refuses names with a NUL (the C ABI takes a NUL-terminated name); every style
// does the same check, so they all do the same work.
const char* checked(std::string_view name) {
    if (std::memchr(name.data(), 0, name.size()) != nullptr)
        throw py::value_error("series name contains a NUL character");
    return name.data();
}

}  // namespace

PYBIND11_MODULE(callcost_pybind11, m) {
    m.doc() = "record(name, value) through pybind11's dispatcher";
    m.def("sink", [](std::string_view name, double value) { callcost_sink(checked(name), name.size(), value); });
    m.def("record", [](std::string_view name, double value) {
        const tl_status status = tl_datapoints_record_double(callcost_pipeline, checked(name), value, TL_NOW);
        if (status != TL_OK) throw std::runtime_error(tl_last_error());
    });
}
