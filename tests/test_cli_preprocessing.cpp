// SPDX-License-Identifier: Apache-2.0
// What tsrun tells a user about the model and the input it was given: a
// network without TernarySpike nodes (here a plain CNN as PyTorch exports
// it, with AvgPool2d(padding=1), which must load and run) and an image
// converted or resized to fit, on stderr (never with --quiet) and in the
// JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string tsrun() { return test::tools_dir() + "/tsrun"; }
std::string plain_cnn(const std::string& suffix) {
  return test::source_path("tests/torch/plain_cnn_avgpool" + suffix);
}

TEST(TsrunNotes, PlainTorchCnnWithAvgPoolPaddingRunsAndIsNamedNotSpiking) {
  auto r = test::run_command(tsrun() + " " + plain_cnn(".onnx") + " --input " + plain_cnn(".input.npy") +
                             " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor want = load_npy(plain_cnn(".output.npy"));
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["outputs"][0]["data"].size(), want.data.size());
  for (size_t k = 0; k < want.data.size(); ++k)
    EXPECT_NEAR(j["outputs"][0]["data"][k].get<double>(), want.data[k], 1e-4) << k;
  EXPECT_NE(r.err.find("no TernarySpike node"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  auto quiet =
      test::run_command(tsrun() + " " + plain_cnn(".onnx") + " --input " + plain_cnn(".input.npy") + " -q");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");

  auto info = test::run_command(tsrun() + " " + plain_cnn(".onnx") + " --info --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto ij = nlohmann::json::parse(info.out);
  EXPECT_EQ(ij["spiking"], false);
  EXPECT_EQ(ij["op_counts"].count("Pad"), 0u) << "the Pad folds into the AveragePool";
  ASSERT_EQ(ij["notes"].size(), 1u);
  EXPECT_NE(ij["notes"][0].get<std::string>().find("not a spiking network"), std::string::npos);
  auto text = test::run_command(tsrun() + " " + plain_cnn(".onnx") + " --info");
  EXPECT_NE(text.out.find("no TernarySpike node"), std::string::npos) << text.out;
}

TEST(TsrunNotes, SpikingModelGetsNoNote) {
  auto r = test::run_command(tsrun() + " " + test::source_path("tests/data/residual_block.onnx") +
                             " --input " + test::source_path("tests/data/residual_block.input0.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto info = test::run_command(tsrun() + " " + test::source_path("tests/data/residual_block.onnx") +
                                " --info --json");
  EXPECT_EQ(nlohmann::json::parse(info.out)["spiking"], true);
}

TEST(TsrunNotes, ImageThatDoesNotFitIsDescribedOnStderrAndInJson) {
  // A spiking model of input [N, 1, 12, 16]; the image is 41x23 RGBA.
  test::ModelBuilder b({-1, 1, 12, 16});
  b.spike("s", "x", "y");
  b.output("y").metadata("tspike.timesteps", "1").metadata("tspike.image.resize", "bilinear_antialias");
  const std::string dir = test::temp_dir("tsrun_notes");
  const std::string model = dir + "/gray.onnx";
  std::ofstream(model, std::ios::binary) << b.serialize();
  const std::string image = test::source_path("tests/images/resize_src.png");

  auto r = test::run_command(tsrun() + " " + model + " --input " + image + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const char* part : {"41x23", "RGB converted to gray", "alpha channel dropped",
                           "resized from 41x23 to 16x12 (bilinear_antialias)", "aspect ratio changed"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["preprocessing"]["width"], 41);
  EXPECT_EQ(j["preprocessing"]["height"], 23);
  EXPECT_EQ(j["preprocessing"]["channels"], 4);
  EXPECT_EQ(j["preprocessing"]["resize"], "bilinear_antialias");
  EXPECT_EQ(j["preprocessing"]["notes"].size(), 3u);

  auto quiet = test::run_command(tsrun() + " " + model + " --input " + image + " --quiet");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

}  // namespace
}  // namespace tspike
