// Reading inputs for a model: images (PNG, JPEG, BMP, ... through stb_image)
// and float32 .npy tensors.
#pragma once

#include <string>

#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// Decodes an image and converts it to the model's input as the format says:
// the input's channel count (gray or RGB), bilinear resize to its H x W,
// pixel * image.scale, then (x - mean[c]) / std[c]. Returns [1, C, H, W].
// Throws Error (kIO, kParse, kBadInput, kResourceLimit).
Tensor load_image(const std::string& path, const ModelInfo& model);

// Reads a little-endian float32 .npy file (C order). Throws Error.
Tensor load_npy(const std::string& path, const Limits& limits = {});

// Writes a float32 .npy file. Throws Error(kIO).
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace tspike
