// SPDX-License-Identifier: Apache-2.0
// The C API (tspike_c.h): thin handles over Model and Session. Every entry
// point catches everything, so no C++ exception reaches a C caller.
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "runtime/c_api_handles.hpp"
#include "tspike/error.hpp"
#include "tspike/input.hpp"
#include "tspike/log.hpp"
#include "tspike/session.hpp"
#include "tspike/tspike_c.h"
#include "tspike/version.hpp"

namespace {

using tspike::capi::fail;
using tspike::capi::guarded;

tspike::Error invalid(const std::string& what) { return tspike::Error(tspike::ErrorCode::kBadInput, what); }

tspike::Tensor make_tensor(const float* data, const long* shape, size_t rank) {
  if (!data || (!shape && rank > 0)) throw invalid("data or shape is NULL");
  tspike::Shape s;
  int64_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (shape[d] < 0) throw invalid("negative dimension in shape");
    s.push_back(shape[d]);
    // Overflow-safe: the Session checks the shape against its limits later.
    if (shape[d] != 0 && count > (int64_t{1} << 40) / shape[d]) throw invalid("shape too large");
    count *= shape[d];
  }
  return tspike::Tensor(std::move(s), std::vector<float>(data, data + count));
}

void refresh(tspike_session* s) { s->stats = s->session.stats(); }

tspike::LoadOptions load_options(const tspike_load_options* c) {
  tspike::LoadOptions o;
  if (!c) return o;
  if (c->struct_size < sizeof(size_t))
    throw invalid("tspike_load_options: struct_size not set (tspike_load_options_init)");
  if (TSPIKE_COVERS(c, tspike_load_options, engine)) {
    switch (c->engine) {
      case TSPIKE_ENGINE_AUTO:
        o.engine = tspike::Engine::kAuto;
        break;
      case TSPIKE_ENGINE_EVENT:
        o.engine = tspike::Engine::kEvent;
        break;
      case TSPIKE_ENGINE_DENSE:
        o.engine = tspike::Engine::kDense;
        break;
      default:
        throw invalid("tspike_load_options: engine " + std::to_string(c->engine) + " is not a tspike_engine");
    }
  }
  if (TSPIKE_COVERS(c, tspike_load_options, max_isa)) {
    switch (c->max_isa) {
      case TSPIKE_ISA_BEST:
        o.max_isa = tspike::InstructionSet::kBest;
        break;
      case TSPIKE_ISA_AVX512:
        o.max_isa = tspike::InstructionSet::kAvx512;
        break;
      case TSPIKE_ISA_AVX2:
        o.max_isa = tspike::InstructionSet::kAvx2;
        break;
      case TSPIKE_ISA_PORTABLE:
        o.max_isa = tspike::InstructionSet::kPortable;
        break;
      default:
        throw invalid("tspike_load_options: max_isa " + std::to_string(c->max_isa) + " is not a tspike_isa");
    }
  }
  if (TSPIKE_COVERS(c, tspike_load_options, reference_kernels))
    o.reference_kernels = c->reference_kernels != 0;
  return o;
}

tspike::SessionOptions session_options(const tspike_session_options* c) {
  tspike::SessionOptions o;
  if (!c) return o;
  if (c->struct_size < sizeof(size_t))
    throw invalid("tspike_session_options: struct_size not set (tspike_session_options_init)");
  if (TSPIKE_COVERS(c, tspike_session_options, timesteps)) o.timesteps = c->timesteps;
  if (TSPIKE_COVERS(c, tspike_session_options, threads)) o.threads = c->threads < 1 ? 1 : c->threads;
  if (TSPIKE_COVERS(c, tspike_session_options, allow_spinning)) o.allow_spinning = c->allow_spinning != 0;
  if (TSPIKE_COVERS(c, tspike_session_options, layer_major)) o.layer_major = c->layer_major != 0;
  if (TSPIKE_COVERS(c, tspike_session_options, timestep_major)) o.timestep_major = c->timestep_major != 0;
  if (TSPIKE_COVERS(c, tspike_session_options, profile)) o.profile = c->profile != 0;
  return o;
}

const tspike::LayerInfo* layer(const tspike_model* m, size_t index) {
  return m && index < m->model->info().layers.size() ? &m->model->info().layers[index] : nullptr;
}

const tspike::Tensor* output(const tspike_session* s, size_t index) {
  return s && index < s->outputs.size() ? &s->outputs[index] : nullptr;
}

}  // namespace

