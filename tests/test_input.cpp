// SPDX-License-Identifier: Apache-2.0
// Tests of load_image, load_npy and save_npy (runtime/input.cpp, runtime/npy.cpp).
// Images are written here with stb_image_write (its implementation is in
// Debian's libstb, which the tests link); expected values are computed by
// hand.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/image_decode.hpp"
#include "tests/test_util.hpp"
#include "tspike/error.hpp"
#include "tspike/input.hpp"

namespace tspike {
namespace {

ModelInfo image_model(Shape shape, float scale = 1.0f, std::vector<float> mean = {0.0f},
                      std::vector<float> stddev = {1.0f}) {
  ModelInfo m;
  m.path = "model.onnx";
  m.input.name = "image";
  m.input.shape = std::move(shape);
  m.metadata.image_scale = scale;
  m.metadata.image_mean = std::move(mean);
  m.metadata.image_std = std::move(stddev);
  return m;
}

std::string write_png(const std::string& dir, const std::string& name, int w, int h, int comp,
                      const std::vector<unsigned char>& pixels) {
  EXPECT_EQ(pixels.size(), std::size_t(w * h * comp));
  const std::string path = dir + "/" + name;
  EXPECT_NE(stbi_write_png(path.c_str(), w, h, comp, pixels.data(), w * comp), 0);
  return path;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Pixels that compress badly: a cut file loses most of the image.
std::vector<unsigned char> noise_pixels(std::size_t n) {
  std::vector<unsigned char> px(n);
  for (std::size_t i = 0; i < n; ++i) px[i] = static_cast<unsigned char>(i * 7919 % 251);
  return px;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

using test::expect_error;

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  EXPECT_EQ(t.shape, shape);
  ASSERT_EQ(t.data.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.data[i], want[i], 1e-4) << "at " << i;
}

TEST(LoadImage, GrayPngWithScaleMeanStd) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "g.png", 2, 2, 1, {0, 51, 102, 255});
  // (p / 255 - 0.5) / 0.25
  const Tensor t = load_image(path, image_model({-1, 1, 2, 2}, 1.0f / 255, {0.5f}, {0.25f}));
  expect_values(t, {1, 1, 2, 2}, {-2.0f, -1.2f, -0.4f, 2.0f});
}

TEST(LoadImage, RgbToGrayUsesLuminance) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "c.png", 2, 1, 3, {255, 0, 0, 10, 20, 30});
  // 0.299 * 255; 0.299 * 10 + 0.587 * 20 + 0.114 * 30
  expect_values(load_image(path, image_model({1, 1, 1, 2})), {1, 1, 1, 2}, {76.245f, 18.15f});
}

TEST(LoadImage, GrayToRgbReplicatesWithPerChannelNormalization) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "g.png", 2, 1, 1, {40, 80});
  const Tensor t = load_image(path, image_model({1, 3, 1, 2}, 1.0f, {0, 10, 20}, {1, 2, 4}));
  expect_values(t, {1, 3, 1, 2}, {40, 80, 15, 35, 5, 15});
}

TEST(LoadImage, RgbaDropsAlpha) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "a.png", 1, 1, 4, {1, 2, 3, 0});
  expect_values(load_image(path, image_model({1, 3, 1, 1})), {1, 3, 1, 1}, {1, 2, 3});
}

// Half-pixel centers (align_corners=False): the 4 outputs along an axis of
// 2 pixels sit at source positions -0.25 (clamped to 0), 0.25, 0.75, 1.25
// (clamped to 1), i.e. weights of the second pixel 0, 0.25, 0.75, 1.
TEST(LoadImage, BilinearUpsampling2x2To4x4) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "u.png", 2, 2, 1, {0, 0, 0, 160});
  // Only the bottom-right pixel is nonzero: out = 160 * wx * wy.
  const Tensor t = load_image(path, image_model({1, 1, 4, 4}));
  expect_values(t, {1, 1, 4, 4},
                {0, 0, 0, 0,      //
                 0, 10, 30, 40,   //
                 0, 30, 90, 120,  //
                 0, 40, 120, 160});
}

