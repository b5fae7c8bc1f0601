// SPDX-License-Identifier: Apache-2.0
// load_npy / save_npy: float32 .npy files (NumPy format versions 1.0, 2.0
// and 3.0). The header is parsed by hand and checked against the file size
// before anything sized by it is allocated.
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/checked.hpp"
#include "runtime/npy_header_lexer.hpp"
#include "tspike/error.hpp"
#include "tspike/input.hpp"

namespace tspike {
namespace {

// The float data is copied as bytes, which is '<f4' only on such hosts.
static_assert(std::endian::native == std::endian::little, "tspike assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes, then major and minor version

// The header dict, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// A small parser for the Python literal that NumPy writes. It accepts what
// NumPy's own reader accepts for these three keys, and nothing else.
class HeaderParser : public detail::NpyHeaderLexer {
 public:
  HeaderParser(const std::string& text, const std::string& path) : NpyHeaderLexer(text), path_(path) {}

  Header parse() {
    Header h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !has_descr) {
        h.descr = quoted();
        has_descr = true;
      } else if (key == "fortran_order" && !has_order) {
        h.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape" && !has_shape) {
        h.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (!at_end()) fail("unexpected text after the dict");
    if (!has_descr || !has_order || !has_shape)
      fail("the dict must have 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const override {
    throw Error(ErrorCode::kParse, "cannot read .npy file '" + path_ + "': bad header: " + why);
  }
  [[noreturn]] void dimension_too_big() const override {
    throw Error(ErrorCode::kResourceLimit,
                "cannot read .npy file '" + path_ + "': a shape dimension does not fit in 64 bits");
  }

  const std::string& path_;
};

uint32_t little_endian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Where the bytes of a .npy file come from: a file or memory.
class Source {
 public:
  virtual ~Source() = default;
  // Reads exactly n bytes at the current position; false at the end.
  virtual bool read(void* dst, uint64_t n) = 0;
  uint64_t size = 0;
};

class FileSource final : public Source {
 public:
  explicit FileSource(std::ifstream& in, uint64_t file_size) : in_(in) { size = file_size; }
  bool read(void* dst, uint64_t n) override {
    return n == 0 || static_cast<bool>(in_.read(static_cast<char*>(dst), std::streamsize(n)));
  }

 private:
  std::ifstream& in_;
};

class MemorySource final : public Source {
 public:
  MemorySource(const void* data, uint64_t bytes) : data_(static_cast<const unsigned char*>(data)) {
    size = bytes;
  }
  bool read(void* dst, uint64_t n) override {
    if (n > size - pos_) return false;
    if (n) std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  const unsigned char* data_;
  uint64_t pos_ = 0;
};

Tensor read_npy(Source& in, const std::string& path, const Limits& limits) {
  const uint64_t file_size = in.size;
  if (file_size > limits.max_file_bytes)
    throw Error(ErrorCode::kResourceLimit, ".npy file '" + path + "' is " + std::to_string(file_size) +
                                               " bytes, more than the limit of " +
                                               std::to_string(limits.max_file_bytes));
  const std::string bad = "cannot read .npy file '" + path + "': ";

  // Magic (6), version (2), header length (2 bytes in 1.0, 4 in 2.0 and 3.0).
  unsigned char prelude[12] = {};
  if (!in.read(prelude, 10) || std::memcmp(prelude, kMagic, 6) != 0)
    throw Error(ErrorCode::kParse, bad + "not a .npy file (too short or bad magic)");
  const int major = prelude[6], minor = prelude[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    throw Error(ErrorCode::kParse,
                bad + "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor));
  const int len_bytes = major == 1 ? 2 : 4;
  if (len_bytes == 4 && !in.read(prelude + 10, 2))
    throw Error(ErrorCode::kParse, bad + "file ends inside the header");
  const uint64_t header_start = 8 + len_bytes;
  const uint64_t header_len = little_endian(prelude + 8, len_bytes);
  if (header_len > file_size - header_start)
    throw Error(ErrorCode::kParse,
                bad + "header length " + std::to_string(header_len) + " runs past the end of the file");

  std::string text(header_len, '\0');  // within the file size, checked above
  if (!in.read(text.data(), header_len)) throw Error(ErrorCode::kParse, bad + "file ends inside the header");
  const Header h = HeaderParser(text, path).parse();

  if (h.descr != "<f4")
    throw Error(ErrorCode::kBadInput, ".npy file '" + path + "' has dtype '" + h.descr +
                                          "'; tspike requires little-endian float32 ('<f4')");
  if (h.fortran_order)
    throw Error(ErrorCode::kBadInput,
                ".npy file '" + path + "' is in Fortran order; tspike requires C order");

  // Check each partial product before multiplying, so the count never
  // overflows (and neither does element_count on this shape later).
  int64_t elements = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && elements > limits.max_tensor_elements / d)
      throw Error(ErrorCode::kResourceLimit, ".npy file '" + path + "' has shape " +
                                                 shape_to_string(h.shape) + ", more than the limit of " +
                                                 std::to_string(limits.max_tensor_elements) + " elements");
    elements *= d;
  }
  const uint64_t data_bytes = file_size - header_start - header_len;
  // Compared by division: elements * 4 could overflow under a raised limit.
  if (data_bytes % 4 != 0 || data_bytes / 4 != uint64_t(elements))
    throw Error(ErrorCode::kParse, bad + "shape " + shape_to_string(h.shape) + " needs " +
                                       std::to_string(elements) + " float32 values, the file has " +
                                       std::to_string(data_bytes) + " bytes of data");

  std::vector<float> data(elements);  // justified by the file size, checked above
  if (elements > 0 && !in.read(data.data(), uint64_t(elements) * 4))
    throw Error(ErrorCode::kIO, "cannot read .npy file '" + path + "': read failed");
  return Tensor(h.shape, std::move(data));
}

}  // namespace

Tensor load_npy(const std::string& path, const Limits& limits) {
  return detail::error_boundary(".npy file '" + path + "'", ErrorCode::kParse, [&] {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw Error(ErrorCode::kIO, "cannot read .npy file '" + path + "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::kIO, "cannot open .npy file '" + path + "': " + std::strerror(errno));
    const uintmax_t file_size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::kIO, "cannot read .npy file '" + path + "': " + ec.message());
    FileSource source(in, file_size);
    return read_npy(source, path, limits);
  });
}

Tensor load_npy_from_memory(const void* data, std::size_t size, const std::string& name,
                            const Limits& limits) {
  return detail::error_boundary(".npy file '" + name + "'", ErrorCode::kParse, [&] {
    MemorySource source(data, size);
    return read_npy(source, name, limits);
  });
}

void save_npy(const std::string& path, const Tensor& tensor) {
  for (int64_t d : tensor.shape) {
    if (d < 0)
      throw Error(ErrorCode::kBadInput, "cannot write '" + path + "': shape " +
                                            shape_to_string(tensor.shape) + " has a negative dimension");
  }
  if (element_count(tensor.shape) != int64_t(tensor.data.size()))
    throw Error(ErrorCode::kBadInput, "cannot write '" + path + "': shape " + shape_to_string(tensor.shape) +
                                          " does not match " + std::to_string(tensor.data.size()) +
                                          " values");

  std::string dims;
  for (int64_t d : tensor.shape) dims += std::to_string(d) + ", ";
  if (tensor.shape.size() > 1)
    dims.resize(dims.size() - 2);  // "(3,)" keeps its comma, "(2, 3)" not
  else if (tensor.shape.size() == 1)
    dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Version 1.0: magic, version, 2-byte length, then the dict padded with
  // spaces and ended by '\n' so that the data starts at a multiple of 64.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xFFFF)
    throw Error(ErrorCode::kBadInput, "cannot write '" + path + "': shape too long for a .npy 1.0 header");

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::kIO, "cannot create '" + path + "': " + std::strerror(errno));
  const unsigned char prelude[10] = {0x93,
                                     'N',
                                     'U',
                                     'M',
                                     'P',
                                     'Y',
                                     1,
                                     0,
                                     static_cast<unsigned char>(header.size() & 0xFF),
                                     static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(prelude), sizeof prelude);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(tensor.data.data()), std::streamsize(tensor.data.size() * 4));
  out.close();
  if (!out) throw Error(ErrorCode::kIO, "cannot write '" + path + "': " + std::strerror(errno));
}

}  // namespace tspike
