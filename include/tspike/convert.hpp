// tsconvert as a library: read a trained TernarySpike ONNX model, fold
// BatchNorm and spike amplitudes into weights, write the inference model.
#pragma once

#include <cstdint>
#include <functional>
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

// What verify_conversion found (tsconvert --verify).
struct ConversionCheck {
  Shape input_shape;  // the random inputs': the graph input with batch 2 (T first for sequence encoding)
  int inputs = 0;     // how many random inputs ran
  double max_abs_difference = 0;
  double max_rel_difference = 0;  // relative to the output's scale (its largest magnitude)
  double limit = 1e-4;            // ok when max_rel_difference <= limit
  // Summed over the spike nodes, |spikes before - spikes after|: spikes that
  // flipped at the threshold through float rounding (a lower bound).
  int64_t spike_count_difference = 0;
  bool ok = false;
};

// Runs the original model (not re-parameterized) and the converted one on
// a few seeded random inputs and compares their outputs. `progress`, when
// set, is told what runs. Throws Error when a model does not load or the
// two disagree on their outputs' number or shapes.
TSPIKE_API ConversionCheck verify_conversion(const std::string& original_path, const std::string& converted_path,
                                             const std::function<void(const std::string&)>& progress = {});

}  // namespace tspike
