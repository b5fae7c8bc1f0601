/* SPDX-License-Identifier: Apache-2.0 */
/* The C API of tspike: load a model, run it, read its outputs.
 *
 * C89-compatible. Every function is safe to call with NULL handles (it
 * returns NULL, 0 or TSPIKE_ERR_INVALID_ARGUMENT) and no C++ exception ever
 * crosses it.
 *
 * Errors: functions that can fail take a `tspike_status** status` last. On
 * failure they store a new status there (code + message naming the file, node
 * and tensor); the caller owns it and frees it with tspike_status_free(). On
 * success they store NULL. Pass NULL to ignore the details. Functions that
 * return a handle return NULL on failure; the others return the code
 * (TSPIKE_OK, i.e. 0, on success).
 *
 * Ownership and threads: a tspike_model is immutable after loading; any
 * number of sessions on any threads may share it, and it may be freed while
 * sessions still use it (they keep it alive). A tspike_session is used by
 * one thread at a time; give each thread its own. Pointers returned by
 * accessors (names, output data, messages) belong to the library and stay
 * valid until the object they came from is changed (the next run, step or
 * reset of a session) or freed.
 */
#ifndef TSPIKE_TSPIKE_C_H
#define TSPIKE_TSPIKE_C_H

#include <stddef.h>

#include "tspike/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tspike_model tspike_model;
typedef struct tspike_session tspike_session;
typedef struct tspike_status tspike_status;

typedef enum tspike_code {
  TSPIKE_OK = 0,
  TSPIKE_ERR_PARSE = 1,            /* not a readable ONNX / image / .npy file */
  TSPIKE_ERR_INVALID_MODEL = 2,    /* breaks the format or ONNX's rules */
  TSPIKE_ERR_UNSUPPORTED_OP = 3,   /* an op or attribute the runtime lacks */
  TSPIKE_ERR_SHAPE_MISMATCH = 4,   /* shapes that do not fit together */
  TSPIKE_ERR_RESOURCE_LIMIT = 5,   /* a size beyond the configured limits */
  TSPIKE_ERR_BAD_INPUT = 6,        /* an input or option that does not fit */
  TSPIKE_ERR_IO = 7,               /* a file that cannot be read or written */
  TSPIKE_ERR_INVALID_ARGUMENT = 8, /* a NULL handle, index out of range... */
  TSPIKE_ERR_OUT_OF_MEMORY = 9,
  TSPIKE_ERR_INTERNAL = 10 /* a bug in tspike: please report it */
} tspike_code;

/* The library's version, "MAJOR.MINOR.PATCH" (TSPIKE_VERSION_STRING in
 * tspike/version.h is the version of the headers). */
TSPIKE_API const char* tspike_version(void);

/* ---- Status ---- */
TSPIKE_API tspike_code tspike_status_code(const tspike_status* status);    /* TSPIKE_OK for NULL */
TSPIKE_API const char* tspike_status_message(const tspike_status* status); /* "" for NULL */
TSPIKE_API void tspike_status_free(tspike_status* status);
/* A short name of a code: "parse", "bad input", ... */
TSPIKE_API const char* tspike_code_name(tspike_code code);

/* ---- Model ---- */
/* Loads, checks and re-parameterizes a model file (default limits). */
TSPIKE_API tspike_model* tspike_model_load(const char* path, tspike_status** status);
/* The same from the bytes of a model file; `name` names it in messages. */
TSPIKE_API tspike_model* tspike_model_load_from_memory(const void* data, size_t size, const char* name,
                                                       tspike_status** status);
TSPIKE_API void tspike_model_free(tspike_model* model);

/* Load options (tspike::LoadOptions; docs/engines.md). Fill one with
 * tspike_load_options_init, which also sets struct_size (so that a program
 * built against these headers keeps working with a later library that
 * adds fields), then change what you need. */
