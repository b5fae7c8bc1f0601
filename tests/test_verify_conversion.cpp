// SPDX-License-Identifier: Apache-2.0
// verify_conversion (tsconvert --verify): the format's equality rule, spike
// map by spike map. A deep network whose membranes land on the threshold
// flips spikes through float rounding and passes; a broken conversion fails
// naming the layer; tsconvert leaves no output behind on a failure.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/convert.hpp"
#include "tspike/tspike.hpp"

namespace {

using namespace tspike;
using test::ModelBuilder;
using test::random_weights;
namespace fs = std::filesystem;

void write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A chain of `depth` Conv3x3 + BatchNormalization + TernarySpike layers on
// [N, C, 6, 6]. With `on_threshold`, the weights are small integers and each
// BatchNorm maps an integer sum s to (s - m) * 0.1 (gamma / sqrt(var + eps)
// = 0.1, not a binary fraction): sums of m + 5 put the membrane on the
// threshold 0.5 in real arithmetic, and the original model (sum, then the
// BatchNorm) and the converted one (weights times 0.1, summed) round it to
// either side. Otherwise weights and BatchNorms are random floats.
ModelBuilder chain(int depth, int64_t channels, bool on_threshold, uint32_t seed) {
  std::mt19937 rng(seed);
  ModelBuilder b({-1, channels, 6, 6});
  std::uniform_int_distribution<int> small(-2, 2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::string x = "x";
  for (int l = 1; l <= depth; ++l) {
    const std::string n = std::to_string(l);
    std::vector<float> w(static_cast<size_t>(channels * channels * 9));
    for (float& v : w) v = on_threshold ? float(small(rng)) : 0.25f * normal(rng);
    b.initializer("W" + n, {channels, channels, 3, 3}, w);
    const auto count = static_cast<size_t>(channels);
    std::vector<float> gamma(count), beta(count), mean(count), var(count);
    for (int64_t c = 0; c < channels; ++c) {
      gamma[size_t(c)] = on_threshold ? 0.1f : 0.5f + 0.5f * std::fabs(normal(rng));
      beta[size_t(c)] = on_threshold ? 0.0f : 0.2f * normal(rng);
      mean[size_t(c)] = on_threshold ? float(small(rng)) : 0.3f * normal(rng);
      var[size_t(c)] = on_threshold ? 1.0f : 0.5f + std::fabs(normal(rng));
    }
    b.initializer("gamma" + n, {channels}, gamma);
    b.initializer("beta" + n, {channels}, beta);
    b.initializer("mean" + n, {channels}, mean);
    b.initializer("var" + n, {channels}, var);
    b.node("Conv", "conv" + n, {x, "W" + n}, {"c" + n}).ints("pads", {1, 1, 1, 1});
    b.node("BatchNormalization", "bn" + n, {"c" + n, "gamma" + n, "beta" + n, "mean" + n, "var" + n},
           {"h" + n})
        .f("epsilon", 0.0f);
    b.initializer("a" + n, {1}, {0.5f + 0.25f * float(l % 3)});
    b.spike("spike" + n, "h" + n, "s" + n, "a" + n);
    x = "s" + n;
  }
  b.node("GlobalAveragePool", "pool", {x}, {"p"});
  b.node("Flatten", "flat", {"p"}, {"f"});
  b.initializer("Wfc", {channels, 3}, random_weights(rng, channels * 3));
  b.node("MatMul", "fc", {"f", "Wfc"}, {"logits"});
  b.output("logits");
  return b;
}

struct Files {
  std::string dir, original, converted;
};

Files convert(const ModelBuilder& b, const std::string& tag) {
  Files f;
  f.dir = test::temp_dir(tag);
  f.original = f.dir + "/trained.onnx";
  f.converted = f.dir + "/converted.onnx";
  write(f.original, b.serialize());
  convert_file(f.original, f.converted);
  return f;
}

TEST(VerifyConversion, RoundingFlipsAtTheThresholdAreAllowedAndExcuseWhatFollows) {
  const Files f = convert(chain(8, 6, /*on_threshold=*/true, 7), "verify_flips");
  const ConversionCheck v = verify_conversion(f.original, f.converted);
  EXPECT_TRUE(v.ok) << v.failure;
  EXPECT_EQ(v.failure, "");
  // The construction puts membranes on the threshold: some flip, and the
  // layers after them differ (excused), as the rule allows.
  EXPECT_GT(v.flip_count, 0);
  EXPECT_GT(v.excused_differences, 0);
  EXPECT_GT(v.compared_spikes, 0);
  ASSERT_FALSE(v.flips.empty());
  for (const SpikeFlip& flip : v.flips) {
    EXPECT_NE(flip.original_spike, flip.converted_spike);
    EXPECT_EQ(flip.threshold, 0.5);
    EXPECT_LE(flip.margin_steps, 4.0) << flip.node;  // a float step or two from 0.5
    EXPECT_EQ(flip.element.size(), 3u);              // [c, h, w] within the sample
    EXPECT_EQ(flip.node.rfind("spike", 0), 0u);
  }
  EXPECT_EQ(v.samples, 6);
  EXPECT_GE(v.samples_with_flips, 1);
  fs::remove_all(f.dir);
}

TEST(VerifyConversion, ARandomNetworkWithoutNearThresholdMembranesIsEqualSpikeForSpike) {
  const Files f = convert(chain(5, 4, false, 11), "verify_equal");
  const ConversionCheck v = verify_conversion(f.original, f.converted);
  EXPECT_TRUE(v.ok) << v.failure;
  EXPECT_EQ(v.flip_count, 0);
  EXPECT_EQ(v.samples_with_flips, 0);
  EXPECT_LE(v.max_rel_difference, v.limit);
  // 5 spike layers of 4 x 6 x 6 per sample, 6 samples, 4 timesteps.
  EXPECT_EQ(v.compared_spikes, 5 * 4 * 36 * 6 * 4);
  fs::remove_all(f.dir);
}

// Adds `delta` to every `stride`-th value of the float initializers of
// `rank` whose name starts with `prefix`, in the model file at `path`.
void change_weights(const std::string& path, const std::string& prefix, int rank, size_t stride,
                    float delta) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  bool changed = false;
  for (auto& t : *proto.mutable_graph()->mutable_initializer()) {
    if (t.name().rfind(prefix, 0) != 0 || t.dims_size() != rank) continue;
    std::vector<float> w(t.float_data().begin(), t.float_data().end());
    if (!t.raw_data().empty()) {
      w.resize(t.raw_data().size() / 4);
      std::memcpy(w.data(), t.raw_data().data(), t.raw_data().size());
    }
    ASSERT_FALSE(w.empty()) << t.name();
    for (size_t k = 0; k < w.size(); k += stride) w[k] += delta;
    t.clear_float_data();
    t.set_raw_data(std::string(reinterpret_cast<const char*>(w.data()), w.size() * 4));
    changed = true;
  }
  ASSERT_TRUE(changed) << "no initializer " << prefix << " of rank " << rank;
  write(path, proto.SerializeAsString());
}

TEST(VerifyConversion, AChangedWeightFailsNamingTheLayerAfterIt) {
  const Files f = convert(chain(5, 4, false, 11), "verify_broken");
  change_weights(f.converted, "W3", 4, 9, 0.5f);
  const ConversionCheck v = verify_conversion(f.original, f.converted);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.failure.find("node 'spike3'"), std::string::npos) << v.failure;
  EXPECT_NE(v.failure.find("timestep 0"), std::string::npos) << v.failure;
  EXPECT_NE(v.failure.find("input current"), std::string::npos) << v.failure;
  EXPECT_NE(v.failure.find("element ["), std::string::npos) << v.failure;
  fs::remove_all(f.dir);
}

