// record() is the hot path: a vectorcall function (fast_record below), a type switch and the C call,
// with the GIL held (recording never waits unless the backpressure policy is "block"; then the GIL
// is released, in the pybind11 method).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "blocking.hpp"
#include "gil.hpp"
#include "callbacks.hpp"
#include "errors.hpp"
#include "objects.hpp"
#include "operations.hpp"

namespace twinlink_py {

Datapoints::Datapoints(tl_datapoints* datapoints, bool owned, bool may_block, std::shared_ptr<Handle> parent)
    : Handle("datapoints", std::move(parent)), record_may_block(may_block), datapoints_(datapoints) {
    if (owned) set_release([datapoints] { tl_datapoints_free(datapoints); });
}

py::dict datapoint_stats(const tl_datapoints* datapoints) {
    tl_datapoint_stats s{};
    s.struct_size = sizeof s;
    check(tl_datapoints_get_stats(datapoints, &s));
    py::dict d;
    d["recorded"] = s.recorded;
    d["batched"] = s.batched;
    d["batches"] = s.batches;
    d["sent"] = s.sent;
    d["acked_batches"] = s.acked_batches;
    d["acked_points"] = s.acked_points;
    d["dropped_points"] = s.dropped_points;
    d["dropped_batches"] = s.dropped_batches;
    d["rejected_points"] = s.rejected_points;
    d["recovered_batches"] = s.recovered_batches;
    d["pending_points"] = s.pending_points;
    d["backlog_batches"] = s.backlog_batches;
    d["backlog_points"] = s.backlog_points;
    d["backlog_bytes"] = s.backlog_bytes;
    d["spooled_bytes"] = s.spooled_bytes;
    d["confirmed_batches"] = s.confirmed_batches;
    d["confirmed_points"] = s.confirmed_points;
    d["receipt_timeouts"] = s.receipt_timeouts;
    d["receipts_ignored"] = s.receipts_ignored;
    return d;
}

namespace {

[[noreturn]] void invalid(const std::string& message) { raise_status(TL_EINVAL, message); }

std::string type_name(py::handle object) { return Py_TYPE(object.ptr())->tp_name; }

const char* series_name(py::handle name) {
    if (!PyUnicode_Check(name.ptr())) throw py::type_error("series name must be a str, not " + type_name(name));
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(name.ptr(), &size);
    if (text == nullptr) throw py::error_already_set();
    if (std::strlen(text) != static_cast<size_t>(size)) invalid("series name contains a NUL character");
    return text;
}

int64_t integer(py::handle number, const char* what) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
    if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow != 0) invalid(std::string(what) + " does not fit in 64 bits");
    return value;
}

int64_t from_double_ms(double ms) {
    if (!std::isfinite(ms) || ms < -9.2e18 || ms > 9.2e18) invalid("timestamp is out of range");
    return static_cast<int64_t>(std::llround(ms));
}

// None: now; an int: milliseconds since the Unix epoch; a float: seconds since it (the Python
// convention of time.time()); a datetime (anything with a timestamp() method giving seconds); a
// numpy.datetime64.
// A timestamp of a single record() is refused outside 2000-01-01 .. 2200-01-01: anything else is
// almost certainly a unit mistake (seconds given as milliseconds land in 1970).
constexpr int64_t kEarliestMs = 946684800000;   // 2000-01-01T00:00:00Z
constexpr int64_t kLatestMs = 7258118400000;    // 2200-01-01T00:00:00Z

int64_t plausible(int64_t ms, const char* given) {
    if (ms < kEarliestMs || ms >= kLatestMs)
        invalid(std::string("timestamp ") + given + " is " + std::to_string(ms) +
                " ms since the epoch, outside 2000..2200: an int is milliseconds, a float seconds "
                "(as time.time() gives), or pass a datetime");
    return ms;
}

int64_t timestamp_ms(py::handle timestamp) {
    if (timestamp.is_none()) return TL_NOW;
    if (PyLong_Check(timestamp.ptr()) && !PyBool_Check(timestamp.ptr()))
        return plausible(integer(timestamp, "timestamp"), "(an int, milliseconds)");
    if (PyFloat_Check(timestamp.ptr()))
        return plausible(from_double_ms(PyFloat_AS_DOUBLE(timestamp.ptr()) * 1000.0), "(a float, seconds)");
    if (type_name(timestamp) == std::string("numpy.datetime64")) {
        // numpy.datetime64, any unit: as integer milliseconds.
        py::object ms = timestamp.attr("astype")("datetime64[ms]").attr("astype")("int64");
        return plausible(ms.cast<int64_t>(), "(a numpy.datetime64)");
    }
    if (py::hasattr(timestamp, "timestamp"))
        return plausible(from_double_ms(timestamp.attr("timestamp")().cast<double>() * 1000.0), "(a datetime)");
    throw py::type_error("timestamp must be an int (milliseconds since the epoch), a float (seconds, as time.time() "
                         "gives), a datetime, a numpy.datetime64 or None, not " +
                         type_name(timestamp));
}

