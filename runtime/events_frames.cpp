// SPDX-License-Identifier: Apache-2.0
// Binning events into frames with the slice arithmetic of Tonic's ToFrame
// (tonic.slicers, overlap 0): the bin edges are computed in double
// precision as NumPy computes them there, and an event belongs to the
// frames whose [start, end) contains its timestamp (np.searchsorted, side
// "left", on both edges). docs/events.md spells out each rule.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "base/checked.hpp"
#include "tspike/error.hpp"
#include "tspike/events.hpp"

namespace tspike {
namespace {

constexpr const char* kPrefix = "tspike.events.";

[[noreturn]] void bad_key(const std::string& key, const std::string& value, const std::string& why) {
  throw Error(ErrorCode::kBadInput, "model metadata " + key + " = '" + value + "': " + why);
}

int64_t parse_count(const std::string& key, const std::string& v, int64_t max) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    bad_key(key, v, "expected a positive integer");
  const int64_t n = std::stoll(v);
  if (n < 1 || n > max) bad_key(key, v, "must be in 1.." + std::to_string(max));
  return n;
}

// The index of the first event whose timestamp is >= `edge` (np.searchsorted
// side="left"; timestamps within 2^53 are exact doubles).
int64_t first_at_or_after(const std::vector<Event>& events, double edge) {
  return std::lower_bound(events.begin(), events.end(), edge,
                          [](const Event& e, double v) { return double(e.t) < v; }) -
         events.begin();
}

void check_order(const std::vector<Event>& events) {
  for (std::size_t i = 1; i < events.size(); ++i)
    if (events[i].t < events[i - 1].t)
      throw Error(ErrorCode::kBadInput, "event " + std::to_string(i) + " has an earlier timestamp (" +
                                            std::to_string(events[i].t) + " us) than the event before it (" +
                                            std::to_string(events[i - 1].t) +
                                            " us): events must be in time order");
  constexpr int64_t kExact = int64_t{1} << 53;
  if (!events.empty() && (events.front().t <= -kExact || events.back().t >= kExact))
    throw Error(ErrorCode::kBadInput, "event timestamps beyond +-2^53 us are not supported");
}

}  // namespace

bool has_event_binning(const ModelInfo& model) {
  return model.metadata.raw.count(std::string(kPrefix) + "sensor_size") != 0;
}

