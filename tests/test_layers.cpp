// SPDX-License-Identifier: Apache-2.0
// The folders are layers (docs/architecture.md): base, ops, converter,
// runtime, each built against an include root that holds only itself and
// the layers below, and public headers that show nothing internal.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
const fs::path kSource = TSPIKE_SOURCE_DIR;
const fs::path kBinary = TSPIKE_BINARY_DIR;
const std::vector<std::string> kLayers = {"base", "ops", "converter", "runtime"};
}  // namespace

TEST(Layers, EachLayerSeesOnlyItselfAndTheLayersBelow) {
  for (size_t k = 0; k < kLayers.size(); ++k) {
    const fs::path root = kBinary / "layers" / kLayers[k];
    ASSERT_TRUE(fs::is_directory(root)) << root;
    for (size_t other = 0; other < kLayers.size(); ++other)
      EXPECT_EQ(fs::exists(root / kLayers[other]), other <= k) << kLayers[k] << " sees " << kLayers[other];
  }
}

// What the build does not catch: an include written with a path that some
// include root happens to resolve ("../runtime/x.hpp"), and the sources'
// own includes of a layer above.
TEST(Layers, NoSourceIncludesALayerAbove) {
  const std::regex include("#include \"([a-z_]+)/");
  std::vector<std::string> found;
  for (size_t k = 0; k < kLayers.size(); ++k)
    for (const auto& f : fs::directory_iterator(kSource / kLayers[k])) {
      std::ifstream in(f.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        std::smatch m;
        if (line.find("#include \"..") != std::string::npos) found.push_back(f.path().string() + ": " + line);
        if (!std::regex_search(line, m, include)) continue;
        const auto layer = std::find(kLayers.begin(), kLayers.end(), m[1].str());
        if (layer != kLayers.end() && size_t(layer - kLayers.begin()) > k)
          found.push_back(fs::relative(f.path(), kSource).string() + ":" + std::to_string(number) + ": " +
                          line);
      }
    }
  for (const auto& f : found) ADD_FAILURE() << f;
}

// The public headers name no internal type (detail::), so the library's
// insides can change without touching its users.
TEST(Layers, PublicHeadersExposeNothingInternal) {
  for (const auto& f : fs::directory_iterator(kSource / "include" / "tspike")) {
    std::ifstream in(f.path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const std::string code = line.substr(0, line.find("//"));
      EXPECT_EQ(code.find("detail::"), std::string::npos)
          << f.path().filename() << ":" << number << ": " << line;
      EXPECT_EQ(code.find("#include \"base/"), std::string::npos) << f.path().filename() << ":" << number;
    }
  }
}
