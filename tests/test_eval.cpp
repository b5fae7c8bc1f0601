// SPDX-License-Identifier: Apache-2.0
// Evaluation on a labeled test set: the IDX reader on small hand-written
// files, every bundled model on the whole Fashion-MNIST test set against
// PyTorch's predictions, and the tseval tool.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tests/test_util.hpp"
#include "tspike/dataset.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

namespace fs = std::filesystem;

// An IDX file of unsigned bytes: magic 0 0 type rank, big-endian dims, data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                      uint8_t type = 0x08) {
  std::string s = {0, 0, char(type), char(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) s += char((d >> shift) & 0xff);
  return s + std::string(data.begin(), data.end());
}

std::string write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// gzip is part of every Debian system; the tests need not link zlib.
std::string gzip(const std::string& path) {
  auto r = test::run_command("gzip -kf '" + path + "'");  // writes path.gz
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path + ".gz";
}

using test::expect_error;

// 3 images of 2 x 4 pixels, values 0..23, labels 7 8 9.
std::vector<uint8_t> pixels() {
  std::vector<uint8_t> p(24);
  for (size_t k = 0; k < p.size(); ++k) p[k] = uint8_t(k);
  return p;
}

TEST(Idx, ReadsPlainAndGzipFiles) {
  const std::string dir = test::temp_dir("idx");
  const std::string images = write(dir + "/t10k-images-idx3-ubyte", idx_bytes({3, 2, 4}, pixels()));
  const std::string labels = write(dir + "/t10k-labels-idx1-ubyte", idx_bytes({3}, {7, 8, 9}));
  for (const bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    LabeledImages set = gz ? load_idx(gzip(images), gzip(labels)) : load_idx(images, labels);
    EXPECT_EQ(set.count, 3);
    EXPECT_EQ(set.height, 2);
    EXPECT_EQ(set.width, 4);
    EXPECT_EQ(set.pixels, pixels());
    EXPECT_EQ(set.labels, (std::vector<uint8_t>{7, 8, 9}));
  }
  EXPECT_EQ(load_idx_dir(dir).count, 3);  // the plain files, next to the .gz
  fs::remove(images);
  fs::remove(labels);
  EXPECT_EQ(load_idx_dir(dir).pixels, pixels());  // now the .gz files
  EXPECT_EQ(read_idx(dir + "/t10k-labels-idx1-ubyte.gz", 1).dims, (std::vector<int64_t>{3}));
}

TEST(Idx, RefusesBadHeaders) {
  const std::string dir = test::temp_dir("idx_bad");
  std::string bad_magic = idx_bytes({3, 2, 4}, pixels());
  bad_magic[0] = 1;
  expect_error([&] { read_idx(write(dir + "/magic", bad_magic), 3); }, ErrorCode::kParse, {"magic"});
  expect_error(
      [&] {
        read_idx(write(dir + "/float", idx_bytes({3, 2, 4}, pixels(), 0x0d)), 3);
      },
      ErrorCode::kParse, {"unsigned bytes"});
  // A labels file where images are expected.
  expect_error([&] { read_idx(write(dir + "/rank", idx_bytes({24}, pixels())), 3); }, ErrorCode::kParse,
               {"dimensions"});
  expect_error(
      [&] {
        read_idx(write(dir + "/zero", idx_bytes({3, 0, 4}, {})), 3);
      },
      ErrorCode::kParse, {"is 0"});
  expect_error([&] { read_idx(write(dir + "/short", std::string("\0\0\x08", 3)), 3); }, ErrorCode::kParse,
               {"too short"});
  expect_error([&] { read_idx(write(dir + "/empty", ""), 1); }, ErrorCode::kParse, {"too short"});
  expect_error(
      [&] {
        read_idx(write(dir + "/dims", idx_bytes({3, 2, 4}, {}).substr(0, 9)), 3);
      },
      ErrorCode::kParse, {"inside the header"});
  expect_error([&] { read_idx(dir + "/no_such_file", 3); }, ErrorCode::kIO, {"no_such_file"});
  expect_error([&] { read_idx(dir, 3); }, ErrorCode::kIO, {"directory"});
  expect_error([&] { load_idx_dir(dir + "/no_such_dir"); }, ErrorCode::kIO, {"no_such_dir"});
  expect_error([&] { load_idx_dir(dir); }, ErrorCode::kIO, {"t10k-images-idx3-ubyte"});
  // Images and labels of different counts.
  expect_error(
      [&] {
        load_idx(write(dir + "/i", idx_bytes({3, 2, 4}, pixels())),
                 write(dir + "/l", idx_bytes({2}, {1, 2})));
      },
      ErrorCode::kParse, {"3 images, 2 labels"});
}

