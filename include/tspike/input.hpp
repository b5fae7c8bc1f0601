// Reading inputs for a model: images (PNG, JPEG, BMP, PGM/PPM)
// and float32 .npy tensors.
#pragma once

#include <cstddef>
#include <string>

#include "tspike/export.h"
#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// Decodes an image and converts it to the model's input as the format says:
// the input's channel count (gray or RGB), bilinear resize to its H x W,
// pixel * image.scale, then (x - mean[c]) / std[c]. Returns [1, C, H, W].
// Throws Error (kIO, kParse, kBadInput, kResourceLimit). `limits` bound the
// file size and the pixel count (checked from the header, before decoding).
TSPIKE_API Tensor load_image(const std::string& path, const ModelInfo& model, const Limits& limits = {});
// The same from the bytes of an image file; `name` names it in errors.
TSPIKE_API Tensor load_image_from_memory(const void* data, std::size_t size, const std::string& name,
                              const ModelInfo& model, const Limits& limits = {});

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