py::object& json_dumps() {
    // Leaked on purpose (see errors.cpp).
    static auto* dumps = new py::object(py::module_::import("json").attr("dumps"));
    return *dumps;
}

bool is_mapping(py::handle value) {
    static auto* mapping = new py::object(py::module_::import("collections.abc").attr("Mapping"));
    return py::isinstance(value, *mapping);
}

// The C record call for `value`, chosen by its Python type.
tl_status record_value(tl_datapoints* dp, const char* name, py::handle value, int64_t ts, bool release_gil) {
    PyObject* v = value.ptr();
    auto call = [&](auto&& record) {
        if (!release_gil) return record();
        GilRelease nogil;
        return record();
    };
    if (PyBool_Check(v)) {
        const int b = v == Py_True;
        return call([&] { return tl_datapoints_record_bool(dp, name, b, ts); });
    }
    if (PyFloat_Check(v)) {
        const double d = PyFloat_AS_DOUBLE(v);
        return call([&] { return tl_datapoints_record_double(dp, name, d, ts); });
    }
    if (PyLong_Check(v)) {
        const int64_t i = integer(value, "value");
        return call([&] { return tl_datapoints_record_int64(dp, name, i, ts); });
    }
    if (PyUnicode_Check(v)) {
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(v, &size);
        if (text == nullptr) throw py::error_already_set();
        if (std::strlen(text) != static_cast<size_t>(size)) invalid("string value contains a NUL character");
        return call([&] { return tl_datapoints_record_string(dp, name, text, ts); });
    }
    if (PyIndex_Check(v)) {  // numpy integers and other integer types
        py::object as_int = py::reinterpret_steal<py::object>(PyNumber_Index(v));
        if (!as_int) throw py::error_already_set();
        const int64_t i = integer(as_int, "value");
        return call([&] { return tl_datapoints_record_int64(dp, name, i, ts); });
    }
    if (Py_TYPE(v)->tp_as_number != nullptr && Py_TYPE(v)->tp_as_number->nb_float != nullptr) {
        const double d = PyFloat_AsDouble(v);  // numpy floats and other real numbers
        if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
        return call([&] { return tl_datapoints_record_double(dp, name, d, ts); });
    }
    if (PyDict_Check(v) || is_mapping(value)) {
        std::string json = json_dumps()(value, py::arg("allow_nan") = false, py::arg("separators") = py::make_tuple(",", ":"))
                               .cast<std::string>();
        return call([&] { return tl_datapoints_record_json(dp, name, json.c_str(), ts); });
    }
    throw py::type_error("value must be a float, int, bool, str or dict, not " + type_name(value));
}

// A one-dimensional array of numbers from Python: a view of a contiguous float64 or int64 buffer
// (numpy array, array.array('d'/'q'), memoryview), a one-pass conversion of any other numeric
// buffer (float32, smaller integers, strided views), or a copy of any other sequence of numbers.
class Column {
public:
    enum Kind { kDouble, kInt64 };

    Column(py::handle object, const char* what, bool integers_only) {
        if (PyObject_CheckBuffer(object.ptr()) && view(object, what, integers_only)) return;
        copy(object, what, integers_only);
    }
    ~Column() {
        if (has_view_) PyBuffer_Release(&view_);
    }
    Column(const Column&) = delete;
    Column& operator=(const Column&) = delete;

    Kind kind() const { return kind_; }
    size_t size() const { return size_; }
    const double* doubles() const { return static_cast<const double*>(data_); }
    const int64_t* int64s() const { return static_cast<const int64_t*>(data_); }

private:
    static char format_code(const char* format) {
        if (format == nullptr) return 'B';
        if (*format == '@' || *format == '=' || *format == '<') ++format;
        return format[0] != '\0' && format[1] == '\0' ? format[0] : '?';
    }