TEST(Idx, RefusesWrongDataLengths) {
  const std::string dir = test::temp_dir("idx_len");
  const std::string full = idx_bytes({3, 2, 4}, pixels());
  for (const bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    auto file = [&](const std::string& name, const std::string& bytes) {
      const std::string path = write(dir + "/" + name, bytes);
      return gz ? gzip(path) : path;
    };
    expect_error([&] { read_idx(file("truncated", full.substr(0, full.size() - 5)), 3); }, ErrorCode::kParse,
                 {"needs 24 bytes"});
    expect_error([&] { read_idx(file("long", full + "xy"), 3); }, ErrorCode::kParse, {"needs 24 bytes"});
  }
  // A .gz cut short inside the compressed stream.
  std::ifstream in(gzip(write(dir + "/whole", full)), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_error([&] { read_idx(write(dir + "/cut.gz", gz.substr(0, gz.size() - 10)), 3); }, ErrorCode::kParse,
               {"truncated"});
}

// A header claiming 2^31 images of 28 x 28 (1.7 TB) in a tiny file fails
// fast, without allocating for the claim: by the element limit, or, with
// the limit lifted, by the file length (plain) or the data read (gzip).
TEST(Idx, HugeHeaderClaimsAllocateNothing) {
  const std::string dir = test::temp_dir("idx_huge");
  const std::string plain = write(dir + "/huge", idx_bytes({1u << 31, 28, 28}, pixels()));
  const std::string gz = gzip(plain);
  for (const std::string& path : {plain, gz}) {
    SCOPED_TRACE(path);
    expect_error([&] { read_idx(path, 3); }, ErrorCode::kResourceLimit, {"2147483648"});
    Limits unlimited;
    unlimited.max_tensor_elements = INT64_MAX;
    expect_error([&] { read_idx(path, 3, unlimited); }, ErrorCode::kParse, {"the file has 24"});
  }
}

ModelInfo image_model(Shape input_shape) {
  ModelInfo info;
  info.path = "test";
  info.input = {"x", std::move(input_shape), {}};
  info.metadata.image_mean = {0.5f};
  info.metadata.image_std = {0.25f};
  return info;
}

TEST(Idx, ImagesToInputPreprocessesLikeLoadImage) {
  LabeledImages set{3, 2, 4, pixels(), {7, 8, 9}};
  Tensor x = images_to_input(set, 1, 2, image_model({-1, 3, 2, 4}));
  ASSERT_EQ(x.shape, (Shape{2, 3, 2, 4}));
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 8; ++i)
        EXPECT_EQ(x.data[(n * 3 + c) * 8 + i], (float(8 * (n + 1) + i) * (1.0f / 255.0f) - 0.5f) / 0.25f);
  expect_error(
      [&] {
        images_to_input(set, 0, 1, image_model({-1, 1, 28, 28}));
      },
      ErrorCode::kBadInput, {"not resized"});
  expect_error(
      [&] {
        images_to_input(set, 2, 2, image_model({-1, 1, 2, 4}));
      },
      ErrorCode::kBadInput, {"outside"});
  expect_error(
      [&] {
        images_to_input(set, 0, 1, image_model({-1, 8}));
      },
      ErrorCode::kBadInput, {"[N, C, H, W]"});
}

