// SPDX-License-Identifier: Apache-2.0
// What every tool does alike: --help with examples, --version, --json that a
// JSON parser reads, and progress on stderr only on a terminal (never with
// --quiet or --json, never when the output goes to a file or a pipe).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

namespace fs = std::filesystem;

std::string tool(const std::string& name) {
  return test::tools_dir() + (name == "tsbench" ? "/tsbench/" : "/") + name;
}
std::string source(const std::string& path) { return test::source_path(path); }

// Runs `command` with a terminal as stdin, stdout and stderr (util-linux
// script); what the terminal showed comes back in `out`.
test::CommandResult on_terminal(const std::string& command) {
  return test::run_command("script -qec '" + command + "' /dev/null");
}

bool has_script() { return test::run_command("script -qec true /dev/null").exit_code == 0; }

// The escape that erases the progress line: only progress writes it.
constexpr const char* kProgressMark = "\r\033[K";

TEST(CliConventions, HelpHasExamplesAndVersionNamesTheTool) {
  for (const char* name : {"tsrun", "tsconvert", "tseval", "tsbench"}) {
    auto help = test::run_command(tool(name) + " --help");
    EXPECT_EQ(help.exit_code, 0) << name;
    EXPECT_NE(help.out.find("Examples:"), std::string::npos) << name << help.out;
    EXPECT_NE(help.out.find(std::string("  ") + name + " "), std::string::npos) << name;
    for (const char* flag : {"--json", "--quiet", "--version"})
      EXPECT_NE(help.out.find(flag), std::string::npos) << name << " has no " << flag;
    auto version = test::run_command(tool(name) + " --version");
    EXPECT_EQ(version.exit_code, 0) << name;
    // The library's version, the one CMake's project() sets.
    EXPECT_EQ(version.out, std::string(name) + " " + tspike::version() + "\n");
  }
}

// The tools take as many timesteps as the library does, and say so in --help.
TEST(CliConventions, TimestepsRangeIsTheLibrarysLimit) {
  const int max_t = Limits{}.max_timesteps;
  const std::string model = source("models/fashion_tsnet.onnx");
  const std::string image = source("models/samples/fashion_0_ankle_boot.png");
  for (const char* name : {"tsrun", "tseval"}) {
    auto help = test::run_command(tool(name) + " --help");
    EXPECT_NE(help.out.find(fmt::format("[1 - {}]", max_t)), std::string::npos) << name << help.out;
  }
  for (int t : {0, max_t + 1}) {
    auto r = test::run_command(tool("tsrun") + " " + model + " --input " + image + " --quiet --timesteps " +
                               std::to_string(t));
    EXPECT_EQ(r.exit_code, 2) << t << r.err;
    EXPECT_NE(r.err.find(std::to_string(max_t)), std::string::npos) << r.err;
  }
}

TEST(CliConventions, TsconvertJsonHasTheReportAndTheVerification) {
  const std::string out = test::temp_dir("conventions") + "/converted.onnx";
  auto r = test::run_command(tool("tsconvert") + " " + source("tests/data/unfoldable.onnx") + " -o " + out +
                             " --verify --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress: stderr is a file
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["output"], out);
  EXPECT_EQ(j["already_reparameterized"], false);
  EXPECT_FALSE(j["kept_amplitudes"].empty());  // the file's point: amplitudes that cannot fold
  for (const auto& k : j["kept_amplitudes"]) {
    EXPECT_TRUE(k["node"].is_string());
    EXPECT_FALSE(k["why"].get<std::string>().empty());
  }
  const auto model = Model::load(out);
  ASSERT_EQ(j["layers"].size(), model->info().layers.size());
  int free = 0;
  for (size_t k = 0; k < model->info().layers.size(); ++k) {
    EXPECT_EQ(j["layers"][k]["node"], model->info().layers[k].node);
    free += model->info().layers[k].multiplication_free;
  }
  EXPECT_EQ(j["multiplication_free_layers"], free);
  const auto& v = j["verify"];
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["inputs"], 3);
  EXPECT_LE(v["max_rel_difference"].get<double>(), v["limit"].get<double>());
  EXPECT_TRUE(v["input_shape"].is_array());
}

