// SPDX-License-Identifier: Apache-2.0
// The command-line tools as a user runs them: output (JSON parsed with a
// JSON parser), exit codes, and one-line errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string tsrun() { return test::tools_dir() + "/tsrun"; }
std::string tsconvert() { return test::tools_dir() + "/tsconvert"; }
std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

void expect_one_line_error(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.signal, 0) << "killed by a signal";
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Tsrun, JsonOutputMatchesTheLibraryAndEscapesLabels) {
  auto r = test::run_command(tsrun() + " " + data("residual_block.onnx") + " --input " +
                             data("residual_block.input1.npy") + " --json --top 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  Tensor golden = load_npy(data("residual_block.output1.npy"));
  ASSERT_EQ(j["outputs"][0]["name"], "fc");
  ASSERT_EQ(j["outputs"][0]["shape"], nlohmann::json({3, 10}));
  ASSERT_EQ(j["outputs"][0]["data"].size(), golden.data.size());
  for (size_t k = 0; k < golden.data.size(); ++k)
    EXPECT_NEAR(j["outputs"][0]["data"][k].get<double>(), golden.data[k], 1e-5);
  EXPECT_EQ(j["timesteps"], 4);
  ASSERT_EQ(j["top"].size(), 3u);
  // Sample 1's best class is 3, whose label holds a quote and a backslash.
  EXPECT_EQ(j["top"][1][0]["index"], 3);
  EXPECT_EQ(j["top"][1][0]["label"], "say \"hi\"\\");
  double total = 0;
  for (const auto& e : j["top"][1]) total += e["probability"].get<double>();
  EXPECT_GT(total, 0.3);
  EXPECT_LE(total, 1.0 + 1e-9);
  for (const char* node : {"spike1", "spike2", "spike3"}) {
    ASSERT_TRUE(j["firing_rates"].contains(node)) << node;
    EXPECT_GT(j["firing_rates"][node].get<double>(), 0.0);
    EXPECT_LT(j["firing_rates"][node].get<double>(), 1.0);
  }
  EXPECT_GE(j["time_ms"].get<double>(), 0.0);
}

TEST(Tsrun, TimestepsOptionChangesT) {
  auto r = test::run_command(tsrun() + " " + data("residual_block.onnx") + " --input " +
                             data("residual_block.input0.npy") + " --json --timesteps 7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["timesteps"], 7);
}

TEST(Tsrun, InfoShowsLayersAndMetadata) {
  auto r = test::run_command(tsrun() + " " + data("residual_block.onnx") + " --info --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["input"]["shape"], nlohmann::json({-1, 1, 8, 8}));
  EXPECT_EQ(j["op_counts"]["TernarySpike"], 3);
  bool conv2_free = false;
  for (const auto& l : j["layers"])
    if (l["node"] == "conv2") conv2_free = l["multiplication_free"];
  EXPECT_TRUE(conv2_free);
  auto text = test::run_command(tsrun() + " " + data("residual_block.onnx") + " --info");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("multiplication-free"), std::string::npos);
}

TEST(Tsrun, UsageErrorsExitWith2) {
  EXPECT_EQ(test::run_command(tsrun()).exit_code, 2);
  EXPECT_EQ(test::run_command(tsrun() + " x.onnx --no-such-flag").exit_code, 2);
  EXPECT_EQ(test::run_command(tsrun() + " x.onnx --timesteps 0").exit_code, 2);
  EXPECT_EQ(test::run_command(tsrun() + " --help").exit_code, 0);
}

TEST(Tsrun, BadInputsGiveOneLineErrors) {
  expect_one_line_error(test::run_command(tsrun() + " /no/such/model.onnx --input x.npy"),
                        "/no/such/model.onnx");
  // An input of the wrong shape names the expected one.
  expect_one_line_error(test::run_command(tsrun() + " " + data("residual_block.onnx") + " --input " +
                                          data("pytorch_flatten.input0.npy")),
                        "[-1,1,8,8]");
  expect_one_line_error(
      test::run_command(tsrun() + " " + data("residual_block.onnx") + " --input /no/such.png"),
      "/no/such.png");
  expect_one_line_error(test::run_command(tsrun() + " " + data("residual_block.onnx")), "--input");
}

TEST(Tsrun, BrokenModelFilesNeverCrash) {
  const std::string dir = test::temp_dir("broken");
  std::ifstream in(data("residual_block.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    return dir + "/" + name;
  };
  std::vector<std::string> files = {
      write("empty.onnx", ""),
      write("truncated.onnx", bytes.substr(0, bytes.size() / 2)),
      write("text.onnx", "this is not a model\n"),
  };
  for (size_t k = 0; k < 8; ++k) {  // bit flips spread over the file
    std::string flipped = bytes;
    flipped[(k * 7919 + 13) % flipped.size()] ^= static_cast<char>(1u << (k % 8));
    files.push_back(write("flip" + std::to_string(k) + ".onnx", flipped));
  }
  for (const auto& f : files) {
    auto r = test::run_command(tsrun() + " " + f + " --input " + data("residual_block.input0.npy"));
    EXPECT_EQ(r.signal, 0) << f << ": " << r.err;
    // A bit flip may leave a valid model; otherwise the error names the file.
    if (r.exit_code != 0) expect_one_line_error(r, f);
  }
  for (size_t k = 0; k < 3; ++k)
    expect_one_line_error(
        test::run_command(tsrun() + " " + files[k] + " --input " + data("residual_block.input0.npy")),
        files[k]);
  std::filesystem::remove_all(dir);
}

TEST(Tsconvert, ConvertsVerifiesAndReports) {
  const std::string out = test::temp_dir("tsconvert") + "/rb.onnx";
  auto r = test::run_command(tsconvert() + " " + data("residual_block.onnx") + " -o " + out + " --verify");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BatchNormalization bn1 folded into Conv conv1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("conv1"), std::string::npos);
  EXPECT_NE(r.out.find("real-valued"), std::string::npos) << r.out;
  EXPECT_TRUE(Model::load(out)->info().metadata.reparameterized);
  // The converted model runs under tsrun like the original.
  auto run =
      test::run_command(tsrun() + " " + out + " --input " + data("residual_block.input1.npy") + " --quiet");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::filesystem::remove_all(std::filesystem::path(out).parent_path());
}

TEST(Tsconvert, StrictFailsOnUnfoldableAmplitudes) {
  const std::string dir = test::temp_dir("strict");
  auto lenient = test::run_command(tsconvert() + " " + data("unfoldable.onnx") + " -o " + dir + "/u.onnx");
  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.out.find("spikeA"), std::string::npos) << lenient.out;
  expect_one_line_error(
      test::run_command(tsconvert() + " " + data("unfoldable.onnx") + " -o " + dir + "/s.onnx --strict"),
      "spikeA");
  EXPECT_EQ(test::run_command(tsconvert()).exit_code, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tspike
