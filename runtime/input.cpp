// SPDX-License-Identifier: Apache-2.0
// load_image: an image file -> the model's input tensor [1, C, H, W], as the
// format (spec section 2) says: channel conversion, resize (and crop) by
// tspike.image.resize, scale, normalize. The .npy functions are in npy.cpp.
#include "tspike/input.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "base/checked.hpp"
#include "runtime/image_decode.hpp"
#include "runtime/image_resize.hpp"
#include "tspike/error.hpp"

namespace tspike {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

using detail::Planes;  // values 0..255

struct ImageShape {
  int channels, height, width;
};

// Checks what load_image needs from the model before touching the file.
ImageShape image_shape_of(const ModelInfo& model, const std::string& path, const Limits& limits) {
  const ValueInfo& in = model.input;
  const std::string what = "cannot use image '" + path + "' as input '" + in.name + "' ";
  if (model.metadata.encoding == Encoding::kSequence)
    throw Error(ErrorCode::kBadInput, what +
                                          "because the model uses sequence encoding; it needs a [T, N, ...] "
                                          "tensor, not a single frame");
  if (in.shape.size() != 4)
    throw Error(ErrorCode::kBadInput, what + "of shape " + shape_to_string(in.shape) +
                                          ": the input shape is not an image input [N, C, H, W]");
  const int64_t c = in.shape[1], h = in.shape[2], w = in.shape[3];
  if (c != 1 && c != 3)
    throw Error(ErrorCode::kBadInput, what + "of shape " + shape_to_string(in.shape) +
                                          ": the input shape is not an image input (C must be 1 or 3)");
  // The output is C x H x W floats: keep it within the image size limit
  // (each side is checked first so that h * w cannot overflow).
  const int64_t max_pixels = limits.max_image_pixels;
  if (h <= 0 || w <= 0 || h > max_pixels || w > max_pixels || h * w > max_pixels)
    throw Error(ErrorCode::kBadInput, what + "of shape " + shape_to_string(in.shape) +
                                          ": H and W must be known and within the image size limit");
  const ModelMetadata& md = model.metadata;
  for (const auto* v : {&md.image_mean, &md.image_std}) {
    if (v->size() != 1 && v->size() != std::size_t(c))
      throw Error(ErrorCode::kInvalidModel,
                  "model '" + model.path + "': tspike.image.mean / tspike.image.std must have 1 or " +
                      std::to_string(c) + " values, found " + std::to_string(v->size()));
  }
  for (float s : md.image_std) {
    if (s == 0.0f || !std::isfinite(s))
      throw Error(ErrorCode::kInvalidModel,
                  "model '" + model.path + "': tspike.image.std values must be finite and nonzero");
  }
  return {int(c), int(h), int(w)};
}

// stb's PNG reader refuses a header that declares more than 2^30 bytes of
// pixels inside stbi_info, which then reports only "unknown image type".
// This reads such a header's size so that it is reported as a size limit.
bool png_header_size(const unsigned char* b, std::size_t size, int64_t& width, int64_t& height) {
  if (size < 24) return false;
  if (std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || std::memcmp(b + 12, "IHDR", 4) != 0) return false;
  auto be32 = [](const unsigned char* p) {
    return int64_t(p[0]) << 24 | int64_t(p[1]) << 16 | int64_t(p[2]) << 8 | int64_t(p[3]);
  };
  width = be32(b + 16);
  height = be32(b + 20);
  return true;
}

// Decodes the bytes of an image file, refusing oversized images before the
// decoder allocates anything.
Planes decode(const unsigned char* bytes, std::size_t size, const std::string& path, int want_channels,
              const Limits& limits, int& file_channels) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(ErrorCode::kResourceLimit,
                "image '" + path + "' is too large to decode (" + std::to_string(size) + " bytes)");
  const int length = static_cast<int>(size);
  const int64_t max_pixels = limits.max_image_pixels;
  auto too_big = [&](int64_t w, int64_t h) {
    return Error(ErrorCode::kResourceLimit, "image '" + path + "' is " + std::to_string(w) + "x" +
                                                std::to_string(h) + " pixels, more than the limit of " +
                                                std::to_string(max_pixels));
  };
  auto cannot = [&](const std::string& why) {
    return Error(ErrorCode::kParse, "cannot decode image '" + path + "': " + why);
  };
  // Each side first, so that the product cannot overflow.
  auto over_limit = [&](int64_t w, int64_t h) {
    return w > max_pixels || h > max_pixels || w * h > max_pixels;
  };
  if (const char* format = detail::unsupported_image_format(bytes, size))
    throw cannot(std::string("it is a ") + format + " file; tspike reads PNG, JPEG, BMP and PGM/PPM images");
  // The header only; the pixel buffer is allocated after its size has been
  // checked against the limit.
  detail::ImageHeader header;
  std::string reason;
  if (!detail::read_image_header(bytes, length, header, reason)) {
    int64_t png_w = 0, png_h = 0;
    if (png_header_size(bytes, size, png_w, png_h) && over_limit(png_w, png_h)) throw too_big(png_w, png_h);
    throw cannot(reason.empty() ? "unknown error" : reason);
  }
  // stb reports a top-down BMP's height as negative (found by fuzzing: a
  // 54-byte BMP of 8195 x -63996 pixels passed a signed check, then took
  // seconds and 1.5 GB to decode): the limit applies to the magnitudes.
  const int64_t info_w = std::abs(int64_t{header.width}), info_h = std::abs(int64_t{header.height});
  if (info_w == 0 || info_h == 0)
    throw cannot("a size of " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                 " pixels");
  if (over_limit(info_w, info_h)) throw too_big(info_w, info_h);

