// SPDX-License-Identifier: Apache-2.0
// Hostile input: every file in tests/broken/ (written by
// tests/make_broken_files.py) gives its own ErrorCode and a message that
// names the file and what is wrong, through the library and through tsrun,
// which exits 1 with one line, is never killed by a signal, and stays within
// a few hundred MB of address space (RLIMIT_AS, set with prlimit).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string broken(const std::string& name) { return test::source_path("tests/broken/" + name); }
std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

using test::expect_error;

struct Case {
  const char* file;
  ErrorCode code;
  std::vector<std::string> needles;  // besides the file's path
};

// Model files that Model::load refuses.
const std::vector<Case>& model_cases() {
  static const std::vector<Case> cases = {
      {"empty.onnx", ErrorCode::kParse, {"empty file"}},
      {"truncated.onnx", ErrorCode::kParse, {"not a valid ONNX (protobuf) model file"}},
      {"bitflip.onnx", ErrorCode::kParse, {"not a valid ONNX (protobuf) model file"}},
      {"text.onnx", ErrorCode::kParse, {"not a valid ONNX (protobuf) model file"}},
      {"cycle.onnx",
       ErrorCode::kInvalidModel,
       {"cycle", "'add_cycle' -> 'conv'", "'back_edge' -> 'add_cycle'"}},
      {"ghost_input.onnx", ErrorCode::kInvalidModel, {"'ghost'", "add_ghost"}},
      {"duplicate_output.onnx", ErrorCode::kInvalidModel, {"single static assignment", "'y'"}},
      {"duplicate_initializer.onnx", ErrorCode::kInvalidModel, {"initializer 'fc.bias' is defined twice"}},
      {"huge_input.onnx",
       ErrorCode::kResourceLimit,
       {"graph input 'x' declares shape [1,1,1048576,1048576]", "limit"}},
      {"negative_dim.onnx", ErrorCode::kInvalidModel, {"graph input 'x' declares a dimension of -3"}},
      {"external_data.onnx",
       ErrorCode::kInvalidModel,
       {"initializer 'conv.weight'", "external tensor data", "../../../../etc/passwd", "not supported"}},
      {"raw_data_short.onnx",
       ErrorCode::kInvalidModel,
       {"initializer 'conv.weight'", "raw_data holds 1 elements", "needs 134217728"}},
      {"nan_weights.onnx",
       ErrorCode::kInvalidModel,
       {"initializer 'conv.weight'", "node 'conv' (Conv)", "non-finite value (nan)"}},
      {"inf_bias.onnx",
       ErrorCode::kInvalidModel,
       {"initializer 'fc.bias'", "node 'fc' (Gemm)", "non-finite value (inf)"}},
      {"unknown_op.onnx", ErrorCode::kUnsupportedOp, {"node 'fancy'", "unknown op FancyOp"}},
      {"unsupported_op.onnx", ErrorCode::kUnsupportedOp, {"node 'softmax'", "Softmax is not supported"}},
      {"attr_type_spike.onnx", ErrorCode::kInvalidModel, {"attribute type", "spike", "threshold"}},
      {"attr_type_conv.onnx", ErrorCode::kInvalidModel, {"attribute type", "conv", "group"}},
      {"zero_stride.onnx", ErrorCode::kInvalidModel, {"node 'conv' (Conv)", "strides has 0", ">= 1"}},
      {"nan_threshold.onnx", ErrorCode::kInvalidModel, {"node 'spike'", "threshold nan must be finite"}},
      {"wrong_rank.onnx", ErrorCode::kShapeMismatch, {"gemm_rank4", "rank 2"}},
      {"huge_timesteps.onnx", ErrorCode::kResourceLimit, {"tspike.timesteps 100000000", "limit of 10000"}},
  };
  return cases;
}

TEST(Hostile, BrokenModelsGiveTheirErrorCodeAndMessage) {
  for (const auto& c : model_cases()) {
    SCOPED_TRACE(c.file);
    const std::string path = broken(c.file);
    auto needles = c.needles;
    needles.push_back(path);
    expect_error([&] { Model::load(path); }, c.code, needles);
    // The same bytes from memory, and through the converter.
    const std::string bytes = [&] {
      std::ifstream in(path, std::ios::binary);
      return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }();
    expect_error([&] { Model::load_from_memory(bytes.data(), bytes.size(), "mem.onnx"); }, c.code, c.needles);
    if (std::string(c.file) != "unsupported_op.onnx" && std::string(c.file) != "huge_timesteps.onnx")
      expect_error([&] { convert_file(path, test::temp_dir("hostile") + "/out.onnx"); }, c.code, c.needles);
  }
}

