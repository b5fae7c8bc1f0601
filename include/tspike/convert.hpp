// tsconvert as a library: read a trained TernarySpike ONNX model, fold
// BatchNorm and spike amplitudes into weights, write the inference model.
#pragma once

#include <string>

#include "tspike/export.h"
#include "tspike/model.hpp"

namespace tspike {

struct ConvertOptions {
  bool strict = false;  // fail when an amplitude cannot be folded
  // Spec 3.3: an average pool of spikes whose window has at most this many
  // inputs (AveragePool k x k: k*k; GlobalAveragePool: H*W) is folded into
  // the Conv / Gemm / MatMul it feeds, which then consumes {-1, 0, +1}
  // again. 0: never fold. The default folds 2 x 2 pools and leaves larger
  // ones (the measurements behind it: docs/format.md).
  int64_t fold_pool_max_window = kDefaultFoldPoolMaxWindow;
  Limits limits;
};

// Converts `input_path` and writes the result to `output_path`. Returns what
// was folded and what stays multiplicative. Throws Error.
TSPIKE_API ConversionReport convert_file(const std::string& input_path,
                              const std::string& output_path,
                              const ConvertOptions& options = {});

}  // namespace tspike
