// SPDX-License-Identifier: Apache-2.0
// The image decoders behind load_image:
//  - JPEG through libjpeg-turbo (its TurboJPEG interface);
//  - PNG, BMP and PGM/PPM through stb_image, compiled here from the system's
//    header rather than linked from the shared libstb, so that only those
//    decoders are built and every allocation they make goes through a
//    per-decode byte budget and comes back zero-filled.
// Fuzzing found why (stb 2022-09, as packaged): a 152-byte PNG declaring a
// 1 GB IDAT chunk made it reserve 2 GB before reading the chunk; its JPEG
// decoder read far out of bounds on a scan naming an undefined Huffman table,
// and wrote past its tables on a DHT segment of more than 256 symbols; its
// PGM/PPM header numbers overflow an int.
#include "runtime/image_decode.hpp"

#include <turbojpeg.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace tspike::detail {
namespace {

// The live bytes of one decode (thread-local: decodes on other threads have
// their own).
struct Budget {
  std::size_t limit = 0, live = 0, refused = 0;
};
thread_local Budget* current_budget = nullptr;

// Each block starts with its size, so that free and realloc can account for
// it; 16 bytes keep the block as aligned as malloc's.
constexpr std::size_t kHeader = 16;

bool admit(std::size_t grow) {
  Budget* b = current_budget;
  if (!b) return true;
  if (grow > b->limit - b->live) {
    if (grow > b->refused) b->refused = grow;
    return false;
  }
  b->live += grow;
  return true;
}

void release(std::size_t bytes) {
  if (Budget* b = current_budget) b->live -= bytes < b->live ? bytes : b->live;
}

void* budget_malloc(std::size_t n) {
  if (n > SIZE_MAX - kHeader || !admit(n)) return nullptr;
  auto* block = static_cast<unsigned char*>(std::calloc(1, n + kHeader));
  if (!block) {
    release(n);
    return nullptr;
  }
  std::memcpy(block, &n, sizeof n);
  return block + kHeader;
}

void budget_free(void* p) {
  if (!p) return;
  auto* block = static_cast<unsigned char*>(p) - kHeader;
  std::size_t n;
  std::memcpy(&n, block, sizeof n);
  release(n);
  std::free(block);
}

void* budget_realloc(void* p, std::size_t n) {
  if (!p) return budget_malloc(n);
  auto* block = static_cast<unsigned char*>(p) - kHeader;
  std::size_t old;
  std::memcpy(&old, block, sizeof old);
  if (n > SIZE_MAX - kHeader || (n > old && !admit(n - old))) return nullptr;
  auto* grown = static_cast<unsigned char*>(std::realloc(block, n + kHeader));
  if (!grown) {
    if (n > old) release(n - old);
    return nullptr;
  }
  if (n > old) std::memset(grown + kHeader + old, 0, n - old);
  if (n < old) release(old - n);
  std::memcpy(grown, &n, sizeof n);
  return grown + kHeader;
}

}  // namespace
}  // namespace tspike::detail

#define STBI_MALLOC(size) ::tspike::detail::budget_malloc(size)
#define STBI_REALLOC(p, size) ::tspike::detail::budget_realloc(p, size)
#define STBI_FREE(p) ::tspike::detail::budget_free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#include <stb/stb_image.h>  // compiled with -w (CMakeLists.txt): its warnings are upstream's