TEST(Hostile, OutputsBeyondTheLimitAreRefusedWhenPlanned) {
  // Loads (the declared input is 2^20 elements), but 300 copies of it are
  // over 2^28 elements: refused when the Session plans for N = 1, naming the
  // node, before the arena is allocated.
  auto concat = Model::load(broken("concat_huge.onnx"));
  Session s(concat);
  expect_error(
      [&] {
        s.run(Tensor({1, 1 << 20}));
      },
      ErrorCode::kResourceLimit, {"concat_huge", "[1,314572800]", "268435456"});
  // A Reshape whose target shape overflows int64.
  auto reshape = Model::load(broken("reshape_overflow.onnx"));
  Session r(reshape);
  expect_error(
      [&] {
        r.run(Tensor({1, 4}));
      },
      ErrorCode::kResourceLimit, {"reshape_overflow", "too many elements"});
  // With a lower limit the same plan fails for N = 1 of a normal model.
  LoadOptions small;
  small.limits.max_tensor_elements = 700;
  Session t(Model::load(data("residual_block.onnx"), small));
  t.run(load_npy(data("residual_block.input0.npy")));  // N = 1 fits
  expect_error([&] { t.run(load_npy(data("residual_block.input1.npy"))); }, ErrorCode::kResourceLimit,
               {"more than 700 elements"});
  LoadOptions arena;
  arena.limits.max_arena_bytes = 1024;
  Session u(Model::load(data("residual_block.onnx"), arena));
  expect_error([&] { u.run(load_npy(data("residual_block.input0.npy"))); }, ErrorCode::kResourceLimit,
               {"bytes, over the limit of 1024 bytes"});
}

TEST(Hostile, SessionRefusesHugeShapesAndTimestepsBeforeAllocating) {
  auto model = Model::load(data("residual_block.onnx"));
  // A shape of 2^62 elements (whose product overflows with one more dim)
  // and no data: a limit error, not an allocation or an overflow.
  Tensor huge;
  huge.shape = {int64_t{1} << 31, 1, int64_t{1} << 31, int64_t{1} << 31};
  Session s(model);
  expect_error([&] { s.run(huge); }, ErrorCode::kResourceLimit, {"more than 268435456 elements"});
  expect_error([&] { s.step(huge); }, ErrorCode::kResourceLimit, {"more than 268435456 elements"});
  Tensor negative;
  negative.shape = {1, -1, 8, 8};
  expect_error([&] { s.run(negative); }, ErrorCode::kBadInput, {"negative dimension"});
  expect_error(
      [&] {
        Session too_many(model, SessionOptions{20000, 1});
      },
      ErrorCode::kBadInput, {"1..10000"});
  // Sequence encoding: T is the input's time axis, bounded too.
  LoadOptions few;
  few.limits.max_timesteps = 4;
  Session seq(Model::load(data("binary_sequence.onnx"), few));
  expect_error([&] { seq.run(Tensor({5, 1, 6})); }, ErrorCode::kBadInput, {"time length 5 is not in 1..4"});
  // Streaming: steps without reset are bounded as well.
  Session steps(Model::load(data("residual_block.onnx"), few));
  Tensor frame({1, 1, 8, 8});
  for (int t = 0; t < 4; ++t) steps.step(frame);
  expect_error([&] { steps.step(frame); }, ErrorCode::kBadInput, {"more than 4 steps without reset()"});
}

TEST(Hostile, BrokenInputFiles) {
  const ModelInfo info = Model::load(data("residual_block.onnx"))->info();
  expect_error([&] { load_npy(broken("wrong_dtype.npy")); }, ErrorCode::kBadInput,
               {"wrong_dtype.npy", "'<f8'"});
  expect_error([&] { load_npy(broken("short_data.npy")); }, ErrorCode::kParse,
               {"short_data.npy", "needs 1000000 float32 values", "16 bytes"});
  expect_error([&] { load_npy(broken("huge_shape.npy")); }, ErrorCode::kResourceLimit,
               {"huge_shape.npy", "[1048576,1048576,1048576]"});
  expect_error([&] { load_npy(broken("bad_header.npy")); }, ErrorCode::kParse,
               {"bad_header.npy", "bad header"});
  // A valid .npy of a shape the model does not take.
  Session s(Model::load(data("residual_block.onnx")));
  expect_error([&] { s.run(load_npy(broken("wrong_shape.npy"))); }, ErrorCode::kBadInput,
               {"[1,2,8,8]", "[-1,1,8,8]"});
  expect_error([&] { load_image(broken("lying_header.png"), info); }, ErrorCode::kParse,
               {"lying_header.png", "cannot decode"});
  expect_error([&] { load_image(broken("truncated.png"), info); }, ErrorCode::kParse, {"truncated.png"});
  expect_error([&] { load_image(broken("huge_header.png"), info); }, ErrorCode::kResourceLimit,
               {"huge_header.png", "100000x100000"});
  expect_error([&] { load_image(broken("negative_height.bmp"), info); }, ErrorCode::kResourceLimit,
               {"negative_height.bmp", "8195x63996"});
  // A 4x4 image may not make the decoder reserve a gigabyte.
  expect_error([&] { load_image(broken("huge_idat.png"), info); }, ErrorCode::kResourceLimit,
               {"huge_idat.png", "1073741824", "4x4"});
  expect_error([&] { load_image(broken("oversized_huffman.jpg"), info); }, ErrorCode::kParse,
               {"oversized_huffman.jpg", "Huffman"});
  expect_error([&] { load_image(broken("image.gif"), info); }, ErrorCode::kParse,
               {"image.gif", "GIF", "PNG, JPEG"});
  // The same from memory.
  const std::string png = "\x89PNG\r\n\x1a\n";
  expect_error([&] { load_image_from_memory(png.data(), png.size(), "mem.png", info); }, ErrorCode::kParse,
               {"mem.png"});
  expect_error([&] { load_npy_from_memory("\x93NUMPY", 6, "mem.npy"); }, ErrorCode::kParse, {"mem.npy"});
  // A raised limit is honoured: a small file limit refuses the model.
  Limits tiny;
  tiny.max_file_bytes = 100;
  expect_error([&] { load_npy(data("residual_block.input1.npy"), tiny); }, ErrorCode::kResourceLimit,
               {"limit"});
}

