// SPDX-License-Identifier: Apache-2.0
// Events from NumPy files: a .npy holding a 1-D structured array with the
// fields t, x, y and p (others are ignored, as is padding), or an .npz
// (zip, stored or deflated) holding either the 1-D arrays t.npy, x.npy,
// y.npy and p.npy or one structured array. Headers, zip directories and
// sizes are checked against the limits and the bytes at hand before
// anything sized by them is allocated.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/events_internal.hpp"
#include "runtime/npy_header_lexer.hpp"
#include "tspike/error.hpp"

namespace tspike::detail {
namespace {

[[noreturn]] void bad(ErrorCode code, const std::string& what, const std::string& why) {
  throw Error(code, "cannot read " + what + ": " + why);
}

uint64_t le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A scalar type of a .npy descr: '<i8', '|u1', '|b1', '>f4', '|V4' ...
struct Scalar {
  char kind = 0;  // b, i, u, f, V
  int bytes = 0;
  bool big_endian = false;
};

Scalar parse_scalar(const std::string& s, const std::string& what) {
  Scalar sc;
  if (s.size() < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|' && s[0] != '='))
    bad(ErrorCode::kBadInput, what, "unsupported type '" + s + "'");
  sc.big_endian = s[0] == '>';
  sc.kind = s[1];
  int n = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > 100000)
      bad(ErrorCode::kBadInput, what, "unsupported type '" + s + "'");
    n = n * 10 + (s[i] - '0');
  }
  sc.bytes = n;
  const bool ok = (sc.kind == 'b' && n == 1) ||
                  ((sc.kind == 'i' || sc.kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8)) ||
                  (sc.kind == 'f' && (n == 4 || n == 8)) || (sc.kind == 'V' && n >= 1);
  if (!ok) bad(ErrorCode::kBadInput, what, "unsupported type '" + s + "' (bool, integers and floats only)");
  return sc;
}

struct Field {
  std::string name;
  Scalar type;
  int64_t offset = 0;
};

// The header dict of a .npy file, with 'descr' either a type string or a
// list of (name, type) pairs.
struct NpyHeader {
  std::optional<Scalar> plain;
  std::vector<Field> fields;
  int64_t itemsize = 0;
  std::vector<int64_t> shape;
};

class HeaderParser : public NpyHeaderLexer {
 public:
  HeaderParser(const std::string& s, const std::string& what) : NpyHeaderLexer(s), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    bool descr = false, order = false, shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !descr) {
        if (peek('[')) {
          parse_fields(h);
        } else {
          h.plain = parse_scalar(quoted(), what_);
          h.itemsize = h.plain->bytes;
        }
        descr = true;
      } else if (key == "fortran_order" && !order) {
        boolean();  // the data are 1-D: either order reads the same
        order = true;
      } else if (key == "shape" && !shape) {
        h.shape = tuple();
        shape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (!descr || !order || !shape) fail("the dict must have 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  void parse_fields(NpyHeader& h) {
    expect('[');
    while (!peek(']')) {
      expect('(');
      if (peek('(')) unsupported("fields with titles are not supported");
      Field f;
      f.name = quoted();
      expect(',');
      if (peek('[')) unsupported("nested structured fields are not supported");
      f.type = parse_scalar(quoted(), what_);
      if (peek(','))
        unsupported("field '" + f.name + "' has a sub-array shape; only scalar fields are supported");
      expect(')');
      f.offset = h.itemsize;
      h.itemsize += f.type.bytes;
      if (h.itemsize > (1 << 20)) fail("the record is too large");
      h.fields.push_back(f);
      if (h.fields.size() > 1000) fail("too many fields");
      if (!peek(']')) expect(',');
    }
    expect(']');
  }
  [[noreturn]] void fail(const std::string& why) const override {
    bad(ErrorCode::kParse, what_, "bad .npy header: " + why);
  }
  [[noreturn]] void dimension_too_big() const override {
    bad(ErrorCode::kResourceLimit, what_, "a shape dimension does not fit in 64 bits");
  }
  [[noreturn]] void unsupported(const std::string& why) const { bad(ErrorCode::kBadInput, what_, why); }

  const std::string& what_;
};

// A parsed .npy: its header and where its data lies.
struct NpyView {
  NpyHeader header;
  const unsigned char* data = nullptr;
  int64_t count = 0;  // elements
};

NpyView parse_npy(const unsigned char* p, uint64_t size, const std::string& what, const Limits& limits) {
  if (size < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0)
    bad(ErrorCode::kParse, what, "not a .npy file (bad magic)");
  const int major = p[6];
  if ((major != 1 && major != 2 && major != 3) || p[7] != 0)
    bad(ErrorCode::kParse, what,
        "unsupported .npy version " + std::to_string(major) + "." + std::to_string(p[7]));
  const int len_bytes = major == 1 ? 2 : 4;
  if (size < uint64_t(8 + len_bytes)) bad(ErrorCode::kParse, what, "the file ends inside the header");
  const uint64_t start = 8 + len_bytes, len = le(p + 8, len_bytes);
  if (len > size - start) bad(ErrorCode::kParse, what, "the header length runs past the end of the file");
  const std::string text(reinterpret_cast<const char*>(p + start), len);
  NpyView v;
  v.header = HeaderParser(text, what).parse();
  if (v.header.shape.size() != 1)
    bad(ErrorCode::kBadInput, what,
        "events must be a 1-D array; this one has " + std::to_string(v.header.shape.size()) + " dimensions");
  v.count = v.header.shape[0];
  if (v.count > limits.max_events)
    bad(ErrorCode::kResourceLimit, what,
        std::to_string(v.count) + " events, more than the limit of " + std::to_string(limits.max_events));
  const uint64_t data_bytes = size - start - len;
  if (v.header.itemsize == 0 || data_bytes % uint64_t(v.header.itemsize) != 0 ||
      data_bytes / uint64_t(v.header.itemsize) != uint64_t(v.count))
    bad(ErrorCode::kParse, what,
        std::to_string(v.count) + " records of " + std::to_string(v.header.itemsize) + " bytes need " +
            std::to_string(v.count * v.header.itemsize) + " bytes of data, the file has " +
            std::to_string(data_bytes));
  v.data = p + start + len;
  return v;
}

// Reads element i of a column as a number (exact for integers up to 2^53).
double value_at(const unsigned char* base, int64_t stride, int64_t i, const Scalar& s) {
  unsigned char b[8];
  std::memcpy(b, base + i * stride, s.bytes);
  if (s.big_endian) std::reverse(b, b + s.bytes);
  const uint64_t u = le(b, s.bytes);
  switch (s.kind) {
    case 'b':
      return u != 0;
    case 'u':
      return double(u);
    case 'i': {
      const int shift = 64 - 8 * s.bytes;
      return double(int64_t(u << shift) >> shift);
    }
    default: {
      if (s.bytes == 4) {
        float f;
        const uint32_t w = uint32_t(u);
        std::memcpy(&f, &w, 4);
        return f;
      }
      double d;
      std::memcpy(&d, &u, 8);
      return d;
    }
  }
}

// A column: where its values are and how to read them.
struct Column {
  const unsigned char* base;
  int64_t stride;
  Scalar type;
};

EventRecording events_from_columns(const Column& t, const Column& x, const Column& y, const Column& p,
                                   int64_t count, const std::string& what) {
  EventRecording rec;
  rec.format = EventFormat::kNumpy;
  rec.events.reserve(count);                       // count checked against the limits and the data size
  constexpr double kMaxTime = 9007199254740992.0;  // 2^53
  for (int64_t i = 0; i < count; ++i) {
    const double tv = value_at(t.base, t.stride, i, t.type), xv = value_at(x.base, x.stride, i, x.type),
                 yv = value_at(y.base, y.stride, i, y.type), pv = value_at(p.base, p.stride, i, p.type);
    const std::string at = "event " + std::to_string(i);
    if (!(std::fabs(tv) <= kMaxTime) || tv != std::floor(tv))
      bad(ErrorCode::kBadInput, what, at + ": t must be a whole number of microseconds within +-2^53");
    if (!(xv >= 0 && xv <= 65535 && xv == std::floor(xv)) ||
        !(yv >= 0 && yv <= 65535 && yv == std::floor(yv)))
      bad(ErrorCode::kBadInput, what, at + ": x and y must be whole numbers in 0..65535");
    if (pv != 0 && pv != 1 && pv != -1) bad(ErrorCode::kBadInput, what, at + ": p must be 0, 1 or -1");
    const int64_t tt = int64_t(tv);
    if (i > 0 && tt < rec.events.back().t)
      bad(ErrorCode::kParse, what,
          "the timestamp of " + at + " (" + std::to_string(tt) +
              " us) is before the one before it; events must be in time order");
    rec.events.push_back(Event{tt, uint16_t(xv), uint16_t(yv), uint8_t(pv > 0)});
  }
  return rec;
}

Column column_of(const NpyView& v, const std::string& field, const std::string& what) {
  if (v.header.plain) return Column{v.data, v.header.itemsize, *v.header.plain};
  for (const Field& f : v.header.fields)
    if (f.name == field) {
      if (f.type.kind == 'V') break;
      return Column{v.data + f.offset, v.header.itemsize, f.type};
    }
  std::string names;
  for (const Field& f : v.header.fields)
    if (!f.name.empty()) names += (names.empty() ? "" : ", ") + f.name;
  bad(ErrorCode::kBadInput, what,
      "the structured array has no numeric field '" + field + "' (fields: " + names +
          "); events need t, x, y and p");
}

EventRecording from_structured(const NpyView& v, const std::string& what) {
  if (v.header.plain)
    bad(ErrorCode::kBadInput, what,
        "a plain array; events need a structured array with the fields t, x, y and p");
  return events_from_columns(column_of(v, "t", what), column_of(v, "x", what), column_of(v, "y", what),
                             column_of(v, "p", what), v.count, what);
}

// ---- .npz: a zip archive ----

struct ZipMember {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, size = 0, local_offset = 0;
};

std::vector<ZipMember> zip_directory(const unsigned char* p, uint64_t size, const std::string& what) {
  // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB.
  if (size < 22) bad(ErrorCode::kParse, what, "too short for a zip archive");
  int64_t eocd = -1;
  for (uint64_t back = 22; back <= std::min<uint64_t>(size, 22 + 65535); ++back)
    if (le(p + size - back, 4) == 0x06054b50) {
      eocd = int64_t(size - back);
      break;
    }
  if (eocd < 0) bad(ErrorCode::kParse, what, "no zip directory (not an .npz file?)");
  const uint64_t entries = le(p + eocd + 10, 2), dir_size = le(p + eocd + 12, 4),
                 dir_offset = le(p + eocd + 16, 4);
  if (dir_offset > uint64_t(eocd) || dir_size > uint64_t(eocd) - dir_offset)
    bad(ErrorCode::kParse, what, "the zip directory lies outside the file");
  std::vector<ZipMember> members;
  uint64_t at = dir_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (dir_offset + dir_size - at < 46 || le(p + at, 4) != 0x02014b50)
      bad(ErrorCode::kParse, what, "bad zip directory entry " + std::to_string(e));
    ZipMember m;
    m.method = uint16_t(le(p + at + 10, 2));
    m.crc = uint32_t(le(p + at + 16, 4));
    m.compressed = le(p + at + 20, 4);
    m.size = le(p + at + 24, 4);
    const uint64_t name_len = le(p + at + 28, 2), extra_len = le(p + at + 30, 2),
                   comment_len = le(p + at + 32, 2);
    m.local_offset = le(p + at + 42, 4);
    if (dir_offset + dir_size - at - 46 < name_len + extra_len + comment_len)
      bad(ErrorCode::kParse, what, "zip directory entry " + std::to_string(e) + " runs past the directory");
    m.name.assign(reinterpret_cast<const char*>(p + at + 46), name_len);
    // ZIP64: the 64-bit values replace those of the entry that read 0xFFFFFFFF, in this order.
    for (uint64_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const uint64_t id = le(p + x, 2), len = le(p + x + 2, 2);
      if (x + 4 + len > at + 46 + name_len + extra_len) break;
      if (id == 1) {
        uint64_t y = x + 4;
        for (uint64_t* v : {&m.size, &m.compressed, &m.local_offset})
          if (*v == 0xFFFFFFFF) {
            if (y + 8 > x + 4 + len) bad(ErrorCode::kParse, what, "bad ZIP64 field of '" + m.name + "'");
            *v = le(p + y, 8);
            y += 8;
          }
      }
      x += 4 + len;
    }
    members.push_back(m);
    at += 46 + name_len + extra_len + comment_len;
  }
  return members;
}

