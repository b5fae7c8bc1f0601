// SPDX-License-Identifier: Apache-2.0
// tspike::Error as Python exceptions: the classes live in tspike/_errors.py
// (one per ErrorCode, some also ValueError or OSError); this raises them.
#include "python/src/bindings.hpp"

namespace tspike::python {

namespace {

int code_number(ErrorCode code) {
  switch (code) {  // the C API's TSPIKE_ERR_* numbers, as tspike.ErrorCode
    case ErrorCode::kParse:
      return 1;
    case ErrorCode::kInvalidModel:
      return 2;
    case ErrorCode::kUnsupportedOp:
      return 3;
    case ErrorCode::kShapeMismatch:
      return 4;
    case ErrorCode::kResourceLimit:
      return 5;
    case ErrorCode::kBadInput:
      return 6;
    case ErrorCode::kIO:
      return 7;
  }
  return 0;
}

void raise(const Error& e) {
  // Looked up at each error (a dictionary lookup): errors are rare, and no
  // Python object outlives the interpreter in a static.
  py::module_ errors = py::module_::import("tspike._errors");
  py::object cls = errors.attr("BY_CODE").attr("get")(errors.attr("ErrorCode")(code_number(e.code())),
                                                      errors.attr("Error"));
  py::object exc = cls(text(e.what()));
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

}  // namespace

void register_errors(py::module_&) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      try {
        raise(e);
      } catch (py::error_already_set& failed) {
        failed.restore();  // e.g. tspike._errors missing: that ImportError, not a crash
      }
    }
  });
}

}  // namespace tspike::python