  // Decode with the file's own channels: a decoder's gray conversion is an
  // integer approximation, ours is the exact 0.299 R + 0.587 G + 0.114 B in
  // float. The budget bounds stb's working memory by the image it declared:
  // PNG's 16-bit samples, inflated rows and 8-bit copy come to about 20 bytes
  // a pixel, its input buffer is at most the file, and small images get a
  // floor. (libjpeg-turbo's memory follows from the size checked above; only
  // its output goes through the budget.)
  const uint64_t pixels = uint64_t(info_w) * uint64_t(info_h);  // within the limit, which may be raised far
  const std::size_t budget = pixels > (std::numeric_limits<std::size_t>::max() >> 8)
                                 ? std::numeric_limits<std::size_t>::max()
                                 : (std::size_t{16} << 20) + 4 * size + 40 * std::size_t(pixels);
  detail::DecodedImage image = detail::decode_image(bytes, length, budget);
  if (!image.pixels) {
    if (image.refused_bytes)
      throw Error(ErrorCode::kResourceLimit, "cannot decode image '" + path + "': the decoder asked for " +
                                                 std::to_string(image.refused_bytes) + " more bytes than a " +
                                                 std::to_string(info_w) + "x" + std::to_string(info_h) +
                                                 " image needs (" + std::to_string(budget) +
                                                 " bytes at most); the file is corrupt");
    throw cannot(image.failure.empty() ? "unknown error" : image.failure);
  }
  const int w = image.width, h = image.height, n = image.channels;
  // A header that lies (the header and the decoder disagree) is refused too.
  if (w != info_w || h != info_h || w <= 0 || h <= 0 || n < 1 || n > 4 || over_limit(w, h))
    throw cannot("inconsistent header");

  // n: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Alpha is dropped.
  file_channels = n;
  Planes out{want_channels, h, w, std::vector<float>(std::size_t(want_channels) * w * h)};
  const std::size_t plane = std::size_t(w) * h;
  const unsigned char* p = image.pixels.get();
  for (std::size_t i = 0; i < plane; ++i, p += n) {
    const bool color = n >= 3;
    if (want_channels == 1) {
      out.data[i] = color ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : float(p[0]);
    } else {
      for (int c = 0; c < 3; ++c) out.data[c * plane + i] = float(p[color ? c : 0]);
    }
  }
  return out;
}

