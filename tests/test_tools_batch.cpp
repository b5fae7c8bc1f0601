// SPDX-License-Identifier: Apache-2.0
// tsrun with many inputs (files, a folder, a glob), tseval on a folder of
// images in class subfolders, tools that leave no output behind when they
// fail, and what the HTML report says about the run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/test_util.hpp"
#include "tspike/dataset.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

namespace fs = std::filesystem;

std::string tool(const char* name) { return test::tools_dir() + "/" + name; }
std::string fashion_model() { return test::source_path("models/fashion_tsnet.onnx"); }
const char* kSamples[] = {"fashion_0_ankle_boot.png", "fashion_1_pullover.png", "fashion_2_trouser.png",
                          "fashion_3_trouser.png"};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A folder with the four sample images and a file that only looks like one.
std::string sample_folder(const std::string& tag) {
  const std::string dir = test::temp_dir(tag);
  for (const char* s : kSamples)
    fs::copy_file(test::source_path(std::string("models/samples/") + s), dir + "/" + s);
  std::ofstream(dir + "/fashion_0b_broken.png") << "not an image";
  std::ofstream(dir + "/notes.txt") << "not an input";  // not an image: not listed
  return dir;
}

// The outputs of one file run alone (tsrun's single-input JSON).
nlohmann::json alone(const std::string& model, const std::string& file) {
  auto r = test::run_command(tool("tsrun") + " " + model + " --input " + file + " --json");
  EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
  return nlohmann::json::parse(r.out);
}

void expect_same_outputs(const nlohmann::json& batched, const nlohmann::json& single,
                         const std::string& file) {
  ASSERT_EQ(batched["outputs"].size(), single["outputs"].size()) << file;
  for (size_t o = 0; o < single["outputs"].size(); ++o) {
    EXPECT_EQ(batched["outputs"][o]["shape"], single["outputs"][o]["shape"]) << file;
    const auto& a = batched["outputs"][o]["data"];
    const auto& b = single["outputs"][o]["data"];
    ASSERT_EQ(a.size(), b.size()) << file;
    for (size_t k = 0; k < a.size(); ++k)
      EXPECT_NEAR(a[k].get<double>(), b[k].get<double>(), 1e-4 * std::max(1.0, std::abs(b[k].get<double>())))
          << file << " value " << k;
  }
  EXPECT_EQ(batched["top"][0][0]["index"], single["top"][0][0]["index"]) << file;
}

// ---- tsrun with many inputs ----

TEST(TsrunBatch, FolderGivesOneJsonLinePerFileInOrderAndGoesPastABadFile) {
  const std::string dir = sample_folder("batch_folder");
  for (int batch : {1, 2, 3, 8}) {
    SCOPED_TRACE(batch);
    auto r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input " + dir +
                               " --json --batch " + std::to_string(batch));
    EXPECT_EQ(r.exit_code, 1) << "a bad file makes the run fail at the end";
    EXPECT_NE(r.err.find("5 files: 4 ran, 1 failed"), std::string::npos) << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    // Sorted by name: the broken file comes second.
    const std::vector<std::string> order = {kSamples[0], "fashion_0b_broken.png", kSamples[1], kSamples[2],
                                            kSamples[3]};
    for (size_t k = 0; k < lines.size(); ++k) {
      const auto j = nlohmann::json::parse(lines[k]);
      EXPECT_EQ(j["file"], dir + "/" + order[k]);
      if (k == 1) {
        ASSERT_TRUE(j.contains("error")) << lines[k];
        EXPECT_NE(j["error"].get<std::string>().find("fashion_0b_broken.png"), std::string::npos)
            << j["error"];
        continue;
      }
      // In a batch, each image gives what it gives alone: no state crosses
      // from one sample to another.
      const auto single = alone(fashion_model(), dir + "/" + order[k]);
      expect_same_outputs(j, single, order[k]);
      EXPECT_EQ(j["preprocessing"], single["preprocessing"]) << "what was done to the image, as for one";
    }
  }
}

