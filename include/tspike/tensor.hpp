// SPDX-License-Identifier: Apache-2.0
// A plain owning float32 tensor, used to pass inputs to and outputs from the
// runtime. Row-major; shape is a list of dimensions.
// Value semantics: a Tensor owns its data, and the runtime keeps no
// reference to a caller's tensor once a call returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tspike/export.h"

namespace tspike {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar shape {}).
TSPIKE_API int64_t element_count(const Shape& shape);
// "[1,3,32,32]"
TSPIKE_API std::string shape_to_string(const Shape& shape);

struct Tensor {
  std::string name;  // graph output name for outputs, empty for inputs
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  Tensor(Shape s, std::vector<float> d, std::string n = {})
      : name(std::move(n)), shape(std::move(s)), data(std::move(d)) {}
  explicit Tensor(Shape s) : shape(std::move(s)), data(element_count(shape), 0.f) {}
};

// A caller's float32 data, row-major, borrowed for one call: Session::run
// and Session::step read it during the call and keep no reference. For data
// the caller already holds elsewhere (a NumPy array), so that it need not
// be copied into a Tensor. `size` is the number of floats at `data`; a size
// that is not element_count(shape) is refused.
struct TensorView {
  const Shape& shape;
  const float* data;
  std::size_t size;
};

}  // namespace tspike
