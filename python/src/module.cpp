// SPDX-License-Identifier: Apache-2.0
// tspike._tspike: the compiled part of the Python package tspike
// (python/tspike/__init__.py re-exports it with the Python-side helpers).
#include "python/src/bindings.hpp"
#include "tspike/version.h"

PYBIND11_MODULE(_tspike, m) {
  namespace tp = tspike::python;
  m.doc() = "tspike's C++ runtime for Python: Model, Session, inputs, conversion.";
  m.attr("__version__") = TSPIKE_VERSION_STRING;
  tp::register_errors(m);
  tp::bind_model(m);
  tp::bind_session(m);
  tp::bind_io(m);
}