typedef enum {
  TSPIKE_ENGINE_AUTO = 0,  /* event-driven; a Conv timestep denser than the crossover runs dense */
  TSPIKE_ENGINE_EVENT = 1, /* every spike-fed layer event-driven */
  TSPIKE_ENGINE_DENSE = 2  /* every layer dense fp32 (oneDNN), as a yardstick */
} tspike_engine;
typedef enum {
  TSPIKE_ISA_BEST = 0, /* the CPU's best */
  TSPIKE_ISA_AVX512 = 1,
  TSPIKE_ISA_AVX2 = 2,
  TSPIKE_ISA_PORTABLE = 3
} tspike_isa;
typedef struct tspike_load_options {
  size_t struct_size;    /* sizeof(tspike_load_options) */
  int engine;            /* a tspike_engine; default TSPIKE_ENGINE_AUTO */
  int max_isa;           /* a tspike_isa: a cap on the kernels' instruction set; default best */
  int reference_kernels; /* nonzero: every op keeps its reference kernel; default 0 */
  int fuse_neurons;      /* ignored (kept so that older callers still build): the option was removed */
  int neuron_event_maps; /* ignored (kept so that older callers still build): the option was removed */
} tspike_load_options;
TSPIKE_API void tspike_load_options_init(tspike_load_options* options);
/* tspike_model_load with options (NULL: the defaults). A value out of range
 * is TSPIKE_ERR_INVALID_ARGUMENT. */
TSPIKE_API tspike_model* tspike_model_load_with(const char* path, const tspike_load_options* options,
                                                tspike_status** status);

/* The layers (Conv, Gemm, MatMul) in graph order and the kernel each got
 * at load: "event/avx512", "oneDNN", "reference", ... NULL past the end. */
TSPIKE_API size_t tspike_model_layer_count(const tspike_model* model);
TSPIKE_API const char* tspike_model_layer_name(const tspike_model* model, size_t index);
TSPIKE_API const char* tspike_model_layer_kernel(const tspike_model* model, size_t index);

/* The input's shape; a dimension unknown in the file (the batch) is -1. */
TSPIKE_API size_t tspike_model_input_rank(const tspike_model* model);
TSPIKE_API long tspike_model_input_dim(const tspike_model* model, size_t axis);
TSPIKE_API int tspike_model_timesteps(const tspike_model* model); /* tspike.timesteps */
/* Class labels from the model's metadata (0 when it has none). */
TSPIKE_API size_t tspike_model_label_count(const tspike_model* model);
TSPIKE_API const char* tspike_model_label(const tspike_model* model, size_t index); /* NULL past the end */

/* ---- Session ---- */
/* timesteps 0: the model's; threads 0 or 1: no worker threads. */
TSPIKE_API tspike_session* tspike_session_create(const tspike_model* model, int timesteps, int threads,
                                                 tspike_status** status);
TSPIKE_API void tspike_session_free(tspike_session* session);

/* Session options (tspike::SessionOptions), struct_size as above. */
typedef struct tspike_session_options {
  size_t struct_size; /* sizeof(tspike_session_options) */
  int timesteps;      /* 0: the model's; default 0 */
  int threads;        /* worker threads used inside kernels; default 1 */
  int allow_spinning; /* nonzero: idle workers poll about 1 ms before they sleep; default 1 */
  int layer_major;    /* nonzero: run layer by layer, each layer's T timesteps back to back; default 0 */
  int timestep_major; /* nonzero: run timestep by timestep; default 0 (both 0: layer by layer where it
                         pays and fits, see SessionOptions) */
  int profile;        /* nonzero: record a per-node profile (tspike_session_read_profile); default 0 */
} tspike_session_options;
TSPIKE_API void tspike_session_options_init(tspike_session_options* options);
/* tspike_session_create with options (NULL: the defaults). */
TSPIKE_API tspike_session* tspike_session_create_with(const tspike_model* model,
                                                      const tspike_session_options* options,
                                                      tspike_status** status);