// ---- The bundled models on the whole Fashion-MNIST test set ----

std::string dataset_dir() {
  if (!fs::is_directory(kFashionMnistDir))
    ADD_FAILURE() << kFashionMnistDir << " is missing: install the Debian package dataset-fashion-mnist "
                  << "(scripts/install-deps.sh does)";
  return kFashionMnistDir;
}

// Every models/golden/NAME.test_predictions.npy whose models/NAME.onnx exists
// and takes images (an event-camera model's test set is made by a script:
// docs/events.md; tests/test_events_model.cpp checks its samples).
std::vector<std::string> models_with_test_predictions() {
  std::vector<std::string> names;
  const std::string suffix = ".test_predictions.npy";
  for (const auto& e : fs::directory_iterator(test::source_path("models/golden"))) {
    const std::string file = e.path().filename().string();
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string name = file.substr(0, file.size() - suffix.size());
    const std::string model = test::source_path("models/" + name + ".onnx");
    if (fs::exists(model) && !has_event_binning(Model::load(model)->info())) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The bar: at least 99.5% of predictions identical to PyTorch's, and
// the accuracy within 0.1 percentage points of PyTorch's on the same labels.
TEST(Eval, EveryModelMatchesPyTorchOnTheWholeTestSet) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const LabeledImages set = load_idx_dir(dir);
  ASSERT_EQ(set.count, 10000);
  const auto names = models_with_test_predictions();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const Tensor golden = load_npy(test::source_path("models/golden/" + name + ".test_predictions.npy"));
    ASSERT_EQ(golden.data.size(), size_t(set.count));
    auto model = Model::load(test::source_path("models/" + name + ".onnx"));
    Session session(model, {.threads = 2});
    const auto start = std::chrono::steady_clock::now();
    int64_t identical = 0, correct = 0, reference_correct = 0;
    Tensor input;
    std::vector<Tensor> outputs;
    for (int64_t first = 0; first < set.count; first += 500) {
      const int64_t n = std::min<int64_t>(500, set.count - first);
      images_to_input(set, first, n, model->info(), input);
      session.run(input, outputs);
      const int64_t classes = outputs.at(0).shape.at(1);
      for (int64_t s = 0; s < n; ++s) {
        const float* row = outputs[0].data.data() + s * classes;
        const float predicted = float(std::max_element(row, row + classes) - row);
        const float want = golden.data[first + s], label = set.labels[first + s];
        identical += predicted == want;
        correct += predicted == label;
        reference_correct += want == label;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[ tseval   ] " << name << ": accuracy " << correct / 100.0 << "% (PyTorch "
              << reference_correct / 100.0 << "%), " << identical << " / 10000 predictions identical, "
              << seconds << " s\n";
    EXPECT_GE(identical * 1000, set.count * 995) << identical << " of " << set.count << " identical";
    // 0.1 percentage points of 10,000 images is 10 images.
    EXPECT_LE(std::abs(correct - reference_correct) * 1000, set.count)
        << "tspike " << correct << " correct, PyTorch " << reference_correct;
  }
}

// The demo model over the whole test set (models/README.md): spike layers at
// <= 15% on average (nonzero spikes / neuron-timesteps over both layers), an
// energy estimate at least 2x below the same network as a dense ANN, and an
// accuracy at most 1 point below the dense-firing model's 89.50% (it was
// shipped with 88.55%).
TEST(Eval, DemoModelIsSparseOverTheTestSet) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const LabeledImages set = load_idx_dir(dir);
  auto model = Model::load(test::source_path("models/fashion_tsnet.onnx"));
  Session session(model, {.threads = 2, .profile = true});
  double spikes = 0, elements = 0, energy = 0, dense_energy = 0;
  int64_t correct = 0;
  Tensor input;
  std::vector<Tensor> outputs;
  for (int64_t first = 0; first < set.count; first += 1000) {
    const int64_t n = std::min<int64_t>(1000, set.count - first);
    images_to_input(set, first, n, model->info(), input);
    session.run(input, outputs);
    const Profile p = session.profile();
    for (const auto& node : p.nodes)
      if (node.op_type == "TernarySpike") {
        spikes += double(node.spikes);
        elements += double(p.timesteps) * double(element_count(node.output_shape));
      }
    energy += p.energy_pj;
    dense_energy += p.dense_energy_pj;
    const int64_t classes = outputs.at(0).shape.at(1);
    for (int64_t s = 0; s < n; ++s) {
      const float* row = outputs[0].data.data() + s * classes;
      correct += float(std::max_element(row, row + classes) - row) == set.labels[first + s];
    }
  }
  EXPECT_LE(spikes / elements, 0.15);
  EXPECT_GE(dense_energy / energy, 2.0) << "SNN " << energy << " pJ, dense ANN " << dense_energy << " pJ";
  EXPECT_GE(correct, 8850);
}

// The data set's first images are the PNG samples: both paths give the same input.
TEST(Eval, DataSetImagesEqualTheSamplePngs) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const LabeledImages set = load_idx_dir(dir);
  auto model = Model::load(test::source_path("models/fashion_tsnet.onnx"));
  const char* samples[] = {"fashion_0_ankle_boot.png", "fashion_1_pullover.png", "fashion_2_trouser.png",
                           "fashion_3_trouser.png"};
  for (int k = 0; k < 4; ++k) {
    Tensor png = load_image(test::source_path(std::string("models/samples/") + samples[k]), model->info());
    EXPECT_EQ(images_to_input(set, k, 1, model->info()).data, png.data) << samples[k];
  }
}

// ---- tseval ----

std::string tseval() { return test::tools_dir() + "/tseval"; }

TEST(Tseval, JsonReportsAccuracyTimeAndFiringRates) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const std::string out = test::temp_dir("tseval") + "/pred.npy";
  const std::string golden = test::source_path("models/golden/fashion_tsnet.test_predictions.npy");
  auto r =
      test::run_command(tseval() + " " + test::source_path("models/fashion_tsnet.onnx") + " --dataset " +
                        dir + " --limit 100 --batch 30 --json --predictions " + out + " --compare " + golden);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress when stderr is not a terminal
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 100);
  EXPECT_EQ(j["timesteps"], 4);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), j["correct"].get<double>() / 100);
  EXPECT_GT(j["accuracy"].get<double>(), 0.8);
  EXPECT_GT(j["time_ms_per_image"].get<double>(), 0.0);
  ASSERT_EQ(j["firing_rates"].size(), 2u);
  for (const auto& [node, rate] : j["firing_rates"].items()) {
    // The sparse demo: 9.6% and 24.2% over the whole test set.
    EXPECT_GT(rate.get<double>(), 0.05) << node;
    EXPECT_LT(rate.get<double>(), 0.35) << node;
  }
  EXPECT_GE(j["compare"]["identical"].get<int>(), 99);
  // The predictions file holds the classes the accuracy was counted from.
  Tensor pred = load_npy(out);
  ASSERT_EQ(pred.shape, (Shape{100}));
  const LabeledImages set = load_idx_dir(dir);
  int correct = 0;
  for (int k = 0; k < 100; ++k) correct += pred.data[k] == set.labels[k];
  EXPECT_EQ(j["correct"], correct);
}

