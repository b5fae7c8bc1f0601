// SPDX-License-Identifier: Apache-2.0
// The pieces of the Python module tspike._tspike (pybind11), one file each:
// errors and arrays (the conversions every call uses), model, session, io.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::python {

namespace py = pybind11;

// A loaded model as Python holds it (tspike.Model). The C++ Model is
// immutable and shared: Sessions on any thread keep it alive.
struct ModelHandle {
  std::shared_ptr<const Model> model;
};

// tspike::Error -> the tspike.Error subclass for its code (tspike/_errors.py).
void register_errors(py::module_& m);

// An input as float32 C-contiguous data for a C++ call. A NumPy float32
// C-contiguous, aligned, native-endian array is used as it is (no copy);
// any other array or array-like of a real-number dtype (bool, integers,
// floats) is converted to a float32 copy; anything else is refused with
// tspike.BadInputError naming the dtype. An array of more elements than
// limits.max_tensor_elements is refused before anything is converted (a
// broadcast view can be far larger than its memory). `shape` is reused
// between calls.
struct InputArray {
  py::array array;  // keeps the data alive during the call
  bool copied = false;
  const float* data() const { return static_cast<const float*>(array.data()); }
  std::size_t size() const { return static_cast<std::size_t>(array.size()); }
};
InputArray as_float32(py::handle x, const char* what, Shape& shape, const Limits& limits);

// One output as a new NumPy float32 array (a copy of its data).
py::array to_numpy(const Tensor& t);
// Outputs: the single array when there is one and not as_dict, else a dict
// by output name (graph order).
py::object outputs_to_python(const std::vector<Tensor>& outputs, bool as_dict);
// Text from a model or file as str; bytes that are not UTF-8 (a hostile
// file's names) become U+FFFD instead of failing.
py::str text(std::string_view s);
// A shape as a tuple; a negative (unknown) dimension as None.
py::tuple shape_tuple(const Shape& shape);

// A path (str or os.PathLike) as a string.
std::string fspath(py::handle path);
// Whether `x` holds the contents of a file (bytes, bytearray, memoryview)
// rather than its path.
bool is_file_contents(py::handle x);

void bind_model(py::module_& m);
void bind_session(py::module_& m);
void bind_io(py::module_& m);

// Plain Python forms of the C++ structures (dicts, lists, tuples).
py::dict info_dict(const ModelInfo& info);
py::dict stats_dict(const RunStats& stats);
py::dict profile_dict(const Profile& profile);
py::dict limits_dict(const Limits& limits);

}  // namespace tspike::python
