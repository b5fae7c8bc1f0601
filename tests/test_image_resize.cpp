// SPDX-License-Identifier: Apache-2.0
// How load_image fits an image to the model's input (runtime/input.cpp,
// runtime/image_resize.cpp): the resize the model's tspike.image.resize
// names, held to PIL's and PyTorch's outputs on the fixtures of
// tests/images/make_resize_fixtures.py; the metadata key parsed and refused
// when unknown; what was done reported (ImagePreprocessing) and, in tsrun,
// on stderr and in the JSON.
#include <gtest/gtest.h>

#include <string>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

ModelInfo image_model(const Shape& shape, ImageResize resize, bool crop) {
  ModelInfo m;
  m.path = "model.onnx";
  m.input.name = "image";
  m.input.shape = shape;
  m.metadata.image_scale = 1.0f / 255;
  m.metadata.image_resize = resize;
  m.metadata.image_center_crop = crop;
  return m;
}

const std::string kSource = "tests/images/resize_src.png";  // 41x23 RGBA

struct Case {
  const char* fixture;
  ImageResize resize;
  bool crop;
};

// Each fixture is PIL's (PyTorch's for plain bilinear) output on the float
// planes, 0..255; load_image with scale 1/255 must agree to 1e-5.
TEST(ImageResize, MatchesPilAndTorchOnFixtures) {
  const Case cases[] = {
      {"antialias_down_rgb", ImageResize::kBilinearAntialias, false},
      {"antialias_up_gray", ImageResize::kBilinearAntialias, false},
      {"nearest_down_rgb", ImageResize::kNearest, false},
      {"bilinear_down_rgb", ImageResize::kBilinear, false},
      {"antialias_crop_rgb", ImageResize::kBilinearAntialias, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture);
    const Tensor want = load_npy(test::source_path(std::string("tests/images/resize_") + c.fixture + ".npy"));
    ASSERT_EQ(want.shape.size(), 3u);
    const Shape input{1, want.shape[0], want.shape[1], want.shape[2]};
    const Tensor got = load_image(test::source_path(kSource), image_model(input, c.resize, c.crop));
    ASSERT_EQ(got.shape, input);
    double worst = 0;
    for (size_t k = 0; k < got.data.size(); ++k)
      worst = std::max(worst, std::abs(double(got.data[k]) - want.data[k] / 255.0));
    EXPECT_LT(worst, 1e-5);
  }
}

TEST(ImageResize, MetadataKeyChoosesTheResizeAndUnknownValuesAreRefused) {
  auto with = [](const std::string& value) {
    test::ModelBuilder b({-1, 1, 4, 4});
    b.node("Relu", "r", {"x"}, {"y"});
    b.output("y").metadata("tspike.timesteps", "1");
    if (!value.empty()) b.metadata("tspike.image.resize", value);
    return b;
  };
  EXPECT_EQ(with("").load()->info().metadata.image_resize, ImageResize::kBilinear);
  EXPECT_FALSE(with("").load()->info().metadata.image_center_crop);
  EXPECT_EQ(with("nearest").load()->info().metadata.image_resize, ImageResize::kNearest);
  const auto crop = with("bilinear_antialias_crop").load();
  EXPECT_EQ(crop->info().metadata.image_resize, ImageResize::kBilinearAntialias);
  EXPECT_TRUE(crop->info().metadata.image_center_crop);
  test::expect_error([&] { with("bicubic").load(); }, ErrorCode::kInvalidModel,
                     {"tspike.image.resize", "bicubic", "bilinear_antialias"});
}

TEST(ImageResize, ReportsWhatWasDone) {
  ImagePreprocessing done;
  load_image(test::source_path(kSource), image_model({1, 1, 12, 16}, ImageResize::kBilinear, false), {},
             &done);
  EXPECT_EQ(done.width, 41);
  EXPECT_EQ(done.height, 23);
  EXPECT_EQ(done.channels, 4);
  std::string all;
  for (const auto& n : done.notes) all += n + "\n";
  EXPECT_NE(all.find("RGB converted to gray"), std::string::npos) << all;
  EXPECT_NE(all.find("alpha channel dropped"), std::string::npos) << all;
  EXPECT_NE(all.find("resized from 41x23 to 16x12 (bilinear)"), std::string::npos) << all;
  EXPECT_NE(all.find("aspect ratio changed"), std::string::npos) << all;

  ImagePreprocessing cropped;
  load_image(test::source_path(kSource), image_model({1, 3, 16, 16}, ImageResize::kNearest, true), {},
             &cropped);
  ASSERT_EQ(cropped.notes.size(), 2u);  // alpha, resize + crop
  EXPECT_NE(cropped.notes[1].find("resized from 41x23 to 28x16 (nearest), then centre-cropped to 16x16"),
            std::string::npos)
      << cropped.notes[1];
}

TEST(ImageResize, AnImageOfTheInputSizeIsNotResized) {
  // 41x23 RGBA into [1, 3, 23, 41]: only the alpha channel goes.
  ImagePreprocessing done;
  const ModelInfo m = image_model({1, 3, 23, 41}, ImageResize::kBilinearAntialias, false);
  load_image(test::source_path(kSource), m, {}, &done);
  ASSERT_EQ(done.notes.size(), 1u);
  EXPECT_EQ(done.notes[0], "alpha channel dropped");
}

}  // namespace
}  // namespace tspike