namespace tspike::detail {
namespace {

// Sets the thread's budget for the duration of one decoder call.
class BudgetScope {
 public:
  explicit BudgetScope(Budget& b) { current_budget = &b; }
  ~BudgetScope() { current_budget = nullptr; }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
};

// stb parses a PGM/PPM header's numbers into an int with no overflow check
// (signed overflow, found by fuzz_image): numbers of more than 9 digits are
// refused first. Whitespace and # comments are skipped as stb skips them.
constexpr const char* kPnmNumberTooLong = "a PGM/PPM header number has more than 9 digits";
bool pnm_number_too_long(const unsigned char* b, std::size_t n) {
  if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return false;
  std::size_t i = 2;
  for (int number = 0; number < 3 && i < n; ++number) {
    for (;;) {
      while (i < n && std::isspace(b[i])) ++i;
      if (i >= n || b[i] != '#') break;
      while (i < n && b[i] != '\n' && b[i] != '\r') ++i;
    }
    std::size_t digits = 0;
    for (; i < n && b[i] >= '0' && b[i] <= '9'; ++i) ++digits;
    if (digits > 9) return true;
  }
  return false;
}

bool is_jpeg(const unsigned char* b, std::size_t n) {
  return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

struct JpegHandle {
  tjhandle h = tjInitDecompress();
  ~JpegHandle() {
    if (h) tjDestroy(h);
  }
  JpegHandle() = default;
  JpegHandle(const JpegHandle&) = delete;
  JpegHandle& operator=(const JpegHandle&) = delete;
  std::string error() const { return h ? tjGetErrorStr2(h) : "cannot start the JPEG decoder"; }
};

// Gray JPEGs decode to one channel, every other to RGB; CMYK is refused by
// the decoder with its own message.
bool jpeg_header(JpegHandle& jpeg, const unsigned char* bytes, int length, ImageHeader& header,
                 std::string& failure) {
  int subsampling = 0, colorspace = 0;
  if (!jpeg.h || tjDecompressHeader3(jpeg.h, bytes, static_cast<unsigned long>(length), &header.width,
                                     &header.height, &subsampling, &colorspace) != 0) {
    failure = jpeg.error();
    return false;
  }
  header.channels = colorspace == TJCS_GRAY ? 1 : 3;
  return true;
}

DecodedImage decode_jpeg(const unsigned char* bytes, int length, std::size_t max_bytes) {
  DecodedImage out;
  JpegHandle jpeg;
  ImageHeader header;
  if (!jpeg_header(jpeg, bytes, length, header, out.failure)) return out;
  const std::size_t size = std::size_t(header.width) * header.height * header.channels;
  Budget budget{max_bytes};
  {
    BudgetScope scope(budget);
    out.pixels.reset(static_cast<unsigned char*>(budget_malloc(size)));
  }
  if (!out.pixels) {
    out.failure = "outofmem";
    out.refused_bytes = size;
    return out;
  }
  // A corrupt stream is an error, not a warning with gray blocks; a
  // progressive file may have at most 500 scans (each one re-reads the
  // coefficients: a hostile file could have thousands).
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (tjDecompress2(jpeg.h, bytes, static_cast<unsigned long>(length), out.pixels.get(), header.width, 0,
                    header.height, header.channels == 1 ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
    out.failure = jpeg.error();
    out.pixels.reset();
    return out;
  }
  out.width = header.width;
  out.height = header.height;
  out.channels = header.channels;
  return out;
}

// stb leaves its reason unset (null) on some failed allocations.
std::string stb_failure() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "outofmem";
}

}  // namespace

void PixelsFree::operator()(unsigned char* p) const { budget_free(p); }

bool read_image_header(const unsigned char* bytes, int length, ImageHeader& header, std::string& failure) {
  if (is_jpeg(bytes, std::size_t(length))) {
    JpegHandle jpeg;
    return jpeg_header(jpeg, bytes, length, header, failure);
  }
  if (pnm_number_too_long(bytes, std::size_t(length))) {
    failure = kPnmNumberTooLong;
    return false;
  }
  Budget budget{std::size_t{1} << 20};  // a header needs a few kB
  BudgetScope scope(budget);
  if (stbi_info_from_memory(bytes, length, &header.width, &header.height, &header.channels)) return true;
  failure = stb_failure();
  return false;
}

DecodedImage decode_image(const unsigned char* bytes, int length, std::size_t max_bytes) {
  if (is_jpeg(bytes, std::size_t(length))) return decode_jpeg(bytes, length, max_bytes);
  DecodedImage out;
  if (pnm_number_too_long(bytes, std::size_t(length))) {
    out.failure = kPnmNumberTooLong;
    return out;
  }
  Budget budget{max_bytes};
  {
    BudgetScope scope(budget);
    out.pixels.reset(stbi_load_from_memory(bytes, length, &out.width, &out.height, &out.channels, 0));
  }
  if (!out.pixels) {
    out.failure = stb_failure();
    out.refused_bytes = budget.refused;
  }
  return out;
}

const char* unsupported_image_format(const unsigned char* b, std::size_t n) {
  using namespace std::string_view_literals;
  auto starts = [&](std::string_view magic) {
    return n >= magic.size() && std::memcmp(b, magic.data(), magic.size()) == 0;
  };
  if (starts("GIF8")) return "GIF";
  if (starts("8BPS")) return "PSD";
  if (starts("#?RADIANCE") || starts("#?RGBE")) return "HDR";
  if (starts("\x53\x80\xF6\x34")) return "PIC";
  if (starts("RIFF") && n >= 12 && std::memcmp(b + 8, "WEBP", 4) == 0) return "WebP";
  if (starts("II*\0"sv) || starts("MM\0*"sv)) return "TIFF";
  if (starts("qoif")) return "QOI";
  return nullptr;
}

}  // namespace tspike::detail
