// SPDX-License-Identifier: Apache-2.0
// read_events: N-MNIST / N-Caltech101 binary files and Prophesee EVT 2.0 raw
// files; NumPy files are in events_npy.cpp. A file is read whole (its size
// checked against the limits first), then decoded from memory; the event
// count is bounded by the file size and checked before the events are
// allocated.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/checked.hpp"
#include "runtime/events_internal.hpp"
#include "tspike/error.hpp"
#include "tspike/events.hpp"

namespace tspike {
namespace {

constexpr int64_t kMaxExactTime = int64_t{1} << 53;  // timestamps are binned in double arithmetic

void reserve_events(std::vector<Event>& events, uint64_t at_most, const std::string& what,
                    const Limits& limits) {
  if (at_most > uint64_t(std::max<int64_t>(limits.max_events, 0)))
    throw Error(ErrorCode::kResourceLimit, what + " may hold " + std::to_string(at_most) +
                                               " events, more than the limit of " +
                                               std::to_string(limits.max_events));
  events.reserve(at_most);
}

// N-MNIST: 5 bytes per event, x, y, then polarity (bit 7) and a 23-bit
// timestamp, big-endian. A record with y == 240 marks a timestamp overflow:
// every later timestamp is 2^13 us later (as the data set authors' readers
// and Tonic do). A timestamp that drops by more than half the 23-bit range
// is the counter wrapping: 2^23 us are added from there on.
EventRecording read_nmnist(const unsigned char* data, uint64_t size, const std::string& name,
                           const Limits& limits) {
  const std::string what = "N-MNIST file '" + name + "'";
  if (size % 5 != 0)
    throw Error(ErrorCode::kParse, "cannot read " + what + ": " + std::to_string(size) +
                                       " bytes is not a whole number of 5-byte events (truncated?)");
  EventRecording rec;
  rec.format = EventFormat::kNMnist;
  reserve_events(rec.events, size / 5, what, limits);
  constexpr int64_t kOverflowStep = int64_t{1} << 13, kWrap = int64_t{1} << 23;
  int64_t overflow = 0, wrap = 0, last = 0;
  for (uint64_t i = 0; i < size / 5; ++i) {
    const unsigned char* r = data + 5 * i;
    if (r[1] == 240) {
      overflow += kOverflowStep;
      continue;
    }
    const int64_t raw = (int64_t(r[2] & 0x7F) << 16 | int64_t(r[3]) << 8 | r[4]) + overflow;
    if (!rec.events.empty() && raw + wrap < last - kWrap / 2) wrap += kWrap;
    const int64_t t = raw + wrap;
    if (!rec.events.empty() && t < last)
      throw Error(ErrorCode::kParse, "cannot read " + what + ": the timestamp of event " + std::to_string(i) +
                                         " (" + std::to_string(t) + " us) is before the one before it (" +
                                         std::to_string(last) + " us)");
    rec.events.push_back(Event{t, r[0], r[1], uint8_t(r[2] >> 7)});
    last = t;
  }
  return rec;
}

// EVT 2.0 (Prophesee's documentation, "EVT 2.0 Format"): an ASCII header of
// lines starting with '%', then 32-bit little-endian words whose top 4 bits
// are the type. CD_OFF (0) / CD_ON (1): bits 27..22 the 6 low bits of the
// timestamp, 21..11 x, 10..0 y. EVT_TIME_HIGH (8): bits 27..0 the timestamp's
// bits 33..6. EXT_TRIGGER (10), OTHERS (14) and CONTINUED (15) carry no
// pixel event and are skipped; other types are reserved (an error). CD
// events before the first EVT_TIME_HIGH have no time base and are skipped,
// as Prophesee's decoders do. A time-high that drops by more than half its
// range is the 34-bit counter wrapping (after 4 h 46 min).
EventRecording read_evt2(const unsigned char* data, uint64_t size, const std::string& name,
                         const Limits& limits) {
  const std::string what = "EVT 2.0 file '" + name + "'";
  EventRecording rec;
  rec.format = EventFormat::kEvt2;
  uint64_t pos = 0;
  while (pos < size && data[pos] == '%') {
    const unsigned char* nl = static_cast<const unsigned char*>(std::memchr(data + pos, '\n', size - pos));
    const uint64_t end = nl ? uint64_t(nl - data) : size;
    std::string line(reinterpret_cast<const char*>(data + pos), end - pos);
    pos = nl ? end + 1 : size;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    detail::parse_evt2_header_line(line, rec, what);
    if (line == "% end") break;
  }
  const uint64_t body = size - pos;
  if (body % 4 != 0)
    throw Error(ErrorCode::kParse, "cannot read " + what + ": the data after the header (" +
                                       std::to_string(body) +
                                       " bytes) is not a whole number of 32-bit words (truncated?)");
  uint64_t cd_words = 0;
  for (uint64_t w = 0; w < body / 4; ++w) cd_words += (data[pos + 4 * w + 3] >> 4) <= 1;
  reserve_events(rec.events, cd_words, what, limits);
  constexpr int64_t kHighRange = int64_t{1} << 28;
  bool have_high = false;
  int64_t high = 0, epoch = 0, last = 0;
  for (uint64_t w = 0; w < body / 4; ++w) {
    const unsigned char* b = data + pos + 4 * w;
    const uint32_t word = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    const unsigned type = word >> 28;
    if (type == 0 || type == 1) {
      if (!have_high) continue;
      const int64_t t = ((epoch + high) << 6) | int64_t((word >> 22) & 0x3F);
      if (!rec.events.empty() && t < last)
        throw Error(ErrorCode::kParse, "cannot read " + what + ": the timestamp of the CD event in word " +
                                           std::to_string(w) + " (" + std::to_string(t) +
                                           " us) is before the one before it (" + std::to_string(last) +
                                           " us)");
      rec.events.push_back(Event{t, uint16_t((word >> 11) & 0x7FF), uint16_t(word & 0x7FF), uint8_t(type)});
      last = t;
    } else if (type == 8) {
      const int64_t next = word & 0x0FFFFFFF;
      if (have_high && next < high - kHighRange / 2) epoch += kHighRange;
      high = next;
      have_high = true;
    } else if (type != 10 && type != 14 && type != 15) {
      throw Error(ErrorCode::kParse, "cannot read " + what + ": word " + std::to_string(w) +
                                         " has the reserved type " + std::to_string(type) +
                                         " (not an EVT 2.0 file?)");
    }
  }
  if (!rec.events.empty() && rec.events.back().t >= kMaxExactTime)
    throw Error(ErrorCode::kBadInput, what + ": timestamps beyond 2^53 us are not supported");
  return rec;
}

std::string lower_extension(const std::string& name) {
  std::string ext = std::filesystem::path(name).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

namespace detail {

// "% format EVT2;height=720;width=1280", "% evt 2.0", "% geometry 640x480".
void parse_evt2_header_line(const std::string& line, EventRecording& rec, const std::string& what) {
  auto value_after = [&](const std::string& key) -> std::string {
    if (line.rfind(key, 0) != 0) return {};
    std::string v = line.substr(key.size());
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  };
  auto number = [](const std::string& s) {
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9' || v > 100000) return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (std::string v = value_after("% evt "); !v.empty()) {
    if (v != "2.0" && v != "2")
      throw Error(ErrorCode::kBadInput, what + " is EVT " + v + "; only EVT 2.0 is supported");
  } else if (std::string f = value_after("% format "); !f.empty()) {
    const std::string kind = f.substr(0, f.find(';'));
    if (kind != "EVT2")
      throw Error(ErrorCode::kBadInput,
                  what + " is in the format " + kind + "; only EVT2 (EVT 2.0) is supported");
    for (std::size_t at = f.find(';'); at != std::string::npos; at = f.find(';', at + 1)) {
      const std::string field = f.substr(at + 1, f.find(';', at + 1) - at - 1);
      if (field.rfind("width=", 0) == 0) rec.width = number(field.substr(6));
      if (field.rfind("height=", 0) == 0) rec.height = number(field.substr(7));
    }
  } else if (std::string g = value_after("% geometry "); !g.empty()) {
    const std::size_t x = g.find('x');
    if (x != std::string::npos) {
      rec.width = number(g.substr(0, x));
      rec.height = number(g.substr(x + 1));
    }
  }
}

}  // namespace detail

const char* to_string(EventFormat f) {
  switch (f) {
    case EventFormat::kAuto:
      return "auto";
    case EventFormat::kNMnist:
      return "N-MNIST";
    case EventFormat::kNumpy:
      return "NumPy";
    case EventFormat::kEvt2:
      return "EVT 2.0";
  }
  return "?";
}

EventRecording read_events_from_memory(const void* data, std::size_t size, const std::string& name,
                                       EventFormat format, const Limits& limits) {
  return detail::error_boundary("event file '" + name + "'", ErrorCode::kParse, [&] {
    if (size > limits.max_file_bytes)
      throw Error(ErrorCode::kResourceLimit, "event file '" + name + "' is " + std::to_string(size) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_file_bytes));
    if (format == EventFormat::kAuto) {
      const std::string ext = lower_extension(name);
      format = ext == ".npy" || ext == ".npz" ? EventFormat::kNumpy
               : ext == ".raw"                ? EventFormat::kEvt2
                                              : EventFormat::kNMnist;
    }
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (!bytes && size) throw Error(ErrorCode::kBadInput, "event file '" + name + "': data is NULL");
    switch (format) {
      case EventFormat::kNMnist:
        return read_nmnist(bytes, size, name, limits);
      case EventFormat::kEvt2:
        return read_evt2(bytes, size, name, limits);
      default:
        return detail::read_numpy_events(bytes, size, name, limits);
    }
  });
}

EventRecording read_events(const std::string& path, EventFormat format, const Limits& limits) {
  return detail::error_boundary("event file '" + path + "'", ErrorCode::kParse, [&] {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw Error(ErrorCode::kIO, "cannot read event file '" + path + "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::kIO, "cannot open event file '" + path + "': " + std::strerror(errno));
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::kIO, "cannot read event file '" + path + "': " + ec.message());
    if (size > limits.max_file_bytes)
      throw Error(ErrorCode::kResourceLimit, "event file '" + path + "' is " + std::to_string(size) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_file_bytes));
    std::vector<char> bytes(size);  // within the file size limit, checked above
    if (size && !in.read(bytes.data(), std::streamsize(size)))
      throw Error(ErrorCode::kIO, "cannot read event file '" + path + "': read failed");
    return read_events_from_memory(bytes.data(), bytes.size(), path, format, limits);
  });
}

}  // namespace tspike
