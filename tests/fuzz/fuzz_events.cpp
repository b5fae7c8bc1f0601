// SPDX-License-Identifier: Apache-2.0
// Fuzz target: event recordings -> read_events_from_memory, then binning.
// The first byte picks the format (bits 0-1: N-MNIST, NumPy, EVT 2.0,
// NumPy) and the binning rule (bits 2-3: time bins, event bins, time window,
// event count; bit 4: include incomplete; bit 5: one polarity channel).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/error.hpp"
#include "tspike/events.hpp"

using namespace tspike;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t pick = data[0];
  static const EventFormat formats[] = {EventFormat::kNMnist, EventFormat::kNumpy, EventFormat::kEvt2,
                                        EventFormat::kNumpy};
  Limits limits = fuzz::small_limits();
  limits.max_events = 1 << 14;
  EventRecording rec;
  try {
    rec = read_events_from_memory(data + 1, size - 1, "fuzz", formats[pick & 3], limits);
  } catch (const Error&) {
    return 0;
  }
  // What the readers promise: events in time order.
  for (size_t i = 1; i < rec.events.size(); ++i)
    if (rec.events[i].t < rec.events[i - 1].t) __builtin_trap();
  if (rec.events.size() > size_t(limits.max_events)) __builtin_trap();

  EventBinning b;
  b.width = b.height = 64;
  b.polarities = (pick & 32) ? 1 : 2;
  b.slicing = static_cast<EventBinning::Slicing>((pick >> 2) & 3);
  b.bins = 5;
  b.time_window = 1000;
  b.event_count = 64;
  b.include_incomplete = pick & 16;
  try {
    const Tensor frames = events_to_frames(rec.events, b, limits);
    // Every event inside a frame is counted once: no frame holds more than all of them.
    double total = 0;
    for (float v : frames.data) total += v;
    if (total > double(rec.events.size()) * double(frames.shape[0])) __builtin_trap();
    if (int64_t(frames.data.size()) != element_count(frames.shape)) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
