// SPDX-License-Identifier: Apache-2.0
// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, and their
// conversion to a model's input. zlib's gzread reads both kinds: a file
// without a gzip header is passed through unchanged.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tspike/dataset.hpp"
#include "tspike/error.hpp"

namespace tspike {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

class IdxReader {
 public:
  IdxReader(const std::string& path, const Limits& limits) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail(ErrorCode::kIO, "it is a directory");
    file_size_ = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::kIO, "cannot open IDX file '" + path + "': " + ec.message());
    if (file_size_ > limits.max_file_bytes)
      fail(ErrorCode::kResourceLimit, "the file is " + std::to_string(file_size_) +
                                          " bytes, more than the limit of " +
                                          std::to_string(limits.max_file_bytes));
    errno = 0;
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_)
      throw Error(ErrorCode::kIO,
                  "cannot open IDX file '" + path + "': " + (errno ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_.get(), 1 << 17);
  }

  [[noreturn]] void fail(ErrorCode code, const std::string& why) const {
    throw Error(code, "cannot read IDX file '" + path_ + "': " + why);
  }

  // Reads up to n bytes; fewer only at the end of the data.
  size_t read(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = unsigned(std::min<size_t>(n - done, 1 << 20));
      const int got = gzread(file_.get(), dst + done, chunk);
      if (got < 0) corrupt();
      if (got == 0) break;
      done += size_t(got);
    }
    // A truncated .gz ends without an error from gzread but sets one.
    if (done < n) {
      int err = Z_OK;
      gzerror(file_.get(), &err);
      if (err != Z_OK && err != Z_STREAM_END) corrupt();
    }
    return done;
  }

  bool compressed() { return gzdirect(file_.get()) == 0; }
  uintmax_t file_size() const { return file_size_; }

 private:
  [[noreturn]] void corrupt() {
    int err = Z_OK;
    const char* msg = gzerror(file_.get(), &err);
    if (err == Z_ERRNO) fail(ErrorCode::kIO, std::strerror(errno));
    fail(ErrorCode::kParse, std::string("corrupt or truncated gzip data: ") + (msg ? msg : "unknown error"));
  }

  std::string path_;
  uintmax_t file_size_ = 0;
  std::unique_ptr<gzFile_s, GzCloser> file_;
};

std::string dims_to_string(const std::vector<int64_t>& dims) { return shape_to_string(dims); }

std::string fmt_hex(uint8_t v) {
  const char* digits = "0123456789abcdef";
  return {digits[v >> 4], digits[v & 15]};
}

}  // namespace

