// SPDX-License-Identifier: Apache-2.0
// tsrun: run a TernarySpike model on an image or a .npy tensor and print the
// top classes, the time per inference and the firing rates.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "tools/batch_inputs.hpp"
#include "tools/cli_common.hpp"
#include "tools/output_file.hpp"
#include "tools/profile_report.hpp"
#include "tools/ranking.hpp"
#include "tools/trace.hpp"
#include "tools/tsrun_events.hpp"
#include "tspike/tspike.hpp"

namespace {

using namespace tspike;

using cli::label_of;
using cli::top_classes;

nlohmann::json info_json(const ModelInfo& info) {
  nlohmann::json j;
  j["input"] = {{"name", info.input.name}, {"shape", info.input.shape}};
  for (const auto& o : info.outputs) j["outputs"].push_back({{"name", o.name}, {"shape", o.shape}});
  j["metadata"] = info.metadata.raw;
  j["timesteps"] = info.metadata.timesteps;
  j["encoding"] = to_string(info.metadata.encoding);
  j["readout"] = to_string(info.metadata.readout);
  j["op_counts"] = info.op_counts;
  j["spiking"] = !info.spike_nodes.empty();
  if (const std::string note = cli::not_spiking_note(info); !note.empty()) j["notes"].push_back(note);
  for (const auto& l : info.layers)
    j["layers"].push_back({{"node", l.node},
                           {"op", l.op_type},
                           {"multiplication_free", l.multiplication_free},
                           {"why", l.why},
                           {"kernel", l.kernel}});
  j["folded"] = info.conversion.folded;
  for (const auto& [node, why] : info.conversion.kept_amplitudes)
    j["kept_amplitudes"].push_back({{"node", node}, {"why", why}});
  for (const auto& [edge, why] : info.conversion.kept_pools)
    j["kept_pools"].push_back({{"edge", edge}, {"why", why}});
  return j;
}

void print_info(const ModelInfo& info) {
  fmt::print("model: {}\n", info.path);
  fmt::print("input: {} {}\n", info.input.name, shape_to_string(info.input.shape));
  for (const auto& o : info.outputs) fmt::print("output: {} {}\n", o.name, shape_to_string(o.shape));
  fmt::print("timesteps: {}  encoding: {}  readout: {}\n", info.metadata.timesteps,
             to_string(info.metadata.encoding), to_string(info.metadata.readout));
  for (const auto& [key, value] : info.metadata.raw) fmt::print("metadata {} = {}\n", key, value);
  fmt::print("ops:");
  for (const auto& [op, count] : info.op_counts) fmt::print(" {} x{}", op, count);
  fmt::print("\n");
  fmt::print("layers:\n");
  for (const auto& l : info.layers)
    fmt::print("  {:<24} {:<7} {:<25} {}\n  {:<24} kernel: {}\n", l.node, l.op_type,
               l.multiplication_free ? "multiplication-free" : "multiplicative", l.why, "", l.kernel);
  if (const std::string note = cli::not_spiking_note(info); !note.empty()) fmt::print("note: {}\n", note);
  if (info.conversion.already_reparameterized)
    fmt::print("re-parameterized: yes (by tsconvert)\n");
  else
    fmt::print("re-parameterized at load: {} folds\n", info.conversion.folded.size());
  for (const auto& [node, why] : info.conversion.kept_amplitudes)
    fmt::print("  amplitude kept: {}: {}\n", node, why);
  for (const auto& [edge, why] : info.conversion.kept_pools)
    fmt::print("  average pool kept: {}: {}\n", edge, why);
}

nlohmann::json number_or_null(float v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a TernarySpike model over T timesteps and classify an input.", "tsrun"};
  std::string model_path;
  std::vector<std::string> inputs;
  int timesteps = 0, top = 5, threads = 1, batch = 0;
  bool json = false, info_only = false, quiet = false, profile = false, layer_major = false,
       timestep_major = false;
  std::string report_path;
  LoadOptions load_options;
  app.add_option("model", model_path, "Model file (.onnx)")->required();
  app.add_option(
      "-i,--input", inputs,
      "Image (PNG, JPEG, BMP, PGM/PPM) or float32 .npy tensor; several files, a folder (its images "
      "sorted by name) or a quoted glob run in batches, one line per file");
  app.add_option("-b,--batch", batch,
                 fmt::format("Samples per run with several inputs (default {})", cli::default_batch_size()))
      ->check(CLI::Range(1, 100000));
  app.add_option("-t,--timesteps", timesteps, "Timesteps T (default: the model's tspike.timesteps)")
      ->check(CLI::Range(1, Limits{}.max_timesteps));
  app.add_option("-k,--top", top, "Classes to print per sample")->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "Worker threads")->check(CLI::Range(1, 256));
  auto* by_layer =
      app.add_flag("--layer-major", layer_major,
                   "Run layer by layer, each layer's T timesteps back to back (same outputs; T times the "
                   "activations; default where the weights pass the L2 and the copies take <= 64 MiB)");
  app.add_flag("--timestep-major", timestep_major, "Run timestep by timestep (same outputs)")
      ->excludes(by_layer);
  app.add_flag("--json", json, "Print one JSON object (several inputs: one per file, JSON Lines)");
  app.add_flag("--info", info_only, "Print the model's input, outputs, metadata and layers");
  app.add_flag("-q,--quiet", quiet, "Print only the predicted class per sample");
  std::string trace_dir;
  app.add_option("--trace", trace_dir,
                 "Write every TernarySpike node's output and every graph output at every timestep as .npy "
                 "files [T, N, ...] into this folder, with trace.json naming them");
  app.add_flag(
      "--profile", profile,
      "Print per-layer time, spike density, synaptic operations and energy (with --json: in the JSON)");
  app.add_option("--report", report_path, "Write the profile as a self-contained HTML page with charts");
  std::string engine = "auto", isa = "best";
  app.add_option("--engine", engine,
                 "Layers fed by spikes: event (add/subtract a weight row per spike), dense (fp32), or auto "
                 "(event-driven, dense for a Conv timestep denser than the measured crossover)")
      ->check(CLI::IsMember({"auto", "event", "dense"}));
  app.add_option("--isa", isa, "Most the optimized kernels may use of the CPU (TSPIKE_ISA caps it too)")
      ->check(CLI::IsMember({"best", "avx512", "avx2", "portable"}));
  tspike::cli::add_limit_options(app, load_options.limits);
  cli::EventOptions events;
  cli::add_event_options(app, events, load_options.limits);
  app.footer(
      "Examples:\n"
      "  tsrun models/fashion_tsnet.onnx --input models/samples/fashion_0_ankle_boot.png\n"
      "  tsrun model.onnx --input x.npy --timesteps 8 --json\n"
      "  tsrun models/fashion_tsnet.onnx --input models/samples/ --json    (one JSON line per image)\n"
      "  tsrun model.onnx --input 'photos/*.png' --batch 64\n"
      "  tsrun model.onnx --input x.npy --engine dense --isa avx2\n"
      "  tsrun model.onnx --input x.npy --trace trace/    (spike maps for comparing with PyTorch)\n"
      "  tsrun model.onnx --input x.npy --profile --report profile.html\n"
      "  tsrun model.onnx --info\n"
      "  tsrun models/fashion_events.onnx --events models/samples/events/fashion_events_0_ankle_boot.bin "
      "--stream");

