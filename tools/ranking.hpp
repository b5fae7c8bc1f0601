// SPDX-License-Identifier: Apache-2.0
// The classes a model's output ranks highest, and their names: what tsrun
// prints for one input or for many.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::cli {

struct Ranked {
  int64_t index;
  double probability;
};

// Top-k of the softmax of each sample of the first output ([N, ...]).
inline std::vector<std::vector<Ranked>> top_classes(const Tensor& out, int k) {
  std::vector<std::vector<Ranked>> result;
  const int64_t n = out.shape.empty() ? 1 : out.shape[0];
  const int64_t classes = n == 0 ? 0 : static_cast<int64_t>(out.data.size()) / n;
  for (int64_t s = 0; s < n; ++s) {
    const float* logits = out.data.data() + s * classes;
    double top = -INFINITY, sum = 0;
    for (int64_t c = 0; c < classes; ++c) top = std::max(top, double(logits[c]));
    std::vector<Ranked> ranked;
    for (int64_t c = 0; c < classes; ++c) {
      ranked.push_back({c, std::exp(double(logits[c]) - top)});
      sum += ranked.back().probability;
    }
    for (auto& r : ranked) r.probability /= sum;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const Ranked& a, const Ranked& b) { return a.probability > b.probability; });
    ranked.resize(std::min<size_t>(ranked.size(), static_cast<size_t>(k)));
    result.push_back(std::move(ranked));
  }
  return result;
}

// The model's name for class `index` (tspike.labels), else "class N".
inline std::string label_of(const ModelInfo& info, int64_t index) {
  return index < static_cast<int64_t>(info.metadata.labels.size()) ? info.metadata.labels[index]
                                                                   : fmt::format("class {}", index);
}

}  // namespace tspike::cli