TEST(TsrunBatch, FilesAndQuotedGlobKeepTheirOrderAsText) {
  const std::string dir = sample_folder("batch_glob");
  // Several --input files: the order given, not sorted.
  auto r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input " + dir + "/" + kSamples[3] +
                             " " + dir + "/" + kSamples[0]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind(dir + "/" + kSamples[3] + ": Trouser (class 1, p = ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind(dir + "/" + kSamples[0] + ": Ankle boot (class 9, p = ", 0), 0u) << lines[1];

  // A pattern the shell did not expand: the tool does, sorted.
  r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input '" + dir +
                        "/fashion_?_*.png' --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], dir + "/" + kSamples[0] + ": Ankle boot");
  EXPECT_EQ(lines[1], dir + "/" + kSamples[1] + ": Pullover");
  EXPECT_EQ(r.err, "") << "--quiet and no failure: nothing on stderr";

  r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input '" + dir + "/*.jpeg'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no file matches"), std::string::npos) << r.err;
}

// Progress on stderr only when it is a terminal (util-linux's script gives
// the tool one) and the list is longer than a batch.
TEST(TsrunBatch, ProgressOnlyOnATerminal) {
  const std::string dir = sample_folder("batch_progress");
  const std::string command = tool("tsrun") + " " + fashion_model() + " --input " + dir + " --batch 1";
  auto piped = test::run_command(command);
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("files\n"), std::string::npos) << "no progress line: " << piped.err;
  auto terminal = test::run_command("script -qec '" + command + " >/dev/null' /dev/null");
  ASSERT_NE(terminal.exit_code, 127)
      << "util-linux's script (Debian package bsdutils) runs the tool on a terminal";
  EXPECT_NE(terminal.out.find("\r\033[K3/5 files"), std::string::npos) << terminal.out;
  auto one_batch = test::run_command("script -qec '" + command + " --batch 8 >/dev/null' /dev/null");
  EXPECT_EQ(one_batch.out.find("/5 files"), std::string::npos)
      << "a short list shows none: " << one_batch.out;
}

// Files of several samples each (.npy [N, ...]) and a missing file: each
// file's line has its own samples, whatever was batched with it.
TEST(TsrunBatch, MultiSampleFilesSplitBackPerFile) {
  const std::string model = test::source_path("tests/data/residual_block.onnx");
  const std::string in0 = test::source_path("tests/data/residual_block.input0.npy");
  const std::string in1 = test::source_path("tests/data/residual_block.input1.npy");
  auto r = test::run_command(tool("tsrun") + " " + model + " --input " + in1 + " /no/such.npy " + in0 + " " +
                             in1 + " --json --batch 4");
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_TRUE(nlohmann::json::parse(lines[1]).contains("error"));
  const Tensor golden0 = load_npy(test::source_path("tests/data/residual_block.output0.npy"));
  const Tensor golden1 = load_npy(test::source_path("tests/data/residual_block.output1.npy"));
  for (size_t k : {0u, 2u, 3u}) {
    const auto j = nlohmann::json::parse(lines[k]);
    const Tensor& golden = k == 2 ? golden0 : golden1;
    ASSERT_EQ(j["outputs"][0]["shape"], nlohmann::json(golden.shape)) << lines[k];
    EXPECT_EQ(j["top"].size(), size_t(golden.shape[0]));
    for (size_t v = 0; v < golden.data.size(); ++v)
      EXPECT_NEAR(j["outputs"][0]["data"][v].get<double>(), golden.data[v], 1e-5) << "file " << k;
  }
}

TEST(TsrunBatch, OneInputKeepsItsOutputAndSingleRunOptionsSayWhy) {
  auto r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input " +
                             test::source_path("models/samples/fashion_2_trouser.png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("sample 0: Trouser (class 1, p = ", 0), 0u) << r.out;
  r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input " +
                        test::source_path("models/samples") + " --report x.html");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("take one input"), std::string::npos) << r.err;
}

// ---- tseval on a folder of images, one subfolder per class ----

// The first `count` test images as PGM files in DIR/<folder name>/.
void write_image_folder(const std::string& dir, const LabeledImages& set, int count,
                        const std::vector<std::string>& folder_names) {
  for (int i = 0; i < count; ++i) {
    const std::string sub = dir + "/" + folder_names.at(set.labels[i]);
    fs::create_directories(sub);
    std::ofstream f(sub + "/" + std::to_string(1000 + i) + ".pgm", std::ios::binary);
    f << "P5\n" << set.width << " " << set.height << "\n255\n";
    f.write(reinterpret_cast<const char*>(set.pixels.data()) + size_t(i) * set.width * set.height,
            set.width * set.height);
  }
}

TEST(TsevalFolder, AccuracyEqualsTheIdxSetsByLabelAndBySortedOrder) {
  if (!fs::is_directory(kFashionMnistDir))
    FAIL() << kFashionMnistDir << " is missing: install the Debian package dataset-fashion-mnist";
  const LabeledImages set = load_idx_dir(kFashionMnistDir);
  const auto labels = Model::load(fashion_model())->info().metadata.labels;
  ASSERT_EQ(labels.size(), 10u);
  auto idx = test::run_command(tool("tseval") + " " + fashion_model() + " --limit 120 --json");
  ASSERT_EQ(idx.exit_code, 0) << idx.err;
  const auto expected = nlohmann::json::parse(idx.out);

  // Folder names as a user writes them: "T-shirt/top" cannot be one.
  std::vector<std::string> folder_labels;
  for (std::string l : labels) {
    for (char& c : l) c = std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
    folder_labels.push_back(l);
  }
  EXPECT_EQ(folder_labels[0], "t_shirt_top");
  const std::string by_label = test::temp_dir("imagefolder_labels");
  write_image_folder(by_label, set, 120, folder_labels);
  std::vector<std::string> numbered;  // not labels: sorted order gives the class
  for (int c = 0; c < 10; ++c) numbered.push_back("c" + std::to_string(c));
  const std::string by_order = test::temp_dir("imagefolder_order");
  write_image_folder(by_order, set, 120, numbered);

  for (const auto& [dir, rule] : {std::pair{by_label, "label"}, std::pair{by_order, "sorted order"}}) {
    SCOPED_TRACE(rule);
    auto r =
        test::run_command(tool("tseval") + " " + fashion_model() + " --dataset " + dir + " --json --batch 7");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["images"], 120);
    EXPECT_EQ(j["classes_matched_by"], rule);
    EXPECT_EQ(j["correct"], expected["correct"]);
    EXPECT_EQ(j["classes"], expected["classes"]);
  }
  auto text = test::run_command(tool("tseval") + " " + fashion_model() + " --dataset " + by_label);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("120 of 120 images in 10 class folders, matched to classes by label"),
            std::string::npos)
      << text.out;

  // A misspelt class among labels: refused, naming it.
  fs::rename(by_label + "/sneaker", by_label + "/sneakers");
  auto bad = test::run_command(tool("tseval") + " " + fashion_model() + " --dataset " + by_label);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("'sneakers'"), std::string::npos) << bad.err;
}

