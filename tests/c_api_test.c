/* SPDX-License-Identifier: Apache-2.0 */
/* The C API from C (compiled as C89 with -pedantic): load, run an image and
 * a float buffer, read outputs and firing rates, streaming, an error, the log
 * callback; an image preprocessed into the caller's buffer and streamed
 * timestep by timestep, its readout equal to a run; the model's image
 * preprocessing and labels; the profile. Exit 0 on success; prints what failed otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tspike/tspike_c.h"
#include "tspike/version.h"

static int failures = 0;
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

static int log_calls = 0;
static void on_log(void* user_data, int level, const char* message) {
  CHECK(user_data == (void*)&log_calls);
  CHECK(level == TSPIKE_LOG_INFO);
  CHECK(message != NULL && message[0] != '\0');
  ++log_calls;
}

static size_t argmax(const float* v, size_t n) {
  size_t i, best = 0;
  for (i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

int main(void) {
  const char* model_path = TSPIKE_SOURCE_DIR "/models/fashion_tsnet.onnx";
  const char* resnet_path = TSPIKE_SOURCE_DIR "/models/fashion_resnet.onnx"; /* has event-driven layers */
  const char* image_path = TSPIKE_SOURCE_DIR "/models/samples/fashion_0_ankle_boot.png";
  tspike_status* status = NULL;
  tspike_model* model;
  tspike_session* session;
  float* zeros;
  float* wrong;
  long shape[4];
  size_t i, count = 1, classes, rank;
  int t;

  CHECK(strcmp(tspike_version(), TSPIKE_VERSION_STRING) == 0);

  /* An error: a status with a code and a message naming the file. */
  model = tspike_model_load("/nonexistent/model.onnx", &status);
  CHECK(model == NULL);
  CHECK(tspike_status_code(status) == TSPIKE_ERR_IO);
  CHECK(strstr(tspike_status_message(status), "/nonexistent/model.onnx") != NULL);
  tspike_status_free(status);

  tspike_set_log(TSPIKE_LOG_INFO, on_log, &log_calls);
  model = tspike_model_load(model_path, &status);
  CHECK(model != NULL && status == NULL);
  if (!model) {
    fprintf(stderr, "%s\n", tspike_status_message(status));
    return 1;
  }
  CHECK(log_calls == 1); /* "model loaded: ..." */
  CHECK(tspike_model_label_count(model) == 10);

  session = tspike_session_create(model, 4, 1, &status);
  CHECK(session != NULL && status == NULL);
  tspike_model_free(model); /* the session keeps it alive */

  CHECK(tspike_session_run_image(session, image_path, &status) == TSPIKE_OK);
  CHECK(log_calls == 2); /* "plan made for ..." */
  tspike_set_log(TSPIKE_LOG_OFF, NULL, NULL);
  CHECK(tspike_session_output_count(session) >= 1);
  CHECK(tspike_session_output_rank(session, 0) == 2);
  classes = (size_t)tspike_session_output_dim(session, 0, 1);
  CHECK(classes == 10 && tspike_session_output_size(session, 0) == 10);
  CHECK(argmax(tspike_session_output_data(session, 0), classes) == 9); /* Ankle boot */
  CHECK(tspike_session_spike_node_count(session) > 0);
  CHECK(tspike_session_spike_node_name(session, 0) != NULL);
  CHECK(tspike_session_firing_rate(session, 0) > 0.0 && tspike_session_firing_rate(session, 0) <= 1.0);
  CHECK(tspike_session_mean_firing_rate(session) > 0.0);
  CHECK(tspike_session_output_data(session, 99) == NULL);

  /* A float buffer of the model's input shape, batch 2. */
  model = tspike_model_load(model_path, NULL);
  rank = tspike_model_input_rank(model);
  CHECK(rank == 4);
  shape[0] = 2;
  for (i = 1; i < 4 && i < rank; ++i) {
    shape[i] = tspike_model_input_dim(model, i);
    count *= (size_t)shape[i];
  }
  tspike_model_free(model);
  zeros = (float*)calloc(2 * count, sizeof(float));
  CHECK(tspike_session_run(session, zeros, shape, 4, NULL) == TSPIKE_OK);
  CHECK(tspike_session_output_dim(session, 0, 0) == 2);

  /* Streaming: T steps of the same frame. */
  CHECK(tspike_session_reset(session, NULL) == TSPIKE_OK);
  for (t = 0; t < 4; ++t) CHECK(tspike_session_step(session, zeros, shape, 4, NULL) == TSPIKE_OK);
  CHECK(tspike_session_output_size(session, 0) == 20);

  /* A shape that does not fit: an error, and no stale outputs. */
  /* The caller owns a buffer as large as the shape says; a wrong channel
     count must be refused, not read past. */
  shape[1] = 7;
  wrong = (float*)calloc(2 * 7 * count, sizeof(float));
  CHECK(tspike_session_run(session, wrong, shape, 4, &status) == TSPIKE_ERR_BAD_INPUT);
  free(wrong);
  CHECK(status != NULL && strlen(tspike_status_message(status)) > 0);
  tspike_status_free(status);
  CHECK(tspike_session_output_count(session) == 0);

  free(zeros);
  tspike_session_free(session);

  /* Options: the event engine capped at the portable kernels, two threads
     that sleep when idle; the image classified as before. */
  {
    tspike_load_options load;
    tspike_session_options options;
    int event = 0;
    tspike_load_options_init(&load);
    load.engine = TSPIKE_ENGINE_EVENT;
    load.max_isa = TSPIKE_ISA_PORTABLE;
    model = tspike_model_load_with(resnet_path, &load, &status);
    CHECK(model != NULL && status == NULL);
    for (i = 0; model && i < tspike_model_layer_count(model); ++i)
      event += strcmp(tspike_model_layer_kernel(model, i), "event/portable") == 0;
    CHECK(event > 0);
    tspike_session_options_init(&options);
    options.threads = 2;
    options.allow_spinning = 0;
    session = tspike_session_create_with(model, &options, &status);
    CHECK(session != NULL && status == NULL);
    tspike_model_free(model);
    CHECK(tspike_session_run_image(session, image_path, NULL) == TSPIKE_OK);
    CHECK(tspike_session_output_size(session, 0) == 10);
    CHECK(argmax(tspike_session_output_data(session, 0), 10) == 9);
    tspike_session_free(session);
  }

  /* Streaming an image the library preprocessed into our buffer: step by
     step, then the readout equals a whole run; the profile of the steps. */
  {
    tspike_session_options options;
    tspike_node_profile node;
    tspike_profile_totals totals;
    float* image;
    float run_out[10];
    long frame[4];
    size_t size, k, neurons = 0;
    model = tspike_model_load(model_path, &status);
    CHECK(model != NULL && status == NULL);
    size = tspike_model_image_size(model);
    CHECK(size == 28 * 28);
    CHECK(tspike_model_image_scale(model) > 0.0039f && tspike_model_image_scale(model) < 0.004f);
    CHECK(tspike_model_image_mean(model, 0) > 0.285f && tspike_model_image_mean(model, 0) < 0.287f);
    CHECK(tspike_model_image_std(model, 0) > 0.352f && tspike_model_image_std(model, 0) < 0.354f);
    CHECK(tspike_model_image_std(model, 1) == 0.0f); /* one channel only */
    CHECK(strcmp(tspike_model_image_resize(model), "bilinear") == 0);
    CHECK(strcmp(tspike_model_label(model, 9), "Ankle boot") == 0);
    image = (float*)malloc(size * sizeof(float));
    CHECK(tspike_model_load_image(model, image_path, image, size - 1, &status) == TSPIKE_ERR_BAD_INPUT);
    tspike_status_free(status);
    CHECK(tspike_model_load_image(model, "/nonexistent.png", image, size, &status) == TSPIKE_ERR_IO);
    tspike_status_free(status);
    CHECK(tspike_model_load_image(model, image_path, image, size, &status) == TSPIKE_OK);
    tspike_session_options_init(&options);
    options.timesteps = 4;
    options.profile = 1;
    session = tspike_session_create_with(model, &options, &status);
    CHECK(session != NULL && status == NULL);
    tspike_model_free(model);
    CHECK(tspike_session_readout(session, &status) == TSPIKE_ERR_BAD_INPUT); /* no step yet */
    tspike_status_free(status);
    CHECK(tspike_session_run_image(session, image_path, NULL) == TSPIKE_OK);
    memcpy(run_out, tspike_session_output_data(session, 0), sizeof(run_out));
    frame[0] = 1;
    frame[1] = 1;
    frame[2] = 28;
    frame[3] = 28;
    CHECK(tspike_session_reset(session, NULL) == TSPIKE_OK);
    for (t = 0; t < 4; ++t) {
      CHECK(tspike_session_step(session, image, frame, 4, NULL) == TSPIKE_OK);
      CHECK(tspike_session_output_size(session, 0) == 10); /* this timestep's logits */
    }
    CHECK(tspike_session_readout(session, &status) == TSPIKE_OK && status == NULL);
    CHECK(tspike_session_output_size(session, 0) == 10);
    for (k = 0; k < 10; ++k) {
      const float d = tspike_session_output_data(session, 0)[k] - run_out[k];
      CHECK(d < 1e-5f && d > -1e-5f);
    }
    CHECK(argmax(tspike_session_output_data(session, 0), 10) == 9);

    CHECK(tspike_session_profile_node_count(session) == 0); /* not read yet */
    CHECK(tspike_session_read_profile(session, &status) == TSPIKE_OK && status == NULL);
    CHECK(tspike_session_profile_node_count(session) > 0);
    for (k = 0; k < tspike_session_profile_node_count(session); ++k) {
      tspike_node_profile_init(&node);
      CHECK(tspike_session_profile_node(session, k, &node, NULL) == TSPIKE_OK);
      CHECK(node.name != NULL && node.op_type != NULL && node.time_ms >= 0.0);
      if (strcmp(node.op_type, "TernarySpike") == 0) {
        CHECK(node.spike_density > 0.0 && node.spike_density <= 1.0);
        ++neurons;
      }
    }
    CHECK(neurons == tspike_session_spike_node_count(session));
    node.struct_size = 0;
    CHECK(tspike_session_profile_node(session, 0, &node, NULL) == TSPIKE_ERR_INVALID_ARGUMENT);
    tspike_profile_totals_init(&totals);
    CHECK(tspike_session_profile_totals(session, &totals, NULL) == TSPIKE_OK);
    CHECK(totals.timesteps == 4 && totals.batch == 1);
    CHECK(totals.layer_major == 0); /* the model's weights fit in any L2: timestep by timestep */
    /* This model's layers are fed by pooled spikes: they count MACs. */
    CHECK(totals.mac > 0.0 && totals.dense_macs > 0.0 && totals.energy_pj > 0.0);
    CHECK(totals.energy_pj > 0.999 * (0.9 * totals.ac + 4.6 * totals.mac) &&
          totals.energy_pj < 1.001 * (0.9 * totals.ac + 4.6 * totals.mac));
    free(image);
    tspike_session_free(session);
  }

  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  else
    printf("c_api_test: all checks passed\n");
  return failures ? 1 : 0;
}