  return tspike::cli::run_tool(app, argc, argv, [&]() -> int {
    load_options.engine = engine == "event"   ? Engine::kEvent
                          : engine == "dense" ? Engine::kDense
                                              : Engine::kAuto;
    load_options.max_isa = isa == "avx512"     ? InstructionSet::kAvx512
                           : isa == "avx2"     ? InstructionSet::kAvx2
                           : isa == "portable" ? InstructionSet::kPortable
                                               : InstructionSet::kBest;
    auto model = Model::load(model_path, load_options);
    const ModelInfo& info = model->info();
    if (info_only) {
      if (json)
        fmt::print("{}\n", info_json(info).dump(2));
      else
        print_info(info);
      return 0;
    }
    if (cli::is_batch_request(inputs)) {
      if (!events.path.empty() || !trace_dir.empty() || profile || !report_path.empty())
        throw Error(ErrorCode::kBadInput, "--events, --trace, --profile and --report take one input");
      Session session(model, SessionOptions{.timesteps = timesteps,
                                            .threads = threads,
                                            .layer_major = layer_major,
                                            .timestep_major = timestep_major});
      return cli::run_batch(session, cli::expand_inputs(inputs),
                            {.batch = batch, .top = top, .json = json, .quiet = quiet});
    }
    const std::string input_path = inputs.empty() ? "" : inputs.front();
    if (input_path.empty() == events.path.empty())
      throw Error(ErrorCode::kBadInput, "give one input: --input FILE or --events FILE (or --info)");
    const std::string ext = std::filesystem::path(input_path).extension().string();
    cli::EventInput recording;
    if (!events.path.empty()) recording = cli::load_event_input(events, *model);
    ImagePreprocessing preprocessing;
    const bool image = events.path.empty() && ext != ".npy";
    Tensor input = !events.path.empty() ? std::move(recording.input)
                   : ext == ".npy"      ? load_npy(input_path, model->limits())
                                        : load_image(input_path, info, model->limits(), &preprocessing);

    Session session(model, SessionOptions{.timesteps = timesteps,
                                          .threads = threads,
                                          .profile = profile || !report_path.empty(),
                                          .layer_major = layer_major,
                                          .timestep_major = timestep_major});
    if (events.stream) {
      recording.input = std::move(input);
      return cli::stream_events(session, recording, {.json = json, .quiet = quiet, .top = top});
    }
    // Profiled: one run first, so that one-time kernel setup (oneDNN's first
    // call) does not count as a layer's time.
    if (profile || !report_path.empty()) session.run(input);
    auto outputs =
        trace_dir.empty() ? session.run(input) : cli::run_traced(session, input, trace_dir, timesteps);
    const RunStats stats = session.stats();
    Profile run_profile;
    if (profile || !report_path.empty()) run_profile = session.profile();
    const auto ranked = top_classes(outputs.at(0), top);
    if (!report_path.empty()) {
      cli::ReportRun run{events.path.empty() ? input_path : events.path, input.shape, {}};
      for (const auto& sample : ranked)
        run.predictions.push_back(
            {sample.front().index, label_of(info, sample.front().index), sample.front().probability});
      cli::write_file(report_path, cli::profile_html(run_profile, info, run));
    }
    // Notes after the run, so that a failure stays one line on stderr.
    if (const std::string note = cli::not_spiking_note(info); !note.empty() && !quiet)
      fmt::print(stderr, "tsrun: note: {}\n", note);
    if (!preprocessing.notes.empty() && !quiet)
      fmt::print(stderr, "tsrun: note: image '{}' ({}x{}): {}\n", input_path, preprocessing.width,
                 preprocessing.height, fmt::join(preprocessing.notes, "; "));

    if (json) {
      nlohmann::json j;
      j["outputs"] = nlohmann::json::array();
      for (const auto& o : outputs) {
        nlohmann::json data = nlohmann::json::array();
        for (float v : o.data) data.push_back(number_or_null(v));
        j["outputs"].push_back({{"name", o.name}, {"shape", o.shape}, {"data", std::move(data)}});
      }
      j["timesteps"] = stats.timesteps;
      j["top"] = nlohmann::json::array();
      for (const auto& sample : ranked) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : sample)
          list.push_back(
              {{"index", r.index}, {"label", label_of(info, r.index)}, {"probability", r.probability}});
        j["top"].push_back(std::move(list));
      }
      j["firing_rates"] = nlohmann::json::object();
      for (const auto& [node, rate] : stats.firing_rates) j["firing_rates"][node] = rate;
      j["time_ms"] = stats.time_ms;
      if (image)
        j["preprocessing"] = {{"width", preprocessing.width},
                              {"height", preprocessing.height},
                              {"channels", preprocessing.channels},
                              {"resize", to_string(info.metadata.image_resize)},
                              {"center_crop", info.metadata.image_center_crop},
                              {"notes", preprocessing.notes}};
      if (profile) j["profile"] = cli::profile_json(run_profile);
      fmt::print("{}\n", j.dump(2));
      return 0;
    }
    for (size_t s = 0; s < ranked.size(); ++s) {
      const auto& best = ranked[s].front();
      if (quiet) {
        fmt::print("{}\n", label_of(info, best.index));
        continue;
      }
      fmt::print("sample {}: {} (class {}, p = {:.4f})\n", s, label_of(info, best.index), best.index,
                 best.probability);
      for (size_t r = 1; r < ranked[s].size(); ++r)
        fmt::print("    {:<20} (class {}, p = {:.4f})\n", label_of(info, ranked[s][r].index),
                   ranked[s][r].index, ranked[s][r].probability);
    }
    if (!quiet) {
      fmt::print("timesteps: {}  batch: {}  time: {:.3f} ms per inference\n", stats.timesteps, stats.batch,
                 stats.time_ms);
      fmt::print("firing rate: {:.2f}% (", 100 * stats.mean_firing_rate);
      for (size_t k = 0; k < stats.firing_rates.size(); ++k)
        fmt::print("{}{} {:.2f}%", k ? ", " : "", stats.firing_rates[k].first,
                   100 * stats.firing_rates[k].second);
      fmt::print(")\n");
    }
    if (profile) fmt::print("{}", cli::profile_table(run_profile));
    return 0;
  });
}
