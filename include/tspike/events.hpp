// SPDX-License-Identifier: Apache-2.0
// Event-camera (DVS) recordings and their binning into frames for a model
// with sequence encoding (docs/events.md).
//
// A recording is a list of events (t, x, y, p) in time order. It is read
// from the N-MNIST / N-Caltech101 binary format, a NumPy structured array
// with fields t, x, y, p (.npy, or .npz), or Prophesee's EVT 2.0 raw format.
// The model's metadata (tspike.events.*, docs/format.md) says how events
// become frames: the sensor size, the polarity channels, the slicing rule
// (a number of time bins, a number of event bins, a time window or an event
// count per frame, with the bin edges of Tonic's ToFrame) and whether a frame
// holds counts or 0/1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tspike/export.h"
#include "tspike/model.hpp"
#include "tspike/tensor.hpp"

namespace tspike {

// One event: timestamp in microseconds, pixel column x and row y, polarity
// p (1: ON, brighter; 0: OFF, darker).
struct Event {
  int64_t t = 0;
  uint16_t x = 0, y = 0;
  uint8_t p = 0;
};

enum class EventFormat {
  kAuto,    // by extension: .npy, .npz, .raw (EVT 2.0), anything else N-MNIST
  kNMnist,  // N-MNIST / N-Caltech101: 40-bit records
  kNumpy,   // .npy structured array, or .npz (a structured array, or arrays t, x, y, p)
  kEvt2,    // Prophesee EVT 2.0 (.raw): '%' header lines, then 32-bit little-endian words
};
TSPIKE_API const char* to_string(EventFormat f);

struct EventRecording {
  std::vector<Event> events;  // in file order; timestamps never decrease
  EventFormat format = EventFormat::kAuto;
  int width = 0, height = 0;  // the sensor size when the file says it (EVT 2.0 headers), else 0
};

// Reads a recording. Checks against `limits` before allocating: the file
// size (max_file_bytes), the event count (max_events, from the file size or
// the header). Timestamps that decrease are an error (kParse) naming the
// event. Throws Error (kIO, kParse, kBadInput, kResourceLimit).
TSPIKE_API EventRecording read_events(const std::string& path, EventFormat format = EventFormat::kAuto,
                                      const Limits& limits = {});
// The same from the bytes of a file; `name` names it in errors (and picks
// the format by extension with kAuto).
TSPIKE_API EventRecording read_events_from_memory(const void* data, std::size_t size, const std::string& name,
                                                  EventFormat format = EventFormat::kAuto,
                                                  const Limits& limits = {});

// How events become frames: the tspike.events.* metadata of a model.
struct EventBinning {
  enum class Slicing {
    kTimeBins,    // a fixed number of frames of equal duration (ToFrame n_time_bins)
    kEventBins,   // a fixed number of frames of equal event counts (n_event_bins)
    kTimeWindow,  // frames of a fixed duration, as many as the recording fills (time_window)
    kEventCount,  // frames of a fixed number of events (event_count)
  };
  int width = 0, height = 0;  // sensor size; an event outside it is an error
  int polarities = 2;         // 2: OFF and ON channels; 1: both counted in one channel
  Slicing slicing = Slicing::kTimeBins;
  int64_t bins = 0;                 // kTimeBins, kEventBins
  double time_window = 0;           // kTimeWindow, microseconds
  int64_t event_count = 0;          // kEventCount
  bool include_incomplete = false;  // kTimeWindow, kEventCount: keep the last, shorter frame
  bool binary = false;              // frames hold 1 where a pixel had events, else counts
};

// The binning in a model's metadata. Throws Error(kBadInput) naming the key
// when the model has no tspike.events.* keys, a value does not parse, or the
// frame (polarities x height x width) does not fit the model's input.
TSPIKE_API EventBinning event_binning(const ModelInfo& model);
// True when the model's metadata has tspike.events.sensor_size.
TSPIKE_API bool has_event_binning(const ModelInfo& model);

// Where each frame starts and ends, as event indices [first, last), with
// the arithmetic of Tonic's ToFrame (docs/events.md).
TSPIKE_API std::vector<std::pair<int64_t, int64_t>> event_slices(const std::vector<Event>& events,
                                                                 const EventBinning& binning,
                                                                 const Limits& limits = {});

// The frames [T, polarities, height, width], float32 counts (or 0/1).
// The frame count is checked against limits.max_timesteps and the tensor
// against limits.max_tensor_elements before it is allocated. An event
// outside the sensor, or with a decreasing timestamp, is Error(kBadInput).
TSPIKE_API Tensor events_to_frames(const std::vector<Event>& events, const EventBinning& binning,
                                   const Limits& limits = {});
// The same shaped as the model's sequence input: [T, 1, ...input dims
// without the batch], e.g. [T, 1, 2, 34, 34]; frame t is timestep t.
TSPIKE_API Tensor events_to_input(const std::vector<Event>& events, const ModelInfo& model,
                                  const Limits& limits = {});

}  // namespace tspike
