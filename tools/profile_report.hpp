// SPDX-License-Identifier: Apache-2.0
// tsrun --profile / --report: a tspike::Profile as a table, as JSON and as a
// self-contained HTML page with charts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tspike/tspike.hpp"

namespace tspike::cli {

// The per-layer table and the totals (folded nodes left out), for a terminal.
std::string profile_table(const Profile& profile);

// Every node and the totals; the energy constants and what they assume.
nlohmann::json profile_json(const Profile& profile);

// What was run, for the top of the report.
struct ReportRun {
  std::string input;  // the file given (an image, a .npy or a recording)
  Shape input_shape;  // as it reached the model
  struct Prediction {
    int64_t index;
    std::string label;
    double probability;
  };
  std::vector<Prediction> predictions;  // the best class of each sample
};

// One HTML page, no external resources: what was run (the input, its shape,
// the prediction of each sample with its probability, each layer's kernel),
// written as HTML; the profile as JSON in the page and an inline script that
// draws the charts as SVG (density per layer, density over time, time per
// layer, energy SNN vs dense ANN per layer). When the script has drawn them,
// <body> carries data-rendered="ok" (else the error).
std::string profile_html(const Profile& profile, const ModelInfo& info, const ReportRun& run = {});

// Text safe inside HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace tspike::cli