extern "C" {

const char* tspike_version(void) { return tspike::version(); }

tspike_code tspike_status_code(const tspike_status* status) { return status ? status->code : TSPIKE_OK; }
const char* tspike_status_message(const tspike_status* status) {
  return status ? status->message.c_str() : "";
}
void tspike_status_free(tspike_status* status) { delete status; }

const char* tspike_code_name(tspike_code code) {
  switch (code) {
    case TSPIKE_OK:
      return "ok";
    case TSPIKE_ERR_PARSE:
      return "parse";
    case TSPIKE_ERR_INVALID_MODEL:
      return "invalid model";
    case TSPIKE_ERR_UNSUPPORTED_OP:
      return "unsupported op";
    case TSPIKE_ERR_SHAPE_MISMATCH:
      return "shape mismatch";
    case TSPIKE_ERR_RESOURCE_LIMIT:
      return "resource limit";
    case TSPIKE_ERR_BAD_INPUT:
      return "bad input";
    case TSPIKE_ERR_IO:
      return "io";
    case TSPIKE_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case TSPIKE_ERR_OUT_OF_MEMORY:
      return "out of memory";
    case TSPIKE_ERR_INTERNAL:
      return "internal";
  }
  return "unknown";
}

tspike_model* tspike_model_load(const char* path, tspike_status** status) {
  if (!path) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_load: path is NULL"), nullptr;
  tspike_model* m = nullptr;
  guarded(status, [&] { m = new tspike_model{tspike::Model::load(path)}; });
  return m;
}

tspike_model* tspike_model_load_from_memory(const void* data, size_t size, const char* name,
                                            tspike_status** status) {
  if (!data)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_load_from_memory: data is NULL"), nullptr;
  tspike_model* m = nullptr;
  guarded(status,
          [&] { m = new tspike_model{tspike::Model::load_from_memory(data, size, name ? name : "memory")}; });
  return m;
}

void tspike_model_free(tspike_model* model) { delete model; }

void tspike_load_options_init(tspike_load_options* options) {
  if (!options) return;
  *options = tspike_load_options{};
  options->struct_size = sizeof(tspike_load_options);
  options->engine = TSPIKE_ENGINE_AUTO;
  options->max_isa = TSPIKE_ISA_BEST;
}

tspike_model* tspike_model_load_with(const char* path, const tspike_load_options* options,
                                     tspike_status** status) {
  if (!path)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_model_load_with: path is NULL"), nullptr;
  tspike_model* m = nullptr;
  tspike::LoadOptions o;
  try {
    o = load_options(options);
  } catch (const tspike::Error& e) {
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, e.what()), nullptr;
  }
  guarded(status, [&] { m = new tspike_model{tspike::Model::load(path, o)}; });
  return m;
}

size_t tspike_model_layer_count(const tspike_model* model) {
  return model ? model->model->info().layers.size() : 0;
}
const char* tspike_model_layer_name(const tspike_model* model, size_t index) {
  const tspike::LayerInfo* l = layer(model, index);
  return l ? l->node.c_str() : nullptr;
}
const char* tspike_model_layer_kernel(const tspike_model* model, size_t index) {
  const tspike::LayerInfo* l = layer(model, index);
  return l ? l->kernel.c_str() : nullptr;
}

size_t tspike_model_input_rank(const tspike_model* model) {
  return model ? model->model->info().input.shape.size() : 0;
}
long tspike_model_input_dim(const tspike_model* model, size_t axis) {
  if (!model || axis >= model->model->info().input.shape.size()) return 0;
  return static_cast<long>(model->model->info().input.shape[axis]);
}
int tspike_model_timesteps(const tspike_model* model) {
  return model ? model->model->info().metadata.timesteps : 0;
}
size_t tspike_model_label_count(const tspike_model* model) {
  return model ? model->model->info().metadata.labels.size() : 0;
}
const char* tspike_model_label(const tspike_model* model, size_t index) {
  if (!model || index >= model->model->info().metadata.labels.size()) return nullptr;
  return model->model->info().metadata.labels[index].c_str();
}

tspike_session* tspike_session_create(const tspike_model* model, int timesteps, int threads,
                                      tspike_status** status) {
  if (!model)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_create: model is NULL"), nullptr;
  tspike_session* s = nullptr;
  guarded(status, [&] {
    s = new tspike_session{
        tspike::Session(model->model, {timesteps, threads < 1 ? 1 : threads}), {}, {}, {}, false};
  });
  return s;
}

void tspike_session_free(tspike_session* session) { delete session; }

void tspike_session_options_init(tspike_session_options* options) {
  if (!options) return;
  *options = tspike_session_options{};
  options->struct_size = sizeof(tspike_session_options);
  options->threads = 1;
  options->allow_spinning = 1;
}

tspike_session* tspike_session_create_with(const tspike_model* model, const tspike_session_options* options,
                                           tspike_status** status) {
  if (!model)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_create_with: model is NULL"), nullptr;
  tspike::SessionOptions o;
  try {
    o = session_options(options);
  } catch (const tspike::Error& e) {
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, e.what()), nullptr;
  }
  tspike_session* s = nullptr;
  guarded(status, [&] { s = new tspike_session{tspike::Session(model->model, o), {}, {}, {}, false}; });
  return s;
}

tspike_code tspike_session_run(tspike_session* session, const float* data, const long* shape, size_t rank,
                               tspike_status** status) {
  if (!session) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_run: session is NULL");
  return guarded(status, [&] {
    try {
      session->session.run(make_tensor(data, shape, rank), session->outputs);
    } catch (...) {
      session->outputs.clear();  // no stale outputs after a failure
      throw;
    }
    refresh(session);
  });
}

