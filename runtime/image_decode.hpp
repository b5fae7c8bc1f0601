// SPDX-License-Identifier: Apache-2.0
// The image decoders behind load_image (runtime/image_decode.cpp): JPEG
// through libjpeg-turbo, PNG, BMP and PGM/PPM through stb_image, with every
// allocation under a byte budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tspike::detail {

struct ImageHeader {
  int width = 0, height = 0, channels = 0;  // stb reports a top-down BMP's height as negative
};

struct PixelsFree {
  void operator()(unsigned char* p) const;
};

// Interleaved 8-bit pixels, `channels` (1..4) per pixel.
struct DecodedImage {
  std::unique_ptr<unsigned char, PixelsFree> pixels;
  int width = 0, height = 0, channels = 0;
  std::string failure;            // why pixels is null (the decoder's words)
  std::size_t refused_bytes = 0;  // nonzero: the decoder asked for this much beyond the budget
};

// Reads the header only (no pixel buffer). Returns false with the decoder's
// reason in `failure` for a file it cannot read.
bool read_image_header(const unsigned char* bytes, int length, ImageHeader& header, std::string& failure);

// Decodes with the file's own channels. The decoder's live allocations may
// not exceed max_bytes in total: a request beyond that fails the decode.
DecodedImage decode_image(const unsigned char* bytes, int length, std::size_t max_bytes);

// The format named by the file's first bytes when tspike does not read it
// ("GIF", "TGA", ...), or nullptr.
const char* unsupported_image_format(const unsigned char* bytes, std::size_t length);

}  // namespace tspike::detail
