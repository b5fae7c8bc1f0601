// SPDX-License-Identifier: Apache-2.0
// Reading inputs for a model: images (PNG, JPEG, BMP, PGM/PPM)
// and float32 .npy tensors.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tspike/export.h"
#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// What load_image did to make an image fit the model's input.
struct ImagePreprocessing {
  int width = 0, height = 0;  // the file's size in pixels
  int channels = 0;           // the file's channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
  // One line per change (channels converted, alpha dropped, resized and how,
  // the aspect ratio changed); empty when the image already fit.
  std::vector<std::string> notes;
};

// Decodes an image and converts it to the model's input as the format says:
// the input's channel count (gray or RGB), resized to its H x W as
// tspike.image.resize says (default: plain bilinear), pixel * image.scale,
// then (x - mean[c]) / std[c]. Returns [1, C, H, W]. With `done`, fills it.
// Throws Error (kIO, kParse, kBadInput, kResourceLimit). `limits` bound the
// file size and the pixel count (checked from the header, before decoding).
TSPIKE_API Tensor load_image(const std::string& path, const ModelInfo& model, const Limits& limits = {});
TSPIKE_API Tensor load_image(const std::string& path, const ModelInfo& model, const Limits& limits,
                             ImagePreprocessing* done);
// The same from the bytes of an image file; `name` names it in errors.
TSPIKE_API Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name,
                                         const ModelInfo& model, const Limits& limits = {});
TSPIKE_API Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name,
                                         const ModelInfo& model, const Limits& limits,
                                         ImagePreprocessing* done);

// Reads a little-endian float32 .npy file (C order). The header is checked
// against the file size and the limits before anything is allocated.
// Throws Error (kIO, kParse, kBadInput, kResourceLimit).
TSPIKE_API Tensor load_npy(const std::string& path, const Limits& limits = {});
// The same from the bytes of a .npy file; `name` names it in errors.
TSPIKE_API Tensor load_npy_from_memory(const void* data, std::size_t size, const std::string& name,
                                       const Limits& limits = {});

// Writes a float32 .npy file. Throws Error(kIO).
TSPIKE_API void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace tspike