// Factor 2 down: outputs sit at 0.5 and 2.5, i.e. the mean of each 2x2 block.
TEST(LoadImage, BilinearDownsampling4x4To2x2) {
  const std::string dir = test::temp_dir("img");
  std::vector<unsigned char> px(16);
  for (int i = 0; i < 16; ++i) px[i] = static_cast<unsigned char>(10 * i);
  const auto path = write_png(dir, "d.png", 4, 4, 1, px);
  expect_values(load_image(path, image_model({1, 1, 2, 2})), {1, 1, 2, 2}, {25, 45, 105, 125});
}

// 3 -> 2 (as PyTorch, no antialias): positions 0.25 and 1.75.
TEST(LoadImage, BilinearNonIntegerRatio) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "r.png", 3, 1, 1, {0, 100, 200});
  expect_values(load_image(path, image_model({1, 1, 1, 2})), {1, 1, 1, 2}, {25, 175});
}

TEST(LoadImage, JpegUniformColor) {
  const std::string dir = test::temp_dir("img");
  std::vector<unsigned char> px;
  for (int i = 0; i < 64; ++i) px.insert(px.end(), {200, 100, 50});
  const std::string path = dir + "/c.jpg";
  ASSERT_NE(stbi_write_jpg(path.c_str(), 8, 8, 3, px.data(), 100), 0);
  const Tensor t = load_image(path, image_model({1, 3, 4, 4}));
  ASSERT_EQ(t.shape, (Shape{1, 3, 4, 4}));
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16; ++i) EXPECT_NEAR(t.data[c * 16 + i], px[c], 3.0) << c;  // lossy
}

// Rows and channels land where they belong: a gradient through the JPEG
// decoder matches the same pixels through PNG, within JPEG's loss.
TEST(LoadImage, JpegGradientMatchesPng) {
  const std::string dir = test::temp_dir("img");
  std::vector<unsigned char> px;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) px.insert(px.end(), {uint8_t(x * 16), uint8_t(y * 16), uint8_t(128)});
  const std::string jpg = dir + "/g.jpg";
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, px.data(), 100), 0);
  const auto png = write_png(dir, "g.png", 16, 16, 3, px);
  const Tensor a = load_image(jpg, image_model({1, 3, 16, 16})),
               b = load_image(png, image_model({1, 3, 16, 16}));
  ASSERT_EQ(a.shape, b.shape);
  for (std::size_t i = 0; i < a.data.size(); ++i) ASSERT_NEAR(a.data[i], b.data[i], 8.0) << i;
}

// JPEGs decode to exactly the pixels PIL gives (both through libjpeg-turbo,
// same IDCT and chroma upsampling): what a PyTorch pipeline built on PIL fed
// the network. Fixtures: tests/images/make_images.py.
TEST(LoadImage, JpegPixelsAreThoseOfPil) {
  for (const std::string name : {"rgb_420", "rgb_444_progressive", "gray"}) {
    SCOPED_TRACE(name);
    const Tensor want = load_npy(test::source_path("tests/images/" + name + ".pil.npy"));
    ASSERT_EQ(want.shape.size(), 3u);
    const Tensor got = load_image(test::source_path("tests/images/" + name + ".jpg"),
                                  image_model({1, want.shape[0], want.shape[1], want.shape[2]}));
    ASSERT_EQ(got.data.size(), want.data.size());
    int differ = 0;
    for (std::size_t i = 0; i < got.data.size(); ++i) differ += got.data[i] != want.data[i];
    EXPECT_EQ(differ, 0) << "of " << got.data.size();
  }
}

// A JPEG cut short is an error, not an image with gray blocks.
TEST(LoadImage, TruncatedJpegIsParseError) {
  const std::string dir = test::temp_dir("img");
  const std::vector<unsigned char> px = noise_pixels(32 * 32 * 3);
  const std::string path = dir + "/t.jpg";
  ASSERT_NE(stbi_write_jpg(path.c_str(), 32, 32, 3, px.data(), 90), 0);
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  expect_error([&] { load_image(path, image_model({1, 3, 32, 32})); }, ErrorCode::kParse, {path});
}

