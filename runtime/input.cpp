// load_image: an image file -> the model's input tensor [1, C, H, W], as the
// format (spec section 2) says: channel conversion, bilinear resize, scale,
// normalize. The .npy functions are in npy.cpp.
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
#include "tspike/error.hpp"
#include "tspike/input.hpp"

namespace tspike {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// An image as float planes: data[c * h * w + y * w + x], values 0..255.
struct Planes {
  int channels = 0, height = 0, width = 0;
  std::vector<float> data;
};

struct ImageShape {
  int channels, height, width;
};

// Checks what load_image needs from the model before touching the file.
ImageShape image_shape_of(const ModelInfo& model, const std::string& path, const Limits& limits) {
  const ValueInfo& in = model.input;
  const std::string what = "cannot use image '" + path + "' as input '" + in.name + "' ";
  if (model.metadata.encoding == Encoding::kSequence)
    throw Error(ErrorCode::kBadInput,
                what + "because the model uses sequence encoding; it needs a [T, N, ...] "
                       "tensor, not a single frame");
  if (in.shape.size() != 4)
    throw Error(ErrorCode::kBadInput,
                what + "of shape " + shape_to_string(in.shape) +
                    ": the input shape is not an image input [N, C, H, W]");
  const int64_t c = in.shape[1], h = in.shape[2], w = in.shape[3];
  if (c != 1 && c != 3)
    throw Error(ErrorCode::kBadInput,
                what + "of shape " + shape_to_string(in.shape) +
                    ": the input shape is not an image input (C must be 1 or 3)");
  // The output is C x H x W floats: keep it within the image size limit
  // (each side is checked first so that h * w cannot overflow).
  const int64_t max_pixels = limits.max_image_pixels;
  if (h <= 0 || w <= 0 || h > max_pixels || w > max_pixels || h * w > max_pixels)
    throw Error(ErrorCode::kBadInput,
                what + "of shape " + shape_to_string(in.shape) +
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
              const Limits& limits) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(ErrorCode::kResourceLimit, "image '" + path + "' is too large to decode (" + std::to_string(size) +
                                               " bytes)");
  const int length = static_cast<int>(size);
  const int64_t max_pixels = limits.max_image_pixels;
  auto too_big = [&](int64_t w, int64_t h) {
    return Error(ErrorCode::kResourceLimit,
                 "image '" + path + "' is " + std::to_string(w) + "x" + std::to_string(h) +
                     " pixels, more than the limit of " + std::to_string(max_pixels));
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
    throw cannot("a size of " + std::to_string(header.width) + "x" + std::to_string(header.height) + " pixels");
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
      throw Error(ErrorCode::kResourceLimit,
                  "cannot decode image '" + path + "': the decoder asked for " + std::to_string(image.refused_bytes) +
                      " more bytes than a " + std::to_string(info_w) + "x" + std::to_string(info_h) +
                      " image needs (" + std::to_string(budget) + " bytes at most); the file is corrupt");
    throw cannot(image.failure.empty() ? "unknown error" : image.failure);
  }
  const int w = image.width, h = image.height, n = image.channels;
  // A header that lies (the header and the decoder disagree) is refused too.
  if (w != info_w || h != info_h || w <= 0 || h <= 0 || n < 1 || n > 4 || over_limit(w, h))
    throw cannot("inconsistent header");

  // n: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Alpha is dropped.
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

// Source position and weights of one output coordinate along one axis.
struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

// Bilinear sampling positions as in OpenCV INTER_LINEAR and PyTorch's
// F.interpolate(mode='bilinear', align_corners=False, antialias=False):
// half-pixel centers, src = (dst + 0.5) * in / out - 0.5, clamped to the edge.
// Downsampling therefore reads only the two nearest pixels (no antialias).
std::vector<Tap> taps(int in, int out) {
  std::vector<Tap> t(out);
  const double scale = double(in) / out;
  for (int d = 0; d < out; ++d) {
    double src = (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    int i0 = int(src);
    if (i0 >= in - 1) {
      t[d] = {in - 1, in - 1, 0.0f};
    } else {
      t[d] = {i0, i0 + 1, float(src - i0)};
    }
  }
  return t;
}

Planes resize_bilinear(const Planes& src, int height, int width) {
  if (src.height == height && src.width == width) return src;
  const std::vector<Tap> ty = taps(src.height, height), tx = taps(src.width, width);
  Planes out{src.channels, height, width, std::vector<float>(std::size_t(src.channels) * height * width)};
  for (int c = 0; c < src.channels; ++c) {
    const float* s = src.data.data() + std::size_t(c) * src.height * src.width;
    float* d = out.data.data() + std::size_t(c) * height * width;
    for (int y = 0; y < height; ++y) {
      const float* r0 = s + std::size_t(ty[y].i0) * src.width;
      const float* r1 = s + std::size_t(ty[y].i1) * src.width;
      const float wy = ty[y].w1;
      for (int x = 0; x < width; ++x) {
        const Tap& t = tx[x];
        const float top = r0[t.i0] + (r0[t.i1] - r0[t.i0]) * t.w1;
        const float bottom = r1[t.i0] + (r1[t.i1] - r1[t.i0]) * t.w1;
        d[std::size_t(y) * width + x] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

}  // namespace

namespace {

Tensor image_to_input(const unsigned char* bytes, std::size_t size, const std::string& path,
                      const ModelInfo& model, const Limits& limits) {
  const ImageShape shape = image_shape_of(model, path, limits);
  Planes img = resize_bilinear(decode(bytes, size, path, shape.channels, limits), shape.height, shape.width);

  const ModelMetadata& md = model.metadata;
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
    return image_to_input(bytes.data(), bytes.size(), path, model, limits);
  });
}

Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name, const ModelInfo& model,
                              const Limits& limits) {
  return detail::error_boundary("image '" + name + "'", ErrorCode::kParse, [&] {
    if (size > limits.max_file_bytes)
      throw Error(ErrorCode::kResourceLimit, "image '" + name + "' is " + std::to_string(size) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_file_bytes));
    return image_to_input(static_cast<const unsigned char*>(data), size, name, model, limits);
  });
}

}  // namespace tspike
