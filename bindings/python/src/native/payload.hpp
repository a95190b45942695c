// payload.hpp — the bytes of a message payload given from Python.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace twinlink_py {

namespace py = pybind11;

// A str (as UTF-8) or any object with the buffer protocol (bytes, bytearray, memoryview, arrays),
// viewed without a copy while this object lives. Raises TypeError for anything else.
class PayloadView {
public:
    explicit PayloadView(py::handle object) {
        if (PyUnicode_Check(object.ptr())) {
            Py_ssize_t size = 0;
            data_ = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
            if (data_ == nullptr) throw py::error_already_set();
            size_ = static_cast<size_t>(size);
        } else if (PyObject_CheckBuffer(object.ptr())) {
            if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
            has_view_ = true;
            data_ = view_.buf;
            size_ = static_cast<size_t>(view_.len);
        } else {
            throw py::type_error(std::string("payload must be bytes, a bytes-like object or str, not ") +
                                 Py_TYPE(object.ptr())->tp_name);
        }
    }
    ~PayloadView() {
        if (has_view_) PyBuffer_Release(&view_);
    }
    PayloadView(const PayloadView&) = delete;
    PayloadView& operator=(const PayloadView&) = delete;

    const void* data() const { return data_; }
    size_t size() const { return size_; }
    std::string copy() const { return std::string(static_cast<const char*>(data_), size_); }

private:
    Py_buffer view_{};
    bool has_view_ = false;
    const void* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace twinlink_py
