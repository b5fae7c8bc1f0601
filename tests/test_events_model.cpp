// SPDX-License-Identifier: Apache-2.0
// The shipped event-camera model (models/fashion_events.onnx) on its sample
// recordings: every format classifies the same, streaming frame by frame
// equals one run, the running predictions equal PyTorch's, and tsrun
// --events / --stream as a user runs them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string model_path() { return test::source_path("models/fashion_events.onnx"); }
std::string sample(int i) {
  static const char* names[] = {"0_ankle_boot", "1_pullover", "2_trouser", "3_trouser"};
  return test::source_path(std::string("models/samples/events/fashion_events_") + names[i] + ".bin");
}
std::string tsrun() { return test::tools_dir() + "/tsrun"; }

// PyTorch's prediction after each frame ([T, 10000] float32) for test recording i.
std::vector<int> golden_running(int i) {
  const Tensor g = load_npy(test::source_path("models/golden/fashion_events.running_predictions.npy"));
  std::vector<int> out;
  for (int64_t t = 0; t < g.shape[0]; ++t) out.push_back(int(g.data[t * g.shape[1] + i]));
  return out;
}

int argmax(const Tensor& t) { return int(std::max_element(t.data.begin(), t.data.end()) - t.data.begin()); }

TEST(EventsModel, MetadataAndEveryFormat) {
  const auto model = Model::load(model_path());
  const EventBinning b = event_binning(model->info());
  EXPECT_EQ(b.width, 34);
  EXPECT_EQ(b.polarities, 2);
  EXPECT_EQ(b.slicing, EventBinning::Slicing::kTimeBins);
  EXPECT_EQ(b.bins, model->info().metadata.timesteps);
  const auto bin = read_events(sample(0)).events;
  ASSERT_GT(bin.size(), 1000u);
  for (const char* ext : {".npy", ".npz", ".raw"}) {
    const std::string path = sample(0).substr(0, sample(0).size() - 4) + ext;
    const auto other = read_events(path).events;
    ASSERT_EQ(other.size(), bin.size()) << path;
    for (std::size_t i = 0; i < bin.size(); ++i) {
      ASSERT_EQ(other[i].t, bin[i].t) << path << " event " << i;
      ASSERT_EQ(other[i].x, bin[i].x) << path;
      ASSERT_EQ(other[i].y, bin[i].y) << path;
      ASSERT_EQ(other[i].p, bin[i].p) << path;
    }
  }
}

// Frame by frame through step(): the running readout after k frames is
// bitwise a run() over the first k frames, and its prediction is PyTorch's
// after k frames.
TEST(EventsModel, StreamingEqualsRunAndPyTorch) {
  const auto model = Model::load(model_path());
  for (int i = 0; i < 4; ++i) {
    const Tensor input = events_to_input(read_events(sample(i)).events, model->info());
    const int64_t frames = input.shape[0], size = element_count(input.shape) / frames;
    const std::vector<int> golden = golden_running(i);
    ASSERT_EQ(int64_t(golden.size()), frames);
    Session stream(model), batch(model);
    stream.reset();
    for (int64_t t = 0; t < frames; ++t) {
      Shape frame_shape(input.shape.begin() + 1, input.shape.end());
      stream.step(Tensor(frame_shape, {input.data.begin() + t * size, input.data.begin() + (t + 1) * size}));
      Shape first_shape = input.shape;
      first_shape[0] = t + 1;
      const auto ran =
          batch.run(Tensor(first_shape, {input.data.begin(), input.data.begin() + (t + 1) * size}));
      const auto running = stream.readout();
      EXPECT_EQ(running[0].data, ran[0].data) << "sample " << i << " after frame " << t + 1;
      EXPECT_EQ(argmax(running[0]), golden[t]) << "sample " << i << " after frame " << t + 1;
    }
  }
}