// ---- No output left behind when writing fails ----

// Runs `command` with the file size limited to 1 KiB, so that a write of
// more fails partway (EFBIG; SIGXFSZ ignored) as on a full disk.
test::CommandResult with_small_file_limit(const std::string& command) {
  return test::run_command("(ulimit -f 1; trap '' XFSZ; exec " + command + ")");
}

// Nothing in `dir` but what was there before.
void expect_only(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) found.push_back(e.path().filename().string());
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, names);
}

TEST(ToolOutputs, TsrunReportAndTraceLeaveNothingWhenAWriteFails) {
  const std::string dir = test::temp_dir("outputs_tsrun");
  const std::string input = " --input " + test::source_path("models/samples/fashion_0_ankle_boot.png");
  auto r =
      with_small_file_limit(tool("tsrun") + " " + fashion_model() + input + " --report " + dir + "/r.html");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir + "/r.html"), std::string::npos) << "the error names the report: " << r.err;
  EXPECT_EQ(r.err.find("r.html.tmp"), std::string::npos) << r.err;
  expect_only(dir, {});

  r = with_small_file_limit(tool("tsrun") + " " + fashion_model() + input + " --trace " + dir + "/trace");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir + "/trace/"), std::string::npos) << r.err;
  expect_only(dir, {});  // not even the folder it made

  fs::create_directories(dir + "/kept");
  std::ofstream(dir + "/kept/old.txt") << "a file the user had";
  r = with_small_file_limit(tool("tsrun") + " " + fashion_model() + input + " --trace " + dir + "/kept");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  expect_only(dir + "/kept", {"old.txt"});

  // Without the limit both are written.
  r = test::run_command(tool("tsrun") + " " + fashion_model() + input + " --report " + dir +
                        "/r.html --trace " + dir + "/trace");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/r.html"));
  EXPECT_TRUE(fs::exists(dir + "/trace/trace.json"));
  expect_only(dir, {"kept", "r.html", "trace"});
}