tspike_code tspike_session_run_image(tspike_session* session, const char* path, tspike_status** status) {
  if (!session || !path)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_run_image: NULL argument");
  return guarded(status, [&] {
    const tspike::Model& m = session->session.model();
    try {
      session->session.run(tspike::load_image(path, m.info(), m.limits()), session->outputs);
    } catch (...) {
      session->outputs.clear();  // no stale outputs after a failure
      throw;
    }
    refresh(session);
  });
}

tspike_code tspike_session_reset(tspike_session* session, tspike_status** status) {
  if (!session) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_reset: session is NULL");
  return guarded(status, [&] {
    session->session.reset();
    session->outputs.clear();
    refresh(session);
  });
}

tspike_code tspike_session_step(tspike_session* session, const float* data, const long* shape, size_t rank,
                                tspike_status** status) {
  if (!session) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_step: session is NULL");
  return guarded(status, [&] {
    try {
      session->session.step(make_tensor(data, shape, rank), session->outputs);
    } catch (...) {
      session->outputs.clear();  // no stale outputs after a failure
      throw;
    }
    refresh(session);
  });
}

tspike_code tspike_session_observe(tspike_session* session, const char* const* nodes, size_t count,
                                   tspike_observe_fn fn, void* user_data, tspike_status** status) {
  if (!session) return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_observe: session is NULL");
  if (count > 0 && fn && !nodes)
    return fail(status, TSPIKE_ERR_INVALID_ARGUMENT, "tspike_session_observe: nodes is NULL");
  return guarded(status, [&] {
    std::vector<std::string> names;
    if (fn)
      for (size_t k = 0; k < count; ++k) {
        if (!nodes[k])
          throw tspike::Error(tspike::ErrorCode::kBadInput, "tspike_session_observe: a node name is NULL");
        names.emplace_back(nodes[k]);
      }
    if (names.empty()) {
      session->session.observe({}, nullptr);
      return;
    }
    // The dims as C longs, in a buffer that grows only with the rank.
    auto dims = std::make_shared<std::vector<long>>();
    session->session.observe(names, [fn, user_data, dims](const tspike::NodeOutput& o) {
      if (dims->size() < o.shape.size()) dims->resize(o.shape.size());
      for (size_t d = 0; d < o.shape.size(); ++d) (*dims)[d] = static_cast<long>(o.shape[d]);
      if (fn(user_data, o.timestep, o.node.c_str(), o.value.c_str(), dims->data(), o.shape.size(), o.data))
        throw tspike::Error(tspike::ErrorCode::kBadInput, "the observer stopped the run at node '" + o.node +
                                                              "', timestep " + std::to_string(o.timestep));
    });
  });
}

int tspike_session_timesteps(const tspike_session* session) {
  return session ? session->session.timesteps() : 0;
}

size_t tspike_session_output_count(const tspike_session* session) {
  return session ? session->outputs.size() : 0;
}
const char* tspike_session_output_name(const tspike_session* session, size_t index) {
  const tspike::Tensor* t = output(session, index);
  return t ? t->name.c_str() : nullptr;
}
size_t tspike_session_output_rank(const tspike_session* session, size_t index) {
  const tspike::Tensor* t = output(session, index);
  return t ? t->shape.size() : 0;
}
long tspike_session_output_dim(const tspike_session* session, size_t index, size_t axis) {
  const tspike::Tensor* t = output(session, index);
  return t && axis < t->shape.size() ? static_cast<long>(t->shape[axis]) : 0;
}
size_t tspike_session_output_size(const tspike_session* session, size_t index) {
  const tspike::Tensor* t = output(session, index);
  return t ? t->data.size() : 0;
}
const float* tspike_session_output_data(const tspike_session* session, size_t index) {
  const tspike::Tensor* t = output(session, index);
  return t ? t->data.data() : nullptr;
}

size_t tspike_session_spike_node_count(const tspike_session* session) {
  return session ? session->stats.firing_rates.size() : 0;
}
const char* tspike_session_spike_node_name(const tspike_session* session, size_t index) {
  if (!session || index >= session->stats.firing_rates.size()) return nullptr;
  return session->stats.firing_rates[index].first.c_str();
}
double tspike_session_firing_rate(const tspike_session* session, size_t index) {
  if (!session || index >= session->stats.firing_rates.size()) return 0;
  return session->stats.firing_rates[index].second;
}
double tspike_session_mean_firing_rate(const tspike_session* session) {
  return session ? session->stats.mean_firing_rate : 0;
}

void tspike_set_log(int level, tspike_log_fn fn, void* user_data) {
  try {
    if (fn)
      tspike::set_log_sink([fn, user_data](tspike::LogLevel l, std::string_view message) {
        const std::string text(message);  // NUL-terminated for C
        fn(user_data, static_cast<int>(l), text.c_str());
      });
    else
      tspike::set_log_sink({});
    if (level < TSPIKE_LOG_OFF) level = TSPIKE_LOG_OFF;
    if (level > TSPIKE_LOG_DEBUG) level = TSPIKE_LOG_DEBUG;
    tspike::set_log_level(static_cast<tspike::LogLevel>(level));
  } catch (...) {
    // Out of memory copying the callback: logging stays as it was.
  }
}

}  // extern "C"
