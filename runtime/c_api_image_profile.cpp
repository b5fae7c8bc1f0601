// SPDX-License-Identifier: Apache-2.0
// The C API's streaming readout, image preprocessing and profile
// (tspike_c.h): thin wrappers over Session::readout, load_image and
// Session::profile. Every entry point catches everything.
#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/c_api_handles.hpp"
#include "tspike/input.hpp"
#include "tspike/tspike_c.h"

namespace {

using tspike::capi::fail;
using tspike::capi::guarded;

const tspike::ModelMetadata* metadata(const tspike_model* m) {
  return m ? &m->model->info().metadata : nullptr;
}

// The channel count of an image input, or 0.
size_t image_channels(const tspike_model* m) {
  if (!m) return 0;
  const tspike::Shape& s = m->model->info().input.shape;
  if (s.size() != 4 || (s[1] != 1 && s[1] != 3) || s[2] <= 0 || s[3] <= 0) return 0;
  return static_cast<size_t>(s[1]);
}

float per_channel(const tspike_model* m, const std::vector<float>& values, size_t channel) {
  if (channel >= image_channels(m) || values.empty()) return 0.0f;
  return values.size() == 1 ? values[0] : channel < values.size() ? values[channel] : 0.0f;
}

// Copies an image tensor into the caller's buffer after checking its size.
void deliver(const tspike::Tensor& image, float* buffer, size_t capacity) {
  if (image.data.size() > capacity)
    throw tspike::Error(tspike::ErrorCode::kBadInput, "the buffer holds " + std::to_string(capacity) +
                                                          " floats; the image needs " +
                                                          std::to_string(image.data.size()));
  std::copy(image.data.begin(), image.data.end(), buffer);
}

const tspike::NodeProfile* profiled(const tspike_session* s, size_t index) {
  return s && s->profile_read && index < s->profile.nodes.size() ? &s->profile.nodes[index] : nullptr;
}

}  // namespace

extern "C" {

tspike_code tspike_session_readout(tspike_session* session, tspike_status** status) {
  if (!session) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_readout: session is NULL");
  return guarded(status, [&] {
    try {
      session->outputs = session->session.readout();
    } catch (...) {
      session->outputs.clear();  // no stale outputs after a failure
      throw;
    }
  });
}

float tspike_model_image_scale(const tspike_model* model) {
  return model ? metadata(model)->image_scale : 0.0f;
}
float tspike_model_image_mean(const tspike_model* model, size_t channel) {
  return model ? per_channel(model, metadata(model)->image_mean, channel) : 0.0f;
}
float tspike_model_image_std(const tspike_model* model, size_t channel) {
  return model ? per_channel(model, metadata(model)->image_std, channel) : 0.0f;
}

const char* tspike_model_image_resize(const tspike_model* model) {
  if (!model) return nullptr;
  const tspike::ModelMetadata& md = *metadata(model);
  switch (md.image_resize) {
    case tspike::ImageResize::kBilinearAntialias:
      return md.image_center_crop ? "bilinear_antialias_crop" : "bilinear_antialias";
    case tspike::ImageResize::kNearest:
      return md.image_center_crop ? "nearest_crop" : "nearest";
    case tspike::ImageResize::kBilinear:
      break;
  }
  return md.image_center_crop ? "bilinear_crop" : "bilinear";
}

size_t tspike_model_image_size(const tspike_model* model) {
  const size_t c = image_channels(model);
  if (c == 0) return 0;
  const tspike::Shape& s = model->model->info().input.shape;
  return c * static_cast<size_t>(s[2]) * static_cast<size_t>(s[3]);
}

tspike_code tspike_model_load_image(const tspike_model* model, const char* path, float* buffer,
                                    size_t capacity, tspike_status** status) {
  if (!model || !path || !buffer)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_load_image: NULL argument");
  return guarded(status, [&] {
    deliver(tspike::load_image(path, model->model->info(), model->model->limits()), buffer, capacity);
  });
}

tspike_code tspike_model_load_image_from_memory(const tspike_model* model, const void* data, size_t size,
                                                float* buffer, size_t capacity, tspike_status** status) {
  if (!model || !data || !buffer)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_load_image_from_memory: NULL argument");
  return guarded(status, [&] {
    deliver(
        tspike::load_image_from_memory(data, size, "memory", model->model->info(), model->model->limits()),
        buffer, capacity);
  });
}

tspike_code tspike_session_read_profile(tspike_session* session, tspike_status** status) {
  if (!session)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_read_profile: session is NULL");
  return guarded(status, [&] {
    session->profile_read = false;
    session->profile = session->session.profile();
    session->profile_read = true;
  });
}

void tspike_node_profile_init(tspike_node_profile* node) {
  if (!node) return;
  *node = tspike_node_profile{};
  node->struct_size = sizeof(tspike_node_profile);
}

void tspike_profile_totals_init(tspike_profile_totals* totals) {
  if (!totals) return;
  *totals = tspike_profile_totals{};
  totals->struct_size = sizeof(tspike_profile_totals);
}

size_t tspike_session_profile_node_count(const tspike_session* session) {
  return session && session->profile_read ? session->profile.nodes.size() : 0;
}

tspike_code tspike_session_profile_node(const tspike_session* session, size_t index,
                                        tspike_node_profile* node, tspike_status** status) {
  const tspike::NodeProfile* p = profiled(session, index);
  if (!p || !node || node->struct_size < sizeof(size_t))
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT,
                "tspike_session_profile_node: no profile read, index past the end, or node not initialized");
  if (status) *status = nullptr;
  // Fill what the caller's struct_size covers (a program built against older headers).
  tspike_node_profile full{};
  full.struct_size = node->struct_size;
  full.name = p->name.c_str();
  full.op_type = p->op_type.c_str();
  full.time_ms = p->total_time_ms;
  full.spike_density = -1;
  if (p->neuron && !p->density.empty()) {
    double sum = 0;
    for (double d : p->density) sum += d;
    full.spike_density = sum / double(p->density.size());
  }
  full.ac = double(p->ac);
  full.mac = double(p->mac);
  full.energy_pj = p->energy_pj;
  std::memcpy(node, &full, std::min(node->struct_size, sizeof(full)));
  return TSPIKE_OK;
}

tspike_code tspike_session_profile_totals(const tspike_session* session, tspike_profile_totals* totals,
                                          tspike_status** status) {
  if (!session || !session->profile_read || !totals || totals->struct_size < sizeof(size_t))
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT,
                "tspike_session_profile_totals: no profile read, or totals not initialized");
  if (status) *status = nullptr;
  const tspike::Profile& p = session->profile;
  tspike_profile_totals full{};
  full.struct_size = totals->struct_size;
  full.timesteps = p.timesteps;
  full.batch = long(p.batch);
  full.time_ms = p.time_ms;
  full.ac = double(p.ac);
  full.mac = double(p.mac);
  full.dense_macs = double(p.dense_macs);
  full.energy_pj = p.energy_pj;
  full.dense_energy_pj = p.dense_energy_pj;
  full.layer_major = p.layer_major ? 1 : 0;
  std::memcpy(totals, &full, std::min(totals->struct_size, sizeof(full)));
  return TSPIKE_OK;
}

}  // extern "C"
