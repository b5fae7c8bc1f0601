// SPDX-License-Identifier: Apache-2.0
// Overflow-safe size arithmetic for shapes and counts that come from files
// (internal). Shapes read from a model, a .npy header or a caller's tensor
// are checked with these before anything multiplies or allocates by them.
#pragma once

#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "tspike/error.hpp"
#include "tspike/tensor.hpp"

namespace tspike::detail {

// The element count of `shape` when it is at most `limit`; -1 when a
// dimension is negative; `limit + 1` (saturated) when the count exceeds
// `limit`. A zero dimension makes the count 0 whatever the others are.
// Never overflows.
inline int64_t bounded_element_count(const Shape& shape, int64_t limit) {
  if (limit < 0) limit = 0;
  if (limit == std::numeric_limits<int64_t>::max()) limit--;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    zero |= d == 0;
  }
  if (zero) return 0;
  int64_t count = 1;
  for (int64_t d : shape) {
    if (count > limit / d) return limit + 1;
    count *= d;
  }
  return count;
}

// a * b, or false when it overflows int64.
inline bool checked_mul(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

// Float to int64 without undefined behaviour: NaN becomes 0, values beyond
// int64 saturate.
inline int64_t saturating_int64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Runs `body` and turns any exception that is not a tspike::Error into one,
// so that nothing else leaves the library on bad input: std::bad_alloc and
// std::length_error become kResourceLimit ("out of memory"), anything else
// `fallback` with the exception's text. `what` names the file or object.
template <typename F>
auto error_boundary(const std::string& what, ErrorCode fallback, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kResourceLimit, what + ": out of memory");
  } catch (const std::length_error& e) {
    throw Error(ErrorCode::kResourceLimit, what + ": size too large (" + e.what() + ")");
  } catch (const std::exception& e) {
    throw Error(fallback, what + ": " + e.what());
  } catch (...) {
    throw Error(fallback, what + ": unknown error");
  }
}

}  // namespace tspike::detail