// Threads, engines and order change nothing: the four recordings one at a
// time and as one batch of four (whole samples per thread), at 1, 2 and 3
// threads, event and dense engines, layer by layer and timestep by
// timestep, give bitwise the outputs and spike counts of one thread.
TEST(EventsModel, ThreadsEnginesAndOrderGiveTheSameOutputs) {
  for (Engine engine : {Engine::kEvent, Engine::kDense}) {
    const auto model = Model::load(model_path(), LoadOptions{.engine = engine});
    std::vector<Tensor> inputs;
    for (int i = 0; i < 4; ++i)
      inputs.push_back(events_to_input(read_events(sample(i)).events, model->info()));
    // [T, 1, ...] each -> [T, 4, ...]
    const Shape& one = inputs[0].shape;
    const int64_t frames = one[0], size = element_count(one) / frames;
    Shape four = one;
    four[1] = 4;
    Tensor batch(four, std::vector<float>(size_t(frames * 4 * size)));
    for (int64_t t = 0; t < frames; ++t)
      for (int i = 0; i < 4; ++i)
        std::copy_n(inputs[i].data.begin() + t * size, size, batch.data.begin() + (t * 4 + i) * size);
    inputs.push_back(batch);
    for (size_t k = 0; k < inputs.size(); ++k) {
      Session reference(model, SessionOptions{.threads = 1, .timestep_major = true});
      const auto want = reference.run(inputs[k]);
      const auto want_counts = reference.stats().spike_counts;
      for (int threads : {1, 2, 3})
        for (bool layer_major : {false, true}) {
          Session s(
              model,
              SessionOptions{.threads = threads, .layer_major = layer_major, .timestep_major = !layer_major});
          const auto got = s.run(inputs[k]);
          ASSERT_EQ(got.size(), want.size());
          const std::string what = (engine == Engine::kEvent ? "event" : "dense") + std::string(", input ") +
                                   std::to_string(k) + ", " + std::to_string(threads) + " threads, " +
                                   (layer_major ? "layer by layer" : "timestep by timestep");
          for (size_t o = 0; o < want.size(); ++o) EXPECT_EQ(got[o].data, want[o].data) << what;
          EXPECT_EQ(s.stats().spike_counts, want_counts) << what;
          EXPECT_EQ(s.stats().layer_major, layer_major) << what;
        }
    }
  }
}

TEST(EventsModel, TsrunEveryFormat) {
  const auto model = Model::load(model_path());
  const std::string label = model->info().metadata.labels.at(golden_running(0).back());
  for (const char* ext : {".bin", ".npy", ".npz", ".raw"}) {
    const std::string path = sample(0).substr(0, sample(0).size() - 4) + ext;
    auto r = test::run_command(tsrun() + " " + model_path() + " --events " + path + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << path << ": " << r.err;
    EXPECT_EQ(r.out, label + "\n") << path;
  }
}

TEST(EventsModel, TsrunStreamJsonLines) {
  const auto model = Model::load(model_path());
  const int frames = model->info().metadata.timesteps;
  for (int i = 0; i < 4; ++i) {
    auto r = test::run_command(tsrun() + " " + model_path() + " --events " + sample(i) +
                               " --stream --json --top 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    const std::vector<int> golden = golden_running(i);
    int k = 0;
    int64_t last_end = 0;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);  // one JSON object per line
      ASSERT_LT(k, frames);
      EXPECT_EQ(j["frame"], k + 1);
      EXPECT_EQ(j["frames"], frames);
      EXPECT_EQ(j["events"][0], last_end);  // time bins are contiguous
      last_end = j["events"][1];
      EXPECT_EQ(j["top"].size(), 2u);
      EXPECT_EQ(j["top"][0]["index"], golden[k]) << "sample " << i << " frame " << k + 1;
      EXPECT_EQ(j["readout"]["shape"], nlohmann::json({1, 10}));
      ++k;
    }
    EXPECT_EQ(k, frames);
    // The last line's readout is what a plain --json run prints.
    auto whole = test::run_command(tsrun() + " " + model_path() + " --events " + sample(i) + " --json");
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    const auto last = nlohmann::json::parse(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1));
    EXPECT_EQ(last["readout"]["data"], nlohmann::json::parse(whole.out)["outputs"][0]["data"]);
  }
}

TEST(EventsModel, TsrunErrors) {
  const std::string dir = test::temp_dir("events_cli");
  const std::string truncated = dir + "/truncated.bin";
  {
    std::ofstream out(truncated, std::ios::binary);
    out << "\x01\x02\x03";
  }
  auto r = test::run_command(tsrun() + " " + model_path() + " --events " + truncated);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("truncated.bin"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5-byte events"), std::string::npos) << r.err;
  // A model without event metadata.
  r = test::run_command(tsrun() + " " + test::source_path("models/fashion_tsnet.onnx") + " --events " +
                        sample(0));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tspike.events.sensor_size"), std::string::npos) << r.err;
  // --stream without --events is a usage error; so are two inputs.
  r = test::run_command(tsrun() + " " + model_path() + " --stream");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = test::run_command(tsrun() + " " + model_path() + " --events " + sample(0) + " --input " + sample(1));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("give one input"), std::string::npos) << r.err;
  // The limit on events is checked before the events are read.
  r = test::run_command(tsrun() + " " + model_path() + " --events " + sample(0) + " --max-events 100");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("more than the limit of 100"), std::string::npos) << r.err;
  // --help names the formats.
  r = test::run_command(tsrun() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* f : {"N-MNIST", ".npz", "EVT 2.0"}) EXPECT_NE(r.out.find(f), std::string::npos) << f;
}

}  // namespace
}  // namespace tspike