// What was done to fit the image to the model's input, for the caller to
// tell its user (an image that already fits gets no note).
void describe(ImagePreprocessing& done, int file_channels, const Planes& decoded, int channels, int height,
              int width, int resized_height, int resized_width, const ModelMetadata& md) {
  done.width = decoded.width;
  done.height = decoded.height;
  done.channels = file_channels;
  const bool color = file_channels >= 3, alpha = file_channels == 2 || file_channels == 4;
  if (color && channels == 1) done.notes.push_back("RGB converted to gray (0.299 R + 0.587 G + 0.114 B)");
  if (!color && channels == 3) done.notes.push_back("gray repeated into 3 channels (RGB)");
  if (alpha) done.notes.push_back("alpha channel dropped");
  if (decoded.height == height && decoded.width == width) return;
  const std::string method = to_string(md.image_resize);
  const double from = double(decoded.width) / decoded.height, to = double(width) / height;
  const bool aspect_changed = std::abs(from - to) > 0.01 * to && !md.image_center_crop;
  if (md.image_center_crop)
    done.notes.push_back(fmt::format("resized from {}x{} to {}x{} ({}), then centre-cropped to {}x{}",
                                     decoded.width, decoded.height, resized_width, resized_height, method,
                                     width, height));
  else
    done.notes.push_back(fmt::format(
        "resized from {}x{} to {}x{} ({}){}", decoded.width, decoded.height, width, height, method,
        aspect_changed ? fmt::format(": the aspect ratio changed from {:.3g} to {:.3g}", from, to) : ""));
}

}  // namespace

namespace {

Tensor image_to_input(const unsigned char* bytes, std::size_t size, const std::string& path,
                      const ModelInfo& model, const Limits& limits, ImagePreprocessing* done) {
  const ImageShape shape = image_shape_of(model, path, limits);
  const ModelMetadata& md = model.metadata;
  int file_channels = 0;
  const Planes decoded = decode(bytes, size, path, shape.channels, limits, file_channels);
  int resized_height = shape.height, resized_width = shape.width;
  if (md.image_center_crop)
    detail::cover_size(decoded.height, decoded.width, shape.height, shape.width, resized_height,
                       resized_width);
  Planes img = detail::resize_planes(decoded, resized_height, resized_width, md.image_resize);
  if (md.image_center_crop) img = detail::crop_center(img, shape.height, shape.width);
  if (done)
    describe(*done, file_channels, decoded, shape.channels, shape.height, shape.width, resized_height,
             resized_width, md);

  const std::size_t plane = std::size_t(shape.height) * shape.width;
  for (int c = 0; c < shape.channels; ++c) {
    const float mean = md.image_mean.size() == 1 ? md.image_mean[0] : md.image_mean[c];
    const float stddev = md.image_std.size() == 1 ? md.image_std[0] : md.image_std[c];
    float* d = img.data.data() + c * plane;
    for (std::size_t i = 0; i < plane; ++i) d[i] = (d[i] * md.image_scale - mean) / stddev;
  }
  return Tensor({1, shape.channels, shape.height, shape.width}, std::move(img.data));
}

}  // namespace

Tensor load_image(const std::string& path, const ModelInfo& model, const Limits& limits) {
  return load_image(path, model, limits, nullptr);
}

Tensor load_image(const std::string& path, const ModelInfo& model, const Limits& limits,
                  ImagePreprocessing* done) {
  return detail::error_boundary("image '" + path + "'", ErrorCode::kParse, [&] {
    (void)image_shape_of(model, path, limits);  // the model's errors before the file's
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw Error(ErrorCode::kIO, "cannot read image '" + path + "': it is a directory");
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error(ErrorCode::kIO, "cannot open image '" + path + "': " + std::strerror(errno));
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::kIO, "cannot read image '" + path + "': " + ec.message());
    if (size > limits.max_file_bytes)
      throw Error(ErrorCode::kResourceLimit, "image '" + path + "' is " + std::to_string(size) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_file_bytes));
    std::vector<unsigned char> bytes(size);
    if (size > 0 && std::fread(bytes.data(), 1, size, file.get()) != size)
      throw Error(ErrorCode::kIO, "cannot read image '" + path + "': read failed");
    return image_to_input(bytes.data(), bytes.size(), path, model, limits, done);
  });
}

Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name,
                              const ModelInfo& model, const Limits& limits) {
  return load_image_from_memory(data, size, name, model, limits, nullptr);
}

Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name,
                              const ModelInfo& model, const Limits& limits, ImagePreprocessing* done) {
  return detail::error_boundary("image '" + name + "'", ErrorCode::kParse, [&] {
    if (size > limits.max_file_bytes)
      throw Error(ErrorCode::kResourceLimit, "image '" + name + "' is " + std::to_string(size) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_file_bytes));
    return image_to_input(static_cast<const unsigned char*>(data), size, name, model, limits, done);
  });
}

}  // namespace tspike