// The decoders' memory is bounded: below what a 64x64 RGB image takes, both
// the PNG and the JPEG decoder fail (and say by how much), above it they
// succeed.
TEST(LoadImage, DecoderAllocationsStayWithinTheBudget) {
  const std::string dir = test::temp_dir("img");
  const std::vector<unsigned char> px = noise_pixels(64 * 64 * 3);
  const std::string jpg = dir + "/b.jpg";
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), 64, 64, 3, px.data(), 90), 0);
  for (const std::string& path : {write_png(dir, "b.png", 64, 64, 3, px), jpg}) {
    SCOPED_TRACE(path);
    const std::string bytes = read_bytes(path);
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto small = detail::decode_image(data, int(bytes.size()), 64 * 64 * 3 - 1);
    EXPECT_FALSE(small.pixels);
    EXPECT_GT(small.refused_bytes, 0u);
    const auto enough = detail::decode_image(data, int(bytes.size()), std::size_t{1} << 20);
    ASSERT_TRUE(enough.pixels) << enough.failure;
    EXPECT_EQ(enough.width, 64);
    EXPECT_EQ(enough.height, 64);
    EXPECT_EQ(enough.channels, 3);
  }
}

TEST(LoadImage, TruncatedPngIsParseError) {
  const std::string dir = test::temp_dir("img");
  const std::vector<unsigned char> px = noise_pixels(32 * 32 * 3);
  const auto path = write_png(dir, "t.png", 32, 32, 3, px);
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  expect_error([&] { load_image(path, image_model({1, 3, 32, 32})); }, ErrorCode::kParse, {path});
}

TEST(LoadImage, TextFileIsParseError) {
  const std::string path = test::temp_dir("img") + "/text.png";
  write_bytes(path, "this is not an image\n");
  expect_error([&] { load_image(path, image_model({1, 1, 2, 2})); }, ErrorCode::kParse, {path});
}