TEST(ToolOutputs, TsevalPredictionsLeaveNothingWhenAWriteFails) {
  if (!fs::is_directory(kFashionMnistDir))
    FAIL() << kFashionMnistDir << " is missing: install the Debian package dataset-fashion-mnist";
  const std::string dir = test::temp_dir("outputs_tseval");
  // 500 float32 predictions: 2 KB, over the 1 KiB limit.
  auto r = with_small_file_limit(tool("tseval") + " " + fashion_model() +
                                 " --limit 500 --quiet --predictions " + dir + "/p.npy");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir + "/p.npy"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("p.npy.tmp"), std::string::npos) << r.err;
  expect_only(dir, {});
}

TEST(ToolOutputs, TsconvertLeavesNothingWhenAWriteFails) {
  const std::string dir = test::temp_dir("outputs_tsconvert");
  auto r =
      with_small_file_limit(tool("tsconvert") + " " + test::source_path("tests/data/residual_block.onnx") +
                            " -o " + dir + "/m.onnx");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(dir + "/m.onnx"), std::string::npos) << r.err;
  expect_only(dir, {});

  // An op tspike does not run: the error names the input, where the op is.
  const std::string input = test::source_path("tests/broken/unsupported_op.onnx");
  r = test::run_command(tool("tsconvert") + " " + input + " -o " + dir + "/u.onnx");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error: " + input + ": node "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("u.onnx"), std::string::npos) << r.err;
  expect_only(dir, {});
}

// ---- The report says what was run ----

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '&'   ? "&amp;"
           : c == '<' ? "&lt;"
           : c == '>' ? "&gt;"
           : c == '"' ? "&quot;"
                      : std::string(1, c);
  return out;
}

TEST(ProfileTool, ReportShowsInputPredictionAndKernels) {
  const std::string dir = test::temp_dir("report_run");
  const std::string image = test::source_path("models/samples/fashion_2_trouser.png");
  auto r = test::run_command(tool("tsrun") + " " + fashion_model() + " --input " + image +
                             " --json --report " + dir + "/r.html");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const std::string html = slurp(dir + "/r.html");
  const auto run = html.find("id=\"run\"");
  ASSERT_NE(run, std::string::npos);
  EXPECT_NE(html.find(escaped(image), run), std::string::npos) << "the input file";
  EXPECT_NE(html.find("[1,1,28,28]", run), std::string::npos) << "the input shape";
  char probability[32];
  std::snprintf(probability, sizeof probability, "%.4f", j["top"][0][0]["probability"].get<double>());
  EXPECT_NE(html.find("Trouser (class 1, p = " + std::string(probability) + ")", run), std::string::npos)
      << "the prediction and its probability";
  auto info = test::run_command(tool("tsrun") + " " + fashion_model() + " --info --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto layers = html.find("id=\"layers\"");
  ASSERT_NE(layers, std::string::npos);
  int rows = 0;
  const auto model_info = nlohmann::json::parse(info.out);
  for (const auto& l : model_info["layers"]) {
    const std::string row = "<td>" + escaped(l["node"].get<std::string>()) + "</td><td>" +
                            escaped(l["op"].get<std::string>()) + "</td><td>" +
                            escaped(l["kernel"].get<std::string>()) + "</td>";
    EXPECT_NE(html.find(row, layers), std::string::npos) << row;
    ++rows;
  }
  EXPECT_GT(rows, 2);
}

}  // namespace
}  // namespace tspike
