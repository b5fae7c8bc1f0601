// The bundled trained model (models/fashion_tsnet.onnx) against the PyTorch
// outputs stored when it was trained (scripts/train_fashion.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string models(const std::string& name) { return test::source_path("models/" + name); }

int64_t argmax(const float* v, int64_t n) { return std::max_element(v, v + n) - v; }

TEST(BundledModel, MatchesPyTorchOnGoldenInputs) {
  auto model = Model::load(models("fashion_tsnet.onnx"));
  Tensor input = load_npy(models("golden/fashion_tsnet.input.npy"));
  Tensor golden = load_npy(models("golden/fashion_tsnet.output.npy"));
  // Per input: how close any membrane came to +-theta in PyTorch. Below
  // about 1e-5 float rounding may flip a spike (spec section 4), so only the
  // class is compared there.
  Tensor margin = load_npy(models("golden/fashion_tsnet.margin.npy"));
  Session session(model);
  Tensor out = session.run(input).at(0);
  ASSERT_EQ(out.shape, golden.shape);
  const int64_t n = golden.shape[0], classes = golden.shape[1];
  for (int64_t s = 0; s < n; ++s) {
    const float* got = out.data.data() + s * classes;
    const float* want = golden.data.data() + s * classes;
    EXPECT_EQ(argmax(got, classes), argmax(want, classes)) << "sample " << s;
    if (margin.data[s] < 1e-5f) continue;
    for (int64_t c = 0; c < classes; ++c) EXPECT_NEAR(got[c], want[c], 1e-4f) << "sample " << s;
  }
}

TEST(BundledModel, ClassifiesTheSampleImages) {
  auto model = Model::load(models("fashion_tsnet.onnx"));
  Session session(model);
  const std::pair<const char*, const char*> samples[] = {
      {"samples/fashion_0_ankle_boot.png", "Ankle boot"},
      {"samples/fashion_1_pullover.png", "Pullover"},
      {"samples/fashion_2_trouser.png", "Trouser"},
      {"samples/fashion_3_trouser.png", "Trouser"},
  };
  const auto& labels = model->info().metadata.labels;
  for (const auto& [file, label] : samples) {
    Tensor out = session.run(load_image(models(file), model->info())).at(0);
    EXPECT_EQ(labels.at(argmax(out.data.data(), out.shape[1])), label) << file;
  }
}

// The image path (decode, scale, mean, std) gives what PyTorch's
// preprocessing gave for the same test image.
TEST(BundledModel, ImagePreprocessingMatchesTraining) {
  auto model = Model::load(models("fashion_tsnet.onnx"));
  Tensor image = load_image(models("samples/fashion_0_ankle_boot.png"), model->info());
  Tensor golden = load_npy(models("golden/fashion_tsnet.input.npy"));
  ASSERT_EQ(image.shape, (Shape{1, 1, 28, 28}));
  for (size_t k = 0; k < image.data.size(); ++k) ASSERT_NEAR(image.data[k], golden.data[k], 1e-5f) << k;
}

}  // namespace
}  // namespace tspike