TEST(LoadImage, MissingFileIsIOError) {
  const std::string path = test::temp_dir("img") + "/missing.png";
  expect_error([&] { load_image(path, image_model({1, 1, 2, 2})); }, ErrorCode::kIO, {path});
}

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(uint32_t(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG with only an IHDR (8-bit gray) and IEND: the header lies about the size.
std::string lying_png(uint32_t w, uint32_t h) {
  return std::string("\x89PNG\r\n\x1a\n", 8) +
         png_chunk("IHDR", be32(w) + be32(h) + std::string("\x08\0\0\0\0", 5)) + png_chunk("IEND", "");
}

// Each file is a few bytes: if decoding had started, stb would fail on the
// missing pixel data (kParse); kResourceLimit shows the header check refused
// the image before any pixel buffer was allocated.
TEST(LoadImage, HugeHeaderIsRefusedBeforeDecoding) {
  const std::string dir = test::temp_dir("img");
  const ModelInfo model = image_model({1, 1, 2, 2});

  // stbi_info reports 100000x10000 (within stb's own PNG bound): our limit.
  const std::string wide = dir + "/wide.png";
  write_bytes(wide, lying_png(100000, 10000));
  expect_error([&] { load_image(wide, model); }, ErrorCode::kResourceLimit, {"100000x10000"});

  // stb's PNG reader refuses 100000x100000 inside stbi_info and reports
  // "unknown image type"; load_image reads the IHDR size itself then.
  const std::string huge = dir + "/huge.png";
  write_bytes(huge, lying_png(100000, 100000));
  expect_error([&] { load_image(huge, model); }, ErrorCode::kResourceLimit, {"100000x100000"});

  // A header with sides beyond 2^31 (the product would overflow int64).
  const std::string max = dir + "/max.png";
  write_bytes(max, lying_png(0xFFFFFFFFu, 0xFFFFFFFFu));
  expect_error([&] { load_image(max, model); }, ErrorCode::kResourceLimit, {"4294967295x4294967295"});

  // stbi_info reports the full 100000x100000 of a PGM header: our limit.
  const std::string pgm = dir + "/huge.pgm";
  write_bytes(pgm, "P5\n100000 100000\n255\n");
  expect_error([&] { load_image(pgm, model); }, ErrorCode::kResourceLimit, {"100000x100000"});
}

TEST(LoadImage, ModelShapeErrors) {
  const std::string dir = test::temp_dir("img");
  const auto path = write_png(dir, "g.png", 2, 2, 1, {0, 1, 2, 3});
  expect_error([&] { load_image(path, image_model({1, 2, 2, 2})); }, ErrorCode::kBadInput, {"'image'"});
  expect_error(
      [&] {
        load_image(path, image_model({1, 784}));
      },
      ErrorCode::kBadInput, {"not an image input"});
  expect_error([&] { load_image(path, image_model({1, 1, -1, -1})); }, ErrorCode::kBadInput, {"H and W"});
  expect_error(
      [&] {
        load_image(path, image_model({1, 3, 2, 2}, 1, {0, 0}));
      },
      ErrorCode::kInvalidModel, {"mean"});
  ModelInfo seq = image_model({1, 1, 2, 2});
  seq.metadata.encoding = Encoding::kSequence;
  expect_error([&] { load_image(path, seq); }, ErrorCode::kBadInput, {"sequence"});
}

// ---- .npy -----------------------------------------------------------------

// A .npy file with the given version and dict, padded as NumPy does, and data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  const std::size_t prelude = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prelude + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += char(major);
  out += '\0';
  const std::size_t n = header.size();
  out += char(n & 0xFF);
  out += char(n >> 8);
  if (major != 1) out += std::string(2, '\0');
  return out + header + data;
}

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string dict(const std::string& descr, const std::string& order, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

TEST(Npy, RoundTrip) {
  const std::string dir = test::temp_dir("npy");
  for (const Shape& shape : {Shape{2, 3}, Shape{5}, Shape{}, Shape{0, 4}, Shape{1, 3, 2, 2}}) {
    Tensor t(shape);
    for (std::size_t i = 0; i < t.data.size(); ++i) t.data[i] = 0.5f * float(i) - 1.25f;
    const std::string path = dir + "/t.npy";
    save_npy(path, t);
    const std::string bytes = read_bytes(path);
    const std::size_t data_start = bytes.size() - t.data.size() * 4;
    EXPECT_EQ(data_start % 64, 0u);
    EXPECT_EQ(bytes[data_start - 1], '\n');
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const Tensor back = load_npy(path);
    EXPECT_EQ(back.shape, shape) << shape_to_string(shape);
    EXPECT_EQ(back.data, t.data);
  }
  // The exact header NumPy writes for shape (3,) and ().
  save_npy(dir + "/v.npy", Tensor({3}, {1, 2, 3}));
  EXPECT_NE(read_bytes(dir + "/v.npy").find("'shape': (3,), }"), std::string::npos);
  save_npy(dir + "/s.npy", Tensor({}, {7}));
  EXPECT_NE(read_bytes(dir + "/s.npy").find("'shape': (), }"), std::string::npos);
}

TEST(Npy, ReadsVersions2And3AndOtherSpellings) {
  const std::string dir = test::temp_dir("npy");
  const std::string path = dir + "/x.npy";
  for (int major : {1, 2, 3}) {
    write_bytes(path, npy_bytes(major, dict("<f4", "False", "(2, 1)"), floats({4, 5})));
    expect_values(load_npy(path), {2, 1}, {4, 5});
  }
  // Key order, double quotes, no trailing comma, Python 2 longs.
  write_bytes(path,
              npy_bytes(1, "{\"shape\": (2L,), 'fortran_order': False, 'descr': '<f4'}", floats({1, 2})));
  expect_values(load_npy(path), {2}, {1, 2});
}

TEST(Npy, Errors) {
  const std::string dir = test::temp_dir("npy");
  const std::string path = dir + "/bad.npy";
  const std::string two = floats({1, 2});
  auto expect_npy = [&](const std::string& bytes, ErrorCode code, const std::string& text,
                        const Limits& limits = {}) {
    write_bytes(path, bytes);
    expect_error([&] { load_npy(path, limits); }, code, {text});
  };
  expect_npy(npy_bytes(1, dict("<f8", "False", "(2,)"), two + two), ErrorCode::kBadInput, "'<f8'");
  expect_npy(npy_bytes(1, dict(">f4", "False", "(2,)"), two), ErrorCode::kBadInput, "float32");
  expect_npy(npy_bytes(1, dict("|u1", "False", "(2,)"), "ab"), ErrorCode::kBadInput, "'|u1'");
  expect_npy(npy_bytes(1, dict("<f4", "True", "(2,)"), two), ErrorCode::kBadInput, "Fortran");
  expect_npy(npy_bytes(1, dict("<f4", "False", "(3,)"), two), ErrorCode::kParse, path);
  expect_npy(npy_bytes(1, dict("<f4", "False", "(1,)"), two), ErrorCode::kParse, path);
  expect_npy(npy_bytes(1, dict("<f4", "False", "(2,)"), two.substr(0, 7)), ErrorCode::kParse, path);
  expect_npy(npy_bytes(1, dict("<f4", "False", "(1099511627776, 1099511627776)"), two),
             ErrorCode::kResourceLimit, "[1099511627776,1099511627776]");
  expect_npy(npy_bytes(1, dict("<f4", "False", "(99999999999999999999999,)"), two), ErrorCode::kResourceLimit,
             path);
  Limits small;
  small.max_tensor_elements = 3;
  expect_npy(npy_bytes(1, dict("<f4", "False", "(2, 2)"), two + two), ErrorCode::kResourceLimit, "[2,2]",
             small);
  expect_npy(npy_bytes(1, dict("<f4", "False", "(-1, 2)"), two), ErrorCode::kParse, "non-negative");
  expect_npy(npy_bytes(1, dict("<f4", "False", "('a',)"), two), ErrorCode::kParse, "non-negative");
  expect_npy(npy_bytes(1, dict("<f4", "False", "(2"), two), ErrorCode::kParse, path);
  expect_npy(npy_bytes(1, dict("<f4", "Maybe", "(2,)"), two), ErrorCode::kParse, "fortran_order");
  expect_npy(npy_bytes(1, "{'descr': '<f4', 'shape': (2,)}", two), ErrorCode::kParse, "'fortran_order'");
  expect_npy(npy_bytes(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", two),
             ErrorCode::kParse, "repeated");
  expect_npy(npy_bytes(1, dict("<f4", "False", "(2,)") + " x", two), ErrorCode::kParse, "after the dict");
  expect_npy(std::string("\x93NUMPZ\x01\x00\x10\x00", 10) + std::string(16, ' '), ErrorCode::kParse, "magic");
  expect_npy("\x93NUM", ErrorCode::kParse, "magic");
  expect_npy("", ErrorCode::kParse, "magic");
  expect_npy(std::string("\x93NUMPY\x04\x00\x10\x00", 10) + std::string(16, ' '), ErrorCode::kParse,
             "version 4.0");
  // Header length 0xFFFF in a file of a few dozen bytes.
  expect_npy(std::string("\x93NUMPY\x01\x00\xff\xff", 10) + "{'descr': '<f4'}", ErrorCode::kParse,
             "past the end");
  // Version 2.0 with a 4-byte length of 0xFFFFFFF0: refused before allocating.
  expect_npy(std::string("\x93NUMPY\x02\x00\xf0\xff\xff\xff", 12) + "{}", ErrorCode::kParse, "past the end");
  expect_npy(std::string("\x93NUMPY\x02\x00\x01\x00\x00", 11), ErrorCode::kParse, "inside the header");

  expect_error([&] { load_npy(dir + "/missing.npy"); }, ErrorCode::kIO, {dir + "/missing.npy"});
}

TEST(Npy, SaveErrors) {
  const std::string dir = test::temp_dir("npy");
  expect_error([&] { save_npy(dir + "/no/such/dir/x.npy", Tensor({1}, {1})); }, ErrorCode::kIO, {"x.npy"});
  expect_error([&] { save_npy(dir + "/x.npy", Tensor({2, 2}, {1, 2, 3})); }, ErrorCode::kBadInput, {"[2,2]"});
}

}  // namespace
}  // namespace tspike