    // True when the object's buffer was read: in place when it is a contiguous float64 or int64
    // buffer, else converted in one pass over its elements in C++ (float32, int8..int64, uint8..
    // uint64, strided views such as a[::2] or a column of a 2-D array). False for what the buffer
    // protocol cannot describe here (big-endian, half floats, ...): copied as a sequence then.
    bool view(py::handle object, const char* what, bool integers_only) {
        if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_RECORDS_RO) != 0) {
            PyErr_Clear();
            return false;
        }
        has_view_ = true;
        if (view_.ndim > 1) invalid(std::string(what) + " must be one-dimensional");
        const char code = format_code(view_.format);
        if (code == '?') {
            // '?' is also what format_code returns for formats it does not know: tell them apart.
            const char* f = view_.format;
            if (f != nullptr && (f[0] == '?' || ((f[0] == '@' || f[0] == '=' || f[0] == '<') && f[1] == '?')))
                throw py::type_error(std::string(what) + " must hold numbers, not bool");
        }
        const Py_ssize_t itemsize = view_.itemsize;
        const Py_ssize_t n = view_.ndim == 0 ? 1 : view_.shape[0];
        const Py_ssize_t stride = view_.ndim == 0 || view_.strides == nullptr ? itemsize : view_.strides[0];
        const bool contiguous = stride == itemsize;
        const bool is_double = code == 'd' && itemsize == 8;
        const bool is_int64 = (code == 'q' || code == 'l') && itemsize == 8;
        if (view_.ndim == 1 && contiguous && (is_int64 || (is_double && !integers_only))) {
            kind_ = is_double ? kDouble : kInt64;
            data_ = view_.buf;
            size_ = static_cast<size_t>(n);
            return true;
        }
        const bool floating = (code == 'd' && itemsize == 8) || (code == 'f' && itemsize == 4);
        const bool is_signed = code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q';
        const bool is_unsigned = code == 'B' || code == 'H' || code == 'I' || code == 'L' || code == 'Q';
        const bool integral = (is_signed || is_unsigned) && (itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8);
        if (view_.ndim != 1 || !(floating || integral)) {
            PyBuffer_Release(&view_);
            has_view_ = false;
            return false;
        }
        const char* base = static_cast<const char*>(view_.buf);
        auto at = [&](Py_ssize_t i) { return base + i * stride; };
        if (floating) {
            auto read = [&](Py_ssize_t i) -> double {
                if (itemsize == 8) {
                    double d;
                    std::memcpy(&d, at(i), 8);
                    return d;
                }
                float f;
                std::memcpy(&f, at(i), 4);
                return static_cast<double>(f);
            };
            if (integers_only) {
                kind_ = kInt64;
                int64s_.resize(static_cast<size_t>(n));
                // Floating-point timestamps are seconds, as in record().
                for (Py_ssize_t i = 0; i < n; ++i) int64s_[static_cast<size_t>(i)] = from_double_ms(read(i) * 1000.0);
                data_ = int64s_.data();
            } else {
                kind_ = kDouble;
                doubles_.resize(static_cast<size_t>(n));
                for (Py_ssize_t i = 0; i < n; ++i) doubles_[static_cast<size_t>(i)] = read(i);
                data_ = doubles_.data();
            }
        } else {
            kind_ = kInt64;
            int64s_.resize(static_cast<size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                const char* p = at(i);
                int64_t v = 0;
                if (is_signed) {
                    switch (itemsize) {
                        case 1: { int8_t x; std::memcpy(&x, p, 1); v = x; break; }
                        case 2: { int16_t x; std::memcpy(&x, p, 2); v = x; break; }
                        case 4: { int32_t x; std::memcpy(&x, p, 4); v = x; break; }
                        default: std::memcpy(&v, p, 8); break;
                    }
                } else {
                    uint64_t u = 0;
                    switch (itemsize) {
                        case 1: { uint8_t x; std::memcpy(&x, p, 1); u = x; break; }
                        case 2: { uint16_t x; std::memcpy(&x, p, 2); u = x; break; }
                        case 4: { uint32_t x; std::memcpy(&x, p, 4); u = x; break; }
                        default: std::memcpy(&u, p, 8); break;
                    }
                    if (u > static_cast<uint64_t>(INT64_MAX))
                        invalid(std::string(what) + " holds an unsigned value above the int64 range");
                    v = static_cast<int64_t>(u);
                }
                int64s_[static_cast<size_t>(i)] = v;
            }
            data_ = int64s_.data();
        }
        size_ = static_cast<size_t>(n);
        PyBuffer_Release(&view_);  // converted: the buffer is not needed any more
        has_view_ = false;
        return true;
    }

    void copy(py::handle object, const char* what, bool integers_only) {
        py::object sequence = py::reinterpret_steal<py::object>(
            PySequence_Fast(object.ptr(), (std::string(what) + " must be a sequence or an array of numbers").c_str()));
        if (!sequence) {
            PyErr_Clear();
            throw py::type_error(std::string(what) + " must be a sequence or a buffer of numbers, not " +
                                 type_name(object));
        }
        const Py_ssize_t n = PySequence_Fast_GET_SIZE(sequence.ptr());
        PyObject** items = PySequence_Fast_ITEMS(sequence.ptr());
        bool all_integers = true;
        for (Py_ssize_t i = 0; i < n; ++i) {
            PyObject* item = items[i];
            if (PyBool_Check(item)) throw py::type_error(std::string(what) + " must hold numbers, not bool");
            if (!PyLong_Check(item) && !PyIndex_Check(item)) all_integers = false;
        }
        if (all_integers) {
            kind_ = kInt64;
            int64s_.reserve(static_cast<size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(items[i]));
                if (!index) throw py::error_already_set();
                int64s_.push_back(integer(index, what));
            }
            data_ = int64s_.data();
        } else if (integers_only) {
            kind_ = kInt64;
            int64s_.reserve(static_cast<size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                const double d = PyFloat_AsDouble(items[i]);
                if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
                int64s_.push_back(from_double_ms(d * 1000.0));  // seconds, as in record()
            }
            data_ = int64s_.data();
        } else {
            kind_ = kDouble;
            doubles_.reserve(static_cast<size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                const double d = PyFloat_AsDouble(items[i]);
                if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
                doubles_.push_back(d);
            }
            data_ = doubles_.data();
        }
        size_ = static_cast<size_t>(n);
    }

    Py_buffer view_{};
    bool has_view_ = false;
    Kind kind_ = kDouble;
    const void* data_ = nullptr;
    size_t size_ = 0;
    std::vector<double> doubles_;
    std::vector<int64_t> int64s_;
};