TEST(Tseval, EnergyPerImageIsTheProfileOfThatImage) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const std::string model = test::source_path("models/fashion_tsnet.onnx");
  // Test image 0 is models/samples/fashion_0_ankle_boot.png (same input, checked above).
  auto e = test::run_command(tseval() + " " + model + " --dataset " + dir + " --limit 1 --json");
  auto p =
      test::run_command(test::tools_dir() + "/tsrun " + model + " --input " +
                        test::source_path("models/samples/fashion_0_ankle_boot.png") + " --profile --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto energy = nlohmann::json::parse(e.out)["energy"];
  const auto profile = nlohmann::json::parse(p.out)["profile"];
  EXPECT_EQ(energy["ac_per_image"].get<double>(), profile["ac"].get<double>());
  EXPECT_EQ(energy["mac_per_image"].get<double>(), profile["mac"].get<double>());
  EXPECT_EQ(energy["dense_ann_mac_per_image"].get<double>(), profile["dense_macs"].get<double>());
  EXPECT_NEAR(energy["nj_per_image"].get<double>(), profile["energy_pj"].get<double>() / 1000, 1e-6);
  EXPECT_NEAR(energy["ratio_dense_ann_to_snn"].get<double>(), profile["energy_ratio"].get<double>(), 1e-9);
}

