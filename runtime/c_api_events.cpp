// SPDX-License-Identifier: Apache-2.0
// The C API of event cameras (tspike_c.h): reading recordings and binning
// them into a model's frames.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/c_api_handles.hpp"
#include "tspike/events.hpp"

struct tspike_events {
  std::vector<tspike_event> events;
};

struct tspike_frames {
  tspike::Shape frame_shape;  // one frame: the model's input with batch 1
  int64_t frame_size = 0;
  std::vector<float> data;  // T frames
};

namespace {

using tspike::capi::fail;
using tspike::capi::guarded;

tspike::Error invalid(const std::string& what) { return tspike::Error(tspike::ErrorCode::kBadInput, what); }

tspike::EventBinning from_c(const tspike_binning* c, tspike::EventBinning b) {
  if (c->struct_size < sizeof(size_t))
    throw invalid("tspike_binning: struct_size not set (tspike_model_binning)");
  if (TSPIKE_COVERS(c, tspike_binning, width)) b.width = c->width;
  if (TSPIKE_COVERS(c, tspike_binning, height)) b.height = c->height;
  if (TSPIKE_COVERS(c, tspike_binning, polarities)) b.polarities = c->polarities;
  if (TSPIKE_COVERS(c, tspike_binning, slicing)) {
    if (c->slicing < TSPIKE_SLICE_TIME_BINS || c->slicing > TSPIKE_SLICE_EVENT_COUNT)
      throw invalid("tspike_binning: slicing " + std::to_string(c->slicing) + " is not a tspike_slicing");
    b.slicing = static_cast<tspike::EventBinning::Slicing>(c->slicing);
  }
  if (TSPIKE_COVERS(c, tspike_binning, bins)) b.bins = c->bins;
  if (TSPIKE_COVERS(c, tspike_binning, time_window)) b.time_window = c->time_window;
  if (TSPIKE_COVERS(c, tspike_binning, event_count)) b.event_count = c->event_count;
  if (TSPIKE_COVERS(c, tspike_binning, include_incomplete)) b.include_incomplete = c->include_incomplete != 0;
  if (TSPIKE_COVERS(c, tspike_binning, binary)) b.binary = c->binary != 0;
  using S = tspike::EventBinning::Slicing;
  if ((b.slicing == S::kTimeBins || b.slicing == S::kEventBins) && b.bins < 1)
    throw invalid("tspike_binning: bins must be >= 1");
  if (b.slicing == S::kTimeWindow && !(b.time_window > 0 && std::isfinite(b.time_window)))
    throw invalid("tspike_binning: time_window must be > 0");
  if (b.slicing == S::kEventCount && b.event_count < 1)
    throw invalid("tspike_binning: event_count must be >= 1");
  return b;
}

}  // namespace