EventBinning event_binning(const ModelInfo& model) {
  const auto& raw = model.metadata.raw;
  auto get = [&](const char* name) -> const std::string* {
    auto it = raw.find(std::string(kPrefix) + name);
    return it == raw.end() ? nullptr : &it->second;
  };
  const std::string sensor_key = std::string(kPrefix) + "sensor_size";
  const std::string* sensor = get("sensor_size");
  if (!sensor)
    throw Error(ErrorCode::kBadInput, "model '" + model.path + "' has no " + sensor_key +
                                          " in its metadata: it does not say how events become frames");
  for (const auto& entry : raw) {
    static const char* known[] = {"sensor_size", "n_time_bins",        "n_event_bins", "time_window",
                                  "event_count", "include_incomplete", "frame"};
    const std::string& key = entry.first;
    if (key.rfind(kPrefix, 0) == 0 && std::none_of(std::begin(known), std::end(known), [&](const char* k) {
          return key == kPrefix + std::string(k);
        }))
      bad_key(key, entry.second, "unknown key (docs/format.md lists the tspike.events keys)");
  }

  EventBinning b;
  {
    std::vector<int64_t> parts;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = sensor->find(',', start);
      std::string part =
          sensor->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      part.erase(0, part.find_first_not_of(' '));
      part.erase(part.find_last_not_of(' ') + 1);
      parts.push_back(parse_count(sensor_key, part, 65536));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (parts.size() != 3 || parts[2] > 2)
      bad_key(sensor_key, *sensor,
              "expected width,height,polarities (polarities 1 or 2), like Tonic's sensor_size");
    b.width = int(parts[0]);
    b.height = int(parts[1]);
    b.polarities = int(parts[2]);
  }

  int rules = 0;
  if (const std::string* v = get("n_time_bins")) {
    b.slicing = EventBinning::Slicing::kTimeBins;
    b.bins = parse_count(kPrefix + std::string("n_time_bins"), *v, 1 << 30);
    ++rules;
  }
  if (const std::string* v = get("n_event_bins")) {
    b.slicing = EventBinning::Slicing::kEventBins;
    b.bins = parse_count(kPrefix + std::string("n_event_bins"), *v, 1 << 30);
    ++rules;
  }
  if (const std::string* v = get("time_window")) {
    b.slicing = EventBinning::Slicing::kTimeWindow;
    std::size_t used = 0;
    double w = 0;
    try {
      w = std::stod(*v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v->size() || !(w > 0) || !std::isfinite(w))
      bad_key(kPrefix + std::string("time_window"), *v, "expected a positive number of microseconds");
    b.time_window = w;
    ++rules;
  }
  if (const std::string* v = get("event_count")) {
    b.slicing = EventBinning::Slicing::kEventCount;
    b.event_count = parse_count(kPrefix + std::string("event_count"), *v, int64_t{1} << 40);
    ++rules;
  }
  if (rules != 1)
    throw Error(ErrorCode::kBadInput, "model '" + model.path +
                                          "': give exactly one of tspike.events.n_time_bins, n_event_bins, "
                                          "time_window and event_count (it has " +
                                          std::to_string(rules) + ")");
  if (const std::string* v = get("include_incomplete")) {
    if (*v != "0" && *v != "1") bad_key(kPrefix + std::string("include_incomplete"), *v, "expected 0 or 1");
    b.include_incomplete = *v == "1";
  }
  if (const std::string* v = get("frame")) {
    if (*v != "counts" && *v != "binary")
      bad_key(kPrefix + std::string("frame"), *v, "expected counts or binary");
    b.binary = *v == "binary";
  }

  if (model.metadata.encoding != Encoding::kSequence)
    throw Error(ErrorCode::kBadInput,
                "model '" + model.path +
                    "' has tspike.events metadata but not tspike.encoding = sequence: frames "
                    "are a time axis");
  int64_t per_sample = 1;
  const Shape& in = model.input.shape;
  for (std::size_t d = 1; d < in.size(); ++d) {
    if (in[d] < 0)
      throw Error(ErrorCode::kBadInput, "model '" + model.path + "': its input " + shape_to_string(in) +
                                            " has an unknown dimension after the batch");
    per_sample *= in[d];
  }
  if (in.empty() || per_sample != int64_t(b.polarities) * b.height * b.width)
    throw Error(ErrorCode::kBadInput, "model '" + model.path + "': a frame of " + *sensor +
                                          " (polarities x height x width = " +
                                          std::to_string(int64_t(b.polarities) * b.height * b.width) +
                                          " values) does not fit its input " + shape_to_string(in));
  return b;
}

std::vector<std::pair<int64_t, int64_t>> event_slices(const std::vector<Event>& events, const EventBinning& b,
                                                      const Limits& limits) {
  check_order(events);
  using S = EventBinning::Slicing;
  if (((b.slicing == S::kTimeBins || b.slicing == S::kEventBins) && b.bins < 1) ||
      (b.slicing == S::kTimeWindow && !(b.time_window > 0 && std::isfinite(b.time_window))) ||
      (b.slicing == S::kEventCount && b.event_count < 1) || int(b.slicing) < 0 || int(b.slicing) > 3)
    throw Error(ErrorCode::kBadInput, "event binning: bins and event_count must be >= 1, time_window > 0");
  const int64_t n = int64_t(events.size());
  const double max_frames = limits.max_timesteps;
  auto too_many = [&](double frames) {
    throw Error(ErrorCode::kResourceLimit, "the recording makes " + std::to_string(frames) +
                                               " frames, more than the limit of " +
                                               std::to_string(limits.max_timesteps) + " timesteps");
  };
  std::vector<std::pair<int64_t, int64_t>> slices;
  switch (b.slicing) {
    case EventBinning::Slicing::kTimeBins: {
      if (b.bins > max_frames) too_many(double(b.bins));
      if (n == 0) return std::vector<std::pair<int64_t, int64_t>>(b.bins, {0, 0});
      // time_window = (t[-1] - t[0]) // bin_count * (1 + overlap); starts = arange(bins) * window + t[0]
      const double window = double((events.back().t - events.front().t) / b.bins) * (1 + 0.0);
      for (int64_t i = 0; i < b.bins; ++i) {
        const double start = double(i) * window + double(events.front().t);
        slices.emplace_back(first_at_or_after(events, start), first_at_or_after(events, start + window));
      }
      return slices;
    }
    case EventBinning::Slicing::kEventBins: {
      if (b.bins > max_frames) too_many(double(b.bins));
      const int64_t count = n / b.bins;  // int(n_events // bin_count * (1 + overlap))
      for (int64_t i = 0; i < b.bins; ++i) slices.emplace_back(i * count, i * count + count);
      return slices;
    }
    case EventBinning::Slicing::kTimeWindow: {
      if (n == 0) return {{0, 0}};
      const double stride = b.time_window - 0.0;
      const double duration = double(events.back().t - events.front().t);
      const double q = (duration - b.time_window) / stride;
      const double frames = std::max((b.include_incomplete ? std::ceil(q) : std::floor(q)) + 1, 1.0);
      if (frames > max_frames) too_many(frames);
      for (int64_t i = 0; i < int64_t(frames); ++i) {
        const double start = double(i) * stride + double(events.front().t);
        slices.emplace_back(first_at_or_after(events, start),
                            first_at_or_after(events, start + b.time_window));
      }
      return slices;
    }
    case EventBinning::Slicing::kEventCount: {
      const int64_t count = std::min(b.event_count, n), stride = b.event_count;
      // floor or ceil of (n - count) / stride, + 1; n - count >= 0
      const int64_t frames =
          (b.include_incomplete ? (n - count + stride - 1) / stride : (n - count) / stride) + 1;
      if (frames > max_frames) too_many(double(frames));
      for (int64_t i = 0; i < frames; ++i) slices.emplace_back(i * stride, std::min(i * stride + count, n));
      return slices;
    }
  }
  return slices;
}

Tensor events_to_frames(const std::vector<Event>& events, const EventBinning& b, const Limits& limits) {
  return detail::error_boundary("event frames", ErrorCode::kBadInput, [&] {
    if (b.width < 1 || b.height < 1 || b.polarities < 1 || b.polarities > 2)
      throw Error(ErrorCode::kBadInput, "event binning: the sensor is " + std::to_string(b.width) + "x" +
                                            std::to_string(b.height) + " with " +
                                            std::to_string(b.polarities) +
                                            " polarities; need width, height >= 1 and 1 or 2 polarities");
    for (std::size_t i = 0; i < events.size(); ++i)
      if (events[i].x >= b.width || events[i].y >= b.height)
        throw Error(ErrorCode::kBadInput,
                    "event " + std::to_string(i) + " at x = " + std::to_string(events[i].x) +
                        ", y = " + std::to_string(events[i].y) + " is outside the sensor (" +
                        std::to_string(b.width) + " x " + std::to_string(b.height) + ")");
    const auto slices = event_slices(events, b, limits);
    const Shape shape{int64_t(slices.size()), b.polarities, b.height, b.width};
    const int64_t elements = detail::bounded_element_count(shape, limits.max_tensor_elements);
    if (elements > limits.max_tensor_elements)
      throw Error(ErrorCode::kResourceLimit, "event frames " + shape_to_string(shape) +
                                                 " are more than the limit of " +
                                                 std::to_string(limits.max_tensor_elements) + " elements");
    Tensor frames(shape);
    const int64_t plane = int64_t(b.height) * b.width, frame = plane * b.polarities;
    for (std::size_t f = 0; f < slices.size(); ++f) {
      float* out = frames.data.data() + int64_t(f) * frame;
      for (int64_t i = slices[f].first; i < slices[f].second; ++i) {
        const Event& e = events[i];
        float& v = out[(b.polarities == 2 ? e.p : 0) * plane + int64_t(e.y) * b.width + e.x];
        v = b.binary ? 1.f : v + 1.f;
      }
    }
    return frames;
  });
}

Tensor events_to_input(const std::vector<Event>& events, const ModelInfo& model, const Limits& limits) {
  const EventBinning b = event_binning(model);
  Tensor frames = events_to_frames(events, b, limits);
  Shape shape{frames.shape[0], 1};
  shape.insert(shape.end(), model.input.shape.begin() + 1, model.input.shape.end());
  frames.shape = std::move(shape);
  return frames;
}

}  // namespace tspike