TEST(VerifyConversion, AChangedClassifierFailsAtTheOutput) {
  const Files f = convert(chain(2, 4, false, 5), "verify_broken_fc");
  change_weights(f.converted, "", 2, 1000, 0.25f);  // the classifier's [C, 3]: its first weight
  const ConversionCheck v = verify_conversion(f.original, f.converted);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.failure.rfind("output 'logits'", 0), 0u) << v.failure;
  fs::remove_all(f.dir);
}

// A conv bias and a BatchNorm mean of 1e6 that cancel: the original model
// adds 1e6 to currents of about 1 and subtracts it again, keeping 1/16 of
// their precision; folded, they cancel exactly. The currents differ by far
// more than rounding, --verify fails, and tsconvert writes nothing.
TEST(VerifyConversion, TsconvertLeavesNoOutputWhenVerificationFails) {
  ModelBuilder b({-1, 2, 4, 4});
  b.initializer("W", {2, 2, 1, 1}, {1.0f, 0.5f, -0.75f, 0.5f});
  b.initializer("b", {2}, {1.0e6f, 0.0f});
  b.initializer("gamma", {2}, {1.0f, 1.0f});
  b.initializer("beta", {2}, {0.0f, 0.0f});
  b.initializer("mean", {2}, {1.0e6f, 0.0f});
  b.initializer("var", {2}, {1.0f, 1.0f});
  b.node("Conv", "conv", {"x", "W", "b"}, {"c"});
  b.node("BatchNormalization", "bn", {"c", "gamma", "beta", "mean", "var"}, {"h"}).f("epsilon", 0.0f);
  b.spike("spike", "h", "s");
  b.node("GlobalAveragePool", "pool", {"s"}, {"logits"});
  b.output("logits");
  const std::string dir = test::temp_dir("verify_cli");
  write(dir + "/trained.onnx", b.serialize());
  write(dir + "/model.onnx", "an older file that must stay");
  auto r = test::run_command(test::tools_dir() + "/tsconvert " + dir + "/trained.onnx -o " + dir +
                             "/model.onnx --verify");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("verify: FAILED: node 'spike' (TernarySpike): timestep 0"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("model.onnx not written"), std::string::npos) << r.err;
  // Nothing written and no temporary file left beside it.
  std::ifstream kept(dir + "/model.onnx");
  std::string text((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "an older file that must stay");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 2);
  // Without --verify the same conversion is written (the rule is --verify's).
  r = test::run_command(test::tools_dir() + "/tsconvert " + dir + "/trained.onnx -o " + dir +
                        "/model.onnx --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Model::load(dir + "/model.onnx")->info().metadata.reparameterized);
  fs::remove_all(dir);
}

TEST(VerifyConversion, TsconvertJsonListsTheFlips) {
  const Files f = convert(chain(4, 6, true, 3), "verify_json");
  auto r = test::run_command(test::tools_dir() + "/tsconvert " + f.original + " -o " + f.dir +
                             "/out.onnx --verify --json --verify-inputs 2 --verify-batch 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& v = j["verify"];
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["samples"], 6);
  EXPECT_EQ(v["input_shape"], nlohmann::json::array({3, 6, 6, 6}));
  EXPECT_GT(v["flip_count"].get<int64_t>(), 0);
  ASSERT_FALSE(v["flips"].empty());
  const auto& flip = v["flips"][0];
  for (const char* key :
       {"node", "timestep", "sample", "element", "original_membrane", "converted_membrane", "margin"})
    EXPECT_TRUE(flip.contains(key)) << key;
  EXPECT_EQ(v["failure"], "");
  fs::remove_all(f.dir);
}

}  // namespace