// Arrays of this many points are recorded without the GIL.
constexpr size_t kReleaseGilPoints = 4096;

void record(Datapoints& d, py::handle name, py::handle value, py::handle timestamp) {
    Handle::Use use(d);
    const char* series = series_name(name);
    const int64_t ts = timestamp_ms(timestamp);
    check(record_value(d.get(), series, value, ts, d.record_may_block));
}

void record_many(Datapoints& d, py::handle name, py::handle values, py::handle timestamps) {
    Handle::Use use(d);
    const char* series = series_name(name);
    Column v(values, "values", false);
    std::unique_ptr<Column> t;
    if (!timestamps.is_none()) {
        t = std::make_unique<Column>(timestamps, "timestamps", true);
        if (t->size() != v.size())
            invalid("timestamps has " + std::to_string(t->size()) + " elements but values has " +
                    std::to_string(v.size()));
    }
    const int64_t* ts = t ? t->int64s() : nullptr;
    for (size_t i = 0; t && i < t->size(); ++i)
        if (ts[i] < kEarliestMs || ts[i] >= kLatestMs)
            invalid("timestamps[" + std::to_string(i) + "] is " + std::to_string(ts[i]) +
                    " ms since the epoch, outside 2000..2200: integers are milliseconds, floats seconds "
                    "(as time.time() gives), or pass numpy.datetime64 values");
    tl_status status;
    {
        std::unique_ptr<GilRelease> nogil;
        if (d.record_may_block || v.size() >= kReleaseGilPoints) nogil = std::make_unique<GilRelease>();
        status = v.kind() == Column::kDouble
                     ? tl_datapoints_record_many_double(d.get(), series, v.doubles(), ts, v.size())
                     : tl_datapoints_record_many_int64(d.get(), series, v.int64s(), ts, v.size());
    }
    check(status);
}

// ---- record() through METH_FASTCALL ---------------------------------------------------------
//
// pybind11's dispatcher costs more per call than everything the C ABI does to record a point. So the
// record attribute of twinlink.Datapoints is a plain CPython vectorcall function bound to the
// pipeline: the calls a recording loop makes (a str name, a float, int or bool value, no timestamp,
// no keywords, a policy that never blocks) go straight to the C ABI; every other call is passed on
// unchanged to the pybind11 method, which handles and reports everything else.

struct FastRecord {
    PyObject* method;  // the pybind11 bound method Datapoints.record (owned)
    Datapoints* datapoints;  // kept alive by `method`, which holds its Python object
};

void free_fast_record(PyObject* capsule) {
    auto* bound = static_cast<FastRecord*>(PyCapsule_GetPointer(capsule, nullptr));
    Py_XDECREF(bound->method);
    delete bound;
}

