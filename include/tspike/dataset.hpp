// SPDX-License-Identifier: Apache-2.0
// Labeled image data sets in the IDX format of MNIST and Fashion-MNIST
// (files such as t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, plain or
// gzip-compressed), and their conversion to a model's input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tspike/export.h"
#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// Where Debian's package dataset-fashion-mnist installs its files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// One IDX file of unsigned bytes (type code 0x08): its dimensions and data,
// row-major.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads an IDX file of unsigned bytes with `rank` dimensions, plain or .gz
// (zlib detects which). The header is checked (magic, type, rank, each
// dimension, the element count against limits.max_tensor_elements) and the
// data must be exactly as long as the header says. Memory grows with the data
// actually read, never with what a header claims.
// Throws Error: kIO (cannot open), kParse (bad header, truncated or too long),
// kResourceLimit (beyond the limits).
TSPIKE_API IdxArray read_idx(const std::string& path, int rank, const Limits& limits = {});

// Gray images with one class label each.
struct LabeledImages {
  int64_t count = 0;
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count x height x width, values 0..255
  std::vector<uint8_t> labels;  // count
};

// Reads an images file (rank 3) and a labels file (rank 1) of the same count.
TSPIKE_API LabeledImages load_idx(const std::string& images_path, const std::string& labels_path,
                                  const Limits& limits = {});

// Reads DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte, each
// with or without ".gz" (the plain file wins). prefix "t10k" is the test set.
TSPIKE_API LabeledImages load_idx_dir(const std::string& dir, const std::string& prefix = "t10k",
                                      const Limits& limits = {});

// Images [first, first + count) as the model's input [count, C, H, W],
// preprocessed as load_image does: gray copied to every channel (C is 1 or 3),
// then (pixel * image.scale - mean[c]) / std[c]. There is no resize: an input
// whose H x W differs from the images' is refused (kBadInput). Reuses `out`'s
// storage when its size fits.
TSPIKE_API void images_to_input(const LabeledImages& set, int64_t first, int64_t count,
                                const ModelInfo& model, Tensor& out);
TSPIKE_API Tensor images_to_input(const LabeledImages& set, int64_t first, int64_t count,
                                  const ModelInfo& model);

}  // namespace tspike