extern "C" {

tspike_events* tspike_events_read(const char* path, const tspike_model* model, tspike_status** status) {
  if (!path) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_events_read: path is NULL"), nullptr;
  tspike_events* out = nullptr;
  guarded(status, [&] {
    const tspike::Limits limits = model ? model->model->limits() : tspike::Limits{};
    const tspike::EventRecording rec = tspike::read_events(path, tspike::EventFormat::kAuto, limits);
    auto events = std::make_unique<tspike_events>();
    events->events.reserve(rec.events.size());
    for (const tspike::Event& e : rec.events)
      events->events.push_back(tspike_event{double(e.t), e.x, e.y, e.p});
    out = events.release();
  });
  return out;
}

size_t tspike_events_count(const tspike_events* events) { return events ? events->events.size() : 0; }
const tspike_event* tspike_events_data(const tspike_events* events) {
  return events && !events->events.empty() ? events->events.data() : nullptr;
}
void tspike_events_free(tspike_events* events) { delete events; }

tspike_code tspike_model_binning(const tspike_model* model, tspike_binning* binning, tspike_status** status) {
  if (!model || !binning)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_binning: NULL argument");
  return guarded(status, [&] {
    const tspike::EventBinning b = tspike::event_binning(model->model->info());
    tspike_binning c{};
    c.struct_size = binning->struct_size == 0 || binning->struct_size > sizeof(tspike_binning)
                        ? sizeof(tspike_binning)
                        : binning->struct_size;
    c.width = b.width;
    c.height = b.height;
    c.polarities = b.polarities;
    c.slicing = static_cast<int>(b.slicing);
    c.bins = long(b.bins);
    c.time_window = b.time_window;
    c.event_count = long(b.event_count);
    c.include_incomplete = b.include_incomplete;
    c.binary = b.binary;
    std::memcpy(binning, &c, c.struct_size);  // only what the caller's struct has
  });
}

tspike_frames* tspike_events_to_frames(const tspike_model* model, const tspike_event* events, size_t count,
                                       const tspike_binning* binning, tspike_status** status) {
  if (!model || (!events && count))
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_events_to_frames: NULL argument"), nullptr;
  tspike_frames* out = nullptr;
  guarded(status, [&] {
    const tspike::ModelInfo& info = model->model->info();
    const tspike::Limits& limits = model->model->limits();
    if (count > size_t(limits.max_events))
      throw tspike::Error(
          tspike::ErrorCode::kResourceLimit,
          std::to_string(count) + " events, more than the limit of " + std::to_string(limits.max_events));
    std::vector<tspike::Event> ev;
    ev.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const tspike_event& e = events[i];
      const std::string at = "event " + std::to_string(i);
      if (!(std::fabs(e.t) < 9007199254740992.0) || e.t != std::floor(e.t))
        throw invalid(at + ": t must be a whole number of microseconds within +-2^53");
      if (e.x < 0 || e.x > 65535 || e.y < 0 || e.y > 65535)
        throw invalid(at + ": x and y must be in 0..65535");
      if (e.p != 0 && e.p != 1 && e.p != -1) throw invalid(at + ": p must be 0, 1 or -1");
      ev.push_back(tspike::Event{int64_t(e.t), uint16_t(e.x), uint16_t(e.y), uint8_t(e.p > 0)});
    }
    tspike::Tensor frames;
    if (binning) {
      const tspike::EventBinning b = from_c(
          binning, tspike::has_event_binning(info) ? tspike::event_binning(info) : tspike::EventBinning{});
      frames = tspike::events_to_frames(ev, b, limits);
    } else {
      frames = tspike::events_to_frames(ev, tspike::event_binning(info), limits);
    }
    auto f = std::make_unique<tspike_frames>();
    f->frame_shape = {1};
    int64_t per_sample = 1;
    for (size_t d = 1; d < info.input.shape.size(); ++d) {
      if (info.input.shape[d] < 0)
        throw invalid("the model's input has an unknown dimension after the batch");
      f->frame_shape.push_back(info.input.shape[d]);
      per_sample *= info.input.shape[d];
    }
    f->frame_size = frames.shape[1] * frames.shape[2] * frames.shape[3];
    if (info.input.shape.empty() || f->frame_size != per_sample)
      throw invalid("a frame of " +
                    tspike::shape_to_string({frames.shape[1], frames.shape[2], frames.shape[3]}) +
                    " does not fit the model's input " + tspike::shape_to_string(info.input.shape));
    f->data = std::move(frames.data);
    out = f.release();
  });
  return out;
}

size_t tspike_frames_count(const tspike_frames* frames) {
  return frames && frames->frame_size ? frames->data.size() / size_t(frames->frame_size) : 0;
}
size_t tspike_frames_rank(const tspike_frames* frames) { return frames ? frames->frame_shape.size() : 0; }
long tspike_frames_dim(const tspike_frames* frames, size_t axis) {
  return frames && axis < frames->frame_shape.size() ? long(frames->frame_shape[axis]) : 0;
}
const float* tspike_frames_data(const tspike_frames* frames, size_t index) {
  return index < tspike_frames_count(frames) ? frames->data.data() + index * size_t(frames->frame_size)
                                             : nullptr;
}
void tspike_frames_free(tspike_frames* frames) { delete frames; }

}  // extern "C"
