// SPDX-License-Identifier: Apache-2.0
// NumPy in and out: the conversion rule for inputs (float32 C-contiguous
// passes without a copy) and outputs as new arrays.
#include <fmt/format.h>

#include <cstring>

#include "python/src/bindings.hpp"

namespace tspike::python {

namespace {

// NumPy's flags (numpy/ndarraytypes.h), as pybind11 names them.
constexpr int kCContiguous = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_;
constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;

bool usable_as_is(const py::array& a) {
  const py::dtype dt = a.dtype();
  // kind 'f', 4 bytes, native byte order ('=' or '<' on little-endian hosts).
  return dt.kind() == 'f' && dt.itemsize() == 4 && dt.attr("isnative").cast<bool>() &&
         (a.flags() & kCContiguous) && (a.flags() & kAligned);
}

}  // namespace

py::str text(std::string_view s) {
  PyObject* str = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!str) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(str);
}

InputArray as_float32(py::handle x, const char* what, Shape& shape, const Limits& limits) {
  InputArray in;
  if (py::isinstance<py::array>(x)) {
    in.array = py::reinterpret_borrow<py::array>(x);
  } else {
    // Lists, scalars, buffers, objects with __array__ (a CPU torch.Tensor
    // shares its memory here, so a float32 contiguous one is not copied).
    try {
      in.array = py::module_::import("numpy").attr("asarray")(x);
    } catch (py::error_already_set& e) {
      throw Error(ErrorCode::kBadInput,
                  fmt::format("{} of type {} is not an array: {}", what,
                              std::string(py::str(py::type::handle_of(x).attr("__name__"))), e.what()));
    }
  }
  const char kind = in.array.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw Error(ErrorCode::kBadInput,
                fmt::format("{} has dtype {}: expected float32, or a real-number dtype (bool, integer, "
                            "float) to convert to float32",
                            what, std::string(py::str(in.array.dtype()))));
  if (in.array.size() > limits.max_tensor_elements)
    throw Error(ErrorCode::kResourceLimit,
                fmt::format("{} of shape {} has more than {} elements (the limit on tensor elements)", what,
                            std::string(py::str(in.array.attr("shape"))), limits.max_tensor_elements));
  if (!usable_as_is(in.array)) {
    // The one copy: float64, integers, strided views, Fortran order, other byte orders.
    in.array = py::array_t<float, py::array::c_style | py::array::forcecast>(in.array);
    in.copied = true;
  }
  shape.resize(static_cast<std::size_t>(in.array.ndim()));
  for (std::size_t d = 0; d < shape.size(); ++d) shape[d] = in.array.shape(static_cast<py::ssize_t>(d));
  return in;
}

py::array to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> dims(t.shape.begin(), t.shape.end());
  py::array_t<float> a(dims);
  if (!t.data.empty()) std::memcpy(a.mutable_data(), t.data.data(), t.data.size() * sizeof(float));
  return a;
}

py::object outputs_to_python(const std::vector<Tensor>& outputs, bool as_dict) {
  if (outputs.size() == 1 && !as_dict) return to_numpy(outputs[0]);
  py::dict d;
  for (const Tensor& t : outputs) d[text(t.name)] = to_numpy(t);
  return d;
}

py::tuple shape_tuple(const Shape& shape) {
  py::tuple t(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d)
    t[d] = shape[d] < 0 ? py::object(py::none()) : py::object(py::int_(shape[d]));
  return t;
}

std::string fspath(py::handle path) {
  py::object p = py::module_::import("os").attr("fspath")(path);
  if (!py::isinstance<py::str>(p))
    throw Error(ErrorCode::kBadInput,
                "a path given as bytes: pass a str or os.PathLike (bytes are file contents)");
  // File names are bytes to the OS: fsencode keeps undecodable ones as they were.
  return py::module_::import("os").attr("fsencode")(p).cast<std::string>();
}

bool is_file_contents(py::handle x) {
  return py::isinstance<py::bytes>(x) || PyByteArray_Check(x.ptr()) || PyMemoryView_Check(x.ptr());
}

}  // namespace tspike::python