/* Zeroes the state, runs all timesteps on `data` (row-major float32 of the
 * given shape, e.g. [N, C, H, W]) and keeps the outputs, reduced over time,
 * for the accessors below. */
TSPIKE_API tspike_code tspike_session_run(tspike_session* session, const float* data, const long* shape,
                                          size_t rank, tspike_status** status);
/* Loads an image file as the model's input (resize and normalization from
 * the model's metadata), then runs as tspike_session_run. */
TSPIKE_API tspike_code tspike_session_run_image(tspike_session* session, const char* path,
                                                tspike_status** status);
/* Streaming: reset() zeroes the state; each step() feeds one timestep and
 * keeps that timestep's (un-reduced) outputs for the accessors. */
TSPIKE_API tspike_code tspike_session_reset(tspike_session* session, tspike_status** status);
TSPIKE_API tspike_code tspike_session_step(tspike_session* session, const float* data, const long* shape,
                                           size_t rank, tspike_status** status);
TSPIKE_API int tspike_session_timesteps(const tspike_session* session);
/* The model's readout (mean, sum or last) of the outputs of the steps since
 * reset, kept for the output accessors as after tspike_session_run: what a
 * whole run over those frames gives. TSPIKE_ERR_BAD_INPUT before any step. */
TSPIKE_API tspike_code tspike_session_readout(tspike_session* session, tspike_status** status);

/* Outputs of the last run or step (0 outputs before the first). */
TSPIKE_API size_t tspike_session_output_count(const tspike_session* session);
TSPIKE_API const char* tspike_session_output_name(const tspike_session* session, size_t index);
TSPIKE_API size_t tspike_session_output_rank(const tspike_session* session, size_t index);
TSPIKE_API long tspike_session_output_dim(const tspike_session* session, size_t index, size_t axis);
TSPIKE_API size_t tspike_session_output_size(const tspike_session* session, size_t index); /* elements */
TSPIKE_API const float* tspike_session_output_data(const tspike_session* session, size_t index);

/* Firing rates of the last run or of the steps since reset: one per
 * TernarySpike node in graph order, nonzero spikes / (elements x T x N). */
TSPIKE_API size_t tspike_session_spike_node_count(const tspike_session* session);
TSPIKE_API const char* tspike_session_spike_node_name(const tspike_session* session, size_t index);
TSPIKE_API double tspike_session_firing_rate(const tspike_session* session, size_t index);
TSPIKE_API double tspike_session_mean_firing_rate(const tspike_session* session);

/* Watching node outputs (see tspike/observer.hpp). Called at every timestep
 * of run and step with each output of each watched node: `shape` (rank
 * dims) and `data` are valid during the call only; copy what you keep.
 * Returning nonzero stops the run or step with TSPIKE_ERR_BAD_INPUT. */
typedef int (*tspike_observe_fn)(void* user_data, int timestep, const char* node, const char* value,
                                 const long* shape, size_t rank, const float* data);
/* Watches the `count` nodes named in `nodes` (e.g. the spike node names
 * above); count 0 or fn NULL stops watching. An unknown name is
 * TSPIKE_ERR_BAD_INPUT. The next run plans memory again (once). */
TSPIKE_API tspike_code tspike_session_observe(tspike_session* session, const char* const* nodes, size_t count,
                                              tspike_observe_fn fn, void* user_data, tspike_status** status);

/* ---- Images: the model's preprocessing (tspike.image.*, docs/format.md) ---- */
/* pixel (0..255) * scale, then (x - mean[c]) / std[c]; a model with one
 * mean or std value uses it for every channel. mean/std of a channel past
 * the input's channels: 0. */
TSPIKE_API float tspike_model_image_scale(const tspike_model* model);
TSPIKE_API float tspike_model_image_mean(const tspike_model* model, size_t channel);
TSPIKE_API float tspike_model_image_std(const tspike_model* model, size_t channel);
/* "bilinear", "bilinear_antialias" or "nearest", with "_crop" when the image
 * is resized to cover the input and its centre cropped. */
