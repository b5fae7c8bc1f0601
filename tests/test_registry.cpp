// The op registry is the one place that knows what an op is: every entry has
// complete traits, and no list of op names lives outside ops/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "ops/op.hpp"

namespace fs = std::filesystem;
using namespace tspike;

namespace {

const fs::path kSource = TSPIKE_SOURCE_DIR;

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
      EXPECT_EQ(e.traits->scale, ops::ScaleFlow::kIntoWeights) << "a layer absorbs an amplitude in its weights";
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
       "recognizes the chain PyTorch exports for x.view(N, -1) and evaluates its shape arithmetic"},
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
        for (auto m = std::sregex_iterator(code.begin(), code.end(), literal); m != std::sregex_iterator(); ++m)
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
