// tsconvert as a library: read a trained TernarySpike ONNX model, fold
// BatchNorm and spike amplitudes into weights, write the inference model.
#pragma once

#include <string>

#include "tspike/export.h"
#include "tspike/model.hpp"

namespace tspike {

struct ConvertOptions {
  bool strict = false;  // fail when an amplitude cannot be folded
  Limits limits;
  // How the runtime stores the event-driven layers' weights: "fp32" (exact,
  // the default) or "fp16" (half the bytes, rounded to half floats),
  // written as the metadata tspike.weights; empty: leave the input's.
  std::string weights;
};

// Converts `input_path` and writes the result to `output_path`. Returns what
// was folded and what stays multiplicative. Throws Error.
TSPIKE_API ConversionReport convert_file(const std::string& input_path,
                              const std::string& output_path,
                              const ConvertOptions& options = {});

}  // namespace tspike
