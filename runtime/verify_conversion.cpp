// verify_conversion: the original and the converted model on the same
// random inputs (tsconvert --verify, tspike.convert(verify=True)).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "tspike/convert.hpp"
#include "tspike/error.hpp"
#include "tspike/session.hpp"

namespace tspike {

namespace {

constexpr int kVerifyInputs = 3;
constexpr double kVerifyLimit = 1e-4;

// The caller's input shape for a model: the graph input with unknown
// dimensions set to 2 (batch 2), with a leading T for sequence encoding.
Shape verify_input_shape(const ModelInfo& info) {
  Shape shape;
  if (info.metadata.encoding == Encoding::kSequence) shape.push_back(info.metadata.timesteps);
  for (int64_t d : info.input.shape) shape.push_back(d < 0 ? 2 : d);
  return shape;
}

}  // namespace

ConversionCheck verify_conversion(const std::string& original_path, const std::string& converted_path,
                                  const std::function<void(const std::string&)>& progress) {
  LoadOptions raw;
  raw.reparameterize = false;
  auto original = Model::load(original_path, raw);
  auto converted = Model::load(converted_path);
  Session a(original), b(converted);
  ConversionCheck v;
  v.input_shape = verify_input_shape(original->info());
  v.inputs = kVerifyInputs;
  v.limit = kVerifyLimit;
  std::mt19937 rng(20240601);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int trial = 0; trial < kVerifyInputs; ++trial) {
    Tensor input(v.input_shape);
    for (float& x : input.data) x = normal(rng);
    if (progress) progress(fmt::format("verify: random input {}/{}, original model", trial + 1, kVerifyInputs));
    auto out_a = a.run(input);
    if (progress) progress(fmt::format("verify: random input {}/{}, converted model", trial + 1, kVerifyInputs));
    auto out_b = b.run(input);
    // Spikes that fire in one model and not the other show as different
    // counts per node (a lower bound on flips: opposite flips cancel).
    const auto counts_a = a.stats().spike_counts, counts_b = b.stats().spike_counts;
    for (size_t k = 0; k < std::min(counts_a.size(), counts_b.size()); ++k)
      v.spike_count_difference += std::llabs(counts_a[k] - counts_b[k]);
    if (out_a.size() != out_b.size())
      throw Error(ErrorCode::kInvalidModel,
                  fmt::format("verify: the models have {} and {} outputs", out_a.size(), out_b.size()));
    for (size_t o = 0; o < out_a.size(); ++o) {
      if (out_a[o].shape != out_b[o].shape)
        throw Error(ErrorCode::kInvalidModel,
                    fmt::format("verify: output '{}' has shape {} before and {} after conversion", out_a[o].name,
                                shape_to_string(out_a[o].shape), shape_to_string(out_b[o].shape)));
      double scale = 0, diff = 0;
      for (size_t k = 0; k < out_a[o].data.size(); ++k) {
        scale = std::max(scale, std::fabs(double(out_a[o].data[k])));
        diff = std::max(diff, std::fabs(double(out_a[o].data[k]) - double(out_b[o].data[k])));
      }
      // NaN differences count as failures.
      if (std::isnan(diff)) diff = INFINITY;
      v.max_abs_difference = std::max(v.max_abs_difference, diff);
      v.max_rel_difference = std::max(v.max_rel_difference, diff == 0 ? 0.0 : diff / std::max(scale, 1e-30));
    }
  }
  v.ok = v.max_rel_difference <= kVerifyLimit;
  return v;
}

}  // namespace tspike