TSPIKE_API const char* tspike_model_image_resize(const tspike_model* model);
/* C x H x W: the floats of one image as the model's input; 0 when the input
 * is not an image input [N, C, H, W] (C 1 or 3, H and W known). */
TSPIKE_API size_t tspike_model_image_size(const tspike_model* model);
/* Decodes an image file (PNG, JPEG, BMP, PGM/PPM) and applies the model's
 * preprocessing into `buffer`, which holds `capacity` floats (at least
 * tspike_model_image_size): [1, C, H, W] row-major, ready for
 * tspike_session_run or tspike_session_step with shape {1, C, H, W}. */
TSPIKE_API tspike_code tspike_model_load_image(const tspike_model* model, const char* path, float* buffer,
                                               size_t capacity, tspike_status** status);
/* The same from the bytes of an image file. */
TSPIKE_API tspike_code tspike_model_load_image_from_memory(const tspike_model* model, const void* data,
                                                           size_t size, float* buffer, size_t capacity,
                                                           tspike_status** status);

/* ---- Profile (docs/profiling.md) ---- */
/* Takes the profile of the last run, or of the steps since reset, from a
 * session created with options.profile nonzero, for the accessors below
 * (which read this copy until the next call). TSPIKE_ERR_BAD_INPUT when
 * the session does not profile or nothing has run. */
TSPIKE_API tspike_code tspike_session_read_profile(tspike_session* session, tspike_status** status);
/* Counts are doubles (exact below 2^53), for C89. Fill struct_size (or use
 * the _init functions) so that a later library can add fields. */
typedef struct tspike_node_profile {
  size_t struct_size; /* sizeof(tspike_node_profile) */
  const char* name;   /* valid until the next tspike_session_read_profile */
  const char* op_type;
  double time_ms;       /* over all timesteps */
  double spike_density; /* TernarySpike: nonzero spikes / (elements x N), mean over timesteps; else -1 */
  double ac, mac;       /* synaptic operations of a Conv / Gemm / MatMul (AC fed by spikes, else MAC) */
  double energy_pj;     /* ac * 0.9 + mac * 4.6 */
} tspike_node_profile;
typedef struct tspike_profile_totals {
  size_t struct_size; /* sizeof(tspike_profile_totals) */
  int timesteps;
  long batch;
  double time_ms;
  double ac, mac, dense_macs;
  double energy_pj;       /* the SNN run */
  double dense_energy_pj; /* the same network as a dense ANN, one pass */
  int layer_major;        /* 1: the run went layer by layer, 0: timestep by timestep */
} tspike_profile_totals;
TSPIKE_API void tspike_node_profile_init(tspike_node_profile* node);
TSPIKE_API void tspike_profile_totals_init(tspike_profile_totals* totals);
TSPIKE_API size_t tspike_session_profile_node_count(const tspike_session* session);
TSPIKE_API tspike_code tspike_session_profile_node(const tspike_session* session, size_t index,
                                                   tspike_node_profile* node, tspike_status** status);
TSPIKE_API tspike_code tspike_session_profile_totals(const tspike_session* session,
                                                     tspike_profile_totals* totals, tspike_status** status);

/* ---- Event cameras (docs/events.md) ---- */
/* One event. Fixed layout (not versioned): timestamps in microseconds as a
 * double (whole numbers, exact below 2^53), events in time order. */
typedef struct tspike_event {
  double t; /* timestamp, microseconds */
  int x, y; /* pixel column and row */
  int p;    /* polarity: 1 ON (brighter); 0 or -1 OFF */
} tspike_event;

/* A recording read from a file: N-MNIST / N-Caltech101 (.bin), NumPy
 * .npy / .npz with fields t, x, y, p, Prophesee EVT 2.0 (.raw), by
 * extension. `model` (may be NULL) gives the limits. */