TEST(Tseval, SeveralModelsMakeOneTable) {
  const std::string dir = dataset_dir();
  if (!fs::is_directory(dir)) return;
  const std::string a = test::source_path("models/fashion_tsnet.onnx");
  const std::string b = test::source_path("models/fashion_tsnet_binary.onnx");
  const std::string golden = test::source_path("models/golden");
  const std::string args = " --dataset " + dir + " --limit 40 --batch 20 --golden " + golden;
  auto j = test::run_command(tseval() + " " + a + " " + b + args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto models = nlohmann::json::parse(j.out)["models"];
  ASSERT_EQ(models.size(), 2u);
  for (const auto& m : models) {
    SCOPED_TRACE(m["model"].get<std::string>());
    EXPECT_EQ(m["images"], 40);
    EXPECT_EQ(m["firing_rates"].size(), 2u);
    // --golden found <name>.test_predictions.npy for each.
    EXPECT_GE(m["compare"]["identical"].get<int>(), 39);
    const auto& en = m["energy"];
    EXPECT_GT(en["nj_per_image"].get<double>(), 0.0);
    EXPECT_NEAR(en["ratio_dense_ann_to_snn"].get<double>(),
                en["dense_ann_nj_per_image"].get<double>() / en["nj_per_image"].get<double>(), 1e-9);
  }
  // The same numbers as one model at a time.
  auto one = test::run_command(tseval() + " " + b + args + " --json");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto single = nlohmann::json::parse(one.out);
  EXPECT_EQ(single["correct"], models[1]["correct"]);
  EXPECT_EQ(single["energy"], models[1]["energy"]);

  auto text = test::run_command(tseval() + " " + a + " " + b + args);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("ANN/SNN"), std::string::npos) << text.out;
  for (const auto& m : models) {
    const std::string row = m["model"].get<std::string>();
    const auto at = text.out.find(row);
    ASSERT_NE(at, std::string::npos) << text.out;
    const std::string line = text.out.substr(at, text.out.find('\n', at) - at);
    EXPECT_NE(line.find(fmt::format("{:.2f}%", 100 * m["accuracy"].get<double>())), std::string::npos)
        << line;
    EXPECT_NE(line.find(fmt::format("{:.2f}", m["energy"]["ratio_dense_ann_to_snn"].get<double>())),
              std::string::npos)
        << line;
  }
  // One --compare file cannot serve several models.
  EXPECT_EQ(test::run_command(tseval() + " " + a + " " + b + " --compare x.npy").exit_code, 2);
}

TEST(Tseval, ErrorsAndUsage) {
  const std::string model = test::source_path("models/fashion_tsnet.onnx");
  EXPECT_EQ(test::run_command(tseval()).exit_code, 2);
  EXPECT_EQ(test::run_command(tseval() + " " + model + " --limit 0").exit_code, 2);
  EXPECT_EQ(test::run_command(tseval() + " --help").exit_code, 0);
  auto r = test::run_command(tseval() + " " + model + " --dataset /no/such/dir");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such/dir"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  if (!fs::is_directory(kFashionMnistDir)) return;
  // An 8 x 8 input is refused rather than resized.
  r = test::run_command(tseval() + " " + test::source_path("tests/data/residual_block.onnx") + " --limit 10");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[-1,1,8,8]"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tspike