TEST(CliConventions, TsevalJsonNamesClassesByLabel) {
  if (!fs::is_directory(kFashionMnistDir)) GTEST_SKIP() << "no " << kFashionMnistDir;
  auto r = test::run_command(tool("tseval") + " " + source("models/fashion_tsnet.onnx") +
                             " --limit 200 --batch 100 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto j = nlohmann::json::parse(r.out);
  const auto labels = Model::load(source("models/fashion_tsnet.onnx"))->info().metadata.labels;
  ASSERT_EQ(labels.size(), 10u);
  ASSERT_EQ(j["classes"].size(), 10u);  // 200 images hold every class
  int64_t images = 0, correct = 0;
  for (const auto& c : j["classes"]) {
    EXPECT_EQ(c["label"], labels.at(c["index"].get<size_t>()));
    EXPECT_DOUBLE_EQ(c["accuracy"].get<double>(), c["correct"].get<double>() / c["images"].get<double>());
    images += c["images"].get<int64_t>();
    correct += c["correct"].get<int64_t>();
  }
  EXPECT_EQ(images, 200);
  EXPECT_EQ(correct, j["correct"].get<int64_t>());
  // The text form names them too.
  r = test::run_command(tool("tseval") + " " + source("models/fashion_tsnet.onnx") +
                        " --limit 200 --batch 100");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Ankle boot"), std::string::npos) << r.out;
}

TEST(CliConventions, ProgressOnlyOnATerminalAndNotWithQuietOrJson) {
  if (!has_script()) GTEST_SKIP() << "no script(1) to give the tools a terminal";
  const std::string out = test::temp_dir("conventions") + "/converted.onnx";
  const std::string convert =
      tool("tsconvert") + " " + source("models/fashion_tsnet.onnx") + " -o " + out + " --verify";
  auto r = on_terminal(convert);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verify: random input 3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kProgressMark), std::string::npos);
  for (const char* flag : {" --quiet", " --json"}) {
    r = on_terminal(convert + flag);
    ASSERT_EQ(r.exit_code, 0) << flag << r.out;
    EXPECT_EQ(r.out.find(kProgressMark), std::string::npos) << flag;
  }
  // Through a pipe: the result, no progress.
  r = test::run_command("sh -c '" + convert + " 2>&1 | cat'");
  EXPECT_EQ(r.out.find(kProgressMark), std::string::npos);
  EXPECT_NE(r.out.find("verify:"), std::string::npos) << r.out;

  if (!fs::is_directory(kFashionMnistDir)) return;
  const std::string eval =
      tool("tseval") + " " + source("models/fashion_tsnet.onnx") + " --limit 200 --batch 100";
  r = on_terminal(eval);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(std::string(kProgressMark) + "100/200 images"), std::string::npos) << r.out;
  for (const char* flag : {" --quiet", " --json"}) {
    r = on_terminal(eval + flag);
    ASSERT_EQ(r.exit_code, 0) << flag << r.out;
    EXPECT_EQ(r.out.find(kProgressMark), std::string::npos) << flag;
  }
  r = test::run_command("sh -c '" + eval + " 2>&1 | cat'");
  EXPECT_EQ(r.out.find(kProgressMark), std::string::npos);
  EXPECT_NE(r.out.find("accuracy:"), std::string::npos);
}

TEST(CliConventions, TsrunInfoJsonParses) {
  auto r = test::run_command(tool("tsrun") + " " + source("models/fashion_tsnet.onnx") + " --info --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["timesteps"], 4);
  EXPECT_FALSE(j["layers"].empty());
}

}  // namespace
}  // namespace tspike