// ---- tsrun ------------------------------------------------------------------

struct ToolCase {
  std::string model, input, needle;
};

// tsrun under RLIMIT_AS of `mb` (not in sanitizer builds: ASan and TSan
// reserve terabytes of address space for their shadow memory).
test::CommandResult tsrun_limited(const std::string& args, int mb = 256) {
  std::string prefix;
#ifndef TSPIKE_SANITIZED
  prefix = "prlimit --as=" + std::to_string(int64_t{mb} << 20) + " -- ";
#else
  (void)mb;
#endif
  return test::run_command(prefix + test::tools_dir() + "/tsrun " + args);
}

TEST(Hostile, TsrunExitsWithOneLineWithinAFewHundredMB) {
  const std::string dir = test::temp_dir("hostile_tsrun");
  // A 4 MB input for concat_huge.onnx.
  save_npy(dir + "/wide.npy", Tensor({1, 1 << 20}));
  save_npy(dir + "/four.npy", Tensor({1, 4}));
  const std::string good_model = data("residual_block.onnx"), good_input = data("residual_block.input0.npy");

  // The limit leaves room for a normal run.
  auto ok = tsrun_limited(good_model + " --input " + good_input + " --quiet");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  std::vector<ToolCase> cases;
  for (const auto& c : model_cases()) cases.push_back({broken(c.file), good_input, c.needles.front()});
  cases.push_back({broken("concat_huge.onnx"), dir + "/wide.npy", "concat_huge"});
  cases.push_back({broken("reshape_overflow.onnx"), dir + "/four.npy", "too many elements"});
  for (const char* f : {"wrong_dtype.npy", "short_data.npy", "huge_shape.npy", "bad_header.npy",
                        "lying_header.png", "truncated.png", "huge_header.png", "negative_height.bmp",
                        "huge_idat.png", "oversized_huffman.jpg", "image.gif"})
    cases.push_back({good_model, broken(f), f});
  cases.push_back({good_model, broken("wrong_shape.npy"), "[1,2,8,8]"});
  cases.push_back({good_model, "/dev/null", "/dev/null"});

  for (const auto& c : cases) {
    SCOPED_TRACE(c.model + " --input " + c.input);
    auto r = tsrun_limited(c.model + " --input " + c.input);
    EXPECT_EQ(r.signal, 0) << "killed by a signal: " << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("tsrun: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  std::filesystem::remove_all(dir);
}

TEST(Hostile, TsrunLimitOptions) {
  // Raising a limit lets a bigger model through; lowering one refuses a
  // normal model, with the limit in the message.
  auto r = tsrun_limited(broken("huge_timesteps.onnx") + " --info --max-timesteps 100000000");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = tsrun_limited(data("residual_block.onnx") + " --info --max-file-mb 1 --max-tensor-elements 700");
  EXPECT_EQ(r.exit_code, 0) << r.err;  // --info plans nothing
  r = tsrun_limited(data("residual_block.onnx") + " --input " + data("residual_block.input1.npy") +
                    " --max-tensor-elements 700");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("more than 700 elements"), std::string::npos) << r.err;
  r = tsrun_limited(data("residual_block.onnx") + " --input " + data("residual_block.input0.npy") +
                    " --max-arena-mb 1 --max-image-pixels 10 --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = tsrun_limited(data("residual_block.onnx") + " --input " +
                    test::source_path("models/samples/fashion_0_ankle_boot.png") + " --max-image-pixels 100");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("28x28 pixels, more than the limit of 100"), std::string::npos) << r.err;
  EXPECT_EQ(test::run_command(test::tools_dir() + "/tsrun x.onnx --max-tensor-elements 0").exit_code, 2);
}

}  // namespace
}  // namespace tspike
