// SPDX-License-Identifier: Apache-2.0
// Small helpers for tspike::Tensor shapes (declared in tspike/tensor.hpp).
#include "tspike/tensor.hpp"

namespace tspike {

// Plain product. Callers that take shapes from files check each dimension
// and the total against Limits before calling this, so no overflow check here.
int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace tspike
