// tsconvert: turn a trained TernarySpike ONNX model into the inference model
// (BatchNorm and spike amplitudes folded into weights, spec section 3), and
// say what stays multiplicative.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

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

void print_verification(const ConversionCheck& v) {
  fmt::print("verify: input {}, {} random inputs: largest difference {:.3g} absolute, {:.3g} "
             "relative to the output scale; spike counts {}: {}\n",
             shape_to_string(v.input_shape), v.inputs, v.max_abs_difference, v.max_rel_difference,
             v.spike_count_difference == 0
                 ? std::string("identical")
                 : fmt::format("differ by {} (float rounding at the threshold)", v.spike_count_difference),
             v.ok ? "ok" : "FAILED (limit 1e-4)");
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
    ConversionCheck v;
    if (verify_outputs) {
      v = verify_conversion(input_path, output_path, [&](const std::string& what) { progress.show(what); });
      progress.clear();
      if (json)
        j["verify"] = {{"input_shape", v.input_shape},
                       {"inputs", v.inputs},
                       {"max_abs_difference", v.max_abs_difference},
                       {"max_rel_difference", v.max_rel_difference},
                       {"limit", v.limit},
                       {"spike_count_difference", v.spike_count_difference},
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