// The bytes of one member, inflated when deflated; the size declared in the
// directory is checked against the limits before allocating, and the CRC.
std::vector<unsigned char> zip_extract(const unsigned char* p, uint64_t size, const ZipMember& m,
                                       const std::string& what, const Limits& limits) {
  const std::string member = what + " member '" + m.name + "'";
  if (m.local_offset > size || size - m.local_offset < 30 || le(p + m.local_offset, 4) != 0x04034b50)
    bad(ErrorCode::kParse, member, "bad local header");
  const uint64_t start =
      m.local_offset + 30 + le(p + m.local_offset + 26, 2) + le(p + m.local_offset + 28, 2);
  if (start > size || m.compressed > size - start)
    bad(ErrorCode::kParse, member, "its data runs past the end of the file");
  if (m.size > limits.max_file_bytes)
    bad(ErrorCode::kResourceLimit, member,
        std::to_string(m.size) + " bytes uncompressed, more than the limit of " +
            std::to_string(limits.max_file_bytes));
  std::vector<unsigned char> out;
  if (m.method == 0) {
    if (m.compressed != m.size) bad(ErrorCode::kParse, member, "stored sizes disagree");
    out.assign(p + start, p + start + m.size);
  } else if (m.method == 8) {
    out.resize(m.size);
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) bad(ErrorCode::kResourceLimit, member, "zlib: out of memory");
    uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      const uInt in_chunk = uInt(std::min<uint64_t>(m.compressed - in_done, 1u << 30));
      const uInt out_chunk = uInt(std::min<uint64_t>(m.size - out_done, 1u << 30));
      z.next_in = const_cast<unsigned char*>(p + start + in_done);
      z.avail_in = in_chunk;
      z.next_out = out.data() + out_done;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) rc = Z_BUF_ERROR;  // no progress
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_done != m.size)
      bad(ErrorCode::kParse, member, "corrupt deflate data, or not the size the directory says");
  } else {
    bad(ErrorCode::kBadInput, member,
        "compression method " + std::to_string(m.method) + " is not supported (stored or deflate only)");
  }
  if (uint32_t(crc32_z(0, out.data(), out.size())) != m.crc) bad(ErrorCode::kParse, member, "CRC mismatch");
  return out;
}