PyObject* fast_record(PyObject* capsule, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    auto* bound = static_cast<FastRecord*>(PyCapsule_GetPointer(capsule, nullptr));
    Datapoints& d = *bound->datapoints;
    if (kwnames == nullptr && (nargs == 2 || (nargs == 3 && args[2] == Py_None)) && PyUnicode_CheckExact(args[0]) &&
        !d.record_may_block) {
        Py_ssize_t size = 0;
        const char* name = PyUnicode_AsUTF8AndSize(args[0], &size);
        if (name == nullptr) return nullptr;
        PyObject* value = args[1];
        const bool plain = std::memchr(name, 0, static_cast<size_t>(size)) == nullptr &&
                           (PyFloat_CheckExact(value) || PyLong_CheckExact(value) || PyBool_Check(value));
        Handle::Attempt use(d);
        if (plain && use) {
            tl_status status;
            if (PyFloat_CheckExact(value)) {
                status = tl_datapoints_record_double(d.get(), name, PyFloat_AS_DOUBLE(value), TL_NOW);
            } else if (PyBool_Check(value)) {
                status = tl_datapoints_record_bool(d.get(), name, value == Py_True, TL_NOW);
            } else {
                int overflow = 0;
                const long long i = PyLong_AsLongLongAndOverflow(value, &overflow);
                if (overflow != 0) return PyObject_Vectorcall(bound->method, args, static_cast<size_t>(nargs), kwnames);
                status = tl_datapoints_record_int64(d.get(), name, i, TL_NOW);
            }
            if (status == TL_OK) Py_RETURN_NONE;
            try {
                raise_status(status, tl_last_error());
            } catch (py::error_already_set& e) {
                e.restore();
            }
            return nullptr;
        }
    }
    return PyObject_Vectorcall(bound->method, args, static_cast<size_t>(nargs), kwnames);
}

PyMethodDef fast_record_def = {
    "record", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_record)), METH_FASTCALL | METH_KEYWORDS,
    "record(name, value, timestamp=None)\n--\n\nDatapoints.record() of this pipeline."};

// Datapoints.record of `self` as a vectorcall function (see fast_record).
py::object fast_record_of(const py::object& self) {
    py::object method = self.attr("record");
    auto* bound = new FastRecord{method.release().ptr(), self.cast<Datapoints*>()};
    PyObject* capsule = PyCapsule_New(bound, nullptr, free_fast_record);
    if (capsule == nullptr) {
        Py_DECREF(bound->method);
        delete bound;
        throw py::error_already_set();
    }
    PyObject* function = PyCFunction_NewEx(&fast_record_def, capsule, nullptr);
    Py_DECREF(capsule);
    if (function == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(function);
}

std::shared_ptr<Datapoints> new_datapoints(Client& client, const std::string& device,
                                           const std::shared_ptr<DatapointOptions>& options) {
    Handle::Use use(client);
    tl_datapoints* datapoints = nullptr;
    tl_status status;
    {
        GilRelease nogil;
        status = tl_datapoints_new(&datapoints, client.get(), device.c_str(), options ? options->get() : nullptr);
    }
    check(status);
    auto parent = std::static_pointer_cast<Client>(client.shared_from_this());
    auto handle = make_handle<Datapoints>(datapoints, true, options && options->record_may_block, parent);
    client.adopt(handle);
    return handle;
}

}  // namespace

void bind_datapoints(py::module_& m) {
    py::class_<Datapoints, Handle, std::shared_ptr<Datapoints>>(m, "Datapoints")
        .def(py::init(&new_datapoints), py::arg("client"), py::arg("device"), py::arg("options") = nullptr)
        .def("record", &record, py::arg("name"), py::arg("value"), py::arg("timestamp") = py::none())
        .def("fast_record", &fast_record_of)
        .def("record_many", &record_many, py::arg("name"), py::arg("values"), py::arg("timestamps") = py::none())
        .def("flush_start",
             [](Datapoints& d, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(d, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_datapoints_flush_start(d.get(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("cancel",
             [](Datapoints& d, uint64_t operation) {
                 return cancel_operation(d, [&] { return tl_datapoints_cancel(d.get(), operation); });
             })
        .def("flush", [](Datapoints& d, uint32_t timeout_ms) {
            auto use = std::make_shared<Handle::Use>(d);
            auto self = std::static_pointer_cast<Datapoints>(d.shared_from_this());
            run_blocking([self, use, timeout_ms] { return tl_datapoints_flush(self->get(), timeout_ms); }).check();
        })
        .def("stats", [](Datapoints& d) {
            Handle::Use use(d);
            return datapoint_stats(d.get());
        });
}

}  // namespace twinlink_py
