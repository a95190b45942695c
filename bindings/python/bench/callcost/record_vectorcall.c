/* record(name, value) as plain CPython builtins with METH_FASTCALL, the calling convention of the
 * shipped binding's Datapoints.record (bindings/python/src/native/datapoints.cpp, fast_record): the
 * interpreter passes the arguments as an array, and the function converts them itself. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "target.h"

/* The arguments as the shipped binding reads them: a str's UTF-8 (cached in the str, no copy)
 * without a NUL in it, and a float. Returns 0, or -1 with an exception set. */
static int arguments(PyObject *const *args, Py_ssize_t nargs, const char **name, Py_ssize_t *size, double *value) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "expected 2 arguments (name, value), got %zd", nargs);
        return -1;
    }
    if (!PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "series name must be a str");
        return -1;
    }
    *name = PyUnicode_AsUTF8AndSize(args[0], size);
    if (*name == NULL) return -1;
    if (memchr(*name, 0, (size_t)*size) != NULL) {
        PyErr_SetString(PyExc_ValueError, "series name contains a NUL character");
        return -1;
    }
    if (PyFloat_CheckExact(args[1])) {
        *value = PyFloat_AS_DOUBLE(args[1]);
        return 0;
    }
    *value = PyFloat_AsDouble(args[1]);
    return *value == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *sink(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    const char *name;
    Py_ssize_t size;
    double value;
    if (arguments(args, nargs, &name, &size, &value) != 0) return NULL;
    callcost_sink(name, (size_t)size, value);
    Py_RETURN_NONE;
}

static PyObject *record(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    const char *name;
    Py_ssize_t size;
    double value;
    if (arguments(args, nargs, &name, &size, &value) != 0) return NULL;
    if (tl_datapoints_record_double(callcost_pipeline, name, value, TL_NOW) != TL_OK) {
        PyErr_SetString(PyExc_RuntimeError, tl_last_error());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sink", (PyCFunction)(void (*)(void))sink, METH_FASTCALL, "sink(name, value)"},
    {"record", (PyCFunction)(void (*)(void))record, METH_FASTCALL, "record(name, value)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "callcost_vectorcall", "record(name, value) as METH_FASTCALL builtins", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_callcost_vectorcall(void) { return PyModule_Create(&module); }
