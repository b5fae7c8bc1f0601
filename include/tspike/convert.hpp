// SPDX-License-Identifier: Apache-2.0
// tsconvert as a library: read a trained TernarySpike ONNX model, fold
// BatchNorm and spike amplitudes into weights, write the inference model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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
  // How the runtime stores the event-driven layers' weights: "fp32" (exact,
  // the default) or "fp16" (half the bytes, rounded to half floats),
  // written as the metadata tspike.weights; empty: leave the input's.
  std::string weights;
};

// Converts `input_path` and writes the result to `output_path`. Returns what
// was folded and what stays multiplicative. Throws Error.
TSPIKE_API ConversionReport convert_file(const std::string& input_path, const std::string& output_path,
                                         const ConvertOptions& options = {});

// A spike that differs between the original and the converted model where
// both membranes were within float rounding of the threshold: the format's
// equality rule (docs/format.md) allows it, and what follows from it.
struct SpikeFlip {
  std::string node;  // the TernarySpike node
  int timestep = 0;
  int64_t sample = 0;  // index in the batch of the random input
  int input = 0;       // which random input (0-based)
  Shape element;       // the element within the sample: [c, h, w] for a conv layer's map
  int original_spike = 0, converted_spike = 0;  // -1, 0, +1
  double original_membrane = 0, converted_membrane = 0;
  double threshold = 0;
  double margin = 0;        // the larger of the two | |u| - threshold |
  double margin_steps = 0;  // margin in float32 steps at the threshold
};

struct VerifyOptions {
  int inputs = 3;  // random inputs, each a batch of `batch` samples
  int64_t batch = 2;
  // Relative tolerance: a current may differ by this times the largest
  // |current| of its layer, sample and timestep (at least the threshold); a
  // spike may flip where both membranes are within twice that of the
  // threshold; an output of a sample without a flip may differ by this
  // times the output's largest magnitude.
  double tolerance = 1e-5;
  // The name of the converted model in messages (default: its path), for
  // a caller that verifies a temporary file before renaming it.
  std::string converted_name;
};

// What verify_conversion found (tsconvert --verify).
struct ConversionCheck {
  Shape input_shape;    // the random inputs': the graph input with batch 2 (T first for sequence encoding)
  int inputs = 0;       // how many random inputs ran
  int64_t samples = 0;  // inputs x batch
  int64_t samples_with_flips = 0;   // samples whose outputs were excused by a flip
  int64_t compared_spikes = 0;      // spike-map elements compared (nodes x elements x timesteps)
  int64_t excused_differences = 0;  // spikes that differ downstream of an accepted flip
  int64_t flip_count = 0;           // primary flips accepted by the rule
  std::vector<SpikeFlip> flips;     // the first of them (at most 20)
  // Outputs of the samples without a flip.
  double max_abs_difference = 0;
  double max_rel_difference = 0;  // relative to the output's scale (its largest magnitude)
  double limit = 1e-5;            // the tolerance used
  // Summed over the spike nodes, |spikes before - spikes after| (all samples).
  int64_t spike_count_difference = 0;
  // Empty when ok; else the first difference the rule does not allow,
  // naming the node, timestep, sample and element.
  std::string failure;
  bool ok = false;
};

// Compares the original model (not re-parameterized) with the converted one
// under the format's equality rule, on a few seeded random inputs, timestep
// by timestep: every TernarySpike node's input current and spike map (their
// names are kept by conversion) and the outputs. A spike may differ only
// where both membranes are within rounding of the threshold (a primary
// flip); what depends on it (the nodes after it in that sample, from that
// timestep on, and that element of its own node until it fires in both) is
// then not compared. Any other difference fails. `progress`, when set, is
// told what runs. Throws Error when a model does not load or the two
// disagree on their outputs' number or shapes.
TSPIKE_API ConversionCheck verify_conversion(const std::string& original_path,
                                             const std::string& converted_path,
                                             const std::function<void(const std::string&)>& progress = {},
                                             const VerifyOptions& options = {});

}  // namespace tspike
