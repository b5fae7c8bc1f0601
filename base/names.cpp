// SPDX-License-Identifier: Apache-2.0
// String forms of the public enums.
#include "base/values.hpp"
#include "tspike/error.hpp"
#include "tspike/model.hpp"

namespace tspike {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParse:
      return "parse error";
    case ErrorCode::kInvalidModel:
      return "invalid model";
    case ErrorCode::kUnsupportedOp:
      return "unsupported";
    case ErrorCode::kShapeMismatch:
      return "shape mismatch";
    case ErrorCode::kResourceLimit:
      return "resource limit";
    case ErrorCode::kBadInput:
      return "bad input";
    case ErrorCode::kIO:
      return "I/O error";
  }
  return "error";
}

const char* to_string(Encoding e) { return e == Encoding::kDirect ? "direct" : "sequence"; }

const char* to_string(ImageResize r) {
  switch (r) {
    case ImageResize::kBilinear:
      return "bilinear";
    case ImageResize::kBilinearAntialias:
      return "bilinear_antialias";
    case ImageResize::kNearest:
      return "nearest";
  }
  return "?";
}

const char* to_string(Readout r) {
  return r == Readout::kMean ? "mean" : r == Readout::kSum ? "sum" : "last";
}

const char* to_string(Engine e) {
  return e == Engine::kAuto ? "auto" : e == Engine::kEvent ? "event" : "dense";
}

const char* to_string(DType d) { return d == DType::kFloat32 ? "float32" : "int64"; }

}  // namespace tspike
