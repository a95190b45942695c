// record(name, value) as a normal nanobind binding writes it: the same function as
// record_pybind11.cpp, converted by nanobind's casters and called through its dispatcher.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string_view.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "target.h"

namespace nb = nanobind;

namespace {

const char* checked(std::string_view name) {
    if (std::memchr(name.data(), 0, name.size()) != nullptr)
        throw nb::value_error("series name contains a NUL character");
    return name.data();
}

}  // namespace

NB_MODULE(callcost_nanobind, m) {
    m.doc() = "record(name, value) through nanobind's dispatcher";
    m.def("sink", [](std::string_view name, double value) { callcost_sink(checked(name), name.size(), value); });
    m.def("record", [](std::string_view name, double value) {
        const tl_status status = tl_datapoints_record_double(callcost_pipeline, checked(name), value, TL_NOW);
        if (status != TL_OK) throw std::runtime_error(tl_last_error());
    });
}
