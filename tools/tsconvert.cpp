// tsconvert: turn a trained TernarySpike ONNX model into the inference model
// (BatchNorm and spike amplitudes folded into weights, spec section 3), and
// say what stays multiplicative.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "tools/cli_common.hpp"
#include "tspike/tspike.hpp"

namespace {

using namespace tspike;

void print_report(const ConversionReport& report, const ModelInfo& converted) {
  if (report.already_reparameterized) {
    fmt::print("already re-parameterized (tspike.reparameterized = 1): copied unchanged\n");
  } else {
    fmt::print("folded ({}):\n", report.folded.size());
    for (const auto& line : report.folded) fmt::print("  {}\n", line);
  }
  if (!report.kept_pools.empty()) {
    fmt::print("average pools of spikes kept ({}), the layer after them multiplies:\n", report.kept_pools.size());
    for (const auto& [edge, why] : report.kept_pools) fmt::print("  {}: {}\n", edge, why);
  }
  if (!report.kept_amplitudes.empty()) {
    fmt::print("amplitudes kept ({}), the runtime multiplies a * s there:\n",
               report.kept_amplitudes.size());
    for (const auto& [node, why] : report.kept_amplitudes) fmt::print("  {}: {}\n", node, why);
  }
  std::vector<const LayerInfo*> multiplicative;
  for (const auto& l : converted.layers)
    if (!l.multiplication_free) multiplicative.push_back(&l);
  fmt::print("layers: {} of {} Conv/Gemm/MatMul are multiplication-free\n",
             converted.layers.size() - multiplicative.size(), converted.layers.size());
  for (const auto* l : multiplicative)
    fmt::print("  multiplicative: {} {}: {}\n", l->op_type, l->node, l->why);
}

// The caller's input shape for a model: the graph input with unknown
// dimensions set to 2 (batch 2), with a leading T for sequence encoding.
Shape verify_input_shape(const ModelInfo& info) {
  Shape shape;
  if (info.metadata.encoding == Encoding::kSequence) shape.push_back(info.metadata.timesteps);
  for (int64_t d : info.input.shape) shape.push_back(d < 0 ? 2 : d);
  return shape;
}

nlohmann::json report_json(const ConversionReport& report, const ModelInfo& converted) {
  nlohmann::json j;
  j["already_reparameterized"] = report.already_reparameterized;
  j["folded"] = report.folded;
  j["kept_amplitudes"] = nlohmann::json::array();
  for (const auto& [node, why] : report.kept_amplitudes) j["kept_amplitudes"].push_back({{"node", node}, {"why", why}});
  j["kept_pools"] = nlohmann::json::array();
  for (const auto& [edge, why] : report.kept_pools) j["kept_pools"].push_back({{"edge", edge}, {"why", why}});
  j["layers"] = nlohmann::json::array();
  int free = 0;
  for (const auto& l : converted.layers) {
    free += l.multiplication_free;
    j["layers"].push_back({{"node", l.node},
                           {"op", l.op_type},
                           {"multiplication_free", l.multiplication_free},
                           {"folded_pool", l.folded_pool},
                           {"why", l.why}});
  }
  j["multiplication_free_layers"] = free;
  return j;
}

struct Verification {
  Shape input_shape;
  int inputs = 0;
  double worst_abs = 0, worst_rel = 0;
  int64_t count_differences = 0;
  bool ok = false;
};

constexpr int kVerifyInputs = 3;
constexpr double kVerifyLimit = 1e-4;

void print_verification(const Verification& v) {
  fmt::print("verify: input {}, {} random inputs: largest difference {:.3g} absolute, {:.3g} "
             "relative to the output scale; spike counts {}: {}\n",
             shape_to_string(v.input_shape), v.inputs, v.worst_abs, v.worst_rel,
             v.count_differences == 0 ? std::string("identical")
                                      : fmt::format("differ by {} (float rounding at the threshold)", v.count_differences),
             v.ok ? "ok" : "FAILED (limit 1e-4)");
}

// Runs the original (not re-parameterized) and the converted model on a few
// random inputs; ok when they agree to 1e-4 of the output scale.
Verification verify(const std::string& original_path, const std::string& converted_path,
                    tspike::cli::Progress& progress) {
  LoadOptions raw;
  raw.reparameterize = false;
  auto original = Model::load(original_path, raw);
  auto converted = Model::load(converted_path);
  Session a(original), b(converted);
  const Shape shape = verify_input_shape(original->info());
  std::mt19937 rng(20240601);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Verification v;
  v.input_shape = shape;
  v.inputs = kVerifyInputs;
  double& worst_abs = v.worst_abs;
  double& worst_rel = v.worst_rel;
  // Spikes that fire in one model and not the other show as different
  // counts per node (a lower bound on flips: opposite flips cancel).
  int64_t& count_differences = v.count_differences;
  for (int trial = 0; trial < kVerifyInputs; ++trial) {
    Tensor input(shape);
    for (float& x : input.data) x = normal(rng);
    progress.show(fmt::format("verify: random input {}/{}, original model", trial + 1, kVerifyInputs));
    auto out_a = a.run(input);
    progress.show(fmt::format("verify: random input {}/{}, converted model", trial + 1, kVerifyInputs));
    auto out_b = b.run(input);
    const auto counts_a = a.stats().spike_counts, counts_b = b.stats().spike_counts;
    for (size_t k = 0; k < std::min(counts_a.size(), counts_b.size()); ++k)
      count_differences += std::llabs(counts_a[k] - counts_b[k]);
    if (out_a.size() != out_b.size())
      throw Error(ErrorCode::kInvalidModel,
                  fmt::format("verify: the models have {} and {} outputs", out_a.size(), out_b.size()));
    for (size_t o = 0; o < out_a.size(); ++o) {
      if (out_a[o].shape != out_b[o].shape)
        throw Error(ErrorCode::kInvalidModel,
                    fmt::format("verify: output '{}' has shape {} before and {} after conversion",
                                out_a[o].name, shape_to_string(out_a[o].shape),
                                shape_to_string(out_b[o].shape)));
      double scale = 0, diff = 0;
      for (size_t k = 0; k < out_a[o].data.size(); ++k) {
        scale = std::max(scale, std::fabs(double(out_a[o].data[k])));
        diff = std::max(diff, std::fabs(double(out_a[o].data[k]) - double(out_b[o].data[k])));
      }
      // NaN differences count as failures.
      if (std::isnan(diff)) diff = INFINITY;
      worst_abs = std::max(worst_abs, diff);
      worst_rel = std::max(worst_rel, diff == 0 ? 0.0 : diff / std::max(scale, 1e-30));
    }
  }
  progress.clear();
  v.ok = worst_rel <= kVerifyLimit;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert a trained TernarySpike ONNX model into the inference model: fold "
               "BatchNorm and spike amplitudes into weights.",
               "tsconvert"};
  std::string input_path, output_path;
  bool verify_outputs = false, strict = false, quiet = false, json = false;
  app.add_option("input", input_path, "Trained model (.onnx)")->required();
  app.add_option("-o,--output", output_path, "Where to write the inference model")->required();
  app.add_flag("--verify", verify_outputs,
               "Run the original and the converted model on random inputs and compare");
  app.add_flag("--strict", strict, "Fail when an amplitude cannot be folded");
  int64_t fold_pools = kDefaultFoldPoolMaxWindow;
  app.add_option("--fold-pools", fold_pools,
                 "Fold an average pool of spikes of at most this many inputs into the layer it feeds "
                 "(0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", quiet, "Print only errors and a failed verification");
  app.add_flag("--json", json, "Print the report (and the verification) as one JSON object");
  app.footer(
      "Examples:\n"
      "  tsconvert trained.onnx -o inference.onnx\n"
      "  tsconvert trained.onnx -o inference.onnx --verify --strict\n"
      "  tsconvert trained.onnx -o inference.onnx --fold-pools 0    # keep every average pool\n"
      "  tsconvert trained.onnx -o inference.onnx --verify --json");