IdxArray read_idx(const std::string& path, int rank, const Limits& limits) {
  IdxReader in(path, limits);
  // Magic: two zero bytes, the element type, the number of dimensions.
  uint8_t magic[4];
  if (in.read(magic, 4) != 4) in.fail(ErrorCode::kParse, "too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0) in.fail(ErrorCode::kParse, "not an IDX file (bad magic)");
  if (magic[2] != 0x08)
    in.fail(ErrorCode::kParse,
            "element type 0x" + fmt_hex(magic[2]) + " is not supported (only unsigned bytes, 0x08)");
  if (magic[3] != rank)
    in.fail(ErrorCode::kParse,
            "has " + std::to_string(magic[3]) + " dimensions, expected " + std::to_string(rank));

  IdxArray out;
  std::vector<uint8_t> raw(size_t(rank) * 4);
  if (in.read(raw.data(), raw.size()) != raw.size())
    in.fail(ErrorCode::kParse, "file ends inside the header");
  // Each partial product is checked against the limit before multiplying,
  // so that it cannot overflow.
  int64_t elements = 1;
  for (int k = 0; k < rank; ++k) {
    const uint8_t* p = raw.data() + 4 * k;
    const int64_t d = int64_t(p[0]) << 24 | int64_t(p[1]) << 16 | int64_t(p[2]) << 8 | p[3];
    out.dims.push_back(d);
    if (d == 0 && k > 0) in.fail(ErrorCode::kParse, "dimension " + std::to_string(k) + " is 0");
  }
  for (int64_t d : out.dims) {
    if (d != 0 && elements > limits.max_tensor_elements / d)
      in.fail(ErrorCode::kResourceLimit, "shape " + dims_to_string(out.dims) + " is more than the limit of " +
                                             std::to_string(limits.max_tensor_elements) + " elements");
    elements *= d;
  }
  const uintmax_t header = 4 + raw.size();
  // A plain file's length is known: refuse a wrong one before reading it.
  if (!in.compressed() && in.file_size() - header != uintmax_t(elements))
    in.fail(ErrorCode::kParse, "shape " + dims_to_string(out.dims) + " needs " + std::to_string(elements) +
                                   " bytes of data, the file has " + std::to_string(in.file_size() - header));

  // A .gz file's length is known only after decompressing, so memory grows
  // with the data actually read, never with what the header claims.
  const size_t chunk = size_t(1) << 22;
  while (out.data.size() < size_t(elements)) {
    const size_t have = out.data.size(), want = std::min(chunk, size_t(elements) - have);
    out.data.resize(have + want);
    const size_t got = in.read(out.data.data() + have, want);
    if (got < want)
      in.fail(ErrorCode::kParse, "truncated: shape " + dims_to_string(out.dims) + " needs " +
                                     std::to_string(elements) + " bytes of data, the file has " +
                                     std::to_string(have + got));
  }
  uint8_t extra;
  if (in.read(&extra, 1) != 0)
    in.fail(ErrorCode::kParse, "shape " + dims_to_string(out.dims) + " needs " + std::to_string(elements) +
                                   " bytes of data, the file has more");
  return out;
}

LabeledImages load_idx(const std::string& images_path, const std::string& labels_path, const Limits& limits) {
  IdxArray images = read_idx(images_path, 3, limits);
  IdxArray labels = read_idx(labels_path, 1, limits);
  if (labels.dims[0] != images.dims[0])
    throw Error(ErrorCode::kParse, "IDX files '" + images_path + "' and '" + labels_path +
                                       "' disagree: " + std::to_string(images.dims[0]) + " images, " +
                                       std::to_string(labels.dims[0]) + " labels");
  if (images.dims[1] > limits.max_image_pixels || images.dims[2] > limits.max_image_pixels)
    throw Error(ErrorCode::kResourceLimit, "IDX file '" + images_path + "': images of " +
                                               dims_to_string({images.dims[1], images.dims[2]}) +
                                               " are too big");
  LabeledImages set;
  set.count = images.dims[0];
  set.height = int(images.dims[1]);
  set.width = int(images.dims[2]);
  set.pixels = std::move(images.data);
  set.labels = std::move(labels.data);
  return set;
}

LabeledImages load_idx_dir(const std::string& dir, const std::string& prefix, const Limits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(ErrorCode::kIO, "data set directory '" + dir + "' does not exist");
  auto find = [&](const std::string& name) {
    const std::string plain = dir + "/" + name;
    if (std::filesystem::exists(plain, ec)) return plain;
    if (std::filesystem::exists(plain + ".gz", ec)) return plain + ".gz";
    throw Error(ErrorCode::kIO, "data set directory '" + dir + "' has no " + name + " (nor " + name + ".gz)");
  };
  const std::string images = find(prefix + "-images-idx3-ubyte");
  const std::string labels = find(prefix + "-labels-idx1-ubyte");
  return load_idx(images, labels, limits);
}

void images_to_input(const LabeledImages& set, int64_t first, int64_t count, const ModelInfo& model,
                     Tensor& out) {
  const ValueInfo& in = model.input;
  const std::string what = "cannot use " + std::to_string(set.height) + "x" + std::to_string(set.width) +
                           " data set images as input '" + in.name + "' of shape " +
                           shape_to_string(in.shape);
  if (model.metadata.encoding == Encoding::kSequence)
    throw Error(ErrorCode::kBadInput, what + ": the model uses sequence encoding");
  if (in.shape.size() != 4 || (in.shape[1] != 1 && in.shape[1] != 3))
    throw Error(ErrorCode::kBadInput, what + ": not an image input [N, C, H, W] with C 1 or 3");
  if (in.shape[2] != set.height || in.shape[3] != set.width)
    throw Error(ErrorCode::kBadInput, what + ": H x W differ (images are not resized here)");
  if (first < 0 || count < 0 || first > set.count || count > set.count - first)
    throw Error(ErrorCode::kBadInput, "images [" + std::to_string(first) + ", " +
                                          std::to_string(first + count) + ") are outside the data set of " +
                                          std::to_string(set.count));
  const int channels = int(in.shape[1]);
  // The same checks and arithmetic as load_image, so that a data set image
  // and the same image as a PNG give identical inputs.
  const ModelMetadata& md = model.metadata;
  for (const auto* v : {&md.image_mean, &md.image_std})
    if (v->size() != 1 && v->size() != size_t(channels))
      throw Error(ErrorCode::kInvalidModel,
                  "model '" + model.path + "': tspike.image.mean / tspike.image.std must have 1 or " +
                      std::to_string(channels) + " values, found " + std::to_string(v->size()));
  for (float s : md.image_std)
    if (s == 0.0f || !std::isfinite(s))
      throw Error(ErrorCode::kInvalidModel,
                  "model '" + model.path + "': tspike.image.std values must be finite and nonzero");

  const size_t plane = size_t(set.height) * set.width;
  out.name.clear();
  out.shape = {count, channels, set.height, set.width};
  out.data.resize(size_t(count) * channels * plane);
  for (int64_t n = 0; n < count; ++n) {
    const uint8_t* src = set.pixels.data() + size_t(first + n) * plane;
    for (int c = 0; c < channels; ++c) {
      const float mean = md.image_mean.size() == 1 ? md.image_mean[0] : md.image_mean[c];
      const float stddev = md.image_std.size() == 1 ? md.image_std[0] : md.image_std[c];
      float* dst = out.data.data() + (size_t(n) * channels + c) * plane;
      for (size_t i = 0; i < plane; ++i) dst[i] = (float(src[i]) * md.image_scale - mean) / stddev;
    }
  }
}

Tensor images_to_input(const LabeledImages& set, int64_t first, int64_t count, const ModelInfo& model) {
  Tensor out;
  images_to_input(set, first, count, model, out);
  return out;
}

}  // namespace tspike
