// SPDX-License-Identifier: Apache-2.0
// tsrun --events / --stream (tools/tsrun_events.hpp).
#include "tools/tsrun_events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tools/output_file.hpp"

namespace tspike::cli {
namespace {

struct Ranked {
  int64_t index;
  double probability;
};

// Top-k of the softmax of sample 0 of an output.
std::vector<Ranked> top_of(const Tensor& out, int k) {
  const int64_t n = out.shape.empty() ? 1 : std::max<int64_t>(out.shape[0], 1);
  const int64_t classes = int64_t(out.data.size()) / n;
  double top = -INFINITY, sum = 0;
  for (int64_t c = 0; c < classes; ++c) top = std::max(top, double(out.data[c]));
  std::vector<Ranked> ranked;
  for (int64_t c = 0; c < classes; ++c) {
    ranked.push_back({c, std::exp(double(out.data[c]) - top)});
    sum += ranked.back().probability;
  }
  for (auto& r : ranked) r.probability /= sum;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& a, const Ranked& b) { return a.probability > b.probability; });
  ranked.resize(std::min<size_t>(ranked.size(), size_t(k)));
  return ranked;
}

std::string label(const ModelInfo& info, int64_t index) {
  return index < int64_t(info.metadata.labels.size()) ? info.metadata.labels[index]
                                                      : fmt::format("class {}", index);
}

}  // namespace

void add_event_options(CLI::App& app, EventOptions& options, Limits& limits) {
  auto* events =
      app.add_option("--events", options.path,
                     "Event-camera recording, binned into frames as the model's tspike.events metadata says: "
                     "N-MNIST/N-Caltech101 .bin (40-bit events), NumPy .npy/.npz (fields t, x, y, p), "
                     "Prophesee EVT 2.0 .raw");
  app.add_option("--event-format", options.format,
                 "Format of --events (auto: by extension; others are N-MNIST)")
      ->check(CLI::IsMember({"auto", "nmnist", "numpy", "evt2"}))
      ->needs(events);
  app.add_flag("--stream", options.stream,
               "With --events: feed the frames one by one (Session::step) and print the running prediction "
               "after each frame (JSON Lines with --json)")
      ->needs(events);
  app.add_option("--save-frames", options.save_frames,
                 "With --events: write the frames [T, 1, ...] as float32 .npy")
      ->needs(events);
  static const Limits defaults;
  app.add_option("--max-events", limits.max_events,
                 fmt::format("Most events in one recording (default {})", defaults.max_events))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
}

EventInput load_event_input(const EventOptions& options, const Model& model) {
  const EventFormat format = options.format == "nmnist"  ? EventFormat::kNMnist
                             : options.format == "numpy" ? EventFormat::kNumpy
                             : options.format == "evt2"  ? EventFormat::kEvt2
                                                         : EventFormat::kAuto;
  EventInput in;
  in.events = read_events(options.path, format, model.limits()).events;
  in.slices = event_slices(in.events, event_binning(model.info()), model.limits());
  in.input = events_to_input(in.events, model.info(), model.limits());
  if (!options.save_frames.empty()) write_npy_file(options.save_frames, in.input);
  return in;
}

int stream_events(Session& session, const EventInput& in, const StreamPrint& print) {
  const ModelInfo& info = session.model().info();
  const int64_t frames = in.input.shape.at(0);
  Shape frame_shape(in.input.shape.begin() + 1, in.input.shape.end());
  const int64_t frame_size = element_count(frame_shape);
  Tensor frame(frame_shape);
  std::vector<Tensor> step_outputs;
  double total_ms = 0;
  session.reset();
  for (int64_t t = 0; t < frames; ++t) {
    std::copy_n(in.input.data.begin() + t * frame_size, frame_size, frame.data.begin());
    const auto start = std::chrono::steady_clock::now();
    session.step(frame, step_outputs);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    total_ms += ms;
    const std::vector<Tensor> running = session.readout();
    const auto ranked = top_of(running.at(0), print.top);
    const auto [first, end] = in.slices.at(t);
    if (print.json) {
      nlohmann::ordered_json j;
      j["frame"] = t + 1;
      j["frames"] = frames;
      j["events"] = {first, end};
      j["t_us"] = first < end ? nlohmann::ordered_json::array({in.events[first].t, in.events[end - 1].t})
                              : nlohmann::ordered_json(nullptr);
      j["top"] = nlohmann::ordered_json::array();
      for (const auto& r : ranked)
        j["top"].push_back(
            {{"index", r.index}, {"label", label(info, r.index)}, {"probability", r.probability}});
      nlohmann::ordered_json data = nlohmann::ordered_json::array();
      for (float v : running[0].data)
        data.push_back(std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr));
      j["readout"] = {{"name", running[0].name}, {"shape", running[0].shape}, {"data", std::move(data)}};
      j["step_ms"] = ms;
      fmt::print("{}\n", j.dump());
    } else if (print.quiet) {
      fmt::print("{}\n", label(info, ranked.front().index));
    } else {
      fmt::print("frame {}/{} (events [{}, {}){}): {} (class {}, p = {:.4f})\n", t + 1, frames, first, end,
                 first < end ? fmt::format(", t {}..{} us", in.events[first].t, in.events[end - 1].t)
                             : std::string(),
                 label(info, ranked.front().index), ranked.front().index, ranked.front().probability);
    }
    std::fflush(stdout);
  }
  if (!print.json && !print.quiet) {
    const RunStats stats = session.stats();
    fmt::print(
        "frames: {}  time: {:.3f} ms in step() ({:.3f} ms per frame; the first plans memory)  "
        "firing rate: {:.2f}%\n",
        stats.timesteps, total_ms, total_ms / double(std::max<int64_t>(frames, 1)),
        100 * stats.mean_firing_rate);
  }
  return 0;
}

}  // namespace tspike::cli