EventRecording read_npz(const unsigned char* p, uint64_t size, const std::string& what,
                        const Limits& limits) {
  const std::vector<ZipMember> members = zip_directory(p, size, what);
  std::map<std::string, const ZipMember*> by_name;
  for (const ZipMember& m : members) by_name[m.name] = &m;
  const bool columns =
      by_name.count("t.npy") && by_name.count("x.npy") && by_name.count("y.npy") && by_name.count("p.npy");
  if (!columns) {
    if (members.size() != 1) {
      std::string names;
      for (const ZipMember& m : members) names += (names.empty() ? "" : ", ") + m.name;
      bad(ErrorCode::kBadInput, what,
          "an .npz of events needs the arrays t, x, y and p, or one structured array; it has: " +
              (names.empty() ? std::string("nothing") : names));
    }
    const std::vector<unsigned char> bytes = zip_extract(p, size, members[0], what, limits);
    const std::string inner = what + " member '" + members[0].name + "'";
    return from_structured(parse_npy(bytes.data(), bytes.size(), inner, limits), inner);
  }
  std::vector<unsigned char> bytes[4];
  NpyView views[4];
  const char* names[4] = {"t", "x", "y", "p"};
  for (int k = 0; k < 4; ++k) {
    const ZipMember& m = *by_name[std::string(names[k]) + ".npy"];
    bytes[k] = zip_extract(p, size, m, what, limits);
    views[k] = parse_npy(bytes[k].data(), bytes[k].size(), what + " member '" + m.name + "'", limits);
    if (!views[k].header.plain || views[k].header.plain->kind == 'V')
      bad(ErrorCode::kBadInput, what, "member '" + m.name + "' must be a plain numeric array");
    if (views[k].count != views[0].count)
      bad(ErrorCode::kBadInput, what, "t, x, y and p have different lengths");
  }
  auto col = [&](int k) { return Column{views[k].data, views[k].header.itemsize, *views[k].header.plain}; };
  return events_from_columns(col(0), col(1), col(2), col(3), views[0].count, what);
}

}  // namespace

EventRecording read_numpy_events(const unsigned char* data, uint64_t size, const std::string& name,
                                 const Limits& limits) {
  if (size >= 2 && data[0] == 'P' && data[1] == 'K')
    return read_npz(data, size, ".npz file '" + name + "'", limits);
  const std::string what = ".npy file '" + name + "'";
  return from_structured(parse_npy(data, size, what, limits), what);
}

}  // namespace tspike::detail
