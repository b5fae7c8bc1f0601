// SPDX-License-Identifier: Apache-2.0
// The op registry is the one place that knows what an op is: every entry has
// complete traits, no list of op names lives outside ops/, and every op has
// what "adding an op" (docs/architecture.md) asks for: its tests in
// tests/ops/ and its NumPy reference in tools/tspike_ref.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ops/op.hpp"
#include "tests/ops/op_test.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;
using namespace tspike;

namespace {

const fs::path kSource = TSPIKE_SOURCE_DIR;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The comment lines a file opens with.
std::string opening_comment(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (text.compare(pos, 2, "//") == 0) {
    const size_t end = text.find('\n', pos);
    out += text.substr(pos, end - pos) + "\n";
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

bool has_word(const std::string& text, const std::string& word) {
  return std::regex_search(text, std::regex("\\b" + word + "\\b"));
}

std::set<std::string> registered_names() {
  std::set<std::string> names;
  for (const auto& e : ops::op_registry()) names.insert(e.op_type);
  return names;
}

}  // namespace

TEST(Registry, EveryEntryHasCompleteTraits) {
  for (const auto& e : ops::op_registry()) {
    SCOPED_TRACE(e.op_type);
    ASSERT_NE(e.traits, nullptr);
    ASSERT_NE(e.create, nullptr);
    if (e.traits->layer) {
      EXPECT_NE(e.traits->layer->weight_layout, nullptr);
      EXPECT_EQ(e.traits->scale, ops::ScaleFlow::kIntoWeights)
          << "a layer absorbs an amplitude in its weights";
    }
    if (e.traits->neuron) EXPECT_NE(e.traits->check, nullptr) << "a neuron checks its attributes";
    if (e.traits->spikes == ops::SpikeFlow::kAverages)
      EXPECT_NE(e.traits->tiling_window, nullptr) << "an average of spikes says when it folds into a layer";
    // Ops of tspike's own domain tell ONNX's checker what they are.
    EXPECT_EQ(std::string(e.domain) == ops::kDomain, e.traits->register_schema != nullptr);
    EXPECT_EQ(ops::find_traits(e.domain, e.op_type), e.traits);
  }
  EXPECT_EQ(ops::find_traits("", "NoSuchOp"), nullptr);
  EXPECT_EQ(ops::find_traits("ai.onnx", "Conv"), ops::find_traits("", "Conv"));
}

// Outside ops/, code asks an op's traits, never compares its name: a string
// literal naming a registered op ("Conv") in the C++ of base/, runtime/,
// converter/, tools/, include/ or python/ fails this test. Two converter files are exempt, each for a
// reason that is about ONNX graphs, not about tspike's ops.
TEST(Registry, NoOpNamesOutsideOps) {
  const std::map<std::string, std::string> exempt = {
      {"converter/fold_views.cpp",
       "recognizes the chain PyTorch exports for x.view(N, -1) and evaluates its shape arithmetic, "
       "and the Identity nodes PyTorch puts in front of merged initializers"},
      {"converter/scale_edits.cpp", "inserts the Mul nodes that keep an amplitude on an edge"},
  };
  const std::set<std::string> names = registered_names();
  const std::regex literal("\"([A-Za-z]+)\"");
  std::vector<std::string> found;
  for (const char* dir : {"base", "runtime", "converter", "tools", "include", "python"}) {
    if (!fs::exists(kSource / dir)) continue;
    for (const auto& f : fs::recursive_directory_iterator(kSource / dir)) {
      const std::string ext = f.path().extension();
      if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".inl") continue;
      const std::string rel = fs::relative(f.path(), kSource).string();
      if (exempt.count(rel)) continue;
      std::ifstream in(f.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        const std::string code = line.substr(0, line.find("//"));
        for (auto m = std::sregex_iterator(code.begin(), code.end(), literal); m != std::sregex_iterator();
             ++m)
          if (names.count((*m)[1])) found.push_back(rel + ":" + std::to_string(number) + ": " + line);
      }
    }
  }
  EXPECT_TRUE(found.empty()) << "op names outside ops/ (use ops::find_traits):\n"
                             << [&] {
                                  std::string s;
                                  for (const auto& f : found) s += "  " + f + "\n";
                                  return s;
                                }();
}

// An op outside the registry is refused, naming the node and the op.
TEST(OpsErrors, UnsupportedOpNamesNodeAndOp) {
  auto b = test::net({-1, 4});
  b.node("Softmax", "probs", {"x"}, {"y"}).i("axis", 1);
  b.output("y");
  test::expect_error([&] { test::run(b, Tensor({1, 4})); }, ErrorCode::kUnsupportedOp, {"probs", "Softmax"});

  // LSTM over x [seq = N, batch 1, 2], hidden size 1.
  auto l = test::net({-1, 1, 2});
  l.initializer("W", {1, 4, 2}, test::Floats(8, 0.5f)).initializer("R", {1, 4, 1}, test::Floats(4, 0.5f));
  l.node("LSTM", "rnn", {"x", "W", "R"}, {"y"}).i("hidden_size", 1);
  l.output("y");
  test::expect_error([&] { test::run(l, Tensor({3, 1, 2})); }, ErrorCode::kUnsupportedOp, {"rnn", "LSTM"});
}

// For each registered op: the ops/*.cpp file that defines traits_<Op> has
// tests/ops/test_<file>.cpp, whose opening comment names the op and which
// instantiates the op's ONNX conformance cases (TSPIKE_ONNX_CONFORMANCE) or
// says why there are none (TSPIKE_NO_ONNX_CONFORMANCE); and
// tools/tspike_ref.py, the NumPy reference interpreter, runs the op.
TEST(Registry, EveryOpHasItsTestFileAndNumpyReference) {
  std::map<std::string, std::string> sources;  // ops/<stem>.cpp -> text
  for (const auto& f : fs::directory_iterator(kSource / "ops"))
    if (f.path().extension() == ".cpp") sources[f.path().stem().string()] = read_text(f.path());
  const std::string ref = read_text(kSource / "tools" / "tspike_ref.py");
  ASSERT_FALSE(ref.empty()) << "tools/tspike_ref.py";
  // The standard ops tspike_ref.py runs: the keys of its OPS table.
  const size_t table = ref.find("\nOPS = {");
  ASSERT_NE(table, std::string::npos) << "tools/tspike_ref.py has no OPS table";
  const std::string ref_ops = ref.substr(table, ref.find('}', table) - table);

  for (const auto& e : ops::op_registry()) {
    const std::string op = e.op_type;
    SCOPED_TRACE(op);
    std::vector<std::string> stems;
    for (const auto& [stem, text] : sources)
      if (std::regex_search(text, std::regex("OpTraits traits_" + op + "\\b"))) stems.push_back(stem);
    if (stems.size() != 1) {
      ADD_FAILURE() << stems.size() << " ops/*.cpp files define traits_" << op << "; expected one";
      continue;
    }
    if (std::string(e.domain).empty())
      EXPECT_NE(ref_ops.find("\"" + op + "\":"), std::string::npos)
          << "tools/tspike_ref.py's OPS table has no entry for " << op;
    else
      EXPECT_NE(ref.find("\"" + op + "\""), std::string::npos) << "tools/tspike_ref.py does not run " << op;

    const fs::path test_file = kSource / "tests" / "ops" / ("test_" + stems[0] + ".cpp");
    const std::string test_name = "tests/ops/test_" + stems[0] + ".cpp";
    if (!fs::exists(test_file)) {
      ADD_FAILURE() << op << " is defined in ops/" << stems[0] << ".cpp, but " << test_name
                    << " does not exist";
      continue;
    }
    const std::string test = read_text(test_file);
    EXPECT_TRUE(has_word(opening_comment(test), op))
        << test_name << "'s opening comment does not name " << op;
    EXPECT_NE(test.find("TEST("), std::string::npos) << test_name << " has no test";
    bool conformance = false;
    const std::regex instantiate("TSPIKE_ONNX_CONFORMANCE\\(\\s*\\w+\\s*,([^;]*)\\);");
    for (auto m = std::sregex_iterator(test.begin(), test.end(), instantiate); m != std::sregex_iterator();
         ++m)
      conformance |= (*m)[1].str().find("\"" + op + "\"") != std::string::npos;
    conformance |=
        std::regex_search(test, std::regex("TSPIKE_NO_ONNX_CONFORMANCE\\(\\s*" + op + "\\s*,\\s*\"[^\"]+\""));
    EXPECT_TRUE(conformance) << test_name << " neither instantiates " << op
                             << "'s ONNX cases (TSPIKE_ONNX_CONFORMANCE(Suite, \"" << op
                             << "\")) nor says why there are none (TSPIKE_NO_ONNX_CONFORMANCE)";
  }
}
