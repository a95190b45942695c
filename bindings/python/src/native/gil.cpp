#include "gil.hpp"

#include <chrono>
#include <thread>

namespace twinlink_py {

bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing() != 0;
#else
    return _Py_IsFinalizing() != 0;
#endif
}

void restore_thread(PyThreadState* state) {
    if (interpreter_finalizing()) {
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    PyEval_RestoreThread(state);
}

}  // namespace twinlink_py
