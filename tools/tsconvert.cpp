// SPDX-License-Identifier: Apache-2.0
// tsconvert: turn a trained TernarySpike ONNX model into the inference model
// (BatchNorm and spike amplitudes folded into weights, spec section 3), and
// say what stays multiplicative. With --from-reference, the input is a
// checkpoint of the Ternary-Spike reference training code, exported first by
// the Python package.
//
// The output is written to a temporary file beside it and renamed once the
// conversion (and --verify) succeeded: a failure leaves no output behind.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tools/cli_common.hpp"
#include "tools/from_reference.hpp"
#include "tools/output_file.hpp"
#include "tspike/tspike.hpp"

namespace {

using namespace tspike;
using tspike::cli::TempFile;
namespace fs = std::filesystem;

void print_report(const ConversionReport& report, const ModelInfo& converted) {
  if (report.already_reparameterized) {
    fmt::print("already re-parameterized (tspike.reparameterized = 1): copied unchanged\n");
  } else {
    fmt::print("folded ({}):\n", report.folded.size());
    for (const auto& line : report.folded) fmt::print("  {}\n", line);
  }
  if (!report.unfolded.empty()) {
    fmt::print("BatchNorm not folded ({}), the runtime computes it:\n", report.unfolded.size());
    for (const auto& [node, why] : report.unfolded) fmt::print("  {}: {}\n", node, why);
  }
  if (!report.kept_pools.empty()) {
    fmt::print("average pools of spikes kept ({}), the layer after them multiplies:\n",
               report.kept_pools.size());
    for (const auto& [edge, why] : report.kept_pools) fmt::print("  {}: {}\n", edge, why);
  }
  if (!report.kept_amplitudes.empty()) {
    fmt::print("amplitudes kept ({}), the runtime multiplies a * s there:\n", report.kept_amplitudes.size());
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

nlohmann::json pairs_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  auto j = nlohmann::json::array();
  for (const auto& [node, why] : pairs) j.push_back({{"node", node}, {"why", why}});
  return j;
}

nlohmann::json report_json(const ConversionReport& report, const ModelInfo& converted) {
  nlohmann::json j;
  j["already_reparameterized"] = report.already_reparameterized;
  j["folded"] = report.folded;
  j["unfolded_batchnorms"] = pairs_json(report.unfolded);
  j["kept_amplitudes"] = pairs_json(report.kept_amplitudes);
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

std::string flip_text(const SpikeFlip& f) {
  auto spike = [](int s) { return s > 0 ? "+1" : s < 0 ? "-1" : "0"; };
  return fmt::format(
      "{}, timestep {}, sample {} of input {}, element {}: {} before, {} after (membranes {:.9g} and "
      "{:.9g}, threshold {:g}: {:.2g} from it, {:.1f} float steps)",
      f.node, f.timestep, f.sample, f.input, shape_to_string(f.element), spike(f.original_spike),
      spike(f.converted_spike), f.original_membrane, f.converted_membrane, f.threshold, f.margin,
      f.margin_steps);
}

void print_verification(const ConversionCheck& v, bool all) {
  fmt::print("verify: {} random inputs {}, {} spike-map elements compared\n", v.inputs,
             shape_to_string(v.input_shape), v.compared_spikes);
  if (v.flip_count > 0 && all) {
    fmt::print(
        "  {} spike(s) flipped where the membrane is within rounding of the threshold (allowed); "
        "{} difference(s) after them excused; {} of {} samples not compared at the output:\n",
        v.flip_count, v.excused_differences, v.samples_with_flips, v.samples);
    for (const auto& f : v.flips) fmt::print("    {}\n", flip_text(f));
    if (v.flip_count > int64_t(v.flips.size()))
      fmt::print("    ... ({} more)\n", v.flip_count - int64_t(v.flips.size()));
  }
  if (v.samples > v.samples_with_flips && all)
    fmt::print("  outputs: largest difference {:.3g} absolute, {:.3g} relative to their scale\n",
               v.max_abs_difference, v.max_rel_difference);
  if (v.ok)
    fmt::print("verify: ok, equal under the format's rule{}\n",
               v.flip_count == 0 ? " (every spike the same)" : "");
  else
    fmt::print("verify: FAILED: {}\n", v.failure);
}

nlohmann::json verification_json(const ConversionCheck& v) {
  auto flips = nlohmann::json::array();
  for (const auto& f : v.flips)
    flips.push_back({{"node", f.node},
                     {"timestep", f.timestep},
                     {"sample", f.sample},
                     {"input", f.input},
                     {"element", f.element},
                     {"original_spike", f.original_spike},
                     {"converted_spike", f.converted_spike},
                     {"original_membrane", f.original_membrane},
                     {"converted_membrane", f.converted_membrane},
                     {"threshold", f.threshold},
                     {"margin", f.margin},
                     {"margin_steps", f.margin_steps}});
  return {{"input_shape", v.input_shape},
          {"inputs", v.inputs},
          {"samples", v.samples},
          {"compared_spikes", v.compared_spikes},
          {"flip_count", v.flip_count},
          {"flips", flips},
          {"excused_differences", v.excused_differences},
          {"samples_with_flips", v.samples_with_flips},
          {"max_abs_difference", v.max_abs_difference},
          {"max_rel_difference", v.max_rel_difference},
          {"limit", v.limit},
          {"spike_count_difference", v.spike_count_difference},
          {"failure", v.failure},
          {"ok", v.ok}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Convert a trained TernarySpike ONNX model into the inference model: fold "
      "BatchNorm and spike amplitudes into weights.",
      "tsconvert"};
  std::string input_path, output_path, reference_arch, keep_export;
  bool verify_outputs = false, strict = false, quiet = false, json = false;
  std::string weights;
  VerifyOptions verify_options;
  int width = 0, timesteps = 0, image_size = 0;
  std::string labels, mean, stdev;
  app.add_option("input", input_path, "Trained model (.onnx), or with --from-reference a checkpoint (.pth)")
      ->required();
  app.add_option("-o,--output", output_path, "Where to write the inference model")->required();
  app.add_flag("--verify", verify_outputs,
               "Run the original and the converted model on random inputs and compare their spike maps "
               "and outputs under the format's equality rule");
  app.add_option("--verify-inputs", verify_options.inputs, "Random inputs for --verify (default 3)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--verify-batch", verify_options.batch, "Samples per random input (default 2)")
      ->check(CLI::Range(1, 4096));
  app.add_flag("--strict", strict, "Fail when an amplitude cannot be folded");
  int64_t fold_pools = kDefaultFoldPoolMaxWindow;
  app.add_option("--fold-pools", fold_pools,
                 "Fold an average pool of spikes of at most this many inputs into the layer it feeds "
                 "(0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option(
         "--weights", weights,
         "Event-driven layers' weights at run time: fp32 (exact, the default) or fp16 (half the bytes, "
         "rounded; metadata tspike.weights; --verify then checks the folding on the dense engine)")
      ->check(CLI::IsMember({"fp32", "fp16"}));
  app.add_flag("-q,--quiet", quiet, "Print only errors and a failed verification");
  app.add_flag("--json", json, "Print the report (and the verification) as one JSON object");
  auto* ref = app.add_option_group("From a checkpoint of the Ternary-Spike reference code");
  ref->add_option("--from-reference", reference_arch,
                  "The input is the state_dict its training script saved, of this architecture: resnet19, "
                  "resnet20, resnet20_modified, vgg16 (or resnet19_cifar, resnet20_cifar, "
                  "resnet20_cifar_modified, vgg16_bn); needs /usr/bin/python3 with PyTorch");
  ref->add_option("--width", width, "Channels of its first layer (default: read from the checkpoint)");
  ref->add_option("--timesteps", timesteps, "T (default 4)");
  ref->add_option("--image-size", image_size, "Input height and width (default 32)");
  ref->add_option("--labels", labels, "Class names, comma-separated, or cifar10");
  ref->add_option("--mean", mean, "Per-channel mean of the input normalization, e.g. 0.4914,0.4822,0.4465");
  ref->add_option("--std", stdev, "Per-channel std of the input normalization, e.g. 0.2470,0.2435,0.2616");
  ref->add_option("--keep-export", keep_export,
                  "Also keep the exported trained model (before conversion) here");
  app.footer(
      "Examples:\n"
      "  tsconvert trained.onnx -o inference.onnx\n"
      "  tsconvert trained.onnx -o inference.onnx --verify --strict\n"
      "  tsconvert trained.onnx -o inference.onnx --fold-pools 0    # keep every average pool\n"
      "  tsconvert trained.onnx -o inference.onnx --verify --json\n"
      "  tsconvert inference.onnx -o inference_fp16.onnx --weights fp16\n"
      "  tsconvert --from-reference resnet19 ckpt.pth -o resnet19.onnx --verify --labels cifar10\n"
      "\n"
      "The output is written only when everything succeeded (with --verify: when the models are\n"
      "equal under the format's rule); --verify failing exits 1 and leaves no output file.");

  return tspike::cli::run_tool(app, argc, argv, [&]() -> int {
    ConvertOptions options;
    options.strict = strict;
    options.fold_pool_max_window = fold_pools;
    options.weights = weights;
    tspike::cli::Progress progress(!quiet && !json);
    nlohmann::json j;

    // --from-reference: export the checkpoint to a trained-form model first.
    std::unique_ptr<TempFile> exported;
    std::string trained_path = input_path;
    if (!reference_arch.empty()) {
      tspike::cli::ReferenceExport e{reference_arch, input_path, {}, {}};
      if (keep_export.empty()) {
        exported = std::make_unique<TempFile>(output_path, "trained");
        e.output = exported->path();
      } else {
        e.output = keep_export;
      }
      auto add = [&](const char* flag, const std::string& value) {
        if (!value.empty()) e.options.insert(e.options.end(), {flag, value});
      };
      add("--width", width > 0 ? std::to_string(width) : "");
      add("--timesteps", timesteps > 0 ? std::to_string(timesteps) : "");
      add("--image-size", image_size > 0 ? std::to_string(image_size) : "");
      add("--labels", labels);
      add("--mean", mean);
      add("--std", stdev);
      progress.show(fmt::format("exporting {} as {}", input_path, reference_arch));
      const auto notes = tspike::cli::export_reference_checkpoint(e);
      progress.clear();
      trained_path = e.output;
      if (json)
        j["reference"] = {{"arch", reference_arch}, {"checkpoint", input_path}, {"notes", notes}};
      else if (!quiet)
        for (const auto& n : notes) fmt::print("{}\n", n);
    } else if (width || timesteps || image_size || !labels.empty() || !mean.empty() || !stdev.empty() ||
               !keep_export.empty()) {
      throw CLI::ValidationError(
          "--width, --timesteps, --image-size, --labels, --mean, --std and --keep-export "
          "go with --from-reference");
    }

    TempFile converted_file(output_path, "tmp");
    // Errors name the files the user knows: the output, not its temporary
    // name; the checkpoint, not the temporary export of it.
    // Loading the converted model refuses what the input holds (an op
    // tspike does not run): that error is about the input.
    auto named = [&](const Error& e, bool about_input = false) {
      std::string m = e.what();
      auto swap = [&m](const std::string& from, const std::string& to) {
        for (size_t at = 0; !from.empty() && (at = m.find(from, at)) != std::string::npos; at += to.size())
          m.replace(at, from.size(), to);
      };
      swap(converted_file.path(),
           about_input ? (exported ? input_path + " (exported as " + reference_arch + ")" : trained_path)
                       : output_path);
      if (exported) swap(exported->path(), input_path + " (exported as " + reference_arch + ")");
      return Error(e.code(), m);
    };
    progress.show(fmt::format("converting {}", trained_path));
    ConversionReport report;
    std::shared_ptr<const Model> converted;
    try {
      report = convert_file(trained_path, converted_file.path(), options);
    } catch (const Error& e) {
      throw named(e);
    }
    try {
      converted = Model::load(converted_file.path());
    } catch (const Error& e) {
      throw named(e, true);
    }
    progress.clear();
    if (json) {
      nlohmann::json r = report_json(report, converted->info());
      if (j.contains("reference")) r["reference"] = j["reference"];
      j = std::move(r);
      j["input"] = input_path;
      j["output"] = output_path;
    } else if (!quiet) {
      print_report(report, converted->info());
    }
    ConversionCheck v;
    if (verify_outputs) {
      verify_options.converted_name = output_path;
      try {
        v = verify_conversion(
            trained_path, converted_file.path(), [&](const std::string& what) { progress.show(what); },
            verify_options);
      } catch (const Error& e) {
        throw named(e);
      }
      progress.clear();
      if (json)
        j["verify"] = verification_json(v);
      else if (!quiet || !v.ok)
        print_verification(v, !quiet);
    }
    if (verify_outputs && !v.ok) {
      if (json) fmt::print("{}\n", j.dump(2));
      fmt::print(stderr, "tsconvert: error: verification failed ({} not written): {}\n", output_path,
                 v.failure);
      return tspike::cli::kExitError;
    }
    converted_file.commit(output_path);
    if (json)
      fmt::print("{}\n", j.dump(2));
    else if (!quiet)
      fmt::print("wrote {}\n", output_path);
    return tspike::cli::kExitOk;
  });
}
