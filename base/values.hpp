// SPDX-License-Identifier: Apache-2.0
// Tensor storage types used inside the runtime.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tspike/error.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// Values that change per input are always float32. int64 exists only for
// values known at plan time (shapes, indices, axes), which are folded.
enum class DType { kFloat32, kInt64 };
const char* to_string(DType d);
inline int64_t dtype_size(DType d) { return d == DType::kFloat32 ? 4 : 8; }

// A value known at plan time (an initializer or a folded computation).
struct ConstTensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<float> f;    // when dtype == kFloat32
  std::vector<int64_t> i;  // when dtype == kInt64

  int64_t size() const { return element_count(shape); }
  const void* data() const {
    return dtype == DType::kFloat32 ? static_cast<const void*>(f.data()) : static_cast<const void*>(i.data());
  }
  // Element k as double / int64 whatever the dtype.
  double get(int64_t k) const { return dtype == DType::kFloat32 ? f[k] : double(i[k]); }
  // A float that does not fit int64 (or NaN) saturates (NaN: 0).
  int64_t get_int(int64_t k) const {
    if (dtype == DType::kInt64) return i[k];
    const float v = f[k];
    return std::isnan(v)                  ? 0
           : v >= 9.2233720368547758e18f  ? INT64_MAX
           : v <= -9.2233720368547758e18f ? INT64_MIN
                                          : int64_t(v);
  }
};

// A non-owning view of a tensor in the arena (or of a constant).
struct TensorRef {
  DType dtype = DType::kFloat32;
  Shape shape;
  void* data = nullptr;

  int64_t size() const { return element_count(shape); }
  float* f() const { return static_cast<float*>(data); }
  int64_t* i() const { return static_cast<int64_t*>(data); }
};

}  // namespace tspike
