// gil.hpp — releasing the GIL around native calls, safely at interpreter exit.
//
// Once the interpreter finalizes, CPython ends a thread that takes the GIL back with pthread_exit;
// from a C++ destructor (where pybind11's gil_scoped_release takes it back) that terminates the
// process. A daemon thread that comes back from a long call at exit therefore does not take the
// GIL back: it waits for the process to end instead, which is what CPython 3.14 does itself.
#pragma once

#include <Python.h>

namespace twinlink_py {

bool interpreter_finalizing();

// Takes the GIL back for `state` (see above).
void restore_thread(PyThreadState* state);

class GilRelease {
public:
    GilRelease() : state_(PyEval_SaveThread()) {}
    ~GilRelease() { restore_thread(state_); }
    GilRelease(const GilRelease&) = delete;
    GilRelease& operator=(const GilRelease&) = delete;

private:
    PyThreadState* state_;
};

}  // namespace twinlink_py