typedef struct tspike_events tspike_events;
TSPIKE_API tspike_events* tspike_events_read(const char* path, const tspike_model* model,
                                             tspike_status** status);
TSPIKE_API size_t tspike_events_count(const tspike_events* events);
TSPIKE_API const tspike_event* tspike_events_data(const tspike_events* events); /* count events */
TSPIKE_API void tspike_events_free(tspike_events* events);

/* How events become frames (tspike::EventBinning): the model's
 * tspike.events.* metadata. Fill one with tspike_model_binning (which sets
 * struct_size), change what you need, pass it to tspike_events_to_frames. */
typedef enum {
  TSPIKE_SLICE_TIME_BINS = 0,   /* `bins` frames of equal duration */
  TSPIKE_SLICE_EVENT_BINS = 1,  /* `bins` frames of equal event counts */
  TSPIKE_SLICE_TIME_WINDOW = 2, /* frames of `time_window` microseconds */
  TSPIKE_SLICE_EVENT_COUNT = 3  /* frames of `event_count` events */
} tspike_slicing;
typedef struct tspike_binning {
  size_t struct_size;     /* sizeof(tspike_binning) */
  int width, height;      /* sensor size */
  int polarities;         /* 2: OFF and ON channels; 1: one channel */
  int slicing;            /* a tspike_slicing */
  long bins;              /* TIME_BINS, EVENT_BINS */
  double time_window;     /* TIME_WINDOW, microseconds */
  long event_count;       /* EVENT_COUNT */
  int include_incomplete; /* TIME_WINDOW, EVENT_COUNT: keep the last, shorter frame */
  int binary;             /* nonzero: 1 where a pixel had events; else counts */
} tspike_binning;
/* Fills `binning` (struct_size set, or 0 for the full struct) from the
 * model's metadata; TSPIKE_ERR_BAD_INPUT when the model has none. */
TSPIKE_API tspike_code tspike_model_binning(const tspike_model* model, tspike_binning* binning,
                                            tspike_status** status);

/* Frames made from events: T frames, each shaped as the model's input with
 * batch 1 (e.g. [1, 2, 34, 34]), ready for tspike_session_step (frame by
 * frame) or, all together [T, 1, ...], tspike_session_run. binning NULL:
 * the model's. The frame count and size are checked against the model's
 * limits before anything is allocated. */
typedef struct tspike_frames tspike_frames;
TSPIKE_API tspike_frames* tspike_events_to_frames(const tspike_model* model, const tspike_event* events,
                                                  size_t count, const tspike_binning* binning,
                                                  tspike_status** status);
TSPIKE_API size_t tspike_frames_count(const tspike_frames* frames);          /* T */
TSPIKE_API size_t tspike_frames_rank(const tspike_frames* frames);           /* of one frame */
TSPIKE_API long tspike_frames_dim(const tspike_frames* frames, size_t axis); /* of one frame */
TSPIKE_API const float* tspike_frames_data(const tspike_frames* frames,
                                           size_t index); /* frame index; NULL past the end */
TSPIKE_API void tspike_frames_free(tspike_frames* frames);

/* ---- Logging (see tspike/log.hpp) ---- */
#define TSPIKE_LOG_OFF 0
#define TSPIKE_LOG_ERROR 1
#define TSPIKE_LOG_WARNING 2
#define TSPIKE_LOG_INFO 3
#define TSPIKE_LOG_DEBUG 4
/* Called with messages at or below the level; `message` is valid during the
 * call only. Calls are serialized by the library. */
typedef void (*tspike_log_fn)(void* user_data, int level, const char* message);
/* Process-wide. Off by default. fn NULL: messages go to stderr. */
TSPIKE_API void tspike_set_log(int level, tspike_log_fn fn, void* user_data);

#ifdef __cplusplus
}
#endif

#endif /* TSPIKE_TSPIKE_C_H */