  return tspike::cli::run_tool(app, argc, argv, [&]() -> int {
    ConvertOptions options;
    options.strict = strict;
    options.fold_pool_max_window = fold_pools;
    tspike::cli::Progress progress(!quiet && !json);
    progress.show(fmt::format("converting {}", input_path));
    const ConversionReport report = convert_file(input_path, output_path, options);
    progress.clear();
    nlohmann::json j;
    if (json) {
      j = report_json(report, Model::load(output_path)->info());
      j["input"] = input_path;
      j["output"] = output_path;
    } else if (!quiet) {
      auto converted = Model::load(output_path);
      print_report(report, converted->info());
      fmt::print("wrote {}\n", output_path);
    }
    Verification v;
    if (verify_outputs) {
      v = verify(input_path, output_path, progress);
      if (json)
        j["verify"] = {{"input_shape", v.input_shape},      {"inputs", v.inputs},
                       {"max_abs_difference", v.worst_abs}, {"max_rel_difference", v.worst_rel},
                       {"limit", kVerifyLimit},             {"spike_count_difference", v.count_differences},
                       {"ok", v.ok}};
      else if (!quiet || !v.ok)
        print_verification(v);
    }
    if (json) fmt::print("{}\n", j.dump(2));
    if (verify_outputs && !v.ok) {
      fmt::print(stderr, "tsconvert: error: verification failed: the converted model's outputs differ\n");
      return tspike::cli::kExitError;
    }
    return tspike::cli::kExitOk;
  });
}
